//! One run at a time per state directory: an exclusive lock on `run.lock` that the OS releases
//! when the process ends, however it ends.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use super::{io_error, StateError};

/// Exclusive use of a state directory for one run; released on drop or when the process ends.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock file at `path` without waiting: a second run fails at once with
    /// [`StateError::Busy`], naming the holder.
    pub(super) fn acquire(path: &Path) -> Result<Lock, StateError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_error(path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(StateError::Busy {
                    path: path.to_path_buf(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_error(path)(e)),
        }
        let note = format!(
            "pid {} since {}",
            std::process::id(),
            crate::time::format(chrono::Utc::now().timestamp())
        );
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(note.as_bytes()))
            .map_err(io_error(path))?;
        Ok(Lock { _file: file })
    }
}
