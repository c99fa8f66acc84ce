//! Looking inside the simulation: the kernel's ground truth, the trace, the clock and the
//! seed, as a Rust API on [`SimRuntime`] and as `Runtime::extension` methods (JSON).
//!
//! Extension methods (`params` is a JSON object; missing optional keys are fine):
//!
//! | method | params | answer |
//! | --- | --- | --- |
//! | `seed` | – | `{"seed": u64}` |
//! | `clock` | – | `{"now_ns": u64}` (virtual time) |
//! | `advance` | `{"ns"}` or `{"ms"}` or `{"secs"}` | runs the simulation that long; `{"now_ns"}` |
//! | `trace` | – | `{"text": "<one line per event>", "events": n}` |
//! | `trace_events` | – | `{"events": [{"t_ns","pid","kind","detail",...}]}` |
//! | `chrome_trace` (alias `trace_chrome`) | – | Chrome/Perfetto trace JSON |
//! | `processes` | `{"container"?: id}` | `{"processes": [process snapshot]}` |
//! | `container_processes` | `{"id"}` | processes of the container's cgroup, alive or zombie |
//! | `kill_alls` | `{"id"?}` | `{"kill_alls": [{"t_ns","container","cgroup","reason","signal","signalled"}]}` |
//! | `kill_all_count` | `{"id"}` | `{"count": n}` cgroup-wide kills issued for that container |
//! | `relay_facts` | `{"pid"}` | `{"exited_at_ns","eof_at_ns":[out,err],"written":[out,err],"grace_ns","cut"}` or `null` |
//! | `check_rules` | – | `{"violations": ["rule 1: ...", ...]}` (non-empty only under a mutation) |
//! | `crash_host` | – | simulates a crash of the host: every handle vanishes, relays are cut, the world stays; `{"containers": n}` left behind (see `open_container`) |
//!
//! A process snapshot is `{"pid","ppid","ns","ns_pid","ns_init","cgroup","container","argv",
//! "state":"alive"|"stopped"|"zombie","exit":status|null,"created_by_runtime"}`.

use crate::kernel::{KillAllRecord, ProcState};
use crate::runtime::SimRuntime;
use crate::trace::TraceEvent;
use runtime_api::{Error, ErrorKind, ExitStatus, Result};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

/// One process of the simulated kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcSnapshot {
    /// Pid in the runtime's (host) namespace.
    pub pid: i32,
    /// Parent pid (0: the runtime).
    pub ppid: i32,
    /// Pid namespace id (0: the host's).
    pub ns: u64,
    /// Pid inside its namespace.
    pub ns_pid: i32,
    /// Whether it is its namespace's init.
    pub ns_init: bool,
    /// Cgroup path.
    pub cgroup: String,
    /// The container it was started in.
    pub container: String,
    /// Command line.
    pub argv: Vec<String>,
    /// `alive`, `stopped` (SIGSTOP) or `zombie`.
    pub state: String,
    /// Exit status of a zombie.
    pub exit: Option<ExitStatus>,
    /// Started by the runtime (init or exec).
    pub created_by_runtime: bool,
}

impl ProcSnapshot {
    /// Whether it exited and was not reaped.
    pub fn is_zombie(&self) -> bool {
        self.state == "zombie"
    }
}

/// The relay facts of a process the runtime created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayFacts {
    /// Virtual time of its exit.
    pub exited_at_ns: u64,
    /// When the last writer closed stdout and stderr (`None`: still open).
    pub eof_at_ns: [Option<u64>; 2],
    /// Bytes it and its descendants wrote to stdout and stderr.
    pub written: [u64; 2],
    /// The drain grace, virtual ns.
    pub grace_ns: u64,
    /// Whether the relay was cut after the grace.
    pub cut: bool,
}

impl SimRuntime {
    /// The seed of this run.
    pub fn seed(&self) -> u64 {
        self.shared.lock().seed
    }

    /// The current virtual time since the start of the run.
    pub fn now(&self) -> Duration {
        self.shared.lock().clock.now().since_start()
    }

    /// Runs the simulation for `d` of virtual time (processes run, sleeps end, graces expire);
    /// returns the new virtual time.
    pub fn advance(&self, d: Duration) -> Duration {
        self.shared.advance(d).since_start()
    }

    /// The trace, one line per event; byte-identical for identical runs.
    pub fn trace_text(&self) -> String {
        self.shared.lock().trace.render()
    }

    /// Every trace event.
    pub fn trace_events(&self) -> Vec<TraceEvent> {
        self.shared.lock().trace.events().to_vec()
    }

    /// The trace as Chrome/Perfetto JSON.
    pub fn chrome_trace(&self) -> Value {
        self.shared.lock().trace.chrome_json()
    }

    /// Every process of the kernel (alive or zombie), in pid order.
    pub fn processes(&self) -> Vec<ProcSnapshot> {
        let g = self.shared.lock();
        g.kernel
            .procs
            .values()
            .map(|p| ProcSnapshot {
                pid: p.pid,
                ppid: p.ppid,
                ns: p.ns,
                ns_pid: p.local_pid,
                ns_init: g.ns_init(p.ns) == Some(p.pid),
                cgroup: p.cgroup.clone(),
                container: p.container.clone(),
                argv: p.argv.clone(),
                state: match (p.state, p.stopped) {
                    (ProcState::Zombie(_), _) => "zombie",
                    (ProcState::Alive, true) => "stopped",
                    (ProcState::Alive, false) => "alive",
                }
                .to_string(),
                exit: match p.state {
                    ProcState::Zombie(st) => Some(st),
                    ProcState::Alive => None,
                },
                created_by_runtime: p.created_by_runtime,
            })
            .collect()
    }

    /// The process with host pid `pid`, if the kernel still has it.
    pub fn process(&self, pid: i32) -> Option<ProcSnapshot> {
        self.processes().into_iter().find(|p| p.pid == pid)
    }

    /// The processes of container `id`'s cgroup (alive or zombie); empty if it is unknown.
    pub fn container_processes(&self, id: &str) -> Vec<ProcSnapshot> {
        let cgroup = {
            let g = self.shared.lock();
            match g.containers.get(id) {
                Some(c) => c.cgroup.clone(),
                None => return Vec::new(),
            }
        };
        self.processes()
            .into_iter()
            .filter(|p| p.cgroup == cgroup)
            .collect()
    }

    /// Every cgroup-wide kill issued so far, in order.
    pub fn kill_alls(&self) -> Vec<KillAllRecord> {
        self.shared.lock().kernel.kill_alls.clone()
    }

    /// The relay facts of runtime process `pid`, once it exited.
    pub fn relay_facts(&self, pid: i32) -> Option<RelayFacts> {
        let g = self.shared.lock();
        let rec = g.rt_procs.get(&pid)?;
        let exited_at = rec.exited_at?;
        let stats = |id: u64| g.kernel.streams.get(&id).cloned().unwrap_or_default();
        let [out, err] = rec.out_streams.map(stats);
        let tty = rec.out_streams[0] == rec.out_streams[1];
        Some(RelayFacts {
            exited_at_ns: exited_at.0,
            eof_at_ns: [out.eof_at, err.eof_at],
            written: [out.written, if tty { 0 } else { err.written }],
            grace_ns: g.config.drain_grace().as_nanos() as u64,
            cut: rec.cut,
        })
    }

    /// Rule violations the simulator saw (only possible with a mutation switched on).
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }
}

fn param_str<'a>(params: &'a Value, key: &str) -> Result<&'a str> {
    params.get(key).and_then(Value::as_str).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("missing string parameter {key:?}"),
        )
    })
}

/// Answers an extension method (see the module documentation).
pub(crate) fn extension(rt: &SimRuntime, method: &str, params: &Value) -> Result<Value> {
    let to_value = |v: &dyn erased::Ser| v.to_json();
    Ok(match method {
        "seed" => json!({"seed": rt.seed()}),
        "crash_host" => json!({"containers": rt.crash_host()}),
        "clock" => json!({"now_ns": rt.now().as_nanos() as u64}),
        "advance" => {
            let d = if let Some(ns) = params.get("ns").and_then(Value::as_u64) {
                Duration::from_nanos(ns)
            } else if let Some(ms) = params.get("ms").and_then(Value::as_u64) {
                Duration::from_millis(ms)
            } else if let Some(s) = params.get("secs").and_then(Value::as_f64) {
                Duration::try_from_secs_f64(s).map_err(|e| {
                    Error::new(ErrorKind::InvalidArgument, format!("advance: secs: {e}"))
                })?
            } else {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "advance needs \"ns\", \"ms\" or \"secs\"",
                ));
            };
            json!({"now_ns": rt.advance(d).as_nanos() as u64})
        }
        "trace" => {
            let text = rt.trace_text();
            json!({"events": text.lines().count(), "text": text})
        }
        "trace_events" => json!({"events": to_value(&rt.trace_events())}),
        "chrome_trace" | "trace_chrome" => rt.chrome_trace(),
        "processes" => {
            let procs = match params.get("container").and_then(Value::as_str) {
                Some(id) => rt
                    .processes()
                    .into_iter()
                    .filter(|p| p.container == id)
                    .collect(),
                None => rt.processes(),
            };
            json!({"processes": to_value(&procs)})
        }
        "container_processes" => {
            json!({"processes": to_value(&rt.container_processes(param_str(params, "id")?))})
        }
        "kill_alls" => {
            let all = rt.kill_alls();
            let list: Vec<KillAllRecord> = match params.get("id").and_then(Value::as_str) {
                Some(id) => all.into_iter().filter(|k| k.container == id).collect(),
                None => all,
            };
            json!({"kill_alls": to_value(&list)})
        }
        "kill_all_count" => {
            let id = param_str(params, "id")?;
            json!({"count": rt.kill_alls().iter().filter(|k| k.container == id).count()})
        }
        "relay_facts" => {
            let pid = params
                .get("pid")
                .and_then(Value::as_i64)
                .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "missing \"pid\""))?;
            match rt.relay_facts(pid as i32) {
                Some(f) => to_value(&f),
                None => Value::Null,
            }
        }
        "check_rules" => json!({"violations": rt.violations()}),
        other => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "extension method {other:?} is not supported by the simulator (see backend_sim::inspect)"
                ),
            ))
        }
    })
}

mod erased {
    /// Serialises anything serialisable to JSON (the values here cannot fail).
    pub trait Ser {
        fn to_json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}
