"""Security-account operations, data platform, month-end batches and
org-wide / one-off legitimate changes (StackSets, Control Tower, IAM Identity
Center provisioning, DR tests, onboarding, key rotation, load tests,
planned maintenance, false-alarm pages)."""
from . import catalog as C
from .core import DAY, HOUR, MIN, iso, role_session, user_session, civil_from_days, Session
from .schedule import job_start
from .world import aws_ip, private_ip
from .actors_people import oncall_response, saml_assume, console_login, console_page
from .actors_tools import cross_account_assume
from .actors_work import _s3_data


def act_security_ops(ctx):
    a = ctx.acct
    if a.profile != "security":
        return
    r = ctx.rng("secops")
    region = a.region
    # GuardDuty findings exporter Lambda every 5 minutes
    role = a.principals["guardduty-findings-export"]
    s = role_session(r, role, ctx.t0, "guardduty-findings-export", aws_ip(r, region), C.boto3_ua(extra=" exec-env/AWS_Lambda_python3.12"))
    t = ctx.t0 + r.uniform(0, 300)
    while t < ctx.t1:
        ctx.emit(t, s, "guardduty", "ListFindings", region, params={"detectorId": a.id[::-1] + "abcdef0123456789abcd"[:20]})
        if r.random() < 0.3:
            ctx.emit(t + 1, s, "guardduty", "GetFindings", region)
        t += 300 + r.uniform(-3, 3)
    # Security Hub: findings imported by integrated services
    for t in ctx.arrivals(r, 40):
        svc = r.choice(["guardduty.amazonaws.com", "inspector2.amazonaws.com", "access-analyzer.amazonaws.com",
                        "config.amazonaws.com", "inspector2.amazonaws.com"])
        ctx.emit(t, ctx.aws_service(svc), "securityhub", "BatchImportFindings", region,
                 params={"findings": [{"productArn": "arn:aws:securityhub:%s::product/aws/%s" % (region, svc.split(".")[0])}]},
                 resp={"failedCount": 0, "successCount": r.randint(1, 20)})
    # SIEM forwarder pulls Security Hub findings
    fw = a.principals["siem-forwarder-lambda"]
    s2 = role_session(r, fw, ctx.t0, "siem-forwarder", aws_ip(r, region), C.NODE_SDK_UA % "securityhub")
    t = ctx.t0 + r.uniform(0, 300)
    while t < ctx.t1:
        ctx.emit(t, s2, "securityhub", "GetFindings", region, params={"maxResults": 100})
        ctx.emit(t + 1.5, s2, "securityhub", "GetFindings", region, params={"maxResults": 100, "nextToken": "HIDDEN_DUE_TO_SECURITY_REASONS"})
        t += 300 + r.uniform(-3, 3)
    # nightly Athena queries over CloudTrail / VPC flow logs
    aq = a.principals["athena-security-queries"]
    t = job_start(ctx.seed, a.id, "athena-sec", ctx.day, 4.0, 10)
    s3 = role_session(r, aq, t, "athena-security-queries", aws_ip(r, region), C.boto3_ua(extra=" exec-env/AWS_Lambda_python3.12"))
    ctx.emit(t, s3, "glue", "BatchCreatePartition", region, params={"databaseName": "security_lake", "tableName": "cloudtrail"})
    for q in range(r.randint(6, 12)):
        t += r.uniform(5, 60)
        ctx.emit(t, s3, "glue", "GetTable", region, params={"databaseName": "security_lake", "name": "cloudtrail"})
        for _ in range(r.randint(1, 3)):
            ctx.emit(t + 0.5, s3, "glue", "GetPartitions", region, params={"databaseName": "security_lake", "tableName": "cloudtrail"})
        ctx.emit(t + 1, s3, "athena", "StartQueryExecution", region, params={"workGroup": "security"})
        for k in range(r.randint(3, 10)):
            ctx.emit(t + 3 + 4 * k, s3, "athena", "GetQueryExecution", region)
        ctx.emit(t + 50, s3, "athena", "GetQueryResults", region)
    # Config aggregator compliance report
    cr = [f for f in a.functions if f[0] == "config-compliance-report"]
    if cr:
        f, frole = cr[0]
        t = job_start(ctx.seed, a.id, "config-report", ctx.day, 6.0, 5)
        s4 = role_session(r, frole, t, f, aws_ip(r, region), C.boto3_ua(extra=" exec-env/AWS_Lambda_python3.12"))
        for nm in ("DescribeConfigurationAggregators", "GetAggregateConfigRuleComplianceSummary",
                   "DescribeAggregateComplianceByConfigRules", "DescribeAggregateComplianceByConfigRules",
                   "GetAggregateComplianceDetailsByConfigRule"):
            t += r.uniform(0.5, 4)
            ctx.emit(t, s4, "config", nm, region)


def act_data_platform(ctx):
    a = ctx.acct
    if a.profile != "data":
        return
    r = ctx.rng("dataplat")
    region = a.region
    glue_role = a.principals["glue-etl-role"]
    gs = role_session(r, glue_role, ctx.t0, "GlueJobRunnerSession", "glue.amazonaws.com", "glue.amazonaws.com",
                      invoked_by="glue.amazonaws.com")
    for hh in range(24):
        t = ctx.t0 + hh * HOUR + r.uniform(120, 600)
        for k in range(r.randint(2, 6)):
            t += r.uniform(5, 60)
            ctx.emit(t, gs, "glue", r.choice(["GetTable", "GetPartitions", "GetPartitions", "BatchCreatePartition"]), region,
                     params={"databaseName": "raw", "tableName": "events"})
        ctx.emit(t + 3, gs, "logs", "CreateLogStream", region, params={"logGroupName": "/aws-glue/jobs/output"})
        _s3_data(ctx, r, t + 5, gs, region, bucket=a.buckets[5 % len(a.buckets)]["name"], key="raw/events/%s.json.gz" % r.hexs(12))
    # nightly crawler
    t = job_start(ctx.seed, a.id, "crawler", ctx.day, 1.0, 10)
    ctx.emit(t, gs, "glue", "UpdateTable", region, params={"databaseName": "curated", "tableInput": {"name": "orders"}})
    for k in range(r.randint(2, 8)):
        ctx.emit(t + 5 * k, gs, "glue", "BatchCreatePartition", region, params={"databaseName": "curated", "tableName": "orders"})


def act_month_end(ctx):
    """Last business day of the month: a large batch creates many instances then tears them down."""
    a = ctx.acct
    me = ctx.plan.special.get("month_end_days", [])
    if ctx.day not in me:
        return
    has_data = any(x.profile == "data" for x in ctx.org.accounts)
    if not ((a.profile == "data") or (a.profile == "prod" and not has_data)):
        return
    r = ctx.rng("monthend")
    region = a.region
    y, m, d = civil_from_days(ctx.day)
    quarter = m in (3, 6, 9, 12)
    n = int(r.randint(40, 70) * (2.0 if quarter else 1.0))
    orch = a.principals["month-end-batch-orchestrator"]
    t = ctx.t0 + r.uniform(18.0, 19.5) * HOUR
    s = role_session(r, orch, t, "month-end-%04d%02d" % (y, m), a.nat_ips[region][0], C.boto3_ua())
    cap = ctx.sink.capture()
    if a.profile == "data":
        ctx.emit(t, s, "elasticmapreduce", "RunJobFlow", region,
                 params={"name": "month-end-close-%04d-%02d" % (y, m), "releaseLabel": "emr-7.2.0",
                         "instances": {"instanceFleets": [{"instanceFleetType": "CORE", "targetSpotCapacity": n}]}},
                 resp={"jobFlowId": "j-%s" % r.upper(13)})
        emr = role_session(r, a.principals["EMR_DefaultRole"], t, "ElasticMapReduceSession", "elasticmapreduce.amazonaws.com",
                           "elasticmapreduce.amazonaws.com", invoked_by="elasticmapreduce.amazonaws.com")
        actor, rn = emr, "EMR_DefaultRole"
    else:
        actor, rn = s, "month-end-batch-orchestrator"
    tt = t + 60
    iids = []
    batch = r.choice([5, 10, 10, 20])
    while len(iids) < n:
        k = min(batch, n - len(iids))
        tt += r.uniform(2, 20)
        new = ["i-0%s" % r.hexs(16) for _ in range(k)]
        err = None
        if r.random() < 0.08:
            err = ("Server.InsufficientInstanceCapacity", "We currently do not have sufficient r6i.4xlarge capacity in the Availability Zone you requested.")
            ctx.emit(tt, actor, "ec2", "RunInstances", region, params={"instancesSet": {"items": [{"minCount": k, "maxCount": k}]},
                                                                      "instanceType": "r6i.4xlarge"}, err=err)
            continue
        ctx.emit(tt, actor, "ec2", "RunInstances", region,
                 params={"instancesSet": {"items": [{"minCount": k, "maxCount": k}]}, "instanceType": "r6i.4xlarge",
                         "instanceMarketOptions": {"marketType": "spot"}},
                 resp={"instancesSet": {"items": [{"instanceId": i} for i in new]}})
        ctx.emit(tt + 1, actor, "ec2", "CreateTags", region, params={"resourcesSet": {"items": [{"resourceId": i} for i in new]}})
        if a.profile != "data":
            for i in new[:3]:
                ctx.emit(tt + 2, actor, "ec2", "CreateVolume", region, params={"size": 500, "volumeType": "gp3", "availabilityZone": region + "a"})
        iids += new
    # polling while it runs
    te = tt + r.uniform(2.5, 4.5) * HOUR
    p = tt
    while p < te:
        p += r.uniform(50, 70)
        if a.profile == "data":
            ctx.emit(p, s, "elasticmapreduce", "DescribeCluster", region)
        else:
            ctx.emit(p, s, "ec2", "DescribeInstances", region)
    for i in range(0, len(iids), 25):
        ctx.emit(te + i, actor, "ec2", "TerminateInstances", region,
                 params={"instancesSet": {"items": [{"instanceId": x} for x in iids[i:i + 25]]}})
    if a.profile == "data":
        ctx.emit(te - 30, s, "elasticmapreduce", "TerminateJobFlows", region)
    ctx.sink.release(cap)
    ctx.decoy("provisioning_spike", "month-end-batch", [x for x in cap.items if x[0] < te - 60] ,
              "%s batch: %d instances launched for the close, terminated after a few hours" % (
                  "Quarter-end" if quarter else "Month-end", len(iids)),
              principal=a.principals[rn].arn)
    items = [x for x in cap.items if x[0] >= te - 60]
    ctx.decoy("rare_action", "month-end-batch", items,
              "Month-end batch teardown: mass TerminateInstances of the batch fleet", principal=a.principals[rn].arn)


def act_org_changes(ctx):
    a = ctx.acct
    plan = ctx.plan
    r = ctx.rng("orgchanges")
    region = a.region
    sp = plan.special
    # StackSets drift detection (weekly, Monday) and rollout (one-off)
    ex = [p for k, p in sorted(a.principals.items()) if k.startswith("stacksets-exec-")][0]
    cfn = role_session(r, ex, ctx.t0, "stacksets-%s" % r.hexs(8), "cloudformation.amazonaws.com", "cloudformation.amazonaws.com",
                       invoked_by="cloudformation.amazonaws.com")
    if ctx.wd == 0:
        t = job_start(ctx.seed, "org", "stackset-drift", ctx.day, 6.0, 30) + a.idx * 120
        for nm in ("DetectStackDrift", "DescribeStackDriftDetectionStatus", "DescribeStackResourceDrifts"):
            t += r.uniform(1, 20)
            ctx.emit(t, cfn, "cloudformation", nm, region, params={"stackName": "StackSet-baseline-%s" % a.id[-4:]})
        for nm in ("GetRole", "GetRolePolicy", "ListAttachedRolePolicies", "GetRole", "GetRole"):
            t += r.uniform(0.5, 3)
            ctx.emit(t, cfn, "iam", nm, "us-east-1", params={"roleName": "SecurityAuditRole"})
    if sp.get("stackset_rollout") == ctx.day:
        t = job_start(ctx.seed, "org", "stackset-rollout", ctx.day, 15.0, 20) + a.idx * 300
        cap = ctx.sink.capture()
        ctx.emit(t, cfn, "cloudformation", "UpdateStack", region, params={"stackName": "StackSet-baseline-%s" % a.id[-4:]})
        for nm, params in (("CreateRole", {"roleName": "SecurityIncidentReadOnly"}),
                           ("TagRole", {"roleName": "SecurityIncidentReadOnly"}),
                           ("AttachRolePolicy", {"roleName": "SecurityIncidentReadOnly", "policyArn": "arn:aws:iam::aws:policy/SecurityAudit"}),
                           ("PutRolePolicy", {"roleName": "SecurityIncidentReadOnly", "policyName": "extra-read"}),
                           ("UpdateAssumeRolePolicy", {"roleName": "SecurityAuditRole"}),
                           ("PutRolePolicy", {"roleName": "SecurityAuditRole", "policyName": "deny-data-access"})):
            t += r.uniform(2, 15)
            ctx.emit(t, cfn, "iam", nm, "us-east-1", params=params)
        for k in range(r.randint(8, 20)):
            ctx.emit(t + 5 * k, cfn, "cloudformation", "DescribeStackEvents", region)
        ctx.sink.release(cap)
        ctx.decoy("iam_burst", "stackset-rollout", cap.items,
                  "Organization StackSet update rolling out new security roles into every account", principal=ex.arn)
    # Control Tower landing zone update (one-off, governed regions)
    if sp.get("control_tower") == ctx.day:
        ct = a.principals["AWSControlTowerExecution"]
        t = job_start(ctx.seed, "org", "ct", ctx.day, 16.0, 30) + a.idx * 600
        cs = role_session(r, ct, t, "AWSControlTower-%s" % r.hexs(6), "cloudformation.amazonaws.com",
                          "cloudformation.amazonaws.com", invoked_by="cloudformation.amazonaws.com")
        cap = ctx.sink.capture()
        for reg in ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1"]:
            for nm in ("UpdateStack", "DescribeStacks"):
                t += r.uniform(2, 30)
                ctx.emit(t, cs, "cloudformation", nm, reg, params={"stackName": "StackSet-AWSControlTowerBP-BASELINE-CONFIG-%s" % r.hexs(6)})
            for nm in ("PutConfigurationRecorder", "PutDeliveryChannel", "DescribeConfigurationRecorders"):
                t += r.uniform(1, 10)
                ctx.emit(t, cs, "config", nm, reg)
            t += r.uniform(1, 10)
            ctx.emit(t, cs, "sns", "SetTopicAttributes", reg)
            ctx.emit(t + 2, cs, "lambda", C.LAMBDA["UpdateFunctionCode"], reg, params={"functionName": "aws-controltower-NotificationForwarder"})
        for nm in ("UpdateRole", "PutRolePolicy", "UpdateAssumeRolePolicy", "AttachRolePolicy", "PutRolePolicy"):
            t += r.uniform(1, 8)
            ctx.emit(t, cs, "iam", nm, "us-east-1", params={"roleName": "aws-controltower-ConfigRecorderRole"})
        ctx.sink.release(cap)
        ctx.decoy("iam_burst", "control-tower", cap.items,
                  "Control Tower landing zone update across governed regions (AWSControlTowerExecution)", principal=ct.arn)
    # IAM Identity Center permission set provisioning
    if ctx.day in sp.get("sso_provisioning", []):
        t = job_start(ctx.seed, "org", "sso-prov", ctx.day, 15.5, 60)
        sso = ctx.slr_session("AWSServiceRoleForSSO", "AWS-SSO")
        cap = ctx.sink.capture()
        roles = sorted(a.sso.values(), key=lambda x: x.name)[:r.randint(1, 3)]
        for ro in roles:
            for nm in ("GetRole", "PutRolePolicy", "AttachRolePolicy", "DetachRolePolicy", "UpdateRole", "TagRole"):
                if r.random() < 0.7:
                    t += r.uniform(0.5, 4)
                    ctx.emit(t, sso, "iam", nm, "us-east-1", params={"roleName": ro.name})
        ctx.sink.release(cap)
        if any(not x[2].startswith("Get") for x in cap.items):
            ctx.decoy("iam_burst", "sso-provisioning", cap.items,
                      "IAM Identity Center re-provisioned permission sets (service-linked role updates AWSReservedSSO roles)",
                      principal=a.slr("AWSServiceRoleForSSO").arn)
    # DR restore test in prod
    if sp.get("dr_test") == ctx.day and a.profile == "prod" and a.db_clusters:
        p = [x for x in ctx.org.people if x.persona == "platform"][0]
        role = a.sso_role("AdministratorAccess")
        t = ctx.t0 + r.uniform(14, 16) * HOUR
        from .actors_people import person_ip
        ip, _ = person_ip(ctx.org, p, ctx.day)
        s = role_session(r, role, t, p.email, ip, p.cli_ua("rds.restore-db-cluster-from-snapshot"))
        cap = ctx.sink.capture()
        ctx.emit(t, s, "rds", "DescribeDBClusterSnapshots", region, params={"dBClusterIdentifier": a.db_clusters[0]})
        ctx.emit(t + 30, s, "rds", "RestoreDBClusterFromSnapshot", region,
                 params={"dBClusterIdentifier": "orders-db-drtest", "snapshotIdentifier": "orders-db-nightly"})
        s.ua = p.cli_ua("rds.create-db-instance")
        ctx.emit(t + 400, s, "rds", "CreateDBInstance", region,
                 params={"dBInstanceIdentifier": "orders-db-drtest-1", "dBClusterIdentifier": "orders-db-drtest", "dBInstanceClass": "db.r6g.large"})
        for k in range(10):
            ctx.emit(t + 500 + 120 * k, s, "rds", "DescribeDBInstances", region, params={"dBInstanceIdentifier": "orders-db-drtest-1"})
        te = t + r.uniform(2.5, 4) * HOUR
        s.ua = p.cli_ua("rds.delete-db-instance")
        ctx.emit(te, s, "rds", "DeleteDBInstance", region, params={"dBInstanceIdentifier": "orders-db-drtest-1", "skipFinalSnapshot": True})
        s.ua = p.cli_ua("rds.delete-db-cluster")
        ctx.emit(te + 600, s, "rds", "DeleteDBCluster", region, params={"dBClusterIdentifier": "orders-db-drtest", "skipFinalSnapshot": True})
        ctx.sink.release(cap)
        ctx.decoy("rare_action", "dr-test", cap.items,
                  "Quarterly DR restore test: restore Aurora snapshot to a scratch cluster, then DeleteDBInstance/DeleteDBCluster",
                  principal=role.arn)
    # IAM onboarding of a vendor integration user / quarterly legacy key rotation
    if sp.get("onboarding") == ctx.day and a.profile in ("prod", "security"):
        p = [x for x in ctx.org.people if x.persona in ("platform", "security")][0 if a.profile == "prod" else -1]
        role = a.sso_role("AdministratorAccess")
        from .actors_people import person_ip
        ip, _ = person_ip(ctx.org, p, ctx.day)
        t = ctx.t0 + r.uniform(14, 17) * HOUR
        s = role_session(r, role, t - 5, p.email, ip, p.browser, console=True)
        saml_assume(ctx, r, t - 5, p, role, ip, p.browser)
        console_login(ctx, r, t - 3, s, p.browser)
        cap = ctx.sink.capture()
        uname = "svc-%s-integration" % r.choice(["pagerduty", "snowflake", "fivetran", "segment"])
        s.ua = C.CONSOLE_UA
        for nm, params in (("CreateUser", {"userName": uname, "tags": [{"key": "owner", "value": "platform"}]}),
                           ("TagUser", {"userName": uname}),
                           ("AttachUserPolicy", {"userName": uname, "policyArn": "arn:aws:iam::%s:policy/observability-read" % a.id}),
                           ("CreateAccessKey", {"userName": uname}),
                           ("GetUser", {"userName": uname}), ("ListAccessKeys", {"userName": uname})):
            t += r.uniform(5, 60)
            ctx.emit(t, s, "iam", nm, "us-east-1", params=params)
        ctx.sink.release(cap)
        ctx.decoy("iam_burst", "iam-onboarding", cap.items,
                  "Admin %s created an IAM user and access key for a new vendor integration (%s)" % (p.email, uname),
                  principal=role.arn)
    if sp.get("key_rotation") == ctx.day and a.legacy_users:
        p = [x for x in ctx.org.people if x.persona == "platform"][0]
        role = a.sso_role("AdministratorAccess") if a.profile in ("prod", "staging", "sandbox") else a.sso_role(
            "SecurityEngineer" if a.profile == "security" else "PlatformEngineer")
        from .actors_people import person_ip
        ip, _ = person_ip(ctx.org, p, ctx.day)
        t = ctx.t0 + r.uniform(15, 18) * HOUR
        s = role_session(r, role, t, p.email, ip, p.cli_ua("iam.create-access-key"))
        cap = ctx.sink.capture()
        for u in a.legacy_users[:2]:
            for nm in ("ListAccessKeys", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"):
                t += r.uniform(10, 600)
                s.ua = p.cli_ua("iam.%s" % nm.lower())
                ctx.emit(t, s, "iam", nm, "us-east-1", params={"userName": u.name})
        ctx.sink.release(cap)
        ctx.decoy("rare_action", "key-rotation", cap.items,
                  "Quarterly rotation of legacy IAM user access keys (CreateAccessKey for other users, then delete old)",
                  principal=role.arn)
    # staging load test window (fleet boost handled by the planner); label it
    lt = plan.window("load_test", ctx.day)
    if lt and a.profile == "staging":
        ctl = a.principals["KarpenterControllerRole-staging"]
        ctx.decoy("provisioning_spike", "load-test", [],
                  "Scheduled load test in staging: node and instance fleet scaled far beyond normal",
                  principal=ctl.arn, window=lt, region=region, event_source="ec2.amazonaws.com",
                  event_names=["CreateFleet", "RunInstances", "TerminateInstances"])
    # planned maintenance: ledger-sync paused, then DB engine minor upgrade
    pm = plan.window("planned_maintenance", ctx.day)
    if pm and a.profile == "prod":
        p = [x for x in ctx.org.people if x.persona == "platform"][1 % 2]
        rolename = "ledger-sync-%s" % a.profile
        ctx.decoy("call_rate_drop", "planned-maintenance", [],
                  "Announced maintenance window: ledger-sync paused while the database is upgraded",
                  principal=a.principals[rolename].arn, window=pm, region=region, event_source="kms.amazonaws.com",
                  event_names=["AssumeRoleWithWebIdentity", "Decrypt", "GenerateDataKey", "GetSecretValue"])
        oncall_response(ctx, r, pm[0] + 300, p, "the planned maintenance window",
                        [("rds", "ModifyDBCluster", {"dBClusterIdentifier": a.db_clusters[0] if a.db_clusters else "orders-db",
                                                     "engineVersion": "16.4", "applyImmediately": True}),
                         ("rds", "DescribeDBClusters", None)], family="planned-maintenance")
    # false-alarm pages at night for the on-call engineer (prod)
    if ctx.day in sp.get("false_alarms", []) and a.profile == "prod":
        oc = [x for x in ctx.org.people if x.oncall]
        p = oc[ctx.day % len(oc)]
        t = ctx.t0 + r.uniform(0, 6) * HOUR
        acts = r.choice([[("ecs", "UpdateService", {"cluster": a.ecs_cluster, "service": "orders-api", "forceNewDeployment": True})],
                         [("autoscaling", "SetDesiredCapacity", {"autoScalingGroupName": "web-asg", "desiredCapacity": 8})],
                         [("rds", "RebootDBInstance", {"dBInstanceIdentifier": a.db_instances[0] if a.db_instances else "db"})]])
        oncall_response(ctx, r, t, p, "a night-time page that turned out to be a false alarm", acts)
