//! The conformance suite against every backend plugin, loaded through the loader: the
//! simulator always; runc when it is present and we are root (mandatory under
//! `RTL_REQUIRE_RUNC=1`), with a per-test runc root and state directory.

use serde_json::json;

#[test]
fn conformance_sim_plugin() {
    let path = plugin::testing::plugin_path("backend-sim");
    let plugin = plugin::load(&path).expect("loading the simulator plugin");
    let runtime = plugin
        .open(&json!({ "seed": 7, "drain_grace_ms": 500 }))
        .expect("opening the simulator");
    let report = suites::conformance::run_runtime(plugin.name(), runtime.as_ref(), None, 2);
    eprintln!("{report}");
    assert!(
        report.passed(),
        "conformance failures on the simulator:\n{report}"
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
    assert!(report.passed(), "conformance failures on runc:\n{report}");
}
