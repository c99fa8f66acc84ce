//! The simulated world: kernel, clock, RNG, trace, and the runtime's own records of the
//! containers and processes it created. One `World` lives behind the runtime's mutex; every
//! decision is made on it, in one thread at a time.

use crate::clock::{Instant, VirtualClock};
use crate::config::Config;
use crate::kernel::{Kernel, ProcState, StreamFd, RUNTIME_PID};
use crate::relay::Relay;
use crate::rng::SimRng;
use crate::trace::Trace;
use runtime_api::{ExitStatus, RelayReport, Signal, Status};
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

/// The first pid the simulated kernel gives out.
pub const FIRST_PID: i32 = 1000;

/// A process the runtime created (a container's init, or an exec).
pub(crate) struct RtProc {
    pub container: String,
    pub is_init: bool,
    pub relay: Arc<Relay>,
    pub has_connections: bool,
    pub out_streams: [u64; 2],
    pub stdin_hold: Option<OwnedFd>,
    pub status: Option<ExitStatus>,
    pub exited_at: Option<Instant>,
    pub grace_deadline: Option<Instant>,
    pub cut: bool,
    /// After a cut: the write ends of its output streams, kept open until the relay has
    /// finished the cut, so that writers exiting right after it (in virtual time, but
    /// microseconds later in real time) cannot turn the cut into an end-of-file.
    pub cut_holds: Vec<Arc<StreamFd>>,
    pub report: Option<RelayReport>,
    pub deleted: bool,
}

/// A container the runtime created.
pub(crate) struct ContainerRec {
    pub bundle: PathBuf,
    pub rootfs: Option<PathBuf>,
    pub oci_version: String,
    pub owns_pid_ns: bool,
    pub ns: u64,
    pub cgroup: String,
    pub init_pid: i32,
    pub status: Status,
    pub created_at: Instant,
    /// The host generation whose handles may act on the container: bumped for every
    /// container by a simulated host crash, and set by `open_container` (see `recovery`).
    pub host_gen: u64,
    /// Created by a host that crashed, and not taken back since: at its init's exit nobody
    /// applies rule 1 (as on runc with no host); `open_container` then applies it.
    pub orphaned: bool,
    /// The init exited while the container was orphaned: rule 1 is still to be applied.
    pub rule1_pending: bool,
}

/// Everything the simulator knows.
pub(crate) struct World {
    pub seed: u64,
    pub config: Config,
    pub rng: SimRng,
    pub clock: VirtualClock,
    pub trace: Trace,
    pub kernel: Kernel,
    pub containers: BTreeMap<String, ContainerRec>,
    pub rt_procs: BTreeMap<i32, RtProc>,
    /// Rule violations seen (only possible with a mutation on).
    pub violations: Vec<String>,
    /// The current host generation (see [`ContainerRec::host_gen`]).
    pub host_gen: u64,
}

impl World {
    pub(crate) fn new(config: Config, seed: u64) -> World {
        let mut w = World {
            seed,
            rng: SimRng::new(seed),
            clock: VirtualClock::new(),
            trace: Trace::new(),
            kernel: Kernel::new(FIRST_PID),
            containers: BTreeMap::new(),
            rt_procs: BTreeMap::new(),
            violations: Vec::new(),
            host_gen: 0,
            config,
        };
        w.trace.record(
            Instant(0),
            0,
            "boot",
            format!(
                "seed={seed} drain_grace={:?} faults={:?} mutations={:?}",
                w.config.drain_grace(),
                w.config.faults,
                w.config.mutations
            ),
        );
        w
    }

    /// Whether every output stream of runtime process `pid` reached end-of-file.
    pub(crate) fn outputs_closed(&self, pid: i32) -> bool {
        let Some(rec) = self.rt_procs.get(&pid) else {
            return true;
        };
        rec.out_streams.iter().all(|id| {
            self.kernel
                .streams
                .get(id)
                .is_none_or(|s| s.eof_at.is_some())
        })
    }

    /// The runtime (the subreaper) reaps `pid`: for a process it created, records the exit,
    /// tells the relay, applies rule 1 for an init, and starts the drain grace if a writer
    /// still holds its stdio.
    pub(crate) fn runtime_reap(&mut self, pid: i32) {
        let Some(status) = self.reap(pid, RUNTIME_PID) else {
            return;
        };
        let now = self.clock.now();
        let Some(rec) = self.rt_procs.get_mut(&pid) else {
            return;
        };
        rec.status = Some(status);
        rec.exited_at = Some(now);
        rec.stdin_hold = None;
        rec.relay.process_exited();
        let (is_init, container) = (rec.is_init, rec.container.clone());
        self.trace
            .record(now, pid, "relay_exited", "relay told: process exited");
        if is_init {
            let orphaned = match self.containers.get_mut(&container) {
                Some(c) => {
                    c.status = Status::Stopped;
                    c.rule1_pending = c.orphaned;
                    c.orphaned
                }
                None => false,
            };
            if orphaned {
                self.trace.record(
                    now,
                    pid,
                    "rule1",
                    format!("container={container} init exited while no host holds it: rule 1 waits for a host"),
                );
            } else {
                self.rule1_on_init_exit(&container, pid);
            }
        }
        if !self.outputs_closed(pid) {
            let grace = self.config.drain_grace();
            let deadline = now.after(grace);
            if let Some(rec) = self.rt_procs.get_mut(&pid) {
                rec.grace_deadline = Some(deadline);
            }
            let holders = self.stream_holders(pid);
            self.trace.record(
                now,
                pid,
                "drain",
                format!("stdio still held by {holders:?}; cut at {deadline} unless end-of-file"),
            );
        }
    }

    /// Live processes holding an output stream of runtime process `pid`.
    pub(crate) fn stream_holders(&self, pid: i32) -> Vec<i32> {
        let Some(rec) = self.rt_procs.get(&pid) else {
            return Vec::new();
        };
        self.kernel
            .procs
            .values()
            .filter(|p| p.state == ProcState::Alive)
            .filter(|p| {
                std::iter::once(&p.slots)
                    .chain(&p.saved_slots)
                    .flat_map(|s| s.streams())
                    .any(|f| rec.out_streams.contains(&f.id))
            })
            .map(|p| p.pid)
            .collect()
    }

    /// Rule 1, in the simulator's own init-exit path.
    pub(crate) fn rule1_on_init_exit(&mut self, container: &str, init: i32) {
        let Some(c) = self.containers.get(container) else {
            return;
        };
        let (owns, cgroup) = (c.owns_pid_ns, c.cgroup.clone());
        let m = self.config.mutations.clone();
        if owns {
            if m.kill_all_even_if_owned {
                self.violations.push(format!(
                    "rule 1: a cgroup-wide kill was issued for container {container}, which owns its pid namespace"
                ));
                self.kill_all(container, &cgroup, Signal::KILL, "init_exit");
            } else {
                self.trace.record(
                    self.clock.now(),
                    0,
                    "rule1",
                    format!("container={container} owns its pid namespace: no cgroup-wide kill"),
                );
            }
            return;
        }
        if m.plain_kill_on_init_exit {
            let r = self.send_signal(init, Signal::KILL, None);
            self.trace.record(
                self.clock.now(),
                0,
                "plain_kill",
                format!("container={container} kill {init} KILL (no --all): {r:?}"),
            );
        } else {
            self.kill_all(container, &cgroup, Signal::KILL, "init_exit");
        }
        let survivors: Vec<i32> = self
            .cgroup_live(&cgroup)
            .into_iter()
            .filter(|p| self.kernel.procs[p].container == container)
            .collect();
        if !survivors.is_empty() {
            self.violations.push(format!(
                "rule 1: processes {survivors:?} of container {container} survived its init's exit"
            ));
        }
    }

    /// Cuts the relays whose virtual drain grace expired with a writer still holding on.
    /// Returns whether any grace expired.
    pub(crate) fn fire_graces(&mut self) -> bool {
        let now = self.clock.now();
        let due: Vec<i32> = self
            .rt_procs
            .iter()
            .filter(|(_, r)| r.grace_deadline.is_some_and(|d| d <= now) && !r.cut)
            .map(|(p, _)| *p)
            .collect();
        let any = !due.is_empty();
        for pid in due {
            let closed = self.outputs_closed(pid);
            let holders = self.stream_holders(pid);
            let Some(rec) = self.rt_procs.get_mut(&pid) else {
                continue;
            };
            rec.grace_deadline = None;
            if closed {
                continue;
            }
            let streams = rec.out_streams;
            self.cut_relay(pid);
            for id in streams {
                if let Some(s) = self.kernel.streams.get_mut(&id) {
                    s.reader_gone = true;
                }
            }
            self.trace.record(
                now,
                pid,
                "relay_cut",
                format!(
                    "drain grace {:?} expired; still held by {holders:?}",
                    self.config.drain_grace()
                ),
            );
        }
        any
    }

    /// Cuts the relay of runtime process `pid`, keeping its output streams' write ends open
    /// until the relay has processed the cut (see [`RtProc::cut_holds`]).
    pub(crate) fn cut_relay(&mut self, pid: i32) {
        let Some(rec) = self.rt_procs.get(&pid) else {
            return;
        };
        let streams = rec.out_streams;
        let mut holds: Vec<Arc<StreamFd>> = Vec::new();
        for p in self.kernel.procs.values() {
            for f in std::iter::once(&p.slots)
                .chain(&p.saved_slots)
                .flat_map(|s| s.streams())
            {
                if streams.contains(&f.id) && !holds.iter().any(|h| h.id == f.id) {
                    holds.push(f.clone());
                }
            }
        }
        if let Some(rec) = self.rt_procs.get_mut(&pid) {
            rec.cut = true;
            rec.cut_holds = holds;
            rec.relay.cut();
        }
    }

    /// Lets go of the write ends kept open for cuts the relays have finished.
    pub(crate) fn release_finished_cuts(&mut self) {
        for rec in self.rt_procs.values_mut() {
            if !rec.cut_holds.is_empty() && rec.relay.try_report().is_some() {
                rec.cut_holds.clear();
            }
        }
    }

    /// Whether `wait` on runtime process `pid` may return: it exited and its relay ended (or
    /// was cut), or — with the `no_drain` mutation — it merely exited.
    pub(crate) fn wait_ready(&self, pid: i32) -> bool {
        let Some(rec) = self.rt_procs.get(&pid) else {
            return true;
        };
        rec.status.is_some()
            && (self.config.mutations.no_drain || rec.cut || self.outputs_closed(pid))
    }

    /// The next virtual time at which something is scheduled to happen.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        let now = self.clock.now();
        let sleeps = self.kernel.procs.values().filter_map(|p| match p.program {
            crate::kernel::Program::Sleep { until }
                if p.state == ProcState::Alive
                    && !p.stopped
                    && !self.is_frozen(&p.cgroup)
                    && until > now =>
            {
                Some(until)
            }
            _ => None,
        });
        let graces = self
            .rt_procs
            .values()
            .filter_map(|r| r.grace_deadline.filter(|_| !r.cut));
        sleeps.chain(graces).min()
    }
}
