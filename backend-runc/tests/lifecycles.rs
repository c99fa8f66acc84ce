//! 100 container lifecycles in a row leave nothing behind: fd count, thread count, zombie
//! children and state directories end where they started. A test binary of its own, because
//! the counts are process-wide.

mod common;

use std::time::{Duration, Instant};

use common::*;
use runtime_api::{ErrorKind, ExitStatus, Signal, StdioSet};
use testkit::{exec_process, BundleBuilder, PidNamespace};

#[derive(Debug, PartialEq, Eq)]
struct Counts {
    fds: usize,
    threads: usize,
    /// Each zombie child as `pid (comm) ppid pgrp session`, so that a failure says whose it is.
    zombies: Vec<String>,
    state_entries: usize,
}

/// `pid (comm) ppid pgrp session` of `pid`, from its `/proc/<pid>/stat`.
fn describe(pid: i32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let (head, rest) = stat.rsplit_once(')').unwrap_or((&stat, ""));
    let comm = head.split_once('(').map_or("?", |(_, c)| c);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).copied().unwrap_or("?");
    format!(
        "{pid} ({comm}) ppid {} pgrp {} session {}",
        field(1),
        field(2),
        field(3)
    )
}

fn counts(w: &World) -> Counts {
    let me = std::process::id() as i32;
    Counts {
        fds: std::fs::read_dir("/proc/self/fd").unwrap().count(),
        threads: std::fs::read_dir("/proc/self/task").unwrap().count(),
        zombies: children(me)
            .into_iter()
            .filter(|p| proc_state(*p) == Some('Z'))
            .map(describe)
            .collect(),
        state_entries: w.state_entries().len(),
    }
}

/// The counts once they have stopped moving (helper threads of finished relays and stdin
/// feeders end asynchronously): the same value three times, 50 ms apart.
fn settled(w: &World) -> Counts {
    let mut last = counts(w);
    let mut same = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while same < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let now = counts(w);
        if now == last {
            same += 1;
        } else {
            same = 0;
            last = now;
        }
    }
    last
}

/// One lifecycle: create with stdio, start, an exec with stdio (in a container without its own
/// pid namespace, the exec leaves an orphan that rule 1 must kill and reap), kill, waits,
/// deletes.
fn lifecycle(w: &World, n: u32, own: &testkit::Bundle, host: &testkit::Bundle) {
    let host_ns = n % 2 == 1;
    let bundle = if host_ns { host } else { own };
    let (stdio, out, err) = collect(None);
    let c =
        w.rt.create_container("sb", &w.id(n), bundle.path(), stdio)
            .unwrap();
    c.start().unwrap();
    let (stdio2, out2, _err2) = collect(Some(source(b"ping".to_vec())));
    let p = c
        .exec(
            &exec_process(&["sh", "-c", "cat; sleep 1000 > /dev/null 2>&1 &"], false),
            stdio2,
        )
        .unwrap();
    assert_eq!(p.wait_bounded().unwrap(), ExitStatus::Exited(0));
    assert_eq!(out2.bytes(), b"ping");
    p.delete().unwrap();
    c.kill(Signal::KILL).unwrap();
    assert_eq!(
        c.wait_bounded().unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    c.delete().unwrap();
    assert_eq!(out.bytes(), b"hi\n");
    assert!(err.bytes().is_empty());
}

#[test]
fn hundred_lifecycles_leave_nothing_behind() {
    if !require_runc_or_skip("hundred_lifecycles_leave_nothing_behind") {
        return;
    }
    let w = World::new("life100");
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
    let before = settled(&w);
    for n in 0..100 {
        lifecycle(&w, n, &own, &host);
    }
    // Threads of finished relays and sinks may take a moment to be gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let after = counts(&w);
        if after == before || Instant::now() >= deadline {
            break after;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(after, before);

    // Failures leave nothing behind either: no fd, thread, zombie or state directory.
    let no_rootfs = tempfile::tempdir().unwrap();
    std::fs::copy(
        own.path().join("config.json"),
        no_rootfs.path().join("config.json"),
    )
    .unwrap();
    let running =
        w.rt.create_container("sb", &w.id(2000), own.path(), StdioSet::none())
            .unwrap();
    running.start().unwrap();
    let stopped =
        w.rt.create_container("sb", &w.id(2001), own.path(), StdioSet::none())
            .unwrap();
    stopped.start().unwrap();
    stopped.kill(Signal::KILL).unwrap();
    stopped.wait_bounded().unwrap();
    let before = settled(&w);
    for n in 0..10 {
        let (stdio, out, err) = collect(Some(source(b"x".to_vec())));
        let e =
            w.rt.create_container("sb", "../x", own.path(), stdio)
                .failed();
        assert_eq!(e.kind(), ErrorKind::InvalidId);
        assert!(out.bytes().is_empty() && err.bytes().is_empty());
        let (stdio, out, _err) = collect(None);
        let e =
            w.rt.create_container("sb", &w.id(3000 + n), no_rootfs.path(), stdio)
                .failed();
        assert_eq!(e.kind(), ErrorKind::InvalidSpec, "{e}");
        out.bytes();
        let (stdio, out, _err) = collect(None);
        let e =
            w.rt.create_container("sb", running.id(), own.path(), stdio)
                .failed();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        out.bytes();
        let (stdio, out, _err) = collect(Some(source(b"y".to_vec())));
        let e = stopped
            .exec(&exec_process(&["true"], false), stdio)
            .failed();
        assert_eq!(e.kind(), ErrorKind::NotRunning);
        out.bytes();
        let (stdio, out, _err) = collect(None);
        let mut bad = exec_process(&["/no/such/binary"], false);
        bad.set_cwd("/".into());
        let e = running.exec(&bad, stdio).failed();
        assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
        out.bytes();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let after = counts(&w);
        if after == before || Instant::now() >= deadline {
            break after;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(after, before, "after failed operations");
    running.kill(Signal::KILL).unwrap();
    running.wait_bounded().unwrap();
    running.delete().unwrap();
    stopped.delete().unwrap();
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
    assert!(w.rt.list_container_states().unwrap().is_empty());
    assert!(
        processes_with("sleep 1000").iter().all(|p| {
            // Only processes outside this test's containers may remain (other test binaries).
            std::fs::read_to_string(format!("/proc/{p}/cgroup"))
                .map(|c| !c.contains(&format!("life100-{}-", std::process::id())))
                .unwrap_or(true)
        }),
        "a container process survived: {:?}",
        processes_with("sleep 1000")
            .iter()
            .map(|p| (
                *p,
                std::fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap_or_default(),
                std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default()
            ))
            .collect::<Vec<_>>()
    );
}
