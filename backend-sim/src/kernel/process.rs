//! Simulated processes: their table entry, their program, and their life cycle (spawn, exec,
//! exit, reparenting of orphans, zombies until their parent reaps them).

use super::file::{PendingWrite, Slots};
use crate::clock::Instant;
use crate::shell::{HeadCount, Script, Shell, Utility};
use crate::world::World;
use runtime_api::ExitStatus;
use std::collections::VecDeque;
use std::sync::Arc;

/// The pid that stands for the runtime itself as a parent (the subreaper that reaps inits,
/// execs and the orphans it inherits at once).
pub const RUNTIME_PID: i32 = 0;

/// Whether a process runs or waits to be reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcState {
    /// Running (or blocked, stopped, frozen: still alive).
    Alive,
    /// Exited, not reaped yet.
    Zombie(ExitStatus),
}

/// What a process executes.
#[derive(Debug, Clone)]
pub enum Program {
    /// A created container's init, blocked before the user program until `start`.
    AwaitStart(Arc<Script>),
    /// The simulated shell.
    Shell(Box<Shell>),
    /// `sleep`, waking at this virtual time.
    Sleep {
        /// When it exits.
        until: Instant,
    },
    /// `cat` or `head`: copies its inputs to stdout.
    Filter(Filter),
    /// Placeholder while the shell is being stepped, and after exit.
    Gone,
}

/// Where `cat` or `head` reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input, until end-of-file.
    Stdin,
    /// `/dev/zero`: never ends.
    Zero,
    /// A file of the container, opened when reached.
    File(String),
    /// Bytes read, not written yet.
    Data(Vec<u8>),
}

/// The state of `cat` or `head`.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The program's name, for error messages.
    pub name: &'static str,
    /// The inputs still to copy, in order.
    pub inputs: VecDeque<Input>,
    /// For `head`: how much is still to copy.
    pub limit: Option<HeadCount>,
    /// The exit status so far (1 after a file could not be opened).
    pub status: i32,
}

impl Filter {
    /// Whether the next step needs standard input.
    pub fn needs_stdin(&self) -> bool {
        !self.done() && self.inputs.front() == Some(&Input::Stdin)
    }

    /// Whether it has nothing left to do.
    pub fn done(&self) -> bool {
        self.inputs.is_empty()
            || matches!(
                self.limit,
                Some(HeadCount::Lines(0)) | Some(HeadCount::Bytes(0))
            )
    }

    /// Takes from `data` what the limit lets through, and counts it: returns how many bytes
    /// at the front of `data` pass (no copy: `head -c` of MiBs copied each chunk).
    pub fn admit(&mut self, data: &[u8]) -> usize {
        match &mut self.limit {
            None => data.len(),
            Some(HeadCount::Bytes(n)) => {
                let k = (*n as usize).min(data.len());
                *n -= k as u64;
                k
            }
            Some(HeadCount::Lines(n)) => {
                let mut end = 0;
                while end < data.len() && *n > 0 {
                    if data[end] == b'\n' {
                        *n -= 1;
                    }
                    end += 1;
                }
                end
            }
        }
    }
}

/// A process of the simulated kernel.
#[derive(Debug)]
pub struct Proc {
    /// Pid in the host (runtime's) pid namespace.
    pub pid: i32,
    /// Parent pid ([`RUNTIME_PID`] for the runtime).
    pub ppid: i32,
    /// Its pid namespace.
    pub ns: u64,
    /// Its pid inside that namespace.
    pub local_pid: i32,
    /// Its cgroup path.
    pub cgroup: String,
    /// The container it was started in.
    pub container: String,
    /// Command line.
    pub argv: Vec<String>,
    /// Started by the runtime (init or exec) rather than by another process.
    pub created_by_runtime: bool,
    /// Alive or zombie.
    pub state: ProcState,
    /// Stopped by SIGSTOP.
    pub stopped: bool,
    /// Stdio.
    pub slots: Slots,
    /// Fd tables a shell saved while a redirection is in force (restored after the command).
    pub saved_slots: Vec<Slots>,
    /// What it runs.
    pub program: Program,
    /// Writes the pipe could not take yet, in order.
    pub pending_write: Vec<PendingWrite>,
    /// Blocked forever on a write nobody will read (its relay was cut).
    pub stuck: bool,
}

impl World {
    /// Creates a process in the table. Its stdio slots must already be counted as held.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn spawn(
        &mut self,
        ppid: i32,
        ns: u64,
        cgroup: &str,
        container: &str,
        argv: Vec<String>,
        created_by_runtime: bool,
        slots: Slots,
        program: Program,
    ) -> i32 {
        self.kernel.next_pid += 1;
        let pid = self.kernel.next_pid;
        let local_pid = self.ns_register(ns, pid);
        let now = self.clock.now();
        self.trace.record_spawn(
            now,
            pid,
            Some(container),
            format!(
                "ppid={ppid} ns={ns} nspid={local_pid} cgroup={cgroup} argv={}",
                argv.join(" ")
            ),
        );
        self.kernel.procs.insert(
            pid,
            Proc {
                pid,
                ppid,
                ns,
                local_pid,
                cgroup: cgroup.to_string(),
                container: container.to_string(),
                argv,
                created_by_runtime,
                state: ProcState::Alive,
                stopped: false,
                slots,
                saved_slots: Vec::new(),
                program,
                pending_write: Vec::new(),
                stuck: false,
            },
        );
        pid
    }

    /// Forks `parent`: the child inherits namespace, cgroup, container and stdio (the current
    /// fd table, not the ones a shell saved), and runs `program`.
    pub(crate) fn fork(&mut self, parent: i32, argv: Vec<String>, program: Program) -> Option<i32> {
        let slots = self.kernel.procs.get(&parent)?.slots.clone();
        self.fork_with(parent, argv, program, slots)
    }

    /// Forks `parent` with these (not yet held) stdio slots.
    pub(crate) fn fork_with(
        &mut self,
        parent: i32,
        argv: Vec<String>,
        program: Program,
        slots: Slots,
    ) -> Option<i32> {
        let p = self.kernel.procs.get(&parent)?;
        let (ns, cgroup, container) = (p.ns, p.cgroup.clone(), p.container.clone());
        let slots = Slots {
            stdin: self.hold(&slots.stdin),
            stdout: self.hold(&slots.stdout),
            stderr: self.hold(&slots.stderr),
        };
        Some(self.spawn(parent, ns, &cgroup, &container, argv, false, slots, program))
    }

    /// The program that runs `utility`, started now.
    pub(crate) fn start_utility(&mut self, pid: i32, utility: &Utility) -> Program {
        let input = |f: &str| match f {
            "-" => Input::Stdin,
            "/dev/zero" => Input::Zero,
            "/dev/null" => Input::Data(Vec::new()),
            path => Input::File(path.to_string()),
        };
        match utility {
            Utility::Sleep { ns } => {
                let now = self.clock.now();
                self.trace
                    .record_span(now, pid, "sleep", *ns, format!("{} ns", ns));
                Program::Sleep {
                    until: Instant(now.0.saturating_add(*ns)),
                }
            }
            Utility::Cat { files } => Program::Filter(Filter {
                name: "cat",
                inputs: if files.is_empty() {
                    VecDeque::from([Input::Stdin])
                } else {
                    files.iter().map(|f| input(f)).collect()
                },
                limit: None,
                status: 0,
            }),
            Utility::Head { count, file } => Program::Filter(Filter {
                name: "head",
                inputs: VecDeque::from([file.as_deref().map(input).unwrap_or(Input::Stdin)]),
                limit: Some(*count),
                status: 0,
            }),
        }
    }

    /// `execve` of `utility` in `pid`: same pid, new command line, same current stdio (the
    /// fd tables a shell saved are close-on-exec).
    pub(crate) fn exec_utility(&mut self, pid: i32, utility: Utility, argv: Vec<String>) {
        let Some(p) = self.kernel.procs.get_mut(&pid) else {
            return;
        };
        p.argv = argv.clone();
        let saved = std::mem::take(&mut p.saved_slots);
        for s in saved {
            self.release_slots(s);
        }
        self.trace
            .record(self.clock.now(), pid, "exec", argv.join(" "));
        let program = self.start_utility(pid, &utility);
        if let Some(p) = self.kernel.procs.get_mut(&pid) {
            p.program = program;
        }
    }

    /// Process `pid` ends with `status`: it becomes a zombie and closes its stdio; if it was
    /// the init of a pid namespace, every other process of the namespace is killed; its
    /// children are reparented; a runtime parent reaps it at once.
    pub(crate) fn exit_process(&mut self, pid: i32, status: ExitStatus) {
        let Some(p) = self.kernel.procs.get_mut(&pid) else {
            return;
        };
        if p.state != ProcState::Alive {
            return;
        }
        p.state = ProcState::Zombie(status);
        p.program = Program::Gone;
        p.pending_write.clear();
        p.stopped = false;
        let slots = std::mem::take(&mut p.slots);
        let saved = std::mem::take(&mut p.saved_slots);
        let (ns, ppid) = (p.ns, p.ppid);
        self.trace
            .record(self.clock.now(), pid, "exit", status.to_string());
        self.release_slots(slots);
        for s in saved {
            self.release_slots(s);
        }

        if self.ns_init(ns) == Some(pid) {
            self.pidns_death(ns, pid);
        }
        self.reparent_children(pid, ns);
        if ppid == RUNTIME_PID {
            self.runtime_reap(pid);
        }
    }

    fn reparent_children(&mut self, dead: i32, ns: u64) {
        let children: Vec<i32> = self
            .kernel
            .procs
            .values()
            .filter(|c| c.ppid == dead)
            .map(|c| c.pid)
            .collect();
        for child in children {
            let child_ns = self.kernel.procs[&child].ns;
            let reaper = match self.ns_init(child_ns) {
                Some(init) if init != dead && self.is_alive(init) => init,
                _ => RUNTIME_PID,
            };
            let _ = ns;
            if let Some(c) = self.kernel.procs.get_mut(&child) {
                c.ppid = reaper;
            }
            let who = if reaper == RUNTIME_PID {
                "the runtime (subreaper)".to_string()
            } else {
                format!("pid {reaper} (namespace init)")
            };
            self.trace.record(
                self.clock.now(),
                child,
                "reparent",
                format!("orphan of {dead} adopted by {who}"),
            );
            if reaper == RUNTIME_PID && !self.is_alive(child) {
                self.runtime_reap(child);
            }
        }
    }

    /// Removes zombie `pid` from the table (its parent waited for it); returns its status.
    pub(crate) fn reap(&mut self, pid: i32, by: i32) -> Option<ExitStatus> {
        match self.kernel.procs.get(&pid)?.state {
            ProcState::Zombie(st) => {
                self.kernel.procs.remove(&pid);
                self.ns_unregister(pid);
                self.trace
                    .record(self.clock.now(), pid, "reap", format!("by {by}: {st}"));
                Some(st)
            }
            ProcState::Alive => None,
        }
    }

    /// Whether `pid` exists and has not exited.
    pub(crate) fn is_alive(&self, pid: i32) -> bool {
        self.kernel
            .procs
            .get(&pid)
            .is_some_and(|p| p.state == ProcState::Alive)
    }

    /// Whether `pid` has an exited child waiting to be reaped.
    pub(crate) fn has_zombie_child(&self, pid: i32) -> bool {
        self.kernel
            .procs
            .values()
            .any(|c| c.ppid == pid && c.state != ProcState::Alive)
    }

    /// Whether `pid` has any child in the table.
    pub(crate) fn has_child(&self, pid: i32) -> bool {
        self.kernel.procs.values().any(|c| c.ppid == pid)
    }
}
