//! The probe: a plugin that passes every structural check but crashes or hangs when run is
//! loaded in a child first, and the host survives it, with an error naming what happened.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use plugin::host::probe::{Stage, Verdict};
use plugin::{LoadError, LoadOptions, Probe};

fn helper() -> Probe {
    Probe::new(env!("CARGO_BIN_EXE_rtlayer-plugin-probe"))
}

fn copy_as(crate_name: &str, dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join(format!("lib{crate_name}.so"));
    std::fs::copy(plugin::testing::plugin_path("test-plugin-crash"), &path).unwrap();
    path
}

/// The host goes on: the good plugin loads through the probe and answers.
fn assert_host_goes_on() {
    let path = plugin::testing::plugin_path("test-plugin-full");
    let plugin = plugin::load_with(&path, &LoadOptions::new().probe(helper()))
        .unwrap_or_else(|e| panic!("after a probe failure: {e}"));
    let runtime = plugin.open(&serde_json::json!({})).unwrap();
    assert_eq!(runtime.extension("echo", &serde_json::json!(5)).unwrap(), 5);
}

/// Asserts that no child of this process stays a zombie (a probe child not reaped). Other
/// tests of this binary probe concurrently, so a zombie may be seen for an instant: poll
/// until none is left, with a deadline.
fn assert_no_zombie_stays() {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let zombies = zombie_children();
        if zombies.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "zombies: {zombies:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn zombie_children() -> Vec<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            let after = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
            let fields: Vec<&str> = after.split(' ').collect();
            fields.first() == Some(&"Z") && fields.get(1) == Some(&me.as_str())
        })
        .collect()
}

#[test]
fn a_crash_in_the_entry_function_kills_the_child_not_the_host() {
    let path = plugin::testing::plugin_path("test-plugin-crash");
    let error = plugin::load_with(&path, &LoadOptions::new().probe(helper())).unwrap_err();
    match &error {
        LoadError::ProbeFailed { failure, .. } => {
            assert!(failure.what.contains("SIGABRT"), "{failure:?}");
            assert_eq!(failure.stage, Stage::Loading);
        }
        other => panic!("expected ProbeFailed, got {other:?}"),
    }
    assert_eq!(error.path(), path);
    assert!(error.to_string().contains(&path.display().to_string()));
    assert!(error.to_string().contains("SIGABRT"), "{error}");
    assert_no_zombie_stays();
    assert_host_goes_on();
}

#[test]
fn a_hanging_plugin_is_killed_after_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_as("crash_hang", &dir);
    let probe = helper().timeout(Duration::from_millis(500));
    let error = plugin::load_with(&path, &LoadOptions::new().probe(probe)).unwrap_err();
    match &error {
        LoadError::ProbeFailed { failure, .. } => {
            assert!(failure.what.starts_with("timed out"), "{failure:?}");
            assert_eq!(failure.stage, Stage::Loading);
        }
        other => panic!("expected ProbeFailed, got {other:?}"),
    }
    assert_no_zombie_stays();
    assert_host_goes_on();
}

#[test]
fn the_probe_reports_the_declaration_it_saw() {
    let path = plugin::testing::plugin_path("test-plugin-full");
    match helper().open_with(serde_json::json!({})).run(&path) {
        Ok(Verdict::Loaded {
            declaration,
            open_error,
        }) => {
            assert_eq!(declaration.name, "full");
            assert_eq!(declaration.abi_version, plugin::abi::ABI_VERSION);
            assert_eq!(declaration.api_version, runtime_api::API_VERSION);
            assert_eq!(open_error, None);
        }
        other => panic!("expected a loaded verdict, got {other:?}"),
    }
}

#[test]
fn a_clean_refusal_in_the_child_gives_the_typed_error() {
    let path = plugin::testing::plugin_path("test-plugin-bad-abi");
    let error = plugin::load_with(&path, &LoadOptions::new().probe(helper())).unwrap_err();
    assert!(matches!(error, LoadError::AbiMismatch { .. }), "{error:?}");
}

#[test]
fn a_missing_helper_is_a_probe_failure() {
    let path = plugin::testing::plugin_path("test-plugin-full");
    let probe = Probe::new(Path::new("/nonexistent/rtlayer-plugin-probe"));
    let error = plugin::load_with(&path, &LoadOptions::new().probe(probe)).unwrap_err();
    match &error {
        LoadError::ProbeFailed { failure, .. } => {
            assert!(failure.what.starts_with("cannot start"), "{failure:?}")
        }
        other => panic!("expected ProbeFailed, got {other:?}"),
    }
}
