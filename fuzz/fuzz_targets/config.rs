//! The config file and its suppression rules on arbitrary text: no panic, every refusal is an
//! error, and an accepted config saved (as `detect` saves it beside findings) reads back the
//! same (`trailsight::config::Config::check_round_trip`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        trailsight::config::Config::check_round_trip(text);
    }
});
