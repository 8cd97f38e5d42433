//! `eventTime` parsing: a fast path for CloudTrail's fixed `YYYY-MM-DDTHH:MM:SSZ` form and
//! RFC 3339 (offsets, fractions) for anything else. Fractions are dropped: rollups count seconds.

use chrono::{DateTime, NaiveDate};

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Parses an event time to whole seconds since the Unix epoch, UTC.
pub fn parse_event_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        let date = NaiveDate::from_ymd_opt(
            digits(&b[0..4])? as i32,
            digits(&b[5..7])?,
            digits(&b[8..10])?,
        )?;
        let (h, m, sec) = (
            digits(&b[11..13])?,
            digits(&b[14..16])?,
            digits(&b[17..19])?,
        );
        if h > 23 || m > 59 || sec > 60 {
            return None;
        }
        let days = i64::from(
            date.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1)?)
                .num_days() as i32,
        );
        return Some(days * 86_400 + i64::from(h * 3600 + m * 60 + sec.min(59)));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    // Some exporters (data lakes, SIEMs) write `2025-01-21 17:49:47.000000000`, UTC, no zone.
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_chrono() {
        for s in [
            "2026-01-05T10:00:07Z",
            "1999-12-31T23:59:59Z",
            "2024-02-29T00:00:00Z",
        ] {
            let want = DateTime::parse_from_rfc3339(s).unwrap().timestamp();
            assert_eq!(parse_event_time(s), Some(want), "{s}");
        }
    }

    #[test]
    fn other_forms_and_garbage() {
        assert_eq!(
            parse_event_time("2026-01-05T11:00:07.123+01:00"),
            parse_event_time("2026-01-05T10:00:07Z")
        );
        assert_eq!(
            parse_event_time("2026-01-05 10:00:07.000000000"),
            parse_event_time("2026-01-05T10:00:07Z")
        );
        assert_eq!(parse_event_time("2026-13-05T10:00:07Z"), None);
        assert_eq!(parse_event_time("2026-01-05T25:00:07Z"), None);
        assert_eq!(parse_event_time(""), None);
        assert_eq!(parse_event_time("２０２６-01-05T10:00:07Z"), None);
        assert_eq!(crate::time::format(1_767_607_207), "2026-01-05T10:00:07Z");
    }
}
