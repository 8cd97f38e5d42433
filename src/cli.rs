//! The command line, parsed once with clap; everything after this is typed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// CloudTrail-Insights-style anomaly detection on your own CloudTrail logs.
#[derive(Debug, Parser)]
#[command(name = "trailsight", version, about, propagate_version = true)]
#[command(after_help = "Examples:\n  trailsight demo\n  trailsight simulate --out /tmp/trail --days 35\n  trailsight ingest --state ./state /tmp/trail\n\nExit status: 0 success, 2 an error.")]
pub struct Cli {
    /// Log format on stderr: text on a terminal and json otherwise by default.
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    Auto,
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The state directory, shared by every command that reads or writes it.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// State directory holding rollups and models.
    #[arg(long, env = "TRAILSIGHT_STATE", default_value = "./trailsight-state")]
    pub state: PathBuf,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read CloudTrail logs and fold them into the state's rollups.
    #[command(after_help = "Inputs: S3-delivery trees (AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz, org trails,\n\
any bucket prefix), {\"Records\":[...]} files, bare JSON arrays, JSON Lines (.jsonl[.gz]) and\n\
LookupEvents output ({\"Events\":[{\"CloudTrailEvent\":...}]}). Folders are walked.\n\n\
Examples:\n  trailsight ingest --state ./state ./bucket-copy/AWSLogs\n  trailsight ingest --json export.jsonl.gz lookup-events.json\n\n\
Re-ingesting the same files changes nothing: events are deduplicated by eventID.")]
    Ingest(IngestArgs),
    /// Write a realistic synthetic trail with labelled incidents (labels.json).
    #[command(after_help = "Examples:\n  trailsight simulate --out /tmp/trail\n  trailsight simulate --out /tmp/week --days 7 --scale 1.0 --seed 7 --start 2026-03-02")]
    Simulate(SimulateArgs),
    /// Simulate 35 days, ingest them, and show what was found.
    #[command(after_help = "Examples:\n  trailsight demo\n  trailsight demo --out /tmp/demo --scale 0.2")]
    Demo(DemoArgs),
}

/// `ingest` arguments.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// State directory.
    #[command(flatten)]
    pub state: StateArgs,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Largest decompressed size read from one file, in MiB (guards against gzip bombs).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_file_mib: u64,
    /// Files or folders to read.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// `simulate` arguments.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Output folder (the trail and labels.json).
    #[arg(long)]
    pub out: PathBuf,
    /// Days to simulate.
    #[arg(long, default_value_t = 35)]
    pub days: u32,
    /// Random seed; the same seed gives the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Volume multiplier: 1.0 is about 120k management events a day.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// First day (UTC), YYYY-MM-DD.
    #[arg(long, default_value = "2026-01-05")]
    pub start: chrono::NaiveDate,
}

/// `demo` arguments.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo writes its trail, state and outputs.
    #[arg(long, default_value = "./trailsight-demo")]
    pub out: PathBuf,
    /// Volume multiplier of the simulated trail.
    #[arg(long, default_value_t = 0.05)]
    pub scale: f64,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}
