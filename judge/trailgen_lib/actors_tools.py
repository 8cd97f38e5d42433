"""Third-party tools, CI/CD, legacy IAM users and scheduled jobs."""
from . import catalog as C
from .core import DAY, HOUR, MIN, iso, role_session, user_session, Session, civil_from_days, is_holiday
from .ops import resource_calls, pick_err, bucket_reads
from .schedule import job_start
from .world import aws_ip, rand_ip, private_ip
from .actors_work import irsa_exchange, _s3_data


def cross_account_assume(ctx, rng, t, role, caller_acct, session_name, ip, ua, external_id=None, region="us-east-1",
                         caller_role_name=None):
    """AssumeRole into this account from another account, and the resulting session."""
    ui = {"type": "AWSAccount", "principalId": "AROA%s:%s" % (rng.upper(17), session_name), "accountId": caller_acct}
    caller = Session(ui, ip, ua, None)
    params = {"roleArn": role.arn, "roleSessionName": session_name, "durationSeconds": 3600}
    if external_id:
        params["externalId"] = external_id
    akid = "ASIA" + rng.upper(16)
    ctx.emit(t, caller, "sts", "AssumeRole", region, params=params,
             resp={"credentials": {"accessKeyId": akid, "expiration": iso(t + 3600)},
                   "assumedRoleUser": {"assumedRoleId": "%s:%s" % (role.pid, session_name),
                                       "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (ctx.acct.id, role.name, session_name)}})
    s = role_session(rng, role, t, session_name, ip, ua)
    s.ui["accessKeyId"] = akid
    return s


def gha_assume(ctx, rng, t, rolename, repo, ref, ip):
    """GitHub Actions OIDC: AssumeRoleWithWebIdentity and the resulting session."""
    a = ctx.acct
    role = a.principals[rolename]
    provider = "arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com" % a.id
    sub = "repo:%s/%s:%s" % (ctx.org.gh_org, repo, ref)
    ui = {"type": "WebIdentityUser", "principalId": "%s:sts.amazonaws.com:%s" % (provider, sub),
          "userName": sub, "identityProvider": provider}
    ua = "aws-sdk-js/3.637.0 ua/2.1 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.17.0 api/sts#3.637.0 configure-aws-credentials-for-github-actions"
    web = Session(ui, ip, ua, None)
    akid = "ASIA" + rng.upper(16)
    ctx.emit(t, web, "sts", "AssumeRoleWithWebIdentity", a.region,
             params={"roleArn": role.arn, "roleSessionName": "GitHubActions", "durationSeconds": 3600},
             resp={"credentials": {"accessKeyId": akid, "expiration": iso(t + 3600)},
                   "subjectFromWebIdentityToken": sub,
                   "assumedRoleUser": {"assumedRoleId": "%s:GitHubActions" % role.pid,
                                       "arn": "arn:aws:sts::%s:assumed-role/%s/GitHubActions" % (a.id, role.name)},
                   "provider": provider, "audience": "sts.amazonaws.com"})
    s = role_session(rng, role, t, "GitHubActions", ip, "")
    s.ui["accessKeyId"] = akid
    return s


def tf_ua(ctx, svc):
    return C.TERRAFORM_UA % (ctx.org.tf_version, ctx.org.tf_provider, "1.30.5", svc, "1.50.0")


# ---------------------------------------------------------------- monitoring vendor

MON_HOME = [("tagging", "GetResources"), ("tagging", "GetResources"), ("ec2", "DescribeInstances"),
            ("ec2", "DescribeVolumes"), ("elasticloadbalancing", "DescribeLoadBalancers"),
            ("elasticloadbalancing", "DescribeTags"), ("rds", "DescribeDBInstances"), ("rds", "ListTagsForResource"),
            ("lambda", C.LAMBDA["ListFunctions"]), ("sqs", "ListQueues"), ("dynamodb", "ListTables"),
            ("ecs", "ListClusters"), ("ecs", "DescribeClusters"), ("autoscaling", "DescribeAutoScalingGroups"),
            ("elasticache", "DescribeCacheClusters"), ("apigateway", "GetRestApis"), ("es", "ListDomainNames"),
            ("kinesis", "ListStreams"), ("states", "ListStateMachines")]
MON_IDLE = [("tagging", "GetResources"), ("ec2", "DescribeInstances"), ("lambda", C.LAMBDA["ListFunctions"])]


def act_monitoring(ctx):
    a = ctx.acct
    if a.profile == "security":
        return
    org = ctx.org
    r = ctx.rng("monitoring")
    role = a.principals["DatadogIntegrationRole"]
    ua = C.DATADOG_UA % "1.0"
    burst = ctx.plan.window("monitoring_burst", ctx.day)
    ext = "%s" % a.id[::-1]
    sessions = {}
    for hh in range(24):
        t = ctx.t0 + hh * HOUR - r.uniform(0, 240)
        ip = r.choice(org.monitoring_ips)
        sessions[hh] = cross_account_assume(ctx, r, t, role, org.vendor_monitoring_account, "DatadogAWSIntegration",
                                            ip, ua, external_id=ext)

    def sess(t):
        return sessions[min(23, int((t - ctx.t0) // HOUR))]

    cap = ctx.sink.capture() if burst else None
    for region in a.regions:
        home = region in a.homes or (ctx.plan.region_live(region, ctx.day))
        period = 600 if home else 3600
        t = ctx.t0 + r.uniform(0, period)
        while t < ctx.t1:
            inb = burst and burst[0] <= t < burst[1]
            calls = MON_HOME if home else MON_IDLE
            for svc, nm in calls:
                if home and r.random() < 0.35:
                    continue
                t2 = t + r.uniform(0, 45)
                err = None
                thr = 0.012 if nm in ("GetResources", "DescribeTags") else 0.002
                if inb:
                    thr = 0.25
                if r.random() < thr:
                    err = ctx.throttle_err(svc)
                ctx.emit(t2, sess(t2), svc, nm, region, err=err,
                         params={"resourcesPerPage": 100} if nm == "GetResources" else None)
            t += (period / 2.5 if inb else period) + r.uniform(-20, 20)
    # hourly global pieces
    for hh in range(24):
        t = ctx.t0 + hh * HOUR + r.uniform(300, 900)
        s = sess(t)
        ctx.emit(t, s, "health", "DescribeEvents", "us-east-1")
        if hh % 2 == 0:
            ctx.emit(t + 1, s, "s3", "ListBuckets", "us-east-1")
            for b in a.buckets:
                for nm, params, err in bucket_reads(b, {"GetBucketTagging"}):
                    ctx.emit(t + r.uniform(1, 20), s, "s3", nm, b["region"], params=params, err=err)
            ctx.emit(t + 21, s, "cloudfront", "ListDistributions", "us-east-1")
    if cap is not None:
        ctx.sink.release(cap)
        items = [x for x in cap.items if burst[0] <= x[0] < burst[1]]
        ctx.decoy("error_rate", "monitoring-integration", items,
                  "Monitoring vendor integration polled harder after a config change and hit API throttling",
                  principal=role.arn)


# ---------------------------------------------------------------- CSPM scanner and prowler

def _sweep(ctx, r, t, sess, regions, per_resource=True, denied=C.SCANNER_DENIED, extra_denied=0.0, gap=(0.05, 0.6),
           ua_fmt=None):
    a = ctx.acct
    for region in regions:
        for svc in sorted(C.REGIONAL_LIST):
            for nm in C.REGIONAL_LIST[svc]:
                t += r.uniform(*gap)
                err = None
                if (svc, nm) in denied or r.random() < extra_denied:
                    err = ctx.denied_err(sess, svc, nm)
                elif r.random() < 0.004:
                    err = ctx.throttle_err(svc)
                if ua_fmt:
                    sess.ua = ua_fmt % (svc, "1.40.0")
                ctx.emit(t, sess, svc, nm, region, err=err)
        if per_resource and region in a.homes:
            for mod in sorted(a.tf_repos):
                for kind, cnt in a.tf_repos[mod]:
                    for (svc, nm, params, es, reg) in resource_calls(a, kind, cnt, region):
                        t += r.uniform(*gap)
                        if ua_fmt:
                            sess.ua = ua_fmt % (svc, "1.40.0")
                        ctx.emit(t, sess, svc, nm, reg, params=params, err=pick_err(r, es))
    for svc, nm in C.GLOBAL_LIST:
        t += r.uniform(*gap)
        err = None
        if nm == "GetCredentialReport" and r.random() < 0.5:
            err = ("ReportNotPresent", "Unknown")
        if svc == "organizations" and ctx.acct.profile != "security":
            err = ("AccessDeniedException", "You don't have permissions to access this resource.")
        ctx.emit(t, sess, svc, nm, "us-east-1", err=err)
    return t


def act_cspm(ctx):
    a = ctx.acct
    org = ctx.org
    r = ctx.rng("cspm")
    role = a.principals["CSPMScannerRole"]
    ua = C.CSPM_UA
    hour = 2.0 + (int(a.id[-2:]) % 5)
    t = job_start(ctx.seed, a.id, "cspm-full", ctx.day, hour, 50)
    ip = r.choice(org.cspm_ips)
    s = cross_account_assume(ctx, r, t, role, org.vendor_cspm_account, "cspm-scan-%s" % r.hexs(8), ip,
                             ua % ("sts", "1.30.0"), external_id=a.id[:6] + "cspm")
    cap = ctx.sink.capture()
    _sweep(ctx, r, t + 2, s, a.regions, per_resource=True, ua_fmt=ua, gap=(0.02, 0.35))
    ctx.sink.release(cap)
    ctx.decoy("error_rate", "cspm-scan", cap.items,
              "Daily full CSPM scan (vendor scanner role) across all regions; routine AccessDenied and NoSuch* errors",
              principal=role.arn)
    # lighter delta scans
    for k in (1, 2, 3):
        t2 = ctx.t0 + (hour + 6 * k) % 24 * HOUR + r.uniform(0, 1800)
        s2 = cross_account_assume(ctx, r, t2, role, org.vendor_cspm_account, "cspm-scan-%s" % r.hexs(8),
                                  r.choice(org.cspm_ips), ua % ("sts", "1.30.0"), external_id=a.id[:6] + "cspm")
        for region in a.homes:
            for svc in ("ec2", "s3", "iam", "lambda", "rds", "eks"):
                for nm in C.REGIONAL_LIST.get(svc, [])[:6]:
                    t2 += r.uniform(0.05, 0.6)
                    s2.ua = ua % (svc, "1.40.0")
                    ctx.emit(t2, s2, svc, nm, region)


def act_prowler(ctx):
    """Weekly Prowler run from a CodeBuild project in the security account (introduced mid-trail)."""
    a = ctx.acct
    org = ctx.org
    start = ctx.plan.special.get("prowler_start")
    if start is None or ctx.day < start or (ctx.day - start) % 7 != 0:
        return
    r = ctx.rng("prowler")
    role = a.principals["prowler-scan-role"]
    t = job_start(ctx.seed, "org", "prowler", ctx.day, 9.0, 30) + 300 * a.idx
    ip = aws_ip(r, "us-east-1")
    ua = "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#5.10.226-214.880.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.5 md/pyimpl#CPython exec-env/AWS_ECS_EC2 cfg/retry-mode#standard Botocore/1.35.10 prowler/4.3.5"
    s = cross_account_assume(ctx, r, t, role, org.security_account, "ProwlerAssessmentSession", ip, ua)
    cap = ctx.sink.capture()
    _sweep(ctx, r, t + 3, s, a.regions, per_resource=True, extra_denied=0.05, gap=(0.03, 0.5))
    ctx.sink.release(cap)
    first = ctx.day == start
    ctx.decoy("error_rate", "prowler-scan", cap.items,
              ("First-ever" if first else "Weekly") + " Prowler assessment run by the security team (many AccessDenied on services outside its policy)",
              principal=role.arn)


# ---------------------------------------------------------------- Terraform in GitHub Actions

TF_WRITES = {
    "network": [("ec2", "AuthorizeSecurityGroupIngress"), ("ec2", "RevokeSecurityGroupIngress"), ("ec2", "CreateTags"),
                ("ec2", "ModifyVpcEndpoint")],
    "platform": [("iam", "CreateRole"), ("iam", "PutRolePolicy"), ("iam", "AttachRolePolicy"), ("iam", "TagRole"),
                 ("iam", "UpdateAssumeRolePolicy"), ("iam", "CreatePolicyVersion"), ("iam", "DeletePolicyVersion"),
                 ("logs", "PutRetentionPolicy"), ("monitoring", "PutMetricAlarm"), ("ssm", "PutParameter")],
    "apps": [("lambda", C.LAMBDA["UpdateFunctionConfiguration"]), ("sqs", "SetQueueAttributes"), ("events", "PutRule"),
             ("events", "PutTargets"), ("dynamodb", "UpdateTimeToLive"), ("sns", "SetTopicAttributes")],
    "storage": [("s3", "PutBucketPolicy"), ("s3", "PutBucketLifecycle"), ("s3", "PutBucketTagging"),
                ("s3", "PutBucketVersioning"), ("backup", "UpdateBackupPlan")],
}


def _tf_run(ctx, r, t, role, module, apply=False, ip=None, ref="pull_request", region=None):
    a = ctx.acct
    region = region or a.region
    ip = ip or rand_ip(r, C.GITHUB_RUNNER_PREFIX)
    s = gha_assume(ctx, r, t, role, "infra-%s" % a.profile, ref, ip)
    cap = ctx.sink.capture()
    t += r.uniform(8, 20)
    s.ua = tf_ua(ctx, "sts")
    ctx.emit(t, s, "sts", "GetCallerIdentity", region)
    s.ua = tf_ua(ctx, "ec2")
    ctx.emit(t + 0.3, s, "ec2", "DescribeAvailabilityZones", region)
    calls = []
    for kind, cnt in a.tf_repos[module]:
        calls += resource_calls(a, kind, cnt, region)
    r.shuffle(calls)
    dur = r.uniform(25, 140)
    step = dur / max(1, len(calls))
    t += 1
    for (svc, nm, params, es, reg) in calls:
        t += r.uniform(0, 2 * step)
        s.ua = tf_ua(ctx, svc)
        err = pick_err(r, es)
        if err is None and r.random() < 0.002:
            err = ctx.throttle_err(svc)
        ctx.emit(t, s, svc, nm, reg if svc != "iam" else "us-east-1", params=params, err=err)
    writes = []
    if apply:
        n = r.choice([1, 1, 2, 2, 3, 4, 6])
        pool = TF_WRITES[module]
        for _ in range(n):
            svc, nm = r.choice(pool)
            t += r.uniform(0.5, 6)
            s.ua = tf_ua(ctx, svc)
            params = None
            if svc == "s3":
                b = r.choice(a.buckets)
                params = {"bucketName": b["name"], "Host": "%s.s3.%s.amazonaws.com" % (b["name"], b["region"])}
                if nm == "PutBucketPolicy":
                    params["bucketPolicy"] = {"Version": "2012-10-17", "Statement": [
                        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                         "Resource": ["arn:aws:s3:::%s" % b["name"], "arn:aws:s3:::%s/*" % b["name"]],
                         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
                    params["policy"] = ""
                ctx.emit(t, s, svc, nm, b["region"], params=params)
            elif svc == "iam":
                rn = "%s-%s-%s" % (a.profile, r.choice(["svc", "app", "ci"]), r.choice(["reader", "writer", "runner", "exporter"]))
                params = {"roleName": rn}
                if nm in ("CreatePolicyVersion", "DeletePolicyVersion"):
                    params = {"policyArn": "arn:aws:iam::%s:policy/app-s3-access" % a.id, "setAsDefault": True} if nm == "CreatePolicyVersion" else {
                        "policyArn": "arn:aws:iam::%s:policy/app-s3-access" % a.id, "versionId": "v%d" % r.randint(1, 9)}
                ctx.emit(t, s, svc, nm, "us-east-1", params=params)
            else:
                ctx.emit(t, s, svc, nm, region, params=params)
            writes.append(nm)
    ctx.sink.release(cap)
    rolearn = a.principals[role].arn
    if apply:
        iam_w = [w for w in writes if w in ("CreateRole", "PutRolePolicy", "AttachRolePolicy", "TagRole",
                                            "UpdateAssumeRolePolicy", "CreatePolicyVersion", "DeletePolicyVersion")]
        if len(iam_w) >= 2:
            ctx.decoy("iam_burst", "terraform-apply", cap.items, "Terraform apply from GitHub Actions changing IAM (%s)" % module,
                      principal=rolearn)
        elif "PutBucketPolicy" in writes:
            ctx.decoy("rare_action", "terraform-apply", cap.items,
                      "Terraform apply from GitHub Actions updating an S3 bucket policy (deny insecure transport)",
                      principal=rolearn)
        else:
            ctx.decoy("call_rate_spike", "terraform-apply", cap.items, "Terraform apply (%s) refresh + changes" % module,
                      principal=rolearn)
    else:
        ctx.decoy("call_rate_spike", "terraform-plan", cap.items,
                  "Terraform plan from GitHub Actions: state refresh reads with routine NoSuch*/NotFound errors (%s)" % module,
                  principal=rolearn)
    return t


def _workday_rate(ctx, base):
    k = base * max(0.25, ctx.scale) ** 0.5
    if ctx.weekend:
        k *= 0.08
    if ctx.us_holiday:
        k *= 0.2
    return k


def _work_hours_time(ctx, r):
    # mostly 08:00-23:00 UTC (EU morning to US afternoon)
    return ctx.t0 + r.choice([r.uniform(8, 17), r.uniform(13, 23), r.uniform(13, 22)]) * HOUR


def act_terraform(ctx):
    a = ctx.acct
    r = ctx.rng("terraform")
    base = {"prod": 5, "staging": 7, "security": 2, "data": 3, "sandbox": 1.5}[a.profile]
    n = r.poisson(_workday_rate(ctx, base))
    mods = sorted(a.tf_repos)
    for _ in range(n):
        t = _work_hours_time(ctx, r)
        mod = r.choice(mods)
        _tf_run(ctx, r, t, "github-actions-terraform-plan", mod)
        if r.random() < 0.4:
            _tf_run(ctx, r, t + r.uniform(1200, 10000), "github-actions-terraform-apply", mod, apply=True,
                    ref="ref:refs/heads/main")
    # nightly drift detection (scheduled workflow, all modules)
    t = job_start(ctx.seed, a.id, "tf-drift", ctx.day, 3.25, 20)
    if not ctx.plan.skip("tf-drift", ctx.day):
        for mod in mods:
            t = _tf_run(ctx, r, t, "github-actions-terraform-plan", mod, ref="ref:refs/heads/main") + r.uniform(20, 90)
    # new region rollout (one-off)
    nr = ctx.plan.special.get("new_region")
    if nr and nr[0] == ctx.day and a.profile == "prod":
        _new_region_rollout(ctx, r, nr[1])


def _new_region_rollout(ctx, r, region):
    a = ctx.acct
    t = ctx.t0 + r.uniform(14, 17) * HOUR
    role = "github-actions-terraform-apply"
    s = gha_assume(ctx, r, t, role, "infra-%s" % a.profile, "ref:refs/heads/main", rand_ip(r, C.GITHUB_RUNNER_PREFIX))
    cap = ctx.sink.capture()
    seq = [("ec2", "CreateVpc", 1), ("ec2", "ModifyVpcAttribute", 2), ("ec2", "CreateSubnet", 6),
           ("ec2", "CreateRouteTable", 4), ("ec2", "AssociateRouteTable", 6), ("ec2", "CreateInternetGateway", 1),
           ("ec2", "AttachInternetGateway", 1), ("ec2", "AllocateAddress", 3), ("ec2", "CreateNatGateway", 3),
           ("ec2", "CreateRoute", 4), ("ec2", "CreateSecurityGroup", 6), ("ec2", "AuthorizeSecurityGroupIngress", 10),
           ("ec2", "CreateVpcEndpoint", 5), ("ec2", "CreateTags", 12), ("ec2", "CreateFlowLogs", 1),
           ("logs", "CreateLogGroup", 3), ("kms", "CreateKey", 2), ("kms", "CreateAlias", 2),
           ("ec2", "DescribeVpcs", 8), ("ec2", "DescribeSubnets", 12), ("ec2", "DescribeNatGateways", 20),
           ("ec2", "DescribeRouteTables", 8), ("ec2", "DescribeSecurityGroups", 10)]
    for svc, nm, k in seq:
        for _ in range(k):
            t += r.uniform(0.3, 6)
            s.ua = tf_ua(ctx, svc)
            ctx.emit(t, s, svc, nm, region)
    ctx.sink.release(cap)
    ctx.decoy("provisioning_spike", "new-region-rollout", cap.items,
              "Terraform apply from CI rolling out the network baseline into a new region (%s)" % region,
              principal=a.principals[role].arn, region=region)


# ---------------------------------------------------------------- application deploys

def act_deploys(ctx):
    a = ctx.acct
    if "github-actions-deploy" not in a.principals:
        return
    r = ctx.rng("deploys")
    base = {"prod": 6, "staging": 14, "data": 2, "sandbox": 1.2}.get(a.profile, 0)
    n = r.poisson(_workday_rate(ctx, base))
    kinds = ["ecs", "cdk", "helm"] if a.profile in ("prod", "staging") else ["cdk"]
    for _ in range(n):
        t = _work_hours_time(ctx, r)
        if ctx.wd == 4 and t > ctx.t0 + 19 * HOUR and r.random() < 0.7:
            continue        # Friday evening freeze
        kind = r.choice(kinds)
        ip = rand_ip(r, C.GITHUB_RUNNER_PREFIX)
        cap = ctx.sink.capture()
        if kind == "ecs":
            svc = r.choice(a.ecs_services)
            _deploy_ecs(ctx, r, t, svc, ip)
        elif kind == "cdk":
            _deploy_cdk(ctx, r, t, ip)
        else:
            _deploy_helm(ctx, r, t, ip)
        ctx.sink.release(cap)
        ctx.decoy("call_rate_spike", "ci-deploy", cap.items,
                  "Application deploy from GitHub Actions (%s): image push, service update and status polling" % kind,
                  principal=a.principals["github-actions-deploy"].arn)


def _deploy_ecs(ctx, r, t, service, ip):
    a = ctx.acct
    region = a.region
    s = gha_assume(ctx, r, t, "github-actions-deploy", service, "ref:refs/heads/main", ip)
    s.ua = "aws-cli/2.17.50 md/awscrt#0.21.2 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#ecr.get-login-password"
    t += 5
    ctx.emit(t, s, "ecr", "GetAuthorizationToken", region)
    s.ua = "docker/26.1.3 go/go1.21.10 git-commit/8e96db1 kernel/6.5.0-1025-azure os/linux arch/amd64 UpstreamClient(Docker-Client/26.1.3 \\(linux\\))"
    for _ in range(r.randint(3, 7)):
        t += r.uniform(0.2, 2)
        ctx.emit(t, s, "ecr", "BatchCheckLayerAvailability", region, params={"repositoryName": service, "registryId": a.id})
    for _ in range(r.randint(1, 3)):
        t += r.uniform(1, 5)
        ctx.emit(t, s, "ecr", "InitiateLayerUpload", region, params={"repositoryName": service, "registryId": a.id})
        for _ in range(r.randint(1, 4)):
            t += r.uniform(1, 8)
            ctx.emit(t, s, "ecr", "UploadLayerPart", region, params={"repositoryName": service, "registryId": a.id})
        t += r.uniform(0.5, 2)
        ctx.emit(t, s, "ecr", "CompleteLayerUpload", region, params={"repositoryName": service, "registryId": a.id})
    t += 2
    ctx.emit(t, s, "ecr", "PutImage", region, params={"repositoryName": service, "registryId": a.id, "imageTag": "git-%s" % r.hexs(7)})
    s.ua = "aws-sdk-js/3.637.0 ua/2.1 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.17.0 api/ecs#3.637.0 amazon-ecs-deploy-task-definition-for-github-actions"
    t += 3
    ctx.emit(t, s, "ecs", "DescribeTaskDefinition", region, params={"taskDefinition": service})
    ctx.emit(t + 1, s, "ecs", "RegisterTaskDefinition", region, params={"family": service, "networkMode": "awsvpc",
                                                                         "requiresCompatibilities": ["FARGATE"]})
    ctx.emit(t + 2, s, "ecs", "UpdateService", region, params={"cluster": a.ecs_cluster, "service": service,
                                                                 "taskDefinition": "%s:%d" % (service, r.randint(100, 900))})
    polls = r.randint(10, 32)
    for k in range(polls):
        ctx.emit(t + 3 + 15 * k + r.uniform(0, 2), s, "ecs", "DescribeServices", region,
                 params={"cluster": a.ecs_cluster, "services": [service]})
    # the ECS service scheduler replaces tasks
    from .actors_work import _ecs_task_start
    ecs_slr = ctx.slr_session("AWSServiceRoleForECS", "ecs-service-scheduler")
    tasks_svc = ctx.aws_service("ecs-tasks.amazonaws.com")
    troles = (a.principals["orders-api-task-role"], a.principals["orders-api-task-execution-role"])
    for k in range(r.randint(2, 5)):
        _ecs_task_start(ctx, r, t + 20 + k * 40, ecs_slr, tasks_svc, troles)
        ctx.emit(t + 200 + k * 40, ecs_slr, "ec2", "DeleteNetworkInterface", region,
                 params={"networkInterfaceId": "eni-0%s" % r.hexs(16)})


def _deploy_cdk(ctx, r, t, ip):
    a = ctx.acct
    region = a.region
    s = gha_assume(ctx, r, t, "github-actions-deploy", "platform-services", "ref:refs/heads/main", ip)
    cdk_ua = "aws-cdk/2.158.0 aws-sdk-js/3.637.0 ua/2.1 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.17.0 api/%s#3.637.0"
    s.ua = cdk_ua % "sts"
    t += 4
    ctx.emit(t, s, "sts", "GetCallerIdentity", region)
    deploy_role = a.principals["cdk-hnb659fds-deploy-role-%s-%s" % (a.id, a.region)]
    akid = "ASIA" + r.upper(16)
    ctx.emit(t + 1, s, "sts", "AssumeRole", region,
             params={"roleArn": deploy_role.arn, "roleSessionName": "aws-cdk-runner"},
             resp={"credentials": {"accessKeyId": akid, "expiration": iso(t + 3600)},
                   "assumedRoleUser": {"assumedRoleId": "%s:aws-cdk-runner" % deploy_role.pid,
                                       "arn": "arn:aws:sts::%s:assumed-role/%s/aws-cdk-runner" % (a.id, deploy_role.name)}})
    ds = role_session(r, deploy_role, t + 1, "aws-cdk-runner", ip, cdk_ua % "cloudformation")
    stack = "%s-%s" % (a.profile, r.choice(["api", "workers", "events", "edge", "data"]))
    t += 3
    ctx.emit(t, ds, "ssm", "GetParameter", region, params={"name": "/cdk-bootstrap/hnb659fds/version"})
    err = None
    if r.random() < 0.06:
        err = ("ValidationError", "Stack with id %s does not exist" % stack)
    ctx.emit(t + 1, ds, "cloudformation", "DescribeStacks", region, params={"stackName": stack}, err=err)
    if not err:
        ctx.emit(t + 2, ds, "cloudformation", "GetTemplate", region, params={"stackName": stack, "templateStage": "Original"})
    for k in range(r.randint(1, 4)):
        _s3_data(ctx, r, t + 3 + k, ds, region, write=True, bucket="cdk-hnb659fds-assets-%s-%s" % (a.id, region),
                 key="%s.zip" % r.hexs(64))
    t += 8
    ctx.emit(t, ds, "cloudformation", "CreateChangeSet", region, params={"stackName": stack, "changeSetName": "cdk-deploy-change-set", "changeSetType": "CREATE" if err else "UPDATE"})
    for k in range(r.randint(2, 6)):
        ctx.emit(t + 2 + 3 * k, ds, "cloudformation", "DescribeChangeSet", region, params={"stackName": stack, "changeSetName": "cdk-deploy-change-set"})
    t += 25
    ctx.emit(t, ds, "cloudformation", "ExecuteChangeSet", region, params={"stackName": stack, "changeSetName": "cdk-deploy-change-set"})
    dur = r.uniform(60, 420)
    k = 0
    while k * 5 < dur:
        ctx.emit(t + 5 * k + r.uniform(0, 1), ds, "cloudformation", "DescribeStackEvents", region, params={"stackName": stack})
        k += 1
    ctx.emit(t + dur + 2, ds, "cloudformation", "DescribeStacks", region, params={"stackName": stack})
    # CloudFormation itself acting with the execution role
    exec_role = a.principals["cdk-hnb659fds-cfn-exec-role-%s-%s" % (a.id, a.region)]
    cfn = role_session(r, exec_role, t, "AWSCloudFormation", "cloudformation.amazonaws.com", "cloudformation.amazonaws.com",
                       invoked_by="cloudformation.amazonaws.com")
    fns = r.sample(a.functions, min(len(a.functions), r.randint(1, 4)))
    tc = t + 5
    for f, _ in fns:
        for nm in ("UpdateFunctionCode", "GetFunction", "UpdateFunctionConfiguration", "GetFunction", "PublishVersion",
                   "UpdateAlias"):
            tc += r.uniform(1, 12)
            ctx.emit(tc, cfn, "lambda", C.LAMBDA[nm], region, params={"functionName": f})
    if r.random() < 0.25:
        for nm in ("GetRole", "PutRolePolicy", "GetRolePolicy"):
            tc += r.uniform(1, 5)
            ctx.emit(tc, cfn, "iam", nm, "us-east-1", params={"roleName": r.choice(a.functions)[1].name, "policyName": "DefaultPolicy"})


def _deploy_helm(ctx, r, t, ip):
    a = ctx.acct
    region = a.region
    s = gha_assume(ctx, r, t, "github-actions-deploy", "k8s-apps", "ref:refs/heads/main", ip)
    s.ua = "aws-cli/2.17.50 md/awscrt#0.21.2 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#eks.update-kubeconfig"
    ctx.emit(t + 3, s, "eks", "DescribeCluster", region, params={"name": a.cluster})
    # rolling restart: new pods fetch credentials and pull images
    env = a.profile
    node_role = a.principals["KarpenterNodeRole-%s" % env]
    for k in range(r.randint(3, 8)):
        tp = t + 30 + k * r.uniform(10, 40)
        irsa_exchange(ctx, r, tp, "payments-worker-%s" % env, "system:serviceaccount:payments:payments-worker", region)
        ns = role_session(r, node_role, tp - 3600, "i-0%s" % r.hexs(16), private_ip(r), C.KUBELET_ECR_UA, vpce=a.vpce.get(region))
        ctx.emit(tp - 5, ns, "ecr", "BatchGetImage", region, params={"repositoryName": "payments-worker", "registryId": a.id})
        ctx.emit(tp - 3, ns, "ecr", "GetDownloadUrlForLayer", region, params={"repositoryName": "payments-worker", "registryId": a.id, "layerDigest": "sha256:" + r.hexs(64)})


# ---------------------------------------------------------------- legacy IAM users

def act_legacy_users(ctx):
    a = ctx.acct
    r = ctx.rng("legacy")
    org = ctx.org
    region = a.region
    for u in a.legacy_users:
        key = u.access_keys[0]
        n = u.name
        if n == "svc-reporting":
            s = user_session(r, u, org.office_ips["nyc"][0], "Boto3/1.26.137 Python/3.9.16 Linux/4.14.314-237.533.amzn2.x86_64 Botocore/1.29.137", key=key)
            t = job_start(ctx.seed, a.id, n, ctx.day, 6.0, 8)
            for q in range(3):
                ctx.emit(t, s, "athena", "StartQueryExecution", region, params={"workGroup": "reporting", "queryString": "SELECT ..."})
                for k in range(r.randint(3, 9)):
                    ctx.emit(t + 2 + 3 * k, s, "athena", "GetQueryExecution", region)
                ctx.emit(t + 40, s, "athena", "GetQueryResults", region)
                _s3_data(ctx, r, t + 45, s, region, bucket=a.buckets[2]["name"], key="reports/%s.csv" % r.hexs(8))
                t += r.uniform(60, 200)
        elif n == "jenkins-deployer":
            if ctx.weekend:
                continue
            s = user_session(r, u, a.nat_ips[region][0], "aws-cli/1.32.101 Python/3.9.18 Linux/5.10.223-211.872.amzn2.x86_64 botocore/1.34.101", key=key)
            for _ in range(r.poisson(3)):
                t = _work_hours_time(ctx, r)
                for nm, svc in (("GetCallerIdentity", "sts"), ("GetAuthorizationToken", "ecr"), ("DescribeImages", "ecr"),
                                ("ListBuckets", "s3")):
                    t += r.uniform(1, 30)
                    ctx.emit(t, s, svc, nm, "us-east-1" if svc == "s3" else region,
                             params={"repositoryName": "web-frontend"} if nm == "DescribeImages" else None)
        elif n == "partner-sftp-sync":
            s = user_session(r, u, "91.64.17.203", "rclone/v1.67.0", key=key)
            t = ctx.t0 + r.uniform(0, 900)
            while t < ctx.t1:
                ctx.emit(t, s, "s3", "ListBuckets", "us-east-1")
                if r.random() < 0.3:
                    _s3_data(ctx, r, t + 2, s, region, write=True, bucket=a.buckets[-2]["name"], key="inbound/%s.csv" % r.hexs(10))
                t += 900 + r.uniform(-30, 30)
        elif n == "qa-automation":
            s = user_session(r, u, rand_ip(r, C.GITHUB_RUNNER_PREFIX), "Boto3/1.35.20 md/Botocore#1.35.20 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.20 pytest", key=key)
            t = job_start(ctx.seed, a.id, n, ctx.day, 1.0, 15)
            for _ in range(r.randint(40, 90)):
                t += r.uniform(0.5, 8)
                svc, nm = r.choice([("sqs", "GetQueueUrl"), ("sqs", "GetQueueAttributes"), ("sqs", "PurgeQueue"),
                                    ("dynamodb", "DescribeTable"), ("lambda", C.LAMBDA["GetFunction"]),
                                    ("lambda", C.LAMBDA["ListFunctions"]), ("ssm", "GetParameter"),
                                    ("secretsmanager", "GetSecretValue")])
                err = None
                if nm == "PurgeQueue" and r.random() < 0.3:
                    err = ("AWS.SimpleQueueService.PurgeQueueInProgress", "Only one PurgeQueue operation on %s is allowed every 60 seconds." % a.queues[0])
                ctx.emit(t, s, svc, nm, region, err=err)
        elif n == "dev-sandbox-user":
            if ctx.weekend or r.random() < 0.5:
                continue
            p = ctx.org.people[3 % len(ctx.org.people)]
            s = user_session(r, u, p.home_ip, p.cli_ua("s3.ls"), key=key)
            t = _work_hours_time(ctx, r)
            for _ in range(r.randint(2, 12)):
                t += r.uniform(2, 90)
                ctx.emit(t, s, r.choice(["s3", "sts"]), r.choice(["ListBuckets", "GetCallerIdentity"]), "us-east-1")
        elif n == "siem-ingest":
            s = user_session(r, u, org.office_ips["nyc"][-1], "aws-sdk-java/1.12.470 Linux/5.15.0-105-generic OpenJDK_64-Bit_Server_VM/17.0.11+9 java/17.0.11 vendor/Eclipse_Adoptium cfg/retry-mode/standard", key=key)
            t = ctx.t0 + r.uniform(0, 300)
            while t < ctx.t1:
                ctx.emit(t, s, "sqs", "GetQueueAttributes", region,
                         params={"queueUrl": "https://sqs.%s.amazonaws.com/%s/%s" % (region, a.id, a.queues[0]), "attributeNames": ["ApproximateNumberOfMessages"]})
                t += 300 + r.uniform(-5, 5)
        elif n == "airflow-legacy":
            s = user_session(r, u, a.nat_ips[region][1], "Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#5.10.219-208.866.amzn2.x86_64 md/arch#x86_64 lang/python#3.10.14 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57 airflow/2.7.3", key=key)
            for hh in range(24):
                t = ctx.t0 + hh * HOUR + r.uniform(60, 400)
                ctx.emit(t, s, "glue", "StartJobRun", region, params={"jobName": "hourly-sessionize"})
                for k in range(r.randint(3, 10)):
                    ctx.emit(t + 60 * (k + 1), s, "glue", "GetJobRun", region, params={"jobName": "hourly-sessionize"})
        elif n == "tableau-connector":
            s = user_session(r, u, "34.%d.%d.%d" % (90, 7, 18), "aws-sdk-java/1.12.529 Windows_Server_2019/10.0 OpenJDK_64-Bit_Server_VM/11.0.20+8 java/11.0.20 vendor/Amazon.com_Inc. athena-jdbc/2.1.1", key=key)
            for t in ctx.arrivals(r, lambda x: 10.0 if 13 <= (x % DAY) / HOUR < 22 and not ctx.weekend else 0.3):
                ctx.emit(t, s, "athena", "StartQueryExecution", region, params={"workGroup": "bi", "queryString": "SELECT ..."})
                for k in range(r.randint(2, 6)):
                    ctx.emit(t + 1 + 2 * k, s, "athena", "GetQueryExecution", region)
                ctx.emit(t + 15, s, "athena", "GetQueryResults", region)
        elif n == "sandbox-admin":
            if r.random() < 0.4 and not ctx.weekend:
                p = ctx.org.people[0]
                s = user_session(r, u, p.home_ip, p.cli_ua("ec2.describe-instances"), key=key)
                t = _work_hours_time(ctx, r)
                for _ in range(r.randint(3, 15)):
                    t += r.uniform(3, 120)
                    ctx.emit(t, s, "ec2", r.choice(["DescribeInstances", "DescribeVpcs", "DescribeImages"]), region)


# ---------------------------------------------------------------- scheduled jobs

NIGHTLY_EXPORT_NAMES = ["RunTask", "StartQueryExecution", "GetQueryExecution", "GetTable", "GetPartitions", "GenerateDataKey"]
DB_SNAPSHOT_NAMES = ["CreateDBClusterSnapshot", "DescribeDBClusterSnapshots", "DeleteDBClusterSnapshot"]
ROTATION_NAMES = ["RotationStarted", "DescribeSecret", "GetSecretValue", "GetRandomPassword", "PutSecretValue",
                  "UpdateSecretVersionStage", "RotationSucceeded"]


def nightly_export_time(seed, acct_id, day):
    return job_start(seed, acct_id, "nightly-export", day, 2.0, 6)


def db_snapshot_time(seed, acct_id, day):
    return job_start(seed, acct_id, "db-snapshot-cron", day, 1.5, 2)


def rotation_time(seed, acct_id, idx, day):
    return job_start(seed, acct_id, "rotation-%d" % idx, day, 9.0 + 2 * idx, 30)


def rotation_due(acct, idx, day):
    return (day + idx * 2 + int(acct.id[-1])) % 7 == 0


def act_jobs(ctx):
    a = ctx.acct
    r = ctx.rng("jobs")
    region = a.region
    # nightly export (EventBridge Scheduler -> ECS task)
    if "nightly-export-job" in a.principals and not ctx.plan.skip("nightly-export", ctx.day):
        t = nightly_export_time(ctx.seed, a.id, ctx.day)
        late = ctx.plan.late("nightly-export", ctx.day) or 0
        t += late
        if late:
            ctx.decoy("maintenance_gap", "nightly-export", [], "Nightly export ran late (upstream Glue partition not ready) but completed",
                      principal=a.principals["nightly-export-job"].arn, window=(t - late, t + 600), region=region,
                      event_source="athena.amazonaws.com", event_names=NIGHTLY_EXPORT_NAMES)
        sch = a.principals[a.scheduler_role]
        ss = role_session(r, sch, t, r.hexs(32), "scheduler.amazonaws.com", "scheduler.amazonaws.com",
                          invoked_by="scheduler.amazonaws.com")
        ctx.emit(t, ss, "ecs", "RunTask", region, params={"cluster": a.ecs_cluster if a.ecs_services else "%s-batch" % a.profile,
                                                          "taskDefinition": "nightly-export", "count": 1, "launchType": "FARGATE"})
        tid = r.hexs(32)
        ctx.emit(t + 40, ctx.aws_service("ecs-tasks.amazonaws.com"), "sts", "AssumeRole", region,
                 params={"roleArn": a.principals["nightly-export-job"].arn, "roleSessionName": tid})
        s = ctx.workload_session(r, "nightly-export-job", tid, t + 40, C.boto3_ua(extra=" exec-env/AWS_ECS_FARGATE"))
        tt = t + 45
        nq = r.randint(3, 5)
        if r.random() < 0.05:
            # the first attempt fails on a missing partition and the scheduler retry runs the job a second time
            ctx.emit(tt, s, "athena", "StartQueryExecution", region, params={"workGroup": "exports"},
                     err=("InvalidRequestException", "HIVE_PARTITION_SCHEMA_MISMATCH"))
            tt += r.uniform(900, 1800)
            ctx.emit(tt - 40, ss, "ecs", "RunTask", region, params={"cluster": a.ecs_cluster if a.ecs_services else "%s-batch" % a.profile,
                                                                   "taskDefinition": "nightly-export", "count": 1, "launchType": "FARGATE"})
        if r.random() < 0.1:
            nq += r.randint(3, 8)      # month-end / backfill: the run takes much longer
        for q in range(nq):
            ctx.emit(tt, s, "glue", "GetTable", region, params={"databaseName": "curated", "name": "orders_%d" % q})
            for _ in range(r.randint(1, 4)):
                tt += r.uniform(0.5, 3)
                ctx.emit(tt, s, "glue", "GetPartitions", region, params={"databaseName": "curated", "tableName": "orders_%d" % q})
            ctx.emit(tt + 1, s, "athena", "StartQueryExecution", region, params={"workGroup": "exports"})
            for k in range(r.randint(4, 15)):
                ctx.emit(tt + 3 + 5 * k, s, "athena", "GetQueryExecution", region)
            tt += r.uniform(90, 400)
            ctx.emit(tt, s, "kms", "GenerateDataKey", region, params={"keyId": "alias/s3-%s" % a.profile, "keySpec": "AES_256"})
            _s3_data(ctx, r, tt + 1, s, region, write=True, bucket=a.buckets[10 % len(a.buckets)]["name"], key="exports/%s.parquet" % r.hexs(10))
    # k8s CronJob taking a manual Aurora snapshot
    if "db-snapshot-cron" in a.principals and a.db_clusters and not ctx.plan.skip("db-snapshot", ctx.day):
        t = db_snapshot_time(ctx.seed, a.id, ctx.day)
        s = irsa_exchange(ctx, r, t, "db-snapshot-cron", "system:serviceaccount:ops:db-snapshot-cron", region)
        from .core import civil_from_days as cfd
        y, m, d = cfd(ctx.day)
        sid = "orders-db-nightly-%04d-%02d-%02d" % (y, m, d)
        ctx.emit(t + 2, s, "rds", "CreateDBClusterSnapshot", region,
                 params={"dBClusterSnapshotIdentifier": sid, "dBClusterIdentifier": a.db_clusters[0]})
        for k in range(r.randint(4, 10)):
            ctx.emit(t + 30 + 60 * k, s, "rds", "DescribeDBClusterSnapshots", region, params={"dBClusterSnapshotIdentifier": sid})
        ctx.emit(t + 700, s, "rds", "DescribeDBClusterSnapshots", region, params={"dBClusterIdentifier": a.db_clusters[0], "snapshotType": "manual"})
        y2, m2, d2 = cfd(ctx.day - 7)
        ctx.emit(t + 702, s, "rds", "DeleteDBClusterSnapshot", region,
                 params={"dBClusterSnapshotIdentifier": "orders-db-nightly-%04d-%02d-%02d" % (y2, m2, d2)})
    # Secrets Manager rotation (weekly per secret)
    for idx, sec in enumerate(a.rotated_secrets):
        if not rotation_due(a, idx, ctx.day) or ctx.plan.skip("rotation-%d" % idx, ctx.day):
            continue
        t = rotation_time(ctx.seed, a.id, idx, ctx.day)
        _rotation(ctx, r, t, sec)
    # nightly EBS snapshot housekeeping
    if "ops-automation-lambda" in a.principals:
        t = job_start(ctx.seed, a.id, "ops-automation", ctx.day, 3.0, 5)
        s = role_session(r, a.principals["ops-automation-lambda"], t, "ops-automation", aws_ip(r, region),
                         C.boto3_ua(extra=" exec-env/AWS_Lambda_python3.12"))
        ctx.emit(t - 1, ctx.aws_service("lambda.amazonaws.com"), "sts", "AssumeRole", region,
                 params={"roleArn": a.principals["ops-automation-lambda"].arn, "roleSessionName": "ops-automation"})
        for _ in range(r.randint(1, 3)):
            t += r.uniform(0.5, 3)
            ctx.emit(t, s, "ec2", "DescribeSnapshots", region, params={"ownersSet": {"items": [{"owner": "self"}]}})
        for _ in range(r.randint(0, 6)):
            t += r.uniform(0.3, 2)
            ctx.emit(t, s, "ec2", "DeleteSnapshot", region, params={"snapshotId": "snap-0%s" % r.hexs(16)})
        ctx.emit(t + 2, s, "ec2", "DescribeVolumes", region, params={"filterSet": {"items": [{"name": "status", "valueSet": {"items": [{"value": "available"}]}}]}})
    # staging instance scheduler (stop at night, start in the morning, weekdays)
    if "instance-scheduler-lambda" in a.principals and a.profile == "staging":
        role = a.principals["instance-scheduler-lambda"]
        for hour, action in ((11.0, "StartInstances"), (0.5, "StopInstances")):
            if ctx.weekend and action == "StartInstances":
                continue
            t = job_start(ctx.seed, a.id, "sched-" + action, ctx.day, hour, 3)
            s = role_session(r, role, t, "instance-scheduler", aws_ip(r, region), C.boto3_ua(extra=" exec-env/AWS_Lambda_python3.12"))
            ctx.emit(t, s, "ec2", "DescribeInstances", region, params={"filterSet": {"items": [{"name": "tag:Schedule", "valueSet": {"items": [{"value": "office-hours"}]}}]}})
            ctx.emit(t + 2, s, "ec2", action, region, params={"instancesSet": {"items": [{"instanceId": i} for i in a.fixed_instances[:4]]}})
            ctx.emit(t + 3, s, "rds", "StartDBCluster" if action == "StartInstances" else "StopDBCluster", region,
                     params={"dBClusterIdentifier": a.db_clusters[0]} if a.db_clusters else {})
    # business-day invoice batch gated by an SSM Change Calendar (closed on public holidays)
    if "invoice-batch-automation" in a.principals and not ctx.weekend:
        role = a.principals["invoice-batch-automation"]
        t = job_start(ctx.seed, a.id, "invoice-batch", ctx.day, 13.0, 4)
        s = role_session(r, role, t, "InvoiceBatchAutomation", "ssm.amazonaws.com", "ssm.amazonaws.com", invoked_by="ssm.amazonaws.com")
        cap = ctx.sink.capture()
        ctx.emit(t, s, "ssm", "GetCalendarState", region, params={"calendarNames": ["business-days"]})
        if ctx.us_holiday:
            ctx.sink.release(cap)
            ctx.decoy("maintenance_gap", "change-calendar", [], "Business-day invoice batch did not run: SSM Change Calendar closed for a public holiday",
                      principal=role.arn, window=(t, t + 1800), region=region, event_source="ssm.amazonaws.com",
                      event_names=["StartAutomationExecution", "GetCalendarState"])
        else:
            ctx.emit(t + 2, s, "ssm", "StartAutomationExecution", region, params={"documentName": "invoice-batch"})
            ctx.emit(t + 5, s, "lambda", C.LAMBDA["GetFunction"], region, params={"functionName": "invoice-pdf"})
            for k in range(r.randint(3, 8)):
                ctx.emit(t + 30 * (k + 1), s, "ssm", "GetAutomationExecution", region)
            ctx.sink.release(cap)
    # newly introduced daily cost report (from a plan day on)
    nj = ctx.plan.special.get("new_job_day")
    if nj is not None and ctx.day >= nj and "cost-report-lambda-role" in a.principals:
        role = a.principals["cost-report-lambda-role"]
        t = job_start(ctx.seed, a.id, "cost-report", ctx.day, 7.0, 2)
        ctx.emit(t - 1, ctx.aws_service("lambda.amazonaws.com"), "sts", "AssumeRole", region,
                 params={"roleArn": role.arn, "roleSessionName": "cost-report"})
        s = role_session(r, role, t, "cost-report", aws_ip(r, region), C.boto3_ua(extra=" exec-env/AWS_Lambda_python3.12"))
        cap = ctx.sink.capture()
        for nm in ("GetCostAndUsage", "GetCostAndUsage", "GetCostForecast", "GetDimensionValues", "GetCostAndUsage"):
            t += r.uniform(0.5, 3)
            ctx.emit(t, s, "ce", nm, "us-east-1", params={"granularity": "DAILY"})
        ctx.emit(t + 1, s, "organizations", "DescribeOrganization", "us-east-1",
                 err=("AccessDeniedException", "You don't have permissions to access this resource."))
        ctx.sink.release(cap)
        if ctx.day - nj < 2:
            ctx.decoy("rare_action", "new-scheduled-job", cap.items,
                      "New daily cost-report Lambda introduced: first runs call Cost Explorer (and one AccessDenied)",
                      principal=role.arn)


def _rotation(ctx, r, t, sec):
    a = ctx.acct
    region = a.region
    arn = "arn:aws:secretsmanager:%s:%s:secret:%s-%s" % (region, a.id, sec, "AbCdEf")
    sm = ctx.internal("secretsmanager.amazonaws.com")
    ctx.emit(t, sm, "secretsmanager", "RotationStarted", region, etype="AwsServiceEvent", ro=False,
             addl={"SecretId": arn})
    role = a.principals["secrets-rotation-lambda"]
    ctx.emit(t + 1, ctx.aws_service("lambda.amazonaws.com"), "sts", "AssumeRole", region,
             params={"roleArn": role.arn, "roleSessionName": "secrets-rotation"})
    s = ctx.workload_session(r, "secrets-rotation-lambda", "secrets-rotation", t, C.boto3_ua(extra=" exec-env/AWS_Lambda_python3.12"))
    tt = t + 2
    steps = [("DescribeSecret", None), ("GetSecretValue", None),
             ("GetSecretValue", ("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSPENDING")),
             ("GetRandomPassword", None), ("PutSecretValue", None), ("DescribeSecret", None),
             ("GetSecretValue", None), ("DescribeSecret", None), ("GetSecretValue", None),
             ("DescribeSecret", None), ("UpdateSecretVersionStage", None)]
    for nm, err in steps:
        tt += r.uniform(0.3, 4)
        ctx.emit(tt, s, "secretsmanager", nm, region, params={"secretId": arn}, err=err)
    ctx.emit(tt + 2, sm, "secretsmanager", "RotationSucceeded", region, etype="AwsServiceEvent", ro=False,
             addl={"SecretId": arn})
