//! Relaying a pty master: connection stdin to the pty, the pty to connection stdout.
//!
//! A pty has one output, and its "end-of-file" is `EIO` on the master once every slave
//! descriptor is closed. The master is nonblocking and watched by the reactor like a pipe;
//! after the exit it is read directly until it is empty (or `EIO`), bounded by the grace like a
//! pipe relay. Resizing goes through a [`Resizer`], which holds the master only through a guard
//! the relay empties before closing it.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use runtime_api::{ConsoleSize, Error, ErrorKind, RelayReport};

use crate::config::RelayConfig;
use crate::drain::RelayTask;
use crate::endpoint::{Connection, Endpoints, MasterGuard};
use crate::handle::{Outcome, RelayHandle};
use crate::reactor;
use crate::stream::{Role, Stream};

/// Relays a pty master: connection stdin -> pty, pty -> connection stdout, on the shared
/// reactor.
///
/// Same guarantees as [`PipeRelay`](crate::PipeRelay): all output, in order, unless cut after
/// the grace; bounded buffers; never a hang once the exit is reported and a grace is set. With
/// no stdout connection the pty output is still read (and discarded), so the process never
/// blocks on a full terminal. `EIO` on the master is end-of-file. `Send + Sync`.
pub struct TtyRelay {
    handle: RelayHandle,
    guard: MasterGuard,
}

impl std::fmt::Debug for TtyRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtyRelay")
            .field("report", &self.handle.try_report())
            .finish()
    }
}

impl TtyRelay {
    /// Starts relaying `master` (a pty master, e.g. from [`console::open_pty`](crate::console::open_pty)
    /// or received with [`ConsoleSocket`](crate::console::ConsoleSocket)) to the connections.
    /// Takes ownership of every descriptor; on failure they are all closed. The master is the
    /// relay's own (it is made nonblocking); the connections are used without changing the
    /// mode of their descriptions, as by [`PipeRelay::new`](crate::PipeRelay::new).
    pub fn new(
        master: OwnedFd,
        stdin: Option<OwnedFd>,
        stdout: Option<OwnedFd>,
        config: RelayConfig,
    ) -> io::Result<TtyRelay> {
        let (reactor, id) = reactor::assign()?;
        let mut eps = Endpoints::new(reactor, id);
        let users = if stdin.is_some() { 2 } else { 1 };
        let (master, guard) = eps.add_master(master, users)?;
        let stdin_stream = match stdin {
            Some(conn) => match eps.add_connection(conn, false)? {
                Connection::Live(src) => Some(Stream::new(
                    Role::Stdin,
                    src,
                    Some(Connection::Live(master)),
                    &eps,
                )),
                Connection::PeerGone => {
                    eps.release(master);
                    None
                }
            },
            None => None,
        };
        let dst = match stdout {
            Some(conn) => Some(eps.add_connection(conn, true)?),
            None => None,
        };
        let output = Stream::new(Role::Stdout, master, dst, &eps);
        let outcome = Arc::new(Outcome::default());
        let has_grace = config.drain_grace.is_some();
        let task = RelayTask::new(
            id,
            eps,
            stdin_stream,
            vec![output],
            config,
            true,
            Arc::clone(&outcome),
        );
        let handle = RelayHandle::start(reactor, task, outcome, has_grace, true);
        Ok(TtyRelay { handle, guard })
    }

    /// A handle that resizes the pty (`TIOCSWINSZ`); fails cleanly once the relay is closed.
    pub fn resizer(&self) -> Resizer {
        Resizer {
            guard: Arc::clone(&self.guard),
        }
    }

    /// The process has exited: stop copying stdin, read what is in the pty, then keep relaying
    /// until `EIO` bounded by `drain_grace`. Idempotent.
    pub fn process_exited(&self) {
        self.handle.process_exited();
    }

    /// End now: deliver what is readable in the pty at this moment, then stop (see
    /// [`PipeRelay::cut`](crate::PipeRelay::cut)). Idempotent.
    pub fn cut(&self) {
        self.handle.cut();
    }

    /// Blocks until the relay has ended and its descriptors are closed; returns the report
    /// (everything the pty produced is under `stdout`). Idempotent, callable from several
    /// threads.
    pub fn wait(&self) -> RelayReport {
        self.handle.wait()
    }

    /// The report if the relay has ended, without blocking.
    pub fn try_report(&self) -> Option<RelayReport> {
        self.handle.try_report()
    }
}

nix::ioctl_write_ptr_bad!(tiocswinsz, nix::libc::TIOCSWINSZ, nix::libc::winsize);

/// Resizes the pty of a [`TtyRelay`]. `Clone + Send + Sync`.
///
/// It never keeps the master open on its own: once the relay has closed the master, every
/// resize fails with [`ErrorKind::RelayClosed`], and a resize can never reach a descriptor
/// number that was closed and reused.
#[derive(Clone)]
pub struct Resizer {
    guard: MasterGuard,
}

impl std::fmt::Debug for Resizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resizer").finish_non_exhaustive()
    }
}

impl Resizer {
    /// Sets the terminal size; the foreground process group gets `SIGWINCH` from the kernel.
    /// `Err(kind RelayClosed)` once the relay has closed the master.
    pub fn resize(&self, size: ConsoleSize) -> runtime_api::Result<()> {
        let master = self.guard.read().unwrap_or_else(|p| p.into_inner());
        let Some(fd) = master.as_ref() else {
            return Err(Error::new(
                ErrorKind::RelayClosed,
                "the terminal relay has ended and closed the pty",
            ));
        };
        let ws = nix::libc::winsize {
            ws_row: size.rows,
            ws_col: size.cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize through the pointer, which points to a live
        // local; the fd stays open while the read guard is held (the relay takes the write
        // guard before closing it).
        unsafe { tiocswinsz(fd.as_raw_fd(), &ws) }.map_err(|e| {
            Error::new(
                ErrorKind::Backend,
                format!("resizing the terminal to {}x{}: {e}", size.rows, size.cols),
            )
        })?;
        Ok(())
    }
}
