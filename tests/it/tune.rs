//! `tune` and `config` from the command line.

use std::fs;

use assert_cmd::Command;
use predicates::prelude::*;

fn bin() -> Command {
    Command::cargo_bin("trailsight").unwrap()
}

#[test]
fn tune_replays_each_threshold_and_writes_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (trail, state, out) = (
        dir.path().join("trail"),
        dir.path().join("state"),
        dir.path().join("tune"),
    );
    bin()
        .args([
            "-q", "simulate", "--days", "21", "--scale", "0.01", "--seed", "3", "--out",
        ])
        .arg(&trail)
        .assert()
        .success();
    bin()
        .args(["-q", "ingest", "--state"])
        .arg(&state)
        .arg(trail.join("AWSLogs"))
        .assert()
        .success();
    bin()
        .args([
            "tune",
            "--days",
            "7",
            "--detector",
            "call-rate-spike",
            "--grid",
            "10,70,99",
        ])
        .arg("--state")
        .arg(&state)
        .arg("--labels")
        .arg(trail.join("labels.json"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("replayed call_rate_spike"));
    let csv = fs::read_to_string(out.join("tune-call_rate_spike.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 3, "{csv}");
    let thresholds: Vec<&str> = rows.iter().map(|r| r[1]).collect();
    assert_eq!(thresholds, ["10", "70", "99"]);
    // The configured default (70) is marked; labels give precision and recall.
    let current: Vec<&str> = rows.iter().map(|r| r[2]).collect();
    assert_eq!(current, ["false", "true", "false"]);
    assert!(rows.iter().all(|r| !r[8].is_empty()), "{csv}");
    // A stricter threshold never fires more, in incidents or in findings.
    for col in [3, 5] {
        let n: Vec<usize> = rows.iter().map(|r| r[col].parse().unwrap()).collect();
        assert!(n[0] >= n[1] && n[1] >= n[2], "column {col}: {n:?}");
    }
    // Incidents group findings: never more incidents than findings.
    assert!(rows
        .iter()
        .all(|r| r[3].parse::<usize>().unwrap() <= r[5].parse::<usize>().unwrap()));
    // The chart: a PNG 1000 px wide with more than a blank canvas in it.
    let png = fs::read(out.join("tune-call_rate_spike.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 1000);
    assert!(png.len() > 5_000, "{} bytes", png.len());
    // The state's own models are not touched by tuning.
    assert!(!state.join("models/baselines.json").exists());
    // Bad values are refused by name.
    bin()
        .args(["tune", "--detector", "iam_burst", "--grid", "50,140"])
        .arg("--state")
        .arg(&state)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("140").and(predicate::str::contains("0 to 100")));
    bin()
        .args(["tune", "--detector", "iam_bursts", "--grid", "50"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("iam_bursts"));
}

#[test]
fn config_default_checks_clean_and_bad_files_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = bin()
        .args(["config", "default"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let good = dir.path().join("default.toml");
    fs::write(&good, &text).unwrap();
    bin()
        .args(["config", "check"])
        .arg(&good)
        .assert()
        .success()
        .stdout(predicate::str::contains("valid"));
    let bad = dir.path().join("bad.toml");
    fs::write(&bad, "[detectors.error_rate]\nmin_ratio = 0.5\n").unwrap();
    bin()
        .args(["config", "check"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("bad.toml")
                .and(predicate::str::contains("min_ratio"))
                .and(predicate::str::contains("1 to 1000")),
        );
}
