//! The suite's side of a process's connections: pipes and sockets whose far ends are handed to
//! the runtime, drained here by one reader thread each.

use std::io::{self, Read};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use nix::fcntl::OFlag;

use crate::scenario::Conn;

/// What a reader collected: every byte until end-of-file.
#[derive(Debug)]
pub struct Collected {
    /// The bytes, in arrival order.
    pub bytes: Vec<u8>,
    /// The read error that ended the stream early, if any.
    pub error: Option<String>,
}

/// A connection being drained. [`Drain::finish`] returns what arrived once the runtime closed
/// its end.
pub struct Drain {
    done: mpsc::Receiver<Collected>,
}

impl Drain {
    /// Waits at most `bound` for end-of-file; `None` if the runtime still holds the connection
    /// open after that long (a relay that did not close it).
    pub fn finish(self, bound: Duration) -> Option<Collected> {
        self.done.recv_timeout(bound).ok()
    }
}

fn spawn_reader<R: Read + Send + 'static>(
    mut r: R,
    after: impl FnOnce(R) + Send + 'static,
) -> Drain {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("suite-drain".into())
        .spawn(move || {
            let mut bytes = Vec::new();
            let error = r.read_to_end(&mut bytes).err().map(|e| e.to_string());
            after(r);
            let _ = tx.send(Collected { bytes, error });
        })
        .expect("spawning a reader thread");
    Drain { done: rx }
}

/// Makes a connection of kind `conn`: the fd to hand to the runtime (none for
/// [`Conn::Null`]) and the drain of the suite's end.
pub fn connect(conn: Conn) -> io::Result<(Option<OwnedFd>, Option<Drain>)> {
    match conn {
        Conn::Null => Ok((None, None)),
        Conn::Pipe => {
            let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
            let drain = spawn_reader(std::fs::File::from(r), |_| {});
            Ok((Some(w), Some(drain)))
        }
        Conn::Socket => {
            let (ours, theirs) = UnixStream::pair()?;
            // After end-of-file, half-close our side so the relay sees the peer's end-of-file
            // at once instead of waiting out its peer-close bound.
            let drain = spawn_reader(ours, |s: UnixStream| {
                let _ = s.shutdown(Shutdown::Write);
            });
            Ok((Some(OwnedFd::from(theirs)), Some(drain)))
        }
    }
}

/// A pipe whose write end the suite keeps, for a process's stdin: returns (the read end for the
/// runtime, the write end).
pub fn stdin_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)
}
