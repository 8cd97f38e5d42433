//! Findings: the output contract of the detectors.
//!
//! A [`Finding`] is one scored, attributed anomaly. Detectors build them; this module gives them a
//! stable identity ([`Finding::stable_id`]), a deterministic order ([`sort_findings`]) and two
//! on-disk forms, both written atomically (temporary file in the same directory, fsync, rename):
//!
//! - `findings.jsonl` ([`to_jsonl`], [`write_jsonl`], [`read_jsonl`]): one JSON object per line,
//!   sorted by score. Every field is always present (absent optional values are `null`), so
//!   consumers see a fixed schema; timestamps are RFC 3339 UTC with whole seconds
//!   (`2026-01-05T10:00:00Z`); numbers are plain JSON numbers.
//! - `insights.json` ([`to_insights`], [`write_insights`]): the call-rate and error-rate findings
//!   as CloudTrail Insights events in AWS's own record schema (`{"Records":[...]}`), so tools that
//!   consume AWS's Insights events consume ours unchanged.
//!
//! Everything here is pure except the two `write_*` functions and [`read_jsonl`].

use std::cmp::Ordering;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::time::TimeRange;

/// A name given on the command line (a finding kind or a severity) that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; expected one of: {expected}")]
pub struct ParseNameError {
    /// What was being parsed ("finding kind", "severity").
    pub what: &'static str,
    /// The text that was given.
    pub value: String,
    /// The accepted names, comma-separated.
    pub expected: String,
}

/// What a finding is about: one value per detector (call-rate has two directions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// An API called far more often than its baseline.
    CallRateSpike,
    /// An API called far less often than its baseline (e.g. a pipeline that stopped).
    CallRateDrop,
    /// An API returning one error code far more often than its baseline.
    ErrorRate,
    /// Resource-provisioning calls (catalog category) far above baseline.
    ProvisioningSpike,
    /// A principal making an unusual burst of IAM write actions.
    IamBurst,
    /// A periodic job (principal × API) that did not run, or ran far off its time.
    MaintenanceGap,
    /// A principal performing a sensitive action it never performed in the baseline window.
    RareAction,
}

impl FindingKind {
    /// Every kind, in declaration order.
    pub const ALL: [FindingKind; 7] = [
        FindingKind::CallRateSpike,
        FindingKind::CallRateDrop,
        FindingKind::ErrorRate,
        FindingKind::ProvisioningSpike,
        FindingKind::IamBurst,
        FindingKind::MaintenanceGap,
        FindingKind::RareAction,
    ];

    /// The snake_case name used in JSON and on the command line (`call_rate_spike`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::CallRateSpike => "call_rate_spike",
            FindingKind::CallRateDrop => "call_rate_drop",
            FindingKind::ErrorRate => "error_rate",
            FindingKind::ProvisioningSpike => "provisioning_spike",
            FindingKind::IamBurst => "iam_burst",
            FindingKind::MaintenanceGap => "maintenance_gap",
            FindingKind::RareAction => "rare_action",
        }
    }

    /// The name with `-` for `_` (`call-rate-spike`), accepted on the command line too.
    pub fn kebab(self) -> &'static str {
        match self {
            FindingKind::CallRateSpike => "call-rate-spike",
            FindingKind::CallRateDrop => "call-rate-drop",
            FindingKind::ErrorRate => "error-rate",
            FindingKind::ProvisioningSpike => "provisioning-spike",
            FindingKind::IamBurst => "iam-burst",
            FindingKind::MaintenanceGap => "maintenance-gap",
            FindingKind::RareAction => "rare-action",
        }
    }

    /// The CloudTrail Insights type this kind maps to, for the kinds AWS has an equivalent of:
    /// `ApiCallRateInsight` (spike and drop) and `ApiErrorRateInsight` (error rate).
    pub fn insight_type(self) -> Option<&'static str> {
        match self {
            FindingKind::CallRateSpike | FindingKind::CallRateDrop => Some("ApiCallRateInsight"),
            FindingKind::ErrorRate => Some("ApiErrorRateInsight"),
            _ => None,
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FindingKind {
    type Err = ParseNameError;

    /// Accepts the snake_case name; case and `-` for `_` are forgiven (`call-rate-spike`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        FindingKind::ALL
            .into_iter()
            .find(|k| k.as_str() == norm)
            .ok_or_else(|| ParseNameError {
                what: "finding kind",
                value: s.to_string(),
                expected: FindingKind::ALL.map(FindingKind::as_str).join(", "),
            })
    }
}

/// How urgent a finding is; ordered `Low < Medium < High < Critical` so `--fail-on high` can
/// compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Score below 50.
    Low,
    /// Score in [50, 70).
    Medium,
    /// Score in [70, 90).
    High,
    /// Score 90 or more.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The band a score (0–100) falls in: below 50 `low`, below 70 `medium`, below 90 `high`,
    /// else `critical`. A NaN score is `low`.
    pub fn from_score(score: f64) -> Severity {
        if score.is_nan() || score < 50.0 {
            Severity::Low
        } else if score < 70.0 {
            Severity::Medium
        } else if score < 90.0 {
            Severity::High
        } else {
            Severity::Critical
        }
    }

    /// The lowercase name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ParseNameError;

    /// Accepts the lowercase name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase();
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == norm)
            .ok_or_else(|| ParseNameError {
                what: "severity",
                value: s.to_string(),
                expected: Severity::ALL.map(Severity::as_str).join(", "),
            })
    }
}

/// An amount of activity: the total over a window and its per-minute average.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Amount {
    /// Total count (calls or errors) over the window.
    pub total: f64,
    /// Average per minute over the window (AWS Insights' unit).
    pub per_minute: f64,
}

/// One contributor to a finding (a principal ARN, user agent, source IP or error code) and its
/// weight in the insight window and in the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// The contributor (an ARN, a user agent, an IP address, an error code).
    pub value: String,
    /// Its calls (or errors) in the insight window.
    pub insight_count: u64,
    /// Its share of the insight window's calls, 0–1.
    pub insight_share: f64,
    /// Its calls (or errors) in the baseline window.
    pub baseline_count: u64,
    /// Its share of the baseline window's calls, 0–1.
    pub baseline_share: f64,
}

/// The top contributors of a finding along each dimension, largest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attributions {
    /// By principal ARN (for assumed roles, the role).
    pub principal: Vec<Attribution>,
    /// By user agent.
    pub user_agent: Vec<Attribution>,
    /// By source IP address.
    pub source_ip: Vec<Attribution>,
    /// By error code.
    pub error_code: Vec<Attribution>,
}

/// One detected anomaly: what, where, when, how unlikely, who contributed, and why.
///
/// Serialised with every field present (`null` for absent optional values) in declaration
/// order; see the module documentation for the formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identifier: [`Finding::stable_id`] of the identifying fields.
    pub id: String,
    /// Which detector and direction.
    pub kind: FindingKind,
    /// AWS account id.
    pub account: String,
    /// AWS region.
    pub region: String,
    /// Service endpoint, e.g. `iam.amazonaws.com`; empty when the finding spans services.
    pub event_source: String,
    /// The API names involved (one for per-API detectors, several for category detectors).
    pub event_names: Vec<String>,
    /// Whether the series is read-only calls, write calls, or (`null`) both.
    pub read_only: Option<bool>,
    /// The principal, when the finding is about one.
    pub principal: Option<String>,
    /// The error code, for error-rate findings.
    pub error_code: Option<String>,
    /// Start of the anomalous window.
    #[serde(with = "crate::time::rfc3339_seconds")]
    pub start: DateTime<Utc>,
    /// End of the anomalous window (exclusive).
    #[serde(with = "crate::time::rfc3339_seconds")]
    pub end: DateTime<Utc>,
    /// 0–100, monotone in how unlikely the observation is under the baseline.
    pub score: f64,
    /// The band of `score` ([`Severity::from_score`]).
    pub severity: Severity,
    /// Tail probability of the observation under the baseline model.
    pub p_value: f64,
    /// What was seen in the window.
    pub observed: Amount,
    /// What the baseline expected in the window.
    pub expected: Amount,
    /// The history the baseline was fitted on.
    #[serde(with = "crate::time::rfc3339_range")]
    pub baseline_window: TimeRange,
    /// Top contributors, in the window and in the baseline.
    pub attributions: Attributions,
    /// One sentence a human understands.
    pub explanation: String,
    /// A few eventIDs of contributing events, for looking them up.
    pub example_event_ids: Vec<String>,
    /// Access key ids seen in the contributing events.
    pub access_key_ids: Vec<String>,
    /// Detector-specific numbers (dispersion, expected run time, …).
    pub details: Map<String, Value>,
}

/// Separates fields in the id hash input; cannot occur in CloudTrail names, ARNs or account ids.
const FIELD_SEP: char = '\u{1f}';
/// Separates list items in the id hash input.
const ITEM_SEP: char = '\u{1e}';

impl Finding {
    /// The stable id of a finding: 16 lowercase hex digits of xxh3-64 over the identifying
    /// fields — kind, account, region, event source, event names (as a set: order and
    /// duplicates do not matter), principal, error code and the start time to the second.
    ///
    /// Fields are joined with control characters that cannot occur in them, and absent values
    /// are distinguished from empty ones, so different inputs do not collide by concatenation.
    /// The same input gives the same id on every run and platform. Score, severity, end,
    /// statistics, attributions and explanation do **not** enter the id: re-running detection
    /// with a refined baseline updates a finding instead of creating a new one.
    #[allow(clippy::too_many_arguments)] // the identifying fields, spelled out on purpose
    pub fn stable_id(
        kind: FindingKind,
        account: &str,
        region: &str,
        event_source: &str,
        event_names: &[String],
        principal: Option<&str>,
        error_code: Option<&str>,
        start: DateTime<Utc>,
    ) -> String {
        let mut names: Vec<&str> = event_names.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        let opt = |o: Option<&str>| match o {
            Some(v) => format!("s{v}"),
            None => "n".to_string(),
        };
        let mut input = String::with_capacity(128);
        for part in [
            "trailsight-finding-v1",
            kind.as_str(),
            account,
            region,
            event_source,
            &names.join(&ITEM_SEP.to_string()),
            &opt(principal),
            &opt(error_code),
            &start.timestamp().to_string(),
        ] {
            input.push_str(part);
            input.push(FIELD_SEP);
        }
        format!("{:016x}", xxhash_rust::xxh3::xxh3_64(input.as_bytes()))
    }

    /// [`Finding::stable_id`] of this finding's own identifying fields.
    pub fn compute_id(&self) -> String {
        Finding::stable_id(
            self.kind,
            &self.account,
            &self.region,
            &self.event_source,
            &self.event_names,
            self.principal.as_deref(),
            self.error_code.as_deref(),
            self.start,
        )
    }

    /// The anomalous window, in epoch seconds.
    pub fn window(&self) -> TimeRange {
        TimeRange::new(self.start.timestamp(), self.end.timestamp())
    }

    /// The anomalous window's length in minutes (fractional; 0 if `end` is not after `start`).
    pub fn duration_minutes(&self) -> f64 {
        minutes_between(self.start, self.end)
    }
}

fn minutes_between(start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
    ((end - start).num_milliseconds().max(0) as f64) / 60_000.0
}

/// Score for ordering: NaN sorts as the lowest score.
fn sort_score(s: f64) -> f64 {
    if s.is_nan() {
        f64::NEG_INFINITY
    } else {
        s
    }
}

/// The findings order: score descending (a NaN score last), then start ascending, then id
/// ascending. Every list of findings a user sees is in this order.
pub fn cmp_findings(a: &Finding, b: &Finding) -> Ordering {
    sort_score(b.score)
        .total_cmp(&sort_score(a.score))
        .then_with(|| a.start.cmp(&b.start))
        .then_with(|| a.id.cmp(&b.id))
}

/// Sorts findings by score descending, then start ascending, then id ascending: a total,
/// deterministic order (a NaN score sorts last).
pub fn sort_findings(v: &mut [Finding]) {
    v.sort_by(cmp_findings);
}

/// Reading or writing a findings file failed.
#[derive(Debug, thiserror::Error)]
pub enum FindingError {
    /// The file could not be read, written or renamed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (or temporary file) concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of a findings file is not a valid finding.
    #[error("{}:{line}: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FindingError + '_ {
    move |source| FindingError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The findings as JSON Lines: one object per line, in [`sort_findings`] order, each line
/// ending in `\n`. Non-finite numbers (which a detector should never produce) would be written
/// as `null` and then fail to read back.
pub fn to_jsonl(findings: &[Finding]) -> String {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| cmp_findings(a, b));
    let mut out = String::new();
    for f in sorted {
        // Serialising these plain data types to a string cannot fail.
        out.push_str(&serde_json::to_string(f).expect("finding serialises"));
        out.push('\n');
    }
    out
}

/// Writes [`to_jsonl`] of `findings` to `path` atomically: a temporary file in the same
/// directory, fsync, rename over `path`, fsync of the directory. Readers see the old file or the
/// new one, never a part.
pub fn write_jsonl(path: &Path, findings: &[Finding]) -> Result<(), FindingError> {
    write_atomic(path, to_jsonl(findings).as_bytes())
}

/// Reads a findings file written by [`write_jsonl`]. Blank lines are ignored; any other line
/// that is not a finding is an error naming the file and the line.
pub fn read_jsonl(path: &Path) -> Result<Vec<Finding>, FindingError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f = serde_json::from_str::<Finding>(line).map_err(|e| FindingError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        out.push(f);
    }
    Ok(out)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FindingError> {
    crate::state::write_atomic(path, bytes).map_err(|e| match e {
        crate::state::StateError::Io { path, source } => FindingError::Io { path, source },
        other => FindingError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

// ---------------------------------------------------------------------------------------------
// CloudTrail Insights output
// ---------------------------------------------------------------------------------------------

/// How many values per attribute AWS puts in an Insights event's `attributions`.
const INSIGHT_TOP_N: usize = 5;

// The records are typed so that fields come out in the order AWS's own records use, whatever
// serde_json's map ordering.

#[derive(Serialize)]
struct InsightsDoc {
    #[serde(rename = "Records")]
    records: Vec<InsightRecord>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InsightRecord {
    event_version: &'static str,
    event_time: String,
    aws_region: String,
    #[serde(rename = "eventID")]
    event_id: String,
    event_type: &'static str,
    recipient_account_id: String,
    #[serde(rename = "sharedEventID")]
    shared_event_id: String,
    insight_details: InsightDetails,
    event_category: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InsightDetails {
    state: &'static str,
    event_source: String,
    event_name: String,
    insight_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
    source_event_category: &'static str,
    insight_context: InsightContext,
}

#[derive(Serialize, Clone)]
struct InsightContext {
    statistics: InsightStatistics,
    attributions: Vec<InsightAttribution>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct InsightStatistics {
    baseline: InsightAverage,
    insight: InsightAverage,
    insight_duration: u64,
    baseline_duration: u64,
}

#[derive(Serialize, Clone)]
struct InsightAverage {
    average: f64,
}

#[derive(Serialize, Clone)]
struct InsightAttribution {
    attribute: &'static str,
    insight: Vec<InsightValue>,
    baseline: Vec<InsightValue>,
}

#[derive(Serialize, Clone)]
struct InsightValue {
    value: String,
    average: f64,
}

/// A UUID-format string (8-4-4-4-12 lowercase hex) from xxh3-128 of `seed`, with the RFC 9562
/// variant bits and version 8 ("custom") set: deterministic, and honest about not being random.
fn uuid_from(seed: &str) -> String {
    let mut b = xxhash_rust::xxh3::xxh3_128(seed.as_bytes()).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Rounds to 10 decimal places, as AWS prints averages, keeping JSON free of `…0000000004` noise.
fn round10(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1e10).round() / 1e10
    } else {
        x
    }
}

/// Whole minutes for the `*Duration` fields: rounded up, at least 1.
fn whole_minutes(minutes: f64) -> u64 {
    if minutes.is_finite() && minutes > 1.0 {
        minutes.ceil() as u64
    } else {
        1
    }
}

/// One `[{"value","average"}]` list: the top [`INSIGHT_TOP_N`] by count, largest first (ties by
/// value), zero counts left out, averages per minute over `minutes`; an empty value is AWS's
/// `"null"`.
fn top_averages(
    items: &[Attribution],
    count: fn(&Attribution) -> u64,
    minutes: f64,
) -> Vec<InsightValue> {
    let mut v: Vec<&Attribution> = items.iter().filter(|a| count(a) > 0).collect();
    v.sort_by(|a, b| count(b).cmp(&count(a)).then_with(|| a.value.cmp(&b.value)));
    let minutes = minutes.max(1.0);
    v.into_iter()
        .take(INSIGHT_TOP_N)
        .map(|a| InsightValue {
            value: if a.value.is_empty() {
                "null".to_string()
            } else {
                a.value.clone()
            },
            average: round10(count(a) as f64 / minutes),
        })
        .collect()
}

fn attribution_block(
    attribute: &'static str,
    items: &[Attribution],
    insight_minutes: f64,
    baseline_minutes: f64,
) -> InsightAttribution {
    InsightAttribution {
        attribute,
        insight: top_averages(items, |a| a.insight_count, insight_minutes),
        baseline: top_averages(items, |a| a.baseline_count, baseline_minutes),
    }
}

/// The two Insights records (Start, End) for one call-rate or error-rate finding.
fn insight_records(f: &Finding, insight_type: &'static str) -> [InsightRecord; 2] {
    let is_error = f.kind == FindingKind::ErrorRate;
    let insight_minutes = f.duration_minutes();
    let baseline_minutes = f.baseline_window.minutes();
    let statistics = InsightStatistics {
        baseline: InsightAverage {
            average: round10(f.expected.per_minute),
        },
        insight: InsightAverage {
            average: round10(f.observed.per_minute),
        },
        insight_duration: whole_minutes(insight_minutes),
        baseline_duration: whole_minutes(baseline_minutes),
    };

    let mut attributions = Vec::new();
    for (attribute, items) in [
        ("userIdentityArn", &f.attributions.principal),
        ("userAgent", &f.attributions.user_agent),
    ] {
        if !items.is_empty() {
            attributions.push(attribution_block(
                attribute,
                items,
                insight_minutes,
                baseline_minutes,
            ));
        }
    }
    if !is_error {
        // AWS lists error codes on call-rate insights; calls without an error show as the
        // string "null" carrying the whole average, which is what we say when we know of none.
        if f.attributions.error_code.is_empty() {
            let null = |average: f64| {
                vec![InsightValue {
                    value: "null".into(),
                    average: round10(average),
                }]
            };
            attributions.push(InsightAttribution {
                attribute: "errorCode",
                insight: null(f.observed.per_minute),
                baseline: null(f.expected.per_minute),
            });
        } else {
            attributions.push(attribution_block(
                "errorCode",
                &f.attributions.error_code,
                insight_minutes,
                baseline_minutes,
            ));
        }
    }
    let context = InsightContext {
        statistics,
        attributions,
    };

    let error_code = is_error.then(|| {
        f.error_code
            .clone()
            .or_else(|| f.attributions.error_code.first().map(|a| a.value.clone()))
            .unwrap_or_default()
    });
    let event_name = f.event_names.first().cloned().unwrap_or_default();
    let shared = uuid_from(&format!("{}{FIELD_SEP}shared", f.id));
    let record = |state: &'static str, time: &DateTime<Utc>| InsightRecord {
        event_version: "1.08",
        event_time: crate::time::format_datetime(time),
        aws_region: f.region.clone(),
        event_id: uuid_from(&format!(
            "{}{FIELD_SEP}{}",
            f.id,
            state.to_ascii_lowercase()
        )),
        event_type: "AwsCloudTrailInsight",
        recipient_account_id: f.account.clone(),
        shared_event_id: shared.clone(),
        insight_details: InsightDetails {
            state,
            event_source: f.event_source.clone(),
            event_name: event_name.clone(),
            insight_type,
            error_code: error_code.clone(),
            source_event_category: "Management",
            insight_context: context.clone(),
        },
        event_category: "Insight",
    };
    [record("Start", &f.start), record("End", &f.end)]
}

fn insights_doc(findings: &[Finding]) -> InsightsDoc {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| cmp_findings(a, b));
    let mut records = Vec::new();
    for f in sorted {
        if let Some(t) = f.kind.insight_type() {
            records.extend(insight_records(f, t));
        }
    }
    InsightsDoc { records }
}

/// The call-rate (`ApiCallRateInsight`, from [`FindingKind::CallRateSpike`] and
/// [`FindingKind::CallRateDrop`]) and error-rate (`ApiErrorRateInsight`, from
/// [`FindingKind::ErrorRate`]) findings as CloudTrail Insights events, `{"Records":[...]}`;
/// other kinds have no Insights equivalent and are left out.
///
/// Each finding gives a Start record (`eventTime` = start) and an End record (`eventTime` = end)
/// sharing a `sharedEventID`, in [`sort_findings`] order. The records follow AWS's documented
/// Insights schema: `eventVersion` `1.08`, `eventTime`, `awsRegion`, `eventID`, `eventType`
/// `AwsCloudTrailInsight`, `recipientAccountId`, `sharedEventID`, `insightDetails` (`state`,
/// `eventSource`, `eventName`, `insightType`, `errorCode` for error-rate insights only,
/// `sourceEventCategory` `Management`, `insightContext` with `statistics` and `attributions`)
/// and `eventCategory` `Insight`. Mapping:
///
/// - `statistics.baseline.average` / `insight.average`: the expected and observed per-minute
///   averages over the whole window (AWS's Start record reports the first minutes instead; we
///   emit both records at once and report the window's average in both);
/// - `insightDuration` / `baselineDuration`: whole minutes (rounded up, at least 1), in both
///   records, as in AWS's current examples and field reference;
/// - `attributions`: up to 5 values each, largest first, for `userIdentityArn` (principal) and
///   `userAgent`, and for call-rate insights `errorCode` (the string `"null"` for calls without
///   an error, as AWS does); averages are counts divided by the insight or baseline window's
///   minutes; an attribute with no data is left out;
/// - `eventName`: the finding's first event name (call-rate and error-rate findings are per API);
/// - `eventID`s and `sharedEventID`: UUID-format strings derived from the finding id, so the
///   same finding gives the same ids on every run.
///
/// The returned [`Value`]'s object keys follow serde_json's map order; [`to_insights_string`]
/// and [`write_insights`] keep AWS's field order.
pub fn to_insights(findings: &[Finding]) -> Value {
    serde_json::to_value(insights_doc(findings)).expect("insights serialise")
}

/// [`to_insights`] as pretty-printed JSON text with a final newline, fields in the order AWS's
/// records use: what [`write_insights`] writes.
pub fn to_insights_string(findings: &[Finding]) -> String {
    let mut text =
        serde_json::to_string_pretty(&insights_doc(findings)).expect("insights serialise");
    text.push('\n');
    text
}

/// Writes [`to_insights_string`] of `findings` to `path` atomically, like [`write_jsonl`].
pub fn write_insights(path: &Path, findings: &[Finding]) -> Result<(), FindingError> {
    write_atomic(path, to_insights_string(findings).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn attr(value: &str, ic: u64, is: f64, bc: u64, bs: f64) -> Attribution {
        Attribution {
            value: value.into(),
            insight_count: ic,
            insight_share: is,
            baseline_count: bc,
            baseline_share: bs,
        }
    }

    /// A call-rate spike, an error-rate finding and an IAM burst, built by hand.
    fn sample() -> Vec<Finding> {
        let baseline_window = TimeRange::new(
            t(2025, 12, 8, 10, 0).timestamp(),
            t(2026, 1, 5, 10, 0).timestamp(),
        );
        let spike_names = vec!["RunInstances".to_string()];
        let mut details = Map::new();
        details.insert("dispersion".into(), json!(0.35));
        details.insert("expected_run_time".into(), Value::Null);
        let spike = Finding {
            id: Finding::stable_id(
                FindingKind::CallRateSpike,
                "111122223333",
                "us-east-1",
                "ec2.amazonaws.com",
                &spike_names,
                None,
                None,
                t(2026, 1, 5, 10, 0),
            ),
            kind: FindingKind::CallRateSpike,
            account: "111122223333".into(),
            region: "us-east-1".into(),
            event_source: "ec2.amazonaws.com".into(),
            event_names: spike_names,
            read_only: Some(false),
            principal: None,
            error_code: None,
            start: t(2026, 1, 5, 10, 0),
            end: t(2026, 1, 5, 10, 10),
            score: 97.5,
            severity: Severity::from_score(97.5),
            p_value: 1.25e-9,
            observed: Amount {
                total: 420.0,
                per_minute: 42.0,
            },
            expected: Amount {
                total: 3.0,
                per_minute: 0.3,
            },
            baseline_window,
            attributions: Attributions {
                principal: vec![
                    attr(
                        "arn:aws:iam::111122223333:role/ci-deployer",
                        400,
                        0.952381,
                        200,
                        0.5,
                    ),
                    attr(
                        "arn:aws:iam::111122223333:role/autoscaler",
                        20,
                        0.047619,
                        200,
                        0.5,
                    ),
                ],
                user_agent: vec![attr("aws-cli/2.15.0", 420, 1.0, 400, 1.0)],
                source_ip: vec![attr("203.0.113.7", 420, 1.0, 0, 0.0)],
                error_code: vec![],
            },
            explanation: "RunInstances in 111122223333/us-east-1: 420 calls in 10 min \
                          (42.0/min) against an expected 0.3/min."
                .into(),
            example_event_ids: vec!["0a1b2c3d-0000-4000-8000-000000000001".into()],
            access_key_ids: vec!["ASIAEXAMPLEKEY000001".into()],
            details,
        };

        let err_names = vec!["GetSecretValue".to_string()];
        let errors = Finding {
            id: Finding::stable_id(
                FindingKind::ErrorRate,
                "111122223333",
                "eu-west-1",
                "secretsmanager.amazonaws.com",
                &err_names,
                None,
                Some("AccessDenied"),
                t(2026, 1, 5, 10, 30),
            ),
            kind: FindingKind::ErrorRate,
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            event_source: "secretsmanager.amazonaws.com".into(),
            event_names: err_names,
            read_only: Some(true),
            principal: None,
            error_code: Some("AccessDenied".into()),
            start: t(2026, 1, 5, 10, 30),
            end: t(2026, 1, 5, 10, 35),
            score: 81.0,
            severity: Severity::from_score(81.0),
            p_value: 3.0e-6,
            observed: Amount {
                total: 60.0,
                per_minute: 12.0,
            },
            expected: Amount {
                total: 0.05,
                per_minute: 0.01,
            },
            baseline_window,
            attributions: Attributions {
                principal: vec![attr(
                    "arn:aws:iam::111122223333:user/mallory",
                    60,
                    1.0,
                    0,
                    0.0,
                )],
                user_agent: vec![attr("python-requests/2.31", 60, 1.0, 0, 0.0)],
                source_ip: vec![attr("198.51.100.23", 60, 1.0, 0, 0.0)],
                error_code: vec![attr("AccessDenied", 60, 1.0, 12, 1.0)],
            },
            explanation: "GetSecretValue returned AccessDenied 60 times in 5 min; \
                          the baseline is 0.01/min."
                .into(),
            example_event_ids: vec![],
            access_key_ids: vec!["AKIAEXAMPLEKEY000002".into()],
            details: Map::new(),
        };

        let iam_names = vec!["CreateUser".to_string(), "CreateAccessKey".to_string()];
        let principal = "arn:aws:iam::444455556666:user/intern";
        let iam = Finding {
            id: Finding::stable_id(
                FindingKind::IamBurst,
                "444455556666",
                "us-east-1",
                "iam.amazonaws.com",
                &iam_names,
                Some(principal),
                None,
                t(2026, 1, 5, 22, 1),
            ),
            kind: FindingKind::IamBurst,
            account: "444455556666".into(),
            region: "us-east-1".into(),
            event_source: "iam.amazonaws.com".into(),
            event_names: iam_names,
            read_only: None,
            principal: Some(principal.into()),
            error_code: None,
            start: t(2026, 1, 5, 22, 1),
            end: t(2026, 1, 5, 22, 7),
            score: 45.0,
            severity: Severity::from_score(45.0),
            p_value: 0.02,
            observed: Amount {
                total: 14.0,
                per_minute: 2.3333333333,
            },
            expected: Amount {
                total: 0.0,
                per_minute: 0.0,
            },
            baseline_window,
            attributions: Attributions::default(),
            explanation: "CreateUser by arn:aws:iam::444455556666:user/intern 14 calls in 6 min; \
                          this principal made 0 IAM writes in the previous 28 days."
                .into(),
            example_event_ids: vec![],
            access_key_ids: vec![],
            details: Map::new(),
        };
        vec![iam, spike, errors]
    }

    use crate::testing::check_golden;

    #[test]
    fn finding_jsonl_matches_golden_file() {
        check_golden("findings.jsonl", &to_jsonl(&sample()));
    }

    #[test]
    fn insights_match_golden_file() {
        check_golden("insights.json", &to_insights_string(&sample()));
    }

    #[test]
    fn jsonl_has_fixed_schema_and_formats() {
        let text = to_jsonl(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(text.ends_with('\n'));
        let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
        let first: Value = serde_json::from_str(lines[0]).unwrap();
        for line in &lines {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(keys(&v), keys(&first), "every line has the same keys");
            assert_eq!(v.as_object().unwrap().len(), 22);
        }
        // The IAM burst (lowest score, last line) has nulls, not missing keys.
        let last: Value = serde_json::from_str(lines[2]).unwrap();
        assert_eq!(last["kind"], "iam_burst");
        assert_eq!(last["read_only"], Value::Null);
        assert_eq!(last["error_code"], Value::Null);
        assert_eq!(last["severity"], "low");
        assert_eq!(last["start"], "2026-01-05T22:01:00Z");
        assert_eq!(last["baseline_window"]["start"], "2025-12-08T10:00:00Z");
        assert!(last["score"].is_f64());
        assert_eq!(first["kind"], "call_rate_spike");
        assert_eq!(first["severity"], "critical");
        assert_eq!(first["p_value"], json!(1.25e-9));
    }

    #[test]
    fn timestamps_drop_subseconds_and_accept_offsets() {
        let mut f = sample().remove(1);
        f.start = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap()
            + chrono::Duration::milliseconds(999);
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["start"], "2026-01-05T10:00:00Z");
        let mut v2 = v.clone();
        v2["end"] = json!("2026-01-05T12:10:00+02:00");
        let back: Finding = serde_json::from_value(v2).unwrap();
        assert_eq!(back.end, t(2026, 1, 5, 10, 10));
        let mut bad = v;
        bad["end"] = json!("yesterday");
        let err = serde_json::from_value::<Finding>(bad).unwrap_err();
        assert!(err.to_string().contains("invalid RFC 3339"), "{err}");
    }

    #[test]
    fn write_then_read_round_trips_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("findings.jsonl");
        let mut v = sample();
        write_jsonl(&path, &v).unwrap();
        // Overwriting works too.
        write_jsonl(&path, &v).unwrap();
        let back = read_jsonl(&path).unwrap();
        sort_findings(&mut v);
        assert_eq!(back, v);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("findings.jsonl")]);

        let ipath = dir.path().join("insights.json");
        write_insights(&ipath, &v).unwrap();
        let parsed: Value = serde_json::from_str(&fs::read_to_string(&ipath).unwrap()).unwrap();
        assert_eq!(parsed, to_insights(&v));
    }

    #[test]
    fn read_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl");
        let mut text = to_jsonl(&sample());
        text.push('\n'); // a blank line is fine
        text.push_str("{\"id\": \"x\"}\n");
        fs::write(&path, text).unwrap();
        match read_jsonl(&path) {
            Err(e @ FindingError::Parse { line: 5, .. }) => {
                let msg = e.to_string();
                assert!(msg.starts_with(&format!("{}:5: ", path.display())), "{msg}");
            }
            other => panic!("expected a parse error on line 5, got {other:?}"),
        }
        let missing = dir.path().join("nope.jsonl");
        match read_jsonl(&missing) {
            Err(e @ FindingError::Io { .. }) => {
                assert!(e.to_string().contains("nope.jsonl"), "{e}")
            }
            other => panic!("expected an io error, got {other:?}"),
        }
        // Writing into a directory that does not exist fails cleanly.
        let bad = dir.path().join("no/such/dir/f.jsonl");
        assert!(matches!(
            write_jsonl(&bad, &sample()),
            Err(FindingError::Io { .. })
        ));
    }

    #[test]
    fn sort_is_score_desc_then_start_then_id() {
        let base = sample().remove(0);
        let mk = |id: &str, score: f64, start: DateTime<Utc>| Finding {
            id: id.into(),
            score,
            start,
            ..base.clone()
        };
        let mut v = vec![
            mk("b", 50.0, t(2026, 1, 1, 0, 0)),
            mk("z", f64::NAN, t(2026, 1, 1, 0, 0)),
            mk("a", 50.0, t(2026, 1, 1, 0, 0)),
            mk("c", 50.0, t(2025, 12, 31, 0, 0)),
            mk("d", 99.0, t(2026, 2, 1, 0, 0)),
            mk("e", 0.0, t(2020, 1, 1, 0, 0)),
        ];
        sort_findings(&mut v);
        let ids: Vec<&str> = v.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["d", "c", "a", "b", "e", "z"]);
        // to_jsonl uses the same order whatever the input order.
        let mut rev = v.clone();
        rev.reverse();
        assert_eq!(to_jsonl(&rev), to_jsonl(&v));
    }

    #[test]
    fn severity_bands() {
        let cases = [
            (0.0, Severity::Low),
            (49.999, Severity::Low),
            (50.0, Severity::Medium),
            (69.9, Severity::Medium),
            (70.0, Severity::High),
            (89.99, Severity::High),
            (90.0, Severity::Critical),
            (100.0, Severity::Critical),
            (f64::NAN, Severity::Low),
        ];
        for (score, want) in cases {
            assert_eq!(Severity::from_score(score), want, "score {score}");
        }
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::High < Severity::Critical);
        assert_eq!("High".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.to_string()));
        }
    }

    #[test]
    fn kind_names_round_trip() {
        for k in FindingKind::ALL {
            assert_eq!(k.as_str().parse::<FindingKind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
            assert_eq!(k.to_string(), k.as_str());
        }
        assert_eq!(
            "Call-Rate-Spike".parse::<FindingKind>().unwrap(),
            FindingKind::CallRateSpike
        );
        let err = "spike".parse::<FindingKind>().unwrap_err();
        assert!(err.to_string().contains("rare_action"), "{err}");
    }

    #[test]
    fn stable_id_is_stable_and_sensitive() {
        let names = vec!["CreateUser".to_string(), "CreateAccessKey".to_string()];
        let start = t(2026, 1, 5, 22, 1);
        let id = |kind, acct: &str, names: &[String], p: Option<&str>, e: Option<&str>, s| {
            Finding::stable_id(kind, acct, "us-east-1", "iam.amazonaws.com", names, p, e, s)
        };
        let a = id(
            FindingKind::IamBurst,
            "1",
            &names,
            Some("arn:x"),
            None,
            start,
        );
        assert_eq!(a.len(), 16);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // Pinned: the same input gives this id on every run and platform.
        assert_eq!(
            a,
            id(
                FindingKind::IamBurst,
                "1",
                &names,
                Some("arn:x"),
                None,
                start
            )
        );
        let golden = sample();
        assert_eq!(golden[1].id, golden[1].compute_id());
        // Name order and duplicates do not matter.
        let swapped = vec![
            "CreateAccessKey".to_string(),
            "CreateUser".to_string(),
            "CreateUser".to_string(),
        ];
        assert_eq!(
            a,
            id(
                FindingKind::IamBurst,
                "1",
                &swapped,
                Some("arn:x"),
                None,
                start
            )
        );
        // Every identifying field matters.
        let others = [
            id(
                FindingKind::RareAction,
                "1",
                &names,
                Some("arn:x"),
                None,
                start,
            ),
            id(
                FindingKind::IamBurst,
                "2",
                &names,
                Some("arn:x"),
                None,
                start,
            ),
            id(
                FindingKind::IamBurst,
                "1",
                &names[..1],
                Some("arn:x"),
                None,
                start,
            ),
            id(
                FindingKind::IamBurst,
                "1",
                &names,
                Some("arn:y"),
                None,
                start,
            ),
            id(FindingKind::IamBurst, "1", &names, None, None, start),
            id(FindingKind::IamBurst, "1", &names, Some(""), None, start),
            id(
                FindingKind::IamBurst,
                "1",
                &names,
                Some("arn:x"),
                Some("E"),
                start,
            ),
            id(
                FindingKind::IamBurst,
                "1",
                &names,
                Some("arn:x"),
                None,
                start + chrono::Duration::seconds(1),
            ),
            Finding::stable_id(
                FindingKind::IamBurst,
                "1",
                "us-west-2",
                "iam.amazonaws.com",
                &names,
                Some("arn:x"),
                None,
                start,
            ),
            Finding::stable_id(
                FindingKind::IamBurst,
                "1",
                "us-east-1",
                "sts.amazonaws.com",
                &names,
                Some("arn:x"),
                None,
                start,
            ),
        ];
        let mut all: Vec<&String> = others.iter().collect();
        all.push(&a);
        let before = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), before, "ids must all differ: {others:?}");
        // Shifting text between adjacent fields does not collide.
        assert_ne!(
            Finding::stable_id(FindingKind::IamBurst, "12", "3", "", &[], None, None, start),
            Finding::stable_id(FindingKind::IamBurst, "1", "23", "", &[], None, None, start)
        );
        // Score and attributions do not enter the id.
        let mut f = golden[0].clone();
        f.score = 1.0;
        f.attributions = Attributions::default();
        f.explanation.clear();
        assert_eq!(f.compute_id(), golden[0].id);
    }

    // ---- CloudTrail Insights ----------------------------------------------------------------

    /// The JSON type of a value, with integers and floats both "number".
    fn json_type(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Every key path in `v` with its JSON type; array elements are `[]`.
    fn key_paths(v: &Value, prefix: &str, out: &mut BTreeMap<String, &'static str>) {
        out.insert(prefix.to_string(), json_type(v));
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    key_paths(x, &format!("{prefix}.{k}"), out);
                }
            }
            Value::Array(a) => {
                for x in a {
                    key_paths(x, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }

    fn aws_examples() -> Value {
        let text =
            fs::read_to_string(crate::testing::golden_path("aws_insight_example.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// AWS's example records, keyed by (insightType, state).
    fn aws_records() -> Vec<(String, Value)> {
        let doc = aws_examples();
        let mut out = Vec::new();
        for ex in doc["examples"].as_array().unwrap() {
            let source = ex["source"].as_str().unwrap().to_string();
            for r in ex["Records"].as_array().unwrap() {
                out.push((source.clone(), r.clone()));
            }
        }
        out
    }

    /// Key paths of `theirs` missing from `mine` or of another JSON type there.
    fn schema_mismatches(theirs: &Value, mine: &Value) -> Vec<String> {
        let mut want = BTreeMap::new();
        key_paths(theirs, "", &mut want);
        let mut have = BTreeMap::new();
        key_paths(mine, "", &mut have);
        want.iter()
            .filter(|(path, t)| have.get(*path) != Some(*t))
            .map(|(path, t)| format!("{path} ({t}; ours: {:?})", have.get(path)))
            .collect()
    }

    /// Our record of the same insightType and state as `theirs`.
    fn counterpart<'a>(ours: &'a [Value], theirs: &Value) -> &'a Value {
        let ty = &theirs["insightDetails"]["insightType"];
        let state = &theirs["insightDetails"]["state"];
        ours.iter()
            .find(|r| {
                &r["insightDetails"]["insightType"] == ty && &r["insightDetails"]["state"] == state
            })
            .unwrap_or_else(|| panic!("we emit no {ty} {state} record"))
    }

    #[test]
    fn insights_match_aws_documented_schema() {
        let ours = to_insights(&sample());
        let ours = ours["Records"].as_array().unwrap();
        let aws = aws_records();
        assert!(aws.len() >= 5, "the examples file holds AWS's records");
        for (source, theirs) in &aws {
            let mine = counterpart(ours, theirs);
            let bad = schema_mismatches(theirs, mine);
            assert!(
                bad.is_empty(),
                "{} {}: AWS's example ({source}) has key paths ours lacks or types differently: {bad:#?}",
                theirs["insightDetails"]["insightType"],
                theirs["insightDetails"]["state"]
            );
            // Fixed values AWS documents.
            assert_eq!(mine["eventType"], "AwsCloudTrailInsight");
            assert_eq!(mine["eventCategory"], "Insight");
            assert!(
                mine["insightDetails"]["insightContext"]["statistics"]["insightDuration"].is_u64()
            );
            assert!(
                mine["insightDetails"]["insightContext"]["statistics"]["baselineDuration"].is_u64()
            );
        }
    }

    #[test]
    fn schema_comparison_catches_missing_and_mistyped_fields() {
        let ours = to_insights(&sample());
        let ours = ours["Records"].as_array().unwrap();
        let (source, theirs) = aws_records().into_iter().last().unwrap();
        let mine = counterpart(ours, &theirs);
        assert!(schema_mismatches(&theirs, mine).is_empty(), "{source}");
        let mut missing = mine.clone();
        missing["insightDetails"]["insightContext"]["statistics"]
            .as_object_mut()
            .unwrap()
            .remove("baselineDuration");
        assert_eq!(schema_mismatches(&theirs, &missing).len(), 1);
        let mut mistyped = mine.clone();
        mistyped["insightDetails"]["errorCode"] = json!(null);
        assert_eq!(schema_mismatches(&theirs, &mistyped).len(), 1);
        let mut no_attr = mine.clone();
        no_attr["insightDetails"]["insightContext"]["attributions"] = json!([]);
        assert!(schema_mismatches(&theirs, &no_attr).len() > 1);
    }

    #[test]
    fn aws_examples_pair_start_and_end() {
        // Sanity of the reference file itself: each documented pair shares its sharedEventID.
        for ex in aws_examples()["examples"].as_array().unwrap() {
            let recs = ex["Records"].as_array().unwrap();
            if ex["pair"] == true {
                assert_eq!(recs.len(), 2);
                assert_eq!(recs[0]["sharedEventID"], recs[1]["sharedEventID"]);
                assert_ne!(recs[0]["eventID"], recs[1]["eventID"]);
            }
        }
    }

    #[test]
    fn insights_records_pair_up_and_carry_the_numbers() {
        let findings = sample();
        let doc = to_insights(&findings);
        let recs = doc["Records"].as_array().unwrap();
        // The IAM burst has no Insights equivalent: 2 findings × (Start, End).
        assert_eq!(recs.len(), 4);
        let uuid_ok = |s: &str| {
            let parts: Vec<&str> = s.split('-').collect();
            parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
                && s.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
        };
        for pair in recs.chunks(2) {
            let (s, e) = (&pair[0], &pair[1]);
            assert_eq!(s["insightDetails"]["state"], "Start");
            assert_eq!(e["insightDetails"]["state"], "End");
            assert_eq!(s["sharedEventID"], e["sharedEventID"]);
            assert_ne!(s["eventID"], e["eventID"]);
            for r in pair {
                assert!(uuid_ok(r["eventID"].as_str().unwrap()));
                assert!(uuid_ok(r["sharedEventID"].as_str().unwrap()));
                assert_eq!(r["eventVersion"], "1.08");
            }
        }
        // First pair: the call-rate spike (highest score).
        let s = &recs[0];
        let e = &recs[1];
        assert_eq!(s["eventTime"], "2026-01-05T10:00:00Z");
        assert_eq!(e["eventTime"], "2026-01-05T10:10:00Z");
        assert_eq!(s["awsRegion"], "us-east-1");
        assert_eq!(s["recipientAccountId"], "111122223333");
        let d = &e["insightDetails"];
        assert_eq!(d["eventSource"], "ec2.amazonaws.com");
        assert_eq!(d["eventName"], "RunInstances");
        assert_eq!(d["insightType"], "ApiCallRateInsight");
        assert!(d.get("errorCode").is_none());
        let st = &d["insightContext"]["statistics"];
        assert_eq!(st["baseline"]["average"], json!(0.3));
        assert_eq!(st["insight"]["average"], json!(42.0));
        assert_eq!(st["insightDuration"], json!(10));
        assert_eq!(st["baselineDuration"], json!(28 * 24 * 60));
        let attrs = d["insightContext"]["attributions"].as_array().unwrap();
        let names: Vec<&str> = attrs
            .iter()
            .map(|a| a["attribute"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["userIdentityArn", "userAgent", "errorCode"]);
        // 400 calls in 10 minutes; 200 calls in 28 days.
        assert_eq!(
            attrs[0]["insight"][0],
            json!({"value": "arn:aws:iam::111122223333:role/ci-deployer", "average": 40.0})
        );
        assert_eq!(
            attrs[0]["baseline"][0]["average"],
            json!(round10(200.0 / 40320.0))
        );
        assert_eq!(attrs[2]["insight"][0]["value"], "null");
        assert_eq!(attrs[2]["insight"][0]["average"], json!(42.0));

        // Second pair: the error-rate finding carries its error code, no errorCode attribution.
        let d = &recs[2]["insightDetails"];
        assert_eq!(d["insightType"], "ApiErrorRateInsight");
        assert_eq!(d["errorCode"], "AccessDenied");
        let attrs = d["insightContext"]["attributions"].as_array().unwrap();
        assert_eq!(attrs.len(), 2);
        // No baseline activity for mallory: an empty list, as in AWS's examples.
        assert_eq!(attrs[0]["baseline"], json!([]));

        // Same findings, same bytes.
        assert_eq!(to_insights(&findings), to_insights(&sample()));

        // The written text keeps AWS's field order.
        let text = to_insights_string(&findings);
        let end = text.find("\"eventCategory\"").unwrap();
        let order = [
            "\"eventVersion\"",
            "\"eventTime\"",
            "\"awsRegion\"",
            "\"eventID\"",
            "\"eventType\"",
            "\"recipientAccountId\"",
            "\"sharedEventID\"",
            "\"insightDetails\"",
            "\"state\"",
            "\"eventSource\"",
            "\"eventName\"",
            "\"insightType\"",
            "\"sourceEventCategory\"",
            "\"insightContext\"",
            "\"statistics\"",
            "\"attributions\"",
        ];
        let pos: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
        assert!(pos[pos.len() - 1] < end);
    }

    #[test]
    fn insights_attributions_keep_top_five() {
        let mut f = sample().remove(1);
        assert_eq!(f.kind, FindingKind::CallRateSpike);
        f.attributions.principal = (0..8)
            .map(|i| attr(&format!("arn:p{i}"), 10 + i, 0.1, 8 - i, 0.1))
            .collect();
        let doc = to_insights(&[f]);
        let a = &doc["Records"][0]["insightDetails"]["insightContext"]["attributions"][0];
        let vals = |k: &str| -> Vec<String> {
            a[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x["value"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            vals("insight"),
            ["arn:p7", "arn:p6", "arn:p5", "arn:p4", "arn:p3"]
        );
        assert_eq!(
            vals("baseline"),
            ["arn:p0", "arn:p1", "arn:p2", "arn:p3", "arn:p4"]
        );
    }
}
