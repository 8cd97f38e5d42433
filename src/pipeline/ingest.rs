//! Ingest as a use case: every kind of [`Input`] into the state, the summary kept in the ingest
//! log for the report. Local paths are read by [`crate::ingest`], buckets and the event history
//! by the sources in [`crate::aws`].

use std::path::PathBuf;

use super::{PipelineError, Progress};
use crate::aws::AwsOptions;
use crate::ingest::{self, ledger::Ledger, merge_summary, IngestOptions, IngestSummary, Input};
use crate::rollup::Store;
use crate::state::StateDir;

fn split(inputs: &[Input]) -> (Vec<PathBuf>, Vec<Input>) {
    let mut local = Vec::new();
    let mut remote = Vec::new();
    for i in inputs {
        match i {
            Input::Local(p) => local.push(p.clone()),
            other => remote.push(other.clone()),
        }
    }
    (local, remote)
}

/// Reads `inputs` (local paths first, then each remote source) into the state, creating it if
/// needed; each batch is committed as it is read.
pub fn ingest(
    state: &StateDir,
    inputs: &[Input],
    opts: &IngestOptions,
    aws: &AwsOptions,
    progress: Progress<'_>,
) -> Result<IngestSummary, PipelineError> {
    let mut store = Store::open_or_create(state)?;
    let (local, remote) = split(inputs);
    let mut summary = if local.is_empty() {
        IngestSummary::default()
    } else {
        ingest::ingest_paths(&mut store, &local, opts, progress)?
    };
    let s = crate::aws::ingest_remote(&mut store, &remote, opts, aws, progress)?;
    merge_summary(&mut summary, s, opts.max_listed_problems);
    finish(state, &summary);
    Ok(summary)
}

/// [`ingest()`] of local paths only.
pub fn ingest_local(
    state: &StateDir,
    paths: &[PathBuf],
    opts: &IngestOptions,
    progress: Progress<'_>,
) -> Result<IngestSummary, PipelineError> {
    let inputs: Vec<Input> = paths.iter().cloned().map(Input::Local).collect();
    ingest(state, &inputs, opts, &AwsOptions::default(), progress)
}

/// What the nightly ingest did.
#[derive(Debug, Clone)]
pub struct NewInput {
    /// The ingest summary (local and remote together).
    pub summary: IngestSummary,
    /// Local files already read and unchanged since.
    pub unchanged: usize,
}

/// The nightly ingest into an open `store`: local files the ledger has not seen (or that
/// changed), then what each remote source has not delivered yet. The ledger is written only
/// after the events it records are committed.
pub fn ingest_new(
    store: &mut Store,
    inputs: &[Input],
    opts: &IngestOptions,
    aws: &AwsOptions,
    progress: Progress<'_>,
) -> Result<NewInput, PipelineError> {
    let state = store.state().clone();
    let (local, remote) = split(inputs);
    let mut ledger = Ledger::load(&state)?;
    let (files, errors) = if local.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        ingest::discover_inputs(&local)?
    };
    let (todo, unchanged) = ledger.pending(files);
    let todo_files: Vec<ingest::InputFile> = todo.iter().map(|(f, _)| f.clone()).collect();
    let total: u64 = todo_files.iter().map(|f| f.size).sum();
    let mut summary =
        ingest::ingest_listed(store, &todo_files, errors, opts, &|d| progress(d, total))?;
    ledger.record(todo.iter().map(|(f, s)| (f.path.as_path(), *s)));
    ledger.save()?;
    let s = crate::aws::ingest_remote(store, &remote, opts, aws, progress)?;
    merge_summary(&mut summary, s, opts.max_listed_problems);
    if !todo.is_empty() || !remote.is_empty() {
        finish(&state, &summary);
    }
    tracing::info!(
        files_unchanged = unchanged,
        "local input files already read"
    );
    Ok(NewInput { summary, unchanged })
}

/// Keeps an ingest's summary for the report's data-quality section (losing it must not fail
/// the ingest) and logs it.
fn finish(state: &StateDir, summary: &IngestSummary) {
    if let Err(e) = ingest::log::record(state, summary) {
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
