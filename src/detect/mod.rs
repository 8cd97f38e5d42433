//! Detectors: pure functions of rollups, baselines and config that return findings.
//!
//! Every detector implements [`Detector`]: it receives a read-only [`DetectInput`] (the
//! detection window's 5-minute call series and detail rollups, the fitted baselines, the API
//! catalog) and returns [`Finding`]s. No I/O, no printing, no global state — so each one is
//! tested on hand-built series.

mod attribution;
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

pub use errors::ErrorRate;
pub use iam::IamBurst;
pub use maintenance::MaintenanceGap;
pub use provisioning::ProvisioningSpike;
pub use rare::RareAction;
pub use rate::{CallRateDrop, CallRateSpike};

/// A score threshold in [0, 100]; refuses anything else when the config is read.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Threshold(f64);

impl Threshold {
    /// A threshold, if `v` is within [0, 100].
    pub fn new(v: f64) -> Result<Threshold, String> {
        if (0.0..=100.0).contains(&v) {
            Ok(Threshold(v))
        } else {
            Err(format!("{v} is not a score threshold (allowed 0 to 100)"))
        }
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Threshold::new(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A ratio ≥ 1 (how many times the expected count a spike must reach).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Ratio(f64);

impl Ratio {
    /// A ratio, if `v` is finite and within [1, 1000].
    pub fn new(v: f64) -> Result<Ratio, String> {
        if (1.0..=1000.0).contains(&v) {
            Ok(Ratio(v))
        } else {
            Err(format!("{v} is not a ratio (allowed 1 to 1000)"))
        }
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ratio::new(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
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

/// One detector.
pub trait Detector: Send + Sync {
    /// The kinds of finding it produces.
    fn kinds(&self) -> &'static [FindingKind];
    /// Runs over the input.
    fn detect(&self, input: &DetectInput<'_>) -> Vec<Finding>;
}

/// Settings of every detector; part of the config file (`[detectors.*]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// `call_rate_spike`.
    pub call_rate_spike: rate::SpikeConfig,
    /// `call_rate_drop`.
    pub call_rate_drop: rate::DropConfig,
    /// `error_rate`.
    pub error_rate: errors::ErrorConfig,
    /// `provisioning_spike`.
    pub provisioning_spike: provisioning::ProvisioningConfig,
    /// `iam_burst`.
    pub iam_burst: iam::IamConfig,
    /// `maintenance_gap`.
    pub maintenance_gap: maintenance::MaintenanceConfig,
    /// `rare_action`.
    pub rare_action: rare::RareConfig,
}

pub use errors::ErrorConfig;
pub use iam::IamConfig;
pub use maintenance::MaintenanceConfig;
pub use provisioning::ProvisioningConfig;
pub use rare::RareConfig;
pub use rate::{DropConfig, SpikeConfig};

impl DetectConfig {
    /// The enabled detectors.
    pub fn detectors(&self) -> Vec<Box<dyn Detector>> {
        let mut v: Vec<Box<dyn Detector>> = Vec::new();
        if self.call_rate_spike.enabled {
            v.push(Box::new(CallRateSpike(self.call_rate_spike.clone())));
        }
        if self.call_rate_drop.enabled {
            v.push(Box::new(CallRateDrop(self.call_rate_drop.clone())));
        }
        if self.error_rate.enabled {
            v.push(Box::new(ErrorRate(self.error_rate.clone())));
        }
        if self.provisioning_spike.enabled {
            v.push(Box::new(ProvisioningSpike(self.provisioning_spike.clone())));
        }
        if self.iam_burst.enabled {
            v.push(Box::new(IamBurst(self.iam_burst.clone())));
        }
        if self.maintenance_gap.enabled {
            v.push(Box::new(MaintenanceGap(self.maintenance_gap.clone())));
        }
        if self.rare_action.enabled {
            v.push(Box::new(RareAction(self.rare_action.clone())));
        }
        v
    }
}

/// The settings every detector has, looked up by the kind of finding it reports.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    /// The detector runs.
    pub enabled: bool,
    /// Its findings go to the shadow section.
    pub shadow: bool,
    /// Its own lowest score.
    pub min_score: Threshold,
    /// Its per-target settings.
    pub overrides: &'a crate::policy::Overrides,
}

/// Expands `$body` with `$c` bound to the config struct of the detector reporting `$kind`.
macro_rules! by_kind {
    ($self:expr, $kind:expr, |$c:ident| $body:expr) => {
        match $kind {
            FindingKind::CallRateSpike => {
                let $c = &mut $self.call_rate_spike;
                $body
            }
            FindingKind::CallRateDrop => {
                let $c = &mut $self.call_rate_drop;
                $body
            }
            FindingKind::ErrorRate => {
                let $c = &mut $self.error_rate;
                $body
            }
            FindingKind::ProvisioningSpike => {
                let $c = &mut $self.provisioning_spike;
                $body
            }
            FindingKind::IamBurst => {
                let $c = &mut $self.iam_burst;
                $body
            }
            FindingKind::MaintenanceGap => {
                let $c = &mut $self.maintenance_gap;
                $body
            }
            FindingKind::RareAction => {
                let $c = &mut $self.rare_action;
                $body
            }
        }
    };
}

impl DetectConfig {
    /// The shared settings of the detector that reports `kind` (each detector reports one kind).
    pub fn common(&self, kind: FindingKind) -> Common<'_> {
        macro_rules! common {
            ($c:expr) => {
                Common {
                    enabled: $c.enabled,
                    shadow: $c.shadow,
                    min_score: $c.min_score,
                    overrides: &$c.overrides,
                }
            };
        }
        match kind {
            FindingKind::CallRateSpike => common!(self.call_rate_spike),
            FindingKind::CallRateDrop => common!(self.call_rate_drop),
            FindingKind::ErrorRate => common!(self.error_rate),
            FindingKind::ProvisioningSpike => common!(self.provisioning_spike),
            FindingKind::IamBurst => common!(self.iam_burst),
            FindingKind::MaintenanceGap => common!(self.maintenance_gap),
            FindingKind::RareAction => common!(self.rare_action),
        }
    }

    /// The `min_score` of the detector that reports `kind`.
    pub fn min_score_mut(&mut self, kind: FindingKind) -> &mut Threshold {
        by_kind!(self, kind, |c| &mut c.min_score)
    }

    /// Switches the detector that reports `kind` on or off.
    pub fn set_enabled(&mut self, kind: FindingKind, on: bool) {
        by_kind!(self, kind, |c| c.enabled = on)
    }

    /// These settings with only the detector reporting `kind` enabled.
    pub fn only(&self, kind: FindingKind) -> DetectConfig {
        let mut c = self.clone();
        for k in FindingKind::ALL {
            c.set_enabled(k, k == kind);
        }
        c
    }
}

/// Runs every enabled detector (in parallel) and returns the findings sorted by score.
pub fn run_all(cfg: &DetectConfig, input: &DetectInput<'_>) -> Vec<Finding> {
    use rayon::prelude::*;
    let detectors = cfg.detectors();
    let mut all: Vec<Finding> = detectors.par_iter().flat_map(|d| d.detect(input)).collect();
    crate::finding::sort_findings(&mut all);
    all
}

#[cfg(test)]
mod tests;
