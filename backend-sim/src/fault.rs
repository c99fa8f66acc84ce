//! Fault injection: the misbehaving peers the simulator can put between a relay and its
//! connections. Which fault fires is decided by the run's RNG (see
//! [`Faults`](crate::config::Faults) for each fault's effect); this module holds the peers
//! themselves.
//!
//! A peer fault interposes a socket pair: the relay writes to one end, and a small thread
//! forwards to the caller's real connection from the other, misbehaving as told. The thread
//! only moves bytes; it makes no decision, so the run stays replayable.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// How an interposed output peer misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerFault {
    /// Forwards the first `after` bytes, then closes both sides (the peer went away).
    Disconnect {
        /// Bytes forwarded before disconnecting.
        after: usize,
    },
    /// Forwards at most 4 KiB per real millisecond.
    Slow,
}

/// Bytes the slow peer forwards per millisecond.
pub const SLOW_PEER_CHUNK: usize = 4096;

/// Puts a misbehaving peer between a relay and `connection`; returns the fd the relay must use
/// as the connection instead.
pub fn interpose_output(connection: OwnedFd, fault: PeerFault) -> std::io::Result<OwnedFd> {
    let (relay_side, peer_side) = UnixStream::pair()?;
    let mut out = std::fs::File::from(connection);
    std::thread::Builder::new()
        .name("sim-peer".into())
        .spawn(move || {
            let mut peer_side = peer_side;
            let mut buf = vec![0u8; SLOW_PEER_CHUNK];
            let mut forwarded = 0usize;
            loop {
                let limit = match fault {
                    PeerFault::Disconnect { after } => {
                        if forwarded >= after {
                            break;
                        }
                        (after - forwarded).min(buf.len())
                    }
                    PeerFault::Slow => buf.len(),
                };
                let n = match peer_side.read(&mut buf[..limit]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if out.write_all(&buf[..n]).is_err() {
                    break;
                }
                forwarded += n;
                if fault == PeerFault::Slow {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            // Dropping both ends: the caller sees end-of-file, the relay sees its peer gone.
        })?;
    Ok(OwnedFd::from(relay_side))
}

/// Stdin that never reaches end-of-file while the process lives: returns the fd the relay
/// must use as the stdin connection, and a write end the simulator keeps open until the
/// process exits. The caller's `connection` (if any) is still copied in.
pub fn stdin_never_closed(connection: Option<OwnedFd>) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let hold = write.try_clone()?;
    if let Some(conn) = connection {
        let mut input = std::fs::File::from(conn);
        let mut write = std::fs::File::from(write);
        std::thread::Builder::new()
            .name("sim-stdin".into())
            .spawn(move || {
                let _ = std::io::copy(&mut input, &mut write);
            })?;
    }
    Ok((read, hold))
}
