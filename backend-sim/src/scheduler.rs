//! The scheduler: picks the next step of the simulated world.
//!
//! One step is one thing: finish a write the pipe could not take, cut a relay whose grace
//! expired, run one step of one runnable process (chosen with the RNG among all runnable
//! ones, in pid order), take input that arrived from outside (stdin; while a process waits
//! for it from a connection, virtual time stands still), or jump the clock to the next timer.
//! Each process step costs a seeded 1-20 µs of virtual time, so processes
//! interleave differently under different seeds and identically under the same seed.

use crate::clock::Instant;
use crate::kernel::file::Flush;
use crate::kernel::file::ReadResult;
use crate::kernel::Fd;
use crate::kernel::{Input, ProcState, Program, StreamFd};
use crate::shell::{ForkFailed, LineRead, Outcome, Resolved, Shell, ShellEnv, Stream, Utility};
use crate::world::World;
use runtime_api::{ExitStatus, Signal};
use std::sync::Arc;

/// Virtual cost of one process step, in ns (inclusive bounds).
pub const STEP_COST_NS: (u64, u64) = (1_000, 20_000);
/// Largest chunk `head` writes in one step.
pub const HEAD_CHUNK: u64 = 64 * 1024;

/// What a step of `head` reading `/dev/zero` writes (at most [`HEAD_CHUNK`]), without a
/// buffer allocated and zeroed per step.
static ZEROS: [u8; HEAD_CHUNK as usize] = [0; HEAD_CHUNK as usize];

/// How much virtual time one settle (the end of every API call) may use, so that a busy
/// loop cannot hold a call forever; it goes on at the next call.
pub const SETTLE_BUDGET: std::time::Duration = std::time::Duration::from_millis(10);

/// What [`World::step_ready`] did.
enum Ready {
    Progressed,
    BlockedWrite(Arc<StreamFd>),
    Nothing,
}

/// What [`World::step`] did.
pub(crate) enum StepResult {
    /// The world changed.
    Progressed,
    /// Nothing can happen until one of these fds is ready (`true`: writable, `false`:
    /// readable) or another thread calls the API.
    Idle(Vec<(Arc<StreamFd>, bool)>),
    /// The deadline was reached before the next event.
    Deadline,
}

impl World {
    fn runnable(&self) -> Vec<i32> {
        let now = self.clock.now();
        self.kernel
            .procs
            .values()
            .filter(|p| {
                p.state == ProcState::Alive
                    && !p.stopped
                    && !p.stuck
                    && p.pending_write.is_empty()
                    && !self.is_frozen(&p.cgroup)
            })
            .filter(|p| match &p.program {
                Program::Shell(sh) => sh.wants_step(
                    || self.has_zombie_child(p.pid),
                    || self.has_child(p.pid),
                    || self.line_ready(p.pid),
                ),
                Program::Sleep { until } => *until <= now,
                Program::Filter(f) => !f.needs_stdin() || self.input_ready(p.pid),
                Program::AwaitStart(_) | Program::Gone => false,
            })
            .map(|p| p.pid)
            .collect()
    }

    /// Runs every step that is ready at the current virtual instant: writes the pipes can
    /// take, graces that expired, runnable processes. Never waits for outside input, never
    /// jumps to a timer, and stops at a write that a real pipe cannot take yet (its peer may
    /// never read) and after [`SETTLE_BUDGET`] of virtual time (a busy loop goes on at the
    /// next call). Every API call settles before it returns, so that a host that polls sees
    /// the process tree a real runtime would show once its processes have settled.
    pub(crate) fn settle(&mut self) {
        let end = self.clock.now().after(SETTLE_BUDGET);
        let mut steps = 0u64;
        while self.clock.now() < end {
            match self.step_ready() {
                Ready::Progressed => steps += 1,
                Ready::BlockedWrite(_) | Ready::Nothing => break,
            }
        }
        if steps > 0 {
            self.trace
                .record(self.clock.now(), 0, "settle", format!("{steps} steps"));
        }
    }

    /// Steps 1-3 of [`World::step`]: what can happen now without outside input or a timer.
    fn step_ready(&mut self) -> Ready {
        // 1. Writes in flight come first: virtual time stands still until the pipe takes them.
        let writers: Vec<i32> = self
            .kernel
            .procs
            .values()
            .filter(|p| !p.pending_write.is_empty() && !p.stuck)
            .map(|p| p.pid)
            .collect();
        for pid in writers {
            if let Flush::Real(file) = self.flush_pending(pid) {
                if self
                    .kernel
                    .streams
                    .get(&file.id)
                    .is_some_and(|s| s.reader_gone)
                {
                    if let Some(p) = self.kernel.procs.get_mut(&pid) {
                        p.stuck = true;
                    }
                    self.trace.record(
                        self.clock.now(),
                        pid,
                        "blocked",
                        "write to a pipe nobody reads any more: blocked until killed",
                    );
                    continue;
                }
                return Ready::BlockedWrite(file);
            }
        }
        // 2. Relays whose grace expired.
        self.release_finished_cuts();
        if self.fire_graces() {
            return Ready::Progressed;
        }
        // 3. A runnable process.
        let runnable = self.runnable();
        if !runnable.is_empty() {
            let pick = runnable[self.rng.below(runnable.len() as u64) as usize];
            if runnable.len() > 1 {
                self.trace.record(
                    self.clock.now(),
                    pick,
                    "schedule",
                    format!("picked among {runnable:?}"),
                );
            }
            self.run_step(pick);
            let cost = self.rng.range_inclusive(STEP_COST_NS.0, STEP_COST_NS.1);
            self.clock.advance_by(cost);
            return Ready::Progressed;
        }
        Ready::Nothing
    }

    /// Advances the world by one step (see the module documentation). With a deadline, does
    /// not move the clock past it.
    pub(crate) fn step(&mut self, deadline: Option<Instant>) -> StepResult {
        if deadline.is_some_and(|d| self.clock.now() >= d) {
            return StepResult::Deadline;
        }
        match self.step_ready() {
            Ready::Progressed => return StepResult::Progressed,
            Ready::BlockedWrite(file) => return StepResult::Idle(vec![(file, true)]),
            Ready::Nothing => {}
        }
        // 4. Input from outside. A process reading a stdin that a connection feeds holds
        //    virtual time still until input or end-of-file arrives: input is taken to arrive
        //    at once in virtual time, so a run does not depend on how fast the peer writes.
        let readers: Vec<i32> = self
            .kernel
            .procs
            .values()
            .filter(|p| p.state == ProcState::Alive && !p.stopped && !self.is_frozen(&p.cgroup))
            .filter(|p| match &p.program {
                Program::Filter(f) => f.needs_stdin(),
                Program::Shell(sh) => sh.wants_input(),
                _ => false,
            })
            .filter(|p| match &p.program {
                Program::Shell(_) => !self.line_ready(p.pid),
                _ => !self.input_ready(p.pid),
            })
            .map(|p| p.pid)
            .collect();
        let mut waits = Vec::new();
        for pid in readers {
            match self.take_outside_input(pid) {
                Ok(true) => return StepResult::Progressed,
                Ok(false) | Err(None) => {}
                Err(Some(file)) => {
                    if !waits
                        .iter()
                        .any(|(f, _): &(Arc<StreamFd>, bool)| f.id == file.id)
                    {
                        waits.push((file, false));
                    }
                }
            }
        }
        // Under a deadline (`advance`), the caller asked for time to pass: stdin does not
        // hold it.
        if !waits.is_empty() && deadline.is_none() {
            return StepResult::Idle(waits);
        }
        // 5. The next timer.
        if let Some(t) = self.next_timer() {
            if deadline.is_some_and(|d| t > d) {
                return StepResult::Deadline;
            }
            self.clock.advance_to(t);
            return StepResult::Progressed;
        }
        StepResult::Idle(Vec::new())
    }

    /// Runs one step of process `pid`.
    fn run_step(&mut self, pid: i32) {
        let Some(p) = self.kernel.procs.get_mut(&pid) else {
            return;
        };
        match &mut p.program {
            Program::Shell(_) => {
                let Program::Shell(mut shell) = std::mem::replace(&mut p.program, Program::Gone)
                else {
                    unreachable!()
                };
                let ns = p.ns;
                let mut ctx = ShellCtx {
                    world: self,
                    pid,
                    ns,
                    self_signals: Vec::new(),
                };
                let outcome = shell.step(&mut ctx);
                let self_signals = ctx.self_signals;
                if self.is_alive(pid) {
                    if let Some(p) = self.kernel.procs.get_mut(&pid) {
                        p.program = Program::Shell(shell);
                    }
                    match outcome {
                        Outcome::Exit(code) => self.exit_process(pid, ExitStatus::Exited(code)),
                        Outcome::Exec(utility, argv) => self.exec_utility(pid, utility, argv),
                        Outcome::Ran | Outcome::Blocked => {}
                    }
                }
                for sig in self_signals {
                    if self.is_alive(pid) {
                        let _ = self.send_signal(pid, sig, Some(ns));
                    }
                }
            }
            Program::Sleep { .. } => self.exit_process(pid, ExitStatus::Exited(0)),
            Program::Filter(_) => self.filter_step(pid),
            Program::AwaitStart(_) | Program::Gone => {}
        }
    }
}

impl World {
    /// One step of `cat` or `head`: copy one chunk, open the next file, or exit.
    fn filter_step(&mut self, pid: i32) {
        let Some(p) = self.kernel.procs.get_mut(&pid) else {
            return;
        };
        let container = p.container.clone();
        let Program::Filter(f) = &mut p.program else {
            return;
        };
        if f.done() {
            let status = f.status;
            self.exit_process(pid, ExitStatus::Exited(status));
            return;
        }
        // Data is taken off the queue rather than copied.
        let front = match f.inputs.front() {
            Some(Input::Data(_)) => f.inputs.pop_front(),
            other => other.cloned(),
        };
        let data: std::borrow::Cow<'static, [u8]> = match front {
            None => return,
            Some(Input::Data(d)) => d.into(),
            Some(Input::Zero) => {
                let n = match f.limit {
                    Some(crate::shell::HeadCount::Bytes(n)) => n.min(HEAD_CHUNK),
                    _ => HEAD_CHUNK,
                };
                ZEROS[..n as usize].into()
            }
            Some(Input::File(path)) => {
                f.inputs.pop_front();
                let name = f.name;
                match self.file_content(&container, &path) {
                    Some(d) => {
                        if let Some(Program::Filter(f)) =
                            self.kernel.procs.get_mut(&pid).map(|p| &mut p.program)
                        {
                            f.inputs.push_front(Input::Data(d));
                        }
                    }
                    None => {
                        if let Some(Program::Filter(f)) =
                            self.kernel.procs.get_mut(&pid).map(|p| &mut p.program)
                        {
                            f.status = 1;
                        }
                        let msg =
                            format!("{name}: can't open '{path}': No such file or directory\n");
                        self.sys_write(pid, Stream::Err, msg.as_bytes());
                    }
                }
                return;
            }
            Some(Input::Stdin) => match self.sys_read(pid) {
                ReadResult::Data(d) => d.into(),
                ReadResult::Eof => {
                    if let Some(Program::Filter(f)) =
                        self.kernel.procs.get_mut(&pid).map(|p| &mut p.program)
                    {
                        f.inputs.pop_front();
                    }
                    return;
                }
                ReadResult::WouldBlock => return,
            },
        };
        let passed = match self.kernel.procs.get_mut(&pid).map(|p| &mut p.program) {
            Some(Program::Filter(f)) => f.admit(&data),
            _ => return,
        };
        self.sys_write(pid, Stream::Out, &data[..passed]);
    }
}

/// The kernel as a shell sees it, for one step of process `pid`.
struct ShellCtx<'w> {
    world: &'w mut World,
    pid: i32,
    ns: u64,
    /// Signals the shell sent itself (`kill $$`), delivered after its step.
    self_signals: Vec<Signal>,
}

impl ShellEnv for ShellCtx<'_> {
    fn own_pid(&self) -> i32 {
        self.world
            .kernel
            .procs
            .get(&self.pid)
            .map(|p| p.local_pid)
            .unwrap_or(self.pid)
    }

    fn write(&mut self, stream: Stream, bytes: &[u8]) {
        self.world.sys_write(self.pid, stream, bytes);
    }

    fn fork_shell(&mut self, shell: Shell) -> Result<(i32, i32), ForkFailed> {
        self.check_fork()?;
        let argv = self.world.kernel.procs[&self.pid].argv.clone();
        let child = self
            .world
            .fork(self.pid, argv, Program::Shell(Box::new(shell)))
            .ok_or(ForkFailed)?;
        Ok((self.world.kernel.procs[&child].local_pid, child))
    }

    fn fork_pipeline(&mut self, shells: Vec<Shell>) -> Result<Vec<(i32, i32)>, ForkFailed> {
        self.check_fork()?;
        let argv = self.world.kernel.procs[&self.pid].argv.clone();
        let base = self.world.kernel.procs[&self.pid].slots.clone();
        let n = shells.len();
        let pipes: Vec<u64> = (1..n).map(|_| self.world.new_pipe()).collect();
        let mut children = Vec::new();
        for (i, shell) in shells.into_iter().enumerate() {
            let mut slots = base.clone();
            if i > 0 {
                slots.stdin = Some(Fd::Pipe {
                    id: pipes[i - 1],
                    write: false,
                });
            }
            if i + 1 < n {
                slots.stdout = Some(Fd::Pipe {
                    id: pipes[i],
                    write: true,
                });
            }
            let child = self
                .world
                .fork_with(
                    self.pid,
                    argv.clone(),
                    Program::Shell(Box::new(shell)),
                    slots,
                )
                .ok_or(ForkFailed)?;
            children.push((self.world.kernel.procs[&child].local_pid, child));
        }
        Ok(children)
    }

    fn fork_utility(&mut self, utility: Utility, argv: Vec<String>) -> Result<i32, ForkFailed> {
        self.check_fork()?;
        let child = self
            .world
            .fork(self.pid, argv, Program::Gone)
            .ok_or(ForkFailed)?;
        let program = self.world.start_utility(child, &utility);
        if let Some(p) = self.world.kernel.procs.get_mut(&child) {
            p.program = program;
        }
        Ok(child)
    }

    fn kill(&mut self, pid: i32, signal: Signal) -> Result<(), String> {
        let target = if pid > 0 {
            self.world.ns_lookup(self.ns, pid)
        } else {
            None
        };
        let Some(target) = target else {
            return Err("No such process".to_string());
        };
        if target == self.pid {
            self.self_signals.push(signal);
            return Ok(());
        }
        self.world.send_signal(target, signal, Some(self.ns))
    }

    fn reap_children(&mut self) -> Vec<(i32, ExitStatus)> {
        let zombies: Vec<i32> = self
            .world
            .kernel
            .procs
            .values()
            .filter(|c| c.ppid == self.pid && c.state != ProcState::Alive)
            .map(|c| c.pid)
            .collect();
        zombies
            .into_iter()
            .filter_map(|z| self.world.reap(z, self.pid).map(|st| (z, st)))
            .collect()
    }

    fn has_children(&self) -> bool {
        self.world.has_child(self.pid)
    }

    fn note(&mut self, what: &str) {
        self.world
            .trace
            .record(self.world.clock.now(), self.pid, "step", what);
    }

    fn push_redirs(&mut self, redirs: &[Resolved], permanent: bool) -> Result<(), String> {
        self.world.push_redirs(self.pid, redirs, permanent)
    }

    fn pop_redirs(&mut self) {
        self.world.pop_redirs(self.pid);
    }

    fn read_line(&mut self) -> LineRead {
        self.world.read_line(self.pid)
    }

    fn file_test(&self, op: &str, path: &str) -> bool {
        let container = self
            .world
            .kernel
            .procs
            .get(&self.pid)
            .map(|p| p.container.clone())
            .unwrap_or_default();
        self.world.file_test(&container, op, path)
    }
}

impl ShellCtx<'_> {
    fn check_fork(&mut self) -> Result<(), ForkFailed> {
        if self
            .world
            .rng
            .chance(self.world.config.faults.spawn_failure)
        {
            self.world.trace.record(
                self.world.clock.now(),
                self.pid,
                "fault",
                "fork fails (EAGAIN)",
            );
            return Err(ForkFailed);
        }
        Ok(())
    }
}
