"""Volume per background family in a generated trail:

    cd judge && python3 -m trailgen_lib.stats DIR [YYYY-MM-DD ...]

Counts management events by the family of their actor (derived from the
userIdentity), averaged over the given days (default: every day)."""
import gzip
import json
import os
import sys

from .core import label_principal

RULES = [
    ("AWSServiceRoleForConfig", "aws-config"), ("AWSServiceRoleForSecurityHub", "security-hub"),
    ("AWSServiceRoleForAmazonGuardDuty", "guardduty"), ("AWSServiceRoleForAccessAnalyzer", "access-analyzer"),
    ("AWSServiceRoleForTrustedAdvisor", "trusted-advisor"), ("AWSServiceRoleForAmazonInspector2", "inspector"),
    ("AWSServiceRoleForAutoScaling", "autoscaling"), ("web-asg-instance-role", "ssm-agents+instances"),
    ("EC2-SSM-Managed-Role", "ssm-agents+instances"), ("ssm-maintenance-window-role", "ssm-patching"),
    ("Karpenter", "eks-karpenter"), ("AmazonEKS_CNI", "eks-karpenter"), ("aws-load-balancer-controller", "eks-karpenter"),
    ("external-dns", "eks-external-dns"), ("keda-operator", "eks-keda"), ("payments-worker", "eks-apps"),
    ("ledger-sync", "eks-apps"), ("orders-api", "ecs"), ("AWSServiceRoleForECS", "ecs"),
    ("ApplicationAutoScaling", "ecs"), ("ecs-tasks.amazonaws.com", "ecs"), ("-lambda-role", "lambda"),
    ("lambda.amazonaws.com", "lambda"), ("ec2.amazonaws.com", "instance-profiles"),
    ("DatadogIntegrationRole", "monitoring-integration"), ("CSPMScannerRole", "cspm-scan"),
    ("prowler-scan-role", "prowler-scan"), ("github-actions-terraform", "terraform"),
    ("github-actions-deploy", "ci-deploy"), ("cdk-hnb659fds", "ci-deploy"), ("AWSReservedSSO_", "people-sso"),
    ("AWSBackupDefaultServiceRole", "aws-backup"), ("backup.amazonaws.com", "aws-backup"),
    ("cloudtrail.amazonaws.com", "cloudtrail-kms"), ("stacksets-exec", "org-changes"),
    ("AWSControlTowerExecution", "org-changes"), ("AWSServiceRoleForSSO", "org-changes"),
    ("guardduty-findings-export", "security-ops"), ("siem-forwarder", "security-ops"),
    ("athena-security-queries", "security-ops"), ("securityhub-enricher", "security-ops"),
    ("nightly-export-job", "scheduled-jobs"), ("db-snapshot-cron", "scheduled-jobs"),
    ("secrets-rotation", "scheduled-jobs"), ("ops-automation", "scheduled-jobs"), ("Scheduler", "scheduled-jobs"),
    ("cost-report", "scheduled-jobs"), ("invoice-batch", "scheduled-jobs"), ("instance-scheduler", "scheduled-jobs"),
    ("secretsmanager.amazonaws.com", "scheduled-jobs"), ("month-end", "month-end-batch"), ("EMR_", "month-end-batch"),
    ("glue-etl", "data-platform"), ("IncidentResponseRole", "incident-response"),
    (":user/", "legacy-iam-users"), (":root", "root"),
]


def family(r):
    ui = r["userIdentity"]
    typ = ui.get("type")
    if typ == "SAMLUser":
        return "people-sso"
    if typ == "WebIdentityUser":
        sub = ui.get("userName", "")
        return "eks-irsa-token-exchange" if sub.startswith("system:serviceaccount") else "github-oidc-token-exchange"
    if typ == "AWSAccount":
        return "cross-account-assume-role"
    p = label_principal(ui) or ui.get("invokedBy") or ""
    if r["eventName"] in ("UpdateInstanceInformation", "ListInstanceAssociations", "PutInventory",
                          "UpdateInstanceAssociationStatus", "PutComplianceItems"):
        return "ssm-agents+instances"
    for pat, fam in RULES:
        if pat in p:
            return fam
    if typ == "AWSService":
        return "aws-service-principals"
    if p == "AWS Internal":
        return "kms-rotation"
    return "other"


def main(root, days=None):
    out = {}
    seen_days = {}
    for acct in sorted(os.listdir(os.path.join(root, "AWSLogs"))):
        cnt = {}
        ds = set()
        for dp, dn, fn in os.walk(os.path.join(root, "AWSLogs", acct)):
            for f in fn:
                for r in json.loads(gzip.open(os.path.join(dp, f)).read())["Records"]:
                    d = r["eventTime"][:10]
                    if days and d not in days:
                        continue
                    ds.add(d)
                    fam = "data-events" if r["eventCategory"] == "Data" else family(r)
                    cnt[fam] = cnt.get(fam, 0) + 1
        out[acct] = cnt
        seen_days[acct] = len(ds)
    fams = sorted({f for c in out.values() for f in c})
    accts = sorted(out)
    print("%-28s " % "family" + " ".join("%14s" % a for a in accts))
    for f in sorted(fams, key=lambda f: -sum(out[a].get(f, 0) for a in accts)):
        print("%-28s " % f + " ".join("%14.0f" % (out[a].get(f, 0) / max(1, seen_days[a])) for a in accts))
    print("%-28s " % "TOTAL/day" + " ".join("%14.0f" % (sum(out[a].values()) / max(1, seen_days[a])) for a in accts))


if __name__ == "__main__":
    main(sys.argv[1], set(sys.argv[2:]) or None)
