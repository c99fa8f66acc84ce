//! Signal delivery, with the pid-namespace init rules.
//!
//! - SIGKILL kills at once; SIGSTOP stops and SIGCONT continues.
//! - A process whose shell has a handler (`trap 'cmd' SIG`) runs it at its next command
//!   boundary; `trap '' SIG` ignores the signal.
//! - Default action: SIGCHLD, SIGWINCH, SIGURG and SIGCONT are ignored; every other signal
//!   terminates the process.
//! - A namespace's init (pid 1 of a namespace a container owns) ignores every signal it has no
//!   handler for. Only SIGKILL and SIGSTOP sent from OUTSIDE its namespace (the runtime,
//!   `runc kill`, the host) still act; from inside its namespace they are ignored too.

use super::process::{ProcState, Program};
use crate::shell::Disposition;
use crate::world::World;
use runtime_api::{ExitStatus, Signal};

/// What a signal does to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Terminates it.
    Terminate,
    /// Stops it.
    Stop,
    /// Continues it.
    Continue,
    /// Nothing.
    Ignore,
    /// Its shell runs the trap.
    Trap,
}

/// The action of `signal` on a process, from its disposition and whether it is a namespace
/// init receiving the signal from inside its namespace.
pub fn decide(
    signal: Signal,
    disposition: &Disposition,
    ns_init: bool,
    from_inside: bool,
) -> Action {
    match signal {
        Signal::KILL => {
            if ns_init && from_inside {
                Action::Ignore
            } else {
                Action::Terminate
            }
        }
        Signal::STOP => {
            if ns_init && from_inside {
                Action::Ignore
            } else {
                Action::Stop
            }
        }
        _ => match disposition {
            Disposition::Handler(_) => Action::Trap,
            Disposition::Ignore => Action::Ignore,
            Disposition::Default => {
                if signal == Signal::CONT {
                    Action::Continue
                } else if ns_init || matches!(signal.number(), 17 | 28 | 23) {
                    Action::Ignore
                } else {
                    Action::Terminate
                }
            }
        },
    }
}

impl World {
    /// Delivers `signal` to `pid`. `sender_ns` is the pid namespace of the sending process, or
    /// `None` for the runtime (outside every container namespace). Errors with the kernel's
    /// words when there is no such process.
    pub(crate) fn send_signal(
        &mut self,
        pid: i32,
        signal: Signal,
        sender_ns: Option<u64>,
    ) -> Result<(), String> {
        let Some(p) = self.kernel.procs.get(&pid) else {
            return Err("No such process".to_string());
        };
        if p.state != ProcState::Alive {
            self.trace.record(
                self.clock.now(),
                pid,
                "signal",
                format!("{signal} to a zombie: no effect"),
            );
            return Ok(());
        }
        let ns_init = self.ns_init(p.ns) == Some(pid);
        let from_inside = sender_ns == Some(p.ns);
        let disposition = match &p.program {
            Program::Shell(sh) => sh.disposition(signal.number()),
            _ => Disposition::Default,
        };
        let action = decide(signal, &disposition, ns_init, from_inside);
        let from = match sender_ns {
            None => "outside".to_string(),
            Some(ns) => format!("namespace {ns}"),
        };
        self.trace.record(
            self.clock.now(),
            pid,
            "signal",
            format!(
                "{signal} from {from}: {action:?}{}",
                if ns_init { " (namespace init)" } else { "" }
            ),
        );
        match action {
            Action::Terminate => self.exit_process(pid, ExitStatus::Signaled(signal)),
            Action::Stop => {
                if let Some(p) = self.kernel.procs.get_mut(&pid) {
                    p.stopped = true;
                }
            }
            Action::Continue => {
                if let Some(p) = self.kernel.procs.get_mut(&pid) {
                    p.stopped = false;
                }
            }
            Action::Ignore => {}
            Action::Trap => {
                if let Some(p) = self.kernel.procs.get_mut(&pid) {
                    if let Program::Shell(sh) = &mut p.program {
                        sh.queue_trapped(signal.number());
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_init_rules() {
        let d = Disposition::Default;
        assert_eq!(decide(Signal::TERM, &d, true, false), Action::Ignore);
        assert_eq!(decide(Signal::TERM, &d, false, false), Action::Terminate);
        assert_eq!(decide(Signal::KILL, &d, true, false), Action::Terminate);
        assert_eq!(decide(Signal::KILL, &d, true, true), Action::Ignore);
        assert_eq!(decide(Signal::CHLD, &d, false, true), Action::Ignore);
        let h = Disposition::Handler(std::sync::Arc::new(
            crate::shell::parse_script("exit 1").unwrap(),
        ));
        assert_eq!(decide(Signal::TERM, &h, true, true), Action::Trap);
        assert_eq!(
            decide(Signal::TERM, &Disposition::Ignore, false, false),
            Action::Ignore
        );
    }
}
