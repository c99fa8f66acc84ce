//! How a relay ends: the drain grace, the peer-close timeout and the buffer bound.

use std::time::Duration;

/// How relays end.
///
/// `Default`: `drain_grace` `Some(2 s)`, `peer_close_timeout` 1 s, `buffer_size` 64 KiB.
///
/// The grace is what makes a relay finite: without it, a child that inherited the process's
/// stdout (`sh -c 'sleep 1000 &'`) would keep the pipe open, end-of-file would never come and
/// whoever waits on the relay would hang (the bug of the Go original). With it, the relay keeps
/// going for at most `drain_grace` after the exit, then delivers what is readable at that moment
/// and stops, and its report says it was cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayConfig {
    /// After `process_exited`, keep relaying until end-of-file for at most this long; then cut.
    /// `None`: no timer at all — the relay ends at end-of-file or when `cut()` is called
    /// (for callers with their own clock, e.g. the simulator's virtual clock).
    pub drain_grace: Option<Duration>,
    /// After the last byte, a socket connection is half-closed (shutdown(Write)); wait at most
    /// this long for the peer's end-of-file before closing it. After a cut, it also bounds how
    /// long the relay keeps trying to hand the last readable bytes to a peer that does not read.
    pub peer_close_timeout: Duration,
    /// Bound of each stream's in-flight buffer (back-pressure, never unbounded memory). A
    /// stream only holds a buffer while its connection is slower than the process; an idle or
    /// keeping-up stream holds none. Values below 1 are treated as 1.
    pub buffer_size: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            drain_grace: Some(Duration::from_secs(2)),
            peer_close_timeout: Duration::from_secs(1),
            buffer_size: 64 * 1024,
        }
    }
}

impl RelayConfig {
    /// The effective per-stream buffer bound (at least one byte).
    pub(crate) fn buffer(&self) -> usize {
        self.buffer_size.max(1)
    }

    /// The grace a cut reports: the configured one, or zero when there is none.
    pub(crate) fn reported_grace(&self) -> Duration {
        self.drain_grace.unwrap_or(Duration::ZERO)
    }
}
