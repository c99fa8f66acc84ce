//! `rtctl list`, `state`, `kill`, `exec`, `delete`: the verbs that act on containers by id,
//! including containers another rtctl created (one that died, say), through
//! [`Runtime::open_container`](runtime_api::Runtime::open_container) and
//! [`Runtime::force_delete`](runtime_api::Runtime::force_delete).
//!
//! Each invocation opens a fresh runtime: on the runc backend the containers live on in runc's
//! and the backend's state directories (`--backend-config '{"root": ..., "state_dir": ...}'`),
//! so these verbs see what an earlier rtctl left; the simulator's world lives only inside one
//! process, so there they see only what the same invocation made (nothing).

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use runtime_api::oci_spec::runtime::Process as OciProcess;
use runtime_api::{Signal, StdioSet};

use crate::backend_select::Backend;
use crate::error::CliError;

fn fail(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(format!("{what}: {e}"))
}

/// `rtctl list`: one line per container, `ID PID STATUS BUNDLE`, in id order (as `runc list`).
pub fn list(backend: &Backend) -> Result<i32, CliError> {
    let runtime = backend.open()?;
    let states = runtime
        .list_container_states()
        .map_err(|e| fail("list", e))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{:<24} {:>8} {:<8} BUNDLE", "ID", "PID", "STATUS");
    for s in states {
        let _ = writeln!(
            out,
            "{:<24} {:>8} {:<8} {}",
            s.id, s.pid, s.status, s.bundle
        );
    }
    Ok(0)
}

/// `rtctl state ID`: the container's state as JSON (the fields of `runc state`).
pub fn state(backend: &Backend, id: &str) -> Result<i32, CliError> {
    let runtime = backend.open()?;
    let container = runtime.open_container(id).map_err(|e| fail("state", e))?;
    let state = container.state().map_err(|e| fail("state", e))?;
    let json = serde_json::to_string_pretty(&state).map_err(|e| fail("state", e))?;
    let _ = writeln!(std::io::stdout(), "{json}");
    Ok(0)
}

/// `rtctl kill ID [SIGNAL]`: sends SIGNAL (default TERM) to the container's init.
pub fn kill(backend: &Backend, id: &str, signal: Option<&str>) -> Result<i32, CliError> {
    let signal = match signal {
        None => Signal::TERM,
        Some(s) => {
            Signal::parse(s).ok_or_else(|| CliError::new(format!("kill: bad signal {s:?}")))?
        }
    };
    let runtime = backend.open()?;
    let container = runtime.open_container(id).map_err(|e| fail("kill", e))?;
    container.kill(signal).map_err(|e| fail("kill", e))?;
    Ok(0)
}

/// `rtctl exec ID -- CMD...`: runs CMD in the container with rtctl's stdio, waits for it and
/// exits with its code.
pub fn exec(backend: &Backend, id: &str, cmd: &[String]) -> Result<i32, CliError> {
    if cmd.is_empty() {
        return Err(CliError::new("exec: no command given"));
    }
    let mut spec = OciProcess::default();
    spec.set_args(Some(cmd.to_vec()));
    spec.set_terminal(Some(false));
    let dup = |fd: std::os::fd::BorrowedFd<'_>| -> Option<OwnedFd> { fd.try_clone_to_owned().ok() };
    let stdio = StdioSet {
        stdin: dup(std::io::stdin().as_fd()),
        stdout: dup(std::io::stdout().as_fd()),
        stderr: dup(std::io::stderr().as_fd()),
    };
    let runtime = backend.open()?;
    let container = runtime.open_container(id).map_err(|e| fail("exec", e))?;
    let process = container.exec(&spec, stdio).map_err(|e| fail("exec", e))?;
    let status = process.wait().map_err(|e| fail("exec: wait", e))?;
    if let Err(e) = process.delete() {
        tracing::warn!(error = %e, "deleting the exec'd process");
    }
    let _ = std::io::stdout().flush();
    Ok(status.code())
}

/// `rtctl delete [--force] ID`: deletes a stopped container; with `--force`, kills everything
/// of the container whatever its status, waits until it is gone, and deletes it.
pub fn delete(backend: &Backend, id: &str, force: bool) -> Result<i32, CliError> {
    let runtime = backend.open()?;
    if force {
        runtime.force_delete(id).map_err(|e| fail("delete", e))?;
    } else {
        let container = runtime.open_container(id).map_err(|e| fail("delete", e))?;
        container.delete().map_err(|e| fail("delete", e))?;
    }
    Ok(0)
}
