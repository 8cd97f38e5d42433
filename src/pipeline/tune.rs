//! Threshold tuning as a use case: one detector replayed over stored history at several
//! `min_score` values, each a real detection run on rollups read once (a lower threshold can
//! also merge or extend windows differently, so filtering one low-threshold run would not be the
//! same). Baselines are fitted in memory: tuning never replaces the state's models.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::eval::EvalScore;
use super::{PipelineError, Prepared};
use crate::baseline::{self, Baselines};
use crate::config::Config;
use crate::finding::{Finding, FindingKind, Threshold};
use crate::rollup::Store;
use crate::simulate::Label;
use crate::state::StateDir;
use crate::time::TimeRange;

/// What one threshold value would have produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuneRow {
    /// The `min_score` tried.
    pub threshold: f64,
    /// Whether it is the configured value.
    pub current: bool,
    /// Findings that would alert (after overrides and suppressions; shadow mode ignored).
    pub findings: usize,
    /// Of which suppressed by a rule (not counted in `findings`).
    pub suppressed: usize,
    /// Findings per replayed day.
    pub per_day: f64,
    /// APIs firing most, `source:Name` with counts, most first.
    pub top_apis: Vec<(String, usize)>,
    /// Principals firing most.
    pub top_principals: Vec<(String, usize)>,
    /// Share of findings pointing at a labelled incident (with labels).
    pub precision: Option<f64>,
    /// Share of the detector's labelled incidents in the window found (with labels).
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

/// Replays `kind`'s detector at each of `grid` over the prepared window. `labels` (incidents,
/// decoys) enable precision and recall; incidents outside the window are not counted.
pub fn replay(
    prepared: &Prepared,
    baselines: &Baselines,
    cfg: &Config,
    kind: FindingKind,
    grid: &[Threshold],
    labels: Option<(&[Label], &[Label])>,
) -> Vec<TuneRow> {
    let w = prepared.window();
    let days = (w.end - w.start) as f64 / 86_400.0;
    let current = cfg.detectors.policy(kind).min_score.get();
    let catalog = cfg.catalog();
    let base = cfg.policy().only(kind);
    let detectors = cfg.detectors(&base);
    let in_window = |l: &&Label| l.start.timestamp() < w.end && l.end.timestamp() > w.start;
    let labels = labels.map(|(inc, dec)| {
        (
            inc.iter().filter(in_window).cloned().collect::<Vec<_>>(),
            dec.iter().filter(in_window).cloned().collect::<Vec<_>>(),
        )
    });
    grid.iter()
        .map(|&v| {
            let mut policy = base.clone();
            policy.detector_mut(kind).min_score = v;
            // Shadow mode decides where findings show, not whether they would fire.
            let (_, t) = prepared.run(baselines, &catalog, &detectors, &policy, &cfg.incidents);
            let fired: Vec<Finding> = t.active.into_iter().chain(t.shadow).collect();
            let (precision, recall) = match &labels {
                None => (None, None),
                Some((inc, dec)) => {
                    let s = EvalScore::of(&fired, inc, dec);
                    let ks = s.kinds.get(kind.as_str()).cloned().unwrap_or_default();
                    let precision = if fired.is_empty() {
                        1.0
                    } else {
                        s.true_positives as f64 / fired.len() as f64
                    };
                    let recall = (ks.labels > 0).then(|| ks.recalled as f64 / ks.labels as f64);
                    (Some(precision), recall)
                }
            };
            TuneRow {
                threshold: v.get(),
                current: (v.get() - current).abs() < 1e-9,
                findings: fired.len(),
                suppressed: t.suppressed.len(),
                per_day: fired.len() as f64 / days.max(1e-9),
                top_apis: top(
                    fired.iter().flat_map(|f| {
                        f.event_names
                            .iter()
                            .map(|n| format!("{}:{n}", f.event_source))
                            .collect::<Vec<_>>()
                    }),
                    5,
                ),
                top_principals: top(
                    fired.iter().filter_map(|f| {
                        f.principal
                            .clone()
                            .or_else(|| f.attributions.principal.first().map(|a| a.value.clone()))
                    }),
                    5,
                ),
                precision,
                recall,
            }
        })
        .collect()
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
        "detector,threshold,current,findings,suppressed,findings_per_day,precision,recall,top_apis,top_principals\n",
    );
    let opt = |x: Option<f64>| x.map(|v| format!("{v:.4}")).unwrap_or_default();
    for r in rows {
        o.push_str(&format!(
            "{},{},{},{},{},{:.3},{},{},{},{}\n",
            kind.as_str(),
            r.threshold,
            r.current,
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
    /// labels.json from `simulate`, for precision and recall.
    pub labels: Option<PathBuf>,
    /// Folder for the CSV and the chart.
    pub out: PathBuf,
}

/// What a tuning run measured and wrote.
#[derive(Debug, Clone)]
pub struct TuneOutcome {
    /// The replayed window.
    pub window: TimeRange,
    /// One row per threshold.
    pub rows: Vec<TuneRow>,
    /// Seconds the replays took.
    pub seconds: f64,
    /// The CSV written.
    pub csv: PathBuf,
    /// The chart written.
    pub png: PathBuf,
}

/// Replays the request's detector over the last `days` stored days at every grid value and
/// writes `tune-<detector>.csv` and `tune-<detector>.png` into `out`.
pub fn tune(req: &TuneRequest) -> Result<TuneOutcome, PipelineError> {
    let store = Store::open(&req.state)?;
    let end = super::detect::last_day(&store)?.end;
    let window = TimeRange::new(end - i64::from(req.days) * crate::time::DAY_SECS, end);
    let b = baseline::fit(
        &store,
        &req.config.catalog(),
        &req.config.baseline,
        window.start,
    )?;
    let prepared = Prepared::load(&store, window)?;
    let labels = match &req.labels {
        None => None,
        Some(p) => Some(super::eval::load_labels(p)?),
    };
    let t0 = std::time::Instant::now();
    let rows = replay(
        &prepared,
        &b,
        &req.config,
        req.kind,
        &req.grid,
        labels
            .as_ref()
            .map(|l| (l.incidents.as_slice(), l.decoys.as_slice())),
    );
    let seconds = t0.elapsed().as_secs_f64();
    super::create_dir(&req.out)?;
    let name = req.kind.as_str();
    let csv = req.out.join(format!("tune-{name}.csv"));
    crate::state::write_atomic(&csv, to_csv(req.kind, &rows).as_bytes())?;
    let points: Vec<crate::report::charts::TunePoint> = rows
        .iter()
        .map(|r| crate::report::charts::TunePoint {
            threshold: r.threshold,
            per_day: r.per_day,
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
            "iam_burst,70,true,2,1,0.500,1.0000,,iam.amazonaws.com:CreateUser (2),\"arn:aws:iam::1:user/a,b (2)\""
        );
    }
}
