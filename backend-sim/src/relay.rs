//! The real stdio relays of simulated processes.
//!
//! Every process the runtime creates gets a real [`stdio::PipeRelay`] (or a
//! [`stdio::TtyRelay`] over a real pty) relaying real pipes to the caller's connections, so
//! rule 2 is exercised on the code that ships. The relays run with no timer of their own
//! (`drain_grace: None`): the simulator tells them when the process exited
//! (`process_exited`, at the virtual exit) and when the VIRTUAL drain grace expired with a
//! writer still holding the stream (`cut`).

use crate::fault::{self, PeerFault};
use crate::kernel::file::set_nonblocking;
use crate::kernel::{Fd, FileKind, Slots, StreamFd};
use crate::world::World;
use runtime_api::{ConsoleSize, Error, ErrorKind, RelayReport, Result, StdioSet};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use stdio::{PipeRelay, RelayConfig, Resizer, TtyRelay};

/// A process's relay.
pub enum Relay {
    /// Pipes.
    Pipe(PipeRelay),
    /// A pty.
    Tty {
        /// The relay.
        relay: TtyRelay,
        /// Its resize handle.
        resizer: Resizer,
    },
}

impl Relay {
    /// The process exited (virtual time): stop stdin, drain to end-of-file.
    pub fn process_exited(&self) {
        match self {
            Relay::Pipe(r) => r.process_exited(),
            Relay::Tty { relay, .. } => relay.process_exited(),
        }
    }

    /// The virtual grace expired: deliver what is readable and stop.
    pub fn cut(&self) {
        match self {
            Relay::Pipe(r) => r.cut(),
            Relay::Tty { relay, .. } => relay.cut(),
        }
    }

    /// Blocks (real time) until the relay ended.
    pub fn wait(&self) -> RelayReport {
        match self {
            Relay::Pipe(r) => r.wait(),
            Relay::Tty { relay, .. } => relay.wait(),
        }
    }

    /// The report, if ended.
    pub fn try_report(&self) -> Option<RelayReport> {
        match self {
            Relay::Pipe(r) => r.try_report(),
            Relay::Tty { relay, .. } => relay.try_report(),
        }
    }

    /// Resizes the pty; `InvalidArgument` without one.
    pub fn resize(&self, size: ConsoleSize) -> Result<()> {
        match self {
            Relay::Pipe(_) => Err(Error::new(
                ErrorKind::InvalidArgument,
                "the process has no terminal",
            )),
            Relay::Tty { resizer, .. } => resizer.resize(size),
        }
    }
}

/// What a new runtime process gets: its relay and its stdio, already counted as held.
pub(crate) struct Attached {
    pub relay: Arc<Relay>,
    pub slots: Slots,
    /// Stream ids of stdout and stderr (the same for a terminal).
    pub out_streams: [u64; 2],
    /// The write end kept open by the `stdin_never_closed` fault.
    pub stdin_hold: Option<OwnedFd>,
    /// Whether the caller gave any connection.
    pub has_connections: bool,
}

fn io_err(what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Backend, format!("{what}: {e}"))
}

impl World {
    fn relay_config(&self) -> RelayConfig {
        RelayConfig {
            drain_grace: None,
            peer_close_timeout: self.config.peer_close_timeout(),
            ..RelayConfig::default()
        }
    }

    fn peer_fault(&mut self, label: &str, conn: Option<OwnedFd>) -> Result<Option<OwnedFd>> {
        let Some(conn) = conn else { return Ok(None) };
        let faults = self.config.faults.clone();
        let fault = if self.rng.chance(faults.peer_disconnect) {
            Some(PeerFault::Disconnect {
                after: self.rng.below(65) as usize,
            })
        } else if self.rng.chance(faults.slow_peer) {
            Some(PeerFault::Slow)
        } else {
            None
        };
        match fault {
            None => Ok(Some(conn)),
            Some(f) => {
                self.trace
                    .record(self.clock.now(), 0, "fault", format!("{label} peer: {f:?}"));
                fault::interpose_output(conn, f)
                    .map(Some)
                    .map_err(|e| io_err("interposing a faulty peer", e))
            }
        }
    }

    /// Builds the relay and stdio of a new runtime process from the caller's connections,
    /// applying the peer faults the seed picks.
    pub(crate) fn attach_stdio(&mut self, stdio: StdioSet, terminal: bool) -> Result<Attached> {
        let has_connections = !stdio.is_empty();
        let StdioSet {
            stdin,
            stdout,
            stderr,
        } = stdio;
        let stdout = self.peer_fault("stdout", stdout)?;
        let stderr = if terminal {
            drop(stderr);
            None
        } else {
            self.peer_fault("stderr", stderr)?
        };
        let (stdin, stdin_hold) = if self.rng.chance(self.config.faults.stdin_never_closed) {
            self.trace
                .record(self.clock.now(), 0, "fault", "stdin never closed");
            let (read, hold) =
                fault::stdin_never_closed(stdin).map_err(|e| io_err("stdin fault pipe", e))?;
            (Some(read), Some(hold))
        } else {
            (stdin, None)
        };
        let config = self.relay_config();
        if terminal {
            let (master, slave) =
                stdio::console::open_pty().map_err(|e| io_err("opening a pty", e))?;
            set_nonblocking(&slave).map_err(|e| io_err("pty slave", e))?;
            let input_connected = stdin.is_some();
            let relay = TtyRelay::new(master, stdin, stdout, config)
                .map_err(|e| io_err("starting the tty relay", e))?;
            let resizer = relay.resizer();
            let id = self.new_stream();
            let file = Some(Fd::Stream(Arc::new(StreamFd {
                fd: slave,
                kind: FileKind::Tty,
                id,
                input_connected,
            })));
            let slots = Slots {
                stdin: self.hold(&file),
                stdout: self.hold(&file),
                stderr: self.hold(&file),
            };
            return Ok(Attached {
                relay: Arc::new(Relay::Tty { relay, resizer }),
                slots,
                out_streams: [id, id],
                stdin_hold,
                has_connections,
            });
        }
        let kinds = [stdin.is_some(), stdout.is_some(), stderr.is_some()].map(|c| {
            if c {
                FileKind::Pipe
            } else {
                FileKind::Null
            }
        });
        let (relay, child) = PipeRelay::new(
            StdioSet {
                stdin,
                stdout,
                stderr,
            },
            config,
        )
        .map_err(|e| io_err("starting the pipe relay", e))?;
        let mut files = Vec::new();
        for (fd, kind) in [child.stdin, child.stdout, child.stderr]
            .into_iter()
            .zip(kinds)
        {
            if kind != FileKind::Null {
                set_nonblocking(&fd).map_err(|e| io_err("stdio pipe", e))?;
            }
            let id = self.new_stream();
            files.push(Some(Fd::Stream(Arc::new(StreamFd {
                fd,
                kind,
                id,
                input_connected: kind == FileKind::Pipe,
            }))));
        }
        let out_streams = [
            files[1]
                .as_ref()
                .and_then(Fd::stream)
                .map(|f| f.id)
                .unwrap_or_default(),
            files[2]
                .as_ref()
                .and_then(Fd::stream)
                .map(|f| f.id)
                .unwrap_or_default(),
        ];
        let slots = Slots {
            stdin: self.hold(&files[0]),
            stdout: self.hold(&files[1]),
            stderr: self.hold(&files[2]),
        };
        Ok(Attached {
            relay: Arc::new(Relay::Pipe(relay)),
            slots,
            out_streams,
            stdin_hold,
            has_connections,
        })
    }
}
