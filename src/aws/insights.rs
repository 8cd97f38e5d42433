//! AWS's own CloudTrail Insights events side by side with trailsight's findings: fetch them
//! (LookupEvents with event category `insight`, or a file of Insights records such as the
//! bucket's `CloudTrail-Insight/` objects), pair each insight's Start and End records, and match
//! them against findings by account, region, event source, API and overlapping time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[cfg(feature = "full")]
use aws_sdk_cloudtrail::types::EventCategory;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(feature = "full")]
use super::{history, now_secs, AwsError, AwsOptions};
use crate::finding::insights::InsightRecord;
use crate::finding::Finding;
use crate::ingest::ReadError;
use crate::time::TimeRange;

/// Windows closer than this still count as overlapping: AWS reports insights by the minute
/// from a different baseline, so its window rarely lines up exactly with ours.
pub const DEFAULT_SLACK_MINUTES: i64 = 15;

/// One AWS Insights event: its Start and (when it has ended) End records paired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwsInsight {
    /// `sharedEventID`, shared by the Start and End records.
    pub shared_event_id: String,
    /// Account (`recipientAccountId`).
    pub account: String,
    /// Region (`awsRegion`).
    pub region: String,
    /// The API's service endpoint.
    pub event_source: String,
    /// The API.
    pub event_name: String,
    /// `ApiCallRateInsight` or `ApiErrorRateInsight`.
    pub insight_type: String,
    /// The error code of an error-rate insight.
    pub error_code: Option<String>,
    /// Start of the unusual activity.
    pub start: DateTime<Utc>,
    /// End of it; `None` while AWS has not closed the insight.
    pub end: Option<DateTime<Utc>>,
    /// Baseline average per minute, from the Start record's statistics.
    pub baseline_average: Option<f64>,
    /// Average per minute during the insight.
    pub insight_average: Option<f64>,
}

impl AwsInsight {
    fn window(&self, open_end: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.start, self.end.unwrap_or(open_end).max(self.start))
    }
}

/// A trailsight finding, as much of it as the comparison shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRef {
    /// Finding id (`trailsight explain <id>`).
    pub id: String,
    /// Detector and direction.
    pub kind: String,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Service endpoint; empty when the finding spans services.
    pub event_source: String,
    /// APIs involved.
    pub event_names: Vec<String>,
    /// Start of the window.
    pub start: DateTime<Utc>,
    /// End of the window (exclusive).
    pub end: DateTime<Utc>,
    /// 0–100.
    pub score: f64,
}

impl From<&Finding> for FindingRef {
    fn from(f: &Finding) -> Self {
        FindingRef {
            id: f.id.clone(),
            kind: serde_json::to_value(f.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{:?}", f.kind)),
            account: f.account.clone(),
            region: f.region.clone(),
            event_source: f.event_source.clone(),
            event_names: f.event_names.clone(),
            start: f.start,
            end: f.end,
            score: f.score,
        }
    }
}

/// An AWS insight and the findings that cover it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightMatch {
    /// AWS's insight.
    pub aws: AwsInsight,
    /// trailsight's findings on the same API, account and region, overlapping in time.
    pub findings: Vec<FindingRef>,
}

/// Which anomalies both raised, which only AWS, which only trailsight, over one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightComparison {
    /// Start of the compared period.
    pub since: DateTime<Utc>,
    /// End of the compared period (exclusive).
    pub until: DateTime<Utc>,
    /// Slack allowed between windows, in minutes.
    pub slack_minutes: i64,
    /// Raised by both.
    pub both: Vec<InsightMatch>,
    /// Raised by AWS only.
    pub only_aws: Vec<AwsInsight>,
    /// Raised by trailsight only (findings overlapping the period).
    pub only_trailsight: Vec<FindingRef>,
}

/// Pairs Insights records (Start and End, by `sharedEventID`) into insights; records that are
/// not Insights events, or lack the fields to place them, are skipped and counted.
pub fn pair_records(records: &[Value]) -> (Vec<AwsInsight>, usize) {
    let mut by_id: BTreeMap<String, AwsInsight> = BTreeMap::new();
    let mut ends: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut skipped = 0;
    for r in records {
        let Ok(r) = InsightRecord::deserialize(r) else {
            skipped += 1;
            continue;
        };
        let d = &r.insight_details;
        let time = DateTime::parse_from_rfc3339(&r.event_time)
            .ok()
            .map(|t| t.with_timezone(&Utc));
        let (false, false, Some(t)) = (r.shared_event_id.is_empty(), d.state.is_empty(), time)
        else {
            skipped += 1;
            continue;
        };
        let id = r.shared_event_id.clone();
        match d.state.as_str() {
            "Start" => {
                let attr_error = d
                    .insight_context
                    .attributions
                    .iter()
                    .find(|x| x.attribute == "errorCode")
                    .and_then(|x| x.insight.first())
                    .map(|v| v.value.clone())
                    .filter(|c| c != "null");
                let stats = &d.insight_context.statistics;
                by_id.insert(
                    id.clone(),
                    AwsInsight {
                        shared_event_id: id,
                        account: r.recipient_account_id.clone(),
                        region: r.aws_region.clone(),
                        event_source: d.event_source.clone(),
                        event_name: d.event_name.clone(),
                        insight_type: d.insight_type.clone(),
                        error_code: d.error_code.clone().or(attr_error),
                        start: t,
                        end: None,
                        baseline_average: stats.baseline.average,
                        insight_average: stats.insight.average,
                    },
                );
            }
            "End" => {
                ends.insert(id, t);
            }
            _ => skipped += 1,
        }
    }
    for (id, t) in ends {
        match by_id.get_mut(&id) {
            Some(i) => i.end = Some(t),
            // An End whose Start is before the period: nothing to place it by.
            None => skipped += 1,
        }
    }
    let mut v: Vec<AwsInsight> = by_id.into_values().collect();
    v.sort_by(|a, b| {
        (a.start, &a.account, &a.event_name).cmp(&(b.start, &b.account, &b.event_name))
    });
    (v, skipped)
}

/// The period a file of Insights events covers, in whole UTC days: from the midnight before
/// the earliest start to the midnight after the latest end (or start, for an open insight).
/// `aws-insights --from FILE` compares over it by default (issue 15: a one-week default
/// window called a February file's events "only AWS").
pub fn file_period(insights: &[AwsInsight]) -> Option<(i64, i64)> {
    let first = insights.iter().map(|i| i.start.timestamp()).min()?;
    let last = insights
        .iter()
        .map(|i| i.end.unwrap_or(i.start).timestamp())
        .max()?;
    let day = crate::time::DAY_SECS;
    Some((
        first.div_euclid(day) * day,
        (last.div_euclid(day) + 1) * day,
    ))
}

/// Matches AWS's insights with trailsight's findings over `[since, until)`.
pub fn compare(
    aws: &[AwsInsight],
    findings: &[Finding],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    slack: Duration,
) -> InsightComparison {
    let in_period: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.start < until && f.end > since)
        .collect();
    let mut used = vec![false; in_period.len()];
    let mut both = Vec::new();
    let mut only_aws = Vec::new();
    for a in aws {
        let (a0, a1) = a.window(until);
        let mut hits = Vec::new();
        for (i, f) in in_period.iter().enumerate() {
            let same_api = (f.event_source.is_empty() || f.event_source == a.event_source)
                && f.event_names.contains(&a.event_name);
            let overlap = f.window().overlaps(
                &TimeRange::new(a0.timestamp(), a1.timestamp()),
                slack.num_seconds(),
            );
            if f.account == a.account && f.region == a.region && same_api && overlap {
                used[i] = true;
                hits.push(FindingRef::from(*f));
            }
        }
        if hits.is_empty() {
            only_aws.push(a.clone());
        } else {
            both.push(InsightMatch {
                aws: a.clone(),
                findings: hits,
            });
        }
    }
    let only_trailsight = in_period
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(f, _)| FindingRef::from(*f))
        .collect();
    InsightComparison {
        since,
        until,
        slack_minutes: slack.num_minutes(),
        both,
        only_aws,
        only_trailsight,
    }
}

/// The comparison as a terminal table.
pub fn render(c: &InsightComparison) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let t = |d: &DateTime<Utc>| d.format("%Y-%m-%d %H:%M").to_string();
    let _ = writeln!(
        o,
        "AWS Insights vs trailsight, {} .. {} UTC: {} both, {} only AWS, {} only trailsight",
        t(&c.since),
        t(&c.until),
        c.both.len(),
        c.only_aws.len(),
        c.only_trailsight.len()
    );
    let _ = writeln!(
        o,
        "{:<15} {:<16} {:<12} {:<14} {:<40} detail",
        "raised by", "start", "account", "region", "API"
    );
    let api =
        |src: &str, name: &str| format!("{}:{}", src.trim_end_matches(".amazonaws.com"), name);
    for m in &c.both {
        let ids: Vec<&str> = m.findings.iter().map(|f| f.id.as_str()).collect();
        let _ = writeln!(
            o,
            "{:<15} {:<16} {:<12} {:<14} {:<40} {} = {}",
            "both",
            t(&m.aws.start),
            m.aws.account,
            m.aws.region,
            api(&m.aws.event_source, &m.aws.event_name),
            m.aws.insight_type,
            ids.join(", ")
        );
    }
    for a in &c.only_aws {
        let _ = writeln!(
            o,
            "{:<15} {:<16} {:<12} {:<14} {:<40} {}",
            "only AWS",
            t(&a.start),
            a.account,
            a.region,
            api(&a.event_source, &a.event_name),
            a.insight_type
        );
    }
    for f in &c.only_trailsight {
        let _ = writeln!(
            o,
            "{:<15} {:<16} {:<12} {:<14} {:<40} {} {} (score {:.0})",
            "only trailsight",
            t(&f.start),
            f.account,
            f.region,
            api(&f.event_source, &f.event_names.join(",")),
            f.kind,
            f.id,
            f.score
        );
    }
    o
}

/// A file of Insights records that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The file could not be read (or inflated).
    #[error("{}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: ReadError,
    },
    /// One JSON value that is neither an object nor an array.
    #[error("{}: not a JSON object or array", .0.display())]
    NotObjectOrArray(PathBuf),
    /// Neither one JSON document nor JSON Lines.
    #[error("{}: neither JSON nor JSON Lines ({error})", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The first line that is not JSON.
        error: serde_json::Error,
    },
}

/// Reads Insights records from a file: a `{"Records":[…]}` log file (gzip or not), LookupEvents
/// output (`{"Events":[{"CloudTrailEvent":"…"}]}`), a JSON array or JSON Lines.
pub fn read_records(path: &Path) -> Result<Vec<Value>, RecordsError> {
    let mut bytes = Vec::new();
    crate::ingest::read_file(path, 256 << 20, &mut bytes).map_err(|error| RecordsError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    parse_records(&String::from_utf8_lossy(&bytes)).map_err(|e| match e {
        ParseError::NotObjectOrArray => RecordsError::NotObjectOrArray(path.to_path_buf()),
        ParseError::NotJson(error) => RecordsError::NotJson {
            path: path.to_path_buf(),
            error,
        },
    })
}

/// Why a text holds no Insights records.
#[derive(Debug)]
pub enum ParseError {
    /// One JSON value that is neither an object nor an array.
    NotObjectOrArray,
    /// Neither one JSON document nor JSON Lines: the first line that is not JSON.
    NotJson(serde_json::Error),
}

/// The `insights_reader` fuzz target's check: any bytes are read or refused, and pairing
/// what was read never places more insights than it had records. Panics otherwise.
pub fn check_reader(data: &[u8]) {
    if let Ok(records) = parse_records(&String::from_utf8_lossy(data)) {
        let (insights, skipped) = pair_records(&records);
        assert!(insights.len() + skipped <= records.len());
    }
}

/// [`read_records`] on text already read.
pub fn parse_records(text: &str) -> Result<Vec<Value>, ParseError> {
    let doc: Result<Value, _> = serde_json::from_str(text);
    let items = match doc {
        Ok(Value::Object(mut o)) => match (o.remove("Records"), o.remove("Events")) {
            (Some(Value::Array(r)), _) => r,
            (_, Some(Value::Array(e))) => e,
            _ => vec![Value::Object(o)],
        },
        Ok(Value::Array(a)) => a,
        Ok(_) => return Err(ParseError::NotObjectOrArray),
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .map_err(ParseError::NotJson)?,
    };
    Ok(items.into_iter().map(unwrap_lookup).collect())
}

/// A LookupEvents entry carries the record as a JSON string.
fn unwrap_lookup(v: Value) -> Value {
    match v.get("CloudTrailEvent").and_then(Value::as_str) {
        Some(s) => serde_json::from_str(s).unwrap_or(v),
        None => v,
    }
}

/// AWS's Insights events of `[since, until)` from the event history of `region` (or the
/// configured one), as records.
#[cfg(feature = "full")]
pub fn fetch(
    aws: &AwsOptions,
    region: Option<&str>,
    since: i64,
    until: i64,
) -> Result<Vec<Value>, AwsError> {
    let rt = super::runtime()?;
    let what = format!("cloudtrail://{}", region.unwrap_or(""));
    rt.block_on(async {
        let (client, limiter, region) = history::client(aws, region, &what).await?;
        let earliest = now_secs() - super::HISTORY_DAYS * 86_400;
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let (events, next) = history::page(
                &client,
                &limiter,
                aws,
                since.max(earliest),
                until,
                Some(EventCategory::Insight),
                token,
            )
            .await
            .map_err(|e| history::lookup_failed(&region, &e))?;
            for e in &events {
                if let Some(v) = e
                    .cloud_trail_event()
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
                {
                    out.push(v);
                }
            }
            match next {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, state: &str, t: &str, name: &str) -> Value {
        serde_json::json!({
            "eventTime": t, "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
            "eventType": "AwsCloudTrailInsight", "eventCategory": "Insight", "sharedEventID": id,
            "insightDetails": {"state": state, "eventSource": "iam.amazonaws.com", "eventName": name,
              "insightType": "ApiCallRateInsight",
              "insightContext": {"statistics": {"baseline": {"average": 0.5}, "insight": {"average": 9.0}}}}
        })
    }

    fn finding(name: &str, start: &str, end: &str) -> Finding {
        let line = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/findings.jsonl"),
        )
        .unwrap();
        let mut f: Finding = serde_json::from_str(line.lines().next().unwrap()).unwrap();
        f.account = "111122223333".into();
        f.region = "us-east-1".into();
        f.event_source = "iam.amazonaws.com".into();
        f.event_names = vec![name.into()];
        f.start = start.parse().unwrap();
        f.end = end.parse().unwrap();
        f.id = format!("f-{name}");
        f
    }

    #[test]
    fn pairs_and_compares() {
        let records = vec![
            rec("a", "Start", "2026-02-02T10:00:00Z", "CreateUser"),
            rec("a", "End", "2026-02-02T10:30:00Z", "CreateUser"),
            rec("b", "Start", "2026-02-02T12:00:00Z", "DeleteRole"),
            rec("c", "End", "2026-02-02T01:00:00Z", "ListRoles"),
            serde_json::json!({"eventTime": "2026-02-02T01:00:00Z"}),
        ];
        let (aws, skipped) = pair_records(&records);
        assert_eq!(skipped, 2);
        assert_eq!(aws.len(), 2);
        assert_eq!(
            aws[0].end.unwrap().to_rfc3339(),
            "2026-02-02T10:30:00+00:00"
        );
        assert_eq!(aws[0].insight_average, Some(9.0));
        assert_eq!(aws[1].end, None);
        let findings = vec![
            // Overlaps "a" within the slack.
            finding("CreateUser", "2026-02-02T10:40:00Z", "2026-02-02T11:00:00Z"),
            // Same API as "a" but hours later: not the same anomaly.
            finding("CreateUser", "2026-02-02T16:00:00Z", "2026-02-02T17:00:00Z"),
            // Outside the period.
            finding("CreateUser", "2026-02-05T16:00:00Z", "2026-02-05T17:00:00Z"),
        ];
        let c = compare(
            &aws,
            &findings,
            "2026-02-02T00:00:00Z".parse().unwrap(),
            "2026-02-03T00:00:00Z".parse().unwrap(),
            Duration::minutes(DEFAULT_SLACK_MINUTES),
        );
        assert_eq!(c.both.len(), 1);
        assert_eq!(c.both[0].aws.shared_event_id, "a");
        assert_eq!(c.both[0].findings.len(), 1);
        assert_eq!(c.only_aws.len(), 1);
        assert_eq!(c.only_aws[0].event_name, "DeleteRole");
        assert_eq!(c.only_trailsight.len(), 1);
        assert_eq!(
            c.only_trailsight[0].start.to_rfc3339(),
            "2026-02-02T16:00:00+00:00"
        );
        let table = render(&c);
        assert!(
            table.contains("1 both, 1 only AWS, 1 only trailsight"),
            "{table}"
        );
        let back: InsightComparison =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn a_files_period_is_the_whole_days_its_insights_span() {
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        let one = |start: &str, end: Option<&str>| AwsInsight {
            shared_event_id: start.into(),
            account: "1".into(),
            region: "r".into(),
            event_source: "s".into(),
            event_name: "n".into(),
            insight_type: "ApiCallRateInsight".into(),
            error_code: None,
            start: at(start),
            end: end.map(at),
            baseline_average: None,
            insight_average: None,
        };
        assert_eq!(file_period(&[]), None);
        let p = file_period(&[
            one("2026-02-03T10:00:00Z", Some("2026-02-03T11:00:00Z")),
            one("2026-02-10T23:50:00Z", None),
            one("2026-02-05T00:00:00Z", Some("2026-02-06T01:00:00Z")),
        ])
        .unwrap();
        assert_eq!(
            (crate::time::format(p.0), crate::time::format(p.1)),
            (
                "2026-02-03T00:00:00Z".to_string(),
                "2026-02-11T00:00:00Z".to_string()
            )
        );
    }
}
