//! The `Process` trait: one process the runtime created (a container's init, or an exec).

use crate::{ConsoleSize, ExitStatus, RelayReport, Result};

/// A process the runtime created: a container's init or a process started by
/// [`Container::exec`](crate::Container::exec).
///
/// All methods take `&self` and the type is `Send + Sync`: one thread may block in
/// [`wait`](Process::wait) while another resizes the console or, on the container, kills it.
pub trait Process: Send + Sync {
    /// The pid in the caller's pid namespace. Stable for the life of the object, also after the
    /// process exited.
    fn pid(&self) -> i32;

    /// Blocks until the process has exited and its stdio relay has ended, then returns how it
    /// exited.
    ///
    /// Guarantees, in order, before returning:
    /// 1. the process has exited and has been reaped (it is not a zombie);
    /// 2. for a container's init, when the container does not own its pid namespace: every
    ///    other process of the container has been killed and reaped (rule 1);
    /// 3. every byte the process and its descendants wrote to stdout/stderr has reached the
    ///    connection, in order per stream, unless a writer kept the stream open past the drain
    ///    grace; then the relay was cut, which [`relay_report`](Process::relay_report) says
    ///    (rule 2). It never blocks longer than the exit plus the drain grace plus a bounded
    ///    peer close.
    ///
    /// Idempotent: later and concurrent calls return the same status. For an init, the exits
    /// of execs it caused are reported before its own.
    fn wait(&self) -> Result<ExitStatus>;

    /// Releases what the runtime keeps for this process (pid files, relay). For an exec,
    /// requires it to have exited (else [`StillRunning`](crate::ErrorKind::StillRunning)).
    /// For a container (whose `delete` is this method) see
    /// [`Container`](crate::Container). Calling it twice is an error of kind
    /// [`NotFound`](crate::ErrorKind::NotFound); after it, only `pid` and `relay_report`
    /// remain meaningful.
    fn delete(&self) -> Result<()>;

    /// Sets the size of the process's terminal. Fails with
    /// [`InvalidArgument`](crate::ErrorKind::InvalidArgument) for a process without a terminal,
    /// and with [`RelayClosed`](crate::ErrorKind::RelayClosed) once its relay has ended.
    fn resize_console(&self, size: ConsoleSize) -> Result<()>;

    /// How the stdio relay ended: `None` before `wait` has returned, or if the process was
    /// given no connections at all.
    fn relay_report(&self) -> Option<RelayReport>;
}
