//! The rule oracles: judge a [`Record`] against rule 1 and rule 2.
//!
//! Each check returns the violations it found, as sentences naming the process or container,
//! so that a failing property prints exactly what broke next to the shrunk scenario and seed.

use std::time::Duration;

use runtime_api::{ErrorKind, ExitStatus, Signal};

use crate::runner::{ExecRecord, ProcRecord, Record};
use crate::scenario::{Conn, PidNs};

/// Rule 1: after every init exit, a container without its own pid namespace has no other
/// process alive or zombie when init's `wait` returns; a container with its own namespace got
/// no cgroup-wide kill and its cgroup peers outside its namespace live on; exec after init's
/// exit fails with "not running".
pub fn rule1(rec: &Record) -> Vec<String> {
    let plan = &rec.plan;
    let mut v = Vec::new();
    for probe in &rec.init_exits {
        let c = probe.container;
        if plan.owns_namespace(c) {
            if let Some((before, after)) = probe.kill_all {
                if after != before {
                    v.push(format!(
                        "c{c} owns its pid namespace, yet {} cgroup-wide kill(s) were issued \
                         when its init exited",
                        after - before
                    ));
                }
            }
            for (j, outcome) in &probe.peers {
                if *outcome == Some(Ok(ExitStatus::Signaled(Signal::KILL)))
                    && !peer_kill_explained(rec, *j, &probe.explained_kills)
                {
                    v.push(format!(
                        "c{j} shares c{c}'s cgroup with its own pid namespace, and was killed \
                         by SIGKILL when c{c}'s init exited"
                    ));
                }
            }
        } else {
            match &probe.listed {
                Ok(list) if !list.is_empty() => v.push(format!(
                    "c{c} does not own its pid namespace; when its init's wait returned, \
                     all_processes still listed {:?}",
                    list.iter()
                        .map(|p| (p.pid, p.command.join(" "), p.is_zombie))
                        .collect::<Vec<_>>()
                )),
                Ok(_) | Err(ErrorKind::NotRunning) | Err(ErrorKind::NotFound) => {}
                Err(kind) => v.push(format!(
                    "c{c}: all_processes after its init exited failed with {kind:?}"
                )),
            }
            if let Some(kernel) = &probe.kernel {
                if !kernel.is_empty() {
                    v.push(format!(
                        "c{c} does not own its pid namespace; when its init's wait returned, \
                         the kernel still had {kernel:?} (alive or zombie)"
                    ));
                }
            }
        }
    }
    for (n, e) in rec.execs.iter().enumerate() {
        match e {
            ExecRecord::Started { proc, init_waited } => {
                if *init_waited {
                    v.push(format!(
                        "{}: exec succeeded after the init's wait had returned",
                        rec.procs[*proc].label
                    ));
                }
            }
            ExecRecord::Refused {
                container, kind, ..
            } => {
                if *kind != ErrorKind::NotRunning {
                    v.push(format!(
                        "exec #{n} in c{container} was refused with {kind:?}, not NotRunning"
                    ));
                }
            }
        }
    }
    v
}

fn peer_kill_explained(rec: &Record, j: usize, earlier_exits: &[usize]) -> bool {
    let plan = &rec.plan;
    let r = &rec.procs[j];
    if r.signals.contains(&Signal::KILL) {
        return true;
    }
    if !r.namespace_init && r.script.expected(false).status == ExitStatus::Signaled(Signal::KILL) {
        return true;
    }
    earlier_exits.iter().any(|&e| {
        // Its namespace's owner died, or a cgroup peer without its own namespace exited (its
        // kill-all covers the whole cgroup).
        (plan.containers[j].pid_ns == PidNs::Join(e))
            || (plan.containers[e].cgroup == plan.containers[j].cgroup && !plan.owns_namespace(e))
    })
}

/// How the model explains a process's output: the exact expected bytes, or (interrupted or
/// cut) a prefix of them, or for an init signalled with a trapped signal a prefix followed by
/// the handler's output.
fn output_ok(r: &ProcRecord, stream: usize, got: &[u8], exact: bool) -> Result<(), String> {
    let expected = r.script.expected(r.namespace_init);
    let want = if stream == 0 {
        &expected.stdout
    } else {
        &expected.stderr
    };
    if exact {
        if got == want.as_slice() {
            return Ok(());
        }
    } else {
        if want.starts_with(got) {
            return Ok(());
        }
        if stream == 0 && !r.signals.is_empty() {
            if let Some(head) = got.strip_suffix(b"caught\n") {
                if want.starts_with(head) {
                    return Ok(());
                }
            }
        }
    }
    Err(format!(
        "{} {}: got {} bytes {}, expected {}{} bytes {}",
        r.label,
        if stream == 0 { "stdout" } else { "stderr" },
        got.len(),
        preview(got),
        if exact { "exactly " } else { "a prefix of " },
        want.len(),
        preview(want),
    ))
}

fn preview(b: &[u8]) -> String {
    if b.len() <= 40 {
        format!("{:?}", String::from_utf8_lossy(b))
    } else {
        let zeros = b.iter().filter(|&&x| x == 0).count();
        format!(
            "({} zero bytes; starts {:?}, ends {:?})",
            zeros,
            String::from_utf8_lossy(&b[..20]),
            String::from_utf8_lossy(&b[b.len() - 20..])
        )
    }
}

/// The statuses the model allows a process to end with.
fn status_explained(r: &ProcRecord, status: ExitStatus) -> bool {
    let expected = r.script.expected(r.namespace_init).status;
    status == expected
        || status == ExitStatus::Signaled(Signal::KILL)
        || r.signals.iter().any(|s| {
            status == ExitStatus::Signaled(*s)
                || (matches!(status, ExitStatus::Exited(_)) && r.script.render().contains("trap"))
        })
}

/// Rule 2: every `wait` returns; every byte written before the end arrives in order and the
/// connection is closed when `wait` returns; with the backend's facts, every `wait` returns
/// within the grace after the exit and the relay reports a cut exactly when a writer outlived
/// the grace.
pub fn rule2(rec: &Record) -> Vec<String> {
    let mut v = Vec::new();
    for r in &rec.procs {
        let Some(status) = r.status else {
            v.push(format!("{}: wait did not return (hung)", r.label));
            continue;
        };
        let status = match status {
            Ok(s) => s,
            Err(kind) => {
                v.push(format!("{}: wait failed with {kind:?}", r.label));
                continue;
            }
        };
        for stream in &r.unclosed {
            v.push(format!(
                "{}: the {stream} connection was still open after wait returned",
                r.label
            ));
        }
        if !status_explained(r, status) {
            v.push(format!(
                "{}: exited with {status}, the script {:?} cannot end so",
                r.label, r.script
            ));
        }
        let connected = [r.stdio.stdout != Conn::Null, r.stdio.stderr != Conn::Null];
        let Some(report) = r.relay else {
            if connected.iter().any(|c| *c) {
                v.push(format!("{}: no relay report after wait", r.label));
            }
            continue;
        };
        let cut = report.was_cut();
        let expected = r.script.expected(r.namespace_init);
        let interrupted = status != expected.status || !r.signals.is_empty();
        let streams = [&r.stdout, &r.stderr];
        let reports = [report.stdout, report.stderr];
        for s in 0..2 {
            if !connected[s] {
                continue;
            }
            let Some(got) = streams[s] else { continue };
            if let Err(e) = output_ok(r, s, &got.bytes, !interrupted && !cut) {
                v.push(e);
            }
            if reports[s].relayed != got.bytes.len() as u64 || reports[s].dropped != 0 {
                v.push(format!(
                    "{}: relay report says {:?} for a stream that delivered {} bytes to a \
                     peer that never left",
                    r.label,
                    reports[s],
                    got.bytes.len()
                ));
            }
        }
        if let Some(f) = &r.facts {
            let deadline = f.exited_at + f.grace;
            let mut outlived = false;
            let mut boundary = false;
            for s in 0..2 {
                if !connected[s] {
                    continue;
                }
                match f.eof_at[s] {
                    None => outlived = true,
                    Some(t) if t > deadline => outlived = true,
                    Some(t) if t == deadline => boundary = true,
                    Some(_) => {}
                }
                if let Some(got) = streams[s] {
                    let got = got.bytes.len() as u64;
                    if (!cut && got != f.written[s]) || got > f.written[s] {
                        v.push(format!(
                            "{}: {} bytes written to {} but {got} delivered (relay {})",
                            r.label,
                            f.written[s],
                            if s == 0 { "stdout" } else { "stderr" },
                            if cut { "cut" } else { "complete" }
                        ));
                    }
                }
            }
            if connected.iter().any(|c| *c) && !boundary && cut != outlived {
                v.push(format!(
                    "{}: relay {} but a writer {} the grace ({:?} after the exit at {:?}; \
                     end-of-file at {:?})",
                    r.label,
                    if cut { "was cut" } else { "completed" },
                    if outlived {
                        "outlived"
                    } else {
                        "did not outlive"
                    },
                    f.grace,
                    f.exited_at,
                    f.eof_at
                ));
            }
            if let (Some(called), Some(returned)) = (r.wait_called_at, r.waited_at) {
                let bound = deadline.max(called) + PEER_CLOSE_ALLOWANCE;
                if returned > bound {
                    v.push(format!(
                        "{}: wait returned at {returned:?}, later than the exit ({:?}) plus \
                         the grace ({:?})",
                        r.label, f.exited_at, f.grace
                    ));
                }
            }
        }
    }
    v
}

/// Virtual time allowed after the grace for the half-close handshake with a peer.
pub const PEER_CLOSE_ALLOWANCE: Duration = Duration::from_secs(1);

/// Operations that failed where they should not have (create, start, delete, kill).
pub fn clean_run(rec: &Record) -> Vec<String> {
    let mut v = rec.failures.clone();
    for (c, sig, res) in &rec.kills {
        if let Err(kind) = res {
            if *kind != ErrorKind::NotRunning {
                v.push(format!("kill c{c} {sig} failed with {kind:?}"));
            }
        }
    }
    v
}
