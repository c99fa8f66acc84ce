//! The extension methods answer the documented JSON, and the Chrome export has one track per
//! process.

mod common;
use common::*;
use runtime_api::{Runtime, StdioSet};
use serde_json::json;
use std::collections::BTreeSet;
use testkit::PidNamespace;

#[test]
fn chrome_trace_has_one_track_per_process() {
    let rt = sim(3);
    let (st, _, _) = run_init(&rt, "c", &["sh", "-c", "sleep 1 & echo a & wait"], None);
    assert!(st.success());
    let spawned: BTreeSet<i64> = rt
        .trace_events()
        .iter()
        .filter(|e| e.kind == "spawn")
        .map(|e| i64::from(e.pid))
        .collect();
    assert_eq!(spawned.len(), 3);
    let chrome = ext(&rt, "chrome_trace", no_params());
    let events = chrome["traceEvents"].as_array().unwrap();
    let tracks: BTreeSet<i64> = events
        .iter()
        .filter(|e| e["name"] == "thread_name" && e["tid"] != 0)
        .map(|e| e["tid"].as_i64().unwrap())
        .collect();
    assert_eq!(tracks, spawned);
    let sleep_span = events
        .iter()
        .find(|e| e["name"] == "sleep" && e["ph"] == "X")
        .unwrap();
    assert_eq!(sleep_span["dur"], 1_000_000.0, "virtual microseconds");
    assert_eq!(chrome, ext(&rt, "trace_chrome", no_params()));
}

#[test]
fn inspection_methods_answer_json() {
    let rt = sim(4);
    assert_eq!(ext(&rt, "seed", no_params()), json!({"seed": 4}));
    let b = bundle_with(
        &["sh", "-c", "sleep 5 & echo hi; sleep 1"],
        PidNamespace::Host,
        Some("/g"),
    );
    let io = io(None);
    let c = rt.create_container("sb", "c", b.path(), io.set).unwrap();
    c.start().unwrap();
    let now = ext(&rt, "advance", json!({"ms": 1}))["now_ns"]
        .as_u64()
        .unwrap();
    assert!(now >= 1_000_000);
    assert_eq!(ext(&rt, "clock", no_params()), json!({"now_ns": now}));
    let procs = ext(&rt, "container_processes", json!({"id": "c"}));
    let list = procs["processes"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{procs}");
    assert_eq!(list[0]["cgroup"], "/g");
    assert_eq!(list[0]["ns"], 0);
    bounded("wait", || c.wait()).unwrap();
    let kills = ext(&rt, "kill_alls", json!({"id": "c"}));
    assert_eq!(kills["kill_alls"][0]["reason"], "init_exit");
    assert_eq!(
        ext(&rt, "kill_all_count", json!({"id": "c"})),
        json!({"count": 1})
    );
    let facts = ext(&rt, "relay_facts", json!({"pid": c.pid()}));
    assert_eq!(facts["written"], json!([3, 0]));
    assert_eq!(facts["cut"], false);
    assert_eq!(facts["grace_ns"], 2_000_000_000u64);
    assert!(facts["eof_at_ns"][0].as_u64().is_some());
    assert_eq!(
        ext(&rt, "relay_facts", json!({"pid": 1})),
        serde_json::Value::Null
    );
    let trace = ext(&rt, "trace", no_params());
    assert_eq!(
        trace["events"].as_u64().unwrap() as usize,
        trace["text"].as_str().unwrap().lines().count()
    );
    let events = ext(&rt, "trace_events", no_params());
    assert!(events["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "kill_all"));
    let all = ext(&rt, "processes", no_params());
    assert!(all["processes"].as_array().unwrap().is_empty(), "{all}");
    assert_eq!(io.out.bytes(), b"hi\n");
    let e = rt.extension("advance", &json!({})).unwrap_err();
    assert_eq!(e.kind(), runtime_api::ErrorKind::InvalidArgument);
    let _ = StdioSet::none();
}
