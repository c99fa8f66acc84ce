//! What the suites need to see beyond the traits: the simulator's ground truth.
//!
//! Over any backend the properties check what the traits show (exit statuses, bytes,
//! relay reports, process listings). A backend that can also show its kernel state and its
//! decisions implements [`Inspector`]; the simulator does, through `Runtime::extension`
//! (see [`crate::sim`]). The rule oracles in [`crate::checks`] use it to check the parts
//! of the rules the traits cannot show: virtual time of `wait`, which writers outlived the
//! grace, and whether a cgroup-wide kill was issued.

use std::time::Duration;

/// One process as the backend's kernel sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelProcess {
    /// Pid in the runtime's namespace.
    pub pid: i32,
    /// Its parent's pid (0: the runtime itself).
    pub ppid: i32,
    /// The container it was started in.
    pub container: String,
    /// Its command line.
    pub argv: Vec<String>,
    /// Whether it exited and was not reaped yet.
    pub zombie: bool,
}

/// The relay facts of one process, from the backend's trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayFacts {
    /// When the process exited.
    pub exited_at: Duration,
    /// When the last writer of its stdout and of its stderr closed it (`None`: still open).
    pub eof_at: [Option<Duration>; 2],
    /// Bytes the process and its descendants wrote to stdout and stderr.
    pub written: [u64; 2],
    /// The drain grace the relay ran with.
    pub grace: Duration,
    /// Whether the backend cut the relay after the grace.
    pub cut: bool,
}

/// The ground truth of a backend, for the rule oracles.
pub trait Inspector {
    /// The backend's clock (virtual for the simulator).
    fn now(&self) -> Duration;
    /// Every process of container `id`'s cgroup that the kernel still has (alive or zombie).
    fn container_processes(&self, id: &str) -> Vec<KernelProcess>;
    /// How many cgroup-wide kills (runc `kill --all`) were issued for container `id` so far.
    fn kill_all_count(&self, id: &str) -> usize;
    /// The relay facts of the process with this pid, once it exited.
    fn relay_facts(&self, pid: i32) -> Option<RelayFacts>;
    /// The seed the backend runs under, for failure messages.
    fn seed(&self) -> u64;
    /// Every process the kernel still has (alive or zombie), any container.
    fn all_kernel_processes(&self) -> Vec<KernelProcess>;
}
