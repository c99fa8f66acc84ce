//! One test per injected fault (each switched on with probability 1), plus replay of a
//! partial fault rate.

mod common;
use common::*;
use runtime_api::{ErrorKind, ExitStatus, Runtime, Signal, StdioSet};
use serde_json::json;
use std::io::Read;
use std::time::Duration;

fn faulty(faults: serde_json::Value) -> backend_sim::SimRuntime {
    sim_json(json!({"seed": 21, "faults": faults}))
}

#[test]
fn command_failure_fails_create_with_a_backend_error_and_leaves_nothing() {
    let rt = faulty(json!({"command_failure": 1.0}));
    let b = bundle(&["true"]);
    let (w, cap) = Capture::new();
    let e = rt
        .create_container(
            "sb",
            "c",
            b.path(),
            StdioSet {
                stdout: Some(w),
                ..StdioSet::none()
            },
        )
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::Backend);
    assert!(e.message().contains("runc create failed"), "{e}");
    assert!(cap.bytes().is_empty(), "the connection was closed");
    assert!(rt.list_container_states().unwrap().is_empty());
    assert!(rt.processes().is_empty());
}

#[test]
fn command_failures_at_a_partial_rate_replay_from_the_seed() {
    let outcome = |seed: u64| {
        let rt = sim_json(json!({"seed": seed, "faults": {"command_failure": 0.5}}));
        let b = bundle(&["sleep", "10"]);
        let mut kinds = Vec::new();
        for i in 0..8 {
            match rt.create_container("sb", &format!("c{i}"), b.path(), StdioSet::none()) {
                Ok(c) => {
                    kinds.push(c.start().err().map(|e| e.kind()));
                    let exec = c.exec(&testkit::exec_process(&["true"], false), StdioSet::none());
                    kinds.push(exec.err().map(|e| e.kind()));
                    kinds.push(c.kill(Signal::KILL).err().map(|e| e.kind()));
                }
                Err(e) => kinds.push(Some(e.kind())),
            }
        }
        kinds
    };
    let a = outcome(3);
    assert_eq!(a, outcome(3), "same seed, same failures");
    assert!(
        a.iter().any(Option::is_some) && a.iter().any(Option::is_none),
        "{a:?}"
    );
    assert!(a.iter().flatten().all(|k| *k == ErrorKind::Backend));
}

#[test]
fn spawn_failure_makes_the_shell_exit_2() {
    let rt = faulty(json!({"spawn_failure": 1.0}));
    let (st, out, err) = run_init(&rt, "c", &["sh", "-c", "sleep 1 & echo never"], None);
    assert_eq!(st, ExitStatus::Exited(2));
    assert!(out.is_empty());
    assert_eq!(err, b"sh: can't fork: Resource temporarily unavailable\n");
}

#[test]
fn peer_disconnect_never_blocks_the_process_and_counts_dropped_bytes() {
    let rt = faulty(json!({"peer_disconnect": 1.0}));
    let (c, _b) = long_container(&rt, "c");
    let (st, out, _, p) = run_exec(c.as_ref(), &["head", "-c", "4000000", "/dev/zero"], None);
    assert_eq!(st, ExitStatus::Exited(0));
    assert!(
        out.len() <= 64,
        "the peer left after at most 64 bytes: {}",
        out.len()
    );
    let report = p.relay_report().unwrap();
    assert!(!report.was_cut());
    assert!(report.stdout.dropped > 0, "{report:?}");
    assert_eq!(rt.relay_facts(p.pid()).unwrap().written[0], 4_000_000);
    assert!(rt.trace_text().contains("Disconnect"));
}

#[test]
fn slow_peer_still_gets_every_byte() {
    let rt = faulty(json!({"slow_peer": 1.0}));
    let (c, _b) = long_container(&rt, "c");
    let (st, out, _, p) = run_exec(c.as_ref(), &["head", "-c", "300000", "/dev/zero"], None);
    assert_eq!(st, ExitStatus::Exited(0));
    assert_eq!(out.len(), 300_000);
    let report = p.relay_report().unwrap();
    assert!(!report.was_cut());
    assert_eq!(report.stdout.relayed, 300_000);
    assert_eq!(report.stdout.dropped, 0);
}

#[test]
fn stdin_never_closed_blocks_cat_until_it_is_killed() {
    let rt = faulty(json!({"stdin_never_closed": 1.0}));
    let (c, _b) = long_container(&rt, "c");
    let io = io(Some(b"abc"));
    let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    drop(io.out);
    let p = c
        .exec(
            &testkit::exec_process(&["cat"], false),
            StdioSet {
                stdin: io.set.stdin,
                stdout: Some(out_w),
                stderr: None,
            },
        )
        .unwrap();
    // Another thread waits (and so drives the simulation) while this one watches the output.
    let waiter = std::thread::spawn(move || p.wait().map(|st| (st, p)));
    let mut got = [0u8; 3];
    let mut f = std::fs::File::from(out_r);
    f.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"abc");
    // The peer closed its stdin long ago, but cat never sees end-of-file.
    std::thread::sleep(Duration::from_millis(50));
    assert!(!waiter.is_finished());
    c.kill(Signal::KILL).unwrap();
    let (st, _p) = bounded("wait", move || waiter.join()).unwrap().unwrap();
    assert_eq!(st, ExitStatus::Signaled(Signal::KILL));
    let mut rest = Vec::new();
    f.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn child_holding_stdio_cuts_an_exec_relay_but_not_an_init_one() {
    let rt = faulty(json!({"child_holds_stdio": 1.0}));
    let (c, _b) = long_container(&rt, "c");
    let t0 = rt.now();
    let (st, out, _, p) = run_exec(c.as_ref(), &["echo", "hi"], None);
    assert_eq!(st, ExitStatus::Exited(0));
    assert_eq!(out, b"hi\n");
    assert!(p.relay_report().unwrap().was_cut());
    assert!(rt.now() - t0 >= Duration::from_secs(2));
    // As an init, the namespace's death kills the hidden child: the relay completes.
    let (st, out, _) = run_init(&rt, "i", &["echo", "init"], None);
    assert_eq!(
        (st, out.as_slice()),
        (ExitStatus::Exited(0), &b"init\n"[..])
    );
    let holders: Vec<_> = rt
        .trace_events()
        .into_iter()
        .filter(|e| e.kind == "fault")
        .collect();
    assert!(holders.len() >= 3, "{holders:?}");
}
