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
//! * Orphans are looked for periodically while any claim exists (but those of containers
//!   that own their pid namespace: see [`Claim::on_demand_only`]), and on demand (rule 1,
//!   delete). Reading all of `/proc` costs milliseconds of CPU, so the periodic tick (every
//!   [`ORPHAN_SCAN_INTERVAL`]) first asks two cheap questions: is some child of ours a zombie
//!   (`waitid(P_ALL, WNOWAIT)`, which reaps nothing), and has the set of our children changed
//!   since the last scan (`/proc/self/task/*/children`: an orphan or a daemon was reparented
//!   to us, or one left)? Only then, or every [`FULL_SCAN_INTERVAL`], does it scan. That
//!   loses nothing: a session's processes that are not our children descend from ones that
//!   are (or from its leader, which we watch), so its claim's continuity is checked whenever
//!   one of those changes.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use runtime_api::{ExitStatus, Signal};

use crate::procfs;

/// How long the status of a reaped orphan is kept for a caller that learns its pid late.
const ORPHAN_EXIT_MEMORY: Duration = Duration::from_secs(30);

/// How often the reaper checks, while some claim exists, whether orphans may be waiting.
pub const ORPHAN_SCAN_INTERVAL: Duration = Duration::from_millis(250);

/// The longest time between two full scans of `/proc` while some claim exists, even when
/// nothing seemed to change.
pub const FULL_SCAN_INTERVAL: Duration = Duration::from_secs(5);

/// Something to run once a process has exited.
type OnExit = Box<dyn FnOnce() + Send>;

/// Where the exit status of one watched process is delivered. Set exactly once, by the reaper.
#[derive(Default)]
pub(crate) struct ExitCell {
    status: Mutex<Option<ExitStatus>>,
    cond: Condvar,
    /// Run once the status is set (taken with `status` locked first).
    on_exit: Mutex<Vec<OnExit>>,
}

impl ExitCell {
    fn set(&self, status: ExitStatus) {
        let mut slot = lock(&self.status);
        if slot.is_some() {
            return;
        }
        *slot = Some(status);
        self.cond.notify_all();
        let callbacks = std::mem::take(&mut *lock(&self.on_exit));
        drop(slot);
        for f in callbacks {
            f();
        }
    }

    /// Runs `f` once the process has exited: now if it has, else on the reaper thread right
    /// after its status is collected (so `f` must not block).
    pub fn on_exit(&self, f: impl FnOnce() + Send + 'static) {
        let slot = lock(&self.status);
        if slot.is_some() {
            drop(slot);
            f();
        } else {
            lock(&self.on_exit).push(Box::new(f));
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

/// The processes one session or process group claim covers: the members seen at the last
/// scan, by pid and start time.
///
/// A session (or group) id is a pid, and the kernel does not hand that pid out again while any
/// process still has it as its session (or group). So as long as one member seen at the last
/// scan is still there at the next (same pid, same start time), the id still names the same
/// session and every process in it is ours. When none is left, the session may have ended and
/// its id been reused (a host child calling `setsid()` on a recycled pid): the claim is
/// withdrawn.
type Members = BTreeMap<i32, u64>;

#[derive(Default)]
struct ClaimSet {
    sessions: BTreeMap<i32, Members>,
    groups: BTreeMap<i32, Members>,
    /// Single processes: pid to start time.
    pids: BTreeMap<i32, u64>,
    /// The container's cgroup (the text of its init's `/proc/<pid>/cgroup`): a live child of
    /// ours found in it (a daemon that double-forked and called `setsid()`, reparented to us
    /// in a shared pid namespace) is claimed by pid at the scan that sees it.
    cgroup: Option<String>,
    /// Scanned for on demand only (rule 1, delete, a killed exec), never by the periodic tick:
    /// see [`Claim::on_demand_only`].
    on_demand_only: bool,
}

impl ClaimSet {
    fn is_empty(&self) -> bool {
        self.sessions.is_empty()
            && self.groups.is_empty()
            && self.pids.is_empty()
            && self.cgroup.is_none()
    }

    fn covers(&self, s: &procfs::Stat) -> bool {
        let member = |m: Option<&Members>| m.is_some_and(|m| m.get(&s.pid) == Some(&s.start));
        // A session leader is never ours by its session: ours are watched by pid.
        (s.pid != s.session && member(self.sessions.get(&s.session)))
            || (s.pid != s.pgrp && member(self.groups.get(&s.pgrp)))
            || self.pids.get(&s.pid) == Some(&s.start)
    }

    /// Brings the members up to date with `snapshot` (every process, read just now) and
    /// withdraws the session and group claims that lost their continuity (see [`Members`]).
    fn refresh(&mut self, snapshot: &[procfs::Stat]) {
        fn update(
            claims: &mut BTreeMap<i32, Members>,
            snapshot: &[procfs::Stat],
            key: fn(&procfs::Stat) -> i32,
            what: &str,
        ) {
            claims.retain(|id, members| {
                let now: Members = snapshot
                    .iter()
                    .filter(|s| key(s) == *id)
                    .map(|s| (s.pid, s.start))
                    .collect();
                let continued = members.iter().any(|(p, t)| now.get(p) == Some(t));
                if continued {
                    *members = now;
                } else {
                    tracing::trace!(id = *id, what, "claim withdrawn: nothing of it is left");
                }
                continued
            });
        }
        update(&mut self.sessions, snapshot, |s| s.session, "session");
        update(&mut self.groups, snapshot, |s| s.pgrp, "group");
        let present: BTreeMap<i32, u64> = snapshot.iter().map(|s| (s.pid, s.start)).collect();
        self.pids.retain(|p, t| present.get(p) == Some(t));
    }

    /// Forgets a process that was just reaped.
    fn forget(&mut self, s: &procfs::Stat) {
        for m in self.sessions.values_mut().chain(self.groups.values_mut()) {
            m.remove(&s.pid);
        }
        if self.pids.get(&s.pid) == Some(&s.start) {
            self.pids.remove(&s.pid);
        }
    }
}

#[derive(Default)]
struct Registry {
    watched: HashMap<i32, Watch>,
    claims: HashMap<u64, ClaimSet>,
    next_claim: u64,
    /// Live children of ours in no claimed cgroup (the host's), by pid and start time, so
    /// that each is looked at once.
    foreign: BTreeMap<i32, u64>,
    /// Orphans reaped lately: pid to status and when. An exec that exits at once can be
    /// claimed (as a process of its container's cgroup) and reaped by a scan before its
    /// `runc exec` caller has read its pid and watched it; that caller finds its status here.
    orphan_exits: HashMap<i32, (ExitStatus, Instant)>,
}

impl Registry {
    /// Whether some claim could cover an orphan: a scan (on demand) has something to look for.
    fn claiming(&self) -> bool {
        self.claims.values().any(|c| !c.is_empty())
    }

    /// Whether the periodic tick runs: some claim that is not [on demand
    /// only](Claim::on_demand_only) could cover an orphan.
    fn scanning(&self) -> bool {
        self.claims
            .values()
            .any(|c| !c.on_demand_only && !c.is_empty())
    }
}

/// The process-wide reaper. See the module docs.
pub struct Reaper {
    registry: Mutex<Registry>,
    /// Serialises orphan scans, so two scans never both act on one snapshot's zombie (the
    /// second could reap a host process that reused the pid). Taken before `registry`.
    scan: Mutex<()>,
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

/// Whether some child of ours (of any thread) is a zombie. Reaps nothing: `WNOWAIT` leaves
/// the child waitable, so a host's child keeps its status for the host.
fn has_zombie_child() -> bool {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value (si_pid 0 means "none").
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes into `info`, a valid siginfo_t we own; WNOWAIT reaps nothing.
    let r = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL,
        )
    };
    // SAFETY: waitid filled `info` (or left it zeroed); si_pid reads the union's pid field,
    // which is set for every child state change.
    r == 0 && unsafe { info.si_pid() } != 0
}

/// SIGKILLs the process `listed` describes, if it is still that process (same pid, start time
/// and session): through a pidfd, checked after it is opened, so a reused pid is never hit.
/// Without a free descriptor for the pidfd, it falls back to `kill(2)` after the same check.
fn kill_listed(listed: &procfs::Stat) {
    let same = || {
        procfs::stat(listed.pid)
            .is_some_and(|now| now.start == listed.start && now.session == listed.session)
    };
    match pidfd_open(listed.pid) {
        Ok(pidfd) => {
            if same() {
                // SAFETY: pidfd_send_signal takes a pidfd we own, a signal number, a null
                // siginfo and flags.
                unsafe {
                    libc::syscall(
                        libc::SYS_pidfd_send_signal,
                        pidfd.as_raw_fd(),
                        libc::SIGKILL,
                        std::ptr::null::<libc::siginfo_t>(),
                        0,
                    )
                };
            }
        }
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
        Err(_) => {
            if same() {
                // SAFETY: kill takes integers; the process was just seen as `listed` (its
                // session pinned by an unreaped leader of ours).
                unsafe { libc::kill(listed.pid, libc::SIGKILL) };
            }
        }
    }
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
            scan: Mutex::new(()),
            wake,
            me: std::process::id() as i32,
        })
    }

    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Whether `pid` is watched (a process of ours: a runc invocation, an init, an exec).
    pub(crate) fn is_watched(&self, pid: i32) -> bool {
        lock(&self.registry).watched.contains_key(&pid)
    }

    /// Starts watching `pid`, a child of this process (or a process about to be reparented to
    /// it), and returns the cell its exit status will be delivered to. Works also if the process
    /// has already exited: it stays a zombie until the reaper collects it.
    pub(crate) fn watch(&self, pid: i32) -> io::Result<Arc<ExitCell>> {
        self.watch_as(pid, false)
    }

    /// The status of `pid` if this reaper reaped it as an orphan at or after `since` (see
    /// `Registry::orphan_exits`).
    pub(crate) fn orphan_exit_since(&self, pid: i32, since: Instant) -> Option<ExitStatus> {
        let reg = lock(&self.registry);
        reg.orphan_exits
            .get(&pid)
            .filter(|(_, at)| *at >= since)
            .map(|(status, _)| *status)
    }

    /// Starts watching `pid`, a process that need not be our child (the init of a container
    /// another host created). Its pidfd says when it exits; if it is our child after all (it
    /// was reparented to this subreaper), the reaper reaps it and delivers the real status,
    /// else it delivers [`ExitStatus::Unknown`]: only the parent learns how a process ended.
    pub(crate) fn watch_foreign(&self, pid: i32) -> io::Result<Arc<ExitCell>> {
        self.watch_as(pid, true)
    }

    fn watch_as(&self, pid: i32, foreign: bool) -> io::Result<Arc<ExitCell>> {
        // Already watched (the same container taken back by the host that made it): one
        // watch, one cell, shared.
        if let Some(w) = lock(&self.registry).watched.get(&pid) {
            return Ok(w.cell.clone());
        }
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

    /// Sends `signal` to the watched process `pid` through its pidfd, so that it reaches
    /// that process and no other, even if it has been reaped and its pid reused. `Ok(false)`
    /// if `pid` is not watched (its exit was already collected) or has exited.
    pub(crate) fn signal(&self, pid: i32, signal: Signal) -> io::Result<bool> {
        let reg = lock(&self.registry);
        let Some(w) = reg.watched.get(&pid) else {
            return Ok(false);
        };
        // SAFETY: pidfd_send_signal takes a pidfd we own (alive while the lock is held), a
        // signal number, a null siginfo and flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                w.pidfd.as_raw_fd(),
                signal.0,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ESRCH) {
            return Ok(false);
        }
        Err(err)
    }

    /// Kills and reaps `pid`, a process runc started for a call that then failed (a time
    /// limit, an unreadable pid file, `pidfd_open` failing), and every process of its session,
    /// so that nothing is left behind. Returns whether it and its session are gone. Does
    /// nothing to a process that is not our child (a pid file from elsewhere). The leader
    /// needs no descriptor: while it is our unreaped child its pid is stable, so plain
    /// `kill(2)` and `waitpid` on it are safe.
    ///
    /// The session (children it forked, and theirs) is killed in rounds, as rule 1 kills a
    /// cgroup: list the session, SIGKILL every member, reap the claimed orphans (the caller
    /// claims the session first), until no member is left, alive or a zombie; bounded by
    /// `timeout`. One listing is not enough: a member that forks between the listing and its
    /// kill leaves a child nobody killed. The leader is reaped only after that, so that while
    /// the rounds run its session id cannot name anyone else's session.
    pub(crate) fn kill_and_reap(&self, pid: i32, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let leader = procfs::stat(pid);
        if let Some(st) = leader {
            if st.ppid != self.me {
                tracing::warn!(pid, ppid = st.ppid, "not our child; left alone");
                return false;
            }
        }
        let watched = lock(&self.registry)
            .watched
            .get(&pid)
            .map(|w| w.cell.clone());
        if watched.is_some() {
            let _ = self.signal(pid, Signal::KILL);
        } else {
            // SAFETY: kill takes integers; `pid` is our unreaped child (or gone: ESRCH).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let session_gone = match leader {
            Some(st) if st.session == pid => self.kill_session(st, deadline),
            _ => true,
        };
        if let Some(cell) = watched {
            // The reaper thread collects it.
            let left = deadline.saturating_duration_since(Instant::now());
            return cell.wait_timeout(left).is_some() && session_gone;
        }
        loop {
            let watched = lock(&self.registry)
                .watched
                .get(&pid)
                .map(|w| w.cell.clone());
            if let Some(cell) = watched {
                let left = deadline.saturating_duration_since(Instant::now());
                return cell.wait_timeout(left).is_some() && session_gone;
            }
            match self.reap_pid(pid).0 {
                Ok(Some(status)) => {
                    tracing::debug!(pid, %status, "killed and reaped after a failed call");
                    return session_gone;
                }
                Ok(None) => {}
                Err(_) => return session_gone, // not (or no longer) our child
            }
            if Instant::now() >= deadline {
                tracing::error!(pid, "a process of a failed call does not go away");
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The rounds of [`kill_and_reap`](Self::kill_and_reap) over the session that `leader`
    /// leads (killed already, not reaped by us). Returns whether the session emptied before
    /// `deadline`.
    ///
    /// While the leader is still there (alive or a zombie, same start time) its session id is
    /// pinned, so every process listed with it is of that session. If someone else reaped it
    /// meanwhile (a scan that claimed it as a process of its container's cgroup), only the
    /// members a claim covers (continuity, see [`Members`]) are killed. Each member is
    /// signalled through a pidfd opened and then checked against the listing, so a pid reused
    /// since the listing is never hit.
    fn kill_session(&self, leader: procfs::Stat, deadline: Instant) -> bool {
        let sid = leader.pid;
        let mut rounds = 0u32;
        loop {
            rounds += 1;
            let pinned = procfs::stat(sid).is_some_and(|s| s.start == leader.start);
            let mut members: Vec<procfs::Stat> = procfs::all_processes()
                .into_iter()
                .filter(|s| s.session == sid && s.pid != sid)
                .collect();
            if !pinned {
                let reg = lock(&self.registry);
                members.retain(|s| reg.claims.values().any(|c| c.covers(s)));
            }
            if members.is_empty() {
                tracing::debug!(sid, rounds, "the session of a failed call is gone");
                return true;
            }
            for m in members.iter().filter(|m| !m.is_zombie()) {
                kill_listed(m);
            }
            // Zombies reparented to us (a shared pid namespace); in a pid namespace of its
            // own, the container's init reaps them.
            self.reap_orphans();
            if Instant::now() >= deadline {
                let left: Vec<i32> = members.iter().map(|m| m.pid).collect();
                tracing::error!(
                    sid,
                    rounds,
                    ?left,
                    "the session of a failed call does not go away"
                );
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
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
    ///
    /// `/proc` is read without the registry lock (it takes milliseconds on a busy machine and
    /// every exit dispatch needs that lock); each candidate is read again under the lock
    /// before it is reaped, so a pid reused meanwhile is left alone.
    pub(crate) fn reap_orphans(&self) -> usize {
        let _scan = lock(&self.scan);
        if !lock(&self.registry).claiming() {
            return 0;
        }
        let snapshot = procfs::all_processes();
        self.claim_daemons(&snapshot);
        let mut reg = lock(&self.registry);
        for c in reg.claims.values_mut() {
            c.refresh(&snapshot);
        }
        let mut reaped = 0;
        for child in &snapshot {
            if child.ppid != self.me || !child.is_zombie() || reg.watched.contains_key(&child.pid) {
                continue;
            }
            if !reg.claims.values().any(|c| c.covers(child)) {
                continue;
            }
            // Still the same zombie child of ours? (Nobody else reaps our claimed children,
            // but check rather than trust: a wrong waitpid takes a host's status.)
            match procfs::stat(child.pid) {
                Some(now) if now == *child => {}
                _ => continue,
            }
            if let Ok(Some(status)) = try_reap(child.pid) {
                tracing::debug!(pid = child.pid, %status, "reaped orphan");
                reaped += 1;
                let now = Instant::now();
                reg.orphan_exits
                    .retain(|_, (_, at)| now.duration_since(*at) < ORPHAN_EXIT_MEMORY);
                reg.orphan_exits.insert(child.pid, (status, now));
                for c in reg.claims.values_mut() {
                    c.forget(child);
                }
            }
        }
        reaped
    }

    /// Claims, by pid, the live children of ours that no claim covers and that are in the
    /// cgroup of a claim's container (daemons reparented to us). Cgroup files are read
    /// without the registry lock.
    fn claim_daemons(&self, snapshot: &[procfs::Stat]) {
        let (candidates, cgroups) = {
            let mut reg = lock(&self.registry);
            let present: BTreeMap<i32, u64> = snapshot.iter().map(|s| (s.pid, s.start)).collect();
            reg.foreign.retain(|p, t| present.get(p) == Some(t));
            let cgroups: Vec<(u64, String)> = reg
                .claims
                .iter()
                .filter_map(|(id, c)| Some((*id, c.cgroup.clone()?)))
                .collect();
            if cgroups.is_empty() {
                return;
            }
            let candidates: Vec<procfs::Stat> = snapshot
                .iter()
                .filter(|s| s.ppid == self.me && !s.is_zombie())
                .filter(|s| !reg.watched.contains_key(&s.pid))
                .filter(|s| reg.foreign.get(&s.pid) != Some(&s.start))
                .filter(|s| !reg.claims.values().any(|c| c.covers(s)))
                .copied()
                .collect();
            (candidates, cgroups)
        };
        if candidates.is_empty() {
            return;
        }
        let found: Vec<(procfs::Stat, Option<u64>)> = candidates
            .into_iter()
            .map(|s| {
                let cg = procfs::cgroup(s.pid);
                let owner = cgroups
                    .iter()
                    .find(|(_, c)| cg.as_deref() == Some(c.as_str()))
                    .map(|(id, _)| *id);
                (s, owner)
            })
            .collect();
        let mut reg = lock(&self.registry);
        for (s, owner) in found {
            // Same process still? (Its start time was read with the cgroup's pid.)
            if procfs::stat(s.pid).map(|n| n.start) != Some(s.start) {
                continue;
            }
            match owner.and_then(|id| reg.claims.get_mut(&id)) {
                Some(c) => {
                    tracing::debug!(pid = s.pid, "claimed a daemon of a container");
                    c.pids.insert(s.pid, s.start);
                }
                None => {
                    reg.foreign.insert(s.pid, s.start);
                }
            }
        }
    }

    /// Whether any process that `claim` covers is still present (alive or a zombie), as of a
    /// fresh read of `/proc`.
    fn claim_has_processes(&self, id: u64) -> bool {
        let snapshot = procfs::all_processes();
        let reg = lock(&self.registry);
        reg.claims
            .get(&id)
            .is_some_and(|c| snapshot.iter().any(|s| c.covers(s)))
    }

    fn run(&self) {
        let mut last_scan = Instant::now();
        let mut last_full = Instant::now();
        let mut last_children = None;
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
                (fds, pids, reg.scanning())
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
                let children = procfs::own_children();
                let due = children.is_none()
                    || children != last_children
                    || last_full.elapsed() >= FULL_SCAN_INTERVAL
                    || has_zombie_child();
                if due {
                    last_full = Instant::now();
                    last_children = children;
                    self.reap_orphans();
                }
            }
        }
    }

    /// `waitpid(pid, WNOHANG)` for a process we reap by pid (watched, or killed after a
    /// failed call), with the watch removed if it was reaped. If `pid` leads a claimed
    /// session or group, the claims are first brought up to date from a fresh read of `/proc`
    /// while it is still unreaped (its id pinned), so that the members it leaves behind stay
    /// covered once it is gone (see [`Members`]).
    fn reap_pid(&self, pid: i32) -> (io::Result<Option<ExitStatus>>, Option<Watch>) {
        let leads = lock(&self.registry)
            .claims
            .values()
            .any(|c| c.sessions.contains_key(&pid) || c.groups.contains_key(&pid));
        let _scan = leads.then(|| lock(&self.scan));
        let snapshot = if leads {
            procfs::all_processes()
        } else {
            Vec::new()
        };
        let mut reg = lock(&self.registry);
        if leads {
            for c in reg.claims.values_mut() {
                c.refresh(&snapshot);
            }
        }
        let r = try_reap(pid);
        if !matches!(r, Ok(None)) {
            if let Some(leader) = snapshot.iter().find(|s| s.pid == pid) {
                for c in reg.claims.values_mut() {
                    c.forget(leader);
                }
            }
            return (r, reg.watched.remove(&pid));
        }
        (r, None)
    }

    fn collect(&self, pid: i32) {
        let (status, watch) = match self.reap_pid(pid) {
            (Ok(None), _) => return,
            (Ok(Some(status)), w) => {
                tracing::trace!(pid, %status, "reaped");
                (status, w)
            }
            (Err(err), w) => {
                // Not our child (or already reaped by someone doing a blind waitpid(-1), which
                // the crate docs forbid). The status is lost; report the process as killed so
                // that waiters do not hang.
                if w.as_ref().is_some_and(|w| w.foreign) && err.raw_os_error() == Some(libc::ECHILD)
                {
                    tracing::debug!(
                        pid,
                        "a process that is not our child exited; its status is unknown"
                    );
                    (ExitStatus::Unknown, w)
                } else {
                    tracing::error!(pid, error = %err, "cannot reap a watched process; its exit status is lost");
                    (ExitStatus::Signaled(Signal::KILL), w)
                }
            }
        };
        // Outside the lock: exit callbacks may end relays. The pidfd is closed first, so that
        // a waiter resumes with it gone (a slot freed after it resumed could sit below the
        // descriptors it reserves next).
        if let Some(Watch { pidfd, cell, .. }) = watch {
            drop(pidfd);
            cell.set(status);
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

    /// Takes this claim out of the periodic orphan scans; it is still looked at by every scan
    /// made on demand (an init's exit, delete, a killed exec). For a container that owns its
    /// pid namespace and that this process created: none of its processes is ever reparented
    /// to us but the ones we watch by pidfd (init, and each exec once its `runc exec` is gone).
    /// An orphan inside the namespace goes to the namespace's init, never to a subreaper
    /// outside it, and when init dies the kernel kills and reaps everything left in the
    /// namespace. A periodic scan could find nothing of such a container; without it, a
    /// process of the layer whose containers all own their pid namespace (a shim, the common
    /// case) does nothing at all while they run. Not for a container taken back from a dead
    /// host: the processes of that host's `runc exec`s come to us unwatched.
    pub fn on_demand_only(&self) {
        self.edit(|c| c.on_demand_only = true);
    }

    /// Puts this claim back into the periodic orphan scans, and scans at once: after a failed or timed-out
    /// `runc exec`, a process it started may have come to us without our watching it, and
    /// only a scan reaps it (an unreaped zombie in a pid namespace keeps the namespace's init
    /// from finishing its exit).
    pub fn scan_periodically(&self) {
        self.edit(|c| c.on_demand_only = false);
        self.reaper.wake();
        // A scan now as well: the live processes it finds in the container's cgroup are
        // claimed while they are alive (a zombie's cgroup no longer says whose it was).
        self.reaper.reap_orphans();
    }

    /// Covers every process of session `sid`, whose leader (a container process we created)
    /// exists now, for as long as the session goes on (see [`Members`]).
    pub fn add_session(&self, sid: i32) {
        if let Some(st) = procfs::stat(sid) {
            self.edit(|c| {
                c.sessions.insert(sid, BTreeMap::from([(sid, st.start)]));
            });
        }
    }

    /// Covers every process of process group `pgid`, whose leader (a runc invocation we are
    /// killing) exists now, for as long as the group goes on.
    pub fn add_group(&self, pgid: i32) {
        if let Some(st) = procfs::stat(pgid) {
            self.edit(|c| {
                c.groups.insert(pgid, BTreeMap::from([(pgid, st.start)]));
            });
        }
    }

    /// Covers these processes (listed in a container's cgroup), each by pid and start time as
    /// read now: a later process that reuses one of the pids is not covered. Returns the
    /// processes covered (those that still existed).
    pub fn add_pids(&self, pids: &[i32]) -> Vec<procfs::Stat> {
        let found: Vec<procfs::Stat> = pids.iter().filter_map(|p| procfs::stat(*p)).collect();
        self.edit(|c| {
            for s in &found {
                c.pids.insert(s.pid, s.start);
            }
        });
        found
    }

    /// Covers, from the next scan on, the live children of ours found in the cgroup that
    /// `pid` (the container's init, alive now) is in: daemons that left the container's
    /// sessions.
    pub fn add_cgroup_of(&self, pid: i32) {
        if let Some(cg) = procfs::cgroup(pid) {
            self.edit(|c| c.cgroup = Some(cg));
        }
    }

    /// Reaps the zombie children of ours in the pid namespace of `init` (a taken-back
    /// container's init that owns its namespace and is exiting). They are the execs of the
    /// dead host that created the container, reparented to us; the kernel cannot finish the
    /// namespace's init while they are unreaped, so its `wait` would never return. Only
    /// processes inside that namespace are taken (a host's own children are not in it), and
    /// only by pid and start time as read now.
    pub fn reap_namespace_zombies_of(&self, init: i32) {
        let Ok(ns) = std::fs::read_link(format!("/proc/{init}/ns/pid")) else {
            return;
        };
        let me = std::process::id() as i32;
        let in_ns: Vec<i32> = procfs::children_of(me)
            .into_iter()
            .filter(|c| c.is_zombie() && c.pid != init)
            .filter(|c| {
                std::fs::read_link(format!("/proc/{}/ns/pid", c.pid)).is_ok_and(|l| l == ns)
            })
            .map(|c| c.pid)
            .collect();
        if !in_ns.is_empty() {
            tracing::debug!(pids = ?in_ns, "reaping a dead host's zombies in an exiting namespace");
            self.add_pids(&in_ns);
            self.reaper.reap_orphans();
        }
    }

    /// Whether this claim covers `s` (as of the last scan).
    pub fn covers(&self, s: &procfs::Stat) -> bool {
        let reg = lock(&self.reaper.registry);
        reg.claims.get(&self.id).is_some_and(|c| c.covers(s))
    }

    /// Whether any process this claim covers is still present (alive or a zombie).
    pub fn has_processes(&self) -> bool {
        self.reaper.claim_has_processes(self.id)
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
