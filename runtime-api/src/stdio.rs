//! The connections a caller hands to a process, and the size of a console.

use std::os::fd::OwnedFd;

/// The connections to relay a process's stdio to: optional, owned file descriptors.
///
/// Each fd may be a unix stream socket, a pipe end, a regular file or `/dev/null`. The runtime
/// takes ownership: it closes each fd exactly once, when the relay of that stream has ended
/// (or at once, if the operation that received it fails). The process never gets these fds
/// themselves; its stdio is a pipe or a pty owned by the runtime, so that the runtime can tell
/// when the process is done writing.
///
/// `None` for a stream means the process gets `/dev/null` there.
/// For a process with a terminal, `stdin` feeds the pty and `stdout` receives the pty's output;
/// `stderr` is unused (a pty has one output) and is closed.
#[derive(Debug, Default)]
pub struct StdioSet {
    /// Where the process's standard input comes from.
    pub stdin: Option<OwnedFd>,
    /// Where the process's standard output goes.
    pub stdout: Option<OwnedFd>,
    /// Where the process's standard error goes.
    pub stderr: Option<OwnedFd>,
}

impl StdioSet {
    /// A set with no connections: the process gets `/dev/null` on all three streams.
    pub fn none() -> Self {
        StdioSet::default()
    }

    /// Whether no stream has a connection.
    pub fn is_empty(&self) -> bool {
        self.stdin.is_none() && self.stdout.is_none() && self.stderr.is_none()
    }
}

/// The size of a terminal, in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ConsoleSize {
    /// Rows (`ws_row`).
    pub rows: u16,
    /// Columns (`ws_col`).
    pub cols: u16,
}
