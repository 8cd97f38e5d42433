//! Baseline models: what normal looks like for every call series, error series, principal and
//! periodic job, fitted from the rollups over a training window and stored under
//! `<state>/models/` in a versioned JSON format.
//!
//! - Call series (account, region, eventSource, eventName, read/write): an hour-of-week profile
//!   of expected calls ([`stats::SeasonalProfile`], robust across weeks, shrunk to hour-of-day
//!   and to a flat level when history is short) and a negative-binomial dispersion estimated
//!   from the hourly residuals with the largest ones trimmed.
//! - Error series: the robust share of calls that fail, and the dispersion of error counts.
//! - Principals: their own profile of IAM writes and of errors, and the set of APIs they
//!   called in the window (for first-seen sensitive actions).
//! - Groups (account, region): the provisioning category summed, as a profile.
//! - Periodic jobs: principal × API with a daily or weekly rhythm (see [`jobs`]).

pub mod habits;
pub mod jobs;
pub mod stats;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::rc::Rc;

use chrono::{DateTime, Utc};
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Category};
use crate::event::absent_configuration;
use crate::rollup::{ApiKey, Rollup};
#[cfg(feature = "full")]
use crate::rollup::{Resolution, Store, StoreError};
use crate::state::{StateDir, StateError, StateFile, MODEL_SCHEMA};
use crate::time::{TimeRange, BUCKET_SECS};
use stats::SeasonalProfile;

pub use habits::Habits;
pub use jobs::{Period, PeriodicJob};

/// How baselines are fitted. Part of the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineConfig {
    /// Days of history to train on, ending where detection starts (1–90).
    pub training_days: u32,
    /// Fewer stored days than this and fitting is refused (1–training_days).
    pub min_training_days: u32,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            training_days: 28,
            min_training_days: 1,
        }
    }
}

/// Errors of the baseline stage.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Reading rollups failed.
    #[cfg(feature = "full")]
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Not enough history to fit.
    #[error("only {have} day(s) of history before {until}; baselines need at least {need} (ingest more days, or lower baseline.min_training_days)")]
    ShortHistory {
        /// Days available.
        have: u32,
        /// Days required.
        need: u32,
        /// End of the training window.
        until: String,
    },
    /// No baselines stored yet.
    #[error("no baselines at {} (run `trailsight baseline` first)", .0.display())]
    Missing(PathBuf),
    /// The stored baselines cannot be read or written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Normal behaviour of one call series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesModel {
    /// The series.
    pub key: ApiKey,
    /// Expected calls per hour by hour of week.
    pub calls: SeasonalProfile,
    /// Negative-binomial dispersion of hourly calls (variance = mu + alpha mu²).
    pub alpha: f64,
    /// Expected errors per hour by hour of week.
    pub errors: SeasonalProfile,
    /// Robust share of calls that fail.
    pub error_share: f64,
    /// Dispersion of hourly error counts.
    pub error_alpha: f64,
    /// Calls in the training window.
    pub total_calls: u64,
    /// Errors in the training window.
    pub total_errors: u64,
    /// Who called it in the training window: the baseline side of attributions.
    pub top: TopContributors,
    /// Recurring burst sizes per [`BURST_LENS`] window.
    pub burst: Bursts,
    /// Recurring burst sizes of its failed calls per [`BURST_LENS`] window (a job that fails
    /// on schedule every day).
    #[serde(default)]
    pub error_burst: Bursts,
    /// Per UTC hour of day, the share of training days on which that hour had any call: a
    /// drop is only evidence in hours the series reliably fills.
    #[serde(default)]
    pub presence: Vec<f64>,
    /// How quiet it got in its reliably busy hours ([`Lulls`]).
    #[serde(default)]
    pub lulls: Lulls,
    /// Share of its 5-minute buckets in reliably busy hours that had a call ([`density`]): a
    /// steady stream (a poller, a service's KMS calls) near 1, a sweep that comes once an hour
    /// near 1/12. Only a stream's silence is a drop; a sweep that did not come is a job that
    /// did not run.
    #[serde(default)]
    pub density: f64,
    /// The callers with 25–95% of its calls, each with its own rhythm: a drop of one of them
    /// (a collector that stopped) hides in a series others keep calling.
    #[serde(default)]
    pub callers: Vec<CallerShape>,
}

/// The rhythm of one large caller of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallerShape {
    /// The principal.
    pub principal: String,
    /// Its share of the series' calls in the training window.
    pub share: f64,
    /// Per UTC hour of day, the share of training days on which it called in that hour.
    pub presence: Vec<f64>,
    /// As [`SeriesModel::density`], for its own calls.
    pub density: f64,
}

/// Share of the 5-minute buckets of `dense` (from a UTC midnight, `start`) in hours whose
/// `presence` is reliably busy that had a call; 0 when no hour is.
pub fn density(dense: &[f64], presence: &[f64], start: i64) -> f64 {
    let (mut busy, mut filled) = (0u64, 0u64);
    for (i, c) in dense.iter().enumerate() {
        let hour = ((start + i as i64 * BUCKET_SECS).rem_euclid(86_400) / 3600) as usize;
        if presence.get(hour).is_some_and(|p| *p >= RELIABLY_BUSY) {
            busy += 1;
            filled += u64::from(*c > 0.0);
        }
    }
    if busy == 0 {
        0.0
    } else {
        filled as f64 / busy as f64
    }
}

/// Caller shares between which a caller's own drop is looked for.
pub const CALLER_SHARES: std::ops::RangeInclusive<f64> = 0.25..=0.95;

/// The largest contributors to a series in the training window, with their call counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopContributors {
    /// Calls in the window (the denominator of shares).
    pub total: u64,
    /// By principal ARN.
    pub principal: Vec<(String, u64)>,
    /// By user agent.
    pub user_agent: Vec<(String, u64)>,
    /// By source IP.
    pub source_ip: Vec<(String, u64)>,
    /// By error code.
    pub error_code: Vec<(String, u64)>,
}

/// Window lengths (in 5-minute buckets) for which burst ceilings are kept: 5, 15, 30 minutes,
/// 1, 2 and 3 hours.
pub const BURST_LENS: [usize; 6] = [1, 3, 6, 12, 24, 36];

/// How many of the largest daily maxima [`Bursts`] keeps per window length: enough to count
/// how often a burst size was reached until the count no longer matters to a score (ten days
/// of 28 is "every few days").
pub const BURST_DAYS_KEPT: usize = 10;

/// The burst history of one count series in the training window: for each of [`BURST_LENS`],
/// the largest daily maxima of the window sum (largest first, zeros dropped, at most
/// [`BURST_DAYS_KEPT`]) and the number of days seen. Two things are read from it: the
/// recurring burst size ([`Bursts::ceiling`]) and how often a size was reached
/// ([`Bursts::days_reaching`], the calibration of scores).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bursts {
    /// Days of training data.
    pub days: u32,
    /// Per [`BURST_LENS`] entry, the largest daily maxima.
    pub daily_max: Vec<Vec<f64>>,
    /// Per [`BURST_LENS`] entry, when each of `daily_max` began (Unix seconds), in the same
    /// order: what tells a weekly job's last run from a one-off ([`Bursts::precedent_days`]).
    #[serde(default)]
    pub peaks: Vec<Vec<i64>>,
}

impl Bursts {
    /// The burst history of dense 5-minute buckets starting at `start`, a UTC midnight.
    pub fn of(buckets: &[f64], start: i64) -> Bursts {
        let per_day = 288;
        let prefix = stats::prefix_sums(buckets);
        let days = buckets.len().div_ceil(per_day);
        let (daily_max, peaks) = BURST_LENS
            .iter()
            .map(|&len| {
                // (size, first bucket) of each day's largest window.
                let mut maxima: Vec<(f64, usize)> = (0..days)
                    .map(|d| {
                        let lo = d * per_day;
                        let hi = ((d + 1) * per_day).min(buckets.len());
                        (lo..hi)
                            .filter(|i| i + len <= buckets.len())
                            .map(|i| (prefix[i + len] - prefix[i], i))
                            .fold((0.0, lo), |a, b| if b.0 > a.0 { b } else { a })
                    })
                    .filter(|m| m.0 > 0.0)
                    .collect();
                maxima.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                maxima.truncate(BURST_DAYS_KEPT);
                maxima
                    .into_iter()
                    .map(|(m, i)| (m, start + i as i64 * BUCKET_SECS))
                    .unzip::<f64, i64, Vec<f64>, Vec<i64>>()
            })
            .unzip();
        Bursts {
            days: days as u32,
            daily_max,
            peaks,
        }
    }

    /// The largest daily maxima (largest first) of the nearest kept window length not shorter
    /// than `len` buckets.
    pub fn maxima(&self, len: usize) -> &[f64] {
        BURST_LENS
            .iter()
            .position(|&l| l >= len)
            .and_then(|i| self.daily_max.get(i))
            .or(self.daily_max.last())
            .map_or(&[][..], |v| &v[..])
    }

    /// Recurring burst size for a window of `len` buckets (the nearest kept length not
    /// shorter): the third-largest daily maximum. A size reached on at least three days (daily
    /// deploys, nightly jobs, the weekly rotation across 3–4 weeks) is routine; one past
    /// incident (a single day) does not raise it. Shorter histories (the warm-up) ask less: the
    /// largest of 1–2 days, the second-largest of 3. No history: 0.
    pub fn ceiling(&self, len: usize) -> f64 {
        let k = 3.min((self.days as usize).saturating_sub(1).max(1));
        self.maxima(len).get(k - 1).copied().unwrap_or(0.0)
    }

    /// On how many training days a window of `len` buckets reached `observed` (capped at
    /// [`BURST_DAYS_KEPT`]).
    pub fn days_reaching(&self, len: usize, observed: f64) -> u32 {
        self.maxima(len).iter().filter(|m| **m >= observed).count() as u32
    }

    /// [`Bursts::days_reaching`] for a window starting at `at` (Unix seconds), counting a
    /// single day that reached the size as two when it began a week earlier within
    /// [`WEEKLY_SLACK_SECS`]: a weekly job (a Prowler assessment, a patch window) has run once
    /// in a short history, at the same hour of the same weekday, and that is its rhythm. A
    /// one-off incident rarely comes back at the same hour a week later; one that does was
    /// reported the first time.
    pub fn precedent_days(&self, len: usize, observed: f64, at: Option<i64>) -> u32 {
        let k = self.days_reaching(len, observed);
        let Some(at) = at else { return k };
        if k != 1 {
            return k;
        }
        let i = BURST_LENS
            .iter()
            .position(|&l| l >= len)
            .unwrap_or(BURST_LENS.len() - 1);
        let weekly = self
            .daily_max
            .get(i)
            .zip(self.peaks.get(i))
            .and_then(|(m, p)| m.iter().zip(p).find(|(m, _)| **m >= observed))
            .is_some_and(|(_, &t)| (at - 7 * 86_400 - t).abs() <= WEEKLY_SLACK_SECS);
        if weekly {
            2
        } else {
            k
        }
    }
}

/// How far from a week before a window a single earlier burst may have begun and still count as
/// the same weekly job's last run ([`Bursts::precedent_days`]): 90 minutes, as a scheduled job
/// drifts with queueing and the size of what it sweeps.
pub const WEEKLY_SLACK_SECS: i64 = 90 * 60;

/// A UTC hour of the day is **reliably busy** for a series when it had calls on at least this
/// share of training days: only there is a drop evidence (one quiet day in seven allowed).
pub const RELIABLY_BUSY: f64 = 0.85;

/// Drop window lengths (in 5-minute buckets) for which [`Lulls`] are kept: 1, 2 and 3 hours.
pub const LULL_LENS: [usize; 3] = [12, 24, 36];

/// Fewest expected calls a training window needs for its quietness to count in [`Lulls`].
const LULL_MIN_EXPECTED: f64 = 3.0;

/// The quiet history of one count series, the counterpart of [`Bursts`] for drops: for each of
/// [`LULL_LENS`], the smallest daily minima of observed / expected over windows inside the
/// series' reliably busy hours (smallest first, at most [`BURST_DAYS_KEPT`]), and the days seen.
/// A scanner that sweeps every hour has an empty hour most days; a service's steady stream of
/// calls never thins to a tenth. [`Lulls::days_below`] calibrates a drop's score like
/// [`Bursts::days_reaching`] does a spike's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lulls {
    /// Days of training data.
    pub days: u32,
    /// Per [`LULL_LENS`] entry, the smallest daily minima of observed / expected.
    pub daily_min: Vec<Vec<f64>>,
}

impl Lulls {
    /// The lulls of dense 5-minute `buckets` starting at a UTC midnight, against `expected`
    /// (same length) in the buckets `busy` says are reliably busy.
    pub fn of(buckets: &[f64], expected: &[f64], busy: impl Fn(usize) -> bool) -> Lulls {
        let per_day = 288;
        let n = buckets.len().min(expected.len());
        let (po, pe) = (
            stats::prefix_sums(&buckets[..n]),
            stats::prefix_sums(&expected[..n]),
        );
        let busy_run = {
            // busy_run[i]: consecutive busy buckets ending at i (inclusive).
            let mut v = vec![0usize; n];
            for i in 0..n {
                v[i] = if busy(i) {
                    1 + if i > 0 { v[i - 1] } else { 0 }
                } else {
                    0
                };
            }
            v
        };
        let days = n.div_ceil(per_day);
        let daily_min = LULL_LENS
            .iter()
            .map(|&len| {
                let mut minima: Vec<f64> = (0..days)
                    .filter_map(|d| {
                        let lo = d * per_day;
                        let hi = ((d + 1) * per_day).min(n);
                        (lo..hi)
                            .filter(|&i| i + len <= n && busy_run[i + len - 1] >= len)
                            .filter_map(|i| {
                                let e = pe[i + len] - pe[i];
                                (e >= LULL_MIN_EXPECTED).then(|| (po[i + len] - po[i]) / e)
                            })
                            .min_by(f64::total_cmp)
                    })
                    .collect();
                minima.sort_by(f64::total_cmp);
                minima.truncate(BURST_DAYS_KEPT);
                minima
            })
            .collect();
        Lulls {
            days: days as u32,
            daily_min,
        }
    }

    /// On how many training days a window of `len` buckets (the nearest kept length not
    /// shorter) was as quiet as `ratio` of its expected calls or quieter (capped at
    /// [`BURST_DAYS_KEPT`]).
    pub fn days_below(&self, len: usize, ratio: f64) -> u32 {
        let i = LULL_LENS
            .iter()
            .position(|&l| l >= len)
            .unwrap_or(LULL_LENS.len() - 1);
        self.daily_min
            .get(i)
            .map_or(0, |v| v.iter().filter(|m| **m <= ratio).count() as u32)
    }
}

/// Days an (API, error code) pair must fail on for a principal before it counts as routine.
pub const ROUTINE_ERROR_DAYS: usize = 2;

/// The key of an (API, error code) pair in [`PrincipalModel::routine_errors`].
pub fn routine_key(api: &str, code: &str) -> String {
    format!("{api} {code}")
}

/// Dense 5-minute buckets of a sparse minute map over `[start, start + n·BUCKET_SECS)`:
/// (calls, errors).
fn five_minute(
    minutes: &HashMap<i64, crate::rollup::Counts>,
    start: i64,
    n: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (mut v, mut e) = (vec![0.0; n], vec![0.0; n]);
    for (m, c) in minutes {
        let i = (m * 60 - start).div_euclid(BUCKET_SECS);
        if i >= 0 && (i as usize) < n {
            v[i as usize] += f64::from(c.calls);
            e[i as usize] += f64::from(c.errors);
        }
    }
    (v, e)
}

/// The shapes of the callers of a series with [`CALLER_SHARES`] of its calls, from its detail
/// rows over `n5` buckets from `start`.
fn caller_shapes(
    a: &crate::rollup::agg::ApiAgg,
    top: &TopContributors,
    start: i64,
    n5: usize,
) -> Vec<CallerShape> {
    let total = top.total.max(1) as f64;
    top.principal
        .iter()
        .filter(|(_, c)| CALLER_SHARES.contains(&(*c as f64 / total)))
        .map(|(who, c)| {
            let mut dense = vec![0.0; n5];
            for (dk, dv) in a.detail.iter().filter(|(dk, _)| &dk.principal == who) {
                let i = (dk.bucket - start).div_euclid(BUCKET_SECS);
                if i >= 0 && (i as usize) < n5 {
                    dense[i as usize] += f64::from(dv.count);
                }
            }
            let hourly: Vec<f64> = dense.chunks(12).map(|c| c.iter().sum()).collect();
            let presence = presence_by_hour(&hourly, start);
            CallerShape {
                principal: who.clone(),
                share: *c as f64 / total,
                density: density(&dense, &presence, start),
                presence,
            }
        })
        .collect()
}

/// Per hour of day, the share of whole days in `hourly` (starting at midnight) with a call.
fn presence_by_hour(hourly: &[f64], start: i64) -> Vec<f64> {
    let offset = (start.rem_euclid(86_400) / 3600) as usize;
    let mut seen = [0u32; 24];
    let mut days = [0u32; 24];
    for (i, c) in hourly.iter().enumerate() {
        let h = (i + offset) % 24;
        days[h] += 1;
        if *c > 0.0 {
            seen[h] += 1;
        }
    }
    (0..24)
        .map(|h| {
            if days[h] == 0 {
                0.0
            } else {
                f64::from(seen[h]) / f64::from(days[h])
            }
        })
        .collect()
}

/// How many contributors per attribute a model keeps.
pub const TOP_N: usize = 10;

impl TopContributors {
    /// Counts the detail rows of one series.
    pub fn from_detail(a: &crate::rollup::agg::ApiAgg) -> TopContributors {
        let mut p: HashMap<&str, u64> = HashMap::new();
        let mut u: HashMap<&str, u64> = HashMap::new();
        let mut i: HashMap<&str, u64> = HashMap::new();
        let mut e: HashMap<&str, u64> = HashMap::new();
        let mut total = 0;
        for (dk, dv) in &a.detail {
            let c = u64::from(dv.count);
            total += c;
            *p.entry(&dk.principal).or_default() += c;
            *u.entry(&dk.user_agent).or_default() += c;
            *i.entry(&dk.source_ip).or_default() += c;
            if let Some(code) = &dk.error_code {
                *e.entry(code).or_default() += c;
            }
        }
        TopContributors {
            total,
            principal: top(p),
            user_agent: top(u),
            source_ip: top(i),
            error_code: top(e),
        }
    }

    /// Calls of `value` under an attribute, 0 when not among the top.
    pub fn count(list: &[(String, u64)], value: &str) -> u64 {
        list.iter().find(|(v, _)| v == value).map_or(0, |x| x.1)
    }
}

fn top(m: HashMap<&str, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().map(|(k, c)| (k.to_string(), c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(TOP_N);
    v
}

/// Normal behaviour of one principal in one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrincipalModel {
    /// Account.
    pub account: String,
    /// Principal ARN.
    pub principal: String,
    /// Expected IAM-change writes per hour by hour of week.
    pub iam_writes: SeasonalProfile,
    /// IAM-change writes in the training window.
    pub iam_total: u64,
    /// Expected provisioning writes per hour by hour of week.
    pub provisioning: SeasonalProfile,
    /// Provisioning writes in the training window.
    pub provisioning_total: u64,
    /// Recurring provisioning burst sizes per [`BURST_LENS`] window.
    pub provisioning_burst: Bursts,
    /// Recurring IAM-write burst sizes per [`BURST_LENS`] window.
    pub iam_burst: Bursts,
    /// Recurring burst sizes of its failed calls (all APIs; a routine failure only on the day
    /// its pair first failed, when it was new) per [`BURST_LENS`] window.
    #[serde(default)]
    pub error_burst: Bursts,
    /// Its most frequent error codes with their counts: the baseline side of an error
    /// finding's attribution.
    #[serde(default)]
    pub error_codes: Vec<(String, u64)>,
    /// `eventSource:eventName errorCode` pairs it failed with on at least
    /// [`ROUTINE_ERROR_DAYS`] training days: routine failures of its own job (the Config
    /// recorder's `NoSuchTagSet`), not evidence against it.
    #[serde(default)]
    pub routine_errors: BTreeSet<String>,
    /// Expected failed calls per hour by hour of week, routine failures left out.
    pub errors: SeasonalProfile,
    /// Dispersion of hourly error counts, routine failures left out.
    pub error_alpha: f64,
    /// Failed calls in the training window, routine ones included.
    pub error_total: u64,
    /// Calls in the training window.
    pub calls_total: u64,
    /// `eventSource:eventName` of every API called in the window.
    pub apis: BTreeSet<String>,
    /// Every region it called in.
    #[serde(default)]
    pub regions: BTreeSet<String>,
    /// Hours with any activity.
    pub active_hours: u32,
    /// Recurring burst sizes of all its calls per [`BURST_LENS`] window: how much work it does
    /// at once on its busy days (a scanner's sweep, a deploy's polling).
    #[serde(default)]
    pub call_burst: Bursts,
    /// The networks and tool families it calls from.
    #[serde(default)]
    pub habits: Habits,
}

/// Normal provisioning volume of one account and region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupModel {
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Expected provisioning calls per hour by hour of week.
    pub provisioning: SeasonalProfile,
    /// Dispersion.
    pub alpha: f64,
    /// Provisioning calls in the window.
    pub total: u64,
    /// Recurring burst sizes per [`BURST_LENS`] window.
    pub burst: Bursts,
}

/// All baselines of a state, as stored in `<state>/models/baselines.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baselines {
    /// Always `trailsight-baselines`.
    pub format: String,
    /// [`MODEL_SCHEMA`]'s version.
    pub schema_version: u32,
    /// trailsight version that fitted them.
    pub tool_version: String,
    /// When they were fitted.
    pub fitted_at: DateTime<Utc>,
    /// Training window start (inclusive).
    pub training_start: DateTime<Utc>,
    /// Training window end (exclusive).
    pub training_end: DateTime<Utc>,
    /// Days of data actually present in the window.
    pub history_days: u32,
    /// The config used.
    pub config: BaselineConfig,
    /// Per call series.
    pub series: Vec<SeriesModel>,
    /// Per principal.
    pub principals: Vec<PrincipalModel>,
    /// Per account and region.
    pub groups: Vec<GroupModel>,
    /// Discovered periodic jobs.
    pub jobs: Vec<PeriodicJob>,
}

/// Hour of week (0 = Monday 00:00 UTC) of an epoch second.
pub fn hour_of_week(t: i64) -> usize {
    // 1970-01-01 was a Thursday: hour 0 of the epoch is hour 72 of its week.
    ((t.div_euclid(3600) + 72).rem_euclid(168)) as usize
}

/// `eventSource:eventName`.
pub fn api_name(source: &str, name: &str) -> String {
    format!("{source}:{name}")
}

/// Fits a profile and a dispersion from an hourly series that starts at epoch second `start`.
fn fit_hourly(hourly: &[f64], start: i64) -> (SeasonalProfile, f64) {
    let profile = stats::fit_seasonal(hourly, hour_of_week(start));
    let means: Vec<f64> = (0..hourly.len())
        .map(|i| profile.expected_per_hour(hour_of_week(start + i as i64 * 3600)))
        .collect();
    let alpha = stats::estimate_dispersion(hourly, &means);
    (profile, alpha)
}

/// Hourly sums per key from the detail table of a rollup: (account, principal) → hourly counts.
fn hourly_from<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Vec<f64>>,
    key: K,
    bucket: i64,
    start: i64,
    hours: usize,
    count: f64,
) {
    let i = (bucket - start).div_euclid(3600);
    if i < 0 || i as usize >= hours {
        return;
    }
    map.entry(key).or_insert_with(|| vec![0.0; hours])[i as usize] += count;
}

/// 5-minute sums per key, like [`hourly_from`].
fn bucket_from<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Vec<f64>>,
    key: K,
    bucket: i64,
    start: i64,
    n: usize,
    count: f64,
) {
    let i = (bucket - start).div_euclid(BUCKET_SECS);
    if i < 0 || i as usize >= n {
        return;
    }
    map.entry(key).or_insert_with(|| vec![0.0; n])[i as usize] += count;
}

/// Fits every baseline from the rollups in `[until - training_days, until)`.
#[cfg(feature = "full")]
pub fn fit(
    store: &Store,
    catalog: &Catalog,
    cfg: &BaselineConfig,
    until: i64,
) -> Result<Baselines, BaselineError> {
    let until = until.div_euclid(3600) * 3600;
    let start = until - i64::from(cfg.training_days) * 86_400;
    let range = TimeRange { start, end: until };
    let history_days = store
        .days()
        .into_iter()
        .filter(|d| d * 86_400 >= start && d * 86_400 < until)
        .count() as u32;
    if history_days < cfg.min_training_days {
        return Err(BaselineError::ShortHistory {
            have: history_days,
            need: cfg.min_training_days,
            until: crate::time::format(until),
        });
    }
    let hours = ((until - start) / 3600) as usize;
    // Fit only over the part of the window that has data, so a short history is not read as
    // weeks of silence.
    let first_day = store
        .days()
        .into_iter()
        .find(|d| d * 86_400 >= start)
        .unwrap_or(start / 86_400);
    let data_start = (first_day * 86_400).max(start);
    let skip = ((data_start - start) / 3600) as usize;

    let roll = store.detail_rollup(range)?;
    let calls_roll = store.calls_rollup(TimeRange {
        start: data_start,
        end: until,
    })?;
    let n5 = ((until - data_start) / BUCKET_SECS) as usize;
    let mut group_5m: HashMap<(String, String), Vec<f64>> = HashMap::new();
    let series_in = store.series(range, Resolution::Hour)?;
    let mut series = Vec::with_capacity(series_in.len());
    let mut groups_hourly: HashMap<(String, String), Vec<f64>> = HashMap::new();
    for s in series_in {
        let calls: Vec<f64> = s.calls[skip..].iter().map(|&c| f64::from(c)).collect();
        let errors: Vec<f64> = s.errors[skip..].iter().map(|&c| f64::from(c)).collect();
        let (cp, alpha) = fit_hourly(&calls, data_start);
        let (ep, error_alpha) = fit_hourly(&errors, data_start);
        let total_calls: u64 = s.calls.iter().map(|&c| u64::from(c)).sum();
        let total_errors: u64 = s.errors.iter().map(|&c| u64::from(c)).sum();
        // Share of failing calls, robust over days so one bad day does not set the norm.
        let daily_shares: Vec<f64> = calls
            .chunks(24)
            .zip(errors.chunks(24))
            .filter(|(c, _)| c.iter().sum::<f64>() > 0.0)
            .map(|(c, e)| e.iter().sum::<f64>() / c.iter().sum::<f64>())
            .collect();
        let error_share = if daily_shares.is_empty() {
            0.0
        } else {
            stats::robust_mean(&daily_shares)
        };
        if catalog.is(
            Category::Provisioning,
            &s.key.event_source,
            &s.key.event_name,
        ) && !s.key.read_only
        {
            let g = groups_hourly
                .entry((s.key.account.clone(), s.key.region.clone()))
                .or_insert_with(|| vec![0.0; calls.len()]);
            for (a, b) in g.iter_mut().zip(&calls) {
                *a += b;
            }
        }
        let top = roll
            .apis
            .get(&s.key)
            .map(TopContributors::from_detail)
            .unwrap_or_default();
        let (dense, dense_errors) = calls_roll
            .apis
            .get(&s.key)
            .map(|a| five_minute(&a.minutes, data_start, n5))
            .unwrap_or_default();
        if catalog.is(
            Category::Provisioning,
            &s.key.event_source,
            &s.key.event_name,
        ) && !s.key.read_only
        {
            let g = group_5m
                .entry((s.key.account.clone(), s.key.region.clone()))
                .or_insert_with(|| vec![0.0; n5]);
            for (a, b) in g.iter_mut().zip(&dense) {
                *a += b;
            }
        }
        let burst = Bursts::of(&dense, data_start);
        let error_burst = Bursts::of(&dense_errors, data_start);
        let presence = presence_by_hour(&calls, data_start);
        let density = density(&dense, &presence, data_start);
        let callers = roll
            .apis
            .get(&s.key)
            .map(|a| caller_shapes(a, &top, data_start, n5))
            .unwrap_or_default();
        // Lulls only where a drop could be judged at all: some hour reliably busy.
        let lulls = if presence.iter().any(|p| *p >= RELIABLY_BUSY) {
            let expected: Vec<f64> = (0..dense.len())
                .map(|i| {
                    cp.expected_per_hour(hour_of_week(data_start + i as i64 * BUCKET_SECS)) / 12.0
                })
                .collect();
            Lulls::of(&dense, &expected, |i| {
                let hour =
                    ((data_start + i as i64 * BUCKET_SECS).rem_euclid(86_400) / 3600) as usize;
                presence.get(hour).is_some_and(|p| *p >= RELIABLY_BUSY)
            })
        } else {
            Lulls::default()
        };
        series.push(SeriesModel {
            key: s.key,
            calls: cp,
            alpha,
            errors: ep,
            error_share,
            error_alpha,
            total_calls,
            total_errors,
            top,
            burst,
            error_burst,
            presence,
            lulls,
            density,
            callers,
        });
    }
    let mut groups: Vec<GroupModel> = groups_hourly
        .into_iter()
        .map(|((account, region), h)| {
            let (provisioning, alpha) = fit_hourly(&h, data_start);
            let burst = group_5m
                .get(&(account.clone(), region.clone()))
                .map(|v| Bursts::of(v, data_start))
                .unwrap_or_default();
            GroupModel {
                account,
                region,
                provisioning,
                alpha,
                total: h.iter().sum::<f64>() as u64,
                burst,
            }
        })
        .collect();
    groups.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));

    // Principals and jobs, from the detail table.
    let principals = fit_principals(&roll, catalog, data_start, hours - skip);
    let jobs = jobs::discover(&roll, catalog, data_start, until);

    Ok(Baselines {
        format: MODEL_SCHEMA.format.into(),
        schema_version: MODEL_SCHEMA.version,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        fitted_at: Utc::now(),
        training_start: ts(start),
        training_end: ts(until),
        history_days,
        config: cfg.clone(),
        series,
        principals,
        groups,
        jobs,
    })
}

fn ts(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default()
}

pub(crate) fn fit_principals(
    roll: &Rollup,
    catalog: &Catalog,
    start: i64,
    hours: usize,
) -> Vec<PrincipalModel> {
    type PKey = (String, String);
    let mut iam: HashMap<PKey, Vec<f64>> = HashMap::new();
    let mut prov: HashMap<PKey, Vec<f64>> = HashMap::new();
    let n5 = hours * 12;
    let mut iam5: HashMap<PKey, Vec<f64>> = HashMap::new();
    let mut prov5: HashMap<PKey, Vec<f64>> = HashMap::new();
    let mut errs: HashMap<PKey, Vec<f64>> = HashMap::new();
    let mut errs5: HashMap<PKey, Vec<f64>> = HashMap::new();
    let mut codes: HashMap<PKey, HashMap<String, u64>> = HashMap::new();
    // Every failure: (principal, "api code", bucket, calls, network, tool), split into routine
    // and not once the principal's habits and routine pairs are known.
    type Failure = (PKey, String, i64, f64, Rc<str>, Rc<str>);
    let mut failures: Vec<Failure> = Vec::new();
    let mut calls: HashMap<PKey, Vec<f64>> = HashMap::new();
    // All calls per 5 minutes, sparse: most principals are idle most of the time.
    let mut calls5: HashMap<PKey, HashMap<i64, f64>> = HashMap::new();
    let mut habits: HashMap<PKey, habits::HabitsBuilder> = HashMap::new();
    let mut folder = habits::Folder::default();
    let mut apis: HashMap<PKey, BTreeSet<String>> = HashMap::new();
    let mut regions: HashMap<PKey, BTreeSet<String>> = HashMap::new();
    for (k, a) in &roll.apis {
        let is_iam =
            !k.read_only && catalog.is(Category::IamChange, &k.event_source, &k.event_name);
        let is_prov =
            !k.read_only && catalog.is(Category::Provisioning, &k.event_source, &k.event_name);
        let api = api_name(&k.event_source, &k.event_name);
        let watched = catalog.is(Category::Sensitive, &k.event_source, &k.event_name)
            || catalog.is(Category::Provisioning, &k.event_source, &k.event_name);
        for (dk, dv) in &a.detail {
            let pk = (k.account.clone(), dk.principal.clone());
            let c = f64::from(dv.count);
            hourly_from(&mut calls, pk.clone(), dk.bucket, start, hours, c);
            if dk.bucket >= start && dk.bucket < start + (n5 as i64) * BUCKET_SECS {
                *calls5
                    .entry(pk.clone())
                    .or_default()
                    .entry((dk.bucket - start) / BUCKET_SECS)
                    .or_default() += c;
                let (network, agent) =
                    (folder.network(&dk.source_ip), folder.agent(&dk.user_agent));
                let h = habits.entry(pk.clone()).or_default();
                h.add(dk.bucket.div_euclid(86_400), &network, &agent);
                if watched {
                    h.action(dk.bucket.div_euclid(86_400), &api);
                }
            }
            if is_iam {
                hourly_from(&mut iam, pk.clone(), dk.bucket, start, hours, c);
                bucket_from(&mut iam5, pk.clone(), dk.bucket, start, n5, c);
            }
            if is_prov {
                hourly_from(&mut prov, pk.clone(), dk.bucket, start, hours, c);
                bucket_from(&mut prov5, pk.clone(), dk.bucket, start, n5, c);
            }
            if let Some(code) = &dk.error_code {
                // An answer that a configuration is not set is not a failure (as the detector
                // sees it).
                if !absent_configuration(code) {
                    failures.push((
                        pk.clone(),
                        routine_key(&api, code),
                        dk.bucket,
                        c,
                        folder.network(&dk.source_ip),
                        folder.agent(&dk.user_agent),
                    ));
                }
                *codes
                    .entry(pk.clone())
                    .or_default()
                    .entry(code.clone())
                    .or_default() += u64::from(dv.count);
            }
            if !regions.get(&pk).is_some_and(|r| r.contains(&k.region)) {
                regions
                    .entry(pk.clone())
                    .or_default()
                    .insert(k.region.clone());
            }
            apis.entry(pk).or_default().insert(api.clone());
        }
    }
    let mut habits: HashMap<PKey, Habits> =
        habits.into_iter().map(|(pk, h)| (pk, h.finish())).collect();
    // Failures from a network or a tool that is not among the principal's habits (a leaked
    // key's enumeration from an address used on one day) are no part of its routine and no
    // precedent: last week's incident does not make this week's normal.
    let habitual = |pk: &PKey, network: &str, agent: &str| {
        habits.get(pk).is_none_or(|h| h.habitual(network, agent))
    };
    // (principal, "api code") → the training days it failed on, from its habitual places.
    let mut pair_days: HashMap<PKey, HashMap<String, BTreeSet<i64>>> = HashMap::new();
    for (pk, pair, bucket, _, network, agent) in &failures {
        if habitual(pk, network, agent) {
            pair_days
                .entry(pk.clone())
                .or_default()
                .entry(pair.clone())
                .or_default()
                .insert(bucket.div_euclid(86_400));
        }
    }
    // Routine failures (pairs failing on most days) leave the error series the detector scans,
    // so they leave its history too: a principal whose job fails 500 times a day on schedule has
    // no history of *other* failures, and an enumeration by it is measured against that.
    // Routine pair → the first day it failed.
    let routine: HashMap<PKey, BTreeMap<String, i64>> = pair_days
        .into_iter()
        .map(|(pk, m)| {
            let set = m
                .into_iter()
                .filter(|(_, d)| d.len() >= ROUTINE_ERROR_DAYS)
                .filter_map(|(k, d)| Some((k, *d.first()?)))
                .collect();
            (pk, set)
        })
        .collect();
    for (pk, pair, bucket, c, network, agent) in failures {
        if !habitual(&pk, &network, &agent) {
            continue;
        }
        // On the day a routine pair first failed it was new: a scanner whose weekly sweep
        // fails on a few new APIs each time has a history of bursts of new failures, which its
        // burst history keeps (the seasonal profile, which sets what a normal hour expects,
        // does not).
        match routine.get(&pk).and_then(|r| r.get(&pair)) {
            Some(&first) if first != bucket.div_euclid(86_400) => continue,
            Some(_) => {}
            None => hourly_from(&mut errs, pk.clone(), bucket, start, hours, c),
        }
        bucket_from(&mut errs5, pk, bucket, start, n5, c);
    }
    let mut routine: HashMap<PKey, BTreeSet<String>> = routine
        .into_iter()
        .map(|(pk, m)| (pk, m.into_keys().collect()))
        .collect();
    let zeros = vec![0.0; hours];
    let mut out: Vec<PrincipalModel> = calls
        .into_iter()
        .map(|(pk, c)| {
            let i = iam.get(&pk).unwrap_or(&zeros);
            let e = errs.get(&pk).unwrap_or(&zeros);
            let (iam_writes, _) = fit_hourly(i, start);
            let pv = prov.get(&pk).unwrap_or(&zeros);
            let (provisioning, _) = fit_hourly(pv, start);
            let (errors, error_alpha) = fit_hourly(e, start);
            let all_errors: u64 = codes.get(&pk).map_or(0, |m| m.values().sum());
            PrincipalModel {
                iam_total: i.iter().sum::<f64>() as u64,
                provisioning,
                provisioning_total: pv.iter().sum::<f64>() as u64,
                provisioning_burst: prov5
                    .get(&pk)
                    .map(|v| Bursts::of(v, start))
                    .unwrap_or_default(),
                iam_burst: iam5
                    .get(&pk)
                    .map(|v| Bursts::of(v, start))
                    .unwrap_or_default(),
                error_burst: errs5
                    .get(&pk)
                    .map(|v| Bursts::of(v, start))
                    .unwrap_or_default(),
                error_codes: codes
                    .remove(&pk)
                    .map(|m| {
                        let mut v: Vec<(String, u64)> = m.into_iter().collect();
                        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                        v.truncate(TOP_N);
                        v
                    })
                    .unwrap_or_default(),
                routine_errors: routine.remove(&pk).unwrap_or_default(),
                error_total: all_errors,
                calls_total: c.iter().sum::<f64>() as u64,
                active_hours: c.iter().filter(|&&x| x > 0.0).count() as u32,
                call_burst: calls5
                    .remove(&pk)
                    .map(|m| {
                        let mut dense = vec![0.0; n5];
                        for (i, c) in m {
                            dense[i as usize] += c;
                        }
                        Bursts::of(&dense, start)
                    })
                    .unwrap_or_default(),
                habits: habits.remove(&pk).unwrap_or_default(),
                apis: apis.remove(&pk).unwrap_or_default(),
                regions: regions.remove(&pk).unwrap_or_default(),
                iam_writes,
                errors,
                error_alpha,
                account: pk.0,
                principal: pk.1,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.account, &a.principal).cmp(&(&b.account, &b.principal)));
    out
}

impl Baselines {
    /// Baselines that know nothing yet, for a training window: every series and principal is
    /// new. Detectors then fall back to their priors.
    pub fn empty(training_start: i64, training_end: i64) -> Baselines {
        Baselines {
            format: MODEL_SCHEMA.format.into(),
            schema_version: MODEL_SCHEMA.version,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            fitted_at: ts(training_end),
            training_start: ts(training_start),
            training_end: ts(training_end),
            history_days: ((training_end - training_start) / 86_400) as u32,
            config: BaselineConfig::default(),
            series: Vec::new(),
            principals: Vec::new(),
            groups: Vec::new(),
            jobs: Vec::new(),
        }
    }

    /// Writes them atomically to the state's models; returns the file.
    pub fn save(&self, state: &StateDir) -> Result<PathBuf, BaselineError> {
        state.write_json(StateFile::Baselines, self, false)?;
        Ok(state.path(StateFile::Baselines))
    }

    /// Loads them, refusing an incompatible version with a clear error.
    pub fn load(state: &StateDir) -> Result<Baselines, BaselineError> {
        state
            .read_versioned(StateFile::Baselines, MODEL_SCHEMA)?
            .ok_or_else(|| BaselineError::Missing(state.path(StateFile::Baselines)))
    }

    /// Index of series models by key.
    pub fn series_index(&self) -> HashMap<&ApiKey, &SeriesModel> {
        self.series.iter().map(|s| (&s.key, s)).collect()
    }

    /// Index of principal models by (account, principal).
    pub fn principal_index(&self) -> BTreeMap<(&str, &str), &PrincipalModel> {
        self.principals
            .iter()
            .map(|p| ((p.account.as_str(), p.principal.as_str()), p))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two days of 5-minute buckets from a midnight.
    const DAYS2: usize = 2 * 288;

    #[test]
    fn lulls_tell_a_sweeper_from_a_stream() {
        let busy = |_: usize| true;
        // A stream: two calls every five minutes, never quiet.
        let stream = vec![2.0; DAYS2];
        let exp = vec![2.0; DAYS2];
        let l = Lulls::of(&stream, &exp, busy);
        assert_eq!(l.days, 2);
        assert!(l.daily_min[0].iter().all(|m| (m - 1.0).abs() < 1e-9));
        assert_eq!(l.days_below(12, 0.1), 0);
        // A sweeper: 24 calls once every 80 minutes, the same volume on average.
        let mut sweep = vec![0.0; DAYS2];
        for i in (0..DAYS2).step_by(16) {
            sweep[i] = 32.0;
        }
        let l = Lulls::of(&sweep, &exp, busy);
        // Every day has an empty hour: its silences are routine.
        assert_eq!(l.days_below(12, 0.1), 2);
        // Windows outside reliably busy hours do not count.
        let none = Lulls::of(&sweep, &exp, |_| false);
        assert_eq!(none.days_below(12, 0.1), 0);
    }

    #[test]
    fn density_is_the_share_of_filled_buckets_in_busy_hours() {
        let presence = vec![1.0; 24];
        assert_eq!(density(&vec![1.0; 288], &presence, 0), 1.0);
        let mut sweep = vec![0.0; 288];
        for i in (0..288).step_by(12) {
            sweep[i] = 20.0;
        }
        assert!((density(&sweep, &presence, 0) - 1.0 / 12.0).abs() < 1e-9);
        // No busy hour: nothing to measure.
        assert_eq!(density(&vec![1.0; 288], &[0.0; 24], 0), 0.0);
    }

    #[test]
    fn calibration_ignores_a_single_precedent_but_not_two() {
        use crate::detect::calibrate::{days_of_precedent, score};
        let tests = 1152.0;
        assert_eq!(
            score(1e-30, tests, days_of_precedent(1), 28),
            score(1e-30, tests, days_of_precedent(0), 28)
        );
        assert!(score(1e-30, tests, days_of_precedent(2), 28) < 60.0);
    }
}
