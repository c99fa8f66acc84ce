//! The descriptors one relay owns: registered with its reactor, shared between the streams that
//! use them, deregistered and closed exactly once when the last of those streams is done.
//!
//! Two sorts come in. The relay's own descriptors (its pipe ends, the pty master it is given
//! to own) are private to it and made nonblocking directly. Connections the host gave go
//! through [`connection::adopt`](crate::connection::adopt), which never changes the mode of
//! their description: sockets are used with `MSG_DONTWAIT`, pipes and terminals are reopened.
//! Each endpoint remembers which of those I/O styles applies, and every read and write goes
//! through [`Endpoints::read`] / [`Endpoints::write`].
//!
//! A pty master is used by two streams (stdin writes it, stdout reads it) and by the
//! [`Resizer`](crate::Resizer); it is kept in a guard that the resizer locks for the duration of
//! an `ioctl`, and that the relay empties before closing, so that a resize can never act on a
//! closed (or reused) descriptor number.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, RwLock};

use crate::connection::{self, set_nonblocking_private, Adopted, FdKind, Io};
use crate::reactor::{Reactor, MAX_SLOTS};
use crate::sharing::WriterClaim;

/// The pty master as shared with a [`Resizer`](crate::Resizer): `None` once the relay closed it.
pub(crate) type MasterGuard = Arc<RwLock<Option<Arc<OwnedFd>>>>;

/// Index of a descriptor in its relay's [`Endpoints`].
pub(crate) type Slot = usize;

struct Endpoint {
    fd: Arc<OwnedFd>,
    kind: FdKind,
    pollable: bool,
    io: Io,
    users: u8,
    /// For a socket that an output stream writes: its share of the socket's half-close.
    claim: Option<WriterClaim>,
    /// Registered quiet until the reactor takes the task ([`Endpoints::resume_held`]).
    held: bool,
}

/// The table of a relay's descriptors.
pub(crate) struct Endpoints {
    reactor: &'static Reactor,
    id: u64,
    slots: Vec<Option<Endpoint>>,
    master: Option<(Slot, MasterGuard)>,
}

/// What a stream that the host connected gets.
pub(crate) enum Connection {
    /// The connection is in this slot.
    Live(Slot),
    /// The connection's peer had already gone when the relay started (a FIFO without reader).
    PeerGone,
}

impl Endpoints {
    pub(crate) fn new(reactor: &'static Reactor, id: u64) -> Endpoints {
        Endpoints {
            reactor,
            id,
            slots: Vec::new(),
            master: None,
        }
    }

    /// Takes a descriptor only the relay holds (one of its pipe ends), of `kind`, for `users`
    /// streams; registers it and makes it nonblocking.
    pub(crate) fn add_private(&mut self, fd: OwnedFd, kind: FdKind, users: u8) -> io::Result<Slot> {
        self.push(Arc::new(fd), kind, Io::Private, users, true, false)
    }

    /// Takes a connection the host gave, for one stream; `writer`: an output stream writes it
    /// (so a socket's half-close is shared with the other writers of that socket). The mode of
    /// its description is never changed (see `connection.rs`). It is registered held: its
    /// events start when the reactor takes the task (see [`Reactor::register`]).
    pub(crate) fn add_connection(&mut self, fd: OwnedFd, writer: bool) -> io::Result<Connection> {
        let slot = match connection::adopt(fd)? {
            Adopted::PeerGone => return Ok(Connection::PeerGone),
            Adopted::Ready(fd, kind, io) => self.push(Arc::new(fd), kind, io, 1, true, true)?,
            Adopted::IfNotPollable(fd, kind) => {
                let slot = self.push(Arc::new(fd), kind, Io::Direct, 1, false, true)?;
                if self.get(slot).pollable {
                    self.close(slot);
                    return Err(connection::refusal(kind));
                }
                slot
            }
        };
        if writer && self.kind(slot) == FdKind::StreamSocket {
            let claim = WriterClaim::new(self.fd(slot))?;
            if let Some(endpoint) = self.slots[slot].as_mut() {
                endpoint.claim = Some(claim);
            }
        }
        Ok(Connection::Live(slot))
    }

    /// Takes a pty master the relay owns for `users` streams; the returned guard is what a
    /// resizer uses.
    pub(crate) fn add_master(&mut self, fd: OwnedFd, users: u8) -> io::Result<(Slot, MasterGuard)> {
        let fd = Arc::new(fd);
        let guard: MasterGuard = Arc::new(RwLock::new(Some(Arc::clone(&fd))));
        let slot = self.push(fd, FdKind::PtyMaster, Io::Private, users, true, false)?;
        self.master = Some((slot, Arc::clone(&guard)));
        Ok((slot, guard))
    }

    /// Registers `fd`; `private`: it may (and, if pollable, must) be made nonblocking; `held`:
    /// registered quiet until [`resume_held`](Self::resume_held).
    fn push(
        &mut self,
        fd: Arc<OwnedFd>,
        kind: FdKind,
        io: Io,
        users: u8,
        private: bool,
        held: bool,
    ) -> io::Result<Slot> {
        let slot = self.slots.len();
        if slot >= MAX_SLOTS {
            return Err(io::Error::other("stdio relay: too many descriptors"));
        }
        let pollable = self.reactor.register(fd.as_fd(), self.id, slot, held)?;
        let io = if pollable { io } else { Io::Direct };
        // Pushed before the fallible step so that Drop deregisters it on failure.
        self.slots.push(Some(Endpoint {
            fd,
            kind,
            pollable,
            io,
            users,
            claim: None,
            held: held && pollable,
        }));
        if pollable && private && io == Io::Private {
            set_nonblocking_private(self.fd(slot))?;
        }
        Ok(slot)
    }

    fn get(&self, slot: Slot) -> &Endpoint {
        self.slots[slot]
            .as_ref()
            .expect("stdio relay: descriptor used after release")
    }

    /// The descriptor in `slot` (which must not have been released).
    pub(crate) fn fd(&self, slot: Slot) -> BorrowedFd<'_> {
        self.get(slot).fd.as_fd()
    }

    /// The kind of the descriptor in `slot`.
    pub(crate) fn kind(&self, slot: Slot) -> FdKind {
        self.get(slot).kind
    }

    /// Whether a `splice(2)` into `slot` cannot block: its description is the relay's own, or
    /// a socket whose description is nonblocking right now (the host's choice).
    pub(crate) fn splice_cannot_block(&self, slot: Slot) -> bool {
        let e = self.get(slot);
        match e.io {
            Io::Private => true,
            Io::Socket => connection::is_nonblocking(e.fd.as_fd()),
            Io::Direct => false,
        }
    }

    /// Stops or resumes the readiness events of `slot` (see [`Reactor::quiet`]).
    pub(crate) fn quiet(&self, slot: Slot, quiet: bool) {
        let e = self.get(slot);
        if e.pollable {
            self.reactor.quiet(e.fd.as_fd(), self.id, slot, quiet);
        }
    }

    /// Whether `slot` holds a socket the host gave (used with `MSG_DONTWAIT`; its description
    /// may be blocking).
    pub(crate) fn is_host_socket(&self, slot: Slot) -> bool {
        self.get(slot).io == Io::Socket
    }

    /// Whether `slot` holds a description private to the relay (so splicing into it is safe).
    pub(crate) fn is_private(&self, slot: Slot) -> bool {
        self.get(slot).io == Io::Private
    }

    /// One read from `slot` that never blocks.
    pub(crate) fn read(&self, slot: Slot, buf: &mut [u8]) -> nix::Result<usize> {
        let e = self.get(slot);
        connection::read(e.fd.as_fd(), e.io, buf)
    }

    /// One write to `slot` that never blocks.
    pub(crate) fn write(&self, slot: Slot, buf: &[u8]) -> nix::Result<usize> {
        let e = self.get(slot);
        connection::write(e.fd.as_fd(), e.io, buf)
    }

    /// An output stream is done writing the socket in `slot`: true if it must half-close it
    /// (it was the last writer of that socket in this process). False for other kinds.
    pub(crate) fn last_writer(&mut self, slot: Slot) -> bool {
        match self.slots[slot].as_mut().and_then(|e| e.claim.as_mut()) {
            Some(claim) => claim.release(),
            None => false,
        }
    }

    /// One user of `slot` is done with it; the last one deregisters and closes it.
    pub(crate) fn release(&mut self, slot: Slot) {
        let Some(endpoint) = self.slots[slot].as_mut() else {
            return;
        };
        endpoint.users = endpoint.users.saturating_sub(1);
        if endpoint.users == 0 {
            self.close(slot);
        }
    }

    fn close(&mut self, slot: Slot) {
        let Some(endpoint) = self.slots[slot].take() else {
            return;
        };
        if endpoint.pollable {
            self.reactor.deregister(endpoint.fd.as_fd());
        }
        if let Some((master_slot, guard)) = &self.master {
            if *master_slot == slot {
                // Waits for a resize in progress; later ones see `None` and fail cleanly.
                *guard.write().unwrap_or_else(|p| p.into_inner()) = None;
            }
        }
        // The claim (if still held) is released with the endpoint, after the descriptor's
        // registration is gone.
        drop(endpoint);
    }

    /// Starts the events of every descriptor registered held. Called by the reactor's thread
    /// when it takes the task: a resumed descriptor reports the readiness it already has (see
    /// [`Reactor::quiet`]), so nothing that happened while held is missed, and the reactor,
    /// running, is not woken for it.
    pub(crate) fn resume_held(&mut self) {
        for slot in 0..self.slots.len() {
            if let Some(endpoint) = self.slots[slot].as_mut() {
                if endpoint.held {
                    endpoint.held = false;
                    self.reactor
                        .quiet(endpoint.fd.as_fd(), self.id, slot, false);
                }
            }
        }
    }

    /// Deregisters and closes every descriptor still open.
    pub(crate) fn close_all(&mut self) {
        for slot in 0..self.slots.len() {
            self.close(slot);
        }
    }
}

impl Drop for Endpoints {
    fn drop(&mut self) {
        self.close_all();
    }
}
