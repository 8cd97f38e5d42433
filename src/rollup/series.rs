//! Count series as the detectors read them: plain vectors, no DataFrame (the tables that
//! fill them are `table.rs`).

use super::agg::ApiKey;

/// Bucket width of a count series.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
pub enum Resolution {
    /// 1 minute.
    #[value(name = "1m")]
    #[serde(rename = "1m")]
    Minute,
    /// 5 minutes.
    #[value(name = "5m")]
    #[serde(rename = "5m")]
    FiveMinutes,
    /// 1 hour.
    #[value(name = "1h")]
    #[serde(rename = "1h")]
    Hour,
}

impl Resolution {
    /// Bucket width in seconds.
    pub fn secs(self) -> i64 {
        match self {
            Resolution::Minute => 60,
            Resolution::FiveMinutes => crate::time::BUCKET_SECS,
            Resolution::Hour => 3600,
        }
    }
}

/// A regular, zero-filled count series for one API over a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct CountSeries {
    /// The series.
    pub key: ApiKey,
    /// Start of the first bucket, epoch seconds (aligned to the resolution).
    pub start: i64,
    /// Bucket width.
    pub resolution: Resolution,
    /// Calls per bucket.
    pub calls: Vec<u32>,
    /// Failed calls per bucket.
    pub errors: Vec<u32>,
}
