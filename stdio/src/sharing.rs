//! Connections shared between streams: which socket is which, and who half-closes it.
//!
//! A host may give one socket to several streams: stdout and stderr as two dups of it, the
//! same socket for stdin and stdout, or dups of one socket to the relays of several
//! processes. Half-closing (`shutdown(Write)`) acts on the socket itself, not on one
//! descriptor, so the first stream to end would cut off every other writer (their bytes then
//! fail with `EPIPE`). Streams are therefore counted per socket, process-wide: a socket is
//! identified by what it is — its device and inode, which for a socket name the socket itself
//! (a socket has exactly one open file description, whatever the number of dups) — and only
//! the output stream that ends last half-closes it. The others just close their descriptor.
//!
//! The count covers the relays of this process; a host that keeps writing to its own dup
//! after the last relay on that socket ended sees the half-close, as the spec asks for
//! ("after the last byte: half-close").

use std::collections::HashMap;
use std::io;
use std::os::fd::BorrowedFd;
use std::sync::{Mutex, OnceLock};

use nix::sys::stat::fstat;

/// What a socket is: `(st_dev, st_ino)`.
type Identity = (u64, u64);

fn writers() -> &'static Mutex<HashMap<Identity, usize>> {
    static WRITERS: OnceLock<Mutex<HashMap<Identity, usize>>> = OnceLock::new();
    WRITERS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// One output stream's share of a socket; [`release`](Self::release) once the stream ends.
///
/// The descriptor the stream holds keeps the socket (and so its inode number) alive while the
/// claim exists, so an identity is never reused under a live claim.
#[derive(Debug)]
pub(crate) struct WriterClaim {
    id: Identity,
    released: bool,
}

impl WriterClaim {
    /// Counts one more output stream writing to the socket `fd`.
    pub(crate) fn new(fd: BorrowedFd<'_>) -> io::Result<WriterClaim> {
        let st = fstat(fd)?;
        let id = (st.st_dev, st.st_ino);
        *writers()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id)
            .or_insert(0) += 1;
        Ok(WriterClaim {
            id,
            released: false,
        })
    }

    /// The stream is done writing; true if it was the last one on this socket, i.e. the one
    /// that must half-close it.
    pub(crate) fn release(&mut self) -> bool {
        if self.released {
            return false;
        }
        self.released = true;
        let mut map = writers().lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(&self.id) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                map.remove(&self.id);
                true
            }
            None => true,
        }
    }
}

impl Drop for WriterClaim {
    fn drop(&mut self) {
        self.release();
    }
}
