//! The integration suite: the library API and the CLI end to end on small fixtures.

mod architecture;
mod aws_history;
mod aws_s3;
mod cli;
mod fuzz_regressions;
mod ingest;
mod nightly;
mod report;
mod schedule;
mod stratus;
mod support;
mod tune;
