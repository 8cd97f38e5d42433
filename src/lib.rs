//! # trailsight
//!
//! CloudTrail-Insights-style anomaly detection on your own CloudTrail logs.
//!
//! The pipeline, one module per stage; each stage reads the previous stage's types and
//! nothing reaches back:
//!
//! ```text
//!  logs (S3 trees, .json.gz, JSON Lines, LookupEvents output)
//!    │  ingest   — find files, inflate, split records, parse, classify, dedup by eventID
//!    ▼
//!  event        — the domain vocabulary: Event, EventClass, principal rules
//!    │  rollup   — per-minute call/error counts and per-principal detail, Parquet per UTC day,
//!    ▼             committed atomically through one manifest; read back as DataFrames/series
//!  baseline models → detectors → findings → report (charts and one self-contained HTML page)
//! ```
//!
//! `simulate` writes realistic synthetic trails with labelled incidents for the demo, the tests
//! and fire drills. `app` wires stages together for the CLI; `cli` is its one parse.

pub mod app;
pub mod aws;
pub mod baseline;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod detect;
pub mod event;
pub mod finding;
pub mod ingest;
pub mod pipeline;
pub mod policy;
pub mod report;
pub mod rollup;
pub mod simulate;
pub mod state;
#[doc(hidden)]
pub mod testing;
pub mod time;
