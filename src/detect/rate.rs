//! `call_rate_spike` and `call_rate_drop`: per API series, read and write alike, observed calls
//! in windows of 5 minutes to 1 hour (spikes) or 1 to 3 hours (drops) against the series'
//! seasonal negative-binomial baseline.

use serde::{Deserialize, Serialize};

use super::attribution::{self as at, Draft};
use super::context::{Context, Peers};
use super::scan::{lens, scan, Params, Tail};
use super::{check_windows, DetectConfigError, DetectInput, Detector, DetectorConfig, Ratio};
use crate::baseline::RELIABLY_BUSY;
use crate::catalog::Category;
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
            min_expected: 10,
            min_ratio: Ratio(4.0),
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
    let peers = Peers::of(input.baselines);
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
            Some(m) if p.tail == Tail::Up => p.with_history(Some(&m.burst), days).at(s.start),
            Some(m) => Params {
                lulls: Some(&m.lulls),
                ..p.with_history(None, days)
            },
            None => p.clone(),
        };
        let judged =
            p.tail == Tail::Up || model.is_some_and(|m| droppable(m.density, &m.presence, days));
        let mut hits: Vec<(Option<&str>, super::scan::Hit)> = if judged {
            scan(&obs, &exp, alpha, &params)
                .into_iter()
                .map(|h| (None, h))
                .collect()
        } else {
            Vec::new()
        };
        // A drop in one busy caller (the monitoring collector stopped) hides in a series that
        // others keep calling: check each caller with a large baseline share on its own.
        if let (Some(m), Tail::Down) = (model, p.tail) {
            for c in &m.callers {
                if !droppable(c.density, &c.presence, days) {
                    continue;
                }
                let (who, share) = (&c.principal, c.share);
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
                // The caller's own quietness is not in the series' lulls.
                let caller = Params {
                    lulls: None,
                    ..params.clone()
                };
                for h in scan(&pobs, &pexp, alpha, &caller) {
                    let covered = hits
                        .iter()
                        .any(|(_, o)| h.start < o.start + o.len && o.start < h.start + h.len);
                    // Calls another caller took over (a fleet moving from one instance role to
                    // another) are not missing ([`taken_over`]).
                    if !covered && !taken_over(&obs, &pobs, &exp, h.start, h.len, h.expected) {
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
            let presence = model.map(|m| match who {
                Some(w) => m
                    .callers
                    .iter()
                    .find(|c| c.principal == w)
                    .map_or(&m.presence[..], |c| &c.presence[..]),
                None => &m.presence[..],
            });
            if kind == FindingKind::CallRateDrop
                && !presence.is_some_and(|p| reliably_busy(p, start, end))
            {
                // A series that is quiet in these hours on some days (polling that follows
                // deploys, a console user's working hours) going quiet is not a drop.
                continue;
            }
            let rows = at::rows(input.detail, start, end, |rk, dk| {
                rk == k && who.is_none_or(|w| dk.principal == w)
            });
            let routine = match (kind, who) {
                (FindingKind::CallRateSpike, None) => {
                    routine_work(input, &params, &rows, &h, start, end, &peers)
                }
                _ => None,
            };
            let score = routine.as_ref().map_or(h.score, |r| h.score.min(r.score));
            if score < params.min_score {
                continue;
            }
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
            ) + &routine.map_or(String::new(), |r| format!("; {}", r.reason));
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
                score,
                explanation,
                details,
            };
            out.push(d.build(input, &rows, model.map(|m| &m.top)));
        }
    }
    out
}

/// Share of a spike's calls one principal must make for the spike to be its work.
const OWNER_SHARE: f64 = 0.8;

/// A spike that is one principal's usual amount of work, shifted between APIs.
struct Routine {
    score: f64,
    reason: String,
}

/// Whether a spike is the routine work of the principal behind it: one principal made at
/// least [`OWNER_SHARE`] of the calls, from its own networks and tools, and its calls on all
/// APIs in the window did not exceed what it reached on its busy days — here or, for a role
/// with little history in this account, in the organization's other accounts (a scanner whose
/// inventory leans on another API this time; a deploy role polling in staging as it does in
/// production). Then the spike is only as unusual as that amount of work: the score of the
/// principal's own history ([`super::calibrate`] with its days reaching half the work). Reads
/// of secrets and other sensitive APIs never count as routine work: pulling every secret is
/// the exfiltration a spike is for.
fn routine_work(
    input: &DetectInput<'_>,
    params: &Params<'_>,
    rows: &[(
        &crate::rollup::ApiKey,
        &crate::rollup::DetailKey,
        &crate::rollup::DetailVal,
    )],
    h: &super::scan::Hit,
    start: i64,
    end: i64,
    peers: &Peers<'_>,
) -> Option<Routine> {
    let (key, _, _) = rows.first()?;
    if input
        .catalog
        .is(Category::Sensitive, &key.event_source, &key.event_name)
    {
        return None;
    }
    let (attr, _, _) = at::attribute(rows, None);
    let owner = attr
        .principal
        .first()
        .filter(|a| a.insight_share >= OWNER_SHARE)?;
    let principal = owner.value.as_str();
    let account = key.account.as_str();
    let models = input.baselines.principal_index();
    let own = models.get(&(account, principal)).copied();
    let owner_rows: Vec<_> = rows
        .iter()
        .filter(|(_, dk, _)| dk.principal == principal)
        .copied()
        .collect();
    let elsewhere = peers.elsewhere(principal, account);
    let ctx = Context::of(
        &owner_rows,
        own.map(|m| &m.habits)
            .or(elsewhere.first().map(|m| &m.habits)),
    )
    .within(peers.networks());
    if !ctx.habitual() {
        return None;
    }
    // Everything the principal called in the account in the window.
    let work: f64 = at::rows(input.detail, start, end, |k, dk| {
        k.account == account && dk.principal == principal
    })
    .iter()
    .map(|r| f64::from(r.2.count))
    .sum();
    let tests = params.tests_per_day();
    let reached = |m: &crate::baseline::PrincipalModel| {
        let k = super::calibrate::precedent(&m.call_burst, h.len, work, Some(start));
        (
            k,
            m.call_burst.days,
            super::calibrate::score(h.p, tests, k, m.call_burst.days),
        )
    };
    let best = own
        .into_iter()
        .chain(elsewhere)
        .map(|m| (m.account.as_str(), reached(m)))
        .filter(|(_, (k, _, _))| *k > 0.0)
        .min_by(|a, b| a.1 .2.total_cmp(&b.1 .2))?;
    let (where_, (k, n, score)) = best;
    let place = if where_ == account {
        String::new()
    } else {
        format!(" (the same role in account {where_})")
    };
    let amount = if k >= f64::from(super::calibrate::MIN_PRECEDENT_DAYS) {
        format!("an amount of work it reached on {k} of {n} days")
    } else {
        let times = super::calibrate::times_precedent(k);
        format!("{times:.1}× the most work it did on two of {n} days")
    };
    Some(Routine {
        score,
        reason: format!(
            "{principal} did {work} calls in all in the window, {amount}{place}, from its usual networks and tools"
        ),
    })
}

/// Days of history from which every series' drops are judged (see [`round_the_clock`]).
const WEEK: u32 = 7;

/// Whether every UTC hour of `[start, end)` had calls on [`RELIABLY_BUSY`] of the training
/// days (`presence` per hour of day; none, from an older state, counts as busy).
fn reliably_busy(presence: &[f64], start: i64, end: i64) -> bool {
    if presence.len() != 24 {
        return true;
    }
    let mut t = start.div_euclid(3600) * 3600;
    while t < end {
        if presence[(t.rem_euclid(86_400) / 3600) as usize] < RELIABLY_BUSY {
            return false;
        }
        t += 3600;
    }
    true
}

/// Share of 5-minute buckets of its busy hours a series (or caller) must fill to be a stream
/// whose silence is a drop: one call every five minutes on average fills 63%, a sweep once an
/// hour 8%.
const STREAM_DENSITY: f64 = 0.5;

/// Whether a series (or a caller) with this `density` and hourly `presence` can drop, after
/// `days` of history: only a stream can ([`STREAM_DENSITY`]; a sweep that did not come is a
/// job that did not run), and before a week of history only one busy at every hour of the day
/// (a poller has no working hours or weekends; a series that follows people looks like it
/// drops every evening and weekend until each weekday was seen).
/// Whether the calls a caller stopped making over `[start, start + len)` (`missing`, its
/// expected calls there) were taken over by the series' other callers: their calls rose, over
/// their own level in the same length of time just before, by at least half of `missing`.
/// Judged against their level rather than the seasonal profile, because the other callers of a
/// busy series often run above or below the profile on a given evening (regression, trailgen
/// tuning seed 1: a worker's 3-hour outage was read as a takeover because the rest of the
/// series ran 20% above its profile). Without an hour before the window to compare with, the
/// series itself must miss half of `missing`.
pub(super) fn taken_over(
    obs: &[f64],
    caller: &[f64],
    exp: &[f64],
    start: usize,
    len: usize,
    missing: f64,
) -> bool {
    let others = |r: std::ops::Range<usize>| -> f64 { r.map(|i| obs[i] - caller[i]).sum() };
    let profile = |r: std::ops::Range<usize>| -> f64 { exp[r].iter().sum() };
    let window = start..start + len;
    let before_len = len.min(start);
    if before_len < 12 {
        let series_missing = profile(window.clone()) - obs[window].iter().sum::<f64>();
        return series_missing < 0.5 * missing;
    }
    let before = start - before_len..start;
    // The others' level before, carried into the window along the series' profile.
    let (prof_before, prof_window) = (profile(before.clone()), profile(window.clone()));
    let carried = if prof_before > 0.0 {
        others(before) / prof_before * prof_window
    } else {
        0.0
    };
    others(window) - carried >= 0.5 * missing
}

fn droppable(density: f64, presence: &[f64], days: u32) -> bool {
    density >= STREAM_DENSITY
        && (days >= WEEK || (presence.len() == 24 && presence.iter().all(|p| *p >= RELIABLY_BUSY)))
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
        // two days for series busy at every hour (a poller); a week for the rest (see
        // `round_the_clock`).
        2
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
            lulls: None,
            burst_margin: 1.0,
            days: 0,
            origin: None,
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
