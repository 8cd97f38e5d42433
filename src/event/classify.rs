//! The classification tables of `models/classification.toml`: which APIs of a pre-1.06 record
//! are data events, and which name prefixes mean read-only for a record without `readOnly`.
//!
//! The file is read at compile time: a small `const fn` scanner turns it into the same constant
//! tables this module used to spell out, so the lookups compile to the same code (with tables
//! built at run time they measured 2–7× slower per lookup, a hash set too). The scanner knows
//! only the file's own form and stops the build on anything else; a unit test reads the file
//! with the full TOML parser and requires the same tables. The Spark job reads the same file
//! and the Athena SQL is written from it (`scale/athena/sync_classification.py`); the tests
//! below fail when `rollups.sql` differs.

const TABLES_TOML: &str = include_str!("../../models/classification.toml");

/// (data-event names, data-event sources, read-only prefixes) in the file.
const COUNTS: (usize, usize, usize) = scan::counts(TABLES_TOML);
const NAMES: [&str; COUNTS.0] = scan::strings(TABLES_TOML, scan::NAME);
/// Object- and item-level operations that are data events, by eventSource.
const DATA_EVENT_APIS: [(&str, &[&str]); COUNTS.1] = scan::sources(TABLES_TOML, &NAMES);
/// `readOnly` for records that predate the field, by AWS's naming convention.
const READ_ONLY_PREFIXES: [&str; COUNTS.2] = scan::strings(TABLES_TOML, scan::PREFIX);

/// True when `name` of `source` is an object/item-level API, a data event in a record from
/// before eventVersion 1.06 (which has neither `eventCategory` nor `managementEvent`).
pub(super) fn is_legacy_data_api(source: &str, name: &str) -> bool {
    DATA_EVENT_APIS
        .iter()
        .any(|(s, names)| *s == source && names.contains(&name))
}

/// Infers `readOnly` for records that predate the field: AWS's own naming convention.
pub(super) fn infer_read_only(name: &str) -> bool {
    READ_ONLY_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The compile-time reader of classification.toml's form: comments, `read_only_prefixes = [..]`,
/// and `[[data_events]]` tables of `event_source = ".."` and `event_names = [..]`, with plain
/// double-quoted words. Panics (a build error when evaluated for the constants) on anything else.
mod scan {
    pub(super) const PREFIX: u8 = 1;
    const SOURCE: u8 = 2;
    pub(super) const NAME: u8 = 3;

    /// Yields each string of the file with the key it belongs to.
    struct Scan {
        b: &'static [u8],
        i: usize,
        key: u8,
        /// Only spaces since the last newline: a `[` here opens a table.
        line_start: bool,
    }

    const fn at(b: &[u8], i: usize, word: &[u8]) -> bool {
        if i + word.len() > b.len() {
            return false;
        }
        let mut k = 0;
        while k < word.len() {
            if b[i + k] != word[k] {
                return false;
            }
            k += 1;
        }
        true
    }

    impl Scan {
        const fn new(text: &'static str) -> Scan {
            Scan {
                b: text.as_bytes(),
                i: 0,
                key: 0,
                line_start: true,
            }
        }

        const fn next(&mut self) -> Option<(u8, &'static str)> {
            let b = self.b;
            while self.i < b.len() {
                let c = b[self.i];
                let line_start = self.line_start;
                self.line_start = c == b'\n' || (line_start && c == b' ');
                if c == b'#' {
                    while self.i < b.len() && b[self.i] != b'\n' {
                        self.i += 1;
                    }
                } else if c == b'"' {
                    let start = self.i + 1;
                    self.i = start;
                    while self.i < b.len() && b[self.i] != b'"' {
                        if !b[self.i].is_ascii_alphanumeric() && !matches!(b[self.i], b'.' | b'-') {
                            panic!("models/classification.toml: names are plain words (letters, digits; sources also . and -)");
                        }
                        self.i += 1;
                    }
                    if self.i == start || self.i == b.len() {
                        panic!("models/classification.toml: an empty or unterminated string");
                    }
                    let word = b.split_at(start).1.split_at(self.i - start).0;
                    self.i += 1;
                    let key = self.key;
                    match key {
                        PREFIX | NAME => {}
                        SOURCE => self.key = 0, // one source per table
                        _ => panic!("models/classification.toml: a string outside read_only_prefixes, event_source or event_names"),
                    }
                    let Ok(word) = core::str::from_utf8(word) else {
                        unreachable!()
                    };
                    return Some((key, word));
                } else if line_start && at(b, self.i, b"[[data_events]]") {
                    self.key = 0;
                    self.i += 15;
                } else if c == b'[' && line_start {
                    panic!("models/classification.toml: the only table is [[data_events]]");
                } else if c == b'\'' {
                    panic!("models/classification.toml: use double-quoted strings");
                } else if at(b, self.i, b"read_only_prefixes") {
                    self.key = PREFIX;
                    self.i += 18;
                } else if at(b, self.i, b"event_source") {
                    self.key = SOURCE;
                    self.i += 12;
                } else if at(b, self.i, b"event_names") {
                    self.key = NAME;
                    self.i += 11;
                } else {
                    self.i += 1;
                }
            }
            None
        }
    }

    const fn same(a: &str, b: &str) -> bool {
        a.len() == b.len() && at(a.as_bytes(), 0, b.as_bytes())
    }

    pub(super) const fn counts(text: &'static str) -> (usize, usize, usize) {
        let (mut names, mut sources, mut prefixes) = (0, 0, 0);
        let mut s = Scan::new(text);
        while let Some((key, _)) = s.next() {
            match key {
                PREFIX => prefixes += 1,
                SOURCE => sources += 1,
                _ => names += 1,
            }
        }
        (names, sources, prefixes)
    }

    /// Every string of `key`, in file order; no word twice within one source or list.
    pub(super) const fn strings<const N: usize>(text: &'static str, key: u8) -> [&'static str; N] {
        let mut out = [""; N];
        let (mut n, mut group_start) = (0, 0);
        let mut s = Scan::new(text);
        while let Some((k, w)) = s.next() {
            if k == SOURCE {
                group_start = n;
            }
            if k != key {
                continue;
            }
            let mut j = group_start;
            while j < n {
                if same(out[j], w) {
                    panic!("models/classification.toml: a name is listed twice");
                }
                j += 1;
            }
            out[n] = w;
            n += 1;
        }
        out
    }

    /// Each source with its slice of `names` (the names in file order, as `strings` gives them).
    pub(super) const fn sources<const N: usize>(
        text: &'static str,
        names: &'static [&'static str],
    ) -> [(&'static str, &'static [&'static str]); N] {
        let mut out: [(&'static str, &'static [&'static str]); N] = [("", &[]); N];
        let (mut k, mut n, mut start) = (0, 0, 0);
        let mut s = Scan::new(text);
        while let Some((key, w)) = s.next() {
            if key == SOURCE {
                if k > 0 {
                    out[k - 1].1 = names.split_at(start).1.split_at(n - start).0;
                }
                let mut j = 0;
                while j < k {
                    if same(out[j].0, w) {
                        panic!("models/classification.toml: an event_source is listed twice");
                    }
                    j += 1;
                }
                out[k].0 = w;
                (k, start) = (k + 1, n);
            } else if key == NAME {
                if k == 0 {
                    panic!("models/classification.toml: event_names before any event_source");
                }
                n += 1;
            }
        }
        if k > 0 {
            out[k - 1].1 = names.split_at(start).1.split_at(n - start).0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file as the full TOML parser reads it.
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Tables {
        read_only_prefixes: Vec<String>,
        data_events: Vec<DataEvents>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DataEvents {
        event_source: String,
        event_names: Vec<String>,
    }

    fn tables() -> Tables {
        toml::from_str(TABLES_TOML).expect("models/classification.toml parses as TOML")
    }

    /// The lists between `-- BEGIN <block>` and `-- END <block>` of rollups.sql.
    fn sql_block<'a>(sql: &'a str, block: &str) -> &'a str {
        let begin = format!("-- BEGIN {block}");
        let start = sql
            .find(&begin)
            .unwrap_or_else(|| panic!("rollups.sql has no {begin:?} marker"));
        let rest = &sql[start + begin.len()..];
        let end = rest
            .find(&format!("-- END {block}"))
            .unwrap_or_else(|| panic!("rollups.sql has no end marker for {block}"));
        &rest[..end]
    }

    /// Every single-quoted SQL string literal of `s`, in order.
    fn quoted(s: &str) -> Vec<&str> {
        s.split('\'').skip(1).step_by(2).collect()
    }

    #[test]
    fn compiled_tables_are_the_file() {
        let t = tables();
        assert_eq!(READ_ONLY_PREFIXES.to_vec(), t.read_only_prefixes);
        let from_toml: Vec<(&str, Vec<&str>)> = t
            .data_events
            .iter()
            .map(|d| {
                let names = d.event_names.iter().map(String::as_str).collect();
                (d.event_source.as_str(), names)
            })
            .collect();
        let compiled: Vec<(&str, Vec<&str>)> = DATA_EVENT_APIS
            .iter()
            .map(|(s, names)| (*s, names.to_vec()))
            .collect();
        assert_eq!(compiled, from_toml);
        assert!(!compiled.is_empty() && !READ_ONLY_PREFIXES.is_empty());
    }

    #[test]
    fn every_entry_classifies() {
        for (source, names) in DATA_EVENT_APIS {
            for n in names {
                assert!(is_legacy_data_api(source, n), "{source}:{n}");
                // The pair matters, not the name alone.
                assert!(!is_legacy_data_api("ec2.amazonaws.com", n), "{n}");
            }
        }
        assert!(!is_legacy_data_api("s3.amazonaws.com", "CreateBucket"));
        for p in READ_ONLY_PREFIXES {
            assert!(infer_read_only(&format!("{p}Things")), "{p}");
        }
        for name in [
            "RunInstances",
            "PutObject",
            "describeInstances",
            "CreateUser",
        ] {
            assert!(!infer_read_only(name), "{name}");
        }
    }

    #[test]
    fn scanner_refuses_what_it_cannot_read() {
        let ok = "# c [x] 'q'\nread_only_prefixes = [\"Get\"]\n[[data_events]]\nevent_source = \"s3.amazonaws.com\"\nevent_names = [\"GetObject\", \"HeadObject\"]\n";
        assert_eq!(scan::counts(ok), (2, 1, 1));
        let names: [&str; 2] = scan::strings(ok, scan::NAME);
        let sources: [(&str, &[&str]); 1] = scan::sources(ok, Box::leak(Box::new(names)));
        assert_eq!(
            sources,
            [("s3.amazonaws.com", &["GetObject", "HeadObject"][..])]
        );
        let edits: [(&str, &str, &str); 7] = [
            ("[\"Get\"]", "[\"Get\", \"\"]", "empty"),
            ("GetObject", "Get Object", "plain words"),
            ("\"GetObject\"", "'GetObject'", "double-quoted"),
            ("HeadObject", "GetObject", "listed twice"),
            ("event_names", "names", "outside"),
            ("[[data_events]]", "[data_events]", "only table"),
            ("\"Get\"", "\"G\\\"et\"", "plain words"),
        ];
        for (from, to, says) in edits {
            let bad: &'static str = Box::leak(ok.replace(from, to).into_boxed_str());
            let e = std::panic::catch_unwind(|| {
                let c = scan::counts(bad);
                let names: [&str; 8] = scan::strings(bad, scan::NAME);
                let _: [(&str, &[&str]); 1] = scan::sources(bad, Box::leak(Box::new(names)));
                let _: [&str; 2] = scan::strings(bad, scan::PREFIX);
                c
            })
            .expect_err(to);
            let msg = e.downcast_ref::<&str>().copied().unwrap_or_default();
            assert!(msg.contains(says), "{to}: {msg}");
        }
    }

    /// The Athena SQL's copies of both lists equal the file, in order (the SQL is written from
    /// it by scale/athena/sync_classification.py).
    #[test]
    fn athena_sql_matches_the_tables() {
        let sql = include_str!("../../scale/athena/rollups.sql");
        let block = sql_block(sql, "data_events");
        let mut in_sql: Vec<(&str, Vec<&str>)> = Vec::new();
        for when in block.split("WHEN eventsource = ").skip(1) {
            let (source, names) = when
                .split_once(" AND eventname IN (")
                .unwrap_or_else(|| panic!("unexpected data_events branch: {when}"));
            let names = names.split_once(')').expect("closing parenthesis").0;
            in_sql.push((quoted(source)[0], quoted(names)));
        }
        let in_file: Vec<(&str, Vec<&str>)> = DATA_EVENT_APIS
            .iter()
            .map(|(s, names)| (*s, names.to_vec()))
            .collect();
        assert_eq!(
            in_sql, in_file,
            "rollups.sql's data-event APIs differ from models/classification.toml: run \
             python3 scale/athena/sync_classification.py"
        );

        let block = sql_block(sql, "read_only_prefixes");
        let pattern = quoted(block);
        assert_eq!(pattern.len(), 1, "one regexp in {block}");
        let prefixes = pattern[0]
            .strip_prefix("^(")
            .and_then(|p| p.strip_suffix(')'))
            .unwrap_or_else(|| panic!("unexpected read-only pattern {:?}", pattern[0]));
        assert_eq!(
            prefixes.split('|').collect::<Vec<_>>(),
            READ_ONLY_PREFIXES,
            "rollups.sql's read-only prefixes differ from models/classification.toml: run \
             python3 scale/athena/sync_classification.py"
        );
    }
}
