//! Whole-file ingest of arbitrary bytes, as the nightly job reads a delivered file: gzip (the
//! input is compressed when its first byte is even), splitting, parsing, classification and the
//! plausible-time check. No panic, and the counts add up
//! (`trailsight::ingest::check_file_bytes`, which the regression tests run too).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| trailsight::ingest::check_file_bytes(data));
