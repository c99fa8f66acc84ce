//! The one reaper: it owns `waitpid` for every process this backend is responsible for, and
//! hands each exit to whoever waits for it.
//!
//! # Why
//! `runc create` and `runc exec -d` exit as soon as the container process runs; the container
//! process is then reparented to the nearest *child subreaper* among its ancestors, which is
//! this process once [`Reaper::global`] has run (`prctl(PR_SET_CHILD_SUBREAPER)`). Someone has
//! to collect those exits, and also the exits of the runc invocations themselves. A blind
//! `waitpid(-1)` would steal the exit statuses of children the *host* spawned (with
//! `std::process::Command`, say), so this reaper never does one.
//!
//! # How
//! * Every process whose exit someone wants (a runc invocation, a container's init, an exec) is
//!   *watched*: a pidfd (`pidfd_open`) is polled by the reaper thread; when it becomes readable
//!   the reaper calls `waitpid(pid, WNOHANG)` on that pid only and stores the status in the
//!   process's exit cell.
//! * Orphans (children of container processes, reparented to us when their parent dies, such
//!   as the `sleep 1000 &` of an exec'd shell) are reaped only if a claim covers them: their
//!   session id is that of a container process we created (runc makes init and each exec a
//!   session leader), their process group is that of a runc invocation we killed, or their pid
//!   was listed in a container's cgroup. The session id is used because on cgroup v1 a zombie's
//!   `/proc/<pid>/cgroup` reads `/`, while its session id stays. Children of ours that no claim
//!   covers are never touched: they are the host's.
//! * Orphans are looked for periodically (every [`ORPHAN_SCAN_INTERVAL`]) while any claim
//!   exists, and on demand (rule 1, delete).

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use runtime_api::{ExitStatus, Signal};

use crate::procfs;

/// How often orphans are looked for while some claim exists.
pub const ORPHAN_SCAN_INTERVAL: Duration = Duration::from_millis(250);

/// Where the exit status of one watched process is delivered. Set exactly once, by the reaper.
#[derive(Debug, Default)]
pub(crate) struct ExitCell {
    status: Mutex<Option<ExitStatus>>,
    cond: Condvar,
}

impl ExitCell {
    fn set(&self, status: ExitStatus) {
        let mut slot = lock(&self.status);
        if slot.is_none() {
            *slot = Some(status);
            self.cond.notify_all();
        }
    }

    /// A cell already holding `status` (a process known to have exited before anyone
    /// watched it, such as the dead init of a taken-back container).
    pub fn done(status: ExitStatus) -> Arc<ExitCell> {
        let cell = Arc::new(ExitCell::default());
        cell.set(status);
        cell
    }

    /// The status if the process has exited and been reaped.
    pub fn get(&self) -> Option<ExitStatus> {
        *lock(&self.status)
    }

    /// Blocks until the process has exited and been reaped.
    pub fn wait(&self) -> ExitStatus {
        let mut slot = lock(&self.status);
        loop {
            if let Some(s) = *slot {
                return s;
            }
            slot = self.cond.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Like [`wait`](Self::wait), giving up after `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let mut slot = lock(&self.status);
        loop {
            if let Some(s) = *slot {
                return Some(s);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            slot = self
                .cond
                .wait_timeout(slot, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

struct Watch {
    pidfd: OwnedFd,
    cell: Arc<ExitCell>,
    /// Watched without being known to be our child (the init of a taken-back container):
    /// when `waitpid` finds no child, the exit is [`ExitStatus::Unknown`], not an error.
    foreign: bool,
}

#[derive(Default)]
struct ClaimSet {
    sessions: BTreeSet<i32>,
    groups: BTreeSet<i32>,
    pids: BTreeSet<i32>,
}

impl ClaimSet {
    fn covers(&self, s: &procfs::Stat) -> bool {
        self.sessions.contains(&s.session)
            || self.groups.contains(&s.pgrp)
            || self.pids.contains(&s.pid)
    }
}

#[derive(Default)]
struct Registry {
    watched: HashMap<i32, Watch>,
    claims: HashMap<u64, ClaimSet>,
    next_claim: u64,
}

/// The process-wide reaper. See the module docs.
pub struct Reaper {
    registry: Mutex<Registry>,
    wake: OwnedFd,
    me: i32,
}

static GLOBAL: OnceLock<Result<Reaper, String>> = OnceLock::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a fresh fd that nothing else owns (pidfds are CLOEXEC).
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `waitpid(pid, WNOHANG)`: `Ok(None)` while it runs, the status once reaped.
fn try_reap(pid: i32) -> io::Result<Option<ExitStatus>> {
    let mut raw = 0;
    // SAFETY: waitpid writes the status into `raw`, a valid i32 we own.
    let r = unsafe { libc::waitpid(pid, &mut raw, libc::WNOHANG | libc::__WALL) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    if r == 0 {
        return Ok(None);
    }
    Ok(Some(decode_status(raw)))
}

fn decode_status(raw: i32) -> ExitStatus {
    if libc::WIFSIGNALED(raw) {
        ExitStatus::Signaled(Signal(libc::WTERMSIG(raw)))
    } else {
        ExitStatus::Exited(libc::WEXITSTATUS(raw))
    }
}

impl Reaper {
    /// The reaper of this process, started on first use: marks the process a child subreaper
    /// and starts the `rtl-runc-reaper` thread. Both are process-wide and last until the
    /// process exits.
    pub fn global() -> io::Result<&'static Reaper> {
        let r = GLOBAL.get_or_init(|| Reaper::start().map_err(|e| e.to_string()));
        r.as_ref()
            .map_err(|e| io::Error::other(format!("starting the reaper: {e}")))
    }

    fn start() -> io::Result<Reaper> {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: eventfd takes integer arguments and returns a new fd or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh fd that nothing else owns.
        let wake = unsafe { OwnedFd::from_raw_fd(fd) };
        std::thread::Builder::new()
            .name("rtl-runc-reaper".into())
            .spawn(|| {
                // The OnceLock is set by the time anything is watched; wait for it here.
                let reaper = loop {
                    if let Some(Ok(r)) = GLOBAL.get() {
                        break r;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                };
                reaper.run();
            })?;
        Ok(Reaper {
            registry: Mutex::new(Registry::default()),
            wake,
            me: std::process::id() as i32,
        })
    }

    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Starts watching `pid`, a child of this process (or a process about to be reparented to
    /// it), and returns the cell its exit status will be delivered to. Works also if the process
    /// has already exited: it stays a zombie until the reaper collects it.
    pub(crate) fn watch(&self, pid: i32) -> io::Result<Arc<ExitCell>> {
        self.watch_as(pid, false)
    }

    /// Starts watching `pid`, a process that need not be our child (the init of a container
    /// another host created). Its pidfd says when it exits; if it is our child after all (it
    /// was reparented to this subreaper), the reaper reaps it and delivers the real status,
    /// else it delivers [`ExitStatus::Unknown`]: only the parent learns how a process ended.
    pub(crate) fn watch_foreign(&self, pid: i32) -> io::Result<Arc<ExitCell>> {
        self.watch_as(pid, true)
    }

    fn watch_as(&self, pid: i32, foreign: bool) -> io::Result<Arc<ExitCell>> {
        let pidfd = pidfd_open(pid)?;
        let cell = Arc::new(ExitCell::default());
        lock(&self.registry).watched.insert(
            pid,
            Watch {
                pidfd,
                cell: cell.clone(),
                foreign,
            },
        );
        self.wake();
        Ok(cell)
    }

    /// A new, empty claim on orphans; dropping it withdraws it.
    pub(crate) fn claim(&'static self) -> Claim {
        let mut reg = lock(&self.registry);
        let id = reg.next_claim;
        reg.next_claim += 1;
        reg.claims.insert(id, ClaimSet::default());
        drop(reg);
        self.wake();
        Claim { reaper: self, id }
    }

    /// Reaps every zombie child that a claim covers and nobody watches. Returns how many.
    pub(crate) fn reap_orphans(&self) -> usize {
        let reg = lock(&self.registry);
        if reg.claims.is_empty() {
            return 0;
        }
        let mut reaped = 0;
        for child in procfs::children_of(self.me) {
            if !child.is_zombie() || reg.watched.contains_key(&child.pid) {
                continue;
            }
            if reg.claims.values().any(|c| c.covers(&child)) {
                if let Ok(Some(status)) = try_reap(child.pid) {
                    tracing::debug!(pid = child.pid, %status, "reaped orphan");
                    reaped += 1;
                }
            }
        }
        reaped
    }

    fn run(&self) {
        let mut last_scan = Instant::now();
        loop {
            let (mut fds, pids, scanning) = {
                let reg = lock(&self.registry);
                let mut fds = vec![libc::pollfd {
                    fd: self.wake.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                }];
                let mut pids = Vec::with_capacity(reg.watched.len());
                for (pid, w) in &reg.watched {
                    fds.push(libc::pollfd {
                        fd: w.pidfd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    });
                    pids.push(*pid);
                }
                (fds, pids, !reg.claims.is_empty())
            };
            let timeout = if scanning {
                ORPHAN_SCAN_INTERVAL.as_millis() as i32
            } else {
                -1
            };
            // SAFETY: `fds` is a valid array of pollfd of the given length. The pidfds stay
            // open during the poll: only this thread removes watches.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    tracing::error!(error = %err, "reaper poll failed");
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            if fds[0].revents != 0 {
                let mut buf = 0u64;
                // SAFETY: reads 8 bytes into a valid u64 from our nonblocking eventfd.
                unsafe { libc::read(self.wake.as_raw_fd(), (&mut buf as *mut u64).cast(), 8) };
            }
            for (fd, pid) in fds[1..].iter().zip(pids) {
                if fd.revents != 0 {
                    self.collect(pid);
                }
            }
            // Periodic only: rule 1 and delete scan on demand where orphans are expected.
            if scanning && last_scan.elapsed() >= ORPHAN_SCAN_INTERVAL {
                last_scan = Instant::now();
                self.reap_orphans();
            }
        }
    }

    fn collect(&self, pid: i32) {
        let mut reg = lock(&self.registry);
        match try_reap(pid) {
            Ok(None) => {}
            Ok(Some(status)) => {
                if let Some(w) = reg.watched.remove(&pid) {
                    tracing::trace!(pid, %status, "reaped");
                    w.cell.set(status);
                }
            }
            Err(err) => {
                // Not our child (or already reaped by someone doing a blind waitpid(-1), which
                // the crate docs forbid). The status is lost; report the process as killed so
                // that waiters do not hang.
                if let Some(w) = reg.watched.remove(&pid) {
                    if w.foreign && err.raw_os_error() == Some(libc::ECHILD) {
                        tracing::debug!(
                            pid,
                            "a process that is not our child exited; its status is unknown"
                        );
                        w.cell.set(ExitStatus::Unknown);
                        return;
                    }
                    tracing::error!(pid, error = %err, "cannot reap a watched process; its exit status is lost");
                    w.cell.set(ExitStatus::Signaled(Signal::KILL));
                }
            }
        }
    }
}

/// A claim on orphans: zombie children of ours that it covers are reaped. Withdrawn on drop.
pub(crate) struct Claim {
    reaper: &'static Reaper,
    id: u64,
}

impl Claim {
    fn edit(&self, f: impl FnOnce(&mut ClaimSet)) {
        let mut reg = lock(&self.reaper.registry);
        if let Some(c) = reg.claims.get_mut(&self.id) {
            f(c);
        }
    }

    /// Covers every process of session `sid` (the session of a container process we created).
    pub fn add_session(&self, sid: i32) {
        self.edit(|c| {
            c.sessions.insert(sid);
        });
    }

    /// Covers every process of process group `pgid` (a runc invocation we killed).
    pub fn add_group(&self, pgid: i32) {
        self.edit(|c| {
            c.groups.insert(pgid);
        });
    }

    /// Covers these pids (processes listed in a container's cgroup).
    pub fn add_pids(&self, pids: &[i32]) {
        self.edit(|c| c.pids.extend(pids.iter().copied()));
    }

    /// Stops covering these pids (they are gone; a later process reusing a pid is not ours).
    pub fn remove_pids(&self, pids: &[i32]) {
        self.edit(|c| {
            for p in pids {
                c.pids.remove(p);
            }
        });
    }

    /// The reaper this claim belongs to.
    pub fn reaper(&self) -> &'static Reaper {
        self.reaper
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        lock(&self.reaper.registry).claims.remove(&self.id);
    }
}

/// Whether `pid` still exists (alive or a zombie).
pub(crate) fn exists(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether any process of group `pgid` still exists (alive or a zombie).
pub(crate) fn group_exists(pgid: i32) -> bool {
    exists(-pgid)
}
