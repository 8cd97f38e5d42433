//! Ingest: read CloudTrail records from files and fold them into the state's rollups.
//!
//! Files are read in parallel (one file per task: inflate, split into records, parse each
//! record once into a borrowed view that skips unused fields). Each management event is checked
//! against the eventID fingerprints of its UTC day — those already stored and those seen in this
//! run — and counted once. Bad files and bad records are counted with their path and reason;
//! the rest of the input is still ingested.

#[cfg(feature = "full")]
mod batch;
mod input;
pub mod ledger;
pub mod log;
mod record;
mod source;
pub mod split;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[cfg(feature = "full")]
use crate::rollup::StoreError;

#[cfg(feature = "full")]
pub use batch::{ingest, ingest_from, ingest_listed, ingest_paths};
pub use input::{merge_summary, Input, InputError};
pub use record::{
    check_file_bytes, check_record, read_records, scan_bytes, FileScan, Read, RecordSink,
};
pub use source::{discover, parse_trail_key, InputFile, ReadError, TrailKey, LABELS_FILE};

/// Runtime limits of one ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Largest decompressed size read from one file; the rest is reported, not read.
    pub max_file_bytes: u64,
    /// Largest single record; longer ones are reported as bad records.
    pub max_record_bytes: usize,
    /// How many problems are listed individually (all are counted).
    pub max_listed_problems: usize,
    /// Compressed bytes per commit: bounds memory whatever the input size.
    pub batch_bytes: u64,
    /// New events one reader thread holds before its batch is committed: one huge file is
    /// committed in parts, so memory stays bounded by this, not by the file. A thread's
    /// rollup costs up to ~400 bytes per event when most events are their own detail row.
    pub batch_events: u64,
    /// Which `eventTime`s are believable; others are bad records.
    pub times: PlausibleTimes,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_file_bytes: 1 << 30,
            max_record_bytes: 16 << 20,
            max_listed_problems: 1000,
            batch_bytes: 64 << 20,
            batch_events: 200_000,
            times: PlausibleTimes::at(chrono::Utc::now().timestamp()),
        }
    }
}

impl IngestOptions {
    /// The defaults for simulated or replayed test data, which may be dated after the clock
    /// (`demo`, `eval`).
    pub fn for_test_data() -> IngestOptions {
        IngestOptions {
            times: PlausibleTimes::any_future(),
            ..IngestOptions::default()
        }
    }
}

/// The `eventTime`s an ingest believes (issue 18): none before CloudTrail existed, none more
/// than a day after the clock of the run. A record from 1970 or 9999 would otherwise become a
/// stored day that the report period and `detect`'s default window follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlausibleTimes {
    /// Earliest believable time: 2013-11-01, just before CloudTrail's launch (2013-11-13).
    pub not_before: i64,
    /// Latest believable time, or none for replayed test data dated in the future
    /// (`--allow-future`).
    pub not_after: Option<i64>,
}

impl PlausibleTimes {
    /// 2013-11-01T00:00:00Z.
    pub const CLOUDTRAIL_EPOCH: i64 = 1_383_264_000;
    /// How far past the clock a record may be: clocks and delivery are not exact.
    pub const AHEAD_SECS: i64 = 86_400;

    /// For a run whose clock reads `now`.
    pub fn at(now: i64) -> PlausibleTimes {
        PlausibleTimes {
            not_before: Self::CLOUDTRAIL_EPOCH,
            not_after: Some(now + Self::AHEAD_SECS),
        }
    }

    /// Any time after CloudTrail's launch, future ones included (replayed test data).
    pub fn any_future() -> PlausibleTimes {
        PlausibleTimes {
            not_before: Self::CLOUDTRAIL_EPOCH,
            not_after: None,
        }
    }

    /// Why `t` is not believable, if it is not.
    pub fn check(&self, t: i64) -> Option<String> {
        let fmt = crate::time::format;
        if t < self.not_before {
            return Some(format!(
                "eventTime {} is before CloudTrail existed (2013-11-01)",
                fmt(t)
            ));
        }
        match self.not_after {
            Some(limit) if t > limit => Some(format!(
                "eventTime {} is more than a day after this run's clock ({}); --allow-future accepts it for replayed test data",
                fmt(t),
                fmt(limit - Self::AHEAD_SECS)
            )),
            _ => None,
        }
    }
}

/// Stage errors that stop an ingest (bad input never does).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The state directory could not be read or written.
    #[cfg(feature = "full")]
    #[error(transparent)]
    Store(#[from] StoreError),
    /// None of the given paths could be read.
    #[error("no input could be read: {0}")]
    NoInput(String),
    /// A remote source (S3, the event history) failed as a whole: listing, credentials, access.
    #[error(transparent)]
    Source(Box<dyn std::error::Error + Send + Sync>),
}

/// Bytes of files fetched from elsewhere, by [`InputFile::path`]: the body, or why it could
/// not be fetched ([`ReadError::Fetch`], counted as a bad file).
pub type Fetched = HashMap<PathBuf, Result<Body, ReadError>>;

/// A fetched file's bytes: held in memory, or (a large object) spooled to a temporary file,
/// so that what a batch holds in memory does not depend on one object's size.
#[derive(Debug)]
pub enum Body {
    /// The bytes themselves.
    Memory(Vec<u8>),
    /// A temporary file holding them, removed when the body is dropped.
    Spooled(Spool),
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Body {
        Body::Memory(b)
    }
}

/// A temporary file under the system's temporary folder (`TMPDIR`), removed on drop.
#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
}

impl Spool {
    /// Creates an empty temporary file (a name no other process or thread holds) for writing.
    pub fn create(what: &str) -> std::io::Result<(Spool, std::fs::File)> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(
                ".trailsight-{what}-{}-{n}-{:08x}.spool",
                std::process::id(),
                rand::random::<u32>()
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(f) => return Ok((Spool { path }, f)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Where [`ingest_from`] gets file bytes: local files are read by the parser threads; a
/// remote source fetches each batch into memory before it is parsed (memory stays bounded by
/// [`IngestOptions::batch_bytes`]), and is told when the batch is committed so it can remember
/// what it has processed only once the rollups hold it.
pub trait BatchSource {
    /// The bytes of `batch`'s files; files not in the map are read from the local disk.
    fn fetch(&mut self, batch: &[&InputFile]) -> Result<Fetched, IngestError>;
    /// Called after `batch` was committed to the store (or held no new events).
    fn committed(&mut self, batch: &[&InputFile]) -> Result<(), IngestError>;
}

/// A bad file or record, with where it is and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub struct Problem {
    /// The file.
    pub path: String,
    /// 1-based record number in the file (the line for JSON Lines); none for a whole-file problem.
    pub record: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// Non-management events skipped, by class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Data events.
    pub data: u64,
    /// Insight events.
    pub insight: u64,
    /// Network-activity events.
    pub network_activity: u64,
}

/// What an ingest did. `--json` prints exactly this.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestSummary {
    /// Files read.
    pub files: u64,
    /// Compressed bytes read.
    pub input_bytes: u64,
    /// Records found (good and bad).
    pub records: u64,
    /// New unique management events added to the rollups.
    pub management_events: u64,
    /// Data, insight and network-activity events skipped.
    pub skipped_non_management: u64,
    /// The same, by class.
    pub skipped: Skipped,
    /// Management events whose eventID was already stored or seen earlier in this run.
    pub duplicates: u64,
    /// Files with a problem (some may still have yielded records).
    pub bad_files: u64,
    /// Records that could not be used.
    pub bad_records: u64,
    /// Earliest new event (RFC 3339).
    pub first_event: Option<String>,
    /// Latest new event (RFC 3339).
    pub last_event: Option<String>,
    /// Accounts seen.
    pub accounts: Vec<String>,
    /// Regions seen.
    pub regions: Vec<String>,
    /// Days of the state that were rewritten.
    pub days_updated: Vec<String>,
    /// The first problems, sorted by path and record.
    pub problems: Vec<Problem>,
    /// Problems counted but not listed.
    pub problems_not_listed: u64,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Paths that could not be read, with why.
pub type Unreadable = Vec<(PathBuf, String)>;

/// [`discover`], refusing only when nothing at all could be read.
pub fn discover_inputs(paths: &[PathBuf]) -> Result<(Vec<InputFile>, Unreadable), IngestError> {
    let (files, errors) = discover(paths);
    if files.is_empty() && !errors.is_empty() {
        let msg = errors
            .iter()
            .map(|(p, e)| format!("{}: {e}", p.display()))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(IngestError::NoInput(msg));
    }
    Ok((files, errors))
}

/// Reads one file into `bytes` (gzip inflated, at most `limit` bytes), as ingest does.
pub fn read_file(path: &Path, limit: u64, bytes: &mut Vec<u8>) -> Result<(), ReadError> {
    source::read_contents(path, limit, bytes)
}
