//! The conformance suite against every backend plugin, loaded through the loader: the
//! simulator always; runc and youki (through the runc backend) when present and we are root
//! (mandatory under `RTL_REQUIRE_RUNC=1`), with a per-test root and state directory.

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
    conformance_on_runc_backend("runc", "runc".into());
}

/// The same suite on the runc backend driving youki (detected from `youki --version`);
/// mandatory like runc's under `RTL_REQUIRE_RUNC=1`.
#[test]
fn conformance_youki_plugin() {
    let Some(youki) = testkit::require_youki_or_skip("conformance_youki_plugin") else {
        return;
    };
    conformance_on_runc_backend("youki", youki);
}

/// Cases where youki differs from runc in a way the backend cannot hide: (case, the text its
/// failure must contain). youki (a Rust program) starts container processes with SIGPIPE
/// ignored, so in `head -c N /dev/zero | head -c 5` the first `head` reports EPIPE on stderr
/// instead of dying of SIGPIPE. The checks still run; any other failure of these cases, or a
/// pass, fails the test.
const YOUKI_KNOWN_DIVERGENCES: &[(&str, &str)] = &[
    ("shared_scripts_as_init", "head: standard output: I/O error"),
    ("shared_scripts_as_exec", "head: standard output: I/O error"),
];

/// Runs the suite on the runc backend plugin with `runc_path`, a private root and state
/// directory, and checks that no case failed and that nothing is left behind: no container in
/// the runtime's root, no state directory.
fn conformance_on_runc_backend(runtime: &str, runc_path: std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = plugin::testing::plugin_path("backend-runc");
    let plugin = plugin::load(&path).expect("loading the runc plugin");
    let runtime_api = plugin
        .open(&json!({
            "runc_path": runc_path,
            "root": dir.path().join("runc-root"),
            "state_dir": dir.path().join("state"),
            "drain_grace_ms": 500,
        }))
        .expect("opening the runc backend");
    let report = suites::conformance::run_runtime(runtime, runtime_api.as_ref(), None, 2);
    eprintln!("{report}");
    let (p, f, s) = report.counts();
    log_line(&format!(
        "conformance of {runtime} (plugin {}, {}): {p} passed, {f} failed, {s} skipped",
        path.display(),
        runc_path.display()
    ));
    for (area, name, outcome) in &report.results {
        let word = match outcome {
            suites::conformance::Outcome::Passed => "ok",
            suites::conformance::Outcome::Failed(_) => "FAILED",
            suites::conformance::Outcome::Skipped(_) => "skipped",
        };
        log_line(&format!("  {runtime}::{area}::{name}: {word}"));
    }
    let left = runtime_api
        .list_container_states()
        .expect("listing after the suite");
    let entries: Vec<String> = std::fs::read_dir(dir.path().join("state"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    let known: &[(&str, &str)] = if runtime == "youki" {
        YOUKI_KNOWN_DIVERGENCES
    } else {
        &[]
    };
    let failures = report.failures();
    let unexpected: Vec<_> = failures
        .iter()
        .filter(|(_, n, m)| !known.iter().any(|(k, t)| k == n && m.contains(t)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "conformance failures on {runtime}:\n{report}"
    );
    let now_passing: Vec<_> = known
        .iter()
        .filter(|(k, _)| !failures.iter().any(|(_, n, _)| n == k))
        .collect();
    assert!(
        now_passing.is_empty(),
        "known youki divergences that pass now (remove them): {now_passing:?}"
    );
    assert!(left.is_empty(), "containers left on {runtime}: {left:?}");
    assert!(
        entries.is_empty(),
        "state directories left on {runtime}: {entries:?}"
    );
}

/// A failing case leaves nothing behind: the suite's lifecycle and exec cases on runc behind a
/// wrapper whose `state` prints garbage (so `state` and `exists` fail in every case and in
/// the cleanup), then no container in runc's root and no state directory.
#[test]
fn conformance_failing_cases_leave_nothing_behind() {
    if !testkit::require_runc_or_skip("conformance_failing_cases_leave_nothing_behind") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let wrapper = dir.path().join("runc-bad-state");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = state ] && { echo 'garbage {'; exit 0; }; done\nexec runc \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let plugin = plugin::load(&plugin::testing::plugin_path("backend-runc")).expect("loading");
    let root = dir.path().join("runc-root");
    let runtime = plugin
        .open(&json!({
            "runc_path": wrapper,
            "root": root,
            "state_dir": dir.path().join("state"),
            "drain_grace_ms": 500,
        }))
        .expect("opening the runc backend");
    let report =
        suites::conformance::run_runtime("runc-bad-state", runtime.as_ref(), Some("lifecycle"), 2);
    eprintln!("{report}");
    let (_, failed, _) = report.counts();
    assert!(failed > 0, "the broken state should fail cases:\n{report}");
    let listed = std::process::Command::new("runc")
        .arg("--root")
        .arg(&root)
        .arg("list")
        .arg("-q")
        .output()
        .expect("runc list");
    let ids = String::from_utf8_lossy(&listed.stdout).trim().to_string();
    let entries: Vec<String> = std::fs::read_dir(dir.path().join("state"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    for id in ids.lines() {
        let _ = std::process::Command::new("runc")
            .arg("--root")
            .arg(&root)
            .args(["delete", "--force", id])
            .status();
    }
    assert!(
        ids.is_empty(),
        "containers left behind by failing cases: {ids}"
    );
    assert!(
        entries.is_empty(),
        "state directories left behind: {entries:?}"
    );
    log_line(&format!(
        "conformance with a broken `state`: {failed} cases failed, none left anything behind"
    ));
}
