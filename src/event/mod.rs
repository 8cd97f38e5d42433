//! The domain vocabulary: a borrowed view of one CloudTrail record, its classification
//! (management, data, insight, network activity) and the normalised [`Event`] the rollups keep.

mod classify;
pub mod context;
mod fast;
mod time;

use std::borrow::Cow;

use serde::Deserialize;

use classify::{infer_read_only, is_legacy_data_api};
pub use context::{absent_configuration, agent_family, network_of};
pub use time::parse_event_time;

/// Longest user agent (in bytes) kept in rollups; longer ones are cut at a char boundary.
/// Attackers control this field, and one 10 MB user agent must not bloat every rollup row.
pub const MAX_FIELD_BYTES: usize = 512;

/// What kind of CloudTrail event a record is. Only [`EventClass::Management`] is aggregated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventClass {
    /// Control-plane API calls, console sign-ins, service events.
    Management,
    /// Object- or item-level data events (S3 GetObject, Lambda Invoke, ...).
    Data,
    /// CloudTrail Insights events.
    Insight,
    /// VPC endpoint network-activity events.
    NetworkActivity,
}

/// Serde view of `userIdentity.sessionContext.sessionIssuer`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer<'a> {
    #[serde(borrow, default)]
    arn: Option<Cow<'a, str>>,
}

/// Serde view of `userIdentity.sessionContext`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow, default)]
    session_issuer: Option<SessionIssuer<'a>>,
}

/// Serde view of `userIdentity`; only the fields a principal is built from.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    principal_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    session_context: Option<SessionContext<'a>>,
}

/// Serde view of one CloudTrail record. Fields the pipeline does not keep are skipped by the
/// parser without being materialised (requestParameters, responseElements, resources, ...).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord<'a> {
    #[serde(borrow, default)]
    event_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "sourceIPAddress")]
    source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "eventID")]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_category: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    management_event: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    read_only: Option<bool>,
    #[serde(borrow, default)]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_identity: Option<UserIdentity<'a>>,
}

/// A boolean, also written as the string `"true"`/`"True"`/`"false"` by some exporters (seen in
/// real trails); any other type is an error that makes the record bad.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B<'a> {
        Bool(bool),
        Str(#[serde(borrow)] Cow<'a, str>),
    }
    match Option::<B<'de>>::deserialize(d)? {
        None => Ok(None),
        Some(B::Bool(b)) => Ok(Some(b)),
        Some(B::Str(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(B::Str(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(B::Str(s)) => Err(serde::de::Error::custom(format!(
            "expected a boolean, found the string {s:?}"
        ))),
    }
}

/// Why one record could not be used. The record is counted and reported, never silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not valid JSON, or a field of the wrong type.
    #[error("invalid record: {0}")]
    Json(String),
    /// A field every CloudTrail record has is absent or empty.
    #[error("record has no {0}")]
    Missing(&'static str),
    /// `eventTime` is not an RFC 3339 timestamp.
    #[error("unparseable eventTime {0:?}")]
    BadTime(String),
}

/// One normalised event as the rollups see it. Strings borrow from the input buffer when they
/// carry no JSON escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// `eventTime` in whole seconds since the Unix epoch (UTC).
    pub time: i64,
    /// `eventID`, or a fingerprint of the record bytes when the record has none.
    pub event_id: Cow<'a, str>,
    /// e.g. `ec2.amazonaws.com`.
    pub event_source: Cow<'a, str>,
    /// e.g. `RunInstances`.
    pub event_name: Cow<'a, str>,
    /// `readOnly`, or inferred from the API name for records that predate the field.
    pub read_only: bool,
    /// `errorCode` of a failed call.
    pub error_code: Option<Cow<'a, str>>,
    /// Who acted: for assumed roles the issuing role's ARN (stable across sessions).
    pub principal: Cow<'a, str>,
    /// `userIdentity.type` (IAMUser, AssumedRole, AWSService, Root, ...).
    pub principal_type: Cow<'a, str>,
    /// For assumed roles and federated users, the session ARN (`userIdentity.arn`).
    pub session_arn: Option<Cow<'a, str>>,
    /// `userIdentity.accessKeyId`.
    pub access_key_id: Option<Cow<'a, str>>,
    /// `sourceIPAddress` (an IP, or a service name for service-originated calls).
    pub source_ip: Cow<'a, str>,
    /// `userAgent`, cut to [`MAX_FIELD_BYTES`].
    pub user_agent: Cow<'a, str>,
    /// `recipientAccountId`, else `userIdentity.accountId`.
    pub account: Cow<'a, str>,
    /// `awsRegion`.
    pub region: Cow<'a, str>,
}

/// A parsed record: its class and, for every class, the normalised fields.
#[derive(Debug)]
pub struct Classified<'a> {
    /// Management, data, insight or network activity.
    pub class: EventClass,
    /// The normalised event.
    pub event: Event<'a>,
}

fn cut(s: Cow<'_, str>, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(&b[..end]),
        Cow::Owned(mut o) => {
            o.truncate(end);
            Cow::Owned(o)
        }
    }
}

fn non_empty<'a>(v: Option<Cow<'a, str>>) -> Option<Cow<'a, str>> {
    v.filter(|s| !s.is_empty())
}

/// Decides the class of a record.
///
/// The rule, in order: `eventType: AwsCloudTrailInsight` is an insight; `eventCategory` when
/// present (Management, Data, Insight, NetworkActivity); else `managementEvent`; else (records
/// before eventVersion 1.06) a data event when the API is one of the object/item-level APIs
/// that only data-event selectors log, and a management event otherwise.
fn classify(raw: &RawRecord<'_>, source: &str, name: &str) -> EventClass {
    if raw.event_type.as_deref() == Some("AwsCloudTrailInsight") {
        return EventClass::Insight;
    }
    match raw.event_category.as_deref() {
        Some("Management") => return EventClass::Management,
        Some("Data") => return EventClass::Data,
        Some("Insight") => return EventClass::Insight,
        Some("NetworkActivity") => return EventClass::NetworkActivity,
        _ => {}
    }
    match raw.management_event {
        Some(true) => EventClass::Management,
        Some(false) => EventClass::Data,
        None if is_legacy_data_api(source, name) => EventClass::Data,
        None => EventClass::Management,
    }
}

/// Derives the principal: who acted, stable across sessions.
fn principal<'a>(ui: &mut UserIdentity<'a>) -> (Cow<'a, str>, Option<Cow<'a, str>>) {
    let kind = ui.kind.as_deref().unwrap_or("");
    let issuer = ui
        .session_context
        .as_mut()
        .and_then(|c| c.session_issuer.as_mut())
        .and_then(|i| non_empty(i.arn.take()));
    match kind {
        "AssumedRole" | "FederatedUser" => match issuer {
            Some(role) => (role, non_empty(ui.arn.take())),
            None => match non_empty(ui.arn.take()) {
                Some(arn) => (arn, None),
                None => (fallback_principal(ui), None),
            },
        },
        "AWSService" => match non_empty(ui.invoked_by.take()) {
            Some(svc) => (svc, None),
            None => (fallback_principal(ui), None),
        },
        _ => match non_empty(ui.arn.take()) {
            Some(arn) => (arn, None),
            None => (fallback_principal(ui), None),
        },
    }
}

fn fallback_principal<'a>(ui: &mut UserIdentity<'a>) -> Cow<'a, str> {
    if let Some(id) = non_empty(ui.principal_id.take()) {
        return id;
    }
    if let Some(name) = non_empty(ui.user_name.take()) {
        return name;
    }
    if let Some(acct) = non_empty(ui.account_id.clone()) {
        return Cow::Owned(format!("account:{acct}"));
    }
    Cow::Borrowed("unknown")
}

/// Parses one record (a JSON object) into its class and normalised fields.
///
/// A fast scanner reads the kept fields of well-formed records; anything unusual (invalid JSON,
/// wrong types, escaped keys, duplicates) goes through serde, which gives the exact error.
pub fn parse_record(bytes: &str) -> Result<Classified<'_>, RecordError> {
    match fast::raw_record(bytes) {
        Some(raw) => from_raw(raw, bytes),
        None => parse_record_serde(bytes),
    }
}

/// Where the fast scanner and serde disagree on `text`, if they do: when the fast scanner reads
/// a record, serde must read the same event of the same class, or fail with the same error.
/// For the `record_scanner` fuzz target and the property tests.
pub fn fast_disagrees_with_serde(text: &str) -> Option<String> {
    let fast = fast::raw_record(text).map(|r| from_raw(r, text))?;
    let slow = parse_record_serde(text);
    let same = match (&fast, &slow) {
        (Ok(a), Ok(b)) => a.class == b.class && a.event == b.event,
        (Err(a), Err(b)) => a == b,
        _ => false,
    };
    (!same).then(|| format!("fast {fast:?} != serde {slow:?} for {text:?}"))
}

/// A record already read by the fast scanner while splitting its document; turned into a
/// [`Classified`] when ingest checks it ([`crate::ingest::check_record`]).
pub struct Prepared<'a>(RawRecord<'a>);

/// Reads the record object starting at byte `at` of a document with the fast scanner; returns
/// it and the offset just past it, or `None` when the record needs the full parser.
pub(crate) fn prepare_record_at(text: &str, at: usize) -> Option<(Prepared<'_>, usize)> {
    fast::raw_record_at(text, at).map(|(r, end)| (Prepared(r), end))
}

/// Finishes a prepared record; `bytes` is its text (the eventID fallback hashes it).
pub(crate) fn classify_prepared<'a>(
    p: Prepared<'a>,
    bytes: &'a str,
) -> Result<Classified<'a>, RecordError> {
    from_raw(p.0, bytes)
}

/// The reference parser: serde over the whole record.
fn parse_record_serde(bytes: &str) -> Result<Classified<'_>, RecordError> {
    let raw: RawRecord<'_> =
        serde_json::from_str(bytes).map_err(|e| RecordError::Json(e.to_string()))?;
    from_raw(raw, bytes)
}

fn from_raw<'a>(mut raw: RawRecord<'a>, bytes: &'a str) -> Result<Classified<'a>, RecordError> {
    let time_s = non_empty(raw.event_time.take()).ok_or(RecordError::Missing("eventTime"))?;
    let time = parse_event_time(&time_s).ok_or_else(|| RecordError::BadTime(time_s.into()))?;
    let source = non_empty(raw.event_source.take()).ok_or(RecordError::Missing("eventSource"))?;
    let name = non_empty(raw.event_name.take()).ok_or(RecordError::Missing("eventName"))?;
    let class = classify(&raw, &source, &name);
    let mut ui = raw.user_identity.take().unwrap_or_default();
    let (principal, session_arn) = principal(&mut ui);
    let principal_type = non_empty(ui.kind.take()).unwrap_or(Cow::Borrowed("Unknown"));
    let account = non_empty(raw.recipient_account_id.take())
        .or_else(|| non_empty(ui.account_id.take()))
        .unwrap_or(Cow::Borrowed("unknown"));
    let event_id = match non_empty(raw.event_id.take()) {
        Some(id) => id,
        // Without an eventID, identical redeliveries still collapse on the record's bytes.
        None => Cow::Owned(format!(
            "sha-{:032x}",
            xxhash_rust::xxh3::xxh3_128(bytes.as_bytes())
        )),
    };
    let read_only = raw.read_only.unwrap_or_else(|| infer_read_only(&name));
    let _ = raw.event_version;
    Ok(Classified {
        class,
        event: Event {
            time,
            event_id,
            read_only,
            error_code: non_empty(raw.error_code.take()).map(|c| cut(c, MAX_FIELD_BYTES)),
            principal: cut(principal, MAX_FIELD_BYTES * 4),
            principal_type: cut(principal_type, 64),
            session_arn: session_arn.map(|s| cut(s, MAX_FIELD_BYTES * 4)),
            access_key_id: non_empty(ui.access_key_id.take()).map(|s| cut(s, 128)),
            source_ip: cut(
                raw.source_ip_address.take().unwrap_or(Cow::Borrowed("")),
                MAX_FIELD_BYTES,
            ),
            user_agent: cut(
                raw.user_agent.take().unwrap_or(Cow::Borrowed("")),
                MAX_FIELD_BYTES,
            ),
            account: cut(account, 64),
            region: cut(
                non_empty(raw.aws_region.take()).unwrap_or(Cow::Borrowed("unknown")),
                64,
            ),
            event_source: cut(source, 256),
            event_name: cut(name, 256),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_principal_is_the_issuing_role() {
        let rec = r#"{"eventVersion":"1.09","eventTime":"2026-01-05T10:00:07Z","eventSource":"ec2.amazonaws.com",
            "eventName":"RunInstances","awsRegion":"us-east-1","sourceIPAddress":"1.2.3.4","userAgent":"aws-cli/2",
            "eventID":"e1","readOnly":false,"eventCategory":"Management","recipientAccountId":"111122223333",
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Deploy/s1",
              "accessKeyId":"ASIAX","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/Deploy"}}},
            "requestParameters":{"deep":[[[{"x":1}]]]}}"#;
        let c = parse_record(rec).unwrap();
        assert_eq!(c.class, EventClass::Management);
        let e = c.event;
        assert_eq!(e.principal, "arn:aws:iam::111122223333:role/Deploy");
        assert_eq!(
            e.session_arn.as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/Deploy/s1")
        );
        assert_eq!(e.access_key_id.as_deref(), Some("ASIAX"));
        assert_eq!(e.principal_type, "AssumedRole");
        assert!(!e.read_only);
        assert_eq!(e.time, 1_767_607_207);
        assert_eq!(e.account, "111122223333");
    }

    #[test]
    fn account_falls_back_to_user_identity() {
        let rec = r#"{"eventTime":"2026-01-05T10:00:07Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers",
            "userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/bob","accountId":"123"}}"#;
        let e = parse_record(rec).unwrap().event;
        assert_eq!(e.account, "123");
        assert_eq!(e.principal, "arn:aws:iam::1:user/bob");
        assert!(e.read_only, "readOnly inferred from the List prefix");
        assert!(
            e.event_id.starts_with("sha-"),
            "fingerprint id when eventID is absent"
        );
    }

    #[test]
    fn classification_rule() {
        let base = |extra: &str, name: &str, src: &str| {
            format!(
                r#"{{"eventTime":"2026-01-05T10:00:00Z","eventSource":"{src}","eventName":"{name}"{extra}}}"#
            )
        };
        let class = |s: String| parse_record(&s).unwrap().class;
        assert_eq!(
            class(base(
                r#","eventCategory":"Data""#,
                "GetObject",
                "s3.amazonaws.com"
            )),
            EventClass::Data
        );
        assert_eq!(
            class(base(
                r#","managementEvent":true"#,
                "GetObject",
                "s3.amazonaws.com"
            )),
            EventClass::Management
        );
        assert_eq!(
            class(base("", "GetObject", "s3.amazonaws.com")),
            EventClass::Data
        );
        assert_eq!(
            class(base("", "CreateBucket", "s3.amazonaws.com")),
            EventClass::Management
        );
        assert_eq!(
            class(base(
                r#","eventType":"AwsCloudTrailInsight""#,
                "X",
                "ec2.amazonaws.com"
            )),
            EventClass::Insight
        );
        assert_eq!(
            class(base(
                r#","eventCategory":"NetworkActivity""#,
                "X",
                "ec2.amazonaws.com"
            )),
            EventClass::NetworkActivity
        );
    }

    #[test]
    fn bad_records_have_reasons() {
        assert_eq!(
            parse_record(r#"{"eventSource":"a","eventName":"b"}"#).unwrap_err(),
            RecordError::Missing("eventTime")
        );
        assert!(matches!(
            parse_record(r#"{"eventTime":"yesterday","eventSource":"a","eventName":"b"}"#),
            Err(RecordError::BadTime(_))
        ));
        let wrong = parse_record(
            r#"{"eventTime":"2026-01-05T10:00:00Z","eventSource":"a","eventName":"b","readOnly":"maybe"}"#,
        );
        assert!(
            matches!(wrong, Err(RecordError::Json(ref m)) if m.contains("expected a boolean")),
            "{wrong:?}"
        );
        let num = parse_record(
            r#"{"eventTime":"2026-01-05T10:00:00Z","eventSource":"a","eventName":"b","readOnly":7}"#,
        );
        assert!(matches!(num, Err(RecordError::Json(_))));
        let ok = parse_record(
            r#"{"eventTime":"2026-01-05T10:00:00Z","eventSource":"a","eventName":"b","readOnly":"True"}"#,
        );
        assert!(ok.unwrap().event.read_only);
        let src = parse_record(
            r#"{"eventTime":"2026-01-05T10:00:00Z","eventSource":{"x":1},"eventName":"b"}"#,
        );
        assert!(matches!(src, Err(RecordError::Json(_))));
    }

    #[test]
    fn deep_nesting_never_overflows_the_stack() {
        for depth in [100, 10_000, 1_000_000] {
            let rec = format!(
                r#"{{"eventTime":"2026-01-05T10:00:00Z","eventSource":"a","eventName":"b","requestParameters":{}1{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            // Either outcome is fine; returning at all is the point.
            let _ = parse_record(&rec);
            let deep_identity = format!(
                r#"{{"eventTime":"2026-01-05T10:00:00Z","eventSource":"a","eventName":"b","userIdentity":{}1{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            assert!(parse_record(&deep_identity).is_err());
        }
    }

    #[test]
    fn huge_fields_are_cut_on_char_boundaries() {
        let ua = "é".repeat(10_000);
        let rec = format!(
            r#"{{"eventTime":"2026-01-05T10:00:00Z","eventSource":"a","eventName":"b","userAgent":"{ua}"}}"#
        );
        let e = parse_record(&rec).unwrap().event;
        assert!(e.user_agent.len() <= MAX_FIELD_BYTES);
        assert!(e.user_agent.chars().all(|c| c == 'é'));
    }
}
