//! # trailsight
//!
//! CloudTrail-Insights-style anomaly detection on your own CloudTrail logs.
//!
//! The pipeline, one module per stage; each stage reads the previous stage's types and
//! nothing reaches back (ARCHITECTURE.md has the code map and the rules):
//!
//! ```text
//!  logs (S3 trees, .json.gz, JSON Lines, s3://, cloudtrail://)
//!    │  ingest   — find files, inflate, split records, parse, classify, dedup by eventID
//!    ▼
//!  rollup       — per-minute call/error counts and per-principal detail, Parquet per UTC day,
//!    │            committed atomically through one manifest in the state directory (state)
//!    ▼
//!  baseline models → detect (pure detectors) → policy (thresholds, suppressions, shadow)
//!    → finding (findings.jsonl, Insights format) → report (charts and one HTML page)
//! ```
//!
//! [`pipeline`] holds the use cases as library functions (ingest, fit, detect, report, the
//! nightly run, tune, eval); [`app`] is the command line's parse → call → print, [`cli`] its
//! one parse. [`simulate`] writes realistic synthetic trails with labelled incidents for the
//! demo, the tests and fire drills.

// Without the `full` feature only the light half is built (no polars, AWS SDK, plotters): what
// the fuzz targets need. Cargo.toml lists the feature's dependencies. The fitting helpers that
// only `baseline::fit` calls are then unused.
#![cfg_attr(not(feature = "full"), allow(dead_code, unused_imports))]
#[cfg(feature = "full")]
pub mod app;
pub mod aws;
pub mod baseline;
pub mod catalog;
#[cfg(feature = "full")]
pub mod cli;
pub mod config;
pub mod detect;
pub mod event;
pub mod finding;
pub mod incident;
pub mod ingest;
#[cfg(feature = "full")]
pub mod pipeline;
pub mod policy;
#[cfg(feature = "full")]
pub mod report;
pub mod rollup;
pub mod simulate;
pub mod state;
#[doc(hidden)]
pub mod testing;
pub mod time;
