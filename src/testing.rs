//! Helpers shared by the unit tests and the integration suite (`tests/`); not part of the API.

use std::path::{Path, PathBuf};

/// The environment variable that rewrites golden files instead of comparing with them.
pub const BLESS_VAR: &str = "TRAILSIGHT_BLESS";

/// `tests/golden/<name>`.
pub fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file `tests/golden/<name>`; with `TRAILSIGHT_BLESS=1`
/// rewrites the file instead. Panics with both texts when they differ.
pub fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os(BLESS_VAR).is_some() {
        std::fs::create_dir_all(path.parent().expect("under tests/"))
            .expect("creating tests/golden");
        std::fs::write(&path, actual).expect("writing the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with {BLESS_VAR}=1 to create it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the output; if the format change is intended, re-run with \
         {BLESS_VAR}=1 and review the diff.\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}
