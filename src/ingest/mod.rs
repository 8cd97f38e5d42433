//! Ingest: read CloudTrail records from files and fold them into the state's rollups.
//!
//! Files are read in parallel (one file per task: inflate, split into records, parse each
//! record once into a borrowed view that skips unused fields). Each management event is checked
//! against the eventID fingerprints of its UTC day — those already stored and those seen in this
//! run — and counted once. Bad files and bad records are counted with their path and reason;
//! the rest of the input is still ingested.

mod input;
pub mod ledger;
pub mod log;
mod source;
pub mod split;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::event::{classify_prepared, parse_record, EventClass, Prepared};
use crate::rollup::{Rollup, Store, StoreError};

pub use input::{merge_summary, Input, InputError};
pub use source::{discover, parse_trail_key, InputFile, ReadError, TrailKey, LABELS_FILE};
use split::Item;

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
pub type Fetched = HashMap<PathBuf, Result<Vec<u8>, ReadError>>;

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

/// Local files only: nothing to fetch, nothing to remember.
struct LocalFiles;

impl BatchSource for LocalFiles {
    fn fetch(&mut self, _: &[&InputFile]) -> Result<Fetched, IngestError> {
        Ok(Fetched::new())
    }
    fn committed(&mut self, _: &[&InputFile]) -> Result<(), IngestError> {
        Ok(())
    }
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

const SHARDS: usize = 16;

thread_local! {
    /// Each reader thread's file buffer, reused from file to file.
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// eventID fingerprints of one day, sharded so parallel readers rarely contend.
struct DaySet {
    shards: Vec<Mutex<IdSet>>,
}

/// A set of fingerprints. They are already uniform 128-bit hashes, so the table hashes them
/// by taking their high half (the low bits pick the shard) instead of running SipHash.
type IdSet = hashbrown::HashSet<u128, std::hash::BuildHasherDefault<FingerprintHasher>>;

/// Hasher for [`IdSet`]: the high 64 bits of a `u128` fingerprint.
#[derive(Default)]
struct FingerprintHasher(u64);

impl std::hash::Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by u128 keys; a plain fold keeps it correct for anything else.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = (v >> 64) as u64;
    }
}

/// Seen eventIDs per day, loaded from the state on first touch.
struct IdSets<'s> {
    store: &'s Store,
    days: Mutex<HashMap<i64, Arc<DaySet>>>,
}

impl<'s> IdSets<'s> {
    /// Starts from the sets of the previous batch's days: their stored fingerprint files may
    /// be being rewritten by that batch's commit, and these sets already hold what it writes.
    fn new(store: &'s Store, carried: HashMap<i64, Arc<DaySet>>) -> Self {
        IdSets {
            store,
            days: Mutex::new(carried),
        }
    }

    fn day(&self, day: i64) -> Result<Arc<DaySet>, StoreError> {
        let mut days = self.days.lock().expect("id map lock");
        if let Some(d) = days.get(&day) {
            return Ok(d.clone());
        }
        let stored = self.store.load_id_list(day)?;
        let mut shards: Vec<IdSet> = (0..SHARDS)
            .map(|_| {
                IdSet::with_capacity_and_hasher(stored.len() / SHARDS + 1024, Default::default())
            })
            .collect();
        for id in stored {
            shards[(id as usize) % SHARDS].insert(id);
        }
        let set = Arc::new(DaySet {
            shards: shards.into_iter().map(Mutex::new).collect(),
        });
        days.insert(day, set.clone());
        Ok(set)
    }

    /// The fingerprints of the `touched` days (for their commit), and their sets (carried to
    /// the next batch).
    fn take(
        self,
        touched: &BTreeSet<i64>,
    ) -> (BTreeMap<i64, Vec<u128>>, HashMap<i64, Arc<DaySet>>) {
        let days = self.days.into_inner().expect("id map lock");
        let mut ids = BTreeMap::new();
        let mut carried = HashMap::new();
        for (d, set) in days.into_iter().filter(|(d, _)| touched.contains(d)) {
            let list = set
                .shards
                .iter()
                .flat_map(|s| {
                    s.lock()
                        .expect("shard lock")
                        .iter()
                        .copied()
                        .collect::<Vec<_>>()
                })
                .collect();
            ids.insert(d, list);
            carried.insert(d, set);
        }
        (ids, carried)
    }
}

/// Per-thread accumulator.
#[derive(Default)]
struct Acc {
    rollup: Rollup,
    files: u64,
    input_bytes: u64,
    records: u64,
    management: u64,
    skipped: Skipped,
    duplicates: u64,
    bad_files: u64,
    bad_records: u64,
    first: Option<i64>,
    last: Option<i64>,
    accounts: HashSet<String>,
    regions: HashSet<String>,
    problems: Vec<Problem>,
    problems_not_listed: u64,
    fatal: Option<StoreError>,
    pending_ids: BTreeMap<i64, Vec<u128>>,
    /// The day set used last: consecutive events are almost always from the same day, and
    /// this keeps the shared map's lock off the per-event path.
    last_day: Option<(i64, Arc<DaySet>)>,
}

impl Acc {
    fn problem(&mut self, opts: &IngestOptions, path: &Path, record: Option<u64>, reason: String) {
        if self.problems.len() < opts.max_listed_problems {
            self.problems.push(Problem {
                path: path.display().to_string(),
                record,
                reason,
            });
        } else {
            self.problems_not_listed += 1;
        }
    }

    fn merge(mut self, o: Acc) -> Acc {
        self.rollup.merge(o.rollup);
        self.files += o.files;
        self.input_bytes += o.input_bytes;
        self.records += o.records;
        self.management += o.management;
        self.skipped.data += o.skipped.data;
        self.skipped.insight += o.skipped.insight;
        self.skipped.network_activity += o.skipped.network_activity;
        self.duplicates += o.duplicates;
        self.bad_files += o.bad_files;
        self.bad_records += o.bad_records;
        self.first = [self.first, o.first].into_iter().flatten().min();
        self.last = [self.last, o.last].into_iter().flatten().max();
        self.accounts.extend(o.accounts);
        self.regions.extend(o.regions);
        self.problems.extend(o.problems);
        self.problems_not_listed += o.problems_not_listed;
        self.fatal = self.fatal.or(o.fatal);
        self.pending_ids.extend(o.pending_ids);
        self.last_day = None;
        self
    }
}

struct Ctx<'a, 's> {
    opts: &'a IngestOptions,
    ids: &'a IdSets<'s>,
}

impl Ctx<'_, '_> {
    /// One record's text: parse (unless the splitter's fast scan already did), classify,
    /// deduplicate, count.
    fn record<'t>(
        &self,
        acc: &mut Acc,
        path: &Path,
        n: u64,
        text: &'t str,
        prepared: Option<Prepared<'t>>,
    ) {
        acc.records += 1;
        if text.len() > self.opts.max_record_bytes {
            acc.bad_records += 1;
            let reason = format!(
                "record of {} bytes exceeds the {} byte limit",
                text.len(),
                self.opts.max_record_bytes
            );
            acc.problem(self.opts, path, Some(n), reason);
            return;
        }
        let parsed = match prepared {
            Some(p) => classify_prepared(p, text),
            None if !text.starts_with('{') => {
                acc.bad_records += 1;
                acc.problem(
                    self.opts,
                    path,
                    Some(n),
                    "record is not a JSON object".into(),
                );
                return;
            }
            None => parse_record(text),
        };
        let c = match parsed {
            Ok(c) => c,
            Err(e) => {
                acc.bad_records += 1;
                acc.problem(self.opts, path, Some(n), e.to_string());
                return;
            }
        };
        if let Some(reason) = self.opts.times.check(c.event.time) {
            acc.bad_records += 1;
            acc.problem(self.opts, path, Some(n), reason);
            return;
        }
        match c.class {
            EventClass::Data => acc.skipped.data += 1,
            EventClass::Insight => acc.skipped.insight += 1,
            EventClass::NetworkActivity => acc.skipped.network_activity += 1,
            EventClass::Management => {
                let e = c.event;
                let day = e.time.div_euclid(86_400);
                let fp = xxhash_rust::xxh3::xxh3_128(e.event_id.as_bytes());
                let set = match &acc.last_day {
                    Some((d, s)) if *d == day => s.clone(),
                    _ => match self.ids.day(day) {
                        Ok(s) => {
                            acc.last_day = Some((day, s.clone()));
                            s
                        }
                        Err(err) => {
                            acc.fatal.get_or_insert(err);
                            return;
                        }
                    },
                };
                let fresh = set.shards[(fp as usize) % SHARDS]
                    .lock()
                    .expect("shard lock")
                    .insert(fp);
                if !fresh {
                    acc.duplicates += 1;
                    return;
                }
                acc.management += 1;
                acc.rollup.add(&e);
                acc.first = Some(acc.first.map_or(e.time, |f| f.min(e.time)));
                acc.last = Some(acc.last.map_or(e.time, |l| l.max(e.time)));
                // Accounts and regions are read off the rollup's series keys per batch.
            }
        }
    }

    fn file(&self, acc: &mut Acc, f: &InputFile, fetched: Option<&Result<Vec<u8>, ReadError>>) {
        acc.files += 1;
        acc.input_bytes += f.size;
        let blob = match fetched {
            Some(Err(e)) => {
                acc.bad_files += 1;
                acc.problem(self.opts, &f.path, None, e.to_string());
                return;
            }
            Some(Ok(b)) => Some(b.as_slice()),
            None => None,
        };
        BUFFER.with(|b| self.file_in(acc, f, blob, &mut b.borrow_mut()));
    }

    fn file_in(&self, acc: &mut Acc, f: &InputFile, blob: Option<&[u8]>, buf: &mut Vec<u8>) {
        let open = || -> Result<Box<dyn std::io::BufRead + '_>, ReadError> {
            Ok(match blob {
                Some(data) => Box::new(data),
                None => Box::new(std::io::BufReader::with_capacity(
                    256 << 10,
                    std::fs::File::open(&f.path).map_err(ReadError::Open)?,
                )),
            })
        };
        let lim = split::Limits::new(self.opts.max_file_bytes, self.opts.max_record_bytes);
        let path = &f.path;
        let read = split::read(&open, path, lim, buf, &mut |item| match item {
            Item::Record { n, text, prepared } => self.record(acc, path, n, text, prepared),
            Item::Wrapped { n, text } => self.lookup_event(acc, path, n, text),
            Item::TooLarge { n, bytes } => {
                acc.records += 1;
                acc.bad_records += 1;
                let reason = format!(
                    "record of {bytes} bytes exceeds the {} byte limit",
                    self.opts.max_record_bytes
                );
                acc.problem(self.opts, path, Some(n), reason);
            }
            Item::NoObject { n } => {
                acc.records += 1;
                acc.bad_records += 1;
                acc.problem(self.opts, path, Some(n), "line holds no JSON object".into());
            }
        });
        let reason = match read {
            Ok(None) => return,
            Ok(Some(reason)) => reason,
            Err(e) => e.to_string(),
        };
        acc.bad_files += 1;
        acc.problem(self.opts, path, None, reason);
    }

    /// One element of LookupEvents output: the record is a JSON string in `CloudTrailEvent`.
    fn lookup_event(&self, acc: &mut Acc, path: &Path, n: u64, item: &str) {
        #[derive(Deserialize)]
        struct Wrapped<'a> {
            #[serde(borrow, rename = "CloudTrailEvent")]
            cloudtrail_event: std::borrow::Cow<'a, str>,
        }
        match serde_json::from_str::<Wrapped<'_>>(item) {
            Ok(w) => self.record(acc, path, n, &w.cloudtrail_event, None),
            Err(e) => {
                acc.records += 1;
                acc.bad_records += 1;
                acc.problem(
                    self.opts,
                    path,
                    Some(n),
                    format!("LookupEvents entry without a CloudTrailEvent string: {e}"),
                );
            }
        }
    }
}

/// Reads `files` and commits their management events to `store`. `progress` receives the
/// compressed bytes finished so far (the total is the sum of [`InputFile::size`]).
///
/// Files are taken in delivery-date order in batches of about
/// [`IngestOptions::batch_bytes`]; each batch is one atomic commit. Memory is bounded by a
/// batch, not by the input, and a run killed between commits is completed by the next run.
pub fn ingest(
    store: &mut Store,
    files: &[InputFile],
    opts: &IngestOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<IngestSummary, IngestError> {
    ingest_from(store, files, opts, progress, &mut LocalFiles)
}

/// [`ingest`] with file bytes from `source`, fetched one batch at a time.
pub fn ingest_from(
    store: &mut Store,
    files: &[InputFile],
    opts: &IngestOptions,
    progress: &(dyn Fn(u64) + Sync),
    source: &mut dyn BatchSource,
) -> Result<IngestSummary, IngestError> {
    let t0 = Instant::now();
    // Delivery date first (S3 layout), then path: a batch then covers a few days of every
    // account and region, so each stored day is rewritten about once per run.
    let date_of = |f: &InputFile| {
        parse_trail_key(&f.path.to_string_lossy())
            .map(|k| k.date)
            .unwrap_or_default()
    };
    let mut sorted: Vec<(String, &InputFile)> = files.iter().map(|f| (date_of(f), f)).collect();
    sorted.sort_by(|a, b| (&a.0, &a.1.path).cmp(&(&b.0, &b.1.path)));
    let sorted: Vec<&InputFile> = sorted.into_iter().map(|(_, f)| f).collect();
    let done = std::sync::atomic::AtomicU64::new(0);
    let mut total = Acc::default();
    let mut days_updated = BTreeSet::new();
    let mut rest = &sorted[..];
    // Batch k is committed on its own thread while batch k+1 is read: the commit's serial
    // parts (few days to write, fsync) then overlap with reading. Reading uses a snapshot of
    // the state plus the previous batch's fingerprint sets, so it never sees a half-written day.
    let mut inflight: Option<std::thread::JoinHandle<(Store, Result<(), StoreError>)>> = None;
    let mut carried: HashMap<i64, Arc<DaySet>> = HashMap::new();
    // Batches whose commit is in flight: the source hears of them once it is joined.
    let mut awaiting: Vec<&[&InputFile]> = Vec::new();
    let res = (|| -> Result<(), IngestError> {
        while !rest.is_empty() {
            let mut n = 0;
            let mut bytes = 0u64;
            while n < rest.len() && (n == 0 || bytes + rest[n].size <= opts.batch_bytes) {
                bytes += rest[n].size;
                n += 1;
            }
            let (batch, tail) = rest.split_at(n);
            rest = tail;
            let fetched = source.fetch(batch)?;
            let t_read = Instant::now();
            let (mut acc, sets) = ingest_batch(
                store,
                std::mem::take(&mut carried),
                batch,
                &fetched,
                opts,
                &done,
                progress,
            )?;
            drop(fetched);
            carried = sets;
            tracing::debug!(
                files = batch.len(),
                seconds = t_read.elapsed().as_secs_f64(),
                "batch read"
            );
            let rollup = std::mem::take(&mut acc.rollup);
            for k in rollup.apis.keys() {
                if !acc.accounts.contains(&k.account) {
                    acc.accounts.insert(k.account.clone());
                }
                if !acc.regions.contains(&k.region) {
                    acc.regions.insert(k.region.clone());
                }
            }
            days_updated.extend(
                rollup
                    .apis
                    .values()
                    .flat_map(|a| a.minutes.keys())
                    .map(|m| (m * 60).div_euclid(86_400)),
            );
            total = std::mem::take(&mut total).merge(acc);
            if let Some(e) = total.fatal.take() {
                return Err(e.into());
            }
            let ids = std::mem::take(&mut total.pending_ids);
            join_commit(store, &mut inflight)?;
            for b in awaiting.drain(..) {
                source.committed(b)?;
            }
            if rollup.apis.is_empty() {
                source.committed(batch)?;
            } else {
                awaiting.push(batch);
                // `store` becomes a read-only snapshot until the commit is joined.
                let snapshot = store.snapshot();
                let mut owned = std::mem::replace(store, snapshot);
                inflight = Some(std::thread::spawn(move || {
                    let t_commit = Instant::now();
                    let r = owned.commit(rollup, ids);
                    tracing::debug!(
                        seconds = t_commit.elapsed().as_secs_f64(),
                        "batch committed"
                    );
                    (owned, r)
                }));
            }
        }
        Ok(())
    })();
    // Whatever happened, the last commit finishes and `store` is the real state again.
    let joined = join_commit(store, &mut inflight);
    res?;
    joined?;
    for b in awaiting.drain(..) {
        source.committed(b)?;
    }
    let mut problems = total.problems;
    problems.sort();
    let mut accounts: Vec<String> = total.accounts.into_iter().collect();
    accounts.sort();
    let mut regions: Vec<String> = total.regions.into_iter().collect();
    regions.sort();
    Ok(IngestSummary {
        files: total.files,
        input_bytes: total.input_bytes,
        records: total.records,
        management_events: total.management,
        skipped_non_management: total.skipped.data
            + total.skipped.insight
            + total.skipped.network_activity,
        skipped: total.skipped,
        duplicates: total.duplicates,
        bad_files: total.bad_files,
        bad_records: total.bad_records,
        first_event: total.first.map(crate::time::format),
        last_event: total.last.map(crate::time::format),
        accounts,
        regions,
        days_updated: days_updated
            .into_iter()
            .map(crate::rollup::store::day_name)
            .collect(),
        problems,
        problems_not_listed: total.problems_not_listed,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Waits for the commit in flight, if any, and puts the committed state back into `store`.
fn join_commit(
    store: &mut Store,
    inflight: &mut Option<std::thread::JoinHandle<(Store, Result<(), StoreError>)>>,
) -> Result<(), IngestError> {
    let Some(h) = inflight.take() else {
        return Ok(());
    };
    match h.join() {
        Ok((owned, r)) => {
            *store = owned;
            Ok(r?)
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Reads one batch in parallel; returns its accumulator with the fingerprints of the days that
/// gained events in `pending_ids`, and those days' sets for the next batch.
fn ingest_batch(
    store: &Store,
    carried: HashMap<i64, Arc<DaySet>>,
    batch: &[&InputFile],
    fetched: &Fetched,
    opts: &IngestOptions,
    done: &std::sync::atomic::AtomicU64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Acc, HashMap<i64, Arc<DaySet>>), IngestError> {
    let ids = IdSets::new(store, carried);
    let ctx = Ctx { opts, ids: &ids };
    // Largest first, so one big file does not finish last on an idle core.
    let mut order = batch.to_vec();
    order.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    // One accumulator per worker thread, merged once at the end. (rayon's fold makes one per
    // split task, and merging those rollups cost more than 7% of an ingest.) A thread only ever
    // locks its own slot; the fallback covers a task re-entering on the same thread.
    let slots: Vec<Mutex<Acc>> = (0..rayon::current_num_threads())
        .map(|_| Mutex::new(Acc::default()))
        .collect();
    let extra: Mutex<Vec<Acc>> = Mutex::new(Vec::new());
    order.par_iter().for_each(|f| {
        let slot = rayon::current_thread_index().and_then(|i| slots.get(i));
        match slot.and_then(|s| s.try_lock().ok()) {
            Some(mut acc) => ctx.file(&mut acc, f, fetched.get(&f.path)),
            None => {
                let mut acc = Acc::default();
                ctx.file(&mut acc, f, fetched.get(&f.path));
                extra.lock().expect("accumulator list lock").push(acc);
            }
        }
        let d = done.fetch_add(f.size, std::sync::atomic::Ordering::Relaxed) + f.size;
        progress(d);
    });
    let mut acc = slots
        .into_iter()
        .map(|m| m.into_inner().expect("accumulator lock"))
        .chain(extra.into_inner().expect("accumulator list lock"))
        .reduce(Acc::merge)
        .unwrap_or_default();
    acc.last_day = None;
    let touched: BTreeSet<i64> = acc
        .rollup
        .apis
        .values()
        .flat_map(|a| a.minutes.keys())
        .map(|m| (m * 60).div_euclid(86_400))
        .collect();
    // Only days that gained events are rewritten; the others' fingerprints are unchanged.
    let (pending, sets) = ids.take(&touched);
    acc.pending_ids = pending;
    Ok((acc, sets))
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

/// [`ingest`] `files`, counting each of `unreadable` as a bad file.
pub fn ingest_listed(
    store: &mut Store,
    files: &[InputFile],
    unreadable: Unreadable,
    opts: &IngestOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<IngestSummary, IngestError> {
    let mut s = ingest(store, files, opts, progress)?;
    for (p, e) in unreadable {
        s.bad_files += 1;
        s.problems.push(Problem {
            path: p.display().to_string(),
            record: None,
            reason: e,
        });
    }
    s.problems.sort();
    Ok(s)
}

/// Discovers files under `paths` and ingests them; unreadable paths become problems.
pub fn ingest_paths(
    store: &mut Store,
    paths: &[PathBuf],
    opts: &IngestOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<IngestSummary, IngestError> {
    let (files, errors) = discover_inputs(paths)?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    ingest_listed(store, &files, errors, opts, &|d| progress(d, total))
}

/// Reads one file into `bytes` (gzip inflated, at most `limit` bytes), as ingest does.
pub fn read_file(path: &Path, limit: u64, bytes: &mut Vec<u8>) -> Result<(), ReadError> {
    source::read_contents(path, limit, bytes)
}
