//! `trailsight run` as a scheduler runs it: day by day over a growing trail, killed at every
//! step, twice at once, and with suppressions, shadow mode and overrides in its config.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use chrono::NaiveDate;
use trailsight::finding::{read_jsonl, Finding, FindingKind, Severity};
use trailsight::pipeline::eval::EvalScore;
use trailsight::rollup::Store;
use trailsight::simulate::Labels;
use trailsight::state::StateDir;

fn bin() -> Command {
    Command::cargo_bin("trailsight").unwrap()
}

/// Simulates a trail into `dir` and returns its labels.
fn simulate(dir: &Path, days: u32, scale: f64, seed: u64) -> Labels {
    bin()
        .args(["-q", "simulate", "--out"])
        .arg(dir)
        .args(["--days", &days.to_string(), "--scale", &scale.to_string()])
        .args(["--seed", &seed.to_string()])
        .assert()
        .success();
    serde_json::from_slice(&fs::read(dir.join("labels.json")).unwrap()).unwrap()
}

/// Every log file of the trail under `trail/AWSLogs`, with its delivery date.
fn trail_files(trail: &Path) -> Vec<(NaiveDate, PathBuf)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(trail.join("AWSLogs")) {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e.path().strip_prefix(trail).unwrap().to_path_buf();
        let key = trailsight::ingest::parse_trail_key(&rel.to_string_lossy()).unwrap();
        let date = NaiveDate::parse_from_str(&key.date, "%Y-%m-%d").unwrap();
        out.push((date, rel));
    }
    out
}

/// Delivers the files of `date` into `input` (hard links: as S3 sync would add them).
fn deliver(trail: &Path, files: &[(NaiveDate, PathBuf)], input: &Path, date: NaiveDate) {
    for (d, rel) in files.iter().filter(|(d, _)| *d == date) {
        let _ = d;
        let to = input.join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::hard_link(trail.join(rel), &to).unwrap();
    }
}

fn run(state: &Path, input: &Path, out: &Path, date: NaiveDate, extra: &[&str]) -> Output {
    bin()
        .args(["-q", "--log-format", "json", "run", "--input"])
        .arg(input.join("AWSLogs"))
        .arg("--state")
        .arg(state)
        .arg("--out")
        .arg(out)
        .args(["--date", &date.to_string()])
        .args(extra)
        .output()
        .unwrap()
}

fn findings(path: &Path) -> Vec<Finding> {
    read_jsonl(path).unwrap()
}

#[test]
fn a_nightly_run_over_a_growing_trail_reports_each_day_once_and_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (trail, input, state, out) = (
        dir.path().join("trail"),
        dir.path().join("input"),
        dir.path().join("state"),
        dir.path().join("out"),
    );
    let labels = simulate(&trail, 35, 0.01, 11);
    let files = trail_files(&trail);
    let first = labels.config.start;
    let mut all = Vec::new();
    for i in 0..35 {
        let date = first + chrono::Days::new(i);
        deliver(&trail, &files, &input, date);
        let o = run(&state, &input, &out, date, &[]);
        assert!(
            o.status.success(),
            "{date}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let info: serde_json::Value =
            serde_json::from_slice(&fs::read(out.join(date.to_string()).join("run.json")).unwrap())
                .unwrap();
        // Only the new day's files are read each night.
        let delivered = files.iter().filter(|(d, _)| *d == date).count();
        assert_eq!(info["input_files_read"], delivered, "{date}");
        // The first day is history only; detection starts on the second (each detector then
        // waits for the history its evidence needs), without a flood of findings.
        assert_eq!(info["warming_up"].is_null(), i >= 1, "{date}: {info}");
        if (1..7).contains(&i) {
            assert!(info["findings"].as_u64().unwrap() <= 5, "{date}: {info}");
        }
        all.extend(findings(&out.join(date.to_string()).join("findings.jsonl")));
    }
    // One dated folder per day, and `latest` on the last.
    let dated: BTreeSet<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "latest")
        .collect();
    assert_eq!(dated.len(), 35);
    let last = first + chrono::Days::new(34);
    assert_eq!(
        fs::read_link(out.join("latest")).unwrap(),
        PathBuf::from(last.to_string())
    );
    // Never double-counts: the state holds exactly the simulator's unique events.
    let store = Store::open(&StateDir::new(&state)).unwrap();
    assert_eq!(store.total_events(), labels.summary.management_events);
    // The nightly reports together find the incidents.
    let score = EvalScore::of(&all, &labels.incidents, &labels.decoys);
    assert!(
        score.recalled + 1 >= score.incidents && score.decoy_hits == 0,
        "{}",
        score.table()
    );
    // Re-running the last day changes nothing.
    let before = fs::read(out.join("latest/findings.jsonl")).unwrap();
    let o = run(&state, &input, &out, last, &[]);
    assert!(o.status.success());
    assert_eq!(fs::read(out.join("latest/findings.jsonl")).unwrap(), before);
    assert_eq!(
        Store::open(&StateDir::new(&state)).unwrap().total_events(),
        labels.summary.management_events
    );
}

/// A trail, a state made from it by a clean run, and that run's findings.
struct Reference {
    _dir: tempfile::TempDir,
    input: PathBuf,
    date: NaiveDate,
    events: u64,
    findings: Vec<u8>,
}

fn reference() -> Reference {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("trail");
    let labels = simulate(&input, 10, 0.01, 5);
    let date = labels.config.start + chrono::Days::new(9);
    let out = dir.path().join("out");
    let o = run(&dir.path().join("state"), &input, &out, date, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let findings = fs::read(out.join("latest/findings.jsonl")).unwrap();
    Reference {
        _dir: dir,
        input,
        date,
        events: labels.summary.management_events,
        findings,
    }
}

fn assert_completed(r: &Reference, state: &Path, out: &Path, what: &str) {
    let o = run(state, &r.input, out, r.date, &[]);
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        fs::read(out.join("latest/findings.jsonl")).unwrap(),
        r.findings,
        "{what}"
    );
    assert_eq!(
        Store::open(&StateDir::new(state)).unwrap().total_events(),
        r.events,
        "{what}"
    );
    let leftovers: Vec<String> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{what}: {leftovers:?}");
}

#[test]
fn a_run_killed_at_any_step_is_completed_by_the_next() {
    let r = reference();
    for point in [
        "commit-before-manifest",
        "run-after-ingest",
        "run-after-baseline",
        "publish-between-renames",
        "run-before-log",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (state, out) = (dir.path().join("state"), dir.path().join("out"));
        let o = bin()
            .env("TRAILSIGHT_FAILPOINT", point)
            .args(["-q", "run", "--input"])
            .arg(&r.input)
            .arg("--state")
            .arg(&state)
            .arg("--out")
            .arg(&out)
            .args(["--date", &r.date.to_string()])
            .output()
            .unwrap();
        assert!(!o.status.success(), "{point}: the failpoint did not fire");
        assert_completed(&r, &state, &out, point);
    }
    // And a real kill, wherever it lands: once the run holds its lock, SIGKILL it.
    let dir = tempfile::tempdir().unwrap();
    let (state, out) = (dir.path().join("state"), dir.path().join("out"));
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trailsight"))
        .args(["-q", "run", "--input"])
        .arg(&r.input)
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(&out)
        .args(["--date", &r.date.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = state.join("run.lock");
    while fs::read(&lock).map(|b| b.is_empty()).unwrap_or(true) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::yield_now();
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_completed(&r, &state, &out, "SIGKILL");
}

#[test]
fn a_second_run_on_the_same_state_fails_at_once_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let _held = StateDir::new(&state).lock().unwrap();
    let o = bin()
        .args(["run", "--input"])
        .arg(dir.path())
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("run.lock") && err.contains("locked by another trailsight run"),
        "{err}"
    );
}

/// The detect outputs of one config over the evaluation window of a shared state.
struct Outputs {
    active: Vec<Finding>,
    shadow: Vec<Finding>,
    suppressed: Vec<serde_json::Value>,
}

fn detect_with(state: &Path, labels: &Labels, dir: &Path, name: &str, toml: &str) -> Outputs {
    let cfg = dir.join(format!("{name}.toml"));
    fs::write(&cfg, toml).unwrap();
    let out = dir.join(name);
    let (from, to) = trailsight::simulate::evaluation_window(&labels.config);
    bin()
        .args(["-q", "detect", "--state"])
        .arg(state)
        .arg("--config")
        .arg(&cfg)
        .args(["--from", &from.to_rfc3339(), "--to", &to.to_rfc3339()])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    Outputs {
        active: findings(&out.join("findings.jsonl")),
        shadow: findings(&out.join("shadow.jsonl")),
        suppressed: fs::read_to_string(out.join("suppressed.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    }
}

#[test]
fn suppressions_shadow_mode_and_overrides_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let state = dir.path().join("state");
    let labels = simulate(&trail, 35, 0.01, 23);
    let (from, _) = trailsight::simulate::evaluation_window(&labels.config);
    bin()
        .args(["-q", "ingest", "--state"])
        .arg(&state)
        .arg(trail.join("AWSLogs"))
        .assert()
        .success();
    bin()
        .args(["-q", "baseline", "--state"])
        .arg(&state)
        .args(["--until", &from.to_rfc3339()])
        .assert()
        .success();
    let base = detect_with(&state, &labels, dir.path(), "default", "");
    assert!(base.shadow.is_empty() && base.suppressed.is_empty());
    let iam: Vec<&Finding> = base
        .active
        .iter()
        .filter(|f| f.kind == FindingKind::IamBurst)
        .collect();
    assert!(!iam.is_empty(), "the simulator's IAM burst was not found");

    // Shadow mode moves a detector's findings aside, unchanged.
    let o = detect_with(
        &state,
        &labels,
        dir.path(),
        "shadow",
        "[detectors.iam_burst]\nshadow = true\n",
    );
    assert_eq!(o.shadow.len(), iam.len());
    assert!(o.shadow.iter().all(|f| f.kind == FindingKind::IamBurst));
    assert_eq!(o.active.len() + o.shadow.len(), base.active.len());

    // A suppression by principal glob hides that principal's findings, keeps them with the
    // reason; the same rule expired before the findings hides nothing.
    let who = iam[0].principal.clone().unwrap();
    let (head, _) = who.split_at(who.len() - 3);
    let rule = |expires: &str| {
        format!(
            "[[suppress]]\nreason = \"pentest, ticket SEC-1\"\nprincipal = \"{head}*\"\n{expires}"
        )
    };
    let o = detect_with(&state, &labels, dir.path(), "suppress", &rule(""));
    assert!(!o.suppressed.is_empty());
    for s in &o.suppressed {
        assert_eq!(s["reason"], "pentest, ticket SEC-1");
        assert_eq!(s["rule"], 0);
    }
    assert!(o
        .active
        .iter()
        .all(|f| f.principal.as_deref() != Some(&who)));
    assert_eq!(o.active.len() + o.suppressed.len(), base.active.len());
    let o = detect_with(
        &state,
        &labels,
        dir.path(),
        "expired",
        &rule("expires = \"2020-01-01\"\n"),
    );
    assert!(o.suppressed.is_empty());
    assert_eq!(o.active, base.active);

    // A per-API override switches one API off for one detector; others are untouched.
    let spike = base
        .active
        .iter()
        .find(|f| f.kind == FindingKind::CallRateSpike)
        .expect("a call-rate spike");
    let target = format!("{}:{}", spike.event_source, spike.event_names[0]);
    let o = detect_with(
        &state,
        &labels,
        dir.path(),
        "override",
        &format!("[detectors.call_rate_spike.overrides.\"{target}\"]\nenabled = false\n"),
    );
    assert!(
        !o.active.iter().any(|f| f.kind == FindingKind::CallRateSpike
            && f.event_source == spike.event_source
            && f.event_names == spike.event_names)
    );
    assert!(o.active.iter().all(|f| base.active.contains(f)));
    assert!(o.active.len() < base.active.len());
}

#[test]
fn fail_on_counts_alerting_findings_only() {
    let r = reference();
    let findings: Vec<Finding> = String::from_utf8_lossy(&r.findings)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (state, out) = (dir.path().join("state"), dir.path().join("out"));
    let worst = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .expect("the reference day has findings");
    let o = run(&state, &r.input, &out, r.date, &["--fail-on", "low"]);
    assert_eq!(o.status.code(), Some(1));
    // Above the worst severity present, the run passes.
    if let Some(above) = Severity::ALL.into_iter().find(|s| *s > worst) {
        let o = run(
            &state,
            &r.input,
            &out,
            r.date,
            &["--fail-on", above.as_str()],
        );
        assert_eq!(o.status.code(), Some(0));
    }
    // Every detector in shadow mode: nothing alerts.
    let cfg = dir.path().join("shadow.toml");
    let text: String = FindingKind::ALL
        .iter()
        .map(|k| format!("[detectors.{}]\nshadow = true\n", k.as_str()))
        .collect();
    fs::write(&cfg, text).unwrap();
    let o = run(
        &state,
        &r.input,
        &out,
        r.date,
        &["--fail-on", "low", "--config", cfg.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        fs::read_to_string(out.join("latest/shadow.jsonl"))
            .unwrap()
            .lines()
            .count(),
        findings.len()
    );
}
