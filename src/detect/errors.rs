//! `error_rate`: bursts of failed calls, per API (throttling storms) and per principal across
//! APIs (AccessDenied enumeration: one identity probing many APIs, each only a little). The
//! expected errors of a bucket are the larger of the seasonal error profile and the baseline
//! share of failing calls times the calls observed, so more traffic with the usual failure rate
//! is not an error burst.

use serde::{Deserialize, Serialize};

use super::attribution::{self as at, Draft};
use super::scan::{lens, scan, Params};
use super::{check_windows, DetectConfigError, DetectInput, Detector, DetectorConfig, Ratio};
use crate::finding::details::{ApiErrorDetails, PrincipalErrorDetails};
use crate::finding::{Details, Finding, FindingKind};
use crate::time::BUCKET_SECS;

/// `[detectors.error_rate]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorConfig {
    /// A burst needs at least this many failed calls in its window.
    pub min_errors: u32,
    /// … and at least this many times the expected errors.
    pub min_ratio: Ratio,
    /// Window lengths tried, in minutes (multiples of 5).
    pub windows_minutes: Vec<u32>,
}

impl Default for ErrorConfig {
    fn default() -> Self {
        ErrorConfig {
            min_errors: 20,
            min_ratio: Ratio(4.0),
            windows_minutes: vec![5, 15, 30, 60],
        }
    }
}

/// Error-rate detector.
#[derive(Debug, Clone)]
pub struct ErrorRate(pub ErrorConfig);

/// Floor on expected errors per bucket, so a series that never failed is not infinitely
/// surprised by its first error.
const FLOOR: f64 = 0.002;

fn dominant(a: &crate::finding::Attributions) -> Option<String> {
    a.error_code
        .first()
        .filter(|e| e.insight_share >= 0.5)
        .map(|e| e.value.clone())
}

impl Detector for ErrorRate {
    fn kind(&self) -> FindingKind {
        FindingKind::ErrorRate
    }

    fn detect(&self, input: &DetectInput<'_>, floor: f64) -> Vec<Finding> {
        let lens = lens(&self.0.windows_minutes);
        let params = Params::spike(
            &lens,
            floor,
            f64::from(self.0.min_errors),
            self.0.min_ratio.get(),
            1.5,
        );
        let mut by_principal = principal_findings(input, &params);
        let models = input.baselines.series_index();
        let mut per_api = Vec::new();
        for s in input.series {
            if s.errors.iter().all(|&e| e == 0) {
                continue;
            }
            let obs: Vec<f64> = s.errors.iter().map(|&c| f64::from(c)).collect();
            let model = models.get(&s.key);
            let (exp, alpha) = match model {
                Some(m) => {
                    let prof = at::expected(&m.errors, s.start, obs.len());
                    let e = prof
                        .iter()
                        .zip(&s.calls)
                        .map(|(p, &c)| p.max(m.error_share * f64::from(c)).max(FLOOR))
                        .collect();
                    (e, m.error_alpha.max(0.05))
                }
                None => (vec![FLOOR; obs.len()], 1.0),
            };
            for h in scan(&obs, &exp, alpha, &params) {
                let start = s.start + h.start as i64 * BUCKET_SECS;
                let end = start + h.len as i64 * BUCKET_SECS;
                let k = &s.key;
                let rows = at::rows(input.detail, start, end, |rk, dk| {
                    rk == k && dk.error_code.is_some()
                });
                let (attr, _, _) = at::attribute(&rows, None);
                let code = dominant(&attr);
                let top = attr.principal.first().map(|p| p.value.clone());
                // Part of a principal's burst already reported: fold it in there.
                if let Some(f) = by_principal.iter_mut().find(|f| {
                    f.account == k.account
                        && f.principal.is_some()
                        && f.principal == top
                        && f.start.timestamp() < end
                        && start < f.end.timestamp()
                }) {
                    if !f.event_names.contains(&k.event_name) {
                        f.event_names.push(k.event_name.clone());
                    }
                    continue;
                }
                let calls: u32 = s.calls[h.start..h.start + h.len].iter().sum();
                let explanation = format!(
                    "{} failed calls to {} ({}) in {}/{} in {} ({} calls in all) vs {:.1} expected{}",
                    h.observed,
                    k.event_name,
                    k.event_source,
                    k.account,
                    k.region,
                    at::duration(end - start),
                    calls,
                    h.expected,
                    code.as_deref().map(|c| format!("; mostly {c}")).unwrap_or_default()
                );
                let details = Details::ApiErrors(ApiErrorDetails {
                    baseline_error_share: model.map(|m| at::round3(m.error_share)),
                    calls,
                });
                let d = Draft {
                    kind: FindingKind::ErrorRate,
                    account: &k.account,
                    region: &k.region,
                    event_source: &k.event_source,
                    event_names: vec![k.event_name.clone()],
                    read_only: Some(k.read_only),
                    principal: None,
                    error_code: code.as_deref(),
                    start,
                    end,
                    observed: h.observed,
                    expected: h.expected,
                    p: h.p,
                    score: h.score,
                    explanation,
                    details,
                };
                per_api.push(d.build(input, &rows, model.map(|m| &m.top)));
            }
        }
        by_principal.extend(per_api);
        by_principal
    }
}

/// Errors summed per (account, principal) across all APIs, against the principal's own profile.
fn principal_findings(input: &DetectInput<'_>, params: &Params<'_>) -> Vec<Finding> {
    let w = input.window;
    let n = ((w.end - w.start) / BUCKET_SECS).max(0) as usize;
    let series = at::principal_buckets(input, false, |_, dk| dk.error_code.is_some());
    let models = input.baselines.principal_index();
    let mut out = Vec::new();
    for ((account, _, principal), obs) in series {
        let model = models.get(&(account, principal));
        let (exp, alpha) = match model {
            Some(m) => (
                at::expected(&m.errors, w.start, n)
                    .into_iter()
                    .map(|e| e.max(FLOOR))
                    .collect(),
                m.error_alpha.max(0.05),
            ),
            None => (vec![FLOOR; n], 1.0),
        };
        for h in scan(&obs, &exp, alpha, params) {
            let start = w.start + h.start as i64 * BUCKET_SECS;
            let end = start + h.len as i64 * BUCKET_SECS;
            let rows = at::rows(input.detail, start, end, |rk, dk| {
                rk.account == account && dk.principal == principal && dk.error_code.is_some()
            });
            // Which APIs and services it failed on, most first.
            let mix = at::ApiMix::of(&rows);
            let (ranked, sources) = (&mix.ranked, &mix.services);
            let source = mix.top_service().unwrap_or("");
            let region = mix.top_region().unwrap_or("");
            let names = mix.names(20);
            let (attr, _, _) = at::attribute(&rows, None);
            let code = dominant(&attr);
            let explanation = format!(
                "{principal} had {} failed calls across {} APIs of {} services in {} vs {:.1} expected{}; first: {}",
                h.observed,
                ranked.len(),
                sources.len(),
                at::duration(end - start),
                h.expected,
                code.as_deref().map(|c| format!(", mostly {c}")).unwrap_or_default(),
                names.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            );
            let details = Details::PrincipalErrors(PrincipalErrorDetails {
                distinct_apis: ranked.len() as u64,
                distinct_services: sources.len() as u64,
                principal_baseline_errors: model.map(|m| m.error_total),
            });
            let d = Draft {
                kind: FindingKind::ErrorRate,
                account,
                region,
                event_source: source,
                event_names: names,
                read_only: None,
                principal: Some(principal),
                error_code: code.as_deref(),
                start,
                end,
                observed: h.observed,
                expected: h.expected,
                p: h.p,
                score: h.score,
                explanation,
                details,
            };
            out.push(d.build(input, &rows, None));
        }
    }
    out
}

impl DetectorConfig for ErrorConfig {
    const KIND: FindingKind = FindingKind::ErrorRate;
    const DEFAULT_MIN_SCORE: f64 = 70.0;

    fn build(&self) -> Result<Box<dyn Detector>, DetectConfigError> {
        check_windows(Self::KIND, &self.windows_minutes)?;
        Ok(Box::new(ErrorRate(self.clone())))
    }
}
