//! `cloudtrail://[region]`: the event history (LookupEvents, the last 90 days) for accounts
//! without a trail. Requests go through a shared 2-per-second limiter for the account and
//! region; throttling is retried with backoff by the SDK's retry policy. The period is read one
//! UTC day at a time, oldest first; after each day is committed its end is saved in
//! `<state>/sources/cloudtrail.json`, so an interrupted or later run resumes there.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_cloudtrail::config::http::HttpResponse;
use aws_sdk_cloudtrail::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsError;
use aws_sdk_cloudtrail::primitives::DateTime as AwsTime;
use aws_sdk_cloudtrail::types::{Event, EventCategory};
use aws_sdk_cloudtrail::Client;
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;

use super::errors::explain;
use super::limiter::{shared, Limiter};
use super::{
    load_json, merge_summary, now_secs, save_json, AwsError, AwsOptions, DEFAULT_FIRST_RUN_DAYS,
    HISTORY_DAYS,
};
use crate::ingest::{
    ingest_from, BatchSource, Fetched, IngestError, IngestOptions, IngestSummary, InputFile,
};
use crate::rollup::Store;
use crate::state::StateFile;

const NEEDS: &str = "cloudtrail:LookupEvents";
/// A later run re-reads this much before where the last one stopped: events can appear in the
/// history a few minutes after they happened (duplicates are dropped by eventID).
const OVERLAP_SECS: i64 = 15 * 60;
/// LookupEvents' largest page.
const PAGE: i32 = 50;

/// Where each history source stopped.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Progress {
    /// By source (`cloudtrail://<region>` with the profile and endpoint when given).
    sources: BTreeMap<String, SourceProgress>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceProgress {
    /// Everything before this time (epoch seconds) has been read and committed.
    done_until: i64,
}

/// A LookupEvents request that failed for good, as the service answered it.
pub(crate) type LookupError = SdkError<LookupEventsError, HttpResponse>;

/// The event history of `region` could not be read, because of `e`.
pub(crate) fn lookup_failed(region: &str, e: &LookupError) -> AwsError {
    AwsError::History {
        region: region.to_string(),
        reason: explain(e, NEEDS),
    }
}

/// A CloudTrail client for `region` (or the configured one) and its shared limiter.
pub(crate) async fn client(
    aws: &AwsOptions,
    region: Option<&str>,
    what: &str,
) -> Result<(Client, Arc<Limiter>, String), AwsError> {
    let conf = super::sdk_config(aws, region).await;
    let region = conf
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| AwsError::NoRegion(what.to_string()))?;
    let key = format!(
        "lookup-events/{}/{}/{}",
        aws.profile.as_deref().unwrap_or(""),
        region,
        aws.endpoint_url.as_deref().unwrap_or("")
    );
    // Retries are ours (in `page`), so that they too wait for the shared limiter.
    let conf = aws_sdk_cloudtrail::config::Builder::from(&conf)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    Ok((
        Client::from_conf(conf),
        shared(&key, aws.history_rate),
        region,
    ))
}

/// One page of LookupEvents for `[start, end)`, each attempt after waiting for the limiter;
/// throttling and transient failures are retried with jittered exponential backoff.
pub(crate) async fn page(
    client: &Client,
    limiter: &Limiter,
    aws: &AwsOptions,
    start: i64,
    end: i64,
    category: Option<EventCategory>,
    token: Option<String>,
) -> Result<(Vec<Event>, Option<String>), LookupError> {
    let mut attempt = 0u32;
    loop {
        limiter.acquire().await;
        attempt += 1;
        let res = client
            .lookup_events()
            .start_time(AwsTime::from_secs(start))
            .end_time(AwsTime::from_secs(end))
            .set_event_category(category.clone())
            .max_results(PAGE)
            .set_next_token(token.clone())
            .send()
            .await;
        match res {
            Ok(out) => {
                let next = out
                    .next_token()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                return Ok((out.events.unwrap_or_default(), next));
            }
            Err(e) if attempt < aws.max_attempts && retryable(&e) => {
                let exp = aws.initial_backoff.as_secs_f64() * 2f64.powi(attempt as i32 - 1);
                let wait = exp.min(20.0) * rand::random_range(0.5..1.0);
                tracing::debug!(attempt, wait, error = %explain(&e, NEEDS), "LookupEvents retry");
                tokio::time::sleep(std::time::Duration::from_secs_f64(wait)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn retryable<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::ServiceError(s) => {
            matches!(
                s.err().code(),
                Some("ThrottlingException" | "Throttling" | "RequestLimitExceeded")
            ) || s.raw().status().is_server_error()
        }
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(d) => d.is_io() || d.is_timeout(),
        SdkError::ResponseError(_) => true,
        _ => false,
    }
}

/// A page as the LookupEvents output document the parser reads (`{"Events":[…]}`); an event
/// without its `CloudTrailEvent` string stays in, to be counted as a bad record.
fn page_doc(events: &[Event]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = events
        .iter()
        .map(|e| match e.cloud_trail_event() {
            Some(s) => serde_json::json!({ "CloudTrailEvent": s }),
            None => serde_json::json!({ "EventId": e.event_id() }),
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "Events": items })).expect("JSON values serialise")
}

/// Pages held in memory until they are parsed.
struct Pages(Fetched);

impl BatchSource for Pages {
    fn fetch(&mut self, batch: &[&InputFile]) -> Result<Fetched, IngestError> {
        Ok(batch
            .iter()
            .filter_map(|f| self.0.remove(&f.path).map(|b| (f.path.clone(), b)))
            .collect())
    }
    fn committed(&mut self, _: &[&InputFile]) -> Result<(), IngestError> {
        Ok(())
    }
}

/// Ingests the event history of `region` for the period of `aws`.
pub(crate) fn ingest_history(
    rt: &Runtime,
    store: &mut Store,
    region: Option<&str>,
    opts: &IngestOptions,
    aws: &AwsOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<IngestSummary, IngestError> {
    let what = format!("cloudtrail://{}", region.unwrap_or(""));
    let (client, limiter, region) = rt
        .block_on(client(aws, region, &what))
        .map_err(|e| IngestError::Source(Box::new(e)))?;
    let state_dir = store.state().clone();
    let mut state: Progress = load_json(&state_dir, StateFile::HistoryProgress)
        .map_err(|e| IngestError::Source(Box::new(e)))?;
    let mut key = format!("cloudtrail://{region}");
    if let Some(p) = &aws.profile {
        key.push_str(&format!("?profile={p}"));
    }
    if let Some(e) = &aws.endpoint_url {
        key.push_str(&format!("#{e}"));
    }
    let now = now_secs();
    let until = aws.until.unwrap_or(now).min(now);
    let earliest = now - HISTORY_DAYS * 86_400;
    let since = match (aws.since, state.sources.get(&key)) {
        (Some(s), _) => s,
        (None, Some(p)) => p.done_until - OVERLAP_SECS,
        (None, None) => until - DEFAULT_FIRST_RUN_DAYS * 86_400,
    };
    if since < earliest {
        tracing::warn!(
            source = %key,
            "the event history holds only the last {HISTORY_DAYS} days; reading from there"
        );
    }
    let since = since.max(earliest);
    tracing::info!(source = %key, since, until, "reading the event history");

    let mut total = IngestSummary::default();
    let mut pending = Fetched::new();
    let mut pending_bytes = 0u64;
    let mut files = Vec::new();
    let mut requests = 0u64;
    let flush = |store: &mut Store,
                 files: &mut Vec<InputFile>,
                 pending: &mut Fetched,
                 total: &mut IngestSummary|
     -> Result<(), IngestError> {
        if files.is_empty() {
            return Ok(());
        }
        let bytes: u64 = files.iter().map(|f| f.size).sum();
        let mut src = Pages(std::mem::take(pending));
        let s = ingest_from(store, files, opts, &|d| progress(d, bytes), &mut src)?;
        merge_summary(total, s, opts.max_listed_problems);
        files.clear();
        Ok(())
    };
    let mut start = since;
    while start < until {
        // Whole UTC days, so each window is one request at least and at most a day of events.
        let end = ((start.div_euclid(86_400) + 1) * 86_400).min(until);
        let mut token = None;
        let mut n = 0;
        loop {
            let (events, next) = rt
                .block_on(page(&client, &limiter, aws, start, end, None, token))
                .map_err(|e| IngestError::Source(Box::new(lookup_failed(&region, &e))))?;
            requests += 1;
            n += 1;
            if !events.is_empty() {
                let doc = page_doc(&events);
                let path = PathBuf::from(format!(
                    "cloudtrail://{region}/{}/page-{n}",
                    crate::time::format(start)
                ));
                pending_bytes += doc.len() as u64;
                files.push(InputFile {
                    path: path.clone(),
                    size: doc.len() as u64,
                });
                pending.insert(path, Ok(doc.into()));
            }
            if pending_bytes >= opts.batch_bytes {
                flush(store, &mut files, &mut pending, &mut total)?;
                pending_bytes = 0;
            }
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        flush(store, &mut files, &mut pending, &mut total)?;
        pending_bytes = 0;
        state
            .sources
            .insert(key.clone(), SourceProgress { done_until: end });
        save_json(&state_dir, StateFile::HistoryProgress, &state)
            .map_err(|e| IngestError::Source(Box::new(e)))?;
        start = end;
    }
    tracing::info!(source = %key, requests, "event history read");
    Ok(total)
}
