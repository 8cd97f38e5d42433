//! The stages chained for one detection run, as a library function the CLI, the evaluation
//! harness and the benches share: read the window's rollups, build the detector input, run
//! the detectors.

use crate::baseline::Baselines;
use crate::catalog::Catalog;
use crate::detect::{self, DetectConfig, DetectInput, Holes};
use crate::finding::Finding;
use crate::rollup::{Resolution, Store, StoreError, TimeRange};

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

/// Runs every enabled detector over `[window.start, window.end)`.
pub fn detect(
    store: &Store,
    baselines: &Baselines,
    catalog: &Catalog,
    cfg: &DetectConfig,
    window: TimeRange,
) -> Result<Detection, StoreError> {
    let window = TimeRange {
        start: window.start.div_euclid(300) * 300,
        end: window.end.div_euclid(300) * 300,
    };
    let series = store.series(window, Resolution::FiveMinutes)?;
    let detail = store.detail_rollup(window)?;
    let holes = Holes::from_series(&series, window.start);
    let input = DetectInput {
        window,
        series: &series,
        detail: &detail,
        baselines,
        catalog,
        holes: &holes,
    };
    let findings = detect::run_all(cfg, &input);
    let events = series
        .iter()
        .flat_map(|s| s.calls.iter())
        .map(|&c| u64::from(c))
        .sum();
    Ok(Detection {
        window,
        findings,
        silent_hours: holes.silent_hours(),
        series: series.len(),
        events,
    })
}
