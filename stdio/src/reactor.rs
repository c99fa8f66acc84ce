//! The shared reactor: a small fixed set of threads that drive every relay of the process.
//!
//! # Why
//! A thread per stream (what a Go `io.Copy` relay amounts to) costs a stack and a scheduler
//! entity per stream, and a blocked `read` cannot be cancelled or bounded in time. Here every
//! relay is a state machine ([`RelayTask`]) owned by one reactor thread, which waits on an
//! `epoll` instance for readiness of all the relays' file descriptors (each used only in ways
//! that cannot block, see `connection.rs`), and on a timer heap for drain graces and
//! peer-close timeouts. Thousands of relays then cost a few
//! hundred bytes each and the same [`REACTOR_THREADS`] threads.
//!
//! # How
//! - The reactors are started lazily, on the first relay, and live for the rest of the process.
//!   Relays are spread over them round-robin by id.
//! - Every descriptor is registered edge-triggered for both directions. A task, when driven,
//!   makes all the progress it can until each stream is blocked on `EAGAIN` (or on a full
//!   buffer, whose draining produces an edge on the other descriptor); so an edge is never
//!   lost, and spurious wake-ups are harmless. Descriptors epoll cannot watch (regular files,
//!   `/dev/null`) never block and are simply used directly.
//! - A task that still has work after its budget (a fast stream, a regular file) yields and is
//!   run again on the next turn, after the other ready tasks: fairness without starvation.
//! - Other threads talk to a task through a command queue plus an `eventfd` wake-up
//!   ([`Reactor::send`]): the task's state is touched by its reactor thread only, no locks.
//! - Reactor threads block `SIGPIPE`: a write or splice to a connection whose peer has gone
//!   fails with `EPIPE` instead of killing the process, whatever the host did with the signal.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};

use crate::drain::{Progress, RelayTask};
use crate::offload::Offload;

/// How many reactor threads the process runs (started lazily, never more).
pub const REACTOR_THREADS: usize = 2;

/// Bits of an epoll token that name a descriptor slot within a task; the rest is the task id.
pub(crate) const SLOT_BITS: u32 = 3;
/// The most descriptors one task may register.
pub(crate) const MAX_SLOTS: usize = 1 << SLOT_BITS;
const WAKE_TOKEN: u64 = u64::MAX;
/// What every relay descriptor is watched for: both directions and the peer's shutdown, as
/// edges.
const ALL_EVENTS: EpollFlags = EpollFlags::EPOLLIN
    .union(EpollFlags::EPOLLOUT)
    .union(EpollFlags::EPOLLRDHUP)
    .union(EpollFlags::EPOLLET);
const OFFLOAD_TOKEN: u64 = u64::MAX - 1;

/// Bits of an offloaded request's key that name the stream within its task; the rest is the
/// task id.
pub(crate) const KEY_STREAM_BITS: u32 = 2;

/// A request from another thread to a task (or to the reactor).
pub(crate) enum Command {
    /// Take ownership of a new task and drive it.
    Start(Box<RelayTask>),
    /// The process of task `id` has exited.
    ProcessExited(u64),
    /// End task `id` now.
    Cut(u64),
}

/// One reactor: an epoll instance, its wake-up eventfd and command queue. Its thread owns the
/// tasks.
pub(crate) struct Reactor {
    epoll: Epoll,
    wake: EventFd,
    queue: Mutex<Vec<Command>>,
}

/// What a task may touch while the reactor drives it.
pub(crate) struct Ctx<'a> {
    /// When this turn of the loop started.
    pub now: Instant,
    timers: &'a mut BinaryHeap<Reverse<(Instant, u64)>>,
    /// A buffer shared by all tasks of this reactor, for read-then-write copies.
    pub scratch: &'a mut Vec<u8>,
    /// This reactor's io_uring for splices into blocking sockets, if the kernel gives one.
    pub offload: Option<&'a mut Offload>,
}

impl Ctx<'_> {
    /// Asks for task `id` to be woken (its `on_timer` called) at `when`.
    pub(crate) fn wake_at(&mut self, when: Instant, id: u64) {
        self.timers.push(Reverse((when, id)));
    }
}

static REACTORS: OnceLock<Result<Vec<&'static Reactor>, (io::ErrorKind, String)>> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Allocates a task id, and the reactor that will own the task.
pub(crate) fn assign() -> io::Result<(&'static Reactor, u64)> {
    let reactors = REACTORS
        .get_or_init(start_all)
        .as_ref()
        .map_err(|(kind, msg)| io::Error::new(*kind, msg.clone()))?;
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let index = usize::try_from(id).unwrap_or(0) % reactors.len();
    Ok((reactors[index], id))
}

fn start_all() -> Result<Vec<&'static Reactor>, (io::ErrorKind, String)> {
    let mut all = Vec::with_capacity(REACTOR_THREADS);
    for index in 0..REACTOR_THREADS {
        let fail = |e: io::Error| (e.kind(), format!("starting stdio reactor {index}: {e}"));
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)
            .map_err(io::Error::from)
            .map_err(fail)?;
        let wake = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(io::Error::from)
            .map_err(fail)?;
        epoll
            .add(
                wake.as_fd(),
                EpollEvent::new(EpollFlags::EPOLLIN, WAKE_TOKEN),
            )
            .map_err(io::Error::from)
            .map_err(fail)?;
        // The reactors live as long as the process: leaking them gives `&'static` handles that
        // every relay can keep without reference counting.
        let reactor: &'static Reactor = Box::leak(Box::new(Reactor {
            epoll,
            wake,
            queue: Mutex::new(Vec::new()),
        }));
        let offload = match Offload::new() {
            Ok(offload) => reactor
                .epoll
                .add(
                    offload.completion_fd(),
                    EpollEvent::new(EpollFlags::EPOLLIN, OFFLOAD_TOKEN),
                )
                .map(|()| offload)
                .map_err(io::Error::from),
            Err(e) => Err(e),
        };
        let offload = offload
            .inspect_err(|e| {
                tracing::debug!(error = %e, "stdio reactor: no io_uring; splices into blocking sockets copy through user space instead")
            })
            .ok();
        std::thread::Builder::new()
            .name(format!("stdio-reactor-{index}"))
            .spawn(move || reactor.run(offload))
            .map_err(fail)?;
        all.push(reactor);
    }
    Ok(all)
}

impl Reactor {
    /// Registers `fd` for edge-triggered readiness in both directions under (`id`, `slot`);
    /// `held`: registered quiet (see [`quiet`](Self::quiet)), for the reactor to resume when it
    /// takes the task. Returns `Ok(false)` for descriptors epoll cannot watch (regular files,
    /// `/dev/null`): those never block and are used directly.
    ///
    /// A descriptor that is ready when it is registered (a connection with room to write)
    /// wakes a reactor blocked in `epoll_wait`, for a task it does not know yet: holding such
    /// descriptors until the reactor's own thread resumes them saves that wake-up.
    pub(crate) fn register(
        &self,
        fd: BorrowedFd<'_>,
        id: u64,
        slot: usize,
        held: bool,
    ) -> io::Result<bool> {
        debug_assert!(slot < MAX_SLOTS);
        let flags = if held {
            EpollFlags::EPOLLET
        } else {
            ALL_EVENTS
        };
        let token = (id << SLOT_BITS) | slot as u64;
        match self.epoll.add(fd, EpollEvent::new(flags, token)) {
            Ok(()) => Ok(true),
            Err(Errno::EPERM) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Stops (`quiet`) or resumes the readiness events of a registered `fd`. Resuming reports
    /// readiness that is already there, so nothing is missed while quiet. Used while a task's
    /// io_uring request owns the descriptors' traffic: each write of the process would
    /// otherwise wake the reactor for nothing.
    pub(crate) fn quiet(&self, fd: BorrowedFd<'_>, id: u64, slot: usize, quiet: bool) {
        let flags = if quiet {
            EpollFlags::EPOLLET
        } else {
            ALL_EVENTS
        };
        let mut event = EpollEvent::new(flags, (id << SLOT_BITS) | slot as u64);
        if let Err(e) = self.epoll.modify(fd, &mut event) {
            tracing::debug!(error = %e, "stdio reactor: changing a descriptor's events failed");
        }
    }

    /// Removes `fd` from the interest list (before it is closed: a duplicate held elsewhere
    /// would otherwise keep reporting events).
    pub(crate) fn deregister(&self, fd: BorrowedFd<'_>) {
        if let Err(e) = self.epoll.delete(fd) {
            tracing::debug!(error = %e, "stdio reactor: deregistering a descriptor failed");
        }
    }

    /// Queues `cmd` and wakes the reactor thread.
    pub(crate) fn send(&self, cmd: Command) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cmd);
        // An eventfd write only fails when the counter would overflow, and then the reactor is
        // already due to wake.
        let _ = self.wake.write(1);
    }

    /// Queues `cmd` without waking the reactor thread: it takes the command at the start of
    /// its next turn, whatever wakes it (any readiness event, timer or [`send`](Self::send)).
    ///
    /// Only for a command that has nothing to do until then: a new task whose work can only
    /// start with an event that comes after this call (see `PipeRelay::new`). A wake-up per
    /// relay created cost the reactor a turn (and the creating thread a system call) that
    /// found nothing to do.
    pub(crate) fn send_lazy(&self, cmd: Command) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cmd);
    }

    fn run(&'static self, mut offload: Option<Offload>) {
        block_sigpipe();
        let mut tasks: HashMap<u64, Box<RelayTask>> = HashMap::new();
        let mut timers: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
        let mut scratch: Vec<u8> = Vec::new();
        let mut runnable: Vec<u64> = Vec::new();
        let mut events = vec![EpollEvent::empty(); 256];
        loop {
            let timeout = if !runnable.is_empty() {
                EpollTimeout::ZERO
            } else if let Some(Reverse((when, _))) = timers.peek() {
                let left = when.saturating_duration_since(Instant::now());
                // Round up so that the loop does not spin just before the deadline.
                let ms = left.as_micros().div_ceil(1000);
                EpollTimeout::try_from(Duration::from_millis(
                    u64::try_from(ms).unwrap_or(u64::MAX).min(i32::MAX as u64),
                ))
                .unwrap_or(EpollTimeout::MAX)
            } else {
                EpollTimeout::NONE
            };
            let n = match self.epoll.wait(&mut events, timeout) {
                Ok(n) => n,
                Err(Errno::EINTR) => 0,
                Err(e) => {
                    tracing::error!(error = %e, "stdio reactor: epoll_wait failed");
                    std::thread::sleep(Duration::from_millis(10));
                    0
                }
            };
            let mut todo = std::mem::take(&mut runnable);
            let mut ctx = Ctx {
                now: Instant::now(),
                timers: &mut timers,
                scratch: &mut scratch,
                offload: offload.as_mut(),
            };
            if events[..n].iter().any(|ev| ev.data() == WAKE_TOKEN) {
                let _ = self.wake.read();
            }
            // Every turn takes the queue, whatever woke it: commands queued with
            // `send_lazy` wait for the next turn. Taken before the events are looked at, so
            // that an event of a task started in this turn finds it (its start drives it
            // anyway).
            let cmds = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
            for cmd in cmds {
                match cmd {
                    Command::Start(mut task) => {
                        task.started();
                        let id = task.id();
                        tasks.insert(id, task);
                        todo.push(id);
                    }
                    Command::ProcessExited(id) => {
                        if let Some(task) = tasks.get_mut(&id) {
                            task.process_exited(&mut ctx);
                            todo.push(id);
                        }
                    }
                    Command::Cut(id) => {
                        if let Some(task) = tasks.get_mut(&id) {
                            task.cut(&mut ctx);
                            todo.push(id);
                        }
                    }
                }
            }
            for ev in &events[..n] {
                if ev.data() == WAKE_TOKEN {
                    // Read above.
                } else if ev.data() == OFFLOAD_TOKEN {
                    let done = ctx
                        .offload
                        .as_deref_mut()
                        .map(Offload::completions)
                        .unwrap_or_default();
                    for (key, result) in done {
                        let id = key >> KEY_STREAM_BITS;
                        if let Some(task) = tasks.get_mut(&id) {
                            task.offloaded(key, result);
                            todo.push(id);
                        }
                    }
                } else {
                    let id = ev.data() >> SLOT_BITS;
                    if tasks.contains_key(&id) {
                        todo.push(id);
                    }
                }
            }
            while let Some(&Reverse((when, id))) = ctx.timers.peek() {
                if when > ctx.now {
                    break;
                }
                ctx.timers.pop();
                if let Some(task) = tasks.get_mut(&id) {
                    task.on_timer(&mut ctx);
                    todo.push(id);
                }
            }
            todo.sort_unstable();
            todo.dedup();
            for id in todo {
                let Some(task) = tasks.get_mut(&id) else {
                    continue;
                };
                match task.drive(&mut ctx) {
                    Progress::Done => {
                        if let Some(task) = tasks.remove(&id) {
                            task.finish();
                        }
                    }
                    Progress::Yield => runnable.push(id),
                    Progress::Blocked => {}
                }
            }
            // Idle reactors give back the memory of a burst.
            if tasks.is_empty() && scratch.capacity() > 0 {
                scratch = Vec::new();
            }
        }
    }
}

/// Blocks `SIGPIPE` in the calling (reactor) thread, so that writing to a connection whose
/// peer has gone returns `EPIPE` instead of delivering the signal.
fn block_sigpipe() {
    let mut set = SigSet::empty();
    set.add(Signal::SIGPIPE);
    if let Err(e) = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None) {
        tracing::warn!(error = %e, "stdio reactor: cannot block SIGPIPE");
    }
}
