//! Create, start, wait, delete; states along the way; waits that agree.

use std::sync::Arc;

use runtime_api::{ExitStatus, Signal, Status, StdioSet};
use testkit::{BundleBuilder, PidNamespace};

use super::env::{piped, sh, wait_init, wait_proc, Env, Init};
use super::{Case, CaseResult, Outcome};
use crate::ensure;

/// The lifecycle cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            area: "lifecycle",
            name: "create_start_wait_delete",
            run: create_start_wait_delete,
        },
        Case {
            area: "lifecycle",
            name: "wait_is_idempotent_and_concurrent",
            run: wait_is_idempotent,
        },
        Case {
            area: "lifecycle",
            name: "kill_reports_signal_as_128_plus",
            run: kill_reports_signal,
        },
        Case {
            area: "lifecycle",
            name: "shared_scripts_as_init",
            run: shared_scripts_as_init,
        },
    ]
}

fn create_start_wait_delete(env: &Env) -> CaseResult {
    let c = env.create("c", BundleBuilder::new(&sh("exit 3")), StdioSet::none())?;
    let st = c.state().map_err(|e| format!("state: {e}"))?;
    ensure!(
        st.status == Status::Created,
        "after create: status {}",
        st.status
    );
    ensure!(st.id == c.id(), "state id {} != {}", st.id, c.id());
    ensure!(
        st.pid > 0 && st.pid == c.pid(),
        "state pid {} vs pid() {}",
        st.pid,
        c.pid()
    );
    ensure!(
        c.exists() == Ok(true),
        "exists() after create: {:?}",
        c.exists()
    );
    let listed = env
        .runtime
        .list_container_states()
        .map_err(|e| format!("list: {e}"))?;
    ensure!(
        listed.iter().any(|s| s.id == c.id()),
        "list_container_states misses {}",
        c.id()
    );
    let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    ensure!(
        ids == sorted,
        "list_container_states not in id order: {ids:?}"
    );
    c.start().map_err(|e| format!("start: {e}"))?;
    let status = wait_init(&c)?;
    ensure!(
        status == ExitStatus::Exited(3),
        "wait: {status}, expected exit code 3"
    );
    let st = c.state().map_err(|e| format!("state after exit: {e}"))?;
    ensure!(
        st.status == Status::Stopped,
        "after exit: status {}",
        st.status
    );
    c.delete().map_err(|e| format!("delete: {e}"))?;
    ensure!(
        c.exists() == Ok(false),
        "exists() after delete: {:?}",
        c.exists()
    );
    let listed = env
        .runtime
        .list_container_states()
        .map_err(|e| format!("list: {e}"))?;
    ensure!(
        !listed.iter().any(|s| s.id == c.id()),
        "deleted container still listed"
    );
    Ok(Outcome::Passed)
}

fn wait_is_idempotent(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&sh("sleep 0.2; exit 9")),
        StdioSet::none(),
    )?;
    let waits: Vec<_> = (0..3)
        .map(|_| {
            let p: Arc<dyn runtime_api::Process> = Arc::new(Init(c.clone()));
            std::thread::spawn(move || wait_proc(p))
        })
        .collect();
    for w in waits {
        let s = w.join().map_err(|_| "wait thread panicked".to_string())??;
        ensure!(s == ExitStatus::Exited(9), "concurrent wait: {s}");
    }
    let again = wait_init(&c)?;
    ensure!(again == ExitStatus::Exited(9), "second wait: {again}");
    Ok(Outcome::Passed)
}

fn kill_reports_signal(env: &Env) -> CaseResult {
    // Host namespace: TERM without a handler kills.
    let host = env.started(
        "host",
        BundleBuilder::new(&["sleep", "1000"]).pid_namespace(PidNamespace::Host),
        StdioSet::none(),
    )?;
    host.kill(Signal::TERM)
        .map_err(|e| format!("kill TERM: {e}"))?;
    let s = wait_init(&host)?;
    ensure!(
        s == ExitStatus::Signaled(Signal::TERM) && s.code() == 143,
        "TERM: {s}"
    );
    // Own namespace: KILL from outside is always delivered.
    let own = env.started(
        "own",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    own.kill(Signal::KILL)
        .map_err(|e| format!("kill KILL: {e}"))?;
    let s = wait_init(&own)?;
    ensure!(
        s == ExitStatus::Signaled(Signal::KILL) && s.code() == 137,
        "KILL: {s}"
    );
    Ok(Outcome::Passed)
}

fn shared_scripts_as_init(env: &Env) -> CaseResult {
    for (i, script) in testkit::shared_scripts().into_iter().enumerate() {
        if !script.stdin.is_empty() {
            continue; // Init stdin is covered by the exec cases.
        }
        let (stdio, out, err) = piped()?;
        let c = env.started(
            &format!("s{i}"),
            BundleBuilder::new(&script.args_str()),
            stdio,
        )?;
        let s = wait_init(&c)?;
        let o = super::env::collected(out, "stdout")?;
        let e = super::env::collected(err, "stderr")?;
        ensure!(
            s.code() == script.exit_code && o == script.stdout && e == script.stderr,
            "script {} ({:?}) as init: {s}, stdout {:?}, stderr {:?}; expected code {}, {:?}, {:?}",
            script.name,
            script.script(),
            String::from_utf8_lossy(&o[..o.len().min(64)]),
            String::from_utf8_lossy(&e[..e.len().min(64)]),
            script.exit_code,
            String::from_utf8_lossy(&script.stdout[..script.stdout.len().min(64)]),
            String::from_utf8_lossy(&script.stderr)
        );
        c.delete().map_err(|e| format!("delete: {e}"))?;
    }
    Ok(Outcome::Passed)
}
