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

/// The local files to read under `local` ([`list`]); with no file to read and no remote source,
/// [`PipelineError::Empty`] names what was looked at, so nothing passes as "0 files" silently.
fn discover(local: &[PathBuf], remote: bool) -> Result<Listed, PipelineError> {
    let (files, unreadable) = list(local);
    if files.is_empty() && !remote {
        let paths: Vec<String> = local.iter().map(|p| p.display().to_string()).collect();
        let why = if unreadable.len() == local.len() && !local.is_empty() {
            "none of them could be read"
        } else {
            "no file looks like a CloudTrail log (*.json, *.json.gz, *.jsonl, *.jsonl.gz, \
             *.ndjson, *.gz)"
        };
        return Err(PipelineError::Empty(format!(
            "nothing to read in {}: {why}",
            paths.join(", ")
        )));
    }
    Ok((files, unreadable))
}

type Listed = (Vec<ingest::InputFile>, Vec<(PathBuf, String)>);

/// The files under `local`, each path that cannot be read logged now (it is also counted as a
/// bad file in the summary).
fn list(local: &[PathBuf]) -> Listed {
    let (files, unreadable) = ingest::discover(local);
    for (path, reason) in &unreadable {
        tracing::warn!(path = %path.display(), "{reason}");
    }
    (files, unreadable)
}

/// Checks, before a state is created for them, that `inputs` hold something to read: a
/// remote source or at least one local CloudTrail file ([`PipelineError::Empty`] otherwise).
pub fn check_inputs(inputs: &[Input]) -> Result<(), PipelineError> {
    let (local, remote) = split(inputs);
    discover(&local, !remote.is_empty()).map(|_| ())
}

/// Reads `inputs` (local paths first, then each remote source) into the state, creating it if
/// needed; each batch is committed as it is read. Inputs with nothing to read are refused
/// before the state is created.
pub fn ingest(
    state: &StateDir,
    inputs: &[Input],
    opts: &IngestOptions,
    aws: &AwsOptions,
    progress: Progress<'_>,
) -> Result<IngestSummary, PipelineError> {
    let (local, remote) = split(inputs);
    let (files, unreadable) = discover(&local, !remote.is_empty())?;
    let mut store = Store::open_or_create(state)?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    let mut summary = if local.is_empty() {
        IngestSummary::default()
    } else {
        ingest::ingest_listed(&mut store, &files, unreadable, opts, &|d| {
            progress(d, total)
        })?
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
    // An input folder with no new file is a normal night once the state holds data; a path
    // that cannot be read is still reported.
    let (files, errors) = if local.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let (files, errors) = list(&local);
        if files.is_empty() && errors.len() == local.len() {
            return Err(PipelineError::Empty(format!(
                "nothing to read: none of the --input paths could be read ({})",
                errors
                    .iter()
                    .map(|(p, e)| format!("{}: {e}", p.display()))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        if files.is_empty() {
            tracing::warn!("no CloudTrail log file in the --input paths");
        }
        (files, errors)
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
