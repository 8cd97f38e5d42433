//! Shared finding construction: who contributed to a window (principal, user agent, source IP,
//! error code) against the baseline's shares, example events, and the expected series of a
//! seasonal profile.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use hashbrown::HashMap;

use crate::baseline::stats::SeasonalProfile;
use crate::baseline::{hour_of_week, TopContributors};
use crate::finding::{Amount, Attribution, Attributions, Finding, FindingKind, Severity};
use crate::rollup::{ApiKey, DetailKey, DetailVal, Rollup};
use crate::time::TimeRange;

use super::DetectInput;

/// Bucket width of detection series.
use crate::time::BUCKET_SECS;
/// How many contributors per attribute a finding lists.
const TOP: usize = 5;

/// Expected calls per 5-minute bucket for `n` buckets from `start`.
pub(crate) fn expected(profile: &SeasonalProfile, start: i64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| profile.expected_per_hour(hour_of_week(start + i as i64 * BUCKET_SECS)) / 12.0)
        .collect()
}

/// As [`expected`], floored at a tenth of the profile's overall level (and 0.1 per hour): an
/// hour that never saw a call in the baseline is quiet, not impossible.
pub(crate) fn expected_floored(profile: &SeasonalProfile, start: i64, n: usize) -> Vec<f64> {
    let floor = (profile.level * 0.1).max(0.1) / 12.0;
    expected(profile, start, n)
        .into_iter()
        .map(|e| e.max(floor))
        .collect()
}

pub(crate) fn ts(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default()
}

/// The score at most of first-seen or bursty writes an AWS service made on a principal's behalf
/// ([`service_made`]): a return period of a month, below every default threshold, so they show
/// only where a user lowers `min_score`.
pub(crate) const SERVICE_MADE_MAX_SCORE: f64 = 49.0;

/// The AWS service that made every call of `rows` on its principal's behalf, if one did.
///
/// CloudTrail records a call an AWS service makes for you (a StackSet deploying into the
/// account, a Systems Manager maintenance window running its task, AWS Backup, Config) with the
/// service's DNS name as `sourceIPAddress` (`cloudformation.amazonaws.com`): no credential
/// holder can send that from outside AWS. The decision behind such calls is an earlier call by
/// whoever configured the service (CreateStackSet, RegisterTaskWithMaintenanceWindow), which the
/// detectors judge on its own. The console is a person, not a service.
pub(crate) fn service_made<'r>(rows: &[(&ApiKey, &'r DetailKey, &DetailVal)]) -> Option<&'r str> {
    let first = rows.first()?.1.source_ip.as_str();
    let by_service = |ip: &str| ip.ends_with(".amazonaws.com") && ip != "console.amazonaws.com";
    (by_service(first) && rows.iter().all(|(_, dk, _)| dk.source_ip == first)).then_some(first)
}

/// Detail rows of the window matching a filter.
pub(crate) fn rows(
    detail: &Rollup,
    start: i64,
    end: i64,
    keep: impl Fn(&ApiKey, &DetailKey) -> bool,
) -> Vec<(&ApiKey, &DetailKey, &DetailVal)> {
    let mut v: Vec<_> = detail
        .apis
        .iter()
        .flat_map(|(k, a)| a.detail.iter().map(move |(dk, dv)| (k, dk, dv)))
        .filter(|(k, dk, _)| dk.bucket >= start && dk.bucket < end && keep(k, dk))
        .collect();
    v.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    v
}

fn attr_list(
    counts: HashMap<&str, u64>,
    total: u64,
    baseline: &[(String, u64)],
    baseline_total: u64,
) -> Vec<Attribution> {
    let mut v: Vec<(&str, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v.truncate(TOP);
    let share = |c: u64, t: u64| if t == 0 { 0.0 } else { c as f64 / t as f64 };
    v.into_iter()
        .map(|(value, c)| {
            let b = TopContributors::count(baseline, value);
            Attribution {
                value: value.to_string(),
                insight_count: c,
                insight_share: share(c, total),
                baseline_count: b,
                baseline_share: share(b, baseline_total),
            }
        })
        .collect()
}

/// Attributions, example event ids and access keys of some detail rows.
pub(crate) fn attribute(
    rows: &[(&ApiKey, &DetailKey, &DetailVal)],
    baseline: Option<&TopContributors>,
) -> (Attributions, Vec<String>, Vec<String>) {
    let empty = TopContributors::default();
    let b = baseline.unwrap_or(&empty);
    let mut p: HashMap<&str, u64> = HashMap::new();
    let mut u: HashMap<&str, u64> = HashMap::new();
    let mut i: HashMap<&str, u64> = HashMap::new();
    let mut e: HashMap<&str, u64> = HashMap::new();
    let mut total = 0;
    for (_, dk, dv) in rows {
        let c = u64::from(dv.count);
        total += c;
        *p.entry(&dk.principal).or_default() += c;
        *u.entry(&dk.user_agent).or_default() += c;
        *i.entry(&dk.source_ip).or_default() += c;
        if let Some(code) = &dk.error_code {
            *e.entry(code).or_default() += c;
        }
    }
    let attributions = Attributions {
        principal: attr_list(p, total, &b.principal, b.total),
        user_agent: attr_list(u, total, &b.user_agent, b.total),
        source_ip: attr_list(i, total, &b.source_ip, b.total),
        error_code: attr_list(e, total, &b.error_code, b.total),
    };
    // Examples from the biggest rows first: what an investigator looks up in CloudTrail.
    let mut big: Vec<&(&ApiKey, &DetailKey, &DetailVal)> = rows.iter().collect();
    big.sort_by(|a, b| {
        b.2.count
            .cmp(&a.2.count)
            .then_with(|| a.2.example_event_id.cmp(&b.2.example_event_id))
    });
    let mut ids: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for r in big {
        if ids.len() < TOP && !ids.contains(&r.2.example_event_id) {
            ids.push(r.2.example_event_id.clone());
        }
        if let Some(k) = &r.2.access_key_id {
            if keys.len() < TOP && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    (attributions, ids, keys)
}

/// Everything a finding needs besides its attributions.
pub(crate) struct Draft<'a> {
    pub(crate) kind: FindingKind,
    pub(crate) account: &'a str,
    pub(crate) region: &'a str,
    pub(crate) event_source: &'a str,
    pub(crate) event_names: Vec<String>,
    pub(crate) read_only: Option<bool>,
    pub(crate) principal: Option<&'a str>,
    pub(crate) error_code: Option<&'a str>,
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) observed: f64,
    pub(crate) expected: f64,
    pub(crate) p: f64,
    pub(crate) score: f64,
    pub(crate) explanation: String,
    pub(crate) details: crate::finding::Details,
}

impl Draft<'_> {
    /// The finding, attributed from `rows` against `baseline`.
    pub(crate) fn build(
        self,
        input: &DetectInput<'_>,
        rows: &[(&ApiKey, &DetailKey, &DetailVal)],
        baseline: Option<&TopContributors>,
    ) -> Finding {
        let (attributions, example_event_ids, access_key_ids) = attribute(rows, baseline);
        let minutes = ((self.end - self.start) as f64 / 60.0).max(1.0);
        let b = input.baselines;
        let start = ts(self.start);
        let score = (self.score * 10.0).round() / 10.0;
        Finding {
            id: Finding::stable_id(
                self.kind,
                self.account,
                self.region,
                self.event_source,
                &self.event_names,
                self.principal,
                self.error_code,
                start,
            ),
            kind: self.kind,
            account: self.account.to_string(),
            region: self.region.to_string(),
            event_source: self.event_source.to_string(),
            event_names: self.event_names,
            read_only: self.read_only,
            principal: self.principal.map(str::to_string),
            error_code: self.error_code.map(str::to_string),
            start,
            end: ts(self.end),
            score,
            severity: Severity::from_score(score),
            p_value: self.p,
            observed: Amount {
                total: self.observed,
                per_minute: self.observed / minutes,
            },
            expected: Amount {
                total: round3(self.expected),
                per_minute: round3(self.expected / minutes),
            },
            baseline_window: TimeRange::new(
                b.training_start.timestamp(),
                b.training_end.timestamp(),
            ),
            attributions,
            explanation: self.explanation,
            example_event_ids,
            access_key_ids,
            details: self.details,
            incident_id: None,
        }
    }
}

/// "1 API", "3 APIs".
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub(crate) use crate::time::duration;

/// 5-minute counts over the window per (account, region, principal) of the detail rows `keep`
/// selects; the region is `""` unless `by_region`. The per-principal series of the
/// error, IAM and provisioning detectors.
pub(crate) fn principal_buckets<'a>(
    input: &DetectInput<'a>,
    by_region: bool,
    keep: impl Fn(&ApiKey, &DetailKey) -> bool,
) -> BTreeMap<(&'a str, &'a str, &'a str), Vec<f64>> {
    let w = input.window;
    let n = ((w.end - w.start) / BUCKET_SECS).max(0) as usize;
    let mut out: BTreeMap<(&'a str, &'a str, &'a str), Vec<f64>> = BTreeMap::new();
    for (k, a) in &input.detail.apis {
        for (dk, dv) in &a.detail {
            if dk.bucket < w.start || dk.bucket >= w.end || !keep(k, dk) {
                continue;
            }
            let region = if by_region { k.region.as_str() } else { "" };
            let i = ((dk.bucket - w.start) / BUCKET_SECS) as usize;
            out.entry((k.account.as_str(), region, dk.principal.as_str()))
                .or_insert_with(|| vec![0.0; n])[i] += f64::from(dv.count);
        }
    }
    out
}

/// What some detail rows called: APIs by calls (most first), calls per service and per region.
pub(crate) struct ApiMix<'a> {
    pub(crate) ranked: Vec<((&'a str, &'a str), u64)>,
    pub(crate) services: BTreeMap<&'a str, u64>,
    regions: BTreeMap<&'a str, u64>,
}

fn busiest<'a>(m: &BTreeMap<&'a str, u64>) -> Option<&'a str> {
    m.iter()
        .max_by_key(|(k, c)| (**c, std::cmp::Reverse(**k)))
        .map(|x| *x.0)
}

impl<'a> ApiMix<'a> {
    pub(crate) fn of(rows: &[(&'a ApiKey, &'a DetailKey, &'a DetailVal)]) -> ApiMix<'a> {
        let mut apis: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        let mut services: BTreeMap<&str, u64> = BTreeMap::new();
        let mut regions: BTreeMap<&str, u64> = BTreeMap::new();
        for (k, _, dv) in rows {
            let c = u64::from(dv.count);
            *apis.entry((&k.event_source, &k.event_name)).or_default() += c;
            *services.entry(&k.event_source).or_default() += c;
            *regions.entry(&k.region).or_default() += c;
        }
        let mut ranked: Vec<_> = apis.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ApiMix {
            ranked,
            services,
            regions,
        }
    }

    /// The service with the most calls.
    pub(crate) fn top_service(&self) -> Option<&'a str> {
        busiest(&self.services)
    }

    /// The service of the most-called API.
    pub(crate) fn top_api_source(&self) -> Option<&'a str> {
        self.ranked.first().map(|x| x.0 .0)
    }

    /// The region with the most calls.
    pub(crate) fn top_region(&self) -> Option<&'a str> {
        busiest(&self.regions)
    }

    /// The first `limit` API names.
    pub(crate) fn names(&self, limit: usize) -> Vec<String> {
        self.ranked
            .iter()
            .take(limit)
            .map(|((_, n), _)| n.to_string())
            .collect()
    }
}
