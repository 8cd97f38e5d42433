//! What the report shows, computed from the state: per-finding chart series (observed around
//! the finding against the baseline's expectation and band), overview aggregates and the
//! data-quality facts. Pure data; drawing is in `charts`, the page in `html`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::baseline::stats::SeasonalProfile;
use crate::baseline::{hour_of_week, Baselines, TopContributors};
use crate::catalog::{Catalog, Category};
use crate::detect::Holes;
use crate::finding::{Finding, FindingKind};
use crate::rollup::{ApiKey, CountSeries, Resolution, Rollup, Store, StoreError};
use crate::time::TimeRange;

/// Hours of context shown before a finding.
pub const CONTEXT_BEFORE: i64 = 3 * 86_400;
/// Hours of context shown after a finding.
pub const CONTEXT_AFTER: i64 = 86_400;
const HOUR: i64 = 3600;

/// A vertical marker on a chart: an expected run of a periodic job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Marker {
    /// Epoch seconds.
    pub t: i64,
    /// Whether this run is the one that was missed.
    pub missing: bool,
}

/// One finding's chart, as numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartSpec {
    /// First line: what and where.
    pub title: String,
    /// Second line: who, score.
    pub subtitle: String,
    /// What the y axis counts (e.g. "calls per hour").
    pub y_label: String,
    /// Legend name of the observed series.
    pub observed_label: String,
    /// Start of the first bucket, epoch seconds.
    pub start: i64,
    /// Bucket width, seconds.
    pub step: i64,
    /// Observed counts per bucket.
    pub observed: Vec<f64>,
    /// A subset of the observed series to draw on top (the rare action's own calls).
    pub highlight: Option<(String, Vec<f64>)>,
    /// Expected counts per bucket from the baseline.
    pub expected: Option<Vec<f64>>,
    /// The baseline's ~95 % band (low, high) per bucket.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    /// The finding's window.
    pub window: (i64, i64),
    /// Expected runs of a periodic job.
    pub markers: Vec<Marker>,
    /// Observed and expected numbers of the window, printed on the chart.
    pub note: String,
}

/// Everything per-series the charts need, loaded once for the whole report.
pub(crate) struct Sources<'a> {
    /// Hourly series per API over `span`.
    pub(crate) series: HashMap<ApiKey, CountSeries>,
    /// Hourly detail rows per (account, principal).
    pub(crate) principals: HashMap<(String, String), Vec<PrincipalRow>>,
    pub(crate) span: TimeRange,
    pub(crate) baselines: Option<&'a Baselines>,
    pub(crate) catalog: &'a Catalog,
}

/// Calls of one principal to one API in one hour.
#[derive(Debug, Clone)]
pub(crate) struct PrincipalRow {
    pub(crate) hour: i64,
    pub(crate) key: ApiKey,
    pub(crate) calls: u64,
    pub(crate) errors: u64,
}

fn hour_floor(t: i64) -> i64 {
    t.div_euclid(HOUR) * HOUR
}

impl<'a> Sources<'a> {
    /// Loads the hourly series over `span` and, when `need_detail`, the per-principal detail.
    pub(crate) fn load(
        store: &Store,
        span: TimeRange,
        need_detail: bool,
        baselines: Option<&'a Baselines>,
        catalog: &'a Catalog,
    ) -> Result<Sources<'a>, StoreError> {
        let series = store
            .series(span, Resolution::Hour)?
            .into_iter()
            .map(|s| (s.key.clone(), s))
            .collect();
        let mut principals: HashMap<(String, String), Vec<PrincipalRow>> = HashMap::new();
        if need_detail {
            let detail: Rollup = store.detail_rollup(span)?;
            // Hourly per (principal, API): the charts do not need the 5-minute detail keys.
            let mut acc: HashMap<(String, String, ApiKey, i64), (u64, u64)> = HashMap::new();
            for (k, a) in &detail.apis {
                for (dk, dv) in &a.detail {
                    let e = acc
                        .entry((
                            k.account.clone(),
                            dk.principal.clone(),
                            k.clone(),
                            hour_floor(dk.bucket),
                        ))
                        .or_default();
                    e.0 += u64::from(dv.count);
                    if dk.error_code.is_some() {
                        e.1 += u64::from(dv.count);
                    }
                }
            }
            for ((account, principal, key, hour), (calls, errors)) in acc {
                principals
                    .entry((account, principal))
                    .or_default()
                    .push(PrincipalRow {
                        hour,
                        key,
                        calls,
                        errors,
                    });
            }
        }
        Ok(Sources {
            series,
            principals,
            span,
            baselines,
            catalog,
        })
    }

    fn principal_rows(&self, account: &str, principal: &str) -> &[PrincipalRow] {
        self.principals
            .get(&(account.to_string(), principal.to_string()))
            .map_or(&[], |v| v.as_slice())
    }
}

/// Expected per hour and the ~95 % band of a negative binomial with dispersion `alpha`.
fn band_of(mu: f64, alpha: f64) -> (f64, f64) {
    let sd = (mu + alpha * mu * mu).sqrt();
    ((mu - 1.96 * sd).max(0.0), mu + 1.96 * sd)
}

fn profile_series(p: &SeasonalProfile, start: i64, n: usize, scale: f64) -> Vec<f64> {
    (0..n)
        .map(|i| p.expected_per_hour(hour_of_week(start + i as i64 * HOUR)) * scale)
        .collect()
}

fn fmt_num(x: f64) -> String {
    if x >= 100.0 || x == x.round() {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Human duration of a window.
pub fn duration(secs: i64) -> String {
    let m = secs / 60;
    if m < 120 {
        format!("{m} min")
    } else if m % 60 == 0 || m < 600 {
        format!("{:.1} h", m as f64 / 60.0)
    } else {
        format!("{:.0} h", m as f64 / 60.0)
    }
}

/// The chart of one finding.
pub(crate) fn chart_for(f: &Finding, src: &Sources<'_>) -> ChartSpec {
    let ws = f.start.timestamp();
    let we = f.end.timestamp();
    let start = hour_floor((ws - CONTEXT_BEFORE).max(src.span.start));
    let end = hour_floor((we + CONTEXT_AFTER).min(src.span.end) + HOUR - 1).max(start + HOUR);
    let n = ((end - start) / HOUR) as usize;
    let idx = |t: i64| ((hour_floor(t) - start) / HOUR) as usize;
    let names: Vec<&str> = f.event_names.iter().map(String::as_str).collect();
    let api = match names.as_slice() {
        [one] => format!("{}:{one}", f.event_source),
        [first, rest @ ..] => format!("{}:{first} +{}", f.event_source, rest.len()),
        [] => f.event_source.clone(),
    };
    let title = format!("{} — {api} — {} / {}", f.kind.as_str(), f.account, f.region);
    let subtitle = match &f.principal {
        Some(p) => format!("score {:.0} ({}) · {p}", f.score, f.severity.as_str()),
        None => format!("score {:.0} ({})", f.score, f.severity.as_str()),
    };
    let note = format!(
        "window {} UTC, {}: observed {}, expected {}",
        f.start.format("%Y-%m-%d %H:%M"),
        duration(we - ws),
        fmt_num(f.observed.total),
        fmt_num(f.expected.total)
    );
    let mut spec = ChartSpec {
        title,
        subtitle,
        y_label: "calls per hour".into(),
        observed_label: "observed".into(),
        start,
        step: HOUR,
        observed: vec![0.0; n],
        highlight: None,
        expected: None,
        band: None,
        window: (ws, we),
        markers: Vec::new(),
        note,
    };
    let in_api = |k: &ApiKey| {
        k.account == f.account
            && (f.region.is_empty() || k.region == f.region)
            && k.event_source == f.event_source
            && names.contains(&k.event_name.as_str())
            && f.read_only.is_none_or(|r| r == k.read_only)
    };
    let series_models = src.baselines.map(|b| b.series_index()).unwrap_or_default();
    let principal_model = |p: &str| {
        src.baselines.and_then(|b| {
            b.principals
                .iter()
                .find(|m| m.account == f.account && m.principal == p)
        })
    };
    // Sums matching API series into `obs` (calls or errors) and their profiles into expected.
    let api_series = |spec: &mut ChartSpec, errors: bool, share_of: Option<&str>| {
        let mut exp = vec![0.0; n];
        let mut var = vec![0.0; n];
        let mut any_model = false;
        for (k, s) in src.series.iter().filter(|(k, _)| in_api(k)) {
            if share_of.is_none() {
                let vals = if errors { &s.errors } else { &s.calls };
                for (i, &c) in vals.iter().enumerate() {
                    let t = s.start + i as i64 * HOUR;
                    if t >= start && t < end {
                        spec.observed[idx(t)] += f64::from(c);
                    }
                }
            }
            if let Some(m) = series_models.get(k) {
                any_model = true;
                let (p, alpha) = if errors {
                    (&m.errors, m.error_alpha)
                } else {
                    (&m.calls, m.alpha)
                };
                let scale = match share_of {
                    Some(pr) if m.top.total > 0 => {
                        TopContributors::count(&m.top.principal, pr) as f64 / m.top.total as f64
                    }
                    Some(_) => 0.0,
                    None => 1.0,
                };
                for (i, e) in profile_series(p, start, n, scale).into_iter().enumerate() {
                    exp[i] += e;
                    var[i] += e + alpha * e * e;
                }
            }
        }
        if any_model {
            let (lo, hi) = exp
                .iter()
                .zip(&var)
                .map(|(&e, &v)| ((e - 1.96 * v.sqrt()).max(0.0), e + 1.96 * v.sqrt()))
                .unzip();
            spec.band = Some((lo, hi));
            spec.expected = Some(exp);
        }
    };
    let principal_series = |spec: &mut ChartSpec, keep: &dyn Fn(&ApiKey) -> bool, errors: bool| {
        if let Some(p) = &f.principal {
            for r in src.principal_rows(&f.account, p) {
                if r.hour >= start && r.hour < end && keep(&r.key) {
                    spec.observed[idx(r.hour)] += if errors { r.errors } else { r.calls } as f64;
                }
            }
        }
    };
    let with_profile = |spec: &mut ChartSpec, p: &SeasonalProfile, alpha: f64| {
        let exp = profile_series(p, start, n, 1.0);
        let (lo, hi) = exp.iter().map(|&e| band_of(e, alpha)).unzip();
        spec.band = Some((lo, hi));
        spec.expected = Some(exp);
    };
    match (f.kind, f.principal.as_deref()) {
        (FindingKind::CallRateSpike | FindingKind::CallRateDrop, None) => {
            api_series(&mut spec, false, None);
        }
        (FindingKind::CallRateSpike | FindingKind::CallRateDrop, Some(p)) => {
            // A per-caller drop: this caller's calls to the API against its usual share.
            spec.observed_label = "this principal's calls".into();
            principal_series(&mut spec, &in_api, false);
            api_series(&mut spec, false, Some(p));
        }
        (FindingKind::ErrorRate, None) => {
            spec.y_label = "failed calls per hour".into();
            api_series(&mut spec, true, None);
        }
        (FindingKind::ErrorRate, Some(p)) => {
            spec.y_label = "failed calls per hour".into();
            spec.observed_label = "this principal's failed calls (all APIs)".into();
            principal_series(&mut spec, &|_: &ApiKey| true, true);
            if let Some(m) = principal_model(p) {
                with_profile(&mut spec, &m.errors, m.error_alpha);
            }
        }
        (FindingKind::ProvisioningSpike, principal) => {
            let prov = |k: &ApiKey| {
                !k.read_only
                    && src
                        .catalog
                        .is(Category::Provisioning, &k.event_source, &k.event_name)
            };
            spec.y_label = "provisioning calls per hour".into();
            match principal {
                Some(p) => {
                    spec.observed_label = "this principal's provisioning calls".into();
                    principal_series(&mut spec, &prov, false);
                    if let Some(m) = principal_model(p) {
                        with_profile(&mut spec, &m.provisioning, 0.5);
                    }
                }
                None => {
                    spec.observed_label = "provisioning calls in the account/region".into();
                    for (k, s) in &src.series {
                        if k.account == f.account && k.region == f.region && prov(k) {
                            for (i, &c) in s.calls.iter().enumerate() {
                                let t = s.start + i as i64 * HOUR;
                                if t >= start && t < end {
                                    spec.observed[idx(t)] += f64::from(c);
                                }
                            }
                        }
                    }
                    if let Some(g) = src.baselines.and_then(|b| {
                        b.groups
                            .iter()
                            .find(|g| g.account == f.account && g.region == f.region)
                    }) {
                        with_profile(&mut spec, &g.provisioning, g.alpha);
                    }
                }
            }
        }
        (FindingKind::IamBurst, p) => {
            spec.y_label = "IAM writes per hour".into();
            spec.observed_label = "this principal's IAM writes".into();
            let iam = |k: &ApiKey| {
                !k.read_only
                    && src
                        .catalog
                        .is(Category::IamChange, &k.event_source, &k.event_name)
            };
            principal_series(&mut spec, &iam, false);
            if let Some(m) = p.and_then(principal_model) {
                with_profile(&mut spec, &m.iam_writes, 0.5);
            }
        }
        (FindingKind::RareAction, p) => {
            // The principal's whole activity for context, the rare action itself on top.
            spec.observed_label = "this principal's calls (all APIs)".into();
            principal_series(&mut spec, &|_: &ApiKey| true, false);
            let mut hl = vec![0.0; n];
            if let Some(p) = p {
                for r in src.principal_rows(&f.account, p) {
                    if r.hour >= start && r.hour < end && in_api(&r.key) {
                        hl[idx(r.hour)] += r.calls as f64;
                    }
                }
            }
            spec.highlight = Some((format!("{api} (never seen before)"), hl));
            if let (Some(m), Some(b)) = (p.and_then(principal_model), src.baselines) {
                let hours = f64::from(b.history_days.max(1)) * 24.0;
                let avg = m.calls_total as f64 / hours;
                spec.expected = Some(vec![avg; n]);
            }
        }
        (FindingKind::MaintenanceGap, p) => {
            spec.observed_label = "the job's calls".into();
            principal_series(&mut spec, &in_api, false);
            let job = src.baselines.and_then(|b| {
                b.jobs.iter().find(|j| {
                    j.account == f.account
                        && j.region == f.region
                        && j.event_source == f.event_source
                        && names.contains(&j.event_name.as_str())
                        && Some(j.principal.as_str()) == p
                })
            });
            if let Some(j) = job {
                let missed = match &f.details {
                    crate::finding::Details::MaintenanceGap(g) => g.expected_run_secs(),
                    _ => None,
                };
                spec.markers = j
                    .expected_runs(start, end)
                    .into_iter()
                    .map(|t| Marker {
                        t,
                        missing: Some(t) == missed,
                    })
                    .collect();
            }
        }
    }
    spec
}

/// Overview aggregates over the report period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overview {
    /// Day starts of the period.
    pub days: Vec<i64>,
    /// Findings per kind per day.
    pub findings_by_day: BTreeMap<String, Vec<u32>>,
    /// Top APIs by volume: name, observed calls, expected calls (from the baseline, if known).
    pub top_apis: Vec<(String, u64, Option<f64>)>,
    /// Calls per hour of week (0 = Monday 00:00 UTC), averaged over the weeks in the period.
    pub hour_of_week: Vec<f64>,
}

/// Builds the overview of `period` from the hourly series.
pub(crate) fn overview(findings: &[Finding], src: &Sources<'_>, period: TimeRange) -> Overview {
    let d0 = period.start.div_euclid(86_400);
    let d1 = (period.end + 86_399).div_euclid(86_400);
    let days: Vec<i64> = (d0..d1).map(|d| d * 86_400).collect();
    let mut by_day: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for f in findings {
        let d = f.start.timestamp().div_euclid(86_400) - d0;
        if d >= 0 && (d as usize) < days.len() {
            by_day
                .entry(f.kind.as_str().to_string())
                .or_insert_with(|| vec![0; days.len()])[d as usize] += 1;
        }
    }
    let models = src.baselines.map(|b| b.series_index()).unwrap_or_default();
    let mut apis: BTreeMap<String, (u64, f64, bool)> = BTreeMap::new();
    let mut how = vec![0.0; 168];
    // How many times each hour of week occurs in the period (the average's denominator).
    let mut how_n = vec![0u32; 168];
    let mut t = hour_floor(period.start);
    while t < period.end {
        how_n[hour_of_week(t)] += 1;
        t += HOUR;
    }
    for (k, s) in &src.series {
        let e = apis.entry(k.api()).or_default();
        for (i, &c) in s.calls.iter().enumerate() {
            let t = s.start + i as i64 * HOUR;
            if t < period.start || t >= period.end {
                continue;
            }
            e.0 += u64::from(c);
            how[hour_of_week(t)] += f64::from(c);
            if let Some(m) = models.get(k) {
                e.1 += m.calls.expected_per_hour(hour_of_week(t));
                e.2 = true;
            }
        }
    }
    for (h, n) in how.iter_mut().zip(&how_n) {
        if *n > 0 {
            *h /= f64::from(*n);
        }
    }
    let mut top: Vec<(String, u64, Option<f64>)> = apis
        .into_iter()
        .map(|(k, (c, e, m))| (k, c, m.then_some(e)))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(10);
    Overview {
        days,
        findings_by_day: by_day,
        top_apis: top,
        hour_of_week: how,
    }
}

/// Hours in the period in which an account/region that logs at all delivered nothing.
pub(crate) fn silent_hours(
    store: &Store,
    period: TimeRange,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    let series = store.series(period, Resolution::FiveMinutes)?;
    let start = period.start.div_euclid(crate::time::BUCKET_SECS) * crate::time::BUCKET_SECS;
    Ok(Holes::from_series(&series, start).silent_hours())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_widens_with_dispersion_and_never_goes_negative() {
        let (lo, hi) = band_of(10.0, 0.0);
        assert!((hi - (10.0 + 1.96 * 10f64.sqrt())).abs() < 1e-9);
        assert!(lo > 0.0);
        let (lo2, hi2) = band_of(10.0, 1.0);
        assert!(hi2 > hi && lo2 == 0.0);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(15 * 60), "15 min");
        assert_eq!(duration(3 * 3600), "3.0 h");
        assert_eq!(duration(24 * 3600), "24.0 h");
        assert_eq!(duration(25 * 3600 + 60), "25 h");
    }
}
