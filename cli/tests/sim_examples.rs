//! rtctl on the simulator, loaded as a plugin: the README's first command, the examples, the
//! plugin list. No root, no runc.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::*;

#[test]
fn readme_first_command_runs_the_example_and_prints_its_output() {
    ensure_plugin("backend-sim");
    let out = output(rtctl().args(["--backend", "sim", "run", "examples/bundles/hello"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from the container\n"
    );
    assert_eq!(stderr_text(&out), "and this line went to stderr\n");

    // The simulator is also the default, and RTCTL_BACKEND picks it the same way.
    let default = output(rtctl().args(["run", "examples/bundles/hello"]));
    assert_eq!(default.stdout, out.stdout);
    let by_env = output(
        rtctl()
            .env("RTCTL_BACKEND", "sim")
            .args(["run", "examples/bundles/hello"]),
    );
    assert_eq!(by_env.stdout, out.stdout);
}

#[test]
fn run_relays_stdin_and_exits_with_the_containers_code_on_the_simulator() {
    ensure_plugin("backend-sim");
    let mut child = rtctl()
        .args(["--backend", "sim", "run", "examples/bundles/stdin-exit"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\ntwo\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_text(&out));
    assert_eq!(out.stdout, b"one\ntwo\n");
    assert_eq!(stderr_text(&out), "read all of stdin\n");
}

#[test]
fn backends_lists_plugins_with_abi_and_api_versions() {
    ensure_plugin("backend-sim");
    let out = output(rtctl().arg("backends"));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let sim = text
        .lines()
        .find(|l| l.starts_with("sim "))
        .unwrap_or_else(|| panic!("no sim line in {text:?}"));
    let fields: Vec<&str> = sim.split_whitespace().collect();
    assert_eq!(fields[1], plugin::abi::ABI_VERSION.to_string());
    assert_eq!(fields[2], runtime_api::API_VERSION);
    assert!(fields[3].ends_with("libbackend_sim.so"));
}

#[test]
fn lifecycle_scenario_passes_on_the_simulator() {
    ensure_plugin("backend-sim");
    let out = output(rtctl().args([
        "--backend",
        "sim",
        "scenario",
        "examples/scenarios/lifecycle.scenario",
        "--seed",
        "1",
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("rules: both held"), "{text}");
    assert!(text.contains("PASSED: 16 steps"), "{text}");
    assert!(!text.contains("FAILED"), "{text}");
}

#[test]
fn scenario_writes_a_chrome_trace() {
    ensure_plugin("backend-sim");
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.json");
    let out = output(
        rtctl()
            .args([
                "--backend",
                "sim",
                "scenario",
                "examples/scenarios/rule1.scenario",
                "--seed",
                "5",
                "--trace",
            ])
            .arg(&trace),
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&trace).unwrap()).expect("trace is JSON");
    let events = json
        .get("traceEvents")
        .and_then(|e| e.as_array())
        .or_else(|| json.as_array())
        .expect("a Chrome trace has an event list");
    assert!(!events.is_empty());
}

#[test]
fn seed_and_trace_are_refused_on_a_real_backend() {
    ensure_plugin("backend-runc");
    let out = output(rtctl().args([
        "--backend",
        "runc",
        "scenario",
        "examples/scenarios/lifecycle.scenario",
        "--seed",
        "3",
    ]));
    assert_one_line_error(&out, "apply only to the simulator");
    let out = output(rtctl().args([
        "--backend",
        "runc",
        "sweep",
        "examples/scenarios/race.scenario",
        "--seeds",
        "3",
    ]));
    assert_one_line_error(&out, "simulator only");
}

#[test]
fn verbose_logs_include_the_plugins_events() {
    ensure_plugin("backend-sim");
    let out = output(rtctl().args(["-vv", "--backend", "sim", "run", "examples/bundles/hello"]));
    assert_eq!(out.status.code(), Some(0));
    let err = stderr_text(&out);
    // rtctl's own events and the simulator's, forwarded through the plugin boundary.
    assert!(err.contains("rtctl::commands::run"), "{err}");
    assert!(err.contains("plugin=sim"), "{err}");
    // RUST_LOG chooses instead of -v.
    let out = output(rtctl().env("RUST_LOG", "rtctl=info").args([
        "--backend",
        "sim",
        "run",
        "examples/bundles/hello",
    ]));
    let err = stderr_text(&out);
    assert!(err.contains("rtctl::commands::run"), "{err}");
    assert!(!err.contains("plugin=sim"), "{err}");
}
