//! A runc container: the [`Container`] (and init [`Process`]) implementation, with rule 1 on
//! init's exit.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use runtime_api::oci_spec::runtime::{LinuxResources, Process as OciProcess};
use runtime_api::{
    ConsoleSize, Container, ContainerState, Error, ErrorKind, ExitStatus, Process, ProcessInfo,
    RelayReport, Result, Signal, StdioSet,
};
use stdio::RelayConfig;

use crate::command::{Command, DeleteOpts, ExecOpts, KillOpts};
use crate::invocation::{ChildIo, Runc};
use crate::io_setup::Prepared;
use crate::process::{lock, ExecProcess, ProcCore};
use crate::reaper::{Claim, ExitCell};
use crate::reserve::{read_small_file_in_helper, FdReserve};
use crate::statedir::{parse_pid, read_pid, StateDir};
use crate::{procfs, state};

/// How long rule 1 waits for the killed processes of a container to be gone and reaped.
const SIBLINGS_GONE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a container's objects share.
pub(crate) struct Shared {
    pub id: String,
    pub runc: Arc<Runc>,
    pub dir: StateDir,
    /// Decided once at create from the bundle's spec (rule 1).
    pub owns_pid_namespace: bool,
    pub relay_config: RelayConfig,
    pub socket_base: std::path::PathBuf,
    pub init: Arc<ProcCore>,
    /// Exec processes not deleted yet.
    execs: Mutex<Vec<Arc<ProcCore>>>,
    /// `true` once init's exit has been seen by `wait`: execs are refused from then on. Execs
    /// hold it for reading while they run `runc exec`, so the rule-1 pass sees every exec.
    init_exited: RwLock<bool>,
    next_exec: AtomicU64,
    claim: Claim,
    /// Taken back from a host that died: its init's `wait` reaps that host's zombies in the
    /// container's pid namespace (see [`Claim::reap_namespace_zombies_of`]).
    taken_back: bool,
}

/// What a new container is made of (see [`Shared::new`]).
pub(crate) struct Setup {
    pub id: String,
    pub runc: Arc<Runc>,
    pub dir: StateDir,
    pub owns_pid_namespace: bool,
    pub relay_config: RelayConfig,
    pub socket_base: std::path::PathBuf,
    pub init: Arc<ProcCore>,
    pub claim: Claim,
    /// Taken back from a host that died (see `recovery`).
    pub taken_back: bool,
}

impl Shared {
    pub fn new(s: Setup) -> Shared {
        // A container taken back from a dead host is not: the `runc exec`s of that host died
        // with it, and their processes (in the namespace, but children of `runc exec`, outside
        // it) were reparented to us without our watching them.
        if s.owns_pid_namespace && !s.taken_back {
            s.claim.on_demand_only();
        }
        s.claim.add_session(s.init.pid);
        s.claim.add_cgroup_of(s.init.pid);
        Shared {
            id: s.id,
            runc: s.runc,
            dir: s.dir,
            owns_pid_namespace: s.owns_pid_namespace,
            relay_config: s.relay_config,
            socket_base: s.socket_base,
            init: s.init,
            execs: Mutex::new(Vec::new()),
            init_exited: RwLock::new(false),
            next_exec: AtomicU64::new(1),
            claim: s.claim,
            taken_back: s.taken_back,
        }
    }

    /// Makes exec numbers start after `n`: the state directory of a taken-back container holds
    /// the files of the execs of the host that created it.
    pub fn skip_exec_numbers(&self, n: u64) {
        self.next_exec.store(n + 1, Ordering::Relaxed);
    }

    pub fn forget_exec(&self, core: &Arc<ProcCore>) {
        lock(&self.execs).retain(|e| !Arc::ptr_eq(e, core));
    }

    /// After a timed-out `runc exec`: kills and reaps the process it may have started (found
    /// through the pid file) and every process of its session (see [`Reaper::kill_and_reap`]),
    /// which is claimed first so that its orphans are reaped.
    ///
    /// [`Reaper::kill_and_reap`]: crate::reaper::Reaper::kill_and_reap
    fn kill_started(&self, pid_file: &std::path::Path) {
        let Ok(pid) = read_pid(pid_file) else {
            return;
        };
        self.claim.add_session(pid);
        let reaper = self.claim.reaper();
        if reaper.kill_and_reap(pid, SIBLINGS_GONE_TIMEOUT) {
            tracing::info!(
                exec.pid = pid,
                "killed the process of a timed-out exec and its session"
            );
        }
        reaper.reap_orphans();
    }

    fn exec_pids(&self) -> BTreeSet<i32> {
        lock(&self.execs).iter().map(|e| e.pid).collect()
    }

    fn err(&self, kind: ErrorKind, msg: impl Into<String>) -> Error {
        Error::for_container(kind, &self.id, msg)
    }

    fn check_not_deleted(&self) -> Result<()> {
        if self.init.deleted.load(Ordering::SeqCst) {
            return Err(self.err(ErrorKind::NotFound, "the container was deleted"));
        }
        Ok(())
    }

    fn init_has_exited(&self) -> bool {
        self.init.exit.get().is_some()
            || *self.init_exited.read().unwrap_or_else(|e| e.into_inner())
    }

    fn ps(&self) -> Result<Vec<i32>> {
        let out = self.runc.run(&Command::Ps {
            id: self.id.clone(),
        })?;
        state::parse_ps(&self.id, &out.stdout)
    }

    fn kill_all(&self, signal: Signal) {
        let kill = Command::Kill(KillOpts {
            id: self.id.clone(),
            signal,
            all: true,
        });
        match self.runc.run(&kill) {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::NotRunning | ErrorKind::NotFound) => {}
            Err(e) => {
                tracing::error!(error = %e, signal = signal.0, "kill --all after init exit failed")
            }
        }
    }

    /// Rule 1 for a container that does not own its pid namespace: kill every process of its
    /// cgroup and reap what is ours, until the cgroup is empty and nothing of it is a zombie;
    /// bounded by `deadline`.
    ///
    /// Each round first stops every process of the cgroup (`kill --all STOP`: runc freezes
    /// the cgroup, signals each task, thaws), so that none can fork between the listing and
    /// the kill; then lists them (`ps`), claims each listed process (by pid and start time),
    /// kills them all (`kill --all KILL`) and reaps the claimed zombies. Processes that a
    /// round missed (a `ps` that failed, a fork racing the stop) are found by the next one.
    /// Only an empty listing from a `ps` that succeeded ends the rounds.
    fn kill_siblings(&self, deadline: Instant) {
        let mut rounds = 0u32;
        loop {
            rounds += 1;
            self.kill_all(Signal::STOP);
            let listed = match self.ps() {
                Ok(l) => l,
                Err(e) => {
                    if Instant::now() >= deadline {
                        tracing::error!(error = %e, rounds, "runc ps keeps failing after init exit; giving up");
                        self.kill_all(Signal::KILL);
                        return;
                    }
                    // The processes stay stopped (and unkilled, so none becomes a zombie
                    // nobody claimed) until a listing succeeds.
                    tracing::warn!(error = %e, "runc ps after init exit failed; retrying");
                    self.claim.reaper().reap_orphans();
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            };
            let listed: Vec<i32> = listed.into_iter().filter(|p| *p != self.init.pid).collect();
            let claimed = self.claim.add_pids(&listed);
            if listed.is_empty() {
                break;
            }
            self.kill_all(Signal::KILL);
            if !self.reap_until_gone(&claimed, deadline) {
                return;
            }
        }
        // Orphans of the container's sessions that exited earlier.
        self.claim.reaper().reap_orphans();
        tracing::debug!(rounds, "container's cgroup is empty");
    }

    /// Waits until every process of `claimed` is gone, reaping orphans (zombie children of
    /// ours that this container's claim covers) meanwhile; bounded by `deadline`. Returns
    /// whether they all went.
    fn reap_until_gone(&self, claimed: &[procfs::Stat], deadline: Instant) -> bool {
        let reaper = self.claim.reaper();
        loop {
            reaper.reap_orphans();
            let left: Vec<i32> = claimed
                .iter()
                .filter(|c| procfs::stat(c.pid).is_some_and(|now| now.start == c.start))
                .map(|c| c.pid)
                .collect();
            if left.is_empty() {
                return true;
            }
            if Instant::now() >= deadline {
                tracing::error!(?left, "container processes still present after kill --all");
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// `wait` for init: the exit, then rule 1, then the execs' exits, then the relay. All of
    /// it after the exit is bounded by one [`SIBLINGS_GONE_TIMEOUT`].
    pub fn wait_init(&self) -> ExitStatus {
        if self.taken_back && self.owns_pid_namespace {
            // The dead host's execs are our children now; once the init is exiting, their
            // zombies must be reaped for the namespace (and so the init) to end.
            while self
                .init
                .exit
                .wait_timeout(Duration::from_millis(50))
                .is_none()
            {
                if procfs::is_exiting(self.init.pid) {
                    self.claim.reap_namespace_zombies_of(self.init.pid);
                }
            }
        }
        self.init.wait_with(|status| {
            let span = tracing::info_span!("init.exit", container.id = %self.id, pid = self.init.pid, %status);
            let _e = span.enter();
            let deadline = Instant::now() + SIBLINGS_GONE_TIMEOUT;
            // No exec may start from now on; in-flight ones finish first.
            *self.init_exited.write().unwrap_or_else(|e| e.into_inner()) = true;
            if self.owns_pid_namespace {
                tracing::debug!("container owns its pid namespace: the kernel kills it; no kill --all");
            } else {
                self.kill_siblings(deadline);
            }
            // The exits of execs are reported before init's.
            let execs: Vec<Arc<ProcCore>> = lock(&self.execs).clone();
            for e in execs {
                let left = deadline.saturating_duration_since(Instant::now());
                if e.exit.wait_timeout(left).is_none() {
                    tracing::error!(pid = e.pid, "exec still running after init exit");
                }
            }
        })
    }

    fn processes(&self, with_zombies: bool) -> Result<Vec<ProcessInfo>> {
        self.check_not_deleted()?;
        let listed = self.ps()?;
        let created: BTreeSet<i32> = std::iter::once(self.init.pid)
            .chain(self.exec_pids())
            .collect();
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for pid in &listed {
            let Some(st) = procfs::stat(*pid) else {
                continue;
            };
            if st.is_zombie() && !with_zombies {
                continue;
            }
            seen.insert(*pid);
            out.push(ProcessInfo {
                pid: *pid,
                command: procfs::cmdline(*pid),
                created_by_runtime: created.contains(pid),
                is_zombie: st.is_zombie(),
            });
        }
        if with_zombies {
            // cgroup v1 drops exited tasks from cgroup.procs: find the zombies by parent (a
            // listed process) or by session (our orphans from this container).
            let parents: BTreeSet<i32> = listed.iter().copied().collect();
            let me = std::process::id() as i32;
            for st in procfs::all_processes() {
                if !st.is_zombie() || seen.contains(&st.pid) {
                    continue;
                }
                let ours = parents.contains(&st.ppid) || (st.ppid == me && self.claim.covers(&st));
                if ours {
                    out.push(ProcessInfo {
                        pid: st.pid,
                        command: Vec::new(),
                        created_by_runtime: created.contains(&st.pid),
                        is_zombie: true,
                    });
                }
            }
        }
        out.sort_by_key(|p| p.pid);
        Ok(out)
    }
}

/// A container driven by runc. Also its init process.
pub struct RuncContainer {
    pub(crate) shared: Arc<Shared>,
}

impl RuncContainer {
    fn span(&self, op: &'static str) -> tracing::span::EnteredSpan {
        tracing::info_span!("container", op, container.id = %self.shared.id, pid = self.shared.init.pid).entered()
    }

    /// Whether the container owns its pid namespace (decided at create; rule 1).
    pub fn owns_pid_namespace(&self) -> bool {
        self.shared.owns_pid_namespace
    }
}

impl Process for RuncContainer {
    fn pid(&self) -> i32 {
        self.shared.init.pid
    }

    fn wait(&self) -> Result<ExitStatus> {
        let _s = self.span("wait");
        Ok(self.shared.wait_init())
    }

    fn delete(&self) -> Result<()> {
        let _s = self.span("delete");
        let sh = &self.shared;
        sh.check_not_deleted()?;
        let del = Command::Delete(DeleteOpts {
            id: sh.id.clone(),
            force: false,
        });
        let stopped = sh.init.exit.get().is_some()
            || matches!(self.state(), Ok(s) if s.status == runtime_api::Status::Stopped);
        if stopped {
            // Rule 1 and the relay first, while runc still knows the container.
            sh.wait_init();
            match sh.runc.run(&del) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        } else {
            // A created container is killed by runc delete; a running one is refused.
            sh.runc.run(&del)?;
            sh.wait_init();
        }
        if sh.init.deleted.swap(true, Ordering::SeqCst) {
            return Err(sh.err(ErrorKind::NotFound, "the container was deleted"));
        }
        if !sh.owns_pid_namespace {
            // Orphans of a container in a shared pid namespace are ours; the claim goes with
            // the container.
            sh.claim.reaper().reap_orphans();
        }
        if let Err(e) = sh.dir.remove() {
            tracing::warn!(error = %e, "removing the state directory");
        }
        tracing::info!("deleted");
        Ok(())
    }

    fn resize_console(&self, size: ConsoleSize) -> Result<()> {
        self.shared
            .init
            .resize(size)
            .map_err(|e| e.with_container(&self.shared.id))
    }

    fn relay_report(&self) -> Option<RelayReport> {
        self.shared.init.relay_report()
    }
}

impl Container for RuncContainer {
    fn id(&self) -> &str {
        &self.shared.id
    }

    fn exists(&self) -> Result<bool> {
        if self.shared.init.deleted.load(Ordering::SeqCst) {
            return Ok(false);
        }
        match self.state() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn start(&self) -> Result<()> {
        let _s = self.span("start");
        self.shared.check_not_deleted()?;
        self.shared.runc.run(&Command::Start {
            id: self.shared.id.clone(),
        })?;
        tracing::info!("started");
        Ok(())
    }

    fn exec(&self, process: &OciProcess, stdio: StdioSet) -> Result<Box<dyn Process>> {
        let _s = self.span("exec");
        let sh = &self.shared;
        sh.check_not_deleted()?;
        let gate = sh.init_exited.read().unwrap_or_else(|e| e.into_inner());
        if *gate || sh.init.exit.get().is_some() {
            return Err(sh.err(
                ErrorKind::NotRunning,
                "cannot exec: the container's init has exited",
            ));
        }
        let spec = serde_json::to_vec(process)
            .map_err(|e| sh.err(ErrorKind::InvalidSpec, format!("process spec: {e}")))?;
        let n = sh.next_exec.fetch_add(1, Ordering::Relaxed);
        let spec_file = sh.dir.exec_spec_file(n);
        let pid_file = sh.dir.exec_pid_file(n);
        let files = vec![spec_file.clone(), pid_file.clone()];
        let cleanup = || {
            for f in &files {
                let _ = std::fs::remove_file(f);
            }
        };
        let terminal = process.terminal().unwrap_or(false);
        let prepared = Prepared::new(terminal, stdio, &sh.relay_config, &sh.socket_base)
            .map_err(|e| e.with_container(&sh.id))?;
        if let Err(e) = sh.dir.write_file(&spec_file, &spec) {
            prepared.split().1.abandon();
            return Err(sh.err(ErrorKind::Backend, format!("writing the process spec: {e}")));
        }
        let cmd = Command::Exec(ExecOpts {
            id: sh.id.clone(),
            process_file: spec_file.clone(),
            pid_file: pid_file.clone(),
            console_socket: prepared.console_socket(),
            detach: true,
        });
        let (io, pending) = prepared.split();
        let reserve = FdReserve::new(2);
        let exec_started = Instant::now();
        if let Err(e) = sh.runc.run_with(&cmd, io) {
            pending.abandon();
            sh.claim.scan_periodically();
            if e.kind() == ErrorKind::Timeout {
                // runc may have started the process before it was killed: it is in its own
                // session, out of reach of the invocation's process group.
                reserve.release();
                sh.kill_started(&pid_file);
            }
            cleanup();
            if e.kind() == ErrorKind::Backend && procfs::is_exiting(sh.init.pid) {
                // The init is dying (its namespace is being torn down): runc's `setns` into it
                // fails before `state` says stopped.
                return Err(sh.err(
                    ErrorKind::NotRunning,
                    format!(
                        "cannot exec: the container's init is exiting ({})",
                        e.message()
                    ),
                ));
            }
            return Err(e);
        }
        // The process runs: give back the reserve so that the pid file and the pidfd can be
        // opened even if the host is at its descriptor limit.
        reserve.release();
        let pid = match read_pid_at_fd_limit(&pid_file) {
            Ok(pid) => pid,
            Err(e) => {
                tracing::error!(error = %e, "exec started but its pid file is unreadable; the process cannot be tracked");
                pending.abandon();
                sh.claim.scan_periodically();
                cleanup();
                return Err(sh.err(ErrorKind::Backend, format!("exec pid file: {e}")));
            }
        };
        let reaper = sh.claim.reaper();
        let cell = match reaper.watch(pid) {
            Ok(cell) => cell,
            // It exited at once and a scan reaped it as a process of the container's cgroup
            // before we could watch it: its status was kept.
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                match reaper.orphan_exit_since(pid, exec_started) {
                    Some(status) => ExitCell::done(status),
                    None => {
                        pending.abandon();
                        cleanup();
                        return Err(sh.err(
                            ErrorKind::Backend,
                            format!("watching exec pid {pid}: {e}; the process was killed"),
                        ));
                    }
                }
            }
            Err(e) => {
                pending.abandon();
                sh.claim.add_session(pid);
                reaper.kill_and_reap(pid, SIBLINGS_GONE_TIMEOUT);
                cleanup();
                return Err(sh.err(
                    ErrorKind::Backend,
                    format!("watching exec pid {pid}: {e}; the process was killed"),
                ));
            }
        };
        sh.claim.add_session(pid);
        let relay = match pending.complete(&sh.relay_config) {
            Ok(r) => r,
            Err(e) => {
                let _ = reaper.signal(pid, Signal::KILL);
                let _ = cell.wait_timeout(SIBLINGS_GONE_TIMEOUT);
                cleanup();
                return Err(e.with_container(&sh.id));
            }
        };
        let core = Arc::new(ProcCore::new(pid, cell, relay));
        {
            let mut execs = lock(&sh.execs);
            // Forget execs that exited and whose objects were dropped without `delete`.
            execs.retain(|e| e.exit.get().is_none() || Arc::strong_count(e) > 1);
            execs.push(core.clone());
        }
        drop(gate);
        tracing::info!(exec.pid = pid, "exec started");
        Ok(Box::new(ExecProcess {
            core,
            container: sh.clone(),
            files,
        }))
    }

    fn kill(&self, signal: Signal) -> Result<()> {
        let _s = self.span("kill");
        let sh = &self.shared;
        sh.check_not_deleted()?;
        if !signal.is_valid() {
            return Err(sh.err(
                ErrorKind::InvalidArgument,
                format!("bad signal {}", signal.0),
            ));
        }
        if sh.init_has_exited() {
            return Err(sh.err(ErrorKind::NotRunning, "the container's init has exited"));
        }
        // Through init's pidfd: init and nothing else, on every runc version (runc 1.2+ sends
        // `runc kill <id> KILL` to the whole cgroup when the container has no pid namespace of
        // its own), and never a process that reused init's pid.
        match sh.claim.reaper().signal(sh.init.pid, signal) {
            Ok(true) => Ok(()),
            Ok(false) => Err(sh.err(ErrorKind::NotRunning, "the container's init has exited")),
            Err(e) => Err(sh.err(
                ErrorKind::Backend,
                format!("signalling init (pid {}): {e}", sh.init.pid),
            )),
        }
    }

    fn pause(&self) -> Result<()> {
        let _s = self.span("pause");
        self.shared.check_not_deleted()?;
        self.shared.runc.run(&Command::Pause {
            id: self.shared.id.clone(),
        })?;
        Ok(())
    }

    fn resume(&self) -> Result<()> {
        let _s = self.span("resume");
        self.shared.check_not_deleted()?;
        self.shared.runc.run(&Command::Resume {
            id: self.shared.id.clone(),
        })?;
        Ok(())
    }

    fn state(&self) -> Result<ContainerState> {
        self.shared.check_not_deleted()?;
        let out = self.shared.runc.run(&Command::State {
            id: self.shared.id.clone(),
        })?;
        state::parse_state(&self.shared.id, &out.stdout)
    }

    fn running_processes(&self) -> Result<Vec<ProcessInfo>> {
        self.shared.processes(false)
    }

    fn all_processes(&self) -> Result<Vec<ProcessInfo>> {
        self.shared.processes(true)
    }

    fn init_process(&self) -> &dyn Process {
        self
    }

    fn update(&self, resources: &LinuxResources) -> Result<()> {
        let _s = self.span("update");
        let sh = &self.shared;
        sh.check_not_deleted()?;
        let json = serde_json::to_vec(resources)
            .map_err(|e| sh.err(ErrorKind::InvalidArgument, format!("resources: {e}")))?;
        sh.runc.run_with(
            &Command::Update { id: sh.id.clone() },
            ChildIo::Capture { stdin: Some(json) },
        )?;
        Ok(())
    }
}

/// How long an exec keeps retrying to read its pid file while the process is out of
/// descriptors (`EMFILE`/`ENFILE`) and no helper can read it (see [`read_pid_at_fd_limit`]).
const PID_FILE_FD_LIMIT_BOUND: Duration = Duration::from_secs(2);

/// Reads an exec's pid file even when this process has no usable descriptor slot. The two
/// descriptors reserved for it are given back just before, but they are no guarantee: another
/// thread (the host's, or ours: a `/proc` scan, the reaper closing a pidfd late) can take them
/// first, or a slot below them freed meanwhile leaves them above a lowered `RLIMIT_NOFILE`.
/// So a read refused for lack of descriptors is done again by a helper with a descriptor
/// table of its own ([`read_small_file_in_helper`]), which needs no slot of ours; only if no
/// helper can be made is the plain read retried, for at most [`PID_FILE_FD_LIMIT_BOUND`].
/// Without the pid, the started process could not be killed.
fn read_pid_at_fd_limit(pid_file: &std::path::Path) -> std::io::Result<i32> {
    let deadline = Instant::now() + PID_FILE_FD_LIMIT_BOUND;
    let out_of_fds =
        |e: &std::io::Error| matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
    loop {
        match read_pid(pid_file) {
            Err(e) if out_of_fds(&e) => {
                match read_small_file_in_helper(pid_file) {
                    Ok(bytes) => {
                        tracing::debug!("out of descriptors: the exec's pid file was read by a helper");
                        return parse_pid(pid_file, &String::from_utf8_lossy(&bytes));
                    }
                    Err(he) if Instant::now() < deadline => {
                        tracing::debug!(error = %he, "out of descriptors and no helper; retrying");
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(he) => {
                        return Err(std::io::Error::new(
                            e.kind(),
                            format!("{e}; the helper that reads it without a descriptor of ours failed too: {he}"),
                        ))
                    }
                }
            }
            other => return other,
        }
    }
}
