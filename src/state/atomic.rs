//! The one atomic write: readers see the old file or the new one, never a part, and a crash
//! leaves no half-written file under the final name.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{io_error, StateError};

/// Creates the output folder `dir` and its parents; a `dir` that is a file is refused with
/// "is a file, expected a directory" (issue 15: `File exists (os error 17)` said nothing).
pub fn create_folder(dir: &Path) -> std::io::Result<()> {
    if dir.metadata().is_ok_and(|m| !m.is_dir()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "is a file, expected a directory (the output folder)",
        ));
    }
    std::fs::create_dir_all(dir)
}

/// Writes `bytes` to `path` with [`write_atomic_with`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Writes `path` through a uniquely named temporary file in the same directory (filled by
/// `fill`), fsynced, then renamed over `path`; the directory is fsynced too where the platform
/// allows. On failure the temporary file is removed and `path` is untouched. The directory
/// must exist.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<(), StateError> {
    // Unique per process and call: parallel writers (one per day in a commit) never share one.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| StateError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_error(&tmp))?;
        fill(&mut f).map_err(io_error(&tmp))?;
        f.sync_all().map_err(io_error(&tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_error(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable. Opening a directory is not possible everywhere
    // (Windows), and a failure here does not undo the write, so it is best effort.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_cleans_up_after_a_failed_fill() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let e = write_atomic_with(&p, |_| Err(std::io::Error::other("disk full"))).unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "a temporary file was left behind");
        assert!(write_atomic(&dir.path().join("no/such/dir/f"), b"x").is_err());
    }
}
