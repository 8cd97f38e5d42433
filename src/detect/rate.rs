//! `call_rate_spike` and `call_rate_drop`: per API series, read and write alike, observed calls
//! in windows of 5 minutes to 1 hour (spikes) or 1 to 3 hours (drops) against the series'
//! seasonal negative-binomial baseline.

use serde::{Deserialize, Serialize};

use super::attribution::{self as at, Draft};
use super::scan::{lens, scan, Params, Tail};
use super::{check_windows, DetectConfigError, DetectInput, Detector, DetectorConfig, Ratio};
use crate::finding::details::CallRateDetails;
use crate::finding::{Details, Finding, FindingKind};
use crate::time::BUCKET_SECS;

/// `[detectors.call_rate_spike]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpikeConfig {
    /// A spike needs at least this many calls in its window.
    pub min_calls: u32,
    /// … and at least this many times the expected calls.
    pub min_ratio: Ratio,
    /// Window lengths tried, in minutes (multiples of 5).
    pub windows_minutes: Vec<u32>,
    /// Expected calls per hour assumed for a series absent from the baseline (a new API).
    pub new_series_rate_per_hour: f64,
    /// A window must also exceed this many times the series' recurring burst size (the
    /// third-largest daily maximum of the baseline), so daily deploys and nightly jobs stay quiet.
    pub burst_margin: f64,
}

impl Default for SpikeConfig {
    fn default() -> Self {
        SpikeConfig {
            min_calls: 30,
            min_ratio: Ratio(4.0),
            windows_minutes: vec![5, 15, 30, 60],
            new_series_rate_per_hour: 0.5,
            burst_margin: 2.0,
        }
    }
}

/// `[detectors.call_rate_drop]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DropConfig {
    /// A drop needs at least this many expected calls in its window.
    pub min_expected: u32,
    /// … and observed at most expected / this.
    pub min_ratio: Ratio,
    /// Window lengths tried, in minutes (multiples of 5).
    pub windows_minutes: Vec<u32>,
}

impl Default for DropConfig {
    fn default() -> Self {
        DropConfig {
            min_expected: 30,
            min_ratio: Ratio(5.0),
            windows_minutes: vec![60, 120, 180],
        }
    }
}

/// Spike detector.
#[derive(Debug, Clone)]
pub struct CallRateSpike(pub SpikeConfig);

/// Drop detector.
#[derive(Debug, Clone)]
pub struct CallRateDrop(pub DropConfig);

fn rate_findings(
    input: &DetectInput<'_>,
    kind: FindingKind,
    p: &Params<'_>,
    new_rate: Option<f64>,
) -> Vec<Finding> {
    let models = input.baselines.series_index();
    let days = input.baselines.history_days;
    let mut out = Vec::new();
    for s in input.series {
        let obs: Vec<f64> = s.calls.iter().map(|&c| f64::from(c)).collect();
        let model = models.get(&s.key);
        let (exp, alpha) = match (model, new_rate) {
            (Some(m), _) => (at::expected_floored(&m.calls, s.start, obs.len()), m.alpha),
            (None, Some(r)) => (vec![r / 12.0; obs.len()], 1.0),
            (None, None) => continue,
        };
        let params = match model {
            Some(m) if p.tail == Tail::Up => p.with_history(Some(&m.burst), days),
            Some(_) => p.with_history(None, days),
            None => p.clone(),
        };
        let mut hits: Vec<(Option<&str>, super::scan::Hit)> = scan(&obs, &exp, alpha, &params)
            .into_iter()
            .map(|h| (None, h))
            .collect();
        // A drop in one busy caller (the monitoring collector stopped) hides in a series that
        // others keep calling: check each caller with a large baseline share on its own.
        if let (Some(m), Tail::Down) = (model, p.tail) {
            for (who, c) in &m.top.principal {
                let share = *c as f64 / m.top.total.max(1) as f64;
                if !(0.25..=0.95).contains(&share) {
                    continue;
                }
                let mut pobs = vec![0.0; obs.len()];
                if let Some(a) = input.detail.apis.get(&s.key) {
                    for (dk, dv) in a.detail.iter().filter(|(dk, _)| &dk.principal == who) {
                        let i = (dk.bucket - s.start).div_euclid(BUCKET_SECS);
                        if i >= 0 && (i as usize) < pobs.len() {
                            pobs[i as usize] += f64::from(dv.count);
                        }
                    }
                }
                let pexp: Vec<f64> = exp.iter().map(|e| e * share).collect();
                for h in scan(&pobs, &pexp, alpha, &params) {
                    let covered = hits
                        .iter()
                        .any(|(_, o)| h.start < o.start + o.len && o.start < h.start + h.len);
                    if !covered {
                        hits.push((Some(who.as_str()), h));
                    }
                }
            }
        }
        for (who, h) in hits {
            let start = s.start + h.start as i64 * BUCKET_SECS;
            let end = start + h.len as i64 * BUCKET_SECS;
            let k = &s.key;
            if kind == FindingKind::CallRateDrop
                && input.holes.silent(&k.account, &k.region, start, end)
            {
                // No logs at all from the account/region: a delivery hole, not a drop.
                continue;
            }
            if kind == FindingKind::CallRateDrop
                && !model.is_some_and(|m| reliably_busy(m, start, end))
            {
                // A series that is quiet in these hours on some days (polling that follows
                // deploys, a console user's working hours) going quiet is not a drop.
                continue;
            }
            let rows = at::rows(input.detail, start, end, |rk, dk| {
                rk == k && who.is_none_or(|w| dk.principal == w)
            });
            let top_caller = {
                let (a, _, _) = at::attribute(&rows, None);
                a.principal
                    .first()
                    .map(|x| format!("; top caller {} ({:.0}%)", x.value, x.insight_share * 100.0))
                    .unwrap_or_default()
            };
            let verb = if kind == FindingKind::CallRateSpike {
                "spike"
            } else {
                "drop"
            };
            let verb = match who {
                Some(w) => format!("{verb} by {w}"),
                None => verb.to_string(),
            };
            let explanation = format!(
                "{} call-rate {verb} on {} ({}) in {}/{}: {} calls in {} vs {:.1} expected ({:.1}/min vs {:.2}/min){}",
                k.event_name,
                k.event_source,
                if k.read_only { "read" } else { "write" },
                k.account,
                k.region,
                h.observed,
                at::duration(end - start),
                h.expected,
                h.observed / ((end - start) as f64 / 60.0),
                h.expected / ((end - start) as f64 / 60.0),
                top_caller
            );
            let details = Details::CallRate(CallRateDetails {
                dispersion: at::round3(alpha),
                new_series: model.is_none(),
            });
            let d = Draft {
                kind,
                account: &k.account,
                region: &k.region,
                event_source: &k.event_source,
                event_names: vec![k.event_name.clone()],
                read_only: Some(k.read_only),
                principal: who,
                error_code: None,
                start,
                end,
                observed: h.observed,
                expected: h.expected,
                p: h.p,
                score: h.score,
                explanation,
                details,
            };
            out.push(d.build(input, &rows, model.map(|m| &m.top)));
        }
    }
    out
}

/// A drop needs every hour it covers to have had calls on at least this share of training days.
const DROP_PRESENCE: f64 = 0.85;

/// Whether every UTC hour of `[start, end)` had calls on [`DROP_PRESENCE`] of the series'
/// training days. A model without presence (older state) counts as busy.
fn reliably_busy(m: &crate::baseline::SeriesModel, start: i64, end: i64) -> bool {
    if m.presence.len() != 24 {
        return true;
    }
    let mut t = start.div_euclid(3600) * 3600;
    while t < end {
        if m.presence[(t.rem_euclid(86_400) / 3600) as usize] < DROP_PRESENCE {
            return false;
        }
        t += 3600;
    }
    true
}

impl Detector for CallRateSpike {
    fn min_history_days(&self) -> u32 {
        // a week: the hour-of-week profile needs each weekday once.
        7
    }

    fn kind(&self) -> FindingKind {
        FindingKind::CallRateSpike
    }

    fn detect(&self, input: &DetectInput<'_>, floor: f64) -> Vec<Finding> {
        let lens = lens(&self.0.windows_minutes);
        let p = Params::spike(
            &lens,
            floor,
            f64::from(self.0.min_calls),
            self.0.min_ratio.get(),
            self.0.burst_margin,
        );
        rate_findings(
            input,
            FindingKind::CallRateSpike,
            &p,
            Some(self.0.new_series_rate_per_hour),
        )
    }
}

impl Detector for CallRateDrop {
    fn min_history_days(&self) -> u32 {
        // a week: the hour-of-week profile needs each weekday once.
        7
    }

    fn kind(&self) -> FindingKind {
        FindingKind::CallRateDrop
    }

    fn detect(&self, input: &DetectInput<'_>, floor: f64) -> Vec<Finding> {
        let lens = lens(&self.0.windows_minutes);
        let p = Params {
            tail: Tail::Down,
            lens: &lens,
            min_score: floor,
            min_observed: 0.0,
            ratio: self.0.min_ratio.get(),
            min_expected: f64::from(self.0.min_expected),
            history: None,
            burst_margin: 1.0,
            days: 0,
        };
        rate_findings(input, FindingKind::CallRateDrop, &p, None)
    }
}

impl DetectorConfig for SpikeConfig {
    const KIND: FindingKind = FindingKind::CallRateSpike;
    const DEFAULT_MIN_SCORE: f64 = 70.0;

    fn build(&self) -> Result<Box<dyn Detector>, DetectConfigError> {
        check_windows(Self::KIND, &self.windows_minutes)?;
        Ok(Box::new(CallRateSpike(self.clone())))
    }
}

impl DetectorConfig for DropConfig {
    const KIND: FindingKind = FindingKind::CallRateDrop;
    const DEFAULT_MIN_SCORE: f64 = 70.0;

    fn build(&self) -> Result<Box<dyn Detector>, DetectConfigError> {
        check_windows(Self::KIND, &self.windows_minutes)?;
        Ok(Box::new(CallRateDrop(self.clone())))
    }
}
