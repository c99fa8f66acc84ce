//! Rule 1 and rule 2 as properties over the simulator, loaded through the plugin loader.
//!
//! Each case generates a [`Scenario`](suites::scenario::Scenario) (several containers owning,
//! sharing or joining pid namespaces, some on a shared cgroup; execs of generated busybox
//! scripts with outputs from 0 to MiBs on both streams, background children that hold stdio,
//! traps, signals; inits that exit at generated moments), runs it on a fresh simulated runtime
//! opened with the scenario's seed, and judges the record with [`suites::checks`].
//!
//! Case counts: 1,000 per property under CI (`CI=true` or `RTL_REQUIRE_RUNC=1`), 100 locally,
//! or `RTL_PROPTEST_CASES`. Failures shrink to a minimal scenario, printed with its simulator
//! seed, and persist in `tests/proptest-regressions/` (replayed first on every run).
//! `RTL_SIM_SEED=<n>` pins the simulator seed of every scenario (to replay a printed seed);
//! `RTL_SIM_MUTATIONS=name[,name]` switches on the simulator's deliberate rule breakers
//! (`plain_kill_on_init_exit`, `kill_all_even_if_owned`, `no_drain`), to show that the
//! properties catch them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use suites::checks;
use suites::properties::{case_count, log_line, run_on_sim, SimRun};
use suites::scenario::strategy::{scenarios, Shape};

fn property(name: &str, file: &'static str, judge: impl Fn(&SimRun) -> (Vec<String>, Vec<String>)) {
    let cases = case_count(1000, 100);
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let ran = AtomicUsize::new(0);
    let known: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut runner = TestRunner::new(config);
    let result = runner.run(&scenarios(Shape::simulator()), |scenario| {
        ran.fetch_add(1, Ordering::Relaxed);
        let run = run_on_sim(&scenario);
        let (violations, set_apart) = judge(&run);
        if !set_apart.is_empty() {
            known.lock().unwrap_or_else(|p| p.into_inner()).extend(
                set_apart
                    .into_iter()
                    .map(|k| format!("seed {}: {k}", run.seed)),
            );
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(TestCaseError::fail(run.failure(name, &violations)))
        }
    });
    let known = known.into_inner().unwrap_or_else(|p| p.into_inner());
    log_line(&format!(
        "{name}: {} scenarios run ({cases} cases asked; shrinking included), {} known \
         simulator race(s) set apart",
        ran.load(Ordering::Relaxed),
        known.len()
    ));
    for k in &known {
        log_line(&format!("  known: {k}"));
    }
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// Rule 1: init exit kills its siblings unless the container owns its pid namespace.
#[test]
fn rule1_init_exit_kills_siblings_unless_namespace_owned() {
    property(
        "rule 1",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/rule1.txt"
        ),
        |run| {
            let mut v = checks::rule1(&run.record);
            v.extend(checks::clean_run(&run.record));
            (v, Vec::new())
        },
    );
}

/// Rule 2: relays always drain and never hang.
#[test]
fn rule2_relays_drain_and_never_hang() {
    property(
        "rule 2",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/rule2.txt"
        ),
        |run| {
            let (mut v, known) = checks::rule2_with_known(&run.record);
            v.extend(checks::clean_run(&run.record));
            (v, known)
        },
    );
}
