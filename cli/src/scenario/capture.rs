//! The connections a scenario hands to each process: captured stdout/stderr, fed stdin.
//!
//! Each output stream is an anonymous in-memory file (`memfd`): the runtime gets a duplicate as
//! the connection (a regular file, which the relays write without waiting) and closes it when
//! the relay ends (rule 2), so the file holds every delivered byte once `wait` has returned.
//! No thread per stream: a sweep runs thousands of processes. Stdin is a pipe holding the
//! scenario's bytes followed by end-of-file.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::sys::memfd::{memfd_create, MFdFlags};
use runtime_api::StdioSet;

use super::Connection;

/// A pipe's capacity on Linux by default; writes up to this size into an empty pipe never block.
const PIPE_CAPACITY: usize = 64 * 1024;

/// Bytes arriving on one output connection.
pub struct Capture {
    source: Source,
    bytes: Option<Vec<u8>>,
}

enum Source {
    /// A memfd: read back once the relay ended.
    File(std::fs::File),
    /// A pipe or socket drained by a thread, which sends everything at end-of-file.
    Reader(mpsc::Receiver<Vec<u8>>),
    /// No connection (`null`): nothing arrives.
    Nothing,
}

/// How long [`Capture::bytes`] waits for a drained pipe or socket to reach end-of-file after
/// `wait` returned (a runtime that keeps the connection open past it breaks rule 2).
const CLOSE_BOUND: Duration = Duration::from_secs(10);

impl Capture {
    /// A capture and the connection to hand to the runtime.
    pub fn new() -> io::Result<(Capture, OwnedFd)> {
        let (c, fd) = Capture::with(Connection::Capture)?;
        Ok((c, fd.expect("a capture always has a connection")))
    }

    /// A capture of kind `kind` and the connection to hand to the runtime (`None` for
    /// [`Connection::Null`]).
    pub fn with(kind: Connection) -> io::Result<(Capture, Option<OwnedFd>)> {
        let (source, connection) = match kind {
            Connection::Capture => {
                let fd = memfd_create(c"rtctl-capture", MFdFlags::MFD_CLOEXEC)
                    .map_err(io::Error::from)?;
                let connection = fd.try_clone()?;
                (Source::File(std::fs::File::from(fd)), Some(connection))
            }
            Connection::Null => (Source::Nothing, None),
            Connection::Pipe => {
                let (read, write) = pipe()?;
                (drain(std::fs::File::from(read), |_| {})?, Some(write))
            }
            Connection::Socket => {
                let (ours, theirs) = UnixStream::pair()?;
                // After end-of-file, half-close ours so the relay sees its peer's end at once.
                let source = drain(ours, |s: UnixStream| {
                    let _ = s.shutdown(Shutdown::Write);
                })?;
                (source, Some(OwnedFd::from(theirs)))
            }
        };
        Ok((
            Capture {
                source,
                bytes: None,
            },
            connection,
        ))
    }

    /// Every byte received, read once the relay has ended: call it after the process was
    /// waited for (or its create/exec failed). Later calls return the same bytes.
    pub fn bytes(&mut self) -> &[u8] {
        if self.bytes.is_none() {
            let bytes = match &self.source {
                Source::File(file) => read_all(file).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot read a captured stream");
                    Vec::new()
                }),
                Source::Reader(rx) => rx.recv_timeout(CLOSE_BOUND).unwrap_or_else(|_| {
                    tracing::warn!("a drained connection did not reach end-of-file in time");
                    Vec::new()
                }),
                Source::Nothing => Vec::new(),
            };
            self.bytes = Some(bytes);
        }
        self.bytes.as_deref().unwrap_or_default()
    }
}

/// Drains `r` on a thread until end-of-file, then runs `after` and sends what arrived.
fn drain<R: Read + Send + 'static>(
    mut r: R,
    after: impl FnOnce(R) + Send + 'static,
) -> io::Result<Source> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("rtctl-drain".into())
        .spawn(move || {
            let mut bytes = Vec::new();
            let _ = r.read_to_end(&mut bytes);
            after(r);
            let _ = tx.send(bytes);
        })?;
    Ok(Source::Reader(rx))
}

/// Reads the whole file from offset 0 (the runtime's duplicate shares, and has moved, the
/// file offset).
fn read_all(file: &std::fs::File) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// The three connections of one process and the captures behind them.
pub struct ProcessIo {
    /// Captured stdout.
    pub stdout: Capture,
    /// Captured stderr (empty for a terminal, whose output is all on stdout).
    pub stderr: Option<Capture>,
}

impl ProcessIo {
    /// Builds the connections: stdin from `stdin` (or none: `/dev/null`), stdout captured,
    /// stderr captured unless the process has a terminal.
    pub fn new(stdin: Option<&[u8]>, terminal: bool) -> io::Result<(ProcessIo, StdioSet)> {
        ProcessIo::with(stdin, terminal, Connection::Capture, Connection::Capture)
    }

    /// Builds the connections with stdout and stderr connected as asked (stderr has none
    /// for a terminal).
    pub fn with(
        stdin: Option<&[u8]>,
        terminal: bool,
        stdout: Connection,
        stderr: Connection,
    ) -> io::Result<(ProcessIo, StdioSet)> {
        let stdin = stdin.map(feed).transpose()?;
        let (stdout, stdout_fd) = Capture::with(stdout)?;
        let (stderr, stderr_fd) = if terminal {
            (None, None)
        } else {
            let (c, fd) = Capture::with(stderr)?;
            (Some(c), fd)
        };
        Ok((
            ProcessIo { stdout, stderr },
            StdioSet {
                stdin,
                stdout: stdout_fd,
                stderr: stderr_fd,
            },
        ))
    }

    /// The captured stderr bytes (none for a terminal).
    pub fn stderr_bytes(&mut self) -> Vec<u8> {
        self.stderr
            .as_mut()
            .map(|c| c.bytes().to_vec())
            .unwrap_or_default()
    }
}

/// A pipe whose read end yields `bytes` then end-of-file.
fn feed(bytes: &[u8]) -> io::Result<OwnedFd> {
    let (read, write) = pipe()?;
    let mut file = std::fs::File::from(write);
    if bytes.len() <= PIPE_CAPACITY {
        file.write_all(bytes)?;
    } else {
        let bytes = bytes.to_vec();
        std::thread::Builder::new()
            .name("rtctl-stdin".into())
            .spawn(move || {
                // The process may exit before reading it all; a broken pipe is then expected.
                let _ = file.write_all(&bytes);
            })?;
    }
    Ok(read)
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_what_the_connection_received() {
        let (mut c, w) = Capture::new().unwrap();
        let mut f = std::fs::File::from(w);
        f.write_all(b"hello ").unwrap();
        f.write_all(b"world").unwrap();
        drop(f);
        assert_eq!(c.bytes(), b"hello world");
        assert_eq!(c.bytes(), b"hello world");
    }

    #[test]
    fn feed_gives_bytes_then_eof_small_and_large() {
        for len in [0usize, 5, PIPE_CAPACITY + 10] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut f = std::fs::File::from(feed(&data).unwrap());
            let mut got = Vec::new();
            f.read_to_end(&mut got).unwrap();
            assert_eq!(got, data);
        }
    }

    #[test]
    fn pipe_socket_and_null_connections_deliver_what_was_written() {
        for kind in [Connection::Pipe, Connection::Socket, Connection::Capture] {
            let (mut c, fd) = Capture::with(kind).unwrap();
            let mut f = std::fs::File::from(fd.unwrap());
            f.write_all(b"bytes").unwrap();
            drop(f);
            assert_eq!(c.bytes(), b"bytes", "{kind:?}");
        }
        let (mut c, fd) = Capture::with(Connection::Null).unwrap();
        assert!(fd.is_none());
        assert!(c.bytes().is_empty());
    }

    #[test]
    fn terminal_has_no_stderr() {
        let (io, set) = ProcessIo::new(None, true).unwrap();
        assert!(set.stdin.is_none() && set.stdout.is_some() && set.stderr.is_none());
        assert!(io.stderr.is_none());
    }
}
