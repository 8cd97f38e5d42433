"""People: IAM Identity Center users working in the console and CLI."""
from . import catalog as C
from .core import (DAY, HOUR, MIN, Rng, Session, derive_seed, iso, is_holiday, weekday, utc_offset,
                   role_session)
from .ops import bucket_reads
from .world import rand_ip

S3_CONSOLE_UA = ("[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.226-192.879.amzn2int.x86_64 "
                 "OpenJDK_64-Bit_Server_VM/25.422-b05 java/1.8.0_422 vendor/Oracle_Corporation cfg/retry-mode/standard]")
INTERNAL_UA_SVCS = {"iam", "organizations", "ce", "kms", "billingconsole", "freetier", "access-analyzer", "health",
                    "compute-optimizer"}

ACCESS = {
    "prod": {"platform": "PlatformEngineer", "dev": "ReadOnly", "data": "ReadOnly", "security": "SecurityAudit",
             "finance": "Billing"},
    "staging": {"platform": "AdministratorAccess", "dev": "Developer", "data": "DataEngineer", "security": "SecurityAudit"},
    "security": {"security": "SecurityEngineer", "platform": "ReadOnly"},
    "data": {"data": "DataEngineer", "platform": "PlatformEngineer", "dev": "ReadOnly", "security": "SecurityAudit"},
    "sandbox": {"dev": "AdministratorAccess", "platform": "AdministratorAccess"},
}
WEIGHT = {
    ("dev", "staging"): 1.0, ("dev", "prod"): 0.45, ("dev", "data"): 0.15, ("dev", "sandbox"): 0.25,
    ("platform", "prod"): 1.0, ("platform", "staging"): 0.7, ("platform", "security"): 0.2, ("platform", "data"): 0.4,
    ("platform", "sandbox"): 0.1, ("data", "data"): 1.0, ("data", "prod"): 0.3, ("data", "staging"): 0.3,
    ("security", "security"): 1.0, ("security", "prod"): 0.5, ("security", "staging"): 0.2, ("security", "data"): 0.2,
    ("finance", "prod"): 0.5,
}

CLI_CMDS = {
    "platform": [("ec2.describe-instances", [("ec2", "DescribeInstances")]),
                 ("eks.update-kubeconfig", [("eks", "DescribeCluster")]),
                 ("ecs.describe-services", [("ecs", "DescribeServices")]),
                 ("ssm.start-session", [("ssm", "StartSession")]),
                 ("sts.get-caller-identity", [("sts", "GetCallerIdentity")]),
                 ("s3.ls", [("s3", "ListBuckets")]),
                 ("rds.describe-db-instances", [("rds", "DescribeDBInstances")]),
                 ("iam.get-role", [("iam", "GetRole")]),
                 ("cloudformation.describe-stacks", [("cloudformation", "DescribeStacks")]),
                 ("autoscaling.describe-auto-scaling-groups", [("autoscaling", "DescribeAutoScalingGroups")]),
                 ("route53.list-resource-record-sets", [("route53", "ListResourceRecordSets")]),
                 ("elbv2.describe-target-health", [("elasticloadbalancing", "DescribeTargetHealth")]),
                 ("logs.start-query", [("logs", "StartQuery"), ("logs", "GetQueryResults"), ("logs", "GetQueryResults")]),
                 ("ec2.describe-security-groups", [("ec2", "DescribeSecurityGroups")]),
                 ("kms.list-aliases", [("kms", "ListAliases")])],
    "dev": [("sts.get-caller-identity", [("sts", "GetCallerIdentity")]),
            ("logs.start-query", [("logs", "StartQuery"), ("logs", "GetQueryResults"), ("logs", "GetQueryResults")]),
            ("logs.describe-log-groups", [("logs", "DescribeLogGroups")]),
            ("lambda.get-function", [("lambda", C.LAMBDA["GetFunction"])]),
            ("lambda.list-functions", [("lambda", C.LAMBDA["ListFunctions"])]),
            ("sqs.get-queue-attributes", [("sqs", "GetQueueUrl"), ("sqs", "GetQueueAttributes")]),
            ("dynamodb.describe-table", [("dynamodb", "DescribeTable")]),
            ("secretsmanager.get-secret-value", [("secretsmanager", "GetSecretValue")]),
            ("s3.ls", [("s3", "ListBuckets")]),
            ("ecr.get-login-password", [("ecr", "GetAuthorizationToken")]),
            ("cloudformation.describe-stack-events", [("cloudformation", "DescribeStackEvents")]),
            ("ssm.get-parameter", [("ssm", "GetParameter")])],
    "data": [("athena.start-query-execution", [("athena", "StartQueryExecution"), ("athena", "GetQueryExecution"),
                                               ("athena", "GetQueryExecution"), ("athena", "GetQueryResults")]),
             ("glue.get-tables", [("glue", "GetTables")]),
             ("glue.get-partitions", [("glue", "GetPartitions")]),
             ("glue.start-job-run", [("glue", "StartJobRun")]),
             ("s3.ls", [("s3", "ListBuckets")]),
             ("sts.get-caller-identity", [("sts", "GetCallerIdentity")])],
    "security": [("guardduty.list-findings", [("guardduty", "ListDetectors"), ("guardduty", "ListFindings"), ("guardduty", "GetFindings")]),
                 ("securityhub.get-findings", [("securityhub", "GetFindings"), ("securityhub", "GetFindings")]),
                 ("cloudtrail.lookup-events", [("cloudtrail", "LookupEvents")] * 6),
                 ("iam.get-account-authorization-details", [("iam", "GetAccountAuthorizationDetails")] * 4),
                 ("accessanalyzer.list-findings", [("access-analyzer", "ListFindings")]),
                 ("sts.get-caller-identity", [("sts", "GetCallerIdentity")]),
                 ("s3api.get-bucket-policy", [("s3", "GetBucketPolicy")]),
                 ("ec2.describe-instances", [("ec2", "DescribeInstances")])],
    "finance": [("ce.get-cost-and-usage", [("ce", "GetCostAndUsage")])],
}

CONSOLE_WRITES = {
    ("platform", "prod"): [("ecs", "UpdateService"), ("autoscaling", "SetDesiredCapacity"), ("ssm", "StartSession"),
                           ("ssm", "PutParameter"), ("monitoring", "PutMetricAlarm"), ("ec2", "CreateTags"),
                           ("monitoring", "PutDashboard")],
    ("platform", "staging"): [("ec2", "StopInstances"), ("ec2", "StartInstances"), ("ecs", "UpdateService"),
                              ("ssm", "StartSession"), ("rds", "ModifyDBInstance")],
    ("dev", "staging"): [("lambda", C.LAMBDA["UpdateFunctionCode"]), ("sqs", "PurgeQueue"), ("ssm", "PutParameter"),
                         ("dynamodb", "UpdateTable"), ("lambda", C.LAMBDA["UpdateFunctionConfiguration"]),
                         ("monitoring", "PutDashboard"), ("logs", "PutRetentionPolicy")],
    ("data", "data"): [("glue", "StartJobRun"), ("glue", "UpdateTable"), ("athena", "CreateNamedQuery"),
                       ("glue", "StartCrawler")],
    ("security", "security"): [("securityhub", "BatchUpdateFindings"), ("guardduty", "ArchiveFindings"),
                               ("securityhub", "BatchUpdateFindings")],
    ("dev", "sandbox"): [("ec2", "RunInstances"), ("ec2", "TerminateInstances"), ("lambda", C.LAMBDA["CreateFunction"]),
                         ("s3", "CreateBucket"), ("dynamodb", "CreateTable")],
}


def permset_for(acct, person):
    m = ACCESS.get(acct.profile, {})
    ps = m.get(person.persona)
    if ps == "PlatformEngineer" and person.idx < 2:
        return "AdministratorAccess"
    if ps == "SecurityEngineer" and person.idx == 6:
        return "AdministratorAccess"
    if acct.profile == "data" and person.persona == "dev" and person.idx % 3:
        return None
    return ps


def person_ip(org, p, localday):
    if p.trip and p.trip[0] <= localday < p.trip[1]:
        return rand_ip(Rng(derive_seed(org.seed, p.email, "trip", localday)), C.ISP_PREFIX[p.trip[2]]), True
    r = Rng(derive_seed(org.seed, p.email, "loc", localday))
    if p.office and weekday(localday) in (1, 2, 3) and r.random() < 0.7:
        return r.choice(org.office_ips["nyc" if p.city == "nyc" else "dublin"]), False
    if r.random() < 0.1:
        return org.vpn_ip, False
    return (p.alt_home_ip if localday > org.start_day + org.days // 2 and p.idx % 5 == 0 else p.home_ip), False


def person_tz(p, localday):
    if p.trip and p.trip[0] <= localday < p.trip[1]:
        return {"lisbon": "Europe/Lisbon", "tokyo": "Asia/Tokyo", "toronto": "America/Toronto"}[p.trip[2]]
    return p.tz


def sessions_for(ctx, p, permset, localday):
    """Deterministic list of (start_t, duration_s, kind) for a person, account and local day."""
    org = ctx.org
    a = ctx.acct
    r = Rng(derive_seed(ctx.seed, p.email, a.id, localday, "sessions"))
    if p.first_day is not None and localday < p.first_day:
        return []
    wd = weekday(localday)
    pres = 1.0
    if wd >= 5:
        pres = 0.25 if p.weekend_worker else 0.04
    if is_holiday(p.cal, localday):
        pres = min(pres, 0.05)
    if r.random() > pres:
        return []
    w = WEIGHT.get((p.persona, a.profile), 0.1)
    lam = p.activity * w * 1.7 * org.activity_scale
    if wd >= 5:
        lam *= 0.5
    n = r.poisson(lam)
    tz = person_tz(p, localday)
    out = []
    for _ in range(n):
        h = r.uniform(p.start_hour, p.end_hour)
        if r.random() < 0.05:
            h = r.uniform(19.5, 23.5)     # evening work
        tl = localday * DAY + h * HOUR
        t = tl - utc_offset(tz, tl) * HOUR
        dur = r.uniform(4, 75) * MIN
        kind = "cli" if r.random() < p.cli_pref else "console"
        out.append((t, dur, kind))
    return out


def saml_assume(ctx, r, t, p, role, ip, ua):
    a = ctx.acct
    idp = "arn:aws:iam::%s:saml-provider/AWSSSO_%s_DO_NOT_DELETE" % (a.id, a.id[::-1][:16])
    ui = {"type": "SAMLUser", "principalId": "%s:%s" % (r.alnum(28), p.email), "userName": p.email,
          "identityProvider": idp}
    web = Session(ui, ip, ua, None)
    ctx.emit(t, web, "sts", "AssumeRoleWithSAML", "us-east-1",
             params={"roleArn": role.arn, "principalArn": idp, "durationSeconds": 3600},
             resp={"credentials": {"accessKeyId": "ASIA" + r.upper(16), "expiration": iso(t + 3600)},
                   "assumedRoleUser": {"assumedRoleId": "%s:%s" % (role.pid, p.email),
                                       "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (a.id, role.name, p.email)},
                   "subjectType": "persistent", "audience": "https://signin.aws.amazon.com/saml"})


def console_login(ctx, r, t, sess, browser, ok=True, mfa="No"):
    s2 = Session(sess.ui, sess.ip, browser, sess.principal, console=False)
    ctx.emit(t, s2, "signin", "ConsoleLogin", "us-east-1", etype="AwsConsoleSignIn", ro=False,
             resp={"ConsoleLogin": "Success" if ok else "Failure"},
             addl={"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                   "MobileVersion": "No", "MFAUsed": mfa},
             err=None if ok else ("Failed authentication", "Failed authentication"))


def console_page(ctx, r, t, sess, permset, page, region, browser):
    a = ctx.acct
    calls = C.CONSOLE_PAGES[page]
    if calls == "S3BUCKET":
        b = r.choice(a.buckets)
        out = []
        sess.ua = S3_CONSOLE_UA
        for nm, params, err in bucket_reads(b):
            t += r.uniform(0.02, 0.4)
            if C.denied(permset, "s3", nm):
                err = ctx.denied_err(sess, "s3", nm, "arn:aws:s3:::%s" % b["name"])
            ctx.emit(t, sess, "s3", nm, b["region"], params=params, err=err)
        return t
    for svc, nm in calls:
        t += r.uniform(0.05, 1.2)
        if svc == "s3":
            sess.ua = S3_CONSOLE_UA
        elif svc in INTERNAL_UA_SVCS:
            sess.ua = C.CONSOLE_UA
        else:
            sess.ua = browser
        err = None
        if C.denied(permset, svc, nm):
            err = ctx.denied_err(sess, svc, nm)
        elif nm in (C.LAMBDA["GetPolicy"], C.LAMBDA["GetFunctionUrlConfig"], C.LAMBDA["GetFunctionEventInvokeConfig"]) and r.random() < 0.8:
            err = ("ResourceNotFoundException", "The resource you requested does not exist.")
        elif nm == "GetEnrollmentStatus" and r.random() < 0.5:
            err = ("AccessDeniedException", None)
        params = None
        if svc == "lambda" and nm != C.LAMBDA["ListFunctions"] and nm != C.LAMBDA["GetAccountSettings"]:
            params = {"functionName": r.choice(a.functions)[0]}
        elif svc == "secretsmanager" and nm != "ListSecrets":
            params = {"secretId": r.choice(a.secrets)}
        elif svc == "iam" and nm in ("GetRole", "ListAttachedRolePolicies", "ListRolePolicies", "ListInstanceProfilesForRole", "ListRoleTags"):
            params = {"roleName": r.choice([x for x in a.principals.values() if x.kind == "role"]).name}
        ctx.emit(t, sess, svc, nm, region, params=params, err=err)
    return t


def act_humans(ctx):
    a = ctx.acct
    org = ctx.org
    r = ctx.rng("humans")
    for p in org.people:
        permset = permset_for(a, p)
        if not permset:
            continue
        role = a.sso_role(permset)
        for ld in (ctx.day - 1, ctx.day, ctx.day + 1):
            ss = sessions_for(ctx, p, permset, ld)
            if not ss:
                continue
            ip, travelling = person_ip(org, p, ld)
            day_items = []
            for (t, dur, kind) in ss:
                if not (ctx.t0 <= t < ctx.t1):
                    continue
                rr = Rng(derive_seed(ctx.seed, p.email, a.id, int(t), "sess"))
                cap = ctx.sink.capture()
                _run_session(ctx, rr, p, permset, role, t, dur, kind, ip)
                ctx.sink.release(cap)
                day_items += cap.items
                den = [x for x in cap.items if x[5] in ("AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation")]
                if len(den) >= 3:
                    ctx.decoy("error_rate", "console-access-denied" if kind == "console" else "cli-access-denied", den,
                              "%s (%s) lacks permissions for some calls the %s issues: burst of AccessDenied" % (
                                  p.email, permset, "console page" if kind == "console" else "CLI"),
                              principal=role.arn)
            if day_items and travelling:
                ctx.decoy("rare_action", "travel", day_items,
                          "%s working from %s while travelling (new network / hours)" % (p.email, p.trip[2]),
                          principal=role.arn)
            if day_items and p.first_day is not None and ld == p.first_day:
                ctx.decoy("rare_action", "new-hire", day_items,
                          "New hire %s first day: first sessions, many first-time reads" % p.email, principal=role.arn)
    if ctx.us_holiday and not ctx.weekend and a.profile in ("prod", "staging"):
        ctx.decoy("call_rate_drop", "holiday", [],
                  "US public holiday: human console/CLI and CI activity far below a normal weekday",
                  principal=None, window=(ctx.t0 + 13 * HOUR, ctx.t0 + 23 * HOUR), region=a.region,
                  event_source="signin.amazonaws.com",
                  event_names=["ConsoleLogin", "AssumeRoleWithSAML"])


def _run_session(ctx, r, p, permset, role, t, dur, kind, ip):
    a = ctx.acct
    region = a.homes[0] if (len(a.homes) == 1 or r.random() < 0.75) else a.homes[1]
    end = t + dur
    saml_assume(ctx, r, t, p, role, ip, p.browser if kind == "console" else p.cli_ua("sso.login"))
    if kind == "console":
        sess = role_session(r, role, t, p.email, ip, p.browser, console=True)
        console_login(ctx, r, t + r.uniform(0.5, 2), sess, p.browser)
        prefs = C.PAGE_PREFS[p.persona]
        pages, weights = list(prefs.keys()), list(prefs.values())
        tt = t + 3
        writes = CONSOLE_WRITES.get((p.persona, a.profile), [])
        while tt < end:
            page = r.choices(pages, weights=weights, k=1)[0]
            tt = console_page(ctx, r, tt, sess, permset, page, region, p.browser)
            if writes and r.random() < 0.06:
                svc, nm = r.choice(writes)
                sess.ua = p.browser if svc not in INTERNAL_UA_SVCS else C.CONSOLE_UA
                err = ctx.denied_err(sess, svc, nm) if C.denied(permset, svc, nm) else None
                ctx.emit(tt + r.uniform(5, 40), sess, svc, nm, region, err=err)
            tt += r.uniform(20, 240)
    else:
        sess = role_session(r, role, t, p.email, ip, "")
        cmds = CLI_CMDS.get(p.persona, CLI_CMDS["dev"])
        writes = CONSOLE_WRITES.get((p.persona, a.profile), [])
        tt = t + 2
        while tt < end:
            cmd, calls = r.choice(cmds)
            sess.ua = p.cli_ua(cmd)
            for svc, nm in calls:
                tt += r.uniform(0.2, 3.0)
                err = ctx.denied_err(sess, svc, nm) if C.denied(permset, svc, nm) else None
                params = None
                if svc == "eks":
                    params = {"name": a.cluster}
                elif svc == "secretsmanager":
                    params = {"secretId": r.choice(a.secrets)}
                elif nm == "DescribeTable":
                    params = {"tableName": r.choice(a.tables)}
                ctx.emit(tt, sess, svc, nm, "us-east-1" if svc in ("s3",) and nm == "ListBuckets" else region,
                         params=params, err=err)
            if writes and r.random() < 0.05:
                svc, nm = r.choice(writes)
                sess.ua = p.cli_ua("%s.%s" % (svc, nm.lower()))
                err = ctx.denied_err(sess, svc, nm) if C.denied(permset, svc, nm) else None
                ctx.emit(tt + r.uniform(1, 10), sess, svc, nm, region, err=err)
            tt += r.expovariate(1.0 / 70.0)


def oncall_response(ctx, r, t, p, reason, actions, region=None, label=True, family="oncall-response"):
    """An on-call engineer signs in with the break-glass permission set and acts.

    actions: list of (svc, name, params)."""
    a = ctx.acct
    region = region or a.region
    role = a.sso_role("OnCallBreakGlass")
    ip, _ = person_ip(ctx.org, p, int(t // DAY))
    cap = ctx.sink.capture()
    saml_assume(ctx, r, t, p, role, ip, p.browser)
    sess = role_session(r, role, t, p.email, ip, p.browser, console=True)
    console_login(ctx, r, t + 1, sess, p.browser, mfa="Yes")
    tt = t + 5
    for page in ("cloudwatch-alarms", "cloudwatch-logs", "ecs", "rds"):
        tt = console_page(ctx, r, tt, sess, "OnCallBreakGlass", page, region, p.browser) + r.uniform(10, 90)
    for svc, nm, params in actions:
        tt += r.uniform(20, 300)
        sess.ua = p.browser
        ctx.emit(tt, sess, svc, nm, region, params=params)
    ctx.sink.release(cap)
    if label:
        acts = [x for x in cap.items if x[2] in set(n for _, n, _ in actions) or x[2] == "ConsoleLogin"]
        ctx.decoy("rare_action", family, acts or cap.items,
                  "On-call engineer %s used the break-glass permission set during %s: %s" % (
                      p.email, reason, ", ".join(sorted(set(n for _, n, _ in actions)))),
                  principal=role.arn)
    return tt
