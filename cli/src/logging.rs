//! Logs on stderr through `tracing-subscriber`; the plugins' events arrive through the
//! loader's log callback and go through the same subscriber.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG` wins when set; otherwise `verbose` picks the
/// level (0: rtctl's own warnings only, so that an error stays one line; 1: info; 2: debug;
/// 3 or more: trace), for rtctl and the plugins alike.
pub fn init(verbose: u8) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(match verbose {
            0 => "rtctl=warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        })
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
