//! Recovery after a host dies, simulated: the `crash_host` extension (the runtime's handles
//! vanish, the world stays), [`Runtime::open_container`](runtime_api::Runtime::open_container)
//! and [`Runtime::force_delete`](runtime_api::Runtime::force_delete).
//!
//! What a crash does to the world, as a `kill -9` of a host does on Linux:
//! - every handle made so far finds nothing any more (its calls answer `NotFound`); exec'd
//!   process handles are not invalidated (a crashed host has none to use);
//! - every relay is cut and its connections closed (they were the dead host's fds): the
//!   processes' output pipes lose their reader;
//! - the processes run on; an init that exits while no host holds its container gets no
//!   rule 1 (nobody issues the kill): its siblings run on until a host takes the container back
//!   (`open_container` applies the pending rule 1) or force-deletes it.
//!
//! A taken-back init is not the new host's child: its `wait` answers
//! [`ExitStatus::Unknown`]; its old stdio is not reattached (`relay_report` is `None`).

use crate::container::SimContainer;
use crate::runtime::SimRuntime;
use runtime_api::{validate_container_id, Error, ErrorKind, ExitStatus, Result, Signal};

impl SimRuntime {
    /// Simulates the crash of the host that holds this runtime (see the module docs); returns
    /// how many containers it left behind. Extension method `crash_host`.
    pub fn crash_host(&self) -> usize {
        let mut g = self.shared.settled();
        g.host_gen += 1;
        let gen = g.host_gen;
        for c in g.containers.values_mut() {
            c.host_gen = gen;
            c.orphaned = true;
        }
        let live: Vec<i32> = g
            .rt_procs
            .iter()
            .filter(|(_, r)| !r.cut && r.report.is_none() && !r.deleted)
            .map(|(p, _)| *p)
            .collect();
        for pid in live {
            if g.outputs_closed(pid) {
                continue;
            }
            let streams = g.rt_procs[&pid].out_streams;
            g.cut_relay(pid);
            for id in streams {
                if let Some(s) = g.kernel.streams.get_mut(&id) {
                    s.reader_gone = true;
                }
            }
        }
        let left = g.containers.len();
        let now = g.clock.now();
        g.trace.record(
            now,
            0,
            "crash",
            format!("host crashed: handles vanish, {left} containers stay"),
        );
        tracing::info!(containers = left, "simulated host crash");
        g.settle();
        drop(g);
        self.shared.notify();
        left
    }

    /// See [`Runtime::open_container`](runtime_api::Runtime::open_container).
    pub(crate) fn take_back(&self, id: &str) -> Result<SimContainer> {
        validate_container_id(id).map_err(|e| e.with_container(id))?;
        let mut g = self.shared.settled();
        let gen = g.host_gen;
        let Some(c) = g.containers.get_mut(id) else {
            return Err(Error::for_container(
                ErrorKind::NotFound,
                id,
                "container does not exist",
            ));
        };
        c.host_gen = gen;
        c.orphaned = false;
        let pending = std::mem::take(&mut c.rule1_pending);
        let init = c.init_pid;
        let now = g.clock.now();
        g.trace.record(now, 0, "api", format!("open {id}"));
        tracing::debug!(container.id = %id, pid = init, rule1_pending = pending, "taken back");
        if pending {
            g.rule1_on_init_exit(id, init);
        }
        g.settle();
        drop(g);
        self.shared.notify();
        Ok(SimContainer {
            shared: self.shared.clone(),
            id: id.to_string(),
            init,
            gen,
            taken_back: true,
        })
    }

    /// See [`Runtime::force_delete`](runtime_api::Runtime::force_delete). The simulator creates
    /// a container in one step under its lock, so there is never a half-created one to refuse.
    pub(crate) fn force_remove(&self, id: &str) -> Result<()> {
        validate_container_id(id).map_err(|e| e.with_container(id))?;
        let mut g = self.shared.settled();
        let Some(c) = g.containers.get(id) else {
            return Err(Error::for_container(
                ErrorKind::NotFound,
                id,
                "container does not exist",
            ));
        };
        let (cgroup, init) = (c.cgroup.clone(), c.init_pid);
        let now = g.clock.now();
        g.trace.record(now, 0, "api", format!("force_delete {id}"));
        tracing::debug!(container.id = %id, pid = init, "force delete");
        g.command_fault(id, "delete")?;
        g.set_frozen(&cgroup, false);
        if g.is_alive(init) {
            let _ = g.send_signal(init, Signal::KILL, None);
        }
        g.kill_all(id, &cgroup, Signal::KILL, "force_delete");
        g.settle();
        let mut g = self.shared.run_until(g, |w| {
            w.cgroup_live(&cgroup).is_empty()
                && w.rt_procs.get(&init).is_none_or(|r| r.status.is_some())
        });
        let mine: Vec<i32> = g
            .rt_procs
            .iter()
            .filter(|(_, r)| r.container == id && !r.deleted)
            .map(|(p, _)| *p)
            .collect();
        for pid in mine {
            let cut = g.rt_procs[&pid].cut || g.rt_procs[&pid].report.is_some();
            if !cut && !g.outputs_closed(pid) {
                g.cut_relay(pid);
            }
            if let Some(r) = g.rt_procs.get_mut(&pid) {
                r.deleted = true;
            }
        }
        g.containers.remove(id);
        g.settle();
        drop(g);
        self.shared.notify();
        Ok(())
    }
}

/// `wait` on a taken-back init: as any `wait` (exit, rule 1, relay end), answering
/// [`ExitStatus::Unknown`]: the new host is not the init's parent.
pub(crate) fn wait_taken_back(c: &SimContainer) -> Result<ExitStatus> {
    crate::process::wait_process(&c.shared, &c.id, c.init).map(|_| ExitStatus::Unknown)
}
