"""The simulated organisation: people, accounts, principals and resources."""
from . import catalog as C
from .core import Principal, Rng, derive_seed, DAY

FIRST = ["alex", "maria", "sam", "priya", "jordan", "li", "fatima", "diego", "emma", "noah", "aisha", "lucas",
         "chloe", "raj", "sofia", "ethan", "mei", "omar", "hannah", "tom", "grace", "arjun", "nina", "ben",
         "zoe", "kenji", "laura", "marco", "ines", "daniel", "sara", "ahmed", "julia", "victor", "anna",
         "pedro", "yuki", "claire", "ravi", "olga", "felix", "leah", "aidan", "sinead", "conor", "niamh",
         "kavya", "rohan", "ana", "jonas"]
LAST = ["smith", "garcia", "patel", "kim", "nguyen", "oconnor", "murphy", "schmidt", "rossi", "chen", "khan",
        "silva", "walsh", "kelly", "brown", "lee", "sharma", "iyer", "muller", "fischer", "lopez", "costa",
        "byrne", "ryan", "tanaka", "wilson", "moore", "reddy", "novak", "berg"]

CITIES = {
    "nyc": ("America/New_York", "us"), "sf": ("America/Los_Angeles", "us"), "chicago": ("America/Chicago", "us"),
    "dublin": ("Europe/Dublin", "ie"), "berlin": ("Europe/Berlin", "ie"), "bangalore": ("Asia/Kolkata", "in"),
}

ORG_NAME = "acme"


def rand_ip(rng, prefixes):
    p = rng.choice(prefixes)
    parts = [x for x in p.split(".") if x]
    while len(parts) < 4:
        parts.append(str(rng.randint(1 if len(parts) == 3 else 0, 254)))
    return ".".join(parts)


def aws_ip(rng, region):
    pref = C.AWS_IP_PREFIX.get(region) or C.AWS_IP_PREFIX["us-east-1"]
    return rand_ip(rng, pref)


def private_ip(rng, base="10.20"):
    return "%s.%d.%d" % (base, rng.randint(0, 63), rng.randint(4, 250))


class Person:
    def __init__(self, rng, idx, persona, city):
        self.idx = idx
        first = FIRST[idx % len(FIRST)]
        last = LAST[(idx * 7 + 3) % len(LAST)]
        self.name = "%s.%s" % (first, last)
        self.email = "%s@%s.io" % (self.name, ORG_NAME)
        self.persona = persona
        self.city = city
        self.tz, self.cal = CITIES[city]
        isp = C.ISP_PREFIX[city]
        self.home_ip = rand_ip(rng, isp)
        self.alt_home_ip = rand_ip(rng, isp)    # lease change / second home line
        self.office = city in ("nyc", "dublin") and rng.random() < 0.6
        self.browser = rng.choice(C.BROWSERS)
        self.cli_ver = rng.choice(C.CLI_VERSIONS)
        self.cli_plat = rng.choice(C.CLI_PLATFORMS)
        self.activity = rng.lognorm(0.45)
        self.cli_pref = {"platform": 0.65, "dev": 0.35, "data": 0.3, "security": 0.45, "finance": 0.0}[persona]
        self.start_hour = rng.uniform(7.5, 10.0)
        self.end_hour = self.start_hour + rng.uniform(7.5, 9.5)
        self.weekend_worker = rng.random() < 0.15
        self.oncall = persona == "platform" or (persona == "dev" and rng.random() < 0.3)
        self.first_day = None    # for new hires (day number)
        self.trip = None         # (start_day, end_day, city)

    def cli_ua(self, command):
        os_part = {"Darwin/23.6.0": "macos#23.6.0", "Darwin/24.0.0": "macos#24.0.0"}
        plat = self.cli_plat.split(" ")
        osn = plat[1]
        osmd = os_part.get(osn, osn.lower().replace("/", "#").split("-")[0])
        arch = "arm64" if "arm64" in self.cli_plat else "x86_64"
        return ("aws-cli/%s md/awscrt#0.21.2 ua/2.0 os/%s md/arch#%s lang/python#%s md/pyimpl#CPython "
                "cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#%s") % (
            self.cli_ver, osmd, arch, plat[0].split("/")[1], command)


OFFICE_IPS = {}


class Org:
    """People and org-level constants shared by all accounts."""

    def __init__(self, seed, n_accounts, scale, start_day, days):
        rng = Rng(derive_seed(seed, "org"))
        self.seed = seed
        self.scale = scale
        self.start_day = start_day
        self.days = days
        self.mgmt_account = "%012d" % rng.randint(10 ** 11, 10 ** 12 - 1)
        self.vendor_monitoring_account = "%012d" % rng.randint(10 ** 11, 10 ** 12 - 1)
        self.vendor_cspm_account = "%012d" % rng.randint(10 ** 11, 10 ** 12 - 1)
        self.partner_account = "%012d" % rng.randint(10 ** 11, 10 ** 12 - 1)
        self.attacker_account = "%012d" % rng.randint(10 ** 11, 10 ** 12 - 1)
        self.gh_org = ORG_NAME + "-eng"
        self.office_ips = {"nyc": [rand_ip(rng, ["38.122.", "64.124.", "208.185."]) for _ in range(2)],
                           "dublin": [rand_ip(rng, ["80.233.", "87.232."])]}
        self.vpn_ip = rand_ip(rng, ["52.", "3."])
        self.monitoring_ips = [aws_ip(rng, "us-east-1") for _ in range(6)]
        self.cspm_ips = [aws_ip(rng, "us-east-2") for _ in range(3)]
        # people; count scales with sqrt(scale) but never below a working team
        base = [("platform", "nyc"), ("platform", "nyc"), ("platform", "sf"), ("platform", "dublin"),
                ("platform", "dublin"), ("platform", "chicago")]
        base += [("security", "nyc"), ("security", "dublin"), ("security", "sf"), ("security", "nyc")]
        base += [("data", "chicago"), ("data", "nyc"), ("data", "bangalore"), ("data", "dublin"), ("data", "sf")]
        base += [("finance", "nyc"), ("finance", "dublin")]
        devcities = ["nyc", "sf", "dublin", "bangalore", "berlin", "nyc", "dublin", "sf", "chicago", "bangalore"]
        base += [("dev", devcities[i % len(devcities)]) for i in range(26)]
        f = min(1.0, scale) ** 0.5
        keep = []
        counts = {}
        for persona, city in base:
            counts[persona] = counts.get(persona, 0) + 1
        seen = {}
        for persona, city in base:
            seen[persona] = seen.get(persona, 0) + 1
            need = max(2 if persona in ("platform", "security", "data") else 1,
                       int(round(counts[persona] * f)) if persona != "dev" else max(4, int(round(counts[persona] * f))))
            if seen[persona] <= need:
                keep.append((persona, city))
        self.people = [Person(rng, i, p, c) for i, (p, c) in enumerate(keep)]
        self.activity_scale = max(0.05, scale / f if f > 0 else scale)
        # a new hire joins in the second week
        nh = Person(rng, len(self.people) + 7, "dev", rng.choice(["nyc", "dublin", "sf"]))
        nh.first_day = start_day + min(days - 1, max(4, int(days * 0.3)))
        nh.activity *= 0.6
        self.new_hire = nh
        self.people.append(nh)
        # one person travels (works from another city / hotel network for a few days)
        cand = [p for p in self.people if p.persona in ("platform", "dev", "security") and p.first_day is None]
        if cand and days >= 6:
            tr = rng.choice(cand)
            d0 = start_day + rng.randint(3, max(3, days - 4))
            tr.trip = (d0, d0 + rng.randint(2, 4), rng.choice(["lisbon", "tokyo", "toronto"]))
        self.tf_version = "1.9.5"
        self.tf_provider = "5.68.0"


# ---------------------------------------------------------------- accounts

PROFILES = ["prod", "staging", "security", "data", "sandbox"]

PROFILE_CFG = {
    "prod": dict(size=1.0, homes=["us-east-1", "eu-west-1"], home_w=[0.72, 0.28], name="prod"),
    "staging": dict(size=0.38, homes=["us-east-1"], home_w=[1.0], name="staging"),
    "security": dict(size=0.25, homes=["us-east-1"], home_w=[1.0], name="security"),
    "data": dict(size=0.5, homes=["us-east-1"], home_w=[1.0], name="data"),
    "sandbox": dict(size=0.15, homes=["us-west-2"], home_w=[1.0], name="sandbox"),
}

SLR = {  # role name -> (service principal)
    "AWSServiceRoleForConfig": "config.amazonaws.com",
    "AWSServiceRoleForSecurityHub": "securityhub.amazonaws.com",
    "AWSServiceRoleForAmazonGuardDuty": "guardduty.amazonaws.com",
    "AWSServiceRoleForAccessAnalyzer": "access-analyzer.amazonaws.com",
    "AWSServiceRoleForTrustedAdvisor": "trustedadvisor.amazonaws.com",
    "AWSServiceRoleForAmazonInspector2": "inspector2.amazonaws.com",
    "AWSServiceRoleForAutoScaling": "autoscaling.amazonaws.com",
    "AWSServiceRoleForAmazonEKS": "eks.amazonaws.com",
    "AWSServiceRoleForAmazonEKSNodegroup": "eks-nodegroup.amazonaws.com",
    "AWSServiceRoleForECS": "ecs.amazonaws.com",
    "AWSServiceRoleForApplicationAutoScaling_ECSService": "ecs.application-autoscaling.amazonaws.com",
    "AWSServiceRoleForAmazonSSM": "ssm.amazonaws.com",
    "AWSServiceRoleForElasticLoadBalancing": "elasticloadbalancing.amazonaws.com",
    "AWSServiceRoleForRDS": "rds.amazonaws.com",
    "AWSServiceRoleForSSO": "sso.amazonaws.com",
    "AWSServiceRoleForCloudFormationStackSetsOrgMember": "member.org.stacksets.cloudformation.amazonaws.com",
    "AWSServiceRoleForOrganizations": "organizations.amazonaws.com",
    "AWSServiceRoleForSupport": "support.amazonaws.com",
    "AWSServiceRoleForResourceExplorer": "resource-explorer-2.amazonaws.com",
}


class Account:
    def __init__(self, org, idx, seed):
        self.org = org
        self.idx = idx
        self.profile = PROFILES[idx % len(PROFILES)] if idx < len(PROFILES) else PROFILES[3 + (idx % 2)]
        if idx == 0:
            self.profile = "prod"
        cfg = PROFILE_CFG[self.profile]
        self.size = cfg["size"]
        rng = Rng(derive_seed(seed, "account", idx))
        self.rng = rng
        self.id = "%012d" % rng.randint(10 ** 11, 10 ** 12 - 1)
        self.alias = "%s-%s%s" % (ORG_NAME, cfg["name"], "" if idx < len(PROFILES) else str(idx))
        self.homes = list(cfg["homes"])
        self.home_w = list(cfg["home_w"])
        self.region = self.homes[0]
        self.regions = list(C.ENABLED_REGIONS)
        self.unused = [r for r in self.regions if r not in self.homes]
        self.principals = {}
        self.sso = {}
        self.nat_ips = {r: [aws_ip(rng, r) for _ in range(3)] for r in self.homes}
        self.vpce = {r: "vpce-0%s" % rng.hexs(16) for r in self.homes}
        self.eks_oidc = "oidc.eks.%s.amazonaws.com/id/%s" % (self.region, rng.hexs(32).upper())
        self._build_principals(rng)
        self._build_resources(rng)

    # ------------------------------------------------------------ principals
    def role(self, name, path="/"):
        p = self.principals.get(name)
        if p is None:
            p = Principal(self.id, "role", name, path, pid="AROA" + self.rng.upper(17))
            self.principals[name] = p
        return p

    def user(self, name, path="/"):
        key = "user:" + name
        p = self.principals.get(key)
        if p is None:
            p = Principal(self.id, "user", name, path, pid="AIDA" + self.rng.upper(17))
            p.access_keys = ["AKIA" + self.rng.upper(16)]
            self.principals[key] = p
        return p

    def service(self, svc):
        key = "svc:" + svc
        p = self.principals.get(key)
        if p is None:
            p = Principal(self.id, "service", svc, service=svc)
            self.principals[key] = p
        return p

    def slr(self, name):
        svc = SLR[name]
        return self.role(name, "/aws-service-role/%s/" % svc)

    def sso_role(self, permset):
        r = self.sso.get(permset)
        if r is None:
            r = self.role("AWSReservedSSO_%s_%s" % (permset, self.rng.hexs(16)), "/aws-reserved/sso.amazonaws.com/")
            self.sso[permset] = r
        return r

    def _build_principals(self, rng):
        for name in SLR:
            self.slr(name)
        self.root = Principal(self.id, "root", "root")
        p = self.profile
        a = self.id
        self.role("AWSBackupDefaultServiceRole", "/service-role/")
        self.role("OrganizationAccountAccessRole")
        self.role("AWSControlTowerExecution")
        self.role("stacksets-exec-%s" % rng.hexs(32))
        self.role("DatadogIntegrationRole")
        self.role("CSPMScannerRole")
        self.role("SecurityAuditRole")
        self.role("IncidentResponseRole")
        self.role("github-actions-terraform-plan")
        self.role("github-actions-terraform-apply")
        self.role("ssm-maintenance-window-role")
        self.role("EC2-SSM-Managed-Role")
        self.role("prowler-scan-role")
        self.role("cdk-hnb659fds-cfn-exec-role-%s-%s" % (a, self.region))
        self.role("cdk-hnb659fds-deploy-role-%s-%s" % (a, self.region))
        if p in ("prod", "staging", "data", "sandbox"):
            self.role("github-actions-deploy")
        if p in ("prod", "staging"):
            env = p
            for n in ("KarpenterControllerRole-%s" % env, "KarpenterNodeRole-%s" % env, "AmazonEKS_CNI_Role-%s" % env,
                      "external-dns-%s" % env, "keda-operator-%s" % env, "aws-load-balancer-controller-%s" % env,
                      "ebs-csi-driver-%s" % env, "payments-worker-%s" % env, "ledger-sync-%s" % env,
                      "web-asg-instance-role", "orders-api-task-role", "orders-api-task-execution-role",
                      "eks-cluster-role-%s" % env, "nightly-export-job", "db-snapshot-cron", "secrets-rotation-lambda",
                      "ops-automation-lambda", "month-end-batch-orchestrator"):
                self.role(n)
            self.role("Amazon_EventBridge_Scheduler_ECS_%s" % rng.hexs(10), "/service-role/")
            self.scheduler_role = [k for k in self.principals if k.startswith("Amazon_EventBridge_Scheduler_ECS_")][0]
            if p == "prod":
                self.role("cost-report-lambda-role", "/service-role/")
                self.role("invoice-batch-automation")
            else:
                self.role("instance-scheduler-lambda", "/service-role/")
        if p == "security":
            for n in ("soar-remediation-lambda", "guardduty-findings-export", "athena-security-queries",
                      "siem-forwarder-lambda", "config-aggregator-role"):
                self.role(n)
        if p == "data":
            for n in ("EMR_DefaultRole", "EMR_EC2_DefaultRole", "glue-etl-role", "airflow-worker-role",
                      "month-end-batch-orchestrator", "nightly-export-job", "ops-automation-lambda"):
                self.role(n)
            self.role("Amazon_EventBridge_Scheduler_ECS_%s" % rng.hexs(10), "/service-role/")
            self.scheduler_role = [k for k in self.principals if k.startswith("Amazon_EventBridge_Scheduler_ECS_")][0]
            self.role("AWSServiceRoleForEMRCleanup", "/aws-service-role/elasticmapreduce.amazonaws.com/")
        # legacy IAM users (with long-term access keys) - realistic and the usual leak vector
        legacy = {"prod": ["svc-reporting", "jenkins-deployer", "partner-sftp-sync"],
                  "staging": ["qa-automation", "dev-sandbox-user"],
                  "security": ["siem-ingest"],
                  "data": ["airflow-legacy", "tableau-connector"],
                  "sandbox": ["sandbox-admin"]}[p]
        self.legacy_users = [self.user(n) for n in legacy]
        self.breakglass = self.user("breakglass-admin")
        # lambdas
        fnames = {"prod": ["orders-webhook", "image-resizer", "invoice-pdf", "email-sender", "cart-expiry",
                           "search-indexer", "fraud-score", "audit-forwarder", "inventory-sync", "report-builder"],
                  "staging": ["orders-webhook", "image-resizer", "invoice-pdf", "email-sender", "search-indexer"],
                  "security": ["guardduty-to-slack", "securityhub-enricher", "access-key-rotation-check",
                               "config-compliance-report"],
                  "data": ["s3-ingest-trigger", "partition-repair", "quality-checks", "export-notifier"],
                  "sandbox": ["hello-world", "experiment-api"]}[p]
        self.functions = []
        for f in fnames:
            r = self.role("%s-%s-lambda-role" % (f, p), "/service-role/")
            self.functions.append((f, r))

    # ------------------------------------------------------------ resources
    def _build_resources(self, rng):
        p = self.profile
        a = self.id
        nb = {"prod": 16, "staging": 9, "security": 8, "data": 14, "sandbox": 4}[p]
        stems = ["assets", "uploads", "logs", "backups", "static-site", "data-lake-raw", "data-lake-curated",
                 "athena-results", "tf-state", "artifacts", "exports", "invoices", "ml-models", "alb-logs",
                 "cloudtrail-archive", "config-history", "partner-drop", "tmp"]
        self.buckets = []
        for i in range(nb):
            stem = stems[(i + self.idx * 3) % len(stems)]
            name = "%s-%s-%s-%s" % (ORG_NAME, p, stem, a[-6:]) if i % 3 else "%s-%s-%s" % (ORG_NAME, p, stem)
            region = self.homes[0] if (i % 5 or len(self.homes) == 1) else self.homes[-1]
            feats = set()
            for feat, pr in (("policy", 0.45), ("tags", 0.6), ("lifecycle", 0.35), ("replication", 0.08),
                             ("website", 0.05), ("cors", 0.12), ("objectlock", 0.05), ("ownership", 0.8),
                             ("pab", 0.88)):
                if rng.random() < pr:
                    feats.add(feat)
            self.buckets.append({"name": name, "region": region, "feats": feats})
        self.cf_bucket = "cf-templates-%s-%s" % (rng.alnum(12).lower(), self.region)
        self.buckets.append({"name": self.cf_bucket, "region": self.region, "feats": {"ownership", "pab"}})
        self.keys = []
        for alias in ("app-data", "rds", "secrets", "ebs", "s3-%s" % p, "backup-vault", "sqs", "logs"):
            self.keys.append({"id": rng.uuid(), "alias": "alias/%s" % alias,
                              "rotation_day": rng.randint(0, 364)})
        nsec = {"prod": 14, "staging": 8, "security": 5, "data": 7, "sandbox": 2}[p]
        sstems = ["orders-db/master", "billing-db/app", "stripe/api-key", "sendgrid/api-key", "jwt/signing-key",
                  "partner/sftp", "datadog/api-key", "slack/webhook", "github/app-key", "redis/auth",
                  "ledger-db/app", "search/admin", "oauth/client-secret", "pagerduty/token"]
        self.secrets = ["%s/%s" % (p, sstems[i % len(sstems)]) for i in range(nsec)]
        self.rotated_secrets = self.secrets[:3] if p in ("prod", "staging") else []
        self.tables = ["%s-%s" % (p, t) for t in ("sessions", "carts", "idempotency", "feature-flags", "audit")][
            :{"prod": 5, "staging": 4, "security": 1, "data": 2, "sandbox": 1}[p]]
        self.queues = ["%s-%s" % (p, q) for q in ("orders", "emails", "webhooks", "indexing", "orders-dlq", "emails-dlq")][
            :{"prod": 6, "staging": 4, "security": 2, "data": 3, "sandbox": 1}[p]]
        self.topics = ["%s-%s" % (p, t) for t in ("alerts", "orders-events", "deploys")][:2 if p != "prod" else 3]
        self.log_groups = ["/aws/lambda/%s" % f for f, _ in self.functions] + [
            "/ecs/orders-api", "/aws/eks/%s/cluster" % p, "/aws/rds/cluster/orders/postgresql", "vpc-flow-logs"]
        self.repos = ["orders-api", "payments-worker", "ledger-sync", "web-frontend", "search-indexer", "base-images"][
            :{"prod": 6, "staging": 6, "security": 1, "data": 3, "sandbox": 1}[p]]
        self.db_instances = {"prod": ["orders-db-instance-1", "orders-db-instance-2", "billing-db"],
                             "staging": ["orders-db-instance-1", "billing-db"], "data": ["warehouse-meta"],
                             "security": [], "sandbox": []}[p]
        self.db_clusters = {"prod": ["orders-db"], "staging": ["orders-db"], "data": [], "security": [], "sandbox": []}[p]
        n_fixed = {"prod": 10, "staging": 5, "security": 2, "data": 4, "sandbox": 2}[p]
        self.fixed_instances = ["i-0%s" % rng.hexs(16) for _ in range(n_fixed)]
        self.volumes = ["vol-0%s" % rng.hexs(16) for _ in range(n_fixed + 4)]
        self.zones = [("Z0%s" % rng.upper(12), "%s.%s.io" % (p, ORG_NAME)), ("Z0%s" % rng.upper(12), "internal.%s.%s.io" % (p, ORG_NAME))]
        self.vpc = "vpc-0%s" % rng.hexs(16)
        self.subnets = ["subnet-0%s" % rng.hexs(16) for _ in range(6)]
        self.sgs = ["sg-0%s" % rng.hexs(16) for _ in range(14)]
        self.amis = ["ami-0%s" % rng.hexs(16) for _ in range(4)]
        self.launch_templates = ["lt-0%s" % rng.hexs(16) for _ in range(3)]
        self.cluster = "%s-eks" % p
        self.ecs_cluster = "%s-ecs" % p
        self.ecs_services = ["orders-api", "web-frontend", "notifications"] if p in ("prod", "staging") else []
        self.ssm_params = ["/%s/%s" % (p, x) for x in ("app/config", "app/feature-flags", "db/host", "db/port",
                                                     "eks/ami", "orders/endpoint", "payments/endpoint")]
        self.certs = ["arn:aws:acm:%s:%s:certificate/%s" % (self.region, a, rng.uuid()) for _ in range(3)]
        self.tg_arns = ["arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%s" % (self.region, a, n, rng.hexs(16))
                        for n in ("orders-api", "web-frontend", "k8s-ingress")]
        self.alb_arns = ["arn:aws:elasticloadbalancing:%s:%s:loadbalancer/app/%s-public/%s" % (self.region, a, p, rng.hexs(16))]
        # monthly counts used for Terraform state manifests
        self.tf_repos = self._tf_manifests(rng)

    def _tf_manifests(self, rng):
        """Per Terraform root module: list of (resource-kind, count)."""
        p = self.profile
        k = {"prod": 1.6, "staging": 0.9, "security": 0.5, "data": 0.7, "sandbox": 0.2}[p]
        def n(x):
            return max(1, int(round(x * k)))
        net = [("vpc", 1), ("subnet", 6), ("rtb", 4), ("nat", n(3)), ("sg", n(14)), ("vpce", n(6))]
        plat = [("iam_role", n(45)), ("iam_policy", n(18)), ("kms_key", n(8)), ("loggroup", n(22)),
                ("zone", 2), ("cert", n(3)), ("alarm", n(30)), ("param", n(12))]
        if p in ("prod", "staging"):
            plat += [("eks", 1), ("alb", 1), ("asg", 2), ("rds", 2), ("ecr", n(6))]
        app = [("lambda", len(self.functions)), ("secret", len(self.secrets)), ("sqs", len(self.queues)),
               ("sns", len(self.topics)), ("dynamodb", len(self.tables)), ("events_rule", n(8))]
        if p in ("prod", "staging"):
            app += [("ecs_service", 3)]
        data = [("s3", len(self.buckets)), ("backup_plan", 1)]
        if p == "security":
            plat += [("iam_user", 2)]
        return {"network": net, "platform": plat, "apps": app, "storage": data}


def build_world(seed, n_accounts, scale, start_day, days):
    org = Org(seed, n_accounts, scale, start_day, days)
    accts = [Account(org, i, seed) for i in range(n_accounts)]
    org.accounts = accts
    ids = {a.profile: a.id for a in accts}
    org.security_account = ids.get("security", org.mgmt_account)
    return org, accts
