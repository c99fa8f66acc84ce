//! What a file descriptor is, and the few operations that depend on it: making it nonblocking,
//! half-closing a socket, and asking how much is readable right now.
//!
//! A connection can be a unix (or any) stream socket, a pipe, a regular file, `/dev/null` or a
//! terminal. The relay treats them alike except where the kind matters:
//! - only stream sockets can be half-closed (`shutdown(Write)`) so the peer sees end-of-file
//!   while the relay still hears the peer's own end-of-file; other kinds are simply closed;
//! - only a pipe into a stream socket takes the `splice(2)` fast path;
//! - regular files and `/dev/null` cannot be watched by epoll (`EPERM`); they never block, so the
//!   relay writes and reads them directly instead (see `endpoint.rs`).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::{getsockopt, shutdown, sockopt, Shutdown, SockType};
use nix::sys::stat::{fstat, SFlag};

/// The kind of a file descriptor, as far as the relay cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FdKind {
    /// A connected stream socket: can be half-closed, and is a splice target.
    StreamSocket,
    /// Another kind of socket (datagram, seqpacket): written whole, closed at the end.
    OtherSocket,
    /// A pipe or FIFO.
    Pipe,
    /// A pty master: `EIO` on read means the slave side is gone, i.e. end-of-file.
    PtyMaster,
    /// Anything else: regular file, character device (`/dev/null`, a terminal), ...
    Other,
}

impl FdKind {
    /// Looks at `fd` with `fstat` (and `getsockopt(SO_TYPE)` for sockets).
    pub(crate) fn of(fd: BorrowedFd<'_>) -> io::Result<FdKind> {
        let st = fstat(fd)?;
        let fmt = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        Ok(if fmt == SFlag::S_IFSOCK {
            match getsockopt(&fd, sockopt::SockType) {
                Ok(SockType::Stream) => FdKind::StreamSocket,
                _ => FdKind::OtherSocket,
            }
        } else if fmt == SFlag::S_IFIFO {
            FdKind::Pipe
        } else {
            FdKind::Other
        })
    }
}

/// Sets `O_NONBLOCK` on the open file description of `fd`; returns the flags to restore when
/// the relay lets go of it (`None` if it already was nonblocking).
///
/// Only done for descriptors the relay watches with epoll: a reactor thread must never block.
/// The flag belongs to the open file description, which a caller may share (a `dup` of its own
/// terminal, say); restoring it at close limits the change to the life of the relay.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<Option<OFlag>> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    if flags.contains(OFlag::O_NONBLOCK) {
        return Ok(None);
    }
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(Some(flags))
}

/// Puts back the file status flags saved by [`set_nonblocking`].
pub(crate) fn restore_flags(fd: BorrowedFd<'_>, flags: OFlag) {
    if let Err(e) = fcntl(fd, FcntlArg::F_SETFL(flags)) {
        tracing::debug!(error = %e, "stdio relay: restoring a connection's flags failed");
    }
}

/// `shutdown(fd, SHUT_WR)`: the peer reads end-of-file, and can still send its own.
pub(crate) fn half_close(fd: BorrowedFd<'_>) -> io::Result<()> {
    shutdown(fd.as_raw_fd(), Shutdown::Write)?;
    Ok(())
}

nix::ioctl_read_bad!(fionread, nix::libc::FIONREAD, nix::libc::c_int);

/// How many bytes can be read from `fd` right now without blocking (`FIONREAD`; for a pty
/// master that is the input queue). Zero when the kernel cannot tell.
pub(crate) fn readable_now(fd: impl AsFd) -> usize {
    let mut n: nix::libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points to a live local; the
    // fd is borrowed for the duration of the call.
    match unsafe { fionread(fd.as_fd().as_raw_fd(), &mut n) } {
        Ok(_) => usize::try_from(n).unwrap_or(0),
        Err(_) => 0,
    }
}

/// Whether an error means "try again later".
pub(crate) fn would_block(e: nix::errno::Errno) -> bool {
    e == nix::errno::Errno::EAGAIN || e == nix::errno::Errno::EWOULDBLOCK
}
