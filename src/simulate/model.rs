//! The simulated organisation: accounts, principals, the API catalogue, the
//! activity streams and schedules, the incident plan, and event generation for
//! one (day, account, region) unit.
//!
//! Every random choice is drawn from an RNG derived from the seed and the
//! unit (or incident) it belongs to, so the output does not depend on which
//! rayon thread generates which unit.

use chrono::{Datelike, NaiveDate, Weekday};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, Poisson};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::{Label, SimConfig};

/// AWS Organizations id used for the account delivered in org-trail form.
pub(super) const ORG_ID: &str = "o-a1b2c3d4e5";
/// Regions of the trail; most activity and all global-service events are in the first.
pub(super) const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// One AWS account of the simulated organisation.
pub(super) struct Account {
    pub(super) id: &'static str,
    pub(super) alias: &'static str,
    /// Delivered under `AWSLogs/<org id>/<account>/` like an organization trail.
    pub(super) org: bool,
}

pub(super) const ACCOUNTS: [Account; 3] = [
    Account {
        id: "284715390162",
        alias: "prod",
        org: false,
    },
    Account {
        id: "519376204857",
        alias: "staging",
        org: true,
    },
    Account {
        id: "730462158904",
        alias: "security",
        org: false,
    },
];
const PROD: usize = 0;
const STAGING: usize = 1;
const SECURITY: usize = 2;
const USE1: usize = 0;
const EUW1: usize = 1;

/// Share of the rate-driven background each (account, region) gets; sums to 1
/// so the per-hour rates below are whole-trail rates at scale 1.
const WEIGHT: [[f64; 2]; 3] = [[0.5, 0.15], [0.15, 0.05], [0.1, 0.05]];
/// Calibrates the whole-trail volume to ~120k management events/day at scale 1.
const VOLUME: f64 = 1.0;

// ---------------------------------------------------------------- APIs

/// How CloudTrail classifies a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cat {
    /// Management API call (`AwsApiCall`).
    Mgmt,
    /// Data event (S3 object / Lambda invoke).
    Data,
    /// `AwsConsoleSignIn`.
    SignIn,
    /// `AwsServiceEvent`.
    Service,
}

/// One API of the catalogue.
#[derive(Debug)]
pub(super) struct Api {
    pub(super) source: &'static str,
    pub(super) name: &'static str,
    pub(super) read_only: bool,
    pub(super) cat: Cat,
}

impl Api {
    /// Service prefix as used in IAM actions and host names (`ec2`, `kms`, ...).
    pub(super) fn service(&self) -> &'static str {
        self.source.split('.').next().unwrap_or(self.source)
    }
}

macro_rules! apis {
    ($($id:ident: $src:literal $name:literal $ro:literal $cat:ident;)*) => {
        $(pub(super) static $id: Api = Api {
            source: concat!($src, ".amazonaws.com"),
            name: $name,
            read_only: $ro,
            cat: Cat::$cat,
        };)*
    };
}

apis! {
    EC2_DESCRIBE_INSTANCES: "ec2" "DescribeInstances" true Mgmt;
    EC2_DESCRIBE_VOLUMES: "ec2" "DescribeVolumes" true Mgmt;
    EC2_DESCRIBE_SGS: "ec2" "DescribeSecurityGroups" true Mgmt;
    EC2_DESCRIBE_VPCS: "ec2" "DescribeVpcs" true Mgmt;
    EC2_DESCRIBE_SNAPSHOTS: "ec2" "DescribeSnapshots" true Mgmt;
    EC2_DESCRIBE_REGIONS: "ec2" "DescribeRegions" true Mgmt;
    EC2_DESCRIBE_KEY_PAIRS: "ec2" "DescribeKeyPairs" true Mgmt;
    EC2_RUN_INSTANCES: "ec2" "RunInstances" false Mgmt;
    EC2_TERMINATE_INSTANCES: "ec2" "TerminateInstances" false Mgmt;
    EC2_STOP_INSTANCES: "ec2" "StopInstances" false Mgmt;
    EC2_CREATE_SNAPSHOT: "ec2" "CreateSnapshot" false Mgmt;
    EC2_DELETE_SNAPSHOT: "ec2" "DeleteSnapshot" false Mgmt;
    EC2_CREATE_TAGS: "ec2" "CreateTags" false Mgmt;
    EC2_AUTHORIZE_SG_INGRESS: "ec2" "AuthorizeSecurityGroupIngress" false Mgmt;
    CW_GET_METRIC_DATA: "monitoring" "GetMetricData" true Mgmt;
    CW_DESCRIBE_ALARMS: "monitoring" "DescribeAlarms" true Mgmt;
    RDS_DESCRIBE_DB_INSTANCES: "rds" "DescribeDBInstances" true Mgmt;
    ELB_DESCRIBE_TARGET_HEALTH: "elasticloadbalancing" "DescribeTargetHealth" true Mgmt;
    ECS_DESCRIBE_SERVICES: "ecs" "DescribeServices" true Mgmt;
    ECS_LIST_CLUSTERS: "ecs" "ListClusters" true Mgmt;
    ECS_UPDATE_SERVICE: "ecs" "UpdateService" false Mgmt;
    LAMBDA_LIST_FUNCTIONS: "lambda" "ListFunctions20150331" true Mgmt;
    LAMBDA_GET_FUNCTION: "lambda" "GetFunction20150331v2" true Mgmt;
    LAMBDA_UPDATE_CODE: "lambda" "UpdateFunctionCode20150331v2" false Mgmt;
    LAMBDA_INVOKE: "lambda" "Invoke" false Data;
    S3_LIST_BUCKETS: "s3" "ListBuckets" true Mgmt;
    S3_GET_BUCKET_POLICY: "s3" "GetBucketPolicy" true Mgmt;
    S3_GET_OBJECT: "s3" "GetObject" true Data;
    S3_PUT_OBJECT: "s3" "PutObject" false Data;
    KMS_DECRYPT: "kms" "Decrypt" true Mgmt;
    KMS_GENERATE_DATA_KEY: "kms" "GenerateDataKey" true Mgmt;
    KMS_LIST_KEYS: "kms" "ListKeys" true Mgmt;
    KMS_ROTATE_KEY: "kms" "RotateKey" false Service;
    SM_GET_SECRET_VALUE: "secretsmanager" "GetSecretValue" true Mgmt;
    SM_LIST_SECRETS: "secretsmanager" "ListSecrets" true Mgmt;
    SM_ROTATE_SECRET: "secretsmanager" "RotateSecret" false Mgmt;
    SSM_GET_PARAMETER: "ssm" "GetParameter" true Mgmt;
    SSM_START_SESSION: "ssm" "StartSession" false Mgmt;
    STS_ASSUME_ROLE: "sts" "AssumeRole" true Mgmt;
    STS_ASSUME_ROLE_WEB: "sts" "AssumeRoleWithWebIdentity" true Mgmt;
    STS_GET_CALLER_IDENTITY: "sts" "GetCallerIdentity" true Mgmt;
    SIGNIN_CONSOLE_LOGIN: "signin" "ConsoleLogin" false SignIn;
    IAM_GET_ROLE: "iam" "GetRole" true Mgmt;
    IAM_LIST_ROLES: "iam" "ListRoles" true Mgmt;
    IAM_LIST_USERS: "iam" "ListUsers" true Mgmt;
    IAM_GET_USER: "iam" "GetUser" true Mgmt;
    IAM_LIST_POLICIES: "iam" "ListPolicies" true Mgmt;
    IAM_LIST_ACCESS_KEYS: "iam" "ListAccessKeys" true Mgmt;
    IAM_CREATE_ACCESS_KEY: "iam" "CreateAccessKey" false Mgmt;
    IAM_UPDATE_ACCESS_KEY: "iam" "UpdateAccessKey" false Mgmt;
    IAM_DELETE_ACCESS_KEY: "iam" "DeleteAccessKey" false Mgmt;
    IAM_CREATE_USER: "iam" "CreateUser" false Mgmt;
    IAM_ATTACH_USER_POLICY: "iam" "AttachUserPolicy" false Mgmt;
    IAM_CREATE_LOGIN_PROFILE: "iam" "CreateLoginProfile" false Mgmt;
    IAM_PUT_USER_POLICY: "iam" "PutUserPolicy" false Mgmt;
    IAM_GET_ACCOUNT_SUMMARY: "iam" "GetAccountSummary" true Mgmt;
    IAM_LIST_MFA_DEVICES: "iam" "ListMFADevices" true Mgmt;
    CFN_DESCRIBE_STACKS: "cloudformation" "DescribeStacks" true Mgmt;
    CFN_CREATE_CHANGE_SET: "cloudformation" "CreateChangeSet" false Mgmt;
    CFN_DESCRIBE_CHANGE_SET: "cloudformation" "DescribeChangeSet" true Mgmt;
    CFN_EXECUTE_CHANGE_SET: "cloudformation" "ExecuteChangeSet" false Mgmt;
    CFN_DESCRIBE_STACK_EVENTS: "cloudformation" "DescribeStackEvents" true Mgmt;
    CT_STOP_LOGGING: "cloudtrail" "StopLogging" false Mgmt;
    CT_DESCRIBE_TRAILS: "cloudtrail" "DescribeTrails" true Mgmt;
    CT_GET_TRAIL_STATUS: "cloudtrail" "GetTrailStatus" true Mgmt;
    CT_LOOKUP_EVENTS: "cloudtrail" "LookupEvents" true Mgmt;
    LOGS_FILTER_LOG_EVENTS: "logs" "FilterLogEvents" true Mgmt;
    LOGS_DESCRIBE_LOG_GROUPS: "logs" "DescribeLogGroups" true Mgmt;
    DDB_DESCRIBE_TABLE: "dynamodb" "DescribeTable" true Mgmt;
    DDB_LIST_TABLES: "dynamodb" "ListTables" true Mgmt;
    ATHENA_START_QUERY: "athena" "StartQueryExecution" false Mgmt;
    ATHENA_GET_QUERY_EXECUTION: "athena" "GetQueryExecution" true Mgmt;
    ATHENA_GET_QUERY_RESULTS: "athena" "GetQueryResults" true Mgmt;
    GD_LIST_FINDINGS: "guardduty" "ListFindings" true Mgmt;
    GD_GET_FINDINGS: "guardduty" "GetFindings" true Mgmt;
    SH_GET_FINDINGS: "securityhub" "GetFindings" true Mgmt;
}

// ---------------------------------------------------------------- principals

/// Who made a call, as CloudTrail's `userIdentity` shows it.
pub(super) enum Ident {
    /// `AssumedRole`; `path` is the role path (`aws-reserved/sso.amazonaws.com/`).
    Role {
        name: &'static str,
        path: &'static str,
        session: &'static str,
        invoked_by: Option<&'static str>,
        mfa: bool,
    },
    /// `IAMUser` with a long-term access key (or a console session).
    User { name: &'static str },
    /// The account root user.
    Root,
    /// `AWSService` acting on its own.
    Service { invoked_by: &'static str },
    /// `WebIdentityUser` calling `AssumeRoleWithWebIdentity`.
    WebIdentity {
        provider: &'static str,
        sub: &'static str,
        aud: &'static str,
    },
}

/// A principal plus the network context its calls come from.
pub(super) struct Actor {
    pub(super) account: usize,
    pub(super) key: &'static str,
    pub(super) ident: Ident,
    pub(super) ips: &'static [&'static str],
    pub(super) uas: &'static [&'static str],
    /// Calls come from the console (`sessionCredentialFromConsole`).
    pub(super) console: bool,
    /// The ARN a detector groups by: the role ARN for assumed roles.
    pub(super) principal: String,
    /// Stable hash used to derive principal ids and access keys.
    pub(super) hash: u64,
}

const UA_GO: &[&str] = &["aws-sdk-go-v2/1.30.3 ua/2.1 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 exec-env/AWS_ECS_FARGATE"];
const UA_APP: &[&str] = &[
    "Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 os/linux#5.10.219-208.866.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython exec-env/AWS_ECS_FARGATE cfg/retry-mode#legacy Botocore/1.34.131",
    "aws-sdk-java/2.25.60 Linux/5.10.219-208.866.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
];
const UA_LAMBDA: &[&str] = &["Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.223-233.873.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.145"];
const UA_EKS: &[&str] = &[
    "aws-sdk-go-v2/1.27.0 os/linux lang/go#1.21.10 md/GOOS#linux md/GOARCH#arm64 api/sts#1.28.10",
];
/// A trailing `command/` is completed with the CLI command for the API.
const UA_CLI: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/",
    "aws-cli/2.17.20 Python/3.11.9 Linux/6.8.0-40-generic exe/x86_64.ubuntu.24 prompt/off command/",
];
const UA_CONSOLE: &[&str] = &["console.amazonaws.com"];
const UA_HUMAN_MIX: &[&str] = &[
    "console.amazonaws.com",
    "console.amazonaws.com",
    "aws-cli/2.16.4 Python/3.11.8 Windows/10 exe/AMD64 prompt/off command/",
];
const UA_CI: &[&str] = &[
    "aws-cli/2.17.13 Python/3.11.9 Linux/6.5.0-1025-azure exe/x86_64.ubuntu.22 prompt/off command/",
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.64.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64",
];
const UA_ATHENA: &[&str] = &["Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#4.14.336-257.562.amzn2.x86_64 md/arch#x86_64 lang/python#3.9.18 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57"];
const UA_LEAKED: &[&str] =
    &["aws-cli/1.16.312 Python/2.7.18 Linux/5.18.0-kali5-amd64 botocore/1.13.48"];
const UA_RECON: &[&str] = &["Boto3/1.9.89 Python/3.7.3 Linux/4.19.0-kali4-amd64 Botocore/1.12.89"];
const UA_SECTOOL: &[&str] =
    &["aws-sdk-go/1.54.19 (go1.22.5; linux; amd64) exec-env/AWS_Lambda_go1.x"];

const IP_PROD: &[&str] = &["52.23.184.61", "3.214.102.77", "3.214.98.130"];
const IP_STAGING: &[&str] = &["18.208.40.12", "44.195.3.210"];
const IP_SECURITY: &[&str] = &["34.199.7.201"];
const IP_OFFICE: &[&str] = &["62.30.115.20", "62.30.115.21", "81.152.44.107"];
const IP_GITHUB: &[&str] = &[
    "20.85.164.33",
    "4.246.131.208",
    "172.177.26.91",
    "52.234.40.18",
];
const IP_LEAKED: &[&str] = &["185.220.101.47"];
const IP_RECON: &[&str] = &["45.142.212.61"];
const IP_ASG: &[&str] = &["autoscaling.amazonaws.com"];
const IP_LAMBDA: &[&str] = &["lambda.amazonaws.com"];
const IP_KMS: &[&str] = &["kms.amazonaws.com"];
const UA_BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The browser user agent used for `ConsoleLogin`.
pub(super) fn browser_ua() -> &'static str {
    UA_BROWSER
}

/// All principals of the organisation, looked up by (account, key).
pub(super) struct World {
    pub(super) actors: Vec<Actor>,
}

impl World {
    pub(super) fn new() -> World {
        let mut w = World { actors: Vec::new() };
        for a in 0..ACCOUNTS.len() {
            let ip = [IP_PROD, IP_STAGING, IP_SECURITY][a];
            let role = |name, session| Ident::Role {
                name,
                path: "",
                session,
                invoked_by: None,
                mfa: false,
            };
            w.add(
                a,
                "monitor",
                role("MonitoringCollector", "i-0c3f7a9d21b84e615"),
                ip,
                UA_GO,
                false,
            );
            let app = if a == SECURITY {
                "findings-processor"
            } else {
                "orders-api-task"
            };
            w.add(
                a,
                "app",
                role(app, "4f1c2b7e9a0d4c3e8b6a5d2f1e0c9b8a"),
                ip,
                UA_APP,
                false,
            );
            w.add(
                a,
                "eks",
                Ident::WebIdentity {
                    provider:
                        "oidc.eks.us-east-1.amazonaws.com/id/5C7D1E2A9B3F4A6C8D0E2F4A6B8C0D1E",
                    sub: "system:serviceaccount:payments:payments-api",
                    aud: "sts.amazonaws.com",
                },
                ip,
                UA_EKS,
                false,
            );
            w.add(
                a,
                "lambda-svc",
                Ident::Service {
                    invoked_by: "lambda.amazonaws.com",
                },
                IP_LAMBDA,
                IP_LAMBDA,
                false,
            );
            w.add(
                a,
                "kms-svc",
                Ident::Service {
                    invoked_by: "kms.amazonaws.com",
                },
                IP_KMS,
                IP_KMS,
                false,
            );
            w.add(
                a,
                "ci",
                role("github-actions-deploy", "GitHubActions"),
                IP_GITHUB,
                UA_CI,
                false,
            );
            w.add(
                a,
                "ci-web",
                Ident::WebIdentity {
                    provider: "token.actions.githubusercontent.com",
                    sub: "repo:acme-corp/platform:ref:refs/heads/main",
                    aud: "sts.amazonaws.com",
                },
                IP_GITHUB,
                &["aws-sdk-js/3.621.0 ua/2.0 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.16.0 api/sts#3.621.0"],
                false,
            );
            w.add(
                a,
                "autoscaling",
                Ident::Role {
                    name: "AWSServiceRoleForAutoScaling",
                    path: "aws-service-role/autoscaling.amazonaws.com/",
                    session: "AutoScaling",
                    invoked_by: Some("autoscaling.amazonaws.com"),
                    mfa: false,
                },
                IP_ASG,
                IP_ASG,
                false,
            );
            w.add(
                a,
                "backup",
                role("nightly-ebs-backup", "nightly-ebs-backup"),
                ip,
                UA_LAMBDA,
                false,
            );
            w.add(
                a,
                "rotator",
                role("credential-rotator", "credential-rotator"),
                ip,
                UA_LAMBDA,
                false,
            );
            let sso = |name, session| Ident::Role {
                name,
                path: "aws-reserved/sso.amazonaws.com/",
                session,
                invoked_by: None,
                mfa: true,
            };
            w.add(
                a,
                "alice",
                sso(
                    "AWSReservedSSO_AdministratorAccess_7c1e9a3b5d2f4086",
                    "alice@acme-corp.example",
                ),
                IP_OFFICE,
                UA_CONSOLE,
                true,
            );
            w.add(
                a,
                "bob",
                sso(
                    "AWSReservedSSO_ReadOnlyAccess_2b8d4f6a0c1e3579",
                    "bob@acme-corp.example",
                ),
                IP_OFFICE,
                UA_CLI,
                false,
            );
            w.add(
                a,
                "dave",
                sso(
                    "AWSReservedSSO_SecurityAudit_9e0f1a2b3c4d5e6f",
                    "dave@acme-corp.example",
                ),
                IP_OFFICE,
                UA_HUMAN_MIX,
                false,
            );
            w.add(
                a,
                "carol",
                Ident::User { name: "carol.ops" },
                IP_OFFICE,
                UA_CLI,
                false,
            );
            w.add(a, "root", Ident::Root, IP_OFFICE, UA_CONSOLE, true);
            w.add(
                a,
                "svc-reporting",
                Ident::User {
                    name: "svc-reporting",
                },
                IP_PROD,
                UA_ATHENA,
                false,
            );
            w.add(
                a,
                "sectool",
                role("SecurityHubCollector", "securityhub-collector"),
                ip,
                UA_SECTOOL,
                false,
            );
            // Incident actors: the same identities seen from an attacker's machine.
            w.add(
                a,
                "leaked",
                Ident::User {
                    name: "svc-reporting",
                },
                IP_LEAKED,
                UA_LEAKED,
                false,
            );
            w.add(
                a,
                "recon",
                role(app, "4f1c2b7e9a0d4c3e8b6a5d2f1e0c9b8a"),
                IP_RECON,
                UA_RECON,
                false,
            );
        }
        w
    }

    fn add(
        &mut self,
        account: usize,
        key: &'static str,
        ident: Ident,
        ips: &'static [&'static str],
        uas: &'static [&'static str],
        console: bool,
    ) {
        let acct = ACCOUNTS[account].id;
        let principal = match &ident {
            Ident::Role { name, path, .. } => format!("arn:aws:iam::{acct}:role/{path}{name}"),
            Ident::User { name } => format!("arn:aws:iam::{acct}:user/{name}"),
            Ident::Root => format!("arn:aws:iam::{acct}:root"),
            Ident::Service { invoked_by } => (*invoked_by).to_string(),
            Ident::WebIdentity { provider, sub, .. } => format!("{provider}:{sub}"),
        };
        let hash = xxh3_64_with_seed(principal.as_bytes(), 0x7a11);
        self.actors.push(Actor {
            account,
            key,
            ident,
            ips,
            uas,
            console,
            principal,
            hash,
        });
    }

    /// Index of the actor `key` of account `account`; the table is fixed, so a
    /// missing key is a programming error.
    pub(super) fn id(&self, account: usize, key: &str) -> u16 {
        let i = self
            .actors
            .iter()
            .position(|a| a.account == account && a.key == key)
            .unwrap_or_else(|| panic!("no actor {key} in account {account}"));
        i as u16
    }

    fn principal(&self, account: usize, key: &str) -> String {
        self.actors[self.id(account, key) as usize]
            .principal
            .clone()
    }
}

// ---------------------------------------------------------------- events

/// Failure kinds; rendered to the service's own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ErrKind {
    Denied,
    Throttled,
    NotFound,
    Capacity,
}

/// A call, kept small until it is rendered; the rendering is a pure function of
/// the event (its `seed` drives ids and parameters), so a duplicate delivery
/// re-renders to identical bytes.
pub(super) struct Event {
    /// Unix seconds.
    pub(super) t: i64,
    pub(super) actor: u16,
    pub(super) api: &'static Api,
    pub(super) err: Option<ErrKind>,
    /// API-specific variant: volume / user index, 1 = GPU instance types, ...
    pub(super) var: u32,
    pub(super) seed: u64,
}

/// Seed for an RNG identified by `parts` (day, account, region, tag ...).
pub(super) fn mix(seed: u64, parts: &[u64]) -> u64 {
    let mut bytes = Vec::with_capacity(parts.len() * 8);
    for p in parts {
        bytes.extend_from_slice(&p.to_le_bytes());
    }
    xxh3_64_with_seed(&bytes, seed)
}

const TAG_BG: u64 = 1;
const TAG_PLAN: u64 = 2;
const TAG_CI: u64 = 3;
const TAG_ASG: u64 = 4;
pub(super) const TAG_DELIVERY: u64 = 5;
const TAG_INCIDENT: u64 = 6;

/// Unix seconds of midnight UTC of simulation day `day`.
pub(super) fn day_start(cfg: &SimConfig, day: u32) -> i64 {
    let d = cfg.start + chrono::Days::new(u64::from(day));
    d.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
}

fn weekday(start: NaiveDate, day: u32) -> Weekday {
    (start + chrono::Days::new(u64::from(day))).weekday()
}

fn is_workday(w: Weekday) -> bool {
    !matches!(w, Weekday::Sat | Weekday::Sun)
}

// ---------------------------------------------------------------- background

#[derive(Clone, Copy)]
enum Profile {
    /// Machines polling all day, slightly busier in the afternoon.
    Flat,
    /// Customer load: diurnal curve peaking ~15:00 UTC, lighter weekends.
    Load,
    /// Humans: Mon–Fri 08–18 UTC, little else.
    Business,
}

fn profile(p: Profile, hour: u32, wd: Weekday) -> f64 {
    let phase = (f64::from(hour) + 0.5 - 15.0) / 24.0 * std::f64::consts::TAU;
    match p {
        Profile::Flat => 1.0 + 0.15 * phase.cos(),
        Profile::Load => {
            let w = if is_workday(wd) { 1.0 } else { 0.7 };
            w * (0.35 + 0.65 * (0.5 + 0.5 * phase.cos()))
        }
        Profile::Business => {
            if !is_workday(wd) {
                0.02
            } else if (8..18).contains(&hour) {
                1.0
            } else {
                0.04
            }
        }
    }
}

/// A rate-driven background stream of one principal calling one API.
struct Stream {
    actor: u16,
    api: &'static Api,
    /// Calls per hour at scale 1 and profile factor 1.
    per_hour: f64,
    profile: Profile,
    /// Gamma shape of the per-hour multiplier: lower = burstier.
    shape: f64,
    err: f64,
    errs: &'static [ErrKind],
}

fn streams(w: &World, a: usize, r: usize) -> Vec<Stream> {
    let mut v = Vec::new();
    let wt = WEIGHT[a][r] * VOLUME;
    let mut add = |actor: u16, api: &'static Api, per_hour: f64, profile, shape, err, errs| {
        v.push(Stream {
            actor,
            api,
            per_hour,
            profile,
            shape,
            err,
            errs,
        });
    };
    use ErrKind::*;
    let us = r == USE1;

    let mon = w.id(a, "monitor");
    for (api, rate) in [
        (&EC2_DESCRIBE_INSTANCES, 500.0),
        (&EC2_DESCRIBE_VOLUMES, 150.0),
        (&CW_GET_METRIC_DATA, 900.0),
        (&CW_DESCRIBE_ALARMS, 100.0),
        (&RDS_DESCRIBE_DB_INSTANCES, 60.0),
        (&ELB_DESCRIBE_TARGET_HEALTH, 180.0),
        (&ECS_DESCRIBE_SERVICES, 150.0),
        (&LAMBDA_LIST_FUNCTIONS, 40.0),
        (&S3_LIST_BUCKETS, 20.0),
    ] {
        add(
            mon,
            api,
            rate * wt,
            Profile::Flat,
            20.0,
            0.003,
            &[Throttled],
        );
    }

    let app = w.id(a, "app");
    for (api, rate, err, errs) in [
        (&KMS_DECRYPT, 1400.0, 0.001, &[Denied][..]),
        (&KMS_GENERATE_DATA_KEY, 600.0, 0.001, &[Throttled][..]),
        (&SM_GET_SECRET_VALUE, 60.0, 0.005, &[NotFound, Denied][..]),
        (&SSM_GET_PARAMETER, 150.0, 0.004, &[NotFound, Throttled][..]),
        (&STS_ASSUME_ROLE, 500.0, 0.002, &[Denied][..]),
        (&DDB_DESCRIBE_TABLE, 50.0, 0.002, &[NotFound][..]),
        (&S3_GET_OBJECT, 270.0, 0.01, &[NotFound][..]),
        (&S3_PUT_OBJECT, 95.0, 0.002, &[Denied][..]),
        (&LAMBDA_INVOKE, 75.0, 0.003, &[Throttled][..]),
    ] {
        add(app, api, rate * wt, Profile::Load, 10.0, err, errs);
    }
    add(
        w.id(a, "eks"),
        &STS_ASSUME_ROLE_WEB,
        400.0 * wt,
        Profile::Load,
        10.0,
        0.001,
        &[Denied],
    );
    add(
        w.id(a, "lambda-svc"),
        &STS_ASSUME_ROLE,
        200.0 * wt,
        Profile::Load,
        8.0,
        0.0,
        &[],
    );

    if a == PROD {
        let asg = w.id(a, "autoscaling");
        let f = if us { 1.0 } else { 0.4 };
        add(
            asg,
            &EC2_RUN_INSTANCES,
            8.0 * f,
            Profile::Load,
            6.0,
            0.01,
            &[Capacity],
        );
        add(
            asg,
            &EC2_TERMINATE_INSTANCES,
            8.0 * f,
            Profile::Flat,
            6.0,
            0.0,
            &[],
        );
    }
    if a == SECURITY {
        let st = w.id(a, "sectool");
        let f = if us { 1.0 } else { 0.5 };
        add(
            st,
            &GD_LIST_FINDINGS,
            60.0 * f,
            Profile::Flat,
            15.0,
            0.002,
            &[Throttled],
        );
        add(
            st,
            &GD_GET_FINDINGS,
            90.0 * f,
            Profile::Flat,
            15.0,
            0.002,
            &[Throttled],
        );
        add(
            st,
            &SH_GET_FINDINGS,
            120.0 * f,
            Profile::Flat,
            15.0,
            0.002,
            &[Throttled],
        );
    }

    // Humans: who works where, and how much of it lands in eu-west-1.
    let hf = if us { 1.0 } else { 0.25 };
    let humans: &[&str] = match a {
        PROD => &["alice", "bob", "carol"],
        STAGING => &["alice", "bob"],
        _ => &["bob", "dave"],
    };
    for &h in humans {
        let id = w.id(a, h);
        let reader = h == "bob" || h == "dave";
        let mut reads: Vec<(&'static Api, f64)> = vec![
            (&EC2_DESCRIBE_INSTANCES, 30.0),
            (&EC2_DESCRIBE_SGS, 10.0),
            (&EC2_DESCRIBE_VPCS, 5.0),
            (&S3_LIST_BUCKETS, 8.0),
            (&S3_GET_BUCKET_POLICY, 4.0),
            (&LOGS_FILTER_LOG_EVENTS, 20.0),
            (&LOGS_DESCRIBE_LOG_GROUPS, 8.0),
            (&CFN_DESCRIBE_STACKS, 15.0),
            (&LAMBDA_GET_FUNCTION, 6.0),
            (&ECS_LIST_CLUSTERS, 6.0),
            (&ECS_DESCRIBE_SERVICES, 8.0),
            (&CW_GET_METRIC_DATA, 20.0),
        ];
        if us {
            reads.push((&IAM_GET_ROLE, 4.0));
            reads.push((&IAM_LIST_ROLES, 3.0));
        }
        if h == "dave" {
            reads.push((&CT_LOOKUP_EVENTS, 25.0));
            reads.push((&CT_DESCRIBE_TRAILS, 4.0));
            reads.push((&CT_GET_TRAIL_STATUS, 4.0));
            reads.push((&GD_GET_FINDINGS, 15.0));
        }
        for (api, rate) in reads {
            add(id, api, rate * hf, Profile::Business, 5.0, 0.01, &[Denied]);
        }
        if !reader {
            for (api, rate) in [
                (&SSM_START_SESSION, 1.0),
                (&EC2_CREATE_TAGS, 1.0),
                (&EC2_AUTHORIZE_SG_INGRESS, 0.2),
            ] {
                add(id, api, rate * hf, Profile::Business, 5.0, 0.02, &[Denied]);
            }
        }
    }
    v
}

// ---------------------------------------------------------------- schedules

/// CI/CD deploy bursts of `account` on `day`: (start offset in seconds, minutes).
/// Shared by the generator and the decoy labels.
pub(super) fn ci_bursts(cfg: &SimConfig, day: u32, account: usize) -> Vec<(i64, i64)> {
    if account == SECURITY || !is_workday(weekday(cfg.start, day)) {
        return Vec::new();
    }
    let mut rng = SmallRng::seed_from_u64(mix(cfg.seed, &[TAG_CI, u64::from(day), account as u64]));
    let n = rng.random_range(2..=4);
    let mut v: Vec<(i64, i64)> = (0..n)
        .map(|_| {
            (
                rng.random_range(9 * 3600..17 * 3600),
                rng.random_range(10..=40),
            )
        })
        .collect();
    v.sort_unstable();
    v
}

/// Daily autoscaling scale-out wave at the afternoon peak (prod, us-east-1):
/// (start offset, minutes, RunInstances count).
pub(super) fn asg_wave(cfg: &SimConfig, day: u32) -> (i64, i64, u32) {
    let mut rng = SmallRng::seed_from_u64(mix(cfg.seed, &[TAG_ASG, u64::from(day)]));
    let start = 13 * 3600 + rng.random_range(20 * 60..50 * 60);
    (start, rng.random_range(10..=15), rng.random_range(20..=30))
}

/// Nightly backup volumes per account (prod, staging); the job runs 02:00–02:10.
fn backup_volumes(account: usize) -> u32 {
    match account {
        PROD => 8,
        STAGING => 4,
        _ => 0,
    }
}
const BACKUP_START: i64 = 2 * 3600;
const BACKUP_END: i64 = BACKUP_START + 600;
const ROTATION_START: i64 = 3 * 3600;
const ROTATION_END: i64 = ROTATION_START + 600;
/// Service users whose keys the weekly rotation replaces.
pub(super) const ROTATED_USERS: [&str; 3] = ["svc-reporting", "svc-etl", "svc-legacy-ftp"];
/// Users the leaked key creates.
pub(super) const ATTACKER_USERS: [&str; 3] = ["backup-svc", "support-admin", "ops-automation"];

// ---------------------------------------------------------------- incidents

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IncKind {
    ProvisioningSpike,
    IamBurst,
    DeniedEnum,
    ThrottleStorm,
    ReadSpike,
    CallDrop,
    BackupGap,
    RareAction,
}

/// One injected incident, fixed by the plan before any unit is generated.
pub(super) struct Incident {
    pub(super) kind: IncKind,
    pub(super) account: usize,
    pub(super) region: usize,
    pub(super) day: u32,
    /// Window in unix seconds, `[start, end)`.
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) count: u32,
    pub(super) seed: u64,
}

/// The incidents of a run and the evaluation window they fall in.
pub(super) struct Plan {
    pub(super) eval_start_day: u32,
    pub(super) incidents: Vec<Incident>,
}

/// Days at the end of the simulation where incidents and decoys are labelled.
pub(super) fn eval_days(days: u32) -> u32 {
    if days >= 14 {
        7
    } else {
        days.div_ceil(3).max(1)
    }
}

impl Plan {
    pub(super) fn new(cfg: &SimConfig) -> Plan {
        let mut rng = SmallRng::seed_from_u64(mix(cfg.seed, &[TAG_PLAN]));
        let n_eval = eval_days(cfg.days);
        let eval_start_day = cfg.days - n_eval;
        use IncKind::*;
        let kinds = [
            ProvisioningSpike,
            IamBurst,
            DeniedEnum,
            ThrottleStorm,
            ReadSpike,
            CallDrop,
            BackupGap,
            RareAction,
        ];
        // Spread incidents over the window's days: a shuffled cycle of day offsets.
        let mut offsets: Vec<u32> = Vec::new();
        while offsets.len() < kinds.len() {
            let mut cycle: Vec<u32> = (0..n_eval).collect();
            cycle.shuffle(&mut rng);
            offsets.extend(cycle);
        }
        let mut incidents = Vec::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            let day = eval_start_day + offsets[i];
            let d0 = day_start(cfg, day);
            let seed = mix(cfg.seed, &[TAG_INCIDENT, i as u64]);
            let minute = |rng: &mut SmallRng, lo: i64, hi: i64| rng.random_range(lo..hi) * 60;
            let (account, region, off, dur, count) = match kind {
                ProvisioningSpike => {
                    let (a, r) =
                        [(PROD, USE1), (PROD, EUW1), (STAGING, USE1)][rng.random_range(0..3)];
                    (
                        a,
                        r,
                        minute(&mut rng, 60, 1400),
                        rng.random_range(10..=20) * 60,
                        rng.random_range(40..=80),
                    )
                }
                IamBurst => (
                    PROD,
                    USE1,
                    minute(&mut rng, 0, 1430),
                    rng.random_range(3..=6) * 60,
                    0,
                ),
                DeniedEnum => {
                    let r = rng.random_range(0..2);
                    (
                        PROD,
                        r,
                        minute(&mut rng, 0, 1420),
                        rng.random_range(12..=18) * 60,
                        rng.random_range(200..=400),
                    )
                }
                ThrottleStorm => {
                    let a = [PROD, STAGING][rng.random_range(0..2)];
                    (
                        a,
                        USE1,
                        minute(&mut rng, 9 * 60, 17 * 60),
                        rng.random_range(10..=20) * 60,
                        rng.random_range(300..=600),
                    )
                }
                ReadSpike => {
                    let r = rng.random_range(0..2);
                    let per_min = 50.0 * 60.0 * WEIGHT[PROD][r] * VOLUME / 60.0;
                    (
                        PROD,
                        r,
                        minute(&mut rng, 0, 1410),
                        20 * 60,
                        (per_min * 20.0).round().max(150.0) as u32,
                    )
                }
                CallDrop => (
                    PROD,
                    USE1,
                    minute(&mut rng, 9 * 60, 14 * 60),
                    rng.random_range(120..=180) * 60,
                    0,
                ),
                BackupGap => (PROD, USE1, BACKUP_START, BACKUP_END - BACKUP_START, 0),
                RareAction => (
                    PROD,
                    USE1,
                    minute(&mut rng, 10 * 60, 22 * 60),
                    15 * 60,
                    rng.random_range(3..=6),
                ),
            };
            incidents.push(Incident {
                kind,
                account,
                region,
                day,
                start: d0 + off,
                end: d0 + off + dur,
                count,
                seed,
            });
        }
        Plan {
            eval_start_day,
            incidents,
        }
    }

    fn drop_window(&self, day: u32, a: usize, r: usize) -> Option<(i64, i64)> {
        self.incidents
            .iter()
            .find(|i| {
                i.kind == IncKind::CallDrop && i.day == day && i.account == a && i.region == r
            })
            .map(|i| (i.start, i.end))
    }

    fn backup_skipped(&self, day: u32, a: usize, r: usize) -> bool {
        self.incidents.iter().any(|i| {
            i.kind == IncKind::BackupGap && i.day == day && i.account == a && i.region == r
        })
    }
}

// ---------------------------------------------------------------- generation

struct Gen {
    rng: SmallRng,
    events: Vec<Event>,
}

impl Gen {
    fn push(&mut self, t: i64, actor: u16, api: &'static Api, err: Option<ErrKind>, var: u32) {
        let seed = self.rng.random();
        self.events.push(Event {
            t,
            actor,
            api,
            err,
            var,
            seed,
        });
    }
}

/// All events of one (day, account, region), in time order.
pub(super) fn generate(
    cfg: &SimConfig,
    w: &World,
    plan: &Plan,
    day: u32,
    a: usize,
    r: usize,
) -> Vec<Event> {
    let rng = SmallRng::seed_from_u64(mix(cfg.seed, &[TAG_BG, u64::from(day), a as u64, r as u64]));
    let mut g = Gen {
        rng,
        events: Vec::new(),
    };
    let d0 = day_start(cfg, day);
    let wd = weekday(cfg.start, day);
    background(&mut g, cfg, w, plan, day, a, r, d0, wd);
    jobs(&mut g, cfg, w, plan, day, a, r, d0, wd);
    for inc in plan
        .incidents
        .iter()
        .filter(|i| i.day == day && i.account == a && i.region == r)
    {
        inject(&mut g, w, inc);
    }
    // Stable: ties keep generation order, which is itself deterministic.
    g.events.sort_by_key(|e| e.t);
    g.events
}

#[allow(clippy::too_many_arguments)]
fn background(
    g: &mut Gen,
    cfg: &SimConfig,
    w: &World,
    plan: &Plan,
    day: u32,
    a: usize,
    r: usize,
    d0: i64,
    wd: Weekday,
) {
    let drop = plan.drop_window(day, a, r);
    let mon = w.id(a, "monitor");
    for s in streams(w, a, r) {
        let gamma = Gamma::new(s.shape, 1.0 / s.shape).expect("valid gamma");
        let dropped =
            drop.filter(|_| s.actor == mon && std::ptr::eq(s.api, &EC2_DESCRIBE_INSTANCES));
        for hour in 0..24u32 {
            let mult: f64 = gamma.sample(&mut g.rng);
            let lam = s.per_hour * profile(s.profile, hour, wd) * cfg.scale * mult;
            if !(lam > 0.0 && lam.is_finite()) {
                continue;
            }
            // The rate is constant within the hour, so one Poisson count spread
            // uniformly over the hour equals per-minute Poisson draws.
            let n = Poisson::new(lam)
                .expect("positive finite rate")
                .sample(&mut g.rng) as u64;
            let h0 = d0 + i64::from(hour) * 3600;
            for _ in 0..n {
                let t = h0 + g.rng.random_range(0..3600);
                // Thinning to 2% inside a call-rate drop.
                if dropped.is_some_and(|(s0, s1)| t >= s0 && t < s1) && !g.rng.random_bool(0.02) {
                    continue;
                }
                let err = (s.err > 0.0 && g.rng.random_bool(s.err))
                    .then(|| s.errs[g.rng.random_range(0..s.errs.len())]);
                g.push(t, s.actor, s.api, err, 0);
            }
        }
    }
}

/// Scheduled activity at natural counts (not scaled): logins, CI, backup,
/// rotation, the autoscaling wave, key rotation, the hourly reporting job.
#[allow(clippy::too_many_arguments)]
fn jobs(
    g: &mut Gen,
    cfg: &SimConfig,
    w: &World,
    plan: &Plan,
    day: u32,
    a: usize,
    r: usize,
    d0: i64,
    wd: Weekday,
) {
    let us = r == USE1;
    let work = is_workday(wd);
    if us {
        // Morning console sign-ins (global service events land in us-east-1).
        let logins: &[&str] = match a {
            PROD => &["alice", "carol"],
            STAGING => &["alice"],
            _ => &["dave"],
        };
        if work {
            for &h in logins {
                let t = d0 + g.rng.random_range(8 * 3600..9 * 3600 + 1800);
                g.push(t, w.id(a, h), &SIGNIN_CONSOLE_LOGIN, None, 0);
            }
        }
        // KMS automatic key rotation shows up as AwsServiceEvent.
        let t = d0 + g.rng.random_range(600..1200);
        g.push(t, w.id(a, "kms-svc"), &KMS_ROTATE_KEY, None, 0);
        if a == SECURITY && wd == Weekday::Mon {
            // Weekly root check of billing/MFA: recurring, so not a rare action.
            let root = w.id(a, "root");
            let t = d0 + g.rng.random_range(10 * 3600..11 * 3600);
            g.push(t, root, &SIGNIN_CONSOLE_LOGIN, None, 0);
            g.push(t + 40, root, &IAM_GET_ACCOUNT_SUMMARY, None, 0);
            g.push(t + 75, root, &IAM_LIST_MFA_DEVICES, None, 0);
        }
        if a == PROD {
            // Hourly Athena report by a service user with a long-term key.
            let svc = w.id(a, "svc-reporting");
            for hour in 0..24 {
                let t = d0 + hour * 3600 + 300 + g.rng.random_range(0..20);
                g.push(t, svc, &ATHENA_START_QUERY, None, 0);
                let polls = g.rng.random_range(3..=6);
                for k in 0..polls {
                    g.push(t + 2 + 3 * k, svc, &ATHENA_GET_QUERY_EXECUTION, None, 0);
                }
                g.push(t + 3 + 3 * polls, svc, &ATHENA_GET_QUERY_RESULTS, None, 0);
            }
            if wd == Weekday::Sun {
                rotation(g, w, a, d0);
            }
            let (off, mins, n) = asg_wave(cfg, day);
            let asg = w.id(a, "autoscaling");
            for _ in 0..n {
                let t = d0 + off + g.rng.random_range(0..mins * 60);
                g.push(t, asg, &EC2_RUN_INSTANCES, None, 0);
            }
        }
        let vols = backup_volumes(a);
        if vols > 0 && !plan.backup_skipped(day, a, r) {
            let job = w.id(a, "backup");
            let t0 = d0 + BACKUP_START;
            let (j1, j2) = (g.rng.random_range(0..5), g.rng.random_range(5..10));
            g.push(t0 + j1, job, &EC2_DESCRIBE_VOLUMES, None, 0);
            g.push(t0 + j2, job, &EC2_DESCRIBE_SNAPSHOTS, None, 0);
            for v in 0..vols {
                let t = t0 + 15 + i64::from(v) * 60 + g.rng.random_range(0..20);
                g.push(t, job, &EC2_CREATE_SNAPSHOT, None, v);
                g.push(t + 30, job, &EC2_DELETE_SNAPSHOT, None, v);
            }
        }
        for (off, mins) in ci_bursts(cfg, day, a) {
            ci_burst(g, w, a, d0 + off, mins * 60);
        }
    }
}

fn rotation(g: &mut Gen, w: &World, a: usize, d0: i64) {
    let rot = w.id(a, "rotator");
    let t0 = d0 + ROTATION_START;
    for u in 0..ROTATED_USERS.len() as u32 {
        let t = t0 + 10 + i64::from(u) * 90 + g.rng.random_range(0..20);
        g.push(t, rot, &IAM_LIST_ACCESS_KEYS, None, u);
        g.push(t + 2, rot, &IAM_CREATE_ACCESS_KEY, None, u);
        g.push(t + 30, rot, &IAM_UPDATE_ACCESS_KEY, None, u);
        g.push(t + 45, rot, &IAM_DELETE_ACCESS_KEY, None, u);
    }
    for u in 0..ROTATED_USERS.len() as u32 {
        let t = t0 + 400 + i64::from(u) * 40 + g.rng.random_range(0..20);
        g.push(t, rot, &SM_ROTATE_SECRET, None, u);
    }
}

fn ci_burst(g: &mut Gen, w: &World, a: usize, start: i64, dur: i64) {
    let ci = w.id(a, "ci");
    let end = start + dur;
    g.push(start, w.id(a, "ci-web"), &STS_ASSUME_ROLE_WEB, None, 1);
    g.push(start + 2, ci, &STS_GET_CALLER_IDENTITY, None, 0);
    for _ in 0..g.rng.random_range(5..=15) {
        let t = start + g.rng.random_range(3..120);
        g.push(t, ci, &S3_PUT_OBJECT, None, 1);
    }
    let cs = start + 125;
    g.push(cs, ci, &CFN_CREATE_CHANGE_SET, None, 0);
    let polls = g.rng.random_range(3..=8);
    for k in 0..polls {
        g.push(cs + 5 + 5 * k, ci, &CFN_DESCRIBE_CHANGE_SET, None, 0);
    }
    let ex = cs + 10 + 5 * polls;
    g.push(ex, ci, &CFN_EXECUTE_CHANGE_SET, None, 0);
    // Poll the stack every ~15 s until the end of the burst.
    let mut t = ex + 3;
    while t < end {
        let api = if g.rng.random_bool(0.5) {
            &CFN_DESCRIBE_STACKS
        } else {
            &CFN_DESCRIBE_STACK_EVENTS
        };
        let err = g.rng.random_bool(0.01).then_some(ErrKind::Throttled);
        g.push(t, ci, api, err, 0);
        t += g.rng.random_range(5..=20);
    }
    let mid = (ex + end) / 2;
    for k in 0..g.rng.random_range(2..=5) {
        let t = (mid + k * 20).min(end - 1);
        g.push(t, ci, &LAMBDA_UPDATE_CODE, None, k as u32);
        g.push(
            (t + 4).min(end - 1),
            ci,
            &LAMBDA_GET_FUNCTION,
            None,
            k as u32,
        );
    }
    for k in 0..g.rng.random_range(1..=3) {
        let t = (mid + 150 + k * 10).min(end - 1);
        g.push(t, ci, &ECS_UPDATE_SERVICE, None, k as u32);
        let mut p = t + 10;
        while p < end {
            g.push(p, ci, &ECS_DESCRIBE_SERVICES, None, k as u32);
            p += 30;
        }
    }
}

fn inject(g: &mut Gen, w: &World, inc: &Incident) {
    // Own RNG so the incident's content does not depend on the background.
    let mut rng = SmallRng::seed_from_u64(inc.seed);
    let a = inc.account;
    let dur = inc.end - inc.start;
    let at = |rng: &mut SmallRng| inc.start + rng.random_range(0..dur);
    match inc.kind {
        IncKind::ProvisioningSpike => {
            let ci = w.id(a, "ci");
            for _ in 0..inc.count {
                let err = rng.random_bool(0.1).then_some(ErrKind::Capacity);
                let t = at(&mut rng);
                g.push(t, ci, &EC2_RUN_INSTANCES, err, 1);
            }
        }
        IncKind::IamBurst => {
            let k = w.id(a, "leaked");
            let users = rng.random_range(2..=3u32);
            let mut seq: Vec<(&'static Api, u32)> =
                vec![(&STS_GET_CALLER_IDENTITY, 0), (&IAM_LIST_USERS, 0)];
            for u in 0..users {
                for api in [
                    &IAM_CREATE_USER,
                    &IAM_CREATE_ACCESS_KEY,
                    &IAM_ATTACH_USER_POLICY,
                    &IAM_CREATE_LOGIN_PROFILE,
                    &IAM_PUT_USER_POLICY,
                ] {
                    seq.push((api, 100 + u));
                }
            }
            for _ in 0..rng.random_range(0..=6) {
                seq.push((&IAM_GET_USER, 100 + rng.random_range(0..users)));
            }
            let step = dur / seq.len() as i64;
            for (i, (api, var)) in seq.into_iter().enumerate() {
                let t = inc.start + i as i64 * step + rng.random_range(0..step.max(1));
                g.push(t, k, api, None, var);
            }
        }
        IncKind::DeniedEnum => {
            let k = w.id(a, "recon");
            let mut menu: Vec<&'static Api> = vec![
                &EC2_DESCRIBE_INSTANCES,
                &EC2_DESCRIBE_VPCS,
                &EC2_DESCRIBE_SGS,
                &EC2_DESCRIBE_SNAPSHOTS,
                &EC2_DESCRIBE_KEY_PAIRS,
                &EC2_DESCRIBE_REGIONS,
                &S3_LIST_BUCKETS,
                &LAMBDA_LIST_FUNCTIONS,
                &RDS_DESCRIBE_DB_INSTANCES,
                &SM_LIST_SECRETS,
                &KMS_LIST_KEYS,
                &DDB_LIST_TABLES,
                &LOGS_DESCRIBE_LOG_GROUPS,
                &CT_DESCRIBE_TRAILS,
            ];
            if inc.region == USE1 {
                menu.extend([
                    &IAM_LIST_USERS,
                    &IAM_LIST_ROLES,
                    &IAM_LIST_POLICIES,
                    &IAM_GET_ACCOUNT_SUMMARY,
                ]);
            }
            for _ in 0..inc.count {
                // EC2 is the most probed service: half of the calls.
                let api = if rng.random_bool(0.5) {
                    menu[rng.random_range(0..6)]
                } else {
                    menu[rng.random_range(6..menu.len())]
                };
                let err = rng.random_bool(0.85).then_some(ErrKind::Denied);
                let t = at(&mut rng);
                g.push(t, k, api, err, 0);
            }
        }
        IncKind::ThrottleStorm => {
            let k = w.id(a, "app");
            for _ in 0..inc.count {
                let err = rng.random_bool(0.75).then_some(ErrKind::Throttled);
                let t = at(&mut rng);
                g.push(t, k, &SSM_GET_PARAMETER, err, 0);
            }
        }
        IncKind::ReadSpike => {
            let k = w.id(a, "app");
            for _ in 0..inc.count {
                let t = at(&mut rng);
                g.push(t, k, &SM_GET_SECRET_VALUE, None, 0);
            }
        }
        IncKind::RareAction => {
            let k = w.id(a, "carol");
            g.push(
                inc.start + rng.random_range(0..60),
                k,
                &CT_STOP_LOGGING,
                None,
                0,
            );
            for j in 0..inc.count {
                let t = inc.start + 120 + i64::from(j) * 60 + rng.random_range(0..60);
                g.push(t, k, &EC2_STOP_INSTANCES, None, j);
            }
        }
        // Suppressions, handled by `background` and `jobs`.
        IncKind::CallDrop | IncKind::BackupGap => {}
    }
}

// ---------------------------------------------------------------- labels

fn utc(t: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t, 0).expect("in range")
}

#[allow(clippy::too_many_arguments)]
fn label(
    id: String,
    kind: &str,
    decoy: bool,
    a: usize,
    r: usize,
    api: &Api,
    names: &[&Api],
    principal: String,
    start: i64,
    end: i64,
    description: String,
) -> Label {
    Label {
        id,
        kind: kind.to_string(),
        decoy,
        account: ACCOUNTS[a].id.to_string(),
        region: REGIONS[r].to_string(),
        event_source: api.source.to_string(),
        event_names: names.iter().map(|x| x.name.to_string()).collect(),
        principal: Some(principal),
        start: utc(start),
        end: utc(end),
        description,
    }
}

/// Incident labels, in plan order.
pub(super) fn incident_labels(w: &World, plan: &Plan) -> Vec<Label> {
    let mut out = Vec::new();
    for (i, inc) in plan.incidents.iter().enumerate() {
        let (a, r) = (inc.account, inc.region);
        let alias = ACCOUNTS[a].alias;
        let region = REGIONS[r];
        let mins = (inc.end - inc.start) / 60;
        let (kind, api, names, who, desc): (&str, &Api, Vec<&Api>, &str, String) = match inc.kind {
            IncKind::ProvisioningSpike => (
                "provisioning_spike",
                &EC2_RUN_INSTANCES,
                vec![&EC2_RUN_INSTANCES],
                "ci",
                format!("{} RunInstances of GPU instance types (p4d/p5/g5) in {mins} min by the CI role in {alias}/{region}", inc.count),
            ),
            IncKind::IamBurst => (
                "iam_burst",
                &IAM_CREATE_USER,
                vec![&IAM_LIST_USERS, &IAM_CREATE_USER, &IAM_CREATE_ACCESS_KEY, &IAM_ATTACH_USER_POLICY, &IAM_CREATE_LOGIN_PROFILE, &IAM_PUT_USER_POLICY],
                "leaked",
                format!("leaked access key of svc-reporting used from {} to create admin users in {mins} min", IP_LEAKED[0]),
            ),
            IncKind::DeniedEnum => {
                let mut names = vec![
                    &EC2_DESCRIBE_INSTANCES,
                    &EC2_DESCRIBE_VPCS,
                    &EC2_DESCRIBE_SGS,
                    &EC2_DESCRIBE_SNAPSHOTS,
                    &EC2_DESCRIBE_KEY_PAIRS,
                    &EC2_DESCRIBE_REGIONS,
                    &S3_LIST_BUCKETS,
                    &LAMBDA_LIST_FUNCTIONS,
                    &RDS_DESCRIBE_DB_INSTANCES,
                    &SM_LIST_SECRETS,
                    &KMS_LIST_KEYS,
                    &DDB_LIST_TABLES,
                    &LOGS_DESCRIBE_LOG_GROUPS,
                    &CT_DESCRIBE_TRAILS,
                ];
                if r == USE1 {
                    names.extend([&IAM_LIST_USERS, &IAM_LIST_ROLES, &IAM_LIST_POLICIES, &IAM_GET_ACCOUNT_SUMMARY]);
                }
                (
                    "error_rate",
                    &EC2_DESCRIBE_INSTANCES,
                    names,
                    "recon",
                    format!(
                        "{} List/Describe/Get calls across services (half EC2), ~85% AccessDenied / Client.UnauthorizedOperation, with stolen task-role credentials from {} in {mins} min",
                        inc.count, IP_RECON[0]
                    ),
                )
            }
            IncKind::ThrottleStorm => (
                "error_rate",
                &SSM_GET_PARAMETER,
                vec![&SSM_GET_PARAMETER],
                "app",
                format!("{} ssm GetParameter calls in {mins} min, ~75% ThrottlingException (retry storm)", inc.count),
            ),
            IncKind::ReadSpike => (
                "call_rate_spike",
                &SM_GET_SECRET_VALUE,
                vec![&SM_GET_SECRET_VALUE],
                "app",
                format!("{} GetSecretValue in {mins} min, ~50x the normal rate", inc.count),
            ),
            IncKind::CallDrop => (
                "call_rate_drop",
                &EC2_DESCRIBE_INSTANCES,
                vec![&EC2_DESCRIBE_INSTANCES],
                "monitor",
                format!("monitoring collector's DescribeInstances drops to ~2% of normal for {mins} min"),
            ),
            IncKind::BackupGap => (
                "maintenance_gap",
                &EC2_CREATE_SNAPSHOT,
                vec![&EC2_CREATE_SNAPSHOT, &EC2_DELETE_SNAPSHOT],
                "backup",
                "nightly EBS backup (CreateSnapshot for 8 volumes, 02:00-02:10 UTC) did not run".to_string(),
            ),
            IncKind::RareAction => (
                "rare_action",
                &CT_STOP_LOGGING,
                vec![&CT_STOP_LOGGING, &EC2_STOP_INSTANCES],
                "carol",
                format!("carol.ops stops CloudTrail logging, then {} StopInstances on prod; never done before", inc.count),
            ),
        };
        let id = format!("inc-{:02}-{kind}", i + 1);
        out.push(label(
            id,
            kind,
            false,
            a,
            r,
            api,
            &names,
            w.principal(a, who),
            inc.start,
            inc.end,
            desc,
        ));
    }
    out
}

/// Decoy labels: recurring bursts inside the evaluation window.
pub(super) fn decoy_labels(cfg: &SimConfig, w: &World, plan: &Plan) -> Vec<Label> {
    let mut out = Vec::new();
    let mut push =
        |kind: &str, a, r, api: &Api, names: &[&Api], who: &str, s: i64, e: i64, desc: String| {
            let id = format!("decoy-{:03}-{kind}", out.len() + 1);
            out.push(label(
                id,
                kind,
                true,
                a,
                r,
                api,
                names,
                w.principal(a, who),
                s,
                e,
                desc,
            ));
        };
    for day in plan.eval_start_day..cfg.days {
        let d0 = day_start(cfg, day);
        let wd = weekday(cfg.start, day);
        for a in [PROD, STAGING] {
            if !plan.backup_skipped(day, a, USE1) {
                let desc = format!(
                    "nightly EBS backup of {} volumes (runs every night)",
                    backup_volumes(a)
                );
                push(
                    "call_rate_spike",
                    a,
                    USE1,
                    &EC2_CREATE_SNAPSHOT,
                    &[&EC2_CREATE_SNAPSHOT, &EC2_DELETE_SNAPSHOT],
                    "backup",
                    d0 + BACKUP_START,
                    d0 + BACKUP_END,
                    desc,
                );
            }
            for (off, mins) in ci_bursts(cfg, day, a) {
                push(
                    "call_rate_spike",
                    a,
                    USE1,
                    &CFN_DESCRIBE_STACKS,
                    &[
                        &CFN_CREATE_CHANGE_SET,
                        &CFN_DESCRIBE_CHANGE_SET,
                        &CFN_EXECUTE_CHANGE_SET,
                        &CFN_DESCRIBE_STACKS,
                        &CFN_DESCRIBE_STACK_EVENTS,
                        &LAMBDA_UPDATE_CODE,
                        &ECS_UPDATE_SERVICE,
                    ],
                    "ci",
                    d0 + off,
                    d0 + off + mins * 60,
                    format!("CI/CD deploy burst of {mins} min (2-4 every weekday)"),
                );
            }
        }
        if wd == Weekday::Sun {
            push(
                "iam_burst",
                PROD,
                USE1,
                &IAM_CREATE_ACCESS_KEY,
                &[
                    &IAM_LIST_ACCESS_KEYS,
                    &IAM_CREATE_ACCESS_KEY,
                    &IAM_UPDATE_ACCESS_KEY,
                    &IAM_DELETE_ACCESS_KEY,
                ],
                "rotator",
                d0 + ROTATION_START,
                d0 + ROTATION_END,
                "weekly access-key and secret rotation (every Sunday 03:00 UTC)".to_string(),
            );
        }
        let (off, mins, n) = asg_wave(cfg, day);
        push(
            "provisioning_spike",
            PROD,
            USE1,
            &EC2_RUN_INSTANCES,
            &[&EC2_RUN_INSTANCES],
            "autoscaling",
            d0 + off,
            d0 + off + mins * 60,
            format!("autoscaling scale-out of {n} instances at the daily peak (every day)"),
        );
    }
    out
}
