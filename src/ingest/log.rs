//! The last ingest summaries, kept in the state (`ingest-log.json`) so the report's
//! data-quality section can show files read, bad files and records with their reasons, and
//! duplicates, long after the ingest printed them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::IngestSummary;
use crate::state::{StateDir, StateError, StateFile};

/// Summaries kept (oldest dropped first).
pub const KEEP: usize = 30;
/// Problems kept per summary (the count of the rest is kept).
pub const KEEP_PROBLEMS: usize = 200;

/// One ingest run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestRun {
    /// When it finished.
    pub at: DateTime<Utc>,
    /// What it did.
    pub summary: IngestSummary,
}

/// The stored runs, oldest first; none when there is no log yet. A damaged log reads as empty
/// (it is informational; the next ingest rewrites it).
pub fn load(state: &StateDir) -> Result<Vec<IngestRun>, StateError> {
    match state.read_json(StateFile::IngestLog) {
        Ok(runs) => Ok(runs.unwrap_or_default()),
        Err(e @ StateError::Corrupt { .. }) => {
            tracing::warn!(error = %e, "ignoring a damaged ingest log");
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

/// Appends a run (atomically rewriting the log).
pub fn record(state: &StateDir, summary: &IngestSummary) -> Result<(), StateError> {
    let mut runs = load(state)?;
    let mut s = summary.clone();
    if s.problems.len() > KEEP_PROBLEMS {
        s.problems_not_listed += (s.problems.len() - KEEP_PROBLEMS) as u64;
        s.problems.truncate(KEEP_PROBLEMS);
    }
    runs.push(IngestRun {
        at: Utc::now(),
        summary: s,
    });
    if runs.len() > KEEP {
        runs.drain(..runs.len() - KEEP);
    }
    state.write_json(StateFile::IngestLog, &runs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Problem;

    #[test]
    fn keeps_the_last_runs_and_caps_problems() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let mut s = IngestSummary {
            files: 3,
            ..Default::default()
        };
        s.problems = (0..KEEP_PROBLEMS + 5)
            .map(|i| Problem {
                path: format!("f{i}"),
                record: None,
                reason: "bad".into(),
            })
            .collect();
        for _ in 0..KEEP + 2 {
            record(&state, &s).unwrap();
        }
        let runs = load(&state).unwrap();
        assert_eq!(runs.len(), KEEP);
        assert_eq!(runs[0].summary.problems.len(), KEEP_PROBLEMS);
        assert_eq!(runs[0].summary.problems_not_listed, 5);
        std::fs::write(state.path(StateFile::IngestLog), b"{not json").unwrap();
        assert!(load(&state).unwrap().is_empty());
    }
}
