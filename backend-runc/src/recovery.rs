//! Recovery after a host dies: taking back a container another host created on the same state
//! ([`Runtime::open_container`](runtime_api::Runtime::open_container)), removing one with only
//! its id ([`Runtime::force_delete`](runtime_api::Runtime::force_delete)), and never letting a
//! stale state directory block an id.
//!
//! # What a dead host leaves
//! - A state directory `<state_dir>/<id>` (init and exec pid files). While a host creates a
//!   container it holds the directory's `flock`; the kernel drops it when the host dies, so
//!   "locked" means "a live host is creating it".
//! - Possibly a `runc create` still running (orphaned): runc's own directory `<root>/<id>`
//!   exists but has no `state.json` yet. Recovery waits for it to finish or fail.
//! - Containers runc knows, running or stopped, whose processes were reparented to the nearest
//!   child subreaper (or pid 1): a pidfd tells this host when such an init exits; `waitpid`
//!   tells how only if the process is its child (it was reparented to this subreaper).
//!
//! # Stale directories
//! A state directory is stale when nobody holds its lock and runc does not know the id (or
//! knows it with its init dead): `create` logs it, removes it (and runc's stopped container)
//! and goes on; `open_container` and `force_delete` of such an id remove it too.

use std::collections::BTreeSet;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime_api::oci_spec::runtime::Spec;
use runtime_api::{
    owns_pid_namespace, validate_container_id, ContainerState, Error, ErrorKind, ExitStatus,
    Result, Signal, Status,
};

use crate::command::{Command, DeleteOpts, KillOpts};
use crate::container::{RuncContainer, Setup, Shared};
use crate::process::ProcCore;
use crate::reaper::{Claim, ExitCell, Reaper};
use crate::runtime::RuncRuntime;
use crate::statedir::{read_pid, DirLock, StateDir};
use crate::{procfs, state};

/// How long recovery waits for the processes of a container to be gone.
const GONE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `create` waits for the lock of a fresh state directory (held only by a recovery
/// that is judging it, briefly).
const FRESH_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

impl RuncRuntime {
    fn reaper(&self, id: &str) -> Result<&'static Reaper> {
        Reaper::global().map_err(|e| Error::for_container(ErrorKind::Backend, id, e.to_string()))
    }

    fn backend_err(id: &str, what: &str, e: impl std::fmt::Display) -> Error {
        Error::for_container(ErrorKind::Backend, id, format!("{what}: {e}"))
    }

    /// `runc state`, with `None` for an id runc does not know. Waits first for a `runc create`
    /// of this id still in flight (runc's directory without `state.json`), bounded by the
    /// command time limit.
    fn runc_state(&self, id: &str) -> Result<Option<ContainerState>> {
        let runc_dir = self.runc.root().join(id);
        let deadline = Instant::now() + self.config.command_timeout();
        self.wait_foreign_invocations(id, deadline);
        while runc_dir.is_dir()
            && !runc_dir.join("state.json").exists()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        match self.runc.run(&Command::State { id: id.to_string() }) {
            Ok(out) => state::parse_state(id, &out.stdout).map(Some),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits (until `deadline`) for runc invocations on container `id` under our runc root
    /// that this process did not start: a dead host's `runc create`/`exec`/`delete` still in
    /// flight, which could otherwise add to the container after recovery looked at it.
    fn wait_foreign_invocations(&self, id: &str, deadline: Instant) {
        let Ok(reaper) = Reaper::global() else {
            return;
        };
        let root = self.runc.root().as_os_str().to_string_lossy().into_owned();
        loop {
            let foreign: Vec<i32> = procfs::all_processes()
                .into_iter()
                .filter(|s| !s.is_zombie() && !reaper.is_watched(s.pid))
                .filter(|s| {
                    let argv = procfs::cmdline(s.pid);
                    argv.first().is_some_and(|a| a.ends_with("runc"))
                        && argv.windows(2).any(|w| w[0] == "--root" && w[1] == root)
                        && argv.last().is_some_and(|a| a == id)
                })
                .map(|s| s.pid)
                .collect();
            if foreign.is_empty() || Instant::now() >= deadline {
                if !foreign.is_empty() {
                    tracing::warn!(
                        container.id = id,
                        ?foreign,
                        "runc invocations of another host still running"
                    );
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The state directory for a new container `id`, created and locked. An existing one that
    /// is stale (see the module docs) is logged and removed first; one that a live host holds,
    /// or that belongs to a container runc runs, gives `AlreadyExists`.
    pub(crate) fn claim_state_dir(&self, id: &str) -> Result<(StateDir, DirLock)> {
        let base = &self.config.state_dir;
        for _ in 0..5 {
            match StateDir::create(base, id) {
                Ok(dir) => match dir.lock(FRESH_LOCK_TIMEOUT) {
                    Ok(Some(lock)) => return Ok((dir, lock)),
                    // Removed (judged stale) by a recovery between our mkdir and our lock:
                    // start again.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Ok(None) => {
                        return Err(Error::for_container(
                            ErrorKind::AlreadyExists,
                            id,
                            "another host holds the lock of the new state directory",
                        ))
                    }
                    Err(e) => return Err(Self::backend_err(id, "locking the state directory", e)),
                },
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let Some(dir) = StateDir::existing(base, id) else {
                        continue;
                    };
                    let lock = match dir.lock(Duration::ZERO) {
                        Ok(Some(lock)) => lock,
                        Ok(None) => {
                            return Err(Error::for_container(
                                ErrorKind::AlreadyExists,
                                id,
                                "another host is creating a container with this id",
                            ))
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => {
                            return Err(Self::backend_err(id, "locking the state directory", e))
                        }
                    };
                    match self.runc_state(id)? {
                        Some(st) if st.status != Status::Stopped => {
                            return Err(Error::for_container(
                                ErrorKind::AlreadyExists,
                                id,
                                format!("a container with this id is {}", st.status),
                            ))
                        }
                        known => {
                            tracing::warn!(
                                container.id = id,
                                dir = %dir.path().display(),
                                runc_knows = known.is_some(),
                                "removing a stale state directory left by a dead host"
                            );
                            if let Some(st) = known {
                                self.remove_known(id, &st, Some(&dir))?;
                            }
                            dir.remove().map_err(|e| {
                                Self::backend_err(id, "removing a stale state directory", e)
                            })?;
                            drop(lock);
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::for_container(
            ErrorKind::AlreadyExists,
            id,
            "the state directory keeps being recreated by another host",
        ))
    }

    /// A claim covering the processes a dead host's container may have left: the sessions of
    /// its init and of its execs (pid files in `dir`).
    fn claim_for(
        &self,
        id: &str,
        init_pid: i32,
        dir: Option<&StateDir>,
    ) -> Result<(Claim, BTreeSet<i32>, u64)> {
        let claim = self.reaper(id)?.claim();
        let (exec_pids, max_exec) = dir.map(StateDir::exec_pids).unwrap_or_default();
        let mut sessions: BTreeSet<i32> = exec_pids.into_iter().collect();
        if init_pid > 0 {
            sessions.insert(init_pid);
        }
        for s in &sessions {
            claim.add_session(*s);
        }
        Ok((claim, sessions, max_exec))
    }

    /// Kills every process of a container runc knows, waits until they are gone (reaping
    /// those that are our children), then `runc delete --force`. The state directory is the
    /// caller's.
    fn remove_known(&self, id: &str, st: &ContainerState, dir: Option<&StateDir>) -> Result<()> {
        let init_pid = dir
            .and_then(|d| read_pid(&d.init_pid_file()).ok())
            .unwrap_or(st.pid);
        let (claim, mut sessions, _) = self.claim_for(id, init_pid, dir)?;
        // The container's own pid namespace, if it has one: every zombie child of ours in it
        // is the container's (a dead host's half-done exec, say), and its init cannot finish
        // dying until they are reaped.
        let ns_of = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/pid")).ok();
        let own_ns = ns_of(&init_pid.to_string()).filter(|ns| Some(ns) != ns_of("self").as_ref());
        if st.status == Status::Paused {
            // A frozen cgroup cannot act on SIGKILL; thaw it first.
            if let Err(e) = self.runc.run(&Command::Resume { id: id.to_string() }) {
                tracing::warn!(container.id = id, error = %e, "resuming before a forced delete");
            }
        }
        // Kill and wait in rounds until the cgroup is empty: a `runc exec` of the dead host
        // still in flight may add a process after a round's kill.
        let deadline = Instant::now() + GONE_TIMEOUT;
        let mut first = true;
        loop {
            let mut listed = match self.runc.run(&Command::Ps { id: id.to_string() }) {
                Ok(out) => state::parse_ps(id, &out.stdout).unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            if st.pid > 0 {
                listed.push(st.pid);
            }
            let live: Vec<i32> = listed
                .iter()
                .copied()
                .filter(|p| procfs::stat(*p).is_some_and(|s| !s.is_zombie()))
                .collect();
            if live.is_empty() && !first {
                break;
            }
            let covered = claim.add_pids(&listed);
            // Sessions made since the claim: execs whose `runc exec` (of a dead host) ended
            // after we looked (their pid files), and session leaders in the cgroup. Their
            // zombies must be reaped, or a pid-namespace init cannot finish dying.
            let leaders = covered.iter().filter(|s| s.session == s.pid).map(|s| s.pid);
            let from_files = dir.map(|d| d.exec_pids().0).unwrap_or_default();
            for sid in leaders.chain(from_files) {
                if sessions.insert(sid) {
                    claim.add_session(sid);
                }
            }
            if !first && !live.is_empty() {
                // A round's `kill --all` left these alive (runc may judge the container
                // stopped while a dead host's `runc exec` is half done): kill them directly,
                // each only if it is still the process listed (same start time).
                for s in covered.iter().filter(|s| live.contains(&s.pid)) {
                    if procfs::stat(s.pid).is_some_and(|now| now.start == s.start) {
                        tracing::warn!(
                            container.id = id,
                            pid = s.pid,
                            "killing a process kill --all missed"
                        );
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(s.pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            }
            if !live.is_empty() {
                match self.runc.run(&Command::Kill(KillOpts {
                    id: id.to_string(),
                    signal: Signal::KILL,
                    all: true,
                })) {
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), ErrorKind::NotRunning | ErrorKind::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            let round = (Instant::now() + Duration::from_millis(500)).min(deadline);
            if let Err(alive) = wait_gone(&claim, &listed, &sessions, own_ns.as_deref(), round) {
                if Instant::now() < deadline {
                    first = false;
                    continue;
                }
                let seen: Vec<String> = alive
                    .iter()
                    .map(|p| {
                        format!(
                            "{p} {:?} {:?} {:?} {:?}",
                            procfs::stat(*p).map(|s| s.state),
                            procfs::cmdline(*p),
                            std::fs::read_to_string(format!("/proc/{p}/status"))
                                .ok()
                                .map(|t| t
                                    .lines()
                                    .filter(|l| l.starts_with("Sig")
                                        || l.starts_with("NSpid")
                                        || l.starts_with("PPid"))
                                    .collect::<Vec<_>>()
                                    .join(";")),
                            std::fs::read_to_string(format!(
                                "/sys/fs/cgroup/freezer/{id}/freezer.state"
                            ))
                        )
                    })
                    .collect();
                let me = std::process::id() as i32;
                let zombies: Vec<(i32, i32, i32, i32)> = procfs::all_processes()
                    .into_iter()
                    .filter(|s| s.is_zombie())
                    .map(|s| (s.pid, s.ppid, s.session, s.pgrp))
                    .collect();
                return Err(Error::for_container(
                    ErrorKind::Backend,
                    id,
                    format!("processes still alive after kill --all: {seen:?}; me {me}; zombies (pid, ppid, sid, pgrp) {zombies:?}"),
                ));
            }
            first = false;
        }
        match self.runc.run(&Command::Delete(DeleteOpts {
            id: id.to_string(),
            force: true,
        })) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        // runc delete can leave our zombies behind (a killed init that is our child).
        let _ = wait_gone(
            &claim,
            &[],
            &sessions,
            own_ns.as_deref(),
            Instant::now() + Duration::from_secs(2),
        );
        Ok(())
    }

    /// See [`Runtime::force_delete`](runtime_api::Runtime::force_delete).
    pub(crate) fn force_remove(&self, id: &str) -> Result<()> {
        validate_container_id(id)?;
        let span = tracing::info_span!("container.force_delete", container.id = %id);
        let _e = span.enter();
        let dir = StateDir::existing(&self.config.state_dir, id);
        let _lock = match &dir {
            None => None,
            // A live host creating the container holds the lock until its create ends (runc
            // calls are bounded by the time limit): wait for it, then delete what it made.
            Some(d) => match d.lock(self.config.command_timeout() * 3) {
                Ok(Some(lock)) => Some(lock),
                Ok(None) => {
                    return Err(Error::for_container(
                        ErrorKind::Timeout,
                        id,
                        "a live host is still creating the container; not deleting half of it",
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(Self::backend_err(id, "locking the state directory", e)),
            },
        };
        let dir = dir.filter(|d| d.path().is_dir());
        let known = self.runc_state(id)?;
        if known.is_none() && dir.is_none() {
            return Err(Error::for_container(
                ErrorKind::NotFound,
                id,
                "neither runc nor the state directory knows this container",
            ));
        }
        if let Some(st) = &known {
            self.remove_known(id, st, dir.as_ref())?;
        } else {
            tracing::warn!(container.id = id, "removing a stale state directory");
        }
        if let Some(d) = &dir {
            d.remove()
                .map_err(|e| Self::backend_err(id, "removing the state directory", e))?;
        }
        tracing::info!("force-deleted");
        Ok(())
    }

    /// See [`Runtime::open_container`](runtime_api::Runtime::open_container).
    pub(crate) fn take_back(&self, id: &str) -> Result<RuncContainer> {
        validate_container_id(id)?;
        let span = tracing::info_span!("container.open", container.id = %id);
        let _e = span.enter();
        let base = &self.config.state_dir;
        let Some(st) = self.runc_state(id)? else {
            if let Some(dir) = StateDir::existing(base, id) {
                if let Ok(Some(_lock)) = dir.lock(Duration::ZERO) {
                    tracing::warn!(container.id = id, "removing a stale state directory");
                    if let Err(e) = dir.remove() {
                        tracing::warn!(error = %e, "removing a stale state directory");
                    }
                }
            }
            return Err(Error::for_container(
                ErrorKind::NotFound,
                id,
                "runc does not know this container",
            ));
        };
        let dir = match StateDir::existing(base, id) {
            Some(d) => d,
            None => match StateDir::create(base, id) {
                Ok(d) => d,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => StateDir::existing(base, id)
                    .ok_or_else(|| {
                        Self::backend_err(id, "state directory", "vanished while opening")
                    })?,
                Err(e) => return Err(e),
            },
        };
        let reaper = self.reaper(id)?;
        let me = std::process::id() as i32;
        let file_pid = read_pid(&dir.init_pid_file()).ok();
        let pid = if st.pid > 0 {
            st.pid
        } else {
            file_pid.unwrap_or(0)
        };
        let our_zombie = |p: i32| procfs::stat(p).is_some_and(|s| s.ppid == me && s.is_zombie());
        let cell = if (st.status != Status::Stopped && st.pid > 0) || (pid > 0 && our_zombie(pid)) {
            match reaper.watch_foreign(pid) {
                Ok(cell) => cell,
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                    ExitCell::done(ExitStatus::Unknown)
                }
                Err(e) => {
                    return Err(Self::backend_err(
                        id,
                        &format!("watching init pid {pid}"),
                        e,
                    ))
                }
            }
        } else {
            ExitCell::done(ExitStatus::Unknown)
        };
        let owns = self.owns_pid_namespace_of(id, &st, pid);
        let (claim, _, max_exec) = self.claim_for(id, pid, Some(&dir))?;
        let init = Arc::new(ProcCore::new(pid, cell, None));
        let shared = Shared::new(Setup {
            id: id.to_string(),
            runc: self.runc.clone(),
            dir,
            owns_pid_namespace: owns,
            relay_config: self.relay_config.clone(),
            socket_base: self.config.state_dir.clone(),
            init,
            claim,
            taken_back: true,
        });
        shared.skip_exec_numbers(max_exec);
        tracing::info!(pid, status = %st.status, owns_pid_namespace = owns, "taken back");
        Ok(RuncContainer {
            shared: Arc::new(shared),
        })
    }

    /// Rule 1's decision for a taken-back container: from its bundle's spec; if the bundle is
    /// gone, whether init's pid namespace differs from ours (a guess, logged).
    fn owns_pid_namespace_of(&self, id: &str, st: &ContainerState, pid: i32) -> bool {
        let config = std::path::Path::new(&st.bundle).join("config.json");
        match Spec::load(&config) {
            Ok(spec) => owns_pid_namespace(&spec),
            Err(e) => {
                let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/pid")).ok();
                let own =
                    pid > 0 && ns(&pid.to_string()).is_some() && ns(&pid.to_string()) != ns("self");
                tracing::warn!(container.id = id, error = %e, guessed_owns = own, "bundle spec unreadable; guessing the pid namespace ownership from init's namespace");
                own
            }
        }
    }
}

/// Waits until no pid of `listed` is alive and no zombie child of ours from `sessions` or
/// `listed` is left, reaping those (the claim covers them) meanwhile. `Err` with the pids
/// still alive at the deadline. A zombie that is not our child is gone as far as the
/// container goes (its parent reaps it).
fn wait_gone(
    claim: &Claim,
    listed: &[i32],
    sessions: &BTreeSet<i32>,
    ns: Option<&std::path::Path>,
    deadline: Instant,
) -> std::result::Result<(), Vec<i32>> {
    let reaper = claim.reaper();
    let me = std::process::id() as i32;
    loop {
        if let Some(ns) = ns {
            let in_ns: Vec<i32> = procfs::children_of(me)
                .into_iter()
                .filter(|c| c.is_zombie())
                .filter(|c| {
                    std::fs::read_link(format!("/proc/{}/ns/pid", c.pid)).is_ok_and(|l| l == ns)
                })
                .map(|c| c.pid)
                .collect();
            claim.add_pids(&in_ns);
        }
        reaper.reap_orphans();
        let alive: Vec<i32> = listed
            .iter()
            .copied()
            .filter(|p| procfs::stat(*p).is_some_and(|s| !s.is_zombie()))
            .collect();
        let zombies = procfs::children_of(me)
            .into_iter()
            .any(|c| c.is_zombie() && (sessions.contains(&c.session) || listed.contains(&c.pid)));
        if alive.is_empty() && !zombies {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(alive);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
