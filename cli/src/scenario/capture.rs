//! The connections a scenario hands to each process: captured stdout/stderr, fed stdin.
//!
//! Each output stream is an anonymous in-memory file (`memfd`): the runtime gets a duplicate as
//! the connection (a regular file, which the relays write without waiting) and closes it when
//! the relay ends (rule 2), so the file holds every delivered byte once `wait` has returned.
//! No thread per stream: a sweep runs thousands of processes. Stdin is a pipe holding the
//! scenario's bytes followed by end-of-file.

use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;

use nix::fcntl::OFlag;
use nix::sys::memfd::{memfd_create, MFdFlags};
use runtime_api::StdioSet;

/// A pipe's capacity on Linux by default; writes up to this size into an empty pipe never block.
const PIPE_CAPACITY: usize = 64 * 1024;

/// Bytes arriving on one output connection.
pub struct Capture {
    file: std::fs::File,
    bytes: Option<Vec<u8>>,
}

impl Capture {
    /// A capture and the connection to hand to the runtime.
    pub fn new() -> io::Result<(Capture, OwnedFd)> {
        let fd = memfd_create(c"rtctl-capture", MFdFlags::MFD_CLOEXEC).map_err(io::Error::from)?;
        let connection = fd.try_clone()?;
        Ok((
            Capture {
                file: std::fs::File::from(fd),
                bytes: None,
            },
            connection,
        ))
    }

    /// Every byte received, read once the relay has ended: call it after the process was
    /// waited for (or its create/exec failed). Later calls return the same bytes.
    pub fn bytes(&mut self) -> &[u8] {
        if self.bytes.is_none() {
            self.bytes = Some(read_all(&self.file).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read a captured stream");
                Vec::new()
            }));
        }
        self.bytes.as_deref().unwrap_or_default()
    }
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
        let stdin = stdin.map(feed).transpose()?;
        let (stdout, stdout_fd) = Capture::new()?;
        let (stderr, stderr_fd) = if terminal {
            (None, None)
        } else {
            let (c, fd) = Capture::new()?;
            (Some(c), Some(fd))
        };
        Ok((
            ProcessIo { stdout, stderr },
            StdioSet {
                stdin,
                stdout: Some(stdout_fd),
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
    use std::io::Read;

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
    fn terminal_has_no_stderr() {
        let (io, set) = ProcessIo::new(None, true).unwrap();
        assert!(set.stdin.is_none() && set.stdout.is_some() && set.stderr.is_none());
        assert!(io.stderr.is_none());
    }
}
