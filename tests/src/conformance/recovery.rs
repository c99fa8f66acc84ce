//! Recovery: taking back a container by id (`Runtime::open_container`) and removing one with
//! only its id (`Runtime::force_delete`), with their bad-input cases. Host crashes themselves
//! are simulated by the simulator's own tests and the runc fault test (they need a host to
//! die); here the taking back is done by the host that made the container.

use std::sync::Arc;

use runtime_api::{Container, ErrorKind, ExitStatus, Signal, Status, StdioSet};
use testkit::BundleBuilder;

use super::env::{collected, exec, kind, piped, sh, wait_init, wait_proc, Env};
use super::{Case, CaseResult, Outcome};
use crate::ensure;

/// The recovery cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            area: "recovery",
            name: "taken_back_container_works",
            run: taken_back,
        },
        Case {
            area: "recovery",
            name: "forced_delete_removes_any_container",
            run: forced_delete,
        },
    ]
}

fn taken_back(env: &Env) -> CaseResult {
    let c = env.started(
        "tb",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let id = env.id("tb");
    let back: Arc<dyn Container> = Arc::from(
        env.runtime
            .open_container(&id)
            .map_err(|e| format!("open_container: {e}"))?,
    );
    ensure!(back.id() == id, "taken back as {:?}", back.id());
    ensure!(back.pid() == c.pid(), "pid {} vs {}", back.pid(), c.pid());
    let st = back.state().map_err(|e| format!("state: {e}"))?;
    ensure!(st.status == Status::Running, "state {st:?}");
    ensure!(back.exists() == Ok(true), "exists");
    let (stdio, out, _err) = piped()?;
    let p = exec(&back, &sh("echo taken back"), stdio)?;
    let status = wait_proc(p)?;
    ensure!(status == ExitStatus::Exited(0), "exec exited {status}");
    let bytes = collected(out, "exec stdout")?;
    ensure!(bytes == b"taken back\n", "exec stdout {bytes:?}");
    back.kill(Signal::KILL).map_err(|e| format!("kill: {e}"))?;
    let first = wait_init(&c)?;
    ensure!(
        first == ExitStatus::Signaled(Signal::KILL),
        "the creating handle's wait: {first}"
    );
    let second = wait_init(&back)?;
    ensure!(
        second == ExitStatus::Signaled(Signal::KILL) || second == ExitStatus::Unknown,
        "the taken-back handle's wait: {second}"
    );
    ensure!(
        back.relay_report().is_none(),
        "a taken-back init has no relay of its own"
    );
    back.delete().map_err(|e| format!("delete: {e}"))?;
    ensure!(c.exists() == Ok(false), "still exists after delete");
    Ok(Outcome::Passed)
}

fn forced_delete(env: &Env) -> CaseResult {
    for bad in ["", "..", "a/b"] {
        let open = kind(&env.runtime.open_container(bad).map(|_| ()));
        ensure!(open == Some(ErrorKind::InvalidId), "open {bad:?}: {open:?}");
        let del = kind(&env.runtime.force_delete(bad));
        ensure!(
            del == Some(ErrorKind::InvalidId),
            "force_delete {bad:?}: {del:?}"
        );
    }
    let unknown = env.id("nobody");
    let open = kind(&env.runtime.open_container(&unknown).map(|_| ()));
    ensure!(open == Some(ErrorKind::NotFound), "open unknown: {open:?}");
    let del = kind(&env.runtime.force_delete(&unknown));
    ensure!(
        del == Some(ErrorKind::NotFound),
        "force_delete unknown: {del:?}"
    );
    for what in ["created", "running", "paused"] {
        let builder = BundleBuilder::new(&["sh", "-c", "sleep 1000 & sleep 1000"]);
        let c = if what == "created" {
            env.create(what, builder, StdioSet::none())?
        } else {
            env.started(what, builder, StdioSet::none())?
        };
        if what == "paused" {
            c.pause().map_err(|e| format!("pause: {e}"))?;
        }
        let id = env.id(what);
        env.runtime
            .force_delete(&id)
            .map_err(|e| format!("force_delete of a {what} container: {e}"))?;
        let listed = env
            .runtime
            .list_container_states()
            .map_err(|e| format!("list: {e}"))?;
        ensure!(
            listed.iter().all(|s| s.id != id),
            "{what}: still listed after force_delete"
        );
        ensure!(c.exists() == Ok(false), "{what}: still exists");
        let again = kind(&env.runtime.force_delete(&id));
        ensure!(
            again == Some(ErrorKind::NotFound),
            "{what}: again: {again:?}"
        );
    }
    Ok(Outcome::Passed)
}
