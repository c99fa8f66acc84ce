//! Splicing into a socket whose description is blocking, without blocking a reactor thread:
//! the splice runs in one of io_uring's kernel workers and can be cancelled at any moment.
//!
//! # Why
//! `splice(2)` from a pipe into a stream socket moves page references instead of copying, but
//! it blocks on a full socket whose *description* is blocking, whatever `SPLICE_F_NONBLOCK`
//! says, and the relay may not make the host's description nonblocking (see `connection.rs`).
//! Copying through user space with `send(MSG_DONTWAIT)` instead costs two more copies of every
//! byte, about a third of the throughput of a writer straight into the socket on two cores.
//! An io_uring splice request is executed by one of the ring's `iou-wrk` worker threads (the
//! kernel always runs splice requests there): if the socket is full, that worker waits, and
//! nobody else does. A cancel request interrupts the wait (the kernel notifies its own worker;
//! no signal handler of the host is involved) and the completion says how many bytes were
//! moved, so the relay's counts stay exact.
//!
//! # How
//! - Each reactor makes one ring when it starts; its completions are announced through an
//!   eventfd in the reactor's epoll set. Where io_uring is not available (a kernel older than
//!   5.19, `kernel.io_uring_disabled`, a seccomp filter), there is no ring and such streams copy
//!   through user space, as they always could.
//! - A request names its pipe and socket as the ring's *fixed files*, registered just before
//!   the request and cleared at its completion. The ring holds its own references to them, so
//!   the relay may close its descriptors while a request is in flight and the request can never
//!   act on a descriptor number the host has reused meanwhile.
//! - Only bulk streams (more than 1 MiB moved) go this way; a few bytes cost less copied.
//! - A stream has at most one request in flight, for at most what its pipe holds at that
//!   moment, so the worker never waits on the pipe, only on the socket.
//! - A reactor has at most [`OFFLOAD_WORKERS`] requests in flight, and its ring at most as many
//!   kernel workers (`IORING_REGISTER_IOWQ_MAX_WORKERS`): a request waiting for a peer that does
//!   not read keeps its worker, and a request must never queue behind it. Beyond that, streams
//!   copy through user space. So the threads stay a few, whatever the number of relays
//!   (the spec: no thread per stream); a ring keeps one idle worker after its first use.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use io_uring::{opcode, types, IoUring};
use nix::sys::eventfd::{EfdFlags, EventFd};

/// The most splice requests one reactor keeps in flight, and the most kernel workers (threads
/// named `iou-wrk-*`) its ring may run: at most `REACTOR_THREADS * OFFLOAD_WORKERS` threads
/// besides the reactors, whatever the number of relays.
pub const OFFLOAD_WORKERS: usize = 4;
const MAX_IN_FLIGHT: usize = OFFLOAD_WORKERS;

/// Submission queue entries: a splice per stream in flight plus their cancellations.
const RING_ENTRIES: u32 = 2 * MAX_IN_FLIGHT as u32;

/// `user_data` of cancel requests, whose own completions carry nothing to act on.
const CANCEL_KEY: u64 = u64::MAX;

/// A reactor's io_uring: splice requests in flight and the fixed-file slots they use.
pub(crate) struct Offload {
    ring: IoUring,
    done: EventFd,
    /// Request key -> the first of its two fixed-file slots.
    in_flight: HashMap<u64, u32>,
    /// Free pairs of fixed-file slots (by first slot).
    free: Vec<u32>,
}

impl Offload {
    /// A ring with its completion eventfd, `2 * MAX_IN_FLIGHT` empty fixed-file slots and at
    /// most [`OFFLOAD_WORKERS`] kernel workers.
    pub(crate) fn new() -> io::Result<Offload> {
        let ring = IoUring::new(RING_ENTRIES)?;
        let done = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        let submitter = ring.submitter();
        submitter.register_files_sparse(2 * MAX_IN_FLIGHT as u32)?;
        // [bounded, unbounded] workers; splices on pipes and sockets are unbounded work, and 0
        // leaves the other limit as it is.
        submitter.register_iowq_max_workers(&mut [0, OFFLOAD_WORKERS as u32])?;
        submitter.register_eventfd(done.as_fd().as_raw_fd())?;
        Ok(Offload {
            ring,
            done,
            in_flight: HashMap::new(),
            free: (0..MAX_IN_FLIGHT as u32).rev().map(|i| 2 * i).collect(),
        })
    }

    /// The eventfd that becomes readable when requests complete.
    pub(crate) fn completion_fd(&self) -> BorrowedFd<'_> {
        self.done.as_fd()
    }

    /// Whether another request may be put in flight.
    pub(crate) fn has_room(&self) -> bool {
        !self.free.is_empty()
    }

    /// Starts `splice(src -> dst, len)` under `key` (unique among requests in flight). On
    /// error nothing is in flight.
    pub(crate) fn splice(
        &mut self,
        key: u64,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        len: u32,
    ) -> io::Result<()> {
        debug_assert!(key != CANCEL_KEY && !self.in_flight.contains_key(&key));
        let Some(slot) = self.free.pop() else {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "no room for another request",
            ));
        };
        let submitter = self.ring.submitter();
        if let Err(e) = submitter.register_files_update(slot, &[src.as_raw_fd(), dst.as_raw_fd()]) {
            self.free.push(slot);
            return Err(e);
        }
        let sqe = opcode::Splice::new(types::Fixed(slot), -1, types::Fixed(slot + 1), -1, len)
            .flags(nix::libc::SPLICE_F_MOVE)
            .build()
            .user_data(key);
        if let Err(e) = self.push(&sqe) {
            self.clear(slot);
            return Err(e);
        }
        self.in_flight.insert(key, slot);
        Ok(())
    }

    /// Asks the kernel to stop the request `key` now; its completion follows (with the bytes it
    /// moved before, or `ECANCELED`). Nothing happens if it has already completed.
    pub(crate) fn cancel(&mut self, key: u64) {
        if !self.in_flight.contains_key(&key) {
            return;
        }
        let sqe = opcode::AsyncCancel::new(key).build().user_data(CANCEL_KEY);
        if let Err(e) = self.push(&sqe) {
            tracing::warn!(error = %e, "stdio relay: cannot cancel a splice in flight; it ends when its peer reads or goes");
        }
    }

    /// The requests that completed since the last call: `(key, result)`, where a result is a
    /// byte count or a negative errno. Their fixed-file slots are cleared.
    pub(crate) fn completions(&mut self) -> Vec<(u64, i32)> {
        // Reset the eventfd first: a completion after this read signals it again.
        let _ = self.done.read();
        let finished: Vec<(u64, i32)> = self
            .ring
            .completion()
            .map(|cqe| (cqe.user_data(), cqe.result()))
            .filter(|(key, _)| *key != CANCEL_KEY)
            .collect();
        for (key, _) in &finished {
            if let Some(slot) = self.in_flight.remove(key) {
                self.clear(slot);
            }
        }
        finished
    }

    fn push(&mut self, sqe: &io_uring::squeue::Entry) -> io::Result<()> {
        // SAFETY: the entry references no user memory (a splice between fixed files, or a
        // cancel by key), so nothing it points to can be freed before the kernel reads it.
        if unsafe { self.ring.submission().push(sqe) }.is_err() {
            // Full: hand the queued entries to the kernel, then there is room.
            self.ring.submit()?;
            // SAFETY: as above.
            unsafe { self.ring.submission().push(sqe) }
                .map_err(|_| io::Error::other("io_uring submission queue full"))?;
        }
        self.ring.submit()?;
        Ok(())
    }

    /// Empties a pair of fixed-file slots (the ring drops its references) and frees it.
    fn clear(&mut self, slot: u32) {
        match self.ring.submitter().register_files_update(slot, &[-1, -1]) {
            Ok(_) => self.free.push(slot),
            // Keeping the slot out of use is safe; reusing one that may still hold a file is not.
            Err(e) => {
                tracing::warn!(error = %e, slot, "stdio relay: cannot clear io_uring fixed files; slot retired")
            }
        }
    }
}
