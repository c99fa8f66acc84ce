//! Cgroups: a path shared by every process of a container (children inherit it) and possibly
//! by several containers (`linux.cgroupsPath`). Freezing (`pause`) and the runc-style
//! cgroup-wide kill (`runc kill --all`) act on the cgroup, not on the container.

use super::process::ProcState;
use crate::world::World;
use runtime_api::Signal;
use serde::Serialize;

/// One cgroup-wide kill that was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KillAllRecord {
    /// Virtual time, ns.
    pub t_ns: u64,
    /// The container it was issued for.
    pub container: String,
    /// The cgroup it hit.
    pub cgroup: String,
    /// Why: `init_exit` (rule 1) or `delete`.
    pub reason: String,
    /// The signal.
    pub signal: i32,
    /// The pids it signalled (possibly of other containers sharing the cgroup).
    pub signalled: Vec<i32>,
}

impl World {
    /// The live processes of `cgroup`, in pid order.
    pub(crate) fn cgroup_live(&self, cgroup: &str) -> Vec<i32> {
        self.kernel
            .procs
            .values()
            .filter(|p| p.cgroup == cgroup && p.state == ProcState::Alive)
            .map(|p| p.pid)
            .collect()
    }

    /// `runc kill --all <container> <signal>`: signals every live process of the cgroup, from
    /// outside every pid namespace.
    pub(crate) fn kill_all(&mut self, container: &str, cgroup: &str, signal: Signal, reason: &str) {
        let victims = self.cgroup_live(cgroup);
        self.trace.record(
            self.clock.now(),
            0,
            "kill_all",
            format!(
                "container={container} cgroup={cgroup} reason={reason} {signal} to {victims:?}"
            ),
        );
        self.kernel.kill_alls.push(KillAllRecord {
            t_ns: self.clock.now().0,
            container: container.to_string(),
            cgroup: cgroup.to_string(),
            reason: reason.to_string(),
            signal: signal.number(),
            signalled: victims.clone(),
        });
        for v in victims {
            let _ = self.send_signal(v, signal, None);
        }
    }

    /// Freezes or thaws a cgroup.
    pub(crate) fn set_frozen(&mut self, cgroup: &str, frozen: bool) {
        if frozen {
            self.kernel.frozen.insert(cgroup.to_string());
        } else {
            self.kernel.frozen.remove(cgroup);
        }
        self.trace.record(
            self.clock.now(),
            0,
            if frozen { "freeze" } else { "thaw" },
            format!("cgroup={cgroup}"),
        );
    }

    /// Whether `cgroup` is frozen.
    pub(crate) fn is_frozen(&self, cgroup: &str) -> bool {
        self.kernel.frozen.contains(cgroup)
    }
}
