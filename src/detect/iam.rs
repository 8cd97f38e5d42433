//! `iam_burst`: per principal, IAM-change writes (catalog) in sliding windows against that
//! principal's own hour-of-week history; a principal with no history is held to a small prior,
//! so a leaked key creating users and keys at once stands out, while the weekly rotation job
//! at its usual hour does not.

use serde::{Deserialize, Serialize};

use super::attribution::{self as at, Draft};
use super::context::{Context, Peers};
use super::scan::{lens, scan, Params};
use super::{check_windows, DetectConfigError, DetectInput, Detector, DetectorConfig, Ratio};
use crate::catalog::Category;
use crate::finding::details::IamBurstDetails;
use crate::finding::{Details, Finding, FindingKind};
use crate::time::BUCKET_SECS;

/// `[detectors.iam_burst]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IamConfig {
    /// A burst needs at least this many IAM writes in its window.
    pub min_calls: u32,
    /// … and at least this many times the principal's expected writes.
    pub min_ratio: Ratio,
    /// Window lengths tried, in minutes (multiples of 5).
    pub windows_minutes: Vec<u32>,
    /// A window must also exceed this many times the principal's recurring IAM burst size
    /// (a weekly rotation job writes the same keys every Sunday).
    pub burst_margin: f64,
}

impl Default for IamConfig {
    fn default() -> Self {
        IamConfig {
            min_calls: 4,
            min_ratio: Ratio(4.0),
            windows_minutes: vec![5, 15, 30, 60],
            burst_margin: 2.0,
        }
    }
}

/// IAM-burst detector.
#[derive(Debug, Clone)]
pub struct IamBurst(pub IamConfig);

/// Expected IAM writes per 5 minutes of a principal never seen writing IAM.
const PRIOR: f64 = 0.002;

impl Detector for IamBurst {
    fn min_history_days(&self) -> u32 {
        // one day: IAM writes by a principal that never wrote IAM stand out at once.
        1
    }

    fn kind(&self) -> FindingKind {
        FindingKind::IamBurst
    }

    fn detect(&self, input: &DetectInput<'_>, floor: f64) -> Vec<Finding> {
        let lens = lens(&self.0.windows_minutes);
        let params = Params::spike(
            &lens,
            floor,
            f64::from(self.0.min_calls),
            self.0.min_ratio.get(),
            self.0.burst_margin,
        );
        let w = input.window;
        let n = ((w.end - w.start) / BUCKET_SECS).max(0) as usize;
        let is_iam = |k: &crate::rollup::ApiKey| {
            !k.read_only
                && input
                    .catalog
                    .is(Category::IamChange, &k.event_source, &k.event_name)
        };
        let per = at::principal_buckets(input, false, |k, _| is_iam(k));
        let models = input.baselines.principal_index();
        let days = input.baselines.history_days;
        let peers = Peers::of(input.baselines);
        let mut out = Vec::new();
        for ((account, _, principal), obs) in per {
            let model = models.get(&(account, principal));
            let exp: Vec<f64> = match model {
                Some(m) => at::expected(&m.iam_writes, w.start, n)
                    .into_iter()
                    .map(|e| e.max(PRIOR))
                    .collect(),
                None => vec![PRIOR; n],
            };
            let elsewhere = peers.elsewhere(principal, account);
            let habits = model
                .map(|m| &m.habits)
                .or(elsewhere.first().map(|m| &m.habits));
            let day = Context::of(
                &at::rows(input.detail, w.start, w.end, |k, dk| {
                    k.account == account && dk.principal == principal && is_iam(k)
                }),
                habits,
            )
            .within(peers.networks());
            let mut params = params
                .with_history(model.map(|m| &m.iam_burst), model.map_or(0, |_| days))
                .at(w.start);
            params.min_score = day.scan_floor(floor);
            for h in scan(&obs, &exp, 0.5, &params) {
                let start = w.start + h.start as i64 * BUCKET_SECS;
                let end = start + h.len as i64 * BUCKET_SECS;
                let rows = at::rows(input.detail, start, end, |k, dk| {
                    k.account == account && dk.principal == principal && is_iam(k)
                });
                let mix = at::ApiMix::of(&rows);
                let source = mix.top_api_source().unwrap_or("iam.amazonaws.com");
                let region = mix.top_region().unwrap_or("");
                let names = mix.names(usize::MAX);
                let history = model.map_or(0, |m| m.iam_total);
                let by_service = at::service_made(&rows);
                // From the principal's own networks and tools, an IAM burst is most likely its
                // owner at work (an admin onboarding a team); from elsewhere, a stolen key.
                let ctx = Context::of(&rows, habits).within(peers.networks());
                // The same role in the organization's other accounts (a pipeline deployed to
                // each): bursts it makes there are this role's habit here too, when this
                // account's own history is thinner.
                let peer = elsewhere
                    .iter()
                    .map(|m| {
                        (
                            m.account.as_str(),
                            h.score_against(&params, &m.iam_burst, start),
                        )
                    })
                    .filter(|(_, s)| *s < h.score)
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                let size = peer.map_or(h.score, |(_, s)| s);
                let score = match by_service {
                    Some(_) => size.min(at::SERVICE_MADE_MAX_SCORE),
                    None => ctx.weigh(size),
                };
                if score < floor {
                    continue;
                }
                let clause = ctx.describe();
                let explanation = format!(
                    "{} by {principal}: {} IAM writes in {}; this principal made {history} IAM writes in the previous {days} days{}{}{}{}",
                    names.join(", "),
                    h.observed,
                    at::duration(end - start),
                    if model.is_none() { " (never seen before)" } else { "" },
                    peer.map_or(String::new(), |(a, _)| format!("; the same role makes bursts like it in account {a}")),
                    if clause.is_empty() { String::new() } else { format!("; {clause}") },
                    by_service.map_or(String::new(), |svc| format!("; all made by {svc} on its behalf (scored at most {})", at::SERVICE_MADE_MAX_SCORE))
                );
                let details = Details::IamBurst(IamBurstDetails {
                    principal_iam_writes_in_baseline: history,
                    principal_known: model.is_some(),
                });
                let d = Draft {
                    kind: FindingKind::IamBurst,
                    account,
                    region,
                    event_source: source,
                    event_names: names,
                    read_only: Some(false),
                    principal: Some(principal),
                    error_code: None,
                    start,
                    end,
                    observed: h.observed,
                    expected: h.expected,
                    p: h.p,
                    score,
                    explanation,
                    details,
                };
                out.push(d.build(input, &rows, None));
            }
        }
        out
    }
}

impl DetectorConfig for IamConfig {
    const KIND: FindingKind = FindingKind::IamBurst;
    const DEFAULT_MIN_SCORE: f64 = 70.0;

    fn build(&self) -> Result<Box<dyn Detector>, DetectConfigError> {
        check_windows(Self::KIND, &self.windows_minutes)?;
        Ok(Box::new(IamBurst(self.clone())))
    }
}
