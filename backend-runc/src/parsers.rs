//! The parsers of runc's output, as public entry points for the fuzz targets (`fuzz/`) and
//! their stable proptest twins: each is a pure function of the bytes runc printed, and returns
//! a value or a typed error, never panics.

use runtime_api::{ContainerState, ErrorKind, Result};

/// Parses the stdout of `runc state <id>` (see the backend's `state`).
pub fn parse_state(id: &str, stdout: &[u8]) -> Result<ContainerState> {
    crate::state::parse_state(id, stdout)
}

/// Parses the stdout of `runc list --format json`, sorted by id.
pub fn parse_list(stdout: &[u8]) -> Result<Vec<ContainerState>> {
    crate::state::parse_list(stdout)
}

/// Parses the stdout of `runc ps --format json <id>`: the pids of the container's cgroup.
pub fn parse_ps(id: &str, stdout: &[u8]) -> Result<Vec<i32>> {
    crate::state::parse_ps(id, stdout)
}

/// The message of the last error in a runc `--log-format json` log, if any.
pub fn last_error_message(log: &str) -> Option<String> {
    crate::errors::last_error_message(log)
}

/// The error kind of a failure of runc's `command` from its message and exit code.
pub fn classify(command: &str, message: &str, exit_code: Option<i32>) -> ErrorKind {
    crate::errors::classify(command, message, exit_code)
}
