//! A wall-clock bound on a wait that a test makes, so that a hang fails the run instead of
//! stalling it until an outer timeout notices.

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

/// The bound tests put on one wait, by default: far above every bound the layer keeps itself
/// (rule 1's 10 s, drain graces and peer-close timeouts of a few seconds).
pub const WAIT_BOUND: Duration = Duration::from_secs(60);

/// [`WAIT_BOUND`], or `RTL_WAIT_BOUND_SECS` seconds (shorter in mutation runs, where many
/// mutants hang a wait: `scripts/mutants.sh`).
pub fn wait_bound() -> Duration {
    std::env::var("RTL_WAIT_BOUND_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(WAIT_BOUND, Duration::from_secs)
}

/// Runs `f` (a wait on a process or a relay, the join of a reader) under [`wait_bound`]. Still
/// blocked after the bound, it ends the whole test binary with a failure that says which wait
/// hung: the layer's waits are bounded (rules 1 and 2), so a hung one is a failure of its own.
/// A panic in `f` is a panic of the caller.
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
