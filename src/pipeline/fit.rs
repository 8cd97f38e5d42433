//! Fitting baselines as a use case: on the history before a point in time, stored in the state.

use super::PipelineError;
use crate::baseline::{self, Baselines};
use crate::config::Config;
use crate::rollup::Store;
use crate::state::StateDir;

/// Fits baselines on the training window ending at `until` and saves them in the state.
pub fn fit(state: &StateDir, cfg: &Config, until: i64) -> Result<Baselines, PipelineError> {
    let store = Store::open(state)?;
    fit_store(&store, cfg, until)
}

/// [`fit`] on an opened store.
pub fn fit_store(store: &Store, cfg: &Config, until: i64) -> Result<Baselines, PipelineError> {
    let b = baseline::fit(store, &cfg.catalog(), &cfg.baseline, until)?;
    b.save(store.state())?;
    tracing::info!(
        series = b.series.len(),
        principals = b.principals.len(),
        jobs = b.jobs.len(),
        "baselines fitted"
    );
    Ok(b)
}

/// The default end of a training window: the start of the last stored day, so that day can be
/// checked against baselines that never saw it.
pub fn default_until(store: &Store) -> Result<i64, PipelineError> {
    Ok(super::detect::last_day(store)?.start)
}
