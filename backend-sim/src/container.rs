//! [`SimContainer`]: a simulated container (also its init process), and the runtime-side
//! creation of the processes the runtime starts (inits and execs).

use crate::kernel::{ProcState, Program, RUNTIME_PID};
use crate::process::{relay_report, resize, wait_process, SimProcess};
use crate::shell::{Script, Shell, Utility};
use crate::sim::Shared;
use crate::world::{RtProc, World};
use runtime_api::{
    ConsoleSize, Container, ContainerState, Error, ErrorKind, ExitStatus, Process, ProcessInfo,
    RelayReport, Result, Signal, Status, StdioSet,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A container of the simulated runtime. It is also its init process.
pub struct SimContainer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) id: String,
    pub(crate) init: i32,
    /// The host generation this handle belongs to: after a simulated host crash, handles of
    /// the crashed host find nothing (`NotFound`), as if they had vanished with it.
    pub(crate) gen: u64,
    /// Made by `open_container`: the init's stdio is not reattached and its exit status is
    /// not known (`ExitStatus::Unknown`).
    pub(crate) taken_back: bool,
}

/// The command line of a hidden child started by the `child_holds_stdio` fault.
const HOLDER_ARGV: [&str; 2] = ["sleep", "1000000"];

impl World {
    /// Starts a process for the runtime (an init, or an exec) in `container`'s namespace and
    /// cgroup, with a relay to `stdio`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn spawn_runtime_process(
        &mut self,
        container: &str,
        ns: u64,
        cgroup: &str,
        argv: Vec<String>,
        program: Program,
        terminal: bool,
        stdio: StdioSet,
        is_init: bool,
    ) -> Result<i32> {
        let attached = self
            .attach_stdio(stdio, terminal)
            .map_err(|e| e.with_container(container))?;
        let pid = self.spawn(
            RUNTIME_PID,
            ns,
            cgroup,
            container,
            argv,
            true,
            attached.slots,
            program,
        );
        self.rt_procs.insert(
            pid,
            RtProc {
                container: container.to_string(),
                is_init,
                relay: attached.relay,
                has_connections: attached.has_connections,
                out_streams: attached.out_streams,
                stdin_hold: attached.stdin_hold,
                status: None,
                exited_at: None,
                grace_deadline: None,
                cut: false,
                cut_holds: Vec::new(),
                report: None,
                deleted: false,
            },
        );
        Ok(pid)
    }

    /// The `child_holds_stdio` fault: maybe fork a hidden long-sleeping child of `pid` that
    /// inherits its stdio.
    pub(crate) fn maybe_hold_stdio(&mut self, pid: i32) {
        if !self.rng.chance(self.config.faults.child_holds_stdio) {
            return;
        }
        let argv: Vec<String> = HOLDER_ARGV.iter().map(|s| s.to_string()).collect();
        if let Some(child) = self.fork(pid, argv, Program::Gone) {
            self.trace.record(
                self.clock.now(),
                child,
                "fault",
                format!("hidden child of {pid} holds its stdio"),
            );
            let program = self.start_utility(
                child,
                &Utility::Sleep {
                    ns: 1_000_000 * 1_000_000_000,
                },
            );
            if let Some(p) = self.kernel.procs.get_mut(&child) {
                p.program = program;
            }
        }
    }

    /// A runc-like command failure, if the seed picks one.
    pub(crate) fn command_fault(&mut self, container: &str, command: &str) -> Result<()> {
        if self.rng.chance(self.config.faults.command_failure) {
            self.trace.record(
                self.clock.now(),
                0,
                "fault",
                format!("runc {command} {container} fails"),
            );
            return Err(Error::for_container(
                ErrorKind::Backend,
                container,
                format!(
                    "runc {command} failed: simulated fault (seed {})",
                    self.seed
                ),
            ));
        }
        Ok(())
    }

    /// The processes of a container, as the runc backend lists them: the live members of its
    /// cgroup, and (with `zombies`) the zombies whose parent is one of those. (On cgroup v1 a
    /// task leaves `cgroup.procs` when it exits, so runc finds zombies by parent: a zombie
    /// adopted by another container's init — a joined pid namespace — is that container's.)
    fn process_infos(&self, cgroup: &str, zombies: bool) -> Vec<ProcessInfo> {
        let live: Vec<i32> = self.cgroup_live(cgroup);
        let mut pids = live.clone();
        if zombies {
            pids.extend(
                self.kernel
                    .procs
                    .values()
                    .filter(|p| p.state != ProcState::Alive && live.contains(&p.ppid))
                    .map(|p| p.pid),
            );
            pids.sort_unstable();
        }
        pids.into_iter()
            .filter_map(|pid| self.kernel.procs.get(&pid))
            .map(|p| {
                let zombie = p.state != ProcState::Alive;
                ProcessInfo {
                    pid: p.pid,
                    command: if zombie { Vec::new() } else { p.argv.clone() },
                    created_by_runtime: p.created_by_runtime,
                    is_zombie: zombie,
                }
            })
            .collect()
    }
}

impl SimContainer {
    fn err(&self, kind: ErrorKind, msg: impl Into<String>) -> Error {
        Error::for_container(kind, &self.id, msg)
    }

    pub(crate) fn missing(&self) -> Error {
        self.err(ErrorKind::NotFound, "container does not exist")
    }

    /// `pause` (`Running` -> `Paused`, freezes the cgroup) or `resume` (`Paused` -> `Running`,
    /// thaws it and wakes waiters); any other status is `NotRunning` with runc's wording.
    fn freeze_transition(&self, from: Status, to: Status, refusal: &str) -> Result<()> {
        let mut g = self.shared.settled();
        let c = g
            .containers
            .get(&self.id)
            .filter(|c| c.init_pid == self.init && c.host_gen == self.gen)
            .ok_or_else(|| self.missing())?;
        if c.status != from {
            return Err(self.err(ErrorKind::NotRunning, refusal));
        }
        let cgroup = c.cgroup.clone();
        let freeze = to == Status::Paused;
        self.api(&mut g, if freeze { "pause" } else { "resume" });
        g.set_frozen(&cgroup, freeze);
        if let Some(c) = g.containers.get_mut(&self.id) {
            c.status = to;
        }
        g.settle();
        drop(g);
        if !freeze {
            self.shared.notify();
        }
        Ok(())
    }

    fn api(&self, w: &mut World, what: &str) {
        let now = w.clock.now();
        tracing::debug!(container.id = %self.id, pid = self.init, virtual_ns = now.0, "{what}");
        w.trace.record(now, 0, "api", format!("{what} {}", self.id));
    }
}

/// Parses an exec/init argv into the script it runs, refusing what the subset lacks.
pub(crate) fn script_of(container: &str, argv: &[String]) -> Result<Arc<Script>> {
    crate::shell::parse_argv(argv).map(Arc::new).map_err(|e| {
        Error::for_container(
            ErrorKind::InvalidSpec,
            container,
            format!("the simulator cannot run {argv:?}: {e}"),
        )
    })
}

impl Process for SimContainer {
    fn pid(&self) -> i32 {
        self.init
    }

    fn wait(&self) -> Result<ExitStatus> {
        if self.taken_back {
            return crate::recovery::wait_taken_back(self);
        }
        wait_process(&self.shared, &self.id, self.init)
    }

    fn delete(&self) -> Result<()> {
        let mut g = self.shared.settled();
        let Some(c) = g.containers.get(&self.id) else {
            return Err(self.missing());
        };
        if c.init_pid != self.init || c.host_gen != self.gen {
            return Err(self.missing());
        }
        match c.status {
            Status::Running | Status::Paused => {
                return Err(self.err(
                    ErrorKind::StillRunning,
                    format!("cannot delete container in {} state", c.status),
                ))
            }
            _ => {}
        }
        let (owns, cgroup) = (c.owns_pid_ns, c.cgroup.clone());
        self.api(&mut g, "delete");
        if g.is_alive(self.init) {
            // runc delete of a created container kills its init.
            let _ = g.send_signal(self.init, Signal::KILL, None);
        }
        if !owns && !g.cgroup_live(&cgroup).is_empty() {
            g.kill_all(&self.id, &cgroup, Signal::KILL, "delete");
        }
        let (closed, cut) = (
            g.outputs_closed(self.init),
            g.rt_procs.get(&self.init).is_some_and(|r| r.cut),
        );
        if !closed && !cut {
            g.cut_relay(self.init);
        }
        if let Some(rec) = g.rt_procs.get_mut(&self.init) {
            rec.deleted = true;
        }
        g.containers.remove(&self.id);
        g.settle();
        drop(g);
        self.shared.notify();
        Ok(())
    }

    fn resize_console(&self, size: ConsoleSize) -> Result<()> {
        resize(&self.shared, &self.id, self.init, size)
    }

    fn relay_report(&self) -> Option<RelayReport> {
        if self.taken_back {
            // The init's old stdio went with the host that made it.
            return None;
        }
        relay_report(&self.shared, self.init)
    }
}

impl Container for SimContainer {
    fn id(&self) -> &str {
        &self.id
    }

    fn exists(&self) -> Result<bool> {
        let g = self.shared.settled();
        Ok(g.containers
            .get(&self.id)
            .is_some_and(|c| c.init_pid == self.init && c.host_gen == self.gen))
    }

    fn start(&self) -> Result<()> {
        let mut g = self.shared.settled();
        let c = g
            .containers
            .get(&self.id)
            .filter(|c| c.init_pid == self.init && c.host_gen == self.gen)
            .ok_or_else(|| self.missing())?;
        if c.status != Status::Created {
            return Err(self.err(
                ErrorKind::NotStopped,
                format!("cannot start a container in {} state", c.status),
            ));
        }
        self.api(&mut g, "start");
        g.command_fault(&self.id, "start")?;
        let script = match g.kernel.procs.get(&self.init).map(|p| &p.program) {
            Some(Program::AwaitStart(s)) => s.clone(),
            _ => {
                return Err(self.err(
                    ErrorKind::NotStopped,
                    "the init process is no longer waiting to start",
                ))
            }
        };
        if let Some(p) = g.kernel.procs.get_mut(&self.init) {
            p.program = Program::Shell(Box::new(Shell::new(script, BTreeSet::new())));
        }
        if let Some(c) = g.containers.get_mut(&self.id) {
            c.status = Status::Running;
        }
        g.maybe_hold_stdio(self.init);
        g.settle();
        drop(g);
        self.shared.notify();
        Ok(())
    }

    fn exec(
        &self,
        process: &oci_spec::runtime::Process,
        stdio: StdioSet,
    ) -> Result<Box<dyn Process>> {
        let argv: Vec<String> = process.args().clone().unwrap_or_default();
        let terminal = process.terminal().unwrap_or(false);
        let mut g = self.shared.settled();
        let c = g
            .containers
            .get(&self.id)
            .filter(|c| c.init_pid == self.init && c.host_gen == self.gen)
            .ok_or_else(|| self.missing())?;
        let (ns, cgroup) = (c.ns, c.cgroup.clone());
        if c.status == Status::Stopped || !g.is_alive(self.init) {
            return Err(self.err(
                ErrorKind::NotRunning,
                "cannot exec in a stopped container (its init exited)",
            ));
        }
        if c.status == Status::Paused {
            // As runc (1.1 and 1.2+ without --ignore-paused): a frozen container takes no exec.
            return Err(self.err(ErrorKind::NotRunning, "cannot exec in a paused container"));
        }
        let script = script_of(&self.id, &argv)?;
        self.api(&mut g, &format!("exec {argv:?} in"));
        g.command_fault(&self.id, "exec")?;
        let pid = g.spawn_runtime_process(
            &self.id,
            ns,
            &cgroup,
            argv,
            Program::Shell(Box::new(Shell::new(script, BTreeSet::new()))),
            terminal,
            stdio,
            false,
        )?;
        g.maybe_hold_stdio(pid);
        g.settle();
        drop(g);
        self.shared.notify();
        Ok(Box::new(SimProcess {
            shared: self.shared.clone(),
            container: self.id.clone(),
            pid,
        }))
    }

    fn kill(&self, signal: Signal) -> Result<()> {
        let mut g = self.shared.settled();
        g.containers
            .get(&self.id)
            .filter(|c| c.init_pid == self.init && c.host_gen == self.gen)
            .ok_or_else(|| self.missing())?;
        if !signal.is_valid() {
            return Err(self.err(
                ErrorKind::InvalidArgument,
                format!("invalid signal number {}", signal.number()),
            ));
        }
        if !g.is_alive(self.init) {
            return Err(self.err(ErrorKind::NotRunning, "container not running"));
        }
        self.api(&mut g, &format!("kill {signal}"));
        g.command_fault(&self.id, "kill")?;
        let _ = g.send_signal(self.init, signal, None);
        g.settle();
        drop(g);
        self.shared.notify();
        Ok(())
    }

    fn pause(&self) -> Result<()> {
        self.freeze_transition(Status::Running, Status::Paused, "container not running")
    }

    fn resume(&self) -> Result<()> {
        self.freeze_transition(Status::Paused, Status::Running, "container not paused")
    }

    fn state(&self) -> Result<ContainerState> {
        let g = self.shared.settled();
        g.containers
            .get(&self.id)
            .filter(|c| c.init_pid == self.init && c.host_gen == self.gen)
            .ok_or_else(|| self.missing())?;
        g.container_state(&self.id).ok_or_else(|| self.missing())
    }

    fn running_processes(&self) -> Result<Vec<ProcessInfo>> {
        let g = self.shared.settled();
        let c = g
            .containers
            .get(&self.id)
            .filter(|c| c.init_pid == self.init && c.host_gen == self.gen)
            .ok_or_else(|| self.missing())?;
        Ok(g.process_infos(&c.cgroup, false))
    }

    fn all_processes(&self) -> Result<Vec<ProcessInfo>> {
        let g = self.shared.settled();
        let c = g
            .containers
            .get(&self.id)
            .filter(|c| c.init_pid == self.init && c.host_gen == self.gen)
            .ok_or_else(|| self.missing())?;
        Ok(g.process_infos(&c.cgroup, true))
    }

    fn init_process(&self) -> &dyn Process {
        self
    }

    fn update(&self, resources: &oci_spec::runtime::LinuxResources) -> Result<()> {
        let mut g = self.shared.settled();
        let c = g
            .containers
            .get(&self.id)
            .filter(|c| c.init_pid == self.init && c.host_gen == self.gen)
            .ok_or_else(|| self.missing())?;
        if c.status == Status::Stopped {
            return Err(self.err(ErrorKind::NotRunning, "container not running"));
        }
        let text = serde_json::to_string(resources).unwrap_or_default();
        self.api(&mut g, &format!("update resources={text}"));
        Ok(())
    }
}
