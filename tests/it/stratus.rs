//! Real attacks: Stratus Red Team samples (real CloudTrail records of each technique) moved into
//! the simulated prod account, time-shifted into the evaluation window of 35 simulated days, must
//! each raise the finding kind the issue promises (IAM persistence → `iam_burst` or
//! `rare_action`, defence evasion → `rare_action`, provisioning → `provisioning_spike` or
//! `rare_action`), on the attacker's own principal and at the attack's time.
//!
//! One simulated trail, one state: the techniques are spaced [`SPACING`] apart so that no two
//! share a detector window (the largest is 60 minutes) and each finding belongs to one technique.
//! The test prints one line per technique, so its output doubles as a report; every technique
//! must be caught, as exactly one incident on the attacker's principal.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use trailsight::config::Config;
use trailsight::finding::FindingKind::{IamBurst, ProvisioningSpike, RareAction};
use trailsight::finding::{Finding, FindingKind};
use trailsight::ingest::IngestOptions;
use trailsight::pipeline::{detect::detect_into, fit::fit, ingest::ingest_local, no_progress};
use trailsight::simulate::{evaluation_window, simulate, SimConfig};
use trailsight::state::StateDir;
use trailsight::time::TimeRange;

use crate::support::*;

/// The simulated production account and region the attacks are moved into.
const ACCOUNT: &str = "284715390162";
const REGION: &str = "us-east-1";

/// Time between two techniques' first records.
const SPACING: Duration = Duration::hours(3);

/// A technique under test: its sample's file stem and the finding kinds that count as caught.
struct Technique {
    name: &'static str,
    expect: &'static [FindingKind],
}

const IAM: &[FindingKind] = &[IamBurst, RareAction];
const RARE: &[FindingKind] = &[RareAction];
const PROVISIONING: &[FindingKind] = &[ProvisioningSpike, RareAction];

/// The sample families under test (file-name prefixes).
const FAMILIES: &[&str] = &[
    "aws.persistence.",
    "aws.privilege-escalation.",
    "aws.defense-evasion.",
    "aws.execution.ec2-launch-unusual-instances",
];

/// Every IAM persistence, privilege escalation, defence evasion and resource
/// provisioning/execution technique among the samples. The Lambda persistence techniques create
/// no resource (AddPermission, UpdateFunctionConfiguration, UpdateFunctionCode on an existing
/// function): they are persistence by a sensitive write, which `rare_action` is for.
const TECHNIQUES: &[Technique] = &[
    t("aws.persistence.iam-backdoor-role", IAM),
    t("aws.persistence.iam-backdoor-user", IAM),
    t("aws.persistence.iam-create-admin-user", IAM),
    t("aws.persistence.iam-create-backdoor-role", IAM),
    t("aws.persistence.iam-create-user-login-profile", IAM),
    t("aws.persistence.lambda-backdoor-function", RARE),
    t("aws.persistence.lambda-layer-extension", RARE),
    t("aws.persistence.lambda-overwrite-code", RARE),
    t("aws.persistence.rolesanywhere-create-trust-anchor", IAM),
    t("aws.persistence.sts-federation-token", IAM),
    t(
        "aws.privilege-escalation.iam-update-user-login-profile",
        IAM,
    ),
    t("aws.defense-evasion.cloudtrail-delete", RARE),
    t("aws.defense-evasion.cloudtrail-event-selectors", RARE),
    t("aws.defense-evasion.cloudtrail-stop", RARE),
    t("aws.defense-evasion.dns-delete-logs", RARE),
    t("aws.defense-evasion.organizations-leave", RARE),
    t("aws.defense-evasion.vpc-remove-flow-logs", RARE),
    t("aws.execution.ec2-launch-unusual-instances", PROVISIONING),
];

const fn t(name: &'static str, expect: &'static [FindingKind]) -> Technique {
    Technique { name, expect }
}

/// A technique's records after rewriting, with what the check needs.
struct Injected {
    principal: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    writes: Vec<String>,
}

#[test]
fn stratus_attacks_in_simulated_background_raise_the_expected_findings() {
    let dir_in = fixtures().join("stratus-red-team");
    // Every sample of the families under test is in TECHNIQUES: a new one is not skipped silently.
    for e in std::fs::read_dir(&dir_in).unwrap() {
        let file = e.unwrap().file_name().into_string().unwrap();
        let Some(name) = file.strip_suffix(".json") else {
            continue;
        };
        if FAMILIES.iter().any(|f| name.starts_with(f)) {
            assert!(
                TECHNIQUES.iter().any(|t| t.name == name),
                "new sample {name}: add it to TECHNIQUES"
            );
        }
    }
    let clock = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("trail");
    let state = tmp.path().join("state");
    let cfg = SimConfig {
        days: 35,
        seed: 7,
        scale: 0.03,
        ..SimConfig::default()
    };
    simulate(&cfg, &trail, &|_, _| {}).unwrap();
    let (from, to) = evaluation_window(&cfg);

    // Day 2 of the window, 10:00 UTC, then one technique every SPACING.
    let first_slot = from + Duration::days(1) + Duration::hours(10);
    let mut all = Vec::new();
    let mut injected = Vec::new();
    for (i, tech) in TECHNIQUES.iter().enumerate() {
        let path = dir_in.join(format!("{}.json", tech.name));
        let records: Vec<Value> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let at = first_slot + SPACING * i32::try_from(i).unwrap();
        let (records, inj) = rewrite(tech.name, records, at);
        assert!(inj.end < to, "{}: placed past the window", tech.name);
        all.extend(records);
        injected.push(inj);
    }
    let attacks = write(&tmp.path().join("stratus.json"), &records_doc(&all));

    let state = StateDir::new(&state);
    let s = ingest_local(
        &state,
        &[trail.join("AWSLogs"), attacks],
        &IngestOptions::default(),
        &no_progress,
    )
    .unwrap();
    assert_eq!(s.bad_records, 0, "{:#?}", s.problems);
    let conf = Config::default();
    fit(&state, &conf, from.timestamp()).unwrap();
    let d = detect_into(
        &state,
        &conf,
        TimeRange {
            start: from.timestamp(),
            end: to.timestamp(),
        },
        &tmp.path().join("findings"),
    )
    .unwrap();

    let mut missed = Vec::new();
    let mut split = Vec::new();
    println!(
        "{} findings in the window; per technique: principal [writes] expected → got",
        d.findings.len()
    );
    for (tech, inj) in TECHNIQUES.iter().zip(&injected) {
        let mine: Vec<&Finding> = d
            .findings
            .iter()
            .filter(|f| about(f, &inj.principal) && overlaps(f, inj.start, inj.end))
            .collect();
        let caught = mine.iter().any(|f| tech.expect.contains(&f.kind));
        // The user is alerted once per technique: one incident on the attacker's principal.
        let incidents = d
            .incidents
            .iter()
            .filter(|i| {
                i.principals.iter().any(|p| p == &inj.principal)
                    && i.start < inj.end
                    && inj.start < i.end
            })
            .count();
        if incidents != 1 {
            split.push((tech.name, incidents));
        }
        let got = if mine.is_empty() {
            "nothing".to_string()
        } else {
            mine.iter()
                .map(|f| format!("{} {:.1} [{}]", f.kind, f.score, f.event_names.join(",")))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let verdict = if caught {
            "ok"
        } else {
            missed.push(tech.name);
            "MISS"
        };
        let expect: Vec<&str> = tech.expect.iter().map(|k| k.as_str()).collect();
        println!(
            "  {verdict:<6} {:<55} {} [{}] expected {} → {incidents} incident(s): {got}",
            tech.name,
            inj.principal,
            inj.writes.join(","),
            expect.join("|"),
        );
    }
    println!(
        "{} of {} techniques caught in {:.1} s",
        TECHNIQUES.len() - missed.len(),
        TECHNIQUES.len(),
        clock.elapsed().as_secs_f64()
    );
    assert!(missed.is_empty(), "not detected: {missed:?}");
    assert!(split.is_empty(), "not exactly one incident: {split:?}");
}

/// Whether `f` is about `principal`: its own principal, or its top principal attribution.
fn about(f: &Finding, principal: &str) -> bool {
    f.principal.as_deref() == Some(principal)
        || f.attributions
            .principal
            .first()
            .is_some_and(|a| a.value == principal)
}

/// Whether `f`'s window overlaps `[start, end)`.
fn overlaps(f: &Finding, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    f.start < end && start < f.end
}

/// Moves a sample into the simulated prod account and region, its first record at `at`,
/// keeping relative times and eventIDs; returns the records and the attacker's principal.
fn rewrite(name: &str, mut records: Vec<Value>, at: DateTime<Utc>) -> (Vec<Value>, Injected) {
    let time = |r: &Value| {
        DateTime::parse_from_rfc3339(r["eventTime"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    let first = records.iter().map(time).min().unwrap();
    let last = records.iter().map(time).max().unwrap();
    let shift = at - first;
    let mut principals = BTreeSet::new();
    let mut writes = Vec::new();
    for r in &mut records {
        let old_account = r["recipientAccountId"]
            .as_str()
            .or(r["userIdentity"]["accountId"].as_str())
            .unwrap()
            .to_string();
        let old_region = r["awsRegion"].as_str().unwrap().to_string();
        let t = time(r) + shift;
        replace_ids(r, &old_account, &old_region);
        r["eventTime"] = Value::String(t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        r["awsRegion"] = Value::String(REGION.into());
        r["recipientAccountId"] = Value::String(ACCOUNT.into());
        r["userIdentity"]["accountId"] = Value::String(ACCOUNT.into());
        if !r["readOnly"].as_bool().unwrap_or(false) {
            principals.insert(principal_of(&r["userIdentity"]));
            writes.push(r["eventName"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        principals.len(),
        1,
        "{name}: the writes are by {principals:?}, expected one attacker"
    );
    let inj = Injected {
        principal: principals.into_iter().next().unwrap(),
        start: at,
        end: last + shift + Duration::seconds(1),
        writes,
    };
    (records, inj)
}

/// The principal trailsight attributes a record to: the issuing role or user for assumed-role
/// and federated sessions, else the identity's ARN.
fn principal_of(u: &Value) -> String {
    let arn = match u["type"].as_str() {
        Some("AssumedRole" | "FederatedUser") => &u["sessionContext"]["sessionIssuer"]["arn"],
        _ => &u["arn"],
    };
    arn.as_str().unwrap().to_string()
}

/// Rewrites, everywhere in `v`, the sample's account id (alone, and inside ARNs such as
/// `arn:aws:iam::<id>:user/x` or `arn:aws:lambda:<region>:<id>:function:f`) and its region
/// inside ARNs.
fn replace_ids(v: &mut Value, account: &str, region: &str) {
    match v {
        Value::String(s) => {
            if s == account {
                *s = ACCOUNT.to_string();
            } else if s.starts_with("arn:") {
                *s = s
                    .replace(&format!(":{account}:"), &format!(":{ACCOUNT}:"))
                    .replace(&format!(":{region}:"), &format!(":{REGION}:"));
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace_ids(x, account, region)),
        Value::Object(o) => o.values_mut().for_each(|x| replace_ids(x, account, region)),
        _ => {}
    }
}
