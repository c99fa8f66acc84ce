//! The simulator's extension methods, as rtctl uses them: the seed of a run, its event trace
//! (a digest to compare replays, and the Chrome/Perfetto timeline), and its rule check.
//!
//! They go through `Runtime::extension`, JSON in and JSON out, so they work the same on the
//! simulator loaded as a plugin.

use std::path::Path;

use runtime_api::Runtime;
use serde_json::{json, Value};

use crate::error::CliError;

// The methods are documented in backend-sim's `inspect` module.

/// Extension method: the run's seed, `{"seed": u64}`.
const SEED: &str = "seed";
/// Extension method: the rendered event trace, `{"text": "...", "events": n}`.
const TRACE: &str = "trace";
/// Extension method: the trace as Chrome/Perfetto JSON.
const CHROME_TRACE: &str = "chrome_trace";
/// Extension method: the rule violations seen so far, `{"violations": ["rule 1: ..."]}`.
const CHECK_RULES: &str = "check_rules";

/// What rtctl reads from a finished simulated run.
#[derive(Debug, Clone)]
pub struct SimRun {
    /// The seed the run used.
    pub seed: u64,
    /// Each violation of rule 1 or rule 2 the simulator saw, one line each.
    pub violations: Vec<String>,
}

/// A summary of a run's event trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSummary {
    /// Number of events in the trace.
    pub events: usize,
    /// A digest of the rendered trace: two runs with the same digest made the same decisions.
    pub digest: String,
}

fn call(runtime: &dyn Runtime, method: &str) -> Result<Value, CliError> {
    runtime
        .extension(method, &json!({}))
        .map_err(|e| CliError::new(format!("simulator extension {method:?} failed: {e}")))
}

impl SimRun {
    /// Reads the seed and the rule check from a simulated runtime.
    pub fn inspect(runtime: &dyn Runtime) -> Result<SimRun, CliError> {
        let seed = call(runtime, SEED)?;
        let seed = seed
            .as_u64()
            .or_else(|| seed.get("seed").and_then(Value::as_u64))
            .ok_or_else(|| {
                CliError::new(format!("simulator extension \"seed\" answered {seed}"))
            })?;
        let violations = violations_from(&call(runtime, CHECK_RULES)?);
        Ok(SimRun { seed, violations })
    }
}

/// Reads the run's trace and sums it up.
pub fn trace_summary(runtime: &dyn Runtime) -> Result<TraceSummary, CliError> {
    let trace = call(runtime, TRACE)?;
    let text = trace
        .as_str()
        .or_else(|| trace.get("text").and_then(Value::as_str))
        .map_or_else(|| trace.to_string(), str::to_string);
    let events = trace
        .get("events")
        .and_then(Value::as_u64)
        .map_or_else(|| text.lines().count(), |n| n as usize);
    Ok(TraceSummary {
        events,
        digest: digest(text.as_bytes()),
    })
}

/// Writes the Chrome/Perfetto trace JSON of a simulated run to `out`.
pub fn write_chrome_trace(runtime: &dyn Runtime, out: &Path) -> Result<(), CliError> {
    let value = call(runtime, CHROME_TRACE)?;
    let text = serde_json::to_vec(&value)
        .map_err(|e| CliError::new(format!("trace: cannot serialise: {e}")))?;
    std::fs::write(out, text)
        .map_err(|e| CliError::new(format!("trace: cannot write {}: {e}", out.display())))
}

fn violations_from(v: &Value) -> Vec<String> {
    let list = v
        .as_array()
        .or_else(|| v.get("violations").and_then(Value::as_array));
    list.map(|l| {
        l.iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

/// FNV-1a, 64 bits, as 16 hex digits: stable across platforms and Rust versions.
pub fn digest(bytes: &[u8]) -> String {
    rtctl::trace_digest(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_fnv1a() {
        assert_eq!(digest(b""), "cbf29ce484222325");
        assert_eq!(digest(b"a"), "af63dc4c8601ec8c");
        assert_ne!(digest(b"ab"), digest(b"ba"));
    }

    #[test]
    fn violations_are_read_from_a_list_or_an_object() {
        assert_eq!(violations_from(&json!(["x", "y"])), ["x", "y"]);
        assert_eq!(violations_from(&json!({"violations": ["z"]})), ["z"]);
        assert!(violations_from(&json!({"violations": []})).is_empty());
    }
}
