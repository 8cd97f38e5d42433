//! The use cases, as library functions: what each command does, minus the printing. The CLI
//! (`app`), the integration tests, the benches and the examples all call these, so there is one
//! way to ingest, fit, detect, triage, report, run a night, tune and evaluate.
//!
//! | use case | function |
//! |---|---|
//! | ingest files, buckets and the event history | [`ingest::ingest`] |
//! | fit and store baselines | [`fit::fit`] |
//! | detect and triage a window, write its findings | [`detect::detect_into`] |
//! | the HTML report of a findings file | [`report::write_report`] |
//! | one nightly run | [`run::run`] |
//! | replay one detector at several thresholds | [`tune::tune`] |
//! | score detection on simulated trails | [`eval::eval`] |
//!
//! Errors are typed per stage and gathered in [`PipelineError`]; nothing here prints (progress
//! goes to a callback, facts to `tracing`).

pub mod backtest;
pub mod detect;
pub mod eval;
pub mod fit;
pub mod ingest;
pub mod report;
pub mod run;
pub mod tune;

pub use detect::{Detection, Prepared};

/// Progress of a long step: `(done, total)`, in the step's own unit (bytes, days).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// A progress callback that ignores everything.
pub fn no_progress(_: u64, _: u64) {}

/// Why a use case stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The configuration file.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A state file.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// The rollups.
    #[error(transparent)]
    Store(#[from] crate::rollup::StoreError),
    /// Ingest as a whole (bad input never stops it).
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    /// Fitting or loading baselines.
    #[error(transparent)]
    Baseline(#[from] crate::baseline::BaselineError),
    /// Reading or writing findings.
    #[error(transparent)]
    Finding(#[from] crate::finding::FindingError),
    /// The report.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// A chart.
    #[error(transparent)]
    Chart(#[from] crate::report::ChartError),
    /// The simulator.
    #[error(transparent)]
    Simulate(#[from] crate::simulate::SimError),
    /// AWS.
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    /// A file of Insights records (`aws-insights --from PATH`).
    #[error(transparent)]
    Records(#[from] crate::aws::insights::RecordsError),
    /// Nothing to work on: no CloudTrail file among the inputs, or no stored event in the
    /// window asked for. The command line exits 3 on it (documented in `--help`).
    #[error("{0}")]
    Empty(String),
    /// The state holds no data for what was asked.
    #[error("the state holds no data yet (run `trailsight ingest` first)")]
    NoData,
    /// Arguments that contradict each other or the data.
    #[error("{0}")]
    Invalid(String),
    /// A file or folder outside the state (an output, a labels file).
    #[error("{}: {reason}", path.display())]
    File {
        /// The file or folder.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl PipelineError {
    /// A `File` error for `path`, for `map_err`.
    pub(crate) fn file(
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> PipelineError + '_ {
        move |e| PipelineError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    }
}

/// Creates an output folder (refusing a path that is a file).
pub(crate) fn create_dir(dir: &std::path::Path) -> Result<(), PipelineError> {
    crate::state::create_folder(dir).map_err(|e| PipelineError::File {
        path: dir.to_path_buf(),
        reason: match e.kind() {
            std::io::ErrorKind::NotADirectory => e.to_string(),
            _ => format!("creating it: {e}"),
        },
    })
}
