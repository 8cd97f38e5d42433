//! The stages chained for one detection run, as a library function the CLI, the evaluation
//! harness and the benches share: read the window's rollups, build the detector input, run
//! the detectors.

use crate::baseline::Baselines;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::detect::{self, DetectConfig, DetectInput, Holes};
use crate::finding::Finding;
use crate::policy::{self, Triage};
use crate::rollup::{Resolution, Store, StoreError};
use crate::time::TimeRange;

/// What a detection run produced, with the data-quality facts the report shows.
#[derive(Debug, Clone)]
pub struct Detection {
    /// The window, aligned to 5 minutes.
    pub window: TimeRange,
    /// Findings, sorted by score.
    pub findings: Vec<Finding>,
    /// Hours in which an account/region delivered nothing.
    pub silent_hours: Vec<(String, String, i64)>,
    /// Call series examined.
    pub series: usize,
    /// Events in the window.
    pub events: u64,
}

/// A window's rollups read once, for running detection on them several times (`tune`).
#[derive(Debug, Clone)]
pub struct Prepared {
    window: TimeRange,
    series: Vec<crate::rollup::CountSeries>,
    detail: crate::rollup::Rollup,
    holes: Holes,
}

impl Prepared {
    /// Reads `[window.start, window.end)`, aligned to 5 minutes.
    pub fn load(store: &Store, window: TimeRange) -> Result<Prepared, StoreError> {
        let window = window.aligned();
        let series = store.series(window, Resolution::FiveMinutes)?;
        let detail = store.detail_rollup(window)?;
        let holes = Holes::from_series(&series, window.start);
        Ok(Prepared {
            window,
            series,
            detail,
            holes,
        })
    }

    /// The aligned window.
    pub fn window(&self) -> TimeRange {
        self.window
    }

    /// Runs every enabled detector of `cfg`.
    pub fn run(&self, baselines: &Baselines, catalog: &Catalog, cfg: &DetectConfig) -> Detection {
        let input = DetectInput {
            window: self.window,
            series: &self.series,
            detail: &self.detail,
            baselines,
            catalog,
            holes: &self.holes,
        };
        let findings = detect::run_all(cfg, &input);
        let events = self
            .series
            .iter()
            .flat_map(|s| s.calls.iter())
            .map(|&c| u64::from(c))
            .sum();
        Detection {
            window: self.window,
            findings,
            silent_hours: self.holes.silent_hours(),
            series: self.series.len(),
            events,
        }
    }

    /// Runs the detectors as the config file says: with overrides honoured, then suppression
    /// rules and shadow mode applied ([`crate::policy`]).
    pub fn run_triaged(&self, baselines: &Baselines, cfg: &Config) -> (Detection, Triage) {
        let catalog = cfg.catalog();
        let mut d = self.run(baselines, &catalog, &policy::lowered(&cfg.detectors));
        let t = policy::triage(
            std::mem::take(&mut d.findings),
            &cfg.detectors,
            &cfg.suppress,
            &catalog,
        );
        d.findings = t.active.clone();
        (d, t)
    }
}

/// Runs every enabled detector over `[window.start, window.end)`.
pub fn detect(
    store: &Store,
    baselines: &Baselines,
    catalog: &Catalog,
    cfg: &DetectConfig,
    window: TimeRange,
) -> Result<Detection, StoreError> {
    Ok(Prepared::load(store, window)?.run(baselines, catalog, cfg))
}
