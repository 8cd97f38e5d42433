//! The nightly job as a use case, safe to schedule: one run at a time per state directory
//! ([`crate::state::Lock`]), only input files not read before ([`crate::ingest::ledger`]), the
//! window each dated run covered (the run log, so re-running a day repeats it exactly), the
//! baselines refitted on the history before it, detection, and the outputs published as one
//! dated folder with a `latest` pointer.
//!
//! Every file is replaced atomically, and each is written only after the step it records has
//! committed: a run killed anywhere leaves state the next run completes (files not yet in the
//! ledger are read again, and ingest deduplicates them by eventID).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::detect::write_outputs;
use super::ingest::{ingest_new, NewInput};
use super::{Detection, PipelineError, Prepared, Progress};
use crate::aws::AwsOptions;
use crate::baseline;
use crate::config::Config;
use crate::finding::Severity;
use crate::incident::Incident;
use crate::ingest::{IngestOptions, IngestSummary, Input};
use crate::policy::Triage;
use crate::rollup::Store;
use crate::state::{failpoint, StateDir, StateError, StateFile};
use crate::time::TimeRange;

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

/// The dated runs done on a state (`runs.json`).
#[derive(Debug)]
pub struct RunLog {
    state: StateDir,
    runs: BTreeMap<NaiveDate, RunRecord>,
}

impl RunLog {
    /// Reads the run log (empty when there is none yet).
    pub fn load(state: &StateDir) -> Result<RunLog, StateError> {
        let runs = state
            .read_json::<RunLogFile>(StateFile::RunLog)?
            .map(|f| f.runs)
            .unwrap_or_default();
        Ok(RunLog {
            state: state.clone(),
            runs,
        })
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
    pub fn record(&mut self, date: NaiveDate, r: RunRecord) -> Result<(), StateError> {
        self.runs.insert(date, r);
        let f = RunLogFile {
            version: 1,
            runs: self.runs.clone(),
        };
        self.state.write_json(StateFile::RunLog, &f, true)?;
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

/// Refuses a `--date` outside the stored data (`stored_days`: epoch days), naming the stored
/// period: a future day or one before any data would only ever be "warming up" (issue 15).
pub fn check_stored(date: NaiveDate, stored_days: &[i64]) -> Result<(), PipelineError> {
    let to_date = |d: i64| {
        DateTime::from_timestamp(d * 86_400, 0)
            .map(|t| t.date_naive().to_string())
            .unwrap_or_default()
    };
    let (Some(&first), Some(&last)) = (stored_days.first(), stored_days.last()) else {
        return Err(PipelineError::Empty(
            "the state holds no events yet: nothing to check (are the --input paths right?)".into(),
        ));
    };
    let day = day_start(date).div_euclid(86_400);
    if day < first || day > last {
        return Err(PipelineError::Invalid(format!(
            "--date {date} is outside the stored data ({} .. {}, {} days)",
            to_date(first),
            to_date(last),
            stored_days.len()
        )));
    }
    Ok(())
}

/// Writes a dated run's outputs into `<out>/<date>/` as one step: `write` fills a staging
/// folder, which then replaces any earlier folder of that date; `<out>/latest` then points at
/// the newest date published that was `checked` (a warming-up day never moves it). Returns the
/// dated folder.
pub fn publish(
    out: &Path,
    date: NaiveDate,
    checked: bool,
    write: impl FnOnce(&Path) -> Result<(), PipelineError>,
) -> Result<PathBuf, PipelineError> {
    let fail = |what: &str, path: &Path| {
        let reason = format!("{what}: ");
        let path = path.to_path_buf();
        move |e: std::io::Error| PipelineError::File {
            path,
            reason: format!("{reason}{e}"),
        }
    };
    super::create_dir(out)?;
    let name = date.format("%Y-%m-%d").to_string();
    let pid = std::process::id();
    let staging = out.join(format!(".{name}.staging-{pid}"));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(fail("creating it", &staging))?;
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
        fs::rename(&dated, &old).map_err(fail("moving it aside", &dated))?;
    }
    failpoint("publish-between-renames");
    fs::rename(&staging, &dated).map_err(fail("publishing it", &dated))?;
    if had_old {
        let _ = fs::remove_dir_all(&old);
    }
    // `latest` moves forward only: a backfill of an old date leaves it where it is.
    let latest = out.join("latest");
    let current = fs::read_link(&latest)
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    if checked && current.as_deref().is_none_or(|c| c <= name.as_str()) {
        let tmp = out.join(format!(".latest.{pid}"));
        let _ = fs::remove_file(&tmp);
        symlink_dir(Path::new(&name), &tmp).map_err(fail("creating it", &tmp))?;
        fs::rename(&tmp, &latest).map_err(fail("updating it", &latest))?;
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

/// A nightly run, as the command line asked for it.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The state directory.
    pub state: StateDir,
    /// What to read (only what is new is read).
    pub inputs: Vec<Input>,
    /// Where dated output folders and `latest` go.
    pub out: PathBuf,
    /// The configuration.
    pub config: Config,
    /// The UTC day to check (default: the last stored day before today).
    pub date: Option<NaiveDate>,
    /// After missed nights, check at most this many days in one run.
    pub catch_up_days: u32,
    /// Ingest limits.
    pub ingest: IngestOptions,
    /// AWS access, for remote inputs.
    pub aws: AwsOptions,
}

/// What a nightly run did.
#[derive(Debug)]
pub struct RunOutcome {
    /// The day checked.
    pub date: NaiveDate,
    /// The window checked (the day, or several after missed nights).
    pub window: TimeRange,
    /// What was ingested.
    pub ingest: NewInput,
    /// Why detection did not run yet (too little history), if so.
    pub warming_up: Option<String>,
    /// The detection, when it ran.
    pub detection: Option<Detection>,
    /// Its findings, triaged.
    pub triage: Triage,
    /// The published dated folder.
    pub dated: PathBuf,
}

impl RunOutcome {
    /// The incidents raised (none while warming up).
    pub fn incidents(&self) -> &[Incident] {
        self.detection.as_ref().map_or(&[], |d| &d.incidents)
    }

    /// Whether an incident (of alerting findings: not shadow, not suppressed) has `severity`
    /// or higher.
    pub fn alerts_at(&self, severity: Severity) -> bool {
        self.incidents().iter().any(|i| i.severity >= severity)
    }
}

/// What `run` records about itself in `<out>/<date>/run.json`.
#[derive(Debug, serde::Serialize)]
struct RunInfo<'a> {
    date: NaiveDate,
    window_start: String,
    window_end: String,
    tool_version: &'static str,
    input_files_read: u64,
    input_files_unchanged: usize,
    ingest: &'a IngestSummary,
    /// Set while the state has too little history to fit baselines.
    warming_up: Option<String>,
    incidents: usize,
    findings: usize,
    shadow: usize,
    suppressed: usize,
    below_override: usize,
    events_in_window: u64,
    config: &'a Config,
}

/// One nightly run: lock, ingest what is new, pick the day and window, refit baselines on the
/// history before it, detect, publish `<out>/<date>/`, record the run.
pub fn run(req: &RunRequest, progress: Progress<'_>) -> Result<RunOutcome, PipelineError> {
    let cfg = &req.config;
    let state = &req.state;
    // Inputs with nothing to read do not create an empty state (issue 15); a state folder
    // that exists (another run may hold its lock) is locked first.
    if !state.root().exists() {
        super::ingest::check_inputs(&req.inputs)?;
    }
    let _lock = state.lock()?;

    // 1. Ingest what is new; the ledgers are written only after the events are committed.
    let mut store = Store::open_or_create(state)?;
    let ingest = ingest_new(&mut store, &req.inputs, &req.ingest, &req.aws, progress)?;
    failpoint("run-after-ingest");

    // 2. The day to check, and the window (missed nights included, re-runs repeated).
    let store = store;
    let days = store.days();
    let date = match req.date {
        Some(d) => {
            check_stored(d, &days)?;
            d
        }
        None => default_date(&days, Utc::now().date_naive()).ok_or_else(|| {
            PipelineError::Empty(
                "the state holds no events yet: nothing to check (are the --input paths right?)"
                    .into(),
            )
        })?,
    };
    let mut log = RunLog::load(state)?;
    let window = log.window_for(date, req.catch_up_days);

    // 3. Baselines on the history before the window, then detection.
    let (detection, triage, warming_up) =
        match baseline::fit(&store, &cfg.catalog(), &cfg.baseline, window.start) {
            Ok(b) => {
                b.save(state)?;
                failpoint("run-after-baseline");
                let (d, t) = Prepared::load(&store, window)?.run_triaged(&b, cfg);
                (Some(d), t, None)
            }
            Err(e @ baseline::BaselineError::ShortHistory { .. }) => {
                (None, Triage::default(), Some(e.to_string()))
            }
            Err(e) => return Err(e.into()),
        };

    // 4. Outputs, published as one dated folder.
    let info = RunInfo {
        date,
        window_start: crate::time::format(window.start),
        window_end: crate::time::format(window.end),
        tool_version: env!("CARGO_PKG_VERSION"),
        input_files_read: ingest.summary.files,
        input_files_unchanged: ingest.unchanged,
        ingest: &ingest.summary,
        warming_up: warming_up.clone(),
        incidents: detection.as_ref().map_or(0, |d| d.incidents.len()),
        findings: triage.active.len(),
        shadow: triage.shadow.len(),
        suppressed: triage.suppressed.len(),
        below_override: triage.below_override,
        events_in_window: detection.as_ref().map_or(0, |d| d.events),
        config: cfg,
    };
    let incidents: &[Incident] = detection.as_ref().map_or(&[], |d| &d.incidents);
    let dated = publish(&req.out, date, detection.is_some(), |dir| {
        write_outputs(dir, &triage, incidents, cfg)?;
        crate::state::write_atomic(
            &dir.join("run.json"),
            &serde_json::to_vec_pretty(&info).expect("run.json serialises"),
        )?;
        let input = crate::report::ReportInput {
            state,
            findings: &triage.active,
            config: cfg,
            findings_source: format!("trailsight run {date}"),
            period: Some(window),
            shadow: &triage.shadow,
            suppressed: &triage.suppressed,
            aws: None,
        };
        super::report::write(&input, dir)?;
        Ok(())
    })?;
    failpoint("run-before-log");
    log.record(
        date,
        RunRecord {
            window,
            finished: Utc::now(),
            findings: triage.active.len(),
            shadow: triage.shadow.len(),
            suppressed: triage.suppressed.len(),
        },
    )?;
    Ok(RunOutcome {
        date,
        window,
        ingest,
        warming_up,
        detection,
        triage,
        dated,
    })
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
        let mut log = RunLog::load(&StateDir::new(dir.path())).unwrap();
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
        let log = RunLog::load(&StateDir::new(dir.path())).unwrap();
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
    fn a_date_outside_the_stored_data_is_refused_with_the_period() {
        let days: Vec<i64> = (0..35)
            .map(|i| day_start(d("2026-01-05")) / 86_400 + i)
            .collect();
        check_stored(d("2026-01-05"), &days).unwrap();
        check_stored(d("2026-02-08"), &days).unwrap();
        for bad in ["2027-06-01", "2025-01-01", "2026-02-09", "2026-01-04"] {
            let e = check_stored(d(bad), &days).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "--date {bad} is outside the stored data (2026-01-05 .. 2026-02-08, 35 days)"
                )
            );
        }
        assert!(matches!(
            check_stored(d("2026-01-05"), &[]),
            Err(PipelineError::Empty(_))
        ));
    }

    #[test]
    fn a_second_lock_fails_at_once_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let held = state.lock().unwrap();
        let e = state.lock().unwrap_err().to_string();
        assert!(
            e.contains("run.lock") && e.contains(&format!("pid {}", std::process::id())),
            "{e}"
        );
        drop(held);
        state.lock().unwrap();
    }

    #[test]
    fn publish_replaces_a_date_and_moves_latest_forward_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let put = |text: &'static str| {
            move |p: &Path| -> Result<(), PipelineError> {
                fs::write(p.join("findings.jsonl"), text).map_err(PipelineError::file(p))?;
                Ok(())
            }
        };
        publish(out, d("2026-01-10"), true, put("a")).unwrap();
        publish(out, d("2026-01-10"), true, put("b")).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("2026-01-10/findings.jsonl")).unwrap(),
            "b"
        );
        publish(out, d("2026-01-11"), true, put("c")).unwrap();
        publish(out, d("2026-01-09"), true, put("z")).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("latest/findings.jsonl")).unwrap(),
            "c"
        );
        // A later day not checked (warming up) is published but `latest` stays (issue 15).
        publish(out, d("2026-01-12"), false, put("w")).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("2026-01-12/findings.jsonl")).unwrap(),
            "w"
        );
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
