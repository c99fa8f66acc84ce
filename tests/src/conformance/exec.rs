//! Exec: exit codes, output, stdin, the shared scripts, delete rules, exec after exit.

use std::io::Write;

use runtime_api::{ErrorKind, ExitStatus, Signal, StdioSet};
use testkit::BundleBuilder;

use super::env::{collected, exec, expect_kind, piped, sh, wait_init, wait_proc, Env};
use super::{Case, CaseResult, Outcome};
use crate::connection::stdin_pipe;
use crate::ensure;

/// The exec cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            area: "exec",
            name: "exec_exit_code_and_output",
            run: exit_code_and_output,
        },
        Case {
            area: "exec",
            name: "shared_scripts_as_exec",
            run: shared_scripts_as_exec,
        },
        Case {
            area: "exec",
            name: "exec_delete_needs_exit",
            run: delete_needs_exit,
        },
        Case {
            area: "exec",
            name: "exec_after_init_exit_is_not_running",
            run: after_init_exit,
        },
    ]
}

fn exit_code_and_output(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let (stdio, out, err) = piped()?;
    let p = exec(&c, &sh("echo hi; echo oops >&2; exit 4"), stdio)?;
    ensure!(p.pid() > 0, "exec pid {}", p.pid());
    let s = wait_proc(p.clone())?;
    ensure!(s == ExitStatus::Exited(4), "exec status {s}");
    ensure!(collected(out, "stdout")? == b"hi\n", "stdout differs");
    ensure!(collected(err, "stderr")? == b"oops\n", "stderr differs");
    let r = p.relay_report().ok_or("no relay report after wait")?;
    ensure!(
        !r.was_cut() && r.stdout.relayed == 3 && r.stderr.relayed == 5,
        "report {r:?}"
    );
    p.delete().map_err(|e| format!("exec delete: {e}"))?;
    Ok(Outcome::Passed)
}

fn shared_scripts_as_exec(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    for script in testkit::shared_scripts() {
        let (mut stdio, out, err) = piped()?;
        let (rd, wr) = stdin_pipe().map_err(|e| format!("stdin pipe: {e}"))?;
        stdio.stdin = Some(rd);
        let p = exec(&c, &script.args_str(), stdio)?;
        let mut w = std::fs::File::from(wr);
        // The process may exit before reading: a broken pipe here is fine.
        let _ = w.write_all(&script.stdin);
        drop(w);
        let s = wait_proc(p.clone())?;
        let o = collected(out, "stdout")?;
        let e = collected(err, "stderr")?;
        ensure!(
            s.code() == script.exit_code && o == script.stdout && e == script.stderr,
            "script {} ({:?}) as exec: {s}, {} stdout bytes {:?}, stderr {:?}; expected code {}",
            script.name,
            script.script(),
            o.len(),
            String::from_utf8_lossy(&o[..o.len().min(64)]),
            String::from_utf8_lossy(&e),
            script.exit_code
        );
        p.delete().map_err(|e| format!("delete: {e}"))?;
    }
    Ok(Outcome::Passed)
}

fn delete_needs_exit(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let p = exec(&c, &["sleep", "1000"], StdioSet::none())?;
    expect_kind(
        "delete of a running exec",
        p.delete(),
        ErrorKind::StillRunning,
    )?;
    c.kill(Signal::KILL).map_err(|e| format!("kill: {e}"))?;
    wait_init(&c)?;
    let s = wait_proc(p.clone())?;
    ensure!(
        s == ExitStatus::Signaled(Signal::KILL),
        "exec killed with the container: {s}"
    );
    p.delete().map_err(|e| format!("delete after exit: {e}"))?;
    expect_kind("second exec delete", p.delete(), ErrorKind::NotFound)?;
    Ok(Outcome::Passed)
}

fn after_init_exit(env: &Env) -> CaseResult {
    let c = env.started("c", BundleBuilder::new(&sh("exit 0")), StdioSet::none())?;
    wait_init(&c)?;
    let r = c.exec(&testkit::exec_process(&["true"], false), StdioSet::none());
    expect_kind(
        "exec after init exit",
        r.map(|p| p.pid()),
        ErrorKind::NotRunning,
    )?;
    Ok(Outcome::Passed)
}
