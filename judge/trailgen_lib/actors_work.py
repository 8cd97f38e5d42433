"""Workloads: EKS + Karpenter and add-ons, EC2 Auto Scaling, ECS services,
Lambda functions, SSM agents and maintenance windows, application runtime calls."""
from . import catalog as C
from .core import DAY, HOUR, MIN, iso, role_session, service_session
from .schedule import job_start
from .world import aws_ip, private_ip


def _scale_n(ctx, base, lo=1):
    return max(lo, int(round(base * ctx.scale * ctx.acct.size)))


def irsa_exchange(ctx, rng, t, rolename, sa, region=None, ua=None):
    """AssumeRoleWithWebIdentity by an EKS pod (IRSA) and the resulting session."""
    a = ctx.acct
    region = region or a.region
    provider = "arn:aws:iam::%s:oidc-provider/%s" % (a.id, a.eks_oidc)
    ui = {"type": "WebIdentityUser", "principalId": "%s:sts.amazonaws.com:%s" % (provider, sa),
          "userName": sa, "identityProvider": provider}
    from .core import Session
    ip = ctx.nat_ip(rng, region)
    web = Session(ui, ip, ua or C.GO_SDK_UA % ("sts", "1.30.7"), None)
    role = a.principals[rolename]
    sname = "%d" % (int(t * 1e9) + rng.randint(0, 999999))
    akid = "ASIA" + rng.upper(16)
    ctx.emit(t, web, "sts", "AssumeRoleWithWebIdentity", region,
             params={"roleArn": role.arn, "roleSessionName": sname},
             resp={"credentials": {"accessKeyId": akid, "expiration": iso(t + 3600)},
                   "subjectFromWebIdentityToken": sa,
                   "assumedRoleUser": {"assumedRoleId": "%s:%s" % (role.pid, sname),
                                       "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (a.id, role.name, sname)},
                   "provider": provider, "audience": "sts.amazonaws.com"},
             addl=None, ro=True)
    s = ctx.workload_session(rng, rolename, sname, t, ua or C.GO_SDK_UA % ("sts", "1.30.7"), region=region,
                             via_vpce=False, web_fed=True)
    s.ui["accessKeyId"] = akid
    return s


# ---------------------------------------------------------------- fleet (Karpenter nodes / ASG instances)

def _fleet_step(ctx, rng, key, target_fn, step=600, hysteresis=1):
    """Simulate a fleet following target_fn; returns launches, terminations, running set at end."""
    st = ctx.state.get(key)
    if st is None:
        # the fleet already exists when the trail starts: no launch events for it
        n0 = max(1, int(round(target_fn(ctx.t0))))
        st = ctx.state[key] = {"running": [("i-0%s" % rng.hexs(16), ctx.t0 - rng.uniform(3600, 5 * DAY)) for _ in range(n0)]}
    running = st["running"]
    launches, terms = [], []
    t = ctx.t0
    while t < ctx.t1:
        tgt = max(1, int(round(target_fn(t) * rng.lognorm(0.06))))
        cur = len(running)
        if tgt > cur:
            for _ in range(tgt - cur):
                iid = "i-0%s" % rng.hexs(16)
                lt = t + rng.uniform(0, step * 0.6)
                running.append((iid, lt))
                launches.append((lt, iid))
        elif tgt < cur - hysteresis:
            for _ in range(cur - tgt - hysteresis):
                idx = rng.randrange(len(running))
                iid, lt0 = running.pop(idx)
                terms.append((t + rng.uniform(0, step), iid))
        t += step
    # spot interruptions / unhealthy replacements
    for _ in range(rng.poisson(1.2)):
        if running:
            idx = rng.randrange(len(running))
            iid, _ = running.pop(idx)
            tt = ctx.t0 + rng.uniform(0, DAY - 900)
            terms.append((tt, iid))
            niid = "i-0%s" % rng.hexs(16)
            running.append((niid, tt + 60))
            launches.append((tt + 60, niid))
    launches.sort()
    terms.sort()
    return launches, terms


def act_eks(ctx):
    a = ctx.acct
    if a.profile not in ("prod", "staging"):
        return
    env = a.profile
    region = a.region
    r = ctx.rng("eks")
    traffic = ctx.traffic
    base = {"prod": 6, "staging": 3}[env] * max(0.3, ctx.scale) ** 0.7
    amp = {"prod": 10, "staging": 2}[env] * max(0.3, ctx.scale) ** 0.7
    boost = ctx.plan.fleet_boost(ctx.day, "eks")

    def target(t):
        b = boost(t) if boost else 0
        return base + amp * (traffic(t) - 0.35) + b

    launches, terms = _fleet_step(ctx, r, "karpenter", target)
    fleet = ctx.state.setdefault("fleet_instances", [])
    ctl = "KarpenterControllerRole-%s" % env
    # controller credentials, refreshed hourly (leader + standby replica)
    sessions = {}
    for hh in range(24):
        for rep in range(2):
            t = ctx.t0 + hh * HOUR - r.uniform(0, 300) + rep * 17
            s = irsa_exchange(ctx, r, t, ctl, "system:serviceaccount:kube-system:karpenter", region,
                              C.KARPENTER_UA % ("sts", "1.31.1"))
            s.ua = C.KARPENTER_UA % ("ec2", "1.177.0")
            if rep == 0:
                sessions[hh] = s

    def ksess(t):
        return sessions[min(23, int((t - ctx.t0) // HOUR))]

    # periodic reconciliation
    t = ctx.t0 + r.uniform(0, 300)
    while t < ctx.t1:
        s = ksess(t)
        ctx.emit(t, s, "ec2", "DescribeSubnets", region, params={"filterSet": {"items": [{"name": "tag:karpenter.sh/discovery", "valueSet": {"items": [{"value": a.cluster}]}}]}})
        ctx.emit(t + 0.4, s, "ec2", "DescribeSecurityGroups", region, params={"filterSet": {"items": [{"name": "tag:karpenter.sh/discovery", "valueSet": {"items": [{"value": a.cluster}]}}]}})
        ctx.emit(t + 0.9, s, "ssm", "GetParameter", region, params={"name": "/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/x86_64/standard/recommended/image_id"})
        ctx.emit(t + 1.3, s, "ec2", "DescribeImages", region, params={"imagesSet": {"items": [{"imageId": a.amis[0]}]}})
        t += 300 + r.uniform(-20, 20)
    for k in range(2):
        t = ctx.t0 + (k * 12 + r.uniform(0, 1)) * HOUR
        s = ksess(t)
        for nm, pages in (("DescribeInstanceTypes", 8), ("DescribeInstanceTypeOfferings", 3),
                          ("DescribeSpotPriceHistory", 6), ("DescribeAvailabilityZones", 1)):
            for _ in range(pages):
                t += r.uniform(0.2, 1.0)
                ctx.emit(t, s, "ec2", nm, region)
        for _ in range(r.randint(20, 35)):
            t += r.uniform(0.2, 0.8)
            ctx.emit(t, s, "pricing", "GetProducts", "us-east-1",
                     params={"serviceCode": "AmazonEC2", "formatVersion": "aws_v1"})
    # launches
    cni = "AmazonEKS_CNI_Role-%s" % env
    node_role = a.principals["KarpenterNodeRole-%s" % env]
    lbc = "aws-load-balancer-controller-%s" % env
    ice_cap = None
    ice_items = []
    for (t, iid) in launches:
        s = ksess(t)
        itype = r.choice(C.KARPENTER_TYPES)
        spot = r.random() < 0.6
        resp = {"CreateFleetResponse": {"fleetId": "fleet-%s" % r.uuid(),
                                        "fleetInstanceSet": {"item": {"instanceIds": {"item": iid},
                                                                      "instanceType": itype,
                                                                      "lifecycle": "spot" if spot else "on-demand"}}}}
        if spot and r.random() < 0.12:
            # instant fleet reports capacity errors inside a successful response; Karpenter retries
            bad = {"CreateFleetResponse": {"fleetId": "fleet-%s" % r.uuid(), "errorSet": {"item": {
                "errorCode": "InsufficientInstanceCapacity", "errorMessage": "We currently do not have sufficient %s capacity in the Availability Zone you requested." % itype,
                "lifecycle": "spot"}}}}
            ctx.emit(t - 3, s, "ec2", "CreateFleet", region, params={"CreateFleetRequest": {"Type": "instant", "TargetCapacitySpecification": {"TotalTargetCapacity": 1, "DefaultTargetCapacityType": "spot"}}}, resp=bad)
        ctx.emit(t, s, "ec2", "CreateFleet", region,
                 params={"CreateFleetRequest": {"Type": "instant", "TargetCapacitySpecification": {
                     "TotalTargetCapacity": 1, "DefaultTargetCapacityType": "spot" if spot else "on-demand"},
                     "LaunchTemplateConfigs": {"LaunchTemplateSpecification": {"LaunchTemplateId": a.launch_templates[0], "Version": "$Latest"}}}},
                 resp=resp)
        ctx.emit(t + 1.5, s, "ec2", "CreateTags", region,
                 params={"resourcesSet": {"items": [{"resourceId": iid}]},
                         "tagSet": {"items": [{"key": "Name", "value": "%s-karpenter" % a.cluster}]}})
        ctx.emit(t + 2.5, s, "kms", "CreateGrant", region, ip="ec2.amazonaws.com", ua="ec2.amazonaws.com",
                 params={"keyId": "arn:aws:kms:%s:%s:key/%s" % (region, a.id, a.keys[3]["id"]),
                         "granteePrincipal": "ec2.%s.amazonaws.com" % region, "operations": ["Decrypt"]})
        tc = t + r.uniform(45, 110)
        cs = irsa_exchange(ctx, r, tc, cni, "system:serviceaccount:kube-system:aws-node", region, C.CNI_UA)
        cs.ua = C.CNI_UA
        for nm in ("DescribeInstances", "DescribeInstanceTypes", "CreateNetworkInterface", "AttachNetworkInterface",
                   "ModifyNetworkInterfaceAttribute", "CreateTags", "AssignPrivateIpAddresses"):
            tc += r.uniform(0.3, 2.0)
            ctx.emit(tc, cs, "ec2", nm, region)
        ns = role_session(r, node_role, t + 60, iid, private_ip(r), C.KUBELET_ECR_UA, vpce=a.vpce.get(region))
        ctx.emit(t + 70, ns, "ecr", "GetAuthorizationToken", region, params={"registryIds": [a.id]})
        for rp in r.sample(a.repos, min(3, len(a.repos))):
            ctx.emit(t + 75 + r.uniform(0, 30), ns, "ecr", "BatchGetImage", region,
                     params={"repositoryName": rp, "registryId": a.id, "imageIds": [{"imageTag": "v%d" % r.randint(100, 400)}]})
            ctx.emit(t + 80 + r.uniform(0, 30), ns, "ecr", "GetDownloadUrlForLayer", region,
                     params={"repositoryName": rp, "registryId": a.id, "layerDigest": "sha256:" + r.hexs(64)})
        fleet.append((iid, "KarpenterNodeRole-%s" % env, t + 60, None))
    for (t, iid) in terms:
        s = ksess(t)
        ctx.emit(t, s, "ec2", "TerminateInstances", region, params={"instancesSet": {"items": [{"instanceId": iid}]}},
                 resp={"instancesSet": {"items": [{"instanceId": iid, "currentState": {"code": 32, "name": "shutting-down"}}]}})
    # spread out the launches into labelled bursts (morning scale-up)
    _label_bursts(ctx, launches, "provisioning_spike", "karpenter", a.principals[ctl].arn,
                  "Karpenter scale-out: burst of CreateFleet node launches following traffic", ["CreateFleet", "CreateTags"])
    # external-dns: sync loop every minute
    _poller_external_dns(ctx, r, env)
    # KEDA SQS scaler polling
    _poller_keda(ctx, r, env)
    # LBC hourly resync
    ls = None
    for hh in range(24):
        t = ctx.t0 + hh * HOUR - r.uniform(0, 600)
        ls = irsa_exchange(ctx, r, t, lbc, "system:serviceaccount:kube-system:aws-load-balancer-controller", region, C.LBC_UA)
        ls.ua = C.LBC_UA
        for nm in ("DescribeLoadBalancers", "DescribeTargetGroups", "DescribeListeners", "DescribeRules",
                   "DescribeTags", "DescribeTargetHealth"):
            t += r.uniform(0.2, 1.0)
            ctx.emit(t, ls, "elasticloadbalancing", nm, region)
        for (tl, iid) in launches + terms:
            if ctx.t0 + hh * HOUR <= tl < ctx.t0 + (hh + 1) * HOUR and r.random() < 0.7:
                nm = "RegisterTargets" if (tl, iid) in launches else "DeregisterTargets"
                ctx.emit(tl + r.uniform(90, 200), ls, "elasticloadbalancing", nm, region,
                         params={"targetGroupArn": a.tg_arns[2], "targets": [{"id": private_ip(r), "port": 8080}]})
    # application pods with IRSA
    _irsa_apps(ctx, r, env)
    st = ctx.state.setdefault("karpenter-running", None)


def _label_bursts(ctx, launches, kind, family, principal, desc, names, min_n=5, gap=900):
    """Group launch times into bursts and label the large ones as decoys."""
    cur = []
    groups = []
    for t, _ in launches:
        if cur and t - cur[-1] > gap:
            groups.append(cur)
            cur = []
        cur.append(t)
    if cur:
        groups.append(cur)
    for g in groups:
        if len(g) >= min_n:
            items = [(t, "ec2.amazonaws.com", n, ctx.acct.region, principal, None) for t in g for n in names[:1]]
            ctx.decoy(kind, family, items, desc + " (%d launches)" % len(g), principal=principal,
                      event_names=names)


def _poller_external_dns(ctx, r, env):
    a = ctx.acct
    region = a.region
    role = "external-dns-%s" % env
    sess = None
    interval = 60 if env == "prod" else 180
    zones = a.zones if env == "prod" else a.zones[:1]
    t = ctx.t0 + r.uniform(0, interval)
    next_refresh = t
    while t < ctx.t1:
        if t >= next_refresh:
            sess = irsa_exchange(ctx, r, t, role, "system:serviceaccount:external-dns:external-dns", region, C.EXTDNS_UA)
            sess.ua = C.EXTDNS_UA
            next_refresh = t + 3000 + r.uniform(0, 600)
        err = ("Throttling", "Rate exceeded") if r.random() < 0.003 else None
        ctx.emit(t, sess, "route53", "ListHostedZones", "us-east-1", params=None, err=err)
        if not err:
            for zid, zn in zones:
                ctx.emit(t + r.uniform(0.1, 0.9), sess, "route53", "ListResourceRecordSets", "us-east-1",
                         params={"hostedZoneId": zid})
        t += interval + r.uniform(-1.5, 1.5)


def _poller_keda(ctx, r, env):
    a = ctx.acct
    region = a.region
    role = "keda-operator-%s" % env
    queues = a.queues[:2] if env == "prod" else a.queues[:1]
    ints = [30, 60] if env == "prod" else [60]
    ticks = []
    for qi, q in enumerate(queues):
        t = ctx.t0 + r.uniform(0, ints[qi])
        url = "https://sqs.%s.amazonaws.com/%s/%s" % (region, a.id, q)
        while t < ctx.t1:
            ticks.append((t, url))
            t += ints[qi] + r.uniform(-0.5, 0.5)
    ticks.sort()
    sess = None
    next_refresh = ctx.t0
    for t, url in ticks:
        if sess is None or t >= next_refresh:
            sess = irsa_exchange(ctx, r, t - 0.5, role, "system:serviceaccount:keda:keda-operator", region, C.KEDA_UA)
            sess.ua = C.KEDA_UA
            next_refresh = t + 3300 + r.uniform(0, 300)
        ctx.emit(t, sess, "sqs", "GetQueueAttributes", region,
                 params={"queueUrl": url, "attributeNames": ["ApproximateNumberOfMessages",
                                                             "ApproximateNumberOfMessagesNotVisible"]})


def _irsa_apps(ctx, r, env):
    a = ctx.acct
    region = a.region
    apps = [("payments-worker-%s" % env, "system:serviceaccount:payments:payments-worker", 4.0),
            ("ledger-sync-%s" % env, "system:serviceaccount:ledger:ledger-sync", 2.0)]
    if env == "staging":
        apps = [(n, sa, k * 0.5) for n, sa, k in apps]
    ua = C.JAVA_SDK_UA.replace("AWS_ECS_FARGATE", "AWS_EKS")
    for rolename, sa, k in apps:
        pods = max(1, int(round(k * max(0.25, ctx.scale) ** 0.5)))
        for p in range(pods):
            t = ctx.t0 + r.uniform(0, 3600)
            while t < ctx.t1:
                s = irsa_exchange(ctx, r, t, rolename, sa, region, ua)
                s.ua = ua
                end = min(ctx.t1, t + 3600 + r.uniform(-300, 300))
                # secrets cache refresh every ~15 minutes
                tt = t + r.uniform(1, 10)
                while tt < end:
                    ctx.emit(tt, s, "secretsmanager", "GetSecretValue", region,
                             params={"secretId": a.secrets[(p + len(rolename)) % len(a.secrets)]})
                    tt += 900 + r.uniform(-60, 60)
                # envelope encryption: KMS calls follow traffic
                for tk in ctx.arrivals(r, lambda x: 30.0 * ctx.traffic(x) * ctx.scale / pods * k, t, end):
                    nm = "Decrypt" if r.random() < 0.7 else "GenerateDataKey"
                    ctx.emit(tk, s, "kms", nm, region,
                             params={"encryptionAlgorithm": "SYMMETRIC_DEFAULT"} if nm == "Decrypt" else
                             {"keyId": "alias/app-data", "keySpec": "AES_256"})
                t = end


# ---------------------------------------------------------------- EC2 Auto Scaling web tier

def act_asg(ctx):
    a = ctx.acct
    if a.profile not in ("prod", "staging"):
        return
    r = ctx.rng("asg")
    slr = ctx.slr_session("AWSServiceRoleForAutoScaling", "AutoScaling")
    slr_arn = a.slr("AWSServiceRoleForAutoScaling").arn
    fleet = ctx.state.setdefault("fleet_instances", [])
    regions = a.homes if a.profile == "prod" else [a.region]
    for ri, region in enumerate(regions):
        base = (4 if ri == 0 else 2) * max(0.25, ctx.scale) ** 0.7 * a.size
        amp = (8 if ri == 0 else 3) * max(0.25, ctx.scale) ** 0.7 * a.size
        boost = ctx.plan.fleet_boost(ctx.day, "asg") if ri == 0 else None

        def target(t, base=base, amp=amp, boost=boost):
            return max(2, base + amp * (ctx.traffic(t) - 0.35) + (boost(t) if boost else 0))

        launches, terms = _fleet_step(ctx, r, "asg-%s" % region, target, step=900)
        itype = r.choice(C.INSTANCE_TYPES_WEB)
        ice = []
        for (t, iid) in launches:
            az = r.choice(C.AZ[region])
            if r.random() < 0.035:
                msg = ("We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). "
                       "Our system will be working on provisioning additional capacity. You can currently get %s "
                       "capacity by not specifying an Availability Zone in your request or choosing %s, %s.") % (
                    itype, az, itype, C.AZ[region][0], C.AZ[region][2])
                ctx.emit(t - 5, slr, "ec2", "RunInstances", region,
                         params={"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                                 "launchTemplate": {"launchTemplateId": a.launch_templates[1], "version": "7"},
                                 "availabilityZone": az},
                         err=("Server.InsufficientInstanceCapacity", msg))
                ice.append(t - 5)
            ctx.emit(t, slr, "ec2", "RunInstances", region,
                     params={"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                             "launchTemplate": {"launchTemplateId": a.launch_templates[1], "version": "7"},
                             "subnetId": r.choice(a.subnets), "clientToken": r.uuid()},
                     resp={"instancesSet": {"items": [{"instanceId": iid, "instanceType": itype,
                                                       "currentState": {"code": 0, "name": "pending"}}]},
                           "requesterId": "940372691376", "ownerId": a.id})
            for nm in ("CreateGrant", "GenerateDataKeyWithoutPlaintext", "Decrypt"):
                ctx.emit(t + r.uniform(1, 4), slr, "kms", nm, region, ip="ec2.amazonaws.com",
                         ua="ec2.amazonaws.com", params={"keyId": "arn:aws:kms:%s:%s:key/%s" % (region, a.id, a.keys[3]["id"])})
            ctx.emit(t + r.uniform(120, 240), slr, "elasticloadbalancing", "RegisterTargets", region,
                     params={"targetGroupArn": a.tg_arns[1], "targets": [{"id": iid}]})
            # instance profile credentials via EC2 (AssumeRole by the EC2 service)
            fleet.append((iid, "web-asg-instance-role", t + 60, None))
        for (t, iid) in terms:
            ctx.emit(t, slr, "elasticloadbalancing", "DeregisterTargets", region,
                     params={"targetGroupArn": a.tg_arns[1], "targets": [{"id": iid}]})
            ctx.emit(t + r.uniform(200, 320), slr, "ec2", "TerminateInstances", region,
                     params={"instancesSet": {"items": [{"instanceId": iid}]}},
                     resp={"instancesSet": {"items": [{"instanceId": iid, "currentState": {"code": 32, "name": "shutting-down"}}]}})
        if region == a.region:
            _label_bursts(ctx, launches, "provisioning_spike", "autoscaling", slr_arn,
                          "EC2 Auto Scaling scale-out of the web tier", ["RunInstances", "CreateGrant", "RegisterTargets"],
                          min_n=4, gap=1800)
        if len(ice) >= 2:
            items = [(t, "ec2.amazonaws.com", "RunInstances", region, slr_arn, "Server.InsufficientInstanceCapacity") for t in ice]
            ctx.decoy("error_rate", "autoscaling", items,
                      "Routine InsufficientInstanceCapacity errors during Auto Scaling launches (retried in other AZs)",
                      principal=slr_arn, region=region)


def act_instance_profiles(ctx):
    """EC2 refreshes instance-profile credentials: AssumeRole by ec2.amazonaws.com."""
    a = ctx.acct
    r = ctx.rng("instprof")
    svc = ctx.aws_service("ec2.amazonaws.com")
    n_fixed = max(1, int(round(len(a.fixed_instances) * min(1.0, max(0.2, ctx.scale)))))
    fixed = [(iid, "EC2-SSM-Managed-Role", ctx.t0, None) for iid in a.fixed_instances[:n_fixed]]
    ctx.state["managed_fixed"] = fixed
    for iid, rolename, t0, _ in fixed + [x for x in ctx.state.get("fleet_instances", []) if x[2] >= ctx.t0]:
        role = a.principals[rolename]
        t = max(t0, ctx.t0) + r.uniform(0, 3600)
        while t < ctx.t1:
            ctx.emit(t, svc, "sts", "AssumeRole", a.region,
                     params={"roleArn": role.arn, "roleSessionName": iid},
                     resp={"credentials": {"accessKeyId": "ASIA" + r.upper(16), "expiration": iso(t + 6 * 3600)},
                           "assumedRoleUser": {"assumedRoleId": "%s:%s" % (role.pid, iid),
                                               "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (a.id, role.name, iid)}})
            t += 3600 * r.uniform(0.95, 1.1)


# ---------------------------------------------------------------- SSM agents & maintenance windows

def act_ssm(ctx):
    a = ctx.acct
    r = ctx.rng("ssm")
    region = a.region
    fleet = ctx.state.get("fleet_instances", [])
    # keep only instances alive today (drop very old dynamic ones to bound memory)
    alive = [x for x in fleet if x[2] >= ctx.t0 - 2 * DAY]
    ctx.state["fleet_instances"] = alive
    managed = list(ctx.state.get("managed_fixed", []))
    dyn = [x for x in alive if x[2] < ctx.t1]
    # cap dynamic instances reporting (short-lived nodes)
    managed += dyn[-int(12 * a.size * max(0.3, ctx.scale) + 4):]
    sup = ctx.plan
    for iid, rolename, t0, _ in managed:
        role = a.principals[rolename]
        s = role_session(r, role, max(t0, ctx.t0), iid, private_ip(r), C.SSM_AGENT_UA, vpce=a.vpce.get(region))
        t = max(t0, ctx.t0) + r.uniform(0, 300)
        k = 0
        while t < ctx.t1:
            ctx.emit(t, s, "ssm", "UpdateInstanceInformation", region,
                     params={"instanceId": iid, "agentVersion": "3.3.987.0", "agentStatus": "Active",
                             "platformType": "Linux", "platformName": "Amazon Linux", "platformVersion": "2023"})
            if k % 6 == 0:
                ctx.emit(t + r.uniform(1, 5), s, "ssm", "ListInstanceAssociations", region, params={"instanceId": iid})
            if k % 12 == 3:
                ctx.emit(t + r.uniform(1, 9), s, "ssm", "PutInventory", region,
                         params={"instanceId": iid, "items": [{"typeName": "AWS:InstanceInformation", "schemaVersion": "1.0"}]})
                ctx.emit(t + r.uniform(10, 20), s, "ssm", "UpdateInstanceAssociationStatus", region,
                         params={"associationId": "a1b2c3d4-inventory", "instanceId": iid,
                                 "executionResult": {"status": "Success"}})
            t += 300 + r.uniform(-8, 8)
            k += 1
    # weekly patch maintenance window (Sunday 04:00 UTC)
    if ctx.wd == 6 and a.profile in ("prod", "staging", "data") and not ctx.plan.skip("ssm-patching", ctx.day):
        mw = a.principals["ssm-maintenance-window-role"]
        t = job_start(ctx.seed, a.id, "ssm-patching", ctx.day, 4.0, 3.0)
        s = role_session(r, mw, t, "MaintenanceWindowTask", "ssm.amazonaws.com", "ssm.amazonaws.com",
                         invoked_by="ssm.amazonaws.com")
        cap = ctx.sink.capture()
        ids = [m[0] for m in managed]
        batch = max(1, len(ids) // 5)
        for i in range(0, len(ids), batch):
            ctx.emit(t, s, "ssm", "SendCommand", region,
                     params={"documentName": "AWS-RunPatchBaseline", "instanceIds": ids[i:i + batch],
                             "parameters": {"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]},
                             "maxConcurrency": "20%", "maxErrors": "10%"},
                     resp={"command": {"commandId": r.uuid(), "documentName": "AWS-RunPatchBaseline",
                                       "status": "Pending"}})
            for _ in range(r.randint(3, 8)):
                ctx.emit(t + r.uniform(10, 600), s, "ssm", "ListCommandInvocations", region)
            t += r.uniform(300, 900)
        ctx.sink.release(cap)
        ctx.decoy("call_rate_spike", "ssm-patching", cap.items,
                  "Weekly SSM maintenance window: SendCommand AWS-RunPatchBaseline fan-out", principal=mw.arn)
        for iid, rolename, t0, _ in managed:
            role = a.principals[rolename]
            s2 = role_session(r, role, t, iid, private_ip(r), C.SSM_AGENT_UA, vpce=a.vpce.get(region))
            ctx.emit(t + r.uniform(300, 2400), s2, "ssm", "PutComplianceItems", region,
                     params={"resourceId": iid, "resourceType": "ManagedInstance", "complianceType": "Patch"})


# ---------------------------------------------------------------- ECS services

def act_ecs(ctx):
    a = ctx.acct
    if a.profile not in ("prod", "staging"):
        return
    r = ctx.rng("ecs")
    region = a.region
    ecs_slr = ctx.slr_session("AWSServiceRoleForECS", "ecs-service-scheduler")
    aas = ctx.slr_session("AWSServiceRoleForApplicationAutoScaling_ECSService", "ApplicationAutoScaling")
    tasks_svc = ctx.aws_service("ecs-tasks.amazonaws.com")
    troles = (a.principals["orders-api-task-role"], a.principals["orders-api-task-execution-role"])
    k = max(0.3, ctx.scale) ** 0.6 * a.size
    desired_prev = None
    t = ctx.t0
    running = ctx.state.setdefault("ecs-tasks", [])
    while t < ctx.t1:
        desired = max(2, int(round((2 + 6 * ctx.traffic(t)) * k)))
        if desired_prev is not None and desired != desired_prev:
            ctx.emit(t, aas, "ecs", "UpdateService", region,
                     params={"cluster": a.ecs_cluster, "service": "orders-api", "desiredCount": desired})
            ctx.emit(t + 1, aas, "monitoring", "DescribeAlarms", region,
                     params={"alarmNames": ["TargetTracking-service/%s/orders-api-AlarmHigh-%s" % (a.ecs_cluster, r.uuid())]})
            for _ in range(max(0, desired - len(running))):
                running.append(_ecs_task_start(ctx, r, t + r.uniform(20, 90), ecs_slr, tasks_svc, troles))
            while len(running) > desired:
                tid = running.pop(0)
                ts = t + r.uniform(10, 60)
                ctx.emit(ts, ecs_slr, "elasticloadbalancing", "DeregisterTargets", region,
                         params={"targetGroupArn": a.tg_arns[0], "targets": [{"id": private_ip(r), "port": 8080}]})
                ctx.emit(ts + r.uniform(30, 120), ecs_slr, "ec2", "DeleteNetworkInterface", region,
                         params={"networkInterfaceId": "eni-0%s" % r.hexs(16)})
        if desired_prev is None:
            while len(running) < desired:
                running.append(r.hexs(32))
        desired_prev = desired
        t += 1800 + r.uniform(-300, 300)
    # runtime calls of running tasks (task role via VPC endpoints)
    n = max(1, len(running))
    for i, tid in enumerate(running):
        s = ctx.workload_session(r, "orders-api-task-role", tid, ctx.t0, C.JAVA_SDK_UA)
        tt = ctx.t0 + r.uniform(0, 1800)
        while tt < ctx.t1:
            ctx.emit(tt, tasks_svc, "sts", "AssumeRole", region,
                     params={"roleArn": troles[0].arn, "roleSessionName": tid})
            ctx.emit(tt + 2, s, "secretsmanager", "GetSecretValue", region, params={"secretId": a.secrets[0]})
            tt += 3600 + r.uniform(-120, 120)
        for tk in ctx.arrivals(r, lambda x: 120.0 * ctx.traffic(x) * ctx.scale * a.size / n):
            nm = "GenerateDataKey" if r.random() < 0.55 else "Decrypt"
            ctx.emit(tk, s, "kms", nm, region,
                     params={"keyId": "alias/app-data", "keySpec": "AES_256"} if nm == "GenerateDataKey" else
                     {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"})


def _ecs_task_start(ctx, r, t, ecs_slr, tasks_svc, troles):
    a = ctx.acct
    region = a.region
    tid = r.hexs(32)
    ctx.emit(t, ecs_slr, "ec2", "CreateNetworkInterface", region,
             params={"subnetId": r.choice(a.subnets), "description": "arn:aws:ecs:%s:%s:attachment/%s" % (region, a.id, r.uuid())})
    ctx.emit(t + 15, tasks_svc, "sts", "AssumeRole", region, params={"roleArn": troles[1].arn, "roleSessionName": tid})
    es = ctx.workload_session(r, "orders-api-task-execution-role", tid, t, "ecs-agent/1.86.3 (*)", via_vpce=True)
    ctx.emit(t + 16, es, "ecr", "GetAuthorizationToken", region)
    ctx.emit(t + 17, es, "ecr", "BatchGetImage", region, params={"repositoryName": "orders-api", "registryId": a.id})
    ctx.emit(t + 19, es, "ecr", "GetDownloadUrlForLayer", region, params={"repositoryName": "orders-api", "registryId": a.id, "layerDigest": "sha256:" + r.hexs(64)})
    ctx.emit(t + 25, es, "logs", "CreateLogStream", region, params={"logGroupName": "/ecs/orders-api", "logStreamName": "orders-api/app/%s" % tid})
    ctx.emit(t + 26, tasks_svc, "sts", "AssumeRole", region, params={"roleArn": troles[0].arn, "roleSessionName": tid})
    s = ctx.workload_session(r, "orders-api-task-role", tid, t, C.JAVA_SDK_UA)
    ctx.emit(t + 30, s, "ssm", "GetParametersByPath", region, params={"path": "/%s/app" % a.profile, "recursive": True, "withDecryption": True})
    ctx.emit(t + 31, s, "sqs", "GetQueueUrl", region, params={"queueName": a.queues[0]})
    ctx.emit(t + 60, ecs_slr, "elasticloadbalancing", "RegisterTargets", region,
             params={"targetGroupArn": a.tg_arns[0], "targets": [{"id": private_ip(r), "port": 8080}]})
    return tid


# ---------------------------------------------------------------- Lambda functions

LAMBDA_PROFILE = {
    # name: (cold starts per hour at traffic 1, runtime calls on init, per-invocation management calls per hour)
    "orders-webhook": (6, ["GetSecretValue", "GetParameter"], []),
    "image-resizer": (8, ["GetParameter"], [("s3data", 60)]),
    "invoice-pdf": (3, ["GetSecretValue", "GetQueueUrl"], [("s3data", 8)]),
    "email-sender": (4, ["GetQueueUrl"], [("GetSecretValue", 40)]),
    "cart-expiry": (0, [], []),
    "search-indexer": (4, ["GetSecretValue", "DescribeTable"], [("GenerateDataKey", 20)]),
    "fraud-score": (5, ["GetSecretValue", "GetParameter"], [("Decrypt", 60)]),
    "audit-forwarder": (3, ["GetParameter"], [("GenerateDataKey", 50)]),
    "inventory-sync": (0, [], []),
    "report-builder": (0, [], []),
}
SCHEDULED_FN = {"cart-expiry": 300, "inventory-sync": 900, "guardduty-to-slack": 0, "securityhub-enricher": 600,
                "access-key-rotation-check": 86400, "config-compliance-report": 86400, "partition-repair": 3600,
                "quality-checks": 3600, "export-notifier": 86400, "hello-world": 0, "s3-ingest-trigger": 0,
                "experiment-api": 0}


def act_lambdas(ctx):
    a = ctx.acct
    r = ctx.rng("lambda")
    region = a.region
    lam = ctx.aws_service("lambda.amazonaws.com")
    py_ua = "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.224-233.903.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.145"
    for fname, role in a.functions:
        prof = LAMBDA_PROFILE.get(fname, (1.0, ["GetParameter"], []))
        k = a.size if a.profile != "prod" else 1.0
        ua = py_ua if len(fname) % 2 else C.NODE_SDK_UA % ("ssm")
        ip_pool = [aws_ip(r, region) for _ in range(4)]

        def sess_at(t):
            return role_session(r, role, t, fname, r.choice(ip_pool), ua)

        def cold(t):
            ctx.emit(t, lam, "sts", "AssumeRole", region,
                     params={"roleArn": role.arn, "roleSessionName": fname},
                     resp={"credentials": {"accessKeyId": "ASIA" + r.upper(16), "expiration": iso(t + 43200)},
                           "assumedRoleUser": {"assumedRoleId": "%s:%s" % (role.pid, fname),
                                               "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (a.id, role.name, fname)}})
            s = sess_at(t)
            ks = role_session(r, role, t, fname, "lambda.amazonaws.com", "lambda.amazonaws.com",
                              invoked_by="lambda.amazonaws.com")
            ctx.emit(t + 0.3, ks, "kms", "Decrypt", region,
                     params={"encryptionContext": {"LambdaFunctionName": fname}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"})
            tt = t + 0.8
            for nm in prof[1]:
                tt += r.uniform(0.05, 0.4)
                _app_call(ctx, r, tt, s, nm, region)
            return s

        if prof[0] > 0:
            rate = lambda x, p=prof[0]: p * ctx.traffic(x) * ctx.scale * k
            colds = ctx.arrivals(r, rate)
            envs = [(ctx.t0 - 1800, sess_at(ctx.t0 - 1800))]
            for t in colds:
                envs.append((t, cold(t)))
            for (nm, per_h) in prof[2]:
                ei = 0
                for tk in ctx.arrivals(r, lambda x, p=per_h: p * ctx.traffic(x) * ctx.scale * k):
                    while ei + 1 < len(envs) and envs[ei + 1][0] + 1 < tk:
                        ei += 1
                    s = envs[ei][1]
                    if nm == "s3data":
                        _s3_data(ctx, r, tk, s, region, write=r.random() < 0.5)
                    else:
                        _app_call(ctx, r, tk, s, nm, region)
        period = SCHEDULED_FN.get(fname)
        if period:
            t = ctx.t0 + (len(fname) * 37) % max(60, period)
            s = None
            while t < ctx.t1:
                tt = t + r.uniform(0, 2)
                if s is None or r.random() < 0.08:
                    s = cold(tt)
                _app_call(ctx, r, tt + 0.5, s, "GetParameter", region)
                if fname in ("inventory-sync", "securityhub-enricher"):
                    _app_call(ctx, r, tt + 0.9, s, "GetSecretValue", region)
                if fname == "partition-repair":
                    ctx.emit(tt + 1, s, "athena", "StartQueryExecution", region,
                             params={"queryString": "MSCK REPAIR TABLE raw_events", "workGroup": "primary"})
                    ctx.emit(tt + 4, s, "athena", "GetQueryExecution", region)
                t += period


def _app_call(ctx, r, t, s, nm, region):
    a = ctx.acct
    if nm == "GetSecretValue":
        ctx.emit(t, s, "secretsmanager", nm, region, params={"secretId": r.choice(a.secrets)})
    elif nm == "GetParameter":
        ctx.emit(t, s, "ssm", nm, region, params={"name": r.choice(a.ssm_params), "withDecryption": True})
    elif nm == "GetQueueUrl":
        ctx.emit(t, s, "sqs", nm, region, params={"queueName": r.choice(a.queues)})
    elif nm == "DescribeTable":
        ctx.emit(t, s, "dynamodb", nm, region, params={"tableName": r.choice(a.tables)})
    elif nm in ("GenerateDataKey", "Decrypt"):
        ctx.emit(t, s, "kms", nm, region, params={"keyId": "alias/app-data", "keySpec": "AES_256"} if nm == "GenerateDataKey"
                 else {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"})


def _s3_data(ctx, r, t, s, region, write=False, bucket=None, key=None):
    """An S3 object-level data event (trail logs data events for a couple of buckets)."""
    a = ctx.acct
    b = bucket or a.buckets[1]["name"]
    key = key or "%s/%s/%s.%s" % (r.choice(["uploads", "thumbs", "invoices"]), r.hexs(2), r.hexs(12), r.choice(["jpg", "png", "pdf"]))
    nm = "PutObject" if write else "GetObject"
    ctx.emit(t, s, "s3", nm, region, data=True, ro=not write,
             params={"bucketName": b, "Host": "%s.s3.%s.amazonaws.com" % (b, region), "key": key},
             resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::%s/%s" % (b, key)},
                        {"accountId": a.id, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::%s" % b}],
             addl={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                   "bytesTransferredIn": r.randint(20000, 900000) if write else 0,
                   "bytesTransferredOut": 0 if write else r.randint(20000, 900000),
                   "AuthenticationMethod": "AuthHeader", "x-amz-id-2": r.alnum(56)})
