//! The simulated kernel: processes, pid namespaces, cgroups, signals and stdio files.
//!
//! Everything here is plain data in ordered maps (`BTreeMap`), mutated only by the simulator's
//! one thread of decisions, so that iteration order — and hence every decision — depends on
//! the seed alone.

pub mod cgroup;
pub mod file;
pub mod fs;
pub mod pidns;
pub mod process;
pub mod signal;

use std::collections::{BTreeMap, BTreeSet};

pub use cgroup::KillAllRecord;
pub use file::{Fd, FileKind, Slots, StreamFd, StreamStats};
pub use fs::{InputBuf, OpenRead, SimPipe};
pub use pidns::{PidNs, HOST_NS};
pub use process::{Filter, Input, Proc, ProcState, Program, RUNTIME_PID};

/// The kernel's tables.
#[derive(Debug, Default)]
pub struct Kernel {
    /// Every process, alive or zombie, by host pid.
    pub procs: BTreeMap<i32, Proc>,
    /// Pid namespaces by id ([`HOST_NS`] is implicit).
    pub namespaces: BTreeMap<u64, PidNs>,
    /// Stdio streams by id.
    pub streams: BTreeMap<u64, StreamStats>,
    /// Frozen cgroups.
    pub frozen: BTreeSet<String>,
    /// Every cgroup-wide kill issued, in order.
    pub kill_alls: Vec<KillAllRecord>,
    /// Pipes between simulated processes, by id.
    pub pipes: BTreeMap<u64, SimPipe>,
    /// Files of the containers, by (container id, absolute path).
    pub files: BTreeMap<(String, String), Vec<u8>>,
    /// Files open for reading, by id.
    pub reads: BTreeMap<u64, OpenRead>,
    /// Input taken from real stdin streams, by stream id.
    pub inputs: BTreeMap<u64, InputBuf>,
    pub(crate) next_pipe: u64,
    pub(crate) next_open: u64,
    pub(crate) next_pid: i32,
    pub(crate) next_ns: u64,
    pub(crate) next_stream: u64,
}

impl Kernel {
    /// An empty kernel whose first pid will be `first_pid`.
    pub fn new(first_pid: i32) -> Kernel {
        Kernel {
            next_pid: first_pid - 1,
            ..Kernel::default()
        }
    }
}
