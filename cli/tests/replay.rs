//! One scenario language: a property that fails (here made to fail with the simulator's
//! mutation switches) writes its shrunk scenario as a `.scenario` file, and
//! `rtctl scenario FILE --seed N` replays it exactly: the same calls (every step's own
//! expectation holds) and the same trace digest as the property's run.

mod common;

use common::*;
use serde_json::json;
use suites::properties::{check_rule, Rule, RULE1, RULE2};
use suites::scenario::strategy::Shape;

/// The seed of the scenario generator for these tests.
const GENERATOR_SEED: u64 = 2;

fn shrunk_failure_replays(rule: &Rule, mutation: &str) {
    let mutations = json!({ mutation: true });
    // A fixed generator seed: the same failure, shrunk the same way, on every run. With
    // proptest's random seed some runs shrank through candidates whose connection the
    // `no_drain` mutation never closes, each costing the runner's 10 s close bound (one run
    // took over 12 minutes; the usual one takes under a second).
    let outcome = check_rule(
        rule,
        Shape::simulator(),
        2000,
        &mutations,
        None,
        Some(GENERATOR_SEED),
    );
    let (why, run) = outcome.failure.unwrap_or_else(|| {
        panic!(
            "{} with the {mutation} mutation: no failure in {} scenarios",
            rule.name, outcome.ran
        )
    });
    let expected = rtctl::trace_digest(run.trace.as_deref().expect("the kept trace").as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = run
        .write_scenario(dir.path(), "failure", &[format!("{} violated", rule.name)])
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("# replay: rtctl --backend sim --backend-config"),
        "{text}"
    );
    ensure_plugin("backend-sim");
    let out = output(rtctl().args([
        "--backend",
        "sim",
        "--backend-config",
        &json!({ "mutations": mutations }).to_string(),
        "scenario",
        path.to_str().unwrap(),
        "--seed",
        &run.seed.to_string(),
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("FAILED  "),
        "a step of the replay did not do what the property's run did:\n{stdout}\n{text}"
    );
    assert!(
        stdout.contains(&format!("digest {expected}")),
        "{} with {mutation}: the replay's digest differs from the property's ({expected})\n\
         property failure: {why}\nscenario:\n{text}\nrtctl:\n{stdout}\n{}",
        rule.name,
        stderr_text(&out)
    );
}

#[test]
fn rule1_failure_with_plain_kill_replays_with_the_same_digest() {
    shrunk_failure_replays(&RULE1, "plain_kill_on_init_exit");
}

#[test]
fn rule1_failure_with_kill_all_on_owned_namespace_replays_with_the_same_digest() {
    shrunk_failure_replays(&RULE1, "kill_all_even_if_owned");
}

#[test]
fn rule2_failure_without_drain_replays_with_the_same_digest() {
    shrunk_failure_replays(&RULE2, "no_drain");
}
