//! Terminals: allocating a pty pair, and receiving a pty master the way
//! `runc --console-socket` sends it.
//!
//! runc creates the pty inside the container and sends the master over a unix socket as one
//! `SCM_RIGHTS` descriptor. Receiving is where descriptors leak if one is careless: a peer may
//! send none, several, or more than fit in the control buffer. Here every descriptor received is
//! owned (`OwnedFd`) the moment it arrives, with `MSG_CMSG_CLOEXEC` so that no concurrently
//! spawned child inherits it, and anything but exactly one is an error that closes them all.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};

/// A new pty pair `(master, slave)`, both close-on-exec, the slave opened without becoming a
/// controlling terminal. The master is what [`TtyRelay`](crate::TtyRelay) takes; the slave is
/// the child's stdin/stdout/stderr (drop the parent's copy once the child has it, or the relay
/// never sees `EIO`).
pub fn open_pty() -> io::Result<(OwnedFd, OwnedFd)> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname_r(&master)?;
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags_noctty()
        .open(&name)?;
    Ok((OwnedFd::from(master), OwnedFd::from(slave)))
}

trait NoCtty {
    fn custom_flags_noctty(&mut self) -> &mut Self;
}

impl NoCtty for std::fs::OpenOptions {
    fn custom_flags_noctty(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        // std adds O_CLOEXEC itself.
        self.custom_flags(nix::libc::O_NOCTTY)
    }
}

/// The most descriptors Linux passes in one message (`SCM_MAX_FD`).
const SCM_MAX_FD: usize = 253;

/// The longest path a unix socket address holds (`sun_path` is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A unix socket in a fresh private (0700) directory, as `runc --console-socket` wants; its
/// path is under 108 bytes. Dropping it removes the socket and the directory.
#[derive(Debug)]
pub struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
    // Dropped last: removes the directory (and the socket in it).
    _dir: tempfile::TempDir,
}

impl ConsoleSocket {
    /// Creates the socket under `base_dir` (or the system temp dir if `None`). Fails with
    /// `InvalidInput` (and leaves nothing behind) if the path would not fit a socket address.
    pub fn bind(base_dir: Option<&Path>) -> io::Result<ConsoleSocket> {
        use std::os::unix::fs::PermissionsExt;
        let base = base_dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let dir = tempfile::Builder::new()
            .prefix("rtl-con-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(&base)?;
        let path = dir.path().join("c.sock");
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "console socket path {} is {} bytes, more than a unix socket address holds ({MAX_SOCKET_PATH})",
                    path.display(),
                    path.as_os_str().len()
                ),
            ));
        }
        let listener = UnixListener::bind(&path)?;
        listener.set_nonblocking(true)?;
        Ok(ConsoleSocket {
            listener,
            path,
            _dir: dir,
        })
    }

    /// The socket's path, to pass as `--console-socket`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts one connection and receives exactly one fd (`SCM_RIGHTS`, `MSG_CMSG_CLOEXEC`)
    /// within `timeout`; zero or several fds is an error and no fd leaks. `TimedOut` if nothing
    /// arrives in time.
    pub fn receive_master(&self, timeout: Duration) -> io::Result<OwnedFd> {
        let deadline = Instant::now() + timeout;
        let conn = loop {
            match self.listener.accept() {
                Ok((conn, _)) => break conn,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait_readable(self.listener.as_fd(), deadline, "a console connection")?
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        receive_one_fd(&conn, deadline)
    }
}

fn wait_readable(fd: std::os::fd::BorrowedFd<'_>, deadline: Instant, what: &str) -> io::Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no {what} arrived on the console socket in time"),
            ));
        }
        let ms = u32::try_from(left.as_millis().max(1)).unwrap_or(u32::MAX);
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(0) => continue,
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

mod ioctl {
    nix::ioctl_read_bad!(tiocgptn, nix::libc::TIOCGPTN, nix::libc::c_uint);
}

/// Refuses (and, by dropping it, closes) a descriptor that is not a pty master: `TIOCGPTN`
/// only succeeds on one.
fn ensure_pty_master(fd: &OwnedFd) -> io::Result<()> {
    let mut n: nix::libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one c_uint through the pointer, which points to a live local; the
    // fd is borrowed for the duration of the call.
    match unsafe { ioctl::tiocgptn(fd.as_raw_fd(), &mut n) } {
        Ok(_) => Ok(()),
        Err(e) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the console socket peer sent a descriptor that is not a pty master ({e}); closed"
            ),
        )),
    }
}

/// Receives one message and exactly one descriptor from `conn`.
fn receive_one_fd(conn: &UnixStream, deadline: Instant) -> io::Result<OwnedFd> {
    conn.set_nonblocking(true)?;
    let mut payload = [0u8; 4096];
    // Room for the most descriptors one message can carry (the kernel merges all SCM_RIGHTS of a
    // message into one list of at most SCM_MAX_FD = 253), so that extra ones are received and
    // closed here rather than truncated: nix refuses to parse a truncated control buffer, and
    // the descriptors that did fit would then leak.
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; SCM_MAX_FD]);
    loop {
        let mut iov = [IoSliceMut::new(&mut payload)];
        let msg = match recvmsg::<UnixAddr>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(msg) => msg,
            Err(nix::errno::Errno::EAGAIN) => {
                wait_readable(conn.as_fd(), deadline, "pty master")?;
                continue;
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut fds: Vec<OwnedFd> = Vec::new();
        let mut cmsgs = msg.cmsgs().map_err(io::Error::from)?;
        for c in cmsgs.by_ref() {
            if let ControlMessageOwned::ScmRights(raw) = c {
                for fd in raw {
                    // SAFETY: the kernel has just installed `fd` in our table for this message;
                    // nothing else refers to it, so taking ownership is sound and closes it on
                    // every error path below.
                    fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
        let bytes = msg.bytes;
        if bytes == 0 && fds.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the console socket peer closed without sending a pty master",
            ));
        }
        if truncated {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the console socket peer sent more descriptors than expected (control data truncated); all closed",
            ));
        }
        let count = fds.len();
        let mut fds = fds.into_iter();
        return match (fds.next(), count) {
            (Some(fd), 1) => {
                ensure_pty_master(&fd)?;
                Ok(fd)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the console socket peer sent {count} descriptors, expected exactly one; all closed"),
            )),
        };
    }
}
