//! A non-recursive scanner that finds the byte ranges of the records in a CloudTrail document
//! (`{"Records":[...]}`, `{"Events":[...]}` or a bare array) without parsing them. Each record
//! is then parsed on its own, so one bad record — malformed, deeply nested, of the wrong type —
//! costs only itself, and a truncated document still yields every record before the cut.
//!
//! Records of a `Records` document or bare array are read by the fast record scanner as they
//! are found, so the common record is scanned once, not once to split and once to parse.

use std::ops::Range;

use crate::event::{prepare_record_at, Prepared};

/// Which top-level shape held the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    /// `{"Records":[...]}`, as CloudTrail delivers to S3.
    Records,
    /// `{"Events":[{"CloudTrailEvent":"..."}]}`, as LookupEvents returns.
    Events,
    /// `[...]`, a bare array of records.
    Array,
    /// A top-level object without `Records`/`Events`: a lone record, or JSON Lines.
    NotADocument,
}

/// What scanning found, and why it stopped early if it did.
#[derive(Debug)]
pub(crate) struct Split {
    pub(crate) kind: DocKind,
    /// Records (or LookupEvents entries) handed to the callback.
    pub(crate) items: usize,
    /// Byte offset and reason when the document is cut off or malformed.
    pub(crate) error: Option<(usize, &'static str)>,
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Array elements handed out so far.
    items: usize,
}

/// Receives each element of the records array: the document's kind, the element's byte range
/// and, for a record the fast scanner could read, that record.
pub(crate) trait OnItem<'a>: FnMut(DocKind, Range<usize>, Option<Prepared<'a>>) {}
impl<'a, F: FnMut(DocKind, Range<usize>, Option<Prepared<'a>>)> OnItem<'a> for F {}

type ScanResult<T> = Result<T, (usize, &'static str)>;

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\n' | b'\r' | b'\t') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    /// At an opening quote: moves past the closing quote; returns the raw contents.
    fn string(&mut self) -> ScanResult<&'a [u8]> {
        let start = self.pos + 1;
        let mut i = start;
        loop {
            match memchr::memchr2(b'"', b'\\', &self.b[i..]) {
                None => return Err((self.b.len(), "document ends inside a string")),
                Some(off) => {
                    let at = i + off;
                    if self.b[at] == b'\\' {
                        i = at + 2;
                        if i > self.b.len() {
                            return Err((self.b.len(), "document ends inside a string"));
                        }
                    } else {
                        self.pos = at + 1;
                        return Ok(&self.b[start..at]);
                    }
                }
            }
        }
    }

    /// Skips one JSON value of any depth, iteratively.
    fn value(&mut self) -> ScanResult<()> {
        let mut depth = 0usize;
        loop {
            let Some(c) = self.peek() else {
                return Err((self.pos, "document ends inside a value"));
            };
            match c {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'}' | b']' => {
                    if depth == 0 {
                        return Err((self.pos, "unexpected closing bracket"));
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                _ => {
                    // Scalars, commas, colons, whitespace: structure is checked by the record parser.
                    if depth == 0 && matches!(c, b',' | b':') {
                        return Err((self.pos, "expected a value"));
                    }
                    self.pos += 1;
                    if depth == 0 {
                        // A top-level scalar ends at the next delimiter.
                        while let Some(c) = self.peek() {
                            if matches!(c, b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t') {
                                break;
                            }
                            self.pos += 1;
                        }
                        return Ok(());
                    }
                }
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }

    /// At `[`: hands each element to `each`, counting them in `self.items`.
    fn array(&mut self, kind: DocKind, each: &mut impl OnItem<'a>) -> ScanResult<()> {
        self.pos += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let start = self.pos;
            let fast = match (kind, self.peek()) {
                (DocKind::Records | DocKind::Array, Some(b'{')) => {
                    prepare_record_at(self.text, start)
                }
                _ => None,
            };
            match fast {
                Some((rec, end)) => {
                    self.pos = end;
                    each(kind, start..end, Some(rec));
                }
                None => {
                    self.value()?;
                    each(kind, start..self.pos, None);
                }
            }
            self.items += 1;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                None => return Err((self.pos, "document ends inside the records array")),
                Some(_) => return Err((self.pos, "expected ',' or ']' between records")),
            }
        }
    }
}

/// Scans a whole document (the decompressed file contents), handing each record to `each` in
/// order as it is found.
pub(crate) fn split<'a>(text: &'a str, mut each: impl OnItem<'a>) -> Split {
    let b = text.as_bytes();
    let mut s = Scanner {
        text,
        b,
        pos: 0,
        items: 0,
    };
    if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        s.pos = 3;
    }
    s.ws();
    let (kind, res) = match s.peek() {
        Some(b'[') => (DocKind::Array, s.array(DocKind::Array, &mut each)),
        Some(b'{') => object(&mut s, &mut each),
        None => (DocKind::Array, Err((s.pos, "empty file"))),
        Some(_) => (
            DocKind::NotADocument,
            Err((s.pos, "not a JSON object or array")),
        ),
    };
    Split {
        kind,
        items: s.items,
        error: res.err(),
    }
}

fn object<'a>(s: &mut Scanner<'a>, each: &mut impl OnItem<'a>) -> (DocKind, ScanResult<()>) {
    s.pos += 1;
    let mut kind = DocKind::NotADocument;
    let res = (|| loop {
        s.ws();
        match s.peek() {
            Some(b'}') => return Ok(()),
            Some(b'"') => {}
            None => return Err((s.pos, "document ends inside the top-level object")),
            Some(_) => return Err((s.pos, "expected a key in the top-level object")),
        }
        let key = s.string()?;
        s.ws();
        if s.peek() != Some(b':') {
            return Err((s.pos, "expected ':' after a key"));
        }
        s.pos += 1;
        s.ws();
        let wanted = match key {
            b"Records" => Some(DocKind::Records),
            b"Events" => Some(DocKind::Events),
            _ => None,
        };
        match wanted {
            Some(k) if s.peek() == Some(b'[') && kind == DocKind::NotADocument => {
                kind = k;
                s.array(k, each)?;
            }
            _ => s.value()?,
        }
        s.ws();
        match s.peek() {
            Some(b',') => s.pos += 1,
            Some(b'}') => return Ok(()),
            None => return Err((s.pos, "document ends inside the top-level object")),
            Some(_) => return Err((s.pos, "expected ',' or '}' in the top-level object")),
        }
    })();
    (kind, res)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `d`; returns the summary and each element's text and whether it was prepared.
    fn run(d: &str) -> (Split, Vec<(&str, bool)>) {
        let mut got = Vec::new();
        let s = split(d, |_, r: Range<usize>, p: Option<Prepared<'_>>| {
            got.push((&d[r], p.is_some()))
        });
        assert_eq!(s.items, got.len());
        (s, got)
    }

    fn texts<'a>(got: &[(&'a str, bool)]) -> Vec<&'a str> {
        got.iter().map(|g| g.0).collect()
    }

    #[test]
    fn records_document() {
        let d = r#"{"Records":[{"a":"x}]\"y"}, {"b":[1,{"c":2}]} ]}"#;
        let (s, got) = run(d);
        assert_eq!(s.kind, DocKind::Records);
        assert_eq!(
            texts(&got),
            vec![r#"{"a":"x}]\"y"}"#, r#"{"b":[1,{"c":2}]}"#]
        );
        assert!(
            got.iter().all(|g| g.1),
            "valid records are read by the fast scanner"
        );
        assert!(s.error.is_none());
    }

    #[test]
    fn invalid_records_still_split_for_the_full_parser() {
        // Not valid JSON inside (the full parser reports it), but the brackets balance.
        let d = r#"{"Records":[{"a" 1},{"b":[1,{"c":2}]},{"x":01}]}"#;
        let (s, got) = run(d);
        assert_eq!(
            texts(&got),
            vec![r#"{"a" 1}"#, r#"{"b":[1,{"c":2}]}"#, r#"{"x":01}"#]
        );
        assert_eq!(
            got.iter().map(|g| g.1).collect::<Vec<_>>(),
            vec![false, true, false]
        );
        assert!(s.error.is_none());
    }

    #[test]
    fn events_after_other_keys_and_bare_arrays() {
        let d = r#"{"NextToken":"t","Meta":{"x":[1]},"Events":[{"CloudTrailEvent":"{}"}]}"#;
        let (s, got) = run(d);
        assert_eq!(s.kind, DocKind::Events);
        assert_eq!(got.len(), 1);
        assert!(!got[0].1, "LookupEvents entries are wrappers, not records");
        let (s, _) = run("\u{FEFF} [ {} , {} ]");
        assert_eq!((s.kind, s.items), (DocKind::Array, 2));
        let (s, _) = run(r#"{"eventTime":"x"}"#);
        assert_eq!(s.kind, DocKind::NotADocument);
    }

    #[test]
    fn truncation_keeps_complete_records() {
        let d = r#"{"Records":[{"a":1},{"b":2},{"c":"cut"#;
        let (s, _) = run(d);
        assert_eq!(s.items, 2);
        assert!(s.error.unwrap().1.contains("ends inside"));
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let deep = format!(
            r#"{{"Records":[{}{{"x":1}}{},{{"ok":1}}]}}"#,
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        let (s, _) = run(&deep);
        assert_eq!(s.items, 2);
        assert!(s.error.is_none());
    }

    #[test]
    fn garbage_reports_an_offset() {
        for g in [
            "",
            "   ",
            "garbage",
            "{\"Records\" 1}",
            "{\"Records\":[1 2]}",
        ] {
            let (s, _) = run(g);
            assert!(s.error.is_some(), "{g:?}");
        }
    }
}
