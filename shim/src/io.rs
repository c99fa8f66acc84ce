//! containerd's stdio for a process, opened and handed to the runtime as a [`StdioSet`].
//!
//! containerd (ctr, the CRI plugin) creates one FIFO per stream and opens its own ends before
//! it asks for the task, so the shim's opens do not wait:
//! - stdout and stderr are opened write-only, non-blocking: they succeed at once because the
//!   client already reads, and if the client goes away later, writes fail with `EPIPE`, which
//!   the relay counts as dropped instead of blocking the process;
//! - stdin is opened for reading, and the shim also keeps a write end of its own (as
//!   containerd's runc shim does), so that the relay does not see end-of-file before the client
//!   connected; `CloseIO` drops that write end, and end-of-file arrives once the client closed
//!   its end too.
//!
//! A `file://` URI (ctr's `--log-uri`) appends stdout and stderr to that file. `--null-io`
//! gives empty paths: the process gets `/dev/null`.

use std::fs::OpenOptions;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;

use runtime_api::StdioSet;

use crate::error::ShimError;

/// The stdio paths containerd gave for one process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoPaths {
    /// The stdin FIFO, or empty.
    pub stdin: String,
    /// The stdout FIFO or `file://` URI, or empty.
    pub stdout: String,
    /// The stderr FIFO or `file://` URI, or empty.
    pub stderr: String,
    /// Whether the process has a terminal (then stdout carries the pty's output and stderr is
    /// unused).
    pub terminal: bool,
}

/// The opened stdio of one process.
pub struct OpenedIo {
    /// What the runtime relays to; it owns and closes these.
    pub stdio: StdioSet,
    /// The shim's own write end of the stdin FIFO; dropping it (CloseIO) lets stdin end.
    pub stdin_keepalive: Option<OwnedFd>,
}

fn open_output(path: &str, what: &str) -> Result<Option<OwnedFd>, ShimError> {
    if path.is_empty() {
        return Ok(None);
    }
    let err = |e| ShimError::Io(format!("open {what} {path}"), e);
    if let Some(file) = path.strip_prefix("file://") {
        let f = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(file)
            .map_err(err)?;
        return Ok(Some(f.into()));
    }
    if path.contains("://") {
        return Err(ShimError::InvalidArgument(format!(
            "{what} {path}: only FIFOs and file:// are supported"
        )));
    }
    let nonblocking = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    match nonblocking {
        Ok(f) => Ok(Some(f.into())),
        // No reader yet (a client that opens its end late): wait for it, as containerd's own
        // shims do.
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            let f = OpenOptions::new().write(true).open(path).map_err(err)?;
            Ok(Some(f.into()))
        }
        Err(e) => Err(err(e)),
    }
}

fn open_stdin(path: &str) -> Result<(Option<OwnedFd>, Option<OwnedFd>), ShimError> {
    if path.is_empty() {
        return Ok((None, None));
    }
    let err = |e| ShimError::Io(format!("open stdin {path}"), e);
    let reader = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(err)?;
    let keepalive = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(err)?;
    Ok((Some(reader.into()), Some(keepalive.into())))
}

/// Opens the streams of `paths`. On failure, whatever was opened is closed again.
pub fn open(paths: &IoPaths) -> Result<OpenedIo, ShimError> {
    let (stdin, stdin_keepalive) = open_stdin(&paths.stdin)?;
    let stdout = open_output(&paths.stdout, "stdout")?;
    let stderr = if paths.terminal {
        None
    } else {
        open_output(&paths.stderr, "stderr")?
    };
    Ok(OpenedIo {
        stdio: StdioSet {
            stdin,
            stdout,
            stderr,
        },
        stdin_keepalive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn fifos_open_without_waiting_and_stdin_ends_after_close_io() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |n: &str| {
            let p = dir.path().join(n);
            nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
            p.display().to_string()
        };
        let (i, o) = (mk("in"), mk("out"));
        // The client's read end of stdout, opened first as containerd does.
        let mut out_reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&o)
            .unwrap();
        let opened = open(&IoPaths {
            stdin: i.clone(),
            stdout: o,
            ..Default::default()
        })
        .unwrap();
        assert!(opened.stdio.stderr.is_none());
        let mut w = std::fs::File::from(opened.stdio.stdout.unwrap());
        w.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        out_reader.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");

        let mut client = OpenOptions::new().write(true).open(&i).unwrap();
        client.write_all(b"x").unwrap();
        drop(client);
        let mut r = std::fs::File::from(opened.stdio.stdin.unwrap());
        let mut one = [0u8; 1];
        r.read_exact(&mut one).unwrap();
        // The client closed, but the keepalive still holds stdin open: no end-of-file yet.
        assert_eq!(
            r.read(&mut one).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
        drop(opened.stdin_keepalive);
        assert_eq!(r.read(&mut one).unwrap(), 0);
    }

    #[test]
    fn null_io_and_bad_uris() {
        let opened = open(&IoPaths::default()).unwrap();
        assert!(opened.stdio.is_empty());
        assert!(open(&IoPaths {
            stdout: "binary:///usr/bin/logger".into(),
            ..Default::default()
        })
        .is_err());
    }
}
