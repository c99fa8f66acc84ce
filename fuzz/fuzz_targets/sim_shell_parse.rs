//! The simulator's shell parser (`backend_sim::shell`): any script text, and any argv, gives
//! a parsed script or an `Unsupported` refusal, never a panic; parsing is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../checks/sim_shell_parse.rs");

fuzz_target!(|data: &[u8]| check(data));
