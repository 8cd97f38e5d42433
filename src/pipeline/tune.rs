//! Threshold tuning as a use case: one detector replayed night by night over stored history,
//! as the nightly job would have run it (each night against baselines fitted on the days
//! before it, like `backtest`), at several `min_score` values. Each value is a real detection
//! run on the night's rollups read once (a lower threshold can also merge or extend windows
//! differently, so filtering one low-threshold run would not be the same), and its findings are
//! grouped into incidents, the unit an SRE is alerted on. Baselines are fitted in memory:
//! tuning never replaces the state's models.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;

use super::eval::matches;
use super::{PipelineError, Prepared, Progress};
use crate::baseline::{self, BaselineError};
use crate::config::Config;
use crate::finding::{Finding, FindingKind, Threshold};
use crate::rollup::Store;
use crate::simulate::Labels;
use crate::state::StateDir;
use crate::time::{TimeRange, DAY_SECS};

/// What one threshold value would have produced over the replayed nights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuneRow {
    /// The `min_score` tried.
    pub threshold: f64,
    /// Whether it is the configured value.
    pub current: bool,
    /// Incidents that would alert: what the user is told.
    pub incidents: usize,
    /// Incidents per replayed night.
    pub incidents_per_day: f64,
    /// Findings behind them (after overrides and suppressions; shadow mode ignored).
    pub findings: usize,
    /// Of which suppressed by a rule (not counted in `findings`).
    pub suppressed: usize,
    /// Findings per replayed night.
    pub per_day: f64,
    /// APIs firing most, `source:Name` with counts, most first.
    pub top_apis: Vec<(String, usize)>,
    /// Principals firing most.
    pub top_principals: Vec<(String, usize)>,
    /// Share of incidents pointing at a labelled incident (with labels).
    pub precision: Option<f64>,
    /// Share of the detector's labelled incidents in the replayed nights found (with labels).
    pub recall: Option<f64>,
}

fn top<I: IntoIterator<Item = String>>(items: I, n: usize) -> Vec<(String, usize)> {
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// One threshold's counts, summed over nights.
#[derive(Default)]
struct Tally {
    incidents: usize,
    true_incidents: usize,
    findings: Vec<Finding>,
    suppressed: usize,
    recalled: BTreeSet<String>,
}

/// Replays `kind`'s detector night by night over `dates` at each of `grid`. `labels` enable
/// precision (incidents matching a labelled incident) and recall (the detector's labelled
/// incidents in the replayed nights). Nights without enough history are skipped; returns the
/// rows and the nights replayed.
pub fn replay(
    store: &Store,
    cfg: &Config,
    kind: FindingKind,
    grid: &[Threshold],
    dates: &[NaiveDate],
    labels: Option<&Labels>,
    progress: Progress<'_>,
) -> Result<(Vec<TuneRow>, usize), PipelineError> {
    let current = cfg.detectors.policy(kind).min_score.get();
    let catalog = cfg.catalog();
    let base = cfg.policy().only(kind);
    let detectors = cfg.detectors(&base);
    let mut tallies: Vec<Tally> = grid.iter().map(|_| Tally::default()).collect();
    let mut nights = 0usize;
    let mut checked: Vec<TimeRange> = Vec::new();
    for (i, &date) in dates.iter().enumerate() {
        progress(i as u64, dates.len() as u64);
        let start = super::run::day_start(date);
        let window = TimeRange::new(start, start + DAY_SECS);
        let b = match baseline::fit(store, &catalog, &cfg.baseline, window.start) {
            Ok(b) => b,
            Err(BaselineError::ShortHistory { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        nights += 1;
        checked.push(window);
        let prepared = Prepared::load(store, window)?;
        for (&v, t) in grid.iter().zip(&mut tallies) {
            let mut policy = base.clone();
            policy.detector_mut(kind).min_score = v;
            let (_, triage) = prepared.run(&b, &catalog, &detectors, &policy, &cfg.incidents);
            // Shadow mode decides where findings show, not whether they would fire.
            let fired: Vec<Finding> = triage.active.into_iter().chain(triage.shadow).collect();
            let incidents = crate::incident::group(&fired, &cfg.incidents);
            t.incidents += incidents.len();
            t.suppressed += triage.suppressed.len();
            if let Some(l) = labels {
                let by_id: BTreeMap<&str, &Finding> =
                    fired.iter().map(|f| (f.id.as_str(), f)).collect();
                t.true_incidents += incidents
                    .iter()
                    .filter(|inc| {
                        inc.finding_ids()
                            .filter_map(|id| by_id.get(id))
                            .any(|f| l.incidents.iter().any(|lab| matches(f, lab)))
                    })
                    .count();
                for lab in l.incidents.iter().filter(|lab| lab.kind == kind.as_str()) {
                    if fired.iter().any(|f| f.kind == kind && matches(f, lab)) {
                        t.recalled.insert(lab.id.clone());
                    }
                }
            }
            t.findings.extend(fired);
        }
    }
    progress(dates.len() as u64, dates.len() as u64);
    let in_nights = |s: i64, e: i64| checked.iter().any(|w| w.overlaps(&TimeRange::new(s, e), 0));
    let labelled = labels.map(|l| {
        l.incidents
            .iter()
            .filter(|lab| {
                lab.kind == kind.as_str() && in_nights(lab.start.timestamp(), lab.end.timestamp())
            })
            .count()
    });
    let per_night = |n: usize| n as f64 / (nights.max(1) as f64);
    let rows = grid
        .iter()
        .zip(tallies)
        .map(|(&v, t)| TuneRow {
            threshold: v.get(),
            current: (v.get() - current).abs() < 1e-9,
            incidents: t.incidents,
            incidents_per_day: per_night(t.incidents),
            findings: t.findings.len(),
            suppressed: t.suppressed,
            per_day: per_night(t.findings.len()),
            top_apis: top(
                t.findings.iter().flat_map(|f| {
                    f.event_names
                        .iter()
                        .map(|n| format!("{}:{n}", f.event_source))
                        .collect::<Vec<_>>()
                }),
                5,
            ),
            top_principals: top(
                t.findings.iter().filter_map(|f| {
                    f.principal
                        .clone()
                        .or_else(|| f.attributions.principal.first().map(|a| a.value.clone()))
                }),
                5,
            ),
            precision: labels.map(|_| {
                if t.incidents == 0 {
                    1.0
                } else {
                    t.true_incidents as f64 / t.incidents as f64
                }
            }),
            recall: labelled
                .filter(|n| *n > 0)
                .map(|n| t.recalled.len() as f64 / n as f64),
        })
        .collect();
    Ok((rows, nights))
}

/// `name (count); …`, as the table and the CSV list top APIs and principals.
pub fn join(v: &[(String, usize)]) -> String {
    v.iter()
        .map(|(k, n)| format!("{k} ({n})"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The rows as CSV (RFC 4180 quoting; empty precision/recall without labels).
pub fn to_csv(kind: FindingKind, rows: &[TuneRow]) -> String {
    let mut o = String::from(
        "detector,threshold,current,incidents,incidents_per_day,findings,suppressed,findings_per_day,precision,recall,top_apis,top_principals\n",
    );
    let opt = |x: Option<f64>| x.map(|v| format!("{v:.4}")).unwrap_or_default();
    for r in rows {
        o.push_str(&format!(
            "{},{},{},{},{:.3},{},{},{:.3},{},{},{},{}\n",
            kind.as_str(),
            r.threshold,
            r.current,
            r.incidents,
            r.incidents_per_day,
            r.findings,
            r.suppressed,
            r.per_day,
            opt(r.precision),
            opt(r.recall),
            csv_field(&join(&r.top_apis)),
            csv_field(&join(&r.top_principals)),
        ));
    }
    o
}

/// A tuning run, as the command line asked for it.
#[derive(Debug, Clone)]
pub struct TuneRequest {
    /// The state directory.
    pub state: StateDir,
    /// The configuration (the detector's other settings, overrides, suppressions).
    pub config: Config,
    /// The detector, by the kind it reports.
    pub kind: FindingKind,
    /// Thresholds to try.
    pub grid: Vec<Threshold>,
    /// Stored days to replay (the last ones).
    pub days: u32,
    /// labels.json (of `simulate` or another generator), for precision and recall.
    pub labels: Option<PathBuf>,
    /// Folder for the CSV and the chart.
    pub out: PathBuf,
}

/// What a tuning run measured and wrote.
#[derive(Debug, Clone)]
pub struct TuneOutcome {
    /// The replayed window.
    pub window: TimeRange,
    /// Nights replayed (those with enough history).
    pub nights: usize,
    /// One row per threshold.
    pub rows: Vec<TuneRow>,
    /// Seconds the replays took.
    pub seconds: f64,
    /// The CSV written.
    pub csv: PathBuf,
    /// The chart written.
    pub png: PathBuf,
}

/// Replays the request's detector night by night over the last `days` stored days at every
/// grid value and writes `tune-<detector>.csv` and `tune-<detector>.png` into `out`.
pub fn tune(req: &TuneRequest, progress: Progress<'_>) -> Result<TuneOutcome, PipelineError> {
    let store = Store::open(&req.state)?;
    let end = super::detect::last_day(&store)?.end;
    let window = TimeRange::new(end - i64::from(req.days) * DAY_SECS, end);
    let first = chrono::DateTime::from_timestamp(window.start, 0)
        .unwrap_or_default()
        .date_naive();
    let last = chrono::DateTime::from_timestamp(window.end - 1, 0)
        .unwrap_or_default()
        .date_naive();
    let labels = match &req.labels {
        None => None,
        Some(p) => Some(super::eval::load_labels(p)?),
    };
    let t0 = std::time::Instant::now();
    let (rows, nights) = replay(
        &store,
        &req.config,
        req.kind,
        &req.grid,
        &super::backtest::days(first, last),
        labels.as_ref(),
        progress,
    )?;
    if nights == 0 {
        return Err(PipelineError::Invalid(format!(
            "no night of the last {} days has enough history to replay (baseline.min_training_days = {})",
            req.days, req.config.baseline.min_training_days
        )));
    }
    let seconds = t0.elapsed().as_secs_f64();
    super::create_dir(&req.out)?;
    let name = req.kind.as_str();
    let csv = req.out.join(format!("tune-{name}.csv"));
    crate::state::write_atomic(&csv, to_csv(req.kind, &rows).as_bytes())?;
    let points: Vec<crate::report::charts::TunePoint> = rows
        .iter()
        .map(|r| crate::report::charts::TunePoint {
            threshold: r.threshold,
            per_day: r.incidents_per_day,
            precision: r.precision,
            recall: r.recall,
        })
        .collect();
    let current = req.config.detectors.policy(req.kind).min_score.get();
    let png = req.out.join(format!("tune-{name}.png"));
    let bytes = crate::report::charts::tune_chart(name, &points, current)?;
    crate::state::write_atomic(&png, &bytes)?;
    Ok(TuneOutcome {
        window,
        nights,
        rows,
        seconds,
        csv,
        png,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("a; b (2)"), "a; b (2)");
        assert_eq!(csv_field("ua \"x\", y"), "\"ua \"\"x\"\", y\"");
        let rows = vec![TuneRow {
            threshold: 70.0,
            current: true,
            incidents: 1,
            incidents_per_day: 0.25,
            findings: 2,
            suppressed: 1,
            per_day: 0.5,
            top_apis: vec![("iam.amazonaws.com:CreateUser".into(), 2)],
            top_principals: vec![("arn:aws:iam::1:user/a,b".into(), 2)],
            precision: Some(1.0),
            recall: None,
        }];
        let csv = to_csv(FindingKind::IamBurst, &rows);
        let line = csv.lines().nth(1).unwrap();
        assert_eq!(
            line,
            "iam_burst,70,true,1,0.250,2,1,0.500,1.0000,,iam.amazonaws.com:CreateUser (2),\"arn:aws:iam::1:user/a,b (2)\""
        );
    }
}
