//! Detectors: pure functions of rollups, baselines and config that return findings.
//!
//! Every detector implements [`Detector`]: it receives a read-only [`DetectInput`] (the
//! detection window's 5-minute call series and detail rollups, the fitted baselines, the API
//! catalog) and returns [`Finding`]s. No I/O, no printing, no global state — so each one is
//! tested on hand-built series.

mod attribution;
pub mod calibrate;
mod context;
mod errors;
mod iam;
mod maintenance;
mod provisioning;
mod rare;
mod rate;
mod scan;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::baseline::Baselines;
use crate::catalog::Catalog;
use crate::finding::{Finding, FindingKind};
use crate::rollup::{CountSeries, Rollup};
use crate::time::{TimeRange, BUCKET_SECS};

pub use errors::{ErrorConfig, ErrorRate};
pub use iam::{IamBurst, IamConfig};
pub use maintenance::{MaintenanceConfig, MaintenanceGap};
pub use provisioning::{ProvisioningConfig, ProvisioningSpike};
pub use rare::{RareAction, RareConfig};
pub use rate::{CallRateDrop, CallRateSpike, DropConfig, SpikeConfig};

/// A ratio ≥ 1 (how many times the expected count a spike must reach).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Ratio(f64);

/// A value that is not a ratio.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum RatioError {
    /// Outside [1, 1000] (or not a number).
    #[error("{0} is not a ratio (allowed 1 to 1000)")]
    OutOfRange(f64),
}

impl Ratio {
    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Ratio {
    type Error = RatioError;

    fn try_from(v: f64) -> Result<Ratio, RatioError> {
        if (1.0..=1000.0).contains(&v) {
            Ok(Ratio(v))
        } else {
            Err(RatioError::OutOfRange(v))
        }
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ratio::try_from(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A detector's parameters that cannot be used, named by their config key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DetectConfigError {
    /// Window lengths that are not multiples of 5 minutes up to a day.
    #[error("detectors.{detector}.windows_minutes = {value:?} (allowed: multiples of 5 from 5 to 1440, at least one)")]
    Windows {
        /// The detector.
        detector: &'static str,
        /// The lengths given.
        value: Vec<u32>,
    },
    /// A number outside its range.
    #[error("detectors.{detector}.{key} = {value} (allowed {allowed})")]
    OutOfRange {
        /// The detector.
        detector: &'static str,
        /// The key.
        key: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range.
        allowed: &'static str,
    },
}

/// Checks the window lengths of a detector's config.
fn check_windows(kind: FindingKind, w: &[u32]) -> Result<(), DetectConfigError> {
    if w.is_empty() || w.iter().any(|m| *m == 0 || m % 5 != 0 || *m > 1440) {
        return Err(DetectConfigError::Windows {
            detector: kind.as_str(),
            value: w.to_vec(),
        });
    }
    Ok(())
}

/// What every detector reads. Series are 5-minute, zero-filled, aligned to `window.start`.
#[derive(Debug, Clone, Copy)]
pub struct DetectInput<'a> {
    /// The detection window.
    pub window: TimeRange,
    /// 5-minute call series over the window.
    pub series: &'a [CountSeries],
    /// Detail rollups over the window.
    pub detail: &'a Rollup,
    /// Fitted baselines.
    pub baselines: &'a Baselines,
    /// API categories.
    pub catalog: &'a Catalog,
    /// 5-minute buckets in which an account/region delivered no event at all.
    pub holes: &'a Holes,
}

/// How much detail before a detection window the detectors get: two job tolerances, so a
/// periodic job whose run is checked in the window ([`crate::baseline::PeriodicJob::expected_runs`])
/// is seen even when it ran before the window began (a 01:30 job that started at 23:45).
/// Every other detector reads the window only.
pub const LOOKBACK_SECS: i64 = 2 * crate::baseline::jobs::JOB_TOLERANCE_MINUTES as i64 * 60;

/// Buckets with no logs at all, per (account, region): a delivery hole looks exactly like a
/// missed job or a drop, so detectors check it first.
#[derive(Debug, Clone, Default)]
pub struct Holes {
    start: i64,
    silent: BTreeMap<(String, String), Vec<bool>>,
}

impl Holes {
    /// From the window's 5-minute series: a bucket is silent when no series of the
    /// account/region has a call in it.
    pub fn from_series(series: &[CountSeries], start: i64) -> Holes {
        let mut silent: BTreeMap<(String, String), Vec<bool>> = BTreeMap::new();
        for s in series {
            let v = silent
                .entry((s.key.account.clone(), s.key.region.clone()))
                .or_insert_with(|| vec![true; s.calls.len()]);
            for (b, &c) in v.iter_mut().zip(&s.calls) {
                *b &= c == 0;
            }
        }
        Holes { start, silent }
    }

    /// Whether the account/region was silent for the whole of `[from, to)`.
    pub fn silent(&self, account: &str, region: &str, from: i64, to: i64) -> bool {
        let Some(v) = self.silent.get(&(account.to_string(), region.to_string())) else {
            return true;
        };
        let a = ((from - self.start).div_euclid(BUCKET_SECS)).max(0) as usize;
        let b = ((to - self.start + BUCKET_SECS - 1).div_euclid(BUCKET_SECS)).max(0) as usize;
        v.get(a..b.min(v.len()))
            .is_some_and(|s| !s.is_empty() && s.iter().all(|&x| x))
    }

    /// Hours (epoch seconds of their start) in which an account/region that normally logs
    /// delivered nothing: for the report's data-quality section.
    pub fn silent_hours(&self) -> Vec<(String, String, i64)> {
        let mut out = Vec::new();
        for ((a, r), v) in &self.silent {
            for (h, chunk) in v.chunks(12).enumerate() {
                if chunk.len() == 12 && chunk.iter().all(|&x| x) {
                    out.push((a.clone(), r.clone(), self.start + h as i64 * 3600));
                }
            }
        }
        out
    }
}

/// One detector: a pure function of its input. It reports one kind of finding and keeps
/// only windows scoring at least `floor`; what is then shown, hidden or alerted on is the
/// policy's decision ([`crate::policy`]), which also chooses the floor (its lowest threshold
/// for the kind).
pub trait Detector: Send + Sync {
    /// The kind of finding it produces.
    fn kind(&self) -> FindingKind;
    /// Days of history its evidence needs; with fewer it does not run (the warm-up).
    fn min_history_days(&self) -> u32;
    /// Runs over the input.
    fn detect(&self, input: &DetectInput<'_>, floor: f64) -> Vec<Finding>;
}

/// A detector's parameters as the config file gives them (`[detectors.<kind>]`, beside the
/// policy keys): serde with defaults, validated when the detector is built.
pub trait DetectorConfig:
    Clone + Default + PartialEq + std::fmt::Debug + Serialize + serde::de::DeserializeOwned
{
    /// The kind of finding the detector reports.
    const KIND: FindingKind;
    /// The lowest score its findings are reported at unless the config says otherwise.
    const DEFAULT_MIN_SCORE: f64;
    /// Checks the parameters and returns the runtime detector.
    fn build(&self) -> Result<Box<dyn Detector>, DetectConfigError>;
}

/// Runs `detectors` (in parallel), each with the floor `floor(kind)`, and returns the findings
/// in the findings order.
pub fn run_all(
    detectors: &[Box<dyn Detector>],
    input: &DetectInput<'_>,
    floor: &(dyn Fn(FindingKind) -> f64 + Sync),
) -> Vec<Finding> {
    use rayon::prelude::*;
    let history = input.baselines.history_days;
    let mut all: Vec<Finding> = detectors
        .par_iter()
        .filter(|d| history >= d.min_history_days())
        .flat_map(|d| d.detect(input, floor(d.kind())))
        .collect();
    crate::finding::sort_findings(&mut all);
    all
}

#[cfg(test)]
mod tests;
