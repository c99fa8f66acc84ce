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
//!   through user space); into a socket whose description is blocking, with a splice request
//!   run by the reactor's io_uring worker (see `offload.rs`; one in flight per stream, the
//!   stream waits for its completion); and otherwise with `read` into the reactor's shared
//!   scratch buffer and an immediate `write`. Only what the connection does not take at once is kept, in a
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
use crate::reactor::{Ctx, KEY_STREAM_BITS};
use crate::stage::Stage;

/// Bytes a stream may move in one turn before it yields to the other relays of its reactor.
const BUDGET: usize = 1 << 20;

/// A stream that has moved this much is a bulk stream: its pipe grows to [`BULK_PIPE_SIZE`],
/// and into a blocking socket it goes through the stage and io_uring (see `offload.rs`).
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
    /// The stream's part of an offloaded request's key (see [`Stream::key`]).
    pub(crate) fn code(self) -> u64 {
        match self {
            Role::Stdin => 3,
            Role::Stdout => 1,
            Role::Stderr => 2,
        }
    }

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
    /// Splices into a blocking host socket go to the reactor's io_uring (see `offload.rs`);
    /// false once the kernel refused one (then this stream copies).
    offload: bool,
    /// A splice request of this stream is in flight: the stream waits for its completion, and
    /// is not done before it (its bytes are counted).
    in_flight: bool,
    /// The stream's own pipe between its source and a blocking socket, for offloaded splices
    /// (see `stage.rs`); made on first use, gone when the stream ends.
    stage: Option<Stage>,
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
            offload: splice && dst.is_some_and(|d| eps.is_host_socket(d)),
            in_flight: false,
            stage: None,
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

    /// Closed, with nothing in flight.
    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Done && !self.in_flight
    }

    /// The key of this stream's offloaded requests: its task id and role.
    fn key(&self, id: u64) -> u64 {
        (id << KEY_STREAM_BITS) | self.role.code()
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
            if self.in_flight {
                return Step::Blocked;
            }
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
            if self.staged() > 0 {
                if self.flush_stage(eps, ctx, id) {
                    return Step::Blocked;
                }
                continue;
            }
            if self.phase == Phase::Flushing {
                self.finish(eps, ctx, cfg, id);
                continue;
            }
            if budget == 0 {
                return Step::Yield;
            }
            // Splice holds nothing in user space: the pipe itself (or the stage) is its bounded
            // buffer.
            let splice_now = self.splice_now(eps);
            let buffered = !splice_now && !self.offload_now(ctx);
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
        if (splice_now || self.offload) && !self.grown && self.relayed >= BULK_AFTER {
            self.grown = true;
            grow_pipe(eps.fd(src));
        }
        if !splice_now && self.offload_now(ctx) {
            if let Some(pull) = self.fill_stage(eps, src, limit) {
                return pull;
            }
        }
        if let (true, Some(dst)) = (splice_now, self.dst) {
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

    /// Whether the next move goes through the stage and the reactor's io_uring: this stream
    /// goes that way, is a bulk stream, and the reactor has room for another request. Until it
    /// has moved [`BULK_AFTER`] bytes a stream copies: for the few bytes of a log line, a
    /// `read` and a `send` cost less than a splice into the stage, a request and a kernel
    /// worker's wake-up.
    fn offload_now(&self, ctx: &Ctx<'_>) -> bool {
        self.offload
            && self.relayed >= BULK_AFTER
            && !self.peer_gone
            && self.dst.is_some()
            && ctx.offload.as_deref().is_some_and(|o| o.has_room())
    }

    /// Moves up to `limit` bytes from the source into the (empty) stage, with a splice that
    /// cannot block. `None`: the stage cannot be made; the caller copies instead.
    fn fill_stage(&mut self, eps: &Endpoints, src: Slot, limit: usize) -> Option<Pull> {
        if self.stage.is_none() {
            match Stage::new() {
                Ok(stage) => self.stage = Some(stage),
                Err(e) => {
                    tracing::debug!(stream = self.role.name(), error = %e, "stdio relay: cannot make a stage pipe; copying");
                    self.offload = false;
                    return None;
                }
            }
        }
        let stage = self.stage.as_mut()?;
        Some(match stage.fill(eps.fd(src), limit) {
            Ok(0) => Pull::Eof,
            Ok(n) => {
                self.take_quota(n);
                Pull::Moved(n)
            }
            Err(Errno::EINTR) => Pull::Moved(0),
            Err(e) if would_block(e) => Pull::WouldBlock,
            Err(e) => {
                tracing::debug!(stream = self.role.name(), error = %e, "stdio relay: splice into the stage failed; copying");
                self.offload = false;
                return None;
            }
        })
    }

    /// While a request is in flight the source and the socket wake nobody: the stream can do
    /// nothing before its completion, which resumes them.
    fn quiet(&self, eps: &Endpoints, quiet: bool) {
        for slot in [self.src, self.dst].into_iter().flatten() {
            eps.quiet(slot, quiet);
        }
    }

    /// Bytes taken from the source and still in the stage.
    fn staged(&self) -> usize {
        self.stage.as_ref().map_or(0, Stage::held)
    }

    /// Hands the stage's bytes to the reactor's io_uring, to be spliced into the socket by a
    /// kernel worker that may wait for room; true if that request is now in flight. Otherwise
    /// (the peer is gone, no room for a request, the kernel refused it) the staged bytes are
    /// dropped or taken into the stream's buffer for the copy path, and false is returned.
    fn flush_stage(&mut self, eps: &mut Endpoints, ctx: &mut Ctx<'_>, id: u64) -> bool {
        let Some(dst) = self.dst.filter(|_| !self.peer_gone) else {
            self.drop_pending();
            return false;
        };
        let key = self.key(id);
        let Some(stage) = self.stage.as_mut() else {
            return false;
        };
        let submitted = match ctx.offload.as_deref_mut().filter(|o| o.has_room()) {
            Some(offload) => {
                let len = u32::try_from(stage.held()).unwrap_or(u32::MAX);
                offload.splice(key, stage.read_end(), eps.fd(dst), len)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "no room for another request",
            )),
        };
        match submitted {
            Ok(()) => {
                self.in_flight = true;
                self.quiet(eps, true);
                true
            }
            Err(e) => {
                tracing::debug!(stream = self.role.name(), error = %e, "stdio relay: io_uring splice not possible; copying");
                self.unstage();
                false
            }
        }
    }

    /// This stream stops going through the stage and io_uring: what the stage holds goes to
    /// the stream's buffer, for the copy path (no request may be in flight).
    fn unstage(&mut self) {
        self.offload = false;
        let Some(mut stage) = self.stage.take() else {
            return;
        };
        match stage.take_all() {
            Ok(bytes) => self.pending.extend_from_slice(&bytes),
            Err(e) => {
                tracing::warn!(stream = self.role.name(), error = %e, "stdio relay: cannot read back the stage; its bytes are dropped");
                self.dropped += stage.held() as u64;
            }
        }
    }

    /// The stream's request in flight completed with `result` (bytes moved, or `-errno`).
    pub(crate) fn offloaded(&mut self, result: i32, eps: &mut Endpoints) {
        self.in_flight = false;
        self.quiet(eps, false);
        if let Ok(n) = usize::try_from(result) {
            self.relayed += n as u64;
            if let Some(stage) = self.stage.as_mut() {
                stage.sent(n);
            }
        } else {
            match Errno::from_raw(-result) {
                Errno::EAGAIN | Errno::EINTR | Errno::ECANCELED => {}
                // The kernel cannot do this splice (asking again would be refused again, for
                // ever): the staged bytes go the copy path.
                e @ (Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP | Errno::EBADF) => {
                    tracing::debug!(stream = self.role.name(), error = %e, "stdio relay: io_uring splice failed; copying");
                    self.unstage();
                }
                e if self.phase != Phase::Done => self.peer_gone(eps, e),
                _ => {}
            }
        }
        if self.phase == Phase::Done {
            // Ended (a deadline) while the request was in flight: what it did not move is lost.
            let lost = self.drop_pending();
            if lost > 0 {
                tracing::warn!(
                    stream = self.role.name(),
                    dropped = lost,
                    "stdio relay: the peer did not take the last bytes in time"
                );
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

    /// Counts what the stream holds (its buffer, and its stage unless a request on it is in
    /// flight) as dropped, and lets it go.
    fn drop_pending(&mut self) -> u64 {
        let mut n = (self.pending.len() - self.sent) as u64;
        self.pending = Vec::new();
        self.sent = 0;
        if !self.in_flight {
            n += self.staged() as u64;
            self.stage = None;
        }
        self.dropped += n;
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
            // A pty whose every slave descriptor is closed has no writer left: all it holds was
            // written before the cut, and `FIONREAD` counts only the line discipline's buffer
            // (at most 4 KiB), not the output queued behind it. It gets no quota: it is read to
            // its end-of-file (`EIO`) within the deadline below, and is complete.
            Phase::Copying if self.src.is_some_and(|s| pty_hung_up(eps, s)) => {}
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
    pub(crate) fn on_timer(&mut self, eps: &mut Endpoints, ctx: &mut Ctx<'_>, id: u64) {
        if self.deadline.is_none_or(|d| d > ctx.now) {
            return;
        }
        if self.in_flight {
            // Stopped in the kernel now; its completion brings the count of what it moved.
            // Closing the descriptors meanwhile is safe: the request holds its own references.
            if let Some(offload) = ctx.offload.as_deref_mut() {
                offload.cancel(self.key(id));
            }
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
pub(crate) fn grow_pipe(fd: std::os::fd::BorrowedFd<'_>) {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    if let Err(e) = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(BULK_PIPE_SIZE)) {
        tracing::debug!(error = %e, "stdio relay: cannot grow a bulk stream's pipe; keeping its size");
    }
}

/// Whether `src` is a pty master whose slave side is closed (`POLLHUP`): what it still holds
/// is read, then it reads `EIO`.
fn pty_hung_up(eps: &Endpoints, src: Slot) -> bool {
    eps.kind(src) == FdKind::PtyMaster && peer_closed(eps.fd(src))
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
