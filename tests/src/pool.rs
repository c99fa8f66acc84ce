//! Threads the suites reuse for blocking work they must bound: draining a connection, waiting
//! for a process.
//!
//! A scenario runs one reader per connection and one waiter per process, each on a thread of
//! its own so that the runner can give up after a bound (a hang is what rule 2 looks for).
//! Spawning those threads anew was the largest single cost of a simulator scenario (thread
//! creation and teardown: about an eighth of the CPU time of the rule properties). The pool
//! keeps finished threads parked and hands them the next job; a job that never returns (a
//! hang being detected) keeps its thread for good, and the pool starts another when no idle
//! one is left, so a hung job never delays another.

use std::sync::{mpsc, Mutex, OnceLock};
use std::thread;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The idle threads: each waits on its own channel for its next job.
fn idle() -> &'static Mutex<Vec<mpsc::Sender<Job>>> {
    static IDLE: OnceLock<Mutex<Vec<mpsc::Sender<Job>>>> = OnceLock::new();
    IDLE.get_or_init(|| Mutex::new(Vec::new()))
}

/// Runs `job` on a pooled thread named `name` (the name of the thread that first ran a job, for
/// a thread reused later). Returns at once; the job reports through whatever it captured.
///
/// # Panics
///
/// If no thread is idle and a new one cannot be spawned.
pub fn run(name: &str, job: impl FnOnce() + Send + 'static) {
    let mut job: Job = Box::new(job);
    loop {
        let next = idle().lock().unwrap_or_else(|e| e.into_inner()).pop();
        let Some(worker) = next else { break };
        // A worker whose thread is gone (it cannot be: workers never exit while their sender
        // is held) gives the job back.
        match worker.send(job) {
            Ok(()) => return,
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    let (tx, rx) = mpsc::channel::<Job>();
    thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut next = Some(job);
            while let Some(job) = next.take() {
                job();
                idle()
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(tx.clone());
                next = rx.recv().ok();
            }
        })
        .expect("spawning a suite thread");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn jobs_run_and_threads_are_reused() {
        let (tx, rx) = mpsc::channel();
        for i in 0..50 {
            let tx = tx.clone();
            run("pool-test", move || {
                tx.send((i, thread::current().id())).unwrap();
            });
            // Let the job finish so its thread is idle for the next one.
            let (got, _) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            assert_eq!(got, i);
            thread::sleep(Duration::from_millis(1));
        }
        let mut ids = std::collections::HashSet::new();
        for i in 0..20 {
            let tx = tx.clone();
            run("pool-test", move || {
                tx.send((i, thread::current().id())).unwrap()
            });
            ids.insert(rx.recv_timeout(Duration::from_secs(10)).unwrap().1);
            thread::sleep(Duration::from_millis(1));
        }
        // Other tests of this binary may use the pool at the same time, but sequential jobs
        // here find an idle thread almost always.
        assert!(ids.len() < 20, "every job got a new thread: {}", ids.len());
    }

    #[test]
    fn a_job_that_never_returns_does_not_block_the_next() {
        let (hold_tx, hold_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        run("pool-test", move || {
            started_tx.send(()).unwrap();
            // Blocks until the test ends (the sender is dropped then).
            let _ = hold_rx.recv();
        });
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let (tx, rx) = mpsc::channel();
        run("pool-test", move || tx.send(7).unwrap());
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 7);
        drop(hold_tx);
    }
}
