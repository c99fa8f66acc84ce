// The check of fuzz target `plugin_buffer_decode`, shared by the target (`fuzz_targets/plugin_buffer_decode.rs`)
// and by the stable replay of its committed corpus in the test suite: one source for both.
use plugin::host::decode::{answer, call_error};
use runtime_api::{ContainerState, ProcessInfo, RelayReport};

/// The plugin host's decoding of buffers a plugin hands back (`plugin::host::decode`): an
/// error detail and the JSON answers of `state`, `list_container_states`, `running_processes`,
/// `relay_report` and `extension`. Any bytes give a value or a typed error naming the plugin
/// and method, never a panic.
/// Panics when the property does not hold for `data`.
pub fn check(data: &[u8]) {
    let status = data.first().copied().map_or(0, u32::from);
    let e = call_error("fuzz", "wait", status, data);
    if serde_json::from_slice::<runtime_api::Error>(data).is_err() {
        assert!(e.message().contains("\"fuzz\" failed in wait"));
    }
    let _ = answer::<ContainerState>("fuzz", "state", data);
    let _ = answer::<Vec<ContainerState>>("fuzz", "list_container_states", data);
    let _ = answer::<Vec<ProcessInfo>>("fuzz", "running_processes", data);
    let _ = answer::<Option<RelayReport>>("fuzz", "relay_report", data);
    if let Err(e) = answer::<serde_json::Value>("fuzz", "extension", data) {
        assert!(e.to_string().contains("fuzz"));
    }
}
