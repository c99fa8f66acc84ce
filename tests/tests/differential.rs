//! Differential: the same generated timing-independent scenarios on the simulator and on real
//! runc (both through the plugin loader, both with a 500 ms drain grace): same exit codes, same
//! bytes on each stream, same relay ends, same refused execs and kill results (error kinds),
//! and, once every exec ended and the processes settled, the same state and process listing
//! (command lines, created by the runtime, zombie) for every container.
//!
//! Needs root and runc (skips otherwise, unless `RTL_REQUIRE_RUNC=1`, where it must run).
//! 200 scenarios under CI (`CI=true` or `RTL_REQUIRE_RUNC=1`), 10 locally, or
//! `RTL_PROPTEST_CASES`; `scripts/differential-long.sh` runs 2,000. Failures shrink and persist in
//! `tests/proptest-regressions/differential.txt`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::json;
use suites::differential::compare;
use suites::properties::{case_count, log_line, sim_plugin};
use suites::runner::{run_plan, RunOptions};
use suites::scenario::strategy::{scenarios, Shape};
use suites::sim::SimInspector;

#[test]
fn differential_sim_vs_runc() {
    if !testkit::require_runc_or_skip("differential_sim_vs_runc") {
        return;
    }
    let runc_plugin =
        plugin::load(&plugin::testing::plugin_path("backend-runc")).expect("loading runc");
    let dir = tempfile::tempdir().expect("a temp dir");
    let runc = runc_plugin
        .open(&json!({
            "root": dir.path().join("runc-root"),
            "state_dir": dir.path().join("state"),
            "drain_grace_ms": 500,
        }))
        .expect("opening the runc backend");
    let cases = case_count(200, 10);
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/differential.txt"
        )))),
        max_shrink_iters: 256,
        ..Config::default()
    };
    let ran = AtomicUsize::new(0);
    let opts = RunOptions {
        id_prefix: "diff".into(),
        cgroup_prefix: "/rtl-suites-diff".into(),
        wait_bound: Duration::from_secs(30),
        settle: true,
        ..RunOptions::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&scenarios(Shape::differential()), |scenario| {
        ran.fetch_add(1, Ordering::Relaxed);
        let plan = scenario.plan();
        let sim = sim_plugin()
            .open(&json!({ "seed": plan.seed, "drain_grace_ms": 500 }))
            .expect("opening the simulator");
        let inspector = SimInspector::new(sim.as_ref()).expect("the simulator's inspector");
        let bundles = tempfile::tempdir().expect("a temp dir");
        let on_sim = run_plan(sim.as_ref(), Some(&inspector), &plan, &opts, bundles.path());
        let on_runc = run_plan(runc.as_ref(), None, &plan, &opts, bundles.path());
        let diffs = compare("sim", &on_sim, "runc", &on_runc);
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(TestCaseError::fail(format!(
                "simulator and runc differ (simulator seed {}):\n  - {}\n{plan:?}",
                plan.seed,
                diffs.join("\n  - ")
            )))
        }
    });
    log_line(&format!(
        "differential sim vs runc: {} scenarios run ({cases} asked; shrinking included)",
        ran.load(Ordering::Relaxed)
    ));
    if let Err(e) = result {
        panic!("differential: {e}");
    }
}
