//! The rollup store: rollup files plus one manifest that says which files are current, kept in
//! the state directory ([`crate::state`] names and writes every file).
//!
//! Files are immutable and named by generation; a commit writes the new generation's files,
//! then atomically replaces `manifest.json`, then deletes the superseded files. A run killed at
//! any point leaves either the old or the new manifest, both complete; unreferenced files left
//! behind are removed by the next commit.
//!
//! A day is stored in pieces ([`DayEntry`]): a commit appends its new events as a piece and
//! folds the newest pieces into it only while they are small together, so a commit's memory and
//! time follow the new events, not the size of the day (issue 18: a 3.7M-event day was reloaded
//! and rewritten whole by each of its commits). Readers sum a day's pieces.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::agg::Rollup;
use super::series::{CountSeries, Resolution};
use super::table;
use crate::state::{io_error, write_atomic, StateDir, StateError, StateFile, ROLLUP_SCHEMA};
use crate::time::{TimeRange, DAY_SECS};

const IDS_MAGIC: &[u8; 8] = b"TSIDS001";

/// Errors of the rollup store, each naming the file involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A state file could not be read or written, or is not this version's.
    #[error(transparent)]
    State(#[from] StateError),
    /// A Parquet table could not be read or written.
    #[error("{path}: {source}")]
    Polars {
        /// The table file.
        path: PathBuf,
        /// The cause.
        source: PolarsError,
    },
    /// An eventID fingerprint file is damaged.
    #[error("{path}: damaged eventID file: {reason}")]
    Ids {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::State(io_error(path)(source))
}

/// The files of one stored UTC day: a first piece (`calls`, `detail`, `ids`) and the pieces
/// appended by later commits (`parts`). A commit appends the day's new events as a piece of
/// their own, so its cost is the new events', not the day's; it folds the newest pieces into
/// it while they hold no more than [`COMPACT_EVENTS`] events together, so a day filled night
/// by night stays one piece and only a day too large to fold cheaply keeps several.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DayEntry {
    /// Increases with every commit that touches the day; names the files that commit writes.
    pub generation: u64,
    /// First piece's `calls` table, relative to the state directory.
    pub calls: String,
    /// First piece's `detail` table, relative to the state directory.
    pub detail: String,
    /// First piece's eventID fingerprints, relative to the state directory.
    pub ids: String,
    /// Unique management events of the day (all pieces).
    pub events: u64,
    /// Pieces appended after the first, oldest first (absent when there are none, as in
    /// states written before pieces existed and by the Spark and Athena writers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<DayPart>,
}

/// One piece of a stored day after its first: the same three files, for the events it adds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DayPart {
    /// `calls` table, relative to the state directory.
    pub calls: String,
    /// `detail` table, relative to the state directory.
    pub detail: String,
    /// eventID fingerprints, relative to the state directory.
    pub ids: String,
    /// Unique management events of this piece.
    pub events: u64,
}

impl DayEntry {
    /// Every piece of the day, the first one first.
    pub fn pieces(&self) -> Vec<DayPart> {
        let first_events = self
            .events
            .saturating_sub(self.parts.iter().map(|p| p.events).sum());
        std::iter::once(DayPart {
            calls: self.calls.clone(),
            detail: self.detail.clone(),
            ids: self.ids.clone(),
            events: first_events,
        })
        .chain(self.parts.iter().cloned())
        .collect()
    }

    fn from_pieces(generation: u64, mut pieces: Vec<DayPart>) -> DayEntry {
        let events = pieces.iter().map(|p| p.events).sum();
        let first = pieces.remove(0);
        DayEntry {
            generation,
            calls: first.calls,
            detail: first.detail,
            ids: first.ids,
            events,
            parts: pieces,
        }
    }
}

/// The two rollup tables of a day.
#[derive(Debug, Clone, Copy)]
enum Table {
    Calls,
    Detail,
}

impl Table {
    /// This table's file in the day's first piece.
    fn first_file(self, e: &DayEntry) -> &str {
        match self {
            Table::Calls => &e.calls,
            Table::Detail => &e.detail,
        }
    }
}

/// A day's entry after a commit, and the files it no longer names.
struct Written {
    name: String,
    entry: DayEntry,
    superseded: Vec<String>,
}

/// `manifest.json`: what the state holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `trailsight-rollups`.
    pub format: String,
    /// [`ROLLUP_SCHEMA`]'s version of the writer.
    pub schema_version: u32,
    /// trailsight version of the last writer.
    pub tool_version: String,
    /// Last commit time.
    pub updated: Option<DateTime<Utc>>,
    /// Stored days by `YYYY-MM-DD`.
    pub days: BTreeMap<String, DayEntry>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format: ROLLUP_SCHEMA.format.into(),
            schema_version: ROLLUP_SCHEMA.version,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            updated: None,
            days: BTreeMap::new(),
        }
    }
}

/// Day number (days since the epoch) → `YYYY-MM-DD`.
pub fn day_name(day: i64) -> String {
    DateTime::<Utc>::from_timestamp(day * DAY_SECS, 0)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_else(|| format!("day{day}"))
}

fn day_number(name: &str) -> Option<i64> {
    let d = NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()?;
    Some(
        d.and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp()
            .div_euclid(DAY_SECS),
    )
}

/// The rollups of an opened state directory.
#[derive(Debug)]
pub struct Store {
    state: StateDir,
    manifest: Manifest,
    compact_events: u64,
}

/// How many events the newest pieces of a day may hold together for a commit to fold them
/// into one. Folding reads them whole (up to ~400 bytes of rollup per event when each event is
/// its own detail row), so this bounds a commit's memory at ~100 MiB; a day filled night by
/// night (an account's day is typically well under this) stays one piece.
pub const COMPACT_EVENTS: u64 = 250_000;

impl Store {
    /// A read-only copy of the current state (same directory, same manifest), for reading
    /// days that a commit running at the same time does not touch.
    pub(crate) fn snapshot(&self) -> Store {
        Store {
            state: self.state.clone(),
            manifest: self.manifest.clone(),
            compact_events: self.compact_events,
        }
    }
}

impl Store {
    /// Opens an existing state directory.
    pub fn open(state: &StateDir) -> Result<Store, StoreError> {
        state.check_is_dir()?;
        let manifest = state
            .read_versioned::<Manifest>(StateFile::Manifest, ROLLUP_SCHEMA)?
            .ok_or_else(|| StateError::Missing(state.root().to_path_buf()))?;
        Ok(Store {
            state: state.clone(),
            manifest,
            compact_events: COMPACT_EVENTS,
        })
    }

    /// Opens a state directory, creating an empty one if there is none.
    pub fn open_or_create(state: &StateDir) -> Result<Store, StoreError> {
        if state.exists() {
            return Self::open(state);
        }
        state.create()?;
        Ok(Store {
            state: state.clone(),
            manifest: Manifest::default(),
            compact_events: COMPACT_EVENTS,
        })
    }

    /// Sets how many events a commit may fold into one piece of a day ([`COMPACT_EVENTS`] by
    /// default; 0 never folds, which the tests use to check that pieces read as one).
    pub fn set_compact_events(&mut self, events: u64) {
        self.compact_events = events;
    }

    /// The state directory.
    pub fn state(&self) -> &StateDir {
        &self.state
    }

    /// The current manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Stored days, oldest first, as days since the epoch.
    pub fn days(&self) -> Vec<i64> {
        self.manifest
            .days
            .keys()
            .filter_map(|d| day_number(d))
            .collect()
    }

    /// Unique management events stored.
    pub fn total_events(&self) -> u64 {
        self.manifest.days.values().map(|d| d.events).sum()
    }

    /// The eventID fingerprints already stored for a day.
    pub fn load_ids(&self, day: i64) -> Result<HashSet<u128>, StoreError> {
        Ok(self.load_id_list(day)?.into_iter().collect())
    }

    /// The same fingerprints as a list (every piece of the day), for callers that build their
    /// own sets.
    pub fn load_id_list(&self, day: i64) -> Result<Vec<u128>, StoreError> {
        let Some(e) = self.manifest.days.get(&day_name(day)) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for p in e.pieces() {
            self.read_ids(&p.ids, &mut out)?;
        }
        Ok(out)
    }

    /// Appends the fingerprints of one file to `out`.
    fn read_ids(&self, rel: &str, out: &mut Vec<u128>) -> Result<(), StoreError> {
        let path = self.state.resolve(rel);
        let b = fs::read(&path).map_err(io(&path))?;
        if b.len() < 16 || &b[..8] != IDS_MAGIC {
            return Err(StoreError::Ids {
                path,
                reason: "bad header",
            });
        }
        let n = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")) as usize;
        let body = &b[16..];
        if body.len() != n.saturating_mul(16) {
            return Err(StoreError::Ids {
                path,
                reason: "length does not match the count",
            });
        }
        out.extend(
            body.chunks_exact(16)
                .map(|c| u128::from_le_bytes(c.try_into().expect("16 bytes"))),
        );
        Ok(())
    }

    fn read_table(&self, rel: &str) -> Result<DataFrame, StoreError> {
        let path = self.state.resolve(rel);
        let f = fs::File::open(&path).map_err(io(&path))?;
        ParquetReader::new(f)
            .finish()
            .map_err(|source| StoreError::Polars { path, source })
    }

    fn write_table(&self, rel: &str, df: &mut DataFrame) -> Result<(), StoreError> {
        let path = self.state.resolve(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        // Encoded in memory first (a day's table is a few MiB), then written like every state
        // file: a full disk then fails with the OS's own reason and the path ("No space left on
        // device"), not an encoder's "Invalid thrift: transport error" (issue 18).
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(df)
            .map_err(|source| StoreError::Polars {
                path: path.clone(),
                source,
            })?;
        write_atomic(&path, &bytes)?;
        Ok(())
    }

    /// Adds `delta` (deduplicated new events) to the stored rollups and records `new_ids` (the
    /// fingerprints of those events, by day), in one atomic commit. Each touched day gains one
    /// piece; the newest pieces are folded into it while they hold no more than
    /// [`Store::set_compact_events`]' events together.
    pub fn commit(
        &mut self,
        delta: Rollup,
        mut new_ids: BTreeMap<i64, Vec<u128>>,
    ) -> Result<(), StoreError> {
        let mut by_day = delta.split_by_day();
        for d in new_ids.keys() {
            by_day.entry(*d).or_default();
        }
        let jobs: Vec<(i64, Rollup, Vec<u128>)> = by_day
            .into_iter()
            .map(|(d, r)| (d, r, new_ids.remove(&d).unwrap_or_default()))
            .collect();
        let written: Vec<Result<Option<Written>, StoreError>> = jobs
            .into_par_iter()
            .map(|(day, r, ids)| self.write_day(day, r, ids))
            .collect();
        let mut next = self.manifest.clone();
        let mut superseded = Vec::new();
        for w in written {
            let Some(w) = w? else { continue };
            next.days.insert(w.name, w.entry);
            superseded.extend(w.superseded);
        }
        // Fault injection for the crash tests: die as a kill would, with the new generation's
        // files written and the manifest not yet swapped.
        crate::state::failpoint("commit-before-manifest");
        next.updated = Some(Utc::now());
        next.tool_version = env!("CARGO_PKG_VERSION").into();
        let text = serde_json::to_vec_pretty(&next).expect("manifest serialises");
        write_atomic(&self.state.path(StateFile::Manifest), &text)?;
        self.manifest = next;
        for rel in superseded {
            let _ = fs::remove_file(self.state.resolve(&rel));
        }
        self.collect_garbage();
        Ok(())
    }

    /// Writes a day's new piece (its new events `r` and their fingerprints `ids`, with the
    /// newest stored pieces folded in while they stay under the compaction limit). Only the
    /// folded pieces are read: a commit costs the new events and what it folds, never the
    /// whole of a large day.
    fn write_day(
        &self,
        day: i64,
        mut r: Rollup,
        mut ids: Vec<u128>,
    ) -> Result<Option<Written>, StoreError> {
        if r.apis.is_empty() && ids.is_empty() {
            return Ok(None);
        }
        let name = day_name(day);
        let old = self.manifest.days.get(&name);
        let generation = old.map_or(1, |o| o.generation + 1);
        let mut pieces = old.map(DayEntry::pieces).unwrap_or_default();
        let mut together = r.total_calls();
        let mut keep = pieces.len();
        while keep > 0 && together + pieces[keep - 1].events <= self.compact_events {
            keep -= 1;
            together += pieces[keep].events;
        }
        let folded = pieces.split_off(keep);
        let mut superseded = Vec::new();
        for p in folded {
            let calls = self.read_table(&p.calls)?;
            table::add_calls(&mut r, &calls).map_err(|source| StoreError::Polars {
                path: self.state.resolve(&p.calls),
                source,
            })?;
            let detail = self.read_table(&p.detail)?;
            table::add_detail(&mut r, &detail).map_err(|source| StoreError::Polars {
                path: self.state.resolve(&p.detail),
                source,
            })?;
            self.read_ids(&p.ids, &mut ids)?;
            superseded.extend([p.calls, p.detail, p.ids]);
        }
        pieces.push(self.write_piece(&name, generation, &r, ids)?);
        Ok(Some(Written {
            name,
            entry: DayEntry::from_pieces(generation, pieces),
            superseded,
        }))
    }

    /// Writes one piece's three files, named by the commit's generation.
    fn write_piece(
        &self,
        name: &str,
        generation: u64,
        r: &Rollup,
        mut ids: Vec<u128>,
    ) -> Result<DayPart, StoreError> {
        let rel = |table: &str, ext: &str| StateDir::rollup_file(table, name, generation, ext);
        let piece = DayPart {
            calls: rel("calls", "parquet"),
            detail: rel("detail", "parquet"),
            ids: rel("ids", "bin"),
            events: r.total_calls(),
        };
        let mut calls = table::calls_frame(r).map_err(|source| StoreError::Polars {
            path: self.state.resolve(&piece.calls),
            source,
        })?;
        self.write_table(&piece.calls, &mut calls)?;
        drop(calls);
        let mut detail = table::detail_frame(r).map_err(|source| StoreError::Polars {
            path: self.state.resolve(&piece.detail),
            source,
        })?;
        self.write_table(&piece.detail, &mut detail)?;
        drop(detail);
        ids.sort_unstable();
        let mut buf = Vec::with_capacity(16 + ids.len() * 16);
        buf.extend_from_slice(IDS_MAGIC);
        buf.extend_from_slice(&(ids.len() as u64).to_le_bytes());
        for id in &ids {
            buf.extend_from_slice(&id.to_le_bytes());
        }
        let ids_path = self.state.resolve(&piece.ids);
        if let Some(dir) = ids_path.parent() {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        write_atomic(&ids_path, &buf)?;
        Ok(piece)
    }

    /// Removes files no manifest references: leftovers of a killed run.
    fn collect_garbage(&self) {
        let live: HashSet<PathBuf> = self
            .manifest
            .days
            .values()
            .flat_map(DayEntry::pieces)
            .flat_map(|p| [p.calls, p.detail, p.ids])
            .map(|r| self.state.resolve(&r))
            .collect();
        for entry in walkdir::WalkDir::new(self.state.rollups_dir())
            .into_iter()
            .flatten()
        {
            if entry.file_type().is_file() && !live.contains(entry.path()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn days_in(&self, range: TimeRange) -> impl Iterator<Item = &DayEntry> {
        self.manifest.days.iter().filter_map(move |(name, e)| {
            let d = day_number(name)?;
            TimeRange::day(d).overlaps(&range, 0).then_some(e)
        })
    }

    /// One day's table: its file when the day is one piece, else its pieces summed into one
    /// table of the same shape (each key once), as if the day had been written at once.
    fn read_day(&self, e: &DayEntry, which: Table) -> Result<DataFrame, StoreError> {
        if e.parts.is_empty() {
            return self.read_table(which.first_file(e));
        }
        let mut r = Rollup::default();
        for p in e.pieces() {
            let rel = match which {
                Table::Calls => p.calls,
                Table::Detail => p.detail,
            };
            let df = self.read_table(&rel)?;
            match which {
                Table::Calls => table::add_calls(&mut r, &df),
                Table::Detail => table::add_detail(&mut r, &df),
            }
            .map_err(|source| StoreError::Polars {
                path: self.state.resolve(&rel),
                source,
            })?;
        }
        self.frame(&r, which)
    }

    fn frame(&self, r: &Rollup, which: Table) -> Result<DataFrame, StoreError> {
        match which {
            Table::Calls => table::calls_frame(r),
            Table::Detail => table::detail_frame(r),
        }
        .map_err(|source| StoreError::Polars {
            path: self.state.root().to_path_buf(),
            source,
        })
    }

    fn concat(&self, range: TimeRange, which: Table) -> Result<DataFrame, StoreError> {
        let mut out: Option<DataFrame> = None;
        for e in self.days_in(range) {
            let df = self.read_day(e, which)?;
            match &mut out {
                None => out = Some(df),
                Some(acc) => {
                    acc.vstack_mut_owned(df)
                        .map_err(|source| StoreError::Polars {
                            path: self.state.resolve(which.first_file(e)),
                            source,
                        })?;
                }
            }
        }
        let df = match out {
            Some(df) => df,
            None => {
                // An empty table of the right schema, so callers need no special case.
                let mut empty = self.frame(&Rollup::default(), which)?;
                empty.rechunk_mut();
                return Ok(empty);
            }
        };
        let time_col = match which {
            Table::Calls => table::col::MINUTE,
            Table::Detail => table::col::BUCKET,
        };
        let t = col(time_col).cast(DataType::Int64);
        df.lazy()
            .filter(
                t.clone()
                    .gt_eq(lit(range.start.saturating_mul(1000)))
                    .and(t.lt(lit(range.end.saturating_mul(1000)))),
            )
            .collect()
            .map_err(|source| StoreError::Polars {
                path: self.state.root().to_path_buf(),
                source,
            })
    }

    /// The `calls` table over a time range.
    pub fn calls(&self, range: TimeRange) -> Result<DataFrame, StoreError> {
        self.concat(range, Table::Calls)
    }

    /// The `detail` table over a time range.
    pub fn detail(&self, range: TimeRange) -> Result<DataFrame, StoreError> {
        self.concat(range, Table::Detail)
    }

    /// The `calls` table over a time range, as sparse in-memory rollups.
    pub fn calls_rollup(&self, range: TimeRange) -> Result<Rollup, StoreError> {
        let df = self.calls(range)?;
        let mut r = Rollup::default();
        table::add_calls(&mut r, &df).map_err(|source| StoreError::Polars {
            path: self.state.root().to_path_buf(),
            source,
        })?;
        Ok(r)
    }

    /// The `detail` table over a time range, as in-memory rollups keyed by series (what the
    /// detectors index by principal, user agent, source IP and error code).
    pub fn detail_rollup(&self, range: TimeRange) -> Result<Rollup, StoreError> {
        let df = self.detail(range)?;
        let mut r = Rollup::default();
        table::add_detail(&mut r, &df).map_err(|source| StoreError::Polars {
            path: self.state.root().to_path_buf(),
            source,
        })?;
        Ok(r)
    }

    /// Regular zero-filled count series per API over `[range.start, range.end)`.
    pub fn series(
        &self,
        range: TimeRange,
        res: Resolution,
    ) -> Result<Vec<CountSeries>, StoreError> {
        let df = self.calls(range)?;
        table::series_from_calls(&df, range.start, range.end, res).map_err(|source| {
            StoreError::Polars {
                path: self.state.root().to_path_buf(),
                source,
            }
        })
    }

    /// The span of stored data as a range of whole days, if any.
    pub fn span(&self) -> Option<TimeRange> {
        let days = self.days();
        Some(TimeRange::new(
            *days.first()? * DAY_SECS,
            (*days.last()? + 1) * DAY_SECS,
        ))
    }
}
