//! Live AWS sources: a trail's S3 bucket (`s3://bucket[/prefix]`), the 90-day event history
//! (`cloudtrail://[region]`, LookupEvents) and AWS's own Insights events (`aws-insights`).
//!
//! Credentials come from the AWS SDK's standard chain (environment, shared config and profiles,
//! SSO, web identity, ECS/instance metadata, `credential_process`). The async SDK runs on a
//! private tokio runtime created per call; everything outside this module stays synchronous.
//! Object bodies and history pages are fetched a batch at a time into memory and handed to the
//! same record parser as local files ([`crate::ingest::ingest_from`]); what was processed is
//! remembered under `<state>/sources/` only after the rollup commit that holds it succeeded.

mod errors;
mod history;
pub mod insights;
mod limiter;
mod s3;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};

use crate::ingest::{self, IngestError, IngestOptions, IngestSummary};
use crate::rollup::{store::write_atomic, Store};

pub use errors::AwsError;

/// How far back a source with no saved progress starts when `--since` is not given: enough
/// for a 28-day baseline and a week to check.
pub const DEFAULT_FIRST_RUN_DAYS: i64 = 35;
/// LookupEvents serves the last 90 days only.
pub const HISTORY_DAYS: i64 = 90;

/// One `ingest` input, parsed from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A local file or folder.
    Local(PathBuf),
    /// A trail's bucket; `prefix` is the trail's S3 key prefix (the part before `AWSLogs/`),
    /// empty for none, without a trailing slash.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix.
        prefix: String,
    },
    /// The CloudTrail event history (LookupEvents) of one region; `None` uses the region from
    /// `--region` or the AWS config.
    History {
        /// Region.
        region: Option<String>,
    },
}

impl FromStr for Input {
    type Err = String;

    fn from_str(s: &str) -> Result<Input, String> {
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!(
                    "{s:?}: no bucket name (expected s3://bucket[/prefix])"
                ));
            }
            let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c);
            if bucket.len() < 3 || bucket.len() > 63 || !bucket.chars().all(valid) {
                return Err(format!(
                    "{s:?}: {bucket:?} is not a valid S3 bucket name (3-63 lowercase letters, digits, '-', '.')"
                ));
            }
            return Ok(Input::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some(rest) = s.strip_prefix("cloudtrail://") {
            let region = rest.trim_matches('/');
            if !region.is_empty()
                && !region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(format!(
                    "{s:?}: {region:?} is not a region name (expected cloudtrail://[region], e.g. cloudtrail://us-east-1)"
                ));
            }
            return Ok(Input::History {
                region: (!region.is_empty()).then(|| region.to_string()),
            });
        }
        if s.contains("://") {
            return Err(format!(
                "{s:?}: unknown scheme (inputs are local paths, s3://bucket[/prefix] or cloudtrail://[region])"
            ));
        }
        Ok(Input::Local(PathBuf::from(s)))
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Local(p) => write!(f, "{}", p.display()),
            Input::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Input::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            Input::History { region } => {
                write!(f, "cloudtrail://{}", region.as_deref().unwrap_or(""))
            }
        }
    }
}

/// How to reach AWS, and which period to read.
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
    /// LookupEvents requests per second per account and region (AWS documents 2).
    pub history_rate: f64,
    /// Attempts per request, with exponential backoff, for throttling and transient errors.
    pub max_attempts: u32,
    /// First retry backoff.
    pub initial_backoff: Duration,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            profile: None,
            region: None,
            endpoint_url: None,
            since: None,
            until: None,
            concurrency: 16,
            history_rate: 2.0,
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
        }
    }
}

/// The ingest entry point for every kind of input: local paths are read as by
/// [`ingest::ingest_paths`], buckets and event histories are fetched; each input is committed
/// to `store` as it is read and the summaries are added up. The nightly `run` uses this too.
pub fn ingest_inputs(
    store: &mut Store,
    inputs: &[Input],
    opts: &IngestOptions,
    aws: &AwsOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<IngestSummary, IngestError> {
    let local: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::Local(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let mut total: Option<IngestSummary> = None;
    let mut add = |s: IngestSummary| match &mut total {
        Some(t) => merge_summary(t, s, opts.max_listed_problems),
        None => total = Some(s),
    };
    if !local.is_empty() {
        add(ingest::ingest_paths(store, &local, opts, progress)?);
    }
    let remote: Vec<&Input> = inputs
        .iter()
        .filter(|i| !matches!(i, Input::Local(_)))
        .collect();
    if !remote.is_empty() {
        let rt = runtime().map_err(|e| IngestError::Source(Box::new(e)))?;
        for input in remote {
            let s = match input {
                Input::S3 { bucket, prefix } => {
                    s3::ingest_bucket(&rt, store, bucket, prefix, opts, aws, progress)
                }
                Input::History { region } => {
                    history::ingest_history(&rt, store, region.as_deref(), opts, aws, progress)
                }
                Input::Local(_) => unreachable!("filtered above"),
            }?;
            add(s);
        }
    }
    Ok(total.unwrap_or_default())
}

/// Adds `o` into `t` (counts summed, lists merged and sorted).
pub fn merge_summary(t: &mut IngestSummary, o: IngestSummary, max_listed: usize) {
    t.files += o.files;
    t.input_bytes += o.input_bytes;
    t.records += o.records;
    t.management_events += o.management_events;
    t.skipped_non_management += o.skipped_non_management;
    t.skipped.data += o.skipped.data;
    t.skipped.insight += o.skipped.insight;
    t.skipped.network_activity += o.skipped.network_activity;
    t.duplicates += o.duplicates;
    t.bad_files += o.bad_files;
    t.bad_records += o.bad_records;
    t.first_event = [t.first_event.take(), o.first_event]
        .into_iter()
        .flatten()
        .min();
    t.last_event = [t.last_event.take(), o.last_event]
        .into_iter()
        .flatten()
        .max();
    for (a, b) in [
        (&mut t.accounts, o.accounts),
        (&mut t.regions, o.regions),
        (&mut t.days_updated, o.days_updated),
    ] {
        a.extend(b);
        a.sort();
        a.dedup();
    }
    t.problems.extend(o.problems);
    t.problems.sort();
    t.problems_not_listed += o.problems_not_listed;
    if t.problems.len() > max_listed {
        t.problems_not_listed += (t.problems.len() - max_listed) as u64;
        t.problems.truncate(max_listed);
    }
    t.seconds += o.seconds;
}

/// A small runtime: the work is network-bound, parsing happens on rayon's threads.
fn runtime() -> Result<tokio::runtime::Runtime, AwsError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| AwsError::Runtime(e.to_string()))
}

/// The SDK config from the standard chain, with our TLS stack and retry policy.
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

/// `<state>/sources/<name>`, where remote sources keep what they have processed.
fn source_state_path(state: &Path, name: &str) -> PathBuf {
    state.join("sources").join(name)
}

fn load_json<T: DeserializeOwned + Default>(path: &Path) -> Result<T, AwsError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| AwsError::State {
            path: path.to_path_buf(),
            reason: format!("unreadable ({e}); delete it to start over"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(AwsError::State {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

fn save_json<T: Serialize>(path: &Path, v: &T) -> Result<(), AwsError> {
    let fail = |reason: String| AwsError::State {
        path: path.to_path_buf(),
        reason,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    }
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| fail(e.to_string()))?;
    write_atomic(path, &bytes).map_err(|e| fail(e.to_string()))
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_inputs() {
        assert_eq!(
            "s3://my-trail/logs/".parse::<Input>().unwrap(),
            Input::S3 {
                bucket: "my-trail".into(),
                prefix: "logs".into()
            }
        );
        assert_eq!(
            "s3://my-trail".parse::<Input>().unwrap(),
            Input::S3 {
                bucket: "my-trail".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            "cloudtrail://eu-west-1".parse::<Input>().unwrap(),
            Input::History {
                region: Some("eu-west-1".into())
            }
        );
        assert_eq!(
            "cloudtrail://".parse::<Input>().unwrap(),
            Input::History { region: None }
        );
        assert_eq!(
            "./AWSLogs".parse::<Input>().unwrap(),
            Input::Local("./AWSLogs".into())
        );
        assert!("s3://".parse::<Input>().is_err());
        assert!("s3://Bad_Bucket/x".parse::<Input>().is_err());
        assert!("gs://bucket".parse::<Input>().is_err());
        assert!("cloudtrail://us east".parse::<Input>().is_err());
        for s in ["s3://b-1/p/q", "cloudtrail://us-east-1", "cloudtrail://"] {
            assert_eq!(s.parse::<Input>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn merges_summaries() {
        let mut a = IngestSummary {
            files: 2,
            accounts: vec!["1".into()],
            first_event: Some("2026-01-02T00:00:00Z".into()),
            ..Default::default()
        };
        let b = IngestSummary {
            files: 3,
            accounts: vec!["1".into(), "2".into()],
            first_event: Some("2026-01-01T00:00:00Z".into()),
            ..Default::default()
        };
        merge_summary(&mut a, b, 10);
        assert_eq!(a.files, 5);
        assert_eq!(a.accounts, vec!["1", "2"]);
        assert_eq!(a.first_event.as_deref(), Some("2026-01-01T00:00:00Z"));
    }
}
