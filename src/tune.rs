//! Threshold tuning: one detector replayed over stored history at several `min_score` values,
//! each a real detection run on rollups read once (a lower threshold can also merge or extend
//! windows differently, so filtering one low-threshold run would not be the same).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::baseline::Baselines;
use crate::config::Config;
use crate::eval::EvalScore;
use crate::finding::{Finding, FindingKind};
use crate::pipeline::Prepared;
use crate::simulate::Label;

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
    grid: &[f64],
    labels: Option<(&[Label], &[Label])>,
) -> Vec<TuneRow> {
    let w = prepared.window();
    let days = (w.end - w.start) as f64 / 86_400.0;
    let current = cfg.detectors.common(kind).min_score.get();
    let in_window = |l: &&Label| l.start.timestamp() < w.end && l.end.timestamp() > w.start;
    let labels = labels.map(|(inc, dec)| {
        (
            inc.iter().filter(in_window).cloned().collect::<Vec<_>>(),
            dec.iter().filter(in_window).cloned().collect::<Vec<_>>(),
        )
    });
    grid.iter()
        .map(|&v| {
            let mut c = cfg.clone();
            c.detectors = c.detectors.only(kind);
            *c.detectors.min_score_mut(kind) =
                crate::detect::Threshold::new(v).expect("grid values are validated scores");
            // Shadow mode decides where findings show, not whether they would fire.
            let (_, t) = prepared.run_triaged(baselines, &c);
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
                threshold: v,
                current: (v - current).abs() < 1e-9,
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

fn join(v: &[(String, usize)]) -> String {
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

/// The rows as a terminal table.
pub fn to_table(kind: FindingKind, rows: &[TuneRow]) -> String {
    let mut o = format!(
        "{:>9} {:>8} {:>8} {:>10} {:>9} {:>6}  top APIs / principals   ({})\n",
        "threshold",
        "findings",
        "per day",
        "suppressed",
        "precision",
        "recall",
        kind.as_str()
    );
    let opt = |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".into());
    for r in rows {
        o.push_str(&format!(
            "{:>8}{} {:>8} {:>8.2} {:>10} {:>9} {:>6}  {}\n",
            r.threshold,
            if r.current { "*" } else { " " },
            r.findings,
            r.per_day,
            r.suppressed,
            opt(r.precision),
            opt(r.recall),
            join(&r.top_apis)
        ));
        if !r.top_principals.is_empty() {
            o.push_str(&format!("{:>57}  {}\n", "", join(&r.top_principals)));
        }
    }
    o.push_str("(* the configured value)\n");
    o
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
