//! Time, spelled once: the half-open range type, the timestamp form of every output, the
//! 5-minute bucket the rollups and detectors count in, and the overlap rule that matches
//! windows across tools.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Seconds in one rollup bucket: detail rollups, detector series and findings are aligned to it.
pub const BUCKET_SECS: i64 = 300;
/// Seconds in a UTC day.
pub const DAY_SECS: i64 = 86_400;

/// The timestamp form used in every output: RFC 3339, UTC, `Z`, whole seconds.
const FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// A half-open time range `[start, end)` in epoch seconds.
///
/// Serialised as two integers in the state's files; findings carry it as two RFC 3339 strings
/// through [`rfc3339_range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: i64,
    /// Exclusive end.
    pub end: i64,
}

impl TimeRange {
    /// Everything.
    pub const ALL: TimeRange = TimeRange {
        start: i64::MIN / 4,
        end: i64::MAX / 4,
    };

    /// `[start, end)`.
    pub fn new(start: i64, end: i64) -> TimeRange {
        TimeRange { start, end }
    }

    /// The UTC day with this day number (days since the epoch).
    pub fn day(day: i64) -> TimeRange {
        TimeRange::new(day * DAY_SECS, (day + 1) * DAY_SECS)
    }

    /// Both ends rounded down to a [`BUCKET_SECS`] boundary.
    pub fn aligned(self) -> TimeRange {
        TimeRange::new(
            self.start.div_euclid(BUCKET_SECS) * BUCKET_SECS,
            self.end.div_euclid(BUCKET_SECS) * BUCKET_SECS,
        )
    }

    /// Length in minutes (fractional; 0 when `end` is not after `start`).
    pub fn minutes(&self) -> f64 {
        (self.end - self.start).max(0) as f64 / 60.0
    }

    /// Whether the two ranges overlap once each is widened by `slack` seconds on both sides:
    /// windows are bucketed and tools disagree on edges by a few minutes.
    pub fn overlaps(&self, other: &TimeRange, slack: i64) -> bool {
        self.start - slack < other.end && other.start - slack < self.end
    }
}

/// A timestamp as a UTC date-time (the epoch when out of range).
pub fn datetime(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Formats a timestamp as RFC 3339 UTC with whole seconds, e.g. `2026-01-05T10:00:00Z`
/// (sub-second digits are dropped, not rounded).
pub fn format_datetime(t: &DateTime<Utc>) -> String {
    t.format(FORMAT).to_string()
}

/// Formats epoch seconds like [`format_datetime`]; out-of-range values print as the number.
pub fn format(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .map(|t| format_datetime(&t))
        .unwrap_or_else(|| secs.to_string())
}

/// A length of time for people: "20 min", "2 h", "2 h 5 min".
pub fn duration(secs: i64) -> String {
    let m = secs / 60;
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Text that is not a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTimeError {
    /// Not an RFC 3339 timestamp (in a findings or state file).
    #[error("invalid RFC 3339 timestamp {text:?}: {reason}")]
    Rfc3339 {
        /// The text.
        text: String,
        /// chrono's reason.
        reason: chrono::ParseError,
    },
    /// Neither a `YYYY-MM-DD` date nor an RFC 3339 time (a command-line bound,
    /// [`crate::cli::parse_time`]).
    #[error("{0:?} is not a date (YYYY-MM-DD) or an RFC 3339 time")]
    NotADateOrTime(String),
}

/// Parses an RFC 3339 timestamp (any offset) into UTC.
fn parse(s: &str) -> Result<DateTime<Utc>, ParseTimeError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|reason| ParseTimeError::Rfc3339 {
            text: s.to_string(),
            reason,
        })
}

/// Serde helper for `DateTime<Utc>` fields: writes [`format_datetime`]'s form; reads any RFC 3339
/// timestamp (any offset is converted to UTC).
pub mod rfc3339_seconds {
    use chrono::{DateTime, Utc};
    use serde::{de, Deserialize, Deserializer, Serializer};

    /// Serialises `t` as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.format(super::FORMAT))
    }

    /// Parses an RFC 3339 timestamp into UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse(&s).map_err(de::Error::custom)
    }
}

/// Serde helper for a [`TimeRange`] written as `{"start": "<RFC 3339>", "end": "<RFC 3339>"}`
/// (the findings' form).
pub mod rfc3339_range {
    use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

    use super::TimeRange;

    #[derive(Serialize)]
    struct Out {
        start: String,
        end: String,
    }

    #[derive(Deserialize)]
    struct In<'a> {
        #[serde(borrow)]
        start: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        end: std::borrow::Cow<'a, str>,
    }

    /// Serialises the range as two timestamps.
    pub fn serialize<S: Serializer>(r: &TimeRange, s: S) -> Result<S::Ok, S::Error> {
        Out {
            start: super::format(r.start),
            end: super::format(r.end),
        }
        .serialize(s)
    }

    /// Parses two RFC 3339 timestamps (fractions of a second are dropped).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TimeRange, D::Error> {
        let i = In::deserialize(d)?;
        let t = |s: &str| super::parse(s).map(|t| t.timestamp());
        Ok(TimeRange {
            start: t(&i.start).map_err(de::Error::custom)?,
            end: t(&i.end).map_err(de::Error::custom)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_seconds_in_utc() {
        assert_eq!(format(1_767_607_200), "2026-01-05T10:00:00Z");
        assert_eq!(format(i64::MAX), i64::MAX.to_string());
        let t = DateTime::parse_from_rfc3339("2026-01-05T11:00:00.750+01:00").unwrap();
        assert_eq!(
            format_datetime(&t.with_timezone(&Utc)),
            "2026-01-05T10:00:00Z"
        );
    }

    #[test]
    fn ranges_align_overlap_and_round_trip() {
        let r = TimeRange::new(1_000, 1_999).aligned();
        assert_eq!(r, TimeRange::new(900, 1_800));
        assert_eq!(TimeRange::day(1), TimeRange::new(86_400, 172_800));
        let a = TimeRange::new(0, 600);
        assert!(!a.overlaps(&TimeRange::new(600, 900), 0));
        assert!(a.overlaps(&TimeRange::new(600, 900), 1));
        assert!(
            a.overlaps(&TimeRange::new(1_100, 1_200), 600)
                && !a.overlaps(&TimeRange::new(1_200, 1_300), 600)
        );
        assert_eq!(TimeRange::new(0, 90).minutes(), 1.5);
        assert_eq!(TimeRange::new(90, 0).minutes(), 0.0);

        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct F {
            #[serde(with = "rfc3339_range")]
            w: TimeRange,
        }
        let f = F {
            w: TimeRange::new(1_767_607_200, 1_767_607_500),
        };
        let s = serde_json::to_string(&f).unwrap();
        assert_eq!(
            s,
            r#"{"w":{"start":"2026-01-05T10:00:00Z","end":"2026-01-05T10:05:00Z"}}"#
        );
        assert_eq!(serde_json::from_str::<F>(&s).unwrap(), f);
        let e = serde_json::from_str::<F>(r#"{"w":{"start":"x","end":"y"}}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid RFC 3339 timestamp \"x\": "),
            "{e}"
        );
        assert!(matches!(
            parse("2026-01-05"),
            Err(ParseTimeError::Rfc3339 { text, .. }) if text == "2026-01-05"
        ));
    }
}
