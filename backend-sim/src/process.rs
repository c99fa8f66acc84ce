//! [`SimProcess`]: a process the simulated runtime created, and the `Process` operations that
//! a container's init shares with it.

use crate::sim::Shared;
use runtime_api::{
    ConsoleSize, Error, ErrorKind, ExitStatus, Process, RelayEnd, RelayReport, Result,
};
use std::sync::Arc;

/// An exec'd process of a simulated container.
pub struct SimProcess {
    pub(crate) shared: Arc<Shared>,
    pub(crate) container: String,
    pub(crate) pid: i32,
}

fn not_found(container: &str, pid: i32) -> Error {
    Error::for_container(
        ErrorKind::NotFound,
        container,
        format!("process {pid} does not exist (deleted)"),
    )
}

/// `wait` for runtime process `pid`: runs the simulation until it exited (and, for an init,
/// rule 1 was applied) and its stdio reached end-of-file or was cut after the virtual grace;
/// then waits (real time) for the relay to deliver and close.
pub(crate) fn wait_process(shared: &Shared, container: &str, pid: i32) -> Result<ExitStatus> {
    let g = shared.settled();
    match g.rt_procs.get(&pid) {
        None => return Err(not_found(container, pid)),
        Some(rec) if rec.deleted => {
            return rec.status.ok_or_else(|| not_found(container, pid));
        }
        Some(_) => {}
    }
    tracing::debug!(container.id = %container, pid, "wait");
    let mut g = shared.run_until(g, |w| w.wait_ready(pid));
    let no_drain = g.config.mutations.no_drain;
    let rec = g
        .rt_procs
        .get(&pid)
        .expect("runtime records are never removed");
    let status = rec.status.expect("wait_ready implies an exit status");
    if rec.report.is_none() {
        let relay = rec.relay.clone();
        let report = if no_drain {
            // The mutation's wait never looks at the relay: how far the real relay thread got
            // by now is wall-clock timing, and must not reach the outcome or the trace (the
            // same seed and calls still give the same trace).
            None
        } else {
            drop(g);
            let report = relay.wait();
            g = shared.settled();
            Some(report)
        };
        if let Some(mut report) = report {
            // The relay runs without a timer and reports a zero grace when cut; the grace that
            // expired is the simulator's virtual one.
            if report.was_cut() {
                report.end = RelayEnd::Cut {
                    grace: g.config.drain_grace(),
                };
            }
            let rec = g.rt_procs.get_mut(&pid).expect("record");
            rec.cut_holds.clear();
            if rec.report.is_none() {
                rec.report = Some(report);
                let end = if report.was_cut() { "cut" } else { "complete" };
                let now = g.clock.now();
                g.trace.record(
                    now,
                    pid,
                    "relay_end",
                    format!("{end}; wait returns {status}"),
                );
            }
        } else {
            let now = g.clock.now();
            g.violations.push(format!(
                "rule 2: wait on pid {pid} returned before its relay had ended"
            ));
            g.trace.record(
                now,
                pid,
                "relay_end",
                format!("not waited for (no_drain mutation); wait returns {status}"),
            );
        }
    }
    g.settle();
    drop(g);
    shared.notify();
    Ok(status)
}

/// How the relay of `pid` ended, once `wait` returned (`None` without connections).
pub(crate) fn relay_report(shared: &Shared, pid: i32) -> Option<RelayReport> {
    let g = shared.settled();
    let rec = g.rt_procs.get(&pid)?;
    if !rec.has_connections {
        return None;
    }
    rec.report
}

/// Resizes the terminal of `pid`.
pub(crate) fn resize(shared: &Shared, container: &str, pid: i32, size: ConsoleSize) -> Result<()> {
    let relay = {
        let g = shared.settled();
        match g.rt_procs.get(&pid) {
            Some(rec) if !rec.deleted => rec.relay.clone(),
            _ => return Err(not_found(container, pid)),
        }
    };
    relay.resize(size).map_err(|e| e.with_container(container))
}

impl Process for SimProcess {
    fn pid(&self) -> i32 {
        self.pid
    }

    fn wait(&self) -> Result<ExitStatus> {
        wait_process(&self.shared, &self.container, self.pid)
    }

    fn delete(&self) -> Result<()> {
        let mut g = self.shared.settled();
        let now = g.clock.now();
        let rec = g
            .rt_procs
            .get_mut(&self.pid)
            .filter(|r| !r.deleted)
            .ok_or_else(|| not_found(&self.container, self.pid))?;
        if rec.status.is_none() {
            return Err(Error::for_container(
                ErrorKind::StillRunning,
                &self.container,
                format!("process {} is still running", self.pid),
            ));
        }
        rec.deleted = true;
        g.trace
            .record(now, 0, "api", format!("delete process {}", self.pid));
        Ok(())
    }

    fn resize_console(&self, size: ConsoleSize) -> Result<()> {
        resize(&self.shared, &self.container, self.pid, size)
    }

    fn relay_report(&self) -> Option<RelayReport> {
        relay_report(&self.shared, self.pid)
    }
}
