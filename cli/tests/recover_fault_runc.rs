//! The fault test on real runc: a host (`rtctl scenario`, a child process) is killed with
//! SIGKILL at a generated point of a container's lifecycle (during create, after start,
//! during an exec, during a wait, during a delete); a new host (this test, through the runc
//! plugin) takes back or cleans up what it finds; then nothing may be left: no container, no
//! state directory, no runc directory, no process, no zombie, no cgroup.
//!
//! `RTL_RUNC_FAULT_RUNS` sets the number of runs (default 10, what CI runs);
//! `scripts/recover-fault-runc.sh` runs 100. `RTL_RUNC_FAULT_SEED` replays a seed.
//! The test process is a child subreaper (the runc plugin makes it one): the dead host's
//! processes are reparented to it, and it reaps those of the dead host's own session (the
//! runc invocations it left), as a supervisor would.
//! Skipped without root/runc/busybox, unless RTL_REQUIRE_RUNC=1 (then it fails).

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use runtime_api::{Runtime, Signal, Status};

fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// (state, ppid, session) of `pid`.
fn stat(pid: i32) -> Option<(char, i32, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f[0].chars().next()?, f[1].parse().ok()?, f[3].parse().ok()?))
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

fn zombie_children() -> Vec<(i32, i32)> {
    let me = std::process::id() as i32;
    all_pids()
        .into_iter()
        .filter_map(|pid| stat(pid).map(|s| (pid, s)))
        .filter(|(_, (state, ppid, _))| *state == 'Z' && *ppid == me)
        .map(|(pid, (_, _, session))| (pid, session))
        .collect()
}

/// Processes whose cgroup (any controller) is the container's, `/<id>`.
fn processes_in_cgroup(id: &str) -> Vec<i32> {
    let needle = format!(":/{id}\n");
    all_pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                .is_ok_and(|t| t.contains(&needle))
        })
        .collect()
}

fn cgroups_of(id: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|c| c.path().join(id))
        .filter(|p| p.exists())
        .collect()
}

/// Waits until no live process of session `sid` is left, reaping its zombies (children of
/// ours once their parent, the dead host, is gone).
fn reap_session(sid: i32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for (pid, session) in zombie_children() {
            if session == sid {
                let mut status = 0;
                // SAFETY: waitpid on one pid with a valid status pointer.
                unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            }
        }
        let left: Vec<i32> = all_pids()
            .into_iter()
            .filter(|p| stat(*p).is_some_and(|(_, _, s)| s == sid))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes of the dead host's session still there: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

const SCENARIO_STEPS: usize = 11;

fn scenario(bundle: &std::path::Path) -> String {
    format!(
        "create c {b}\nstart c\nexec c e1 -- sh -c 'sleep 1000'\nexec c e2 -- sh -c 'echo hi; exit 2'\n\
         wait e2\ndelete e2\nkill c KILL\nwait c\nwait e1\ndelete e1\ndelete c\n",
        b = bundle.display()
    )
}

/// Takes back container `id` and ends it through the ordinary calls.
fn take_back(rt: &dyn Runtime, id: &str) -> runtime_api::Result<()> {
    let c = rt.open_container(id)?;
    match c.state()?.status {
        Status::Created => {}
        Status::Paused => {
            c.resume()?;
            c.kill(Signal::KILL)?;
        }
        Status::Running => {
            // exec works on a taken-back container (new connections). The container may stop
            // between `state` and `exec` (an operation the dead host left running, such as its
            // `kill`, completes; or its init is exiting): then `NotRunning`, and the container
            // is cleaned up as a stopped one.
            match c.exec(
                &testkit::exec_process(&["true"], false),
                runtime_api::StdioSet::none(),
            ) {
                Ok(p) => {
                    p.wait()?;
                    p.delete()?;
                    c.kill(Signal::KILL)?;
                }
                Err(e) if e.kind() == runtime_api::ErrorKind::NotRunning => {
                    eprintln!("{id}: stopped before the new host's exec: {e}");
                }
                Err(e) => return Err(e),
            }
        }
        _ => {}
    }
    if c.state()?.status != Status::Created {
        c.wait()?;
    }
    c.delete()
}

#[test]
fn fault_host_killed_at_a_generated_point_leaves_nothing_after_recovery() {
    if !testkit::require_runc_or_skip(
        "fault_host_killed_at_a_generated_point_leaves_nothing_after_recovery",
    ) {
        return;
    }
    let runs: u64 = std::env::var("RTL_RUNC_FAULT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("RTL_RUNC_FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0xfa17);
    let dirs = RuncDirs::new();
    let b = bundle(&["sh", "-c", "sleep 1000"], false);
    let file = dirs.dir.path().join("lifecycle.scenario");
    std::fs::write(&file, scenario(b.path())).unwrap();
    let plugin = plugin::load(&ensure_plugin("backend-runc")).expect("load runc");
    let config: serde_json::Value = serde_json::from_str(&dirs.config()).unwrap();
    let rt = plugin.open(&config).expect("open runc");

    let started = Instant::now();
    let mut rng = seed;
    let (mut taken_back, mut force_deleted, mut stale, mut vanished) = (0u64, 0u64, 0u64, 0u64);
    for run in 0..runs {
        let step = (next(&mut rng) % SCENARIO_STEPS as u64) as usize + 1;
        let delay = Duration::from_millis(next(&mut rng) % 40);
        let ctx = format!("run {run} (seed {seed}): killed {delay:?} into step {step}");
        let prefix = format!("f{run}-");
        let id = format!("{prefix}c");

        let mut cmd = rtctl();
        cmd.args([
            "--backend",
            "runc",
            "--backend-config",
            &dirs.config(),
            "scenario",
        ])
        .arg(&file)
        .args(["--id-prefix", &prefix])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                Ok(())
            })
        };
        let mut host = cmd.spawn().expect("rtctl scenario starts");
        let dead = host.id() as i32;
        let mut lines = BufReader::new(host.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < step {
            match lines.next() {
                Some(Ok(l)) if l.starts_with("line") => seen += 1,
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        // The generated point: `delay` into step `step`.
        std::thread::sleep(delay);
        let _ = host.kill();
        host.wait().unwrap();
        drop(lines);

        // While the new host works, this process also does what a supervisor (or pid 1) does
        // for the dead host's orphans: it reaps the zombies of the dead host's session. A
        // container's pid-namespace init cannot finish dying while a zombie that entered its
        // namespace (a half-done `runc exec` of the dead host) is unreaped.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let supervisor = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    for (pid, session) in zombie_children() {
                        if session == dead {
                            let mut status = 0;
                            // SAFETY: waitpid on one pid with a valid status pointer.
                            unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
                        }
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        // The new host: take back or clean up what it finds.
        for st in rt.list_container_states().unwrap() {
            if next(&mut rng) % 2 == 0 {
                // Under the tests' wait bound: a wait that hangs (rule 1 on a taken-back
                // container never ending, say) fails the run instead of stalling it.
                let back = testkit::bounded(&format!("{ctx}: taking back {}", st.id), || {
                    take_back(rt.as_ref(), &st.id)
                });
                match back {
                    Ok(()) => taken_back += 1,
                    // The dead host's last `runc delete` (its child, still running when the
                    // host died) removed the container after it was listed.
                    Err(e) if e.kind() == runtime_api::ErrorKind::NotFound => vanished += 1,
                    Err(e) => panic!("{ctx}: take back: {e}"),
                }
            } else {
                testkit::bounded(&format!("{ctx}: force-deleting {}", st.id), || {
                    rt.force_delete(&st.id)
                })
                .unwrap_or_else(|e| panic!("{ctx}: force delete: {e}"));
                force_deleted += 1;
            }
        }
        // A state directory runc does not know (killed before or during runc create): stale.
        for entry in std::fs::read_dir(dirs.state())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                rt.force_delete(&name)
                    .unwrap_or_else(|e| panic!("{ctx}: force delete of stale {name}: {e}"));
                stale += 1;
            }
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        supervisor.join().unwrap();
        reap_session(dead);
        // Nothing left.
        assert!(rt.list_container_states().unwrap().is_empty(), "{ctx}");
        let left: Vec<_> = dirs
            .leftovers()
            .into_iter()
            .filter(|p| p.is_dir())
            .collect();
        assert!(left.is_empty(), "{ctx}: directories left {left:?}");
        assert!(
            cgroups_of(&id).is_empty(),
            "{ctx}: cgroups {:?}",
            cgroups_of(&id)
        );
        assert!(
            processes_in_cgroup(&id).is_empty(),
            "{ctx}: processes {:?}",
            processes_in_cgroup(&id)
        );
        // A zombie that stays: the reaper thread collects a runtime invocation that has just
        // ended a moment after the call that waited for it returns.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !zombie_children().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let zombies = zombie_children();
        let described: Vec<String> = zombies
            .iter()
            .map(|(pid, session)| {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                format!("{pid} (session {session}, {})", comm.trim())
            })
            .collect();
        assert!(zombies.is_empty(), "{ctx}: zombies {described:?}");
    }
    eprintln!(
        "runc fault runs: {runs} (seed {seed}), {taken_back} taken back, {force_deleted} force-deleted, {stale} stale directories, {vanished} gone before they were taken back, 0 leftovers, {:.1?}",
        started.elapsed()
    );
}
