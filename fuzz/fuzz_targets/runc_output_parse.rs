//! The runc backend's parsers of runc's output: `state`, `list`, `ps` JSON and the JSON log
//! (last error message, error kind). Any bytes give a value or a typed error, never a panic;
//! `list` comes back sorted by id.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../checks/runc_output_parse.rs");

fuzz_target!(|data: &[u8]| check(data));
