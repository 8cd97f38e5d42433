//! Fixture builders shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};

/// A minimal but realistic management record.
pub(crate) fn record(id: &str, time: &str, source: &str, name: &str, principal: &str) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": principal, "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE"},
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"nested": {"a": [1, 2, {"b": "c"}]}},
        "responseElements": null,
        "eventID": id,
        "readOnly": name.starts_with("Describe") || name.starts_with("List"),
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

/// `n` records one minute apart starting at 2026-01-05T10:00:00Z, ids `<prefix>-<i>`.
pub(crate) fn records(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let t = format!("2026-01-05T10:{:02}:{:02}Z", (i / 60) % 60, i % 60);
            record(
                &format!("{prefix}-{i}"),
                &t,
                "ec2.amazonaws.com",
                "DescribeInstances",
                "arn:aws:iam::111122223333:user/alice",
            )
        })
        .collect()
}

pub(crate) fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub(crate) fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

pub(crate) fn records_doc(recs: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": recs })).unwrap()
}

/// The real-world CloudTrail samples vendored in the repository (`tests/fixtures/NOTICE`).
pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}
