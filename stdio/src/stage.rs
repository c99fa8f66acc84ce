//! A stream's stage: its own pipe between the process's pipe and a socket whose description is
//! blocking, for the splices the reactor's io_uring runs (see `offload.rs`).
//!
//! # Why
//! A splice from a pipe holds that pipe's lock for as long as it runs, waiting for room in the
//! socket included. Spliced straight from the process's pipe, a request waiting on a slow peer
//! would make every write of the process wait for that lock, even a nonblocking one that
//! should fail with `EAGAIN` (an event loop writing its stdout would stall). So the reactor
//! first moves the bytes into the stage, a pipe only the relay knows, with a splice between
//! two nonblocking pipes that never waits (page references move, no byte is copied), and the
//! kernel's worker splices from the stage into the socket, waiting for room as long as it
//! takes. The process's pipe stays free: the process sees the usual back-pressure of a full
//! pipe, no more.
//!
//! The reactor never touches the stage while a request on it is in flight (the worker may
//! hold its lock); it counts what the stage holds instead of asking the kernel.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::fcntl::{fcntl, splice, FcntlArg, OFlag, SpliceFFlags};

use crate::stream::grow_pipe;

/// A pipe private to one stream, and how many bytes it holds.
pub(crate) struct Stage {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
    held: usize,
}

impl Stage {
    /// An empty stage: a nonblocking, close-on-exec pipe, as large as a bulk stream's pipe when
    /// the relay may grow pipes (see [`grow_pipe`]).
    pub(crate) fn new() -> io::Result<Stage> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        grow_pipe(read.as_fd());
        let capacity = usize::try_from(fcntl(read.as_fd(), FcntlArg::F_GETPIPE_SZ)?)
            .map_err(io::Error::other)?;
        Ok(Stage {
            read,
            write,
            capacity,
            held: 0,
        })
    }

    /// Moves up to `limit` bytes from the pipe `src` into the stage, without waiting (both
    /// pipes are nonblocking). `Ok(0)`: `src` is at end-of-file.
    pub(crate) fn fill(&mut self, src: BorrowedFd<'_>, limit: usize) -> nix::Result<usize> {
        let room = self.capacity.saturating_sub(self.held).min(limit);
        if room == 0 {
            return Err(nix::errno::Errno::EAGAIN);
        }
        let flags = SpliceFFlags::SPLICE_F_NONBLOCK | SpliceFFlags::SPLICE_F_MOVE;
        let n = splice(src, None, self.write.as_fd(), None, room, flags)?;
        self.held += n;
        Ok(n)
    }

    /// Bytes in the stage.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// The end a request splices from.
    pub(crate) fn read_end(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// A request moved `n` bytes out of the stage.
    pub(crate) fn sent(&mut self, n: usize) {
        self.held = self.held.saturating_sub(n);
    }

    /// Reads back everything the stage holds (no request may be in flight), for the copy path.
    pub(crate) fn take_all(&mut self) -> io::Result<Vec<u8>> {
        let mut bytes = vec![0u8; self.held];
        let mut got = 0;
        while got < bytes.len() {
            match nix::unistd::read(self.read.as_fd(), &mut bytes[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        bytes.truncate(got);
        self.held = 0;
        Ok(bytes)
    }
}
