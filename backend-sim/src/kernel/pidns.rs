//! Pid namespaces: the host's (shared with the runtime), ones a container owns, and joining
//! another's by path (`/proc/<pid>/ns/pid`).
//!
//! A namespace's init is its pid 1. When it dies the kernel kills every other member with
//! SIGKILL (and the namespace can no longer be joined); orphans inside a namespace are adopted
//! by its init.

use super::process::ProcState;
use crate::world::World;
use runtime_api::{ExitStatus, Signal};
use std::collections::BTreeMap;

/// The id of the host pid namespace (the runtime's; pids there are host pids).
pub const HOST_NS: u64 = 0;

/// A pid namespace.
#[derive(Debug, Clone, Default)]
pub struct PidNs {
    /// Its pid 1 (host pid), `None` for the host namespace.
    pub init: Option<i32>,
    /// The next pid to give out inside it.
    pub next_local: i32,
    /// Namespace pid to host pid, for the members alive or zombie.
    pub members: BTreeMap<i32, i32>,
    /// Its init died: every member was killed and it cannot be joined.
    pub dead: bool,
}

impl World {
    /// Creates a namespace whose first member will be its init.
    pub(crate) fn new_pidns(&mut self) -> u64 {
        self.kernel.next_ns += 1;
        let id = self.kernel.next_ns;
        self.kernel.namespaces.insert(id, PidNs::default());
        id
    }

    /// Gives `pid` its pid inside `ns` (the first member of a new namespace becomes its init).
    pub(crate) fn ns_register(&mut self, ns: u64, pid: i32) -> i32 {
        if ns == HOST_NS {
            return pid;
        }
        let n = self.kernel.namespaces.entry(ns).or_default();
        n.next_local += 1;
        let local = n.next_local;
        if local == 1 {
            n.init = Some(pid);
        }
        n.members.insert(local, pid);
        local
    }

    /// Forgets a reaped process.
    pub(crate) fn ns_unregister(&mut self, pid: i32) {
        for n in self.kernel.namespaces.values_mut() {
            n.members.retain(|_, g| *g != pid);
        }
    }

    /// The init of namespace `ns` (none for the host namespace).
    pub(crate) fn ns_init(&self, ns: u64) -> Option<i32> {
        if ns == HOST_NS {
            return None;
        }
        self.kernel.namespaces.get(&ns).and_then(|n| n.init)
    }

    /// The host pid of the process whose pid in `ns` is `local`.
    pub(crate) fn ns_lookup(&self, ns: u64, local: i32) -> Option<i32> {
        if ns == HOST_NS {
            return self.kernel.procs.contains_key(&local).then_some(local);
        }
        self.kernel
            .namespaces
            .get(&ns)?
            .members
            .get(&local)
            .copied()
    }

    /// The namespace that `/proc/<pid>/ns/pid` names: `pid` must be a live simulated process
    /// whose namespace is alive.
    pub(crate) fn ns_by_path(&self, path: &str) -> Result<u64, String> {
        let pid = path
            .strip_prefix("/proc/")
            .and_then(|rest| rest.strip_suffix("/ns/pid"))
            .and_then(|p| p.parse::<i32>().ok())
            .ok_or_else(|| {
                format!("unsupported pid namespace path {path:?} (only /proc/<pid>/ns/pid)")
            })?;
        let p = self
            .kernel
            .procs
            .get(&pid)
            .filter(|p| p.state == ProcState::Alive)
            .ok_or_else(|| format!("open {path}: no such file or directory"))?;
        if self.kernel.namespaces.get(&p.ns).is_some_and(|n| n.dead) {
            return Err(format!("setns {path}: the namespace's init has exited"));
        }
        Ok(p.ns)
    }

    /// The init of `ns` died: kill every other member (SIGKILL from the kernel).
    pub(crate) fn pidns_death(&mut self, ns: u64, init: i32) {
        if let Some(n) = self.kernel.namespaces.get_mut(&ns) {
            n.dead = true;
        }
        let victims: Vec<i32> = self
            .kernel
            .namespaces
            .get(&ns)
            .map(|n| n.members.values().copied().filter(|g| *g != init).collect())
            .unwrap_or_default();
        let victims: Vec<i32> = victims.into_iter().filter(|v| self.is_alive(*v)).collect();
        self.trace.record(
            self.clock.now(),
            init,
            "pidns_death",
            format!("namespace {ns} lost its init; SIGKILL to {victims:?}"),
        );
        for v in victims {
            if self.is_alive(v) {
                self.trace.record(
                    self.clock.now(),
                    v,
                    "signal",
                    "SIGKILL from the kernel (pid namespace death)",
                );
                self.exit_process(v, ExitStatus::Signaled(Signal::KILL));
            }
        }
    }
}
