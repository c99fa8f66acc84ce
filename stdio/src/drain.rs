//! The drain rules of one relay (rule 2 of the spec), as a state machine run by a reactor.
//!
//! 1. While the process runs, every stream copies as fast as both sides allow.
//! 2. At the process's exit ([`RelayTask::process_exited`]) stdin stops; output streams go on
//!    (nothing in flight is cancelled), now against the drain grace.
//! 3. At end-of-file an output stream hands over its last bytes, half-closes a socket and waits
//!    at most `peer_close_timeout` for the peer's end-of-file, then closes.
//! 4. When the grace expires, or on [`RelayTask::cut`], each stream still copying delivers what
//!    is readable at that moment and stops; the report says `Cut` if any stream really had a
//!    writer left (a stream that turns out to be at end-of-file is complete).
//! 5. When every stream is closed, the report is published and the task is dropped.

use std::sync::Arc;
use std::time::Instant;

use runtime_api::{RelayEnd, RelayReport};

use crate::config::RelayConfig;
use crate::endpoint::Endpoints;
use crate::handle::Outcome;
use crate::reactor::{Ctx, KEY_STREAM_BITS};
use crate::stream::{Role, Step, Stream};

/// What a task needs after being driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Waiting for readiness or a timer.
    Blocked,
    /// More work right away.
    Yield,
    /// Every stream is closed and the report published: drop the task.
    Done,
}

/// One relay: its descriptors, its streams and where its report goes.
pub(crate) struct RelayTask {
    id: u64,
    endpoints: Endpoints,
    stdin: Option<Stream>,
    outputs: Vec<Stream>,
    config: RelayConfig,
    /// A pty relay: when the pty reads end-of-file, stdin has nowhere to go either.
    tty: bool,
    exited: bool,
    grace_deadline: Option<Instant>,
    cut: bool,
    outcome: Arc<Outcome>,
    published: bool,
}

impl RelayTask {
    pub(crate) fn new(
        id: u64,
        endpoints: Endpoints,
        stdin: Option<Stream>,
        outputs: Vec<Stream>,
        config: RelayConfig,
        tty: bool,
        outcome: Arc<Outcome>,
    ) -> RelayTask {
        RelayTask {
            id,
            endpoints,
            stdin,
            outputs,
            config,
            tty,
            exited: false,
            grace_deadline: None,
            cut: false,
            outcome,
            published: false,
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The reactor took the task: the descriptors held until then get their events.
    pub(crate) fn started(&mut self) {
        self.endpoints.resume_held();
    }

    /// The process exited: stdin stops, and the output streams get the drain grace.
    pub(crate) fn process_exited(&mut self, ctx: &mut Ctx<'_>) {
        if self.exited {
            return;
        }
        self.exited = true;
        if let Some(stdin) = self.stdin.as_mut() {
            stdin.stop(&mut self.endpoints);
        }
        if let Some(grace) = self.config.drain_grace {
            let deadline = ctx.now + grace;
            self.grace_deadline = Some(deadline);
            ctx.wake_at(deadline, self.id);
        }
        tracing::debug!(relay = self.id, grace = ?self.config.drain_grace, "stdio relay: process exited; draining");
    }

    /// End now: take in what is there (so a stream already at end-of-file counts as complete),
    /// then give each stream still copying a quota of what is readable at this moment.
    pub(crate) fn cut(&mut self, ctx: &mut Ctx<'_>) {
        if self.cut {
            return;
        }
        self.cut = true;
        let _ = self.drive(ctx);
        if let Some(stdin) = self.stdin.as_mut() {
            stdin.stop(&mut self.endpoints);
        }
        for stream in &mut self.outputs {
            stream.cut(&mut self.endpoints, ctx, &self.config, self.id);
        }
    }

    /// Timers: the drain grace, and the streams' own deadlines.
    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>) {
        if !self.cut && self.grace_deadline.is_some_and(|d| d <= ctx.now) {
            tracing::debug!(relay = self.id, "stdio relay: drain grace expired");
            self.cut(ctx);
        }
        for stream in &mut self.outputs {
            stream.on_timer(&mut self.endpoints, ctx, self.id);
        }
    }

    /// The io_uring request of one of this task's streams (named by `key`) completed.
    pub(crate) fn offloaded(&mut self, key: u64, result: i32) {
        let code = key & ((1 << KEY_STREAM_BITS) - 1);
        if let Some(stream) = self.outputs.iter_mut().find(|s| s.role().code() == code) {
            stream.offloaded(result, &mut self.endpoints);
        }
    }

    /// Runs every stream as far as it can go now.
    pub(crate) fn drive(&mut self, ctx: &mut Ctx<'_>) -> Progress {
        let mut again = false;
        for stream in &mut self.outputs {
            again |= stream.drive(&mut self.endpoints, ctx, &self.config, self.id) == Step::Yield;
        }
        if let Some(stdin) = self.stdin.as_mut() {
            if self.tty && self.outputs.iter().all(Stream::is_done) {
                stdin.stop(&mut self.endpoints);
            }
            again |= stdin.drive(&mut self.endpoints, ctx, &self.config, self.id) == Step::Yield;
        }
        let all_done = self.outputs.iter().all(Stream::is_done)
            && self.stdin.as_ref().is_none_or(Stream::is_done);
        if all_done {
            Progress::Done
        } else if again {
            Progress::Yield
        } else {
            Progress::Blocked
        }
    }

    /// Every stream is closed: publish the report.
    pub(crate) fn finish(mut self: Box<Self>) {
        self.publish();
    }

    fn report(&self) -> RelayReport {
        let end = if self.outputs.iter().any(Stream::was_cut) {
            RelayEnd::Cut {
                grace: self.config.reported_grace(),
            }
        } else {
            RelayEnd::Complete
        };
        let of = |role: Role| {
            self.outputs
                .iter()
                .find(|s| s.role() == role)
                .map(Stream::report)
                .unwrap_or_default()
        };
        RelayReport {
            end,
            stdin: self.stdin.as_ref().map(Stream::report).unwrap_or_default(),
            stdout: of(Role::Stdout),
            stderr: of(Role::Stderr),
        }
    }

    fn publish(&mut self) {
        if self.published {
            return;
        }
        self.published = true;
        // Connections are closed before anyone hears that the relay ended.
        self.endpoints.close_all();
        let report = self.report();
        tracing::debug!(relay = self.id, ?report, "stdio relay: ended");
        self.outcome.publish(report);
    }
}

impl Drop for RelayTask {
    /// A task dropped without finishing (the reactor thread unwinding) still releases its
    /// waiters, with what it counted so far.
    fn drop(&mut self) {
        self.publish();
    }
}
