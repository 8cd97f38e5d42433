//! What ingest reads: a local path, a trail's bucket or the event history, parsed from the
//! command line once. Local paths are read by this stage; the remote kinds are read by the
//! sources in [`crate::aws`], which feed the same record parser.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::IngestSummary;

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

/// A command-line input that is none of the kinds [`Input`] reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// `s3://` with nothing before the first `/`.
    #[error("{0:?}: no bucket name (expected s3://bucket[/prefix])")]
    NoBucket(String),
    /// `s3://` with a bucket name S3 does not allow.
    #[error("{input:?}: {bucket:?} is not a valid S3 bucket name (3-63 lowercase letters, digits, '-', '.')")]
    BadBucket {
        /// The input as given.
        input: String,
        /// The bucket part.
        bucket: String,
    },
    /// `cloudtrail://` with something that is not a region name.
    #[error("{input:?}: {region:?} is not a region name (expected cloudtrail://[region], e.g. cloudtrail://us-east-1)")]
    BadRegion {
        /// The input as given.
        input: String,
        /// The region part.
        region: String,
    },
    /// A URL scheme other than `s3://` and `cloudtrail://`.
    #[error("{0:?}: unknown scheme (inputs are local paths, s3://bucket[/prefix] or cloudtrail://[region])")]
    UnknownScheme(String),
}

impl FromStr for Input {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Input, InputError> {
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(InputError::NoBucket(s.to_string()));
            }
            let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c);
            if bucket.len() < 3 || bucket.len() > 63 || !bucket.chars().all(valid) {
                return Err(InputError::BadBucket {
                    input: s.to_string(),
                    bucket: bucket.to_string(),
                });
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
                return Err(InputError::BadRegion {
                    input: s.to_string(),
                    region: region.to_string(),
                });
            }
            return Ok(Input::History {
                region: (!region.is_empty()).then(|| region.to_string()),
            });
        }
        if s.contains("://") {
            return Err(InputError::UnknownScheme(s.to_string()));
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
        assert_eq!(
            "s3://".parse::<Input>().unwrap_err(),
            InputError::NoBucket("s3://".into())
        );
        assert_eq!(
            "s3://Bad_Bucket/x".parse::<Input>().unwrap_err().to_string(),
            "\"s3://Bad_Bucket/x\": \"Bad_Bucket\" is not a valid S3 bucket name (3-63 lowercase letters, digits, '-', '.')"
        );
        assert_eq!(
            "gs://bucket".parse::<Input>().unwrap_err(),
            InputError::UnknownScheme("gs://bucket".into())
        );
        assert_eq!(
            "cloudtrail://us east".parse::<Input>().unwrap_err(),
            InputError::BadRegion {
                input: "cloudtrail://us east".into(),
                region: "us east".into()
            }
        );
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
