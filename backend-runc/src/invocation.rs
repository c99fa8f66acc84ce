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
use crate::errors::runc_error;
use crate::reaper::Reaper;

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
    /// runc at `path` with `--root root`; per-call log files are created in `log_dir` (which
    /// must exist); every call is killed after `timeout`.
    pub fn new(path: PathBuf, root: PathBuf, log_dir: PathBuf, timeout: Duration) -> Runc {
        Runc {
            path,
            root,
            log_dir,
            timeout,
        }
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
    pub(crate) fn run(&self, cmd: &Command) -> Result<Output> {
        self.run_with(cmd, ChildIo::Capture { stdin: None })
    }

    /// Runs `cmd` with the given stdio; fails with runc's own message, or with
    /// [`ErrorKind::Timeout`] after the time limit (the invocation and everything in its process
    /// group killed and reaped).
    pub(crate) fn run_with(&self, cmd: &Command, io: ChildIo) -> Result<Output> {
        let id = cmd.container_id();
        let span = tracing::debug_span!("runc", command = cmd.name(), container.id = id);
        let _enter = span.enter();
        let fail = |kind: ErrorKind, msg: String| match id {
            Some(id) => Error::for_container(kind, id, msg),
            None => Error::new(kind, msg),
        };
        let reaper = Reaper::global().map_err(|e| fail(ErrorKind::Backend, e.to_string()))?;
        let log = LogFile::create(&self.log_dir).map_err(|e| {
            fail(
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
        let mut c = std::process::Command::new(&self.path);
        c.args(&args).process_group(0);
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
                ErrorKind::Backend,
                format!(
                    "runc {}: cannot run {}: {e}",
                    cmd.name(),
                    self.path.display()
                ),
            )
        })?;
        let pid = child.id() as i32;
        let cell = match reaper.watch(pid) {
            Ok(cell) => cell,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(
                    ErrorKind::Backend,
                    format!("runc {}: cannot watch pid {pid}: {e}", cmd.name()),
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
                ErrorKind::Timeout,
                format!(
                    "runc {} did not finish within {} ms; it and its process group were killed",
                    cmd.name(),
                    self.timeout.as_millis()
                ),
            ));
        };
        tracing::trace!(pid, %status, elapsed_us = started.elapsed().as_micros() as u64, "runc finished");
        if status.success() {
            return Ok(Output { stdout: out });
        }
        let code = match status {
            ExitStatus::Exited(c) => Some(c),
            ExitStatus::Signaled(_) | ExitStatus::Unknown => None,
        };
        Err(runc_error(
            cmd.name(),
            id,
            &log.read(),
            &String::from_utf8_lossy(&err),
            code,
        ))
    }
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
