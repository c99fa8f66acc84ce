//! Every error kind a caller can provoke through the traits, with the same kind on every
//! backend.
//!
//! `Timeout` (a backend command past its limit), `Panicked` (a plugin method that panics) and
//! `Backend` (a backend's own failure) cannot be provoked through the traits on a healthy
//! backend; the backend and plugin crates test them.

use runtime_api::{ErrorKind, Signal, StdioSet};
use testkit::BundleBuilder;

use super::env::{expect_kind, sh, wait_init, Env};
use super::{Case, CaseResult, Outcome};
use crate::ensure;

/// The error cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            area: "errors",
            name: "already_exists",
            run: already_exists,
        },
        Case {
            area: "errors",
            name: "not_found_after_delete",
            run: not_found,
        },
        Case {
            area: "errors",
            name: "still_running_delete",
            run: still_running,
        },
        Case {
            area: "errors",
            name: "not_running_kill_and_exec",
            run: not_running,
        },
        Case {
            area: "errors",
            name: "not_stopped_start_twice",
            run: not_stopped,
        },
        Case {
            area: "errors",
            name: "invalid_id_leaves_nothing",
            run: invalid_id,
        },
        Case {
            area: "errors",
            name: "invalid_spec_bundles",
            run: invalid_spec,
        },
        Case {
            area: "errors",
            name: "invalid_argument_signal",
            run: invalid_argument,
        },
        Case {
            area: "errors",
            name: "unsupported_extension",
            run: unsupported,
        },
    ]
}

fn already_exists(env: &Env) -> CaseResult {
    let _c = env.create(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let path = env.bundle(BundleBuilder::new(&["sleep", "1000"]))?;
    let r = env
        .runtime
        .create_container("conformance", &env.id("c"), &path, StdioSet::none());
    expect_kind(
        "second create with the same id",
        r.map(|c| c.pid()),
        ErrorKind::AlreadyExists,
    )?;
    Ok(Outcome::Passed)
}

fn not_found(env: &Env) -> CaseResult {
    let c = env.started("c", BundleBuilder::new(&sh("exit 0")), StdioSet::none())?;
    wait_init(&c)?;
    c.delete().map_err(|e| format!("delete: {e}"))?;
    expect_kind("second delete", c.delete(), ErrorKind::NotFound)?;
    expect_kind("state after delete", c.state(), ErrorKind::NotFound)?;
    Ok(Outcome::Passed)
}

fn still_running(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    expect_kind(
        "delete of a running container",
        c.delete(),
        ErrorKind::StillRunning,
    )?;
    ensure!(
        c.exists() == Ok(true),
        "the refused delete removed the container"
    );
    Ok(Outcome::Passed)
}

fn not_running(env: &Env) -> CaseResult {
    let c = env.started("c", BundleBuilder::new(&sh("exit 1")), StdioSet::none())?;
    wait_init(&c)?;
    expect_kind(
        "kill of a stopped container",
        c.kill(Signal::KILL),
        ErrorKind::NotRunning,
    )?;
    let r = c.exec(&testkit::exec_process(&["true"], false), StdioSet::none());
    expect_kind(
        "exec in a stopped container",
        r.map(|p| p.pid()),
        ErrorKind::NotRunning,
    )?;
    Ok(Outcome::Passed)
}

fn not_stopped(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    expect_kind(
        "start of a running container",
        c.start(),
        ErrorKind::NotStopped,
    )?;
    c.kill(Signal::KILL).map_err(|e| format!("kill: {e}"))?;
    wait_init(&c)?;
    expect_kind(
        "start of a stopped container",
        c.start(),
        ErrorKind::NotStopped,
    )?;
    Ok(Outcome::Passed)
}

fn invalid_id(env: &Env) -> CaseResult {
    let path = env.bundle(BundleBuilder::new(&["true"]))?;
    let long = "x".repeat(runtime_api::MAX_ID_LEN + 1);
    for bad in ["", ".", "..", "a/b", "../escape", "sp ace", long.as_str()] {
        let r = env
            .runtime
            .create_container("conformance", bad, &path, StdioSet::none());
        expect_kind(
            &format!("create with id {bad:?}"),
            r.map(|c| c.pid()),
            ErrorKind::InvalidId,
        )?;
    }
    let states = env
        .runtime
        .list_container_states()
        .map_err(|e| format!("list: {e}"))?;
    ensure!(
        !states
            .iter()
            .any(|s| s.id.is_empty() || s.id.contains('/') || s.id.len() > 64),
        "a refused id left a container behind: {states:?}"
    );
    Ok(Outcome::Passed)
}

fn invalid_spec(env: &Env) -> CaseResult {
    let empty = env.dir().join("no-config");
    std::fs::create_dir_all(&empty).map_err(|e| e.to_string())?;
    let r = env.create_at("noconfig", &empty, StdioSet::none());
    expect_kind(
        "create without config.json",
        r.map(|c| c.pid()),
        ErrorKind::InvalidSpec,
    )?;
    let bad = env.dir().join("bad-config");
    std::fs::create_dir_all(bad.join("rootfs")).map_err(|e| e.to_string())?;
    std::fs::write(bad.join("config.json"), b"{ not json").map_err(|e| e.to_string())?;
    let r = env.create_at("badconfig", &bad, StdioSet::none());
    expect_kind(
        "create with malformed config.json",
        r.map(|c| c.pid()),
        ErrorKind::InvalidSpec,
    )?;
    ensure!(
        !env.runtime
            .list_container_states()
            .map_err(|e| format!("list: {e}"))?
            .iter()
            .any(|s| s.id == env.id("noconfig") || s.id == env.id("badconfig")),
        "a refused create left its container listed"
    );
    Ok(Outcome::Passed)
}

fn invalid_argument(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    expect_kind(
        "kill with signal 0",
        c.kill(Signal(0)),
        ErrorKind::InvalidArgument,
    )?;
    expect_kind(
        "kill with signal 99",
        c.kill(Signal(99)),
        ErrorKind::InvalidArgument,
    )?;
    expect_kind(
        "resize of a process without a terminal",
        c.resize_console(runtime_api::ConsoleSize { rows: 10, cols: 10 }),
        ErrorKind::InvalidArgument,
    )?;
    Ok(Outcome::Passed)
}

fn unsupported(env: &Env) -> CaseResult {
    let r = env
        .runtime
        .extension("conformance.no-such-method", &serde_json::Value::Null);
    expect_kind("unknown extension method", r, ErrorKind::Unsupported)?;
    Ok(Outcome::Passed)
}
