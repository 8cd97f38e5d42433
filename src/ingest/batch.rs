//! The second half of an ingest: files in batches read in parallel (the first half, per file,
//! is `record.rs`), each management event deduplicated against the eventIDs of its day, and
//! each batch committed to the store atomically.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rayon::prelude::*;

use super::record::{read_records, RecordSink};
use super::{
    discover_inputs, parse_trail_key, BatchSource, Body, Fetched, IngestError, IngestOptions,
    IngestSummary, InputFile, Problem, ReadError, Skipped, Unreadable,
};
use crate::event::{Classified, EventClass};
use crate::rollup::{Rollup, Store, StoreError};

const SHARDS: usize = 16;

thread_local! {
    /// Each reader thread's file buffer, reused from file to file.
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// eventID fingerprints of one day, sharded so parallel readers rarely contend: all seen (to
/// deduplicate against) and those not yet committed (what the day's next piece records).
struct DaySet {
    shards: Vec<Mutex<Shard>>,
}

#[derive(Default)]
struct Shard {
    seen: IdSet,
    fresh: Vec<u128>,
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
        let mut shards: Vec<Shard> = (0..SHARDS)
            .map(|_| Shard {
                seen: IdSet::with_capacity_and_hasher(
                    stored.len() / SHARDS + 1024,
                    Default::default(),
                ),
                fresh: Vec::new(),
            })
            .collect();
        for id in stored {
            shards[(id as usize) % SHARDS].seen.insert(id);
        }
        let set = Arc::new(DaySet {
            shards: shards.into_iter().map(Mutex::new).collect(),
        });
        days.insert(day, set.clone());
        Ok(set)
    }

    /// The fingerprints the `touched` days gained since their last commit (for this batch's
    /// commit), and their sets (carried to the next batch).
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
                .flat_map(|s| std::mem::take(&mut s.lock().expect("shard lock").fresh))
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
    /// Reads `part` into `acc`; returns where to resume when the accumulator filled up first.
    fn file(
        &self,
        acc: &mut Acc,
        part: &Part<'_>,
        fetched: Option<&Result<Body, ReadError>>,
    ) -> Option<u64> {
        let f = part.file;
        if part.from == 0 {
            acc.files += 1;
            acc.input_bytes += f.size;
        }
        let blob = match fetched {
            Some(Err(e)) => {
                acc.bad_files += 1;
                acc.problem(self.opts, &f.path, None, e.to_string());
                return None;
            }
            Some(Ok(b)) => Some(b),
            None => None,
        };
        let open = || -> Result<Box<dyn std::io::BufRead + '_>, ReadError> {
            let file = |p: &Path| -> Result<Box<dyn std::io::BufRead>, ReadError> {
                Ok(Box::new(std::io::BufReader::with_capacity(
                    256 << 10,
                    std::fs::File::open(p).map_err(ReadError::Open)?,
                )))
            };
            match blob {
                Some(Body::Memory(data)) => Ok(Box::new(data.as_slice())),
                Some(Body::Spooled(s)) => file(s.path()),
                None => file(&f.path),
            }
        };
        let mut sink = Sink {
            ctx: self,
            acc,
            path: &f.path,
        };
        let read = BUFFER.with(|b| {
            read_records(
                &open,
                &f.path,
                self.opts,
                &mut b.borrow_mut(),
                &mut sink,
                part.from,
            )
        });
        acc.records += read.records;
        read.stopped_at
    }
}

/// A file, or the rest of one: records up to `from` were committed by an earlier batch.
#[derive(Debug, Clone, Copy)]
struct Part<'f> {
    file: &'f InputFile,
    from: u64,
}

/// One file's records into a reader thread's accumulator.
struct Sink<'c, 'a, 's> {
    ctx: &'c Ctx<'a, 's>,
    acc: &'c mut Acc,
    path: &'c Path,
}

impl RecordSink for Sink<'_, '_, '_> {
    /// A thread stops taking new events at `batch_events`: one huge file is then committed
    /// in parts, and memory stays bounded whatever its size.
    fn full(&self) -> bool {
        self.acc.management >= self.ctx.opts.batch_events
    }

    fn problem(&mut self, record: Option<u64>, reason: String) {
        match record {
            Some(_) => self.acc.bad_records += 1,
            None => self.acc.bad_files += 1,
        }
        self.acc.problem(self.ctx.opts, self.path, record, reason);
    }

    /// Deduplicates and counts a checked record.
    fn record(&mut self, c: Classified<'_>) {
        let acc = &mut *self.acc;
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
                    _ => match self.ctx.ids.day(day) {
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
                {
                    let mut shard = set.shards[(fp as usize) % SHARDS]
                        .lock()
                        .expect("shard lock");
                    if !shard.seen.insert(fp) {
                        drop(shard);
                        acc.duplicates += 1;
                        return;
                    }
                    shard.fresh.push(fp);
                }
                acc.management += 1;
                acc.rollup.add(&e);
                acc.first = Some(acc.first.map_or(e.time, |f| f.min(e.time)));
                acc.last = Some(acc.last.map_or(e.time, |l| l.max(e.time)));
                // Accounts and regions are read off the rollup's series keys per batch.
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
    // Finished files of batches whose commit is in flight: the source hears of them once it
    // is joined.
    let mut awaiting: Vec<Vec<&InputFile>> = Vec::new();
    // Files an accumulator filled up in: the next batch resumes them.
    let mut resume: Vec<Part<'_>> = Vec::new();
    let res = (|| -> Result<(), IngestError> {
        while !rest.is_empty() || !resume.is_empty() {
            let batch: Vec<Part<'_>> = if resume.is_empty() {
                let mut n = 0;
                let mut bytes = 0u64;
                while n < rest.len() && (n == 0 || bytes + rest[n].size <= opts.batch_bytes) {
                    bytes += rest[n].size;
                    n += 1;
                }
                let (batch, tail) = rest.split_at(n);
                rest = tail;
                batch.iter().map(|&file| Part { file, from: 0 }).collect()
            } else {
                std::mem::take(&mut resume)
            };
            let files: Vec<&InputFile> = batch.iter().map(|p| p.file).collect();
            let fetched = source.fetch(&files)?;
            let t_read = Instant::now();
            let (mut acc, sets, unfinished) = ingest_batch(
                store,
                std::mem::take(&mut carried),
                &batch,
                &fetched,
                opts,
                &done,
                progress,
            )?;
            drop(fetched);
            carried = sets;
            // A file the source may remember is one read to its end.
            let finished: Vec<&InputFile> = files
                .into_iter()
                .filter(|f| !unfinished.iter().any(|u| std::ptr::eq(u.file, *f)))
                .collect();
            resume = unfinished;
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
                source.committed(&b)?;
            }
            if rollup.apis.is_empty() {
                source.committed(&finished)?;
            } else {
                awaiting.push(finished);
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
        source.committed(&b)?;
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
/// A batch's accumulator, its days' fingerprint sets, and the parts left to resume.
type BatchRead<'f> = (Acc, HashMap<i64, Arc<DaySet>>, Vec<Part<'f>>);

/// Files the accumulators filled up in come back as parts to resume.
fn ingest_batch<'f>(
    store: &Store,
    carried: HashMap<i64, Arc<DaySet>>,
    batch: &[Part<'f>],
    fetched: &Fetched,
    opts: &IngestOptions,
    done: &std::sync::atomic::AtomicU64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<BatchRead<'f>, IngestError> {
    let ids = IdSets::new(store, carried);
    let ctx = Ctx { opts, ids: &ids };
    // Largest first, so one big file does not finish last on an idle core.
    let mut order = batch.to_vec();
    order.sort_by(|a, b| {
        (b.file.size, &a.file.path, a.from).cmp(&(a.file.size, &b.file.path, b.from))
    });
    let unfinished: Mutex<Vec<Part<'f>>> = Mutex::new(Vec::new());
    // One accumulator per worker thread, merged once at the end. (rayon's fold makes one per
    // split task, and merging those rollups cost more than 7% of an ingest.) A thread only ever
    // locks its own slot; the fallback covers a task re-entering on the same thread.
    let slots: Vec<Mutex<Acc>> = (0..rayon::current_num_threads())
        .map(|_| Mutex::new(Acc::default()))
        .collect();
    let extra: Mutex<Vec<Acc>> = Mutex::new(Vec::new());
    order.par_iter().for_each(|part| {
        let f = part.file;
        let slot = rayon::current_thread_index().and_then(|i| slots.get(i));
        let stopped = match slot.and_then(|s| s.try_lock().ok()) {
            Some(mut acc) => ctx.file(&mut acc, part, fetched.get(&f.path)),
            None => {
                let mut acc = Acc::default();
                let stopped = ctx.file(&mut acc, part, fetched.get(&f.path));
                extra.lock().expect("accumulator list lock").push(acc);
                stopped
            }
        };
        match stopped {
            Some(from) => unfinished
                .lock()
                .expect("unfinished list lock")
                .push(Part { file: f, from }),
            None => {
                let d = done.fetch_add(f.size, std::sync::atomic::Ordering::Relaxed) + f.size;
                progress(d);
            }
        }
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
    // Only days that gained events get a piece; the others have no fresh fingerprints.
    let (pending, sets) = ids.take(&touched);
    acc.pending_ids = pending;
    let mut unfinished = unfinished.into_inner().expect("unfinished list lock");
    unfinished.sort_by(|a, b| a.file.path.cmp(&b.file.path));
    Ok((acc, sets, unfinished))
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
