//! The probe: load a plugin in a child process first, so that what no structural check can
//! see (corrupt code run at load, a crash in the entry function or in `open`) kills the
//! child, not the host.
//!
//! # Protocol
//!
//! The host runs a helper executable (`rtlayer-plugin-probe`, or any program that calls
//! [`serve`] when it is given [`PROBE_ARG`]) as `helper __rtlayer-probe <plugin path>
//! [<config JSON>]`. The child loads the plugin with the host's own loader (preflight
//! included), prints one line per stage on stdout (`loading`, then the declaration it saw as
//! JSON, then `opening` and `opened` when a configuration was given: it opens a runtime with
//! it and lists the containers), and exits 0. A refusal is printed as `refused <message>`.
//!
//! The host waits for the child on a pidfd, with a time limit; it reaps only its own child
//! (`waitpid` on that pid), never another process's exit status. A child that dies by a
//! signal, exits otherwise, or outlives the limit (it is killed and reaped) makes the load
//! fail with [`LoadError::ProbeFailed`](crate::LoadError::ProbeFailed), naming the stage it
//! reached and the end of its stderr.
//!
//! # What it guarantees
//!
//! With a probe, the host maps the library only after a child on the same machine, with the
//! same loader and the same environment, loaded the same file, called its entry function,
//! checked the declaration, installed the logger and (if asked) opened a runtime and listed
//! its containers, and exited normally. Code paths the child did not run are not covered:
//! a corrupt function that only `create_container` calls still runs in the host. The file
//! is read again by the host after the probe; a file replaced in between is not covered
//! either (pin a digest for that).

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// The first argument that makes a helper act as the probe's child (see [`serve`]).
pub const PROBE_ARG: &str = "__rtlayer-probe";
/// The file name of the helper binary this crate builds.
pub const HELPER_NAME: &str = "rtlayer-plugin-probe";
/// Environment variable naming the helper binary for [`Probe::locate`].
pub const HELPER_VAR: &str = "RTLAYER_PLUGIN_PROBE";
/// The default time limit of one probe.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How far the child got, as it reported on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Started, nothing reported.
    Started,
    /// Loading the library (preflight, `dlopen`, entry function, declaration checks).
    Loading,
    /// Loaded: the declaration was checked.
    Loaded,
    /// Opening a runtime with the given configuration and listing its containers.
    Opening,
    /// Done.
    Opened,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Started => "while starting",
            Stage::Loading => "while loading the library",
            Stage::Loaded => "after loading the library",
            Stage::Opening => "while opening a runtime",
            Stage::Opened => "after opening a runtime",
        })
    }
}

/// What the child saw when it loaded the plugin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Declaration {
    /// The backend's name.
    pub name: String,
    /// Its ABI version.
    pub abi_version: u32,
    /// Its `runtime-api` version.
    pub api_version: String,
}

/// What a probe found, when the child ended normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The child loaded the plugin (and opened a runtime, if asked).
    Loaded {
        /// The declaration the child saw.
        declaration: Declaration,
        /// The error of opening a runtime or listing its containers, if that was asked and
        /// failed cleanly (a configuration problem, not a crash).
        open_error: Option<String>,
    },
    /// The child's loader refused the plugin cleanly, with this message.
    Refused(String),
}

/// Why a probe did not give a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What happened to the child (`killed by signal 11 (SIGSEGV)`, `exited with 3`,
    /// `timed out after 5s`, `cannot start ...`).
    pub what: String,
    /// How far it got.
    pub stage: Stage,
    /// The end of its stderr.
    pub stderr: String,
}

/// A probe configuration: which helper, what time limit, whether to open a runtime.
#[derive(Debug, Clone)]
pub struct Probe {
    helper: PathBuf,
    args: Vec<String>,
    timeout: Duration,
    config: Option<serde_json::Value>,
}

impl Probe {
    /// A probe running `helper` (an executable that calls [`serve`] when given
    /// [`PROBE_ARG`], for example this crate's `rtlayer-plugin-probe`).
    pub fn new(helper: impl Into<PathBuf>) -> Probe {
        Probe {
            helper: helper.into(),
            args: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            config: None,
        }
    }

    /// A probe over the helper named by `RTLAYER_PLUGIN_PROBE`, else `rtlayer-plugin-probe`
    /// beside the running executable (or in the parent of cargo's `deps/`). `None` if there
    /// is none.
    pub fn locate() -> Option<Probe> {
        if let Some(path) = std::env::var_os(HELPER_VAR).filter(|v| !v.is_empty()) {
            return Some(Probe::new(path));
        }
        let exe = std::env::current_exe().ok()?;
        let dir = exe.parent()?;
        let mut candidates = vec![dir.join(HELPER_NAME)];
        if dir.file_name().is_some_and(|n| n == "deps") {
            candidates.extend(dir.parent().map(|p| p.join(HELPER_NAME)));
        }
        candidates.into_iter().find(|p| p.is_file()).map(Probe::new)
    }

    /// Extra arguments put before [`PROBE_ARG`] (for a host whose own binary serves the probe
    /// behind a subcommand).
    pub fn with_args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Probe {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// The time limit of one probe (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Probe {
        self.timeout = timeout;
        self
    }

    /// Also open a runtime with `config` in the child and list its containers, so that a
    /// crash in `open` is caught too.
    pub fn open_with(mut self, config: serde_json::Value) -> Probe {
        self.config = Some(config);
        self
    }

    /// The helper executable.
    pub fn helper(&self) -> &Path {
        &self.helper
    }

    /// Runs the child on `path` and waits for it (at most the time limit).
    pub fn run(&self, path: &Path) -> Result<Verdict, Failure> {
        let span = tracing::debug_span!("plugin.probe", path = %path.display());
        let _e = span.enter();
        let mut command = Command::new(&self.helper);
        command
            .args(&self.args)
            .arg(PROBE_ARG)
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(config) = &self.config {
            command.arg(config.to_string());
        }
        let failure = |what: String, stage, stderr| Failure {
            what,
            stage,
            stderr,
        };
        let mut child = command.spawn().map_err(|e| {
            failure(
                format!("cannot start {}: {e}", self.helper.display()),
                Stage::Started,
                String::new(),
            )
        })?;
        let outcome = watch(&mut child, self.timeout);
        let (status, stdout, stderr) = match outcome {
            Ok(done) => done,
            Err((what, stdout, stderr)) => {
                return Err(failure(what, stage_of(&stdout), tail(&stderr)))
            }
        };
        let stage = stage_of(&stdout);
        if let Some(signal) = status.signal() {
            return Err(failure(
                format!("killed by signal {signal} ({})", signal_name(signal)),
                stage,
                tail(&stderr),
            ));
        }
        if status.code() != Some(0) {
            return Err(failure(
                format!("exited with {status}"),
                stage,
                tail(&stderr),
            ));
        }
        parse(&stdout)
            .ok_or_else(|| failure("ended without a verdict".to_string(), stage, tail(&stderr)))
    }
}

/// Waits for `child` on a pidfd (at most `timeout`), collecting its stdout and stderr.
/// Kills and reaps it on timeout.
#[allow(clippy::type_complexity)]
fn watch(
    child: &mut Child,
    timeout: Duration,
) -> Result<(std::process::ExitStatus, Vec<u8>, Vec<u8>), (String, Vec<u8>, Vec<u8>)> {
    let mut stdout = child.stdout.take().map(OwnedFd::from);
    let mut stderr = child.stderr.take().map(OwnedFd::from);
    let mut out = Vec::new();
    let mut err = Vec::new();
    let pid = child.id() as libc::pid_t;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; `pid` is our own
    // unreaped child, so it cannot have been reused.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let pidfd = if raw >= 0 {
        // SAFETY: the syscall returned a fresh fd that nothing else owns.
        Some(unsafe { OwnedFd::from_raw_fd(raw as i32) })
    } else {
        None
    };
    let deadline = Instant::now() + timeout;
    let mut exited = false;
    loop {
        let now = Instant::now();
        if exited {
            // Drain what is already in the pipes, without waiting for grandchildren that
            // may hold them open.
            drain_now(&mut stdout, &mut out);
            drain_now(&mut stderr, &mut err);
            break;
        }
        if now >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err((format!("timed out after {timeout:?} (killed)"), out, err));
        }
        let remaining = deadline - now;
        let ms = u16::try_from(remaining.as_millis().min(1000)).unwrap_or(1000);
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        let mut kinds = Vec::new();
        if let Some(fd) = &stdout {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            kinds.push(0);
        }
        if let Some(fd) = &stderr {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            kinds.push(1);
        }
        if let Some(fd) = &pidfd {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            kinds.push(2);
        }
        // Without a pidfd (old kernel), poll the pipes and try_wait every 10 ms.
        let wait = if pidfd.is_some() { ms } else { ms.min(10) };
        match poll(&mut fds, PollTimeout::from(wait)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err((format!("poll failed: {e}"), out, err));
            }
        }
        let ready: Vec<(usize, bool)> = fds
            .iter()
            .zip(&kinds)
            .map(|(fd, kind)| (*kind, fd.revents().is_some_and(|r| !r.is_empty())))
            .collect();
        drop(fds);
        for (kind, is_ready) in ready {
            if !is_ready {
                continue;
            }
            match kind {
                0 => {
                    read_some(&mut stdout, &mut out);
                }
                1 => {
                    read_some(&mut stderr, &mut err);
                }
                _ => {}
            }
        }
        if let Ok(Some(_)) = child.try_wait() {
            exited = true;
        }
    }
    let status = child
        .wait()
        .map_err(|e| (format!("cannot wait: {e}"), Vec::new(), Vec::new()))?;
    Ok((status, out, err))
}

const CAP: usize = 1 << 20;

/// One read from a ready pipe; closes it at end-of-file. Returns whether bytes came.
fn read_some(fd: &mut Option<OwnedFd>, into: &mut Vec<u8>) -> bool {
    let Some(owned) = fd.as_ref() else {
        return false;
    };
    let mut buf = [0u8; 8192];
    match nix::unistd::read(owned.as_fd(), &mut buf) {
        Ok(0) => {
            *fd = None;
            false
        }
        Ok(n) => {
            if into.len() < CAP {
                into.extend_from_slice(&buf[..n]);
            }
            true
        }
        Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => false,
        Err(_) => {
            *fd = None;
            false
        }
    }
}

/// Reads whatever is readable right now.
fn drain_now(fd: &mut Option<OwnedFd>, into: &mut Vec<u8>) {
    while let Some(owned) = fd.as_ref() {
        let mut fds = [PollFd::new(owned.as_fd(), PollFlags::POLLIN)];
        if !matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0) {
            return;
        }
        if !read_some(fd, into) {
            return;
        }
    }
}

/// The end of the child's stderr, on one line (lines joined with " | "), so that a host's
/// one-line error stays one line.
fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(2000);
    String::from_utf8_lossy(&bytes[start..])
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn stage_of(stdout: &[u8]) -> Stage {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .map(|line| match line.split(' ').next() {
            Some("loading") => Stage::Loading,
            Some("loaded") => Stage::Loaded,
            Some("opening") => Stage::Opening,
            Some("opened") | Some("open-failed") => Stage::Opened,
            _ => Stage::Started,
        })
        .max()
        .unwrap_or(Stage::Started)
}

fn parse(stdout: &[u8]) -> Option<Verdict> {
    let text = String::from_utf8_lossy(stdout);
    let mut declaration = None;
    let mut open_error = None;
    for line in text.lines() {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "refused" => return Some(Verdict::Refused(rest.to_string())),
            "loaded" => declaration = serde_json::from_str::<Declaration>(rest).ok(),
            "open-failed" => open_error = Some(rest.to_string()),
            _ => {}
        }
    }
    let done = text.lines().any(|l| l == "done");
    match (declaration, done) {
        (Some(declaration), true) => Some(Verdict::Loaded {
            declaration,
            open_error,
        }),
        _ => None,
    }
}

fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {signal}"))
}

/// The child's side: if `args` (without the program name) start with [`PROBE_ARG`], loads
/// the plugin they name, reports on stdout, and returns the exit code to exit with; else
/// returns `None` (the program goes on as usual). A host binary can serve as its own helper:
///
/// ```no_run
/// if let Some(code) = plugin::host::probe::serve(std::env::args().skip(1)) {
///     std::process::exit(code);
/// }
/// ```
pub fn serve(args: impl IntoIterator<Item = String>) -> Option<i32> {
    let mut args = args.into_iter();
    if args.next().as_deref() != Some(PROBE_ARG) {
        return None;
    }
    Some(serve_probe(args.collect()))
}

fn serve_probe(args: Vec<String>) -> i32 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let mut say = |line: &str| {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    let Some(path) = args.first() else {
        eprintln!("usage: {PROBE_ARG} <plugin path> [<config JSON>]");
        return 2;
    };
    let config = match args
        .get(1)
        .map(|c| serde_json::from_str::<serde_json::Value>(c))
    {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            eprintln!("the configuration is not JSON: {e}");
            return 2;
        }
    };
    say("loading");
    let plugin = match crate::host::loader::load(Path::new(path)) {
        Ok(p) => p,
        Err(e) => {
            say(&format!("refused {e}"));
            return 0;
        }
    };
    let declaration = Declaration {
        name: plugin.name().to_string(),
        abi_version: plugin.abi_version(),
        api_version: plugin.api_version().to_string(),
    };
    say(&format!(
        "loaded {}",
        serde_json::to_string(&declaration).unwrap_or_default()
    ));
    if let Some(config) = config {
        say("opening");
        match plugin
            .open(&config)
            .and_then(|runtime| runtime.list_container_states().map(|_| ()))
        {
            Ok(()) => say("opened"),
            Err(e) => say(&format!("open-failed {e}")),
        }
    }
    say("done");
    0
}
