//! The simulator's [`Inspector`], over its `Runtime::extension` methods, so that it works the
//! same on a plugin-loaded simulator (`Box<dyn Runtime>` from the loader) as on a linked one.
//!
//! Methods used (documented in `backend_sim::inspect`): `seed`, `clock`, `processes`,
//! `container_processes`, `kill_all_count`, `relay_facts`. An answer the simulator does not give
//! (a backend that is not the simulator, or a changed format) panics with the method and the
//! answer: an inspector that silently answered "nothing" would make the rule oracles vacuous.

use std::time::Duration;

use runtime_api::Runtime;
use serde_json::{json, Value};

use crate::inspect::{Inspector, KernelProcess, RelayFacts};

/// The simulator's ground truth, read through a runtime's extension methods.
pub struct SimInspector<'a> {
    runtime: &'a dyn Runtime,
}

impl<'a> SimInspector<'a> {
    /// An inspector over `runtime`, which must be the simulator; checks it answers `seed`.
    pub fn new(runtime: &'a dyn Runtime) -> Result<SimInspector<'a>, String> {
        runtime
            .extension("seed", &json!({}))
            .map_err(|e| format!("not the simulator (no \"seed\" extension): {e}"))?;
        Ok(SimInspector { runtime })
    }

    fn call(&self, method: &str, params: Value) -> Value {
        match self.runtime.extension(method, &params) {
            Ok(v) => v,
            Err(e) => panic!("simulator extension {method}({params}) failed: {e}"),
        }
    }

    fn processes(answer: &Value, method: &str) -> Vec<KernelProcess> {
        let Some(list) = answer.get("processes").and_then(Value::as_array) else {
            panic!("simulator extension {method}: no \"processes\" list in {answer}");
        };
        list.iter()
            .map(|p| {
                let int = |k: &str| {
                    p.get(k)
                        .and_then(Value::as_i64)
                        .unwrap_or_else(|| panic!("{method}: process without {k:?}: {p}"))
                        as i32
                };
                KernelProcess {
                    pid: int("pid"),
                    ppid: int("ppid"),
                    container: p
                        .get("container")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    argv: p
                        .get("argv")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    zombie: match p.get("state").and_then(Value::as_str) {
                        Some("zombie") => true,
                        Some("alive" | "stopped") => false,
                        other => panic!("{method}: process state {other:?}: {p}"),
                    },
                }
            })
            .collect()
    }

    /// Rule violations the simulator's own self-check saw (only under a mutation). The suites
    /// never rely on it; failure messages print it next to their own findings.
    pub fn self_check(&self) -> Vec<String> {
        self.call("check_rules", json!({}))
            .get("violations")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn ns(v: &Value, key: &str) -> Option<Duration> {
    v.get(key).and_then(Value::as_u64).map(Duration::from_nanos)
}

impl Inspector for SimInspector<'_> {
    fn now(&self) -> Duration {
        let v = self.call("clock", json!({}));
        ns(&v, "now_ns").unwrap_or_else(|| panic!("clock: no now_ns in {v}"))
    }

    fn container_processes(&self, id: &str) -> Vec<KernelProcess> {
        let v = self.call("container_processes", json!({ "id": id }));
        Self::processes(&v, "container_processes")
    }

    fn all_kernel_processes(&self) -> Vec<KernelProcess> {
        let v = self.call("processes", json!({}));
        Self::processes(&v, "processes")
    }

    fn kill_all_count(&self, id: &str) -> usize {
        let v = self.call("kill_all_count", json!({ "id": id }));
        v.get("count")
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("kill_all_count: no count in {v}")) as usize
    }

    fn relay_facts(&self, pid: i32) -> Option<RelayFacts> {
        let v = self.call("relay_facts", json!({ "pid": pid }));
        if v.is_null() {
            return None;
        }
        let pair = |key: &str| -> Vec<Value> {
            v.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_else(|| panic!("relay_facts: no {key} pair in {v}"))
        };
        let eof = pair("eof_at_ns");
        let written = pair("written");
        Some(RelayFacts {
            exited_at: ns(&v, "exited_at_ns")
                .unwrap_or_else(|| panic!("relay_facts: no exited_at_ns in {v}")),
            eof_at: [
                eof[0].as_u64().map(Duration::from_nanos),
                eof[1].as_u64().map(Duration::from_nanos),
            ],
            written: [
                written[0].as_u64().unwrap_or_default(),
                written[1].as_u64().unwrap_or_default(),
            ],
            grace: ns(&v, "grace_ns").unwrap_or_else(|| panic!("relay_facts: no grace_ns in {v}")),
            cut: v.get("cut").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    fn seed(&self) -> u64 {
        let v = self.call("seed", json!({}));
        v.get("seed")
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("seed: no seed in {v}"))
    }
}
