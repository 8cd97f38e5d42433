//! A non-recursive scanner that finds the byte ranges of the records in a CloudTrail document
//! (`{"Records":[...]}`, `{"Events":[...]}` or a bare array) without parsing them. Each record
//! is then parsed on its own, so one bad record — malformed, deeply nested, of the wrong type —
//! costs only itself, and a truncated document still yields every record before the cut.

use std::ops::Range;

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

/// The records found, and why scanning stopped early if it did.
#[derive(Debug)]
pub(crate) struct Split {
    pub(crate) kind: DocKind,
    pub(crate) items: Vec<Range<usize>>,
    /// Byte offset and reason when the document is cut off or malformed.
    pub(crate) error: Option<(usize, &'static str)>,
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
}

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

    /// At `[`: the ranges of each element.
    fn array(&mut self, items: &mut Vec<Range<usize>>) -> ScanResult<()> {
        self.pos += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let start = self.pos;
            self.value()?;
            items.push(start..self.pos);
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

/// Scans a whole document. `b` must be the decompressed file contents.
pub(crate) fn split(b: &[u8]) -> Split {
    let mut s = Scanner { b, pos: 0 };
    if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        s.pos = 3;
    }
    s.ws();
    let mut items = Vec::new();
    let (kind, res) = match s.peek() {
        Some(b'[') => (DocKind::Array, s.array(&mut items)),
        Some(b'{') => object(&mut s, &mut items),
        None => (DocKind::Array, Err((s.pos, "empty file"))),
        Some(_) => (
            DocKind::NotADocument,
            Err((s.pos, "not a JSON object or array")),
        ),
    };
    Split {
        kind,
        items,
        error: res.err(),
    }
}

fn object(s: &mut Scanner<'_>, items: &mut Vec<Range<usize>>) -> (DocKind, ScanResult<()>) {
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
                s.array(items)?;
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

    fn texts<'a>(b: &'a str, s: &Split) -> Vec<&'a str> {
        s.items.iter().map(|r| &b[r.clone()]).collect()
    }

    #[test]
    fn records_document() {
        let d = r#"{"Records":[{"a":"x}]\"y"}, {"b":[1,{"c":2}]} ]}"#;
        let s = split(d.as_bytes());
        assert_eq!(s.kind, DocKind::Records);
        assert_eq!(
            texts(d, &s),
            vec![r#"{"a":"x}]\"y"}"#, r#"{"b":[1,{"c":2}]}"#]
        );
        assert!(s.error.is_none());
    }

    #[test]
    fn events_after_other_keys_and_bare_arrays() {
        let d = r#"{"NextToken":"t","Meta":{"x":[1]},"Events":[{"CloudTrailEvent":"{}"}]}"#;
        let s = split(d.as_bytes());
        assert_eq!(s.kind, DocKind::Events);
        assert_eq!(s.items.len(), 1);
        let s = split(b"\xEF\xBB\xBF [ {} , {} ]");
        assert_eq!((s.kind, s.items.len()), (DocKind::Array, 2));
        let s = split(br#"{"eventTime":"x"}"#);
        assert_eq!(s.kind, DocKind::NotADocument);
    }

    #[test]
    fn truncation_keeps_complete_records() {
        let d = r#"{"Records":[{"a":1},{"b":2},{"c":"cut"#;
        let s = split(d.as_bytes());
        assert_eq!(s.items.len(), 2);
        assert!(s.error.unwrap().1.contains("ends inside"));
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let deep = format!(
            r#"{{"Records":[{}{{"x":1}}{},{{"ok":1}}]}}"#,
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        let s = split(deep.as_bytes());
        assert_eq!(s.items.len(), 2);
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
            let s = split(g.as_bytes());
            assert!(s.error.is_some(), "{g:?}");
        }
    }
}
