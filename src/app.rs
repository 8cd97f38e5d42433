//! The one place where stages are wired together: one function per command. Printing and
//! progress live here, never in the stages.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Cli, Command, DemoArgs, IngestArgs, LogFormat, SimulateArgs};
use crate::ingest::{self, IngestOptions, IngestSummary};
use crate::rollup::Store;
use crate::simulate::{self, SimConfig};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    init_logging(cli.log_format);
    let show_progress = !cli.quiet && std::io::stderr().is_terminal();
    match cli.command {
        Command::Ingest(a) => cmd_ingest(a, show_progress),
        Command::Simulate(a) => cmd_simulate(a, show_progress),
        Command::Demo(a) => cmd_demo(a, show_progress),
    }
}

fn init_logging(format: LogFormat) {
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAILSIGHT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.compact().try_init() };
}

fn bar(show: bool, total: u64, what: &str, bytes: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let tmpl = if bytes {
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{msg} [{bar:40}] {pos}/{len} eta {eta}"
    };
    let pb = ProgressBar::new(total);
    pb.set_style(ProgressStyle::with_template(tmpl).expect("valid template").progress_chars("=> "));
    pb.set_message(what.to_string());
    pb
}

/// Ingests `paths` into the state at `state`, with a progress bar when asked.
pub fn ingest_into(state: &Path, paths: &[std::path::PathBuf], opts: &IngestOptions, show: bool) -> Result<IngestSummary> {
    let mut store = Store::open_or_create(state)?;
    let pb = bar(show, 0, "ingest", true);
    let summary = ingest::ingest_paths(&mut store, paths, opts, &|done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })?;
    pb.finish_and_clear();
    tracing::info!(
        files = summary.files,
        records = summary.records,
        management_events = summary.management_events,
        duplicates = summary.duplicates,
        bad_files = summary.bad_files,
        bad_records = summary.bad_records,
        seconds = summary.seconds,
        "ingest finished"
    );
    Ok(summary)
}

fn cmd_ingest(a: IngestArgs, show: bool) -> Result<ExitCode> {
    let opts = IngestOptions { max_file_bytes: a.max_file_mib << 20, ..IngestOptions::default() };
    let s = ingest_into(&a.state.state, &a.paths, &opts, show)?;
    if a.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        print!("{}", render_summary(&s));
    }
    Ok(ExitCode::SUCCESS)
}

/// The one-screen human summary of an ingest.
pub fn render_summary(s: &IngestSummary) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let rate = if s.seconds > 0.0 { s.records as f64 / s.seconds } else { 0.0 };
    let _ = writeln!(o, "files read            {:>12}   ({:.1} MiB compressed)", s.files, s.input_bytes as f64 / 1048576.0);
    let _ = writeln!(o, "records read          {:>12}   ({:.0} records/s, {:.2} s)", s.records, rate, s.seconds);
    let _ = writeln!(o, "management events     {:>12}   new, unique", s.management_events);
    let _ = writeln!(
        o,
        "skipped (not mgmt)    {:>12}   data {}, insight {}, network activity {}",
        s.skipped_non_management, s.skipped.data, s.skipped.insight, s.skipped.network_activity
    );
    let _ = writeln!(o, "duplicates            {:>12}   same eventID already seen", s.duplicates);
    let _ = writeln!(o, "bad files             {:>12}", s.bad_files);
    let _ = writeln!(o, "bad records           {:>12}", s.bad_records);
    let span = match (&s.first_event, &s.last_event) {
        (Some(a), Some(b)) => format!("{a} .. {b}"),
        _ => "no new events".into(),
    };
    let _ = writeln!(o, "time span             {span}");
    let _ = writeln!(o, "accounts              {}", list(&s.accounts));
    let _ = writeln!(o, "regions               {}", list(&s.regions));
    let _ = writeln!(o, "days updated          {}", s.days_updated.len());
    if !s.problems.is_empty() {
        let _ = writeln!(o, "problems:");
        for p in s.problems.iter().take(20) {
            match p.record {
                Some(n) => {
                    let _ = writeln!(o, "  {} (record {n}): {}", p.path, p.reason);
                }
                None => {
                    let _ = writeln!(o, "  {}: {}", p.path, p.reason);
                }
            }
        }
        let more = s.problems.len().saturating_sub(20) as u64 + s.problems_not_listed;
        if more > 0 {
            let _ = writeln!(o, "  … and {more} more (use --json for the full list)");
        }
    }
    o
}

fn list(v: &[String]) -> String {
    if v.len() <= 6 {
        v.join(", ")
    } else {
        format!("{} and {} more", v[..6].join(", "), v.len() - 6)
    }
}

fn simulate_to(cfg: &SimConfig, out: &Path, show: bool) -> Result<simulate::SimSummary> {
    let pb = bar(show, u64::from(cfg.days), "simulate", false);
    let s = simulate::simulate(cfg, out, &|done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })
    .with_context(|| format!("simulating into {}", out.display()))?;
    pb.finish_and_clear();
    Ok(s)
}

fn cmd_simulate(a: SimulateArgs, show: bool) -> Result<ExitCode> {
    let cfg = SimConfig { days: a.days, seed: a.seed, scale: a.scale, start: a.start };
    cfg.validate()?;
    let s = simulate_to(&cfg, &a.out, show)?;
    println!(
        "wrote {} files to {}: {} unique management events, {} data events, {} duplicate deliveries, {} .. {}\nlabels: {}",
        s.files,
        a.out.display(),
        s.management_events,
        s.data_events,
        s.duplicate_deliveries,
        s.first_event,
        s.last_event,
        a.out.join("labels.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_demo(a: DemoArgs, show: bool) -> Result<ExitCode> {
    let cfg = SimConfig { days: 35, seed: a.seed, scale: a.scale, ..SimConfig::default() };
    cfg.validate()?;
    let trail = a.out.join("trail");
    let state = a.out.join("state");
    println!("trailsight demo: simulating {} days of CloudTrail (scale {}, seed {}) into {}", cfg.days, cfg.scale, cfg.seed, trail.display());
    let sim = simulate_to(&cfg, &trail, show)?;
    println!(
        "  {} files, {} unique management events, {} data events, {} duplicate deliveries",
        sim.files, sim.management_events, sim.data_events, sim.duplicate_deliveries
    );
    println!("ingesting into {}", state.display());
    let s = ingest_into(&state, &[trail], &IngestOptions::default(), show)?;
    print!("{}", render_summary(&s));
    let store = Store::open(&state)?;
    let stored = store.total_events();
    println!(
        "state holds {} unique management events over {} days (simulator wrote {}{})",
        stored,
        store.days().len(),
        sim.management_events,
        if stored == sim.management_events { ": exact" } else { ": MISMATCH" }
    );
    let labels = a.out.join("trail").join("labels.json");
    println!("labelled incidents to find: {}", labels.display());
    Ok(if stored == sim.management_events { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
