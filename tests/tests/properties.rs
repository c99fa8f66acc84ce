//! Rule 1 and rule 2 as properties over the simulator, loaded through the plugin loader.
//!
//! Each case generates a [`Scenario`](suites::scenario::Scenario) (several containers owning,
//! sharing or joining pid namespaces, some on a shared cgroup; execs of generated busybox
//! scripts with outputs from 0 to MiBs on both streams, background children that hold stdio,
//! traps, signals; inits that exit at generated moments), runs it on a fresh simulated runtime
//! opened with the scenario's seed, and judges the record with [`suites::checks`].
//!
//! Case counts: 10,000 per property under CI (`CI=true` or `RTL_REQUIRE_RUNC=1`), 1,000
//! locally, or `RTL_PROPTEST_CASES`. Failures shrink to a minimal scenario, printed with its
//! simulator seed, persist in `tests/proptest-regressions/` (replayed first on every run), and
//! are written as a `.scenario` file (under the target directory's `tmp/rtl-failures/`) that
//! `rtctl scenario FILE --seed N` replays with the same trace.
//! `RTL_SIM_SEED=<n>` pins the simulator seed of every scenario (to replay a printed seed);
//! `RTL_SIM_MUTATIONS=name[,name]` switches on the simulator's deliberate rule breakers
//! (`plain_kill_on_init_exit`, `kill_all_even_if_owned`, `no_drain`), to show that the
//! properties catch them.

use std::path::PathBuf;

use suites::properties::{
    case_count, check_rule, log_line, mutations_from_env, Rule, RULE1, RULE2,
};
use suites::scenario::strategy::Shape;

/// Where a failing property writes its shrunk scenario as a `.scenario` file.
fn failure_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rtl-failures")
}

fn property(rule: &Rule, file: &'static str) {
    let cases = case_count(10_000, 1000);
    // Loaded (and its build checked with cargo) before the clock starts: the rate below is
    // that of the scenarios.
    suites::properties::sim_plugin();
    let started = std::time::Instant::now();
    let outcome = check_rule(
        rule,
        Shape::simulator(),
        cases,
        &mutations_from_env(),
        Some(file),
        None,
    );
    let took = started.elapsed();
    log_line(&format!(
        "{}: {} scenarios run ({cases} cases asked; shrinking included) in {:.2} s, {:.0} \
         scenarios/s, {} known simulator race(s) set apart",
        rule.name,
        outcome.ran,
        took.as_secs_f64(),
        outcome.ran as f64 / took.as_secs_f64(),
        outcome.known.len()
    ));
    for k in &outcome.known {
        log_line(&format!("  known: {k}"));
    }
    if let Some((why, run)) = outcome.failure {
        let stem = format!("{}-seed-{}", rule.name.replace(' ', ""), run.seed);
        let written =
            run.write_scenario(&failure_dir(), &stem, &[format!("{} violated", rule.name)]);
        let replay = match written {
            Ok(path) => format!(
                "the shrunk scenario is written as {}; replay it with\n  {}",
                path.display(),
                run.replay_command(&path)
            ),
            Err(e) => format!("(could not write the shrunk scenario: {e})"),
        };
        panic!("{}: {why}\n{replay}", rule.name);
    }
}

/// Rule 1: init exit kills its siblings unless the container owns its pid namespace.
#[test]
fn rule1_init_exit_kills_siblings_unless_namespace_owned() {
    property(
        &RULE1,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/rule1.txt"
        ),
    );
}

/// Rule 2: relays always drain and never hang.
#[test]
fn rule2_relays_drain_and_never_hang() {
    property(
        &RULE2,
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/rule2.txt"
        ),
    );
}
