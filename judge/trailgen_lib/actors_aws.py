"""AWS services acting in the account on their own schedules (service-linked
roles, AWS-internal service events)."""
from . import catalog as C
from .core import DAY, HOUR, MIN, civil_from_days, days_from_civil, role_session, iso
from .ops import bucket_reads, CONFIG_S3, AA_S3, pick_err
from .schedule import job_start, region_hour
from .world import aws_ip

CONFIG_SWEEP_HOME = [("ec2", "DescribeInstances"), ("ec2", "DescribeVolumes"), ("ec2", "DescribeSecurityGroups"),
                     ("ec2", "DescribeNetworkInterfaces"), ("ec2", "DescribeVpcs"), ("ec2", "DescribeSubnets"),
                     ("ec2", "DescribeRouteTables"), ("ec2", "DescribeInternetGateways"), ("ec2", "DescribeNatGateways"),
                     ("ec2", "DescribeNetworkAcls"), ("ec2", "DescribeVpcEndpoints"), ("ec2", "DescribeAddresses"),
                     ("ec2", "DescribeLaunchTemplates"), ("ec2", "DescribeFlowLogs"),
                     ("elasticloadbalancing", "DescribeLoadBalancers"), ("elasticloadbalancing", "DescribeTargetGroups"),
                     ("elasticloadbalancing", "DescribeListeners"), ("autoscaling", "DescribeAutoScalingGroups"),
                     ("autoscaling", "DescribePolicies"), ("rds", "DescribeDBInstances"), ("rds", "DescribeDBClusters"),
                     ("rds", "DescribeDBSubnetGroups"), ("rds", "DescribeDBSnapshots"), ("rds", "DescribeEventSubscriptions"),
                     ("lambda", C.LAMBDA["ListFunctions"]), ("dynamodb", "ListTables"), ("sqs", "ListQueues"),
                     ("sns", "ListTopics"), ("secretsmanager", "ListSecrets"), ("kms", "ListKeys"), ("kms", "ListAliases"),
                     ("cloudtrail", "DescribeTrails"), ("ecs", "ListClusters"), ("eks", "ListClusters"),
                     ("ecr", "DescribeRepositories"), ("logs", "DescribeLogGroups"), ("acm", "ListCertificates"),
                     ("cloudformation", "ListStacks"), ("backup", "ListBackupPlans"), ("backup", "ListBackupVaults"),
                     ("ssm", "DescribeInstanceInformation"), ("elasticfilesystem", "DescribeFileSystems"),
                     ("wafv2", "ListWebACLs"), ("apigateway", "GetRestApis"), ("events", "ListRules")]
CONFIG_SWEEP_IDLE = [("ec2", "DescribeInstances"), ("ec2", "DescribeVolumes"), ("ec2", "DescribeSecurityGroups"),
                     ("ec2", "DescribeVpcs"), ("ec2", "DescribeSubnets"), ("ec2", "DescribeRouteTables"),
                     ("ec2", "DescribeInternetGateways"), ("ec2", "DescribeNetworkAcls"), ("ec2", "DescribeFlowLogs"),
                     ("lambda", C.LAMBDA["ListFunctions"]), ("kms", "ListKeys"), ("cloudtrail", "DescribeTrails"),
                     ("rds", "DescribeDBInstances"), ("sns", "ListTopics"), ("sqs", "ListQueues")]

FOLLOW = {
    "ec2.amazonaws.com": [("ec2", "DescribeInstances"), ("ec2", "DescribeNetworkInterfaces"), ("ec2", "DescribeVolumes"),
                          ("ec2", "DescribeSecurityGroups"), ("ec2", "DescribeTags")],
    "iam.amazonaws.com": [("iam", "GetRole"), ("iam", "ListAttachedRolePolicies"), ("iam", "ListRolePolicies"),
                          ("iam", "GetPolicy"), ("iam", "GetPolicyVersion"), ("iam", "GetUser"),
                          ("iam", "ListAttachedUserPolicies"), ("iam", "ListUserPolicies")],
    "s3.amazonaws.com": "S3",
    "rds.amazonaws.com": [("rds", "DescribeDBInstances"), ("rds", "DescribeDBClusters"), ("rds", "DescribeDBSnapshots"),
                          ("rds", "DescribeDBClusterSnapshots"), ("rds", "ListTagsForResource")],
    "lambda.amazonaws.com": [("lambda", C.LAMBDA["GetFunction"]), ("lambda", C.LAMBDA["GetPolicy"]),
                             ("lambda", C.LAMBDA["ListTags"])],
    "elasticloadbalancing.amazonaws.com": [("elasticloadbalancing", "DescribeLoadBalancers"),
                                           ("elasticloadbalancing", "DescribeTargetGroups"),
                                           ("elasticloadbalancing", "DescribeTags")],
    "autoscaling.amazonaws.com": [("autoscaling", "DescribeAutoScalingGroups"), ("autoscaling", "DescribePolicies")],
    "ecs.amazonaws.com": [("ecs", "DescribeServices"), ("ecs", "DescribeTaskDefinition"), ("ecs", "ListTagsForResource")],
    "eks.amazonaws.com": [("eks", "DescribeCluster"), ("eks", "DescribeNodegroup")],
    "sqs.amazonaws.com": [("sqs", "GetQueueAttributes"), ("sqs", "ListQueueTags")],
    "sns.amazonaws.com": [("sns", "GetTopicAttributes"), ("sns", "ListTagsForResource")],
    "dynamodb.amazonaws.com": [("dynamodb", "DescribeTable"), ("dynamodb", "DescribeContinuousBackups"),
                               ("dynamodb", "ListTagsOfResource")],
    "secretsmanager.amazonaws.com": [("secretsmanager", "DescribeSecret"), ("secretsmanager", "GetResourcePolicy")],
    "cloudtrail.amazonaws.com": [("cloudtrail", "DescribeTrails"), ("cloudtrail", "GetEventSelectors"),
                                 ("cloudtrail", "GetTrailStatus"), ("cloudtrail", "ListTags")],
    "kms.amazonaws.com": [("kms", "DescribeKey"), ("kms", "GetKeyPolicy"), ("kms", "GetKeyRotationStatus")],
    "cloudformation.amazonaws.com": [("cloudformation", "DescribeStacks"), ("cloudformation", "DescribeStackResources")],
    "guardduty.amazonaws.com": [("guardduty", "ListDetectors"), ("guardduty", "GetDetector")],
}
NOT_RECORDED = {"CreateTags", "DeleteTags", "AssignPrivateIpAddresses", "UnassignPrivateIpAddresses",
                "CreateGrant", "RetireGrant", "StartQueryExecution", "PutEvaluations", "CreateLogStream",
                "StartSession", "TerminateSession", "CreateSnapshot", "DeleteSnapshot", "CopySnapshot",
                "CreateDBClusterSnapshot", "DeleteDBClusterSnapshot", "CreateDBSnapshot", "DeleteDBSnapshot",
                "AddTagsToResource", "CreateBackup", "DeleteBackup", "RegisterTargets", "DeregisterTargets",
                "ChangeMessageVisibility", "ReceiveMessage", "DeleteMessage", "PutComplianceItems"}


def act_config(ctx):
    a = ctx.acct
    r = ctx.rng("config")
    sess = ctx.slr_session("AWSServiceRoleForConfig", "AWSConfig-Describe")
    label_arn = a.slr("AWSServiceRoleForConfig").arn
    for region in a.regions:
        home = region in a.homes or region == "us-east-1"
        h = region_hour(ctx.seed, a.id, "config-periodic", region)
        t = ctx.t0 + h * HOUR + r.uniform(-20, 20) * MIN
        if r.random() < 0.03:      # the periodic run occasionally slips by an hour or more
            t += r.uniform(40, 120) * MIN
        cap = ctx.sink.capture() if region in a.homes else None
        calls = CONFIG_SWEEP_HOME if region in a.homes else CONFIG_SWEEP_IDLE
        for svc, name in calls:
            t += r.uniform(0.3, 4.0)
            err = ctx.throttle_err(svc) if r.random() < 0.004 else None
            ctx.emit(t, sess, svc, name, region, params=None, err=err)
        for b in a.buckets:
            if b["region"] != region:
                continue
            for name, params, err in bucket_reads(b, CONFIG_S3):
                t += r.uniform(0.05, 0.8)
                ctx.emit(t, sess, "s3", name, region, params=params, err=err)
        if region == "us-east-1":
            t += r.uniform(2, 10)
            ctx.emit(t, sess, "iam", "ListRoles", region, params={"maxItems": 100})
            roles = [p for k, p in sorted(a.principals.items()) if p.kind == "role"]
            for p in roles:
                if r.random() < 0.35:
                    for nm in ("GetRole", "ListAttachedRolePolicies", "ListRolePolicies"):
                        t += r.uniform(0.1, 0.9)
                        ctx.emit(t, sess, "iam", nm, region, params={"roleName": p.name})
            for nm in ("ListUsers", "ListPolicies", "ListGroups"):
                t += r.uniform(0.2, 1.5)
                ctx.emit(t, sess, "iam", nm, region, params={"maxItems": 100})
        if cap is not None:
            ctx.sink.release(cap)
            if any(x[5] for x in cap.items):
                ctx.decoy("error_rate", "aws-config", cap.items,
                          "AWS Config periodic recording sweep by the service-linked role (routine S3 NoSuch* errors)",
                          principal=label_arn, region=region)


def config_followups(ctx):
    """AWS Config describes resources a few minutes after they change."""
    a = ctx.acct
    r = ctx.rng("config-follow")
    sess = ctx.slr_session("AWSServiceRoleForConfig", "AWSConfig-Describe")
    last = {}
    for (t, source, name, region) in sorted(ctx.writes):
        if name in NOT_RECORDED or source not in FOLLOW:
            continue
        key = (source, region)
        if key in last and t - last[key] < 300:
            continue
        last[key] = t
        tt = t + r.uniform(20, 420)
        f = FOLLOW[source]
        if f == "S3":
            bs = [b for b in a.buckets if b["region"] == region] or a.buckets
            b = r.choice(bs)
            for nm, params, err in bucket_reads(b, {"GetBucketAcl", "GetBucketPolicy", "GetBucketTagging",
                                                    "GetBucketVersioning", "GetBucketPublicAccessBlock",
                                                    "GetBucketEncryption", "GetBucketLifecycle", "GetBucketLogging"}):
                tt += r.uniform(0.05, 0.5)
                ctx.sink.emit(tt, sess, "s3.amazonaws.com", nm, region, params=params, err=err)
            continue
        k = r.randint(1, min(3, len(f)))
        for svc, nm in f[:k]:
            tt += r.uniform(0.2, 2.0)
            err = None
            if nm == C.LAMBDA["GetPolicy"] and r.random() < 0.7:
                err = ("ResourceNotFoundException", "The resource you requested does not exist.")
            ctx.sink.emit(tt, sess, svc + ".amazonaws.com", nm, region, err=err)


SH_CALLS = [("cloudtrail", "DescribeTrails"), ("cloudtrail", "GetTrailStatus"), ("cloudtrail", "GetEventSelectors"),
            ("config", "DescribeConfigurationRecorders"), ("config", "DescribeConfigurationRecorderStatus"),
            ("ec2", "GetEbsEncryptionByDefault"), ("ec2", "DescribeFlowLogs"), ("ec2", "DescribeVpcs"),
            ("ec2", "DescribeSecurityGroups"), ("ec2", "GetSnapshotBlockPublicAccessState"),
            ("guardduty", "ListDetectors"), ("access-analyzer", "ListAnalyzers"), ("kms", "ListKeys")]
SH_HOME = [("ec2", "DescribeInstances"), ("elasticloadbalancing", "DescribeLoadBalancers"),
           ("lambda", C.LAMBDA["ListFunctions"]), ("rds", "DescribeDBInstances"), ("rds", "DescribeDBClusters"),
           ("ssm", "DescribeInstanceInformation"), ("ecr", "DescribeRepositories"), ("sqs", "ListQueues"),
           ("sns", "ListTopics"), ("dynamodb", "ListTables"), ("secretsmanager", "ListSecrets"),
           ("ecs", "ListClusters"), ("eks", "ListClusters"), ("apigateway", "GetRestApis")]


def act_securityhub(ctx):
    a = ctx.acct
    r = ctx.rng("securityhub")
    sess = ctx.slr_session("AWSServiceRoleForSecurityHub", "securityhub")
    has_pw_policy = a.profile in ("prod", "security")
    for region in a.regions:
        base = region_hour(ctx.seed, a.id, "securityhub", region, 0, 12)
        for k in range(2):
            t = ctx.t0 + (base + 12 * k) * HOUR + r.uniform(-25, 25) * MIN
            calls = SH_CALLS + (SH_HOME if region in a.homes else [])
            for svc, nm in calls:
                t += r.uniform(0.2, 3.0)
                ctx.emit(t, sess, svc, nm, region)
            if region in a.homes:
                for key in a.keys:
                    t += r.uniform(0.1, 0.6)
                    ctx.emit(t, sess, "kms", "GetKeyRotationStatus", region, params={"keyId": key["id"]})
            if region == "us-east-1":
                for nm in ("GetAccountSummary", "GetAccountPasswordPolicy", "GenerateCredentialReport",
                           "GetCredentialReport", "ListUsers", "ListVirtualMFADevices", "ListPolicies"):
                    t += r.uniform(0.3, 2.0)
                    err = None
                    if nm == "GetAccountPasswordPolicy" and not has_pw_policy:
                        err = ("NoSuchEntity", "The Password Policy with domain name %s cannot be found." % a.id)
                    if nm == "GetCredentialReport" and r.random() < 0.3:
                        err = ("ReportInProgress", "Report is in progress")
                    ctx.emit(t, sess, "iam", nm, region, err=err)
                t += 1
                ctx.emit(t, sess, "s3", "GetAccountPublicAccessBlock", region, params={"accountId": a.id})


def act_guardduty(ctx):
    a = ctx.acct
    r = ctx.rng("guardduty")
    sess = ctx.slr_session("AWSServiceRoleForAmazonGuardDuty", "AmazonGuardDuty")
    for region in a.regions:
        t = ctx.t0 + region_hour(ctx.seed, a.id, "gd", region, 0, 6) * HOUR
        while t < ctx.t1:
            tt = t + r.uniform(-10, 10) * MIN
            calls = [("ec2", "DescribeVpcEndpoints"), ("ec2", "DescribeInstances"), ("eks", "ListClusters")]
            if region in a.homes:
                calls += [("ec2", "DescribeImages"), ("eks", "DescribeCluster"), ("ecs", "ListClusters"),
                          ("ecs", "DescribeClusters"), ("organizations", "DescribeOrganization")]
            for svc, nm in calls:
                tt += r.uniform(0.2, 2.0)
                err = None
                if svc == "eks" and nm == "DescribeCluster" and a.profile not in ("prod", "staging"):
                    continue
                ctx.emit(tt, sess, svc, nm, region, err=err)
            t += r.uniform(5.0, 7.0) * HOUR


def act_access_analyzer(ctx):
    a = ctx.acct
    r = ctx.rng("access-analyzer")
    sess = ctx.slr_session("AWSServiceRoleForAccessAnalyzer", "access-analyzer")
    arn = a.slr("AWSServiceRoleForAccessAnalyzer").arn
    for region in a.regions:
        t = ctx.t0 + region_hour(ctx.seed, a.id, "aa", region) * HOUR + r.uniform(-30, 30) * MIN
        cap = ctx.sink.capture() if region == a.region else None
        base = [("lambda", C.LAMBDA["ListFunctions"]), ("kms", "ListKeys"), ("secretsmanager", "ListSecrets"),
                ("sqs", "ListQueues"), ("ecr", "DescribeRepositories"), ("sns", "ListTopics"),
                ("ec2", "DescribeSnapshots"), ("rds", "DescribeDBSnapshots"), ("elasticfilesystem", "DescribeFileSystems")]
        for svc, nm in base:
            t += r.uniform(0.2, 2.0)
            ctx.emit(t, sess, svc, nm, region)
        if region in a.homes:
            for b in a.buckets:
                if b["region"] != region:
                    continue
                for nm, params, err in bucket_reads(b, AA_S3):
                    t += r.uniform(0.05, 0.4)
                    ctx.emit(t, sess, "s3", nm, region, params=params, err=err)
            for key in a.keys:
                for nm in ("GetKeyPolicy", "ListGrants"):
                    t += r.uniform(0.1, 0.5)
                    ctx.emit(t, sess, "kms", nm, region, params={"keyId": key["id"]} if nm == "ListGrants" else
                             {"keyId": key["id"], "policyName": "default"})
            if region == a.region:
                for f, _ in a.functions:
                    t += r.uniform(0.1, 0.5)
                    err = ("ResourceNotFoundException", "The resource you requested does not exist.") if r.random() < 0.75 else None
                    ctx.emit(t, sess, "lambda", C.LAMBDA["GetPolicy"], region, params={"functionName": f}, err=err)
                for s in a.secrets:
                    t += r.uniform(0.1, 0.5)
                    ctx.emit(t, sess, "secretsmanager", "GetResourcePolicy", region, params={"secretId": s})
                for q in a.queues:
                    t += r.uniform(0.1, 0.5)
                    ctx.emit(t, sess, "sqs", "GetQueueAttributes", region,
                             params={"queueUrl": "https://sqs.%s.amazonaws.com/%s/%s" % (region, a.id, q),
                                     "attributeNames": ["Policy"]})
                for rp in a.repos:
                    t += r.uniform(0.1, 0.5)
                    err = ("RepositoryPolicyNotFoundException", "Repository policy does not exist for the repository with name '%s'" % rp) if r.random() < 0.85 else None
                    ctx.emit(t, sess, "ecr", "GetRepositoryPolicy", region, params={"repositoryName": rp}, err=err)
        if region == "us-east-1":
            t += 3
            ctx.emit(t, sess, "s3", "ListBuckets", region)
            ctx.emit(t + 1, sess, "iam", "ListRoles", region)
            roles = [p for k, p in sorted(a.principals.items()) if p.kind == "role"]
            for p in roles:
                t += r.uniform(0.05, 0.4)
                ctx.emit(t, sess, "iam", "GetRole", region, params={"roleName": p.name})
        if cap is not None:
            ctx.sink.release(cap)
            ctx.decoy("error_rate", "access-analyzer", cap.items,
                      "IAM Access Analyzer daily resource scan (routine NoSuchBucketPolicy / ResourceNotFound errors)",
                      principal=arn, region=region)


TA_CALLS = [("ec2", "DescribeInstances"), ("ec2", "DescribeVolumes"), ("ec2", "DescribeAddresses"),
            ("ec2", "DescribeSecurityGroups"), ("ec2", "DescribeSnapshots"), ("ec2", "DescribeReservedInstances"),
            ("elasticloadbalancing", "DescribeLoadBalancers"), ("rds", "DescribeDBInstances"),
            ("rds", "DescribeReservedDBInstances"), ("autoscaling", "DescribeAutoScalingGroups"),
            ("autoscaling", "DescribeLaunchConfigurations"), ("cloudtrail", "DescribeTrails")]


def act_trusted_advisor(ctx):
    a = ctx.acct
    r = ctx.rng("ta")
    sess = ctx.slr_session("AWSServiceRoleForTrustedAdvisor", "TrustedAdvisor")
    n = r.choice([2, 3, 3, 4])
    starts = sorted(ctx.t0 + r.uniform(0, DAY - 3600) for _ in range(n))
    for t in starts:
        for region in a.regions:
            tt = t + r.uniform(0, 600)
            for svc, nm in TA_CALLS:
                tt += r.uniform(0.1, 1.5)
                ctx.emit(tt, sess, svc, nm, region)
        tt = t + 620
        for svc, nm in (("iam", "GetAccountSummary"), ("iam", "ListUsers"), ("iam", "GenerateCredentialReport"),
                        ("s3", "ListBuckets"), ("route53", "ListHostedZones"), ("iam", "ListServerCertificates")):
            tt += r.uniform(0.3, 2.0)
            ctx.emit(tt, sess, svc, nm, "us-east-1")
        for b in a.buckets:
            for nm, params, err in bucket_reads(b, {"GetBucketAcl", "GetBucketPolicy"}):
                tt += r.uniform(0.05, 0.3)
                ctx.emit(tt, sess, "s3", nm, b["region"], params=params, err=err)


def act_inspector(ctx):
    a = ctx.acct
    if a.profile not in ("prod", "staging", "data"):
        return
    r = ctx.rng("inspector")
    sess = ctx.slr_session("AWSServiceRoleForAmazonInspector2", "inspector2")
    for region in a.homes:
        t = ctx.t0 + r.uniform(0, 3600)
        while t < ctx.t1:
            for svc, nm in (("ec2", "DescribeInstances"), ("ssm", "DescribeInstanceInformation"),
                            ("ecr", "DescribeRepositories"), ("ecr", "DescribeRegistry"),
                            ("lambda", C.LAMBDA["ListFunctions"])):
                t += r.uniform(0.3, 3)
                ctx.emit(t, sess, svc, nm, region)
            for rp in a.repos:
                if r.random() < 0.5:
                    t += r.uniform(0.2, 1.0)
                    ctx.emit(t, sess, "ecr", "DescribeImages", region, params={"repositoryName": rp, "maxResults": 1000})
            t += r.uniform(50, 75) * MIN
        t = ctx.t0 + region_hour(ctx.seed, a.id, "inspector-lambda", region) * HOUR
        if region == a.region:
            for f, _ in a.functions:
                t += r.uniform(1, 5)
                ctx.emit(t, sess, "lambda", C.LAMBDA["GetFunction"], region, params={"functionName": f})
                ctx.emit(t + 0.5, sess, "lambda", C.LAMBDA["ListTags"], region, params={"resource": f})


def act_kms_rotation(ctx):
    a = ctx.acct
    y, m, d = civil_from_days(ctx.day)
    doy = ctx.day - days_from_civil(y, 1, 1)
    r = ctx.rng("kmsrot")
    for key in a.keys:
        if key["rotation_day"] != doy:
            continue
        t = ctx.t0 + r.uniform(0, DAY)
        sess = ctx.internal()
        region = a.region
        karn = "arn:aws:kms:%s:%s:key/%s" % (region, a.id, key["id"])
        cap = ctx.sink.capture()
        ctx.emit(t, sess, "kms", "RotateKey", region, params=None, resp=None, etype="AwsServiceEvent",
                 resources=[{"accountId": a.id, "type": "AWS::KMS::Key", "ARN": karn}],
                 svc_details={"rotationType": "AUTOMATIC", "keyId": key["id"]}, ro=False)
        ctx.sink.release(cap)
        ctx.decoy("rare_action", "kms-rotation", cap.items,
                  "Annual automatic KMS key rotation of %s (AwsServiceEvent, first occurrence in the trail)" % key["alias"],
                  principal=None)


def act_cloudtrail_kms(ctx):
    """CloudTrail asks KMS for a data key for every log file it writes (SSE-KMS trail)."""
    a = ctx.acct
    org = ctx.org
    sec = org.security_account
    if not (a.id == sec or (a.profile == "prod" and sec == org.mgmt_account)):
        return
    r = ctx.rng("ct-kms")
    sess = ctx.aws_service("cloudtrail.amazonaws.com")
    key = a.keys[-1]["id"]
    n_accts = len(org.accounts)
    bucket = "acme-org-cloudtrail-%s" % a.id[-6:]
    for slot in range(288):
        t = ctx.t0 + slot * 300
        n = r.poisson(n_accts * 2.6)
        for _ in range(n):
            tt = t + r.uniform(0, 300)
            tgt = r.choice(org.accounts).id
            reg = r.choice(["us-east-1", "us-east-1", "eu-west-1", r.choice(C.ENABLED_REGIONS)])
            ctx.emit(tt, sess, "kms", "GenerateDataKey", a.region,
                     params={"keySpec": "AES_256", "encryptionContext": {
                         "aws:cloudtrail:arn": "arn:aws:cloudtrail:us-east-1:%s:trail/org-trail" % org.mgmt_account,
                         "aws:s3:arn": "arn:aws:s3:::%s/AWSLogs/o-%s/%s/CloudTrail/%s/" % (bucket, "a1b2c3d4e5", tgt, reg)},
                         "keyId": "arn:aws:kms:%s:%s:key/%s" % (a.region, a.id, key)},
                     resources=[{"accountId": a.id, "type": "AWS::KMS::Key",
                                 "ARN": "arn:aws:kms:%s:%s:key/%s" % (a.region, a.id, key)}])


BACKUP_JOB_NAMES = ["BackupJobStarted", "CreateSnapshot", "CreateDBClusterSnapshot", "CreateDBSnapshot",
                    "CreateBackup", "DescribeSnapshots"]


def backup_run_time(ctx_seed, acct_id, dayno):
    # backup window opens 05:00 UTC; AWS Backup starts jobs anywhere in the 60 min start window
    return job_start(ctx_seed, acct_id, "aws-backup-daily", dayno, 5.0, 55.0)


def act_backup(ctx):
    a = ctx.acct
    if a.profile not in ("prod", "data", "staging", "security"):
        return
    if ctx.plan.skip("aws-backup", ctx.day):
        return
    weekly = ctx.wd == 6
    monthly = civil_from_days(ctx.day)[2] == 1
    if a.profile == "staging" and not weekly:
        return
    r = ctx.rng("backup")
    region = a.region
    t = backup_run_time(ctx.seed, a.id, ctx.day)
    late = ctx.plan.late("aws-backup", ctx.day)
    if late:
        t += late
    role = a.principals["AWSBackupDefaultServiceRole"]
    sess = role_session(r, role, t, "AWSBackup-AWSBackupDefaultServiceRole", "backup.amazonaws.com",
                        "backup.amazonaws.com", invoked_by="backup.amazonaws.com")
    svc_ev = ctx.internal("backup.amazonaws.com")
    nvol = {"prod": 6, "data": 3, "staging": 4, "security": 1}[a.profile]
    if weekly:
        nvol = len(a.volumes)
    vols = a.volumes[:nvol]
    cap = ctx.sink.capture()
    vault = "arn:aws:backup:%s:%s:backup-vault:Default" % (region, a.id)
    jobs = []
    for v in vols:
        jobs.append(("ebs", v))
    for c in a.db_clusters:
        jobs.append(("aurora", c))
    for d in a.db_instances:
        if "instance" not in d:
            jobs.append(("rds", d))
    for tb in a.tables[:3]:
        jobs.append(("ddb", tb))
    if monthly:
        jobs = jobs + [("ebs", v) for v in a.volumes[nvol:]]
    snaps = []
    for kind, res in jobs:
        tt = t + r.uniform(0, 240)
        job = r.uuid().upper()
        ctx.emit(tt, svc_ev, "backup", "BackupJobStarted", region, etype="AwsServiceEvent", ro=False,
                 svc_details={"backupJobId": job, "backupVaultArn": vault, "resourceType":
                              {"ebs": "EBS", "aurora": "Aurora", "rds": "RDS", "ddb": "DynamoDB"}[kind]})
        tt += r.uniform(2, 15)
        if kind == "ebs":
            sid = "snap-0%s" % r.hexs(16)
            ctx.emit(tt, sess, "ec2", "CreateSnapshot", region,
                     params={"volumeId": res, "description": "This snapshot is created by the AWS Backup service."},
                     resp={"snapshotId": sid, "volumeId": res, "status": "pending", "startTime": iso(tt)})
            ctx.emit(tt + 1, sess, "ec2", "CreateTags", region,
                     params={"resourcesSet": {"items": [{"resourceId": sid}]},
                             "tagSet": {"items": [{"key": "aws:backup:source-resource", "value": res}]}})
            snaps.append((sid, tt))
        elif kind == "aurora":
            ctx.emit(tt, sess, "rds", "CreateDBClusterSnapshot", region,
                     params={"dBClusterSnapshotIdentifier": "awsbackup:job-%s" % job.lower(), "dBClusterIdentifier": res})
            for k in range(r.randint(3, 8)):
                ctx.emit(tt + 120 * (k + 1) + r.uniform(0, 30), sess, "rds", "DescribeDBClusterSnapshots", region,
                         params={"dBClusterSnapshotIdentifier": "awsbackup:job-%s" % job.lower()})
        elif kind == "rds":
            ctx.emit(tt, sess, "rds", "CreateDBSnapshot", region,
                     params={"dBSnapshotIdentifier": "awsbackup:job-%s" % job.lower(), "dBInstanceIdentifier": res})
        else:
            ctx.emit(tt, sess, "dynamodb", "CreateBackup", region,
                     params={"tableName": res, "backupName": "awsbackup-%s" % job.lower()[:18]})
            ctx.emit(tt + r.uniform(20, 90), sess, "dynamodb", "DescribeBackup", region,
                     params={"backupArn": "arn:aws:dynamodb:%s:%s:table/%s/backup/%s" % (region, a.id, res, r.hexs(16))})
        done = tt + r.uniform(300, 2400)
        ctx.emit(done, svc_ev, "backup", "BackupJobCompleted", region, etype="AwsServiceEvent", ro=False,
                 svc_details={"backupJobId": job, "backupVaultArn": vault, "state": "COMPLETED"})
    for sid, tt in snaps:
        for k in range(r.randint(2, 6)):
            ctx.emit(tt + 180 * (k + 1) + r.uniform(0, 60), sess, "ec2", "DescribeSnapshots", region,
                     params={"snapshotSet": {"items": [{"snapshotId": sid}]}, "filterSet": {}})
    # retention: expire recovery points created 35 days ago
    te = t + r.uniform(1800, 4000)
    for k in range(len(vols)):
        te += r.uniform(1, 20)
        ctx.emit(te, sess, "ec2", "DeleteSnapshot", region, params={"snapshotId": "snap-0%s" % r.hexs(16)})
    for c in a.db_clusters:
        te += r.uniform(1, 20)
        ctx.emit(te, sess, "rds", "DeleteDBClusterSnapshot", region,
                 params={"dBClusterSnapshotIdentifier": "awsbackup:job-%s" % r.uuid()})
    if a.profile == "prod" and len(a.homes) > 1:
        # cross-region copy for DR
        tc = t + r.uniform(2400, 5400)
        for sid, _ in snaps[:3]:
            tc += r.uniform(2, 30)
            ctx.emit(tc, sess, "ec2", "CopySnapshot", a.homes[1],
                     params={"sourceRegion": region, "sourceSnapshotId": sid,
                             "description": "This snapshot is copied by the AWS Backup service.", "encrypted": True})
    ctx.sink.release(cap)
    if weekly or monthly:
        ctx.decoy("call_rate_spike", "aws-backup", cap.items,
                  "%s AWS Backup plan run: snapshot burst by the backup service role" % ("Monthly" if monthly else "Weekly"),
                  principal=role.arn, region=region)
    if late:
        ctx.decoy("maintenance_gap", "aws-backup", [x for x in cap.items if x[2] in BACKUP_JOB_NAMES],
                  "Nightly AWS Backup jobs started late (start window / capacity delay) but did run",
                  principal=role.arn, region=region,
                  window=(backup_run_time(ctx.seed, a.id, ctx.day), t))
