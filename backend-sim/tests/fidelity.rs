//! Where a host can look, the simulator shows what runc shows: every call settles the world,
//! so a host that polls sees the process tree runc would show.

mod common;
use common::*;
use runtime_api::{ExitStatus, Signal};
use std::time::Duration;

#[test]
fn seed_scenario_lists_the_five_processes_runc_lists() {
    let rt = sim(15);
    let dir = tempfile::tempdir().unwrap();
    let out = testkit::run_seed_scenario(&rt, dir.path(), "seed", Duration::ZERO);
    assert_eq!(out.listed, testkit::seed_expected());
    assert_eq!(out.init, ExitStatus::Exited(3));
    assert_eq!(
        out.execs,
        [
            ExitStatus::Signaled(Signal::KILL),
            ExitStatus::Signaled(Signal::KILL)
        ]
    );
}
