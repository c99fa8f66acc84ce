//! The `Container` trait: a container, which is also its init process.

use crate::{ContainerState, Process, ProcessInfo, Result, Signal, StdioSet};

/// A container. It is also a [`Process`]: its init. `wait` on a container waits for init and
/// applies rule 1 (see [`Process::wait`]); `delete` removes the container.
///
/// Thread safe: methods may be called concurrently from several threads.
pub trait Container: Process {
    /// The container's id, as given at create.
    fn id(&self) -> &str;

    /// Whether the backend still knows the container (it has not been deleted, by us or
    /// behind our back).
    fn exists(&self) -> Result<bool>;

    /// Runs the user program of the created container. Fails with
    /// [`NotStopped`](crate::ErrorKind::NotStopped) if the container is not in the `created`
    /// status (already started, or stopped).
    fn start(&self) -> Result<()>;

    /// Starts another process in the running container, relaying its stdio to `stdio`.
    ///
    /// Returns once the process runs. Fails with [`NotRunning`](crate::ErrorKind::NotRunning)
    /// if init has exited (also when init's exit has not been waited for yet) or the container
    /// is paused (every backend refuses exec into a frozen container, as runc does), and with
    /// [`InvalidSpec`](crate::ErrorKind::InvalidSpec) for a spec the backend cannot run. On
    /// failure the fds in `stdio` are closed and nothing is left behind.
    fn exec(
        &self,
        process: &oci_spec::runtime::Process,
        stdio: StdioSet,
    ) -> Result<Box<dyn Process>>;

    /// Sends `signal` to the container's init process only. Fails with
    /// [`NotRunning`](crate::ErrorKind::NotRunning) if init has exited.
    ///
    /// "Init only" holds on every backend and runtime version, also for `KILL` on a container
    /// without its own pid namespace (where runc 1.2+'s own `kill` signals the whole cgroup):
    /// the other processes die only by rule 1, once init's exit is waited for. A signal that
    /// init does not handle and that the kernel does not force on a namespace's pid 1 (all but
    /// `KILL` and `STOP`) is ignored by an init that owns its pid namespace.
    fn kill(&self, signal: Signal) -> Result<()>;

    /// Freezes every process of the container. Fails with
    /// [`NotRunning`](crate::ErrorKind::NotRunning) unless the container is running.
    fn pause(&self) -> Result<()>;

    /// Thaws a paused container. Fails with [`NotRunning`](crate::ErrorKind::NotRunning)
    /// unless the container is paused (runc: "container not paused").
    fn resume(&self) -> Result<()>;

    /// The container's current state.
    fn state(&self) -> Result<ContainerState>;

    /// The live processes of the container, zombies excluded.
    fn running_processes(&self) -> Result<Vec<ProcessInfo>>;

    /// Every process of the container, zombies included, each saying whether the runtime
    /// created it.
    fn all_processes(&self) -> Result<Vec<ProcessInfo>>;

    /// The init process. `self` is that process too; this is the same object seen as a
    /// [`Process`] (useful to hand it to code that takes `&dyn Process`).
    fn init_process(&self) -> &dyn Process;

    /// Changes the container's cgroup resources (what `runc update --resources` accepts).
    fn update(&self, resources: &oci_spec::runtime::LinuxResources) -> Result<()>;
}
