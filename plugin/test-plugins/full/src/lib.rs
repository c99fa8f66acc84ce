//! Test plugin: every method deterministic, for round-trip tests of the boundary.
//!
//! Nothing here touches the system except the fds it is given. Every answer follows from the
//! calls made, so a test can predict it exactly, through the loader or linked statically.
//!
//! # Configuration (JSON object given to `open`)
//! - `pid_base` (integer, default 1000): the first container's pid; containers get
//!   `pid_base + 10 * n` (n = 0, 1, ...), and the processes exec'd in a container get the
//!   container's pid plus 1, 2, ...
//! - any other key is refused with `InvalidArgument`.
//!
//! # Containers
//! - `create_container` validates the id (`InvalidId`), refuses a duplicate (`AlreadyExists`)
//!   and keeps the stdio fds; status `created`.
//! - `start`: `created` to `running`, else `NotStopped`.
//! - `kill(signal)`: `InvalidArgument` for a signal outside 1..=64; `NotRunning` if stopped;
//!   otherwise the init "dies" of the signal: status `stopped`, exit `Signaled(signal)`.
//! - `pause`/`resume`: `running` <-> `paused`, else `NotRunning`. `pause` of a container whose
//!   id starts with `panic` panics (to test the boundary's panic catching).
//! - `wait`: the init "runs" its program: it copies everything from its stdin connection to
//!   its stdout connection after the line `hello from <id>`, writes `bye from <id>` to its
//!   stderr connection, closes all three connections, and exits 0 (or with the kill signal).
//!   `NotRunning` for a container never started (it would block forever). Idempotent.
//! - `delete`: `StillRunning` unless stopped; a second `delete` is `NotFound`. Afterwards
//!   `exists` is false and the runtime no longer lists it.
//! - `state`: the fields of `runc state`, with fixed `created` and `owner`.
//! - `running_processes`: init (unless stopped) and execs not yet waited for;
//!   `all_processes` adds waited-but-undeleted execs as zombies, and while running a child
//!   `pid + 9` not created by the runtime.
//! - `update` keeps the resources; the extension `resources` returns them.
//! - `resize_console`: the init has no terminal: `InvalidArgument`.
//!
//! # Taking back and forced delete
//! - `open_container(id)`: `InvalidId` for an invalid id, `NotFound` for an unknown one;
//!   otherwise a second handle on the same container. The taken-back init's stdio is not
//!   reattached: its `wait` runs no I/O, stops a running init and answers
//!   `ExitStatus::Unknown` (whatever the first handle saw); its `relay_report` is `None`.
//! - `force_delete(id)`: `InvalidId`, `NotFound` as above; otherwise the init dies of
//!   `SIGKILL` if it still ran (status `stopped`), its connections are closed, and the
//!   container is deleted (every handle then sees `exists` false and `delete` `NotFound`).
//!
//! # Exec'd processes (`args` of the OCI process spec)
//! - `echo A B`: writes `A B\n` to stdout, exits 0. `cat`: copies stdin to stdout, exits 0.
//!   `exit N`: exits N. `fail MSG`: writes MSG to stderr, exits 1. `signal N`: killed by N.
//!   `panic`: `exec` itself panics. Anything else (or no args): `InvalidSpec`.
//! - `exec` needs a running container (`NotRunning`).
//! - `resize_console`: with `terminal: true`, accepted until `wait`, then `RelayClosed`;
//!   without a terminal, `InvalidArgument`.
//! - `delete` before `wait`: `StillRunning`; twice: `NotFound`.
//! - `relay_report`: `None` before `wait` or without connections; else `Complete` with the
//!   byte counts.
//!
//! # Extensions
//! - `echo`: returns its parameters.
//! - `error` `{"kind": "<ErrorKind as snake_case>", "message": "..."}`: fails with that error.
//! - `panic` `{"message": "..."}`: panics with that message.
//! - `log` `{"message": "...", "answer": <int>}`: emits a WARN event `message` with fields
//!   `answer`, `container.id = "c-log"`, `pid = 4242`, inside spans `outer{request="r-1"}`
//!   and `inner`; returns `null`.
//! - `resources` `{"id": "..."}`: the resources last given to that container's `update`.
//! - anything else: `Unsupported`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use oci_spec::runtime::{LinuxResources, Process as ProcessSpec};
use runtime_api::{
    validate_container_id, ConsoleSize, Container, ContainerState, Error, ErrorKind, ExitStatus,
    Process, ProcessInfo, RelayEnd, RelayReport, Result, Runtime, Signal, Status, StdioSet,
    StreamReport,
};

plugin::export_backend!(name = "full", open = crate::open);

/// The configuration `open` accepts.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The first container's pid.
    #[serde(default = "default_pid_base")]
    pub pid_base: i32,
    /// A fault for the host adapters: `id` and `pid` of every container and process panic
    /// (the plugin boundary turns that into an error), as a backend whose query fails right
    /// after a create or exec.
    #[serde(default)]
    pub panic_in_id_and_pid: bool,
}

fn default_pid_base() -> i32 {
    1000
}

/// Opens the deterministic runtime; unknown keys are `InvalidArgument`.
pub fn open(config: &serde_json::Value) -> Result<FullRuntime> {
    let config: Config = serde_json::from_value(config.clone()).map_err(|e| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("full test plugin configuration: {e}"),
        )
    })?;
    Ok(FullRuntime {
        panic_in_id_and_pid: config.panic_in_id_and_pid,
        next_pid: AtomicI32::new(config.pid_base),
        containers: Arc::new(Mutex::new(BTreeMap::new())),
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The deterministic runtime.
pub struct FullRuntime {
    panic_in_id_and_pid: bool,
    next_pid: AtomicI32,
    containers: Registry,
}

/// The containers a runtime knows, by id; shared with the containers so that `delete` can
/// remove itself.
type Registry = Arc<Mutex<BTreeMap<String, Arc<Shared>>>>;

/// What the runtime and a container's object share.
struct Shared {
    id: String,
    pid: i32,
    /// `Config::panic_in_id_and_pid`.
    panicky: bool,
    bundle: PathBuf,
    inner: Mutex<ContainerInner>,
}

struct ContainerInner {
    status: Status,
    exit: Option<ExitStatus>,
    deleted: bool,
    stdio: StdioSet,
    report: Option<RelayReport>,
    resources: Option<LinuxResources>,
    execs: BTreeMap<i32, Arc<Mutex<ExecInner>>>,
    next_exec: i32,
}

impl Runtime for FullRuntime {
    fn create_container(
        &self,
        sandbox_id: &str,
        id: &str,
        bundle_path: &Path,
        stdio: StdioSet,
    ) -> Result<Box<dyn Container>> {
        validate_container_id(id)?;
        let mut containers = lock(&self.containers);
        if containers.contains_key(id) {
            return Err(Error::for_container(
                ErrorKind::AlreadyExists,
                id,
                "a container with this id exists",
            ));
        }
        let pid = self.next_pid.fetch_add(10, Ordering::Relaxed);
        let shared = Arc::new(Shared {
            id: id.to_string(),
            pid,
            panicky: self.panic_in_id_and_pid,
            bundle: bundle_path.to_path_buf(),
            inner: Mutex::new(ContainerInner {
                status: Status::Created,
                exit: None,
                deleted: false,
                stdio,
                report: None,
                resources: None,
                execs: BTreeMap::new(),
                next_exec: 1,
            }),
        });
        containers.insert(id.to_string(), shared.clone());
        tracing::info!(container.id = id, pid, sandbox.id = sandbox_id, "created");
        Ok(Box::new(FullContainer {
            shared,
            registry: self.containers.clone(),
            taken_back: false,
        }))
    }

    fn list_container_states(&self) -> Result<Vec<ContainerState>> {
        let containers = lock(&self.containers);
        Ok(containers.values().map(|c| c.state()).collect())
    }

    fn open_container(&self, id: &str) -> Result<Box<dyn Container>> {
        validate_container_id(id)?;
        let shared = lock(&self.containers)
            .get(id)
            .cloned()
            .ok_or_else(|| Error::for_container(ErrorKind::NotFound, id, "no such container"))?;
        tracing::info!(container.id = id, pid = shared.pid, "taken back");
        Ok(Box::new(FullContainer {
            shared,
            registry: self.containers.clone(),
            taken_back: true,
        }))
    }

    fn force_delete(&self, id: &str) -> Result<()> {
        validate_container_id(id)?;
        let mut containers = lock(&self.containers);
        let shared = containers
            .remove(id)
            .ok_or_else(|| Error::for_container(ErrorKind::NotFound, id, "no such container"))?;
        let mut inner = lock(&shared.inner);
        if inner.status != Status::Stopped {
            inner.status = Status::Stopped;
            inner.exit = Some(ExitStatus::Signaled(Signal::KILL));
        }
        inner.deleted = true;
        inner.stdio = StdioSet::none();
        tracing::info!(container.id = id, "force-deleted");
        Ok(())
    }

    fn extension(&self, method: &str, params: &serde_json::Value) -> Result<serde_json::Value> {
        match method {
            "echo" => Ok(params.clone()),
            "error" => {
                let kind: ErrorKind = serde_json::from_value(params["kind"].clone())
                    .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
                let message = params["message"].as_str().unwrap_or_default();
                Err(match params["container_id"].as_str() {
                    Some(id) => Error::for_container(kind, id, message),
                    None => Error::new(kind, message),
                })
            }
            "panic" => panic!(
                "deliberate panic: {}",
                params["message"].as_str().unwrap_or_default()
            ),
            "log" => {
                let message = params["message"].as_str().unwrap_or_default();
                let answer = params["answer"].as_i64().unwrap_or_default();
                let outer = tracing::info_span!("outer", request = "r-1");
                let _outer = outer.enter();
                let inner = tracing::debug_span!("inner");
                let _inner = inner.enter();
                tracing::warn!(answer, container.id = "c-log", pid = 4242, "{message}");
                Ok(serde_json::Value::Null)
            }
            "resources" => {
                let id = params["id"].as_str().unwrap_or_default();
                let containers = lock(&self.containers);
                let shared = containers.get(id).ok_or_else(|| {
                    Error::for_container(ErrorKind::NotFound, id, "no such container")
                })?;
                let resources = lock(&shared.inner).resources.clone();
                serde_json::to_value(resources)
                    .map_err(|e| Error::new(ErrorKind::Backend, e.to_string()))
            }
            _ => Err(Error::new(
                ErrorKind::Unsupported,
                format!("extension method {method:?} is not supported by the full test plugin"),
            )),
        }
    }
}

impl Shared {
    fn state(&self) -> ContainerState {
        let inner = lock(&self.inner);
        ContainerState {
            oci_version: "1.0.2".to_string(),
            id: self.id.clone(),
            pid: if inner.status == Status::Stopped {
                0
            } else {
                self.pid
            },
            bundle: self.bundle.display().to_string(),
            rootfs: Some(self.bundle.join("rootfs").display().to_string()),
            status: inner.status,
            created: Some("2024-01-01T00:00:00Z".to_string()),
            owner: Some("root".to_string()),
        }
    }

    fn error(&self, kind: ErrorKind, message: &str) -> Error {
        Error::for_container(kind, &self.id, message)
    }
}

/// A container of the deterministic runtime.
pub struct FullContainer {
    shared: Arc<Shared>,
    registry: Registry,
    /// Made by `open_container`: the init's stdio is not ours, nor its exit status.
    taken_back: bool,
}

impl FullContainer {
    fn inner(&self) -> MutexGuard<'_, ContainerInner> {
        lock(&self.shared.inner)
    }
}

/// Writes `bytes` to a connection, if there is one; counts what was written.
fn write_to(fd: &Option<OwnedFd>, bytes: &[u8], report: &mut StreamReport) {
    if let Some(fd) = fd {
        let mut file = File::from(fd.try_clone().expect("duplicate a connection fd"));
        match file.write_all(bytes) {
            Ok(()) => report.relayed += bytes.len() as u64,
            Err(_) => report.dropped += bytes.len() as u64,
        }
    }
}

/// Reads a connection to end-of-file, if there is one.
fn read_all(fd: &Option<OwnedFd>, report: &mut StreamReport) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(fd) = fd {
        let mut file = File::from(fd.try_clone().expect("duplicate a connection fd"));
        if file.read_to_end(&mut bytes).is_ok() {
            report.relayed += bytes.len() as u64;
        }
    }
    bytes
}

/// Runs a program's I/O against its connections, then closes them; the report, or `None`
/// when there were no connections.
fn run_io(
    stdio: &mut StdioSet,
    stdout: &[u8],
    copy_stdin: bool,
    stderr: &[u8],
) -> Option<RelayReport> {
    if stdio.is_empty() {
        return None;
    }
    let mut report = RelayReport {
        end: RelayEnd::Complete,
        stdin: StreamReport::default(),
        stdout: StreamReport::default(),
        stderr: StreamReport::default(),
    };
    write_to(&stdio.stdout, stdout, &mut report.stdout);
    if copy_stdin {
        let input = read_all(&stdio.stdin, &mut report.stdin);
        write_to(&stdio.stdout, &input, &mut report.stdout);
    }
    write_to(&stdio.stderr, stderr, &mut report.stderr);
    // Closing the connections: the relay has ended.
    *stdio = StdioSet::none();
    Some(report)
}

impl Process for FullContainer {
    fn pid(&self) -> i32 {
        assert!(!self.shared.panicky, "injected fault: pid");
        self.shared.pid
    }

    fn wait(&self) -> Result<ExitStatus> {
        let mut inner = self.inner();
        if self.taken_back {
            return match inner.status {
                Status::Stopped => Ok(ExitStatus::Unknown),
                Status::Running | Status::Paused => {
                    inner.status = Status::Stopped;
                    inner.exit = Some(ExitStatus::Unknown);
                    inner.stdio = StdioSet::none();
                    Ok(ExitStatus::Unknown)
                }
                _ => Err(self.shared.error(
                    ErrorKind::NotRunning,
                    "the container was never started; waiting would block forever",
                )),
            };
        }
        if let Some(exit) = inner.exit {
            return Ok(exit);
        }
        match inner.status {
            Status::Running | Status::Paused => {}
            _ => {
                return Err(self.shared.error(
                    ErrorKind::NotRunning,
                    "the container was never started; waiting would block forever",
                ))
            }
        }
        let id = self.shared.id.clone();
        let hello = format!("hello from {id}\n");
        let bye = format!("bye from {id}\n");
        inner.report = run_io(&mut inner.stdio, hello.as_bytes(), true, bye.as_bytes());
        inner.status = Status::Stopped;
        inner.exit = Some(ExitStatus::Exited(0));
        tracing::info!(container.id = %id, pid = self.shared.pid, "init exited");
        Ok(ExitStatus::Exited(0))
    }

    fn delete(&self) -> Result<()> {
        let mut inner = self.inner();
        if inner.deleted {
            return Err(self.shared.error(ErrorKind::NotFound, "already deleted"));
        }
        if inner.status != Status::Stopped {
            return Err(self
                .shared
                .error(ErrorKind::StillRunning, "delete needs a stopped container"));
        }
        inner.deleted = true;
        inner.stdio = StdioSet::none();
        lock(&self.registry).remove(&self.shared.id);
        tracing::info!(container.id = %self.shared.id, "deleted");
        Ok(())
    }

    fn resize_console(&self, _size: ConsoleSize) -> Result<()> {
        Err(self.shared.error(
            ErrorKind::InvalidArgument,
            "the init process has no terminal",
        ))
    }

    fn relay_report(&self) -> Option<RelayReport> {
        if self.taken_back {
            return None;
        }
        self.inner().report
    }
}

impl Container for FullContainer {
    fn id(&self) -> &str {
        assert!(!self.shared.panicky, "injected fault: id");
        &self.shared.id
    }

    fn exists(&self) -> Result<bool> {
        Ok(!self.inner().deleted)
    }

    fn start(&self) -> Result<()> {
        let mut inner = self.inner();
        if inner.status != Status::Created {
            return Err(self.shared.error(
                ErrorKind::NotStopped,
                &format!("cannot start a container that is {}", inner.status),
            ));
        }
        inner.status = Status::Running;
        tracing::info!(container.id = %self.shared.id, pid = self.shared.pid, "started");
        Ok(())
    }

    fn exec(&self, process: &ProcessSpec, stdio: StdioSet) -> Result<Box<dyn Process>> {
        let mut inner = self.inner();
        if inner.status != Status::Running {
            return Err(self.shared.error(
                ErrorKind::NotRunning,
                &format!("cannot exec in a container that is {}", inner.status),
            ));
        }
        let args = process.args().clone().unwrap_or_default();
        let program =
            Program::parse(&args).map_err(|m| self.shared.error(ErrorKind::InvalidSpec, &m))?;
        if program == Program::Panic {
            panic!("deliberate panic in exec of container {}", self.shared.id);
        }
        let pid = self.shared.pid + inner.next_exec;
        inner.next_exec += 1;
        let exec = Arc::new(Mutex::new(ExecInner {
            program,
            terminal: process.terminal().unwrap_or(false),
            stdio,
            exit: None,
            report: None,
            deleted: false,
        }));
        inner.execs.insert(pid, exec.clone());
        Ok(Box::new(FullProcess {
            pid,
            container: self.shared.clone(),
            inner: exec,
        }))
    }

    fn kill(&self, signal: Signal) -> Result<()> {
        if !signal.is_valid() {
            return Err(self.shared.error(
                ErrorKind::InvalidArgument,
                &format!("{signal} is not a signal"),
            ));
        }
        let mut inner = self.inner();
        if inner.status == Status::Stopped {
            return Err(self.shared.error(ErrorKind::NotRunning, "init has exited"));
        }
        inner.status = Status::Stopped;
        inner.exit = Some(ExitStatus::Signaled(signal));
        inner.report = run_io(&mut inner.stdio, b"", false, b"");
        Ok(())
    }

    fn pause(&self) -> Result<()> {
        if self.shared.id.starts_with("panic") {
            panic!("deliberate panic in pause of container {}", self.shared.id);
        }
        let mut inner = self.inner();
        if inner.status != Status::Running {
            return Err(self.shared.error(
                ErrorKind::NotRunning,
                &format!("cannot pause a container that is {}", inner.status),
            ));
        }
        inner.status = Status::Paused;
        Ok(())
    }

    fn resume(&self) -> Result<()> {
        let mut inner = self.inner();
        if inner.status != Status::Paused {
            return Err(self
                .shared
                .error(ErrorKind::NotRunning, "container not paused"));
        }
        inner.status = Status::Running;
        Ok(())
    }

    fn state(&self) -> Result<ContainerState> {
        Ok(self.shared.state())
    }

    fn running_processes(&self) -> Result<Vec<ProcessInfo>> {
        Ok(self.processes(false))
    }

    fn all_processes(&self) -> Result<Vec<ProcessInfo>> {
        Ok(self.processes(true))
    }

    fn init_process(&self) -> &dyn Process {
        self
    }

    fn update(&self, resources: &LinuxResources) -> Result<()> {
        let mut inner = self.inner();
        if inner.status == Status::Stopped {
            return Err(self
                .shared
                .error(ErrorKind::NotRunning, "container is stopped"));
        }
        inner.resources = Some(resources.clone());
        Ok(())
    }
}

impl FullContainer {
    fn processes(&self, with_zombies: bool) -> Vec<ProcessInfo> {
        let inner = self.inner();
        let mut list = Vec::new();
        if inner.status != Status::Stopped {
            list.push(ProcessInfo {
                pid: self.shared.pid,
                command: vec!["init".to_string()],
                created_by_runtime: true,
                is_zombie: false,
            });
            if with_zombies {
                list.push(ProcessInfo {
                    pid: self.shared.pid + 9,
                    command: vec!["child-of-init".to_string()],
                    created_by_runtime: false,
                    is_zombie: false,
                });
            }
        }
        for (pid, exec) in &inner.execs {
            let exec = lock(exec);
            if exec.deleted {
                continue;
            }
            let is_zombie = exec.exit.is_some();
            if is_zombie && !with_zombies {
                continue;
            }
            list.push(ProcessInfo {
                pid: *pid,
                command: if is_zombie {
                    Vec::new()
                } else {
                    exec.program.argv()
                },
                created_by_runtime: true,
                is_zombie,
            });
        }
        list
    }
}

/// What an exec'd process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Program {
    Echo(Vec<String>),
    Cat,
    Exit(i32),
    Fail(String),
    Signal(i32),
    Panic,
}

impl Program {
    fn parse(args: &[String]) -> std::result::Result<Program, String> {
        let number = |s: Option<&String>| {
            s.and_then(|s| s.parse::<i32>().ok())
                .ok_or_else(|| format!("{args:?}: a number is needed"))
        };
        match args.first().map(String::as_str) {
            Some("echo") => Ok(Program::Echo(args[1..].to_vec())),
            Some("cat") => Ok(Program::Cat),
            Some("exit") => Ok(Program::Exit(number(args.get(1))?)),
            Some("fail") => Ok(Program::Fail(args[1..].join(" "))),
            Some("signal") => Ok(Program::Signal(number(args.get(1))?)),
            Some("panic") => Ok(Program::Panic),
            _ => Err(format!("unsupported command {args:?}")),
        }
    }

    fn argv(&self) -> Vec<String> {
        match self {
            Program::Echo(words) => std::iter::once("echo".to_string())
                .chain(words.iter().cloned())
                .collect(),
            Program::Cat => vec!["cat".to_string()],
            Program::Exit(n) => vec!["exit".to_string(), n.to_string()],
            Program::Fail(m) => vec!["fail".to_string(), m.clone()],
            Program::Signal(n) => vec!["signal".to_string(), n.to_string()],
            Program::Panic => vec!["panic".to_string()],
        }
    }
}

struct ExecInner {
    program: Program,
    terminal: bool,
    stdio: StdioSet,
    exit: Option<ExitStatus>,
    report: Option<RelayReport>,
    deleted: bool,
}

/// A process exec'd in a container of the deterministic runtime.
pub struct FullProcess {
    pid: i32,
    container: Arc<Shared>,
    inner: Arc<Mutex<ExecInner>>,
}

impl FullProcess {
    fn error(&self, kind: ErrorKind, message: &str) -> Error {
        self.container
            .error(kind, &format!("process {}: {message}", self.pid))
    }
}

impl Process for FullProcess {
    fn pid(&self) -> i32 {
        assert!(!self.container.panicky, "injected fault: pid");
        self.pid
    }

    fn wait(&self) -> Result<ExitStatus> {
        let mut inner = lock(&self.inner);
        if let Some(exit) = inner.exit {
            return Ok(exit);
        }
        let (stdout, copy, stderr, exit) = match &inner.program {
            Program::Echo(words) => (
                format!("{}\n", words.join(" ")),
                false,
                String::new(),
                ExitStatus::Exited(0),
            ),
            Program::Cat => (String::new(), true, String::new(), ExitStatus::Exited(0)),
            Program::Exit(n) => (String::new(), false, String::new(), ExitStatus::Exited(*n)),
            Program::Fail(m) => (String::new(), false, m.clone(), ExitStatus::Exited(1)),
            Program::Signal(n) => (
                String::new(),
                false,
                String::new(),
                ExitStatus::Signaled(Signal(*n)),
            ),
            Program::Panic => unreachable!("exec refuses to start a panic program"),
        };
        inner.report = run_io(&mut inner.stdio, stdout.as_bytes(), copy, stderr.as_bytes());
        inner.exit = Some(exit);
        Ok(exit)
    }

    fn delete(&self) -> Result<()> {
        let mut inner = lock(&self.inner);
        if inner.deleted {
            return Err(self.error(ErrorKind::NotFound, "already deleted"));
        }
        if inner.exit.is_none() {
            return Err(self.error(ErrorKind::StillRunning, "not waited for yet"));
        }
        inner.deleted = true;
        Ok(())
    }

    fn resize_console(&self, _size: ConsoleSize) -> Result<()> {
        let inner = lock(&self.inner);
        if !inner.terminal {
            return Err(self.error(ErrorKind::InvalidArgument, "no terminal"));
        }
        if inner.exit.is_some() {
            return Err(self.error(ErrorKind::RelayClosed, "the relay has ended"));
        }
        Ok(())
    }

    fn relay_report(&self) -> Option<RelayReport> {
        lock(&self.inner).report
    }
}
