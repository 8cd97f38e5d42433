//! Tests of the findings contract, and the hand-built findings other tests use.

use super::*;
use chrono::TimeZone;
use serde_json::{json, Value};

pub(crate) fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

pub(crate) fn attr(value: &str, ic: u64, is: f64, bc: u64, bs: f64) -> Attribution {
    Attribution {
        value: value.into(),
        insight_count: ic,
        insight_share: is,
        baseline_count: bc,
        baseline_share: bs,
    }
}

/// A call-rate spike, an error-rate finding and an IAM burst, built by hand.
pub(crate) fn sample() -> Vec<Finding> {
    let baseline_window = TimeRange::new(
        t(2025, 12, 8, 10, 0).timestamp(),
        t(2026, 1, 5, 10, 0).timestamp(),
    );
    let spike_names = vec!["RunInstances".to_string()];
    let details = Details::CallRate(details::CallRateDetails {
        dispersion: 0.35,
        new_series: false,
    });
    let spike = Finding {
        id: Finding::stable_id(
            FindingKind::CallRateSpike,
            "111122223333",
            "us-east-1",
            "ec2.amazonaws.com",
            &spike_names,
            None,
            None,
            t(2026, 1, 5, 10, 0),
        ),
        kind: FindingKind::CallRateSpike,
        account: "111122223333".into(),
        region: "us-east-1".into(),
        event_source: "ec2.amazonaws.com".into(),
        event_names: spike_names,
        read_only: Some(false),
        principal: None,
        error_code: None,
        start: t(2026, 1, 5, 10, 0),
        end: t(2026, 1, 5, 10, 10),
        score: 97.5,
        severity: Severity::from_score(97.5),
        p_value: 1.25e-9,
        observed: Amount {
            total: 420.0,
            per_minute: 42.0,
        },
        expected: Amount {
            total: 3.0,
            per_minute: 0.3,
        },
        baseline_window,
        attributions: Attributions {
            principal: vec![
                attr(
                    "arn:aws:iam::111122223333:role/ci-deployer",
                    400,
                    0.952381,
                    200,
                    0.5,
                ),
                attr(
                    "arn:aws:iam::111122223333:role/autoscaler",
                    20,
                    0.047619,
                    200,
                    0.5,
                ),
            ],
            user_agent: vec![attr("aws-cli/2.15.0", 420, 1.0, 400, 1.0)],
            source_ip: vec![attr("203.0.113.7", 420, 1.0, 0, 0.0)],
            error_code: vec![],
        },
        explanation: "RunInstances in 111122223333/us-east-1: 420 calls in 10 min \
                      (42.0/min) against an expected 0.3/min."
            .into(),
        example_event_ids: vec!["0a1b2c3d-0000-4000-8000-000000000001".into()],
        access_key_ids: vec!["ASIAEXAMPLEKEY000001".into()],
        details,
        incident_id: None,
    };

    let err_names = vec!["GetSecretValue".to_string()];
    let errors = Finding {
        id: Finding::stable_id(
            FindingKind::ErrorRate,
            "111122223333",
            "eu-west-1",
            "secretsmanager.amazonaws.com",
            &err_names,
            None,
            Some("AccessDenied"),
            t(2026, 1, 5, 10, 30),
        ),
        kind: FindingKind::ErrorRate,
        account: "111122223333".into(),
        region: "eu-west-1".into(),
        event_source: "secretsmanager.amazonaws.com".into(),
        event_names: err_names,
        read_only: Some(true),
        principal: None,
        error_code: Some("AccessDenied".into()),
        start: t(2026, 1, 5, 10, 30),
        end: t(2026, 1, 5, 10, 35),
        score: 81.0,
        severity: Severity::from_score(81.0),
        p_value: 3.0e-6,
        observed: Amount {
            total: 60.0,
            per_minute: 12.0,
        },
        expected: Amount {
            total: 0.05,
            per_minute: 0.01,
        },
        baseline_window,
        attributions: Attributions {
            principal: vec![attr(
                "arn:aws:iam::111122223333:user/mallory",
                60,
                1.0,
                0,
                0.0,
            )],
            user_agent: vec![attr("python-requests/2.31", 60, 1.0, 0, 0.0)],
            source_ip: vec![attr("198.51.100.23", 60, 1.0, 0, 0.0)],
            error_code: vec![attr("AccessDenied", 60, 1.0, 12, 1.0)],
        },
        explanation: "GetSecretValue returned AccessDenied 60 times in 5 min; \
                      the baseline is 0.01/min."
            .into(),
        example_event_ids: vec![],
        access_key_ids: vec!["AKIAEXAMPLEKEY000002".into()],
        details: Details::default(),
        incident_id: None,
    };

    let iam_names = vec!["CreateUser".to_string(), "CreateAccessKey".to_string()];
    let principal = "arn:aws:iam::444455556666:user/intern";
    let iam = Finding {
        id: Finding::stable_id(
            FindingKind::IamBurst,
            "444455556666",
            "us-east-1",
            "iam.amazonaws.com",
            &iam_names,
            Some(principal),
            None,
            t(2026, 1, 5, 22, 1),
        ),
        kind: FindingKind::IamBurst,
        account: "444455556666".into(),
        region: "us-east-1".into(),
        event_source: "iam.amazonaws.com".into(),
        event_names: iam_names,
        read_only: None,
        principal: Some(principal.into()),
        error_code: None,
        start: t(2026, 1, 5, 22, 1),
        end: t(2026, 1, 5, 22, 7),
        score: 45.0,
        severity: Severity::from_score(45.0),
        p_value: 0.02,
        observed: Amount {
            total: 14.0,
            per_minute: 2.3333333333,
        },
        expected: Amount {
            total: 0.0,
            per_minute: 0.0,
        },
        baseline_window,
        attributions: Attributions::default(),
        explanation: "CreateUser by arn:aws:iam::444455556666:user/intern 14 calls in 6 min; \
                      this principal made 0 IAM writes in the previous 28 days."
            .into(),
        example_event_ids: vec![],
        access_key_ids: vec![],
        details: Details::default(),
        incident_id: None,
    };
    vec![iam, spike, errors]
}

use crate::testing::check_golden;

#[test]
fn finding_jsonl_matches_golden_file() {
    check_golden("findings.jsonl", &to_jsonl(&sample()));
}

#[test]
fn insights_match_golden_file() {
    check_golden("insights.json", &to_insights_string(&sample()));
}

#[test]
fn jsonl_has_fixed_schema_and_formats() {
    let text = to_jsonl(&sample());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(text.ends_with('\n'));
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let first: Value = serde_json::from_str(lines[0]).unwrap();
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(keys(&v), keys(&first), "every line has the same keys");
        // 22 fields, and the incident the finding belongs to (null until grouped).
        assert_eq!(v.as_object().unwrap().len(), 23);
    }
    // The IAM burst (lowest score, last line) has nulls, not missing keys.
    let last: Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(last["kind"], "iam_burst");
    assert_eq!(last["read_only"], Value::Null);
    assert_eq!(last["error_code"], Value::Null);
    assert_eq!(last["incident_id"], Value::Null);
    assert_eq!(last["severity"], "low");
    assert_eq!(last["start"], "2026-01-05T22:01:00Z");
    assert_eq!(last["baseline_window"]["start"], "2025-12-08T10:00:00Z");
    assert!(last["score"].is_f64());
    assert_eq!(first["kind"], "call_rate_spike");
    assert_eq!(first["severity"], "critical");
    assert_eq!(first["p_value"], json!(1.25e-9));
}

#[test]
fn timestamps_drop_subseconds_and_accept_offsets() {
    let mut f = sample().remove(1);
    f.start =
        Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap() + chrono::Duration::milliseconds(999);
    let v = serde_json::to_value(&f).unwrap();
    assert_eq!(v["start"], "2026-01-05T10:00:00Z");
    let mut v2 = v.clone();
    v2["end"] = json!("2026-01-05T12:10:00+02:00");
    let back: Finding = serde_json::from_value(v2).unwrap();
    assert_eq!(back.end, t(2026, 1, 5, 10, 10));
    let mut bad = v;
    bad["end"] = json!("yesterday");
    let err = serde_json::from_value::<Finding>(bad).unwrap_err();
    assert!(err.to_string().contains("invalid RFC 3339"), "{err}");
}

#[test]
fn write_then_read_round_trips_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("findings.jsonl");
    let mut v = sample();
    write_jsonl(&path, &v).unwrap();
    // Overwriting works too.
    write_jsonl(&path, &v).unwrap();
    let back = read_jsonl(&path).unwrap();
    sort_findings(&mut v);
    assert_eq!(back, v);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("findings.jsonl")]);

    let ipath = dir.path().join("insights.json");
    write_insights(&ipath, &v).unwrap();
    let parsed: Value = serde_json::from_str(&fs::read_to_string(&ipath).unwrap()).unwrap();
    assert_eq!(parsed, to_insights(&v));
}

#[test]
fn read_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.jsonl");
    let mut text = to_jsonl(&sample());
    text.push('\n'); // a blank line is fine
    text.push_str("{\"id\": \"x\"}\n");
    fs::write(&path, text).unwrap();
    match read_jsonl(&path) {
        Err(e @ FindingError::Parse { line: 5, .. }) => {
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("{}:5: ", path.display())), "{msg}");
        }
        other => panic!("expected a parse error on line 5, got {other:?}"),
    }
    let missing = dir.path().join("nope.jsonl");
    match read_jsonl(&missing) {
        Err(e @ FindingError::Io { .. }) => {
            assert!(e.to_string().contains("nope.jsonl"), "{e}")
        }
        other => panic!("expected an io error, got {other:?}"),
    }
    // Writing into a directory that does not exist fails cleanly.
    let bad = dir.path().join("no/such/dir/f.jsonl");
    assert!(matches!(
        write_jsonl(&bad, &sample()),
        Err(FindingError::Io { .. })
    ));
}

#[test]
fn sort_is_score_desc_then_start_then_id() {
    let base = sample().remove(0);
    let mk = |id: &str, score: f64, start: DateTime<Utc>| Finding {
        id: id.into(),
        score,
        start,
        ..base.clone()
    };
    let mut v = vec![
        mk("b", 50.0, t(2026, 1, 1, 0, 0)),
        mk("z", f64::NAN, t(2026, 1, 1, 0, 0)),
        mk("a", 50.0, t(2026, 1, 1, 0, 0)),
        mk("c", 50.0, t(2025, 12, 31, 0, 0)),
        mk("d", 99.0, t(2026, 2, 1, 0, 0)),
        mk("e", 0.0, t(2020, 1, 1, 0, 0)),
    ];
    sort_findings(&mut v);
    let ids: Vec<&str> = v.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["d", "c", "a", "b", "e", "z"]);
    // to_jsonl uses the same order whatever the input order.
    let mut rev = v.clone();
    rev.reverse();
    assert_eq!(to_jsonl(&rev), to_jsonl(&v));
}

#[test]
fn severity_bands() {
    let cases = [
        (0.0, Severity::Low),
        (49.999, Severity::Low),
        (50.0, Severity::Medium),
        (69.9, Severity::Medium),
        (70.0, Severity::High),
        (89.99, Severity::High),
        (90.0, Severity::Critical),
        (100.0, Severity::Critical),
        (f64::NAN, Severity::Low),
    ];
    for (score, want) in cases {
        assert_eq!(Severity::from_score(score), want, "score {score}");
    }
    assert!(Severity::Low < Severity::Medium);
    assert!(Severity::High < Severity::Critical);
    assert_eq!("High".parse::<Severity>().unwrap(), Severity::High);
    assert!("severe".parse::<Severity>().is_err());
    for s in Severity::ALL {
        assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.to_string()));
    }
}

#[test]
fn kind_names_round_trip() {
    for k in FindingKind::ALL {
        assert_eq!(k.as_str().parse::<FindingKind>().unwrap(), k);
        assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
        assert_eq!(k.to_string(), k.as_str());
    }
    assert_eq!(
        "Call-Rate-Spike".parse::<FindingKind>().unwrap(),
        FindingKind::CallRateSpike
    );
    let err = "spike".parse::<FindingKind>().unwrap_err();
    assert!(err.to_string().contains("rare_action"), "{err}");
}

#[test]
fn stable_id_is_stable_and_sensitive() {
    let names = vec!["CreateUser".to_string(), "CreateAccessKey".to_string()];
    let start = t(2026, 1, 5, 22, 1);
    let id = |kind, acct: &str, names: &[String], p: Option<&str>, e: Option<&str>, s| {
        Finding::stable_id(kind, acct, "us-east-1", "iam.amazonaws.com", names, p, e, s)
    };
    let a = id(
        FindingKind::IamBurst,
        "1",
        &names,
        Some("arn:x"),
        None,
        start,
    );
    assert_eq!(a.len(), 16);
    assert!(a
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    // Pinned: the same input gives this id on every run and platform.
    assert_eq!(
        a,
        id(
            FindingKind::IamBurst,
            "1",
            &names,
            Some("arn:x"),
            None,
            start
        )
    );
    let golden = sample();
    assert_eq!(golden[1].id, golden[1].compute_id());
    // Name order and duplicates do not matter.
    let swapped = vec![
        "CreateAccessKey".to_string(),
        "CreateUser".to_string(),
        "CreateUser".to_string(),
    ];
    assert_eq!(
        a,
        id(
            FindingKind::IamBurst,
            "1",
            &swapped,
            Some("arn:x"),
            None,
            start
        )
    );
    // Every identifying field matters.
    let others = [
        id(
            FindingKind::RareAction,
            "1",
            &names,
            Some("arn:x"),
            None,
            start,
        ),
        id(
            FindingKind::IamBurst,
            "2",
            &names,
            Some("arn:x"),
            None,
            start,
        ),
        id(
            FindingKind::IamBurst,
            "1",
            &names[..1],
            Some("arn:x"),
            None,
            start,
        ),
        id(
            FindingKind::IamBurst,
            "1",
            &names,
            Some("arn:y"),
            None,
            start,
        ),
        id(FindingKind::IamBurst, "1", &names, None, None, start),
        id(FindingKind::IamBurst, "1", &names, Some(""), None, start),
        id(
            FindingKind::IamBurst,
            "1",
            &names,
            Some("arn:x"),
            Some("E"),
            start,
        ),
        id(
            FindingKind::IamBurst,
            "1",
            &names,
            Some("arn:x"),
            None,
            start + chrono::Duration::seconds(1),
        ),
        Finding::stable_id(
            FindingKind::IamBurst,
            "1",
            "us-west-2",
            "iam.amazonaws.com",
            &names,
            Some("arn:x"),
            None,
            start,
        ),
        Finding::stable_id(
            FindingKind::IamBurst,
            "1",
            "us-east-1",
            "sts.amazonaws.com",
            &names,
            Some("arn:x"),
            None,
            start,
        ),
    ];
    let mut all: Vec<&String> = others.iter().collect();
    all.push(&a);
    let before = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), before, "ids must all differ: {others:?}");
    // Shifting text between adjacent fields does not collide.
    assert_ne!(
        Finding::stable_id(FindingKind::IamBurst, "12", "3", "", &[], None, None, start),
        Finding::stable_id(FindingKind::IamBurst, "1", "23", "", &[], None, None, start)
    );
    // Score and attributions do not enter the id.
    let mut f = golden[0].clone();
    f.score = 1.0;
    f.attributions = Attributions::default();
    f.explanation.clear();
    assert_eq!(f.compute_id(), golden[0].id);
}

/// Issue 15: "0.0000/min" for an API called a few times a day.
#[test]
fn rates_read_in_the_unit_that_shows_them() {
    use super::format_rate;
    assert_eq!(format_rate(0.0, 60.0), "0/min");
    assert_eq!(format_rate(120.0, 60.0), "2.0/min");
    assert_eq!(format_rate(12.0, 60.0), "0.20/min");
    assert_eq!(format_rate(3.0, 60.0), "3.00/hour");
    assert_eq!(format_rate(2.0, 60.0), "2.00/hour");
    assert_eq!(format_rate(2.0, 1440.0 * 7.0), "0.29/day");
    assert_eq!(format_rate(1.0, 0.0), "0/min");
}
