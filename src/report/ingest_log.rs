//! The last ingest summaries, kept in the state (`ingest-log.json`) so the report's
//! data-quality section can show files read, bad files and records with their reasons, and
//! duplicates, long after the ingest printed them.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ingest::IngestSummary;

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

/// Where the log lives.
pub fn path(state: &Path) -> PathBuf {
    state.join("ingest-log.json")
}

/// The stored runs, oldest first; none when there is no log yet. A damaged log reads as empty
/// (it is informational; the next ingest rewrites it).
pub fn load(state: &Path) -> std::io::Result<Vec<IngestRun>> {
    match std::fs::read(path(state)) {
        Ok(b) => Ok(serde_json::from_slice(&b).unwrap_or_else(|e| {
            tracing::warn!(path = %path(state).display(), error = %e, "ignoring a damaged ingest log");
            Vec::new()
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Appends a run (atomically rewriting the log).
pub fn record(state: &Path, summary: &IngestSummary) -> std::io::Result<()> {
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
    let bytes = serde_json::to_vec_pretty(&runs).map_err(std::io::Error::other)?;
    crate::rollup::store::write_atomic(&path(state), &bytes).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Problem;

    #[test]
    fn keeps_the_last_runs_and_caps_problems() {
        let dir = tempfile::tempdir().unwrap();
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
            record(dir.path(), &s).unwrap();
        }
        let runs = load(dir.path()).unwrap();
        assert_eq!(runs.len(), KEEP);
        assert_eq!(runs[0].summary.problems.len(), KEEP_PROBLEMS);
        assert_eq!(runs[0].summary.problems_not_listed, 5);
        std::fs::write(path(dir.path()), b"{not json").unwrap();
        assert!(load(dir.path()).unwrap().is_empty());
    }
}
