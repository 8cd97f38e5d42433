//! `provisioning_spike`: the provisioning category (catalog) summed per account/region and per
//! principal, against the group's and the principal's own seasonal baselines. A principal's
//! burst is the more specific finding; the group finding is kept only when no principal
//! explains it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::attribution::{self as at, Draft};
use super::scan::{lens, scan, Params};
use super::{check_windows, DetectConfigError, DetectInput, Detector, DetectorConfig, Ratio};
use crate::catalog::Category;
use crate::finding::details::ProvisioningDetails;
use crate::finding::{Details, Finding, FindingKind};
use crate::time::BUCKET_SECS;

/// `[detectors.provisioning_spike]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningConfig {
    /// A spike needs at least this many provisioning calls in its window.
    pub min_calls: u32,
    /// … and at least this many times the expected calls.
    pub min_ratio: Ratio,
    /// Window lengths tried, in minutes (multiples of 5).
    pub windows_minutes: Vec<u32>,
    /// A window must also exceed this many times the recurring burst size of the principal
    /// or the account/region (an autoscaling wave every afternoon is routine).
    pub burst_margin: f64,
}

impl Default for ProvisioningConfig {
    fn default() -> Self {
        ProvisioningConfig {
            min_calls: 10,
            min_ratio: Ratio(4.0),
            windows_minutes: vec![5, 15, 30, 60],
            burst_margin: 2.0,
        }
    }
}

/// Provisioning-spike detector.
#[derive(Debug, Clone)]
pub struct ProvisioningSpike(pub ProvisioningConfig);

const FLOOR: f64 = 0.002;

impl Detector for ProvisioningSpike {
    fn min_history_days(&self) -> u32 {
        // a week: account-wide provisioning has weekly habits (autoscaling, batches).
        7
    }

    fn kind(&self) -> FindingKind {
        FindingKind::ProvisioningSpike
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
        let is_prov = |k: &crate::rollup::ApiKey| {
            !k.read_only
                && input
                    .catalog
                    .is(Category::Provisioning, &k.event_source, &k.event_name)
        };

        // Per principal, from the detail rows.
        let per_principal = at::principal_buckets(input, true, |k, _| is_prov(k));
        let pmodels = input.baselines.principal_index();
        let days = input.baselines.history_days;
        let mut out: Vec<Finding> = Vec::new();
        for ((account, region, principal), obs) in &per_principal {
            let model = pmodels.get(&(*account, *principal));
            let exp: Vec<f64> = match model {
                Some(m) => at::expected(&m.provisioning, w.start, n)
                    .into_iter()
                    .map(|e| e.max(FLOOR))
                    .collect(),
                None => vec![FLOOR; n],
            };
            let params = params
                .with_history(
                    model.map(|m| &m.provisioning_burst),
                    model.map_or(0, |_| days),
                )
                .at(w.start);
            for h in scan(obs, &exp, 0.5, &params) {
                out.push(self.finding(
                    input,
                    account,
                    region,
                    Some(principal),
                    w.start,
                    &h,
                    model.map(|m| m.provisioning_total),
                ));
            }
        }

        // Per account/region, from the series.
        let mut groups: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
        for s in input.series.iter().filter(|s| is_prov(&s.key)) {
            let g = groups
                .entry((&s.key.account, &s.key.region))
                .or_insert_with(|| vec![0.0; s.calls.len()]);
            for (a, &c) in g.iter_mut().zip(&s.calls) {
                *a += f64::from(c);
            }
        }
        for ((account, region), obs) in &groups {
            let model = input
                .baselines
                .groups
                .iter()
                .find(|g| g.account == *account && g.region == *region);
            let (exp, alpha) = match model {
                Some(m) => (
                    at::expected(&m.provisioning, w.start, obs.len())
                        .into_iter()
                        .map(|e| e.max(FLOOR))
                        .collect(),
                    m.alpha,
                ),
                None => (vec![FLOOR; obs.len()], 1.0),
            };
            let params = params
                .with_history(model.map(|m| &m.burst), model.map_or(0, |_| days))
                .at(w.start);
            for h in scan(obs, &exp, alpha, &params) {
                let (s, e) = (
                    w.start + h.start as i64 * BUCKET_SECS,
                    w.start + (h.start + h.len) as i64 * BUCKET_SECS,
                );
                let explained = out.iter().any(|f| {
                    f.account == *account
                        && f.region == *region
                        && f.principal.is_some()
                        && f.start.timestamp() < e
                        && s < f.end.timestamp()
                });
                if !explained {
                    out.push(self.finding(
                        input,
                        account,
                        region,
                        None,
                        w.start,
                        &h,
                        model.map(|m| m.total),
                    ));
                }
            }
        }
        out
    }
}

impl ProvisioningSpike {
    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        input: &DetectInput<'_>,
        account: &str,
        region: &str,
        principal: Option<&str>,
        w0: i64,
        h: &super::scan::Hit,
        baseline_total: Option<u64>,
    ) -> Finding {
        let start = w0 + h.start as i64 * BUCKET_SECS;
        let end = start + h.len as i64 * BUCKET_SECS;
        let rows = at::rows(input.detail, start, end, |k, dk| {
            k.account == account
                && k.region == region
                && !k.read_only
                && input
                    .catalog
                    .is(Category::Provisioning, &k.event_source, &k.event_name)
                && principal.is_none_or(|p| dk.principal == p)
        });
        let mix = at::ApiMix::of(&rows);
        let ranked = &mix.ranked;
        let source = mix.top_api_source().unwrap_or("");
        let names = mix.names(usize::MAX);
        let who = principal.map(|p| format!(" by {p}")).unwrap_or_default();
        let explanation = format!(
            "{} provisioning calls{who} in {account}/{region} in {} ({}) vs {:.1} expected; the baseline window had {} in all",
            h.observed,
            at::duration(end - start),
            ranked.iter().map(|((_, n), c)| format!("{n} {c}")).collect::<Vec<_>>().join(", "),
            h.expected,
            baseline_total.unwrap_or(0)
        );
        let details = Details::Provisioning(ProvisioningDetails {
            baseline_total,
            scope: if principal.is_some() {
                "principal"
            } else {
                "account_region"
            }
            .into(),
        });
        Draft {
            kind: FindingKind::ProvisioningSpike,
            account,
            region,
            event_source: source,
            event_names: names,
            read_only: Some(false),
            principal,
            error_code: None,
            start,
            end,
            observed: h.observed,
            expected: h.expected,
            p: h.p,
            score: h.score,
            explanation,
            details,
        }
        .build(input, &rows, None)
    }
}

impl DetectorConfig for ProvisioningConfig {
    const KIND: FindingKind = FindingKind::ProvisioningSpike;
    const DEFAULT_MIN_SCORE: f64 = 70.0;

    fn build(&self) -> Result<Box<dyn Detector>, DetectConfigError> {
        check_windows(Self::KIND, &self.windows_minutes)?;
        Ok(Box::new(ProvisioningSpike(self.clone())))
    }
}
