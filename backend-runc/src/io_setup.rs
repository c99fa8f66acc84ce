//! Giving a new process (init or exec) its stdio: pipes through a [`PipeRelay`], or a pty
//! received over a console socket and relayed by a [`TtyRelay`].
//!
//! Pipes: runc's own stdin/stdout/stderr are the child's ends of the relay's pipes; runc hands
//! them to the container process. (runc also writes its own failure text to its stderr, so on a
//! failed create or exec that text may reach the stderr connection before it is closed.)
//! Terminal: runc's stdio is `/dev/null`; runc sends the pty master over `--console-socket`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use runtime_api::{Error, ErrorKind, Result, StdioSet};
use stdio::console::ConsoleSocket;
use stdio::{PipeRelay, RelayConfig, TtyRelay};

use crate::invocation::ChildIo;
use crate::process::Relay;

/// How long to wait for runc's pty master on the console socket, after runc has succeeded
/// (runc sends it before it exits, so it is already queued).
const CONSOLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Stdio prepared before runc runs.
pub(crate) enum Prepared {
    /// Pipes: the relay runs already; runc gets the child ends.
    Pipe { relay: PipeRelay, io: ChildIo },
    /// A terminal: runc connects to the socket; the connections wait for the master.
    Tty {
        socket: ConsoleSocket,
        stdio: StdioSet,
    },
    /// No connections at all: `/dev/null`, no relay.
    Null,
}

impl Prepared {
    /// Prepares stdio for a process with or without a terminal. The console socket goes under
    /// `socket_base` (its path must fit `sun_path`, so a long base falls back to the temp dir).
    pub fn new(
        terminal: bool,
        stdio: StdioSet,
        config: &RelayConfig,
        socket_base: &Path,
    ) -> Result<Prepared> {
        let fail = |what: &str, e: std::io::Error| {
            Error::new(ErrorKind::Backend, format!("setting up stdio: {what}: {e}"))
        };
        if terminal {
            let base = (socket_base.as_os_str().len() < 60).then_some(socket_base);
            let socket = ConsoleSocket::bind(base).map_err(|e| fail("console socket", e))?;
            return Ok(Prepared::Tty { socket, stdio });
        }
        if stdio.is_empty() {
            return Ok(Prepared::Null);
        }
        let (relay, child) =
            PipeRelay::new(stdio, config.clone()).map_err(|e| fail("pipe relay", e))?;
        Ok(Prepared::Pipe {
            relay,
            io: ChildIo::Inherit {
                stdin: child.stdin,
                stdout: child.stdout,
                stderr: child.stderr,
            },
        })
    }

    /// The `--console-socket` path, for a terminal.
    pub fn console_socket(&self) -> Option<PathBuf> {
        match self {
            Prepared::Tty { socket, .. } => Some(socket.path().to_path_buf()),
            _ => None,
        }
    }

    /// Splits into what runc's invocation gets and what completes the relay afterwards.
    pub fn split(self) -> (ChildIo, Pending) {
        match self {
            Prepared::Pipe { relay, io } => (io, Pending::Pipe(relay)),
            Prepared::Tty { socket, stdio } => (ChildIo::Null, Pending::Tty { socket, stdio }),
            Prepared::Null => (ChildIo::Null, Pending::Null),
        }
    }
}

/// The relay side, completed once runc has succeeded.
pub(crate) enum Pending {
    Pipe(PipeRelay),
    Tty {
        socket: ConsoleSocket,
        stdio: StdioSet,
    },
    Null,
}

impl Pending {
    /// runc succeeded: the relay (for a terminal, after receiving the pty master).
    pub fn complete(self, config: &RelayConfig) -> Result<Option<Relay>> {
        match self {
            Pending::Pipe(r) => Ok(Some(Relay::Pipe(r))),
            Pending::Null => Ok(None),
            Pending::Tty { socket, stdio } => {
                let master = socket.receive_master(CONSOLE_TIMEOUT).map_err(|e| {
                    Error::new(
                        ErrorKind::Backend,
                        format!("receiving the pty master from runc: {e}"),
                    )
                })?;
                // A pty has one output; stderr's connection is unused and closed here.
                drop(stdio.stderr);
                let relay = TtyRelay::new(master, stdio.stdin, stdio.stdout, config.clone())
                    .map_err(|e| {
                        Error::new(ErrorKind::Backend, format!("starting the tty relay: {e}"))
                    })?;
                Ok(Some(Relay::Tty(relay)))
            }
        }
    }

    /// runc failed: stop the relay and close the connections.
    pub fn abandon(self) {
        if let Pending::Pipe(r) = self {
            r.cut();
            let _ = r.wait();
        }
    }
}
