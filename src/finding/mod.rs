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

use crate::time::TimeRange;

pub mod details;
pub mod insights;
mod score;

pub use details::Details;
pub use insights::{to_insights, to_insights_string, write_insights};
pub use score::{Threshold, ThresholdError};

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
    pub details: Details,
    /// The incident the finding belongs to (`incidents.jsonl`), once grouped.
    #[serde(default)]
    pub incident_id: Option<String>,
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
/// `total` over `minutes` as a reader takes it in: per minute when that reads as a number,
/// else per hour or per day (issue 15: "0.0000/min" for an API called twice a day).
pub fn format_rate(total: f64, minutes: f64) -> String {
    let m = if minutes > 0.0 { total / minutes } else { 0.0 };
    match m {
        m if m <= 0.0 || !m.is_finite() => "0/min".to_string(),
        m if m >= 1.0 => format!("{m:.1}/min"),
        m if m >= 0.1 => format!("{m:.2}/min"),
        m if m * 60.0 >= 0.1 => format!("{:.2}/hour", m * 60.0),
        m => format!("{:.2}/day", m * 1440.0),
    }
}

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

#[cfg(test)]
pub(crate) mod tests;
