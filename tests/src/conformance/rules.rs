//! The two rules, on any backend.
//!
//! Rule 1: init exit kills its siblings unless the container owns its pid namespace; a peer on
//! the cgroup with its own namespace survives. Rule 2: relays drain and never hang; a child
//! that holds an exec's stdio makes the relay cut after the grace, and says so.

use std::sync::Arc;

use runtime_api::{ErrorKind, ExitStatus, RelayEnd, Signal, Status, StdioSet};
use testkit::{BundleBuilder, PidNamespace};

use super::env::{collected, exec, piped, sh, wait_init, wait_proc, Env};
use super::{Case, CaseResult, Outcome};
use crate::ensure;

/// The rule cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            area: "rules",
            name: "rule1_host_ns_init_exit_kills_siblings",
            run: host_ns,
        },
        Case {
            area: "rules",
            name: "rule1_joined_ns_init_exit_kills_siblings",
            run: joined_ns,
        },
        Case {
            area: "rules",
            name: "rule1_own_ns_peer_on_cgroup_survives",
            run: own_ns_peer,
        },
        Case {
            area: "rules",
            name: "rule1_exec_exits_reported_before_init",
            run: exit_order,
        },
        Case {
            area: "rules",
            name: "kill_signals_init_only",
            run: kill_init_only,
        },
        Case {
            area: "rules",
            name: "rule2_exec_holder_is_cut_never_hangs",
            run: holder_cut,
        },
        Case {
            area: "rules",
            name: "rule2_init_holder_killed_relay_completes",
            run: init_holder,
        },
    ]
}

fn nothing_left(c: &Arc<dyn runtime_api::Container>) -> Result<(), String> {
    match c.all_processes() {
        Ok(list) if list.is_empty() => Ok(()),
        Ok(list) => Err(format!(
            "processes left after init's wait returned: {list:?}"
        )),
        Err(e) if matches!(e.kind(), ErrorKind::NotRunning | ErrorKind::NotFound) => Ok(()),
        Err(e) => Err(format!("all_processes: {e}")),
    }
}

/// For a container that joined another container's pid namespace: its orphans are adopted by
/// that namespace's init, and only that init can reap them (Linux: `find_new_reaper` never
/// crosses a pid namespace; with `sleep` as the owner's init they stay zombies; checked on runc
/// 1.1.5 with `ps`). So rule 1 requires every other process KILLED (none alive, none still
/// listed as running), and allows zombies that were not created by the runtime. A backend may
/// or may not list such zombies: the simulator does, runc's cgroup v1 listing cannot see them.
fn nothing_alive(c: &Arc<dyn runtime_api::Container>) -> Result<(), String> {
    let running = match c.running_processes() {
        Ok(list) => list,
        Err(e) if matches!(e.kind(), ErrorKind::NotRunning | ErrorKind::NotFound) => Vec::new(),
        Err(e) => return Err(format!("running_processes: {e}")),
    };
    ensure!(
        running.is_empty(),
        "processes still running after init's wait returned: {running:?}"
    );
    match c.all_processes() {
        Ok(list) => {
            let bad: Vec<_> = list
                .iter()
                .filter(|p| !p.is_zombie || p.created_by_runtime)
                .collect();
            ensure!(
                bad.is_empty(),
                "after init's wait returned, all_processes lists live or runtime-created \
                 processes: {bad:?}"
            );
            Ok(())
        }
        Err(e) if matches!(e.kind(), ErrorKind::NotRunning | ErrorKind::NotFound) => Ok(()),
        Err(e) => Err(format!("all_processes: {e}")),
    }
}

fn siblings_killed(env: &Env, ns: PidNamespace, suffix: &str) -> Result<(), String> {
    let joined = matches!(ns, PidNamespace::Join(_));
    // init exits when its stdin ends, which the case closes once the exec runs (a fixed
    // sleep loses the race when `exec` is slow: youki on a loaded machine).
    let (stdin, release) =
        std::os::unix::net::UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
    let c = env.started(
        suffix,
        BundleBuilder::new(&sh("sleep 1000 & cat; exit 5")).pid_namespace(ns),
        StdioSet {
            stdin: Some(stdin.into()),
            ..StdioSet::none()
        },
    )?;
    let e = exec(&c, &sh("sleep 1000 & sleep 1000"), StdioSet::none())?;
    drop(release);
    let s = wait_init(&c)?;
    ensure!(s == ExitStatus::Exited(5), "init: {s}");
    if joined {
        nothing_alive(&c)?;
    } else {
        nothing_left(&c)?;
    }
    let es = wait_proc(e)?;
    ensure!(
        es == ExitStatus::Signaled(Signal::KILL),
        "sibling exec: {es}"
    );
    Ok(())
}

/// `Container::kill` signals init and nothing else, on every backend and runc version. An
/// exec that would exit 4 within 0.1 s of a TERM is still there when init (which exits 3 on
/// TERM, within 1 s) has gone, and dies by rule 1 instead (KILL). (runc 1.2+'s own `runc kill
/// <id> KILL` signals the whole cgroup of a container without its own pid namespace; the
/// backend-runc tests check KILL with a wrapper that behaves that way.)
fn kill_init_only(env: &Env) -> CaseResult {
    let init_script = format!("trap 'exit 3' TERM; {}", "sleep 1; ".repeat(20));
    let c = env.started(
        "k",
        BundleBuilder::new(&sh(&init_script)).pid_namespace(PidNamespace::Host),
        StdioSet::none(),
    )?;
    let exec_script = format!("trap 'exit 4' TERM; {}", "sleep 0.1; ".repeat(300));
    let e = exec(&c, &sh(&exec_script), StdioSet::none())?;
    c.kill(Signal::TERM).map_err(|e| format!("kill: {e}"))?;
    let s = wait_init(&c)?;
    ensure!(s == ExitStatus::Exited(3), "init: {s}");
    let es = wait_proc(e)?;
    ensure!(
        es == ExitStatus::Signaled(Signal::KILL),
        "exec: {es} (kill(TERM) must reach init only; the exec dies by rule 1)"
    );
    nothing_left(&c)?;
    Ok(Outcome::Passed)
}

fn host_ns(env: &Env) -> CaseResult {
    siblings_killed(env, PidNamespace::Host, "host")?;
    Ok(Outcome::Passed)
}

fn joined_ns(env: &Env) -> CaseResult {
    let owner = env.started(
        "owner",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let path = format!("/proc/{}/ns/pid", owner.pid());
    siblings_killed(env, PidNamespace::Join(path.into()), "joined")?;
    let st = owner.state().map_err(|e| format!("owner state: {e}"))?;
    ensure!(
        st.status == Status::Running,
        "the namespace owner died: {}",
        st.status
    );
    Ok(Outcome::Passed)
}

fn own_ns_peer(env: &Env) -> CaseResult {
    let cgroup = env.cgroup("shared");
    let a = env.started(
        "a",
        BundleBuilder::new(&sh("sleep 1000 & sleep 0.5; exit 0")).cgroups_path(&cgroup),
        StdioSet::none(),
    )?;
    let b_path = env.bundle(BundleBuilder::new(&["sleep", "1000"]).cgroups_path(&cgroup))?;
    let b = match env.create_at("b", &b_path, StdioSet::none()) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::Backend => {
            return Ok(Outcome::Skipped(format!(
                "the backend refuses a second container in a non-empty cgroup (runc 1.2+): {e}"
            )))
        }
        Err(e) => return Err(format!("create b: {e}")),
    };
    b.start().map_err(|e| format!("start b: {e}"))?;
    let s = wait_init(&a)?;
    ensure!(s == ExitStatus::Exited(0), "a's init: {s}");
    let st = b.state().map_err(|e| format!("b state: {e}"))?;
    ensure!(
        st.status == Status::Running,
        "b, on a's cgroup with its own namespace, is {}",
        st.status
    );
    let procs = b
        .running_processes()
        .map_err(|e| format!("b processes: {e}"))?;
    ensure!(
        procs.iter().any(|p| p.pid == b.pid()),
        "b's init is gone: {procs:?}"
    );
    Ok(Outcome::Passed)
}

/// "The init's exit is reported after the exits of execs it caused": once init's `wait` has
/// returned, the exec's exit must already be known to the runtime. Checked without racing
/// threads: right after init's `wait` returns (the exec never waited for), deleting the exec
/// must succeed (a still-running exec is refused with `StillRunning`), and its `wait` returns
/// the SIGKILL it died of.
fn exit_order(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]).pid_namespace(PidNamespace::Host),
        StdioSet::none(),
    )?;
    let e = exec(&c, &["sleep", "1000"], StdioSet::none())?;
    c.kill(Signal::KILL).map_err(|e| format!("kill: {e}"))?;
    let is = wait_init(&c)?;
    ensure!(is == ExitStatus::Signaled(Signal::KILL), "init status {is}");
    match e.delete() {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::StillRunning => {
            return Err(
                "the init's exit was reported while the exec it caused was still running".into(),
            )
        }
        Err(err) => return Err(format!("exec delete after init's wait: {err}")),
    }
    let es = wait_proc(e)?;
    ensure!(es == ExitStatus::Signaled(Signal::KILL), "exec status {es}");
    Ok(Outcome::Passed)
}

fn holder_cut(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let (stdio, out, err) = piped()?;
    let p = exec(
        &c,
        &sh("echo before; echo e >&2; sleep 1000 & exit 3"),
        stdio,
    )?;
    let s = wait_proc(p.clone())?;
    ensure!(s == ExitStatus::Exited(3), "exec: {s}");
    ensure!(
        collected(out, "stdout")? == b"before\n",
        "stdout before the cut lost"
    );
    ensure!(
        collected(err, "stderr")? == b"e\n",
        "stderr before the cut lost"
    );
    let r = p.relay_report().ok_or("no relay report")?;
    ensure!(
        r.was_cut(),
        "a child kept stdout open past the grace, yet the relay reports {r:?}"
    );
    // `RelayEnd::Cut { grace }` is "the drain grace that expired": the suite runs backends
    // with a non-zero grace, so a zero here misreports it.
    ensure!(
        matches!(r.end, RelayEnd::Cut { grace } if grace > std::time::Duration::ZERO),
        "the relay was cut but reports the grace that expired as {:?}",
        r.end
    );
    Ok(Outcome::Passed)
}

fn init_holder(env: &Env) -> CaseResult {
    for (suffix, ns) in [("host", PidNamespace::Host), ("own", PidNamespace::Own)] {
        let (stdio, out, _err) = piped()?;
        let c = env.started(
            suffix,
            BundleBuilder::new(&sh("echo hi; sleep 1000 & exit 0")).pid_namespace(ns),
            stdio,
        )?;
        let s = wait_init(&c)?;
        ensure!(s == ExitStatus::Exited(0), "{suffix}: init {s}");
        ensure!(
            collected(out, "stdout")? == b"hi\n",
            "{suffix}: init output lost"
        );
        let r = c.relay_report().ok_or("no relay report")?;
        ensure!(
            !r.was_cut(),
            "{suffix}: the holder was killed, yet the relay was cut: {r:?}"
        );
    }
    Ok(Outcome::Passed)
}
