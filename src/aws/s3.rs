//! `s3://bucket[/prefix]`: list the trail's delivery folders for the period, fetch new objects a
//! batch at a time with bounded concurrency, parse them like local files, and remember each
//! processed key with its ETag (`<state>/sources/s3.json`) once its batch is committed.
//!
//! Layout: `<prefix>/AWSLogs/[o-xxx/]<acct>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz`.
//! Accounts and regions are discovered with delimiter listings; each region folder is then
//! listed once from the first day of the period (`start-after`), stopping past its last day,
//! so only the needed dates are listed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_s3::Client;
use chrono::{Duration as Days, NaiveDate};
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::errors::explain;
use super::{load_json, now_secs, save_json, AwsError, AwsOptions};
use crate::ingest::{
    ingest_from, BatchSource, Body, Fetched, IngestError, IngestOptions, IngestSummary, InputFile,
    ReadError, Spool,
};
use crate::rollup::Store;
use crate::state::{StateDir, StateFile};

const NEEDS: &str = "s3:ListBucket on the bucket and s3:GetObject on its AWSLogs/ keys (and kms:Decrypt for an SSE-KMS trail)";
/// Processed keys are remembered this many days before the newest delivery date; older ones
/// are never listed again by a default run (and a rerun is deduplicated by eventID anyway).
const LEDGER_KEEP_DAYS: i64 = 7;

/// What has been processed, per source.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ledger {
    /// By `s3://bucket/prefix`.
    sources: BTreeMap<String, BucketLedger>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketLedger {
    /// Newest delivery date processed (`YYYY-MM-DD`): the next default run starts a day before.
    newest_date: Option<String>,
    /// Processed keys with their ETags, by delivery date.
    keys: BTreeMap<String, BTreeMap<String, String>>,
}

/// One listed object to fetch.
#[derive(Debug, Clone)]
struct Obj {
    key: String,
    etag: String,
    date: String,
}

fn s3_err(bucket: &str, reason: String) -> IngestError {
    IngestError::Source(Box::new(AwsError::S3 {
        bucket: bucket.to_string(),
        reason,
    }))
}

/// A ListObjectsV2 request under `prefix` that failed.
fn listing_failed<E>(
    bucket: &str,
    prefix: &str,
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> AwsError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::S3Listing {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        reason: explain(e, NEEDS),
    }
}

/// A listing task that did not finish.
fn listing_task_failed(bucket: &str, error: tokio::task::JoinError) -> AwsError {
    AwsError::S3Task {
        bucket: bucket.to_string(),
        task: "listing",
        error,
    }
}

/// Ingests the trail in `bucket` under `prefix` for the period of `aws`.
pub(crate) fn ingest_bucket(
    rt: &Runtime,
    store: &mut Store,
    bucket: &str,
    prefix: &str,
    opts: &IngestOptions,
    aws: &AwsOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<IngestSummary, IngestError> {
    let state = store.state().clone();
    let mut ledger: Ledger =
        load_json(&state, StateFile::S3Ledger).map_err(|e| IngestError::Source(Box::new(e)))?;
    let source_key = if prefix.is_empty() {
        format!("s3://{bucket}")
    } else {
        format!("s3://{bucket}/{prefix}")
    };
    let entry = ledger.sources.entry(source_key.clone()).or_default();
    let (since, until) = period(aws, entry.newest_date.as_deref());
    tracing::info!(source = %source_key, since = %since, until = %until, "listing the trail");

    let client = rt.block_on(connect(aws, bucket, prefix))?;
    let folders = rt
        .block_on(region_folders(&client, bucket, prefix, aws.concurrency))
        .map_err(|e| IngestError::Source(Box::new(e)))?;
    if folders.is_empty() {
        return Err(s3_err(
            bucket,
            format!(
                "no CloudTrail folders (AWSLogs/<account>/CloudTrail/<region>/) under {source_key}: \
                 is this the trail's bucket, and the prefix its S3 key prefix?"
            ),
        ));
    }
    let listed = rt
        .block_on(list_period(
            &client,
            bucket,
            &folders,
            &since,
            &until,
            aws.concurrency,
        ))
        .map_err(|e| IngestError::Source(Box::new(e)))?;
    let seen = &ledger.sources[&source_key].keys;
    let fresh: Vec<(Obj, u64)> = listed
        .into_iter()
        .filter(|(o, _)| seen.get(&o.date).and_then(|d| d.get(&o.key)) != Some(&o.etag))
        .collect();
    tracing::info!(folders = folders.len(), new_objects = fresh.len(), "listed");
    let mut files = Vec::with_capacity(fresh.len());
    let mut objs = HashMap::with_capacity(fresh.len());
    for (o, size) in fresh {
        let path = PathBuf::from(format!("s3://{bucket}/{}", o.key));
        files.push(InputFile {
            path: path.clone(),
            size,
        });
        objs.insert(path, o);
    }
    let total: u64 = files.iter().map(|f| f.size).sum();
    let mut src = Source {
        rt,
        client,
        bucket: bucket.to_string(),
        objs,
        failed: HashSet::new(),
        concurrency: aws.concurrency.max(1),
        spool_bytes: aws.spool_bytes,
        ledger,
        state,
        source_key,
    };
    ingest_from(store, &files, opts, &|d| progress(d, total), &mut src)
}

/// The delivery dates to list, inclusive, as `YYYY/MM/DD`.
fn period(aws: &AwsOptions, newest: Option<&str>) -> (String, String) {
    let day = |secs: i64| {
        chrono::DateTime::from_timestamp(secs, 0)
            .unwrap_or_default()
            .date_naive()
    };
    let until = day(aws.until.map_or(now_secs(), |u| u - 1));
    let since = match (aws.since, newest) {
        (Some(s), _) => day(s),
        // Files land in the folder of their delivery date; a day back catches late ones.
        (None, Some(n)) => NaiveDate::parse_from_str(n, "%Y-%m-%d")
            .map(|d| d - Days::days(1))
            .unwrap_or_else(|_| until - Days::days(super::DEFAULT_FIRST_RUN_DAYS)),
        (None, None) => until - Days::days(super::DEFAULT_FIRST_RUN_DAYS),
    };
    let f = |d: NaiveDate| d.format("%Y/%m/%d").to_string();
    (f(since), f(until))
}

/// A client for the bucket's region: the given one, or the one S3 names when it redirects.
async fn connect(aws: &AwsOptions, bucket: &str, prefix: &str) -> Result<Client, IngestError> {
    let mut region: Option<String> = None;
    for _ in 0..2 {
        let conf = super::sdk_config(aws, region.as_deref()).await;
        let mut b = aws_sdk_s3::config::Builder::from(&conf);
        if conf.region().is_none() {
            b = b.region(aws_sdk_s3::config::Region::new("us-east-1"));
        }
        if aws.endpoint_url.is_some() {
            // S3-compatible stores and local servers rarely serve virtual-host buckets.
            b = b.force_path_style(true);
        }
        let client = Client::from_conf(b.build());
        // Within AWSLogs/, so that a policy limited to the logs' prefix allows it.
        let probe_prefix = if prefix.contains("AWSLogs") {
            format!("{}/", prefix.trim_end_matches('/'))
        } else if prefix.is_empty() {
            "AWSLogs/".to_string()
        } else {
            format!("{prefix}/AWSLogs/")
        };
        let probe = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(probe_prefix)
            .max_keys(1)
            .send()
            .await;
        match probe {
            Ok(_) => return Ok(client),
            Err(e) => {
                // A wrong region is answered 301 (or 400 for a SigV4 region mismatch) with
                // the bucket's region in a header.
                let redirect = e
                    .raw_response()
                    .filter(|r| matches!(r.status().as_u16(), 301 | 400))
                    .and_then(|r| r.headers().get("x-amz-bucket-region"))
                    .map(str::to_string);
                match redirect {
                    Some(r) if region.is_none() => {
                        tracing::info!(region = %r, "the bucket is in another region");
                        region = Some(r);
                    }
                    _ => return Err(s3_err(bucket, explain(&e, NEEDS))),
                }
            }
        }
    }
    Err(s3_err(
        bucket,
        "S3 keeps redirecting to another region: pass the bucket's region with --region".into(),
    ))
}

/// Common prefixes one level below `prefix` (which ends with `/`), all pages.
async fn sub_folders(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .delimiter("/")
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| listing_failed(bucket, prefix, &e))?;
        out.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() || page.is_truncated() != Some(true) {
            return Ok(out);
        }
    }
}

fn last_part(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Every `…/AWSLogs/[o-xxx/]<acct>/CloudTrail/<region>/` folder under `prefix`. A prefix that
/// already reaches into `AWSLogs/` (an account, an organization, a region) narrows the result.
async fn region_folders(
    client: &Client,
    bucket: &str,
    prefix: &str,
    concurrency: usize,
) -> Result<Vec<String>, AwsError> {
    let (root, narrow) = match prefix.find("AWSLogs") {
        Some(i) if i == 0 || prefix[..i].ends_with('/') => (&prefix[..i], Some(prefix)),
        _ if prefix.is_empty() => ("", None),
        _ => (prefix, None),
    };
    let root = if root.is_empty() || root.ends_with('/') {
        root.to_string()
    } else {
        format!("{root}/")
    };
    let mut accounts = Vec::new();
    for p in sub_folders(client, bucket, &format!("{root}AWSLogs/")).await? {
        let name = last_part(&p);
        if name.starts_with("o-") {
            for a in sub_folders(client, bucket, &p).await? {
                if is_account(last_part(&a)) {
                    accounts.push(a);
                }
            }
        } else if is_account(name) {
            accounts.push(p);
        }
    }
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for a in accounts {
        let (client, bucket, sem) = (client.clone(), bucket.to_string(), sem.clone());
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await.expect("semaphore open");
            sub_folders(&client, &bucket, &format!("{a}CloudTrail/")).await
        });
    }
    let mut folders = Vec::new();
    while let Some(r) = tasks.join_next().await {
        folders.extend(r.map_err(|e| listing_task_failed(bucket, e))??);
    }
    if let Some(n) = narrow {
        let n = format!("{}/", n.trim_end_matches('/'));
        folders.retain(|f| f.starts_with(&n) || n.starts_with(f.as_str()));
    }
    folders.sort();
    Ok(folders)
}

/// Log objects of each folder delivered from `since` to `until` (inclusive, `YYYY/MM/DD`),
/// with their sizes.
async fn list_period(
    client: &Client,
    bucket: &str,
    folders: &[String],
    since: &str,
    until: &str,
    concurrency: usize,
) -> Result<Vec<(Obj, u64)>, AwsError> {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for f in folders {
        let (client, bucket, sem) = (client.clone(), bucket.to_string(), sem.clone());
        let (f, since, until) = (f.clone(), since.to_string(), until.to_string());
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await.expect("semaphore open");
            list_folder(&client, &bucket, &f, &since, &until).await
        });
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        out.extend(r.map_err(|e| listing_task_failed(bucket, e))??);
    }
    out.sort_by(|a, b| a.0.key.cmp(&b.0.key));
    Ok(out)
}

async fn list_folder(
    client: &Client,
    bucket: &str,
    folder: &str,
    since: &str,
    until: &str,
) -> Result<Vec<(Obj, u64)>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    // Keys of day D are `folder/D/…`, which sort after `folder/D`: start there.
    let start_after = format!("{folder}{since}");
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(folder)
            .start_after(&start_after)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| listing_failed(bucket, folder, &e))?;
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            let rest = &key[folder.len().min(key.len())..];
            let Some(day) = rest.get(..10) else { continue };
            if day > until {
                return Ok(out);
            }
            if !(key.ends_with(".json.gz") || key.ends_with(".json")) {
                continue;
            }
            out.push((
                Obj {
                    key: key.to_string(),
                    etag: o.e_tag().unwrap_or("").to_string(),
                    date: day.replace('/', "-"),
                },
                o.size().unwrap_or(0).max(0) as u64,
            ));
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() || page.is_truncated() != Some(true) {
            return Ok(out);
        }
    }
}

/// The bucket as a [`BatchSource`]: fetches a batch's objects concurrently, and records them
/// in the ledger after their commit.
struct Source<'r> {
    rt: &'r Runtime,
    client: Client,
    bucket: String,
    objs: HashMap<PathBuf, Obj>,
    failed: HashSet<PathBuf>,
    concurrency: usize,
    spool_bytes: u64,
    ledger: Ledger,
    state: StateDir,
    source_key: String,
}

impl BatchSource for Source<'_> {
    fn fetch(&mut self, batch: &[&InputFile]) -> Result<Fetched, IngestError> {
        let sem = Arc::new(Semaphore::new(self.concurrency));
        let mut out = Fetched::new();
        let got = self.rt.block_on(async {
            let mut tasks = JoinSet::new();
            for f in batch {
                let Some(o) = self.objs.get(&f.path) else {
                    continue;
                };
                let (client, bucket, sem) = (self.client.clone(), self.bucket.clone(), sem.clone());
                let (path, key, spool) = (f.path.clone(), o.key.clone(), self.spool_bytes);
                tasks.spawn(async move {
                    let _permit = sem.acquire_owned().await.expect("semaphore open");
                    (path, get(&client, &bucket, &key, spool).await)
                });
            }
            let mut got = Vec::new();
            while let Some(r) = tasks.join_next().await {
                got.push(r);
            }
            got
        });
        for r in got {
            let (path, body) = r.map_err(|error| {
                IngestError::Source(Box::new(AwsError::S3Task {
                    bucket: self.bucket.clone(),
                    task: "download",
                    error,
                }))
            })?;
            if body.is_err() {
                self.failed.insert(path.clone());
            }
            out.insert(path, body.map_err(|e| ReadError::Fetch(Box::new(e))));
        }
        Ok(out)
    }

    fn committed(&mut self, batch: &[&InputFile]) -> Result<(), IngestError> {
        let entry = self
            .ledger
            .sources
            .entry(self.source_key.clone())
            .or_default();
        for f in batch {
            if self.failed.contains(&f.path) {
                continue;
            }
            if let Some(o) = self.objs.get(&f.path) {
                entry
                    .keys
                    .entry(o.date.clone())
                    .or_default()
                    .insert(o.key.clone(), o.etag.clone());
                if entry.newest_date.as_deref() < Some(o.date.as_str()) {
                    entry.newest_date = Some(o.date.clone());
                }
            }
        }
        if let Some(n) = entry
            .newest_date
            .as_deref()
            .and_then(|n| NaiveDate::parse_from_str(n, "%Y-%m-%d").ok())
        {
            let keep = (n - Days::days(LEDGER_KEEP_DAYS))
                .format("%Y-%m-%d")
                .to_string();
            entry.keys.retain(|d, _| *d >= keep);
        }
        save_json(&self.state, StateFile::S3Ledger, &self.ledger)
            .map_err(|e| IngestError::Source(Box::new(e)))
    }
}

/// Why one object could not be fetched: that object's problem (a bad file), not the run's.
#[derive(Debug, thiserror::Error)]
enum GetError {
    /// GetObject was refused or failed (the reason explains it).
    #[error("cannot download: {0}")]
    Request(String),
    /// The body stopped arriving.
    #[error("download interrupted: {0}")]
    Body(aws_sdk_s3::primitives::ByteStreamError),
    /// A large body could not be written to its temporary file (a full or missing TMPDIR).
    #[error("cannot spool the download to {path}: {source}")]
    Spool {
        /// The temporary file, or the temporary folder when it could not be created.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// One object's body: in memory, or written to a temporary file as it arrives when the object
/// is larger than `spool_bytes`.
async fn get(client: &Client, bucket: &str, key: &str, spool_bytes: u64) -> Result<Body, GetError> {
    let resp = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| GetError::Request(explain(&e, NEEDS)))?;
    let size = resp.content_length().unwrap_or(0).max(0) as u64;
    if size <= spool_bytes {
        let body = resp.body.collect().await.map_err(GetError::Body)?;
        return Ok(Body::Memory(body.into_bytes().to_vec()));
    }
    let (spool, file) = Spool::create("s3").map_err(|source| GetError::Spool {
        path: std::env::temp_dir(),
        source,
    })?;
    let failed = |source| GetError::Spool {
        path: spool.path().to_path_buf(),
        source,
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut body = resp.body;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(GetError::Body)?;
        out.write_all(&chunk).map_err(failed)?;
    }
    out.flush().map_err(failed)?;
    drop(out);
    Ok(Body::Spooled(spool))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_period_resumes_a_day_back() {
        let aws = AwsOptions {
            until: Some(1_767_571_200 + 86_400), // 2026-01-06T00:00Z, exclusive
            ..Default::default()
        };
        assert_eq!(
            period(&aws, Some("2026-01-03")),
            ("2026/01/02".to_string(), "2026/01/05".to_string())
        );
        let (since, until) = period(&aws, None);
        assert_eq!(until, "2026/01/05");
        assert_eq!(since, "2025/12/01");
        let aws = AwsOptions {
            since: Some(1_767_571_200 - 2 * 86_400),
            ..aws
        };
        assert_eq!(period(&aws, Some("2026-01-03")).0, "2026/01/03");
    }
}
