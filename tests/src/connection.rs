//! The suite's side of a process's connections: pipes and sockets whose far ends are handed to
//! the runtime, drained here.
//!
//! Every drain of the process is served by one reader thread (`suite-drains`, started on the
//! first connection) that waits on an epoll instance for all the suite's ends at once and
//! reads each, nonblocking, until end-of-file. A thread per connection (what this was) cost a
//! thread creation and teardown per stream, about a fifth of the CPU time of a simulated
//! scenario. The reader never blocks on one connection, so a connection the runtime never
//! closes (a hung relay: what rule 2 looks for) delays no other; it is read, as before, for as
//! long as it stays open, and [`Drain::finish`] gives up on it after its bound.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

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

/// The suite's end of a connection.
enum Source {
    /// A pipe's read end.
    Pipe(std::fs::File),
    /// A socket: half-closed (shutdown write) after end-of-file, so the relay sees its peer's
    /// end-of-file at once instead of waiting out its peer-close bound.
    Socket(UnixStream),
}

impl Source {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Source::Pipe(f) => f.as_fd(),
            Source::Socket(s) => s.as_fd(),
        }
    }

    /// Reads what is there into `bytes`, straight into its spare capacity: until end-of-file
    /// (`Ok`), or an error, `WouldBlock` when nothing more is there yet. What was read before
    /// the error is in `bytes` too.
    fn read_available(&mut self, bytes: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Source::Pipe(f) => f.read_to_end(bytes),
            Source::Socket(s) => s.read_to_end(bytes),
        }
    }

    fn finish(self) {
        if let Source::Socket(s) = self {
            let _ = s.shutdown(Shutdown::Write);
        }
    }
}

/// One connection being read.
struct Reading {
    source: Source,
    bytes: Vec<u8>,
    done: mpsc::Sender<Collected>,
}

/// The process's reader: its epoll instance, and the connections registered but not yet taken
/// by its thread.
struct Reader {
    epoll: Epoll,
    new: Mutex<Vec<(u64, Reading)>>,
}

fn reader() -> io::Result<&'static Reader> {
    static READER: OnceLock<Result<&'static Reader, String>> = OnceLock::new();
    READER
        .get_or_init(|| {
            let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)
                .map_err(|e| format!("the suite's drain epoll: {e}"))?;
            let r: &'static Reader = Box::leak(Box::new(Reader {
                epoll,
                new: Mutex::new(Vec::new()),
            }));
            thread::Builder::new()
                .name("suite-drains".into())
                .spawn(move || read_loop(r))
                .map_err(|e| format!("spawning the suite's drain reader: {e}"))?;
            Ok(r)
        })
        .clone()
        .map_err(io::Error::other)
}

/// The reader thread: reads every ready connection until it would block, and hands over what
/// a connection delivered at its end-of-file (or read error).
fn read_loop(r: &'static Reader) {
    let mut open: HashMap<u64, Reading> = HashMap::new();
    let mut events = vec![EpollEvent::empty(); 64];
    loop {
        let n = match r.epoll.wait(&mut events, EpollTimeout::NONE) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => panic!("suite drain reader: epoll_wait: {e}"),
        };
        open.extend(r.new.lock().unwrap_or_else(|p| p.into_inner()).drain(..));
        for ev in &events[..n] {
            let token = ev.data();
            let Some(reading) = open.get_mut(&token) else {
                continue;
            };
            // Read into the collected bytes themselves, not through a buffer of our own: that
            // copy was about 4% of the instructions of a simulated rule 1 scenario.
            let end = match reading.source.read_available(&mut reading.bytes) {
                Ok(_) => Some(None),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                Err(e) => Some(Some(e.to_string())),
            };
            if let Some(error) = end {
                let reading = open.remove(&token).expect("present");
                let _ = r.epoll.delete(reading.source.fd());
                let Reading {
                    source,
                    bytes,
                    done,
                } = reading;
                source.finish();
                let _ = done.send(Collected { bytes, error });
            }
        }
    }
}

/// Starts draining `source` (ours alone: it is made nonblocking) on the process's reader.
fn drain(source: Source) -> io::Result<Drain> {
    static TOKENS: AtomicU64 = AtomicU64::new(0);
    let r = reader()?;
    let fd = source.fd();
    let flags = OFlag::from_bits_retain(
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).map_err(io::Error::from)?,
    );
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))
        .map_err(io::Error::from)?;
    let token = TOKENS.fetch_add(1, Ordering::Relaxed);
    r.epoll
        .add(fd, EpollEvent::new(EpollFlags::EPOLLIN, token))
        .map_err(io::Error::from)?;
    // An event that comes before the connection is queued finds no reading and is skipped;
    // the registration is level-triggered, so the next wait reports it again.
    let (tx, rx) = mpsc::channel();
    r.new.lock().unwrap_or_else(|p| p.into_inner()).push((
        token,
        Reading {
            source,
            bytes: Vec::new(),
            done: tx,
        },
    ));
    Ok(Drain { done: rx })
}

/// Makes a connection of kind `conn`: the fd to hand to the runtime (none for
/// [`Conn::Null`]) and the drain of the suite's end.
pub fn connect(conn: Conn) -> io::Result<(Option<OwnedFd>, Option<Drain>)> {
    match conn {
        Conn::Null => Ok((None, None)),
        Conn::Pipe => {
            let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
            let drain = drain(Source::Pipe(std::fs::File::from(r)))?;
            Ok((Some(w), Some(drain)))
        }
        Conn::Socket => {
            let (ours, theirs) = UnixStream::pair()?;
            let drain = drain(Source::Socket(ours))?;
            Ok((Some(OwnedFd::from(theirs)), Some(drain)))
        }
    }
}

/// A pipe whose write end the suite keeps, for a process's stdin: returns (the read end for the
/// runtime, the write end).
pub fn stdin_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)
}
