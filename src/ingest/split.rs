//! Reading one file as a stream: inflate, repair UTF-8 and split into records through a bounded
//! window, so memory does not depend on how large a file is or how well it compresses (a gzip
//! bomb costs time up to `--max-file-mib`, never memory).
//!
//! The splitter finds the byte ranges of the records in a CloudTrail document
//! (`{"Records":[...]}`, `{"Events":[...]}` or a bare array) without parsing them. Each record
//! is then parsed on its own, so one bad record — malformed, deeply nested, of the wrong type —
//! costs only itself, and a truncated document still yields every record before the cut.
//! Records of a `Records` document or bare array are read by the fast record scanner as they
//! are found, so the common record is scanned once, not once to split and once to parse.
//!
//! The scan is a loop of small units (the document's start, one key, one value, one element,
//! one separator). A unit that runs out of bytes is retried from its start once the window holds
//! more; only a single element or value longer than the window is skipped as a stream instead
//! (an element is then reported as too large). So every way of cutting the input into reads
//! gives the same records, offsets and errors (`same_result_whatever_the_reads` and the
//! `split_chunks` fuzz target check it).

use std::io::{BufRead, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use super::source::{name_is_jsonl, ReadError};
use crate::event::{parse_record, prepare_record_at, Prepared};

/// Which top-level shape held the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// `{"Records":[...]}`, as CloudTrail delivers to S3.
    Records,
    /// `{"Events":[{"CloudTrailEvent":"..."}]}`, as LookupEvents returns.
    Events,
    /// `[...]`, a bare array of records.
    Array,
    /// A top-level object without `Records`/`Events`: a lone record, or JSON Lines.
    NotADocument,
}

/// How much of a file is read, and how much is held at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most decompressed bytes read from one file; the rest is reported, not read.
    pub max_file_bytes: u64,
    /// Most bytes of one element, value or line held at once; longer ones are skipped as a
    /// stream and reported as too large. Memory per reader is about `window + chunk`.
    pub window: usize,
    /// Bytes asked of the decoder per read.
    pub chunk: usize,
}

impl Limits {
    /// Bytes per read in production: large enough that retried units cost nothing, small
    /// enough to stay in cache.
    pub const CHUNK: usize = 1 << 20;

    /// The window for records of up to `max_record_bytes`.
    pub fn new(max_file_bytes: u64, max_record_bytes: usize) -> Limits {
        Limits {
            max_file_bytes,
            window: max_record_bytes.saturating_add(1).max(64),
            chunk: Self::CHUNK,
        }
    }
}

/// One thing found in a file, in order.
// Handed by value to a callback and never stored: boxing the record would allocate per record.
#[allow(clippy::large_enum_variant)]
pub enum Item<'t> {
    /// A record (`n` is its 1-based number, or its line in JSON Lines), with the fast scanner's
    /// reading when it could read it.
    Record {
        /// Record number or line.
        n: u64,
        /// Its text.
        text: &'t str,
        /// The fast scanner's reading.
        prepared: Option<Prepared<'t>>,
    },
    /// An element of a LookupEvents `Events` array: a wrapper holding the record as a string.
    Wrapped {
        /// Element number.
        n: u64,
        /// Its text.
        text: &'t str,
    },
    /// An element or line longer than the window, skipped without being held.
    TooLarge {
        /// Record number or line.
        n: u64,
        /// Its length in bytes.
        bytes: u64,
    },
    /// A JSON Lines line with no `{`.
    NoObject {
        /// Line number.
        n: u64,
    },
}

impl Item<'_> {
    /// The record number (or line) of any item.
    pub fn number(&self) -> u64 {
        match *self {
            Item::Record { n, .. }
            | Item::Wrapped { n, .. }
            | Item::TooLarge { n, .. }
            | Item::NoObject { n } => n,
        }
    }
}

/// Opens a file's raw bytes again from the start (a local file, or a fetched body in memory).
pub type Open<'o> = dyn Fn() -> Result<Box<dyn BufRead + 'o>, ReadError> + 'o;

/// Reads the file `open` gives (gzip or plain, by its magic bytes), handing each record to
/// `each` as it is found, until `each` returns false. Returns the file-level problem, if any
/// (damage, size limit, invalid UTF-8, a cut or malformed document, not CloudTrail at all);
/// records before it were handed on. An error means nothing at all could be read.
///
/// `buf` is the window's storage, reused from file to file.
pub fn read(
    open: &Open<'_>,
    path: &Path,
    lim: Limits,
    buf: &mut Vec<u8>,
    each: &mut dyn FnMut(Item<'_>) -> bool,
) -> Result<Option<String>, ReadError> {
    let mut w = Window::open(open, path, lim, buf)?;
    if name_is_jsonl(path) {
        lines(&mut w, each)?;
        return Ok(w.into_problem(None, buf));
    }
    let s = document(&mut w, each)?;
    if s.stopped {
        return Ok(w.into_problem(None, buf));
    }
    if s.kind != DocKind::NotADocument {
        let cut = s.error.map(|(at, why)| {
            format!(
                "{why} at byte {at}; {} records before it were read",
                s.items
            )
        });
        return Ok(w.into_problem(cut, buf));
    }
    // One JSON object that is neither a log document nor JSON Lines: a lone record (maybe
    // pretty-printed), or not CloudTrail at all. Read again from the start to tell which.
    w.recycle(buf);
    let mut w = Window::open(open, path, lim, buf)?;
    if first_line_is_an_object(&mut w)? {
        w.recycle(buf);
        let mut w = Window::open(open, path, lim, buf)?;
        lines(&mut w, each)?;
        return Ok(w.into_problem(None, buf));
    }
    if let Some((at, why)) = s.error {
        w.drain()?;
        return Ok(w.into_problem(Some(format!("{why} at byte {at}")), buf));
    }
    // Read until the length is known, or known to be past the window.
    while !w.eof && w.valid <= w.lim.window {
        w.refill(0)?;
    }
    // Too large by length, not by whether a read happened to bring it in whole.
    if !w.eof || w.valid >= w.lim.window {
        each(Item::TooLarge {
            n: 1,
            bytes: w.drain()?,
        });
        return Ok(w.into_problem(None, buf));
    }
    let text = w.text().trim();
    let problem = match parse_record(text) {
        Err(e) => Some(format!(
            "not a CloudTrail log: a JSON object with no Records or Events array, and not a record ({e})"
        )),
        Ok(_) => {
            each(Item::Record {
                n: 1,
                text,
                prepared: None,
            });
            None
        }
    };
    Ok(w.into_problem(problem, buf))
}

/// What scanning a document found, and why it stopped early if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The top-level shape.
    pub kind: DocKind,
    /// Elements handed on (records, LookupEvents entries, too-large ones).
    pub items: usize,
    /// Byte offset (in the UTF-8-repaired text) and reason when the document is cut off or
    /// malformed.
    pub error: Option<(u64, &'static str)>,
    /// Whether the receiver asked to stop before the end.
    pub stopped: bool,
}

/// The decompressed, UTF-8-repaired text of a file, held a window at a time.
struct Window<'r> {
    r: Box<dyn Read + 'r>,
    gz: bool,
    buf: Vec<u8>,
    /// `buf[..valid]` is UTF-8; the rest is the start of a character cut by a read.
    valid: usize,
    /// Offset in the repaired text of `buf[0]`.
    base: u64,
    eof: bool,
    /// Decompressed bytes read so far.
    taken: u64,
    lim: Limits,
    /// Damage or the size limit (the limit wins: it is what the user can change), or a `.gz`
    /// name on plain text.
    read_problem: Option<String>,
    utf8_problem: Option<String>,
}

impl<'r> Window<'r> {
    fn open(
        open: &Open<'r>,
        path: &Path,
        lim: Limits,
        buf: &mut Vec<u8>,
    ) -> Result<Window<'r>, ReadError> {
        let mut raw = open()?;
        let gz = raw
            .fill_buf()
            .map_err(ReadError::Read)?
            .starts_with(&[0x1f, 0x8b]);
        let named_gz = path.extension().is_some_and(|e| e == "gz");
        let r: Box<dyn Read + 'r> = if gz {
            Box::new(Blocks::new(MultiGzDecoder::new(raw)))
        } else {
            Box::new(raw)
        };
        let mut buf = std::mem::take(buf);
        buf.clear();
        let mut w = Window {
            r,
            gz,
            buf,
            valid: 0,
            base: 0,
            eof: false,
            taken: 0,
            lim,
            read_problem: (named_gz && !gz)
                .then(|| "named .gz but not gzip-compressed; read as plain text".to_string()),
            utf8_problem: None,
        };
        w.refill(0)?;
        Ok(w)
    }

    /// The repaired text held.
    fn text(&self) -> &str {
        debug_assert!(std::str::from_utf8(&self.buf[..self.valid]).is_ok());
        // SAFETY: `buf[..valid]` is UTF-8: `repair` checks (or replaces) every byte before it
        // advances `valid`, and `refill` drops only a prefix that ends on a character boundary
        // (asserted there). Checking it again here, once per record, was a pass over the whole
        // window per record: 97% of the CPU of reading a 5 GiB file (issue 18).
        unsafe { std::str::from_utf8_unchecked(&self.buf[..self.valid]) }
    }

    /// Drops the bytes before `keep` and reads up to a chunk more, never holding more than
    /// the window past `keep` (plus what repairing invalid UTF-8 adds).
    fn refill(&mut self, keep: usize) -> Result<(), ReadError> {
        if keep > 0 {
            // `text` relies on what stays before `valid` being UTF-8.
            assert!(
                keep == self.valid || (keep < self.valid && (self.buf[keep] as i8) >= -0x40),
                "window cut inside a character"
            );
            self.buf.drain(..keep);
            self.valid -= keep;
            self.base += keep as u64;
        }
        if self.eof {
            return Ok(());
        }
        let room = self.lim.window.saturating_sub(self.buf.len()).max(1);
        // At least as much as is held: a unit retried after each read then costs a constant
        // factor of its length, not its square.
        let want = room.min(self.lim.chunk.max(self.buf.len()).max(1)).min(
            (self.lim.max_file_bytes.saturating_add(1) - self.taken).min(usize::MAX as u64)
                as usize,
        );
        let start = self.buf.len();
        self.buf.resize(start + want, 0);
        let mut got = 0;
        while got < want {
            match self.r.read(&mut self.buf[start + got..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if self.taken + got as u64 == 0 {
                        return Err(if self.gz {
                            ReadError::Gzip(e)
                        } else {
                            ReadError::Plain(e)
                        });
                    }
                    let what = if self.gz { "gzip stream" } else { "file" };
                    self.read_problem = Some(format!(
                        "{what} damaged after {} bytes ({e}); records before the damage were read",
                        self.taken + got as u64
                    ));
                    self.eof = true;
                    break;
                }
            }
        }
        self.buf.truncate(start + got);
        self.taken += got as u64;
        if self.taken > self.lim.max_file_bytes {
            let over = (self.taken - self.lim.max_file_bytes) as usize;
            self.buf.truncate(self.buf.len() - over);
            self.taken = self.lim.max_file_bytes;
            self.eof = true;
            self.read_problem = Some(format!(
                "decompressed size exceeds the {} MiB limit (a gzip bomb, or raise --max-file-mib); records within the limit were read",
                self.lim.max_file_bytes >> 20
            ));
        }
        self.repair();
        Ok(())
    }

    /// Checks the bytes after `valid`, replacing each invalid sequence by U+FFFD as
    /// `String::from_utf8_lossy` does on the whole text; a character cut by the read waits
    /// for the next one.
    fn repair(&mut self) {
        let end = if self.eof {
            self.buf.len()
        } else {
            self.buf.len() - cut_char(&self.buf[self.valid..])
        };
        match std::str::from_utf8(&self.buf[self.valid..end]) {
            Ok(_) => self.valid = end,
            Err(e) => {
                if self.utf8_problem.is_none() {
                    self.utf8_problem = Some(format!(
                        "invalid UTF-8 at byte {}; decoded with replacement characters",
                        self.base + (self.valid + e.valid_up_to()) as u64
                    ));
                }
                let fixed = String::from_utf8_lossy(&self.buf[self.valid..end]).into_owned();
                let tail = self.buf[end..].to_vec();
                self.buf.truncate(self.valid);
                self.buf.extend_from_slice(fixed.as_bytes());
                self.valid = self.buf.len();
                self.buf.extend_from_slice(&tail);
            }
        }
    }

    /// Whether the window past `from` is full: a unit that still needs more is too large.
    /// Counts checked text only: a character held back for the next read is not yet readable,
    /// and counting it would call a unit too large by how a read happened to cut it.
    fn full(&self, from: usize) -> bool {
        !self.eof && self.valid.saturating_sub(from) >= self.lim.window
    }

    /// Reads to the end without holding it, so damage or the size limit past the last record
    /// is still reported; returns the length of the text from the window's start.
    fn drain(&mut self) -> Result<u64, ReadError> {
        let mut n = self.valid as u64;
        while !self.eof {
            let v = self.valid;
            self.refill(v)?;
            n += self.valid as u64;
        }
        Ok(n)
    }

    /// The file's problem, in the order a reader would want it: reading, encoding, then
    /// `structure`. Hands the storage back for the next file.
    fn into_problem(mut self, structure: Option<String>, buf: &mut Vec<u8>) -> Option<String> {
        let p = self
            .read_problem
            .take()
            .or(self.utf8_problem.take())
            .or(structure);
        self.recycle(buf);
        p
    }

    fn recycle(self, buf: &mut Vec<u8>) {
        *buf = self.buf;
    }
}

/// Reads its inner reader in blocks of a fixed size whatever the caller asks for. A decoder that
/// meets damage returns an error and drops what it inflated in that same call, so what is
/// read before damage would otherwise depend on how large the caller's reads were.
struct Blocks<R> {
    inner: R,
    block: Box<[u8]>,
    pos: usize,
    len: usize,
}

impl<R: Read> Blocks<R> {
    const SIZE: usize = 64 << 10;

    fn new(inner: R) -> Self {
        Blocks {
            inner,
            block: vec![0; Self::SIZE].into_boxed_slice(),
            pos: 0,
            len: 0,
        }
    }
}

impl<R: Read> Read for Blocks<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.len {
            self.len = self.inner.read(&mut self.block)?;
            self.pos = 0;
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Bytes at the end of `b` that begin a UTF-8 character whose remaining bytes are not read yet.
fn cut_char(b: &[u8]) -> usize {
    for back in 1..=b.len().min(3) {
        let c = b[b.len() - back];
        if c & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for the lead
        }
        let width = match c {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if width > back { back } else { 0 };
    }
    0
}

/// Why a unit stopped: it needs more bytes than the window holds, or the input is bad here.
enum Halt {
    More,
    Bad(usize, &'static str),
}

type Res<T> = Result<T, Halt>;

/// A cursor over the window's text.
struct Cur<'t> {
    text: &'t str,
    b: &'t [u8],
    pos: usize,
    /// Whether the text ends here (else running out means reading more).
    eof: bool,
}

impl<'t> Cur<'t> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\n' | b'\r' | b'\t') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    /// Out of bytes at `at`: bad input at the end of the text, else wait for more.
    fn end(&self, at: usize, why: &'static str) -> Halt {
        if self.eof {
            Halt::Bad(at, why)
        } else {
            Halt::More
        }
    }

    /// At an opening quote: moves past the closing quote; returns the raw contents.
    fn string(&mut self) -> Res<&'t [u8]> {
        let start = self.pos + 1;
        let mut i = start;
        loop {
            let Some(off) = memchr::memchr2(b'"', b'\\', &self.b[i..]) else {
                return Err(self.end(self.b.len(), "document ends inside a string"));
            };
            let at = i + off;
            if self.b[at] == b'\\' {
                i = at + 2;
                if i > self.b.len() {
                    return Err(self.end(self.b.len(), "document ends inside a string"));
                }
            } else {
                self.pos = at + 1;
                return Ok(&self.b[start..at]);
            }
        }
    }

    /// Skips one JSON value of any depth, iteratively.
    fn value(&mut self) -> Res<()> {
        let mut depth = 0usize;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.end(self.pos, "document ends inside a value"));
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
                        return Err(Halt::Bad(self.pos, "unexpected closing bracket"));
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                _ => {
                    // Scalars, commas, colons, whitespace: structure is checked by the record parser.
                    if depth == 0 && matches!(c, b',' | b':') {
                        return Err(Halt::Bad(self.pos, "expected a value"));
                    }
                    self.pos += 1;
                    if depth == 0 {
                        // A top-level scalar ends at the next delimiter.
                        while let Some(c) = self.peek() {
                            if is_delimiter(c) {
                                return Ok(());
                            }
                            self.pos += 1;
                        }
                        return if self.eof { Ok(()) } else { Err(Halt::More) };
                    }
                }
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }
}

fn is_delimiter(c: u8) -> bool {
    matches!(c, b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t')
}

/// Skips a value as a stream, for one longer than the window: the same end as
/// [`Cur::value`] without holding it.
#[derive(Default)]
struct Skip {
    /// Known from the first byte: a scalar ends at the next delimiter, whatever it holds.
    scalar: Option<bool>,
    depth: usize,
    in_str: bool,
    esc: bool,
}

impl Skip {
    /// Feeds the next bytes of the value; returns the offset just past its end when it ends
    /// inside `b`.
    fn feed(&mut self, b: &[u8]) -> Option<usize> {
        for (i, &c) in b.iter().enumerate() {
            let scalar = *self.scalar.get_or_insert(!matches!(c, b'"' | b'{' | b'['));
            if scalar {
                if is_delimiter(c) {
                    return Some(i);
                }
                continue;
            }
            if self.in_str {
                if self.esc {
                    self.esc = false;
                } else if c == b'\\' {
                    self.esc = true;
                } else if c == b'"' {
                    self.in_str = false;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                continue;
            }
            match c {
                b'"' => self.in_str = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Why the text cannot end here, or `None` when it may (a scalar ends with the text).
    fn cut(&self) -> Option<&'static str> {
        match (self.scalar, self.in_str) {
            (Some(true), _) => None,
            (_, true) => Some("document ends inside a string"),
            _ => Some("document ends inside a value"),
        }
    }
}

const TOO_LONG_KEY: &str = "a top-level key longer than the record limit";

/// Where the document scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    /// In the top-level object, before a key or `}`.
    Key,
    /// After a key whose value is skipped.
    Value,
    /// After a value in the top-level object, before `,` or `}`.
    AfterValue,
    /// Just after `[`.
    ArrayOpen(DocKind),
    /// Before an element.
    Elem(DocKind),
    /// After an element, before `,` or `]`.
    Sep(DocKind),
    Done,
}

/// Scans a document through the window, handing each element to `each`.
fn document(
    w: &mut Window<'_>,
    each: &mut dyn FnMut(Item<'_>) -> bool,
) -> Result<Split, ReadError> {
    let mut s = Split {
        kind: DocKind::NotADocument,
        items: 0,
        error: None,
        stopped: false,
    };
    let mut phase = Phase::Start;
    // Where the current unit starts in the window.
    let mut cp = 0usize;
    // Whether the current unit, with a full window, has read one byte past it.
    let mut probed = false;
    while phase != Phase::Done {
        let text = w.text();
        let mut c = Cur {
            text,
            b: text.as_bytes(),
            pos: cp,
            eof: w.eof,
        };
        c.ws();
        let unit_start = c.pos;
        match unit(&mut c, &mut phase, &mut s, w.base, w.lim.window, each) {
            Ok(()) if s.stopped => return Ok(s),
            Ok(()) => {
                cp = c.pos;
                probed = false;
            }
            Err(Halt::Bad(at, why)) => {
                s.error = Some((w.base + at as u64, why));
                break;
            }
            Err(Halt::More) if w.full(unit_start) && !probed => {
                // Whether the text ends right here depends on how reads fell; one more byte
                // tells, so a unit that fits the window exactly is not called too large.
                w.refill(unit_start)?;
                cp = 0;
                probed = true;
            }
            Err(Halt::More) if w.full(unit_start) => match phase {
                Phase::Elem(_) | Phase::Value => match skip(w, unit_start)? {
                    Ok((end, bytes)) => {
                        if let Phase::Elem(kind) = phase {
                            s.items += 1;
                            each(Item::TooLarge {
                                n: s.items as u64,
                                bytes,
                            });
                            phase = Phase::Sep(kind);
                        } else {
                            phase = Phase::AfterValue;
                        }
                        cp = end;
                    }
                    Err(why) => {
                        s.error = Some((w.base + w.valid as u64, why));
                        break;
                    }
                },
                _ => {
                    s.error = Some((w.base + unit_start as u64, TOO_LONG_KEY));
                    break;
                }
            },
            Err(Halt::More) => {
                // Whitespace before the unit is done with; the unit is retried with more.
                w.refill(unit_start)?;
                cp = 0;
                probed = false;
            }
        }
    }
    // Past the end of the document: read on (not held) so damage or the size limit is
    // reported as it would be for a file read whole.
    if !w.eof {
        w.drain()?;
    }
    Ok(s)
}

/// Skips the too-large value starting at `from` as a stream; returns where it ends in the
/// window and its length, or why the text ends inside it.
fn skip(w: &mut Window<'_>, from: usize) -> Result<Result<(usize, u64), &'static str>, ReadError> {
    let mut sk = Skip::default();
    let mut at = from;
    let mut bytes = 0u64;
    loop {
        let valid = w.valid;
        if let Some(end) = sk.feed(&w.buf[at..valid]) {
            return Ok(Ok((at + end, bytes + end as u64)));
        }
        bytes += (valid - at) as u64;
        if w.eof {
            return Ok(match sk.cut() {
                None => Ok((valid, bytes)),
                Some(why) => Err(why),
            });
        }
        w.refill(valid)?;
        at = 0;
    }
}

/// Runs one unit of the scan from the cursor (past whitespace). On success the cursor is past
/// the unit and `phase` is the next one; on [`Halt::More`] nothing was handed on.
fn unit(
    c: &mut Cur<'_>,
    phase: &mut Phase,
    s: &mut Split,
    base: u64,
    window: usize,
    each: &mut dyn FnMut(Item<'_>) -> bool,
) -> Res<()> {
    const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];
    let start = c.pos;
    match *phase {
        Phase::Start => {
            if base + c.pos as u64 == 0 {
                if c.b.starts_with(BOM) {
                    // U+FEFF is not JSON whitespace; only a leading byte-order mark is skipped.
                    c.pos = 3;
                    c.ws();
                } else if !c.eof && c.b.len() < 3 && BOM.starts_with(c.b) {
                    return Err(Halt::More);
                }
            }
            match c.peek() {
                Some(b'[') => {
                    s.kind = DocKind::Array;
                    c.pos += 1;
                    *phase = Phase::ArrayOpen(DocKind::Array);
                }
                Some(b'{') => {
                    c.pos += 1;
                    *phase = Phase::Key;
                }
                None => {
                    // Only once the text has ended: a unit that waits for more changes nothing.
                    let halt = c.end(c.pos, "empty file");
                    if matches!(halt, Halt::Bad(..)) {
                        s.kind = DocKind::Array;
                    }
                    return Err(halt);
                }
                Some(_) => return Err(Halt::Bad(c.pos, "not a JSON object or array")),
            }
        }
        Phase::Key => {
            match c.peek() {
                Some(b'}') => {
                    c.pos += 1;
                    *phase = Phase::Done;
                    return Ok(());
                }
                Some(b'"') => {}
                None => return Err(c.end(c.pos, "document ends inside the top-level object")),
                Some(_) => return Err(Halt::Bad(c.pos, "expected a key in the top-level object")),
            }
            let key = c.string()?;
            c.ws();
            match c.peek() {
                Some(b':') => c.pos += 1,
                None if !c.eof => return Err(Halt::More),
                _ => return Err(Halt::Bad(c.pos, "expected ':' after a key")),
            }
            c.ws();
            // What the unit looked at, the next byte included: more than the window is the
            // same error whether one large read brought it in or the window filled first.
            if c.pos - start + usize::from(c.pos < c.b.len()) > window {
                return Err(Halt::Bad(start, TOO_LONG_KEY));
            }
            let wanted = match key {
                b"Records" => Some(DocKind::Records),
                b"Events" => Some(DocKind::Events),
                _ => None,
            };
            match (wanted, c.peek()) {
                (_, None) if !c.eof => return Err(Halt::More),
                (Some(k), Some(b'[')) if s.kind == DocKind::NotADocument => {
                    s.kind = k;
                    c.pos += 1;
                    *phase = Phase::ArrayOpen(k);
                }
                _ => *phase = Phase::Value,
            }
        }
        Phase::Value => {
            c.value()?;
            *phase = Phase::AfterValue;
        }
        Phase::AfterValue => match c.peek() {
            Some(b',') => {
                c.pos += 1;
                *phase = Phase::Key;
            }
            Some(b'}') => {
                c.pos += 1;
                *phase = Phase::Done;
            }
            None => return Err(c.end(c.pos, "document ends inside the top-level object")),
            Some(_) => {
                return Err(Halt::Bad(
                    c.pos,
                    "expected ',' or '}' in the top-level object",
                ))
            }
        },
        Phase::ArrayOpen(k) => match c.peek() {
            Some(b']') => {
                c.pos += 1;
                *phase = close(k);
            }
            None if !c.eof => return Err(Halt::More),
            _ => *phase = Phase::Elem(k),
        },
        Phase::Elem(k) => {
            let n = s.items as u64 + 1;
            let fast = match (k, c.peek()) {
                (DocKind::Records | DocKind::Array, Some(b'{')) => prepare_record_at(c.text, start),
                _ => None,
            };
            let prepared = match fast {
                Some((rec, end)) => {
                    c.pos = end;
                    Some(rec)
                }
                None => {
                    c.value()?;
                    None
                }
            };
            let len = c.pos - start;
            // A scalar also looked at the delimiter after it.
            let scalar = !matches!(c.b[start], b'{' | b'[' | b'"');
            let looked = len + usize::from(scalar && c.pos < c.b.len());
            let go_on = if looked > window {
                // Held only because a read brought it in whole: the same as when it is not.
                each(Item::TooLarge {
                    n,
                    bytes: len as u64,
                })
            } else {
                let text = &c.text[start..c.pos];
                each(match k {
                    DocKind::Events => Item::Wrapped { n, text },
                    _ => Item::Record { n, text, prepared },
                })
            };
            s.stopped = !go_on;
            s.items += 1;
            *phase = Phase::Sep(k);
        }
        Phase::Sep(k) => match c.peek() {
            Some(b',') => {
                c.pos += 1;
                *phase = Phase::Elem(k);
            }
            Some(b']') => {
                c.pos += 1;
                *phase = close(k);
            }
            None => return Err(c.end(c.pos, "document ends inside the records array")),
            Some(_) => return Err(Halt::Bad(c.pos, "expected ',' or ']' between records")),
        },
        Phase::Done => {}
    }
    Ok(())
}

/// The phase after a records array closes: the rest of the top-level object, or the end.
fn close(k: DocKind) -> Phase {
    match k {
        DocKind::Array => Phase::Done,
        _ => Phase::AfterValue,
    }
}

/// JSON Lines, including CloudWatch Logs exports whose lines carry a timestamp prefix. Lines
/// are numbered as `str::lines` numbers them.
fn lines(w: &mut Window<'_>, each: &mut dyn FnMut(Item<'_>) -> bool) -> Result<(), ReadError> {
    let mut n = 0u64;
    let mut cp = 0usize;
    loop {
        let text = w.text();
        let rest = &text.as_bytes()[cp..];
        let (line_end, next) = match memchr::memchr(b'\n', rest) {
            Some(k) => (cp + k, cp + k + 1),
            None if w.eof => {
                if cp < text.len() {
                    n += 1;
                    line(&text[cp..], n, w.lim.window, each);
                }
                return Ok(());
            }
            None if w.full(cp) => {
                n += 1;
                let bytes = skip_line(w, cp)?;
                if !each(Item::TooLarge { n, bytes }) {
                    return Ok(());
                }
                cp = 0;
                continue;
            }
            None => {
                w.refill(cp)?;
                cp = 0;
                continue;
            }
        };
        n += 1;
        if !line(&text[cp..line_end], n, w.lim.window, each) {
            return Ok(());
        }
        cp = next;
    }
}

/// Hands on one line's record; false when the receiver asks to stop.
fn line(l: &str, n: u64, window: usize, each: &mut dyn FnMut(Item<'_>) -> bool) -> bool {
    if l.len() >= window {
        return each(Item::TooLarge {
            n,
            bytes: l.len() as u64,
        });
    }
    let l = l.trim();
    if l.is_empty() {
        return true;
    }
    match l.find('{') {
        Some(at) => each(Item::Record {
            n,
            text: &l[at..],
            prepared: None,
        }),
        None => each(Item::NoObject { n }),
    }
}

/// Skips to just past the next newline (or the end); leaves the window starting there and
/// returns the line's length.
fn skip_line(w: &mut Window<'_>, from: usize) -> Result<u64, ReadError> {
    let mut at = from;
    let mut bytes = 0u64;
    loop {
        let valid = w.valid;
        if let Some(k) = memchr::memchr(b'\n', &w.buf[at..valid]) {
            w.refill(at + k + 1)?;
            return Ok(bytes + k as u64);
        }
        bytes += (valid - at) as u64;
        if w.eof {
            w.refill(valid)?;
            return Ok(bytes);
        }
        w.refill(valid)?;
        at = 0;
    }
}

/// Whether the first non-blank line is a whole JSON object (after any prefix before its `{`).
fn first_line_is_an_object(w: &mut Window<'_>) -> Result<bool, ReadError> {
    loop {
        let text = w.text();
        let t = text.trim_start();
        let nl = memchr::memchr(b'\n', t.as_bytes());
        let line_end = text.len() - t.len() + nl.unwrap_or(t.len());
        if line_end >= w.lim.window && (nl.is_some() || w.eof) {
            // The same answer as when the window fills before the line ends.
            return Ok(true);
        }
        if nl.is_some() || w.eof {
            let first = t[..nl.unwrap_or(t.len())].trim();
            let at = first.find('{').unwrap_or(0);
            return Ok(serde_json::from_str::<serde::de::IgnoredAny>(&first[at..]).is_ok());
        }
        if w.full(0) {
            // A first line longer than any record: read as lines, each reported too large.
            return Ok(true);
        }
        w.refill(0)?;
    }
}

/// An element as the tests and the fuzz targets compare them: its kind, number, text (or
/// size when too large) and whether the fast scanner read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// 'R' record, 'W' LookupEvents wrapper, 'L' too large, 'N' line without an object.
    pub what: char,
    /// Record number or line.
    pub n: u64,
    /// The text, or the size of a too-large one.
    pub text: String,
    /// Whether the fast scanner read it.
    pub fast: bool,
}

/// Reads `data` (named `name`) with `lim`, collecting what [`read`] hands on and its result
/// as text: the reference the chunking fuzz target and the tests compare.
pub fn read_all(
    data: &[u8],
    name: &str,
    lim: Limits,
) -> (Vec<Seen>, Result<Option<String>, String>) {
    let mut seen = Vec::new();
    let open = || -> Result<Box<dyn BufRead + '_>, ReadError> { Ok(Box::new(data)) };
    let mut buf = Vec::new();
    let res = read(&open, Path::new(name), lim, &mut buf, &mut |item| {
        seen.push(match item {
            Item::Record { n, text, prepared } => Seen {
                what: 'R',
                n,
                text: text.to_string(),
                fast: prepared.is_some(),
            },
            Item::Wrapped { n, text } => Seen {
                what: 'W',
                n,
                text: text.to_string(),
                fast: false,
            },
            Item::TooLarge { n, bytes } => Seen {
                what: 'L',
                n,
                text: bytes.to_string(),
                fast: false,
            },
            Item::NoObject { n } => Seen {
                what: 'N',
                n,
                text: String::new(),
                fast: false,
            },
        });
        true
    });
    (seen, res.map_err(|e| e.to_string()))
}

/// The `split_chunks` fuzz target's check: `data[0..3]` choose the window, the read size and
/// the shape; the rest read a window at a time and in smaller reads must give the same.
/// Panics on a difference.
pub fn check_chunking(data: &[u8]) {
    let [w, c, flags, rest @ ..] = data else {
        return;
    };
    let window = 64 + usize::from(*w) * 2;
    let chunk = 1 + usize::from(*c) % window;
    let name = if flags & 1 == 1 { "x.jsonl" } else { "x.json" };
    let max_file_bytes = if flags & 2 == 2 {
        rest.len() as u64 / 2
    } else {
        1 << 20
    };
    let lim = Limits {
        max_file_bytes,
        window,
        chunk: window,
    };
    let whole = read_all(rest, name, lim);
    let cut = read_all(rest, name, Limits { chunk, ..lim });
    assert_eq!(
        whole, cut,
        "read {chunk} bytes at a time with a {window}-byte window"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHOLE: Limits = Limits {
        max_file_bytes: 1 << 30,
        window: 1 << 24,
        chunk: 1 << 24,
    };

    /// Splits `d` read whole; returns the summary, each element's text and whether it was
    /// prepared. Every smaller read size must give the same.
    fn run(d: &str) -> (Split, Vec<(String, bool)>) {
        let split_of = |lim: Limits| {
            let open =
                || -> Result<Box<dyn BufRead + '_>, ReadError> { Ok(Box::new(d.as_bytes())) };
            let mut buf = Vec::new();
            let mut w = Window::open(&open, Path::new("x.json"), lim, &mut buf).unwrap();
            let mut got = Vec::new();
            let s = document(&mut w, &mut |item| {
                match item {
                    Item::Record { text, prepared, .. } => {
                        got.push((text.to_string(), prepared.is_some()))
                    }
                    Item::Wrapped { text, .. } => got.push((text.to_string(), false)),
                    _ => panic!("nothing is too large here"),
                }
                true
            })
            .unwrap();
            (s, got)
        };
        let (s, got) = split_of(WHOLE);
        assert_eq!(s.items, got.len());
        for chunk in [1, 2, 3, 7, 64] {
            let small = split_of(Limits { chunk, ..WHOLE });
            assert_eq!(
                small,
                (s.clone(), got.clone()),
                "read {chunk} bytes at a time"
            );
        }
        (s, got)
    }

    fn texts(got: &[(String, bool)]) -> Vec<&str> {
        got.iter().map(|g| g.0.as_str()).collect()
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

    /// Every way of cutting a file into reads gives the same records, sizes and problems,
    /// whether elements fit the window or not (the `split_chunks` fuzz target does this on
    /// arbitrary bytes).
    #[test]
    fn same_result_whatever_the_reads() {
        let docs: Vec<Vec<u8>> = vec![
            br#"{"Records":[{"eventID":"a","x":"0123456789012345678901234567890123456789012345678901234567890123456789"},{"b":2},"s",12345678901234567890123456789012345678901234567890123456789012345678901234567890,{"c":[1,2,{"d":"}"}]}],"Other":{"k":"0123456789012345678901234567890123456789012345678901234567890123456789"}}"#.to_vec(),
            b"{\"a\":1}\n\n  {\"b\":2}\r\nnot json\n2024-01-01T00:00:00Z {\"c\":3}\n".to_vec(),
            b"{\"Records\":[{\"a\":\"\xff\xfe caf\xc3\xa9 \xe2\x82\"}]}".to_vec(),
            b"\xEF\xBB\xBF[{\"a\":\"x\"},{\"b\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"".to_vec(),
            br#"{"0123456789012345678901234567890123456789012345678901234567890123456789":1,"Records":[{}]}"#.to_vec(),
            br#"{"eventVersion":"1.08",
  "eventTime":"2024-01-01T00:00:00Z"}"#.to_vec(),
        ];
        for d in &docs {
            for name in ["x.json", "x.jsonl"] {
                let window = 64;
                let whole = read_all(
                    d,
                    name,
                    Limits {
                        max_file_bytes: 1 << 20,
                        window,
                        chunk: window,
                    },
                );
                for chunk in 1..window {
                    let got = read_all(
                        d,
                        name,
                        Limits {
                            max_file_bytes: 1 << 20,
                            window,
                            chunk,
                        },
                    );
                    assert_eq!(
                        got,
                        whole,
                        "{name} {:?}, read {chunk} at a time",
                        String::from_utf8_lossy(d)
                    );
                }
            }
        }
        // What the first document gives: the long string record and number too large, the
        // long value of another key skipped unseen.
        let (seen, problem) = read_all(
            &docs[0],
            "x.json",
            Limits {
                max_file_bytes: 1 << 20,
                window: 64,
                chunk: 5,
            },
        );
        let what: String = seen.iter().map(|s| s.what).collect();
        assert_eq!(what, "LRRLR");
        assert_eq!(seen[0].text, "92");
        assert_eq!(problem, Ok(None));
        // Invalid UTF-8 is repaired and reported at its offset.
        let (seen, problem) = read_all(&docs[2], "x.json", WHOLE);
        assert!(seen[0].text.contains('\u{FFFD}') && seen[0].text.contains("café"));
        assert_eq!(
            problem.unwrap().unwrap(),
            "invalid UTF-8 at byte 18; decoded with replacement characters"
        );
    }

    /// Issue 18: a gzip bomb was inflated whole (1.86 GB peak for one 2 MB file). Read as a
    /// stream, what is held stays within the window whatever the file inflates to.
    #[test]
    fn a_gzip_bomb_is_read_through_a_bounded_window() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"Records\":[{\"a\":\"").unwrap();
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..64 {
            gz.write_all(&spaces).unwrap();
        }
        gz.write_all(b"\"}]}").unwrap();
        let bomb = gz.finish().unwrap();
        let lim = Limits::new(48 << 20, 1 << 20);
        let open = || -> Result<Box<dyn BufRead + '_>, ReadError> { Ok(Box::new(&bomb[..])) };
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        let problem = read(&open, Path::new("bomb.json.gz"), lim, &mut buf, &mut |i| {
            if let Item::TooLarge { n, bytes } = i {
                seen.push((n, bytes));
            }
            true
        })
        .unwrap();
        assert!(seen.is_empty(), "the limit cuts the record before it ends");
        assert!(problem.unwrap().contains("exceeds the 48 MiB limit"));
        assert!(
            buf.capacity() <= 3 * lim.window,
            "held {} bytes for a 1 MiB window",
            buf.capacity()
        );
        // Under the size limit, the one huge record is reported by size, never held.
        let lim = Limits::new(1 << 30, 1 << 20);
        let problem = read(&open, Path::new("bomb.json.gz"), lim, &mut buf, &mut |i| {
            if let Item::TooLarge { n, bytes } = i {
                seen.push((n, bytes));
            }
            true
        })
        .unwrap();
        assert_eq!(problem, None);
        assert_eq!(seen, vec![(1, (64 << 20) + 8)]);
        assert!(buf.capacity() <= 3 * lim.window);
    }
}
