//! `error_rate`: bursts of failed calls, per API (throttling storms) and per principal across
//! APIs (AccessDenied enumeration: one identity probing many APIs, each only a little). The
//! expected errors of a bucket are the larger of the seasonal error profile and the baseline
//! share of failing calls times the calls observed, so more traffic with the usual failure rate
//! is not an error burst.

use serde::{Deserialize, Serialize};

use super::attribution::{self as at, Draft};
use super::context::{self, Context, OrgNetworks};
use super::scan::{lens, scan, Params};
use super::{check_windows, DetectConfigError, DetectInput, Detector, DetectorConfig, Ratio};
use crate::baseline::{api_name, routine_key, PrincipalModel, TopContributors};
use crate::event::absent_configuration;
use crate::finding::details::{ApiErrorDetails, PrincipalErrorDetails};
use crate::finding::{Details, Finding, FindingKind};
use crate::rollup::{ApiKey, DetailKey, DetailVal};
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

/// The score at most of a console fan-out ([`console_fanout`]): a return period of a month,
/// below every default threshold, so it alerts only where a user lowers `min_score` for it.
const CONSOLE_FANOUT_MAX_SCORE: f64 = 49.0;

/// Whether failed calls are a person's console pages fanning out reads they may not make:
/// read-only calls only, mostly from the console (`console.amazonaws.com`, `AWS Internal`, a
/// browser), and either on one service or from networks the principal has used (`known_place`).
/// Opening one console page issues dozens of Describe/List calls, and every one is denied to a
/// user without read access; a person browsing a few pages (the EC2 dashboard also asks
/// CloudWatch, SSM and ELB) fans out across services. Real accounts log this daily (AWS's
/// CloudTrail documentation lists the console as a caller for this reason). Enumeration with
/// stolen keys comes from an SDK or the CLI; a stolen console session from a network the
/// principal never used is not excused for spanning services.
fn console_fanout(rows: &[(&ApiKey, &DetailKey, &DetailVal)], known_place: bool) -> bool {
    let Some((first, _, _)) = rows.first() else {
        return false;
    };
    let (mut console, mut all) = (0u64, 0u64);
    for (k, dk, dv) in rows {
        if !k.read_only || (!known_place && k.event_source != first.event_source) {
            return false;
        }
        let ua = dk.user_agent.as_str();
        if ua.contains("console.amazonaws.com")
            || ua == "AWS Internal"
            || ua.starts_with("Mozilla/")
            || ua.contains("signin.amazonaws.com")
        {
            console += u64::from(dv.count);
        }
        all += u64::from(dv.count);
    }
    console * 10 >= all * 8
}

/// Distinct APIs a stranger's failures must span to count under `min_errors`
/// ([`principal_findings`]): enumeration tries one thing after another.
const STRANGER_BREADTH: usize = 8;

/// How much rarer than its routine a principal's new network and tool must be together for it
/// to count as a stranger ([`Context::surprise`], `1 / churn` multiplied over the two): a
/// principal that kept one network and one tool on five active days reaches `(7 / 2)² ≈ 12.3`
/// — an IAM user whose key is used now and then from one laptop, the usual leaked key — while a
/// traveller adding networks every few days stays far below. (50, two settled weeks, missed
/// such keys: trailgen tuning seed 2.)
const STRANGER_SURPRISE: f64 = 12.0;

/// Whether an error code says the caller was not allowed (as opposed to throttled, not
/// found or invalid): the answer an enumeration gets.
fn denied(code: &str) -> bool {
    [
        "AccessDenied",
        "Unauthorized",
        "NotAuthorized",
        "AuthorizationError",
        "Forbidden",
    ]
    .iter()
    .any(|m| code.contains(m))
}

/// The share of the calls of `rows` that were denied (reads only, with `reads_only`); 0 for
/// no calls.
pub(crate) fn denied_share(rows: &[(&ApiKey, &DetailKey, &DetailVal)], reads_only: bool) -> f64 {
    let (mut no, mut all) = (0u64, 0u64);
    for (k, dk, dv) in rows {
        if (k.read_only || !reads_only) && dk.error_code.as_deref().is_some_and(denied) {
            no += u64::from(dv.count);
        }
        all += u64::from(dv.count);
    }
    if all == 0 {
        0.0
    } else {
        no as f64 / all as f64
    }
}

/// Whether the failed calls of `rows` are reads that were denied: at least nine in ten of
/// them (a sweep also meets the odd throttle or a report not generated yet).
fn denied_reads(rows: &[(&ApiKey, &DetailKey, &DetailVal)]) -> bool {
    denied_share(rows, true) >= 0.9
}

/// Whether the failed calls of `rows` are a sweep of reads: at least nine in ten of them
/// read-only, whatever the error — denied, or probing configuration that is not there
/// (`NoSuchBucketPolicy`, `ResourceNotFoundException`), as a configuration scanner does on
/// every resource it inventories.
fn read_sweep(rows: &[(&ApiKey, &DetailKey, &DetailVal)]) -> bool {
    let (mut reads, mut all) = (0u64, 0u64);
    for (k, _, dv) in rows {
        reads += u64::from(dv.count) * u64::from(k.read_only);
        all += u64::from(dv.count);
    }
    all > 0 && reads * 10 >= all * 9
}

/// The baseline side of a principal's attribution: its own failures in the training window.
fn principal_baseline(principal: &str, m: &PrincipalModel) -> TopContributors {
    TopContributors {
        total: m.error_total,
        principal: vec![(principal.to_string(), m.error_total)],
        error_code: m.error_codes.clone(),
        ..Default::default()
    }
}

fn dominant(a: &crate::finding::Attributions) -> Option<String> {
    a.error_code
        .first()
        .filter(|e| e.insight_share >= 0.5)
        .map(|e| e.value.clone())
}

impl Detector for ErrorRate {
    fn min_history_days(&self) -> u32 {
        // one day: an error storm stands out against any history.
        1
    }

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
            let params = match model {
                Some(m) => params
                    .with_history(Some(&m.error_burst), input.baselines.history_days)
                    .at(s.start),
                None => params.clone(),
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
        by_principal.retain(|f| f.score >= floor);
        by_principal.extend(per_api);
        by_principal
    }
}

/// Errors summed per (account, principal) across all APIs, against the principal's own profile.
fn principal_findings(input: &DetectInput<'_>, params: &Params<'_>) -> Vec<Finding> {
    let w = input.window;
    let n = ((w.end - w.start) / BUCKET_SECS).max(0) as usize;
    let models = input.baselines.principal_index();
    let org = OrgNetworks::of(input.baselines);
    // Failures the principal's own job has on most days (the Config recorder's denied
    // Describe calls) are its routine, not a burst: they leave its series. So do answers that
    // an optional configuration is not set (an inventory's `NoSuchCORSConfiguration`).
    let failed = |k: &ApiKey, dk: &DetailKey| {
        dk.error_code.as_deref().is_some_and(|code| {
            !absent_configuration(code)
                && models
                    .get(&(k.account.as_str(), dk.principal.as_str()))
                    .is_none_or(|m| {
                        !m.routine_errors.contains(&routine_key(
                            &api_name(&k.event_source, &k.event_name),
                            code,
                        ))
                    })
        })
    };
    let series = at::principal_buckets(input, false, failed);
    let days = input.baselines.history_days;
    let mut out = Vec::new();
    for ((account, _, principal), obs) in series {
        let model = models.get(&(account, principal));
        let mut params = params
            .with_history(model.map(|m| &m.error_burst), model.map_or(0, |_| days))
            .at(w.start);
        let day = Context::of(
            &at::rows(input.detail, w.start, w.end, |rk, dk| {
                rk.account == account && dk.principal == principal && failed(rk, dk)
            }),
            model.map(|m| &m.habits),
        )
        .within(&org);
        let floor = params.min_score;
        params.min_score = day.scan_floor(floor);
        // A stranger — a network and a tool family both new to a settled principal — probing
        // many APIs a few times each: a leaked key's slow enumeration fails on a dozen APIs in
        // an hour, under `min_errors`. Its breadth is the evidence, so fewer failures do when
        // they span [`STRANGER_BREADTH`] APIs.
        let stranger = day.known
            && !day.new_networks.is_empty()
            && !day.new_agents.is_empty()
            && day.surprise() >= STRANGER_SURPRISE;
        let min_errors = params.min_observed;
        if stranger {
            params.min_observed = (min_errors / 2.0).max(1.0);
        }
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
        for h in scan(&obs, &exp, alpha, &params) {
            let start = w.start + h.start as i64 * BUCKET_SECS;
            let end = start + h.len as i64 * BUCKET_SECS;
            let rows = at::rows(input.detail, start, end, |rk, dk| {
                rk.account == account && dk.principal == principal && failed(rk, dk)
            });
            // A sweep of denied reads from the principal's own networks and tools is its job
            // lacking a permission (a scanner, a console page); enumeration with a stolen key
            // comes from somewhere else.
            let ctx = Context::of(&rows, model.map(|m| &m.habits)).within(&org);
            let known_place = ctx.known && ctx.new_networks.is_empty();
            let score = if console_fanout(&rows, known_place) {
                h.score.min(CONSOLE_FANOUT_MAX_SCORE)
            } else if model.is_none()
                && context::role_name(principal).is_some()
                && read_sweep(&rows)
            {
                // A role no one used before, sweeping reads that fail: someone its trust
                // policy admits began using it (a new scanner's first assessment), and that
                // assumption is judged on whoever made it — as with its first actions in
                // `rare_action`. Weighed as a habitual sweep: at most 65, shown below the
                // default threshold.
                h.score * context::HABITUAL
            } else if !ctx.habitual() {
                // From a network or tool the principal never used: rarer than its history says.
                ctx.weigh(h.score)
            } else if denied_reads(&rows) {
                h.score * context::HABITUAL
            } else {
                // Its own failures from its own place (a throttling storm, a broken deploy):
                // operational, judged on their size alone.
                h.score
            };
            if h.score < floor && score < floor {
                // Scanned below the floor for a new place that did not lift it.
                continue;
            }
            let mix = at::ApiMix::of(&rows);
            if h.observed < min_errors && mix.ranked.len() < STRANGER_BREADTH {
                // Under `min_errors` only a stranger's broad probing counts.
                continue;
            }
            // A burst over the floor that its context lowered under it is kept, so that the
            // per-API bursts it explains fold into it (and go with it) rather than alerting on
            // their own; [`ErrorRate::detect`] applies the floor at the end.
            // Which APIs and services it failed on, most first.
            let (ranked, sources) = (&mix.ranked, &mix.services);
            let source = mix.top_service().unwrap_or("");
            let region = mix.top_region().unwrap_or("");
            let names = mix.names(20);
            let (attr, _, _) = at::attribute(&rows, None);
            let code = dominant(&attr);
            let clause = ctx.describe();
            let explanation = format!(
                "{principal} had {} failed calls across {} of {} in {} vs {:.1} expected{}; first: {}{}",
                h.observed,
                at::count(ranked.len(), "API", "APIs"),
                at::count(sources.len(), "service", "services"),
                at::duration(end - start),
                h.expected,
                code.as_deref().map(|c| format!(", mostly {c}")).unwrap_or_default(),
                names.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                if clause.is_empty() { String::new() } else { format!("; {clause}") }
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
                score,
                explanation,
                details,
            };
            let baseline = model.map(|m| principal_baseline(principal, m));
            out.push(d.build(input, &rows, baseline.as_ref()));
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
