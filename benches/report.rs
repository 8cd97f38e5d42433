//! Report rendering speed and size: 500 findings over 90 days (the target: under 30 s
//! on 2 cores, report.html under 20 MB). `cargo bench --bench report` runs the full size;
//! under `cargo test` (no `--bench` argument) it runs a small smoke size so it cannot rot.
//!
//! The workload: a 90-day simulated trail (scale 0.02), ingested, baselines fitted on the
//! first 28 days, detection over the rest, and the findings replicated across the 62
//! detection days (shifted by whole days, new ids) up to 500, mixing every kind found.
#![allow(missing_docs)]

use std::path::Path;
use std::time::Instant;

use trailsight::config::Config;
use trailsight::finding::{self, Finding};
use trailsight::report::{write_report, ReportInput};
use trailsight::state::StateDir;
use trailsight::time::TimeRange;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (days, target) = if full { (90u32, 500usize) } else { (35, 40) };
    let root = std::env::temp_dir().join(format!("trailsight-report-bench-{days}"));
    let state = root.join("state");
    let sim = trailsight::simulate::SimConfig {
        days,
        seed: 11,
        scale: 0.02,
        ..Default::default()
    };
    let trail = root.join("trail");
    let cfg = Config::default();
    let start = sim
        .start
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let from = start + 28 * 86_400;
    let to = start + i64::from(days) * 86_400;
    let state = StateDir::new(&state);
    // The cached workload is reused only while its models load (a schema bump rebuilds it).
    if trailsight::baseline::Baselines::load(&state).is_err() {
        let _ = std::fs::remove_dir_all(&root);
        trailsight::simulate::simulate(&sim, &trail, &|_, _| {}).unwrap();
        trailsight::pipeline::ingest::ingest_local(
            &state,
            &[trail.join("AWSLogs")],
            &Default::default(),
            &trailsight::pipeline::no_progress,
        )
        .unwrap();
        trailsight::pipeline::fit::fit(&state, &cfg, from).unwrap();
    }
    let d = trailsight::pipeline::detect::detect_into(
        &state,
        &cfg,
        TimeRange {
            start: from,
            end: to,
        },
        &root.join("findings"),
    )
    .unwrap();
    assert!(!d.findings.is_empty(), "the workload has findings");
    let findings = replicate(&d.findings, target, from, to);
    let out = root.join("report");
    let (t0, cpu0) = (Instant::now(), cpu_seconds());
    let r = write_report(
        &ReportInput {
            state: &state,
            findings: &findings,
            config: &cfg,
            findings_source: "bench".into(),
            shadow: &[],
            suppressed: &[],
            aws: None,
            period: Some(TimeRange {
                start: from,
                end: to,
            }),
        },
        &out,
    )
    .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "report: {} findings over {} days, {} charts, {:.1} s wall, {:.1} s CPU, report.html {:.2} MB ({}), threads {}",
        findings.len(),
        (to - from) / 86_400,
        r.charts,
        secs,
        cpu,
        r.bytes as f64 / 1e6,
        Path::new(&r.path).display(),
        rayon::current_num_threads()
    );
    if full {
        assert!(r.bytes < 20_000_000, "report.html over 20 MB");
    }
}

/// User + system CPU seconds of this process (Linux /proc; 0 elsewhere). On a shared machine
/// wall time measures the neighbours too; CPU time over the core count is what two idle cores
/// would take.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses): utime is the 14th field overall.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// `n` findings: the detected ones shifted by whole days across `[from, to)`, with new ids.
fn replicate(found: &[Finding], n: usize, from: i64, to: i64) -> Vec<Finding> {
    let days = (to - from) / 86_400;
    let mut out = Vec::with_capacity(n);
    let mut k = 0i64;
    while out.len() < n {
        for f in found {
            if out.len() == n {
                break;
            }
            let mut g = f.clone();
            let day = (f.start.timestamp() - from).div_euclid(86_400);
            let shift = (day + k).rem_euclid(days) - day;
            g.start += chrono::Duration::days(shift);
            g.end += chrono::Duration::days(shift);
            g.id = format!("{:016x}", out.len() as u64 * 0x9e37_79b9 + 1);
            out.push(g);
        }
        k += 7;
    }
    finding::sort_findings(&mut out);
    out
}
