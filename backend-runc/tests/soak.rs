//! The runc half of issue 10's soak: container lifecycles on real runc while the host spawns
//! and waits for its own children alongside (plain ones and ones that call `setsid()`, as a
//! host's helpers do). Must hold: no hang, no lost status (every host child's `wait` gives
//! the code it exited with), no zombie, and fds, threads and state entries back where they
//! started. A test binary of its own, because the counts are process-wide.
//!
//! CI runs 20 lifecycles; `RTL_SOAK_RUNC_LIFECYCLES=100` (see `scripts/soak-runc.sh`) runs the
//! full soak. The figures (duration, lifecycles, host children) are printed.

mod common;

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use runtime_api::{ExitStatus, Signal};
use testkit::{exec_process, require_runc_or_skip, BundleBuilder, PidNamespace};

#[derive(Debug, PartialEq, Eq)]
struct Counts {
    fds: usize,
    threads: usize,
    zombies: usize,
    state_entries: usize,
}

fn counts(w: &World) -> Counts {
    let me = std::process::id() as i32;
    Counts {
        fds: std::fs::read_dir("/proc/self/fd").unwrap().count(),
        threads: std::fs::read_dir("/proc/self/task").unwrap().count(),
        zombies: children(me)
            .into_iter()
            .filter(|p| proc_state(*p) == Some('Z'))
            .count(),
        state_entries: w.state_entries().len(),
    }
}

/// The counts once they equal `want`, or the last ones after 10 s (helper threads of
/// finished relays end asynchronously).
fn settle_to(w: &World, want: &Counts) -> Counts {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = counts(w);
        if now == *want || Instant::now() >= deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One lifecycle: create with stdio, start, an exec that leaves an orphan (and, in a shared
/// pid namespace, a daemon), the exec's wait and delete, kill, init's wait, delete.
fn lifecycle(w: &World, n: u32, own: &testkit::Bundle, host: &testkit::Bundle) {
    let host_ns = n % 2 == 1;
    let bundle = if host_ns { host } else { own };
    let (stdio, out, err) = collect(None);
    let c =
        w.rt.create_container("sb", &w.id(n), bundle.path(), stdio)
            .unwrap();
    c.start().unwrap();
    let (stdio2, out2, _err2) = collect(Some(source(b"ping".to_vec())));
    let script = "cat; sleep 1000 > /dev/null 2>&1 & busybox setsid sleep 1000 > /dev/null 2>&1 &";
    let p = c
        .exec(&exec_process(&["sh", "-c", script], false), stdio2)
        .unwrap();
    assert_eq!(p.wait().unwrap(), ExitStatus::Exited(0));
    assert_eq!(out2.bytes(), b"ping");
    p.delete().unwrap();
    c.kill(Signal::KILL).unwrap();
    assert_eq!(c.wait().unwrap(), ExitStatus::Signaled(Signal::KILL));
    c.delete().unwrap();
    assert_eq!(out.bytes(), b"hi\n");
    assert!(err.bytes().is_empty());
}

/// The host's own work: children spawned and waited for in a loop, each exiting with a code
/// of its own; every other one calls `setsid()` first. Returns how many were waited for.
fn host_children(stop: Arc<AtomicBool>) -> u64 {
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let code = (n % 200) as i32 + 1;
        let mut c = Command::new("sh");
        c.args(["-c", &format!("exit {code}")]);
        if n % 2 == 0 {
            // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
            unsafe {
                c.pre_exec(|| {
                    nix::unistd::setsid().map_err(std::io::Error::from)?;
                    Ok(())
                });
            }
        }
        let mut child = c.spawn().unwrap();
        // Let it be a zombie for a while now and then, across the reaper's scans.
        if n % 16 == 0 {
            std::thread::sleep(backend_runc::reaper::ORPHAN_SCAN_INTERVAL);
        }
        let st = child
            .wait()
            .unwrap_or_else(|e| panic!("host child {n} lost its exit status: {e}"));
        assert_eq!(st.code(), Some(code), "host child {n}");
        n += 1;
    }
    n
}

#[test]
fn soak_lifecycles_beside_host_children() {
    if !require_runc_or_skip("soak_lifecycles_beside_host_children") {
        return;
    }
    let lifecycles: u32 = std::env::var("RTL_SOAK_RUNC_LIFECYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let w = World::new("soak");
    let own = BundleBuilder::new(&["sh", "-c", "echo hi; exec sleep 1000"])
        .build()
        .unwrap();
    let host = BundleBuilder::new(&["sh", "-c", "echo hi; exec sleep 1000"])
        .pid_namespace(PidNamespace::Host)
        .build()
        .unwrap();
    // Warm up: the reaper thread, the relay reactor and the loaded plugin exist from here on.
    lifecycle(&w, 1000, &own, &host);
    lifecycle(&w, 1001, &own, &host);
    let before = settle_to(&w, &counts(&w));
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let spawner = {
        let stop = stop.clone();
        std::thread::spawn(move || host_children(stop))
    };
    for n in 0..lifecycles {
        lifecycle(&w, n, &own, &host);
    }
    stop.store(true, Ordering::SeqCst);
    let children = spawner.join().expect("a host child lost its status");
    let elapsed = t0.elapsed();
    let after = settle_to(&w, &before);
    eprintln!(
        "soak: {lifecycles} runc lifecycles beside {children} host children \
         (half with setsid) in {:.1} s; counts before {before:?}, after {after:?}",
        elapsed.as_secs_f64()
    );
    assert_eq!(after, before);
    assert!(children > 0);
    assert!(w.rt.list_container_states().unwrap().is_empty());
    let me = std::process::id() as i32;
    assert!(
        children_of_test_containers(me).is_empty(),
        "container processes survived: {:?}",
        children_of_test_containers(me)
    );
}

/// Processes of this test's containers still around (alive or zombies that are ours).
fn children_of_test_containers(me: i32) -> Vec<i32> {
    let tag = format!("soak-{}-", std::process::id());
    processes_with("sleep 1000")
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cgroup"))
                .map(|c| c.contains(&tag))
                .unwrap_or(false)
        })
        .chain(
            children(me)
                .into_iter()
                .filter(|p| proc_state(*p) == Some('Z')),
        )
        .collect()
}
