//! Finding input files and reading them: folders are walked for CloudTrail-looking files,
//! gzip is detected by its magic bytes and read member by member, and decompression stops at a
//! size limit so a gzip bomb costs a bounded amount of memory.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// One file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Where it is.
    pub path: PathBuf,
    /// Size on disk.
    pub size: u64,
}

/// Where an S3-delivered log file sits in the CloudTrail key layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailKey {
    /// Organization id for organization trails (`o-…`).
    pub organization: Option<String>,
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Delivery date `YYYY-MM-DD`.
    pub date: String,
}

/// Parses `…/AWSLogs/[o-xxx/]<acct>/CloudTrail/<region>/YYYY/MM/DD/<file>`, with any prefix.
pub fn parse_trail_key(path: &str) -> Option<TrailKey> {
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    let i = parts.iter().rposition(|p| *p == "AWSLogs")?;
    let rest = &parts[i + 1..];
    let (organization, rest) = match rest.first() {
        Some(o) if o.starts_with("o-") => (Some((*o).to_string()), &rest[1..]),
        _ => (None, rest),
    };
    if rest.len() < 7 || rest[1] != "CloudTrail" {
        return None;
    }
    let (acct, region, y, m, d) = (rest[0], rest[2], rest[3], rest[4], rest[5]);
    let num = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(num(acct, 12) && num(y, 4) && num(m, 2) && num(d, 2)) {
        return None;
    }
    Some(TrailKey {
        organization,
        account: acct.to_string(),
        region: region.to_string(),
        date: format!("{y}-{m}-{d}"),
    })
}

/// The labels a simulator writes beside its trail (`trailsight simulate`, `judge/trailgen.py`):
/// one owner of the name; folder walks skip it (issue 15: it was counted as a bad file).
pub const LABELS_FILE: &str = "labels.json";

fn looks_like_input(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let s = p.to_string_lossy();
    // Digest files sign deliveries; they hold no events.
    if s.contains("CloudTrail-Digest") || name == LABELS_FILE {
        return false;
    }
    [
        ".json",
        ".json.gz",
        ".jsonl",
        ".jsonl.gz",
        ".ndjson",
        ".ndjson.gz",
        ".gz",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

/// Expands paths into the files to read: folders are walked (files that do not look like
/// CloudTrail logs are skipped), files named explicitly are always read. Sorted, deduplicated.
pub fn discover(paths: &[PathBuf]) -> (Vec<InputFile>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match fs::metadata(p) {
            Err(e) => errors.push((p.clone(), format!("cannot read: {e}"))),
            Ok(m) if m.is_file() => files.push(InputFile {
                path: p.clone(),
                size: m.len(),
            }),
            Ok(_) => {
                for entry in walkdir::WalkDir::new(p).follow_links(true) {
                    match entry {
                        Err(e) => errors.push((
                            e.path().unwrap_or(p).to_path_buf(),
                            format!("cannot walk: {e}"),
                        )),
                        Ok(e) if e.file_type().is_file() && looks_like_input(e.path()) => {
                            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                            files.push(InputFile {
                                path: e.into_path(),
                                size,
                            });
                        }
                        Ok(_) => {}
                    }
                }
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    (files, errors)
}

/// Why a file could not be read at all. It is counted as a bad file, with this text as the
/// problem's reason.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened.
    #[error("cannot open: {0}")]
    Open(std::io::Error),
    /// Its first bytes could not be read.
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    /// Gzip-compressed, and the stream failed before yielding a byte.
    #[error("unreadable gzip stream: {0}")]
    Gzip(std::io::Error),
    /// Not compressed, and reading failed before yielding a byte.
    #[error("unreadable file: {0}")]
    Plain(std::io::Error),
    /// A remote source could not fetch it (an S3 object's download); the source's reason.
    #[error(transparent)]
    Fetch(Box<dyn std::error::Error + Send + Sync>),
}

pub(super) fn name_is_jsonl(p: &Path) -> bool {
    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"]
        .iter()
        .any(|e| n.ends_with(e))
}

/// Reads a whole file into `bytes` (cleared first), inflating gzip (all members); more than
/// `limit` decompressed bytes, or damage, is an error. For small side files (AWS's own
/// Insights exports); trails are read as a stream by [`super::split`].
pub(crate) fn read_contents(path: &Path, limit: u64, bytes: &mut Vec<u8>) -> Result<(), ReadError> {
    bytes.clear();
    let f = fs::File::open(path).map_err(ReadError::Open)?;
    let mut r = BufReader::with_capacity(256 * 1024, f);
    let gz = r
        .fill_buf()
        .map_err(ReadError::Read)?
        .starts_with(&[0x1f, 0x8b]);
    let res = if gz {
        MultiGzDecoder::new(r).take(limit + 1).read_to_end(bytes)
    } else {
        r.take(limit + 1).read_to_end(bytes)
    };
    res.map_err(|e| {
        if gz {
            ReadError::Gzip(e)
        } else {
            ReadError::Plain(e)
        }
    })?;
    if bytes.len() as u64 > limit {
        bytes.clear();
        return Err(ReadError::Plain(std::io::Error::other(format!(
            "decompressed size exceeds {} MiB",
            limit >> 20
        ))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15: `simulate` writes labels.json inside the trail; ingesting the folder counted it
    /// as a bad file. Walks skip it; named explicitly, a file is still read.
    #[test]
    fn a_simulators_labels_file_is_not_walked_into() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("AWSLogs/1/CloudTrail/r/2026/01/05");
        fs::create_dir_all(&day).unwrap();
        fs::write(day.join("a.json.gz"), b"x").unwrap();
        fs::write(dir.path().join(LABELS_FILE), b"{}").unwrap();
        let (files, errors) = discover(&[dir.path().to_path_buf()]);
        let names: Vec<_> = files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.json.gz"]);
        assert!(errors.is_empty());
        let (files, _) = discover(&[dir.path().join(LABELS_FILE)]);
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn trail_keys() {
        let k = parse_trail_key(
            "bucket/prefix/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/05/x.json.gz",
        )
        .unwrap();
        assert_eq!(
            (k.account.as_str(), k.region.as_str(), k.date.as_str()),
            ("111122223333", "us-east-1", "2026-01-05")
        );
        assert_eq!(k.organization, None);
        let k = parse_trail_key(
            "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/01/05/x.json.gz",
        )
        .unwrap();
        assert_eq!(k.organization.as_deref(), Some("o-abc123"));
        assert!(parse_trail_key(
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/01/05/x.json.gz"
        )
        .is_none());
        assert!(parse_trail_key("logs/x.json").is_none());
    }
}
