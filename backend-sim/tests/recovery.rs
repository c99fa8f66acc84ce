//! Recovery on the simulator: a simulated host crash (`crash_host`: handles vanish, the world
//! stays), taking a container back, rule 1 at a taken-back (or orphaned) init's exit, forced
//! delete, and the bad-input cases.

mod common;
use common::*;
use runtime_api::{ErrorKind, ExitStatus, Runtime, Signal, Status, StdioSet};
use serde_json::json;
use testkit::PidNamespace;

fn processes_of(rt: &dyn Runtime, id: &str) -> Vec<serde_json::Value> {
    ext(rt, "container_processes", json!({ "id": id }))["processes"]
        .as_array()
        .unwrap()
        .clone()
}

/// Every process the world has whose container is `id`, alive or zombie.
fn world_processes_of(rt: &dyn Runtime, id: &str) -> Vec<serde_json::Value> {
    ext(rt, "processes", json!({}))["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["container"] == id)
        .cloned()
        .collect()
}

#[test]
fn a_crashed_hosts_container_is_listed_taken_back_and_driven() {
    let rt = sim(7);
    let (c, _b) = long_container(&rt, "web");
    let pid = c.pid();
    let left = ext(&rt, "crash_host", no_params());
    assert_eq!(left["containers"], 1);
    // The old handle vanished with its host.
    assert_eq!(c.state().unwrap_err().kind(), ErrorKind::NotFound);
    assert!(!c.exists().unwrap());
    assert_eq!(
        c.kill(Signal::KILL).unwrap_err().kind(),
        ErrorKind::NotFound
    );

    let listed = rt.list_container_states().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].status),
        ("web", Status::Running)
    );

    let back = rt.open_container("web").unwrap();
    assert_eq!(back.id(), "web");
    assert_eq!(back.pid(), pid);
    assert!(back.exists().unwrap());
    assert_eq!(back.state().unwrap().status, Status::Running);
    back.pause().unwrap();
    assert_eq!(back.state().unwrap().status, Status::Paused);
    back.resume().unwrap();
    let (st, out, _, p) = run_exec(back.as_ref(), &["sh", "-c", "echo new connections"], None);
    assert_eq!(st, ExitStatus::Exited(0));
    assert_eq!(out, b"new connections\n");
    p.delete().unwrap();
    assert!(back
        .running_processes()
        .unwrap()
        .iter()
        .any(|p| p.pid == pid));
    assert!(back.all_processes().unwrap().iter().any(|p| p.pid == pid));
    back.update(&Default::default()).unwrap();
    back.kill(Signal::TERM).unwrap();
    let status = bounded("wait", || back.wait()).unwrap();
    assert_eq!(
        status,
        ExitStatus::Unknown,
        "the new host is not the init's parent"
    );
    assert_eq!(status.code(), 255);
    assert_eq!(back.relay_report(), None, "the old stdio is not reattached");
    back.delete().unwrap();
    assert!(rt.list_container_states().unwrap().is_empty());
    assert!(world_processes_of(&rt, "web").is_empty());
}

#[test]
fn rule_1_applies_at_a_taken_back_inits_exit() {
    let rt = sim(11);
    let b = bundle_with(&["sh", "-c", "sleep 1000"], PidNamespace::Host, None);
    let c = rt
        .create_container("sb", "shared", b.path(), StdioSet::none())
        .unwrap();
    c.start().unwrap();
    ext(&rt, "crash_host", no_params());
    let back = rt.open_container("shared").unwrap();
    let sleeper = back
        .exec(
            &testkit::exec_process(&["sleep", "1000"], false),
            StdioSet::none(),
        )
        .unwrap();
    let exec_pid = sleeper.pid();
    back.kill(Signal::KILL).unwrap();
    assert_eq!(
        bounded("wait", || back.wait()).unwrap(),
        ExitStatus::Unknown
    );
    assert!(
        !back
            .all_processes()
            .unwrap()
            .iter()
            .any(|p| p.pid == exec_pid && !p.is_zombie),
        "rule 1: the exec'd sleep is gone when wait on the init returns"
    );
    assert_eq!(
        bounded("wait", || sleeper.wait()).unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    sleeper.delete().unwrap();
    back.delete().unwrap();
    assert!(world_processes_of(&rt, "shared").is_empty());
}

#[test]
fn an_init_that_exits_with_no_host_gets_rule_1_when_taken_back() {
    let rt = sim(12);
    let b = bundle_with(&["sh", "-c", "sleep 5; exit 3"], PidNamespace::Host, None);
    let c = rt
        .create_container("sb", "lone", b.path(), StdioSet::none())
        .unwrap();
    c.start().unwrap();
    let sleeper = c
        .exec(
            &testkit::exec_process(&["sleep", "1000"], false),
            StdioSet::none(),
        )
        .unwrap();
    let exec_pid = sleeper.pid();
    ext(&rt, "crash_host", no_params());
    ext(&rt, "advance", json!({ "secs": 10.0 }));
    // No host: nobody killed the exec when the init exited (as on runc).
    let alive: Vec<i64> = processes_of(&rt, "lone")
        .iter()
        .filter(|p| p["state"] == "alive")
        .map(|p| p["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(alive, vec![exec_pid as i64]);
    let back = rt.open_container("lone").unwrap();
    assert_eq!(back.state().unwrap().status, Status::Stopped);
    assert!(
        processes_of(&rt, "lone")
            .iter()
            .all(|p| p["state"] != "alive"),
        "taking back applied the pending rule 1"
    );
    assert_eq!(
        bounded("wait", || back.wait()).unwrap(),
        ExitStatus::Unknown
    );
    back.delete().unwrap();
    assert!(world_processes_of(&rt, "lone").is_empty());
}

#[test]
fn force_delete_removes_everything_and_frees_the_id() {
    let rt = sim(13);
    for status in ["created", "running", "paused", "stopped"] {
        let id = format!("f-{status}");
        let b = bundle(&["sh", "-c", "sleep 1000 & sleep 1000"]);
        let c = rt
            .create_container("sb", &id, b.path(), StdioSet::none())
            .unwrap();
        if status != "created" {
            c.start().unwrap();
        }
        if status == "paused" {
            c.pause().unwrap();
        }
        if status == "stopped" {
            c.kill(Signal::KILL).unwrap();
            bounded("wait", || c.wait()).unwrap();
        }
        ext(&rt, "crash_host", no_params());
        rt.force_delete(&id).unwrap();
        assert!(rt.list_container_states().unwrap().is_empty(), "{status}");
        assert!(
            world_processes_of(&rt, &id).is_empty(),
            "{status}: {:?}",
            world_processes_of(&rt, &id)
        );
        assert_eq!(
            rt.force_delete(&id).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        let (st, _, _) = run_init_in(&rt, &id, &bundle(&["sh", "-c", "exit 4"]), None);
        assert_eq!(st, ExitStatus::Exited(4), "the id is free again ({status})");
    }
    // Without a crash too: a live host's own container.
    let (c, _b) = long_container(&rt, "mine");
    rt.force_delete("mine").unwrap();
    assert!(!c.exists().unwrap());
    assert_eq!(c.delete().unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn bad_input_is_refused_with_its_kind_and_touches_nothing() {
    let rt = sim(14);
    let (_c, _b) = long_container(&rt, "keep");
    let before = ext(&rt, "trace", no_params())["events"].clone();
    for bad in ["", "..", "a/b", "x y"] {
        assert_eq!(
            rt.open_container(bad).err().unwrap().kind(),
            ErrorKind::InvalidId,
            "{bad:?}"
        );
        assert_eq!(
            rt.force_delete(bad).unwrap_err().kind(),
            ErrorKind::InvalidId
        );
    }
    assert_eq!(
        ext(&rt, "trace", no_params())["events"],
        before,
        "invalid ids touch nothing"
    );
    let e = rt.open_container("nobody").err().unwrap();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.container_id(), Some("nobody"));
    assert_eq!(
        rt.force_delete("nobody").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(rt.list_container_states().unwrap().len(), 1);
}

/// A small deterministic generator for the fault points (splitmix64).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The steps of the lifecycle a host goes through before it crashes.
const STEPS: [&str; 8] = [
    "create",
    "start",
    "exec",
    "exec_wait",
    "pause",
    "resume",
    "kill",
    "wait",
];

/// One host's lifecycle, crashing after `crash_after` steps (during `wait` when the crash
/// point is the last step: a thread blocks in `wait` while the host crashes).
fn crash_during_lifecycle(
    rt: &backend_sim::SimRuntime,
    id: &str,
    crash_after: usize,
    b: &std::path::Path,
) {
    let mut c = None;
    let mut waiter = None;
    for (i, step) in STEPS.iter().enumerate() {
        if i == crash_after {
            break;
        }
        match *step {
            "create" => {
                c = Some(std::sync::Arc::<dyn runtime_api::Container>::from(
                    rt.create_container("sb", id, b, StdioSet::none()).unwrap(),
                ))
            }
            "start" => c.as_ref().unwrap().start().unwrap(),
            "exec" => {
                let p = c
                    .as_ref()
                    .unwrap()
                    .exec(
                        &testkit::exec_process(&["sh", "-c", "sleep 1000 &"], false),
                        StdioSet::none(),
                    )
                    .unwrap();
                std::mem::forget(p);
            }
            "exec_wait" => {
                let (st, _, _, _) =
                    run_exec(c.as_ref().unwrap().as_ref(), &["sh", "-c", "exit 2"], None);
                assert_eq!(st, ExitStatus::Exited(2));
            }
            "pause" => c.as_ref().unwrap().pause().unwrap(),
            "resume" => c.as_ref().unwrap().resume().unwrap(),
            "kill" => c.as_ref().unwrap().kill(Signal::TERM).unwrap(),
            "wait" => {
                let c = c.clone().unwrap();
                waiter = Some(std::thread::spawn(move || bounded("wait", || c.wait())));
            }
            _ => unreachable!(),
        }
    }
    ext(rt, "crash_host", no_params());
    // The handles vanish with their host (a blocked `wait` of the dead host returns once the
    // new host has ended the init; what it answers is nobody's business any more).
    drop(c);
    if let Some(w) = waiter {
        std::mem::forget(w);
    }
}

/// Kills the init; an init that exited meanwhile (a TERM the crashed host sent, handled after
/// a resume) answers `NotRunning`, which is fine.
fn kill_unless_exited(c: &dyn runtime_api::Container, ctx: &str) {
    if let Err(e) = c.kill(Signal::KILL) {
        assert_eq!(e.kind(), ErrorKind::NotRunning, "{ctx}: {e}");
    }
}

#[test]
fn fault_a_host_crashing_at_a_generated_point_leaves_nothing_after_recovery() {
    let runs: u64 = std::env::var("RTL_SIM_FAULT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let seed: u64 = std::env::var("RTL_SIM_FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let bundles = [
        light_bundle(&["sh", "-c", "sleep 1000"], PidNamespace::Own, None),
        light_bundle(&["sh", "-c", "sleep 1000"], PidNamespace::Host, None),
        light_bundle(
            &["sh", "-c", "trap 'exit 7' TERM; sleep 1000"],
            PidNamespace::Host,
            None,
        ),
    ];
    let started = std::time::Instant::now();
    let (mut taken_back, mut force_deleted) = (0u64, 0u64);
    let mut rng = seed;
    for run in 0..runs {
        let rt = sim(next(&mut rng));
        let id = format!("f{run}");
        let crash_after = (next(&mut rng) % (STEPS.len() as u64 + 1)) as usize;
        let b = &bundles[(next(&mut rng) % bundles.len() as u64) as usize];
        crash_during_lifecycle(&rt, &id, crash_after, b.path());
        let ctx = format!("run {run} (seed {seed}, crash after {crash_after} steps)");
        // The new host: takes back (every other run) or cleans up what it finds.
        for st in rt.list_container_states().unwrap() {
            if next(&mut rng) % 2 == 0 {
                let c = rt.open_container(&st.id).unwrap();
                match c.state().unwrap().status {
                    Status::Created => {}
                    Status::Paused => {
                        c.resume().unwrap();
                        kill_unless_exited(c.as_ref(), &ctx);
                    }
                    Status::Running => kill_unless_exited(c.as_ref(), &ctx),
                    _ => {}
                }
                if c.state().unwrap().status != Status::Created {
                    assert_eq!(
                        bounded("wait", || c.wait()).unwrap(),
                        ExitStatus::Unknown,
                        "{ctx}"
                    );
                }
                c.delete().unwrap();
                taken_back += 1;
            } else {
                rt.force_delete(&st.id).unwrap();
                force_deleted += 1;
            }
        }
        assert!(rt.list_container_states().unwrap().is_empty(), "{ctx}");
        let left = world_processes_of(&rt, &id);
        assert!(left.is_empty(), "{ctx}: leftover processes {left:?}");
        // The id is free again.
        rt.create_container("sb", &id, bundles[0].path(), StdioSet::none())
            .unwrap()
            .delete()
            .unwrap();
    }
    eprintln!(
        "sim fault runs: {runs} (seed {seed}), {taken_back} taken back, {force_deleted} force-deleted, 0 leftovers, {:.2?}",
        started.elapsed()
    );
}
