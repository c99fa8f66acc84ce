//! Helpers shared by the integration tests: socketpairs, readers, fd counting.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use stdio::RelayConfig;

/// The wall-clock bound of every wait the tests make on a relay or a reader: far above any
/// drain grace or peer-close bound the tests configure (at most a few seconds).
pub const WAIT_BOUND: Duration = Duration::from_secs(60);

/// [`WAIT_BOUND`], or `RTL_WAIT_BOUND_SECS` seconds (shorter in mutation runs, where many
/// mutants hang a relay: `scripts/mutants.sh`).
pub fn wait_bound() -> Duration {
    std::env::var("RTL_WAIT_BOUND_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(WAIT_BOUND, Duration::from_secs)
}

/// Runs `f` (a wait on a relay, or the join of a reader) under [`wait_bound`]. Still blocked
/// after the bound, it ends the whole test binary with a failure that says which wait hung: a
/// relay that never ends is the failure rule 2 forbids, and without this bound it would hang
/// the binary until an outer timeout noticed.
pub fn bounded<T: Send>(what: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        s.spawn(move || {
            let _ = tx.send(f());
        });
        let bound = wait_bound();
        match rx.recv_timeout(bound) {
            Ok(v) => v,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Straight to the descriptor: the harness's capture of `eprintln!` would be
                // lost with the exit.
                let _ = writeln!(
                    std::io::stderr(),
                    "{what} did not return within {bound:?}: hung; failing the run"
                );
                std::process::exit(101);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
        }
    })
}

/// A connected unix stream socket pair: (the relay's end, the test's end).
pub fn socketpair() -> (OwnedFd, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    (OwnedFd::from(a), b)
}

/// Reads `peer` to end-of-file on a thread; returns everything.
pub fn collect(mut peer: UnixStream) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        peer.read_to_end(&mut out).expect("read peer");
        out
    })
}

/// Open descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// A config with a short grace, for tests.
pub fn config(grace_ms: u64) -> RelayConfig {
    RelayConfig {
        drain_grace: Some(Duration::from_millis(grace_ms)),
        peer_close_timeout: Duration::from_millis(500),
        buffer_size: 64 * 1024,
    }
}

/// A deterministic pattern, distinct per stream, so reordering or loss shows.
pub fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32 * 7) as u8)
        .collect()
}
