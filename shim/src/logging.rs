//! Where the shim's `tracing` output goes: containerd's log FIFO (`log` in the bundle) for
//! the serving shim, stderr for `delete` (containerd shows it when it fails), nowhere for
//! `start`, whose whole output (stdout and stderr together) containerd takes as the address.
//! `RUST_LOG` sets the filter; `-debug` raises the default to debug.

use std::fs::OpenOptions;
use std::sync::Mutex;

use containerd_shim::Flags;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls do nothing).
pub fn init(flags: &Flags) {
    let default = if flags.debug { "debug" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false);
    if flags.action == "start" {
        return;
    }
    let serving = flags.action.is_empty();
    let fifo = serving
        .then(|| OpenOptions::new().write(true).open("log").ok())
        .flatten();
    let _ = match fifo {
        Some(f) => builder.with_writer(Mutex::new(f)).try_init(),
        None => builder.with_writer(std::io::stderr).try_init(),
    };
}
