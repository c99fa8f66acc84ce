//! Simulated scenarios on a worker thread, whose `wait`s run inline.
//!
//! The runner must give up on a `wait` that does not return (a hang is what rule 2 looks for).
//! Handing every `wait` to a waiter thread and back ([`crate::waiter`]) costs two thread
//! wake-ups per `wait`, several per scenario, and on a simulated scenario, which takes about a
//! millisecond, those hand-overs were a large share of the wall time. Here the whole scenario
//! runs on a worker thread that waits inline ([`WaitWatch`]); the caller hands it over once
//! and waits for the result, looking at the worker's `wait` in progress only when the scenario
//! takes longer than [`CHECK_EVERY`]. A `wait` past its bound makes the caller give the worker
//! up (it keeps its thread for good, as a hung waiter does, and its bundle directory with it)
//! and say whose `wait` it was; a new worker serves the next scenario. Idle workers belong to
//! the calling thread and end with it.

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::properties::SimRun;
use crate::scenario::Scenario;
use crate::waiter::WaitWatch;

/// How often a caller whose scenario is still running looks at the worker's `wait`.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What a worker runs: `run(scenario, mutations, keep_trace, watch)`, the caller's way of
/// running one scenario with inline waits watched through `watch`. Besides the run, it
/// returns what is left of it to drop (the simulated runtime): the worker drops that after
/// handing the run over, while the caller judges it.
pub type RunFn = fn(&Scenario, &Value, bool, Arc<WaitWatch>) -> (SimRun, Leftovers);

/// What a run leaves for its worker to drop once the run was handed over.
pub type Leftovers = Box<dyn Send>;

/// One scenario to run, how, and where its run goes.
struct Job {
    run: RunFn,
    scenario: Scenario,
    mutations: Value,
    keep_trace: bool,
    done: mpsc::SyncSender<SimRun>,
}

/// An idle worker: its job channel, the watch of its waits, and its thread.
struct Worker {
    jobs: mpsc::Sender<Job>,
    watch: Arc<WaitWatch>,
    thread: thread::JoinHandle<()>,
}

/// The idle workers of one calling thread. When that thread ends, its workers are told to end
/// and joined, so that what they keep for their runs (a bundle directory on `/dev/shm`, which
/// a thread removes as it ends) is gone before the caller is.
#[derive(Default)]
struct Pool(Vec<Worker>);

impl Drop for Pool {
    fn drop(&mut self) {
        for worker in self.0.drain(..) {
            drop(worker.jobs);
            let _ = worker.thread.join();
        }
    }
}

thread_local! {
    static IDLE: RefCell<Pool> = RefCell::new(Pool::default());
}

fn spawn() -> Worker {
    let (jobs, rx) = mpsc::channel::<Job>();
    let watch = Arc::new(WaitWatch::default());
    let theirs = watch.clone();
    let thread = thread::Builder::new()
        .name("suite-scenario".into())
        .spawn(move || {
            for job in rx {
                let (done, leftovers) = (job.run)(
                    &job.scenario,
                    &job.mutations,
                    job.keep_trace,
                    theirs.clone(),
                );
                let sent = job.done.send(done);
                // Dropped before the next job is taken, while the caller judges this run.
                drop(leftovers);
                if sent.is_err() {
                    return;
                }
            }
        })
        .expect("spawning a scenario worker");
    Worker {
        jobs,
        watch,
        thread,
    }
}

/// Runs `scenario` on a worker (`run` with inline waits) and returns its run; or, if one of
/// its `wait`s has not returned after `bound`, whose `wait` that is (the worker is given up).
///
/// # Panics
///
/// If the run panicked on the worker (its message is printed there), or no worker thread can
/// be started.
pub fn run_scenario(
    run: RunFn,
    scenario: &Scenario,
    mutations: &Value,
    keep_trace: bool,
    bound: Duration,
) -> Result<SimRun, String> {
    let worker = IDLE
        .with(|idle| idle.borrow_mut().0.pop())
        .unwrap_or_else(spawn);
    let (done, result) = mpsc::sync_channel(1);
    let job = Job {
        run,
        scenario: scenario.clone(),
        mutations: mutations.clone(),
        keep_trace,
        done,
    };
    // An idle worker's thread runs until its pool ends: a worker whose run panicked, or that
    // was given up, is never put back.
    worker
        .jobs
        .send(job)
        .expect("an idle scenario worker's thread is running");
    loop {
        match result.recv_timeout(CHECK_EVERY) {
            Ok(run) => {
                IDLE.with(|idle| idle.borrow_mut().0.push(worker));
                return Ok(run);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(whose) = worker.watch.overdue(bound) {
                    return Err(whose);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("the scenario panicked on its worker thread (its message is above)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    use runtime_api::{ConsoleSize, ExitStatus, Process, RelayReport};

    /// A process whose `wait` never returns.
    struct Hangs;

    impl Process for Hangs {
        fn pid(&self) -> i32 {
            1
        }
        fn wait(&self) -> runtime_api::Result<ExitStatus> {
            loop {
                thread::park();
            }
        }
        fn delete(&self) -> runtime_api::Result<()> {
            Ok(())
        }
        fn resize_console(&self, _: ConsoleSize) -> runtime_api::Result<()> {
            Ok(())
        }
        fn relay_report(&self) -> Option<RelayReport> {
            None
        }
    }

    fn hanging_run(_: &Scenario, _: &Value, _: bool, watch: Arc<WaitWatch>) -> (SimRun, Leftovers) {
        let _ = watch.wait(&Hangs, "e0 in c0");
        unreachable!("Hangs::wait returned")
    }

    fn a_scenario() -> Scenario {
        crate::scenario::strategy::scenarios(crate::scenario::strategy::Shape::simulator())
            .new_tree(&mut TestRunner::deterministic())
            .expect("a generated scenario")
            .current()
    }

    #[test]
    fn a_wait_past_its_bound_gives_the_worker_up_and_says_whose_it_was() {
        let whose = run_scenario(
            hanging_run,
            &a_scenario(),
            &Value::Null,
            false,
            Duration::from_millis(100),
        )
        .err()
        .expect("a hung wait must not give a run");
        assert_eq!(whose, "e0 in c0");
    }
}
