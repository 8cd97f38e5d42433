//! The call-rate and error-rate findings as CloudTrail Insights events, in AWS's own record
//! schema, so tools that consume AWS's Insights events consume ours unchanged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

use super::{
    cmp_findings, write_atomic, Attribution, Finding, FindingError, FindingKind, FIELD_SEP,
};

/// How many values per attribute AWS puts in an Insights event's `attributions`.
const INSIGHT_TOP_N: usize = 5;

// The records are typed, one set of types for what trailsight writes and what it reads of
// AWS's own (`aws-insights`): fields come out in the order AWS's records use, whatever
// serde_json's map ordering, and read back leniently (absent fields take their defaults).

#[derive(Serialize)]
struct InsightsDoc {
    #[serde(rename = "Records")]
    records: Vec<InsightRecord>,
}

/// One CloudTrail Insights event record (a Start or an End).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InsightRecord {
    /// `1.08`.
    pub event_version: String,
    /// The Start or End time.
    pub event_time: String,
    /// Region.
    pub aws_region: String,
    /// This record's id.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// `AwsCloudTrailInsight`.
    pub event_type: String,
    /// Account.
    pub recipient_account_id: String,
    /// Shared by the Start and End records of one insight.
    #[serde(rename = "sharedEventID")]
    pub shared_event_id: String,
    /// What the insight is about.
    pub insight_details: InsightDetails,
    /// `Insight`.
    pub event_category: String,
}

/// `insightDetails`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InsightDetails {
    /// `Start` or `End`.
    pub state: String,
    /// The API's service endpoint.
    pub event_source: String,
    /// The API.
    pub event_name: String,
    /// `ApiCallRateInsight` or `ApiErrorRateInsight`.
    pub insight_type: String,
    /// The error code of an error-rate insight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// `Management`.
    pub source_event_category: String,
    /// Statistics and attributions.
    pub insight_context: InsightContext,
}

/// `insightContext`.
#[derive(Debug, Serialize, Deserialize, Clone, Default, PartialEq)]
#[serde(default)]
pub struct InsightContext {
    /// Averages and durations.
    pub statistics: InsightStatistics,
    /// Top contributors.
    pub attributions: Vec<InsightAttribution>,
}

/// `statistics`.
#[derive(Debug, Serialize, Deserialize, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct InsightStatistics {
    /// Per-minute average of the baseline.
    pub baseline: InsightAverage,
    /// Per-minute average during the insight.
    pub insight: InsightAverage,
    /// Minutes of the insight.
    pub insight_duration: u64,
    /// Minutes of the baseline.
    pub baseline_duration: u64,
}

/// `{"average": …}`.
#[derive(Debug, Serialize, Deserialize, Clone, Default, PartialEq)]
#[serde(default)]
pub struct InsightAverage {
    /// Per minute.
    pub average: Option<f64>,
}

/// One attribute's top values.
#[derive(Debug, Serialize, Deserialize, Clone, Default, PartialEq)]
#[serde(default)]
pub struct InsightAttribution {
    /// `userIdentityArn`, `userAgent` or `errorCode`.
    pub attribute: String,
    /// During the insight.
    pub insight: Vec<InsightValue>,
    /// In the baseline.
    pub baseline: Vec<InsightValue>,
}

/// One value and its per-minute average.
#[derive(Debug, Serialize, Deserialize, Clone, Default, PartialEq)]
#[serde(default)]
pub struct InsightValue {
    /// The value (`"null"` for none).
    pub value: String,
    /// Per minute.
    pub average: f64,
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
        attribute: attribute.into(),
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
            average: Some(round10(f.expected.per_minute)),
        },
        insight: InsightAverage {
            average: Some(round10(f.observed.per_minute)),
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
                attribute: "errorCode".into(),
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
        event_version: "1.08".into(),
        event_time: crate::time::format_datetime(time),
        aws_region: f.region.clone(),
        event_id: uuid_from(&format!(
            "{}{FIELD_SEP}{}",
            f.id,
            state.to_ascii_lowercase()
        )),
        event_type: "AwsCloudTrailInsight".into(),
        recipient_account_id: f.account.clone(),
        shared_event_id: shared.clone(),
        insight_details: InsightDetails {
            state: state.into(),
            event_source: f.event_source.clone(),
            event_name: event_name.clone(),
            insight_type: insight_type.into(),
            error_code: error_code.clone(),
            source_event_category: "Management".into(),
            insight_context: context.clone(),
        },
        event_category: "Insight".into(),
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
/// sharing a `sharedEventID`, in [`super::sort_findings`] order. The records follow AWS's documented
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

/// Writes [`to_insights_string`] of `findings` to `path` atomically, like [`super::write_jsonl`].
pub fn write_insights(path: &Path, findings: &[Finding]) -> Result<(), FindingError> {
    write_atomic(path, to_insights_string(findings).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::tests::{attr, sample};
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::fs;

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
