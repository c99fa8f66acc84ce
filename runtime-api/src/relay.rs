//! How a process's stdio relay ended.

use std::time::Duration;

/// Why the relay stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayEnd {
    /// Every output stream reached end-of-file: everything the process and its descendants
    /// wrote was relayed (or counted as dropped, if the peer had gone).
    Complete,
    /// After the process exited, some writer (a child that inherited the stdio) kept an
    /// output stream open past the drain grace; the relay stopped there and closed. Bytes
    /// written after the cut are not delivered and not counted.
    Cut {
        /// The drain grace that expired.
        grace: Duration,
    },
}

/// Counters for one stream of a relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamReport {
    /// Bytes delivered to the connection (for stdin: to the process).
    pub relayed: u64,
    /// Bytes read from the process but thrown away because the connection's peer had gone;
    /// the relay goes on draining so that the process never blocks on a full pipe.
    pub dropped: u64,
}

/// The report of one process's relay, available once `wait` has returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RelayReport {
    /// Whether the relay drained to end-of-file or was cut after the grace.
    pub end: RelayEnd,
    /// Standard input, connection to process.
    pub stdin: StreamReport,
    /// Standard output (for a terminal: everything the pty produced).
    pub stdout: StreamReport,
    /// Standard error (zero for a terminal).
    pub stderr: StreamReport,
}

impl RelayReport {
    /// Whether the relay was cut after the drain grace.
    pub fn was_cut(&self) -> bool {
        matches!(self.end, RelayEnd::Cut { .. })
    }
}
