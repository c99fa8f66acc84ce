//! The event trace: every decision of a simulated run, with its virtual time.
//!
//! The trace is the simulator's observable truth: two runs with the same seed and the same API
//! calls produce byte-identical [`Trace::render`] output (that is what the determinism checks
//! compare), and [`Trace::chrome_json`] turns it into a Chrome/Perfetto trace a person can open
//! in `chrome://tracing` or <https://ui.perfetto.dev> — one track per process, with its
//! lifetime, its sleeps and every event on it.
//!
//! Events never contain anything the seed does not determine (no fd numbers, no real pids, no
//! wall-clock time).

use crate::clock::Instant;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The track of events that concern no simulated process (API calls, the runtime's reaper).
pub const RUNTIME_TRACK: i32 = 0;

/// One decision or happening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// Virtual time of the event.
    pub t_ns: u64,
    /// The simulated pid the event is about (host pid namespace numbering), or
    /// [`RUNTIME_TRACK`].
    pub pid: i32,
    /// What happened: `api`, `spawn`, `exec`, `step`, `write`, `sleep`, `signal`, `exit`,
    /// `reap`, `reparent`, `pidns_death`, `kill_all`, `plain_kill`, `relay_exited`,
    /// `relay_cut`, `relay_end`, `fault`, `schedule`, `stdin`, `advance`, ...
    pub kind: String,
    /// Human-readable detail, deterministic.
    pub detail: String,
    /// For spans (a `sleep`, a process lifetime): how long, in virtual nanoseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dur_ns: Option<u64>,
    /// The container the process belongs to, on `spawn` events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// The ordered list of events of a run.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    events: Vec<TraceEvent>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Trace {
        Trace::default()
    }

    /// Appends an event.
    pub fn record(&mut self, t: Instant, pid: i32, kind: &str, detail: impl Into<String>) {
        let detail = detail.into();
        self.events.push(TraceEvent {
            t_ns: t.0,
            pid,
            kind: kind.to_string(),
            detail,
            dur_ns: None,
            container: None,
        });
    }

    /// Appends a span event (it lasts `dur_ns`).
    pub fn record_span(
        &mut self,
        t: Instant,
        pid: i32,
        kind: &str,
        dur_ns: u64,
        detail: impl Into<String>,
    ) {
        self.record(t, pid, kind, detail);
        if let Some(e) = self.events.last_mut() {
            e.dur_ns = Some(dur_ns);
        }
    }

    /// Appends the `spawn` event of a process of `container`.
    pub fn record_spawn(
        &mut self,
        t: Instant,
        pid: i32,
        container: Option<&str>,
        detail: impl Into<String>,
    ) {
        self.record(t, pid, "spawn", detail);
        if let Some(e) = self.events.last_mut() {
            e.container = container.map(str::to_string);
        }
    }

    /// Every event, in order.
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }

    /// One line per event: `<time> pid=<pid> <kind> <detail>`. Byte-identical for identical
    /// runs.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.events.len() * 48);
        for e in &self.events {
            use std::fmt::Write;
            let _ = write!(out, "{} pid={} {}", Instant(e.t_ns), e.pid, e.kind);
            if let Some(d) = e.dur_ns {
                let _ = write!(out, " dur={d}ns");
            }
            if let Some(c) = &e.container {
                let _ = write!(out, " container={c}");
            }
            if !e.detail.is_empty() {
                out.push(' ');
                out.push_str(&e.detail);
            }
            out.push('\n');
        }
        out
    }

    /// The trace in Chrome trace-event JSON (`{"traceEvents": [...]}`), which
    /// `chrome://tracing` and Perfetto open. Each simulated process is one track (a "thread"
    /// whose tid is its pid) grouped under its container (a "process"); the runtime has its
    /// own track. A process's lifetime and its sleeps are spans; every other event is an
    /// instant on its track. Times are in virtual microseconds.
    pub fn chrome_json(&self) -> Value {
        let mut out: Vec<Value> = Vec::new();
        // Container groups, numbered by first appearance; group 0 is the runtime.
        let mut groups: BTreeMap<String, u64> = BTreeMap::new();
        let mut group_order: Vec<String> = Vec::new();
        let mut group_of_pid: BTreeMap<i32, u64> = BTreeMap::new();
        let mut name_of_pid: BTreeMap<i32, String> = BTreeMap::new();
        let mut start_of_pid: BTreeMap<i32, u64> = BTreeMap::new();
        let mut end_of_pid: BTreeMap<i32, u64> = BTreeMap::new();
        let last_t = self.events.last().map(|e| e.t_ns).unwrap_or(0);
        for e in &self.events {
            if e.kind == "spawn" {
                let label = e.container.clone().unwrap_or_else(|| "(none)".to_string());
                let next = groups.len() as u64 + 1;
                let g = *groups.entry(label.clone()).or_insert_with(|| {
                    group_order.push(label.clone());
                    next
                });
                group_of_pid.insert(e.pid, g);
                name_of_pid.insert(e.pid, format!("pid {} {}", e.pid, e.detail));
                start_of_pid.insert(e.pid, e.t_ns);
            }
            if e.kind == "exit" {
                end_of_pid.insert(e.pid, e.t_ns);
            }
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        out.push(
            json!({"ph": "M", "name": "process_name", "pid": 0, "tid": 0,
            "args": {"name": "runtime"}}),
        );
        out.push(json!({"ph": "M", "name": "thread_name", "pid": 0, "tid": 0,
            "args": {"name": "runtime (API calls, reaper)"}}));
        for (i, label) in group_order.iter().enumerate() {
            out.push(
                json!({"ph": "M", "name": "process_name", "pid": i as u64 + 1, "tid": 0,
                "args": {"name": format!("container {label}")}}),
            );
        }
        for (pid, name) in &name_of_pid {
            let g = group_of_pid[pid];
            out.push(
                json!({"ph": "M", "name": "thread_name", "pid": g, "tid": pid,
                "args": {"name": name}}),
            );
            let start = start_of_pid[pid];
            let end = end_of_pid.get(pid).copied().unwrap_or(last_t);
            out.push(
                json!({"ph": "X", "name": "alive", "cat": "process", "pid": g,
                "tid": pid, "ts": us(start), "dur": us(end.saturating_sub(start))}),
            );
        }
        for e in &self.events {
            let g = group_of_pid.get(&e.pid).copied().unwrap_or(0);
            match e.dur_ns {
                Some(d) => out.push(json!({"ph": "X", "name": e.kind, "cat": "sim", "pid": g,
                    "tid": e.pid, "ts": us(e.t_ns), "dur": us(d),
                    "args": {"detail": e.detail}})),
                None => out.push(json!({"ph": "i", "s": "t", "name": e.kind, "cat": "sim",
                    "pid": g, "tid": e.pid, "ts": us(e.t_ns),
                    "args": {"detail": e.detail}})),
            }
        }
        json!({"traceEvents": out, "displayTimeUnit": "ns",
            "otherData": {"clock": "virtual"}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_chrome_have_one_track_per_process() {
        let mut t = Trace::new();
        t.record(Instant(0), RUNTIME_TRACK, "api", "create c1");
        t.record_spawn(Instant(10), 100, Some("c1"), "sh -c 'sleep 1'");
        t.record_span(Instant(20), 100, "sleep", 1_000_000_000, "1s");
        t.record(Instant(1_000_000_020), 100, "exit", "code 0");
        let text = t.render();
        assert!(
            text.contains("pid=100 spawn container=c1 sh -c 'sleep 1'"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 4);
        let chrome = t.chrome_json();
        let events = chrome["traceEvents"].as_array().unwrap();
        let threads: Vec<_> = events
            .iter()
            .filter(|e| e["name"] == "thread_name")
            .collect();
        assert_eq!(threads.len(), 2, "runtime track + one process track");
        let alive = events.iter().find(|e| e["name"] == "alive").unwrap();
        assert_eq!(alive["tid"], 100);
        assert_eq!(alive["dur"], 1_000_000.01);
    }
}
