//! The descriptors one relay owns: registered with its reactor, shared between the streams that
//! use them, deregistered and closed exactly once when the last of those streams is done.
//!
//! A pty master is used by two streams (stdin writes it, stdout reads it) and by the
//! [`Resizer`](crate::Resizer); it is kept in a guard that the resizer locks for the duration of
//! an `ioctl`, and that the relay empties before closing, so that a resize can never act on a
//! closed (or reused) descriptor number.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, RwLock};

use nix::fcntl::OFlag;

use crate::connection::{restore_flags, set_nonblocking, FdKind};
use crate::reactor::{Reactor, MAX_SLOTS};

/// The pty master as shared with a [`Resizer`](crate::Resizer): `None` once the relay closed it.
pub(crate) type MasterGuard = Arc<RwLock<Option<Arc<OwnedFd>>>>;

/// Index of a descriptor in its relay's [`Endpoints`].
pub(crate) type Slot = usize;

struct Endpoint {
    fd: Arc<OwnedFd>,
    kind: FdKind,
    pollable: bool,
    users: u8,
    /// The flags it had before the relay made it nonblocking.
    saved_flags: Option<OFlag>,
}

/// The table of a relay's descriptors.
pub(crate) struct Endpoints {
    reactor: &'static Reactor,
    id: u64,
    slots: Vec<Option<Endpoint>>,
    master: Option<(Slot, MasterGuard)>,
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

    /// Takes `fd` (of `kind`, or classified now if `None`) for `users` streams, registers it with
    /// the reactor and, if epoll can watch it, makes it nonblocking.
    pub(crate) fn add(&mut self, fd: OwnedFd, kind: Option<FdKind>, users: u8) -> io::Result<Slot> {
        self.add_shared(Arc::new(fd), kind, users)
    }

    fn add_shared(
        &mut self,
        fd: Arc<OwnedFd>,
        kind: Option<FdKind>,
        users: u8,
    ) -> io::Result<Slot> {
        let slot = self.slots.len();
        if slot >= MAX_SLOTS {
            return Err(io::Error::other("stdio relay: too many descriptors"));
        }
        let kind = match kind {
            Some(k) => k,
            None => FdKind::of(fd.as_fd())?,
        };
        let pollable = self.reactor.register(fd.as_fd(), self.id, slot)?;
        let endpoint = Endpoint {
            fd,
            kind,
            pollable,
            users,
            saved_flags: None,
        };
        // Pushed before the fallible step so that Drop deregisters it on failure.
        self.slots.push(Some(endpoint));
        if pollable {
            let saved = set_nonblocking(self.fd(slot))?;
            if let Some(endpoint) = self.slots[slot].as_mut() {
                endpoint.saved_flags = saved;
            }
        }
        Ok(slot)
    }

    /// Takes a pty master for `users` streams; the returned guard is what a resizer uses.
    pub(crate) fn add_master(&mut self, fd: OwnedFd, users: u8) -> io::Result<(Slot, MasterGuard)> {
        let fd = Arc::new(fd);
        let guard: MasterGuard = Arc::new(RwLock::new(Some(Arc::clone(&fd))));
        let slot = self.add_shared(fd, Some(FdKind::PtyMaster), users)?;
        self.master = Some((slot, Arc::clone(&guard)));
        Ok((slot, guard))
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
        if let Some(flags) = endpoint.saved_flags {
            restore_flags(endpoint.fd.as_fd(), flags);
        }
        if let Some((master_slot, guard)) = &self.master {
            if *master_slot == slot {
                // Waits for a resize in progress; later ones see `None` and fail cleanly.
                *guard.write().unwrap_or_else(|p| p.into_inner()) = None;
            }
        }
        drop(endpoint);
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
