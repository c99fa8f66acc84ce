//! Differential: the same generated timing-independent scenarios on the simulator and on real
//! runc, and on youki (all through the plugin loader, all with a 500 ms drain grace): same exit
//! codes, same bytes on each stream, same relay ends, same refused execs and kill results
//! (error kinds), and, once every exec ended and the processes settled, the same state and
//! process listing (command lines, created by the runtime, zombie) for every container.
//!
//! Needs root and runc (skips otherwise, unless `RTL_REQUIRE_RUNC=1`, where it must run).
//! 200 scenarios under CI for runc, 50 for youki (`CI=true` or `RTL_REQUIRE_RUNC=1`), 10 locally, or
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
    differential("runc", "runc".into(), "differential.txt", 200);
}

/// The same scenarios, sim vs the runc backend driving youki; mandatory under
/// `RTL_REQUIRE_RUNC=1`.
#[test]
fn differential_sim_vs_youki() {
    let Some(youki) = testkit::require_youki_or_skip("differential_sim_vs_youki") else {
        return;
    };
    differential("youki", youki, "differential-youki.txt", 50);
}

fn differential(
    name: &str,
    runc_path: std::path::PathBuf,
    regressions: &'static str,
    ci_cases: u32,
) {
    let runc_plugin =
        plugin::load(&plugin::testing::plugin_path("backend-runc")).expect("loading runc");
    let dir = tempfile::tempdir().expect("a temp dir");
    let runc = runc_plugin
        .open(&json!({
            "runc_path": runc_path,
            "root": dir.path().join("runc-root"),
            "state_dir": dir.path().join("state"),
            "drain_grace_ms": 500,
        }))
        .expect("opening the runc backend");
    let cases = case_count(ci_cases, 10);
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(Box::leak(
            format!(
                "{}/proptest-regressions/{regressions}",
                env!("CARGO_MANIFEST_DIR")
            )
            .into_boxed_str(),
        )))),
        max_shrink_iters: 256,
        ..Config::default()
    };
    let ran = AtomicUsize::new(0);
    let agreed = AtomicUsize::new(0);
    let opts = RunOptions {
        id_prefix: format!("diff{name}"),
        cgroup_prefix: format!("/rtl-suites-diff-{name}"),
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
        let diffs = compare("sim", &on_sim, name, &on_runc);
        if diffs.is_empty() {
            agreed.fetch_add(1, Ordering::Relaxed);
            Ok(())
        } else {
            Err(TestCaseError::fail(format!(
                "simulator and {name} differ (simulator seed {}):\n  - {}\n{plan:?}",
                plan.seed,
                diffs.join("\n  - ")
            )))
        }
    });
    log_line(&format!(
        "differential sim vs {name}: {} scenarios run, {} agreed ({cases} asked; shrinking included)",
        ran.load(Ordering::Relaxed),
        agreed.load(Ordering::Relaxed)
    ));
    if let Err(e) = result {
        panic!("differential sim vs {name}: {e}");
    }
}
