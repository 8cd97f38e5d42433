//! The binary end to end: help texts, JSON summary, exit codes.

use assert_cmd::Command;
use predicates::prelude::*;
use trailsight::state::StateDir;

use crate::support::*;

fn bin() -> Command {
    Command::cargo_bin("trailsight").unwrap()
}

#[test]
fn every_command_has_help_with_examples() {
    for cmd in [
        "ingest",
        "simulate",
        "demo",
        "baseline",
        "detect",
        "explain",
        "eval",
        "report",
        "run",
        "tune",
        "config default",
        "config check",
    ] {
        bin()
            .args(cmd.split(' '))
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"));
    }
    bin()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"));
}

#[test]
fn ingest_json_summary_has_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        &dir.path().join("in/a.json.gz"),
        &gz(&records_doc(&records("cli", 7))),
    );
    let out = bin()
        .args(["ingest", "--json", "--state"])
        .arg(dir.path().join("state"))
        .arg(&f)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for k in [
        "files",
        "records",
        "management_events",
        "skipped_non_management",
        "duplicates",
        "bad_files",
        "bad_records",
        "first_event",
        "last_event",
    ] {
        assert!(v.get(k).is_some(), "missing {k} in {v}");
    }
    assert_eq!(v["management_events"], 7);
    assert_eq!(v["first_event"], "2026-01-05T10:00:00Z");
    // Human summary, and a second run that finds only duplicates.
    bin()
        .args(["ingest", "--state"])
        .arg(dir.path().join("state"))
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains("duplicates").and(predicate::str::contains("7")));
}

#[test]
fn missing_input_is_a_clear_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    bin()
        .args(["ingest", "--state"])
        .arg(dir.path().join("state"))
        .arg(dir.path().join("nope"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope").and(predicate::str::contains("No such file")));
}

#[test]
fn incompatible_state_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("manifest.json"), r#"{"format":"trailsight-rollups","schema_version":999,"tool_version":"9","updated":null,"days":{}}"#).unwrap();
    let f = write(&dir.path().join("a.json"), &records_doc(&records("x", 1)));
    bin()
        .args(["ingest", "--state"])
        .arg(&state)
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("schema version 999"));
}

#[test]
fn simulate_then_ingest_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    bin()
        .args([
            "simulate", "--days", "2", "--scale", "0.02", "--seed", "3", "--out",
        ])
        .arg(&trail)
        .assert()
        .success()
        .stdout(predicate::str::contains("labels.json"));
    let labels: serde_json::Value =
        serde_json::from_slice(&std::fs::read(trail.join("labels.json")).unwrap()).unwrap();
    let want = labels["summary"]["management_events"].as_u64().unwrap();
    let out = bin()
        .args(["ingest", "--json", "--state"])
        .arg(dir.path().join("s"))
        .arg(&trail)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["management_events"].as_u64().unwrap(), want);
}

#[test]
fn baseline_detect_explain_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let state = dir.path().join("state");
    let out = dir.path().join("out");
    bin()
        .args([
            "simulate", "--days", "14", "--scale", "0.02", "--seed", "5", "--out",
        ])
        .arg(&trail)
        .assert()
        .success();
    bin()
        .args(["ingest", "--state"])
        .arg(&state)
        .arg(trail.join("AWSLogs"))
        .assert()
        .success();
    let labels: serde_json::Value =
        serde_json::from_slice(&std::fs::read(trail.join("labels.json")).unwrap()).unwrap();
    // For 14 days the simulator puts incidents in the last 7: 2026-01-12 onwards.
    bin()
        .args(["baseline", "--until", "2026-01-12", "--state"])
        .arg(&state)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("call series").and(predicate::str::contains(
                "job: ec2.amazonaws.com CreateSnapshot",
            )),
        );
    let detect = bin()
        .args([
            "detect",
            "--from",
            "2026-01-12",
            "--to",
            "2026-01-19",
            "--state",
        ])
        .arg(&state)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(detect).unwrap();
    assert!(
        text.contains("finding(s) over 2026-01-12T00:00:00Z"),
        "{text}"
    );
    let findings = trailsight::finding::read_jsonl(&out.join("findings.jsonl")).unwrap();
    assert!(!findings.is_empty());
    // The incidents that stand out even in a trail this small (scale 0.02, one week of
    // history) are found; the eval harness measures the rest at realistic sizes.
    for l in labels["incidents"].as_array().unwrap() {
        let kind = l["kind"].as_str().unwrap();
        if kind == "call_rate_drop" {
            continue;
        }
        assert!(
            findings.iter().any(|f| f.kind.as_str() == kind),
            "no {kind} finding in {text}"
        );
    }
    let insights: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("insights.json")).unwrap()).unwrap();
    assert!(insights["Records"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["eventType"] == "AwsCloudTrailInsight"));
    let f = &findings[0];
    bin()
        .args(["explain", &f.id[..10], "--findings"])
        .arg(out.join("findings.jsonl"))
        .assert()
        .success()
        .stdout(predicate::str::contains(&f.explanation).and(predicate::str::contains("observed")));
    bin()
        .args(["explain", "ffffffffffffffff", "--findings"])
        .arg(out.join("findings.jsonl"))
        .assert()
        .code(2);
    // Detection without baselines is a clear error.
    let empty = dir.path().join("fresh");
    bin()
        .args(["ingest", "--state"])
        .arg(&empty)
        .arg(trail.join("AWSLogs"))
        .assert()
        .success();
    bin()
        .args(["detect", "--state"])
        .arg(&empty)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("trailsight baseline"));
}

#[test]
fn a_run_killed_mid_commit_leaves_the_previous_state_and_the_next_run_completes() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let a = write(
        &dir.path().join("in/a.json"),
        &records_doc(&records("a", 5)),
    );
    let mut recs = records("b", 8);
    for r in &mut recs {
        r["eventTime"] = serde_json::json!("2026-01-06T10:00:00Z");
    }
    let b = write(&dir.path().join("in/b.json"), &records_doc(&recs));
    bin()
        .args(["ingest", "--state"])
        .arg(&state)
        .arg(&a)
        .assert()
        .success();
    let before = std::fs::read(state.join("manifest.json")).unwrap();
    // Killed after writing the new tables, before the manifest swap.
    bin()
        .env("TRAILSIGHT_FAILPOINT", "commit-before-manifest")
        .args(["ingest", "--state"])
        .arg(&state)
        .arg(&b)
        .arg(&a)
        .assert()
        .failure();
    assert_eq!(
        std::fs::read(state.join("manifest.json")).unwrap(),
        before,
        "manifest untouched"
    );
    let store = trailsight::rollup::Store::open(&StateDir::new(&state)).unwrap();
    assert_eq!(store.total_events(), 5);
    // The next run completes the work exactly once and sweeps the leftovers.
    let out = bin()
        .args(["ingest", "--json", "--state"])
        .arg(&state)
        .arg(&a)
        .arg(&b)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (v["management_events"].as_u64(), v["duplicates"].as_u64()),
        (Some(8), Some(5))
    );
    assert_eq!(
        trailsight::rollup::Store::open(&StateDir::new(&state))
            .unwrap()
            .total_events(),
        13
    );
    let files = walkdir::WalkDir::new(state.join("rollups"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count();
    assert_eq!(files, 6, "two days × (calls, detail, ids), no orphans");
}
