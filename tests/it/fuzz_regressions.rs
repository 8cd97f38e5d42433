//! Every input a fuzz target found a bug with, kept in `fuzz/regressions/<target>/` and named
//! for what it showed, is checked again here with the target's own check, so the fix cannot
//! regress without the fuzzer (fuzz/README.md).

use std::path::Path;

fn each_input(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return; // nothing found yet for this target
    };
    for f in entries {
        let f = f.unwrap().path();
        let data = std::fs::read(&f).unwrap();
        let r = std::panic::catch_unwind(|| check(&data));
        assert!(r.is_ok(), "{target}: {} fails again", f.display());
    }
}

#[test]
fn record_scanner() {
    each_input("record_scanner", |d| {
        if let Ok(t) = std::str::from_utf8(d) {
            assert_eq!(trailsight::event::fast_disagrees_with_serde(t), None);
        }
    });
}

#[test]
fn split_chunks() {
    each_input("split_chunks", trailsight::ingest::split::check_chunking);
}

#[test]
fn ingest_file() {
    each_input("ingest_file", trailsight::ingest::check_file_bytes);
}

#[test]
fn config() {
    each_input("config", |d| {
        if let Ok(t) = std::str::from_utf8(d) {
            trailsight::config::Config::check_round_trip(t);
        }
    });
}

#[test]
fn insights_reader() {
    each_input("insights_reader", trailsight::aws::insights::check_reader);
}
