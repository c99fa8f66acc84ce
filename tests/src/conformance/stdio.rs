//! Stdio: large outputs on both streams over sockets, stdin, early peer disconnect.

use std::io::Write;

use runtime_api::{ExitStatus, StdioSet};
use testkit::BundleBuilder;

use super::env::{capture, collected, exec, sh, wait_proc, Env};
use super::{Case, CaseResult, Outcome};
use crate::connection::stdin_pipe;
use crate::ensure;
use crate::scenario::Conn;

/// The stdio cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            area: "stdio",
            name: "large_output_both_streams_on_sockets",
            run: large_output,
        },
        Case {
            area: "stdio",
            name: "stdin_reaches_the_process",
            run: stdin_reaches,
        },
        Case {
            area: "stdio",
            name: "peer_gone_early_never_blocks",
            run: peer_gone_early,
        },
    ]
}

fn large_output(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let (out, dout) = capture(Conn::Socket)?;
    let (err, derr) = capture(Conn::Socket)?;
    let stdio = StdioSet {
        stdin: None,
        stdout: Some(out),
        stderr: Some(err),
    };
    let p = exec(
        &c,
        &sh("head -c 3000000 /dev/zero; echo end; head -c 1000000 /dev/zero >&2; echo fin >&2"),
        stdio,
    )?;
    let s = wait_proc(p.clone())?;
    ensure!(s == ExitStatus::Exited(0), "status {s}");
    let o = collected(dout, "stdout")?;
    let e = collected(derr, "stderr")?;
    ensure!(
        o.len() == 3_000_004 && o.ends_with(b"end\n"),
        "stdout: {} bytes",
        o.len()
    );
    ensure!(
        o[..3_000_000].iter().all(|&b| b == 0),
        "stdout bytes out of order"
    );
    ensure!(
        e.len() == 1_000_004 && e.ends_with(b"fin\n"),
        "stderr: {} bytes",
        e.len()
    );
    let r = p.relay_report().ok_or("no relay report")?;
    ensure!(
        !r.was_cut() && r.stdout.relayed == 3_000_004 && r.stdout.dropped == 0,
        "{r:?}"
    );
    Ok(Outcome::Passed)
}

fn stdin_reaches(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let (out, dout) = capture(Conn::Pipe)?;
    let (rd, wr) = stdin_pipe().map_err(|e| e.to_string())?;
    let p = exec(
        &c,
        &["cat"],
        StdioSet {
            stdin: Some(rd),
            stdout: Some(out),
            stderr: None,
        },
    )?;
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let mut w = std::fs::File::from(wr);
    w.write_all(&payload)
        .map_err(|e| format!("writing stdin: {e}"))?;
    drop(w);
    let s = wait_proc(p.clone())?;
    ensure!(s == ExitStatus::Exited(0), "cat: {s}");
    ensure!(
        collected(dout, "stdout")? == payload,
        "cat echoed other bytes"
    );
    let r = p.relay_report().ok_or("no relay report")?;
    ensure!(
        r.stdin.relayed == payload.len() as u64,
        "stdin report {:?}",
        r.stdin
    );
    Ok(Outcome::Passed)
}

fn peer_gone_early(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let (rd, wr) = nix::unistd::pipe().map_err(|e| e.to_string())?;
    drop(rd); // The peer is gone before the process writes anything.
    let p = exec(
        &c,
        &sh("head -c 1000000 /dev/zero; exit 6"),
        StdioSet {
            stdin: None,
            stdout: Some(wr),
            stderr: None,
        },
    )?;
    let s = wait_proc(p.clone())?;
    ensure!(
        s == ExitStatus::Exited(6),
        "process blocked or killed by the gone peer: {s}"
    );
    let r = p.relay_report().ok_or("no relay report")?;
    ensure!(
        r.stdout.relayed + r.stdout.dropped == 1_000_000 && r.stdout.dropped > 0,
        "bytes must be drained and counted as dropped: {:?}",
        r.stdout
    );
    Ok(Outcome::Passed)
}
