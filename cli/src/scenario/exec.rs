//! Plays a scenario on a runtime: one call per step, expectations checked after each, the
//! first failure ends the run, and every container the scenario created is cleaned up.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use runtime_api::{Container, Error, ExitStatus, Process, ProcessInfo, Runtime, Status};

use super::capture::ProcessIo;
use super::expect::{self, Probe, WaitOutcome};
use super::interrupt::Interrupt;
use super::lex::quote_bytes;
use super::{Action, Expectation, Scenario, Step};

/// How the runner names things on the runtime.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Prepended to each container name to make its id (lets runs share a runc root).
    pub id_prefix: String,
    /// The sandbox id given to `create_container`.
    pub sandbox_id: String,
    /// Where created containers are registered so that Ctrl-C can stop them; the run stops
    /// at the next step once it fired.
    pub interrupt: Option<Arc<Interrupt>>,
}

/// What one step did, for printing.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The step's line number.
    pub line: usize,
    /// The step as written.
    pub text: String,
    /// What happened: the call's result in a few words (or its error).
    pub result: String,
    /// Each expectation that was checked, with its verdict.
    pub checks: Vec<(String, Result<(), String>)>,
}

/// The first expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The step's line number.
    pub line: usize,
    /// Why, in one line.
    pub message: String,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How many steps ran (including the failing one).
    pub steps_run: usize,
    /// The first failure, if any.
    pub failure: Option<Failure>,
    /// Problems met while cleaning up (containers that could not be removed), one line each.
    pub cleanup_problems: Vec<String>,
}

struct ContainerEntry {
    container: Arc<dyn Container>,
    io: ProcessIo,
    deleted: bool,
    waited: bool,
}

struct ExecEntry {
    container: String,
    process: Box<dyn Process>,
    io: ProcessIo,
    deleted: bool,
}

enum Target<'a> {
    Container(&'a ContainerEntry),
    Exec(&'a ExecEntry),
}

/// The live objects of one run.
#[derive(Default)]
struct World {
    containers: BTreeMap<String, ContainerEntry>,
    /// Creation order, for cleanup in reverse.
    order: Vec<String>,
    execs: BTreeMap<String, ExecEntry>,
}

/// The error for a name whose `create`/`exec` step failed, so the object does not exist.
fn not_created(name: &str) -> Error {
    Error::new(
        runtime_api::ErrorKind::NotFound,
        format!("{name:?} was not created (its create or exec step failed)"),
    )
}

impl World {
    fn container(&self, name: &str) -> Result<&ContainerEntry, Error> {
        self.containers.get(name).ok_or_else(|| not_created(name))
    }

    fn target(&self, name: &str) -> Result<Target<'_>, Error> {
        if let Some(e) = self.execs.get(name) {
            return Ok(Target::Exec(e));
        }
        if let Some(c) = self.containers.get(name) {
            return Ok(Target::Container(c));
        }
        Err(not_created(name))
    }
}

struct StepProbe<'a> {
    world: &'a World,
    /// The container the step is about, for `status`.
    container: Option<&'a str>,
}

impl Probe for StepProbe<'_> {
    fn is_alive(&self, name: &str) -> Result<bool, Error> {
        let (container, pid) = match self.world.target(name)? {
            Target::Container(c) => (c, c.container.pid()),
            Target::Exec(e) => (self.world.container(&e.container)?, e.process.pid()),
        };
        let running = container.container.running_processes()?;
        Ok(running.iter().any(|p| p.pid == pid))
    }

    fn status(&self) -> Result<Status, Error> {
        let name = self.container.ok_or_else(|| {
            Error::new(
                runtime_api::ErrorKind::InvalidArgument,
                "this step is not about a container",
            )
        })?;
        Ok(self.world.container(name)?.container.state()?.status)
    }
}

/// Runs `scenario` on `runtime`, calling `report` after each step. Stops at the first failed
/// expectation, then removes every container the scenario left (resume, kill, wait, delete),
/// so a run leaves nothing behind on the backend.
pub fn run(
    runtime: &dyn Runtime,
    scenario: &Scenario,
    options: &RunOptions,
    report: &mut dyn FnMut(&StepReport),
) -> Outcome {
    let mut world = World::default();
    let mut failure = None;
    let mut steps_run = 0;
    for step in &scenario.steps {
        if let Some(signal) = options.interrupt.as_ref().and_then(|i| i.signal()) {
            failure = Some(Failure {
                line: step.line,
                message: format!("interrupted by {signal} before this step"),
            });
            break;
        }
        steps_run += 1;
        let span = tracing::info_span!("step", line = step.line, step = step.action.keyword());
        let _enter = span.enter();
        let (result, wait) = perform(runtime, &mut world, step, options);
        let mut checks = Vec::new();
        let verdict = expect::check_result(&step.expect, &result);
        let step_ok = verdict.is_ok();
        let expected_error = step
            .expect
            .iter()
            .find(|e| matches!(e, Expectation::Error(_)));
        match expected_error {
            Some(e) => checks.push((describe(e), verdict)),
            None if !step_ok => checks.push(("success".to_string(), verdict)),
            None => {}
        }
        if step_ok {
            let probe = StepProbe {
                world: &world,
                container: step_container(&world, &step.action),
            };
            for e in &step.expect {
                if matches!(e, Expectation::Error(_)) {
                    continue;
                }
                checks.push((describe(e), expect::check(e, wait.as_ref(), &probe)));
            }
        }
        let result_text = match &result {
            Ok(text) => text.clone(),
            Err(e) => format!("error {}: {e}", e.kind().as_str()),
        };
        let step_report = StepReport {
            line: step.line,
            text: step.text.clone(),
            result: result_text,
            checks,
        };
        report(&step_report);
        if let Some((what, Err(why))) = step_report.checks.iter().find(|(_, v)| v.is_err()) {
            tracing::debug!(line = step.line, check = %what, "expectation failed");
            failure = Some(Failure {
                line: step.line,
                message: format!(
                    "{}: {why}",
                    step.text.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
            });
            break;
        }
    }
    let cleanup_problems = cleanup(&mut world);
    Outcome {
        steps_run,
        failure,
        cleanup_problems,
    }
}

fn step_container<'a>(world: &World, action: &'a Action) -> Option<&'a str> {
    match action {
        Action::Create { name, .. } => Some(name),
        Action::Start { container }
        | Action::Kill { container, .. }
        | Action::Pause { container }
        | Action::Resume { container }
        | Action::State { container }
        | Action::Ps { container } => Some(container),
        Action::Wait { target } | Action::Delete { target } => {
            (!world.execs.contains_key(target)).then_some(target.as_str())
        }
        Action::Exec { .. } | Action::Advance { .. } => None,
    }
}

fn describe(e: &Expectation) -> String {
    match e {
        Expectation::Exit(c) => format!("exit {c}"),
        Expectation::Signal(s) => format!("signal {s}"),
        Expectation::Stdout(b) => format!("stdout {}", expect::shorten(&quote_bytes(b))),
        Expectation::Stderr(b) => format!("stderr {}", expect::shorten(&quote_bytes(b))),
        Expectation::Relay(r) => format!("relay {r:?}").to_lowercase(),
        Expectation::Alive(n) => format!("alive {n}"),
        Expectation::Dead(n) => format!("dead {n}"),
        Expectation::Status(s) => format!("status {s}"),
        Expectation::Error(k) => format!("error {}", k.as_str()),
    }
}

/// Performs one step's call. Returns a short description of what happened, and for a
/// successful `wait` what it observed.
fn perform(
    runtime: &dyn Runtime,
    world: &mut World,
    step: &Step,
    options: &RunOptions,
) -> (Result<String, Error>, Option<WaitOutcome>) {
    let io_error = |what: &str, e: std::io::Error| {
        Error::new(
            runtime_api::ErrorKind::Backend,
            format!("rtctl could not set up {what}: {e}"),
        )
    };
    let result = match &step.action {
        Action::Create {
            name,
            bundle,
            stdin,
            stdout,
            stderr,
        } => (|| {
            let terminal = bundle_wants_terminal(bundle);
            let (mut io, set) = ProcessIo::with(stdin.as_deref(), terminal, *stdout, *stderr)
                .map_err(|e| io_error("stdio", e))?;
            let id = format!("{}{name}", options.id_prefix);
            match runtime.create_container(&options.sandbox_id, &id, bundle, set) {
                Ok(container) => {
                    let container: Arc<dyn Container> = Arc::from(container);
                    if let Some(interrupt) = &options.interrupt {
                        interrupt.register(container.clone());
                    }
                    let pid = container.pid();
                    world.order.push(name.clone());
                    world.containers.insert(
                        name.clone(),
                        ContainerEntry {
                            container,
                            io,
                            deleted: false,
                            waited: false,
                        },
                    );
                    Ok(format!("created {id:?}, init pid {pid}"))
                }
                Err(e) => {
                    // The runtime closed our connections: the captures end at once.
                    io.stdout.bytes();
                    io.stderr_bytes();
                    Err(e)
                }
            }
        })(),
        Action::Start { container } => world
            .container(container)
            .and_then(|c| c.container.start())
            .map(|()| "started".to_string()),
        Action::Exec {
            container,
            name,
            args,
            tty,
            stdin,
            stdout,
            stderr,
        } => (|| {
            let entry = world.container(container)?;
            let (mut io, set) = ProcessIo::with(stdin.as_deref(), *tty, *stdout, *stderr)
                .map_err(|e| io_error("stdio", e))?;
            let spec =
                testkit::exec_process(&args.iter().map(String::as_str).collect::<Vec<_>>(), *tty);
            match entry.container.exec(&spec, set) {
                Ok(process) => {
                    let pid = process.pid();
                    world.execs.insert(
                        name.clone(),
                        ExecEntry {
                            container: container.clone(),
                            process,
                            io,
                            deleted: false,
                        },
                    );
                    Ok(format!("pid {pid}"))
                }
                Err(e) => {
                    io.stdout.bytes();
                    io.stderr_bytes();
                    Err(e)
                }
            }
        })(),
        Action::Kill { container, signal } => world
            .container(container)
            .and_then(|c| c.container.kill(*signal))
            .map(|()| format!("sent {signal}")),
        Action::Pause { container } => world
            .container(container)
            .and_then(|c| c.container.pause())
            .map(|()| "paused".to_string()),
        Action::Resume { container } => world
            .container(container)
            .and_then(|c| c.container.resume())
            .map(|()| "resumed".to_string()),
        Action::State { container } => world
            .container(container)
            .and_then(|c| c.container.state())
            .map(|s| format!("status {}, pid {}, bundle {}", s.status, s.pid, s.bundle)),
        Action::Ps { container } => world
            .container(container)
            .and_then(|c| c.container.all_processes())
            .map(|ps| describe_processes(&ps)),
        Action::Advance { ms } => runtime
            .extension("advance", &serde_json::json!({ "ms": ms }))
            .map(|_| format!("advanced {ms} ms")),
        Action::Delete { target } => {
            if let Some(e) = world.execs.get_mut(target) {
                let r = e.process.delete();
                if r.is_ok() {
                    e.deleted = true;
                }
                r.map(|()| "deleted".to_string())
            } else {
                match world.containers.get_mut(target) {
                    Some(c) => {
                        let r = c.container.delete();
                        if r.is_ok() {
                            c.deleted = true;
                        }
                        r.map(|()| "deleted".to_string())
                    }
                    None => Err(not_created(target)),
                }
            }
        }
        Action::Wait { target } => {
            let waited = if let Some(e) = world.execs.get_mut(target) {
                e.process
                    .wait()
                    .map(|status| observe(status, e.process.relay_report(), &mut e.io))
            } else {
                match world.containers.get_mut(target) {
                    Some(c) => {
                        let r = c.container.wait();
                        if r.is_ok() {
                            c.waited = true;
                        }
                        r.map(|status| observe(status, c.container.relay_report(), &mut c.io))
                    }
                    None => Err(not_created(target)),
                }
            };
            return match waited {
                Ok(outcome) => (Ok(describe_wait(&outcome)), Some(outcome)),
                Err(e) => (Err(e), None),
            };
        }
    };
    (result, None)
}

fn observe(
    status: ExitStatus,
    relay: Option<runtime_api::RelayReport>,
    io: &mut ProcessIo,
) -> WaitOutcome {
    WaitOutcome {
        status,
        stdout: io.stdout.bytes().to_vec(),
        stderr: io.stderr_bytes(),
        relay,
    }
}

fn describe_wait(o: &WaitOutcome) -> String {
    let mut s = format!(
        "{}, stdout {}, stderr {}",
        o.status,
        expect::shorten(&quote_bytes(&o.stdout)),
        expect::shorten(&quote_bytes(&o.stderr))
    );
    if let Some(r) = &o.relay {
        if r.was_cut() {
            s.push_str(", relay cut");
        }
    }
    s
}

fn describe_processes(ps: &[ProcessInfo]) -> String {
    if ps.is_empty() {
        return "no processes".into();
    }
    let items: Vec<String> = ps
        .iter()
        .map(|p| {
            let mut s = format!("{} {:?}", p.pid, p.command.join(" "));
            if p.created_by_runtime {
                s.push_str(" (runtime)");
            }
            if p.is_zombie {
                s.push_str(" (zombie)");
            }
            s
        })
        .collect();
    items.join("; ")
}

/// Whether the bundle's `config.json` asks for a terminal. A missing or malformed file reads
/// as "no"; the runtime's create then reports the problem.
fn bundle_wants_terminal(bundle: &Path) -> bool {
    oci_spec::runtime::Spec::load(bundle.join("config.json"))
        .ok()
        .and_then(|s| s.process().as_ref().and_then(|p| p.terminal()))
        .unwrap_or(false)
}

/// Removes what the scenario left: resumes, kills and waits every container not yet deleted,
/// deletes its execs and then the container. Returns one line per thing that failed.
fn cleanup(world: &mut World) -> Vec<String> {
    let mut problems = Vec::new();
    for name in world.order.iter().rev() {
        let Some(entry) = world.containers.get_mut(name) else {
            continue;
        };
        let execs: Vec<&mut ExecEntry> = world
            .execs
            .values_mut()
            .filter(|e| &e.container == name && !e.deleted)
            .collect();
        if entry.deleted {
            continue;
        }
        let c = &entry.container;
        if !entry.waited {
            // Each may fail because the container is not in that state; all that matters is
            // that init ends, which makes the wait below return.
            let _ = c.resume();
            let _ = c.kill(runtime_api::Signal::KILL);
        }
        for e in execs {
            if let Err(err) = e.process.wait() {
                tracing::debug!(container = %name, error = %err, "cleanup: exec wait");
            }
            match e.process.delete() {
                Ok(()) => e.deleted = true,
                Err(err) => problems.push(format!("exec of {name:?}: delete: {err}")),
            }
        }
        if let Err(err) = c.wait() {
            tracing::debug!(container = %name, error = %err, "cleanup: wait");
        }
        match c.delete() {
            Ok(()) => entry.deleted = true,
            Err(err) => problems.push(format!("container {name:?}: delete: {err}")),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse::parse;
    use runtime_api::mock::{MockContainer, MockRuntime};
    use runtime_api::{ErrorKind, Signal};
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn scenario(text: &str) -> Scenario {
        parse(Path::new("s.scenario"), text).unwrap()
    }

    /// A container whose init writes `out` to its stdout connection and exits with `code`
    /// once started; counts the cleanup calls.
    fn container(code: i32, kills: Arc<AtomicUsize>, deletes: Arc<AtomicUsize>) -> MockContainer {
        let mut c = MockContainer::new();
        c.expect_pid().return_const(7);
        c.expect_start().returning(|| Ok(()));
        c.expect_wait()
            .returning(move || Ok(ExitStatus::Exited(code)));
        c.expect_relay_report().return_const(None);
        c.expect_state()
            .returning(|| Err(Error::new(ErrorKind::Backend, "state refused")));
        c.expect_resume()
            .returning(|| Err(Error::new(ErrorKind::NotRunning, "container not paused")));
        c.expect_kill().returning(move |sig| {
            assert_eq!(sig, Signal::KILL);
            kills.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        c.expect_delete().returning(move || {
            deletes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        c
    }

    fn runtime(code: i32, kills: Arc<AtomicUsize>, deletes: Arc<AtomicUsize>) -> MockRuntime {
        let mut rt = MockRuntime::new();
        rt.expect_create_container()
            .returning(move |_, id, _, stdio| {
                assert_eq!(id, "p-c");
                let mut out = std::fs::File::from(stdio.stdout.expect("stdout captured"));
                out.write_all(b"hi\n").unwrap();
                // Dropping `stdio` closes the connections, as the runtime does at the end of
                // the relay.
                Ok(Box::new(container(code, kills.clone(), deletes.clone())))
            });
        rt
    }

    fn options() -> RunOptions {
        RunOptions {
            id_prefix: "p-".into(),
            sandbox_id: "s".into(),
            interrupt: None,
        }
    }

    #[test]
    fn passing_run_reports_each_step_and_deletes_once() {
        let (kills, deletes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let rt = runtime(0, kills.clone(), deletes.clone());
        let s = scenario("create c b\nstart c\nwait c expect exit 0 stdout \"hi\\n\"\ndelete c\n");
        let mut reports = Vec::new();
        let outcome = run(&rt, &s, &options(), &mut |r| reports.push(r.clone()));
        assert_eq!(outcome.failure, None);
        assert_eq!(outcome.steps_run, 4);
        assert_eq!(reports.len(), 4);
        assert_eq!(reports[2].checks.len(), 2);
        assert!(reports[2].checks.iter().all(|(_, v)| v.is_ok()));
        assert_eq!(kills.load(Ordering::SeqCst), 0, "nothing to clean up");
        assert_eq!(deletes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn failed_expectation_stops_the_run_and_cleans_up() {
        let (kills, deletes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let rt = runtime(0, kills.clone(), deletes.clone());
        let s = scenario("create c b\nstart c expect status paused\nwait c\n");
        // `status` asks the container for its state: refuse, so the expectation fails.
        let outcome = run(&rt, &s, &options(), &mut |_| {});
        let failure = outcome.failure.expect("the status expectation fails");
        assert_eq!(failure.line, 2);
        assert_eq!(outcome.steps_run, 2);
        assert_eq!(kills.load(Ordering::SeqCst), 1, "cleanup kills init");
        assert_eq!(
            deletes.load(Ordering::SeqCst),
            1,
            "cleanup deletes the container"
        );
        assert!(outcome.cleanup_problems.is_empty());
    }

    #[test]
    fn unexpected_error_fails_and_expected_error_passes() {
        let (kills, deletes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut rt = MockRuntime::new();
        rt.expect_create_container()
            .returning(|_, _, _, _| Err(Error::new(ErrorKind::InvalidSpec, "no config.json")));
        let s = scenario("create c b expect error invalid_spec\n");
        let outcome = run(&rt, &s, &options(), &mut |_| {});
        assert_eq!(outcome.failure, None);
        let s = scenario("create c b\n");
        let outcome = run(&rt, &s, &options(), &mut |_| {});
        let failure = outcome.failure.unwrap();
        assert!(
            failure.message.contains("the step failed: invalid spec"),
            "{failure:?}"
        );
        assert_eq!(
            kills.load(Ordering::SeqCst) + deletes.load(Ordering::SeqCst),
            0
        );
    }
}
