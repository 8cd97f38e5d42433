//! The state directory, with one owner: every file under it is named in [`StateFile`] (or, for
//! rollup tables, built by [`StateDir::rollup_file`]), read through [`StateDir::read_json`] and
//! written through [`write_atomic`]. The schema versions of the versioned files and the run
//! lock live here too. Nothing else in the crate builds a path under the state directory.
//!
//! Layout (`<state>/…`):
//!
//! ```text
//! manifest.json                         which rollup files are current (rollup::Store)
//! rollups/<table>/day=YYYY-MM-DD/gNNNNNN.parquet|bin   immutable, one generation per commit
//! models/baselines.json                 fitted baselines (baseline)
//! ingest-log.json                       the last ingest summaries (ingest::log), for the report
//! runs.json                             the nightly run log (pipeline::run)
//! sources/local.json                    local input files already read (ingest::ledger)
//! sources/s3.json                       S3 keys and ETags already read (aws)
//! sources/cloudtrail.json               where the event history was read up to (aws)
//! run.lock                              one nightly run at a time
//! ```

mod atomic;
mod lock;

use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};

pub use atomic::{create_folder, write_atomic, write_atomic_with};
pub use lock::Lock;

/// A versioned file format: the `format` and `schema_version` fields its writer stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    /// The `format` field.
    pub format: &'static str,
    /// The `schema_version` field; bumped on any incompatible change.
    pub version: u32,
}

/// The rollups' manifest and tables.
pub const ROLLUP_SCHEMA: Schema = Schema {
    format: "trailsight-rollups",
    version: 1,
};

/// The fitted baselines.
pub const MODEL_SCHEMA: Schema = Schema {
    format: "trailsight-baselines",
    version: 3,
};

/// Every file of the state directory other than the rollup tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFile {
    /// `manifest.json`.
    Manifest,
    /// `models/baselines.json`.
    Baselines,
    /// `ingest-log.json`.
    IngestLog,
    /// `runs.json`.
    RunLog,
    /// `sources/local.json`.
    LocalLedger,
    /// `sources/s3.json`.
    S3Ledger,
    /// `sources/cloudtrail.json`.
    HistoryProgress,
    /// `run.lock`.
    Lock,
}

impl StateFile {
    /// The path relative to the state directory.
    pub fn rel(self) -> &'static str {
        match self {
            StateFile::Manifest => "manifest.json",
            StateFile::Baselines => "models/baselines.json",
            StateFile::IngestLog => "ingest-log.json",
            StateFile::RunLog => "runs.json",
            StateFile::LocalLedger => "sources/local.json",
            StateFile::S3Ledger => "sources/s3.json",
            StateFile::HistoryProgress => "sources/cloudtrail.json",
            StateFile::Lock => "run.lock",
        }
    }

    /// What to do when the file cannot be used, for error messages.
    pub fn remedy(self) -> &'static str {
        match self {
            StateFile::Manifest => "re-ingest into a new state directory",
            StateFile::Baselines => "run `trailsight baseline` again",
            StateFile::IngestLog => "delete it; the next ingest starts a new log",
            StateFile::RunLog | StateFile::LocalLedger => {
                "delete it to start the bookkeeping afresh: inputs are then read again and deduplicated"
            }
            StateFile::S3Ledger | StateFile::HistoryProgress => "delete it to start over",
            StateFile::Lock => "remove it if no trailsight run is alive",
        }
    }
}

/// A state file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not what this version writes.
    #[error("{}: {reason} ({remedy})", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// What to do about it.
        remedy: &'static str,
    },
    /// The file was written by an incompatible version.
    #[error("{}: {format} schema version {found} is not supported by this trailsight (expects {expected}); {remedy}", path.display())]
    Schema {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: &'static str,
        /// Version found.
        found: u32,
        /// Version this build reads.
        expected: u32,
        /// What to do about it.
        remedy: &'static str,
    },
    /// Another run holds the state.
    #[error("{} is locked by another trailsight run ({holder}); wait for it to finish, or remove the file if that process no longer exists", path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// What the holder wrote into the lock file (pid, start time).
        holder: String,
    },
    /// The state path is a file (issue 15: it used to fail as `File exists: File exists`).
    #[error("{}: is a file, expected a directory (the state directory)", .0.display())]
    NotADirectory(PathBuf),
    /// No state directory exists yet.
    #[error("no trailsight state at {} (run `trailsight ingest --state {} PATH...` first)", .0.display(), .0.display())]
    Missing(PathBuf),
}

/// An `Io` error for `path`, for `map_err`.
pub fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The state directory at `root` (nothing is read or created yet).
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    /// Its root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `file` lives.
    pub fn path(&self, file: StateFile) -> PathBuf {
        self.root.join(file.rel())
    }

    /// Whether the state holds rollups (a manifest was committed).
    pub fn exists(&self) -> bool {
        self.path(StateFile::Manifest).exists()
    }

    /// Creates the root folder if needed.
    pub fn create(&self) -> Result<(), StateError> {
        self.check_is_dir()?;
        std::fs::create_dir_all(&self.root).map_err(io_error(&self.root))
    }

    /// Refuses a state path that exists and is not a folder.
    pub fn check_is_dir(&self) -> Result<(), StateError> {
        match std::fs::metadata(&self.root) {
            Ok(m) if !m.is_dir() => Err(StateError::NotADirectory(self.root.clone())),
            _ => Ok(()),
        }
    }

    /// The relative name of one generation of a day's rollup table (`ext`: `parquet`, `bin`),
    /// as the manifest records it.
    pub fn rollup_file(table: &str, day: &str, generation: u64, ext: &str) -> String {
        format!("rollups/{table}/day={day}/g{generation:06}.{ext}")
    }

    /// A file the manifest names, relative to the state directory.
    pub fn resolve(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The folder holding every rollup table (for removing files no manifest names).
    pub fn rollups_dir(&self) -> PathBuf {
        self.root.join("rollups")
    }

    /// Reads a JSON state file; `None` when there is none yet.
    pub fn read_json<T: DeserializeOwned>(&self, file: StateFile) -> Result<Option<T>, StateError> {
        let path = self.path(file);
        let bytes = match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            r => r.map_err(io_error(&path))?,
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                path,
                reason: e.to_string(),
                remedy: file.remedy(),
            })
    }

    /// Reads a versioned JSON state file, refusing another format or schema version with a
    /// clear error before the contents are interpreted; `None` when there is none yet.
    pub fn read_versioned<T: DeserializeOwned>(
        &self,
        file: StateFile,
        schema: Schema,
    ) -> Result<Option<T>, StateError> {
        let Some(v) = self.read_json::<serde_json::Value>(file)? else {
            return Ok(None);
        };
        let path = self.path(file);
        let corrupt = |reason: String| StateError::Corrupt {
            path: path.clone(),
            reason,
            remedy: file.remedy(),
        };
        if v.get("format").and_then(|f| f.as_str()) != Some(schema.format) {
            return Err(corrupt(format!("not a {} file", schema.format)));
        }
        let found = v
            .get("schema_version")
            .and_then(|s| s.as_u64())
            .unwrap_or(0) as u32;
        if found != schema.version {
            return Err(StateError::Schema {
                path,
                format: schema.format,
                found,
                expected: schema.version,
                remedy: file.remedy(),
            });
        }
        serde_json::from_value(v)
            .map(Some)
            .map_err(|e| corrupt(e.to_string()))
    }

    /// Writes a JSON state file atomically (its folder is created when missing).
    pub fn write_json<T: Serialize>(
        &self,
        file: StateFile,
        value: &T,
        pretty: bool,
    ) -> Result<(), StateError> {
        let path = self.path(file);
        let bytes = if pretty {
            serde_json::to_vec_pretty(value)
        } else {
            serde_json::to_vec(value)
        }
        .map_err(|e| StateError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        write_atomic(&path, &bytes)
    }

    /// Takes the run lock without waiting ([`Lock`]).
    pub fn lock(&self) -> Result<Lock, StateError> {
        self.create()?;
        Lock::acquire(&self.path(StateFile::Lock))
    }
}

/// Dies here when `TRAILSIGHT_FAILPOINT` names this point: the crash tests' stand-in for a kill
/// at an exact step (a real SIGKILL test covers the unaligned case).
pub fn failpoint(name: &str) {
    if std::env::var_os("TRAILSIGHT_FAILPOINT").is_some_and(|v| v == name) {
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Doc {
        format: String,
        schema_version: u32,
        n: u32,
    }

    #[test]
    fn json_files_round_trip_and_bad_ones_name_the_file_and_the_remedy() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::new(dir.path().join("st"));
        assert_eq!(s.read_json::<Doc>(StateFile::RunLog).unwrap(), None);
        let d = Doc {
            format: MODEL_SCHEMA.format.into(),
            schema_version: MODEL_SCHEMA.version,
            n: 3,
        };
        s.write_json(StateFile::Baselines, &d, false).unwrap();
        assert_eq!(
            s.read_versioned::<Doc>(StateFile::Baselines, MODEL_SCHEMA)
                .unwrap(),
            Some(d)
        );
        let e = s
            .read_versioned::<Doc>(StateFile::Baselines, ROLLUP_SCHEMA)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("baselines.json") && e.contains("not a trailsight-rollups file"),
            "{e}"
        );
        let newer = Doc {
            format: MODEL_SCHEMA.format.into(),
            schema_version: 999,
            n: 0,
        };
        s.write_json(StateFile::Baselines, &newer, true).unwrap();
        let e = s
            .read_versioned::<Doc>(StateFile::Baselines, MODEL_SCHEMA)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("schema version 999") && e.contains("trailsight baseline"),
            "{e}"
        );
        std::fs::create_dir_all(s.root().join("sources")).unwrap();
        std::fs::write(s.path(StateFile::LocalLedger), b"{").unwrap();
        let e = s
            .read_json::<Doc>(StateFile::LocalLedger)
            .unwrap_err()
            .to_string();
        assert!(e.contains("local.json") && e.contains("delete it"), "{e}");
    }
}
