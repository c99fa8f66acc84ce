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
    let status = back.wait().unwrap();
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
    assert_eq!(back.wait().unwrap(), ExitStatus::Unknown);
    assert!(
        !back
            .all_processes()
            .unwrap()
            .iter()
            .any(|p| p.pid == exec_pid && !p.is_zombie),
        "rule 1: the exec'd sleep is gone when wait on the init returns"
    );
    assert_eq!(sleeper.wait().unwrap(), ExitStatus::Signaled(Signal::KILL));
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
    assert_eq!(back.wait().unwrap(), ExitStatus::Unknown);
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
            c.wait().unwrap();
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
