//! A fast path for [`super::parse_record`]: reads only the top-level fields the pipeline keeps
//! and skips everything else (requestParameters, responseElements, resources, ...) with a
//! word-at-a-time scan instead of serde's byte-by-byte `IgnoredAny`.
//!
//! It is a strict subset of the serde path: it validates the whole record as JSON (strings,
//! escapes, numbers, literals, nesting depth) and returns `None` for anything it does not
//! handle itself — invalid JSON, a duplicate kept field, a wrong type, an escaped key, very deep
//! nesting. The caller then runs serde, so error messages and every accepted value are exactly
//! serde's (checked by the property tests below against serde on fixtures and mutations).

use std::borrow::Cow;

use super::{RawRecord, SessionContext, SessionIssuer, UserIdentity};

/// Containers nested deeper than this are left to serde (whose limit is 128).
const MAX_DEPTH: u32 = 100;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Bytes of `w` equal to zero (lowest flagged byte exact; higher ones may be false positives).
#[inline(always)]
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

/// Flags bytes that end a string's plain run: `"`, `\` or a control character (< 0x20).
#[inline(always)]
fn string_stops(w: u64) -> u64 {
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    control | zero_bytes(w ^ (ONES * u64::from(b'"'))) | zero_bytes(w ^ (ONES * u64::from(b'\\')))
}

struct Cursor<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
}

/// A string token: the contents' byte range and whether it holds escapes.
#[derive(Clone, Copy)]
struct Str {
    start: usize,
    end: usize,
    escaped: bool,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline(always)]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    /// At an opening quote: validates the string as serde does (escapes, no control
    /// characters) and moves past it.
    #[inline]
    fn string(&mut self) -> Option<Str> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            while let Some(chunk) = self.b.get(i..i + 8) {
                let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                let m = string_stops(w);
                if m != 0 {
                    i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            match *self.b.get(i)? {
                b'"' => {
                    self.pos = i + 1;
                    return Some(Str {
                        start,
                        end: i,
                        escaped,
                    });
                }
                b'\\' => {
                    escaped = true;
                    match *self.b.get(i + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                        b'u' => {
                            let hex = self.b.get(i + 2..i + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            i += 6;
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                _ => i += 1,
            }
        }
    }

    /// A key (no escapes: an escaped key may spell a field name, left to serde), then `:`.
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let s = self.string()?;
        if s.escaped {
            return None;
        }
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(&self.b[s.start..s.end])
    }

    /// A number by the JSON grammar; what follows it is checked by the caller.
    fn number(&mut self) -> Option<()> {
        let digits = |c: &mut Self| {
            let from = c.pos;
            while c.peek().is_some_and(|d| d.is_ascii_digit()) {
                c.pos += 1;
            }
            (c.pos > from).then_some(())
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => digits(self)?,
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            digits(self)?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            digits(self)?;
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.pos..self.pos + word.len())? == word {
            self.pos += word.len();
            Some(())
        } else {
            None
        }
    }

    /// Skips and validates one value of any shape, iteratively. `depth` is how many containers
    /// enclose it.
    fn skip(&mut self, depth: u32) -> Option<()> {
        // Bit i set: the container at nesting level i (from this value) is an object.
        let mut objects: u128 = 0;
        let mut level: u32 = 0;
        loop {
            // A value is expected here.
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                open @ (b'{' | b'[') => {
                    self.pos += 1;
                    self.ws();
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                    } else {
                        if depth + level + 1 >= MAX_DEPTH {
                            return None;
                        }
                        if open == b'{' {
                            objects |= 1 << level;
                            self.key()?;
                        } else {
                            objects &= !(1 << level);
                        }
                        level += 1;
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // After a value: close containers or move to the next element.
            loop {
                if level == 0 {
                    return Some(());
                }
                self.ws();
                let in_object = objects & (1 << (level - 1)) != 0;
                match (self.peek()?, in_object) {
                    (b',', _) => {
                        self.pos += 1;
                        self.ws();
                        if in_object {
                            self.key()?;
                        }
                        break;
                    }
                    (b'}', true) | (b']', false) => {
                        self.pos += 1;
                        level -= 1;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// `null` or a string, as serde reads an `Option<Cow<str>>`.
    #[inline]
    fn opt_str(&mut self) -> Option<Option<Cow<'a, str>>> {
        match self.peek()? {
            b'n' => {
                self.literal(b"null")?;
                Some(None)
            }
            b'"' => {
                let s = self.string()?;
                Some(Some(self.str_value(s)?))
            }
            _ => None,
        }
    }

    fn str_value(&self, s: Str) -> Option<Cow<'a, str>> {
        if s.escaped {
            // Rare: let serde unescape (and reject lone surrogates) exactly as it would.
            serde_json::from_str::<String>(&self.text[s.start - 1..s.end + 1])
                .ok()
                .map(Cow::Owned)
        } else {
            // The quotes are ASCII, so these are char boundaries.
            Some(Cow::Borrowed(&self.text[s.start..s.end]))
        }
    }

    /// `null`, a boolean or a `"true"`/`"false"` string in any case, as `lenient_bool` reads it.
    fn opt_bool(&mut self) -> Option<Option<bool>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|_| None),
            b't' => self.literal(b"true").map(|_| Some(true)),
            b'f' => self.literal(b"false").map(|_| Some(false)),
            b'"' => {
                let s = self.string()?;
                let v = self.str_value(s)?;
                if v.eq_ignore_ascii_case("true") {
                    Some(Some(true))
                } else if v.eq_ignore_ascii_case("false") {
                    Some(Some(false))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// An object whose keys are handed to `field` (which must consume the value).
    #[inline]
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.key()?;
            field(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.ws();
                }
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// Sets a field once; a second occurrence is serde's "duplicate field" error, left to serde.
#[inline(always)]
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & (1 << bit) != 0 {
        return None;
    }
    *seen |= 1 << bit;
    Some(())
}

fn session_issuer<'a>(c: &mut Cursor<'a>, depth: u32) -> Option<Option<SessionIssuer<'a>>> {
    if c.peek()? == b'n' {
        return c.literal(b"null").map(|_| None);
    }
    let mut out = SessionIssuer::default();
    let mut seen = 0u32;
    c.object(|c, k| match k {
        b"arn" => {
            once(&mut seen, 0)?;
            out.arn = c.opt_str()?;
            Some(())
        }
        _ => c.skip(depth),
    })?;
    Some(Some(out))
}

fn session_context<'a>(c: &mut Cursor<'a>, depth: u32) -> Option<Option<SessionContext<'a>>> {
    if c.peek()? == b'n' {
        return c.literal(b"null").map(|_| None);
    }
    let mut out = SessionContext::default();
    let mut seen = 0u32;
    c.object(|c, k| match k {
        b"sessionIssuer" => {
            once(&mut seen, 0)?;
            out.session_issuer = session_issuer(c, depth + 1)?;
            Some(())
        }
        _ => c.skip(depth),
    })?;
    Some(Some(out))
}

fn user_identity<'a>(c: &mut Cursor<'a>, depth: u32) -> Option<Option<UserIdentity<'a>>> {
    if c.peek()? == b'n' {
        return c.literal(b"null").map(|_| None);
    }
    let mut u = UserIdentity::default();
    let mut seen = 0u32;
    c.object(|c, k| {
        let (bit, slot) = match k {
            b"type" => (0, &mut u.kind),
            b"principalId" => (1, &mut u.principal_id),
            b"arn" => (2, &mut u.arn),
            b"accountId" => (3, &mut u.account_id),
            b"accessKeyId" => (4, &mut u.access_key_id),
            b"invokedBy" => (5, &mut u.invoked_by),
            b"userName" => (6, &mut u.user_name),
            b"sessionContext" => {
                once(&mut seen, 7)?;
                u.session_context = session_context(c, depth + 1)?;
                return Some(());
            }
            _ => return c.skip(depth),
        };
        once(&mut seen, bit)?;
        *slot = c.opt_str()?;
        Some(())
    })?;
    Some(Some(u))
}

/// Reads a record the way serde would, or returns `None` to leave it to serde.
pub(super) fn raw_record(text: &str) -> Option<RawRecord<'_>> {
    let mut c = Cursor {
        text,
        b: text.as_bytes(),
        pos: 0,
    };
    c.ws();
    let r = object_record(&mut c)?;
    c.ws();
    (c.pos == c.b.len()).then_some(r)
}

/// Reads the record object that starts at byte `at` of `text` (inside a larger document);
/// returns it with the offset just past its closing brace.
pub(super) fn raw_record_at(text: &str, at: usize) -> Option<(RawRecord<'_>, usize)> {
    let mut c = Cursor {
        text,
        b: text.as_bytes(),
        pos: at,
    };
    let r = object_record(&mut c)?;
    Some((r, c.pos))
}

fn object_record<'a>(c: &mut Cursor<'a>) -> Option<RawRecord<'a>> {
    let mut r = RawRecord {
        event_version: None,
        event_time: None,
        event_source: None,
        event_name: None,
        aws_region: None,
        source_ip_address: None,
        user_agent: None,
        error_code: None,
        event_id: None,
        event_type: None,
        event_category: None,
        management_event: None,
        read_only: None,
        recipient_account_id: None,
        user_identity: None,
    };
    let mut seen = 0u32;
    c.object(|c, k| {
        let (bit, slot) = match k {
            b"eventVersion" => (0, &mut r.event_version),
            b"eventTime" => (1, &mut r.event_time),
            b"eventSource" => (2, &mut r.event_source),
            b"eventName" => (3, &mut r.event_name),
            b"awsRegion" => (4, &mut r.aws_region),
            b"sourceIPAddress" => (5, &mut r.source_ip_address),
            b"userAgent" => (6, &mut r.user_agent),
            b"errorCode" => (7, &mut r.error_code),
            b"eventID" => (8, &mut r.event_id),
            b"eventType" => (9, &mut r.event_type),
            b"eventCategory" => (10, &mut r.event_category),
            b"recipientAccountId" => (11, &mut r.recipient_account_id),
            b"managementEvent" => {
                once(&mut seen, 12)?;
                r.management_event = c.opt_bool()?;
                return Some(());
            }
            b"readOnly" => {
                once(&mut seen, 13)?;
                r.read_only = c.opt_bool()?;
                return Some(());
            }
            b"userIdentity" => {
                once(&mut seen, 14)?;
                r.user_identity = user_identity(c, 2)?;
                return Some(());
            }
            _ => return c.skip(1),
        };
        once(&mut seen, bit)?;
        *slot = c.opt_str()?;
        Some(())
    })?;
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::super::parse_record_serde;
    use super::*;

    /// The fast path agrees with serde: when it accepts, serde accepts with the same result.
    fn agrees(rec: &str) -> bool {
        if let Some(diff) = super::super::fast_disagrees_with_serde(rec) {
            panic!("{diff}");
        }
        true
    }

    const FULL: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::111122223333:assumed-role/Deploy/s1","accountId":"111122223333","accessKeyId":"ASIAX","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::111122223333:role/Deploy","accountId":"111122223333","userName":"Deploy"},"attributes":{"creationDate":"2026-01-05T09:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-01-05T10:00:07Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","sourceIPAddress":"1.2.3.4","userAgent":"aws-cli/2 \"quoted\" \u00e9","requestParameters":{"instancesSet":{"items":[{"imageId":"ami-1","minCount":1,"maxCount":-2.5e+3}]},"flag":true,"none":null,"s":"a\\b\/c\u0041"},"responseElements":null,"requestID":"r1","eventID":"e1","readOnly":false,"resources":[],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}"#;

    #[test]
    fn full_record_takes_the_fast_path() {
        assert!(raw_record(FULL).is_some());
        assert!(agrees(FULL));
        let e = parse_record_serde(FULL).unwrap().event;
        assert_eq!(e.user_agent, "aws-cli/2 \"quoted\" é");
    }

    #[test]
    fn odd_records_are_left_to_serde() {
        for rec in [
            r#"{"eventTime":"a","eventTime":"b"}"#,
            r#"{"event\u0054ime":"2026-01-05T10:00:00Z"}"#,
            r#"{"eventTime":1}"#,
            r#"{"x":[1,]}"#,
            r#"{"x":01}"#,
            r#"{"x":1.}"#,
            r#"{"x":-}"#,
            r#"{"x":tru}"#,
            r#"{"x":"a\qb"}"#,
            "{\"x\":\"a\tb\"}",
            r#"{"x":{"a" 1}}"#,
            r#"{"x":{"a":1,}}"#,
            r#"{"x":[1 2]}"#,
            r#"{"readOnly":"maybe"}"#,
            r#"{"readOnly":7}"#,
            r#"{"userIdentity":[1]}"#,
            r#"{"userAgent":"\ud800"}"#,
            r#"{} x"#,
            r#"{"a":1"#,
            r#"{"#,
            "",
        ] {
            assert!(raw_record(rec).is_none(), "{rec}");
            assert!(agrees(rec));
        }
        let deep = format!(r#"{{"x":{}1{}}}"#, "[".repeat(200), "]".repeat(200));
        assert!(raw_record(&deep).is_none());
        let ok_deep = format!(r#"{{"x":{}1{}}}"#, "[".repeat(50), "]".repeat(50));
        assert!(raw_record(&ok_deep).is_some());
        assert!(agrees(&ok_deep));
    }

    /// Every prefix, every single-byte deletion and a set of byte substitutions of a full
    /// record: whenever the fast path accepts, serde agrees exactly.
    #[test]
    fn mutations_agree_with_serde() {
        let b = FULL.as_bytes();
        let mut accepted = 0;
        let mut tried = 0;
        let mut check = |v: Vec<u8>| {
            if let Ok(s) = String::from_utf8(v) {
                tried += 1;
                if raw_record(&s).is_some() {
                    accepted += 1;
                }
                agrees(&s);
            }
        };
        for i in 0..b.len() {
            check(b[..i].to_vec());
            let mut del = b.to_vec();
            del.remove(i);
            check(del);
            for sub in [
                b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'1', b' ', b'\n', 0x01,
            ] {
                let mut v = b.to_vec();
                v[i] = sub;
                check(v);
            }
        }
        assert!(tried > 10_000 && accepted > 100, "{tried} {accepted}");
    }

    /// The raw text of every record in a fixture file (bare array, `Records` or JSON Lines).
    fn records_of(text: &str) -> Vec<String> {
        use serde_json::value::RawValue;
        #[derive(serde::Deserialize)]
        struct Doc<'a> {
            #[serde(borrow, rename = "Records")]
            records: Vec<&'a RawValue>,
        }
        if let Ok(v) = serde_json::from_str::<Vec<&RawValue>>(text) {
            return v.iter().map(|r| r.get().to_string()).collect();
        }
        if let Ok(d) = serde_json::from_str::<Doc<'_>>(text) {
            return d.records.iter().map(|r| r.get().to_string()).collect();
        }
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Real records (Stratus Red Team, Panther) and a simulated day: all take the fast path
    /// and give serde's result; the first record of each fixture file is also mutated.
    #[test]
    fn fixtures_and_simulator_agree_with_serde() {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut records = Vec::new();
        let mut firsts = Vec::new();
        // The repository's vendored samples (all of `../shared`'s, tests/fixtures/NOTICE).
        for entry in walkdir::WalkDir::new(here.join("tests/fixtures")) {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy();
            if !(name.ends_with(".json") || name.ends_with(".jsonl")) {
                continue;
            }
            let recs = records_of(&std::fs::read_to_string(entry.path()).unwrap());
            firsts.extend(recs.first().cloned());
            records.extend(recs);
        }
        assert!(records.len() > 50, "{} fixture records", records.len());

        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::simulate::SimConfig {
            days: 1,
            scale: 0.02,
            ..Default::default()
        };
        crate::simulate::simulate(&cfg, dir.path(), &|_, _| {}).unwrap();
        let mut simulated = 0;
        for entry in walkdir::WalkDir::new(dir.path().join("AWSLogs")) {
            let entry = entry.unwrap();
            if !entry.file_name().to_string_lossy().ends_with(".json.gz") {
                continue;
            }
            let mut text = String::new();
            let f = std::fs::File::open(entry.path()).unwrap();
            std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(f), &mut text)
                .unwrap();
            let recs = records_of(&text);
            simulated += recs.len();
            records.extend(recs);
        }
        assert!(simulated > 1000, "{simulated} simulated records");

        for rec in &records {
            assert!(raw_record(rec).is_some(), "fast path refused {rec}");
            assert!(agrees(rec));
        }
        for rec in firsts.iter().take(8) {
            let b = rec.as_bytes();
            for i in (0..b.len()).step_by(3) {
                for sub in [b'"', b'}', b']', b',', b'0', b'\\'] {
                    let mut v = b.to_vec();
                    v[i] = sub;
                    if let Ok(s) = String::from_utf8(v) {
                        agrees(&s);
                    }
                }
            }
        }
    }
}
