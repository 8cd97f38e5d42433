//! Rendering of one event into a full CloudTrail record (JSON).
//!
//! The output is a pure function of the event: ids and parameters come from an
//! RNG seeded with `Event::seed`, so a duplicate delivery is byte-identical.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};

use super::model::Event;
use super::world::{Actor, Api, Cat, ErrKind, Ident, World};

/// Service users whose keys the weekly rotation replaces (`var` 0..3).
const ROTATED_USERS: [&str; 3] = ["svc-reporting", "svc-etl", "svc-legacy-ftp"];
/// Users the leaked key creates (`var` 100..103).
const ATTACKER_USERS: [&str; 3] = ["backup-svc", "support-admin", "ops-automation"];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    event_version: &'static str,
    user_identity: Value,
    event_time: String,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    request_parameters: Value,
    response_elements: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_event_data: Option<Value>,
    #[serde(rename = "requestID")]
    request_id: String,
    #[serde(rename = "eventID")]
    event_id: String,
    read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<Value>,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: &'a str,
    event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_details: Option<Tls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_credential_from_console: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tls {
    tls_version: &'static str,
    cipher_suite: &'static str,
    client_provided_host_header: String,
}

/// Request, response, extra data and resources of a call.
struct Body {
    req: Value,
    resp: Value,
    extra: Option<Value>,
    resources: Option<Value>,
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";

fn chars(rng: &mut SmallRng, set: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| set[rng.random_range(0..set.len())] as char)
        .collect()
}

/// Characters of `set` derived from a hash, for stable ids (principal ids, keys).
fn hashed(mut h: u64, set: &[u8], n: usize) -> String {
    let mut s = String::with_capacity(n);
    for _ in 0..n {
        // SplitMix64 step: cheap, well mixed.
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        s.push(set[(z % set.len() as u64) as usize] as char);
    }
    s
}

/// Numeric account id, to derive per-account resource ids.
fn acct_seed(acct: &str) -> u64 {
    acct.parse().unwrap_or(0)
}

/// A random (version 4) UUID.
pub(super) fn uuid(rng: &mut SmallRng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

/// The 16-character alphanumeric suffix of a delivered file name.
pub(super) fn file_suffix(rng: &mut SmallRng) -> String {
    chars(rng, ALNUM, 16)
}

/// `2026-01-05T13:04:05Z`.
pub(super) fn iso(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .expect("in range")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn identity(actor: &Actor, acct: &str, t: i64) -> Value {
    // Sessions and their keys change hourly / daily; derive them from the hash.
    let hour = t.div_euclid(3600);
    let day = t.div_euclid(86_400);
    let session_key = || {
        format!(
            "ASIA{}",
            hashed(actor.hash ^ (day as u64).rotate_left(17), UPPER_ALNUM, 16)
        )
    };
    match &actor.ident {
        Ident::Role {
            name,
            path,
            session,
            invoked_by,
            mfa,
        } => {
            let role_id = format!("AROA{}", hashed(actor.hash, UPPER_ALNUM, 17));
            let mut v = json!({
                "type": "AssumedRole",
                "principalId": format!("{role_id}:{session}"),
                "arn": format!("arn:aws:sts::{acct}:assumed-role/{name}/{session}"),
                "accountId": acct,
                "accessKeyId": session_key(),
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_id,
                        "arn": format!("arn:aws:iam::{acct}:role/{path}{name}"),
                        "accountId": acct,
                        "userName": name,
                    },
                    "webIdFederationData": {},
                    "attributes": {
                        "creationDate": iso(hour * 3600),
                        "mfaAuthenticated": if *mfa { "true" } else { "false" },
                    },
                },
            });
            if let Some(svc) = invoked_by {
                v["invokedBy"] = json!(svc);
            }
            v
        }
        Ident::User { name } => {
            let mut v = json!({
                "type": "IAMUser",
                "principalId": format!("AIDA{}", hashed(actor.hash, UPPER_ALNUM, 17)),
                "arn": format!("arn:aws:iam::{acct}:user/{name}"),
                "accountId": acct,
                "accessKeyId": format!("AKIA{}", hashed(actor.hash ^ 0xacce55, UPPER_ALNUM, 16)),
                "userName": name,
            });
            if actor.console {
                v["accessKeyId"] = json!(session_key());
            }
            v
        }
        Ident::Root => json!({
            "type": "Root",
            "principalId": acct,
            "arn": format!("arn:aws:iam::{acct}:root"),
            "accountId": acct,
            "accessKeyId": "",
        }),
        Ident::Service { invoked_by } => json!({"type": "AWSService", "invokedBy": invoked_by}),
        Ident::WebIdentity { provider, sub, aud } => json!({
            "type": "WebIdentityUser",
            "principalId": format!("{provider}:{aud}:{sub}"),
            "userName": sub,
            "identityProvider": provider,
        }),
    }
}

fn host(api: &Api, region: &str) -> String {
    match api.service() {
        "iam" => "iam.amazonaws.com".to_string(),
        "s3" if api.cat == Cat::Mgmt => "s3.amazonaws.com".to_string(),
        svc => format!("{svc}.{region}.amazonaws.com"),
    }
}

/// `DescribeInstances` -> `describe-instances` for the CLI user agent.
fn kebab(name: &str) -> String {
    let base = name
        .trim_end_matches("20150331v2")
        .trim_end_matches("20150331");
    let mut s = String::with_capacity(base.len() + 4);
    for (i, c) in base.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('-');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

fn action(api: &Api) -> String {
    let svc = match api.service() {
        "monitoring" => "cloudwatch",
        s => s,
    };
    let name = api
        .name
        .trim_end_matches("20150331v2")
        .trim_end_matches("20150331");
    format!("{svc}:{name}")
}

fn error(e: ErrKind, api: &Api, who: &str) -> (&'static str, String) {
    let svc = api.service();
    let act = action(api);
    let denied_msg = format!("User: {who} is not authorized to perform: {act} because no identity-based policy allows the {act} action");
    match e {
        ErrKind::Denied => match svc {
            "ec2" => ("Client.UnauthorizedOperation", format!("You are not authorized to perform this operation. {denied_msg}")),
            "iam" | "sts" | "s3" | "cloudtrail" | "rds" | "elasticloadbalancing" | "cloudformation" | "monitoring" => {
                ("AccessDenied", denied_msg)
            }
            _ => ("AccessDeniedException", denied_msg),
        },
        ErrKind::Throttled => match svc {
            "ec2" => ("Client.RequestLimitExceeded", "Request limit exceeded.".to_string()),
            "iam" | "sts" | "cloudformation" | "rds" | "elasticloadbalancing" | "monitoring" => ("Throttling", "Rate exceeded".to_string()),
            "lambda" => ("TooManyRequestsException", "Rate Exceeded.".to_string()),
            _ => ("ThrottlingException", "Rate exceeded".to_string()),
        },
        // S3 names the missing bucket configuration; GetObject's NoSuchKey is the fallback.
        ErrKind::NotFound => match (svc, api.name.as_str()) {
            ("s3", "GetBucketPolicy") => ("NoSuchBucketPolicy", "The bucket policy does not exist".to_string()),
            ("s3", "GetBucketLifecycle") => ("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist".to_string()),
            ("s3", "GetBucketTagging") => ("NoSuchTagSet", "The TagSet does not exist".to_string()),
            ("s3", "GetBucketWebsite") => ("NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration".to_string()),
            ("s3", "GetBucketCors") => ("NoSuchCORSConfiguration", "The CORS configuration does not exist".to_string()),
            ("s3", "GetBucketReplication") => ("ReplicationConfigurationNotFoundError", "The replication configuration was not found".to_string()),
            ("s3", "GetBucketEncryption") => ("ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found".to_string()),
            ("s3", "GetBucketPublicAccessBlock") => ("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found".to_string()),
            ("iam", "GetAccountPasswordPolicy") => ("NoSuchEntityException", "The Password Policy with domain name 000000000000 cannot be found.".to_string()),
            ("iam", "GetCredentialReport") => ("ReportNotPresent", "Unknown".to_string()),
            ("iam", _) => ("NoSuchEntityException", "The specified entity cannot be found.".to_string()),
            ("lambda", _) => ("ResourceNotFoundException", "The resource you requested does not exist.".to_string()),
            (svc, _) => match svc {
            "ec2" => ("Client.InvalidSnapshot.NotFound", "The snapshot does not exist.".to_string()),
            "s3" => ("NoSuchKey", "The specified key does not exist.".to_string()),
            "ssm" => ("ParameterNotFound", String::new()),
            "cloudformation" => ("ValidationError", "Stack with id orders-api does not exist".to_string()),
            "secretsmanager" => ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.".to_string()),
            _ => ("ResourceNotFoundException", "Requested resource not found".to_string()),
            },
        },
        ErrKind::Capacity if api.name == "CreateFleet" => (
            "Client.InsufficientInstanceCapacity",
            "We currently do not have sufficient capacity in the Availability Zone you requested.".to_string(),
        ),
        ErrKind::Capacity => (
            "Client.VcpuLimitExceeded",
            "You have requested more vCPU capacity than your current vCPU limit of 192 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.".to_string(),
        ),
    }
}

fn instance_id(rng: &mut SmallRng) -> String {
    format!("i-0{}", chars(rng, HEX, 16))
}

const APP_BUCKETS: [&str; 3] = ["acme-orders-exports", "acme-app-assets", "acme-ml-features"];
const INSTANCE_TYPES: [&str; 4] = ["m6i.large", "m6i.xlarge", "c6i.2xlarge", "m7g.large"];
const GPU_TYPES: [&str; 3] = ["p4d.24xlarge", "p5.48xlarge", "g5.12xlarge"];
const SECRETS: [&str; 4] = [
    "prod/orders/db",
    "prod/orders/stripe",
    "prod/payments/api-key",
    "shared/datadog",
];
const PARAMS: [&str; 4] = [
    "/orders/feature-flags",
    "/orders/db/host",
    "/shared/otel/endpoint",
    "/payments/limits",
];
const FUNCTIONS: [&str; 5] = [
    "orders-api",
    "orders-worker",
    "payments-webhook",
    "image-resizer",
    "report-exporter",
];

fn body(ev: &Event, api: &Api, acct: &str, region: &str, rng: &mut SmallRng) -> Body {
    let none = |req: Value| Body {
        req,
        resp: Value::Null,
        extra: None,
        resources: None,
    };
    let az = format!("{region}{}", ['a', 'b', 'c'][rng.random_range(0..3)]);
    match api.name.as_str() {
        "DescribeInstances" => none(
            json!({"instancesSet": {}, "filterSet": {"items": [{"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]}, "maxResults": 1000}),
        ),
        "DescribeVolumes" => none(json!({"volumeSet": {}, "filterSet": {}, "maxResults": 500})),
        "DescribeSecurityGroups" | "DescribeVpcs" | "DescribeKeyPairs" => {
            none(json!({"filterSet": {}}))
        }
        "DescribeSnapshots" => none(
            json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}}),
        ),
        "DescribeRegions" => none(json!({"regionSet": {}, "allRegions": true})),
        "RunInstances" => {
            let gpu = ev.var == 1;
            let ty = if gpu {
                GPU_TYPES[rng.random_range(0..3)]
            } else {
                INSTANCE_TYPES[rng.random_range(0..4)]
            };
            let ami = format!("ami-0{}", chars(rng, HEX, 16));
            let subnet = format!("subnet-0{}", chars(rng, HEX, 16));
            let req = json!({
                "instancesSet": {"items": [{"imageId": ami, "minCount": 1, "maxCount": 1}]},
                "instanceType": ty,
                "blockDeviceMapping": {},
                "availabilityZone": az,
                "monitoring": {"enabled": false},
                "subnetId": subnet,
                "disableApiTermination": false,
                "disableApiStop": false,
                "clientToken": uuid(rng),
                "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Name", "value": if gpu { "training-node" } else { "orders-api-asg" }}]}]},
            });
            if ev.err.is_some() {
                return none(req);
            }
            let id = instance_id(rng);
            let ip = format!(
                "10.0.{}.{}",
                rng.random_range(0..64),
                rng.random_range(4..250)
            );
            let resp = json!({
                "requestId": uuid(rng),
                "reservationId": format!("r-0{}", chars(rng, HEX, 16)),
                "ownerId": acct,
                "groupSet": {},
                "instancesSet": {"items": [{
                    "instanceId": id,
                    "imageId": ami,
                    "currentInstanceBootMode": "legacy-bios",
                    "instanceState": {"code": 0, "name": "pending"},
                    "privateDnsName": format!("ip-{}.ec2.internal", ip.replace('.', "-")),
                    "amiLaunchIndex": 0,
                    "productCodes": {},
                    "instanceType": ty,
                    "launchTime": ev.t * 1000,
                    "placement": {"availabilityZone": az, "tenancy": "default"},
                    "monitoring": {"state": "disabled"},
                    "subnetId": subnet,
                    "privateIpAddress": ip,
                    "architecture": "x86_64",
                    "rootDeviceType": "ebs",
                    "rootDeviceName": "/dev/xvda",
                    "virtualizationType": "hvm",
                }]},
            });
            Body {
                req,
                resp,
                extra: None,
                resources: None,
            }
        }
        "TerminateInstances" | "StopInstances" => {
            let id = instance_id(rng);
            let (from, to) = if api.name == "StopInstances" {
                ((16, "running"), (64, "stopping"))
            } else {
                ((16, "running"), (32, "shutting-down"))
            };
            let req = json!({"instancesSet": {"items": [{"instanceId": id}]}, "force": false});
            let resp = json!({"requestId": uuid(rng), "instancesSet": {"items": [{"instanceId": id, "currentState": {"code": to.0, "name": to.1}, "previousState": {"code": from.0, "name": from.1}}]}});
            Body {
                req,
                resp,
                extra: None,
                resources: None,
            }
        }
        "CreateSnapshot" => {
            let vol = format!(
                "vol-0{}",
                hashed(u64::from(ev.var) ^ acct_seed(acct), HEX, 16)
            );
            let req = json!({"volumeId": vol, "description": "nightly-ebs-backup", "tagSpecificationSet": {"items": [{"resourceType": "snapshot", "tags": [{"key": "backup", "value": "nightly"}]}]}});
            let resp = json!({"requestId": uuid(rng), "snapshotId": format!("snap-0{}", chars(rng, HEX, 16)), "volumeId": vol, "status": "pending", "startTime": ev.t * 1000, "progress": "", "ownerId": acct, "volumeSize": 100, "encrypted": true});
            Body {
                req,
                resp,
                extra: None,
                resources: None,
            }
        }
        "DeleteSnapshot" => none(json!({"snapshotId": format!("snap-0{}", chars(rng, HEX, 16))})),
        "CreateTags" => none(
            json!({"resourcesSet": {"items": [{"resourceId": instance_id(rng)}]}, "tagSet": {"items": [{"key": "owner", "value": "platform"}]}}),
        ),
        "AuthorizeSecurityGroupIngress" => none(
            json!({"groupId": format!("sg-0{}", chars(rng, HEX, 16)), "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/16"}]}}]}}),
        ),
        "GetMetricData" => none(
            json!({"metricDataQueries": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/EC2", "metricName": "CPUUtilization"}, "period": 60, "stat": "Average"}}], "startTime": iso(ev.t - 900), "endTime": iso(ev.t)}),
        ),
        "DescribeAlarms" => none(json!({"stateValue": "ALARM", "maxRecords": 100})),
        "DescribeDBInstances" => none(json!({"maxRecords": 100})),
        "DescribeTargetHealth" => none(
            json!({"targetGroupArn": format!("arn:aws:elasticloadbalancing:{region}:{acct}:targetgroup/orders-api/{}", hashed(acct_seed(acct), HEX, 16))}),
        ),
        "DescribeServices" | "UpdateService" => {
            let svc = ["orders-api", "payments-api", "notifier"][rng.random_range(0..3)];
            let mut req = json!({"cluster": "prod-main", "services": [svc]});
            if api.name == "UpdateService" {
                req = json!({"cluster": "prod-main", "service": svc, "forceNewDeployment": true, "taskDefinition": format!("{svc}:{}", rng.random_range(100..400))});
            }
            none(req)
        }
        "ListFunctions20150331" => none(json!({"maxItems": 50})),
        "GetFunction20150331v2" | "UpdateFunctionCode20150331v2" => {
            let f = FUNCTIONS[ev.var as usize % FUNCTIONS.len()];
            if api.name.starts_with("Get") {
                return none(json!({"functionName": f}));
            }
            let req = json!({"functionName": f, "s3Bucket": "acme-deploy-artifacts", "s3Key": format!("{f}/{}.zip", chars(rng, HEX, 12)), "publish": true});
            let resp = json!({"functionName": f, "functionArn": format!("arn:aws:lambda:{region}:{acct}:function:{f}"), "runtime": "python3.12", "handler": "app.handler", "codeSize": rng.random_range(100_000..9_000_000), "timeout": 30, "memorySize": 512, "lastModified": iso(ev.t), "version": rng.random_range(10..300).to_string(), "state": "Active", "lastUpdateStatus": "InProgress", "architectures": ["arm64"]});
            Body {
                req,
                resp,
                extra: None,
                resources: None,
            }
        }
        "Invoke" => {
            let f = FUNCTIONS[rng.random_range(0..FUNCTIONS.len())];
            let arn = format!("arn:aws:lambda:{region}:{acct}:function:{f}");
            Body {
                req: json!({"functionName": arn, "invocationType": "Event", "sourceArn": format!("arn:aws:sqs:{region}:{acct}:orders-events")}),
                resp: Value::Null,
                extra: Some(json!({"functionVersion": format!("{arn}:$LATEST")})),
                resources: Some(
                    json!([{"accountId": acct, "type": "AWS::Lambda::Function", "ARN": arn}]),
                ),
            }
        }
        "ListBuckets" => none(json!({"Host": "s3.amazonaws.com"})),
        "GetBucketPolicy" => none(
            json!({"bucketName": APP_BUCKETS[rng.random_range(0..3)], "Host": "s3.amazonaws.com", "policy": ""}),
        ),
        "GetObject" | "PutObject" => {
            let bucket = if ev.var == 1 {
                "acme-deploy-artifacts"
            } else {
                APP_BUCKETS[rng.random_range(0..3)]
            };
            let key = format!(
                "{}/{}/{}.json",
                ["orders", "exports", "features"][rng.random_range(0..3)],
                iso(ev.t).get(..10).unwrap_or(""),
                chars(rng, HEX, 20)
            );
            let put = api.name == "PutObject";
            let bytes: u64 = rng.random_range(300..400_000);
            Body {
                req: json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "key": key}),
                resp: if put {
                    json!({"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": format!("arn:aws:kms:{region}:{acct}:key/{}", uuid(rng))})
                } else {
                    Value::Null
                },
                extra: Some(json!({
                    "SignatureVersion": "SigV4",
                    "CipherSuite": "TLS_AES_128_GCM_SHA256",
                    "bytesTransferredIn": if put { bytes } else { 0 },
                    "AuthenticationMethod": "AuthHeader",
                    "x-amz-id-2": chars(rng, ALNUM, 56),
                    "bytesTransferredOut": if put { 0 } else { bytes },
                })),
                resources: Some(json!([
                    {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")},
                    {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")},
                ])),
            }
        }
        "Decrypt" | "GenerateDataKey" => {
            let key = format!(
                "arn:aws:kms:{region}:{acct}:key/{}",
                [
                    "0b6c3f1e-8a2d-4c7b-9e5f-1d3a7c9b2e4f",
                    "5e2a9d71-3c4b-4f8e-a1d6-7b0c2e9f3a58"
                ][rng.random_range(0..2)]
            );
            let ctx = if rng.random_bool(0.5) {
                json!({"SecretARN": format!("arn:aws:secretsmanager:{region}:{acct}:secret:{}", SECRETS[rng.random_range(0..4)]), "SecretVersionId": uuid(rng)})
            } else {
                json!({"aws:s3:arn": format!("arn:aws:s3:::{}", APP_BUCKETS[rng.random_range(0..3)])})
            };
            let mut req =
                json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": ctx});
            if api.name == "GenerateDataKey" {
                req = json!({"keyId": key, "keySpec": "AES_256", "encryptionContext": ctx});
            }
            Body {
                req,
                resp: Value::Null,
                extra: None,
                resources: Some(json!([{"accountId": acct, "type": "AWS::KMS::Key", "ARN": key}])),
            }
        }
        "ListKeys" | "ListSecrets" | "ListTables" | "DescribeLogGroups" => none(Value::Null),
        "RotateKey" => Body {
            req: Value::Null,
            resp: Value::Null,
            extra: Some(json!({"keyId": uuid(rng)})),
            resources: None,
        },
        "GetSecretValue" => none(
            json!({"secretId": format!("arn:aws:secretsmanager:{region}:{acct}:secret:{}-{}", SECRETS[rng.random_range(0..4)], chars(rng, ALNUM, 6))}),
        ),
        "RotateSecret" => {
            let id = format!(
                "arn:aws:secretsmanager:{region}:{acct}:secret:{}/access-key-{}",
                ROTATED_USERS[ev.var as usize % 3],
                hashed(u64::from(ev.var), ALNUM, 6)
            );
            Body {
                req: json!({"secretId": id, "clientRequestToken": uuid(rng)}),
                resp: json!({"versionId": uuid(rng)}),
                extra: None,
                resources: None,
            }
        }
        "GetParameter" => {
            none(json!({"name": PARAMS[rng.random_range(0..4)], "withDecryption": true}))
        }
        "StartSession" => {
            let target = instance_id(rng);
            let user = "alice";
            Body {
                req: json!({"target": target}),
                resp: json!({"sessionId": format!("{user}-{}", chars(rng, HEX, 17)), "tokenValue": "Value hidden due to security reasons.", "streamUrl": format!("wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/{user}-{}", chars(rng, HEX, 17))}),
                extra: None,
                resources: None,
            }
        }
        "AssumeRole" | "AssumeRoleWithWebIdentity" => {
            let web = api.name == "AssumeRoleWithWebIdentity";
            let (role, session) = if web {
                if ev.var == 1 {
                    ("github-actions-deploy", "GitHubActions")
                } else {
                    ("payments-api-irsa", "botocore-session-1767600000")
                }
            } else {
                [
                    ("cross-account-reader", "orders-api"),
                    ("data-lake-writer", "etl"),
                    ("orders-api-task", "ecs-task"),
                ][rng.random_range(0..3)]
            };
            let role_arn = format!("arn:aws:iam::{acct}:role/{role}");
            let role_id = format!("AROA{}", hashed(role.len() as u64 * 7919, UPPER_ALNUM, 17));
            let expiry = chrono::DateTime::from_timestamp(ev.t + 3600, 0)
                .expect("in range")
                .format("%b %-d, %Y, %-I:%M:%S %p")
                .to_string();
            let req =
                json!({"roleArn": role_arn, "roleSessionName": session, "durationSeconds": 3600});
            let resp = json!({
                "credentials": {"accessKeyId": format!("ASIA{}", chars(rng, UPPER_ALNUM, 16)), "sessionToken": chars(rng, ALNUM, 160), "expiration": expiry},
                "assumedRoleUser": {"assumedRoleId": format!("{role_id}:{session}"), "arn": format!("arn:aws:sts::{acct}:assumed-role/{role}/{session}")},
            });
            Body {
                req,
                resp,
                extra: None,
                resources: Some(
                    json!([{"accountId": acct, "type": "AWS::IAM::Role", "ARN": role_arn}]),
                ),
            }
        }
        "GetCallerIdentity" => none(Value::Null),
        "ConsoleLogin" => Body {
            req: Value::Null,
            resp: json!({"ConsoleLogin": "Success"}),
            extra: Some(
                json!({"LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_c1b2d3", "MobileVersion": "No", "MFAUsed": "Yes"}),
            ),
            resources: None,
        },
        "GetRole" => none(
            json!({"roleName": (["orders-api-task", "MonitoringCollector", "github-actions-deploy"][rng.random_range(0..3)])}),
        ),
        "ListRoles" | "ListUsers" | "ListPolicies" => none(json!({"maxItems": 100})),
        "GetUser" => none(json!({"userName": ATTACKER_USERS[ev.var as usize % 3]})),
        "ListAccessKeys" | "UpdateAccessKey" | "DeleteAccessKey" | "CreateAccessKey" => {
            let user = ROTATED_USERS[ev.var as usize % 3];
            let user = if ev.var >= 100 {
                ATTACKER_USERS[(ev.var - 100) as usize % 3]
            } else {
                user
            };
            let key = format!("AKIA{}", chars(rng, UPPER_ALNUM, 16));
            match api.name.as_str() {
                "CreateAccessKey" => Body {
                    req: json!({"userName": user}),
                    resp: json!({"accessKey": {"userName": user, "accessKeyId": key, "status": "Active", "createDate": chrono::DateTime::from_timestamp(ev.t, 0).expect("in range").format("%b %-d, %Y, %-I:%M:%S %p").to_string()}}),
                    extra: None,
                    resources: None,
                },
                "UpdateAccessKey" => {
                    none(json!({"userName": user, "accessKeyId": key, "status": "Inactive"}))
                }
                "DeleteAccessKey" => none(json!({"userName": user, "accessKeyId": key})),
                _ => none(json!({"userName": user})),
            }
        }
        "CreateUser" => {
            let user = ATTACKER_USERS[ev.var as usize % 3];
            Body {
                req: json!({"userName": user}),
                resp: json!({"user": {"path": "/", "userName": user, "userId": format!("AIDA{}", chars(rng, UPPER_ALNUM, 17)), "arn": format!("arn:aws:iam::{acct}:user/{user}"), "createDate": chrono::DateTime::from_timestamp(ev.t, 0).expect("in range").format("%b %-d, %Y, %-I:%M:%S %p").to_string()}}),
                extra: None,
                resources: None,
            }
        }
        "AttachUserPolicy" => none(
            json!({"userName": ATTACKER_USERS[ev.var as usize % 3], "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ),
        "CreateLoginProfile" => none(
            json!({"userName": ATTACKER_USERS[ev.var as usize % 3], "passwordResetRequired": false}),
        ),
        "PutUserPolicy" => none(
            json!({"userName": ATTACKER_USERS[ev.var as usize % 3], "policyName": "inline-admin", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
        ),
        "GetAccountSummary" | "ListMFADevices" => none(Value::Null),
        "DescribeStacks" | "DescribeStackEvents" => none(json!({"stackName": "orders-api"})),
        "CreateChangeSet" => {
            let cs = format!("deploy-{}", chars(rng, HEX, 8));
            let req = json!({"stackName": "orders-api", "templateURL": format!("https://acme-deploy-artifacts.s3.amazonaws.com/orders-api/{}.template", chars(rng, HEX, 12)), "capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"], "changeSetName": cs, "changeSetType": "UPDATE"});
            let resp = json!({"id": format!("arn:aws:cloudformation:{region}:{acct}:changeSet/{cs}/{}", uuid(rng)), "stackId": format!("arn:aws:cloudformation:{region}:{acct}:stack/orders-api/{}", hashed(acct_seed(acct), HEX, 32))});
            Body {
                req,
                resp,
                extra: None,
                resources: None,
            }
        }
        "DescribeChangeSet" | "ExecuteChangeSet" => none(
            json!({"stackName": "orders-api", "changeSetName": format!("deploy-{}", chars(rng, HEX, 8))}),
        ),
        "StopLogging" => {
            none(json!({"name": format!("arn:aws:cloudtrail:us-east-1:{acct}:trail/org-trail")}))
        }
        "DescribeTrails" | "GetTrailStatus" => {
            none(json!({"trailNameList": [], "includeShadowTrails": true}))
        }
        "LookupEvents" => none(
            json!({"lookupAttributes": [{"attributeKey": "EventName", "attributeValue": "ConsoleLogin"}], "maxResults": 50}),
        ),
        "FilterLogEvents" => none(
            json!({"logGroupName": format!("/ecs/{}", ["orders-api", "payments-api", "notifier"][rng.random_range(0..3)]), "filterPattern": "ERROR", "startTime": (ev.t - 3600) * 1000, "endTime": ev.t * 1000, "interleaved": true}),
        ),
        "DescribeTable" => {
            none(json!({"tableName": (["orders", "payments", "sessions"][rng.random_range(0..3)])}))
        }
        "StartQueryExecution" => {
            let req = json!({"queryString": "SELECT date_trunc('hour', ts) AS h, count(*) FROM orders.events WHERE ts > now() - interval '1' hour GROUP BY 1", "clientRequestToken": uuid(rng), "queryExecutionContext": {"database": "orders"}, "workGroup": "reporting"});
            Body {
                req,
                resp: json!({"queryExecutionId": uuid(rng)}),
                extra: None,
                resources: None,
            }
        }
        "GetQueryExecution" | "GetQueryResults" => none(json!({"queryExecutionId": uuid(rng)})),
        "ListFindings" | "GetFindings" => {
            none(json!({"detectorId": hashed(acct_seed(acct), HEX, 32), "maxResults": 50}))
        }
        "ListClusters" => none(Value::Null),
        _ => none(Value::Null),
    }
}

/// Appends the JSON of `ev`, delivered in `region`, to `out`.
pub(super) fn render(w: &World, region: usize, ev: &Event, out: &mut Vec<u8>) {
    let mut rng = SmallRng::seed_from_u64(ev.seed);
    let actor = &w.actors[usize::from(ev.actor)];
    let acct = w.accounts[actor.account].id.as_str();
    let region_s = w.regions[region].as_str();
    let api = &w.apis[usize::from(ev.api)];
    let event_id = uuid(&mut rng);
    let request_id = if api.service() == "s3" {
        chars(&mut rng, b"0123456789ABCDEF", 16)
    } else {
        uuid(&mut rng)
    };
    let ip = actor.ips[rng.random_range(0..actor.ips.len())].as_str();
    let mut ua = if api.cat == Cat::SignIn && !matches!(actor.ident, Ident::Service { .. }) {
        w.sign_in_user_agent.clone()
    } else {
        actor.uas[rng.random_range(0..actor.uas.len())].clone()
    };
    if ua.ends_with("command/") {
        ua.push_str(api.service());
        ua.push('.');
        ua.push_str(&kebab(&api.name));
    }
    let mut b = body(ev, api, acct, region_s, &mut rng);
    let (error_code, error_message) = match ev.err {
        Some(e) => {
            let who = match &actor.ident {
                Ident::Role { name, session, .. } => {
                    format!("arn:aws:sts::{acct}:assumed-role/{name}/{session}")
                }
                _ => actor.principal.clone(),
            };
            let (c, m) = error(e, api, &who);
            b.resp = Value::Null;
            (Some(c), Some(m))
        }
        None => (None, None),
    };
    let service_side = matches!(actor.ident, Ident::Service { .. })
        || matches!(
            actor.ident,
            Ident::Role {
                invoked_by: Some(_),
                ..
            }
        );
    let tls = (!service_side && api.cat != Cat::SignIn).then(|| Tls {
        tls_version: if rng.random_bool(0.8) {
            "TLSv1.3"
        } else {
            "TLSv1.2"
        },
        cipher_suite: "TLS_AES_128_GCM_SHA256",
        client_provided_host_header: host(api, region_s),
    });
    // Older services still log 1.08/1.09; newer events 1.10.
    let version = match api.service() {
        "signin" | "iam" | "sts" => "1.08",
        "s3" | "ec2" | "kms" => "1.10",
        _ => "1.09",
    };
    let (event_type, category, management) = match api.cat {
        Cat::Mgmt => ("AwsApiCall", "Management", true),
        Cat::Data => ("AwsApiCall", "Data", false),
        Cat::SignIn => ("AwsConsoleSignIn", "Management", true),
        Cat::Service => ("AwsServiceEvent", "Management", true),
    };
    let rec = Record {
        event_version: version,
        user_identity: identity(actor, acct, ev.t),
        event_time: iso(ev.t),
        event_source: &api.source,
        event_name: &api.name,
        aws_region: region_s,
        source_ip_address: ip,
        user_agent: ua,
        error_code,
        error_message,
        request_parameters: b.req,
        response_elements: b.resp,
        additional_event_data: b.extra,
        request_id,
        event_id,
        read_only: api.read_only,
        resources: b.resources,
        event_type,
        management_event: management,
        recipient_account_id: acct,
        event_category: category,
        tls_details: tls,
        session_credential_from_console: (actor.console
            && api.cat != Cat::SignIn
            && !matches!(actor.ident, Ident::Root))
        .then_some("true"),
    };
    serde_json::to_writer(&mut *out, &rec).expect("serializing to a Vec cannot fail");
}
