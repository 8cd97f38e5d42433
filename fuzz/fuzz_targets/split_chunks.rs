//! The streaming splitter on arbitrary bytes: no panic, and every way of cutting the input into
//! reads gives the same records, sizes and problems as reading a window at a time. A small
//! window makes too-large records, skipped as a stream, common. The check itself is
//! `trailsight::ingest::split::check_chunking`, which the regression tests run too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| trailsight::ingest::split::check_chunking(data));
