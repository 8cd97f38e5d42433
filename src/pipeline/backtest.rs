//! What the nightly job would have raised, day by day, over a past period: each day checked
//! against baselines fitted on the days before it only, exactly as the nightly `run` does, with
//! the state untouched (baselines are fitted in memory). `eval` and `tune` replay the same way.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use super::{PipelineError, Prepared, Progress};
use crate::baseline::{self, BaselineError};
use crate::config::Config;
use crate::finding::{Finding, FindingKind};
use crate::incident::Incident;
use crate::policy::Triage;
use crate::rollup::Store;
use crate::time::{TimeRange, DAY_SECS};

/// One replayed day.
#[derive(Debug, Clone)]
pub struct Night {
    /// The day checked.
    pub date: NaiveDate,
    /// Why nothing was checked (too little history before it), if so.
    pub warming_up: Option<String>,
    /// Its findings, triaged.
    pub triage: Triage,
    /// The alerting findings grouped into incidents.
    pub incidents: Vec<Incident>,
    /// Events in the day.
    pub events: u64,
}

/// Replays `dates` one night each (see the module documentation). `progress` counts nights.
pub fn replay(
    store: &Store,
    cfg: &Config,
    dates: &[NaiveDate],
    progress: Progress<'_>,
) -> Result<Vec<Night>, PipelineError> {
    let catalog = cfg.catalog();
    let policy = cfg.policy();
    let detectors = cfg.detectors(&policy);
    let mut out = Vec::with_capacity(dates.len());
    for (i, &date) in dates.iter().enumerate() {
        progress(i as u64, dates.len() as u64);
        let start = super::run::day_start(date);
        let window = TimeRange::new(start, start + DAY_SECS);
        let night = match baseline::fit(store, &catalog, &cfg.baseline, window.start) {
            Ok(b) => {
                let (d, triage) = Prepared::load(store, window)?.run(
                    &b,
                    &catalog,
                    &detectors,
                    &policy,
                    &cfg.incidents,
                );
                let incidents = d.incidents;
                Night {
                    date,
                    warming_up: None,
                    triage,
                    incidents,
                    events: d.events,
                }
            }
            Err(e @ BaselineError::ShortHistory { .. }) => Night {
                date,
                warming_up: Some(e.to_string()),
                triage: Triage::default(),
                incidents: Vec::new(),
                events: 0,
            },
            Err(e) => return Err(e.into()),
        };
        out.push(night);
    }
    progress(dates.len() as u64, dates.len() as u64);
    Ok(out)
}

/// The days from `from` to `to`, both included.
pub fn days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days().take_while(|d| *d <= to).collect()
}

/// A backtest, as the command line asked for it.
#[derive(Debug, Clone)]
pub struct BacktestRequest {
    /// The state directory (read only).
    pub state: crate::state::StateDir,
    /// The configuration to replay.
    pub config: Config,
    /// First day checked.
    pub from: NaiveDate,
    /// Last day checked (included).
    pub to: NaiveDate,
    /// Where the dated findings and incidents and the summary go.
    pub out: PathBuf,
    /// labels.json from `simulate`, for precision and recall.
    pub labels: Option<PathBuf>,
}

/// One row of the summary: a day and what it raised.
#[derive(Debug, Clone, Serialize)]
pub struct DaySummary {
    /// The day.
    pub date: NaiveDate,
    /// Too little history to check it.
    pub warming_up: bool,
    /// Incidents raised.
    pub incidents: usize,
    /// Alerting findings.
    pub findings: usize,
    /// Incidents by their strongest kind of evidence.
    pub by_kind: std::collections::BTreeMap<FindingKind, usize>,
    /// Incidents that match no labelled incident (with labels).
    pub false_incidents: Option<usize>,
}

/// What a backtest found.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestSummary {
    /// Per day.
    pub days: Vec<DaySummary>,
    /// Incident-level scores against the labels, when given.
    pub score: Option<super::eval::IncidentScore>,
}

/// Replays the request's period and writes `<out>/<date>/findings.jsonl` and
/// `incidents.jsonl` per day, and `<out>/backtest.json` (the summary).
pub fn backtest(
    req: &BacktestRequest,
    progress: Progress<'_>,
) -> Result<BacktestSummary, PipelineError> {
    if req.to < req.from {
        return Err(PipelineError::Invalid(
            "--to must not be before --from".into(),
        ));
    }
    let store = Store::open(&req.state)?;
    let nights = replay(&store, &req.config, &days(req.from, req.to), progress)?;
    let labels = match &req.labels {
        None => None,
        Some(p) => Some(super::eval::load_labels(p)?),
    };
    super::create_dir(&req.out)?;
    let mut days = Vec::new();
    for n in &nights {
        let dir = req.out.join(n.date.format("%Y-%m-%d").to_string());
        super::create_dir(&dir)?;
        write_night(&dir, n, &req.config)?;
        let mut by_kind = std::collections::BTreeMap::new();
        for i in &n.incidents {
            *by_kind.entry(strongest(i)).or_default() += 1;
        }
        days.push(DaySummary {
            date: n.date,
            warming_up: n.warming_up.is_some(),
            incidents: n.incidents.len(),
            findings: n.triage.active.len(),
            by_kind,
            false_incidents: labels.as_ref().map(|l| {
                super::eval::IncidentScore::of(&n.incidents, &n.triage.active, l).false_incidents
            }),
        });
    }
    let score = labels.as_ref().map(|l| {
        let mut s = super::eval::IncidentScore::default();
        for n in &nights {
            s.add(&super::eval::IncidentScore::of(
                &n.incidents,
                &n.triage.active,
                l,
            ));
        }
        s.finish(l, &nights);
        s
    });
    let summary = BacktestSummary { days, score };
    crate::state::write_atomic(
        &req.out.join("backtest.json"),
        &serde_json::to_vec_pretty(&summary).expect("the summary serialises"),
    )?;
    Ok(summary)
}

/// The kind of an incident's best finding.
fn strongest(i: &Incident) -> FindingKind {
    i.storyline
        .iter()
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .map_or(FindingKind::CallRateSpike, |s| s.kind)
}

/// Writes one night's findings (with their incident ids) and incidents into `dir`.
pub fn write_night(dir: &Path, n: &Night, cfg: &Config) -> Result<(), PipelineError> {
    super::detect::write_outputs(dir, &n.triage, &n.incidents, cfg)
}

/// The findings of `nights`, each with the night it was raised in.
pub fn all_findings(nights: &[Night]) -> Vec<(NaiveDate, &Finding)> {
    nights
        .iter()
        .flat_map(|n| n.triage.active.iter().map(move |f| (n.date, f)))
        .collect()
}
