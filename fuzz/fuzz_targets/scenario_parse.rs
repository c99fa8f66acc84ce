//! The scenario file parser (`rtctl::scenario::parse`): any text gives a scenario or one
//! error naming a line within the text, never a panic; and the quoting rtctl prints
//! (`quote_bytes`) always splits back into the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../checks/scenario_parse.rs");

fuzz_target!(|data: &[u8]| check(data));
