//! The fast record scanner against serde: on any text, when the scanner reads a record, serde
//! reads the same event of the same class, or fails with the same error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(diff) = trailsight::event::fast_disagrees_with_serde(text) {
            panic!("{diff}");
        }
    }
});
