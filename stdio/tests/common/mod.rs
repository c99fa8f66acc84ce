//! Helpers shared by the integration tests: socketpairs, readers, fd counting.
#![allow(dead_code)]

use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use std::thread::JoinHandle;
use std::time::Duration;

use std::fs::File;

use runtime_api::StdioSet;
use stdio::{PipeRelay, RelayConfig};

/// A connected unix stream socket pair: (the relay's end, the test's end).
pub fn socketpair() -> (OwnedFd, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    (OwnedFd::from(a), b)
}

/// Reads `peer` to end-of-file on a thread; returns everything.
pub fn collect(mut peer: UnixStream) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        peer.read_to_end(&mut out).expect("read peer");
        out
    })
}

/// Open descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// A relay with only a stdout, into `connection`: the relay, and the process's end of its
/// stdout pipe (its stdin and stderr ends are closed).
pub fn stdout_only_relay(connection: OwnedFd, config: RelayConfig) -> (PipeRelay, File) {
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(connection),
            stderr: None,
        },
        config,
    )
    .expect("stdout-only relay");
    drop(child.stdin);
    drop(child.stderr);
    (relay, File::from(child.stdout))
}

/// A config with a short grace, for tests.
pub fn config(grace_ms: u64) -> RelayConfig {
    RelayConfig {
        drain_grace: Some(Duration::from_millis(grace_ms)),
        peer_close_timeout: Duration::from_millis(500),
        buffer_size: 64 * 1024,
    }
}

/// A deterministic pattern, distinct per stream, so reordering or loss shows.
pub fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32 * 7) as u8)
        .collect()
}

/// Writes `chunk` again and again into `w` (made nonblocking) until the relay stops taking
/// data: a write would block and `w` stays unwritable for 200 ms (the relay's peer is not
/// reading). Returns the bytes written; `w` is blocking again afterwards.
pub fn fill_until_stalled(w: &mut File, chunk: &[u8]) -> usize {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::io::Write;
    use std::os::fd::AsFd;
    let flags = OFlag::from_bits_truncate(fcntl(&*w, FcntlArg::F_GETFL).unwrap());
    fcntl(&*w, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
    let written = testkit::bounded("filling the relay", || {
        let mut written = 0usize;
        loop {
            match w.write(chunk) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let mut fds = [PollFd::new(w.as_fd(), PollFlags::POLLOUT)];
                    if poll(&mut fds, PollTimeout::from(200u16)).unwrap() == 0 {
                        return written;
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
    });
    fcntl(&*w, FcntlArg::F_SETFL(flags)).unwrap();
    written
}
