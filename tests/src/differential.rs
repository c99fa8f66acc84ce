//! Differential comparison: one timing-independent plan run on two runtimes (the simulator
//! and runc), compared on what a user sees: exit codes, bytes on each stream, how each relay
//! ended, refused execs and kills (error kinds), and, at the settled point after every exec
//! ended, each container's state and process listing (count, command lines, created by the
//! runtime, zombie).

use runtime_api::ErrorKind;

use crate::runner::{ExecRecord, Record};

fn bytes(c: &Option<crate::connection::Collected>) -> Option<&[u8]> {
    c.as_ref().map(|c| c.bytes.as_slice())
}

fn describe(b: Option<&[u8]>) -> String {
    match b {
        None => "not collected".into(),
        Some(b) if b.len() <= 40 => format!("{:?}", String::from_utf8_lossy(b)),
        Some(b) => format!(
            "{} bytes ({} zero)",
            b.len(),
            b.iter().filter(|&&x| x == 0).count()
        ),
    }
}

/// The differences between two runs of the same plan (`a` named `a_name`, `b` `b_name`).
pub fn compare(a_name: &str, a: &Record, b_name: &str, b: &Record) -> Vec<String> {
    let mut d = Vec::new();
    if !a.failures.is_empty() || !b.failures.is_empty() {
        d.push(format!(
            "operations failed: {a_name} {:?}, {b_name} {:?}",
            a.failures, b.failures
        ));
    }
    if a.procs.len() != b.procs.len() {
        d.push(format!(
            "{a_name} ran {} processes, {b_name} {}",
            a.procs.len(),
            b.procs.len()
        ));
    }
    for (pa, pb) in a.procs.iter().zip(&b.procs) {
        let code = |s: Option<Result<runtime_api::ExitStatus, ErrorKind>>| {
            s.map(|r| r.map(|st| st.code()))
        };
        if code(pa.status) != code(pb.status) {
            d.push(format!(
                "{}: exit {a_name} {:?}, {b_name} {:?}",
                pa.label, pa.status, pb.status
            ));
        }
        for (name, xa, xb) in [
            ("stdout", bytes(&pa.stdout), bytes(&pb.stdout)),
            ("stderr", bytes(&pa.stderr), bytes(&pb.stderr)),
        ] {
            if xa != xb {
                d.push(format!(
                    "{} {name}: {a_name} {}, {b_name} {}",
                    pa.label,
                    describe(xa),
                    describe(xb)
                ));
            }
        }
        let cut = |p: &crate::runner::ProcRecord| p.relay.map(|r| r.was_cut());
        if cut(pa) != cut(pb) {
            d.push(format!(
                "{}: relay cut {a_name} {:?}, {b_name} {:?}",
                pa.label,
                cut(pa),
                cut(pb)
            ));
        }
    }
    let refusals = |r: &Record| {
        r.execs
            .iter()
            .map(|e| match e {
                ExecRecord::Started { .. } => None,
                ExecRecord::Refused { kind, .. } => Some(*kind),
            })
            .collect::<Vec<_>>()
    };
    if refusals(a) != refusals(b) {
        d.push(format!(
            "exec refusals: {a_name} {:?}, {b_name} {:?}",
            refusals(a),
            refusals(b)
        ));
    }
    let kills = |r: &Record| {
        r.kills
            .iter()
            .map(|(c, s, k)| (*c, *s, *k))
            .collect::<Vec<_>>()
    };
    if kills(a) != kills(b) {
        d.push(format!(
            "kill results: {a_name} {:?}, {b_name} {:?}",
            kills(a),
            kills(b)
        ));
    }
    if a.final_listings != b.final_listings {
        d.push(format!(
            "settled states and process listings (command, created by the runtime, zombie) per \
             container: {a_name} {:?}, {b_name} {:?}",
            a.final_listings, b.final_listings
        ));
    }
    if a.final_survivors != b.final_survivors {
        d.push(format!(
            "live processes per container after every exec ended: {a_name} {:?}, {b_name} {:?}",
            a.final_survivors, b.final_survivors
        ));
    }
    d
}
