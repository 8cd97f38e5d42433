//! The nightly job's bookkeeping, so `trailsight run` is safe to schedule: one run at a time
//! per state directory (a lock the OS releases when the process dies), which input files were
//! already read (a ledger keyed by path, size and modification time), which window each dated
//! run covered (the run log, so re-running a day repeats it exactly), and publishing a dated
//! output folder atomically with a `latest` pointer.
//!
//! Every file here is replaced atomically, and each is written only after the step it records
//! has committed: a run killed anywhere leaves state the next run completes (files not yet in
//! the ledger are read again, and ingest deduplicates them by eventID).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ingest::InputFile;
use crate::rollup::store::write_atomic;
use crate::time::TimeRange;

/// Errors of the nightly bookkeeping.
#[derive(Debug, thiserror::Error)]
pub enum NightlyError {
    /// Another run holds the state.
    #[error("{path} is locked by another trailsight run ({holder}); wait for it to finish, or remove the file if that process no longer exists")]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// What the holder wrote into the lock file (pid, start time).
        holder: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A bookkeeping file is not what this version writes.
    #[error("{path}: {reason} (delete it to start the bookkeeping afresh: inputs are then read again and deduplicated)")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Writing failed.
    #[error(transparent)]
    Store(#[from] crate::rollup::StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NightlyError + '_ {
    move |source| NightlyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a bookkeeping file; `None` when there is none yet.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, NightlyError> {
    match fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| NightlyError::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
    }
}

/// Dies here when `TRAILSIGHT_FAILPOINT` names this point: the crash tests' stand-in for a kill
/// at an exact step (a real SIGKILL test covers the unaligned case).
pub fn failpoint(name: &str) {
    if std::env::var_os("TRAILSIGHT_FAILPOINT").is_some_and(|v| v == name) {
        std::process::abort();
    }
}

/// Exclusive use of a state directory for one run; released on drop or when the process ends.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes `<state>/run.lock` without waiting: a second run fails at once with [`NightlyError::Busy`].
    pub fn acquire(state: &Path) -> Result<Lock, NightlyError> {
        fs::create_dir_all(state).map_err(io(state))?;
        let path = state.join("run.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(NightlyError::Busy {
                    path,
                    holder: holder.trim().to_string(),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        let note = format!(
            "pid {} since {}",
            std::process::id(),
            Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(note.as_bytes()))
            .map_err(io(&path))?;
        Ok(Lock { _file: file })
    }
}

/// What the ledger remembers of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
}

impl Seen {
    /// The file's current size and modification time.
    pub fn of(path: &Path) -> std::io::Result<Seen> {
        let m = fs::metadata(path)?;
        let mtime_ns = m
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        Ok(Seen {
            size: m.len(),
            mtime_ns,
        })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LedgerFile {
    version: u32,
    files: BTreeMap<String, Seen>,
}

/// The local input files already folded into the state (`<state>/sources/local.json`).
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    files: BTreeMap<String, Seen>,
}

const LEDGER_VERSION: u32 = 1;

impl Ledger {
    /// Reads the ledger (empty when there is none yet).
    pub fn load(state: &Path) -> Result<Ledger, NightlyError> {
        let path = state.join("sources").join("local.json");
        let files = match read_json::<LedgerFile>(&path)? {
            None => BTreeMap::new(),
            Some(f) if f.version != LEDGER_VERSION => {
                return Err(NightlyError::Corrupt {
                    path,
                    reason: format!(
                        "ledger version {} (this build reads {LEDGER_VERSION})",
                        f.version
                    ),
                })
            }
            Some(f) => f.files,
        };
        Ok(Ledger { path, files })
    }

    fn key(path: &Path) -> String {
        std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .to_string_lossy()
            .into_owned()
    }

    /// Splits `files` into those to read (new, or changed since they were read) with their
    /// current size and time, and the number already read unchanged.
    pub fn pending(&self, files: Vec<InputFile>) -> (Vec<(InputFile, Seen)>, usize) {
        let mut todo = Vec::new();
        let mut unchanged = 0;
        for f in files {
            // A file that vanished since discovery is left to ingest, which reports it.
            let seen = Seen::of(&f.path).unwrap_or(Seen {
                size: f.size,
                mtime_ns: 0,
            });
            if self.files.get(&Self::key(&f.path)) == Some(&seen) {
                unchanged += 1;
            } else {
                todo.push((f, seen));
            }
        }
        (todo, unchanged)
    }

    /// Records files as read; call only after their events are committed.
    pub fn record<'a>(&mut self, files: impl IntoIterator<Item = (&'a Path, Seen)>) {
        for (p, s) in files {
            self.files.insert(Self::key(p), s);
        }
    }

    /// Files recorded.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes the ledger atomically.
    pub fn save(&self) -> Result<(), NightlyError> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let f = LedgerFile {
            version: LEDGER_VERSION,
            files: self.files.clone(),
        };
        write_atomic(
            &self.path,
            &serde_json::to_vec(&f).expect("ledger serialises"),
        )?;
        Ok(())
    }
}

/// One finished dated run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The detection window the run covered.
    pub window: TimeRange,
    /// When it finished.
    pub finished: DateTime<Utc>,
    /// Alerting findings.
    pub findings: usize,
    /// Shadow-mode findings.
    pub shadow: usize,
    /// Suppressed findings.
    pub suppressed: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RunLogFile {
    version: u32,
    runs: BTreeMap<NaiveDate, RunRecord>,
}

/// The dated runs done on a state (`<state>/runs.json`).
#[derive(Debug)]
pub struct RunLog {
    path: PathBuf,
    runs: BTreeMap<NaiveDate, RunRecord>,
}

impl RunLog {
    /// Reads the run log (empty when there is none yet).
    pub fn load(state: &Path) -> Result<RunLog, NightlyError> {
        let path = state.join("runs.json");
        let runs = read_json::<RunLogFile>(&path)?
            .map(|f| f.runs)
            .unwrap_or_default();
        Ok(RunLog { path, runs })
    }

    /// The runs, by date.
    pub fn runs(&self) -> &BTreeMap<NaiveDate, RunRecord> {
        &self.runs
    }

    /// The window a run for `date` covers: what an earlier run of the same date covered
    /// (re-running a day repeats it); otherwise the day itself, widened back to the end of
    /// the last earlier run when nights were missed, at most `catch_up_days` days in all.
    pub fn window_for(&self, date: NaiveDate, catch_up_days: u32) -> TimeRange {
        if let Some(r) = self.runs.get(&date) {
            return r.window;
        }
        let start = day_start(date);
        let end = start + 86_400;
        let earliest = start - 86_400 * i64::from(catch_up_days.max(1) - 1);
        let prev_end = self
            .runs
            .range(..date)
            .next_back()
            .map(|(_, r)| r.window.end);
        let start = match prev_end {
            Some(p) if p < start => p.max(earliest),
            _ => start,
        };
        TimeRange { start, end }
    }

    /// Records a finished run and writes the log atomically.
    pub fn record(&mut self, date: NaiveDate, r: RunRecord) -> Result<(), NightlyError> {
        self.runs.insert(date, r);
        let f = RunLogFile {
            version: 1,
            runs: self.runs.clone(),
        };
        write_atomic(
            &self.path,
            &serde_json::to_vec_pretty(&f).expect("run log serialises"),
        )?;
        Ok(())
    }
}

/// Midnight UTC of `date`, in epoch seconds.
pub fn day_start(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
}

/// The day a nightly run checks by default: the last stored day before today (UTC), since
/// today's is still being written; the last stored day when all data is older or newer.
pub fn default_date(stored_days: &[i64], today: NaiveDate) -> Option<NaiveDate> {
    let today = day_start(today).div_euclid(86_400);
    let day = stored_days
        .iter()
        .rev()
        .find(|&&d| d < today)
        .or(stored_days.last())?;
    DateTime::from_timestamp(day * 86_400, 0).map(|t| t.date_naive())
}

/// Writes a dated run's outputs into `<out>/<date>/` as one step: `write` fills a staging
/// folder, which then replaces any earlier folder of that date; `<out>/latest` then points at
/// the newest date published. Returns the dated folder.
pub fn publish(
    out: &Path,
    date: NaiveDate,
    write: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let name = date.format("%Y-%m-%d").to_string();
    let pid = std::process::id();
    let staging = out.join(format!(".{name}.staging-{pid}"));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    write(&staging)?;
    // Leftovers of runs killed while publishing.
    if let Ok(entries) = fs::read_dir(out) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with('.')
                && (n.contains(".staging-") || n.contains(".old-"))
                && e.path() != staging
            {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    let dated = out.join(&name);
    let old = out.join(format!(".{name}.old-{pid}"));
    let had_old = dated.exists();
    if had_old {
        fs::rename(&dated, &old).with_context(|| format!("moving {} aside", dated.display()))?;
    }
    failpoint("publish-between-renames");
    fs::rename(&staging, &dated).with_context(|| format!("publishing {}", dated.display()))?;
    if had_old {
        let _ = fs::remove_dir_all(&old);
    }
    // `latest` moves forward only: a backfill of an old date leaves it where it is.
    let latest = out.join("latest");
    let current = fs::read_link(&latest)
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    if current.as_deref().is_none_or(|c| c <= name.as_str()) {
        let tmp = out.join(format!(".latest.{pid}"));
        let _ = fs::remove_file(&tmp);
        symlink_dir(Path::new(&name), &tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        fs::rename(&tmp, &latest).with_context(|| format!("updating {}", latest.display()))?;
    }
    Ok(dated)
}

#[cfg(unix)]
fn symlink_dir(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink_dir(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_dir(target, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn rec(window: TimeRange) -> RunRecord {
        RunRecord {
            window,
            finished: Utc::now(),
            findings: 0,
            shadow: 0,
            suppressed: 0,
        }
    }

    #[test]
    fn windows_cover_missed_nights_and_repeat_on_rerun() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::load(dir.path()).unwrap();
        let day = |s| day_start(d(s));
        // First run: the day itself.
        let w = log.window_for(d("2026-01-10"), 7);
        assert_eq!((w.start, w.end), (day("2026-01-10"), day("2026-01-11")));
        log.record(d("2026-01-10"), rec(w)).unwrap();
        // Two nights missed: the next run covers them too.
        let w = log.window_for(d("2026-01-13"), 7);
        assert_eq!((w.start, w.end), (day("2026-01-11"), day("2026-01-14")));
        log.record(d("2026-01-13"), rec(w)).unwrap();
        // Re-running a date repeats its window, also after a reload.
        let log = RunLog::load(dir.path()).unwrap();
        assert_eq!(log.window_for(d("2026-01-13"), 7), w);
        // A long gap is capped; a backfill of an older date covers that day only.
        let w = log.window_for(d("2026-02-13"), 3);
        assert_eq!((w.start, w.end), (day("2026-02-11"), day("2026-02-14")));
        let w = log.window_for(d("2026-01-05"), 7);
        assert_eq!((w.start, w.end), (day("2026-01-05"), day("2026-01-06")));
    }

    #[test]
    fn default_date_skips_today() {
        let days: Vec<i64> = [d("2026-01-10"), d("2026-01-11"), d("2026-01-12")]
            .iter()
            .map(|x| day_start(*x) / 86_400)
            .collect();
        assert_eq!(default_date(&days, d("2026-01-12")), Some(d("2026-01-11")));
        assert_eq!(default_date(&days, d("2026-11-24")), Some(d("2026-01-12")));
        assert_eq!(default_date(&days, d("2025-01-01")), Some(d("2026-01-12")));
        assert_eq!(default_date(&[], d("2026-01-12")), None);
    }

    #[test]
    fn ledger_reads_changed_files_again() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.json");
        fs::write(&f, b"{}").unwrap();
        let file = |p: &Path| InputFile {
            path: p.to_path_buf(),
            size: fs::metadata(p).unwrap().len(),
        };
        let mut l = Ledger::load(dir.path()).unwrap();
        let (todo, unchanged) = l.pending(vec![file(&f)]);
        assert_eq!((todo.len(), unchanged), (1, 0));
        l.record(todo.iter().map(|(f, s)| (f.path.as_path(), *s)));
        l.save().unwrap();
        let l = Ledger::load(dir.path()).unwrap();
        assert_eq!(l.pending(vec![file(&f)]).1, 1);
        fs::write(&f, b"{\"Records\":[]}").unwrap();
        assert_eq!(l.pending(vec![file(&f)]).0.len(), 1);
        fs::write(dir.path().join("sources/local.json"), b"{oops").unwrap();
        let e = Ledger::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("local.json") && e.contains("delete it"), "{e}");
    }

    #[test]
    fn a_second_lock_fails_at_once_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = Lock::acquire(dir.path()).unwrap();
        let e = Lock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("run.lock") && e.contains(&format!("pid {}", std::process::id())),
            "{e}"
        );
        drop(held);
        Lock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn publish_replaces_a_date_and_moves_latest_forward_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let put = |text: &'static str| {
            move |p: &Path| -> anyhow::Result<()> {
                fs::write(p.join("findings.jsonl"), text)?;
                Ok(())
            }
        };
        publish(out, d("2026-01-10"), put("a")).unwrap();
        publish(out, d("2026-01-10"), put("b")).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("2026-01-10/findings.jsonl")).unwrap(),
            "b"
        );
        publish(out, d("2026-01-11"), put("c")).unwrap();
        publish(out, d("2026-01-09"), put("z")).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("latest/findings.jsonl")).unwrap(),
            "c"
        );
        let names: Vec<String> = fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(names.is_empty(), "leftovers: {names:?}");
    }
}
