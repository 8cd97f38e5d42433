//! Tests of the simulator: determinism, exact counts, layout, labels.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde_json::Value;

use super::*;

fn cfg(days: u32, scale: f64, seed: u64) -> SimConfig {
    SimConfig {
        days,
        seed,
        scale,
        ..SimConfig::default()
    }
}

/// A scratch directory, on tmpfs when there is one: creating thousands of
/// small files on ext4 (after earlier test runs deleted theirs) costs more
/// kernel time than generating them.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new()
            .prefix("trailsight-sim")
            .tempdir_in(shm)
        {
            return d;
        }
    }
    tempfile::tempdir().expect("tempdir")
}

fn run(c: &SimConfig) -> (tempfile::TempDir, SimSummary) {
    let dir = scratch();
    let s = simulate(c, dir.path(), &|_, _| {}).expect("simulate");
    (dir, s)
}

fn files(root: &Path) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(p).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(root, &mut v);
    v.sort();
    v
}

/// (path relative to the output, records) of every trail file.
fn read_trail(root: &Path) -> Vec<(String, Vec<Value>)> {
    files(&root.join("AWSLogs"))
        .into_iter()
        .map(|p| {
            let mut s = String::new();
            MultiGzDecoder::new(std::fs::File::open(&p).expect("open"))
                .read_to_string(&mut s)
                .expect("gunzip");
            // FromStr is compiled (optimised) in serde_json; from_str would be generic here.
            let v: Value = s.parse().expect("json");
            let recs = v["Records"].as_array().expect("Records").clone();
            let rel = p
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            (rel, recs)
        })
        .collect()
}

fn principal(r: &Value) -> String {
    let u = &r["userIdentity"];
    match u["type"].as_str() {
        Some("AssumedRole") => u["sessionContext"]["sessionIssuer"]["arn"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        Some("AWSService") => u["invokedBy"].as_str().unwrap_or("").to_string(),
        _ => u["arn"].as_str().unwrap_or("").to_string(),
    }
}

fn time(r: &Value) -> DateTime<Utc> {
    r["eventTime"]
        .as_str()
        .expect("eventTime")
        .parse()
        .expect("time")
}

#[test]
fn validate_rejects_out_of_range() {
    assert!(SimConfig::default().validate().is_ok());
    for (c, field) in [
        (cfg(0, 1.0, 1), "days"),
        (cfg(401, 1.0, 1), "days"),
        (cfg(3, 0.0, 1), "scale"),
        (cfg(3, 100.5, 1), "scale"),
        (cfg(3, f64::NAN, 1), "scale"),
    ] {
        match c.validate() {
            Err(SimError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected InvalidConfig for {field}, got {other:?}"),
        }
    }
    let msg = cfg(0, 1.0, 1).validate().unwrap_err().to_string();
    assert!(msg.contains("days") && msg.contains("1..=400"), "{msg}");
}

#[test]
fn deterministic_and_refuses_existing_trail() {
    let c = cfg(3, 0.02, 7);
    let (a, sa) = run(&c);
    let (b, sb) = run(&c);
    assert_eq!(sa, sb);
    let fa = files(a.path());
    let fb = files(b.path());
    let rel = |root: &Path, v: &[PathBuf]| {
        v.iter()
            .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
            .collect::<Vec<_>>()
    };
    assert_eq!(rel(a.path(), &fa), rel(b.path(), &fb));
    for (x, y) in fa.iter().zip(&fb) {
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
    // A different seed gives a different trail.
    let (_c, sc) = run(&cfg(3, 0.02, 8));
    assert_ne!(sa.records_written, sc.records_written);
    // Writing again into the same output is refused.
    assert!(matches!(
        simulate(&c, a.path(), &|_, _| {}),
        Err(SimError::OutputExists { .. })
    ));
}

#[test]
fn summary_counts_layout_and_record_shape() {
    let c = cfg(6, 0.02, 42);
    let calls = std::sync::Mutex::new(Vec::new());
    let dir = scratch();
    let s = simulate(&c, dir.path(), &|d, t| calls.lock().unwrap().push((d, t))).unwrap();
    let calls = calls.into_inner().unwrap();
    assert_eq!(calls, (1..=6).map(|d| (d, 6)).collect::<Vec<_>>());

    let trail = read_trail(dir.path());
    assert_eq!(trail.len() as u64, s.files);
    let mut records = 0u64;
    let mut by_id: BTreeMap<String, (Value, usize, String)> = BTreeMap::new();
    let (mut mgmt, mut data, mut dups) = (0u64, 0u64, 0u64);
    let (mut first, mut last) = (None::<DateTime<Utc>>, None::<DateTime<Utc>>);
    let mut org_files = 0;
    let mut bytes = 0usize;
    for (path, recs) in &trail {
        // AWSLogs/[o-…/]<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_YYYYMMDDTHHMMZ_<16>.json.gz
        let parts: Vec<&str> = path.split('/').collect();
        let parts = if parts[1].starts_with("o-") {
            org_files += 1;
            assert_eq!(parts[1], "o-a1b2c3d4e5");
            [&parts[..1], &parts[2..]].concat()
        } else {
            parts
        };
        assert_eq!(parts.len(), 8, "{path}");
        let (acct, region) = (parts[1], parts[3]);
        assert_eq!(parts[0], "AWSLogs");
        assert!(
            acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit()),
            "{path}"
        );
        assert_eq!(parts[2], "CloudTrail");
        assert!(s.regions.iter().any(|r| r == region));
        let name = parts[7];
        let prefix = format!(
            "{acct}_CloudTrail_{region}_{}{}{}T",
            parts[4], parts[5], parts[6]
        );
        assert!(name.starts_with(&prefix), "{path}");
        let rest = &name[prefix.len()..];
        assert!(
            rest.ends_with(".json.gz") && rest.len() == "HHMMZ_".len() + 16 + ".json.gz".len(),
            "{path}"
        );
        assert!(
            rest[6..22].bytes().all(|b| b.is_ascii_alphanumeric()),
            "{path}"
        );
        assert!(!recs.is_empty());

        let mut prev = None;
        for r in recs {
            records += 1;
            bytes += r.to_string().len();
            let t = time(r);
            assert!(
                prev.is_none_or(|p| p <= t),
                "records out of order in {path}"
            );
            prev = Some(t);
            assert_eq!(r["recipientAccountId"], acct);
            assert_eq!(r["awsRegion"], region);
            for f in [
                "eventVersion",
                "userIdentity",
                "eventSource",
                "eventName",
                "sourceIPAddress",
                "userAgent",
                "requestID",
                "eventType",
                "eventCategory",
            ] {
                assert!(!r[f].is_null(), "{f} missing in {r}");
            }
            assert!(r.get("requestParameters").is_some() && r.get("responseElements").is_some());
            let name = r["eventName"].as_str().unwrap();
            let ro = r["readOnly"].as_bool().unwrap();
            if name.starts_with("Describe") || name.starts_with("List") || name.starts_with("Get") {
                assert!(ro, "{name} should be readOnly");
            }
            if name.starts_with("Create")
                || name.starts_with("Delete")
                || name.starts_with("Put")
                || name.starts_with("Run")
            {
                assert!(!ro, "{name} should not be readOnly");
            }
            let id = r["eventID"].as_str().unwrap().to_string();
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4", "UUID v4");
            if let Some((orig, _, orig_path)) = by_id.get(&id) {
                assert_eq!(orig, r, "duplicate delivery differs");
                assert!(
                    orig_path.as_str() < path.as_str(),
                    "duplicate must be in a later file"
                );
                assert_eq!(
                    orig_path.rsplit_once('/').unwrap().0,
                    path.rsplit_once('/').unwrap().0,
                    "same account/region/day"
                );
                assert_eq!(r["eventCategory"], "Management");
                dups += 1;
                continue;
            }
            by_id.insert(id, (r.clone(), 0, path.clone()));
            match r["eventCategory"].as_str() {
                Some("Management") => {
                    assert_eq!(r["managementEvent"], true);
                    mgmt += 1;
                }
                Some("Data") => {
                    assert_eq!(r["managementEvent"], false);
                    assert!(r["resources"].is_array());
                    data += 1;
                }
                other => panic!("eventCategory {other:?}"),
            }
            first = Some(first.map_or(t, |f| f.min(t)));
            last = Some(last.map_or(t, |l| l.max(t)));
        }
    }
    assert_eq!(records, s.records_written);
    assert_eq!(mgmt, s.management_events);
    assert_eq!(data, s.data_events);
    assert_eq!(dups, s.duplicate_deliveries);
    assert_eq!(records, mgmt + data + dups);
    assert_eq!(Some(s.first_event), first);
    assert_eq!(Some(s.last_event), last);
    assert!(dups > 0, "no duplicate deliveries");
    assert!(data > 0 && org_files > 0);
    let avg = bytes / records as usize;
    assert!((900..2200).contains(&avg), "average record size {avg}");

    // Variety of identities, event types and errors.
    let all: Vec<&Value> = by_id.values().map(|(v, _, _)| v).collect();
    let types: BTreeSet<&str> = all
        .iter()
        .filter_map(|r| r["userIdentity"]["type"].as_str())
        .collect();
    for t in [
        "AssumedRole",
        "IAMUser",
        "AWSService",
        "Root",
        "WebIdentityUser",
    ] {
        assert!(types.contains(t), "no {t} identity");
    }
    let ets: BTreeSet<&str> = all.iter().filter_map(|r| r["eventType"].as_str()).collect();
    assert_eq!(
        ets,
        BTreeSet::from(["AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent"])
    );
    let errors = all.iter().filter(|r| r.get("errorCode").is_some()).count();
    assert!(errors > 0);
    // Global services are recorded in us-east-1 only.
    for r in &all {
        let src = r["eventSource"].as_str().unwrap();
        if src == "iam.amazonaws.com" || src == "signin.amazonaws.com" {
            assert_eq!(r["awsRegion"], "us-east-1");
        }
    }

    // labels.json round-trips and carries the summary.
    let labels: Labels =
        serde_json::from_slice(&std::fs::read(dir.path().join("labels.json")).unwrap()).unwrap();
    assert_eq!(labels.summary, s);
    assert_eq!(labels.config, c);
    assert!(!dir.path().join("labels.json.tmp").exists());
}

#[test]
fn incidents_and_decoys_are_in_the_trail() {
    labels_match_the_trail(WorldName::Default);
}

#[test]
fn judge_world_incidents_and_decoys_are_in_the_trail() {
    labels_match_the_trail(WorldName::Judge);
}

/// Every label of `world` names records that are in the trail, and behaves as its kind says.
fn labels_match_the_trail(world: WorldName) {
    let c = SimConfig {
        world,
        ..cfg(6, 0.02, 3)
    };
    let (dir, s) = run(&c);
    let labels: Labels =
        serde_json::from_slice(&std::fs::read(dir.path().join("labels.json")).unwrap()).unwrap();
    let trail = read_trail(dir.path());
    // One compact row per record, so each label's scan is cheap.
    struct Row {
        t: DateTime<Utc>,
        account: String,
        region: String,
        name: String,
        principal: String,
        error: bool,
    }
    let rows: Vec<Row> = trail
        .iter()
        .flat_map(|(_, r)| r.iter())
        .map(|r| Row {
            t: time(r),
            account: r["recipientAccountId"].as_str().unwrap().to_string(),
            region: r["awsRegion"].as_str().unwrap().to_string(),
            name: r["eventName"].as_str().unwrap().to_string(),
            principal: principal(r),
            error: r.get("errorCode").is_some(),
        })
        .collect();
    drop(trail);
    let (w0, w1) = evaluation_window(&c);
    assert_eq!(w1 - w0, chrono::TimeDelta::days(2));

    let kinds: BTreeSet<&str> = labels.incidents.iter().map(|l| l.kind.as_str()).collect();
    for k in [
        "call_rate_spike",
        "call_rate_drop",
        "error_rate",
        "provisioning_spike",
        "iam_burst",
        "maintenance_gap",
        "rare_action",
    ] {
        assert!(kinds.contains(k), "no {k} incident");
    }
    let day = chrono::TimeDelta::days(1);
    let in_label = |l: &Label, r: &Row, from: DateTime<Utc>, to: DateTime<Utc>| {
        r.t >= from
            && r.t < to
            && r.account == l.account
            && r.region == l.region
            && l.event_names.contains(&r.name)
            && Some(&r.principal) == l.principal.as_ref()
    };
    let matching = |l: &Label, from, to| rows.iter().filter(|r| in_label(l, r, from, to)).count();
    for l in &labels.incidents {
        assert!(!l.decoy);
        assert!(
            l.start >= w0 && l.end <= w1 && l.start < l.end,
            "{} outside the window",
            l.id
        );
        assert!(l.start >= s.first_event);
        let n = matching(l, l.start, l.end);
        match l.kind.as_str() {
            "maintenance_gap" => {
                assert_eq!(n, 0, "{}: the backup ran", l.id);
                assert!(matching(l, l.start - day, l.end - day) >= 8, "{}", l.id);
            }
            "call_rate_drop" => {
                // The same window on the previous day has the normal rate.
                let before = matching(l, l.start - day, l.end - day);
                assert!(
                    n * 5 <= before && before > 0,
                    "{}: {n} vs {before} the day before",
                    l.id
                );
            }
            _ => assert!(n >= 3, "{}: only {n} matching records", l.id),
        }
        if l.kind == "error_rate" {
            let errs = rows
                .iter()
                .filter(|r| in_label(l, r, l.start, l.end) && r.error)
                .count();
            assert!(errs * 2 > n, "{}: {errs} errors of {n}", l.id);
        }
        if l.kind == "rare_action" {
            // The principal never did its first action before.
            let before = rows
                .iter()
                .filter(|r| {
                    r.t < l.start
                        && Some(&r.principal) == l.principal.as_ref()
                        && r.name == l.event_names[0]
                })
                .count();
            assert_eq!(before, 0, "{}: {} done before", l.id, l.event_names[0]);
        }
    }
    assert!(!labels.decoys.is_empty());
    for l in &labels.decoys {
        assert!(l.decoy && l.start >= w0 && l.end <= w1);
        // The judging world names each decoy's family; the default world has none.
        assert_eq!(l.family.is_some(), world == WorldName::Judge, "{}", l.id);
        assert!(
            matching(l, l.start, l.end) >= 1,
            "{}: decoy not in the trail",
            l.id
        );
    }
    // Decoys recur in the history before the window (that is what makes them normal).
    let snapshots_before = rows
        .iter()
        .filter(|r| r.t < w0 && r.name == "CreateSnapshot")
        .count();
    assert!(snapshots_before >= 4 * 12);
    if world == WorldName::Judge {
        let families: BTreeSet<&str> = labels
            .decoys
            .iter()
            .filter_map(|l| l.family.as_deref())
            .collect();
        for f in [
            "aws-backup",
            "aws-config",
            "security-hub",
            "cspm-scanner",
            "terraform-refresh",
            "karpenter",
        ] {
            assert!(families.contains(f), "no {f} decoy in {families:?}");
        }
    }
}

#[test]
fn background_is_seasonal_and_overdispersed() {
    use chrono::{Datelike, Timelike};
    let c = cfg(7, 0.03, 11);
    let (dir, _) = run(&c);
    let trail = read_trail(dir.path());
    let mut business = 0usize;
    let mut other = 0usize;
    // Hourly counts of the app's kms Decrypt (prod, us-east-1) around the
    // afternoon peak of weekdays, where the diurnal profile is nearly flat.
    let mut hourly: BTreeMap<i64, f64> = BTreeMap::new();
    for (_, recs) in &trail {
        for r in recs {
            let t = time(r);
            let weekday = t.weekday().number_from_monday() <= 5;
            if r["eventName"] == "Decrypt"
                && r["awsRegion"] == "us-east-1"
                && r["recipientAccountId"] == "284715390162"
                && weekday
                && (13..17).contains(&t.hour())
            {
                *hourly.entry(t.timestamp() / 3600).or_default() += 1.0;
            }
            if principal(r).contains("AWSReservedSSO_ReadOnlyAccess") {
                if weekday && (8..18).contains(&t.hour()) {
                    business += 1;
                } else {
                    other += 1;
                }
            }
        }
    }
    assert!(
        business > 5 * other && other > 0,
        "business {business} vs other {other}"
    );
    assert_eq!(hourly.len(), 5 * 4);
    let n = hourly.len() as f64;
    let mean = hourly.values().sum::<f64>() / n;
    let var = hourly.values().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!(
        mean > 5.0 && var > 1.5 * mean,
        "hourly mean {mean} var {var}: not over-dispersed"
    );
}

/// `cargo test --release --lib simulate::tests::week_at_full_scale -- --ignored --nocapture`
#[test]
#[ignore]
fn week_at_full_scale() {
    let c = cfg(7, 1.0, 42);
    let dir = scratch();
    let t = std::time::Instant::now();
    let s = simulate(&c, dir.path(), &|d, n| eprintln!("day {d}/{n}")).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let size: u64 = files(dir.path())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    eprintln!("{s:#?}");
    eprintln!(
        "7 days scale 1.0: {secs:.1} s, {:.1} MB on disk, {:.0} records/day, {:.0} mgmt events/day",
        size as f64 / 1e6,
        s.records_written as f64 / 7.0,
        s.management_events as f64 / 7.0
    );
}

// ---------------------------------------------------------------- the world file

const WORLD: &str = include_str!("world.toml");

#[test]
fn shipped_judge_world_is_valid() {
    let w = world::World::from_toml(include_str!("judge.toml")).expect("judge.toml is valid");
    assert_eq!((w.accounts.len(), w.regions.len()), (3, 2));
    // Every decoy names its family, for the per-family table of `trailsight eval`.
    for s in &w.schedules {
        if let Some(d) = &s.decoy {
            assert!(d.family.is_some(), "{}: decoy without a family", s.name);
        }
    }
    assert!(std::ptr::eq(
        world::World::shipped(WorldName::Judge),
        world::World::shipped(WorldName::Judge)
    ));
}

#[test]
fn shipped_world_is_valid() {
    let w = world::World::from_toml(WORLD).expect("world.toml is valid");
    assert_eq!((w.accounts.len(), w.regions.len()), (3, 2));
    assert_eq!((w.schedules.len(), w.incidents.len()), (8, 8));
    // Every stream call made somewhere, and every actor key resolves in some account.
    for s in &w.streams {
        assert!(s.calls.iter().all(|c| !c.actors.is_empty()));
    }
    assert!(std::ptr::eq(
        world::World::builtin(),
        world::World::builtin()
    ));
}

/// The shipped file with `from` replaced by `to` must be refused with an error whose key and
/// message contain `key` and `says`.
fn refused(from: &str, to: &str, key: &str, says: &str) {
    assert!(WORLD.contains(from), "{from:?} not in world.toml");
    let e = match world::World::from_toml(&WORLD.replacen(from, to, 1)) {
        Ok(_) => panic!("accepted with {to:?}"),
        Err(e) => e,
    };
    assert!(
        e.key.contains(key) && e.message.contains(says),
        "{to:?}: {e}"
    );
}

#[test]
fn world_errors_name_the_key() {
    refused(
        r#"actors = ["monitor"]"#,
        r#"actors = ["monitr"]"#,
        "streams[0].actors",
        "\"monitr\"",
    );
    refused(
        r#"{ call = "kms:RotateKey","#,
        r#"{ call = "kms:RotateKeys","#,
        "schedules[1] (kms-key-rotation).steps[0].call",
        "unknown API \"kms:RotateKeys\"",
    );
    refused(
        r#"at = "query+2""#,
        r#"at = "qery+2""#,
        "(hourly-report).steps[0].steps[1].at",
        "\"qery\"",
    );
    refused(
        r#"skip = "nightly-backup""#,
        r#"skip = "nightly-backups""#,
        "incidents[6].skip",
        "nightly-backups",
    );
    refused(
        r#"same_identity_as = "app""#,
        r#"same_identity_as = "ap""#,
        "actors[",
        "\"ap\"",
    );
    refused(
        r#"profile = "flat""#,
        r#"profile = "flatt""#,
        "streams[0].calls[0]",
        "\"flatt\"",
    );
    refused(
        r#"accounts = ["security"]"#,
        r#"accounts = ["sec"]"#,
        "actors[2]",
        "\"sec\"",
    );
    refused(
        r#", "autoscaling-wave"]]"#,
        "]]",
        "decoy_order",
        "autoscaling-wave",
    );
    // A global service's API in an incident that may happen in eu-west-1.
    refused(
        r#"{ call = "ec2:RunInstances", var = 1"#,
        r#"{ call = "iam:CreateUser", var = 1"#,
        "incidents[0].steps[0].call",
        "global",
    );
    // Misspelt or misplaced keys are the TOML reader's errors, naming the key.
    refused(
        "gamma_shape = 20.0",
        "gama_shape = 20.0",
        "world.toml",
        "gama_shape",
    );
    refused(
        "rng_tag = 4",
        "rng_tag = 3",
        "(ci-deploys).occurs.rng_tag",
        "3 is taken",
    );
    refused(
        r#"var = "users+100""#,
        r#"var = "user+100""#,
        "incidents[1].steps[3].var",
        "\"user\"",
    );
}

/// A one-account world whose single schedule exercises the step runner.
const TINY: &str = r#"
regions = ["us-east-1", "eu-west-1"]
organization_id = "o-tiny"
volume = 1.0
global_services = ["iam"]
sign_in_user_agent = "browser"
decoy_order = [["job"]]
streams = []
incidents = []

[[accounts]]
id = "111122223333"
alias = "only"
ips = "own"
traffic = [1.0, 0.0]

[ips]
own = ["192.0.2.1"]

[user_agents]
bot = ["bot/1.0"]

[[actors]]
key = "bot"
identity = { type = "user", name = "bot" }
ips = "account"
user_agents = "bot"

[apis]
"ec2:DescribeInstances" = "read"
"ec2:DescribeVolumes" = "read"
"iam:ListUsers" = "read"

[profiles.flat]
form = "cosine"
peak_hour = 15.0
level = 1.0
swing = 0.0

[[schedules]]
name = "job"
actor = "bot"
days = "daily"
at = "01:00"
minutes = 10
count = 3
steps = [
    { call = "ec2:DescribeInstances", mark = "first" },
    { pick = ["ec2:DescribeVolumes", "iam:ListUsers"], at = "first+5", repeat = "count", every = 60, var = "index+7", next = "after" },
    { call = "iam:ListUsers", at = "after" },
    { call = "ec2:DescribeVolumes", at = 550, until = "end", every = 20 },
    { call = "ec2:DescribeInstances", at = "end+100" },
]
decoy = { kind = "call_rate_spike", description = "{count} at {region} by {ip} for {minutes} min" }
"#;

#[test]
fn step_runner_follows_the_format() {
    let w = world::World::from_toml(TINY).expect("tiny world");
    let c = cfg(3, 1.0, 9);
    let plan = model::Plan::new(&c, &w);
    let events = model::generate(&c, &w, &plan, 0, 0, 0);
    let d0 = model::day_start(&c, 0) + 3600;
    let got: Vec<(i64, &str, u32)> = events
        .iter()
        .map(|e| (e.t - d0, w.apis[usize::from(e.api)].name.as_str(), e.var))
        .collect();
    let picked: Vec<&str> = got[1..4].iter().map(|x| x.1).collect();
    assert!(picked
        .iter()
        .all(|n| ["DescribeVolumes", "ListUsers"].contains(n)));
    let times: Vec<(i64, u32)> = got.iter().map(|x| (x.0, x.2)).collect();
    assert_eq!(
        times,
        [
            (0, 0),
            (5, 7),
            (65, 8),
            (125, 9),
            (185, 0),
            (550, 0),
            (570, 0),
            (590, 0),
            (599, 0) // past the end: the last second of the window
        ]
    );
    // Outside the home region the schedule does not run; its decoy is labelled per run.
    assert!(model::generate(&c, &w, &plan, 0, 0, 1).is_empty());
    let decoys = model::decoy_labels(&c, &w, &plan);
    assert_eq!(decoys.len(), 1, "one evaluation day");
    assert_eq!(
        decoys[0].description,
        "3 at us-east-1 by 192.0.2.1 for 10 min"
    );
    assert_eq!(
        decoys[0].event_names,
        ["DescribeInstances", "DescribeVolumes", "ListUsers"]
    );
    assert_eq!(
        decoys[0].principal.as_deref(),
        Some("arn:aws:iam::111122223333:user/bot")
    );
}

/// `accounts` keeps the world's first accounts: the same plan, the other accounts' files and
/// labels left out, and the kept account's files byte for byte as in the whole trail.
#[test]
fn one_account_trail_is_the_first_account_of_the_whole() {
    let whole = cfg(3, 0.02, 5);
    let one = SimConfig {
        accounts: Some(1),
        ..whole.clone()
    };
    let (wd, ws) = run(&whole);
    let (od, os) = run(&one);
    assert_eq!(os.accounts, vec![ws.accounts[0].clone()]);
    let under = |root: &Path| -> Vec<PathBuf> {
        files(&root.join("AWSLogs"))
            .into_iter()
            .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
            .collect()
    };
    let kept: Vec<PathBuf> = under(wd.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(&ws.accounts[0]))
        .collect();
    let mut got = under(od.path());
    let mut want = kept.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for p in &want {
        assert_eq!(
            std::fs::read(wd.path().join(p)).unwrap(),
            std::fs::read(od.path().join(p)).unwrap()
        );
    }
    let labels: Labels =
        serde_json::from_slice(&std::fs::read(od.path().join("labels.json")).unwrap()).unwrap();
    assert!(labels
        .incidents
        .iter()
        .chain(&labels.decoys)
        .all(|l| l.account == ws.accounts[0]));
    assert!(SimConfig {
        accounts: Some(0),
        ..whole
    }
    .validate()
    .is_err());
}
