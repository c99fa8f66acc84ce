//! `rtctl run BUNDLE`: create, start, relay rtctl's own stdio, wait, delete; exit with the
//! container's code.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::{Arc, Mutex};

use runtime_api::{Container, ExitStatus, Signal, StdioSet};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGWINCH};
use signal_hook::iterator::Signals;

use crate::backend_select::Backend;
use crate::bundle;
use crate::error::CliError;
use crate::terminal::{self, RawMode, StdioFlags};

/// Ctrl-C pressed this many times in a row (the container ignoring SIGINT) sends SIGKILL.
const INTERRUPTS_BEFORE_KILL: u32 = 3;

/// Runs the bundle at `bundle_dir` to completion and returns the container's exit code.
pub fn run(backend: &Backend, bundle_dir: &Path, id: Option<&str>) -> Result<i32, CliError> {
    let id = id
        .map(str::to_string)
        .unwrap_or_else(|| format!("rtctl-{}", std::process::id()));
    runtime_api::validate_container_id(&id)
        .map_err(|e| CliError::new(format!("--id: {}", e.message())))?;
    let spec = bundle::load_spec(bundle_dir)?;
    if !backend.is_simulator() {
        bundle::check_rootfs(bundle_dir, &spec)?;
    }
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);

    let runtime = backend.open()?;
    let flags = StdioFlags::save();
    let stdio = own_stdio(terminal);
    let stdin = std::io::stdin();
    let interactive = terminal && terminal::is_terminal(stdin.as_fd());
    let raw = if interactive {
        Some(
            RawMode::enter(stdin.as_fd())
                .map_err(|e| CliError::new(format!("cannot put the terminal in raw mode: {e}")))?,
        )
    } else {
        None
    };

    let span = tracing::info_span!("run", container.id = %id);
    let _enter = span.enter();
    // Installed before create, so that a Ctrl-C while the container is being created is
    // forwarded once it exists instead of killing rtctl and leaving the container behind.
    let forwarder = SignalForwarder::start(interactive)
        .map_err(|e| CliError::new(format!("cannot install signal handlers: {e}")))?;
    let container: Arc<dyn Container> = match runtime.create_container(&id, &id, bundle_dir, stdio)
    {
        Ok(c) => Arc::from(c),
        Err(e) => {
            forwarder.stop();
            return Err(CliError::new(format!("create: {e}")));
        }
    };
    tracing::info!(pid = container.pid(), terminal, "created");
    if interactive {
        resize_to_terminal(container.as_ref());
    }
    forwarder.attach(container.clone());
    let result = container
        .start()
        .map_err(|e| CliError::new(format!("start: {e}")))
        .and_then(|()| {
            tracing::info!("started");
            container
                .wait()
                .map_err(|e| CliError::new(format!("wait: {e}")))
        });
    forwarder.stop();
    if result.is_err() {
        discard(container.as_ref());
    }
    let status: ExitStatus = result?;
    if let Some(report) = container.relay_report() {
        if report.was_cut() {
            tracing::warn!(?report, "output was cut after the drain grace");
        }
    }
    tracing::info!(%status, "exited");
    let deleted = container.delete();
    drop(raw);
    flags.restore();
    let _ = std::io::stdout().flush();
    deleted.map_err(|e| CliError::new(format!("delete: {e}")))?;
    Ok(status.code())
}

/// Duplicates rtctl's stdio for the container: stdin and stdout always, stderr unless the
/// container has a terminal (whose single output carries both).
fn own_stdio(terminal: bool) -> StdioSet {
    let dup = |fd: std::os::fd::BorrowedFd<'_>| -> Option<OwnedFd> { fd.try_clone_to_owned().ok() };
    StdioSet {
        stdin: dup(std::io::stdin().as_fd()),
        stdout: dup(std::io::stdout().as_fd()),
        stderr: if terminal {
            None
        } else {
            dup(std::io::stderr().as_fd())
        },
    }
}

/// Removes a container after a failed start or wait: best effort, nothing left behind.
fn discard(container: &dyn Container) {
    let _ = container.kill(Signal::KILL);
    let _ = container.wait();
    if let Err(e) = container.delete() {
        tracing::warn!(error = %e, "could not delete the container after a failure");
    }
}

/// Forwards the signals rtctl receives to the container's init, and terminal size changes to
/// its console. Signals that arrive before the container exists are held and forwarded as soon
/// as it is attached.
struct SignalForwarder {
    handle: signal_hook::iterator::Handle,
    target: Arc<Mutex<Target>>,
    thread: std::thread::JoinHandle<()>,
}

/// Where signals go: nowhere yet (held), or the container.
#[derive(Default)]
struct Target {
    container: Option<Arc<dyn Container>>,
    held: Vec<Signal>,
}

impl SignalForwarder {
    fn start(resize: bool) -> std::io::Result<SignalForwarder> {
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH])?;
        let handle = signals.handle();
        let target = Arc::new(Mutex::new(Target::default()));
        let shared = target.clone();
        let thread = std::thread::Builder::new()
            .name("rtctl-signals".into())
            .spawn(move || {
                let mut interrupts = 0;
                for sig in signals.forever() {
                    let mut target = shared.lock().unwrap_or_else(|p| p.into_inner());
                    if sig == SIGWINCH {
                        if let (true, Some(c)) = (resize, &target.container) {
                            resize_to_terminal(c.as_ref());
                        }
                        continue;
                    }
                    let mut forward = Signal(sig);
                    if sig == SIGINT {
                        interrupts += 1;
                        if interrupts >= INTERRUPTS_BEFORE_KILL {
                            forward = Signal::KILL;
                        }
                    }
                    match &target.container {
                        Some(c) => deliver(c.as_ref(), forward),
                        None => {
                            tracing::info!(signal = %forward, "holding signal until the container exists");
                            target.held.push(forward);
                        }
                    }
                }
            })?;
        Ok(SignalForwarder {
            handle,
            target,
            thread,
        })
    }

    /// From now on signals go to `container`; the ones held so far are delivered now.
    fn attach(&self, container: Arc<dyn Container>) {
        let mut target = self.target.lock().unwrap_or_else(|p| p.into_inner());
        for sig in std::mem::take(&mut target.held) {
            deliver(container.as_ref(), sig);
        }
        target.container = Some(container);
    }

    fn stop(self) {
        self.handle.close();
        let _ = self.thread.join();
    }
}

fn deliver(container: &dyn Container, signal: Signal) {
    tracing::info!(%signal, "forwarding signal");
    if let Err(e) = container.kill(signal) {
        tracing::debug!(error = %e, "forwarding failed");
    }
}

fn resize_to_terminal(container: &dyn Container) {
    if let Some(size) = terminal::window_size(std::io::stdout().as_fd()) {
        tracing::debug!(rows = size.rows, cols = size.cols, "resize");
        if let Err(e) = container.resize_console(size) {
            tracing::debug!(error = %e, "resize failed");
        }
    }
}
