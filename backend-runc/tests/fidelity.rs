//! The seed's scenario of issue #15 on real runc: the settled process listing the simulator
//! must match (its own test, `backend-sim/tests/fidelity.rs`, expects the same five).

mod common;

use std::time::Duration;

use common::*;
use runtime_api::{ExitStatus, Signal};
use testkit::require_runc_or_skip;

#[test]
fn seed_scenario_lists_five_processes() {
    if !require_runc_or_skip("seed_scenario_lists_five_processes") {
        return;
    }
    let w = World::new("seed");
    let dir = tempfile::tempdir().unwrap();
    // Under the tests' wait bound: a wait that hangs fails the run.
    let out = testkit::bounded("the seed scenario", || {
        testkit::run_seed_scenario(w.rt.as_ref(), dir.path(), &w.id(1), Duration::from_secs(10))
    });
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
