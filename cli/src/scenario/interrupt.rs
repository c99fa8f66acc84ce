//! Ctrl-C during a scenario: stop at the next step and clean up, instead of dying and leaving
//! containers behind on a real backend.
//!
//! The runner registers every container it creates; on SIGINT, SIGTERM or SIGHUP a thread
//! records the signal and kills (after resuming) every registered container, which makes a
//! blocked `wait` return. The runner then sees [`Interrupt::signal`], stops, and runs its usual
//! cleanup.

use std::sync::{Arc, Mutex};

use runtime_api::{Container, Signal};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// The containers to stop and the signal that asked for it.
#[derive(Default)]
pub struct Interrupt {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    signal: Option<Signal>,
    containers: Vec<Arc<dyn Container>>,
}

impl Interrupt {
    /// Registers a container created by the runner; if an interrupt already came, it is killed
    /// at once.
    pub fn register(&self, container: Arc<dyn Container>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.signal.is_some() {
            stop(container.as_ref());
        }
        state.containers.push(container);
    }

    /// The signal that interrupted the run, if one did.
    pub fn signal(&self) -> Option<Signal> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).signal
    }

    /// Records `signal` and stops every registered container.
    pub fn interrupt(&self, signal: Signal) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.signal.get_or_insert(signal);
        tracing::info!(%signal, "interrupted: stopping the scenario's containers");
        for c in &state.containers {
            stop(c.as_ref());
        }
    }
}

fn stop(container: &dyn Container) {
    // Either may fail because the container is not in that state; what matters is that init
    // ends, so that whatever waits on it returns.
    let _ = container.resume();
    let _ = container.kill(Signal::KILL);
}

/// Routes SIGINT, SIGTERM and SIGHUP to an [`Interrupt`] until dropped.
pub struct InterruptGuard {
    handle: Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InterruptGuard {
    /// Installs the handlers.
    pub fn install(interrupt: Arc<Interrupt>) -> std::io::Result<InterruptGuard> {
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("rtctl-interrupt".into())
            .spawn(move || {
                for sig in signals.forever() {
                    interrupt.interrupt(Signal(sig));
                }
            })?;
        Ok(InterruptGuard {
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
