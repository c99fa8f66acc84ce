//! Decoding of the byte buffers a plugin hands back: its error detail and its JSON answers.
//!
//! These are the only places where bytes written by a plugin become host values, so they are
//! pure functions of the bytes (fuzzed in `fuzz/`): whatever a plugin writes, the host gets a
//! value or a typed [`Error`] naming the plugin and the method, never a panic.

use runtime_api::{Error, ErrorKind};

/// The error of a failed call: the plugin's serialised [`Error`] if `detail` holds one, else a
/// [`ErrorKind`] from `status` (or [`ErrorKind::Backend`]) with a message naming the plugin,
/// the method and the status.
pub fn call_error(plugin: &str, method: &str, status: u32, detail: &[u8]) -> Error {
    serde_json::from_slice::<Error>(detail).unwrap_or_else(|_| {
        let kind = ErrorKind::from_code(status).unwrap_or(ErrorKind::Backend);
        Error::new(
            kind,
            format!(
                "plugin {plugin:?} failed in {method} with status {status} and no readable detail"
            ),
        )
    })
}

/// The answer of a successful call, decoded from the JSON in `out`; invalid JSON (or JSON of
/// another shape) is an [`ErrorKind::Backend`] error naming the plugin and the method.
pub fn answer<T: serde::de::DeserializeOwned>(
    plugin: &str,
    method: &str,
    out: &[u8],
) -> runtime_api::Result<T> {
    serde_json::from_slice(out).map_err(|e| {
        Error::new(
            ErrorKind::Backend,
            format!("plugin {plugin:?} answered {method} with invalid JSON: {e}"),
        )
    })
}
