//! Rollups: the compact tables every later stage reads instead of raw logs.
//!
//! Two Parquet tables per UTC day, written through polars:
//! - `calls`: per (account, region, event_source, event_name, read_only, minute) the calls and
//!   errors;
//! - `detail`: per API, 5-minute bucket, principal, principal type, user agent, source IP and
//!   error code, the calls and one example event (smallest eventID, its session ARN and key id).
//!
//! plus the day's set of eventID fingerprints, so re-ingesting never double-counts. Which
//! files make up the state is recorded in one manifest that is swapped atomically (see [`store`]).

pub mod agg;
mod series;
#[cfg(feature = "full")]
pub mod store;
#[cfg(feature = "full")]
mod table;

pub use agg::{ApiKey, Counts, DetailKey, DetailVal, Rollup};
pub use series::{CountSeries, Resolution};
#[cfg(feature = "full")]
pub use store::{Manifest, Store, StoreError};
#[cfg(feature = "full")]
pub use table::col;
