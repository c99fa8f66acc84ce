//! What a file descriptor is, and how the relay does I/O on it without ever changing the mode
//! of an open file description that someone else may hold.
//!
//! A connection can be a unix (or any) stream socket, a pipe or FIFO, a terminal, a regular
//! file or `/dev/null`. The host hands the relay a descriptor, but often keeps a `dup` of it
//! (its own terminal, a log pipe it shares between processes, one socket for several streams),
//! and file status flags such as `O_NONBLOCK` belong to the open file *description*, which
//! every dup shares. The relay therefore never sets or restores flags on a description it was
//! given. Instead ([`adopt`]):
//!
//! - **Sockets** keep their description untouched. Every read and write on them is
//!   `recv`/`send` with `MSG_DONTWAIT`, which makes that one call nonblocking whatever the
//!   description's mode is, and whatever the host does to it meanwhile (a Go host's
//!   `File.Fd()` makes a description blocking at any time). A socket has exactly one open file
//!   description, so there is no other way: `/proc/self/fd/N` cannot reopen a socket.
//! - **Pipes, FIFOs and terminals** are reopened through `/proc/self/fd/N` with the same
//!   access mode plus `O_NONBLOCK | O_NOCTTY | O_CLOEXEC`. That is a fresh description of the
//!   same pipe or terminal, private to the relay, so it may be nonblocking without the host
//!   noticing; the descriptor the host gave is closed at once (the pipe keeps the same number
//!   of readers and writers).
//! - **Regular files and `/dev/null`** cannot be watched by epoll (`EPERM`) and never block:
//!   they are used as they are.
//! - Anything else that epoll can watch (a pty *master*, whose reopening would allocate a new
//!   pty; an eventfd; ...) is refused with `InvalidInput`: the relay could neither make it
//!   nonblocking without touching a shared description nor reopen it.
//!
//! `splice(2)` does not honour `SPLICE_F_NONBLOCK` on the socket side: it blocks on a full
//! socket whose description is blocking. So the reactor splices into a connection only when
//! that cannot happen: into a pipe the relay reopened (its own nonblocking description), or
//! into a socket whose description is nonblocking at the moment of the call (checked before
//! every splice; the host chose that mode). Into a socket whose description is blocking, the
//! splice is run by a kernel worker of the reactor's io_uring, where waiting blocks nobody and
//! can be cancelled (see `offload.rs` and `stage.rs`); where that is not possible, bytes go
//! through user space with `send`.
//!
//! Only stream sockets can be half-closed (`shutdown(Write)`); see `sharing.rs` for when.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::{getsockopt, recv, send, shutdown, sockopt, MsgFlags, Shutdown, SockType};
use nix::sys::stat::{fstat, Mode, SFlag};

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
    /// A terminal (not a pty master): reopened like a pipe.
    Terminal,
    /// Anything else: regular file, character device (`/dev/null`), ...
    Other,
}

impl FdKind {
    /// Looks at `fd` with `fstat` (and `getsockopt(SO_TYPE)` for sockets, `isatty` and the
    /// pty-master test for character devices).
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
        } else if fmt == SFlag::S_IFCHR && nix::unistd::isatty(fd).unwrap_or(false) {
            if is_pty_master(fd) {
                FdKind::PtyMaster
            } else {
                FdKind::Terminal
            }
        } else {
            FdKind::Other
        })
    }
}

nix::ioctl_read!(tiocgptn, b'T', 0x30, nix::libc::c_uint);

/// A pty master answers `TIOCGPTN` (its slave's number); a slave or another terminal does not.
fn is_pty_master(fd: BorrowedFd<'_>) -> bool {
    let mut n: nix::libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one c_uint through the pointer, which points to a live local;
    // the fd is borrowed for the duration of the call.
    unsafe { tiocgptn(fd.as_raw_fd(), &mut n) }.is_ok()
}

/// How the relay does I/O on one descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Io {
    /// A socket whose description is not the relay's: `recv`/`send` with `MSG_DONTWAIT`.
    Socket,
    /// A description only the relay holds (its own pipe ends, a pty master it was given to
    /// own, a reopened pipe or terminal): nonblocking, plain `read`/`write`.
    Private,
    /// Not pollable (regular file, `/dev/null`): never blocks, plain `read`/`write`.
    Direct,
}

/// A connection as the relay will use it.
pub(crate) enum Adopted {
    /// Use this descriptor this way (it must be registered with epoll).
    Ready(OwnedFd, FdKind, Io),
    /// Usable only as it is, if epoll cannot watch it (a regular file, `/dev/null`: those
    /// never block); refused otherwise (see [`refusal`]).
    IfNotPollable(OwnedFd, FdKind),
    /// A FIFO with no reader left (reopening it for writing says `ENXIO`): its peer is gone.
    PeerGone,
}

/// Prepares a connection the host gave, without changing the mode of its description (see the
/// module doc).
pub(crate) fn adopt(fd: OwnedFd) -> io::Result<Adopted> {
    let kind = FdKind::of(fd.as_fd())?;
    match kind {
        FdKind::StreamSocket | FdKind::OtherSocket => Ok(Adopted::Ready(fd, kind, Io::Socket)),
        FdKind::Pipe | FdKind::Terminal => match reopen_nonblocking(fd.as_fd()) {
            Ok(private) => Ok(Adopted::Ready(private, kind, Io::Private)),
            Err(Errno::ENXIO) if kind == FdKind::Pipe => Ok(Adopted::PeerGone),
            Err(e) => Err(io::Error::new(
                io::Error::from(e).kind(),
                format!(
                    "stdio relay: cannot open a private description of a {} connection \
                     through /proc/self/fd (needed so that the host's own description keeps \
                     its mode): {e}",
                    if kind == FdKind::Pipe {
                        "pipe"
                    } else {
                        "terminal"
                    }
                ),
            )),
        },
        FdKind::PtyMaster | FdKind::Other => Ok(Adopted::IfNotPollable(fd, kind)),
    }
}

/// The error for a connection that epoll can watch but that the relay can neither reopen nor
/// make nonblocking without touching a description the host may share.
pub(crate) fn refusal(kind: FdKind) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "stdio relay: a connection of kind {kind:?} cannot be relayed without changing the \
             mode of a description the host may share; give a socket, a pipe, a terminal, a \
             regular file or /dev/null"
        ),
    )
}

/// Opens a new open file description of what `fd` refers to, with the same access mode,
/// nonblocking.
fn reopen_nonblocking(fd: BorrowedFd<'_>) -> nix::Result<OwnedFd> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    let access = flags & OFlag::O_ACCMODE;
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    nix::fcntl::open(
        path.as_str(),
        access | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Sets `O_NONBLOCK` on a description the relay alone holds (its own pipe ends, the pty
/// master it owns). Never used on a connection the host gave.
pub(crate) fn set_nonblocking_private(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    if !flags.contains(OFlag::O_NONBLOCK) {
        fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    }
    Ok(())
}

/// Whether the description of `fd` is nonblocking right now.
pub(crate) fn is_nonblocking(fd: BorrowedFd<'_>) -> bool {
    fcntl(fd, FcntlArg::F_GETFL)
        .map(|f| OFlag::from_bits_truncate(f).contains(OFlag::O_NONBLOCK))
        .unwrap_or(false)
}

/// One read that never blocks, on a descriptor prepared by [`adopt`] (or a private one).
pub(crate) fn read(fd: BorrowedFd<'_>, io: Io, buf: &mut [u8]) -> nix::Result<usize> {
    match io {
        Io::Socket => recv(fd.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT),
        Io::Private | Io::Direct => nix::unistd::read(fd, buf),
    }
}

/// One write that never blocks, on a descriptor prepared by [`adopt`] (or a private one).
pub(crate) fn write(fd: BorrowedFd<'_>, io: Io, buf: &[u8]) -> nix::Result<usize> {
    match io {
        Io::Socket => send(
            fd.as_raw_fd(),
            buf,
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
        ),
        Io::Private | Io::Direct => nix::unistd::write(fd, buf),
    }
}

/// `shutdown(fd, SHUT_WR)`: the peer reads end-of-file, and can still send its own.
pub(crate) fn half_close(fd: BorrowedFd<'_>) -> io::Result<()> {
    shutdown(fd.as_raw_fd(), Shutdown::Write)?;
    Ok(())
}

/// Whether the peer of socket `fd` has shut down its side (or the socket failed), asked
/// without reading anything: bytes the peer sent stay queued for whoever reads them (the
/// process's stdin stream, or the host through its own dup). For a pty master: whether every
/// descriptor of its slave is closed (`POLLHUP`).
pub(crate) fn peer_closed(fd: BorrowedFd<'_>) -> bool {
    // nix's `PollFlags` does not know POLLRDHUP (its `revents()` then gives `None`), so this
    // one call goes to libc directly.
    let mut pfd = nix::libc::pollfd {
        fd: fd.as_raw_fd(),
        events: nix::libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one pollfd, pointing to a live local, count 1, zero timeout; the fd is borrowed
    // for the duration of the call.
    let n = unsafe { nix::libc::poll(&mut pfd, 1, 0) };
    if n < 0 {
        return Errno::last() != Errno::EINTR;
    }
    pfd.revents & (nix::libc::POLLRDHUP | nix::libc::POLLHUP | nix::libc::POLLERR) != 0
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
pub(crate) fn would_block(e: Errno) -> bool {
    e == Errno::EAGAIN || e == Errno::EWOULDBLOCK
}
