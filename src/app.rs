//! The one place where stages are wired together: one function per command. Printing and
//! progress live here, never in the stages.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::baseline::{self, Baselines};
use crate::cli::{
    BaselineArgs, Cli, Command, ConfigCommand, DemoArgs, DetectArgs, EvalArgs, ExplainArgs,
    IngestArgs, LogFormat, ReportArgs, RunArgs, SimulateArgs, TuneArgs,
};
use crate::config::Config;
use crate::eval::EvalScore;
use crate::finding::{self, Finding};
use crate::ingest::{self, IngestOptions, IngestSummary};
use crate::nightly::{self, RunRecord};
use crate::pipeline::{Detection, Prepared};
use crate::policy::Triage;
use crate::rollup::Store;
use crate::simulate::{self, SimConfig};
use crate::time::TimeRange;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    init_logging(cli.log_format);
    let show_progress = !cli.quiet && std::io::stderr().is_terminal();
    match cli.command {
        Command::Ingest(a) => cmd_ingest(a, show_progress),
        Command::Simulate(a) => cmd_simulate(a, show_progress),
        Command::Baseline(a) => cmd_baseline(a),
        Command::Detect(a) => cmd_detect(a),
        Command::Explain(a) => cmd_explain(a),
        Command::Eval(a) => cmd_eval(a, show_progress),
        Command::Demo(a) => cmd_demo(a, show_progress),
        Command::Report(a) => cmd_report(a),
        Command::Run(a) => cmd_run(a, show_progress),
        Command::Config(c) => cmd_config(c),
        Command::Tune(a) => cmd_tune(a),
        Command::AwsInsights(a) => cmd_aws_insights(a),
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
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
    pb.set_style(
        ProgressStyle::with_template(tmpl)
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Runs an ingest step with a progress bar (shown only when asked).
fn with_bar(
    show: bool,
    step: impl FnOnce(&(dyn Fn(u64, u64) + Sync)) -> Result<IngestSummary, ingest::IngestError>,
) -> Result<IngestSummary> {
    let pb = bar(show, 0, "ingest", true);
    let summary = step(&|done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })?;
    pb.finish_and_clear();
    Ok(summary)
}

/// Keeps an ingest's summary for the report's data-quality section (losing it must not fail
/// the ingest) and logs it.
fn finish_ingest(state: &Path, summary: &IngestSummary) {
    if let Err(e) = crate::report::ingest_log::record(state, summary) {
        tracing::warn!(error = %e, "could not record the ingest summary in the state");
    }
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
}

/// Ingests local `paths` into the state at `state`, with a progress bar when asked.
pub fn ingest_into(
    state: &Path,
    paths: &[std::path::PathBuf],
    opts: &IngestOptions,
    show: bool,
) -> Result<IngestSummary> {
    let inputs: Vec<crate::aws::Input> = paths
        .iter()
        .cloned()
        .map(crate::aws::Input::Local)
        .collect();
    ingest_inputs_into(
        state,
        &inputs,
        opts,
        &crate::aws::AwsOptions::default(),
        show,
    )
}

/// Ingests local, `s3://` and `cloudtrail://` inputs into the state at `state`.
pub fn ingest_inputs_into(
    state: &Path,
    inputs: &[crate::aws::Input],
    opts: &IngestOptions,
    aws: &crate::aws::AwsOptions,
    show: bool,
) -> Result<IngestSummary> {
    let mut store = Store::open_or_create(state)?;
    let summary = with_bar(show, |p| {
        crate::aws::ingest_inputs(&mut store, inputs, opts, aws, p)
    })?;
    finish_ingest(state, &summary);
    Ok(summary)
}

fn cmd_aws_insights(a: crate::cli::AwsInsightsArgs) -> Result<ExitCode> {
    use crate::aws::{insights, Input};
    let aws = a.aws.options();
    let until = aws.until.unwrap_or_else(|| chrono::Utc::now().timestamp());
    let since = aws.since.unwrap_or(until - 7 * 86_400);
    let records = match a.from.parse::<Input>().map_err(anyhow::Error::msg)? {
        Input::History { region } => insights::fetch(&aws, region.as_deref(), since, until)?,
        Input::Local(p) => insights::read_records(&p).map_err(anyhow::Error::msg)?,
        Input::S3 { .. } => anyhow::bail!(
            "--from s3://… is not supported yet: copy the bucket's CloudTrail-Insight/ objects locally, or use cloudtrail://"
        ),
    };
    let (aws_insights, skipped) = insights::pair_records(&records);
    if skipped > 0 {
        tracing::warn!(
            skipped,
            "records that are not placeable Insights events were skipped"
        );
    }
    let findings = finding::read_jsonl(&a.findings)
        .with_context(|| format!("reading {}", a.findings.display()))?;
    let ts = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
    let cmp = insights::compare(
        &aws_insights,
        &findings,
        ts(since),
        ts(until),
        chrono::Duration::minutes(insights::DEFAULT_SLACK_MINUTES),
    );
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let doc = serde_json::json!({ "Records": records });
    crate::rollup::store::write_atomic(
        &a.out.join("aws-insights.json"),
        serde_json::to_string_pretty(&doc)?.as_bytes(),
    )?;
    crate::rollup::store::write_atomic(
        &a.out.join("insights-comparison.json"),
        serde_json::to_string_pretty(&cmp)?.as_bytes(),
    )?;
    if a.json {
        println!("{}", serde_json::to_string(&cmp)?);
    } else {
        print!("{}", insights::render(&cmp));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_ingest(a: IngestArgs, show: bool) -> Result<ExitCode> {
    let opts = IngestOptions {
        max_file_bytes: a.max_file_mib << 20,
        ..IngestOptions::default()
    };
    let s = ingest_inputs_into(&a.state.state, &a.inputs, &opts, &a.aws.options(), show)?;
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
    let rate = if s.seconds > 0.0 {
        s.records as f64 / s.seconds
    } else {
        0.0
    };
    let _ = writeln!(
        o,
        "files read            {:>12}   ({:.1} MiB compressed)",
        s.files,
        s.input_bytes as f64 / 1048576.0
    );
    let _ = writeln!(
        o,
        "records read          {:>12}   ({:.0} records/s, {:.2} s)",
        s.records, rate, s.seconds
    );
    let _ = writeln!(
        o,
        "management events     {:>12}   new, unique",
        s.management_events
    );
    let _ = writeln!(
        o,
        "skipped (not mgmt)    {:>12}   data {}, insight {}, network activity {}",
        s.skipped_non_management, s.skipped.data, s.skipped.insight, s.skipped.network_activity
    );
    let _ = writeln!(
        o,
        "duplicates            {:>12}   same eventID already seen",
        s.duplicates
    );
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
    let cfg = SimConfig {
        days: a.days,
        seed: a.seed,
        scale: a.scale,
        start: a.start,
    };
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
    let cfg = SimConfig {
        days: 35,
        seed: a.seed,
        scale: a.scale,
        ..SimConfig::default()
    };
    cfg.validate()?;
    let trail = a.out.join("trail");
    let state = a.out.join("state");
    println!(
        "trailsight demo: simulating {} days of CloudTrail (scale {}, seed {}) into {}",
        cfg.days,
        cfg.scale,
        cfg.seed,
        trail.display()
    );
    // A second demo into the same folder reuses the trail when it was made with the same
    // settings: re-ingesting it then shows deduplication at work.
    let existing: Option<simulate::Labels> = std::fs::read(trail.join("labels.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|l: &simulate::Labels| l.config == cfg);
    let sim = match existing {
        Some(l) => {
            println!("  reusing the trail already simulated there");
            l.summary
        }
        None if trail.join("AWSLogs").exists() => anyhow::bail!(
            "{} holds a trail simulated with other settings; remove it or pick another --out",
            trail.display()
        ),
        None => simulate_to(&cfg, &trail, show)?,
    };
    println!(
        "  {} files, {} unique management events, {} data events, {} duplicate deliveries",
        sim.files, sim.management_events, sim.data_events, sim.duplicate_deliveries
    );
    println!("ingesting into {}", state.display());
    let s = ingest_into(
        &state,
        &[trail.join("AWSLogs")],
        &IngestOptions::default(),
        show,
    )?;
    print!("{}", render_summary(&s));
    let store = Store::open(&state)?;
    let stored = store.total_events();
    println!(
        "state holds {} unique management events over {} days (simulator wrote {}{})",
        stored,
        store.days().len(),
        sim.management_events,
        if stored == sim.management_events {
            ": exact"
        } else {
            ": MISMATCH"
        }
    );
    if stored != sim.management_events {
        return Ok(ExitCode::from(2));
    }
    let conf = Config::default();
    let (from, to) = simulate::evaluation_window(&cfg);
    println!(
        "\nfitting baselines on the {} days before {}",
        conf.baseline.training_days,
        crate::time::format_datetime(&from)
    );
    let b = fit_baselines(&state, &conf, from.timestamp())?;
    println!(
        "  {} call series, {} principals, {} periodic jobs",
        b.series.len(),
        b.principals.len(),
        b.jobs.len()
    );
    let out = a.out.join("findings");
    let d = detect_into(
        &state,
        &conf,
        TimeRange {
            start: from.timestamp(),
            end: to.timestamp(),
        },
        &out,
    )?;
    println!();
    print_findings(&d, 15);
    let labels: simulate::Labels =
        serde_json::from_slice(&std::fs::read(trail.join("labels.json"))?)?;
    let score = EvalScore::of(&d.findings, &labels.incidents, &labels.decoys);
    println!(
        "\nagainst the simulator's labels: {} of {} incidents found, precision {:.2}, decoys flagged {}",
        score.recalled,
        score.incidents,
        score.precision(),
        score.decoy_hits
    );
    println!(
        "findings: {}\nInsights-format events: {}",
        out.join("findings.jsonl").display(),
        out.join("insights.json").display()
    );
    let r = write_report(
        &state,
        &out.join("findings.jsonl"),
        &conf,
        &a.out.join("report"),
        None,
        None,
    )?;
    println!("report: {}", r.path.display());
    Ok(ExitCode::SUCCESS)
}

/// Reads findings.jsonl and writes the HTML report for it into `out`.
pub fn write_report(
    state: &Path,
    findings: &Path,
    cfg: &Config,
    out: &Path,
    period: Option<TimeRange>,
    aws_insights: Option<&Path>,
) -> Result<crate::report::ReportSummary> {
    let all = finding::read_jsonl(findings)?;
    // shadow.jsonl and suppressed.jsonl sit beside findings.jsonl when `detect`/`run` wrote it.
    let dir = findings.parent().unwrap_or(Path::new("."));
    let shadow = match dir.join("shadow.jsonl") {
        p if p.exists() => finding::read_jsonl(&p)?,
        _ => Vec::new(),
    };
    let suppressed = read_suppressed(&dir.join("suppressed.jsonl"))?;
    let beside = dir.join("insights-comparison.json");
    let aws_path = aws_insights.or_else(|| beside.exists().then_some(beside.as_path()));
    let aws: Option<crate::aws::insights::InsightComparison> = match aws_path {
        None => None,
        Some(p) => Some(
            serde_json::from_slice(
                &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
            )
            .with_context(|| {
                format!(
                    "{}: not an insights-comparison.json written by `aws-insights`",
                    p.display()
                )
            })?,
        ),
    };
    let input = crate::report::ReportInput {
        state,
        findings: &all,
        config: cfg,
        findings_source: findings.display().to_string(),
        period,
        shadow: &shadow,
        suppressed: &suppressed,
        aws: aws.as_ref(),
    };
    let r = crate::report::write_report(&input, out)
        .with_context(|| format!("writing the report into {}", out.display()))?;
    tracing::info!(
        findings = r.findings,
        charts = r.charts,
        bytes = r.bytes,
        seconds = r.seconds,
        "report written"
    );
    Ok(r)
}

/// Reads suppressed.jsonl (absent: none).
fn read_suppressed(path: &Path) -> Result<Vec<crate::policy::Suppressed>> {
    let text = match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        r => r.with_context(|| format!("reading {}", path.display()))?,
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| {
                format!(
                    "{} line {}: not a suppressed finding",
                    path.display(),
                    i + 1
                )
            })
        })
        .collect()
}

fn cmd_report(a: ReportArgs) -> Result<ExitCode> {
    let cfg = Config::from_arg(a.config.config.as_deref())?;
    let period = match (a.from, a.to) {
        (None, None) => None,
        (from, to) => {
            let store = Store::open(&a.state.state)?;
            let span = store
                .span()
                .context("the state holds no data yet (run `trailsight ingest` first)")?;
            let p = TimeRange {
                start: from.unwrap_or(span.start),
                end: to.unwrap_or(span.end),
            };
            anyhow::ensure!(p.end > p.start, "--to must be after --from");
            Some(p)
        }
    };
    let r = write_report(
        &a.state.state,
        &a.findings,
        &cfg,
        &a.out,
        period,
        a.aws_insights.as_deref(),
    )?;
    println!(
        "wrote {} ({} findings, {} charts, {:.1} MiB, {:.1} s)",
        r.path.display(),
        r.findings,
        r.charts,
        r.bytes as f64 / 1048576.0,
        r.seconds
    );
    Ok(ExitCode::SUCCESS)
}

/// The last stored day as a window, the default detection window.
fn last_day(store: &Store) -> Result<TimeRange> {
    let day = *store
        .days()
        .last()
        .context("the state holds no data yet (run `trailsight ingest` first)")?;
    Ok(TimeRange {
        start: day * 86_400,
        end: (day + 1) * 86_400,
    })
}

/// Fits and saves baselines for a training window ending at `until`.
pub fn fit_baselines(state: &Path, cfg: &Config, until: i64) -> Result<Baselines> {
    let store = Store::open(state)?;
    let b = baseline::fit(&store, &cfg.catalog(), &cfg.baseline, until)?;
    b.save(state)?;
    tracing::info!(
        series = b.series.len(),
        principals = b.principals.len(),
        jobs = b.jobs.len(),
        "baselines fitted"
    );
    Ok(b)
}

fn cmd_baseline(a: BaselineArgs) -> Result<ExitCode> {
    let cfg = Config::from_arg(a.config.config.as_deref())?;
    let store = Store::open(&a.state.state)?;
    let until = match a.until {
        Some(t) => t,
        None => last_day(&store)?.start,
    };
    let b = fit_baselines(&a.state.state, &cfg, until)?;
    println!(
        "fitted baselines on {} .. {} ({} days of data): {} call series, {} principals, {} account/region groups, {} periodic jobs\nwrote {}",
        crate::time::format_datetime(&b.training_start),
        crate::time::format_datetime(&b.training_end),
        b.history_days,
        b.series.len(),
        b.principals.len(),
        b.groups.len(),
        b.jobs.len(),
        baseline::path(&a.state.state).display()
    );
    for j in &b.jobs {
        println!(
            "  job: {} {} by {} ({}/{}) {:?} at {:02}:{:02} UTC, {} of {} runs",
            j.event_source,
            j.event_name,
            j.principal,
            j.account,
            j.region,
            j.period,
            j.minute_of_day / 60,
            j.minute_of_day % 60,
            j.runs_seen,
            j.runs_expected
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Detects over `window` with the config's overrides, suppressions and shadow mode, and writes
/// the outputs into `out` ([`write_detection`]). The detection's findings are the alerting ones.
pub fn detect_into(state: &Path, cfg: &Config, window: TimeRange, out: &Path) -> Result<Detection> {
    let store = Store::open(state)?;
    let b = Baselines::load(state)?;
    if b.training_end.timestamp() > window.start {
        tracing::warn!(
            training_end = %crate::time::format_datetime(&b.training_end),
            "the baselines were trained on part of the detection window; incidents in it may look normal"
        );
    }
    let (d, t) = Prepared::load(&store, window)?.run_triaged(&b, cfg);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_detection(out, &t)?;
    Ok(d)
}

/// Writes findings.jsonl and insights.json (alerting findings), shadow.jsonl (shadow-mode
/// detectors) and suppressed.jsonl (each line: rule index, reason, finding) into `out`.
pub fn write_detection(out: &Path, t: &Triage) -> Result<()> {
    finding::write_jsonl(&out.join("findings.jsonl"), &t.active)?;
    finding::write_insights(&out.join("insights.json"), &t.active)?;
    finding::write_jsonl(&out.join("shadow.jsonl"), &t.shadow)?;
    let mut text = String::new();
    for s in &t.suppressed {
        text.push_str(&serde_json::to_string(s)?);
        text.push('\n');
    }
    crate::rollup::store::write_atomic(&out.join("suppressed.jsonl"), text.as_bytes())?;
    Ok(())
}

fn print_findings(d: &Detection, top: usize) {
    println!(
        "{} findings over {} .. {} ({} series, {} events)",
        d.findings.len(),
        crate::time::format(d.window.start),
        crate::time::format(d.window.end),
        d.series,
        d.events
    );
    for f in d.findings.iter().take(top) {
        println!(
            "  {:>5.1} {:<8} {:<18} {}  {}  {}",
            f.score,
            f.severity.as_str(),
            f.kind.as_str(),
            crate::time::format_datetime(&f.start),
            f.id,
            f.explanation
        );
    }
    if d.findings.len() > top {
        println!("  … {} more in findings.jsonl", d.findings.len() - top);
    }
}

fn cmd_detect(a: DetectArgs) -> Result<ExitCode> {
    let cfg = Config::from_arg(a.config.config.as_deref())?;
    let store = Store::open(&a.state.state)?;
    let default = last_day(&store)?;
    let window = TimeRange {
        start: a.from.unwrap_or(default.start),
        end: a.to.unwrap_or(default.end),
    };
    anyhow::ensure!(window.end > window.start, "--to must be after --from");
    let d = detect_into(&a.state.state, &cfg, window, &a.out)?;
    print_findings(&d, a.top);
    println!(
        "wrote {} and {} (shadow.jsonl, suppressed.jsonl beside them)",
        a.out.join("findings.jsonl").display(),
        a.out.join("insights.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A finding's full reasoning.
pub fn render_explanation(f: &Finding) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} (score {:.1}, {}, p = {:.3e})",
        f.id,
        f.kind.as_str(),
        f.score,
        f.severity.as_str(),
        f.p_value
    );
    let _ = writeln!(o, "{}\n", f.explanation);
    let _ = writeln!(
        o,
        "where      {}/{}  {}  {}",
        f.account,
        f.region,
        f.event_source,
        f.event_names.join(", ")
    );
    if let Some(p) = &f.principal {
        let _ = writeln!(o, "principal  {p}");
    }
    if let Some(c) = &f.error_code {
        let _ = writeln!(o, "error      {c}");
    }
    let _ = writeln!(
        o,
        "when       {} .. {} ({:.0} min)",
        crate::time::format_datetime(&f.start),
        crate::time::format_datetime(&f.end),
        f.duration_minutes()
    );
    let _ = writeln!(
        o,
        "observed   {:.1} in all, {:.3}/min",
        f.observed.total, f.observed.per_minute
    );
    let _ = writeln!(
        o,
        "expected   {:.3} in all, {:.4}/min",
        f.expected.total, f.expected.per_minute
    );
    let _ = writeln!(
        o,
        "baseline   {} .. {}",
        crate::time::format(f.baseline_window.start),
        crate::time::format(f.baseline_window.end)
    );
    let _ = writeln!(
        o,
        "score      {:.1} from p = {:.3e} (models/README.md explains the statistics)",
        f.score, f.p_value
    );
    for (name, list) in [
        ("principal", &f.attributions.principal),
        ("user agent", &f.attributions.user_agent),
        ("source IP", &f.attributions.source_ip),
        ("error code", &f.attributions.error_code),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\nby {name}:   in window            in baseline");
        for a in list {
            let _ = writeln!(
                o,
                "  {:>8} {:>6.1}%   {:>8} {:>6.1}%   {}",
                a.insight_count,
                a.insight_share * 100.0,
                a.baseline_count,
                a.baseline_share * 100.0,
                a.value
            );
        }
    }
    if !f.example_event_ids.is_empty() {
        let _ = writeln!(o, "\nexample eventIDs: {}", f.example_event_ids.join(", "));
    }
    if !f.access_key_ids.is_empty() {
        let _ = writeln!(o, "access key ids:   {}", f.access_key_ids.join(", "));
    }
    if !f.details.is_empty() {
        let _ = writeln!(
            o,
            "details:          {}",
            serde_json::Value::Object(f.details.clone())
        );
    }
    o
}

fn cmd_explain(a: ExplainArgs) -> Result<ExitCode> {
    let all = finding::read_jsonl(&a.findings)?;
    let hits: Vec<&Finding> = all.iter().filter(|f| f.id.starts_with(&a.id)).collect();
    match hits.as_slice() {
        [f] => {
            print!("{}", render_explanation(f));
            Ok(ExitCode::SUCCESS)
        }
        [] => anyhow::bail!("no finding with id {} in {}", a.id, a.findings.display()),
        _ => anyhow::bail!(
            "{} findings start with {}; give more of the id",
            hits.len(),
            a.id
        ),
    }
}

/// Simulates (or reuses), ingests, fits and detects one seed; returns its score and findings.
pub fn eval_seed(
    work: &Path,
    cfg: &Config,
    sim: &SimConfig,
    show: bool,
) -> Result<(EvalScore, Vec<Finding>)> {
    let trail = work.join(format!("trail-{}", sim.seed));
    let state = work.join(format!("state-{}", sim.seed));
    let existing: Option<simulate::Labels> = std::fs::read(trail.join("labels.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|l: &simulate::Labels| l.config == *sim);
    let labels = match existing {
        Some(l) => l,
        None => {
            let _ = std::fs::remove_dir_all(&trail);
            simulate_to(sim, &trail, show)?;
            serde_json::from_slice(&std::fs::read(trail.join("labels.json"))?)?
        }
    };
    let _ = std::fs::remove_dir_all(&state);
    ingest_into(
        &state,
        &[trail.join("AWSLogs")],
        &IngestOptions::default(),
        show,
    )?;
    let (from, to) = simulate::evaluation_window(sim);
    fit_baselines(&state, cfg, from.timestamp())?;
    let window = TimeRange {
        start: from.timestamp(),
        end: to.timestamp(),
    };
    let d = detect_into(
        &state,
        cfg,
        window,
        &work.join(format!("findings-{}", sim.seed)),
    )?;
    Ok((
        EvalScore::of(&d.findings, &labels.incidents, &labels.decoys),
        d.findings,
    ))
}

fn cmd_eval(a: EvalArgs, show: bool) -> Result<ExitCode> {
    let cfg = Config::from_arg(a.config.config.as_deref())?;
    let work = match &a.work {
        Some(w) => w.clone(),
        None => std::env::temp_dir().join(format!("trailsight-eval-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let mut total = EvalScore::default();
    let mut per_seed = Vec::new();
    for &seed in &a.seeds {
        let sim = SimConfig {
            days: a.days,
            seed,
            scale: a.scale,
            ..SimConfig::default()
        };
        sim.validate()?;
        let (s, _) = eval_seed(&work, &cfg, &sim, show)?;
        tracing::info!(
            seed,
            recall = s.recall(),
            precision = s.precision(),
            "seed evaluated"
        );
        total.add(&s);
        per_seed.push(serde_json::json!({"seed": seed, "score": s}));
    }
    if a.work.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    if a.json {
        println!(
            "{}",
            serde_json::json!({"total": total, "per_seed": per_seed})
        );
    } else {
        println!(
            "evaluation over seeds {:?} ({} days, scale {}):\n",
            a.seeds, a.days, a.scale
        );
        print!("{}", total.table());
    }
    Ok(ExitCode::SUCCESS)
}

/// What `run` records about itself in `<out>/<date>/run.json`.
#[derive(Debug, serde::Serialize)]
struct RunInfo<'a> {
    date: chrono::NaiveDate,
    window_start: String,
    window_end: String,
    tool_version: &'static str,
    input_files_read: u64,
    input_files_unchanged: usize,
    ingest: &'a IngestSummary,
    /// Set while the state has too little history to fit baselines.
    warming_up: Option<String>,
    findings: usize,
    shadow: usize,
    suppressed: usize,
    below_override: usize,
    events_in_window: u64,
    config: &'a Config,
}

fn cmd_run(a: RunArgs, show: bool) -> Result<ExitCode> {
    let cfg = Config::from_arg(a.config.config.as_deref())?;
    let state = a.state.state.as_path();
    let _lock = nightly::Lock::acquire(state)?;

    // 1. Ingest what is new; the ledger is written only after the events are committed.
    // Remote inputs keep their own ledgers (S3 keys with ETags, the history's resume point).
    let local: Vec<std::path::PathBuf> = a
        .input
        .iter()
        .filter_map(|i| match i {
            crate::aws::Input::Local(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let remote: Vec<crate::aws::Input> = a
        .input
        .iter()
        .filter(|i| !matches!(i, crate::aws::Input::Local(_)))
        .cloned()
        .collect();
    let mut ledger = nightly::Ledger::load(state)?;
    let (files, errors) = if local.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        ingest::discover_inputs(&local)?
    };
    let (todo, unchanged) = ledger.pending(files);
    let todo_files: Vec<ingest::InputFile> = todo.iter().map(|(f, _)| f.clone()).collect();
    let mut store = Store::open_or_create(state)?;
    let total: u64 = todo_files.iter().map(|f| f.size).sum();
    let opts = IngestOptions {
        max_file_bytes: a.max_file_mib << 20,
        ..IngestOptions::default()
    };
    let mut summary = with_bar(show, |p| {
        ingest::ingest_listed(&mut store, &todo_files, errors, &opts, &|d| p(d, total))
    })?;
    ledger.record(todo.iter().map(|(f, s)| (f.path.as_path(), *s)));
    ledger.save()?;
    if !remote.is_empty() {
        let s = with_bar(show, |p| {
            crate::aws::ingest_inputs(&mut store, &remote, &opts, &a.aws.options(), p)
        })?;
        crate::aws::merge_summary(&mut summary, s, opts.max_listed_problems);
    }
    if !todo.is_empty() || !remote.is_empty() {
        finish_ingest(state, &summary);
    }
    tracing::info!(
        files_unchanged = unchanged,
        "local input files already read"
    );
    nightly::failpoint("run-after-ingest");

    // 2. The day to check, and the window (missed nights included, re-runs repeated).
    let store = store;
    let date = match a.date {
        Some(d) => d,
        None => nightly::default_date(&store.days(), chrono::Utc::now().date_naive()).context(
            "the state holds no events yet: nothing to check (are the --input paths right?)",
        )?,
    };
    let mut log = nightly::RunLog::load(state)?;
    let window = log.window_for(date, a.catch_up_days);

    // 3. Baselines on the history before the window, then detection.
    let (detection, triage, warming_up) =
        match baseline::fit(&store, &cfg.catalog(), &cfg.baseline, window.start) {
            Ok(b) => {
                b.save(state)?;
                nightly::failpoint("run-after-baseline");
                let (d, t) = Prepared::load(&store, window)?.run_triaged(&b, &cfg);
                (Some(d), t, None)
            }
            Err(e @ baseline::BaselineError::ShortHistory { .. }) => {
                (None, Triage::default(), Some(e.to_string()))
            }
            Err(e) => return Err(e.into()),
        };

    // 4. Outputs, published as one dated folder.
    let info = RunInfo {
        date,
        window_start: crate::time::format(window.start),
        window_end: crate::time::format(window.end),
        tool_version: env!("CARGO_PKG_VERSION"),
        input_files_read: summary.files,
        input_files_unchanged: unchanged,
        ingest: &summary,
        warming_up: warming_up.clone(),
        findings: triage.active.len(),
        shadow: triage.shadow.len(),
        suppressed: triage.suppressed.len(),
        below_override: triage.below_override,
        events_in_window: detection.as_ref().map_or(0, |d| d.events),
        config: &cfg,
    };
    let dated = nightly::publish(&a.out, date, |dir| {
        write_detection(dir, &triage)?;
        crate::rollup::store::write_atomic(
            &dir.join("run.json"),
            &serde_json::to_vec_pretty(&info)?,
        )?;
        let input = crate::report::ReportInput {
            state,
            findings: &triage.active,
            config: &cfg,
            findings_source: format!("trailsight run {date}"),
            period: Some(window),
            shadow: &triage.shadow,
            suppressed: &triage.suppressed,
            aws: None,
        };
        crate::report::write_report(&input, dir)
            .with_context(|| format!("writing the report into {}", dir.display()))?;
        Ok(())
    })?;
    nightly::failpoint("run-before-log");
    log.record(
        date,
        RunRecord {
            window,
            finished: chrono::Utc::now(),
            findings: triage.active.len(),
            shadow: triage.shadow.len(),
            suppressed: triage.suppressed.len(),
        },
    )?;

    // 5. Tell, and decide the exit status.
    println!(
        "trailsight run {date}: read {} new file(s) ({} local unchanged), {} new events, {} duplicates, {} bad file(s), {} bad record(s)",
        summary.files,
        unchanged,
        summary.management_events,
        summary.duplicates,
        summary.bad_files,
        summary.bad_records
    );
    match (&warming_up, &detection) {
        (Some(w), _) => println!("  warming up, no detection yet: {w}"),
        (None, Some(d)) => {
            println!(
                "  checked {} .. {}: {} finding(s), {} in shadow mode, {} suppressed",
                crate::time::format(window.start),
                crate::time::format(window.end),
                triage.active.len(),
                triage.shadow.len(),
                triage.suppressed.len()
            );
            print_findings(d, 10);
        }
        (None, None) => {}
    }
    println!("  wrote {}", dated.display());
    let alert = a
        .fail_on
        .is_some_and(|s| triage.active.iter().any(|f| f.severity >= s));
    Ok(if alert {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_config(c: ConfigCommand) -> Result<ExitCode> {
    match c {
        ConfigCommand::Default => {
            print!("{}", crate::config::DEFAULT_TOML);
        }
        ConfigCommand::Check { file } => {
            let cfg = Config::load(&file)?;
            let today = chrono::Utc::now();
            let mut overrides = 0;
            let mut shadow = Vec::new();
            let mut off = Vec::new();
            for k in finding::FindingKind::ALL {
                let c = cfg.detectors.common(k);
                overrides += c.overrides.len();
                if c.shadow {
                    shadow.push(k.as_str());
                }
                if !c.enabled {
                    off.push(k.as_str());
                }
            }
            let expired = cfg.suppress.iter().filter(|r| !r.active_at(today)).count();
            println!(
                "{}: valid. {} suppression rule(s) ({} expired), {} override(s), shadow mode: {}, disabled: {}",
                file.display(),
                cfg.suppress.len(),
                expired,
                overrides,
                if shadow.is_empty() { "none".into() } else { shadow.join(", ") },
                if off.is_empty() { "none".into() } else { off.join(", ") },
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_tune(a: TuneArgs) -> Result<ExitCode> {
    let cfg = Config::from_arg(a.config.config.as_deref())?;
    let store = Store::open(&a.state.state)?;
    let end = last_day(&store)?.end;
    let window = TimeRange {
        start: end - i64::from(a.days) * 86_400,
        end,
    };
    // Fitted in memory: tuning never replaces the state's models.
    let b = baseline::fit(&store, &cfg.catalog(), &cfg.baseline, window.start)?;
    let prepared = Prepared::load(&store, window)?;
    let labels: Option<simulate::Labels> = match &a.labels {
        None => None,
        Some(p) => Some(
            serde_json::from_slice(
                &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
            )
            .with_context(|| {
                format!(
                    "{}: not a labels.json written by `trailsight simulate`",
                    p.display()
                )
            })?,
        ),
    };
    let t0 = std::time::Instant::now();
    let rows = crate::tune::replay(
        &prepared,
        &b,
        &cfg,
        a.detector,
        &a.grid,
        labels
            .as_ref()
            .map(|l| (l.incidents.as_slice(), l.decoys.as_slice())),
    );
    println!(
        "replayed {} over {} .. {} ({} days, {} values) in {:.2} s",
        a.detector.as_str(),
        crate::time::format(window.start),
        crate::time::format(window.end),
        a.days,
        rows.len(),
        t0.elapsed().as_secs_f64()
    );
    print!("{}", crate::tune::to_table(a.detector, &rows));
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let csv = a.out.join(format!("tune-{}.csv", a.detector.as_str()));
    crate::rollup::store::write_atomic(&csv, crate::tune::to_csv(a.detector, &rows).as_bytes())?;
    let points: Vec<crate::report::charts::TunePoint> = rows
        .iter()
        .map(|r| crate::report::charts::TunePoint {
            threshold: r.threshold,
            per_day: r.per_day,
            precision: r.precision,
            recall: r.recall,
        })
        .collect();
    let current = cfg.detectors.common(a.detector).min_score.get();
    let png = a.out.join(format!("tune-{}.png", a.detector.as_str()));
    let bytes = crate::report::charts::tune_chart(a.detector.as_str(), &points, current)?;
    crate::rollup::store::write_atomic(&png, &bytes)?;
    println!("wrote {} and {}", csv.display(), png.display());
    Ok(ExitCode::SUCCESS)
}
