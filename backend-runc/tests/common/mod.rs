//! Shared helpers of the runc backend's tests: the plugin, per-test runc roots, stdio
//! connections and process checks.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread::JoinHandle;

use runtime_api::{Runtime, StdioSet};

/// The runc plugin, loaded once per test binary through the plugin loader.
pub fn plugin() -> &'static plugin::Plugin {
    static P: OnceLock<plugin::Plugin> = OnceLock::new();
    P.get_or_init(|| {
        let path = plugin::testing::plugin_path("backend-runc");
        plugin::load(&path).unwrap_or_else(|e| panic!("loading the runc plugin: {e}"))
    })
}

/// Whether this test binary drives youki: the `youki*` test binaries compile the runc tests
/// again (`#[path]`), with youki as the runtime binary.
pub fn on_youki() -> bool {
    env!("CARGO_CRATE_NAME").starts_with("youki")
}

/// The runtime binary this test binary drives: youki (see [`on_youki`]) or `runc`.
pub fn runtime_bin() -> PathBuf {
    if on_youki() {
        testkit::youki_path().unwrap_or_else(|| PathBuf::from("youki"))
    } else {
        PathBuf::from("runc")
    }
}

/// Call first in a test that needs the real runtime: runc's checks ([`testkit::require_runc_or_skip`]),
/// and youki's in the youki binaries (mandatory under `RTL_REQUIRE_RUNC=1` too).
pub fn require_runc_or_skip(test_name: &str) -> bool {
    testkit::require_runc_or_skip(test_name)
        && (!on_youki() || testkit::require_youki_or_skip(test_name).is_some())
}

pub use testkit::bounded;

/// [`runtime_api::Process::wait`] under the tests' wait bound (see [`bounded`]).
pub trait WaitBounded {
    fn wait_bounded(&self) -> runtime_api::Result<runtime_api::ExitStatus>;
}

impl<P: runtime_api::Process + ?Sized> WaitBounded for P {
    fn wait_bounded(&self) -> runtime_api::Result<runtime_api::ExitStatus> {
        bounded(&format!("the wait of pid {}", self.pid()), || self.wait())
    }
}

/// One test's private runc world: a runc `--root` and a state directory under a temp dir, so
/// tests run in parallel and leave nothing behind.
pub struct World {
    pub tmp: tempfile::TempDir,
    pub rt: Box<dyn Runtime>,
    pub name: String,
}

impl World {
    /// A world with the drain grace of the tests (300 ms) and the given extra config keys.
    pub fn new(name: &str) -> World {
        World::with(name, serde_json::json!({}))
    }

    pub fn with(name: &str, extra: serde_json::Value) -> World {
        let tmp = tempfile::Builder::new()
            .prefix("rtl-runc-")
            .tempdir()
            .unwrap();
        let mut config = serde_json::json!({
            "runc_path": runtime_bin(),
            "root": tmp.path().join("root"),
            "state_dir": tmp.path().join("state"),
            "drain_grace_ms": 300,
            "peer_close_timeout_ms": 300,
            "command_timeout_ms": 20000,
        });
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        let rt = plugin().open(&config).unwrap();
        World {
            tmp,
            rt,
            name: name.to_string(),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.tmp.path().join("state")
    }

    /// A container id unique to this test and process.
    pub fn id(&self, n: u32) -> String {
        format!("{}-{}-{n}", self.name, std::process::id())
    }

    /// The entries of the state directory (none should stay).
    pub fn state_entries(&self) -> Vec<String> {
        std::fs::read_dir(self.state_dir())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs the real runtime binary (runc, or youki) with this world's root.
    pub fn runc(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(runtime_bin())
            .arg("--root")
            .arg(self.root())
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs the real runc binary with this world's root and all stdio on `/dev/null` (a
    /// detached container would otherwise hold a captured pipe open).
    pub fn runc_quiet(&self, args: &[&str]) -> bool {
        std::process::Command::new(runtime_bin())
            .arg("--root")
            .arg(self.root())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    /// A runc wrapper that appends each invocation's arguments to `<tmp>/runc-calls` and then
    /// runs the real runtime binary.
    pub fn recording_runc(&self) -> (PathBuf, PathBuf) {
        let log = self.tmp.path().join("runc-calls");
        let script = self.script(
            "recording-runc",
            &format!(
                "#!/bin/sh\necho \"$*\" >> {}\nexec {} \"$@\"\n",
                log.display(),
                runtime_bin().display()
            ),
        );
        (script, log)
    }

    /// Writes an executable script into the world's temp dir.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

impl Drop for World {
    /// Force-deletes whatever a test (a failing one, say) left in this world's runc root, so
    /// that no container process outlives the test.
    fn drop(&mut self) {
        // `list` prints a table on both runtimes (youki ignores `-q`): the first column, after
        // the header.
        let Ok(out) = std::process::Command::new(runtime_bin())
            .arg("--root")
            .arg(self.root())
            .args(["list"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
        else {
            return;
        };
        for line in String::from_utf8_lossy(&out.stdout).lines().skip(1) {
            if let Some(id) = line.split_whitespace().next() {
                self.runc_quiet(&["delete", "--force", id]);
            }
        }
    }
}

/// A connection whose far end is read to end-of-file on a thread.
pub struct Sink {
    handle: JoinHandle<Vec<u8>>,
}

impl Sink {
    pub fn new() -> (OwnedFd, Sink) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let handle = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut s = ours;
            s.read_to_end(&mut buf).unwrap();
            buf
        });
        (OwnedFd::from(theirs), Sink { handle })
    }

    pub fn bytes(self) -> Vec<u8> {
        self.handle.join().unwrap()
    }
}

/// A stdin connection: the bytes are written by a thread, then the connection is closed.
pub fn source(data: Vec<u8>) -> OwnedFd {
    let (ours, theirs) = UnixStream::pair().unwrap();
    std::thread::spawn(move || {
        let mut s = ours;
        let _ = s.write_all(&data);
        let _ = s.shutdown(std::net::Shutdown::Write);
        // Keep our end until the peer closes, so the relay sees a clean end-of-file.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    OwnedFd::from(theirs)
}

/// A stdin connection the test writes to later (a pipe).
pub fn pipe_stdin() -> (OwnedFd, std::fs::File) {
    let (r, w) = nix::unistd::pipe().unwrap();
    (r, std::fs::File::from(w))
}

/// Stdio with stdout and stderr collected.
pub fn collect(stdin: Option<OwnedFd>) -> (StdioSet, Sink, Sink) {
    let (out, out_sink) = Sink::new();
    let (err, err_sink) = Sink::new();
    (
        StdioSet {
            stdin,
            stdout: Some(out),
            stderr: Some(err),
        },
        out_sink,
        err_sink,
    )
}

/// Waits until child `pid` of this process has exited, without reaping it (`waitid` with
/// `WNOWAIT`): it stays a zombie, its status there for whoever reaps it. `Err(ECHILD)` if
/// someone else reaped it first.
pub fn wait_exit_unreaped(pid: i32) -> nix::Result<()> {
    use nix::sys::wait::{waitid, Id, WaitPidFlag};
    waitid(
        Id::Pid(nix::unistd::Pid::from_raw(pid)),
        WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
    )
    .map(drop)
}

/// Whether `pid` exists at all (alive or zombie).
pub fn exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The one-letter state of `pid`, if it exists.
pub fn proc_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 2..].chars().next()
}

/// The children of `pid` (scans /proc).
pub fn children(pid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = &s[s.rfind(')')? + 2..];
                    rest.split_whitespace().nth(1)?.parse::<i32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// Processes whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(needle)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// `unwrap_err` for results whose value has no `Debug` (containers, processes).
pub trait Failed {
    fn failed(self) -> runtime_api::Error;
}

impl<T> Failed for runtime_api::Result<T> {
    fn failed(self) -> runtime_api::Error {
        match self {
            Ok(_) => panic!("expected an error, got success"),
            Err(e) => e,
        }
    }
}

/// Reaps our child `pid` (a process the test started outside the backend), waiting until it
/// has been reparented to us and has exited.
pub fn reap_own(pid: i32) {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    use nix::unistd::Pid;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while exists(pid) {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "pid {pid} does not go away"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Ok(_) => return,
        }
    }
}
