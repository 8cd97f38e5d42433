//! The first half of an ingest, one file at a time and without the state: read the file as a
//! stream ([`super::split`]), check each record (size, JSON, `eventTime`) and classify it. The
//! second half (dedup by eventID, rollups, commits) is `batch.rs`. This half has no polars and
//! no AWS SDK in it, so the fuzz targets build it quickly.

use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

use super::split::{self, Item, Limits, Open};
use super::{IngestOptions, ReadError};
use crate::event::{classify_prepared, parse_record, Classified, EventClass, Prepared};

/// Receives what one file holds, in order.
pub trait RecordSink {
    /// A record that was read, checked and classified.
    fn record(&mut self, c: Classified<'_>);
    /// A bad record (`record` is its number, or its line in JSON Lines), or a problem of the
    /// whole file (`record` none; records before it were still handed on).
    fn problem(&mut self, record: Option<u64>, reason: String);
    /// Whether to stop after the record just handed on (the reader resumes later).
    fn full(&self) -> bool {
        false
    }
}

/// What [`read_records`] read of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// Records handed on, good and bad.
    pub records: u64,
    /// The number of the last record handed on, when the sink was full before the end: read
    /// again from there.
    pub stopped_at: Option<u64>,
}

/// Reads one file (`open` gives its raw bytes), handing each good record and each problem to
/// `sink`, from the record after number `from` (0: from the start) until the end or until the
/// sink is full. File-level problems are reported only by a read that reaches the end. `buf` is
/// reused from file to file.
pub fn read_records(
    open: &Open<'_>,
    path: &Path,
    opts: &IngestOptions,
    buf: &mut Vec<u8>,
    sink: &mut dyn RecordSink,
    from: u64,
) -> Read {
    let lim = Limits::new(opts.max_file_bytes, opts.max_record_bytes);
    let mut records = 0u64;
    let mut stopped_at = None;
    let read = split::read(open, path, lim, buf, &mut |item| {
        let n = item.number();
        if n <= from {
            return true; // handled by an earlier read
        }
        records += 1;
        match item {
            Item::Record { n, text, prepared } => one(opts, n, text, prepared, sink),
            Item::Wrapped { n, text } => lookup_event(opts, n, text, sink),
            Item::TooLarge { n, bytes } => sink.problem(
                Some(n),
                format!(
                    "record of {bytes} bytes exceeds the {} byte limit",
                    opts.max_record_bytes
                ),
            ),
            Item::NoObject { n } => sink.problem(Some(n), "line holds no JSON object".into()),
        }
        if sink.full() {
            stopped_at = Some(n);
            return false;
        }
        true
    });
    if stopped_at.is_none() {
        match read {
            Ok(None) => {}
            Ok(Some(reason)) => sink.problem(None, reason),
            Err(e) => sink.problem(None, e.to_string()),
        }
    }
    Read {
        records,
        stopped_at,
    }
}

/// Why a record's text is not a usable record, or the record classified.
pub fn check_record<'t>(
    opts: &IngestOptions,
    text: &'t str,
    prepared: Option<Prepared<'t>>,
) -> Result<Classified<'t>, String> {
    if text.len() > opts.max_record_bytes {
        return Err(format!(
            "record of {} bytes exceeds the {} byte limit",
            text.len(),
            opts.max_record_bytes
        ));
    }
    let c = match prepared {
        Some(p) => classify_prepared(p, text),
        None if !text.starts_with('{') => return Err("record is not a JSON object".into()),
        None => parse_record(text),
    }
    .map_err(|e| e.to_string())?;
    if let Some(reason) = opts.times.check(c.event.time) {
        return Err(reason);
    }
    Ok(c)
}

fn one<'t>(
    opts: &IngestOptions,
    n: u64,
    text: &'t str,
    prepared: Option<Prepared<'t>>,
    sink: &mut dyn RecordSink,
) {
    match check_record(opts, text, prepared) {
        Ok(c) => sink.record(c),
        Err(reason) => sink.problem(Some(n), reason),
    }
}

/// One element of LookupEvents output: the record is a JSON string in `CloudTrailEvent`.
fn lookup_event(opts: &IngestOptions, n: u64, item: &str, sink: &mut dyn RecordSink) {
    #[derive(Deserialize)]
    struct Wrapped<'a> {
        #[serde(borrow, rename = "CloudTrailEvent")]
        cloudtrail_event: std::borrow::Cow<'a, str>,
    }
    match serde_json::from_str::<Wrapped<'_>>(item) {
        Ok(w) => one(opts, n, &w.cloudtrail_event, None, sink),
        Err(e) => sink.problem(
            Some(n),
            format!("LookupEvents entry without a CloudTrailEvent string: {e}"),
        ),
    }
}

/// What [`scan_bytes`] found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileScan {
    /// Records found, good and bad.
    pub records: u64,
    /// Management events (before dedup).
    pub management: u64,
    /// Data, insight and network-activity events.
    pub skipped: u64,
    /// Records that could not be used.
    pub bad_records: u64,
    /// The file-level problems (at most one per read).
    pub file_problems: Vec<String>,
}

impl RecordSink for FileScan {
    fn record(&mut self, c: Classified<'_>) {
        match c.class {
            EventClass::Management => self.management += 1,
            _ => self.skipped += 1,
        }
    }
    fn problem(&mut self, record: Option<u64>, reason: String) {
        match record {
            Some(_) => self.bad_records += 1,
            None => self.file_problems.push(reason),
        }
    }
}

/// Reads one file's bytes (named `name`: `.jsonl` and `.gz` names count) as ingest reads a
/// delivered file, without a state: for the fuzz targets and for checking a file by hand.
pub fn scan_bytes(bytes: &[u8], name: &str, opts: &IngestOptions) -> FileScan {
    let open = || -> Result<Box<dyn BufRead + '_>, ReadError> { Ok(Box::new(bytes)) };
    let mut scan = FileScan::default();
    scan.records =
        read_records(&open, Path::new(name), opts, &mut Vec::new(), &mut scan, 0).records;
    scan
}

/// The `ingest_file` fuzz target's check: `data[0]` chooses the file name (delivered log, JSON
/// Lines, LookupEvents output) and whether the rest is gzip-compressed first; the rest is read as
/// ingest reads a file. Panics when the counts do not add up.
pub fn check_file_bytes(data: &[u8]) {
    use std::io::Write;
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let name = match first % 4 {
        0 => "111122223333_CloudTrail_us-east-1_20240101T0000Z_x.json.gz",
        1 => "events.jsonl",
        2 => "lookup.json",
        _ => "x.json.gz",
    };
    let bytes = if first % 2 == 0 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(rest).expect("writing to memory");
        gz.finish().expect("writing to memory")
    } else {
        rest.to_vec()
    };
    let opts = IngestOptions {
        max_record_bytes: 4096,
        max_file_bytes: 1 << 20,
        ..IngestOptions::for_test_data()
    };
    let s = scan_bytes(&bytes, name, &opts);
    assert_eq!(s.management + s.skipped + s.bad_records, s.records, "{s:?}");
    assert!(s.file_problems.len() <= 1, "{s:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The panther corpus's lines (one record each, some odd) and a Stratus document, read
    /// through the same path as ingest: every record is counted once as good or bad.
    #[test]
    fn counts_add_up_on_the_shared_samples() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut seen = 0;
        for entry in walkdir::WalkDir::new(&root).into_iter().flatten() {
            let p = entry.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if !(name.ends_with(".json") || name.ends_with(".jsonl") || name.ends_with(".gz")) {
                continue;
            }
            let bytes = std::fs::read(p).unwrap();
            let s = scan_bytes(&bytes, &name, &IngestOptions::for_test_data());
            assert_eq!(
                s.management + s.skipped + s.bad_records,
                s.records,
                "{}: {s:?}",
                p.display()
            );
            seen += 1;
        }
        assert!(seen > 10, "fixtures found: {seen}");
    }
}
