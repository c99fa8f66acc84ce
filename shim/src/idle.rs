//! What the shim does once it has gone quiet after a burst of work.
//!
//! One shim runs per container, for as long as the container runs, and after `Start` it mostly
//! waits. Some things are worth keeping during a burst (create, start, execs) and only cost
//! while the shim waits: the connection that carries events to containerd, the code and heap
//! pages of the burst (see [`memory`](crate::memory)). [`Idle::poke`] marks activity; once
//! none has come for the idle delay, the registered tasks run, in order, on the shim's
//! `idle` thread. A burst of pokes runs them once, after the last.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What runs when the shim goes quiet.
pub type Task = Box<dyn Fn() + Send + Sync>;

/// How long the shim must go without another poke before the tasks run: long enough for a
/// start's answer, its events and the threads it started to have run (a few milliseconds),
/// short enough that a running container's shim is small almost at once.
pub const IDLE_AFTER: Duration = Duration::from_millis(300);

/// The idle tasks and the deadline of their next run.
pub struct Idle {
    after: Duration,
    deadline: Mutex<Option<Instant>>,
    wake: Condvar,
    tasks: Vec<Task>,
    /// Whether the `idle` thread runs; if it could not be started, a poke runs the tasks.
    threaded: AtomicBool,
}

impl Idle {
    /// Runs `tasks` once no [`poke`](Idle::poke) has come for `after`, every time the shim
    /// goes quiet again. Starts the `idle` thread, which sleeps until the first poke and then
    /// lives (with the tasks) as long as the process; if it cannot be started, each poke runs
    /// the tasks at once on the caller's thread.
    pub fn start(after: Duration, tasks: Vec<Task>) -> Arc<Idle> {
        let idle = Arc::new(Idle {
            after,
            deadline: Mutex::new(None),
            wake: Condvar::new(),
            tasks,
            threaded: AtomicBool::new(true),
        });
        let ours = idle.clone();
        let spawned = std::thread::Builder::new()
            .name("idle".into())
            .spawn(move || loop {
                ours.wait_until_quiet();
                ours.run_tasks();
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "no idle thread: idle tasks run at once on each poke");
            idle.threaded.store(false, Ordering::Relaxed);
        }
        idle
    }

    /// Marks activity: the tasks run once the shim has been quiet for the idle delay from now.
    pub fn poke(&self) {
        if !self.threaded.load(Ordering::Relaxed) {
            self.run_tasks();
            return;
        }
        let mut deadline = self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        *deadline = Some(Instant::now() + self.after);
        self.wake.notify_one();
    }

    /// Waits for a deadline and lets it pass without a newer one.
    fn wait_until_quiet(&self) {
        let mut deadline = self.deadline.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let now = Instant::now();
            match *deadline {
                Some(due) if now >= due => {
                    *deadline = None;
                    return;
                }
                Some(due) => {
                    deadline = self
                        .wake
                        .wait_timeout(deadline, due - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                None => {
                    deadline = self
                        .wake
                        .wait(deadline)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }

    fn run_tasks(&self) {
        for task in &self.tasks {
            task();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;

    #[test]
    fn pokes_run_the_tasks_in_order_once_quiet_and_again_after_the_next_poke() {
        let runs = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        let counted = runs.clone();
        let order = Arc::new(Mutex::new(Vec::new()));
        let (first, second) = (order.clone(), order.clone());
        let idle = Idle::start(
            Duration::from_millis(500),
            vec![
                Box::new(move || first.lock().unwrap().push("first")),
                Box::new(move || second.lock().unwrap().push("second")),
                Box::new(move || {
                    let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                    let _ = tx.send(n);
                }),
            ],
        );
        for _ in 0..5 {
            idle.poke();
        }
        let bound = Duration::from_secs(30);
        assert_eq!(rx.recv_timeout(bound), Ok(1));
        idle.poke();
        assert_eq!(rx.recv_timeout(bound), Ok(2));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(
            *order.lock().unwrap(),
            ["first", "second", "first", "second"]
        );
    }
}
