//! The conformance suite against every backend plugin, loaded through the loader: the
//! simulator always; runc when it is present and we are root (mandatory under
//! `RTL_REQUIRE_RUNC=1`), with a per-test runc root and state directory.

use serde_json::json;
use suites::properties::log_line;

/// Cases where the simulator is known to differ from runc: (case, the text its failure must
/// contain, what the difference is). The check of such a case is not weakened: it still runs,
/// its failure is printed, and the test fails if the case fails in any other way than listed
/// here or starts to pass (then the entry must go). Every entry is a simulator bug reported to
/// its owner.
pub const SIMULATOR_KNOWN_DIVERGENCES: &[(&str, &str, &str)] = &[];

#[test]
fn conformance_sim_plugin() {
    let path = plugin::testing::plugin_path("backend-sim");
    let plugin = plugin::load(&path).expect("loading the simulator plugin");
    let runtime = plugin
        .open(&json!({ "seed": 7, "drain_grace_ms": 500 }))
        .expect("opening the simulator");
    let report = suites::conformance::run_runtime(plugin.name(), runtime.as_ref(), None, 2);
    eprintln!("{report}");
    let (p, f, s) = report.counts();
    log_line(&format!(
        "conformance of sim (plugin {}): {p} passed, {f} failed, {s} skipped; \
         SIMULATOR_KNOWN_DIVERGENCES: {}",
        path.display(),
        SIMULATOR_KNOWN_DIVERGENCES.len()
    ));
    for (case, _, what) in SIMULATOR_KNOWN_DIVERGENCES {
        log_line(&format!("  known divergence {case}: {what}"));
    }
    let failures = report.failures();
    let unexpected: Vec<_> = failures
        .iter()
        .filter(|(_, name, message)| {
            !SIMULATOR_KNOWN_DIVERGENCES
                .iter()
                .any(|(k, text, _)| k == name && message.contains(text))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "conformance failures on the simulator (not known divergences):\n{report}"
    );
    let now_passing: Vec<_> = SIMULATOR_KNOWN_DIVERGENCES
        .iter()
        .filter(|(k, _, _)| !failures.iter().any(|(_, name, _)| name == k))
        .map(|(k, _, _)| *k)
        .collect();
    assert!(
        now_passing.is_empty(),
        "known divergences that no longer fail (remove them from SIMULATOR_KNOWN_DIVERGENCES): \
         {now_passing:?}"
    );
}

#[test]
fn conformance_runc_plugin() {
    if !testkit::require_runc_or_skip("conformance_runc_plugin") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = plugin::testing::plugin_path("backend-runc");
    let plugin = plugin::load(&path).expect("loading the runc plugin");
    let runtime = plugin
        .open(&json!({
            "root": dir.path().join("runc-root"),
            "state_dir": dir.path().join("state"),
            "drain_grace_ms": 500,
        }))
        .expect("opening the runc backend");
    let report = suites::conformance::run_runtime(plugin.name(), runtime.as_ref(), None, 2);
    eprintln!("{report}");
    let (p, f, s) = report.counts();
    log_line(&format!(
        "conformance of runc (plugin {}): {p} passed, {f} failed, {s} skipped",
        path.display()
    ));
    assert!(report.passed(), "conformance failures on runc:\n{report}");
}
