//! A process's exit as the task API reports it: status and time, set once, waited for by any
//! number of `Wait` calls.

use std::sync::{Condvar, Mutex};

use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use runtime_api::ExitStatus;

/// How and when a process exited.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// The runtime's exit status.
    pub status: ExitStatus,
    /// When the shim learnt of it (after the relay drained).
    pub at: Timestamp,
}

impl Exit {
    /// The exit code containerd reports: the code, or 128 + signal.
    pub fn code(&self) -> u32 {
        self.status.code() as u32
    }
}

/// A once-set exit, with waiters.
#[derive(Default)]
pub struct ExitCell {
    exit: Mutex<Option<Exit>>,
    cond: Condvar,
}

impl ExitCell {
    /// Records the exit (the first call wins) and wakes every waiter.
    pub fn set(&self, status: ExitStatus) -> Exit {
        let mut guard = self.exit.lock().unwrap_or_else(|p| p.into_inner());
        let exit = guard.get_or_insert_with(|| Exit {
            status,
            at: containerd_shim::util::timestamp().unwrap_or_default(),
        });
        let exit = exit.clone();
        self.cond.notify_all();
        exit
    }

    /// The exit, if it happened.
    pub fn get(&self) -> Option<Exit> {
        self.exit.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Blocks until the exit is recorded.
    pub fn wait(&self) -> Exit {
        let mut guard = self.exit.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(exit) = guard.as_ref() {
                return exit.clone();
            }
            guard = self.cond.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// A count of exec exits not yet published; init's exit is published when it is zero, so
/// that containerd sees the exits of execs before the init's.
#[derive(Default)]
pub struct PendingExits {
    count: Mutex<usize>,
    cond: Condvar,
}

impl PendingExits {
    /// One more exec whose exit is still to be published.
    pub fn add(&self) {
        *self.count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    }

    /// An exec's exit was published (or the exec never started).
    pub fn done(&self) {
        let mut c = self.count.lock().unwrap_or_else(|p| p.into_inner());
        *c = c.saturating_sub(1);
        self.cond.notify_all();
    }

    /// Blocks until every exec exit counted so far has been published.
    pub fn wait_zero(&self) {
        let mut c = self.count.lock().unwrap_or_else(|p| p.into_inner());
        while *c > 0 {
            c = self.cond.wait(c).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn first_exit_wins_and_waiters_wake() {
        let cell = Arc::new(ExitCell::default());
        let c = cell.clone();
        let waiter = std::thread::spawn(move || c.wait());
        cell.set(ExitStatus::Exited(3));
        cell.set(ExitStatus::Exited(4));
        assert_eq!(waiter.join().unwrap().code(), 3);
        assert_eq!(cell.get().unwrap().status, ExitStatus::Exited(3));
    }

    #[test]
    fn pending_exits_block_until_done() {
        let p = Arc::new(PendingExits::default());
        p.add();
        let q = p.clone();
        let t = std::thread::spawn(move || q.wait_zero());
        p.done();
        t.join().unwrap();
    }
}
