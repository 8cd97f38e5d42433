//! The HTML report: one self-contained `report.html` (charts embedded as PNG data: URIs,
//! inline CSS and a small inline script, nothing fetched) that an SRE opens every morning.
//!
//! [`write_report`] reads the state (rollups, baselines, the persisted ingest summaries), the
//! findings and the config, draws a chart per finding plus overview charts (`charts`), and
//! renders the page from an auto-escaping template (`html`). Every string that came from a
//! log is attacker-controlled: the template escapes it, the script never evaluates page text,
//! and a Content-Security-Policy allows only the page's own script and style (by hash).

pub mod charts;
pub mod data;
mod html;
pub mod png;

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::baseline::{BaselineError, Baselines};
use crate::config::Config;
use crate::finding::{Finding, FindingKind};
use crate::rollup::{Store, StoreError};
use crate::time::TimeRange;

pub use charts::ChartError;
pub use data::ChartSpec;

/// Errors of the report stage.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading rollups failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The baselines could not be read.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// The page template failed.
    #[error("rendering the report page: {0}")]
    Template(String),
    /// Writing the page, or reading the ingest log, failed.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// File or folder.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// What a report run wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportSummary {
    /// The page.
    pub path: PathBuf,
    /// Findings shown.
    pub findings: usize,
    /// Charts drawn.
    pub charts: usize,
    /// Size of the page, bytes.
    pub bytes: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Inputs of a report beyond the state.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// The state directory.
    pub state: &'a crate::state::StateDir,
    /// Findings to show (any order; the report sorts by score).
    pub findings: &'a [Finding],
    /// Config in force (its thresholds are shown).
    pub config: &'a Config,
    /// Where the findings came from, shown in the page.
    pub findings_source: String,
    /// Period covered; by default the UTC days the findings span (the last 7 stored days
    /// without findings), clipped to the stored data.
    pub period: Option<TimeRange>,
    /// Findings of detectors in shadow mode (listed apart; they never alert).
    pub shadow: &'a [Finding],
    /// Findings hidden by suppression rules (listed and counted with the rule's reason).
    pub suppressed: &'a [crate::policy::Suppressed],
    /// AWS's own CloudTrail Insights compared with the findings (`aws-insights`), if given.
    pub aws: Option<&'a crate::aws::insights::InsightComparison>,
}

/// Findings to show and the rare actions folded under an IAM burst of the same principal.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// The finding.
    pub finding: &'a Finding,
    /// Rare actions by the same principal in (or within an hour of) the burst's window.
    pub related: Vec<&'a Finding>,
}

/// Groups findings: a `rare_action` whose principal also has an `iam_burst` overlapping it
/// (±1 h) goes under that burst (they are the same incident and rare actions are noisy).
pub fn group_findings(findings: &[Finding]) -> Vec<Group<'_>> {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| crate::finding::cmp_findings(a, b));
    let bursts: Vec<&Finding> = sorted
        .iter()
        .copied()
        .filter(|f| f.kind == FindingKind::IamBurst && f.principal.is_some())
        .collect();
    let host = |r: &Finding| -> Option<&str> {
        if r.kind != FindingKind::RareAction {
            return None;
        }
        bursts
            .iter()
            .find(|b| {
                b.account == r.account
                    && b.principal == r.principal
                    && r.window().overlaps(&b.window(), 3600)
            })
            .map(|b| b.id.as_str())
    };
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut nested: Vec<(&str, &Finding)> = Vec::new();
    for f in &sorted {
        match host(f) {
            Some(h) => nested.push((h, f)),
            None => groups.push(Group {
                finding: f,
                related: Vec::new(),
            }),
        }
    }
    for (h, f) in nested {
        if let Some(g) = groups.iter_mut().find(|g| g.finding.id == h) {
            g.related.push(f);
        }
    }
    groups
}

/// The default period: the UTC days the findings span, else the last 7 stored days.
fn default_period(findings: &[Finding], span: Option<TimeRange>) -> TimeRange {
    let span = span.unwrap_or(TimeRange { start: 0, end: 0 });
    let p = match (
        findings.iter().map(|f| f.start.timestamp()).min(),
        findings.iter().map(|f| f.end.timestamp()).max(),
    ) {
        (Some(a), Some(b)) => TimeRange {
            start: a.div_euclid(86_400) * 86_400,
            end: (b + 86_399).div_euclid(86_400) * 86_400,
        },
        _ => TimeRange {
            start: span.end - 7 * 86_400,
            end: span.end,
        },
    };
    TimeRange {
        start: p.start.max(span.start),
        end: p.end.min(span.end).max(p.start.max(span.start)),
    }
}

/// Writes `out_dir/report.html` (and `report.json`, the numbers behind it).
pub fn write_report(input: &ReportInput<'_>, out_dir: &Path) -> Result<ReportSummary, ReportError> {
    let t0 = Instant::now();
    let store = Store::open(input.state)?;
    let baselines = match Baselines::load(input.state) {
        Ok(b) => Some(b),
        Err(BaselineError::Missing(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let catalog = input.config.catalog();
    let span = store.span();
    let period = input
        .period
        .unwrap_or_else(|| default_period(input.findings, span));
    let groups = group_findings(input.findings);
    // Load series over the period plus every finding's context.
    let ctx_start = input
        .findings
        .iter()
        .map(|f| f.start.timestamp() - data::CONTEXT_BEFORE)
        .chain([period.start])
        .min()
        .unwrap_or(period.start);
    let ctx_end = input
        .findings
        .iter()
        .map(|f| f.end.timestamp() + data::CONTEXT_AFTER)
        .chain([period.end])
        .max()
        .unwrap_or(period.end);
    let load = match span {
        Some(s) => TimeRange {
            start: ctx_start.max(s.start).div_euclid(3600) * 3600,
            end: ctx_end.min(s.end).max(ctx_start.max(s.start)),
        },
        None => TimeRange { start: 0, end: 0 },
    };
    let need_detail = input.findings.iter().any(|f| f.principal.is_some());
    let src = data::Sources::load(&store, load, need_detail, baselines.as_ref(), &catalog)?;
    let specs: Vec<(&Finding, ChartSpec)> = groups
        .iter()
        .flat_map(|g| std::iter::once(g.finding).chain(g.related.iter().copied()))
        .map(|f| (f, data::chart_for(f, &src)))
        .collect();
    // Chart drawing dominates; findings are independent.
    let pngs: Vec<(String, Vec<u8>)> = specs
        .par_iter()
        .map(|(f, s)| charts::finding_chart(s).map(|p| (f.id.clone(), p)))
        .collect::<Result<_, _>>()?;
    let overview = data::overview(input.findings, &src, period);
    let silent = if span.is_some() && period.end > period.start {
        data::silent_hours(&store, period)?
    } else {
        Vec::new()
    };
    let events: u64 = src
        .series
        .values()
        .flat_map(|s| {
            s.calls
                .iter()
                .enumerate()
                .map(move |(i, &c)| (s.start + i as i64 * 3600, c))
        })
        .filter(|(t, _)| *t >= period.start && *t < period.end)
        .map(|(_, c)| u64::from(c))
        .sum();
    let over = [
        ("findings over time", charts::findings_over_time(&overview)?),
        ("top APIs", charts::top_apis(&overview)?),
        ("hour of week", charts::heatmap(&overview)?),
    ];
    let ingests = crate::ingest::log::load(input.state)?;
    let page = html::Page {
        input,
        period,
        events,
        groups: &groups,
        charts: pngs.into_iter().collect(),
        overview: &over,
        overview_data: &overview,
        silent_hours: &silent,
        ingests: &ingests,
        baselines: baselines.as_ref(),
        store: &store,
    };
    let (text, json) = html::render(&page)?;
    crate::state::create_folder(out_dir).map_err(|source| ReportError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let path = out_dir.join("report.html");
    crate::state::write_atomic(&path, text.as_bytes())?;
    let jpath = out_dir.join("report.json");
    crate::state::write_atomic(&jpath, json.as_bytes())?;
    Ok(ReportSummary {
        path,
        findings: input.findings.len(),
        charts: specs.len() + over.len(),
        bytes: text.len() as u64,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Amount, Attributions, Severity};
    use chrono::TimeZone;

    fn f(id: &str, kind: FindingKind, principal: &str, start: i64, score: f64) -> Finding {
        let t = |s| chrono::Utc.timestamp_opt(s, 0).unwrap();
        Finding {
            id: id.into(),
            kind,
            account: "111122223333".into(),
            region: "us-east-1".into(),
            event_source: "iam.amazonaws.com".into(),
            event_names: vec!["CreateUser".into()],
            read_only: Some(false),
            principal: Some(principal.into()),
            error_code: None,
            start: t(start),
            end: t(start + 900),
            score,
            severity: Severity::from_score(score),
            p_value: 1e-6,
            observed: Amount::default(),
            expected: Amount::default(),
            baseline_window: TimeRange::new(0, 1),
            attributions: Attributions::default(),
            explanation: String::new(),
            example_event_ids: vec![],
            access_key_ids: vec![],
            details: Default::default(),
            incident_id: None,
        }
    }

    #[test]
    fn rare_actions_fold_under_the_same_principals_burst() {
        let v = vec![
            f("burst", FindingKind::IamBurst, "arn:a", 10_000, 90.0),
            f(
                "rare-near",
                FindingKind::RareAction,
                "arn:a",
                10_000 + 1800,
                60.0,
            ),
            f(
                "rare-far",
                FindingKind::RareAction,
                "arn:a",
                10_000 + 86_400,
                60.0,
            ),
            f("rare-other", FindingKind::RareAction, "arn:b", 10_000, 70.0),
        ];
        let g = group_findings(&v);
        let ids: Vec<&str> = g.iter().map(|g| g.finding.id.as_str()).collect();
        assert_eq!(ids, ["burst", "rare-other", "rare-far"]);
        assert_eq!(g[0].related.len(), 1);
        assert_eq!(g[0].related[0].id, "rare-near");
    }

    #[test]
    fn default_period_is_the_findings_days_within_the_data() {
        let v = vec![f("a", FindingKind::IamBurst, "p", 86_400 * 10 + 500, 50.0)];
        let span = Some(TimeRange {
            start: 0,
            end: 86_400 * 20,
        });
        let p = default_period(&v, span);
        assert_eq!((p.start, p.end), (86_400 * 10, 86_400 * 11));
        let p = default_period(&[], span);
        assert_eq!((p.start, p.end), (86_400 * 13, 86_400 * 20));
    }
}
