//! Relaying a process's stdio through pipes that the relay makes.
//!
//! The process never gets the connections themselves: it gets the far ends of pipes the relay
//! owns, so the relay sees end-of-file exactly when the last writer (the process or any
//! descendant that inherited the descriptor) is gone, and can tell, after the exit, whether a
//! writer lingers.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use runtime_api::{RelayReport, StdioSet};

use crate::config::RelayConfig;
use crate::connection::FdKind;
use crate::drain::RelayTask;
use crate::endpoint::{Connection, Endpoints};
use crate::handle::{Outcome, RelayHandle};
use crate::reactor;
use crate::stream::{Role, Stream};

/// The child's ends of its stdio: always three fds (a pipe end, or `/dev/null` opened for a
/// stream that has no connection), all close-on-exec.
///
/// Hand them to the child (e.g. as runc's stdin/out/err, or `dup2` into a spawned process),
/// then DROP this struct so the parent's copies close — the relay only sees end-of-file once
/// every copy of the write ends is closed.
#[derive(Debug)]
pub struct ChildStdio {
    /// The read end of the stdin pipe, or `/dev/null` opened for reading.
    pub stdin: OwnedFd,
    /// The write end of the stdout pipe, or `/dev/null` opened for writing.
    pub stdout: OwnedFd,
    /// The write end of the stderr pipe, or `/dev/null` opened for writing.
    pub stderr: OwnedFd,
}

/// Relays a process's pipes to the connections in a [`StdioSet`], on the shared reactor.
///
/// Guarantees (rule 2 of the spec):
/// - every byte the process and its descendants write to stdout/stderr reaches the connection,
///   in order per stream, unless the relay is cut; then exactly what was readable at the cut is
///   still delivered, and the report says `Cut`;
/// - after [`process_exited`](Self::process_exited) the relay ends within the drain grace plus
///   at most twice `peer_close_timeout` (delivering the last bytes, then waiting for the peer's
///   end-of-file after a half-close): [`wait`](Self::wait) never hangs when a grace is set;
/// - a connection whose peer went away is closed and the pipe is still drained, so the process
///   never blocks; those bytes are counted as dropped;
/// - memory per stream is bounded by `buffer_size`, and no thread is created per relay.
///
/// `Send + Sync`: one thread may wait while another reports the exit or cuts. Dropping it
/// without waiting lets the relay end on its own within its bounds.
pub struct PipeRelay {
    handle: RelayHandle,
}

impl std::fmt::Debug for PipeRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeRelay")
            .field("report", &self.handle.try_report())
            .finish()
    }
}

fn dev_null(write: bool) -> io::Result<OwnedFd> {
    // std opens with O_CLOEXEC.
    let file = OpenOptions::new()
        .read(!write)
        .write(write)
        .open("/dev/null")?;
    Ok(OwnedFd::from(file))
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(pipe2(OFlag::O_CLOEXEC)?)
}

impl PipeRelay {
    /// Makes the pipes, starts relaying them to `connections` and returns the child's ends.
    ///
    /// Takes ownership of the connections: each is closed exactly once, when its stream ends,
    /// or at once if this fails. The mode of a connection's open file description is never
    /// changed, so the host may keep dups of it: sockets are used with `MSG_DONTWAIT`, pipes
    /// and terminals through a private description opened via `/proc/self/fd`. Several
    /// streams (of this relay or others) may share one socket: it is half-closed once, when
    /// the last of them ends. A connection epoll can watch but that is none of those kinds (a
    /// pty master, an eventfd) is refused with `InvalidInput`.
    pub fn new(connections: StdioSet, config: RelayConfig) -> io::Result<(PipeRelay, ChildStdio)> {
        let (reactor, id) = reactor::assign()?;
        let mut eps = Endpoints::new(reactor, id);
        let StdioSet {
            stdin,
            stdout,
            stderr,
        } = connections;

        let (child_stdin, stdin_stream) = match stdin {
            Some(conn) => {
                let (read, write) = pipe()?;
                let dst = eps.add_private(write, FdKind::Pipe, 1)?;
                match eps.add_connection(conn, false)? {
                    Connection::Live(src) => (
                        read,
                        Some(Stream::new(
                            Role::Stdin,
                            src,
                            Some(Connection::Live(dst)),
                            &eps,
                        )),
                    ),
                    // A stdin FIFO is reopened for reading, which never says ENXIO.
                    Connection::PeerGone => {
                        eps.release(dst);
                        (read, None)
                    }
                }
            }
            None => (dev_null(false)?, None),
        };
        let mut outputs = Vec::with_capacity(2);
        let mut child_out = |conn: Option<OwnedFd>, role: Role| -> io::Result<OwnedFd> {
            match conn {
                Some(conn) => {
                    let (read, write) = pipe()?;
                    let src = eps.add_private(read, FdKind::Pipe, 1)?;
                    let dst = eps.add_connection(conn, true)?;
                    outputs.push(Stream::new(role, src, Some(dst), &eps));
                    Ok(write)
                }
                None => dev_null(true),
            }
        };
        let child_stdout = child_out(stdout, Role::Stdout)?;
        let child_stderr = child_out(stderr, Role::Stderr)?;

        let outcome = Arc::new(Outcome::default());
        let has_grace = config.drain_grace.is_some();
        // With an output stream and no stdin, the task has nothing to do before the child
        // writes to or closes its ends of the output pipes, which it gets only when this
        // returns: each of those is an event on a pipe the reactor watches, which gives it a
        // turn, so the start needs no wake-up of its own. A stdin connection may have data
        // readable (or be a file, never polled) from the start, and a relay without output
        // pipes gets no event at all (it ends at once): those need the turn now.
        let wake = stdin_stream.is_some() || outputs.is_empty();
        let task = RelayTask::new(
            id,
            eps,
            stdin_stream,
            outputs,
            config,
            false,
            Arc::clone(&outcome),
        );
        let handle = RelayHandle::start(reactor, task, outcome, has_grace, wake);
        Ok((
            PipeRelay { handle },
            ChildStdio {
                stdin: child_stdin,
                stdout: child_stdout,
                stderr: child_stderr,
            },
        ))
    }

    /// The process has exited: stop copying stdin (close the process's stdin pipe), read what
    /// is already in the pipes, then keep relaying to end-of-file bounded by `drain_grace`.
    /// Idempotent.
    pub fn process_exited(&self) {
        self.handle.process_exited();
    }

    /// End now: deliver what is already readable in the pipes at this moment, then stop and
    /// report `RelayEnd::Cut { grace }` (grace = configured grace, or ZERO if None) — unless
    /// every stream turns out to be at end-of-file, in which case it is `Complete`. Idempotent.
    pub fn cut(&self) {
        self.handle.cut();
    }

    /// Blocks until the relay has ended (end-of-file on every output stream, or cut) and the
    /// connections are closed (bounded by `peer_close_timeout`); returns the report.
    /// Idempotent, callable from several threads.
    pub fn wait(&self) -> RelayReport {
        self.handle.wait()
    }

    /// The report if the relay has ended, without blocking.
    pub fn try_report(&self) -> Option<RelayReport> {
        self.handle.try_report()
    }
}
