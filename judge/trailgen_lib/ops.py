"""Reusable call sequences: per-resource reads, S3 bucket property reads, sweeps."""
from . import catalog as C


def bucket_params(b, name):
    sub = C.S3_SUBRES.get(name)
    p = {"bucketName": b["name"], "Host": "%s.s3.%s.amazonaws.com" % (b["name"], b["region"])}
    if sub:
        p[sub] = ""
    return p


def bucket_reads(b, names=None):
    """(eventName, params, err) for reading one bucket's configuration."""
    out = []
    for (name, feat, code, msg) in C.S3_BUCKET_READS:
        if names is not None and name not in names:
            continue
        err = None
        if feat and feat not in b["feats"]:
            err = (code, msg)
        out.append((name, bucket_params(b, name), err))
    return out


CONFIG_S3 = {"GetBucketAcl", "GetBucketPolicy", "GetBucketTagging", "GetBucketLifecycle", "GetBucketVersioning",
             "GetBucketLogging", "GetBucketEncryption", "GetBucketReplication", "GetBucketWebsite", "GetBucketCors",
             "GetBucketNotification", "GetAccelerateConfiguration", "GetBucketRequestPayment", "GetBucketLocation",
             "GetBucketPublicAccessBlock", "GetBucketOwnershipControls", "GetBucketPolicyStatus"}

AA_S3 = {"GetBucketPolicy", "GetBucketAcl", "GetBucketPolicyStatus", "GetBucketPublicAccessBlock", "GetBucketLocation"}


def resource_names(acct, kind):
    """Concrete resource identifiers for a resource kind (used for request parameters)."""
    a = acct
    if kind == "iam_role":
        return [p.name for k, p in sorted(a.principals.items()) if p.kind == "role"]
    if kind == "iam_policy":
        return ["arn:aws:iam::%s:policy/%s" % (a.id, n) for n in
                ("app-s3-access", "app-kms-use", "ci-deploy", "karpenter-controller", "external-dns", "lbc",
                 "ebs-csi", "keda-sqs", "observability-read", "backup-restore", "boundary-developers",
                 "secrets-read", "athena-query", "glue-etl", "ssm-session", "cost-report", "eks-describe",
                 "route53-update", "sqs-consumers", "sns-publish")]
    if kind == "iam_user":
        return [u.name for u in a.legacy_users] + [a.breakglass.name]
    if kind == "kms_key":
        return [k["id"] for k in a.keys]
    if kind == "lambda":
        return [f for f, _ in a.functions]
    if kind == "secret":
        return ["arn:aws:secretsmanager:%s:%s:secret:%s-%s" % (a.region, a.id, s, "AbCdEf") for s in a.secrets]
    if kind == "sqs":
        return ["https://sqs.%s.amazonaws.com/%s/%s" % (a.region, a.id, q) for q in a.queues]
    if kind == "sns":
        return ["arn:aws:sns:%s:%s:%s" % (a.region, a.id, t) for t in a.topics]
    if kind == "dynamodb":
        return list(a.tables)
    if kind == "loggroup":
        return list(a.log_groups)
    if kind == "ecr":
        return list(a.repos)
    if kind == "sg":
        return list(a.sgs)
    if kind == "subnet":
        return list(a.subnets)
    if kind == "rds":
        return list(a.db_instances) or ["none"]
    if kind == "zone":
        return [z for z, _ in a.zones]
    if kind == "cert":
        return list(a.certs)
    if kind == "ecs_service":
        return list(a.ecs_services) or ["none"]
    if kind == "param":
        return list(a.ssm_params)
    return ["%s-%d" % (kind, i) for i in range(50)]


def params_for(acct, kind, svc, name, ident, region):
    a = acct
    if svc == "iam":
        if kind == "iam_role":
            return {"roleName": ident}
        if kind == "iam_policy":
            if name == "GetPolicyVersion":
                return {"policyArn": ident, "versionId": "v%d" % (1 + len(ident) % 5)}
            return {"policyArn": ident}
        if kind == "iam_user":
            return {"userName": ident}
        if kind == "eks":
            return {"openIDConnectProviderArn": "arn:aws:iam::%s:oidc-provider/%s" % (a.id, a.eks_oidc)}
    if svc == "kms":
        if name == "ListAliases":
            return {"keyId": ident}
        if name == "GetKeyPolicy":
            return {"keyId": ident, "policyName": "default"}
        return {"keyId": ident}
    if svc == "lambda":
        return {"functionName": ident}
    if svc == "secretsmanager":
        return {"secretId": ident}
    if svc == "sqs":
        if name == "GetQueueUrl":
            return {"queueName": ident.rsplit("/", 1)[-1]}
        if name == "GetQueueAttributes":
            return {"queueUrl": ident, "attributeNames": ["All"]}
        return {"queueUrl": ident}
    if svc == "sns":
        return {"topicArn": ident} if name != "ListTagsForResource" else {"resourceArn": ident}
    if svc == "dynamodb":
        return {"tableName": ident} if name != "ListTagsOfResource" else {
            "resourceArn": "arn:aws:dynamodb:%s:%s:table/%s" % (region, a.id, ident)}
    if svc == "logs":
        if name == "DescribeLogGroups":
            return {"logGroupNamePrefix": ident}
        return {"resourceArn": "arn:aws:logs:%s:%s:log-group:%s" % (region, a.id, ident)}
    if svc == "ecr":
        if name == "DescribeRepositories":
            return {"repositoryNames": [ident]}
        if name == "ListTagsForResource":
            return {"resourceArn": "arn:aws:ecr:%s:%s:repository/%s" % (region, a.id, ident)}
        return {"repositoryName": ident, "registryId": a.id}
    if svc == "ec2":
        if kind == "sg":
            if name == "DescribeSecurityGroupRules":
                return {"DescribeSecurityGroupRulesRequest": {"Filter": {"Name": "group-id", "Value": {"content": ident}}}}
            return {"securityGroupIdSet": {"items": [{"groupId": ident}]}, "filterSet": {}}
        if kind == "subnet":
            return {"subnetSet": {"items": [{"subnetId": ident}]}, "filterSet": {}}
        if kind == "vpc":
            if name == "DescribeVpcAttribute":
                return {"vpcId": a.vpc, "attribute": "enableDnsSupport"}
            return {"vpcSet": {"items": [{"vpcId": a.vpc}]}, "filterSet": {}}
        return {"filterSet": {}}
    if svc == "rds":
        if name == "DescribeDBInstances":
            return {"dBInstanceIdentifier": ident}
        if name == "ListTagsForResource":
            return {"resourceName": "arn:aws:rds:%s:%s:db:%s" % (region, a.id, ident)}
        if name == "DescribeDBParameters":
            return {"dBParameterGroupName": "%s-pg16" % a.profile}
        return {}
    if svc == "route53":
        return {"hostedZoneId": ident} if name != "ListTagsForResource" else {"resourceType": "hostedzone", "resourceId": ident}
    if svc == "acm":
        return {"certificateArn": ident}
    if svc == "ssm":
        if name == "GetParameter":
            return {"name": ident}
        if name == "ListTagsForResource":
            return {"resourceType": "Parameter", "resourceId": ident}
        return {"parameterFilters": [{"key": "Name", "option": "Equals", "values": [ident]}]}
    if svc == "eks":
        if name in ("DescribeAddon",):
            return {"name": a.cluster, "addonName": "vpc-cni"}
        if name == "DescribeAddonVersions":
            return {"addonName": "vpc-cni", "kubernetesVersion": "1.30"}
        if name == "DescribeAccessEntry":
            return {"name": a.cluster, "principalArn": a.principals["github-actions-deploy"].arn if "github-actions-deploy" in a.principals else a.root.arn}
        return {"name": a.cluster}
    if svc == "elasticloadbalancing":
        if "TargetGroup" in name:
            return {"targetGroupArns": [a.tg_arns[0]]}
        return {"loadBalancerArns": [a.alb_arns[0]]}
    if svc == "ecs":
        if name == "DescribeTaskDefinition":
            return {"taskDefinition": ident}
        return {"cluster": a.ecs_cluster, "services": [ident]}
    if svc == "monitoring":
        return {"alarmNames": ["%s-alarm-%d" % (a.profile, len(str(ident)))]}
    if svc == "events":
        return {"name": "%s-rule-%s" % (a.profile, str(ident)[-2:])}
    return None


ERR_MSG = {
    "NoSuchEntity": "The user with name %s cannot be found.",
    "ResourceNotFoundException": "The resource you requested does not exist.",
    "LifecyclePolicyNotFoundException": "Lifecycle policy does not exist for the repository with name '%s'",
    "RepositoryPolicyNotFoundException": "Repository policy does not exist for the repository with name '%s'",
}


def resource_calls(acct, kind, count, region):
    """Expand a Terraform/CSPM manifest entry into calls.

    Returns a list of (svc, name, params, errspec, region) where errspec is
    None or (code, message, probability)."""
    out = []
    if kind == "s3":
        for b in acct.buckets[:count]:
            for (name, params, err) in bucket_reads(b):
                out.append(("s3", name, params, (err[0], err[1], 1.0) if err else None, b["region"]))
        return out
    tmpl = C.R.get(kind)
    if not tmpl:
        return out
    idents = resource_names(acct, kind)
    for i in range(count):
        ident = idents[i % len(idents)]
        for (svc, name, code, p) in tmpl:
            es = None
            if code:
                m = ERR_MSG.get(code, "")
                if "%s" in m:
                    m = m % str(ident).rsplit("/", 1)[-1]
                es = (code, m, p)
            out.append((svc, name, params_for(acct, kind, svc, name, ident, region), es, region))
    return out


def pick_err(rng, es):
    if es and rng.random() < es[2]:
        return (es[0], es[1])
    return None
