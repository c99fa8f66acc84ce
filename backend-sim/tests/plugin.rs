//! The simulator loaded through the plugin loader behaves as the statically linked one.

mod common;
use common::*;
use runtime_api::{ErrorKind, ExitStatus};
use serde_json::json;

fn load() -> plugin::Plugin {
    plugin::load(&plugin::testing::plugin_path("backend-sim")).unwrap()
}

#[test]
fn loads_and_runs_the_shared_scripts() {
    let p = load();
    assert_eq!(p.name(), "sim");
    let rt = p.open(&json!({"seed": 5})).unwrap();
    for (i, s) in testkit::shared_scripts().iter().enumerate().take(8) {
        let stdin = (!s.stdin.is_empty()).then_some(s.stdin.as_slice());
        let (st, out, err) = run_init(rt.as_ref(), &format!("p{i}"), &s.args_str(), stdin);
        assert_eq!(
            (st.code(), out, err),
            (s.exit_code, s.stdout.clone(), s.stderr.clone()),
            "{}",
            s.name
        );
    }
    assert_eq!(ext(rt.as_ref(), "seed", no_params()), json!({"seed": 5}));
    let trace = ext(rt.as_ref(), "trace", no_params());
    assert!(trace["text"].as_str().unwrap().contains("api create p0"));
    let chrome = ext(rt.as_ref(), "chrome_trace", no_params());
    assert!(chrome["traceEvents"].as_array().unwrap().len() > 10);
}

#[test]
fn refuses_unknown_configuration_through_the_boundary() {
    let e = load().open(&json!({"sede": 1})).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn same_seed_same_trace_through_the_plugin() {
    let p = load();
    let run = || {
        let rt = p.open(&json!({"seed": 9})).unwrap();
        let (st, _, _) = run_init(
            rt.as_ref(),
            "c",
            &["sh", "-c", "echo a & echo b; wait"],
            None,
        );
        assert_eq!(st, ExitStatus::Exited(0));
        let c = rt.create_container(
            "sb",
            "x",
            bundle(&["sleep", "3600"]).path(),
            Default::default(),
        );
        // The bundle dropped, but the simulator read everything it needs at create.
        let c = c.unwrap();
        c.start().unwrap();
        let now = ext(rt.as_ref(), "advance", json!({"secs": 3600.0}))["now_ns"]
            .as_u64()
            .unwrap();
        assert!(now >= 3_600_000_000_000, "{now}");
        bounded("wait", || c.wait()).unwrap();
        ext(rt.as_ref(), "trace", no_params())["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(run(), run());
}
