//! Helpers shared by rtctl's integration tests: the built binary, its plugins beside it, and
//! isolated runc directories.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (where `examples/` lives).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// The rtctl binary cargo built for these tests.
pub fn rtctl_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rtctl"))
}

/// Makes sure the backend plugin of workspace package `package` is built beside the rtctl
/// binary (same target dir and profile), so `--backend <name>` finds it.
pub fn ensure_plugin(package: &str) -> PathBuf {
    let built = plugin::testing::plugin_path(package);
    let beside = rtctl_path()
        .parent()
        .expect("the binary's directory")
        .join(built.file_name().expect("a library file name"));
    assert!(
        beside.is_file(),
        "{} was built at {}, not beside rtctl ({})",
        package,
        built.display(),
        beside.display()
    );
    beside
}

/// An rtctl command run from the workspace root, with no backend chosen by the environment
/// and no RUST_LOG (so stderr holds only what rtctl prints itself).
pub fn rtctl() -> Command {
    let mut cmd = Command::new(rtctl_path());
    cmd.current_dir(workspace())
        .env_remove("RTCTL_BACKEND")
        .env_remove("RTCTL_PLUGIN_PATH")
        .env_remove("RUST_LOG")
        .env_remove("RTL_SIM_SEED");
    cmd
}

/// Runs `cmd` and returns its output, printing it for the test log.
pub fn output(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("rtctl runs");
    eprintln!(
        "--- {:?}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Private runc directories for one test, so that "nothing left behind" can be checked
/// exactly and tests never see each other's containers.
pub struct RuncDirs {
    pub dir: tempfile::TempDir,
}

impl RuncDirs {
    pub fn new() -> RuncDirs {
        RuncDirs {
            dir: tempfile::Builder::new()
                .prefix("rtctl-runc-")
                .tempdir()
                .expect("a temp dir"),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("runc-root")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The `--backend-config` value pointing runc at these directories.
    pub fn config(&self) -> String {
        serde_json::json!({
            "root": self.root(),
            "state_dir": self.state(),
        })
        .to_string()
    }

    /// Every entry left in either directory (none after a clean run).
    pub fn leftovers(&self) -> Vec<PathBuf> {
        let mut left = Vec::new();
        for d in [self.root(), self.state()] {
            if let Ok(entries) = std::fs::read_dir(&d) {
                left.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()));
            }
        }
        left
    }
}

/// Builds a busybox bundle running `args` (terminal on or off) in a temp dir.
pub fn bundle(args: &[&str], terminal: bool) -> testkit::Bundle {
    testkit::BundleBuilder::new(args)
        .terminal(terminal)
        .build()
        .expect("a busybox bundle")
}

/// stderr as text.
pub fn stderr_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the bad-input contract: non-zero exit, exactly one line on stderr, starting with
/// `rtctl: ` and containing `needle`, and nothing on stdout.
pub fn assert_one_line_error(out: &Output, needle: &str) {
    let err = stderr_text(out);
    assert!(!out.status.success(), "must fail: {err}");
    assert_eq!(out.status.code(), Some(125), "rtctl's own failure code");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got {err:?}");
    assert!(lines[0].starts_with("rtctl: "), "{err:?}");
    assert!(
        lines[0].contains(needle),
        "{err:?} should mention {needle:?}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout: {:?}", out.stdout);
}
