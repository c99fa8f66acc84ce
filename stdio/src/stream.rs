//! One direction of a relay: the copy engine and the life of a stream, from copying to closed.
//!
//! ```text
//!   Copying ──(end-of-file, or cut quota used up)──▶ Flushing ──(buffer empty)──▶ ┐
//!      │                                                                            │
//!      └──(cut deadline)──▶ Done ◀──(peer EOF / timeout)── AwaitingPeer ◀─(socket: shutdown(Write))
//!                            ▲                                                      │
//!                            └──────────────(other connections: close)──────────────┘
//! ```
//!
//! - Copying moves bytes with `splice(2)` from a pipe straight into a stream socket or a pipe
//!   connection, when the connection's side cannot block (see `connection.rs`; no copy
//!   through user space), and otherwise with `read` into the reactor's shared scratch buffer and
//!   an immediate `write`. Only what the connection does not take at once is kept, in a
//!   per-stream buffer of at most `buffer_size` bytes; while it is not empty the source is not
//!   read, so a slow peer pushes back on the process through the full pipe, and memory stays
//!   bounded. An idle stream holds no buffer at all.
//! - A connection whose peer has gone (`EPIPE`, `ECONNRESET`, ...) is closed, and the source is
//!   still drained so the process never blocks on a full pipe; those bytes are counted as
//!   dropped and logged.
//! - A cut gives the stream a quota: the bytes readable at that moment (`FIONREAD`). Once they
//!   are moved, one probe read tells end-of-file (the stream was complete after all) from a
//!   writer that is still there (the stream was cut). A deadline of `peer_close_timeout` bounds
//!   the delivery of that last part to a peer that does not read.

use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{splice, SpliceFFlags};
use runtime_api::StreamReport;

use crate::config::RelayConfig;
use crate::connection::{half_close, peer_closed, readable_now, would_block, FdKind};
use crate::endpoint::{Connection, Endpoints, Slot};
use crate::reactor::Ctx;

/// Bytes a stream may move in one turn before it yields to the other relays of its reactor.
const BUDGET: usize = 1 << 20;

/// A stream that has moved this much is a bulk stream: its pipe grows to [`BULK_PIPE_SIZE`].
const BULK_AFTER: u64 = 1 << 20;

/// The pipe capacity of a bulk stream (the default `pipe-max-size`). Fewer, larger transfers
/// mean fewer wake-ups of the writer, the reactor and the reader per byte; idle and small
/// streams keep the default 64 KiB.
const BULK_PIPE_SIZE: i32 = 1 << 20;

/// Which of the process's streams this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Connection to process.
    Stdin,
    /// Process to connection.
    Stdout,
    /// Process to connection.
    Stderr,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Stdin => "stdin",
            Role::Stdout => "stdout",
            Role::Stderr => "stderr",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Copying,
    Flushing,
    AwaitingPeer,
    Done,
}

/// What a stream needs after being driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Waiting for readiness or a timer.
    Blocked,
    /// Used its budget with more to do: run again soon.
    Yield,
    /// Closed; nothing more will happen.
    Done,
}

enum Pull {
    Moved(usize),
    Eof,
    WouldBlock,
}

enum Write {
    All,
    WouldBlock,
    Gone(Errno),
}

/// One direction of a relay.
pub(crate) struct Stream {
    role: Role,
    src: Option<Slot>,
    dst: Option<Slot>,
    /// No connection was given: what the process writes is read and thrown away, not counted.
    discard: bool,
    phase: Phase,
    pending: Vec<u8>,
    sent: usize,
    quota: Option<usize>,
    peer_gone: bool,
    splice: bool,
    /// Whether the source pipe was already considered for growth.
    grown: bool,
    cut_off: bool,
    deadline: Option<Instant>,
    relayed: u64,
    dropped: u64,
}

impl Stream {
    /// A stream from `src` to `dst` (`None`: read and discard; `Some(PeerGone)`: read, and
    /// count as dropped). Splice is considered when `src` is a pipe and `dst` a stream socket
    /// or a pipe the relay reopened; each splice is made only if it cannot block (see
    /// `connection.rs`).
    pub(crate) fn new(role: Role, src: Slot, dst: Option<Connection>, eps: &Endpoints) -> Stream {
        let gone = matches!(dst, Some(Connection::PeerGone));
        let discard = dst.is_none();
        let dst = match dst {
            Some(Connection::Live(slot)) => Some(slot),
            _ => None,
        };
        let splice = role != Role::Stdin
            && eps.kind(src) == FdKind::Pipe
            && eps.is_private(src)
            && dst.is_some_and(|d| {
                eps.kind(d) == FdKind::StreamSocket
                    || (eps.kind(d) == FdKind::Pipe && eps.is_private(d))
            });
        Stream {
            role,
            src: Some(src),
            dst,
            discard,
            phase: Phase::Copying,
            pending: Vec::new(),
            sent: 0,
            quota: None,
            peer_gone: gone,
            splice,
            grown: false,
            cut_off: false,
            deadline: None,
            relayed: 0,
            dropped: 0,
        }
    }

    pub(crate) fn role(&self) -> Role {
        self.role
    }

    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Whether the stream stopped before its end-of-file because of a cut.
    pub(crate) fn was_cut(&self) -> bool {
        self.cut_off
    }

    pub(crate) fn report(&self) -> StreamReport {
        StreamReport {
            relayed: self.relayed,
            dropped: self.dropped,
        }
    }

    /// Makes all the progress possible now, within the budget.
    pub(crate) fn drive(
        &mut self,
        eps: &mut Endpoints,
        ctx: &mut Ctx<'_>,
        cfg: &RelayConfig,
        id: u64,
    ) -> Step {
        let mut budget = BUDGET;
        loop {
            match self.phase {
                Phase::Done => return Step::Done,
                Phase::AwaitingPeer => return self.await_peer(eps),
                Phase::Copying | Phase::Flushing => {}
            }
            if self.sent < self.pending.len() && !self.flush(eps) {
                return Step::Blocked;
            }
            if self.phase == Phase::Done {
                continue;
            }
            if self.phase == Phase::Flushing {
                self.finish(eps, ctx, cfg, id);
                continue;
            }
            if budget == 0 {
                return Step::Yield;
            }
            // Splice holds nothing in user space: the pipe itself is its bounded buffer.
            let splice_now = self.splice_now(eps);
            let buffered = !splice_now;
            let mut limit = if buffered {
                cfg.buffer().min(budget)
            } else {
                budget
            };
            if let Some(quota) = self.quota {
                if quota == 0 {
                    self.end_of_quota(eps);
                    continue;
                }
                limit = limit.min(quota);
            }
            match self.pull(eps, ctx, limit, splice_now) {
                Pull::Moved(n) => budget = budget.saturating_sub(n.max(1)),
                Pull::Eof => self.end_source(eps),
                Pull::WouldBlock => return Step::Blocked,
            }
        }
    }

    /// Moves up to `limit` bytes from the source.
    fn pull(
        &mut self,
        eps: &mut Endpoints,
        ctx: &mut Ctx<'_>,
        limit: usize,
        splice_now: bool,
    ) -> Pull {
        let Some(src) = self.src else {
            return Pull::Eof;
        };
        if let (true, Some(dst)) = (splice_now, self.dst) {
            if !self.grown && self.relayed >= BULK_AFTER {
                self.grown = true;
                grow_pipe(eps, src);
            }
            let flags = SpliceFFlags::SPLICE_F_NONBLOCK | SpliceFFlags::SPLICE_F_MOVE;
            return match splice(eps.fd(src), None, eps.fd(dst), None, limit, flags) {
                Ok(0) => Pull::Eof,
                Ok(n) => {
                    self.relayed += n as u64;
                    self.take_quota(n);
                    Pull::Moved(n)
                }
                Err(Errno::EINTR) => Pull::Moved(0),
                // Either the pipe is empty or the socket is full: both are watched, and the
                // next edge on either retries.
                Err(e) if would_block(e) => Pull::WouldBlock,
                Err(Errno::EINVAL) | Err(Errno::ENOSYS) => {
                    tracing::debug!(
                        stream = self.role.name(),
                        "splice unsupported here; copying"
                    );
                    self.splice = false;
                    Pull::Moved(0)
                }
                Err(e) => {
                    self.peer_gone(eps, e);
                    Pull::Moved(0)
                }
            };
        }
        if ctx.scratch.len() < limit {
            ctx.scratch.resize(limit, 0);
        }
        match eps.read(src, &mut ctx.scratch[..limit]) {
            Ok(0) => Pull::Eof,
            Ok(n) => {
                self.take_quota(n);
                self.deliver(eps, &ctx.scratch[..n]);
                Pull::Moved(n)
            }
            Err(Errno::EINTR) => Pull::Moved(0),
            Err(e) if would_block(e) => Pull::WouldBlock,
            // A pty master reads EIO once every slave descriptor is closed: end-of-file.
            Err(Errno::EIO) if eps.kind(src) == FdKind::PtyMaster => Pull::Eof,
            Err(e) => {
                tracing::warn!(stream = self.role.name(), error = %e, "stdio relay: read failed; treating it as end-of-file");
                Pull::Eof
            }
        }
    }

    /// Whether the next move may be a splice: possible for this pair, the peer still there,
    /// and the connection's side unable to block right now.
    fn splice_now(&self, eps: &Endpoints) -> bool {
        match (self.splice, self.peer_gone, self.dst) {
            (true, false, Some(dst)) => eps.splice_cannot_block(dst),
            _ => false,
        }
    }

    fn take_quota(&mut self, n: usize) {
        if let Some(q) = self.quota.as_mut() {
            *q = q.saturating_sub(n);
        }
    }

    /// Hands `data`, just read from the source, to the connection; keeps what it does not take.
    fn deliver(&mut self, eps: &mut Endpoints, data: &[u8]) {
        let Some(dst) = self.dst else {
            if !self.discard {
                self.dropped += data.len() as u64;
            }
            return;
        };
        let (written, outcome) = write_nonblocking(eps, dst, data);
        self.relayed += written as u64;
        match outcome {
            Write::All => {}
            Write::WouldBlock => {
                self.pending.extend_from_slice(&data[written..]);
                self.sent = 0;
            }
            Write::Gone(e) => {
                self.dropped += (data.len() - written) as u64;
                self.peer_gone(eps, e);
            }
        }
    }

    /// Writes the kept bytes; true once none are left (written, or dropped with the peer).
    fn flush(&mut self, eps: &mut Endpoints) -> bool {
        let Some(dst) = self.dst else {
            self.drop_pending();
            return true;
        };
        let (written, outcome) = write_nonblocking(eps, dst, &self.pending[self.sent..]);
        self.sent += written;
        self.relayed += written as u64;
        match outcome {
            Write::All => {
                // Give the memory back: a stream only holds a buffer while its peer is behind.
                self.pending = Vec::new();
                self.sent = 0;
                true
            }
            Write::WouldBlock => false,
            Write::Gone(e) => {
                self.peer_gone(eps, e);
                true
            }
        }
    }

    fn drop_pending(&mut self) -> u64 {
        let n = (self.pending.len() - self.sent) as u64;
        self.dropped += n;
        self.pending = Vec::new();
        self.sent = 0;
        n
    }

    /// The connection (for stdin: the process) stopped taking data.
    fn peer_gone(&mut self, eps: &mut Endpoints, error: Errno) {
        let lost = self.drop_pending();
        if self.role == Role::Stdin {
            tracing::debug!(error = %error, dropped = lost, "stdio relay: the process no longer reads its stdin");
            self.stop(eps);
            return;
        }
        tracing::warn!(
            stream = self.role.name(),
            error = %error,
            "stdio relay: the connection's peer went away; draining the process's output and counting it as dropped"
        );
        self.peer_gone = true;
        if let Some(dst) = self.dst.take() {
            eps.release(dst);
        }
    }

    /// The source reached end-of-file: close it, then flush and close the connection.
    fn end_source(&mut self, eps: &mut Endpoints) {
        if let Some(src) = self.src.take() {
            eps.release(src);
        }
        self.phase = Phase::Flushing;
    }

    /// The bytes readable at the cut have been moved. One probe tells whether the source is at
    /// end-of-file (the stream is complete) or a writer still holds it open (the stream is cut).
    /// A byte the probe reads was written after the cut: not delivered, not counted.
    fn end_of_quota(&mut self, eps: &mut Endpoints) {
        if let Some(src) = self.src {
            let mut probe = [0u8; 1];
            let at_eof = match eps.read(src, &mut probe) {
                Ok(0) => true,
                Err(Errno::EIO) => eps.kind(src) == FdKind::PtyMaster,
                _ => false,
            };
            self.cut_off = !at_eof;
        }
        self.end_source(eps);
    }

    /// Last byte handed over: half-close a socket and wait for its peer, close anything else.
    fn finish(&mut self, eps: &mut Endpoints, ctx: &mut Ctx<'_>, cfg: &RelayConfig, id: u64) {
        if let Some(src) = self.src.take() {
            eps.release(src);
        }
        let Some(dst) = self.dst else {
            self.phase = Phase::Done;
            return;
        };
        // Only the last writer of a socket (process-wide) half-closes it: an earlier one would
        // cut off the others' bytes (see `sharing.rs`).
        if self.role != Role::Stdin && eps.kind(dst) == FdKind::StreamSocket && eps.last_writer(dst)
        {
            match half_close(eps.fd(dst)) {
                Ok(()) => {
                    let deadline = ctx.now + cfg.peer_close_timeout;
                    self.deadline = Some(deadline);
                    ctx.wake_at(deadline, id);
                    self.phase = Phase::AwaitingPeer;
                    return;
                }
                Err(e) => {
                    tracing::debug!(stream = self.role.name(), error = %e, "stdio relay: half-close failed; closing");
                }
            }
        }
        self.dst = None;
        eps.release(dst);
        self.phase = Phase::Done;
    }

    /// After the half-close: wait for the peer's end-of-file, without reading. Whatever the
    /// peer sends stays queued: it may be stdin meant for the process (a socket shared by
    /// stdin and stdout) or data for the host's own dup. The socket is registered for
    /// `EPOLLRDHUP`, so the peer's shutdown wakes the stream; the timer bounds the wait.
    fn await_peer(&mut self, eps: &mut Endpoints) -> Step {
        let Some(dst) = self.dst else {
            self.phase = Phase::Done;
            return Step::Done;
        };
        if !peer_closed(eps.fd(dst)) {
            return Step::Blocked;
        }
        self.close_all(eps);
        Step::Done
    }

    /// Stops at once (stdin when the process exits or the relay is cut); what is kept is
    /// dropped.
    pub(crate) fn stop(&mut self, eps: &mut Endpoints) {
        if self.phase == Phase::Done {
            return;
        }
        self.drop_pending();
        self.close_all(eps);
    }

    fn close_all(&mut self, eps: &mut Endpoints) {
        if let Some(src) = self.src.take() {
            eps.release(src);
        }
        if let Some(dst) = self.dst.take() {
            eps.release(dst);
        }
        self.phase = Phase::Done;
    }

    /// The relay is being cut: move only what is readable now, within `peer_close_timeout`.
    pub(crate) fn cut(
        &mut self,
        eps: &mut Endpoints,
        ctx: &mut Ctx<'_>,
        cfg: &RelayConfig,
        id: u64,
    ) {
        match self.phase {
            Phase::Copying => {
                let readable = self.src.map_or(0, |s| readable_now(eps.fd(s)));
                self.quota = Some(self.quota.map_or(readable, |q| q.min(readable)));
            }
            Phase::Flushing => {}
            Phase::AwaitingPeer | Phase::Done => return,
        }
        let deadline = ctx.now + cfg.peer_close_timeout;
        self.deadline = Some(deadline);
        ctx.wake_at(deadline, id);
    }

    /// A deadline may have passed: stop waiting for the peer, or give up on a peer that does
    /// not take the last bytes.
    pub(crate) fn on_timer(&mut self, eps: &mut Endpoints, now: Instant) {
        if self.deadline.is_none_or(|d| d > now) {
            return;
        }
        match self.phase {
            Phase::AwaitingPeer => {
                tracing::debug!(
                    stream = self.role.name(),
                    "stdio relay: peer did not close in time; closing"
                );
                self.close_all(eps);
            }
            Phase::Copying | Phase::Flushing => {
                if self.phase == Phase::Copying {
                    self.cut_off = true;
                }
                let lost = self.drop_pending();
                if lost > 0 {
                    tracing::warn!(
                        stream = self.role.name(),
                        dropped = lost,
                        "stdio relay: the peer did not take the last bytes in time after the cut"
                    );
                }
                self.close_all(eps);
            }
            Phase::Done => {}
        }
    }
}

/// Grows the pipe of a bulk stream, as root only.
///
/// For an unprivileged user, pipe capacity counts against `fs.pipe-user-pages-soft`; once over
/// it, every new pipe of that user is created with two pages. Growing is an optimisation that
/// must not degrade other pipes, so without privilege the default size is kept.
fn grow_pipe(eps: &Endpoints, src: Slot) {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    if let Err(e) = nix::fcntl::fcntl(
        eps.fd(src),
        nix::fcntl::FcntlArg::F_SETPIPE_SZ(BULK_PIPE_SIZE),
    ) {
        tracing::debug!(error = %e, "stdio relay: cannot grow a bulk stream's pipe; keeping its size");
    }
}

/// Writes as much of `data` as `dst` takes now.
fn write_nonblocking(eps: &Endpoints, dst: Slot, data: &[u8]) -> (usize, Write) {
    let mut done = 0;
    while done < data.len() {
        match eps.write(dst, &data[done..]) {
            Ok(0) => return (done, Write::Gone(Errno::EPIPE)),
            Ok(n) => done += n,
            Err(Errno::EINTR) => {}
            Err(e) if would_block(e) => return (done, Write::WouldBlock),
            Err(e) => return (done, Write::Gone(e)),
        }
    }
    (done, Write::All)
}
