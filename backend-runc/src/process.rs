//! A process this backend started (an init or an exec): its pid, its exit cell (filled by the
//! reaper) and its stdio relay; and the [`Process`] object handed out for an exec.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use runtime_api::{ConsoleSize, Error, ErrorKind, ExitStatus, Process, RelayReport, Result};
use stdio::{PipeRelay, Resizer, TtyRelay};

use crate::container::Shared;
use crate::reaper::ExitCell;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A process's stdio relay.
pub(crate) enum Relay {
    /// Pipes (no terminal).
    Pipe(PipeRelay),
    /// A pty master.
    Tty(TtyRelay),
}

impl Relay {
    fn process_exited(&self) {
        match self {
            Relay::Pipe(r) => r.process_exited(),
            Relay::Tty(r) => r.process_exited(),
        }
    }

    fn wait(&self) -> RelayReport {
        match self {
            Relay::Pipe(r) => r.wait(),
            Relay::Tty(r) => r.wait(),
        }
    }
}

/// What init and exec processes share: pid, exit, relay, the result of `wait`.
pub(crate) struct ProcCore {
    pub pid: i32,
    pub exit: Arc<ExitCell>,
    relay: Option<Relay>,
    resizer: Option<Resizer>,
    report: Mutex<Option<RelayReport>>,
    /// Serialises `wait`; holds its result once it has completed.
    waited: Mutex<Option<ExitStatus>>,
    pub deleted: AtomicBool,
}

impl ProcCore {
    pub fn new(pid: i32, exit: Arc<ExitCell>, relay: Option<Relay>) -> ProcCore {
        let resizer = match &relay {
            Some(Relay::Tty(t)) => Some(t.resizer()),
            _ => None,
        };
        ProcCore {
            pid,
            exit,
            relay,
            resizer,
            report: Mutex::new(None),
            waited: Mutex::new(None),
            deleted: AtomicBool::new(false),
        }
    }

    /// Runs `wait` once: blocks for the exit, runs `after_exit` (rule 1 for an init), then
    /// ends the relay (drain to end-of-file, bounded by the grace) and stores its report.
    /// Later and concurrent calls return the stored status.
    pub fn wait_with(&self, after_exit: impl FnOnce(ExitStatus)) -> ExitStatus {
        let mut waited = lock(&self.waited);
        if let Some(s) = *waited {
            return s;
        }
        let status = self.exit.wait();
        tracing::debug!(pid = self.pid, %status, "process exited");
        after_exit(status);
        if let Some(relay) = &self.relay {
            relay.process_exited();
            let report = relay.wait();
            tracing::debug!(
                pid = self.pid,
                cut = report.was_cut(),
                stdout = report.stdout.relayed,
                stderr = report.stderr.relayed,
                "relay ended"
            );
            *lock(&self.report) = Some(report);
        }
        *waited = Some(status);
        status
    }

    pub fn resize(&self, size: ConsoleSize) -> Result<()> {
        match &self.resizer {
            Some(r) => r.resize(size),
            None => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("process {} has no terminal", self.pid),
            )),
        }
    }

    pub fn relay_report(&self) -> Option<RelayReport> {
        *lock(&self.report)
    }
}

/// A process started by [`Container::exec`](runtime_api::Container::exec).
pub(crate) struct ExecProcess {
    pub core: Arc<ProcCore>,
    pub container: Arc<Shared>,
    pub files: Vec<PathBuf>,
}

impl Drop for ExecProcess {
    /// An exec dropped without `delete`: the container forgets it (rule 1 no longer waits for
    /// it, the list does not grow), and its relay is told the process exited when it does, so
    /// that the relay drains (bounded by the grace) and closes the host's connections.
    fn drop(&mut self) {
        if self.core.deleted.load(Ordering::SeqCst) {
            return;
        }
        self.container.forget_exec(&self.core);
        let core = self.core.clone();
        // Dropping the last reference to the core drops the relay, which then ends as after
        // an exit (drain, bounded by the grace).
        self.core.exit.on_exit(move || drop(core));
    }
}

impl Process for ExecProcess {
    fn pid(&self) -> i32 {
        self.core.pid
    }

    fn wait(&self) -> Result<ExitStatus> {
        let span = tracing::info_span!("exec.wait", container.id = %self.container.id, pid = self.core.pid);
        let _e = span.enter();
        Ok(self.core.wait_with(|_| {}))
    }

    fn delete(&self) -> Result<()> {
        let span = tracing::info_span!("exec.delete", container.id = %self.container.id, pid = self.core.pid);
        let _e = span.enter();
        if self.core.exit.get().is_none() {
            return Err(Error::for_container(
                ErrorKind::StillRunning,
                &self.container.id,
                format!("exec process {} is still running", self.core.pid),
            ));
        }
        if self.core.deleted.swap(true, Ordering::SeqCst) {
            return Err(Error::for_container(
                ErrorKind::NotFound,
                &self.container.id,
                format!("exec process {} was already deleted", self.core.pid),
            ));
        }
        // Ends the relay (bounded by the grace) if nobody waited.
        self.core.wait_with(|_| {});
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
        self.container.forget_exec(&self.core);
        Ok(())
    }

    fn resize_console(&self, size: ConsoleSize) -> Result<()> {
        self.core
            .resize(size)
            .map_err(|e| e.with_container(&self.container.id))
    }

    fn relay_report(&self) -> Option<RelayReport> {
        self.core.relay_report()
    }
}
