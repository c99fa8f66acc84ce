//! The driver: runs the simulated world forward inside blocking API calls.
//!
//! The world lives behind one mutex. Virtual time moves inside `wait` (until the awaited
//! process is done), the `advance` extension, and the settle every API call ends with (steps
//! ready at the current instant only: [`World::settle`]). When nothing can happen in virtual time (every process waits for input
//! from outside, or a pipe is full), the waiting thread releases the mutex and blocks on the
//! real fds involved plus a wake-up pipe that every API call pokes, so that another thread's
//! `kill` or the relay draining a pipe resumes the simulation.

use crate::clock::Instant;
use crate::scheduler::StepResult;
use crate::world::World;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The world and the means to wait for it.
pub(crate) struct Shared {
    world: Mutex<World>,
    cond: Condvar,
    wake_read: OwnedFd,
    wake_write: OwnedFd,
    /// A thread is blocked waiting for outside input (pipes, other API calls); changed only
    /// with the world locked, so that a thread that changed the world and then reads it false
    /// knows that no thread is blocked on (or about to block on) the world it changed.
    polling: AtomicBool,
}

impl Shared {
    pub(crate) fn new(world: World) -> std::io::Result<Shared> {
        let (wake_read, wake_write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)?;
        Ok(Shared {
            world: Mutex::new(world),
            cond: Condvar::new(),
            wake_read,
            wake_write,
            polling: AtomicBool::new(false),
        })
    }

    /// Locks the world. A panic in another thread does not make the world unusable: the
    /// simulator's state is plain data, consistent between steps.
    pub(crate) fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the world and runs every step ready at the current virtual instant (see
    /// [`World::settle`]): what every API call sees.
    pub(crate) fn settled(&self) -> MutexGuard<'_, World> {
        let mut g = self.lock();
        g.settle();
        g
    }

    /// Tells a thread blocked on outside input that the world changed; called after the
    /// change, with the world unlocked.
    ///
    /// Only a thread in [`block_outside`](Self::block_outside) listens, and only while
    /// `polling` is set: the poller sets it with the world locked before it blocks (so a change
    /// made under the lock before that is seen by the poller's next step, and one made after
    /// is followed by this read seeing it set), and clears it with the world locked, waking
    /// every thread that waited on the condition variable meanwhile. With no poller there is
    /// no one to tell: the wake-up pipe write and the condition variable's wake, two system
    /// calls of every API call, are skipped.
    pub(crate) fn notify(&self) {
        if !self.polling.load(Ordering::SeqCst) {
            return;
        }
        self.cond.notify_all();
        let _ = nix::unistd::write(self.wake_write.as_fd(), &[1]);
    }

    fn drain_wake(&self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = nix::unistd::read(self.wake_read.as_fd(), &mut buf) {
            if n == 0 {
                break;
            }
        }
    }

    /// Blocks (real time) until one of `waits` is ready or another thread pokes the world.
    fn block_outside<'a>(
        &'a self,
        g: MutexGuard<'a, World>,
        waits: Vec<(std::sync::Arc<crate::kernel::StreamFd>, bool)>,
    ) -> MutexGuard<'a, World> {
        if self.polling.load(Ordering::SeqCst) {
            return self.cond.wait(g).unwrap_or_else(|p| p.into_inner());
        }
        self.polling.store(true, Ordering::SeqCst);
        drop(g);
        {
            let mut fds: Vec<PollFd<'_>> = waits
                .iter()
                .map(|(f, writable)| {
                    PollFd::new(
                        f.fd.as_fd(),
                        if *writable {
                            PollFlags::POLLOUT
                        } else {
                            PollFlags::POLLIN
                        },
                    )
                })
                .collect();
            fds.push(PollFd::new(self.wake_read.as_fd(), PollFlags::POLLIN));
            let _ = poll(&mut fds, PollTimeout::NONE);
        }
        self.drain_wake();
        let g = self.lock();
        self.polling.store(false, Ordering::SeqCst);
        self.cond.notify_all();
        g
    }

    /// Runs the world until `done` holds.
    pub(crate) fn run_until<'a>(
        &'a self,
        mut g: MutexGuard<'a, World>,
        done: impl Fn(&World) -> bool,
    ) -> MutexGuard<'a, World> {
        loop {
            if done(&g) {
                return g;
            }
            match g.step(None) {
                StepResult::Progressed | StepResult::Deadline => {}
                StepResult::Idle(waits) => g = self.block_outside(g, waits),
            }
        }
    }

    /// Runs the world for `d` of virtual time (a process waiting for stdin does not hold it
    /// here); returns the new time.
    pub(crate) fn advance(&self, d: Duration) -> Instant {
        let mut g = self.lock();
        let target = g.clock.now().after(d);
        loop {
            match g.step(Some(target)) {
                StepResult::Progressed => {}
                StepResult::Deadline => break,
                StepResult::Idle(waits) => {
                    // Only a full pipe is worth waiting for; stdin may never come.
                    let writes: Vec<_> = waits.into_iter().filter(|(_, w)| *w).collect();
                    if writes.is_empty() {
                        break;
                    }
                    g = self.block_outside(g, writes);
                }
            }
        }
        g.clock.advance_to(target);
        g.settle();
        let now = g.clock.now();
        g.trace.record(now, 0, "advance", format!("by {d:?}"));
        drop(g);
        self.notify();
        now
    }
}
