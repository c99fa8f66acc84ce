//! A pidfd for an exec's process: signals reach that process and no other, even after its
//! pid is reused (the runtime reaps it when it exits).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

/// An open pidfd.
pub struct PidFd(OwnedFd);

impl PidFd {
    /// `pidfd_open(pid)`.
    pub fn open(pid: i32) -> Result<PidFd, Errno> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: the descriptor was just created and is owned by nobody else.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
    }

    /// `pidfd_send_signal(fd, signal)`; `ESRCH` once the process has exited.
    pub fn send_signal(&self, signal: i32) -> Result<(), Errno> {
        // SAFETY: the descriptor is open for the life of `self`; a null siginfo is allowed.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r < 0 {
            Err(Errno::last())
        } else {
            Ok(())
        }
    }
}
