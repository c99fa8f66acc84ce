//! The plugin host's decoding of buffers a plugin hands back (`plugin::host::decode`): an
//! error detail and the JSON answers of `state`, `list_container_states`, `running_processes`,
//! `relay_report` and `extension`. Any bytes give a value or a typed error naming the plugin
//! and method, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../checks/plugin_buffer_decode.rs");

fuzz_target!(|data: &[u8]| check(data));
