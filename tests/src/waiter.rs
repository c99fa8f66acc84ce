//! Bounded `wait`s: the runner must give up on a `wait` that does not return (a hang is what
//! rule 2 looks for), so each `wait` runs on another thread. Those threads are kept and reused
//! (a thread creation and teardown per process was a large share of a simulated scenario's
//! CPU time); a `wait` that never returns keeps its thread for good, and a new one is started
//! whenever no idle thread is left, so a hung `wait` never delays another.
//!
//! A runner that is itself on a thread of its own can instead wait inline, through a
//! [`WaitWatch`] that another thread reads to bound it (see `crate::worker`): no hand-over
//! to a waiter and back for each `wait`.

use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use runtime_api::{ErrorKind, ExitStatus, Process};

/// What a waiter reports: the process's `wait` result.
pub type Outcome = Result<ExitStatus, ErrorKind>;

/// `wait`s run inline on their caller's thread, watched: another thread can ask whether the
/// one in progress has gone on for too long (and then give up on the caller's thread).
#[derive(Debug, Default)]
pub struct WaitWatch {
    /// The `wait` in progress: since when, and whose.
    current: Mutex<Option<(Instant, String)>>,
}

impl WaitWatch {
    /// Calls `proc.wait()` here, marked as in progress for [`overdue`](Self::overdue).
    pub fn wait(&self, proc: &dyn Process, whose: &str) -> Outcome {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), whose.to_string()));
        let outcome = proc.wait().map_err(|e| e.kind());
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
        outcome
    }

    /// Whose `wait` has been in progress for longer than `bound`, if one has.
    pub fn overdue(&self, bound: Duration) -> Option<String> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .filter(|(since, _)| since.elapsed() > bound)
            .map(|(_, whose)| whose.clone())
    }
}

/// One `wait` to run, and where its result goes.
struct Job {
    proc: Arc<dyn Process>,
    done: mpsc::SyncSender<Outcome>,
}

/// Idle waiter threads, each waiting on its own channel for its next job.
static IDLE: Mutex<Vec<mpsc::Sender<Job>>> = Mutex::new(Vec::new());

fn idle() -> std::sync::MutexGuard<'static, Vec<mpsc::Sender<Job>>> {
    IDLE.lock().unwrap_or_else(|p| p.into_inner())
}

fn serve(first: Job, jobs: mpsc::Receiver<Job>, me: mpsc::Sender<Job>) {
    let mut next = Some(first);
    while let Some(Job { proc, done }) = next.take() {
        let outcome = proc.wait().map_err(|e| e.kind());
        // Nothing of the job may outlive it: the process handle is released before the result
        // is sent and before this thread waits for another job.
        drop(proc);
        let _ = done.send(outcome);
        drop(done);
        idle().push(me.clone());
        next = jobs.recv().ok();
    }
}

/// Calls `proc.wait()` on a waiter thread and waits at most `bound` for it; `None` if it had
/// not returned by then (the thread is left to it).
///
/// # Panics
///
/// If no waiter is idle and a new thread cannot be spawned.
pub fn wait_bounded(proc: Arc<dyn Process>, bound: Duration) -> Option<Outcome> {
    let (tx, rx) = mpsc::sync_channel(1);
    let mut job = Job { proc, done: tx };
    loop {
        let Some(worker) = idle().pop() else { break };
        match worker.send(job) {
            Ok(()) => return rx.recv_timeout(bound).ok(),
            // Its thread is gone (it cannot be: a waiter never exits while it is listed).
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    let (jobs_tx, jobs_rx) = mpsc::channel();
    thread::Builder::new()
        .name("suite-wait".into())
        .spawn(move || serve(job, jobs_rx, jobs_tx))
        .expect("spawning a wait thread");
    rx.recv_timeout(bound).ok()
}
