//! A private containerd for the shim's tests: its own root, state, socket and namespace, with
//! the shim binary on its `PATH`, stopped (with its tasks) when dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The containerd binary (Debian's `containerd` package).
pub const CONTAINERD: &str = "/usr/bin/containerd";
/// Its client.
pub const CTR: &str = "/usr/bin/ctr";
/// The runtime name containerd maps to `containerd-shim-rtlayer-v1`.
pub const RUNTIME: &str = "io.containerd.rtlayer.v1";

/// `true` if the test can run: root, runc, busybox (testkit's rule) and containerd with ctr.
/// Under `RTL_REQUIRE_RUNC=1` a missing piece panics instead of skipping.
pub fn require_containerd_or_skip(test: &str) -> bool {
    if !testkit::require_runc_or_skip(test) {
        return false;
    }
    let missing: Vec<&str> = [CONTAINERD, CTR]
        .into_iter()
        .filter(|p| !Path::new(p).is_file())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if testkit::runc_required() {
        panic!(
            "{test}: containerd tests are mandatory ({}=1) but {} missing (apt-get install containerd)",
            testkit::REQUIRE_RUNC_VAR,
            missing.join(", ")
        );
    }
    eprintln!(
        "SKIPPED {test}: {} missing (install containerd)",
        missing.join(", ")
    );
    false
}

/// Polls `f` until it returns `Some`, or panics after `timeout` naming `what`.
pub fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The shim binary cargo built for these tests.
pub fn shim_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_containerd-shim-rtlayer-v1"))
}

/// A running private containerd.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    child: Child,
    pub socket: PathBuf,
    pub namespace: String,
    pub rootfs: PathBuf,
}

impl Daemon {
    /// Starts containerd for test `test` (also its namespace), with the plugins built.
    pub fn start(test: &str) -> Daemon {
        // Backend names resolve beside the shim binary: build them there.
        for p in ["backend-runc", "backend-sim"] {
            plugin::testing::plugin_path(p);
        }
        let dir = tempfile::Builder::new()
            .prefix("rtl-ctd-")
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("containerd.sock");
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{sock}"
"#,
                root = dir.path().join("root").display(),
                state = dir.path().join("state").display(),
                sock = socket.display(),
            ),
        )
        .unwrap();
        let shim_dir = shim_binary().parent().unwrap().to_path_buf();
        let path = format!(
            "{}:{}",
            shim_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let log = std::fs::File::create(dir.path().join("containerd.log")).unwrap();
        let child = Command::new(CONTAINERD)
            .arg("--config")
            .arg(&config)
            .env("PATH", path)
            // The shims' own log (debug) goes into containerd's log: tests read it.
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start containerd");
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(&rootfs).unwrap();
        testkit::write_busybox_rootfs(&rootfs).expect("busybox rootfs");
        let d = Daemon {
            dir,
            child,
            socket,
            namespace: test.replace(['_', ':'], "-"),
            rootfs,
        };
        eventually("containerd to serve", Duration::from_secs(20), || {
            d.ctr(&["version"]).status.success().then_some(())
        });
        d
    }

    /// Whether containerd's log (its own lines and its shims') contains `text`.
    pub fn log_contains(&self, text: &str) -> bool {
        std::fs::read(self.dir.path().join("containerd.log"))
            .map(|log| String::from_utf8_lossy(&log).contains(text))
            .unwrap_or(false)
    }

    /// A `ctr` command on this daemon and namespace.
    pub fn ctr_cmd(&self) -> Command {
        let mut c = Command::new(CTR);
        c.arg("-a").arg(&self.socket).arg("-n").arg(&self.namespace);
        c
    }

    /// Runs `ctr args` to completion with no stdin.
    pub fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_cmd()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ctr")
    }

    /// Writes a runtime config file (`--runtime-config-path`) and returns its path.
    pub fn runtime_config(&self, name: &str, json: &serde_json::Value) -> PathBuf {
        let p = self.dir.path().join(format!("{name}.json"));
        std::fs::write(&p, json.to_string()).unwrap();
        p
    }

    /// The status word `ctr task ls` shows for `id`, if it lists it.
    pub fn task_status(&self, id: &str) -> Option<String> {
        let out = self.ctr(&["task", "ls"]);
        String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| f.get(2).unwrap_or(&"").to_string())
        })
    }

    /// The pid of the shim serving `id` in this daemon.
    pub fn shim_pid(&self, id: &str) -> Option<i32> {
        let sock = self.socket.display().to_string();
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<String> = cmd
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let is_ours = args
                .first()
                .is_some_and(|a| a.ends_with("containerd-shim-rtlayer-v1"))
                && args.windows(2).any(|w| w[0] == "-id" && w[1] == id)
                && args.windows(2).any(|w| w[0] == "-address" && w[1] == sock);
            is_ours.then_some(pid)
        })
    }

    /// Where the runc backend keeps this namespace's runc state and container state dirs.
    pub fn runc_root(&self) -> PathBuf {
        PathBuf::from("/run/containerd/rtlayer")
            .join(&self.namespace)
            .join("runc")
    }

    pub fn state_dir(&self) -> PathBuf {
        PathBuf::from("/run/containerd/rtlayer")
            .join(&self.namespace)
            .join("state")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Leave nothing running: remove what a failed test left, then stop containerd.
        let out = self.ctr(&["task", "ls", "-q"]);
        for id in String::from_utf8_lossy(&out.stdout).lines() {
            let _ = self.ctr(&["task", "rm", "-f", id]);
        }
        let out = self.ctr(&["container", "ls", "-q"]);
        for id in String::from_utf8_lossy(&out.stdout).lines() {
            let _ = self.ctr(&["container", "rm", id]);
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

/// stdout, stderr and exit code of a finished command, as text.
pub fn text(out: &Output) -> (String, String, i32) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}
