//! The command line's handlers: parse → call → print. Each takes its parsed arguments, calls
//! the [`crate::pipeline`] use case, and prints with [`render`]. Progress bars and logging are
//! set up here; nothing below prints.

pub mod render;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{
    BaselineArgs, Cli, Command, ConfigCommand, DemoArgs, DetectArgs, EvalArgs, ExplainArgs,
    IngestArgs, LogFormat, ReportArgs, RunArgs, SimulateArgs, TuneArgs,
};
use crate::config::Config;
use crate::finding::FindingKind;
use crate::ingest::IngestOptions;
use crate::pipeline::{self, eval::EvalScore, PipelineError};
use crate::rollup::Store;
use crate::simulate::SimConfig;
use crate::state::StateDir;
use crate::time::TimeRange;

/// The binary's whole life: parse the command line once, run it, print an error (as JSON when
/// the log format is JSON) and map the outcome to the documented exit status: 0 success, 1
/// `run --fail-on` met, 2 an error, 3 nothing to work on ([`PipelineError::Empty`]).
pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match <Cli as clap::Parser>::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            // Usage errors follow an explicit `--log-format json`; help and version print as usual.
            if e.use_stderr() && json_asked(&args) {
                init_logging(LogFormat::Json);
                let text = e.to_string();
                let text = text.trim().trim_start_matches("error: ");
                tracing::error!("{text}");
                return ExitCode::from(2);
            }
            e.exit()
        }
    };
    let json = log_is_json(cli.log_format);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let text = error_text(&e);
            if json {
                tracing::error!("{text}");
            } else {
                eprintln!("trailsight: error: {text}");
            }
            exit_code(&e)
        }
    }
}

/// Whether the raw arguments ask for JSON logs (`--log-format json` or `--log-format=json`).
fn json_asked(args: &[std::ffi::OsString]) -> bool {
    args.windows(2)
        .any(|w| w[0] == "--log-format" && w[1] == "json")
        || args.iter().any(|a| a == "--log-format=json")
}

/// An error and its causes on one line, each cause once: a cause whose text the message
/// already holds is not repeated (issue 15: "File exists (os error 17): File exists (os error
/// 17)").
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if c.is_empty() || text.contains(&c) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&c);
    }
    text
}

/// The exit status of a failed command: 3 when there was nothing to work on, else 2.
pub fn exit_code(e: &anyhow::Error) -> ExitCode {
    let empty = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<PipelineError>(),
            Some(PipelineError::Empty(_))
        )
    });
    ExitCode::from(if empty { 3 } else { 2 })
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    init_logging(cli.log_format);
    let show = !cli.quiet && std::io::stderr().is_terminal();
    match cli.command {
        Command::Ingest(a) => cmd_ingest(a, show),
        Command::Simulate(a) => cmd_simulate(a, show),
        Command::Baseline(a) => cmd_baseline(a),
        Command::Detect(a) => cmd_detect(a),
        Command::Explain(a) => cmd_explain(a),
        Command::Eval(a) => cmd_eval(a, show),
        Command::Demo(a) => cmd_demo(a, show),
        Command::Report(a) => cmd_report(a),
        Command::Run(a) => cmd_run(a, show),
        Command::Config(c) => cmd_config(c),
        Command::Tune(a) => cmd_tune(a, show),
        Command::Backtest(a) => cmd_backtest(a, show),
        Command::AwsInsights(a) => cmd_aws_insights(a),
    }
}

/// Whether logs (and errors) go to stderr as JSON lines.
fn log_is_json(format: LogFormat) -> bool {
    match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    }
}

fn init_logging(format: LogFormat) {
    let json = log_is_json(format);
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAILSIGHT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only on a terminal, and never with NO_COLOR (issue 15: codes written into pipes).
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
}

/// A progress bar on the terminal (hidden when `show` is false); `bytes` picks byte units.
fn bar(show: bool, what: &str, bytes: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let tmpl = if bytes {
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{msg} [{bar:40}] {pos}/{len} eta {eta}"
    };
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template(tmpl)
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Runs `step` with a progress bar fed by its progress callback.
fn with_bar<T>(
    show: bool,
    what: &str,
    bytes: bool,
    step: impl FnOnce(pipeline::Progress<'_>) -> T,
) -> T {
    let pb = bar(show, what, bytes);
    let out = step(&|done, total| {
        pb.set_length(total);
        pb.set_position(done);
    });
    pb.finish_and_clear();
    out
}

fn cmd_ingest(a: IngestArgs, show: bool) -> Result<ExitCode> {
    let a = a.into_request();
    let s = with_bar(show, "ingest", true, |p| {
        pipeline::ingest::ingest(&a.state, &a.inputs, &a.options, &a.aws, p)
    })?;
    if a.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        print!("{}", render::ingest_summary(&s));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_simulate(a: SimulateArgs, show: bool) -> Result<ExitCode> {
    let cfg = a.sim_config();
    cfg.validate()?;
    let s = with_bar(show, "simulate", false, |p| {
        crate::simulate::simulate(&cfg, &a.out, p)
    })?;
    println!(
        "wrote {} files to {}: {} unique management events, {} data events, {} duplicate deliveries, {} .. {}\nlabels: {}",
        s.files,
        a.out.display(),
        s.management_events,
        s.data_events,
        s.duplicate_deliveries,
        s.first_event,
        s.last_event,
        a.out.join(crate::ingest::LABELS_FILE).display()
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
    let state = StateDir::new(a.out.join("state"));
    println!(
        "trailsight demo: simulating {} days of CloudTrail (scale {}, seed {}) into {}",
        cfg.days,
        cfg.scale,
        cfg.seed,
        trail.display()
    );
    // A second demo into the same folder reuses the trail when it was made with the same
    // settings: re-ingesting it then shows deduplication at work.
    let (labels, reused) = with_bar(show, "simulate", false, |p| {
        pipeline::eval::simulate_or_reuse(&cfg, &trail, p)
    })?;
    if reused {
        println!("  reusing the trail already simulated there");
    }
    let sim = &labels.summary;
    println!(
        "  {} files, {} unique management events, {} data events, {} duplicate deliveries",
        sim.files, sim.management_events, sim.data_events, sim.duplicate_deliveries
    );
    println!("ingesting into {}", state.root().display());
    let s = with_bar(show, "ingest", true, |p| {
        pipeline::ingest::ingest_local(
            &state,
            &[trail.join("AWSLogs")],
            &IngestOptions::for_test_data(),
            p,
        )
    })?;
    print!("{}", render::ingest_summary(&s));
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
    let (from, to) = crate::simulate::evaluation_window(&cfg);
    println!(
        "\nfitting baselines on the {} days before {}",
        conf.baseline.training_days,
        crate::time::format_datetime(&from)
    );
    let b = pipeline::fit::fit_store(&store, &conf, from.timestamp())?;
    println!(
        "  {} call series, {} principals, {} periodic jobs",
        b.series.len(),
        b.principals.len(),
        b.jobs.len()
    );
    let out = a.out.join("findings");
    let d = pipeline::detect::detect_into(
        &state,
        &conf,
        TimeRange::new(from.timestamp(), to.timestamp()),
        &out,
    )?;
    println!();
    print!("{}", render::findings(&d, 15));
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
    let r = pipeline::report::write_report(
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

fn cmd_baseline(a: BaselineArgs) -> Result<ExitCode> {
    let cfg = Config::from_arg(a.config.config.as_deref())?;
    let state = a.state.dir();
    let store = Store::open(&state)?;
    let until = match a.until {
        Some(t) => t,
        None => pipeline::fit::default_until(&store)?,
    };
    let b = pipeline::fit::fit_store(&store, &cfg, until)?;
    print!(
        "{}",
        render::baseline(&b, &state.path(crate::state::StateFile::Baselines))
    );
    Ok(ExitCode::SUCCESS)
}

/// Warns about each suppression rule past its `expires` date: it no longer hides anything.
fn warn_expired(cfg: &Config) {
    for rule in cfg.expired_rules(chrono::Utc::now().date_naive()) {
        tracing::warn!("suppression rule {rule}: it no longer hides findings");
    }
}

fn cmd_detect(a: DetectArgs) -> Result<ExitCode> {
    let cfg = Config::from_arg(a.config.config.as_deref())?;
    warn_expired(&cfg);
    let state = a.state.dir();
    let default = pipeline::detect::last_day(&Store::open(&state)?)?;
    let window = TimeRange::new(a.from.unwrap_or(default.start), a.to.unwrap_or(default.end));
    let d = pipeline::detect::detect_into(&state, &cfg, window, &a.out)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&render::detection_json(&d, &a.out))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render::findings(&d, a.top));
    println!(
        "wrote {} and {} (incidents.jsonl, shadow.jsonl, suppressed.jsonl, config.toml beside them)",
        a.out.join("findings.jsonl").display(),
        a.out.join("insights.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_explain(a: ExplainArgs) -> Result<ExitCode> {
    let f = pipeline::report::find(&a.findings, &a.id)?;
    if a.json {
        println!("{}", serde_json::to_string(&f)?);
    } else {
        print!("{}", render::explanation(&f));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_eval(a: EvalArgs, show: bool) -> Result<ExitCode> {
    let cfg = Config::from_arg(a.config.config.as_deref())?;
    let template = SimConfig {
        days: a.days,
        scale: a.scale,
        world: a.world,
        accounts: a.accounts,
        ..SimConfig::default()
    };
    for &seed in &a.seeds {
        SimConfig {
            seed,
            ..template.clone()
        }
        .validate()?;
    }
    let temp = a.work.is_none();
    let work = a.work.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("trailsight-eval-{}", std::process::id()))
    });
    let r = with_bar(show, "replay", false, |p| {
        if a.trail.is_empty() {
            pipeline::eval::eval_nightly(&cfg, &template, &a.seeds, a.first_day, &work, p)
        } else {
            pipeline::eval::eval_trails(&cfg, &a.trail, a.first_day, &work, p)
        }
    });
    if temp {
        let _ = std::fs::remove_dir_all(&work);
    }
    let r = r?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        if a.trail.is_empty() {
            println!(
                "nightly replay of seeds {:?} ({} days from day {}, scale {}):\n",
                a.seeds, a.days, a.first_day, a.scale
            );
        } else {
            let names: Vec<String> = a.trail.iter().map(|t| t.display().to_string()).collect();
            println!(
                "nightly replay of {} from day {}:\n",
                names.join(", "),
                a.first_day
            );
        }
        print!("{}", render::incident_score(&r.total));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_backtest(a: crate::cli::BacktestArgs, show: bool) -> Result<ExitCode> {
    let json = a.json;
    let req = a.into_request()?;
    let s = with_bar(show, "backtest", false, |p| {
        pipeline::backtest::backtest(&req, p)
    })?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        print!("{}", render::backtest(&s));
        println!("wrote {}", req.out.join("backtest.json").display());
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_report(a: ReportArgs) -> Result<ExitCode> {
    let given = a.config.config.as_deref().map(Config::load).transpose()?;
    let cfg = pipeline::report::config_for(&a.findings, given)?;
    let state = a.state.dir();
    let period = pipeline::report::period(&state, a.from, a.to)?;
    let r = pipeline::report::write_report(
        &state,
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

fn cmd_run(a: RunArgs, show: bool) -> Result<ExitCode> {
    let fail_on = a.fail_on;
    let json = a.json;
    let req = a.into_request()?;
    warn_expired(&req.config);
    let o = with_bar(show, "ingest", true, |p| pipeline::run::run(&req, p))?;
    let alert = fail_on.is_some_and(|s| o.alerts_at(s));
    if json {
        println!("{}", serde_json::to_string(&render::run_json(&o, alert))?);
    } else {
        print!("{}", render::run(&o));
    }
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
        ConfigCommand::Check { file, json } => {
            let cfg = match Config::load(&file) {
                Ok(c) => c,
                Err(e) if json => {
                    let v = serde_json::json!({
                        "file": file.display().to_string(), "valid": false,
                        "errors": [e.to_string()], "warnings": [],
                    });
                    println!("{v}");
                    return Ok(ExitCode::from(2));
                }
                Err(e) => return Err(e.into()),
            };
            let today = chrono::Utc::now();
            let expired_rules = cfg.expired_rules(today.date_naive());
            let mut overrides = 0;
            let mut shadow = Vec::new();
            let mut off = Vec::new();
            for k in FindingKind::ALL {
                let c = cfg.detectors.policy(k);
                overrides += c.overrides.len();
                if c.shadow {
                    shadow.push(k.as_str());
                }
                if !c.enabled {
                    off.push(k.as_str());
                }
            }
            let expired = cfg.suppress.iter().filter(|r| !r.active_at(today)).count();
            if json {
                let v = serde_json::json!({
                    "file": file.display().to_string(), "valid": true, "errors": [],
                    "warnings": expired_rules.iter().map(|r| format!("suppression rule {r}")).collect::<Vec<_>>(),
                    "suppression_rules": cfg.suppress.len(), "expired": expired,
                    "overrides": overrides, "shadow": shadow, "disabled": off,
                });
                println!("{v}");
                return Ok(ExitCode::SUCCESS);
            }
            for r in &expired_rules {
                eprintln!("warning: suppression rule {r}: it no longer hides findings");
            }
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

fn cmd_tune(a: TuneArgs, show: bool) -> Result<ExitCode> {
    let req = a.into_request()?;
    let o = with_bar(show, "nights", false, |p| pipeline::tune::tune(&req, p))?;
    println!(
        "replayed {} night by night over {} .. {} ({} nights, {} values) in {:.2} s",
        req.kind.as_str(),
        crate::time::format(o.window.start),
        crate::time::format(o.window.end),
        o.nights,
        o.rows.len(),
        o.seconds
    );
    print!("{}", render::tune_table(req.kind, &o.rows));
    println!("wrote {} and {}", o.csv.display(), o.png.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_aws_insights(a: crate::cli::AwsInsightsArgs) -> Result<ExitCode> {
    let req = a.into_request()?;
    let cmp = pipeline::report::aws_insights(&req)?;
    if req.json {
        println!("{}", serde_json::to_string(&cmp)?);
    } else {
        print!("{}", crate::aws::insights::render(&cmp));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15: an OS error printed twice ("File exists (os error 17): File exists (os
    /// error 17)"); nothing to read mapped to exit 3.
    #[test]
    fn each_cause_is_printed_once_and_empty_maps_to_3() {
        let io = std::io::Error::other("File exists (os error 17)");
        let e = anyhow::Error::new(std::io::Error::other(io.to_string()))
            .context("File exists (os error 17)")
            .context("writing ./out");
        assert_eq!(error_text(&e), "writing ./out: File exists (os error 17)");
        let e = anyhow::Error::new(PipelineError::Empty("nothing".into())).context("ingest");
        assert_eq!(exit_code(&e), ExitCode::from(3));
        let e = anyhow::Error::new(PipelineError::NoData);
        assert_eq!(exit_code(&e), ExitCode::from(2));
    }
}
