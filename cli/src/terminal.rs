//! rtctl's own terminal: raw mode while a tty container runs, its size, and the file status
//! flags of stdin/stdout/stderr restored afterwards.

use std::io::IsTerminal;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::termios::{self, SetArg, Termios};
use runtime_api::ConsoleSize;

/// Whether `fd` is a terminal.
pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    fd.is_terminal()
}

/// The size of the terminal on `fd`, or `None` if it is not a terminal (or reports 0x0).
pub fn window_size(fd: BorrowedFd<'_>) -> Option<ConsoleSize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the pointer, which points at a live local;
    // an fd that is not a terminal makes the call fail with ENOTTY and write nothing.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_row > 0 && ws.ws_col > 0).then_some(ConsoleSize {
        rows: ws.ws_row,
        cols: ws.ws_col,
    })
}

/// Puts a terminal in raw mode (no echo, no line editing, no signal keys: Ctrl-C reaches the
/// container's own terminal as a byte) and restores the saved mode when dropped.
pub struct RawMode<'fd> {
    fd: BorrowedFd<'fd>,
    saved: Termios,
}

impl<'fd> RawMode<'fd> {
    /// Switches `fd` (a terminal) to raw mode.
    pub fn enter(fd: BorrowedFd<'fd>) -> nix::Result<RawMode<'fd>> {
        let saved = termios::tcgetattr(fd)?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSANOW, &raw)?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        // TCSADRAIN: let the container's last output reach the screen before the mode changes.
        if let Err(e) = termios::tcsetattr(self.fd, SetArg::TCSADRAIN, &self.saved) {
            tracing::warn!(error = %e, "could not restore the terminal mode");
        }
    }
}

/// Saves the file status flags (`O_NONBLOCK`, `O_APPEND`) of stdin, stdout and stderr, and
/// puts them back when dropped.
///
/// rtctl hands duplicates of its own stdio to the relays, which make them non-blocking; a
/// duplicate shares the open file description, so without this the user's shell would get a
/// non-blocking terminal back.
pub struct StdioFlags {
    saved: [(i32, Option<OFlag>); 3],
}

impl StdioFlags {
    /// Records the current flags of fds 0, 1 and 2.
    pub fn save() -> StdioFlags {
        let get = |fd: BorrowedFd<'_>| {
            fcntl(fd, FcntlArg::F_GETFL)
                .ok()
                .map(OFlag::from_bits_truncate)
        };
        StdioFlags {
            saved: [
                (0, get(std::io::stdin().as_fd())),
                (1, get(std::io::stdout().as_fd())),
                (2, get(std::io::stderr().as_fd())),
            ],
        }
    }

    /// Puts the recorded flags back now (also done on drop).
    pub fn restore(&self) {
        for (fd, flags) in &self.saved {
            let Some(flags) = flags else { continue };
            // SAFETY: fds 0-2 stay open for the life of the process; the borrow does not
            // outlive this call.
            let fd = unsafe { BorrowedFd::borrow_raw(*fd) };
            let _ = fcntl(fd, FcntlArg::F_SETFL(*flags));
        }
    }
}

impl Drop for StdioFlags {
    fn drop(&mut self) {
        self.restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::termios::LocalFlags;
    use std::os::fd::AsFd;

    #[test]
    fn raw_mode_is_undone_on_drop_and_size_is_read() {
        let winsize = nix::pty::Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&winsize), None).unwrap();
        let slave = pty.slave.as_fd();
        assert!(is_terminal(slave));
        assert_eq!(window_size(slave), Some(ConsoleSize { rows: 24, cols: 80 }));
        let cooked = termios::tcgetattr(slave).unwrap().local_flags;
        assert!(cooked.contains(LocalFlags::ICANON | LocalFlags::ECHO));
        {
            let _raw = RawMode::enter(slave).unwrap();
            let raw = termios::tcgetattr(slave).unwrap().local_flags;
            assert!(!raw.intersects(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG));
        }
        assert_eq!(termios::tcgetattr(slave).unwrap().local_flags, cooked);
    }

    #[test]
    fn not_a_terminal() {
        let (r, _w) = nix::unistd::pipe().unwrap();
        assert!(!is_terminal(r.as_fd()));
        assert_eq!(window_size(r.as_fd()), None);
        assert!(RawMode::enter(r.as_fd()).is_err());
    }
}
