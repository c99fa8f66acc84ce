//! The task service: containerd's runtime v2 task API translated to the `runtime-api` traits.
//!
//! One shim serves the containers of one group (one container, or a CRI sandbox). Each
//! container is a [`TaskEntry`]; its execs are [`ExecEntry`]s, registered by `Exec` and run
//! by `Start`. A waiter thread per started process blocks in the runtime's `wait` (which
//! returns once the process exited, rule 1 was applied and its relay drained), records the
//! exit and publishes `TaskExit`; init's waiter first waits until the exits of the execs
//! have been published, so containerd sees them in its order.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use containerd_shim::api;
use containerd_shim::protos::events::task::{
    TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskExit, TaskIO, TaskPaused,
    TaskResumed, TaskStart,
};
use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::MessageField;
use containerd_shim::protos::topics;
use containerd_shim::protos::ttrpc::Code;
use containerd_shim::protos::types::task::ProcessInfo;
use containerd_shim::{ExitSignal, TtrpcContext, TtrpcResult};
use runtime_api::{ConsoleSize, Container, ErrorKind, Process, Signal, Status};

use crate::backend::{self, Backend};
use crate::error::{self, status, ShimError};
use crate::events::Events;
use crate::exit::{Exit, ExitCell, PendingExits};
use crate::idle::{Idle, IDLE_AFTER};
use crate::io::{self, IoPaths};
use crate::options::ShimOptions;
use crate::pidfd::PidFd;
use crate::rootfs;

/// The version the shim reports to `Connect`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The task service of one shim process.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    namespace: String,
    exit: Arc<ExitSignal>,
    events: Arc<Events>,
    /// Poked at every start: once quiet, the shim closes its event connection and sheds the
    /// code and heap of the burst.
    idle: Arc<Idle>,
    backend: Mutex<Option<Arc<Backend>>>,
    tasks: Mutex<BTreeMap<String, Arc<TaskEntry>>>,
}

/// A container: its init, its stdio, its execs.
struct TaskEntry {
    id: String,
    bundle: PathBuf,
    io: IoPaths,
    rootfs: Option<PathBuf>,
    container: Arc<dyn Container>,
    backend: Arc<Backend>,
    pid: u32,
    stdin_keepalive: Mutex<Option<OwnedFd>>,
    /// Where the shim has taken the container (as containerd's own shim tracks it): `State`
    /// answers from it once the container is started, without a call to the runtime.
    phase: Mutex<Phase>,
    exit: ExitCell,
    pending_exec_exits: PendingExits,
    execs: Mutex<BTreeMap<String, Arc<ExecEntry>>>,
}

/// How far the shim has taken a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Created, not started.
    Created,
    /// Started (and not paused by `Pause`).
    Running,
    /// Paused by `Pause`.
    Paused,
}

/// An exec: registered by `Exec`, run by `Start`.
struct ExecEntry {
    id: String,
    spec: runtime_api::oci_spec::runtime::Process,
    io: IoPaths,
    process: Mutex<Option<Arc<dyn Process>>>,
    pidfd: Mutex<Option<PidFd>>,
    stdin_keepalive: Mutex<Option<OwnedFd>>,
    exit: ExitCell,
}

impl ExecEntry {
    fn process(&self) -> Option<Arc<dyn Process>> {
        self.process
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn timestamp_field(
    exit: &Option<Exit>,
) -> MessageField<containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp> {
    match exit {
        Some(e) => MessageField::some(e.at.clone()),
        None => MessageField::none(),
    }
}

/// The JSON payload of an `Any` containerd fills with an OCI type (exec specs, resources).
fn json_any<T: serde::de::DeserializeOwned>(any: &MessageField<Any>, what: &str) -> TtrpcResult<T> {
    let Some(any) = any.as_ref() else {
        return Err(status(Code::INVALID_ARGUMENT, format!("{what} is missing")));
    };
    serde_json::from_slice(&any.value).map_err(|e| {
        status(
            Code::INVALID_ARGUMENT,
            format!("{what} ({}): {e}", any.type_url),
        )
    })
}

impl Service {
    /// A service publishing through `events`; `exit` is signalled by `Shutdown`.
    pub fn new(namespace: &str, events: Events, exit: Arc<ExitSignal>) -> Service {
        let events = Arc::new(events);
        let connection = events.clone();
        let idle = Idle::start(
            IDLE_AFTER,
            vec![
                Box::new(move || connection.disconnect()),
                Box::new(|| {
                    crate::memory::shed_idle_code();
                }),
                Box::new(crate::memory::give_back_free_heap),
            ],
        );
        Service {
            inner: Arc::new(Inner {
                namespace: namespace.to_string(),
                exit,
                events,
                idle,
                backend: Mutex::new(None),
                tasks: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The backend of this shim: opened at the first `Create` from its options; later
    /// containers of the group share it.
    fn backend(&self, options: &ShimOptions) -> Result<Arc<Backend>, ShimError> {
        let mut guard = lock(&self.inner.backend);
        if let Some(b) = guard.as_ref() {
            return Ok(b.clone());
        }
        let b = Arc::new(backend::open(options, &self.inner.namespace)?);
        *guard = Some(b.clone());
        Ok(b)
    }

    fn task(&self, id: &str) -> TtrpcResult<Arc<TaskEntry>> {
        lock(&self.inner.tasks)
            .get(id)
            .cloned()
            .ok_or_else(|| status(Code::NOT_FOUND, format!("container {id:?} does not exist")))
    }

    fn exec(&self, task: &TaskEntry, exec_id: &str) -> TtrpcResult<Arc<ExecEntry>> {
        lock(&task.execs).get(exec_id).cloned().ok_or_else(|| {
            status(
                Code::NOT_FOUND,
                format!("exec {exec_id:?} of container {:?} does not exist", task.id),
            )
        })
    }

    fn publish_exit(&self, container_id: &str, id: &str, pid: u32, exit: &Exit) {
        self.inner.events.publish(
            topics::TASK_EXIT_EVENT_TOPIC,
            Box::new(TaskExit {
                container_id: container_id.to_string(),
                id: id.to_string(),
                pid,
                exit_status: exit.code(),
                exited_at: MessageField::some(exit.at.clone()),
                ..Default::default()
            }),
        );
    }

    /// Waits for init in a thread of its own, then publishes its exit after the execs'.
    fn watch_init(&self, task: Arc<TaskEntry>) {
        let service = self.clone();
        std::thread::Builder::new()
            .name(format!("wait-{}", task.id))
            .spawn(move || {
                let span = tracing::info_span!("wait", container.id = %task.id, pid = task.pid);
                let _e = span.enter();
                let status = match task.container.wait() {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "wait on init failed; reporting 255");
                        runtime_api::ExitStatus::Exited(255)
                    }
                };
                task.pending_exec_exits.wait_zero();
                let exit = task.exit.set(status);
                tracing::info!(exit = %status, "init exited");
                service.publish_exit(&task.id, &task.id, task.pid, &exit);
            })
            .expect("spawn a waiter thread");
    }

    /// Waits for an exec in a thread of its own and publishes its exit.
    fn watch_exec(&self, task: Arc<TaskEntry>, exec: Arc<ExecEntry>, process: Arc<dyn Process>) {
        let service = self.clone();
        std::thread::Builder::new()
            .name(format!("wait-{}", exec.id))
            .spawn(move || {
                let pid = process.pid() as u32;
                let span = tracing::info_span!("wait_exec", container.id = %task.id, exec.id = %exec.id, pid);
                let _e = span.enter();
                let status = match process.wait() {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "wait on exec failed; reporting 255");
                        runtime_api::ExitStatus::Exited(255)
                    }
                };
                lock(&exec.pidfd).take();
                let exit = exec.exit.set(status);
                tracing::info!(exit = %status, "exec exited");
                service.publish_exit(&task.id, &exec.id, pid, &exit);
                task.pending_exec_exits.done();
            })
            .expect("spawn a waiter thread");
    }

    fn do_create(&self, req: &api::CreateTaskRequest) -> TtrpcResult<api::CreateTaskResponse> {
        let span = tracing::info_span!("create", container.id = %req.id);
        let _e = span.enter();
        if lock(&self.inner.tasks).contains_key(&req.id) {
            return Err(status(
                Code::ALREADY_EXISTS,
                format!("container {:?} already exists", req.id),
            ));
        }
        if !req.checkpoint.is_empty() {
            return Err(status(
                Code::UNIMPLEMENTED,
                "restore from a checkpoint is not supported",
            ));
        }
        let options = ShimOptions::from_any(req.options.as_ref())?;
        let backend = self.backend(&options)?;
        let bundle = PathBuf::from(&req.bundle);
        let rootfs = rootfs::mount_all(&req.rootfs, &bundle)?;
        let io_paths = IoPaths {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        };
        let cleanup = |rootfs: &Option<PathBuf>| {
            if let Some(target) = rootfs {
                rootfs::unmount(target);
            }
        };
        let opened = match io::open(&io_paths) {
            Ok(o) => o,
            Err(e) => {
                cleanup(&rootfs);
                return Err(e.into());
            }
        };
        let container =
            match backend
                .runtime
                .create_container(&req.id, &req.id, &bundle, opened.stdio)
            {
                Ok(c) => Arc::<dyn Container>::from(c),
                Err(e) => {
                    cleanup(&rootfs);
                    return Err(error::runtime(
                        &format!("create container {:?}", req.id),
                        &e,
                    ));
                }
            };
        if let Err(e) = options.save(&bundle) {
            tracing::warn!(error = %e, "cannot save the options for `delete`");
        }
        let pid = container.pid() as u32;
        let task = Arc::new(TaskEntry {
            id: req.id.clone(),
            bundle: bundle.clone(),
            io: io_paths.clone(),
            rootfs,
            container,
            backend,
            pid,
            stdin_keepalive: Mutex::new(opened.stdin_keepalive),
            phase: Mutex::new(Phase::Created),
            exit: ExitCell::default(),
            pending_exec_exits: PendingExits::default(),
            execs: Mutex::new(BTreeMap::new()),
        });
        lock(&self.inner.tasks).insert(req.id.clone(), task);
        tracing::info!(pid, "container created");
        self.inner.events.publish(
            topics::TASK_CREATE_EVENT_TOPIC,
            Box::new(TaskCreate {
                container_id: req.id.clone(),
                bundle: req.bundle.clone(),
                rootfs: req.rootfs.clone(),
                io: MessageField::some(TaskIO {
                    stdin: io_paths.stdin,
                    stdout: io_paths.stdout,
                    stderr: io_paths.stderr,
                    terminal: io_paths.terminal,
                    ..Default::default()
                }),
                checkpoint: String::new(),
                pid,
                ..Default::default()
            }),
        );
        Ok(api::CreateTaskResponse {
            pid,
            ..Default::default()
        })
    }

    fn start_init(&self, task: Arc<TaskEntry>) -> TtrpcResult<api::StartResponse> {
        let span = tracing::info_span!("start", container.id = %task.id, pid = task.pid);
        let _e = span.enter();
        {
            let mut phase = lock(&task.phase);
            if *phase != Phase::Created {
                return Err(status(
                    Code::FAILED_PRECONDITION,
                    format!("container {:?} was already started", task.id),
                ));
            }
            task.container
                .start()
                .map_err(|e| error::runtime(&format!("start container {:?}", task.id), &e))?;
            *phase = Phase::Running;
        }
        self.inner.events.publish(
            topics::TASK_START_EVENT_TOPIC,
            Box::new(TaskStart {
                container_id: task.id.clone(),
                pid: task.pid,
                ..Default::default()
            }),
        );
        self.watch_init(task.clone());
        Ok(api::StartResponse {
            pid: task.pid,
            ..Default::default()
        })
    }

    fn start_exec(
        &self,
        task: Arc<TaskEntry>,
        exec: Arc<ExecEntry>,
    ) -> TtrpcResult<api::StartResponse> {
        let span = tracing::info_span!("start_exec", container.id = %task.id, exec.id = %exec.id);
        let _e = span.enter();
        if exec.process().is_some() || exec.exit.get().is_some() {
            return Err(status(
                Code::FAILED_PRECONDITION,
                format!("exec {:?} was already started", exec.id),
            ));
        }
        if task.exit.get().is_some() {
            return Err(status(
                Code::FAILED_PRECONDITION,
                format!(
                    "container {:?} is not running: its init exited, exec refused",
                    task.id
                ),
            ));
        }
        let opened = io::open(&exec.io)?;
        task.pending_exec_exits.add();
        let process = match task.container.exec(&exec.spec, opened.stdio) {
            Ok(p) => Arc::<dyn Process>::from(p),
            Err(e) => {
                task.pending_exec_exits.done();
                return Err(error::runtime(
                    &format!("exec {:?} in container {:?}", exec.id, task.id),
                    &e,
                ));
            }
        };
        let pid = process.pid() as u32;
        if task.backend.host_pids {
            match PidFd::open(pid as i32) {
                Ok(fd) => *lock(&exec.pidfd) = Some(fd),
                Err(e) => {
                    tracing::warn!(pid, error = %e, "pidfd_open failed; the exec cannot be signalled")
                }
            }
        }
        *lock(&exec.stdin_keepalive) = opened.stdin_keepalive;
        *lock(&exec.process) = Some(process.clone());
        tracing::info!(pid, "exec started");
        self.inner.events.publish(
            topics::TASK_EXEC_STARTED_EVENT_TOPIC,
            Box::new(TaskExecStarted {
                container_id: task.id.clone(),
                exec_id: exec.id.clone(),
                pid,
                ..Default::default()
            }),
        );
        self.watch_exec(task, exec, process);
        Ok(api::StartResponse {
            pid,
            ..Default::default()
        })
    }

    fn delete_init(&self, task: Arc<TaskEntry>) -> TtrpcResult<api::DeleteResponse> {
        let span = tracing::info_span!("delete", container.id = %task.id);
        let _e = span.enter();
        let started = *lock(&task.phase) != Phase::Created;
        if started && task.exit.get().is_none() {
            return Err(status(
                Code::FAILED_PRECONDITION,
                format!("container {:?} is still running: kill it first", task.id),
            ));
        }
        task.container
            .delete()
            .map_err(|e| error::runtime(&format!("delete container {:?}", task.id), &e))?;
        // Execs that never started, and the relays' stdin, are gone with the container.
        lock(&task.execs).clear();
        lock(&task.stdin_keepalive).take();
        if let Some(target) = &task.rootfs {
            rootfs::unmount(target);
        }
        lock(&self.inner.tasks).remove(&task.id);
        let exit = task.exit.get();
        let exit_status = exit.as_ref().map(Exit::code).unwrap_or(0);
        tracing::info!(exit_status, "container deleted");
        self.inner.events.publish(
            topics::TASK_DELETE_EVENT_TOPIC,
            Box::new(TaskDelete {
                container_id: task.id.clone(),
                pid: task.pid,
                exit_status,
                exited_at: timestamp_field(&exit),
                id: task.id.clone(),
                ..Default::default()
            }),
        );
        Ok(api::DeleteResponse {
            pid: task.pid,
            exit_status,
            exited_at: timestamp_field(&exit),
            ..Default::default()
        })
    }

    fn delete_exec(
        &self,
        task: &TaskEntry,
        exec: Arc<ExecEntry>,
    ) -> TtrpcResult<api::DeleteResponse> {
        let mut pid = 0;
        if let Some(process) = exec.process() {
            pid = process.pid() as u32;
            if exec.exit.get().is_none() {
                return Err(status(
                    Code::FAILED_PRECONDITION,
                    format!("exec {:?} is still running", exec.id),
                ));
            }
            process
                .delete()
                .map_err(|e| error::runtime(&format!("delete exec {:?}", exec.id), &e))?;
        }
        lock(&task.execs).remove(&exec.id);
        let exit = exec.exit.get();
        Ok(api::DeleteResponse {
            pid,
            exit_status: exit.as_ref().map(Exit::code).unwrap_or(0),
            exited_at: timestamp_field(&exit),
            ..Default::default()
        })
    }

    fn kill_init(&self, task: &TaskEntry, signal: Signal, all: bool) -> TtrpcResult<()> {
        if task.exit.get().is_some() {
            return Err(status(
                Code::NOT_FOUND,
                format!("container {:?}: process already finished", task.id),
            ));
        }
        let listed = if all && task.backend.host_pids {
            task.container.running_processes().ok()
        } else {
            None
        };
        match task.container.kill(signal) {
            Ok(()) => {}
            Err(e) if e.is(ErrorKind::NotRunning) => {
                return Err(status(
                    Code::NOT_FOUND,
                    format!("container {:?}: process already finished", task.id),
                ))
            }
            Err(e) => return Err(error::runtime(&format!("kill container {:?}", task.id), &e)),
        }
        // `--all`: the other processes the runtime listed, by pid (host-pid backends only;
        // they are the container's, just listed by the runtime, and a process that has gone
        // meanwhile gives ESRCH, which is fine).
        for p in listed.into_iter().flatten() {
            if p.pid as u32 != task.pid && !p.is_zombie {
                if let Ok(sig) = nix::sys::signal::Signal::try_from(signal.number()) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.pid), sig);
                }
            }
        }
        Ok(())
    }

    fn kill_exec(&self, task: &TaskEntry, exec: &ExecEntry, signal: Signal) -> TtrpcResult<()> {
        if exec.exit.get().is_some() || exec.process().is_none() {
            return Err(status(
                Code::NOT_FOUND,
                format!(
                    "exec {:?}: process already finished or not started",
                    exec.id
                ),
            ));
        }
        if !task.backend.host_pids {
            return Err(status(
                Code::UNIMPLEMENTED,
                format!(
                    "backend {:?} has no per-process kill: only a container's init can be signalled",
                    task.backend.name
                ),
            ));
        }
        let guard = lock(&exec.pidfd);
        let Some(fd) = guard.as_ref() else {
            return Err(status(
                Code::NOT_FOUND,
                format!("exec {:?}: process already finished", exec.id),
            ));
        };
        fd.send_signal(signal.number()).map_err(|e| {
            if e == nix::errno::Errno::ESRCH {
                status(
                    Code::NOT_FOUND,
                    format!("exec {:?}: process already finished", exec.id),
                )
            } else {
                status(Code::INTERNAL, format!("kill exec {:?}: {e}", exec.id))
            }
        })
    }

    fn state_of(&self, task: &TaskEntry, exec_id: &str) -> TtrpcResult<api::StateResponse> {
        let mut resp = api::StateResponse {
            id: task.id.clone(),
            bundle: task.bundle.display().to_string(),
            ..Default::default()
        };
        let (io, exit, status) = if exec_id.is_empty() {
            let exit = task.exit.get();
            let phase = *lock(&task.phase);
            let status = match (&exit, phase) {
                (Some(_), _) => api::Status::STOPPED,
                // Until its exit is handled (rule 1, the drain), a started container is
                // running or paused as far as containerd may know.
                (None, Phase::Running) => api::Status::RUNNING,
                (None, Phase::Paused) => api::Status::PAUSED,
                (None, Phase::Created) => match task.container.state() {
                    Ok(s) => match s.status {
                        Status::Creating | Status::Created => api::Status::CREATED,
                        Status::Running => api::Status::RUNNING,
                        Status::Paused => api::Status::PAUSED,
                        // Init is dead but its exit is not handled yet (rule 1, the drain):
                        // containerd must not see it stopped before it can see the exit.
                        Status::Stopped => api::Status::RUNNING,
                    },
                    Err(e) if e.is(ErrorKind::NotFound) => api::Status::RUNNING,
                    Err(e) => {
                        return Err(error::runtime(
                            &format!("state of container {:?}", task.id),
                            &e,
                        ))
                    }
                },
            };
            resp.pid = task.pid;
            (&task.io, exit, status)
        } else {
            let exec = self.exec(task, exec_id)?;
            resp.exec_id = exec_id.to_string();
            let exit = exec.exit.get();
            let status = match (&exit, exec.process()) {
                (Some(_), _) => api::Status::STOPPED,
                (None, Some(p)) => {
                    resp.pid = p.pid() as u32;
                    api::Status::RUNNING
                }
                (None, None) => api::Status::CREATED,
            };
            if let Some(p) = exec.process() {
                resp.pid = p.pid() as u32;
            }
            let io = exec.io.clone();
            resp.stdin = io.stdin;
            resp.stdout = io.stdout;
            resp.stderr = io.stderr;
            resp.terminal = io.terminal;
            resp.status = status.into();
            resp.exit_status = exit.as_ref().map(Exit::code).unwrap_or(0);
            resp.exited_at = timestamp_field(&exit);
            return Ok(resp);
        };
        resp.stdin = io.stdin.clone();
        resp.stdout = io.stdout.clone();
        resp.stderr = io.stderr.clone();
        resp.terminal = io.terminal;
        resp.status = status.into();
        resp.exit_status = exit.as_ref().map(Exit::code).unwrap_or(0);
        resp.exited_at = timestamp_field(&exit);
        Ok(resp)
    }
}

fn signal_of(n: u32) -> TtrpcResult<Signal> {
    let s = Signal(n as i32);
    if s.is_valid() {
        Ok(s)
    } else {
        Err(status(
            Code::INVALID_ARGUMENT,
            format!("invalid signal {n}"),
        ))
    }
}

impl containerd_shim::Task for Service {
    fn state(
        &self,
        _ctx: &TtrpcContext,
        req: api::StateRequest,
    ) -> TtrpcResult<api::StateResponse> {
        let task = self.task(&req.id)?;
        self.state_of(&task, &req.exec_id)
    }

    fn create(
        &self,
        _ctx: &TtrpcContext,
        req: api::CreateTaskRequest,
    ) -> TtrpcResult<api::CreateTaskResponse> {
        self.do_create(&req)
    }

    fn start(
        &self,
        _ctx: &TtrpcContext,
        req: api::StartRequest,
    ) -> TtrpcResult<api::StartResponse> {
        let task = self.task(&req.id)?;
        let started = if req.exec_id.is_empty() {
            self.start_init(task)
        } else {
            let exec = self.exec(&task, &req.exec_id)?;
            self.start_exec(task, exec)
        };
        // The shim now mostly waits, for as long as its container runs: once quiet, it keeps
        // neither its event connection nor the heap and code of the burst (see `idle`).
        self.inner.idle.poke();
        started
    }

    fn delete(
        &self,
        _ctx: &TtrpcContext,
        req: api::DeleteRequest,
    ) -> TtrpcResult<api::DeleteResponse> {
        let task = self.task(&req.id)?;
        if req.exec_id.is_empty() {
            self.delete_init(task)
        } else {
            let exec = self.exec(&task, &req.exec_id)?;
            self.delete_exec(&task, exec)
        }
    }

    fn pids(&self, _ctx: &TtrpcContext, req: api::PidsRequest) -> TtrpcResult<api::PidsResponse> {
        let task = self.task(&req.id)?;
        let procs = task
            .container
            .running_processes()
            .map_err(|e| error::runtime(&format!("pids of container {:?}", task.id), &e))?;
        Ok(api::PidsResponse {
            processes: procs
                .into_iter()
                .map(|p| ProcessInfo {
                    pid: p.pid as u32,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
    }

    fn pause(&self, _ctx: &TtrpcContext, req: api::PauseRequest) -> TtrpcResult<api::Empty> {
        let task = self.task(&req.id)?;
        let _s = tracing::info_span!("pause", container.id = %task.id).entered();
        task.container
            .pause()
            .map_err(|e| error::runtime(&format!("pause container {:?}", task.id), &e))?;
        *lock(&task.phase) = Phase::Paused;
        self.inner.events.publish(
            topics::TASK_PAUSED_EVENT_TOPIC,
            Box::new(TaskPaused {
                container_id: task.id.clone(),
                ..Default::default()
            }),
        );
        Ok(api::Empty::default())
    }

    fn resume(&self, _ctx: &TtrpcContext, req: api::ResumeRequest) -> TtrpcResult<api::Empty> {
        let task = self.task(&req.id)?;
        let _s = tracing::info_span!("resume", container.id = %task.id).entered();
        task.container
            .resume()
            .map_err(|e| error::runtime(&format!("resume container {:?}", task.id), &e))?;
        *lock(&task.phase) = Phase::Running;
        self.inner.events.publish(
            topics::TASK_RESUMED_EVENT_TOPIC,
            Box::new(TaskResumed {
                container_id: task.id.clone(),
                ..Default::default()
            }),
        );
        Ok(api::Empty::default())
    }

    fn checkpoint(
        &self,
        _ctx: &TtrpcContext,
        _req: api::CheckpointTaskRequest,
    ) -> TtrpcResult<api::Empty> {
        Err(status(
            Code::UNIMPLEMENTED,
            "checkpoint is not supported by containerd-shim-rtlayer-v1",
        ))
    }

    fn kill(&self, _ctx: &TtrpcContext, req: api::KillRequest) -> TtrpcResult<api::Empty> {
        let task = self.task(&req.id)?;
        let signal = signal_of(req.signal)?;
        let _s = tracing::info_span!("kill", container.id = %task.id, exec.id = %req.exec_id, signal = signal.number()).entered();
        if req.exec_id.is_empty() {
            self.kill_init(&task, signal, req.all)?;
        } else {
            let exec = self.exec(&task, &req.exec_id)?;
            self.kill_exec(&task, &exec, signal)?;
        }
        Ok(api::Empty::default())
    }

    fn exec(&self, _ctx: &TtrpcContext, req: api::ExecProcessRequest) -> TtrpcResult<api::Empty> {
        let task = self.task(&req.id)?;
        if task.exit.get().is_some() {
            return Err(status(
                Code::FAILED_PRECONDITION,
                format!(
                    "container {:?} is not running: its init exited, exec refused",
                    task.id
                ),
            ));
        }
        let spec: runtime_api::oci_spec::runtime::Process =
            json_any(&req.spec, "exec process spec")?;
        let mut execs = lock(&task.execs);
        if execs.contains_key(&req.exec_id) {
            return Err(status(
                Code::ALREADY_EXISTS,
                format!(
                    "exec {:?} already exists in container {:?}",
                    req.exec_id, task.id
                ),
            ));
        }
        execs.insert(
            req.exec_id.clone(),
            Arc::new(ExecEntry {
                id: req.exec_id.clone(),
                spec,
                io: IoPaths {
                    stdin: req.stdin.clone(),
                    stdout: req.stdout.clone(),
                    stderr: req.stderr.clone(),
                    terminal: req.terminal,
                },
                process: Mutex::new(None),
                pidfd: Mutex::new(None),
                stdin_keepalive: Mutex::new(None),
                exit: ExitCell::default(),
            }),
        );
        drop(execs);
        self.inner.events.publish(
            topics::TASK_EXEC_ADDED_EVENT_TOPIC,
            Box::new(TaskExecAdded {
                container_id: task.id.clone(),
                exec_id: req.exec_id.clone(),
                ..Default::default()
            }),
        );
        Ok(api::Empty::default())
    }

    fn resize_pty(
        &self,
        _ctx: &TtrpcContext,
        req: api::ResizePtyRequest,
    ) -> TtrpcResult<api::Empty> {
        let task = self.task(&req.id)?;
        let size = ConsoleSize {
            rows: req.height.min(u16::MAX as u32) as u16,
            cols: req.width.min(u16::MAX as u32) as u16,
        };
        let result = if req.exec_id.is_empty() {
            task.container.resize_console(size)
        } else {
            let exec = self.exec(&task, &req.exec_id)?;
            match exec.process() {
                Some(p) => p.resize_console(size),
                None => {
                    return Err(status(
                        Code::FAILED_PRECONDITION,
                        format!("exec {:?} is not started", exec.id),
                    ))
                }
            }
        };
        result.map_err(|e| error::runtime(&format!("resize the console of {:?}", task.id), &e))?;
        Ok(api::Empty::default())
    }

    fn close_io(&self, _ctx: &TtrpcContext, req: api::CloseIORequest) -> TtrpcResult<api::Empty> {
        let task = self.task(&req.id)?;
        let _s = tracing::info_span!("close_io", container.id = %task.id, exec.id = %req.exec_id, stdin = req.stdin).entered();
        tracing::info!("closing stdin");
        if req.stdin {
            if req.exec_id.is_empty() {
                lock(&task.stdin_keepalive).take();
            } else {
                let exec = self.exec(&task, &req.exec_id)?;
                lock(&exec.stdin_keepalive).take();
            }
        }
        Ok(api::Empty::default())
    }

    fn update(&self, _ctx: &TtrpcContext, req: api::UpdateTaskRequest) -> TtrpcResult<api::Empty> {
        let task = self.task(&req.id)?;
        let resources: runtime_api::oci_spec::runtime::LinuxResources =
            json_any(&req.resources, "resources")?;
        task.container
            .update(&resources)
            .map_err(|e| error::runtime(&format!("update container {:?}", task.id), &e))?;
        Ok(api::Empty::default())
    }

    fn wait(&self, _ctx: &TtrpcContext, req: api::WaitRequest) -> TtrpcResult<api::WaitResponse> {
        let task = self.task(&req.id)?;
        let exit = if req.exec_id.is_empty() {
            task.exit.wait()
        } else {
            self.exec(&task, &req.exec_id)?.exit.wait()
        };
        Ok(api::WaitResponse {
            exit_status: exit.code(),
            exited_at: MessageField::some(exit.at),
            ..Default::default()
        })
    }

    fn stats(
        &self,
        _ctx: &TtrpcContext,
        req: api::StatsRequest,
    ) -> TtrpcResult<api::StatsResponse> {
        let task = self.task(&req.id)?;
        if !task.backend.host_pids {
            return Err(status(
                Code::UNIMPLEMENTED,
                format!(
                    "backend {:?} has no cgroups to read stats from",
                    task.backend.name
                ),
            ));
        }
        if task.exit.get().is_some() {
            return Err(status(
                Code::NOT_FOUND,
                format!("container {:?}: process already finished", task.id),
            ));
        }
        let cgroup = containerd_shim::cgroup::get_cgroup(task.pid).map_err(|e| {
            status(
                Code::INTERNAL,
                format!("cgroup of container {:?}: {e}", task.id),
            )
        })?;
        let metrics = containerd_shim::cgroup::collect_metrics(&cgroup).map_err(|e| {
            status(
                Code::INTERNAL,
                format!("metrics of container {:?}: {e}", task.id),
            )
        })?;
        let any = containerd_shim::util::convert_to_any(Box::new(metrics)).map_err(|e| {
            status(
                Code::INTERNAL,
                format!("metrics of container {:?}: {e}", task.id),
            )
        })?;
        Ok(api::StatsResponse {
            stats: MessageField::some(any),
            ..Default::default()
        })
    }

    fn connect(
        &self,
        _ctx: &TtrpcContext,
        req: api::ConnectRequest,
    ) -> TtrpcResult<api::ConnectResponse> {
        let task_pid = lock(&self.inner.tasks)
            .get(&req.id)
            .map(|t| t.pid)
            .unwrap_or(0);
        Ok(api::ConnectResponse {
            shim_pid: std::process::id(),
            task_pid,
            version: VERSION.to_string(),
            ..Default::default()
        })
    }

    fn shutdown(&self, _ctx: &TtrpcContext, req: api::ShutdownRequest) -> TtrpcResult<api::Empty> {
        let remaining = lock(&self.inner.tasks).len();
        if remaining > 0 && !req.now {
            tracing::debug!(remaining, "shutdown refused: containers remain");
            return Ok(api::Empty::default());
        }
        tracing::info!("shim shutting down");
        self.inner.exit.signal();
        Ok(api::Empty::default())
    }
}
