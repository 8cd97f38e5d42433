"""Static knowledge: API names per service, console page fan-outs, per-resource
read sets (what Terraform refresh, AWS Config, CSPM scanners and the console
call for one resource), routine error codes, client user agents and IP pools.

eventName spellings follow what CloudTrail records (e.g. Lambda's versioned
names such as GetFunction20150331v2, S3's GetBucketLifecycle).
"""

def src(svc):
    return svc + ".amazonaws.com"


# ---------------------------------------------------------------- regions

ENABLED_REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
                   "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
                   "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
                   "ap-southeast-1", "ap-southeast-2", "sa-east-1"]

AZ = {r: [r + s for s in ("a", "b", "c")] for r in ENABLED_REGIONS}

# public IPv4 prefixes (first two octets) used for AWS-owned addresses per region
AWS_IP_PREFIX = {
    "us-east-1": ["3.208", "3.215", "18.204", "34.192", "34.224", "44.192", "44.207", "52.0", "52.4", "54.80", "54.144", "100.24"],
    "us-east-2": ["3.128", "3.136", "18.116", "18.188", "52.14", "13.58"],
    "us-west-1": ["13.52", "13.56", "54.176", "52.8"],
    "us-west-2": ["34.208", "35.80", "44.224", "52.32", "54.184", "35.160"],
    "eu-west-1": ["3.248", "3.250", "34.240", "34.248", "52.16", "54.72", "54.216"],
    "eu-central-1": ["3.64", "3.120", "18.156", "35.156", "52.28"],
    "eu-west-2": ["3.8", "18.130", "35.176"],
    "ap-southeast-1": ["13.212", "18.136", "52.74"],
    "ap-northeast-1": ["13.112", "18.176", "52.68"],
    "sa-east-1": ["18.228", "54.94"],
}

# residential / office ISP prefixes by place
ISP_PREFIX = {
    "nyc": ["73.", "98.", "24.", "71.", "108.", "100.", "173.", "67."],
    "sf": ["73.", "76.", "98.", "24.", "107.", "135.180.", "136.24.", "162."],
    "chicago": ["73.", "98.", "24.", "71.", "99."],
    "dublin": ["86.40.", "86.41.", "86.42.", "89.101.", "109.76.", "109.77.", "37.228.", "78.16."],
    "berlin": ["77.", "79.", "84.", "91.", "87.", "93."],
    "bangalore": ["122.171.", "122.172.", "49.204.", "49.207.", "106.51.", "171.76."],
    "lisbon": ["188.81.", "85.243.", "89.153.", "94.60."],
    "toronto": ["99.", "174.", "142.", "70."],
    "tokyo": ["126.", "110.", "153.", "114."],
}

GITHUB_RUNNER_PREFIX = ["4.148.", "4.152.", "20.42.", "20.55.", "20.57.", "20.102.", "13.64.",
                        "40.84.", "52.225.", "172.182.", "172.183.", "20.169.", "20.171."]

ATTACKER_PREFIX = ["45.61.", "45.95.", "45.137.", "185.220.", "185.246.", "193.142.",
                   "194.26.", "5.188.", "91.92.", "103.145.", "103.251.", "139.59.",
                   "167.99.", "206.189.", "146.70.", "162.247.", "23.129.", "80.94."]

# ---------------------------------------------------------------- user agents

BROWSERS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:130.0) Gecko/20100101 Firefox/130.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36",
]

CLI_VERSIONS = ["2.17.42", "2.17.50", "2.18.0", "2.18.4", "2.15.30", "2.13.25", "2.18.11"]
CLI_PLATFORMS = [
    "Python/3.12.6 Darwin/23.6.0 exe/x86_64 prompt/off",
    "Python/3.12.6 Darwin/24.0.0 exe/arm64 prompt/off",
    "Python/3.11.9 Linux/6.8.0-45-generic exe/x86_64.ubuntu.24 prompt/off",
    "Python/3.11.8 Windows/10 exe/AMD64 prompt/off",
    "Python/3.12.6 Linux/5.15.153.1-microsoft-standard-WSL2 exe/x86_64.ubuntu.22 prompt/off",
]


def cli_ua(rng, ver=None, plat=None):
    ver = ver or rng.choice(CLI_VERSIONS)
    plat = plat or rng.choice(CLI_PLATFORMS)
    return "aws-cli/%s md/awscrt#0.21.2 ua/2.0 os/%s lang/python#3.12 md/installer#exe cfg/retry-mode#standard md/command#%s" % (
        ver, plat.split(" ")[1].lower().replace("/", "#"), "%s")


def boto3_ua(bver="1.35.24", pyver="3.12.6", osname="Linux/5.10.225-213.878.amzn2.x86_64", extra=""):
    bc = bver.replace("1.35", "1.35")
    return "Boto3/%s md/Botocore#%s ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#%s md/pyimpl#CPython cfg/retry-mode#legacy Botocore/%s%s" % (
        bver, bc, pyver, bc, extra)


TERRAFORM_UA = ("APN/1.0 HashiCorp/1.0 Terraform/%s (+https://www.terraform.io) terraform-provider-aws/%s "
                "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/%s ua/2.1 os/linux lang/go#1.23.1 "
                "md/GOOS#linux md/GOARCH#amd64 api/%s#%s")

GO_SDK_UA = "aws-sdk-go-v2/1.30.5 ua/2.1 os/linux lang/go#1.22.7 md/GOOS#linux md/GOARCH#amd64 api/%s#%s"
JAVA_SDK_UA = "aws-sdk-java/2.28.6 Linux/5.10.225-213.878.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy cfg/auth-source#stat"
NODE_SDK_UA = "aws-sdk-js/3.654.0 ua/2.1 os/linux#5.10.225-235.876.amzn2.x86_64 lang/js md/nodejs#20.17.0 api/%s#3.654.0 exec-env/AWS_Lambda_nodejs20.x"
SSM_AGENT_UA = "aws-sdk-go/1.55.5 (go1.22.7; linux; amd64) amazon-ssm-agent/3.3.987.0"
KARPENTER_UA = "aws-sdk-go-v2/1.30.5 ua/2.1 os/linux lang/go#1.23.1 md/GOOS#linux md/GOARCH#amd64 api/%s#%s karpenter.sh-1.0.6"
EXTDNS_UA = "aws-sdk-go/1.55.5 (go1.22.5; linux; amd64) ExternalDNS/v0.15.0"
KEDA_UA = "aws-sdk-go-v2/1.30.4 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64 api/sqs#1.34.8 keda/2.15.1"
CNI_UA = "amazon-vpc-cni-k8s/version/v1.18.3 aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.173.0"
LBC_UA = "elbv2.k8s.aws/v2.8.3 aws-sdk-go/1.55.5 (go1.22.6; linux; amd64)"
EBSCSI_UA = "aws-ebs-csi-driver/v1.35.0 aws-sdk-go-v2/1.30.5 ua/2.1 os/linux lang/go#1.22.7 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.177.0"
KUBELET_ECR_UA = "ecr-credential-provider/v1.30.1 aws-sdk-go/1.55.5 (go1.22.5; linux; amd64)"
DATADOG_UA = "datadog-aws-integration/%s aws-sdk-go/1.55.5 (go1.22.7; linux; amd64)"
CSPM_UA = "aws-sdk-go-v2/1.30.5 ua/2.1 os/linux lang/go#1.22.7 md/GOOS#linux md/GOARCH#amd64 api/%s#%s m/E cspm-scanner/4.12"
CONSOLE_UA = "AWS Internal"


def lam(name, suffix):
    return name + suffix


# Lambda CloudTrail eventNames carry API version suffixes.
LAMBDA = {
    "ListFunctions": "ListFunctions20150331",
    "GetFunction": "GetFunction20150331v2",
    "GetFunctionConfiguration": "GetFunctionConfiguration20150331v2",
    "ListVersionsByFunction": "ListVersionsByFunction20150331",
    "GetPolicy": "GetPolicy20150331v2",
    "ListTags": "ListTags20170331",
    "ListAliases": "ListAliases20150331",
    "GetAccountSettings": "GetAccountSettings20160819",
    "ListEventSourceMappings": "ListEventSourceMappings20150331",
    "GetFunctionCodeSigningConfig": "GetFunctionCodeSigningConfig",
    "GetFunctionUrlConfig": "GetFunctionUrlConfig",
    "GetFunctionEventInvokeConfig": "GetFunctionEventInvokeConfig",
    "GetFunctionConcurrency": "GetFunctionConcurrency",
    "UpdateFunctionCode": "UpdateFunctionCode20150331v2",
    "UpdateFunctionConfiguration": "UpdateFunctionConfiguration20150331v2",
    "PublishVersion": "PublishVersion20150331",
    "UpdateAlias": "UpdateAlias20150331",
    "CreateFunction": "CreateFunction20150331",
    "DeleteFunction": "DeleteFunction20150331",
    "AddPermission": "AddPermission20150331v2",
    "CreateFunctionUrlConfig": "CreateFunctionUrlConfig",
    "TagResource": "TagResource20170331v2",
    "ListLayers": "ListLayers20181031",
}

# ---------------------------------------------------------------- S3 bucket reads
# (eventName, bucket feature that makes it succeed, error code when absent, message)
S3_BUCKET_READS = [
    ("GetBucketAcl", None, None, None),
    ("GetBucketPolicy", "policy", "NoSuchBucketPolicy", "The bucket policy does not exist"),
    ("GetBucketPolicyStatus", "policy", "NoSuchBucketPolicy", "The bucket policy does not exist"),
    ("GetBucketTagging", "tags", "NoSuchTagSet", "The TagSet does not exist"),
    ("GetBucketLifecycle", "lifecycle", "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"),
    ("GetBucketVersioning", None, None, None),
    ("GetBucketLogging", None, None, None),
    ("GetBucketEncryption", None, None, None),
    ("GetBucketReplication", "replication", "ReplicationConfigurationNotFoundError", "The replication configuration was not found"),
    ("GetBucketWebsite", "website", "NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration"),
    ("GetBucketCors", "cors", "NoSuchCORSConfiguration", "The CORS configuration does not exist"),
    ("GetBucketNotification", None, None, None),
    ("GetBucketObjectLockConfiguration", "objectlock", "ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket"),
    ("GetBucketOwnershipControls", "ownership", "OwnershipControlsNotFoundError", "The bucket ownership controls were not found"),
    ("GetBucketPublicAccessBlock", "pab", "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"),
    ("GetAccelerateConfiguration", None, None, None),
    ("GetBucketRequestPayment", None, None, None),
    ("GetBucketLocation", None, None, None),
]

S3_SUBRES = {"GetBucketAcl": "acl", "GetBucketPolicy": "policy", "GetBucketPolicyStatus": "policyStatus",
             "GetBucketTagging": "tagging", "GetBucketLifecycle": "lifecycle", "GetBucketVersioning": "versioning",
             "GetBucketLogging": "logging", "GetBucketEncryption": "encryption", "GetBucketReplication": "replication",
             "GetBucketWebsite": "website", "GetBucketCors": "cors", "GetBucketNotification": "notification",
             "GetBucketObjectLockConfiguration": "object-lock", "GetBucketOwnershipControls": "ownershipControls",
             "GetBucketPublicAccessBlock": "publicAccessBlock", "GetAccelerateConfiguration": "accelerate",
             "GetBucketRequestPayment": "requestPayment", "GetBucketLocation": "location"}

# ---------------------------------------------------------------- per-resource reads
# (source, eventName, error code or None, probability of that error)
R = {
    "iam_role": [("iam", "GetRole", None, 0), ("iam", "ListRolePolicies", None, 0),
                 ("iam", "ListAttachedRolePolicies", None, 0), ("iam", "ListInstanceProfilesForRole", None, 0)],
    "iam_policy": [("iam", "GetPolicy", None, 0), ("iam", "GetPolicyVersion", None, 0),
                   ("iam", "ListPolicyVersions", None, 0)],
    "iam_user": [("iam", "GetUser", None, 0), ("iam", "ListAccessKeys", None, 0), ("iam", "ListMFADevices", None, 0),
                 ("iam", "ListGroupsForUser", None, 0), ("iam", "ListAttachedUserPolicies", None, 0),
                 ("iam", "ListUserPolicies", None, 0), ("iam", "GetLoginProfile", "NoSuchEntity", 0.8),
                 ("iam", "ListSSHPublicKeys", None, 0), ("iam", "ListServiceSpecificCredentials", None, 0),
                 ("iam", "ListSigningCertificates", None, 0)],
    "kms_key": [("kms", "DescribeKey", None, 0), ("kms", "GetKeyPolicy", None, 0), ("kms", "GetKeyRotationStatus", None, 0),
                ("kms", "ListResourceTags", None, 0), ("kms", "ListAliases", None, 0)],
    "lambda": [("lambda", LAMBDA["GetFunction"], None, 0), ("lambda", LAMBDA["ListVersionsByFunction"], None, 0),
               ("lambda", LAMBDA["GetFunctionCodeSigningConfig"], None, 0),
               ("lambda", LAMBDA["GetPolicy"], "ResourceNotFoundException", 0.7),
               ("lambda", LAMBDA["GetFunctionUrlConfig"], "ResourceNotFoundException", 0.95),
               ("lambda", LAMBDA["ListTags"], None, 0)],
    "secret": [("secretsmanager", "DescribeSecret", None, 0), ("secretsmanager", "GetResourcePolicy", None, 0)],
    "sqs": [("sqs", "GetQueueUrl", None, 0), ("sqs", "GetQueueAttributes", None, 0), ("sqs", "ListQueueTags", None, 0)],
    "sns": [("sns", "GetTopicAttributes", None, 0), ("sns", "ListTagsForResource", None, 0),
            ("sns", "GetDataProtectionPolicy", None, 0)],
    "dynamodb": [("dynamodb", "DescribeTable", None, 0), ("dynamodb", "DescribeContinuousBackups", None, 0),
                 ("dynamodb", "DescribeTimeToLive", None, 0), ("dynamodb", "ListTagsOfResource", None, 0)],
    "loggroup": [("logs", "DescribeLogGroups", None, 0), ("logs", "ListTagsForResource", None, 0)],
    "ecr": [("ecr", "DescribeRepositories", None, 0), ("ecr", "ListTagsForResource", None, 0),
            ("ecr", "GetLifecyclePolicy", "LifecyclePolicyNotFoundException", 0.4),
            ("ecr", "GetRepositoryPolicy", "RepositoryPolicyNotFoundException", 0.85)],
    "sg": [("ec2", "DescribeSecurityGroups", None, 0), ("ec2", "DescribeSecurityGroupRules", None, 0)],
    "subnet": [("ec2", "DescribeSubnets", None, 0)],
    "rtb": [("ec2", "DescribeRouteTables", None, 0)],
    "vpc": [("ec2", "DescribeVpcs", None, 0), ("ec2", "DescribeVpcAttribute", None, 0),
            ("ec2", "DescribeVpcAttribute", None, 0), ("ec2", "DescribeNetworkAcls", None, 0)],
    "nat": [("ec2", "DescribeNatGateways", None, 0), ("ec2", "DescribeAddresses", None, 0)],
    "vpce": [("ec2", "DescribeVpcEndpoints", None, 0), ("ec2", "DescribePrefixLists", None, 0)],
    "rds": [("rds", "DescribeDBInstances", None, 0), ("rds", "ListTagsForResource", None, 0),
            ("rds", "DescribeDBSubnetGroups", None, 0), ("rds", "DescribeDBParameterGroups", None, 0),
            ("rds", "DescribeDBParameters", None, 0), ("rds", "DescribeDBParameters", None, 0)],
    "eks": [("eks", "DescribeCluster", None, 0), ("eks", "ListAddons", None, 0), ("eks", "DescribeAddon", None, 0),
            ("eks", "DescribeAddon", None, 0), ("eks", "DescribeAddonVersions", None, 0),
            ("eks", "ListAccessEntries", None, 0), ("eks", "DescribeAccessEntry", None, 0),
            ("iam", "GetOpenIDConnectProvider", None, 0)],
    "alb": [("elasticloadbalancing", "DescribeLoadBalancers", None, 0),
            ("elasticloadbalancing", "DescribeLoadBalancerAttributes", None, 0),
            ("elasticloadbalancing", "DescribeTags", None, 0), ("elasticloadbalancing", "DescribeListeners", None, 0),
            ("elasticloadbalancing", "DescribeTargetGroups", None, 0),
            ("elasticloadbalancing", "DescribeTargetGroupAttributes", None, 0)],
    "alarm": [("monitoring", "DescribeAlarms", None, 0), ("monitoring", "ListTagsForResource", None, 0)],
    "param": [("ssm", "GetParameter", None, 0), ("ssm", "DescribeParameters", None, 0),
              ("ssm", "ListTagsForResource", None, 0)],
    "zone": [("route53", "GetHostedZone", None, 0), ("route53", "ListTagsForResource", None, 0),
             ("route53", "ListResourceRecordSets", None, 0)],
    "cert": [("acm", "DescribeCertificate", None, 0), ("acm", "ListTagsForCertificate", None, 0)],
    "ecs_service": [("ecs", "DescribeServices", None, 0), ("ecs", "DescribeTaskDefinition", None, 0)],
    "asg": [("autoscaling", "DescribeAutoScalingGroups", None, 0), ("ec2", "DescribeLaunchTemplates", None, 0),
            ("ec2", "DescribeLaunchTemplateVersions", None, 0)],
    "events_rule": [("events", "DescribeRule", None, 0), ("events", "ListTargetsByRule", None, 0),
                    ("events", "ListTagsForResource", None, 0)],
    "backup_plan": [("backup", "GetBackupPlan", None, 0), ("backup", "GetBackupSelection", None, 0),
                    ("backup", "DescribeBackupVault", None, 0)],
}

# ---------------------------------------------------------------- service-level list calls

REGIONAL_LIST = {
    "ec2": ["DescribeInstances", "DescribeVolumes", "DescribeSnapshots", "DescribeImages", "DescribeSecurityGroups",
            "DescribeVpcs", "DescribeSubnets", "DescribeRouteTables", "DescribeNetworkInterfaces", "DescribeAddresses",
            "DescribeKeyPairs", "DescribeFlowLogs", "DescribeVpcEndpoints", "DescribeNatGateways",
            "DescribeInternetGateways", "DescribeNetworkAcls", "DescribeLaunchTemplates", "DescribeVpcPeeringConnections",
            "DescribeTransitGateways", "GetEbsEncryptionByDefault", "GetEbsDefaultKmsKeyId", "DescribeInstanceAttribute",
            "GetSnapshotBlockPublicAccessState", "GetImageBlockPublicAccessState", "DescribeRegions"],
    "elasticloadbalancing": ["DescribeLoadBalancers", "DescribeTargetGroups", "DescribeListeners",
                             "DescribeLoadBalancerAttributes", "DescribeSSLPolicies"],
    "autoscaling": ["DescribeAutoScalingGroups", "DescribeLaunchConfigurations", "DescribePolicies"],
    "rds": ["DescribeDBInstances", "DescribeDBClusters", "DescribeDBSnapshots", "DescribeDBClusterSnapshots",
            "DescribeEventSubscriptions", "DescribeDBParameterGroups"],
    "lambda": [LAMBDA["ListFunctions"], LAMBDA["GetAccountSettings"], LAMBDA["ListEventSourceMappings"],
               LAMBDA["ListLayers"]],
    "kms": ["ListKeys", "ListAliases"],
    "secretsmanager": ["ListSecrets"],
    "ssm": ["DescribeParameters", "DescribeInstanceInformation", "ListDocuments", "GetServiceSetting",
            "DescribeMaintenanceWindows"],
    "sqs": ["ListQueues"],
    "sns": ["ListTopics", "ListSubscriptions"],
    "dynamodb": ["ListTables", "ListBackups", "ListGlobalTables"],
    "logs": ["DescribeLogGroups", "DescribeMetricFilters", "DescribeResourcePolicies", "DescribeDestinations"],
    "monitoring": ["DescribeAlarms", "ListDashboards"],
    "cloudtrail": ["DescribeTrails", "GetTrailStatus", "GetEventSelectors", "ListTrails"],
    "config": ["DescribeConfigurationRecorders", "DescribeConfigurationRecorderStatus", "DescribeDeliveryChannels",
               "DescribeConfigRules"],
    "guardduty": ["ListDetectors", "GetDetector"],
    "securityhub": ["DescribeHub", "GetEnabledStandards"],
    "access-analyzer": ["ListAnalyzers"],
    "ecs": ["ListClusters", "DescribeClusters", "ListServices", "ListTaskDefinitions"],
    "eks": ["ListClusters"],
    "ecr": ["DescribeRepositories", "GetRegistryPolicy", "GetRegistryScanningConfiguration"],
    "elasticache": ["DescribeCacheClusters", "DescribeReplicationGroups"],
    "es": ["ListDomainNames"],
    "apigateway": ["GetRestApis"],
    "acm": ["ListCertificates"],
    "cloudformation": ["ListStacks", "DescribeStacks"],
    "events": ["ListRules", "ListEventBuses"],
    "states": ["ListStateMachines"],
    "backup": ["ListBackupVaults", "ListBackupPlans"],
    "elasticfilesystem": ["DescribeFileSystems"],
    "kinesis": ["ListStreams"],
    "firehose": ["ListDeliveryStreams"],
    "wafv2": ["ListWebACLs"],
    "glue": ["GetDatabases", "GetSecurityConfigurations", "GetDataCatalogEncryptionSettings"],
    "athena": ["ListWorkGroups"],
    "redshift": ["DescribeClusters"],
    "sagemaker": ["ListNotebookInstances", "ListEndpoints"],
    "inspector2": ["BatchGetAccountStatus"],
    "macie2": ["GetMacieSession"],
    "codebuild": ["ListProjects"],
    "elasticbeanstalk": ["DescribeEnvironments"],
    "emr": ["ListClusters"],
}

GLOBAL_LIST = [
    ("iam", "GetAccountSummary"), ("iam", "GetAccountPasswordPolicy"), ("iam", "ListUsers"), ("iam", "ListRoles"),
    ("iam", "ListPolicies"), ("iam", "ListGroups"), ("iam", "ListOpenIDConnectProviders"), ("iam", "ListSAMLProviders"),
    ("iam", "ListServerCertificates"), ("iam", "GetCredentialReport"), ("iam", "ListVirtualMFADevices"),
    ("iam", "ListAccountAliases"), ("iam", "GetAccountAuthorizationDetails"),
    ("s3", "ListBuckets"), ("s3", "GetAccountPublicAccessBlock"),
    ("route53", "ListHostedZones"), ("route53", "ListHealthChecks"),
    ("cloudfront", "ListDistributions"), ("organizations", "DescribeOrganization"),
]

# services whose APIs a typical SecurityAudit-based scanner role cannot call
SCANNER_DENIED = {("macie2", "GetMacieSession"), ("sagemaker", "ListEndpoints"),
                  ("glue", "GetDataCatalogEncryptionSettings"), ("es", "ListDomainNames")}

# ---------------------------------------------------------------- console pages
# page name -> list of (service, eventName); the console issues them when the page opens
CONSOLE_PAGES = {
    "ec2-instances": [("ec2", "DescribeInstances"), ("ec2", "DescribeInstanceStatus"), ("ec2", "DescribeInstanceTypes"),
                      ("ec2", "DescribeTags"), ("ec2", "DescribeAddresses"), ("ec2", "DescribeSecurityGroups"),
                      ("ec2", "DescribeVpcs"), ("ec2", "DescribeSubnets"), ("ec2", "DescribeAccountAttributes"),
                      ("ec2", "DescribeAvailabilityZones"), ("ec2", "DescribeInstanceCreditSpecifications"),
                      ("monitoring", "DescribeAlarms"), ("compute-optimizer", "GetEnrollmentStatus"),
                      ("ssm", "DescribeInstanceInformation"), ("elasticloadbalancing", "DescribeTargetGroups")],
    "ec2-dashboard": [("ec2", "DescribeRegions"), ("ec2", "DescribeAccountAttributes"), ("ec2", "DescribeInstances"),
                      ("ec2", "DescribeVolumes"), ("ec2", "DescribeSnapshots"), ("ec2", "DescribeKeyPairs"),
                      ("ec2", "DescribePlacementGroups"), ("ec2", "DescribeHosts"), ("ec2", "DescribeAddresses"),
                      ("elasticloadbalancing", "DescribeLoadBalancers"), ("health", "DescribeEventAggregates"),
                      ("ec2", "DescribeSecurityGroups"), ("ec2", "DescribeAvailabilityZones")],
    "ec2-volumes": [("ec2", "DescribeVolumes"), ("ec2", "DescribeVolumeStatus"), ("ec2", "DescribeVolumesModifications"),
                    ("ec2", "DescribeTags"), ("ec2", "DescribeInstances")],
    "vpc": [("ec2", "DescribeVpcs"), ("ec2", "DescribeSubnets"), ("ec2", "DescribeRouteTables"),
            ("ec2", "DescribeInternetGateways"), ("ec2", "DescribeNatGateways"), ("ec2", "DescribeVpcEndpoints"),
            ("ec2", "DescribeNetworkAcls"), ("ec2", "DescribeDhcpOptions"), ("ec2", "DescribeVpcPeeringConnections"),
            ("ec2", "DescribeEgressOnlyInternetGateways"), ("ec2", "DescribeCustomerGateways"),
            ("ec2", "DescribeVpnGateways"), ("ec2", "DescribeTransitGateways"), ("ec2", "DescribeManagedPrefixLists")],
    "s3-buckets": [("s3", "ListBuckets"), ("s3", "GetAccountPublicAccessBlock"), ("s3", "GetBucketPolicyStatus"),
                   ("s3", "GetBucketPolicyStatus"), ("s3", "GetBucketPolicyStatus"), ("s3", "GetBucketLocation"),
                   ("access-analyzer", "ListAnalyzers"), ("s3", "ListStorageLensConfigurations")],
    "s3-bucket": "S3BUCKET",
    "iam-roles": [("iam", "ListRoles"), ("iam", "GetAccountSummary"), ("iam", "ListRoleTags")],
    "iam-role": [("iam", "GetRole"), ("iam", "ListAttachedRolePolicies"), ("iam", "ListRolePolicies"),
                 ("iam", "ListInstanceProfilesForRole"), ("iam", "GenerateServiceLastAccessedDetails"),
                 ("iam", "GetServiceLastAccessedDetails"), ("iam", "ListRoleTags")],
    "iam-users": [("iam", "ListUsers"), ("iam", "GetAccountSummary"), ("iam", "ListAccessKeys"),
                  ("iam", "ListMFADevices"), ("iam", "ListGroupsForUser"), ("iam", "GetLoginProfile")],
    "iam-dashboard": [("iam", "GetAccountSummary"), ("iam", "ListAccountAliases"), ("iam", "ListMFADevices"),
                      ("iam", "GetAccountPasswordPolicy"), ("access-analyzer", "ListAnalyzers"),
                      ("organizations", "DescribeOrganization")],
    "cloudwatch-alarms": [("monitoring", "DescribeAlarms"), ("monitoring", "DescribeAlarmHistory"),
                          ("monitoring", "ListDashboards"), ("monitoring", "DescribeInsightRules")],
    "cloudwatch-logs": [("logs", "DescribeLogGroups"), ("logs", "DescribeLogStreams"), ("logs", "DescribeQueries"),
                        ("logs", "DescribeQueryDefinitions"), ("logs", "DescribeMetricFilters")],
    "logs-insights": [("logs", "DescribeLogGroups"), ("logs", "StartQuery"), ("logs", "GetQueryResults"),
                      ("logs", "GetQueryResults"), ("logs", "GetQueryResults"), ("logs", "DescribeQueries")],
    "lambda": [("lambda", LAMBDA["ListFunctions"]), ("lambda", LAMBDA["GetAccountSettings"])],
    "lambda-function": [("lambda", LAMBDA["GetFunction"]), ("lambda", LAMBDA["ListAliases"]),
                        ("lambda", LAMBDA["ListVersionsByFunction"]), ("lambda", LAMBDA["GetPolicy"]),
                        ("lambda", LAMBDA["ListEventSourceMappings"]), ("lambda", LAMBDA["GetFunctionUrlConfig"]),
                        ("lambda", LAMBDA["GetFunctionCodeSigningConfig"]), ("lambda", LAMBDA["GetFunctionEventInvokeConfig"]),
                        ("lambda", LAMBDA["ListTags"]), ("lambda", LAMBDA["GetFunctionConcurrency"])],
    "rds": [("rds", "DescribeDBInstances"), ("rds", "DescribeDBClusters"), ("rds", "DescribeEvents"),
            ("rds", "DescribePendingMaintenanceActions"), ("rds", "DescribeAccountAttributes"),
            ("rds", "DescribeDBSnapshots"), ("pi", "GetResourceMetrics"), ("rds", "DescribeOrderableDBInstanceOptions")],
    "ecs": [("ecs", "ListClusters"), ("ecs", "DescribeClusters"), ("ecs", "ListServices"), ("ecs", "DescribeServices"),
            ("ecs", "ListTasks"), ("ecs", "DescribeTasks"), ("ecs", "DescribeTaskDefinition"),
            ("ecs", "DescribeCapacityProviders")],
    "eks": [("eks", "ListClusters"), ("eks", "DescribeCluster"), ("eks", "ListNodegroups"), ("eks", "DescribeNodegroup"),
            ("eks", "ListAddons"), ("eks", "ListAccessEntries"), ("eks", "ListFargateProfiles"),
            ("eks", "ListIdentityProviderConfigs"), ("eks", "ListInsights")],
    "cloudformation": [("cloudformation", "DescribeStacks"), ("cloudformation", "ListStacks"),
                       ("cloudformation", "DescribeStackEvents"), ("cloudformation", "GetTemplateSummary"),
                       ("cloudformation", "ListStackResources"), ("cloudformation", "ListChangeSets")],
    "secrets": [("secretsmanager", "ListSecrets"), ("secretsmanager", "DescribeSecret"),
                ("secretsmanager", "GetResourcePolicy")],
    "secret-value": [("secretsmanager", "DescribeSecret"), ("secretsmanager", "GetSecretValue")],
    "cost-explorer": [("ce", "GetCostAndUsage"), ("ce", "GetCostForecast"), ("ce", "GetDimensionValues"),
                      ("ce", "GetCostAndUsage"), ("ce", "GetReservationUtilization"), ("ce", "GetSavingsPlansUtilization")],
    "cloudtrail": [("cloudtrail", "LookupEvents"), ("cloudtrail", "DescribeTrails"), ("cloudtrail", "GetTrailStatus"),
                   ("cloudtrail", "ListEventDataStores"), ("cloudtrail", "LookupEvents")],
    "guardduty": [("guardduty", "ListDetectors"), ("guardduty", "GetDetector"), ("guardduty", "ListFindings"),
                  ("guardduty", "GetFindings"), ("guardduty", "GetFindingsStatistics"), ("guardduty", "GetMasterAccount")],
    "securityhub": [("securityhub", "GetFindings"), ("securityhub", "DescribeHub"), ("securityhub", "GetEnabledStandards"),
                    ("securityhub", "GetInsights"), ("securityhub", "GetInsightResults"), ("securityhub", "GetFindings")],
    "route53": [("route53", "ListHostedZones"), ("route53", "GetHostedZoneCount"), ("route53", "ListResourceRecordSets"),
                ("route53", "ListHealthChecks"), ("route53", "GetHostedZone")],
    "dynamodb": [("dynamodb", "ListTables"), ("dynamodb", "DescribeTable"), ("dynamodb", "DescribeContinuousBackups"),
                 ("dynamodb", "DescribeTimeToLive"), ("dynamodb", "ListTagsOfResource"),
                 ("dynamodb", "DescribeKinesisStreamingDestination"), ("dynamodb", "DescribeContributorInsights")],
    "sqs": [("sqs", "ListQueues"), ("sqs", "GetQueueAttributes"), ("sqs", "ListQueueTags"),
            ("sqs", "ListDeadLetterSourceQueues")],
    "kms": [("kms", "ListKeys"), ("kms", "ListAliases"), ("kms", "DescribeKey"), ("kms", "GetKeyPolicy"),
            ("kms", "GetKeyRotationStatus"), ("kms", "ListResourceTags")],
    "ssm": [("ssm", "DescribeInstanceInformation"), ("ssm", "ListCommands"), ("ssm", "ListCommandInvocations"),
            ("ssm", "DescribeParameters"), ("ssm", "DescribeSessions"), ("ssm", "GetInventorySchema")],
    "athena": [("athena", "ListWorkGroups"), ("athena", "GetWorkGroup"), ("athena", "ListDataCatalogs"),
               ("athena", "ListDatabases"), ("athena", "ListTableMetadata"), ("athena", "ListQueryExecutions"),
               ("athena", "BatchGetQueryExecution")],
    "glue": [("glue", "GetDatabases"), ("glue", "GetTables"), ("glue", "GetJobs"), ("glue", "GetJobRuns"),
             ("glue", "GetCrawlers")],
    "ecr": [("ecr", "DescribeRepositories"), ("ecr", "DescribeImages"), ("ecr", "ListImages"),
            ("ecr", "DescribeImageScanFindings")],
    "backup": [("backup", "ListBackupJobs"), ("backup", "ListBackupPlans"), ("backup", "ListBackupVaults"),
               ("backup", "ListRecoveryPointsByBackupVault"), ("backup", "DescribeRegionSettings")],
    "billing": [("ce", "GetCostAndUsage"), ("billingconsole", "GetBillingData"), ("billingconsole", "GetBillingDetails"),
                ("freetier", "GetFreeTierUsage")],
    "organizations": [("organizations", "DescribeOrganization"), ("organizations", "ListAccounts"),
                      ("organizations", "ListRoots"), ("organizations", "ListPolicies")],
}

# Which pages each persona tends to open (weights)
PAGE_PREFS = {
    "platform": {"ec2-instances": 5, "ec2-dashboard": 2, "vpc": 2, "s3-buckets": 3, "s3-bucket": 3, "iam-roles": 3,
                 "iam-role": 3, "cloudwatch-alarms": 3, "cloudwatch-logs": 4, "logs-insights": 3, "eks": 3,
                 "ecs": 2, "rds": 2, "cloudformation": 3, "route53": 2, "kms": 1, "ssm": 2, "cost-explorer": 1,
                 "cloudtrail": 2, "backup": 1, "iam-users": 1, "iam-dashboard": 1, "organizations": 1},
    "dev": {"ec2-instances": 2, "s3-buckets": 3, "s3-bucket": 3, "cloudwatch-logs": 6, "logs-insights": 5,
            "lambda": 4, "lambda-function": 4, "ecs": 3, "cloudformation": 3, "dynamodb": 3, "sqs": 3,
            "secrets": 2, "secret-value": 1, "rds": 2, "ecr": 2, "cloudwatch-alarms": 2, "iam-roles": 1,
            "iam-role": 1, "cost-explorer": 1, "cloudtrail": 1, "ec2-dashboard": 1},
    "data": {"s3-buckets": 4, "s3-bucket": 3, "athena": 6, "glue": 5, "cloudwatch-logs": 3, "logs-insights": 2,
             "iam-role": 1, "rds": 1, "cost-explorer": 1, "ec2-instances": 1, "lambda": 1},
    "security": {"guardduty": 6, "securityhub": 6, "cloudtrail": 5, "iam-roles": 3, "iam-role": 3, "iam-users": 3,
                 "s3-buckets": 3, "s3-bucket": 2, "kms": 2, "athena": 3, "organizations": 2, "ec2-instances": 1,
                 "iam-dashboard": 2, "cloudwatch-logs": 2, "billing": 1},
    "finance": {"cost-explorer": 8, "billing": 6, "ec2-instances": 1, "s3-buckets": 1},
}

# ---------------------------------------------------------------- permission sets
# permission set -> set of denied services, plus denied (service, api) pairs
PERMSET_DENY = {
    "AdministratorAccess": (set(), set()),
    "PlatformEngineer": ({"organizations"}, {("billingconsole", "GetBillingData"), ("billingconsole", "GetBillingDetails"), ("freetier", "GetFreeTierUsage")}),
    "Developer": ({"organizations", "ce", "billingconsole", "freetier", "guardduty", "securityhub", "cloudtrail",
                   "compute-optimizer", "pi", "health"},
                  {("iam", "ListUsers"), ("iam", "GetAccountSummary"), ("iam", "GenerateServiceLastAccessedDetails"),
                   ("iam", "GetServiceLastAccessedDetails"), ("iam", "ListAccessKeys"), ("iam", "GetLoginProfile"),
                   ("iam", "ListMFADevices"), ("iam", "ListGroupsForUser"), ("iam", "GetAccountPasswordPolicy"),
                   ("access-analyzer", "ListAnalyzers"), ("s3", "GetAccountPublicAccessBlock"),
                   ("kms", "GetKeyPolicy"), ("s3", "ListStorageLensConfigurations")}),
    "ReadOnly": ({"ce", "billingconsole", "freetier", "compute-optimizer", "pi"},
                 {("secretsmanager", "GetSecretValue"), ("ssm", "GetParameter"), ("kms", "Decrypt"),
                  ("iam", "GenerateServiceLastAccessedDetails"), ("logs", "StartQuery")}),
    "DataEngineer": ({"organizations", "ce", "billingconsole", "freetier", "compute-optimizer", "guardduty",
                      "securityhub", "cloudtrail", "health", "pi", "eks", "route53"},
                     {("iam", "ListUsers"), ("iam", "GetAccountSummary"), ("iam", "GenerateServiceLastAccessedDetails"),
                      ("iam", "GetServiceLastAccessedDetails"), ("ec2", "DescribeInstanceCreditSpecifications"),
                      ("ssm", "DescribeInstanceInformation"), ("s3", "GetAccountPublicAccessBlock"),
                      ("access-analyzer", "ListAnalyzers"), ("s3", "ListStorageLensConfigurations")}),
    "SecurityAudit": ({"ce", "billingconsole", "freetier", "pi", "compute-optimizer"},
                      {("secretsmanager", "GetSecretValue"), ("logs", "StartQuery"), ("logs", "GetQueryResults"),
                       ("athena", "ListQueryExecutions")}),
    "SecurityEngineer": ({"billingconsole", "freetier", "pi"}, set()),
    "Billing": ({"ec2", "s3", "iam", "rds", "lambda", "logs", "monitoring", "ssm", "elasticloadbalancing", "ecs", "eks",
                 "cloudformation", "health", "compute-optimizer", "access-analyzer"}, set()),
    "OnCallBreakGlass": (set(), set()),
}


def denied(permset, svc, api):
    ds, dp = PERMSET_DENY.get(permset, (set(), set()))
    return svc in ds or (svc, api) in dp


# ---------------------------------------------------------------- instance types
INSTANCE_TYPES_WEB = ["m6i.large", "m6i.xlarge", "m7i.large", "c6i.xlarge"]
KARPENTER_TYPES = ["m6i.2xlarge", "m6a.2xlarge", "m7i.2xlarge", "c6i.2xlarge", "c7i.4xlarge", "r6i.2xlarge",
                   "m6i.4xlarge", "c6a.4xlarge", "m5.2xlarge", "r6a.xlarge"]
MINER_TYPES = ["p3.16xlarge", "g4dn.12xlarge", "p3.8xlarge", "c5.24xlarge", "g5.12xlarge", "c6i.32xlarge",
               "p4d.24xlarge", "g4dn.metal", "c5a.24xlarge", "m5.24xlarge"]
