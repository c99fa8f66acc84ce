//! Running the runc binary: one [`Command`] per invocation, with a time limit, a fresh JSON log
//! file, and its exit collected by the [`reaper`].
//!
//! * Each invocation gets `--root <root> --log <fresh file> --log-format json`; on failure the
//!   last error-level line of that file becomes the error (the `errors` module).
//! * Only stdout is parsed as JSON; runc's stderr is kept as a fallback message.
//! * runc runs in its own process group. If it does not finish within the time limit, the whole
//!   group is killed with `SIGKILL` and reaped (including children it left behind), and the call
//!   fails with [`ErrorKind::Timeout`].

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use runtime_api::{Error, ErrorKind, ExitStatus, Result};

use crate::command::Command;
use crate::errors::{kind_for_status, runc_error};
use crate::flavour::{self, Flavour, RuntimeVersion};
use crate::reaper::Reaper;

/// How long a `delete` refused with a busy cgroup is tried again (see [`Runc::run`]).
pub(crate) const DELETE_BUSY_BOUND: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether a runtime's failure message is `EBUSY` (a cgroup directory that still has
/// processes being torn down).
fn is_cgroup_busy(message: &str) -> bool {
    message.contains("Device or resource busy") || message.contains("os error 16")
}

/// Most bytes of stdout kept from one invocation; more is drained and dropped (a runc that
/// prints garbage must not exhaust memory).
const MAX_CAPTURE: usize = 64 << 20;

/// How long, after killing a timed-out runc's process group, we wait for the group to vanish.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// What a runc invocation's own stdin, stdout and stderr are.
pub(crate) enum ChildIo {
    /// stdin `/dev/null` (or the given bytes), stdout and stderr captured.
    Capture {
        /// Bytes written to runc's stdin, then closed (`update --resources -`).
        stdin: Option<Vec<u8>>,
    },
    /// The container process's stdio: runc passes its own stdin/stdout/stderr on to the
    /// process it starts (`create`, `exec -d` without a terminal).
    Inherit {
        /// The process's stdin.
        stdin: OwnedFd,
        /// The process's stdout.
        stdout: OwnedFd,
        /// The process's stderr.
        stderr: OwnedFd,
    },
    /// All three `/dev/null` (a process with a terminal, or with no connections).
    Null,
}

/// The result of a successful invocation.
#[derive(Debug)]
pub(crate) struct Output {
    /// What runc printed on stdout (empty unless [`ChildIo::Capture`]).
    pub stdout: Vec<u8>,
}

/// How to run runc: which binary, which `--root`, where the per-call logs go, and the time
/// limit of every call.
#[derive(Debug, Clone)]
pub struct Runc {
    path: PathBuf,
    flavour: Flavour,
    root: PathBuf,
    log_dir: PathBuf,
    timeout: Duration,
}

/// A fresh log file for one invocation, removed on drop.
struct LogFile(PathBuf);

impl LogFile {
    fn create(dir: &Path) -> io::Result<LogFile> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".runc-{}-{n}.log", std::process::id()));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok(LogFile(path))
    }

    fn read(&self) -> String {
        fs::read(&self.0)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

impl Runc {
    /// The runtime at `path`, of `flavour`, with `--root root`; per-call log files are created
    /// in `log_dir` (which must exist); every call is killed after `timeout`.
    pub fn new(
        path: PathBuf,
        flavour: Flavour,
        root: PathBuf,
        log_dir: PathBuf,
        timeout: Duration,
    ) -> Runc {
        Runc {
            path,
            flavour,
            root,
            log_dir,
            timeout,
        }
    }

    /// Runs `path --version` (within `timeout`) and says which runtime it is. A binary that
    /// cannot run, fails, hangs or prints anything but a known banner is an error naming it.
    pub fn detect(path: &Path, log_dir: &Path, timeout: Duration) -> Result<RuntimeVersion> {
        let probe = Runc::new(
            path.to_path_buf(),
            Flavour::Runc,
            PathBuf::new(),
            log_dir.to_path_buf(),
            timeout,
        );
        let out = probe.run_plain("--version", &["--version".into()])?;
        flavour::parse_version(path, &out)
    }

    /// The flavour of runtime this drives.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// The runc binary.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `--root` directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runs `cmd` with stdin from `/dev/null` and stdout captured.
    ///
    /// A `delete` that fails because the container's cgroup is still busy (`EBUSY` from
    /// `rmdir`: the last processes of a killed pid namespace are still being torn down by the
    /// kernel) is tried again, for at most [`DELETE_BUSY_BOUND`]. runc retries that `rmdir`
    /// itself; youki 0.7 gives up at once.
    pub(crate) fn run(&self, cmd: &Command) -> Result<Output> {
        let deadline = std::time::Instant::now() + DELETE_BUSY_BOUND;
        let mut pause = std::time::Duration::from_millis(10);
        loop {
            match self.run_with(cmd, ChildIo::Capture { stdin: None }) {
                Err(e)
                    if matches!(cmd, Command::Delete(_))
                        && is_cgroup_busy(e.message())
                        && std::time::Instant::now() + pause < deadline =>
                {
                    tracing::debug!(error = %e, "delete: cgroup still busy; trying again");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(200));
                }
                r => return r,
            }
        }
    }

    /// Runs `cmd` with the given stdio; fails with runc's own message, or with
    /// [`ErrorKind::Timeout`] after the time limit (the invocation and everything in its process
    /// group killed and reaped).
    ///
    /// When the runtime's wording of a failure is not one this backend knows (the kind would be
    /// [`ErrorKind::Backend`]) and the command is about an existing container, the kind comes
    /// from a `state` call instead ([`kind_for_status`]): a container that is gone gives
    /// `NotFound`, an `exec` into a stopped one `NotRunning`, and so on.
    pub(crate) fn run_with(&self, cmd: &Command, io: ChildIo) -> Result<Output> {
        let id = cmd.container_id();
        let span = tracing::debug_span!("runc", command = cmd.name(), container.id = id);
        let _enter = span.enter();
        let log = LogFile::create(&self.log_dir).map_err(|e| {
            fail(
                id,
                ErrorKind::Backend,
                format!(
                    "runc {}: creating a log file in {}: {e}",
                    cmd.name(),
                    self.log_dir.display()
                ),
            )
        })?;
        let mut args: Vec<OsString> = vec![
            "--root".into(),
            self.root.clone().into(),
            "--log".into(),
            log.0.clone().into(),
            "--log-format".into(),
            "json".into(),
        ];
        args.extend(cmd.args());
        // `create` and `exec` fork helpers that a failure can leave behind (youki's).
        let leftovers = matches!(cmd, Command::Create(_) | Command::Exec(_));
        let (status, out, err, _) = self.spawn_pid(cmd.name(), id, &args, io, leftovers)?;
        if status.success() {
            return Ok(Output { stdout: out });
        }
        self.clean_after_failure(cmd);
        let code = match status {
            ExitStatus::Exited(c) => Some(c),
            ExitStatus::Signaled(_) | ExitStatus::Unknown => None,
        };
        let e = runc_error(
            cmd.name(),
            id,
            &log.read(),
            &String::from_utf8_lossy(&err),
            code,
        );
        Err(self.refine_by_state(cmd, e))
    }

    /// After a failed `create` or `exec`: a process named in the pid file is one the runtime
    /// started for the failed call (youki writes the pid file of an `exec` whose program
    /// cannot be executed, and leaves its init process to us, the subreaper): it is killed
    /// and reaped once it is our child. A pid that is not, and does not become, our child
    /// within the grace is left alone.
    fn clean_after_failure(&self, cmd: &Command) {
        let pid_file = match cmd {
            Command::Create(o) => &o.pid_file,
            Command::Exec(o) => &o.pid_file,
            _ => return,
        };
        let Ok(pid) = crate::statedir::read_pid(pid_file) else {
            return;
        };
        let _ = fs::remove_file(pid_file);
        let Ok(reaper) = Reaper::global() else {
            return;
        };
        let me = std::process::id() as i32;
        let deadline = Instant::now() + KILL_GRACE;
        loop {
            match crate::procfs::stat(pid) {
                None => return,
                Some(st) if st.ppid == me => break,
                Some(_) if Instant::now() >= deadline => {
                    tracing::warn!(pid, "a failed call's process is not our child; left alone");
                    return;
                }
                Some(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        let Ok(cell) = reaper.watch(pid) else {
            return;
        };
        // SAFETY: kill takes integers; `pid` is our unreaped child (watched), so it is stable.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        if cell.wait_timeout(KILL_GRACE).is_none() {
            tracing::warn!(pid, "a failed call's process was not reaped in time");
        } else {
            tracing::debug!(pid, "reaped the process of a failed call");
        }
    }

    /// For a failure of unknown wording: the kind from the container's status.
    fn refine_by_state(&self, cmd: &Command, e: Error) -> Error {
        let (Some(id), ErrorKind::Backend) = (cmd.container_id(), e.kind()) else {
            return e;
        };
        if matches!(cmd, Command::Create(_) | Command::State { .. }) {
            return e;
        }
        let status = match self.run(&Command::State { id: id.to_string() }) {
            Ok(out) => match crate::state::parse_state(id, &out.stdout) {
                Ok(s) => Some(s.status),
                Err(_) => return e,
            },
            Err(se) if se.kind() == ErrorKind::NotFound => None,
            Err(_) => return e,
        };
        match kind_for_status(cmd.name(), status) {
            Some(kind) => {
                let seen = status.map_or("does not exist".to_string(), |s| format!("is {s}"));
                tracing::debug!(?kind, seen, "error kind from a state check");
                Error::for_container(kind, id, format!("{} (the container {seen})", e.message()))
            }
            None => e,
        }
    }

    /// Runs the binary with `args` (no global flags added), stdin from `/dev/null`, stdout
    /// captured: for `--version`.
    pub(crate) fn run_plain(&self, what: &str, args: &[OsString]) -> Result<Vec<u8>> {
        let (status, out, err) = self.spawn(what, None, args, ChildIo::Capture { stdin: None })?;
        if status.success() {
            return Ok(out);
        }
        let err = String::from_utf8_lossy(&err);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(Error::new(
            ErrorKind::Backend,
            format!(
                "{} {what}: {status}{}{last}",
                self.path.display(),
                if last.is_empty() { "" } else { ": " }
            ),
        ))
    }

    /// Spawns the binary in its own process group with `args` and `io`, and collects its
    /// exit and output within the time limit.
    fn spawn(
        &self,
        name: &str,
        id: Option<&str>,
        args: &[OsString],
        io: ChildIo,
    ) -> Result<(ExitStatus, Vec<u8>, Vec<u8>)> {
        self.spawn_pid(name, id, args, io, false)
            .map(|(s, o, e, _)| (s, o, e))
    }

    /// [`Runc::spawn`], also returning the invocation's pid (its process group id). With
    /// `leftovers`, the invocation's process group is claimed while it runs, and what a failed
    /// invocation left in it is reaped ([`reap_leftovers`]).
    fn spawn_pid(
        &self,
        name: &str,
        id: Option<&str>,
        args: &[OsString],
        io: ChildIo,
        leftovers: bool,
    ) -> Result<(ExitStatus, Vec<u8>, Vec<u8>, i32)> {
        let reaper = Reaper::global().map_err(|e| fail(id, ErrorKind::Backend, e.to_string()))?;
        let mut c = std::process::Command::new(&self.path);
        c.args(args).process_group(0);
        // SAFETY: the closure runs in the forked child before `exec`, and only calls
        // `signal(2)`, which is async-signal-safe and changes only the child.
        unsafe {
            c.pre_exec(|| {
                default_signal_actions();
                Ok(())
            });
        }
        for (k, v) in self.flavour.env() {
            c.env(k, v);
        }
        let mut stdin_data = None;
        match io {
            ChildIo::Capture { stdin } => {
                c.stdin(if stdin.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                });
                c.stdout(Stdio::piped()).stderr(Stdio::piped());
                stdin_data = stdin;
            }
            ChildIo::Inherit {
                stdin,
                stdout,
                stderr,
            } => {
                c.stdin(stdin).stdout(stdout).stderr(stderr);
            }
            ChildIo::Null => {
                c.stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
            }
        }
        let started = Instant::now();
        let deadline = started + self.timeout;
        let spawned = c.spawn();
        // Close our copies of the fds handed to runc, so end-of-file can come.
        drop(c);
        let mut child = spawned.map_err(|e| {
            fail(
                id,
                ErrorKind::Backend,
                format!("runc {name}: cannot run {}: {e}", self.path.display()),
            )
        })?;
        let pid = child.id() as i32;
        // Before `watch`: the leader is unreaped, so the group claim starts from it.
        let group = leftovers.then(|| {
            let claim = reaper.claim();
            claim.add_group(pid);
            claim
        });
        let cell = match reaper.watch(pid) {
            Ok(cell) => cell,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(
                    id,
                    ErrorKind::Backend,
                    format!("runc {name}: cannot watch pid {pid}: {e}"),
                ));
            }
        };
        if let (Some(data), Some(mut w)) = (stdin_data, child.stdin.take()) {
            // Small (a resources document); a runc that does not read it gets EPIPE, which
            // shows in its exit status.
            let _ = w.write_all(&data);
        }
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        // `child` is dropped without waiting: the reaper owns its exit.
        drop(child);

        let (out, err, drained) = drain(stdout, stderr, deadline);
        let status = if drained {
            let left = deadline.saturating_duration_since(Instant::now());
            cell.wait_timeout(left)
        } else {
            None
        };
        let Some(status) = status else {
            kill_group(reaper, pid, &cell);
            tracing::warn!(
                pid,
                timeout_ms = self.timeout.as_millis() as u64,
                "runc timed out; killed"
            );
            return Err(fail(
                id,
                ErrorKind::Timeout,
                format!(
                    "runc {name} did not finish within {} ms; it and its process group were killed",
                    self.timeout.as_millis()
                ),
            ));
        };
        tracing::trace!(pid, %status, elapsed_us = started.elapsed().as_micros() as u64, "runc finished");
        if let (false, Some(claim)) = (status.success(), group) {
            reap_leftovers(reaper, claim, pid);
        }
        Ok((status, out, err, pid))
    }
}

/// In the forked child of an invocation, before `exec`: every signal the host ignores goes
/// back to its default action (std already empties the signal mask and resets `SIGPIPE`).
///
/// An ignored signal stays ignored across `exec` and `fork`, so without this a host that
/// ignores one (a daemon under `nohup` ignores `SIGHUP`) hands that to the runtime and, through
/// youki (runc resets them itself), to the container's processes: `kill -HUP $$` in an exec
/// then did nothing. A container's signal actions are its image's business, not the host's.
fn default_signal_actions() {
    for sig in 1..=libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: signal(2) with SIG_DFL, async-signal-safe; an invalid number only fails.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

fn fail(id: Option<&str>, kind: ErrorKind, msg: String) -> Error {
    match id {
        Some(id) => Error::for_container(kind, id, msg),
        None => Error::new(kind, msg),
    }
}

/// After a failed invocation (already reaped): reaps what it left in its process group
/// (`claim`, taken while the leader lived; youki's intermediate process of a failed `exec` is a
/// zombie reparented to us), killing members that are still alive one by one, by pid, once
/// they are our children (an unreaped child's pid cannot be reused). The group is never
/// signalled as a group here: its leader is gone, so nothing pins the group id. Bounded by
/// [`KILL_GRACE`].
fn reap_leftovers(reaper: &'static Reaper, claim: crate::reaper::Claim, pgid: i32) {
    let me = std::process::id() as i32;
    let deadline = Instant::now() + KILL_GRACE;
    loop {
        reaper.reap_orphans();
        if !claim.has_processes() {
            break;
        }
        if Instant::now() >= deadline {
            tracing::warn!(pgid, "a failed invocation's process group is still there");
            break;
        }
        for st in crate::procfs::children_of(me) {
            if st.pgrp == pgid && !st.is_zombie() {
                // SAFETY: kill takes integers; `st.pid` is our unreaped child.
                unsafe { libc::kill(st.pid, libc::SIGKILL) };
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(claim);
}

/// Kills runc's process group, waits for runc's exit, and reaps whatever the group left behind
/// (children reparented to us as the subreaper).
///
/// The group is signalled as a group only while one of its members seen at the last scan is
/// still there: that pins the group id, so a host group that later reuses it is never hit.
fn kill_group(reaper: &'static Reaper, pgid: i32, cell: &crate::reaper::ExitCell) {
    let claim = reaper.claim();
    claim.add_group(pgid);
    // SAFETY: kill takes integers; runc (the group's leader) is our unreaped child, so the
    // group id is still this group's.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let deadline = Instant::now() + KILL_GRACE;
    let _ = cell.wait_timeout(KILL_GRACE);
    loop {
        reaper.reap_orphans();
        if !claim.has_processes() || Instant::now() >= deadline {
            break;
        }
        // Late forks of the group, if any, get the signal too; a member is still present, so
        // the group id is still this group's.
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(claim);
}

/// Reads stdout and stderr to end-of-file, or until `deadline`. Returns what was read and
/// whether both reached end-of-file.
fn drain(
    stdout: Option<std::process::ChildStdout>,
    stderr: Option<std::process::ChildStderr>,
    deadline: Instant,
) -> (Vec<u8>, Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut streams: Vec<(File, bool)> = Vec::new();
    if let Some(s) = stdout {
        streams.push((File::from(OwnedFd::from(s)), true));
    }
    if let Some(s) = stderr {
        streams.push((File::from(OwnedFd::from(s)), false));
    }
    for (f, _) in &streams {
        set_nonblocking(f);
    }
    let mut buf = vec![0u8; 64 * 1024];
    while !streams.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, err, false);
        }
        let mut fds: Vec<libc::pollfd> = streams
            .iter()
            .map(|(f, _)| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: `fds` is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n <= 0 {
            continue;
        }
        let mut closed = Vec::new();
        for (i, pfd) in fds.iter().enumerate() {
            if pfd.revents == 0 {
                continue;
            }
            let (f, is_out) = &mut streams[i];
            let sink = if *is_out { &mut out } else { &mut err };
            loop {
                match f.read(&mut buf) {
                    Ok(0) => {
                        closed.push(i);
                        break;
                    }
                    Ok(k) => {
                        if sink.len() < MAX_CAPTURE {
                            sink.extend_from_slice(&buf[..k]);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        closed.push(i);
                        break;
                    }
                }
            }
        }
        for i in closed.into_iter().rev() {
            streams.remove(i);
        }
    }
    (out, err, true)
}

fn set_nonblocking(f: &File) {
    let fd = f.as_raw_fd();
    // SAFETY: fcntl on an fd we own, integer arguments only.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}
