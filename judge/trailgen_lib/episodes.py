"""Incidents: attack and failure episodes, their labels and the legitimate
incident-response activity that follows some of them (labelled as decoys)."""
from . import catalog as C
from .core import (DAY, HOUR, MIN, Rng, Session, derive_seed, iso, role_session, user_session, root_session,
                   weekday, access_denied)
from .plan import _pred_role, pred_names
from .world import rand_ip, private_ip, aws_ip
from .schedule import job_start

ATTACKER_UAS = [
    "aws-cli/1.18.69 Python/3.8.10 Linux/5.4.0-169-generic botocore/1.17.62",
    "Boto3/1.9.201 Python/2.7.18 Linux/5.10.0-21-amd64 Botocore/1.12.201",
    "aws-cli/2.9.19 Python/3.9.11 Linux/6.1.0-13-amd64 exe/x86_64.kali.2023 prompt/off command/sts.get-caller-identity",
    "Boto3/1.26.90 Python/3.10.12 Linux/5.15.0-1052-aws Botocore/1.29.90",
    "aws-sdk-go/1.44.9 (go1.18.1; linux; amd64)",
    "Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux#6.6.15-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.2",
]

ENUM_GLOBAL = [("iam", "GetUser"), ("iam", "ListAttachedUserPolicies"), ("iam", "ListUserPolicies"),
               ("iam", "ListGroupsForUser"), ("iam", "ListUsers"), ("iam", "ListRoles"), ("iam", "ListPolicies"),
               ("iam", "GetAccountAuthorizationDetails"), ("iam", "ListAccessKeys"), ("s3", "ListBuckets"),
               ("organizations", "DescribeOrganization"), ("sts", "GetSessionToken")]
ENUM_REGIONAL = [("ec2", "DescribeInstances"), ("ec2", "DescribeSecurityGroups"), ("lambda", C.LAMBDA["ListFunctions"]),
                 ("rds", "DescribeDBInstances"), ("secretsmanager", "ListSecrets"), ("ses", "GetSendQuota"),
                 ("ses", "ListIdentities"), ("sns", "ListTopics"), ("dynamodb", "ListTables"),
                 ("ecr", "DescribeRepositories"), ("eks", "ListClusters"), ("ssm", "DescribeParameters"),
                 ("ec2", "DescribeVpcs"), ("elasticbeanstalk", "DescribeEnvironments")]

INCIDENT_KINDS = ["error_rate", "iam_burst", "provisioning_spike", "rare_action", "call_rate_spike",
                  "call_rate_drop", "maintenance_gap"]


class Actor:
    """A compromised (or misbehaving) identity and its client context."""

    def __init__(self, kind, principal, ip, ua, session_name=None, console=False, key=None):
        self.kind = kind
        self.principal = principal
        self.ip = ip
        self.ua = ua
        self.session_name = session_name
        self.console = console
        self.key = key

    def session(self, r, t):
        p = self.principal
        if self.kind == "user":
            return user_session(r, p, self.ip, self.ua, key=self.key)
        if self.kind == "root":
            return root_session(r, p, self.ip, self.ua, console=True, t=t)
        return role_session(r, p, t, self.session_name, self.ip, self.ua, console=self.console)


class Episode:
    kind = None
    family = None

    def __init__(self, plan, t, r):
        self.plan = plan
        self.acct = plan.acct
        self.org = plan.org
        self.t = int(t)
        self.day = self.t // DAY
        self.r = r

    def emit(self, ctx):
        raise NotImplementedError

    def label(self, ctx, items, desc, principal, kind=None, **kw):
        ctx.label(False, kind or self.kind, self.family, items, desc, principal=principal, **kw)


def _errs(ctx, sess, svc, nm, p_denied, r):
    if r.random() < p_denied:
        return ctx.denied_err(sess, svc, nm)
    return None


# ---------------------------------------------------------------- concrete episodes

class Enumeration(Episode):
    kind = "error_rate"
    family = "leaked-key-enumeration"

    def __init__(self, plan, t, r, actor, subtle=False):
        super().__init__(plan, t, r)
        self.actor = actor
        self.subtle = subtle

    def emit(self, ctx):
        r = self.r
        a = self.acct
        s = self.actor.session(r, self.t)
        cap = ctx.sink.capture()
        t = self.t
        ctx.emit(t, s, "sts", "GetCallerIdentity", "us-east-1")
        allowed = {("s3", "ListBuckets"), ("iam", "GetUser"), ("ec2", "DescribeRegions"), ("sts", "GetSessionToken")}
        gap = (40, 400) if self.subtle else (0.3, 4)
        calls = list(ENUM_GLOBAL)
        r.shuffle(calls)
        if self.subtle:
            calls = calls[:r.randint(6, 9)]
        for svc, nm in calls:
            t += r.uniform(*gap)
            err = None if (svc, nm) in allowed and r.random() < 0.8 else ctx.denied_err(s, svc, nm)
            ctx.emit(t, s, svc, nm, "us-east-1", err=err)
        t += r.uniform(*gap)
        ctx.emit(t, s, "ec2", "DescribeRegions", a.region)
        regions = list(a.regions)
        r.shuffle(regions)
        regions = regions[:(r.randint(2, 4) if self.subtle else r.randint(8, 17))]
        for reg in regions:
            for svc, nm in (ENUM_REGIONAL if not self.subtle else ENUM_REGIONAL[:r.randint(2, 4)]):
                if r.random() < 0.25 and not self.subtle:
                    continue
                t += r.uniform(*gap) / (3 if not self.subtle else 1)
                err = ctx.denied_err(s, svc, nm) if r.random() < 0.85 else None
                ctx.emit(t, s, svc, nm, reg, err=err)
        ctx.sink.release(cap)
        desc = ("Leaked long-term access key of %s used from unfamiliar %s (%s): GetCallerIdentity then %s "
                "enumeration across services and regions, mostly AccessDenied") % (
            self.actor.principal.name, self.actor.ip, self.actor.ua.split(" ")[0],
            "slow, low-volume" if self.subtle else "rapid")
        self.label(ctx, cap.items, desc, self.actor.principal.label_arn)


class IAMPersistence(Episode):
    kind = "iam_burst"
    family = "iam-persistence"

    def __init__(self, plan, t, r, actor):
        super().__init__(plan, t, r)
        self.actor = actor

    def emit(self, ctx):
        r = self.r
        a = self.acct
        s = self.actor.session(r, self.t)
        if self.actor.console:
            s.ua = C.CONSOLE_UA
        cap = ctx.sink.capture()
        t = self.t
        newu = r.choice(["support-ops", "aws-backup-svc", "devops2", "ci-runner-legacy", "monitoring-agent"])
        newr = r.choice(["OrganizationAccountAccessRole2", "ec2-ssm-helper", "AWSSupportAccessRole", "lambda-maintenance"])
        seq = [("iam", "ListUsers", {}), ("iam", "CreateUser", {"userName": newu}),
               ("iam", "CreateLoginProfile", {"userName": newu, "passwordResetRequired": False}),
               ("iam", "AttachUserPolicy", {"userName": newu, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
               ("iam", "CreateAccessKey", {"userName": newu})]
        if r.random() < 0.7:
            seq += [("iam", "CreateRole", {"roleName": newr, "assumeRolePolicyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}' % self.org.attacker_account}),
                    ("iam", "AttachRolePolicy", {"roleName": newr, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})]
        if r.random() < 0.5:
            seq += [("iam", "CreateAccessKey", {"userName": a.breakglass.name})]
        if r.random() < 0.4:
            victim = r.choice([x for x in a.principals.values() if x.kind == "role" and "Datadog" in x.name] or [a.principals["OrganizationAccountAccessRole"]])
            seq += [("iam", "GetRole", {"roleName": victim.name}),
                    ("iam", "UpdateAssumeRolePolicy", {"roleName": victim.name})]
        if r.random() < 0.4:
            seq += [("iam", "PutUserPolicy", {"userName": newu, "policyName": "s3-access"}),
                    ("iam", "AddUserToGroup", {"userName": newu, "groupName": "admins"})]
        for svc, nm, params in seq:
            t += r.uniform(2, 45)
            err = None
            if nm == "AddUserToGroup" and r.random() < 0.5:
                err = ("NoSuchEntity", "The group with name admins cannot be found.")
            ctx.emit(t, s, svc, nm, "us-east-1", params=params, err=err)
        ctx.sink.release(cap)
        self.created_user = newu
        desc = "IAM persistence by %s from %s: created user %s with admin policy, login profile and access keys%s" % (
            self.actor.principal.name, self.actor.ip, newu, ", backdoor role trusting an external account" if any(x[2] == "CreateRole" for x in cap.items) else "")
        self.label(ctx, cap.items, desc, self.actor.principal.label_arn)


class CIRoleAbuse(Episode):
    kind = "iam_burst"
    family = "ci-role-abuse"

    def emit(self, ctx):
        from .actors_tools import gha_assume
        r = self.r
        a = self.acct
        ip = rand_ip(r, C.GITHUB_RUNNER_PREFIX)
        s = gha_assume(ctx, r, self.t, "github-actions-deploy", "k8s-apps", "pull_request", ip)
        s.ua = "Boto3/1.35.20 md/Botocore#1.35.20 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.20"
        cap = ctx.sink.capture()
        t = self.t + 10
        rolename = "github-actions-deploy"
        seq = [("sts", "GetCallerIdentity", None, None), ("iam", "ListAttachedRolePolicies", {"roleName": rolename}, None),
               ("iam", "CreatePolicyVersion", {"policyArn": "arn:aws:iam::%s:policy/ci-deploy" % a.id, "setAsDefault": True}, None),
               ("iam", "AttachRolePolicy", {"roleName": rolename, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, "deny"),
               ("iam", "PutRolePolicy", {"roleName": rolename, "policyName": "ci-extra"}, None),
               ("iam", "CreateUser", {"userName": "gh-cache-sync"}, None),
               ("iam", "CreateAccessKey", {"userName": "gh-cache-sync"}, None),
               ("iam", "AttachUserPolicy", {"userName": "gh-cache-sync", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, None)]
        for svc, nm, params, e in seq:
            t += r.uniform(1, 12)
            err = None
            if e == "deny" and r.random() < 0.6:
                err = ("AccessDenied", "User: %s is not authorized to perform: iam:AttachRolePolicy on resource: role %s with an explicit deny in a permissions boundary" % (s.ui["arn"], rolename))
            ctx.emit(t, s, svc, nm, "us-east-1" if svc in ("iam",) else a.region, params=params, err=err)
        ctx.sink.release(cap)
        self.label(ctx, cap.items,
                   "Pull-request workflow from a fork assumed the deploy role via over-broad GitHub OIDC trust and escalated IAM privileges",
                   a.principals[rolename].arn)


class Cryptomining(Episode):
    kind = "provisioning_spike"
    family = "cryptomining"

    def __init__(self, plan, t, r, actor, subtle=False):
        super().__init__(plan, t, r)
        self.actor = actor
        self.subtle = subtle
        un = list(self.acct.unused)
        r.shuffle(un)
        self.regions = un[:1 if subtle else r.randint(2, 4)]
        if r.random() < 0.3 and not subtle:
            self.regions.append(self.acct.region)

    def emit(self, ctx):
        r = self.r
        a = self.acct
        s = self.actor.session(r, self.t)
        cap = ctx.sink.capture()
        t = self.t
        ctx.emit(t, s, "sts", "GetCallerIdentity", "us-east-1")
        for code in ("L-1216C47A", "L-34B43A08", "L-DB2E81BA"):
            t += r.uniform(1, 5)
            ctx.emit(t, s, "servicequotas", "GetServiceQuota", self.regions[0], params={"serviceCode": "ec2", "quotaCode": code})
        ctx.emit(t + 2, s, "ec2", "DescribeRegions", a.region)
        iids = []
        for reg in self.regions:
            t += r.uniform(10, 90)
            for nm in ("DescribeImages", "DescribeVpcs", "DescribeSubnets"):
                t += r.uniform(0.5, 3)
                ctx.emit(t, s, "ec2", nm, reg)
            t += r.uniform(1, 5)
            ctx.emit(t, s, "ec2", "ImportKeyPair", reg, params={"keyName": "k%s" % r.hexs(6)})
            ctx.emit(t + 1, s, "ec2", "CreateSecurityGroup", reg, params={"groupName": "default-%s" % r.hexs(4), "groupDescription": "default"})
            ctx.emit(t + 2, s, "ec2", "AuthorizeSecurityGroupIngress", reg,
                     params={"ipPermissions": {"items": [{"ipProtocol": "-1", "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}})
            itype = r.choice(C.MINER_TYPES)
            t += r.uniform(2, 10)
            ctx.emit(t, s, "ec2", "RunInstances", reg, params={"instanceType": itype, "instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]}, "dryRun": True},
                     err=("Client.DryRunOperation", "Request would have succeeded, but DryRun flag is set."))
            n_calls = r.randint(1, 2) if self.subtle else r.randint(4, 12)
            for _ in range(n_calls):
                t += r.uniform(1, 20)
                cnt = r.choice([1, 2, 5, 10, 20]) if not self.subtle else 1
                x = r.random()
                itype = r.choice(C.MINER_TYPES)
                if x < 0.25:
                    ctx.emit(t, s, "ec2", "RunInstances", reg, params={"instanceType": itype, "instancesSet": {"items": [{"minCount": cnt, "maxCount": cnt}]}},
                             err=("Client.VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit of 64 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit."))
                elif x < 0.4:
                    ctx.emit(t, s, "ec2", "RunInstances", reg, params={"instanceType": itype, "instancesSet": {"items": [{"minCount": cnt, "maxCount": cnt}]}},
                             err=("Server.InsufficientInstanceCapacity", "We currently do not have sufficient %s capacity in the Availability Zone you requested." % itype))
                else:
                    new = ["i-0%s" % r.hexs(16) for _ in range(cnt)]
                    iids += [(reg, i) for i in new]
                    ctx.emit(t, s, "ec2", "RunInstances", reg,
                             params={"instanceType": itype, "instancesSet": {"items": [{"imageId": "ami-0%s" % r.hexs(16), "minCount": cnt, "maxCount": cnt}]},
                                     "userData": "<sensitiveDataRemoved>"},
                             resp={"instancesSet": {"items": [{"instanceId": i, "instanceType": itype} for i in new]}})
                    if r.random() < 0.6:
                        ctx.emit(t + 3, s, "ec2", "ModifyInstanceAttribute", reg,
                                 params={"instanceId": new[0], "disableApiTermination": {"value": True}})
        if not self.subtle and r.random() < 0.4:
            reg = self.regions[0]
            for svc, nm in (("iam", "CreateServiceLinkedRole"), ("ecs", "CreateCluster"), ("ecs", "RegisterTaskDefinition"),
                            ("ecs", "CreateService")):
                t += r.uniform(2, 20)
                ctx.emit(t, s, svc, nm, "us-east-1" if svc == "iam" else reg,
                         params={"awsServiceName": "ecs.amazonaws.com"} if nm == "CreateServiceLinkedRole" else None)
        ctx.sink.release(cap)
        self.instances = iids
        desc = "Cryptomining with %s credentials from %s: quota checks, DryRun, then RunInstances of GPU/compute-optimised instances in %s" % (
            self.actor.principal.name, self.actor.ip, ", ".join(self.regions))
        self.label(ctx, cap.items, desc, self.actor.principal.label_arn, region=self.regions[0])


class DefenseEvasion(Episode):
    kind = "rare_action"
    family = "defense-evasion"

    def __init__(self, plan, t, r, actor):
        super().__init__(plan, t, r)
        self.actor = actor
        a = self.acct
        self.gd_regions = [a.region] + r.sample(a.unused, r.randint(0, 4))
        self.stop_config = r.random() < 0.5
        self.config_region = a.region
        self.restored = self.t + int(r.uniform(3, 20) * HOUR)
        if self.stop_config:
            arn = a.slr("AWSServiceRoleForConfig").arn
            plan.suppressions.append((self.t + 600, self.restored, _pred_role(arn, None, 1.0, region=self.config_region)))

    def emit(self, ctx):
        r = self.r
        a = self.acct
        s = self.actor.session(r, self.t)
        if self.actor.console:
            s.ua = C.CONSOLE_UA
        cap = ctx.sink.capture()
        t = self.t
        trail = "arn:aws:cloudtrail:%s:%s:trail/%s-account-audit" % (a.region, a.id, a.profile)
        ctx.emit(t, s, "cloudtrail", "DescribeTrails", a.region)
        ctx.emit(t + 2, s, "cloudtrail", "GetTrailStatus", a.region, params={"name": trail})
        t += r.uniform(5, 40)
        ctx.emit(t, s, "cloudtrail", "StopLogging", a.region, params={"name": trail})
        if r.random() < 0.4:
            t += r.uniform(5, 60)
            ctx.emit(t, s, "cloudtrail", "DeleteTrail", a.region, params={"name": trail})
        t += r.uniform(2, 30)
        ctx.emit(t, s, "cloudtrail", "StopLogging", a.region,
                 params={"name": "arn:aws:cloudtrail:us-east-1:%s:trail/org-trail" % self.org.mgmt_account},
                 err=("TrailNotFoundException", "Unknown trail: arn:aws:cloudtrail:us-east-1:%s:trail/org-trail for the user: %s" % (self.org.mgmt_account, a.id)))
        for reg in self.gd_regions:
            t += r.uniform(3, 30)
            ctx.emit(t, s, "guardduty", "ListDetectors", reg)
            nm = r.choice(["DeleteDetector", "UpdateDetector"])
            err = None
            if r.random() < 0.3:
                err = ("BadRequestException", "The request is rejected because a member account cannot disable GuardDuty.")
            ctx.emit(t + 1, s, "guardduty", nm, reg, params={"detectorId": r.hexs(32)} if nm == "DeleteDetector" else
                     {"detectorId": r.hexs(32), "enable": False}, err=err)
        if r.random() < 0.6:
            t += r.uniform(5, 40)
            ctx.emit(t, s, "ec2", "DescribeFlowLogs", a.region)
            ctx.emit(t + 1, s, "ec2", "DeleteFlowLogs", a.region, params={"flowLogIds": ["fl-0%s" % r.hexs(16)]})
        if self.stop_config:
            t += r.uniform(5, 40)
            ctx.emit(t, s, "config", "StopConfigurationRecorder", self.config_region, params={"configurationRecorderName": "default"})
        if r.random() < 0.4:
            t += r.uniform(5, 40)
            ctx.emit(t, s, "logs", "DeleteLogGroup", a.region, params={"logGroupName": "/aws/cloudtrail/%s" % a.profile})
        ctx.sink.release(cap)
        desc = "Defense evasion by %s from %s: StopLogging on the account trail, GuardDuty detectors disabled in %d region(s)%s" % (
            self.actor.principal.name, self.actor.ip, len(self.gd_regions),
            ", AWS Config recorder stopped" if self.stop_config else "")
        self.label(ctx, cap.items, desc, self.actor.principal.label_arn)


class BucketExposure(Episode):
    kind = "rare_action"
    family = "data-exposure"

    def __init__(self, plan, t, r, actor):
        super().__init__(plan, t, r)
        self.actor = actor

    def emit(self, ctx):
        r = self.r
        a = self.acct
        s = self.actor.session(r, self.t)
        if self.actor.console:
            s.ua = "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.226-192.879.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.422-b05 java/1.8.0_422 vendor/Oracle_Corporation cfg/retry-mode/standard]"
        b = r.choice([x for x in a.buckets if "cf-templates" not in x["name"]])
        self.bucket = b
        host = "%s.s3.%s.amazonaws.com" % (b["name"], b["region"])
        cap = ctx.sink.capture()
        t = self.t
        ctx.emit(t, s, "s3", "ListBuckets", "us-east-1")
        t += r.uniform(5, 60)
        for nm, sub in (("GetBucketPolicy", "policy"), ("GetBucketPublicAccessBlock", "publicAccessBlock"), ("GetBucketAcl", "acl")):
            t += r.uniform(0.5, 4)
            err = None
            if nm == "GetBucketPolicy" and "policy" not in b["feats"]:
                err = ("NoSuchBucketPolicy", "The bucket policy does not exist")
            ctx.emit(t, s, "s3", nm, b["region"], params={"bucketName": b["name"], "Host": host, sub: ""}, err=err)
        t += r.uniform(5, 90)
        ctx.emit(t, s, "s3", "DeleteBucketPublicAccessBlock", b["region"], params={"bucketName": b["name"], "Host": host, "publicAccessBlock": ""})
        t += r.uniform(5, 60)
        pol = {"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                                                       "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*" % b["name"]}]}
        ctx.emit(t, s, "s3", "PutBucketPolicy", b["region"], params={"bucketName": b["name"], "Host": host, "bucketPolicy": pol, "policy": ""})
        if r.random() < 0.5:
            t += r.uniform(2, 30)
            err = ("AccessControlListNotSupported", "The bucket does not allow ACLs") if "ownership" in b["feats"] else None
            ctx.emit(t, s, "s3", "PutBucketAcl", b["region"], params={"bucketName": b["name"], "Host": host, "acl": "", "x-amz-acl": ["public-read"]}, err=err)
        ctx.sink.release(cap)
        # public downloads (data events) from other addresses follow
        from .actors_work import _s3_data
        anon = Session({"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}, rand_ip(r, C.ATTACKER_PREFIX), "curl/8.5.0", None)
        for k in range(r.randint(3, 12)):
            _s3_data(ctx, r, t + 300 + k * r.uniform(5, 60), anon, b["region"], bucket=b["name"], key="exports/%s.csv" % r.hexs(8))
        desc = "Data exposure: %s removed the public access block and applied a public-read bucket policy to %s" % (
            self.actor.principal.name, b["name"])
        self.label(ctx, cap.items, desc, self.actor.principal.label_arn, region=b["region"])


class SnapshotSharing(Episode):
    kind = "rare_action"
    family = "snapshot-sharing"

    def __init__(self, plan, t, r, actor):
        super().__init__(plan, t, r)
        self.actor = actor

    def emit(self, ctx):
        r = self.r
        a = self.acct
        s = self.actor.session(r, self.t)
        cap = ctx.sink.capture()
        t = self.t
        ext = self.org.attacker_account
        if a.db_clusters and r.random() < 0.5:
            sid = "%s-%s" % (a.db_clusters[0], r.hexs(6))
            ctx.emit(t, s, "rds", "DescribeDBClusterSnapshots", a.region)
            t += r.uniform(10, 120)
            ctx.emit(t, s, "rds", "CreateDBClusterSnapshot", a.region, params={"dBClusterSnapshotIdentifier": sid, "dBClusterIdentifier": a.db_clusters[0]})
            for k in range(r.randint(3, 8)):
                ctx.emit(t + 60 * (k + 1), s, "rds", "DescribeDBClusterSnapshots", a.region, params={"dBClusterSnapshotIdentifier": sid})
            t += r.uniform(600, 1500)
            ctx.emit(t, s, "rds", "ModifyDBClusterSnapshotAttribute", a.region,
                     params={"dBClusterSnapshotIdentifier": sid, "attributeName": "restore", "valuesToAdd": [ext]})
            what = "Aurora cluster snapshot"
        else:
            vol = r.choice(a.volumes)
            sid = "snap-0%s" % r.hexs(16)
            ctx.emit(t, s, "ec2", "DescribeVolumes", a.region)
            t += r.uniform(10, 120)
            ctx.emit(t, s, "ec2", "CreateSnapshot", a.region, params={"volumeId": vol, "description": "backup"},
                     resp={"snapshotId": sid, "volumeId": vol, "status": "pending"})
            for k in range(r.randint(2, 6)):
                ctx.emit(t + 45 * (k + 1), s, "ec2", "DescribeSnapshots", a.region, params={"snapshotSet": {"items": [{"snapshotId": sid}]}})
            t += r.uniform(300, 900)
            ctx.emit(t, s, "ec2", "ModifySnapshotAttribute", a.region,
                     params={"snapshotId": sid, "createVolumePermission": {"add": {"items": [{"userId": ext}]}}, "attributeType": "CREATE_VOLUME_PERMISSION"})
            what = "EBS snapshot"
        ctx.sink.release(cap)
        self.label(ctx, cap.items, "%s created and shared a %s with external account %s" % (
            self.actor.principal.name, what, ext), self.actor.principal.label_arn)


class SecretsSweep(Episode):
    kind = "call_rate_spike"
    family = "secrets-sweep"

    def __init__(self, plan, t, r, actor):
        super().__init__(plan, t, r)
        self.actor = actor

    def emit(self, ctx):
        r = self.r
        a = self.acct
        s = self.actor.session(r, self.t)
        cap = ctx.sink.capture()
        t = self.t
        ctx.emit(t, s, "sts", "GetCallerIdentity", a.region)
        for _ in range(r.randint(1, 3)):
            t += r.uniform(0.5, 3)
            ctx.emit(t, s, "secretsmanager", "ListSecrets", a.region, params={"maxResults": 100})
        rounds = r.randint(1, 3)
        for _ in range(rounds):
            for sec in a.secrets:
                t += r.uniform(0.2, 2.5)
                err = ctx.denied_err(s, "secretsmanager", "GetSecretValue") if r.random() < 0.3 else None
                ctx.emit(t, s, "secretsmanager", "GetSecretValue", a.region, params={"secretId": sec}, err=err)
        t += r.uniform(2, 20)
        ctx.emit(t, s, "ssm", "DescribeParameters", a.region)
        for _ in range(r.randint(1, 4)):
            t += r.uniform(0.5, 3)
            ctx.emit(t, s, "ssm", "GetParametersByPath", a.region, params={"path": "/", "recursive": True, "withDecryption": True})
        for p in a.ssm_params:
            t += r.uniform(0.2, 2)
            ctx.emit(t, s, "ssm", "GetParameter", a.region, params={"name": p, "withDecryption": True})
        ctx.sink.release(cap)
        self.label(ctx, cap.items, "Credentials of %s used from %s to sweep Secrets Manager (GetSecretValue on every secret) and Parameter Store" % (
            self.actor.session_name or self.actor.principal.name, self.actor.ip), self.actor.principal.label_arn)


class Destruction(Episode):
    kind = "rare_action"
    family = "destruction"

    def __init__(self, plan, t, r, actor, subtle=False):
        super().__init__(plan, t, r)
        self.actor = actor
        self.subtle = subtle

    def emit(self, ctx):
        r = self.r
        a = self.acct
        s = self.actor.session(r, self.t)
        if self.actor.console:
            s.ua = self.actor.ua
        cap = ctx.sink.capture()
        t = self.t
        acts = ["kms", "ec2", "rds", "s3lc", "backup"]
        r.shuffle(acts)
        acts = acts[:1] if self.subtle else acts[:r.randint(2, 4)]
        if not a.db_instances and "rds" in acts:
            acts.remove("rds")
        if not acts:
            acts = ["kms"]
        for act in acts:
            t += r.uniform(10, 300)
            if act == "kms":
                key = r.choice(a.keys)
                ctx.emit(t, s, "kms", "DescribeKey", a.region, params={"keyId": key["alias"]})
                ctx.emit(t + 5, s, "kms", "DisableKey", a.region, params={"keyId": key["id"]})
                ctx.emit(t + 9, s, "kms", "ScheduleKeyDeletion", a.region, params={"keyId": key["id"], "pendingWindowInDays": 7},
                         resp={"keyId": "arn:aws:kms:%s:%s:key/%s" % (a.region, a.id, key["id"]), "keyState": "PendingDeletion"})
            elif act == "ec2":
                ids = list(a.fixed_instances[:r.randint(min(2, len(a.fixed_instances)), len(a.fixed_instances))])
                ctx.emit(t, s, "ec2", "DescribeInstances", a.region)
                for i in ids[:2]:
                    t += r.uniform(1, 5)
                    ctx.emit(t, s, "ec2", "ModifyInstanceAttribute", a.region, params={"instanceId": i, "disableApiTermination": {"value": False}})
                t += r.uniform(2, 20)
                ctx.emit(t, s, "ec2", "TerminateInstances", a.region, params={"instancesSet": {"items": [{"instanceId": i} for i in ids]}},
                         resp={"instancesSet": {"items": [{"instanceId": i, "currentState": {"code": 32, "name": "shutting-down"}} for i in ids]}})
            elif act == "rds":
                db = a.db_instances[-1]
                ctx.emit(t, s, "rds", "ModifyDBInstance", a.region, params={"dBInstanceIdentifier": db, "deletionProtection": False, "applyImmediately": True})
                ctx.emit(t + r.uniform(30, 120), s, "rds", "DeleteDBInstance", a.region,
                         params={"dBInstanceIdentifier": db, "skipFinalSnapshot": True, "deleteAutomatedBackups": True})
            elif act == "s3lc":
                b = r.choice(a.buckets)
                ctx.emit(t, s, "s3", "PutBucketLifecycle", b["region"],
                         params={"bucketName": b["name"], "Host": "%s.s3.%s.amazonaws.com" % (b["name"], b["region"]), "lifecycle": "",
                                 "LifecycleConfiguration": {"Rule": {"Status": "Enabled", "Expiration": {"Days": 1}, "Filter": {"Prefix": ""}}}})
            elif act == "backup":
                for k in range(r.randint(3, 10)):
                    ctx.emit(t + k * r.uniform(1, 4), s, "backup", "DeleteRecoveryPoint", a.region,
                             params={"backupVaultName": "Default", "recoveryPointArn": "arn:aws:ec2:%s::snapshot/snap-0%s" % (a.region, r.hexs(16))},
                             err=("AccessDeniedException", "Insufficient privileges to perform this action: vault is locked") if r.random() < 0.5 else None)
        ctx.sink.release(cap)
        names = sorted(set(x[2] for x in cap.items))
        self.label(ctx, cap.items, "Destructive actions by %s from %s: %s" % (
            self.actor.principal.name, self.actor.ip, ", ".join(n for n in names if not n.startswith("Describe"))),
            self.actor.principal.label_arn)


class RootUsage(Episode):
    kind = "rare_action"
    family = "root-account-use"

    def emit(self, ctx):
        r = self.r
        a = self.acct
        ip = rand_ip(r, C.ATTACKER_PREFIX)
        browser = r.choice(C.BROWSERS)
        s = root_session(r, a.root, ip, browser, console=True, t=self.t)
        cap = ctx.sink.capture()
        t = self.t
        for _ in range(r.randint(0, 3)):
            s0 = Session({"type": "Root", "principalId": a.id, "arn": a.root.arn, "accountId": a.id, "accessKeyId": ""}, ip, browser, a.root)
            ctx.emit(t, s0, "signin", "ConsoleLogin", "us-east-1", etype="AwsConsoleSignIn", ro=False,
                     resp={"ConsoleLogin": "Failure"}, addl={"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"},
                     err=("Failed authentication", "Failed authentication"))
            t += r.uniform(10, 120)
        s0 = Session({"type": "Root", "principalId": a.id, "arn": a.root.arn, "accountId": a.id, "accessKeyId": ""}, ip, browser, a.root)
        ctx.emit(t, s0, "signin", "ConsoleLogin", "us-east-1", etype="AwsConsoleSignIn", ro=False,
                 resp={"ConsoleLogin": "Success"}, addl={"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"})
        s.ua = C.CONSOLE_UA
        for svc, nm, params in (("iam", "GetAccountSummary", None), ("iam", "ListUsers", None), ("iam", "ListAccessKeys", None),
                                ("iam", "CreateAccessKey", None), ("account", "GetContactInformation", None),
                                ("account", "PutAlternateContact", {"alternateContactType": "SECURITY"})):
            t += r.uniform(5, 90)
            ctx.emit(t, s, svc, nm, "us-east-1", params=params)
        ctx.sink.release(cap)
        self.label(ctx, cap.items, "Root user console sign-in without MFA from %s, root access key created" % ip, a.root.arn)


class ConsoleBruteforce(Episode):
    kind = "error_rate"
    family = "console-bruteforce"

    def emit(self, ctx):
        r = self.r
        a = self.acct
        u = a.breakglass
        cap = ctx.sink.capture()
        t = self.t
        ips = [rand_ip(r, C.ATTACKER_PREFIX) for _ in range(r.randint(3, 12))]
        for k in range(r.randint(25, 120)):
            t += r.uniform(3, 40)
            s = Session({"type": "IAMUser", "principalId": u.pid, "arn": u.arn, "accountId": a.id, "accessKeyId": "", "userName": u.name},
                        r.choice(ips), r.choice(C.BROWSERS), u)
            ctx.emit(t, s, "signin", "ConsoleLogin", "us-east-1", etype="AwsConsoleSignIn", ro=False,
                     resp={"ConsoleLogin": "Failure"},
                     addl={"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"},
                     err=("Failed authentication", "Failed authentication"))
        ctx.sink.release(cap)
        self.label(ctx, cap.items, "Password spraying against IAM user %s: burst of failed ConsoleLogin from %d addresses" % (u.name, len(ips)), u.arn)


class LambdaBackdoor(Episode):
    kind = "rare_action"
    family = "lambda-backdoor"

    def __init__(self, plan, t, r, actor):
        super().__init__(plan, t, r)
        self.actor = actor

    def emit(self, ctx):
        r = self.r
        a = self.acct
        s = self.actor.session(r, self.t)
        f = r.choice(a.functions)[0]
        cap = ctx.sink.capture()
        t = self.t
        for nm, params in (("ListFunctions", None), ("GetFunction", {"functionName": f}),
                           ("UpdateFunctionCode", {"functionName": f, "publish": True}),
                           ("AddPermission", {"functionName": f, "statementId": "public-%s" % r.hexs(4), "action": "lambda:InvokeFunctionUrl", "principal": "*", "functionUrlAuthType": "NONE"}),
                           ("CreateFunctionUrlConfig", {"functionName": f, "authType": "NONE"})):
            t += r.uniform(3, 60)
            ctx.emit(t, s, "lambda", C.LAMBDA[nm], a.region, params=params)
        ctx.sink.release(cap)
        self.label(ctx, cap.items, "%s replaced the code of Lambda %s and exposed it through an unauthenticated function URL" % (
            self.actor.principal.name, f), self.actor.principal.label_arn)


class Outage(Episode):
    kind = "call_rate_drop"
    family = "app-outage"

    TARGETS = {
        "keda": ("keda-operator-{env}", ["GetQueueAttributes"], "sqs.amazonaws.com", "KEDA operator crash-looping: SQS queue-length polling stopped"),
        "external-dns": ("external-dns-{env}", ["ListHostedZones", "ListResourceRecordSets"], "route53.amazonaws.com", "external-dns pod evicted and stuck Pending: Route 53 sync loop stopped"),
        "orders-api": ("orders-api-task-role", ["GenerateDataKey", "Decrypt", "GetSecretValue"], "kms.amazonaws.com", "orders-api tasks failing health checks after a bad config push: application calls stopped"),
        "payments-worker": ("payments-worker-{env}", ["Decrypt", "GenerateDataKey", "GetSecretValue"], "kms.amazonaws.com", "payments-worker pods crash-looping (OOM): KMS/Secrets calls stopped"),
        "ssm-agents": (None, ["UpdateInstanceInformation", "ListInstanceAssociations", "PutInventory", "UpdateInstanceAssociationStatus"], "ssm.amazonaws.com", "SSM VPC endpoint policy change: all SSM agents lost contact with the service"),
        "gd-export": ("guardduty-findings-export", ["ListFindings", "GetFindings"], "guardduty.amazonaws.com", "GuardDuty findings exporter Lambda disabled by a bad deploy: polling stopped"),
        "siem-forwarder": ("siem-forwarder-lambda", ["GetFindings"], "securityhub.amazonaws.com", "SIEM forwarder Lambda throttled to zero concurrency: Security Hub polling stopped"),
        "airflow": ("user:airflow-legacy", ["StartJobRun", "GetJobRun"], "glue.amazonaws.com", "Legacy Airflow scheduler VM down: hourly Glue job runs stopped"),
        "glue-etl": ("glue-etl-role", ["GetTable", "GetPartitions", "BatchCreatePartition", "CreateLogStream"], "glue.amazonaws.com", "Glue ETL jobs failing at start (missing IAM permission after a policy change): calls stopped"),
    }

    @staticmethod
    def options(acct):
        p = acct.profile
        if p in ("prod", "staging"):
            return ["keda", "external-dns", "orders-api", "payments-worker", "ssm-agents"]
        if p == "security":
            return ["gd-export", "siem-forwarder"]
        if p == "data":
            return ["airflow", "glue-etl", "ssm-agents"]
        return []

    def __init__(self, plan, t, r, target, subtle=False):
        super().__init__(plan, t, r)
        a = self.acct
        rolename, names, source, desc = self.TARGETS[target]
        self.target = target
        self.names = names
        self.source = source
        self.desc = desc
        self.subtle = subtle
        dur = r.uniform(1.0, 1.6) if subtle else r.uniform(1.2, 3.2)
        self.t1 = int(self.t + dur * HOUR)
        self.prob = 0.8 if subtle else 1.0
        if rolename is None:
            self.principal = None
            plan.suppressions.append((self.t, self.t1, pred_names(names, self.prob, source=source)))
        else:
            if rolename.startswith("user:"):
                p = a.principals[rolename]
            else:
                p = a.principals[rolename.format(env=a.profile)]
            self.principal = p.label_arn
            plan.suppressions.append((self.t, self.t1, _pred_role(self.principal, names, self.prob)))
        self.oncall = r.random() < 0.7 and a.profile in ("prod", "staging", "data")

    def emit(self, ctx):
        r = self.r
        a = self.acct
        desc = self.desc + (" (partial: ~80% of calls missing)" if self.subtle else "") + " for %.1f h" % ((self.t1 - self.t) / 3600.0)
        self.label(ctx, [], desc, self.principal, window=(self.t, self.t1), region=a.region if self.source != "route53.amazonaws.com" else "us-east-1",
                   event_source=self.source, event_names=self.names)
        if self.oncall:
            from .actors_people import oncall_response
            oc = [x for x in ctx.org.people if x.oncall]
            p = oc[(self.day + len(self.target)) % len(oc)]
            acts = {"orders-api": [("ecs", "UpdateService", {"cluster": a.ecs_cluster, "service": "orders-api", "forceNewDeployment": True})],
                    "ssm-agents": [("ec2", "ModifyVpcEndpoint", {"vpcEndpointId": a.vpce.get(a.region, "vpce-0"), "resetPolicy": True})],
                    "glue-etl": [("iam", "PutRolePolicy", {"roleName": "glue-etl-role", "policyName": "glue-s3"})],
                    }.get(self.target, [("eks", "DescribeCluster", {"name": a.cluster}), ("ssm", "StartSession", {"target": a.fixed_instances[0]})])
            t = self.t + (self.t1 - self.t) * r.uniform(0.4, 0.8)
            oncall_response(ctx, r, t, p, "the %s outage" % self.target, acts)


class Runaway(Episode):
    family = "runaway-script"

    def __init__(self, plan, t, r, errors=False):
        super().__init__(plan, t, r)
        self.kind = "error_rate" if errors else "call_rate_spike"
        self.errors = errors

    def emit(self, ctx):
        r = self.r
        a = self.acct
        p = a.profile
        t = self.t
        dur = r.uniform(0.6, 3.0) * HOUR
        cap = ctx.sink.capture()
        if p in ("prod", "staging"):
            f, role = [x for x in a.functions if x[0] == "email-sender"][0]
            s = role_session(r, role, t, f, aws_ip(r, a.region), C.NODE_SDK_UA % "secrets-manager")
            svc, nm, params = "secretsmanager", "GetSecretValue", {"secretId": a.secrets[3 % len(a.secrets)]}
            rate = r.uniform(15, 45)
            what = "email-sender Lambda deployed with a retry bug calls GetSecretValue in a loop"
            errcode = ("ThrottlingException", "Rate exceeded")
            principal = role.arn
        elif p == "security":
            role = a.principals["siem-forwarder-lambda"]
            s = role_session(r, role, t, "siem-forwarder", aws_ip(r, a.region), C.NODE_SDK_UA % "securityhub")
            svc, nm, params = "securityhub", "GetFindings", {"maxResults": 100}
            rate = r.uniform(10, 30)
            what = "SIEM forwarder stuck re-reading the same page of Security Hub findings"
            errcode = ("TooManyRequestsException", "Rate exceeded")
            principal = role.arn
        elif p == "data":
            u = [x for x in a.legacy_users if x.name == "tableau-connector"][0]
            s = user_session(r, u, "34.90.7.18", "aws-sdk-java/1.12.529 Windows_Server_2019/10.0 OpenJDK_64-Bit_Server_VM/11.0.20+8 java/11.0.20 vendor/Amazon.com_Inc. athena-jdbc/2.1.1", key=u.access_keys[0])
            svc, nm, params = "athena", "GetQueryExecution", None
            rate = r.uniform(20, 60)
            what = "BI dashboard with a zero refresh interval hammering Athena"
            errcode = ("TooManyRequestsException", "Rate exceeded")
            principal = u.arn
        else:
            u = a.legacy_users[0]
            s = user_session(r, u, ctx.org.people[0].home_ip, ctx.org.people[0].cli_ua("ec2.describe-instances"), key=u.access_keys[0])
            svc, nm, params = "ec2", "DescribeInstances", None
            rate = r.uniform(20, 50)
            what = "engineer's polling script without backoff"
            errcode = ("Client.RequestLimitExceeded", "Request limit exceeded.")
            principal = u.arn
        n = int(rate * dur / 60)
        pe = r.uniform(0.45, 0.85) if self.errors else r.uniform(0.0, 0.08)
        for k in range(n):
            tt = t + dur * k / max(1, n) + r.uniform(0, 2)
            err = errcode if r.random() < pe else None
            ctx.emit(tt, s, svc, nm, a.region, params=params, err=err)
        ctx.sink.release(cap)
        self.label(ctx, cap.items, "Runaway caller: %s (~%d calls/min, %d%% %s)" % (what, rate, int(pe * 100), errcode[0]), principal)


class MissedRun(Episode):
    kind = "maintenance_gap"
    family = "missed-job"

    def __init__(self, plan, t, r, job, principal, names, source, window, desc, region):
        super().__init__(plan, t, r)
        self.job = job
        self.principal = principal
        self.names = names
        self.source = source
        self.window = window
        self.desc = desc
        self.region = region
        plan.skips.add((job, self.day))

    def emit(self, ctx):
        self.label(ctx, [], self.desc, self.principal, window=self.window, region=self.region,
                   event_source=self.source, event_names=self.names)


class Response(Episode):
    """Legitimate incident response some hours after an incident (decoy)."""

    def __init__(self, plan, t, r, incident):
        super().__init__(plan, t, r)
        self.inc = incident

    def emit(self, ctx):
        from .actors_tools import cross_account_assume
        r = self.r
        a = self.acct
        org = self.org
        role = a.principals["IncidentResponseRole"]
        ip = aws_ip(r, "us-east-1")
        s = cross_account_assume(ctx, r, self.t, role, org.security_account, "ir-%s" % org.people[6 % len(org.people)].name,
                                 ip, "aws-cli/2.18.0 md/awscrt#0.21.2 ua/2.0 os/linux#5.10.226 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#iam")
        cap = ctx.sink.capture()
        t = self.t + 5
        inc = self.inc
        acts = []
        actor = getattr(inc, "actor", None)
        if actor is not None and actor.kind == "user":
            u = actor.principal.name
            acts += [("iam", "ListAccessKeys", {"userName": u}), ("iam", "UpdateAccessKey", {"userName": u, "status": "Inactive"}),
                     ("iam", "AttachUserPolicy", {"userName": u, "policyArn": "arn:aws:iam::aws:policy/AWSDenyAll"})]
        if actor is not None and actor.kind == "role":
            acts += [("iam", "PutRolePolicy", {"roleName": actor.principal.name, "policyName": "AWSRevokeOlderSessions"})]
        if isinstance(inc, IAMPersistence):
            nu = getattr(inc, "created_user", "support-ops")
            acts += [("iam", "DeleteLoginProfile", {"userName": nu}), ("iam", "ListAccessKeys", {"userName": nu}),
                     ("iam", "DeleteAccessKey", {"userName": nu}),
                     ("iam", "DetachUserPolicy", {"userName": nu, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
                     ("iam", "DeleteUser", {"userName": nu})]
        if isinstance(inc, Cryptomining):
            by = {}
            for reg, i in getattr(inc, "instances", []):
                by.setdefault(reg, []).append(i)
            for reg in sorted(by):
                acts += [("ec2:" + reg, "ModifyInstanceAttribute", {"instanceId": by[reg][0], "disableApiTermination": {"value": False}}),
                         ("ec2:" + reg, "TerminateInstances", {"instancesSet": {"items": [{"instanceId": i} for i in by[reg]]}})]
        if isinstance(inc, DefenseEvasion):
            acts += [("cloudtrail", "StartLogging", {"name": "%s-account-audit" % a.profile})]
            for reg in inc.gd_regions:
                acts += [("guardduty:" + reg, "CreateDetector", {"enable": True})]
            if inc.stop_config:
                acts += [("config", "StartConfigurationRecorder", {"configurationRecorderName": "default"})]
        if isinstance(inc, BucketExposure):
            b = inc.bucket
            acts += [("s3:" + b["region"], "DeleteBucketPolicy", {"bucketName": b["name"]}),
                     ("s3:" + b["region"], "PutBucketPublicAccessBlock", {"bucketName": b["name"]})]
        if isinstance(inc, Destruction):
            acts += [("kms", "CancelKeyDeletion", {"keyId": a.keys[0]["id"]}), ("kms", "EnableKey", {"keyId": a.keys[0]["id"]})]
        if not acts:
            return
        for svc, nm, params in acts:
            t += r.uniform(10, 180)
            reg = a.region
            if ":" in svc:
                svc, reg = svc.split(":")
            ctx.emit(t, s, svc, nm, "us-east-1" if svc == "iam" else reg, params=params)
        ctx.sink.release(cap)
        kind = "iam_burst" if sum(1 for x in cap.items if x[1] == "iam.amazonaws.com" and not x[2].startswith(("List", "Get"))) >= 3 else "rare_action"
        ctx.decoy(kind, "incident-response", cap.items,
                  "Security team remediating the earlier %s incident via the cross-account IncidentResponseRole" % inc.family,
                  principal=role.arn)


# ---------------------------------------------------------------- planning

def _compromised_actor(plan, r, prefer="user"):
    a = plan.acct
    org = plan.org
    ip = rand_ip(r, C.ATTACKER_PREFIX)
    ua = r.choice(ATTACKER_UAS)
    x = r.random()
    if prefer == "user" or (prefer == "any" and x < 0.55):
        u = r.choice(a.legacy_users)
        return Actor("user", u, ip, ua, key=u.access_keys[0])
    if prefer == "instance" or (prefer == "any" and x < 0.75):
        rn = "web-asg-instance-role" if "web-asg-instance-role" in a.principals else "EC2-SSM-Managed-Role"
        return Actor("role", a.principals[rn], ip, r.choice(ATTACKER_UAS[3:]), session_name="i-0%s" % r.hexs(16))
    # stolen SSO browser session (infostealer / session-token theft)
    ps = {"prod": "PlatformEngineer", "staging": "AdministratorAccess", "security": "SecurityEngineer",
          "data": "DataEngineer", "sandbox": "AdministratorAccess"}[a.profile]
    if ps == "PlatformEngineer" and r.random() < 0.5:
        ps = "AdministratorAccess"
    role = a.sso_role(ps)
    victims = [p for p in org.people if p.persona in ("platform", "dev", "data", "security")]
    v = r.choice(victims)
    return Actor("role", role, rand_ip(r, C.ATTACKER_PREFIX), r.choice(C.BROWSERS), session_name=v.email, console=True)


def _gap_options(plan):
    from .actors_aws import backup_run_time, BACKUP_JOB_NAMES
    from .actors_tools import (nightly_export_time, db_snapshot_time, rotation_time, rotation_due,
                               NIGHTLY_EXPORT_NAMES, DB_SNAPSHOT_NAMES, ROTATION_NAMES)
    a = plan.acct
    seed = plan.seed
    opts = []
    if a.profile in ("prod", "data", "security"):
        opts.append(("aws-backup", lambda d: (d * DAY + 5 * HOUR, d * DAY + 6 * HOUR + 30 * MIN),
                     a.principals["AWSBackupDefaultServiceRole"].arn, BACKUP_JOB_NAMES, "ec2.amazonaws.com",
                     "Nightly AWS Backup plan did not start (backup selection lost its IAM role after a policy change): no snapshots taken", lambda d: True))
    if "nightly-export-job" in a.principals:
        opts.append(("nightly-export", lambda d: (d * DAY + 2 * HOUR, d * DAY + 2 * HOUR + 45 * MIN),
                     a.principals["nightly-export-job"].arn, NIGHTLY_EXPORT_NAMES, "athena.amazonaws.com",
                     "Nightly export job (EventBridge Scheduler -> ECS) silently did not run (schedule disabled during a migration and never re-enabled)", lambda d: True))
    if "db-snapshot-cron" in a.principals and a.db_clusters:
        opts.append(("db-snapshot", lambda d: (d * DAY + 90 * MIN, d * DAY + 2 * HOUR + 15 * MIN),
                     a.principals["db-snapshot-cron"].arn, DB_SNAPSHOT_NAMES, "rds.amazonaws.com",
                     "Nightly Aurora manual-snapshot CronJob did not run (CronJob suspended after a failed run)", lambda d: True))
    for idx, sec in enumerate(a.rotated_secrets):
        opts.append(("rotation-%d" % idx,
                     (lambda d, idx=idx: (rotation_time(seed, a.id, idx, d) - 600, rotation_time(seed, a.id, idx, d) + 1800)),
                     a.principals["secrets-rotation-lambda"].arn, ROTATION_NAMES, "secretsmanager.amazonaws.com",
                     "Scheduled Secrets Manager rotation of %s did not happen (rotation Lambda permission removed)" % sec,
                     (lambda d, idx=idx: rotation_due(a, idx, d))))
    if a.profile in ("prod", "staging", "data"):
        opts.append(("ssm-patching", lambda d: (d * DAY + 4 * HOUR, d * DAY + 5 * HOUR + 30 * MIN),
                     a.principals["ssm-maintenance-window-role"].arn, ["SendCommand", "ListCommandInvocations"], "ssm.amazonaws.com",
                     "Weekly patch maintenance window did not execute (window disabled during a freeze and never re-enabled)",
                     lambda d: weekday(d) == 6))
    opts.append(("tf-drift", lambda d: (d * DAY + int(3.25 * HOUR), d * DAY + 4 * HOUR),
                 a.principals["github-actions-terraform-plan"].arn, ["GetCallerIdentity", "DescribeAvailabilityZones"],
                 "sts.amazonaws.com", "Nightly Terraform drift-detection workflow did not run (GitHub disabled the scheduled workflow after 60 days without repository activity)",
                 lambda d: True))
    return opts


def plan_incidents(plan, org, acct, seed):
    r = Rng(derive_seed(seed, acct.id, "incidents"))
    start, days = org.start_day, org.days
    first = start + 3
    end = start + days
    if end - first < 1:
        return
    span = (end - first) * DAY
    target = {"prod": (8, 12), "staging": (6, 9), "security": (6, 8), "data": (6, 9), "sandbox": (5, 7)}[acct.profile]
    n = int(round(r.randint(*target) * days / 35.0))
    n = max(2 if days > 4 else 1, n)
    kinds = []
    if acct.profile == "prod" or acct.idx == 0:
        kinds = list(INCIDENT_KINDS)
    while len(kinds) < n:
        kinds.append(r.choices(INCIDENT_KINDS, weights=[3, 2, 2, 4, 2, 2, 2], k=1)[0])
    kinds = kinds[:max(n, 7 if acct.idx == 0 else 0)]
    if not Outage.options(acct):
        kinds = [k if k != "call_rate_drop" else "rare_action" for k in kinds]
    used = []

    def free_time(lo=None, hi=None, dur=3 * HOUR):
        lo = first * DAY if lo is None else lo
        hi = end * DAY - dur if hi is None else hi
        for _ in range(200):
            t = int(r.uniform(lo, max(lo + 1, hi)))
            if all(abs(t - u) > 4 * HOUR for u in used):
                used.append(t)
                return t
        t = int(r.uniform(lo, max(lo + 1, hi)))
        used.append(t)
        return t

    gap_opts = _gap_options(plan)
    count = 0
    for kind in kinds:
        if count >= n and acct.idx != 0:
            break
        subtle = r.random() < 0.25
        if kind == "error_rate":
            if r.random() < 0.75:
                t = free_time()
                actor = _compromised_actor(plan, r, "user")
                plan.add_episode(Enumeration(plan, t, r, actor, subtle=subtle))
                count += 1
            else:
                if r.random() < 0.5:
                    plan.add_episode(ConsoleBruteforce(plan, free_time(), r))
                else:
                    plan.add_episode(Runaway(plan, free_time(), r, errors=True))
                count += 1
        elif kind == "iam_burst":
            if r.random() < 0.3 and "github-actions-deploy" in acct.principals:
                plan.add_episode(CIRoleAbuse(plan, free_time(), r))
                count += 1
            else:
                actor = _compromised_actor(plan, r, "any" if r.random() < 0.5 else "user")
                if actor.kind == "role" and not actor.console:
                    actor = _compromised_actor(plan, r, "user")
                t = free_time()
                ep = IAMPersistence(plan, t, r, actor)
                plan.add_episode(ep)
                count += 1
                if actor.kind == "user" and r.random() < 0.5 and t - 20 * HOUR > first * DAY:
                    t0 = t - int(r.uniform(1.5, 20) * HOUR)
                    used.append(t0)
                    plan.add_episode(Enumeration(plan, t0, r, actor))
                    count += 1
                if r.random() < 0.6:
                    plan.add_episode(Response(plan, t + int(r.uniform(2, 10) * HOUR), r, ep))
        elif kind == "provisioning_spike":
            actor = _compromised_actor(plan, r, "user" if r.random() < 0.7 else "any")
            if actor.kind == "role" and not actor.console:
                actor = _compromised_actor(plan, r, "user")
            t = free_time()
            ep = Cryptomining(plan, t, r, actor, subtle=subtle)
            plan.add_episode(ep)
            count += 1
            if r.random() < 0.4 and t - 30 * HOUR > first * DAY:
                t0 = t - int(r.uniform(1, 30) * HOUR)
                used.append(t0)
                plan.add_episode(Enumeration(plan, t0, r, actor))
                count += 1
            if r.random() < 0.7:
                plan.add_episode(Response(plan, t + int(r.uniform(1, 8) * HOUR), r, ep))
        elif kind == "rare_action":
            fam = r.choices(["defense-evasion", "data-exposure", "snapshot-sharing", "destruction", "root", "lambda-backdoor"],
                            weights=[3, 3, 2, 3, 1, 1], k=1)[0]
            t = free_time()
            actor = _compromised_actor(plan, r, "any")
            if fam == "defense-evasion":
                ep = DefenseEvasion(plan, t, r, actor)
            elif fam == "data-exposure":
                ep = BucketExposure(plan, t, r, actor)
            elif fam == "snapshot-sharing":
                ep = SnapshotSharing(plan, t, r, actor)
            elif fam == "destruction":
                if r.random() < 0.4:
                    # an insider / mistaken engineer using their own SSO session
                    ps = "AdministratorAccess" if acct.profile != "security" else "SecurityEngineer"
                    p = [x for x in org.people if x.persona in ("platform", "security")][r.randrange(2)]
                    from .actors_people import person_ip
                    ip, _ = person_ip(org, p, t // DAY)
                    actor = Actor("role", acct.sso_role(ps), ip, p.cli_ua("kms.schedule-key-deletion"), session_name=p.email)
                ep = Destruction(plan, t, r, actor, subtle=subtle)
            elif fam == "root":
                ep = RootUsage(plan, t, r)
            else:
                ep = LambdaBackdoor(plan, t, r, actor)
            plan.add_episode(ep)
            count += 1
            if fam in ("defense-evasion", "data-exposure", "destruction") and r.random() < 0.7:
                plan.add_episode(Response(plan, t + int(r.uniform(1, 12) * HOUR), r, ep))
        elif kind == "call_rate_spike":
            if r.random() < 0.55:
                actor = _compromised_actor(plan, r, "instance" if r.random() < 0.7 else "user")
                plan.add_episode(SecretsSweep(plan, free_time(), r, actor))
            else:
                plan.add_episode(Runaway(plan, free_time(), r, errors=False))
            count += 1
        elif kind == "call_rate_drop":
            opts = Outage.options(acct)
            tgt = r.choice(opts)
            t = free_time()
            plan.add_episode(Outage(plan, t, r, tgt, subtle=subtle))
            count += 1
        elif kind == "maintenance_gap":
            usable = [g for g in gap_opts if any(g[6](d) and (g[0], d) not in plan.skips for d in range(first, end))]
            if not usable:
                continue
            job, win, principal, names, source, desc, due = r.choice(usable)
            cands = [d for d in range(first, end) if due(d) and (job, d) not in plan.skips]
            d0 = r.choice(cands)
            k = 1 if (subtle or job.startswith("rotation") or job == "ssm-patching") else r.randint(1, 3)
            missed = [d for d in cands if d >= d0][:k]
            for d in missed:
                w = win(d)
                plan.add_episode(MissedRun(plan, w[0], r, job, principal, names, source, w,
                                           desc + " (missed run %d of %d)" % (missed.index(d) + 1, len(missed)),
                                           acct.region))
                count += 1
