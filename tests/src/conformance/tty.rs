//! Terminals: output through a pty, resize while running, resize refusals.

use runtime_api::{ConsoleSize, ErrorKind, ExitStatus, StdioSet};
use testkit::BundleBuilder;

use super::env::{capture, collected, expect_kind, sh, wait_init, wait_proc, Env};
use super::{Case, CaseResult, Outcome};
use crate::ensure;
use crate::scenario::Conn;

/// The tty cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            area: "tty",
            name: "tty_exec_output_and_resize",
            run: tty_exec,
        },
        Case {
            area: "tty",
            name: "tty_init_output",
            run: tty_init,
        },
    ]
}

const SIZE: ConsoleSize = ConsoleSize {
    rows: 33,
    cols: 101,
};

fn tty_exec(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let (out, dout) = capture(Conn::Socket)?;
    let p: std::sync::Arc<dyn runtime_api::Process> = c
        .exec(
            &testkit::exec_process(&sh("sleep 0.3; echo ttyout"), true),
            StdioSet {
                stdin: None,
                stdout: Some(out),
                stderr: None,
            },
        )
        .map(std::sync::Arc::from)
        .map_err(|e| format!("tty exec: {e}"))?;
    p.resize_console(SIZE)
        .map_err(|e| format!("resize while running: {e}"))?;
    let s = wait_proc(p.clone())?;
    ensure!(s == ExitStatus::Exited(0), "tty exec: {s}");
    let o = collected(dout, "tty output")?;
    ensure!(
        String::from_utf8_lossy(&o).contains("ttyout"),
        "tty output {:?}",
        String::from_utf8_lossy(&o)
    );
    expect_kind(
        "resize after the relay ended",
        p.resize_console(SIZE),
        ErrorKind::RelayClosed,
    )?;
    // A process without a terminal cannot be resized.
    let plain = c
        .exec(
            &testkit::exec_process(&["sleep", "1000"], false),
            StdioSet::none(),
        )
        .map_err(|e| format!("exec: {e}"))?;
    expect_kind(
        "resize without a terminal",
        plain.resize_console(SIZE),
        ErrorKind::InvalidArgument,
    )?;
    Ok(Outcome::Passed)
}

fn tty_init(env: &Env) -> CaseResult {
    let (out, dout) = capture(Conn::Pipe)?;
    let c = env.started(
        "c",
        BundleBuilder::new(&sh("echo ttyinit; exit 2")).terminal(true),
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: None,
        },
    )?;
    let s = wait_init(&c)?;
    ensure!(s == ExitStatus::Exited(2), "tty init: {s}");
    let o = collected(dout, "tty output")?;
    ensure!(
        String::from_utf8_lossy(&o).contains("ttyinit"),
        "tty init output {:?}",
        String::from_utf8_lossy(&o)
    );
    Ok(Outcome::Passed)
}
