//! The reader of AWS's own Insights exports (`aws-insights --from`): Insights records as a log
//! file, LookupEvents output, an array or JSON Lines, then paired into start/end insights. No
//! panic (`trailsight::aws::insights::check_reader`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| trailsight::aws::insights::check_reader(data));
