//! The binary end to end: help texts, JSON summary, exit codes.

use assert_cmd::Command;
use predicates::prelude::*;
use trailsight::state::StateDir;

use crate::support::*;

fn bin() -> Command {
    Command::cargo_bin("trailsight").unwrap()
}

/// What `c` printed on stdout, after checking that it succeeded.
fn stdout_ok(c: &mut Command) -> Vec<u8> {
    c.assert().success().get_output().stdout.clone()
}

/// What `c` printed on stdout, after checking its exit status.
fn stdout_with(c: &mut Command, code: i32) -> Vec<u8> {
    c.assert().code(code).get_output().stdout.clone()
}

/// What `c` printed on stderr, after checking its exit status.
fn stderr_with(c: &mut Command, code: i32) -> Vec<u8> {
    c.assert().code(code).get_output().stderr.clone()
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
    let out = stdout_ok(
        bin()
            .args(["ingest", "--json", "--state"])
            .arg(dir.path().join("state"))
            .arg(&f),
    );
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

/// Issue 15: nothing read at all is not a silent "0 files": a missing path, an empty folder,
/// a folder with no CloudTrail file exit 3 with the reason and create no state; a missing path
/// next to a good one is reported and the good one read.
#[test]
fn nothing_to_read_exits_3_names_the_reason_and_creates_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let other = dir.path().join("other");
    write(&other.join("README.txt"), b"not a log");
    for (input, says) in [
        (dir.path().join("nope"), "No such file"),
        (empty.clone(), "no file looks like a CloudTrail log"),
        (other.clone(), "no file looks like a CloudTrail log"),
    ] {
        bin()
            .args(["ingest", "--state"])
            .arg(&state)
            .arg(&input)
            .assert()
            .code(3)
            .stderr(
                predicate::str::contains("nothing to read").and(predicate::str::contains(says)),
            );
        assert!(!state.exists(), "{} created a state", input.display());
    }
    bin()
        .args(["run", "--state"])
        .arg(&state)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--input")
        .arg(&empty)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("nothing to read"));
    assert!(!state.exists() && !dir.path().join("out").exists());
    // A missing path next to a good one: reported, the good one read, exit 0.
    let good = write(
        &dir.path().join("in/a.json"),
        &records_doc(&records("ok", 3)),
    );
    bin()
        .args(["ingest", "--state"])
        .arg(&state)
        .arg(dir.path().join("nope"))
        .arg(&good)
        .assert()
        .success()
        .stderr(predicate::str::contains("nope").and(predicate::str::contains("No such file")))
        .stdout(predicate::str::contains("3"));
}

/// Issue 15: a state or output path that is a file said `File exists (os error 17): File
/// exists (os error 17)` and advised a command that fails.
#[test]
fn a_path_that_is_a_file_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir.path().join("state"), b"x");
    let good = write(
        &dir.path().join("in/a.json"),
        &records_doc(&records("f", 2)),
    );
    for args in [vec!["ingest", "--state"], vec!["baseline", "--state"]] {
        let mut c = bin();
        c.args(&args).arg(&file);
        if args[0] == "ingest" {
            c.arg(&good);
        }
        let o = stderr_with(&mut c, 2);
        let e = String::from_utf8_lossy(&o);
        assert!(e.contains("is a file, expected a directory"), "{e}");
        assert_eq!(e.matches("os error").count(), 0, "{e}");
    }
    let state = dir.path().join("s");
    bin()
        .args(["ingest", "--state"])
        .arg(&state)
        .arg(&good)
        .assert()
        .success();
    let o = stderr_with(
        bin()
            .args(["run", "--state"])
            .arg(&state)
            .arg("--out")
            .arg(&file)
            .arg("--input")
            .arg(&good),
        2,
    );
    let e = String::from_utf8_lossy(&o);
    assert!(
        e.contains("is a file, expected a directory (the output folder)"),
        "{e}"
    );
    // `simulate` and `report` said `File exists (os error 17)`.
    let simulate = ["simulate", "--days", "1", "--scale", "0.01", "--out"];
    let o = stderr_with(bin().args(simulate).arg(&file), 2);
    let e = String::from_utf8_lossy(&o);
    assert!(
        e.contains("is a file, expected a directory") && !e.contains("os error"),
        "{e}"
    );
}

/// Issue 15: with `--log-format json` every stderr line is JSON, errors and usage errors too;
/// `--log-format text` into a pipe writes no colour codes.
#[test]
fn errors_are_json_lines_when_the_log_format_is_json() {
    let dir = tempfile::tempdir().unwrap();
    let lines = |stderr: &[u8]| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(stderr)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    };
    let o = stderr_with(
        bin()
            .args(["--log-format", "json", "ingest", "--state"])
            .arg(dir.path().join("s"))
            .arg(dir.path().join("nope")),
        3,
    );
    let v = lines(&o);
    let last = v.last().unwrap();
    assert_eq!(last["level"], "ERROR");
    assert!(
        last["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing to read"),
        "{last}"
    );
    assert!(v.iter().any(|l| l["level"] == "WARN"), "{v:?}");
    // A usage error (no input given) is JSON too, exit 2.
    let o = stderr_with(bin().args(["--log-format", "json", "ingest"]), 2);
    let v = lines(&o);
    assert!(
        v[0]["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("required"),
        "{v:?}"
    );
    // Text into a pipe: plain text, no escape codes.
    let o = stderr_with(
        bin()
            .args(["--log-format", "text", "ingest", "--state"])
            .arg(dir.path().join("s"))
            .arg(dir.path().join("nope")),
        3,
    );
    let e = String::from_utf8_lossy(&o);
    assert!(!e.contains('\u{1b}'), "{e:?}");
    assert!(e.contains("trailsight: error: nothing to read"), "{e}");
}

/// Issue 15: `run --date` in the future or before any data exited 0 as "warming up" and moved
/// `latest`. It is an error naming the stored period, and `latest` stays.
#[test]
fn run_refuses_a_date_outside_the_stored_data_and_latest_stays() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let (state, out) = (dir.path().join("state"), dir.path().join("out"));
    bin()
        .args([
            "simulate", "--days", "3", "--scale", "0.02", "--seed", "4", "--out",
        ])
        .arg(&trail)
        .assert()
        .success();
    let run = |date: &str| {
        let mut c = bin();
        c.args(["run", "--json", "--date", date, "--state"])
            .arg(&state)
            .arg("--out")
            .arg(&out)
            .arg("--input")
            .arg(trail.join("AWSLogs"));
        c
    };
    let o = run("2026-01-06")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&o).unwrap();
    assert_eq!(
        (v["date"].as_str(), v["checked"].as_bool()),
        (Some("2026-01-06"), Some(true))
    );
    assert!(v["incidents"].is_array() && v["dated"].as_str().unwrap().ends_with("2026-01-06"));
    for bad in ["2027-06-01", "2025-01-01"] {
        run(bad)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "--date {bad} is outside the stored data (2026-01-05 .. 2026-01-07, 3 days)"
            )));
        assert!(!out.join(bad).exists());
    }
    let latest = std::fs::read_link(out.join("latest")).unwrap();
    assert_eq!(latest, std::path::Path::new("2026-01-06"));
    // The configuration used is saved beside the findings.
    assert!(out.join("2026-01-06/config.toml").exists());
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
    let out = stdout_ok(
        bin()
            .args(["ingest", "--json", "--state"])
            .arg(dir.path().join("s"))
            .arg(&trail),
    );
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
    let detect = stdout_ok(
        bin()
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
            .arg(&out),
    );
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
    explain_tolerates_bad_lines_and_lists_candidates(&findings, dir.path());
    // --json: the result on stdout as JSON (issue 15).
    let o = stdout_ok(
        bin()
            .args(["explain", &f.id, "--json", "--findings"])
            .arg(out.join("findings.jsonl")),
    );
    let v: serde_json::Value = serde_json::from_slice(&o).unwrap();
    assert_eq!(v["id"], f.id.as_str());
    let o = stdout_ok(
        bin()
            .args([
                "detect",
                "--json",
                "--from",
                "2026-01-12",
                "--to",
                "2026-01-19",
                "--state",
            ])
            .arg(&state)
            .arg("--out")
            .arg(&out),
    );
    let v: serde_json::Value = serde_json::from_slice(&o).unwrap();
    assert_eq!(
        v["finding_count"].as_u64().unwrap() as usize,
        findings.len()
    );
    assert_eq!(v["findings"].as_array().unwrap().len(), findings.len());
    assert!(v["incidents"].as_array().is_some_and(|i| !i.is_empty()));
    // The configuration used is saved beside the findings, and the report shows it even
    // when given another --config (issue 15).
    let saved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert_eq!(
        trailsight::config::Config::parse(&saved).unwrap(),
        trailsight::config::Config::default()
    );
    let other = write(
        &dir.path().join("other.toml"),
        b"[[suppress]]\nreason = \"never shown\"\nprincipal = \"nobody\"\n",
    );
    bin()
        .args(["report", "--state"])
        .arg(&state)
        .arg("--findings")
        .arg(out.join("findings.jsonl"))
        .arg("--out")
        .arg(dir.path().join("report"))
        .arg("--config")
        .arg(&other)
        .assert()
        .success()
        .stderr(predicate::str::contains("saved"));
    let html = std::fs::read_to_string(dir.path().join("report/report.html")).unwrap();
    assert!(!html.contains("never shown"));
    // A window with no stored event: exit 3, naming the window and the stored span.
    bin()
        .args([
            "detect",
            "--from",
            "2027-01-01",
            "--to",
            "2027-01-02",
            "--state",
        ])
        .arg(&state)
        .arg("--out")
        .arg(dir.path().join("none"))
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("no stored event in the window 2027-01-01T00:00:00Z")
                .and(predicate::str::contains("the state holds 2026-01-05")),
        );
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

/// Issue 15: `explain` failed on any bad line of the file, could not say which findings an
/// ambiguous prefix matched, and took an empty id.
fn explain_tolerates_bad_lines_and_lists_candidates(
    findings: &[trailsight::finding::Finding],
    dir: &std::path::Path,
) {
    let mut a = findings[0].clone();
    let mut b = findings[0].clone();
    a.id = "abcd1111".into();
    b.id = "abcd2222".into();
    let file = dir.join("mixed.jsonl");
    let text = format!(
        "{}\nnot json at all\n{}\n",
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    std::fs::write(&file, text).unwrap();
    bin()
        .args(["explain", "abcd1"])
        .arg("--findings")
        .arg(&file)
        .assert()
        .success()
        .stderr(predicate::str::contains("line").and(predicate::str::contains("not a finding")));
    bin()
        .args(["explain", "abcd"])
        .arg("--findings")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("2 findings start with abcd")
                .and(predicate::str::contains("abcd1111"))
                .and(predicate::str::contains("abcd2222")),
        );
    for short in ["", "ab"] {
        bin()
            .args(["explain", short])
            .arg("--findings")
            .arg(&file)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("a finding id is needed"));
    }
}

/// Issue 15: config errors give the line and the words; `config check --json` is JSON; an
/// expired suppression rule is named.
#[test]
fn config_check_names_lines_expired_rules_and_speaks_json() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        &dir.path().join("bad.toml"),
        b"# mine\n[baseline]\ntraining_days = -1\n",
    );
    bin()
        .args(["config", "check"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3").and(predicate::str::contains("a whole number")));
    let o = stdout_with(bin().args(["config", "check", "--json"]).arg(&bad), 2);
    let v: serde_json::Value = serde_json::from_slice(&o).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["errors"][0].as_str().unwrap().contains("line 3"), "{v}");
    let old = write(
        &dir.path().join("old.toml"),
        b"[[suppress]]\nreason = \"migration\"\nprincipal = \"x\"\nexpires = \"2020-01-31\"\n",
    );
    bin()
        .args(["config", "check"])
        .arg(&old)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "suppress[0] (\"migration\") expired on 2020-01-31",
        ));
    let o = stdout_ok(bin().args(["config", "check", "--json"]).arg(&old));
    let v: serde_json::Value = serde_json::from_slice(&o).unwrap();
    assert_eq!(
        (v["valid"].as_bool(), v["expired"].as_u64()),
        (Some(true), Some(1))
    );
    assert!(
        v["warnings"][0].as_str().unwrap().contains("migration"),
        "{v}"
    );
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
    let out = stdout_ok(
        bin()
            .args(["ingest", "--json", "--state"])
            .arg(&state)
            .arg(&a)
            .arg(&b),
    );
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
