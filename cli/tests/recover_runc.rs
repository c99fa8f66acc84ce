//! Recovery after rtctl dies, on the real runc backend: the issue's `crash1` sequence (kill -9
//! of `rtctl run`, then `rtctl list`, `rtctl delete --force`, `rtctl run` with the same id),
//! and rule 1 on a container taken back by `rtctl`.
//!
//! The test process makes itself a child subreaper, as a supervisor would be: the processes
//! the killed rtctl leaves are reparented to it (not to pid 1, which on some machines never
//! reaps), and it reaps the ones that are its to reap (the dead rtctl's own session, and the
//! init it inherited once `delete --force` killed it).
//! Skipped without root/runc/busybox, unless RTL_REQUIRE_RUNC=1 (then they fail).

mod common;

use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;

/// The tests here reap zombie children of the test process; one at a time, so that none
/// reaps a child another test is waiting for.
static SERIAL: Mutex<()> = Mutex::new(());

fn runc_ready(name: &str) -> bool {
    if !testkit::require_runc_or_skip(name) {
        return false;
    }
    ensure_plugin("backend-runc");
    // SAFETY: prctl with integer arguments only.
    assert_eq!(
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) },
        0,
        "become a child subreaper"
    );
    true
}

fn runc_cmd(dirs: &RuncDirs, args: &[&str]) -> std::process::Output {
    std::process::Command::new("runc")
        .arg("--root")
        .arg(dirs.root())
        .args(args)
        .output()
        .expect("runc runs")
}

/// The stat fields (state, ppid, session) of `pid`, if it exists.
fn stat(pid: i32) -> Option<(char, i32, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f[0].chars().next()?, f[1].parse().ok()?, f[3].parse().ok()?))
}

fn zombie_children() -> Vec<(i32, i32)> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| stat(pid).map(|s| (pid, s)))
        .filter(|(_, (state, ppid, _))| *state == 'Z' && *ppid == me)
        .map(|(pid, (_, _, session))| (pid, session))
        .collect()
}

/// Reaps zombie children of ours that `mine` selects; returns how many.
fn reap_where(mine: impl Fn(i32, i32) -> bool) -> usize {
    let mut n = 0;
    for (pid, session) in zombie_children() {
        if mine(pid, session) {
            let mut status = 0;
            // SAFETY: waitpid on one pid with a valid status pointer.
            if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                n += 1;
            }
        }
    }
    n
}

/// Polls `f` until it is true, failing after `timeout`.
fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn rtctl_runc(dirs: &RuncDirs, args: &[&str]) -> std::process::Output {
    output(
        rtctl()
            .args(["--backend", "runc", "--backend-config", &dirs.config()])
            .args(args),
    )
}

fn list_line(dirs: &RuncDirs, id: &str) -> Option<String> {
    let out = rtctl_runc(dirs, &["list"]);
    assert!(out.status.success(), "{}", stderr_text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .map(str::to_string)
}

fn state_pid(dirs: &RuncDirs, id: &str) -> i32 {
    let out = rtctl_runc(dirs, &["state", id]);
    assert!(out.status.success(), "{}", stderr_text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("state is JSON");
    v["pid"].as_i64().expect("a pid") as i32
}

/// cgroup directories named `id` under any controller (runc names them after the id).
fn cgroups_of(id: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for ctrl in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        let p = ctrl.path().join(id);
        if p.exists() {
            found.push(p);
        }
    }
    found
}

/// Starts `rtctl run BUNDLE --id ID` in its own session, and returns it once the container
/// runs.
fn run_in_background(dirs: &RuncDirs, bundle: &std::path::Path, id: &str) -> std::process::Child {
    let mut cmd = rtctl();
    cmd.args([
        "--backend",
        "runc",
        "--backend-config",
        &dirs.config(),
        "run",
    ])
    .arg(bundle)
    .args(["--id", id])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        })
    };
    let child = cmd.spawn().expect("rtctl run starts");
    eventually("the container to run", Duration::from_secs(20), || {
        list_line(dirs, id).is_some_and(|l| l.contains("running"))
    });
    child
}

fn kill9(mut child: std::process::Child) -> i32 {
    let pid = child.id() as i32;
    child.kill().expect("kill -9 rtctl");
    child.wait().expect("reap rtctl");
    pid
}

#[test]
fn crash1_killed_rtctl_is_listed_force_deleted_and_its_id_reusable() {
    if !runc_ready("crash1_killed_rtctl_is_listed_force_deleted_and_its_id_reusable") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dirs = RuncDirs::new();
    let sleeper = bundle(&["sh", "-c", "sleep 1000"], false);
    let host = run_in_background(&dirs, sleeper.path(), "crash1");
    let dead = kill9(host);

    let line = list_line(&dirs, "crash1").expect("rtctl list shows crash1 after kill -9");
    assert!(line.contains("running"), "{line}");
    let init = state_pid(&dirs, "crash1");
    assert!(
        stat(init).is_some_and(|(s, _, _)| s != 'Z'),
        "init {init} runs"
    );

    let out = rtctl_runc(&dirs, &["delete", "--force", "crash1"]);
    assert!(out.status.success(), "{}", stderr_text(&out));
    // The killed init is ours now (we are the subreaper it was reparented to): reap it.
    eventually("the init to be gone", Duration::from_secs(10), || {
        reap_where(|pid, _| pid == init);
        stat(init).is_none()
    });
    let listed = runc_cmd(&dirs, &["list", "--format", "json"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.trim() == "null" || listed.trim() == "[]",
        "runc's list is empty: {listed}"
    );
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
    assert!(
        cgroups_of("crash1").is_empty(),
        "{:?}",
        cgroups_of("crash1")
    );

    let hello = bundle(&["sh", "-c", "echo again"], false);
    let out = rtctl_runc(
        &dirs,
        &["run", hello.path().to_str().unwrap(), "--id", "crash1"],
    );
    assert!(out.status.success(), "{}", stderr_text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "again\n");
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
    assert!(cgroups_of("crash1").is_empty());
    reap_where(|_, session| session == dead);
    assert!(
        zombie_children().is_empty(),
        "zombies left: {:?}",
        zombie_children()
    );
}

#[test]
fn taken_back_container_without_its_own_pid_namespace_gets_rule_1_at_init_exit() {
    if !runc_ready("taken_back_container_without_its_own_pid_namespace_gets_rule_1_at_init_exit") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dirs = RuncDirs::new();
    let b = testkit::BundleBuilder::new(&["sh", "-c", "sleep 1000"])
        .pid_namespace(testkit::PidNamespace::Host)
        .build()
        .expect("a host-pidns bundle");
    let host = run_in_background(&dirs, b.path(), "tb-rule1");
    let dead = kill9(host);

    // A new host takes it back, execs a `sleep 1000`, and ends the init: the exec must be
    // gone when `wait` on the init returns.
    let plugin = plugin::load(&ensure_plugin("backend-runc")).expect("load runc");
    let config: serde_json::Value = serde_json::from_str(&dirs.config()).unwrap();
    let rt = plugin.open(&config).expect("open runc");
    let c = rt.open_container("tb-rule1").expect("take back");
    assert_eq!(c.state().unwrap().status, runtime_api::Status::Running);
    let sleeper = c
        .exec(
            &testkit::exec_process(&["sleep", "1000"], false),
            runtime_api::StdioSet::none(),
        )
        .expect("exec in the taken-back container");
    let exec_pid = sleeper.pid();
    assert!(c
        .running_processes()
        .unwrap()
        .iter()
        .any(|p| p.pid == exec_pid));
    c.kill(runtime_api::Signal::KILL).expect("kill init");
    let status = c.wait().expect("wait on a taken-back init");
    // The init was reparented to us (we are a subreaper), so its status can be known; were
    // it not our child, it would be Unknown (code 255).
    assert!(
        status == runtime_api::ExitStatus::Signaled(runtime_api::Signal::KILL)
            || status == runtime_api::ExitStatus::Unknown,
        "{status}"
    );
    assert!(
        stat(exec_pid).is_none(),
        "rule 1: the exec'd sleep is gone (and reaped) when wait returns: {:?}",
        stat(exec_pid)
    );
    assert_eq!(
        sleeper.wait().unwrap(),
        runtime_api::ExitStatus::Signaled(runtime_api::Signal::KILL)
    );
    sleeper.delete().unwrap();
    c.delete().expect("delete the taken-back container");
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
    assert!(cgroups_of("tb-rule1").is_empty());
    reap_where(|_, session| session == dead);
    assert!(zombie_children().is_empty(), "{:?}", zombie_children());
}

/// A container taken back while the host that created it is still alive: its init is that
/// host's child, not ours, so its exit status cannot be ours to read. `wait` on the taken-back
/// init returns `Unknown` (it neither hangs nor makes up a status), while the creating host,
/// the init's parent, gets the real one.
#[test]
fn a_taken_back_init_whose_host_is_alive_ends_with_an_unknown_status() {
    if !runc_ready("a_taken_back_init_whose_host_is_alive_ends_with_an_unknown_status") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dirs = RuncDirs::new();
    let b = testkit::BundleBuilder::new(&["sh", "-c", "sleep 1000"])
        .build()
        .expect("a bundle");
    let mut host = run_in_background(&dirs, b.path(), "tb-alive");

    let plugin = plugin::load(&ensure_plugin("backend-runc")).expect("load runc");
    let config: serde_json::Value = serde_json::from_str(&dirs.config()).unwrap();
    let rt = plugin.open(&config).expect("open runc");
    let c = rt.open_container("tb-alive").expect("take back");
    let init = c.pid();
    assert_eq!(
        stat(init).map(|(_, ppid, _)| ppid),
        Some(host.id() as i32),
        "the init is the live host's child"
    );
    c.kill(runtime_api::Signal::KILL).expect("kill init");
    let status = c.wait().expect("wait on a taken-back init");
    assert_eq!(status, runtime_api::ExitStatus::Unknown);

    // The host, the init's parent, saw the real status: `rtctl run` exits with 128 + 9 after
    // deleting the container.
    let ended = testkit::bounded("rtctl run to end after its init died", || host.wait());
    assert_eq!(ended.expect("rtctl's status").code(), Some(137));
    assert!(list_line(&dirs, "tb-alive").is_none());
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
    assert!(zombie_children().is_empty(), "{:?}", zombie_children());
}
