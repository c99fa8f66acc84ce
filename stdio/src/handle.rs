//! The caller's side of a relay: commands to its reactor, and the report once it has ended.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use runtime_api::RelayReport;

use crate::drain::RelayTask;
use crate::reactor::{Command, Reactor};

/// Where a relay's report is published, once, and waited for by any number of threads.
#[derive(Default)]
pub(crate) struct Outcome {
    report: Mutex<Option<RelayReport>>,
    ended: Condvar,
}

impl Outcome {
    pub(crate) fn publish(&self, report: RelayReport) {
        let mut slot = self.report.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(report);
        }
        self.ended.notify_all();
    }

    pub(crate) fn get(&self) -> Option<RelayReport> {
        *self.report.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn wait(&self) -> RelayReport {
        let mut slot = self.report.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(report) = *slot {
                return report;
            }
            slot = self.ended.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// A running relay, as seen from the threads that created it.
///
/// Dropping it without waiting does not leak the relay: it is told that the process exited (or,
/// without a drain grace, cut), so it ends on its own within its bounds.
pub(crate) struct RelayHandle {
    reactor: &'static Reactor,
    id: u64,
    outcome: Arc<Outcome>,
    exited: AtomicBool,
    cut: AtomicBool,
    has_grace: bool,
}

impl RelayHandle {
    /// Hands `task` to `reactor` (which already holds its descriptors' registrations).
    /// `wake`: wake the reactor for it now; without, the reactor takes it at its next turn,
    /// which the caller must know comes before the task has anything to do (see
    /// [`Reactor::send_lazy`]).
    pub(crate) fn start(
        reactor: &'static Reactor,
        task: RelayTask,
        outcome: Arc<Outcome>,
        has_grace: bool,
        wake: bool,
    ) -> RelayHandle {
        let id = task.id();
        let cmd = Command::Start(Box::new(task));
        if wake {
            reactor.send(cmd);
        } else {
            reactor.send_lazy(cmd);
        }
        RelayHandle {
            reactor,
            id,
            outcome,
            exited: AtomicBool::new(false),
            cut: AtomicBool::new(false),
            has_grace,
        }
    }

    pub(crate) fn process_exited(&self) {
        if !self.exited.swap(true, Ordering::AcqRel) && self.outcome.get().is_none() {
            self.reactor.send(Command::ProcessExited(self.id));
        }
    }

    pub(crate) fn cut(&self) {
        if !self.cut.swap(true, Ordering::AcqRel) && self.outcome.get().is_none() {
            self.reactor.send(Command::Cut(self.id));
        }
    }

    pub(crate) fn wait(&self) -> RelayReport {
        self.outcome.wait()
    }

    pub(crate) fn try_report(&self) -> Option<RelayReport> {
        self.outcome.get()
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        if self.outcome.get().is_some() {
            return;
        }
        if self.has_grace {
            self.process_exited();
        } else {
            self.cut();
        }
    }
}
