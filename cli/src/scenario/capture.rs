//! The connections a scenario hands to each process: captured stdout/stderr, fed stdin.
//!
//! Each output stream is a pipe whose read end a small thread drains into memory; the runtime
//! gets the write end as the connection and closes it when the relay ends (rule 2), so the
//! captured bytes are complete once `wait` has returned. Stdin is a pipe holding the scenario's
//! bytes followed by end-of-file.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::thread::JoinHandle;

use nix::fcntl::OFlag;
use runtime_api::StdioSet;

/// A pipe's capacity on Linux by default; writes up to this size into an empty pipe never block.
const PIPE_CAPACITY: usize = 64 * 1024;

/// Bytes arriving on one output connection.
pub struct Capture {
    state: CaptureState,
}

enum CaptureState {
    Draining(JoinHandle<Vec<u8>>),
    Done(Vec<u8>),
}

impl Capture {
    /// A capture and the write end to hand to the runtime.
    pub fn new() -> io::Result<(Capture, OwnedFd)> {
        let (read, write) = pipe()?;
        let handle = std::thread::Builder::new()
            .name("rtctl-capture".into())
            .spawn(move || {
                let mut file = std::fs::File::from(read);
                let mut out = Vec::new();
                // A read error ends the capture with what arrived; the expectation then reports
                // the bytes that are missing.
                let _ = file.read_to_end(&mut out);
                out
            })?;
        Ok((
            Capture {
                state: CaptureState::Draining(handle),
            },
            write,
        ))
    }

    /// Every byte received. Blocks until the runtime closed the connection: call it once the
    /// process was waited for (or its create/exec failed, which closes the connection too).
    pub fn bytes(&mut self) -> &[u8] {
        if let CaptureState::Draining(_) = self.state {
            let CaptureState::Draining(handle) =
                std::mem::replace(&mut self.state, CaptureState::Done(Vec::new()))
            else {
                unreachable!("checked just above")
            };
            let bytes = handle.join().unwrap_or_default();
            self.state = CaptureState::Done(bytes);
        }
        match &self.state {
            CaptureState::Done(bytes) => bytes,
            CaptureState::Draining(_) => unreachable!("joined just above"),
        }
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
    fn capture_collects_until_the_writer_closes() {
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
