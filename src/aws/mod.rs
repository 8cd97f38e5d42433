//! Live AWS sources: a trail's S3 bucket (`s3://bucket[/prefix]`), the 90-day event history
//! (`cloudtrail://[region]`, LookupEvents) and AWS's own Insights events (`aws-insights`).
//!
//! Credentials come from the AWS SDK's standard chain (environment, shared config and profiles,
//! SSO, web identity, ECS/instance metadata, `credential_process`). The async SDK runs on a
//! private tokio runtime created per call; everything outside this module stays synchronous.
//! Object bodies and history pages are fetched a batch at a time into memory and handed to the
//! same record parser as local files ([`crate::ingest::ingest_from`]); what was processed is
//! remembered under `<state>/sources/` only after the rollup commit that holds it succeeded.

#[cfg(feature = "full")]
mod errors;
#[cfg(feature = "full")]
mod history;
pub mod insights;
#[cfg(feature = "full")]
mod limiter;
#[cfg(feature = "full")]
mod s3;

#[cfg(feature = "full")]
use std::time::Duration;

#[cfg(feature = "full")]
use serde::{de::DeserializeOwned, Serialize};

#[cfg(feature = "full")]
use crate::ingest::{merge_summary, IngestError, IngestOptions, IngestSummary, Input};
#[cfg(feature = "full")]
use crate::rollup::Store;
#[cfg(feature = "full")]
use crate::state::{StateDir, StateFile};

#[cfg(feature = "full")]
pub use errors::AwsError;

/// How far back a source with no saved progress starts when `--since` is not given: enough
/// for a 28-day baseline and a week to check.
#[cfg(feature = "full")]
pub const DEFAULT_FIRST_RUN_DAYS: i64 = 35;
/// LookupEvents serves the last 90 days only.
#[cfg(feature = "full")]
pub const HISTORY_DAYS: i64 = 90;

/// How to reach AWS, and which period to read.
#[cfg(feature = "full")]
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// Named profile from the shared config (`--profile`); the default chain otherwise.
    pub profile: Option<String>,
    /// Region for clients (`--region`); from the environment or profile otherwise.
    pub region: Option<String>,
    /// Endpoint URL for S3-compatible stores and tests (`--endpoint-url`).
    pub endpoint_url: Option<String>,
    /// Start of the period (epoch seconds); by default where the last run stopped, or
    /// [`DEFAULT_FIRST_RUN_DAYS`] ago on a first run.
    pub since: Option<i64>,
    /// End of the period (epoch seconds, exclusive); now by default.
    pub until: Option<i64>,
    /// Downloads in flight at once.
    pub concurrency: usize,
    /// Objects larger than this are downloaded to a temporary file (under `TMPDIR`) instead of
    /// memory, so 16 downloads of large objects cost disk, not memory.
    pub spool_bytes: u64,
    /// LookupEvents requests per second per account and region (AWS documents 2).
    pub history_rate: f64,
    /// Attempts per request, with exponential backoff, for throttling and transient errors.
    pub max_attempts: u32,
    /// First retry backoff.
    pub initial_backoff: Duration,
}

#[cfg(feature = "full")]
impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            profile: None,
            region: None,
            endpoint_url: None,
            since: None,
            until: None,
            concurrency: 16,
            spool_bytes: 8 << 20,
            history_rate: 2.0,
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
        }
    }
}

/// Reads the remote inputs (`s3://`, `cloudtrail://`) into `store`, one after the other, each
/// committed as it is read; the summaries are added up. Local inputs are ingest's own and are
/// refused here.
#[cfg(feature = "full")]
pub fn ingest_remote(
    store: &mut Store,
    inputs: &[Input],
    opts: &IngestOptions,
    aws: &AwsOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<IngestSummary, IngestError> {
    let mut total = IngestSummary::default();
    if inputs.is_empty() {
        return Ok(total);
    }
    let rt = runtime().map_err(|e| IngestError::Source(Box::new(e)))?;
    for input in inputs {
        let s = match input {
            Input::S3 { bucket, prefix } => {
                s3::ingest_bucket(&rt, store, bucket, prefix, opts, aws, progress)
            }
            Input::History { region } => {
                history::ingest_history(&rt, store, region.as_deref(), opts, aws, progress)
            }
            Input::Local(p) => Err(IngestError::NoInput(format!(
                "{}: a local path is not a remote source",
                p.display()
            ))),
        }?;
        merge_summary(&mut total, s, opts.max_listed_problems);
    }
    Ok(total)
}

/// A small runtime: the work is network-bound, parsing happens on rayon's threads.
#[cfg(feature = "full")]
fn runtime() -> Result<tokio::runtime::Runtime, AwsError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| AwsError::Runtime(e.to_string()))
}

/// The SDK config from the standard chain, with our TLS stack and retry policy.
#[cfg(feature = "full")]
async fn sdk_config(aws: &AwsOptions, region: Option<&str>) -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let retry = aws_config::retry::RetryConfig::standard()
        .with_max_attempts(aws.max_attempts.max(1))
        .with_initial_backoff(aws.initial_backoff);
    let mut l = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry);
    if let Some(p) = &aws.profile {
        l = l.profile_name(p);
    }
    if let Some(r) = region.or(aws.region.as_deref()) {
        l = l.region(aws_config::Region::new(r.to_string()));
    }
    if let Some(e) = &aws.endpoint_url {
        l = l.endpoint_url(e);
    }
    l.load().await
}

/// A remote source's progress file (`sources/…`); empty when there is none yet.
#[cfg(feature = "full")]
fn load_json<T: DeserializeOwned + Default>(
    state: &StateDir,
    file: StateFile,
) -> Result<T, AwsError> {
    Ok(state.read_json(file)?.unwrap_or_default())
}

#[cfg(feature = "full")]
fn save_json<T: Serialize>(state: &StateDir, file: StateFile, v: &T) -> Result<(), AwsError> {
    Ok(state.write_json(file, v, true)?)
}

#[cfg(feature = "full")]
fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}
