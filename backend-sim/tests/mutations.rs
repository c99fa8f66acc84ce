//! The test-only mutations break the rules, and the simulator's own rule check sees it.

mod common;
use common::*;
use runtime_api::{ExitStatus, Runtime, Signal, StdioSet};
use serde_json::json;
use testkit::PidNamespace;

#[test]
fn without_mutations_no_violation_is_seen() {
    let rt = sim(1);
    let b = bundle_with(
        &["sh", "-c", "sleep 1000 & exit 0"],
        PidNamespace::Host,
        None,
    );
    let c = rt
        .create_container("sb", "c", b.path(), StdioSet::none())
        .unwrap();
    c.start().unwrap();
    bounded("wait", || c.wait()).unwrap();
    assert_eq!(
        ext(&rt, "check_rules", no_params()),
        json!({"violations": []})
    );
}

#[test]
fn plain_kill_leaves_the_siblings_running() {
    let rt = sim_json(json!({"seed": 1, "mutations": {"plain_kill_on_init_exit": true}}));
    let b = bundle_with(
        &["sh", "-c", "sleep 1000 & echo x"],
        PidNamespace::Host,
        None,
    );
    let io = io(None);
    let c = rt.create_container("sb", "c", b.path(), io.set).unwrap();
    c.start().unwrap();
    assert_eq!(bounded("wait", || c.wait()).unwrap(), ExitStatus::Exited(0));
    assert!(rt.kill_alls().is_empty());
    assert!(c
        .running_processes()
        .unwrap()
        .iter()
        .any(|p| p.command == ["sleep", "1000"]));
    assert!(
        c.relay_report().unwrap().was_cut(),
        "the sibling held stdout past the grace"
    );
    let v = ext(&rt, "check_rules", no_params());
    assert!(
        v["violations"][0].as_str().unwrap().starts_with("rule 1"),
        "{v}"
    );
}

#[test]
fn kill_all_even_if_owned_kills_the_cgroup_neighbour() {
    let rt = sim_json(json!({"seed": 1, "mutations": {"kill_all_even_if_owned": true}}));
    let bb = bundle_with(&["sleep", "1000"], PidNamespace::Own, Some("/shared"));
    let b = rt
        .create_container("sb", "b", bb.path(), StdioSet::none())
        .unwrap();
    b.start().unwrap();
    let ba = bundle_with(&["true"], PidNamespace::Own, Some("/shared"));
    let a = rt
        .create_container("sb", "a", ba.path(), StdioSet::none())
        .unwrap();
    a.start().unwrap();
    bounded("wait", || a.wait()).unwrap();
    assert_eq!(
        bounded("wait", || b.wait()).unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    assert_eq!(
        ext(&rt, "kill_all_count", json!({"id": "a"})),
        json!({"count": 1})
    );
    let v = ext(&rt, "check_rules", no_params());
    assert!(
        v["violations"][0].as_str().unwrap().contains("container a"),
        "{v}"
    );
}

#[test]
fn no_drain_is_reported_as_a_rule_2_violation() {
    let rt = sim_json(json!({"seed": 1, "mutations": {"no_drain": true}}));
    let (c, _b) = long_container(&rt, "c");
    // A child keeps stdout open: without draining, wait returns at the exit.
    let io = io(None);
    let p = c
        .exec(
            &testkit::exec_process(&["sh", "-c", "sleep 1000 & echo x"], false),
            io.set,
        )
        .unwrap();
    assert_eq!(bounded("wait", || p.wait()).unwrap(), ExitStatus::Exited(0));
    assert!(rt.now() < std::time::Duration::from_secs(1));
    let v = ext(&rt, "check_rules", no_params());
    assert!(
        v["violations"][0].as_str().unwrap().starts_with("rule 2"),
        "{v}"
    );
    // The namespace's death ends the holder, so the connection reaches end-of-file.
    c.kill(Signal::KILL).unwrap();
    bounded("wait", || c.wait()).unwrap();
    assert_eq!(io.out.bytes(), b"x\n");
}
