//! The local input files already folded into the state (`sources/local.json`), so the nightly
//! `run` reads only what is new or changed: keyed by absolute path, with size and modification
//! time. Written only after the events of the files it records are committed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::InputFile;
use crate::state::{StateDir, StateError, StateFile};

/// What the ledger remembers of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
}

impl Seen {
    /// The file's current size and modification time.
    pub fn of(path: &Path) -> std::io::Result<Seen> {
        let m = std::fs::metadata(path)?;
        let mtime_ns = m
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        Ok(Seen {
            size: m.len(),
            mtime_ns,
        })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LedgerFile {
    version: u32,
    files: BTreeMap<String, Seen>,
}

const LEDGER_VERSION: u32 = 1;

/// The local input files already read.
#[derive(Debug)]
pub struct Ledger {
    state: StateDir,
    files: BTreeMap<String, Seen>,
}

impl Ledger {
    /// Reads the ledger (empty when there is none yet).
    pub fn load(state: &StateDir) -> Result<Ledger, StateError> {
        let files = match state.read_json::<LedgerFile>(StateFile::LocalLedger)? {
            None => BTreeMap::new(),
            Some(f) if f.version != LEDGER_VERSION => {
                return Err(StateError::Corrupt {
                    path: state.path(StateFile::LocalLedger),
                    reason: format!(
                        "ledger version {} (this build reads {LEDGER_VERSION})",
                        f.version
                    ),
                    remedy: StateFile::LocalLedger.remedy(),
                })
            }
            Some(f) => f.files,
        };
        Ok(Ledger {
            state: state.clone(),
            files,
        })
    }

    fn key(path: &Path) -> String {
        std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .to_string_lossy()
            .into_owned()
    }

    /// Splits `files` into those to read (new, or changed since they were read) with their
    /// current size and time, and the number already read unchanged.
    pub fn pending(&self, files: Vec<InputFile>) -> (Vec<(InputFile, Seen)>, usize) {
        let mut todo = Vec::new();
        let mut unchanged = 0;
        for f in files {
            // A file that vanished since discovery is left to ingest, which reports it.
            let seen = Seen::of(&f.path).unwrap_or(Seen {
                size: f.size,
                mtime_ns: 0,
            });
            if self.files.get(&Self::key(&f.path)) == Some(&seen) {
                unchanged += 1;
            } else {
                todo.push((f, seen));
            }
        }
        (todo, unchanged)
    }

    /// Records files as read; call only after their events are committed.
    pub fn record<'a>(&mut self, files: impl IntoIterator<Item = (&'a Path, Seen)>) {
        for (p, s) in files {
            self.files.insert(Self::key(p), s);
        }
    }

    /// Files recorded.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes the ledger atomically.
    pub fn save(&self) -> Result<(), StateError> {
        let f = LedgerFile {
            version: LEDGER_VERSION,
            files: self.files.clone(),
        };
        self.state.write_json(StateFile::LocalLedger, &f, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_reads_changed_files_again() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let f = dir.path().join("a.json");
        std::fs::write(&f, b"{}").unwrap();
        let file = |p: &Path| InputFile {
            path: p.to_path_buf(),
            size: std::fs::metadata(p).unwrap().len(),
        };
        let mut l = Ledger::load(&state).unwrap();
        let (todo, unchanged) = l.pending(vec![file(&f)]);
        assert_eq!((todo.len(), unchanged), (1, 0));
        l.record(todo.iter().map(|(f, s)| (f.path.as_path(), *s)));
        l.save().unwrap();
        let l = Ledger::load(&state).unwrap();
        assert_eq!(l.pending(vec![file(&f)]).1, 1);
        std::fs::write(&f, b"{\"Records\":[]}").unwrap();
        assert_eq!(l.pending(vec![file(&f)]).0.len(), 1);
        std::fs::write(state.path(StateFile::LocalLedger), b"{oops").unwrap();
        let e = Ledger::load(&state).unwrap_err().to_string();
        assert!(e.contains("local.json") && e.contains("delete it"), "{e}");
    }
}
