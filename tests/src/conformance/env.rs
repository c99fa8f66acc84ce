//! What a conformance case gets: the runtime, unique ids, bundles in a temporary directory,
//! connections, bounded waits, and cleanup of everything the case created.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use runtime_api::{Container, ErrorKind, ExitStatus, Process, Runtime, Signal, StdioSet};
use testkit::{Bundle, BundleBuilder};

use crate::connection::{connect, Collected, Drain};
use crate::scenario::Conn;

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Wall-clock bound on any single blocking call of a case; past it the case fails as hung.
pub const HANG_BOUND: Duration = Duration::from_secs(60);

/// The context of one case.
pub struct Env<'a> {
    /// The runtime under test.
    pub runtime: &'a dyn Runtime,
    tag: String,
    dir: tempfile::TempDir,
    created: Mutex<Vec<Arc<dyn Container>>>,
    bundles: Mutex<Vec<Bundle>>,
}

/// Fails the case with a message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// The error kind of a result, for comparisons.
pub fn kind<T>(r: &runtime_api::Result<T>) -> Option<ErrorKind> {
    r.as_ref().err().map(|e| e.kind())
}

/// Checks that `r` failed with `want`.
pub fn expect_kind<T: std::fmt::Debug>(
    what: &str,
    r: runtime_api::Result<T>,
    want: ErrorKind,
) -> Result<(), String> {
    match r {
        Err(e) if e.kind() == want => Ok(()),
        Err(e) => Err(format!("{what}: expected {want:?}, got error {e}")),
        Ok(v) => Err(format!("{what}: expected {want:?}, got Ok({v:?})")),
    }
}

impl<'a> Env<'a> {
    /// A fresh context for case `name`.
    pub fn new(runtime: &'a dyn Runtime, name: &str) -> std::io::Result<Env<'a>> {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let short: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(16)
            .collect();
        Ok(Env {
            runtime,
            tag: format!("cf{}-{n}-{short}", std::process::id()),
            dir: tempfile::Builder::new()
                .prefix("rtl-conformance-")
                .tempdir()?,
            created: Mutex::new(Vec::new()),
            bundles: Mutex::new(Vec::new()),
        })
    }

    /// A container id unique to this case and `suffix`.
    pub fn id(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.tag)
    }

    /// A cgroup path unique to this case and `suffix`.
    pub fn cgroup(&self, suffix: &str) -> String {
        format!("/rtl-conformance/{}-{suffix}", self.tag)
    }

    /// Writes `builder` as a bundle in the case's temporary directory; it lives as long as the
    /// case.
    pub fn bundle(&self, builder: BundleBuilder) -> Result<std::path::PathBuf, String> {
        let b = builder
            .in_dir(self.dir.path())
            .build()
            .map_err(|e| format!("writing a bundle: {e}"))?;
        let path = b.path().to_path_buf();
        self.bundles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(b);
        Ok(path)
    }

    /// The case's temporary directory.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Creates container `suffix` from `builder` with `stdio`, remembered for cleanup.
    pub fn create(
        &self,
        suffix: &str,
        builder: BundleBuilder,
        stdio: StdioSet,
    ) -> Result<Arc<dyn Container>, String> {
        let path = self.bundle(builder)?;
        self.create_at(suffix, &path, stdio)
            .map_err(|e| format!("create {suffix}: {e}"))
    }

    /// Creates container `suffix` from the bundle at `path`, remembered for cleanup.
    pub fn create_at(
        &self,
        suffix: &str,
        path: &std::path::Path,
        stdio: StdioSet,
    ) -> runtime_api::Result<Arc<dyn Container>> {
        let c: Arc<dyn Container> = Arc::from(self.runtime.create_container(
            "conformance",
            &self.id(suffix),
            path,
            stdio,
        )?);
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(c.clone());
        Ok(c)
    }

    /// Creates and starts container `suffix` running `args`.
    pub fn started(
        &self,
        suffix: &str,
        builder: BundleBuilder,
        stdio: StdioSet,
    ) -> Result<Arc<dyn Container>, String> {
        let c = self.create(suffix, builder, stdio)?;
        c.start().map_err(|e| format!("start {suffix}: {e}"))?;
        Ok(c)
    }

    /// Kills (KILL), waits for and deletes everything the case created; says what could not be
    /// cleaned up. A container whose `exists` fails (a backend that cannot read its state) is
    /// killed and deleted all the same: a failing case must not leave containers or state
    /// directories behind.
    pub fn cleanup(&self) -> Option<String> {
        let created = std::mem::take(&mut *self.created.lock().unwrap_or_else(|p| p.into_inner()));
        let mut left = Vec::new();
        for c in created {
            let exists_error = match c.exists() {
                Ok(false) => continue,
                Ok(true) => None,
                Err(e) => Some(e),
            };
            let _ = c.kill(Signal::KILL);
            if wait_bounded(Arc::new(Init(c.clone()))).is_none() {
                left.push(format!("{}: wait hung during cleanup", c.id()));
                continue;
            }
            match (c.delete(), exists_error) {
                (Ok(()), _) => {}
                (Err(e), _) if e.kind() == ErrorKind::NotFound => {}
                (Err(e), None) => left.push(format!("{}: delete: {e}", c.id())),
                (Err(e), Some(x)) => left.push(format!("{}: exists: {x}; delete: {e}", c.id())),
            }
        }
        (!left.is_empty()).then(|| left.join("; "))
    }
}

/// A container's init as a process.
pub struct Init(pub Arc<dyn Container>);

impl Process for Init {
    fn pid(&self) -> i32 {
        self.0.pid()
    }
    fn wait(&self) -> runtime_api::Result<ExitStatus> {
        self.0.wait()
    }
    fn delete(&self) -> runtime_api::Result<()> {
        self.0.delete()
    }
    fn resize_console(&self, size: runtime_api::ConsoleSize) -> runtime_api::Result<()> {
        self.0.resize_console(size)
    }
    fn relay_report(&self) -> Option<runtime_api::RelayReport> {
        self.0.relay_report()
    }
}

/// Waits on another thread for at most [`HANG_BOUND`]; `None` if it hung.
pub fn wait_bounded(p: Arc<dyn Process>) -> Option<runtime_api::Result<ExitStatus>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(p.wait());
    });
    rx.recv_timeout(HANG_BOUND).ok()
}

/// Waits for a container's init, failing the case if it hangs or errors.
pub fn wait_init(c: &Arc<dyn Container>) -> Result<ExitStatus, String> {
    wait_proc(Arc::new(Init(c.clone())))
}

/// Waits for a process, failing the case if it hangs or errors.
pub fn wait_proc(p: Arc<dyn Process>) -> Result<ExitStatus, String> {
    match wait_bounded(p) {
        None => Err(format!("wait did not return within {HANG_BOUND:?}")),
        Some(Err(e)) => Err(format!("wait failed: {e}")),
        Some(Ok(s)) => Ok(s),
    }
}

/// A connection the case drains.
pub fn capture(conn: Conn) -> Result<(OwnedFd, Drain), String> {
    match connect(conn).map_err(|e| format!("making a connection: {e}"))? {
        (Some(fd), Some(d)) => Ok((fd, d)),
        _ => Err("no connection for /dev/null".into()),
    }
}

/// Stdout and stderr on pipes the case drains.
pub fn piped() -> Result<(StdioSet, Drain, Drain), String> {
    let (out, dout) = capture(Conn::Pipe)?;
    let (err, derr) = capture(Conn::Pipe)?;
    Ok((
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: Some(err),
        },
        dout,
        derr,
    ))
}

/// What a drain collected after `wait` returned; fails if the runtime left it open.
pub fn collected(d: Drain, what: &str) -> Result<Vec<u8>, String> {
    match d.finish(Duration::from_secs(10)) {
        Some(Collected { bytes, error: None }) => Ok(bytes),
        Some(Collected { error: Some(e), .. }) => Err(format!("{what}: read error {e}")),
        None => Err(format!(
            "{what}: connection still open 10 s after wait returned"
        )),
    }
}

/// An exec of `args` without a terminal.
pub fn exec(
    c: &Arc<dyn Container>,
    args: &[&str],
    stdio: StdioSet,
) -> Result<Arc<dyn Process>, String> {
    c.exec(&testkit::exec_process(args, false), stdio)
        .map(Arc::from)
        .map_err(|e| format!("exec {args:?}: {e}"))
}

/// `["sh", "-c", script]`.
pub fn sh(script: &str) -> [&str; 3] {
    ["sh", "-c", script]
}
