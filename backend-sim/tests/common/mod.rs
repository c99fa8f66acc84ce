//! Helpers shared by the simulator's integration tests.
#![allow(dead_code)]

use backend_sim::{Config, SimRuntime};
use runtime_api::{Container, ExitStatus, Process, Runtime, StdioSet};
use serde_json::json;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::mpsc;
use testkit::{BundleBuilder, PidNamespace};

/// A simulated runtime with this seed and otherwise default configuration.
pub fn sim(seed: u64) -> SimRuntime {
    backend_sim::open(Config {
        seed: Some(seed),
        ..Config::default()
    })
    .unwrap()
}

/// A simulated runtime from a JSON configuration.
pub fn sim_json(config: serde_json::Value) -> SimRuntime {
    backend_sim::open_from_json(&config).unwrap()
}

pub use testkit::bounded;

/// A reader that collects everything written to a pipe until end-of-file, on its own thread.
pub struct Capture {
    bytes: mpsc::Receiver<Vec<u8>>,
}

impl Capture {
    /// A pipe: the write end for the runtime, and the capture of the read end.
    pub fn new() -> (OwnedFd, Capture) {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let (tx, bytes) = mpsc::channel();
        std::thread::spawn(move || {
            let mut f = std::fs::File::from(r);
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap();
            let _ = tx.send(out);
        });
        (w, Capture { bytes })
    }

    /// Everything read, once the writer closed (bounded like a wait, see [`bounded`]).
    pub fn bytes(self) -> Vec<u8> {
        bounded("reading a captured stream to end-of-file", move || {
            self.bytes.recv().expect("the capture thread failed")
        })
    }
}

/// Stdio with captured stdout and stderr, and optional stdin bytes (then end-of-file).
pub struct Io {
    pub set: StdioSet,
    pub out: Capture,
    pub err: Capture,
}

pub fn io(stdin: Option<&[u8]>) -> Io {
    let (out_w, out) = Capture::new();
    let (err_w, err) = Capture::new();
    let stdin = stdin.map(|bytes| {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let mut f = std::fs::File::from(w);
            let _ = f.write_all(&bytes);
        });
        r
    });
    Io {
        set: StdioSet {
            stdin,
            stdout: Some(out_w),
            stderr: Some(err_w),
        },
        out,
        err,
    }
}

/// A bundle running `args` in its own pid namespace.
pub fn bundle(args: &[&str]) -> testkit::Bundle {
    BundleBuilder::new(args).build().unwrap()
}

/// A bundle with a chosen pid namespace and cgroup.
pub fn bundle_with(args: &[&str], ns: PidNamespace, cgroup: Option<&str>) -> testkit::Bundle {
    let mut b = BundleBuilder::new(args).pid_namespace(ns);
    if let Some(c) = cgroup {
        b = b.cgroups_path(c);
    }
    b.build().unwrap()
}

/// Runs `sh -c script` as a container's init; returns (status, stdout, stderr).
pub fn run_init(
    rt: &dyn Runtime,
    id: &str,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> (ExitStatus, Vec<u8>, Vec<u8>) {
    let b = bundle(args);
    run_init_in(rt, id, &b, stdin)
}

/// Runs a bundle's process as a container's init; returns (status, stdout, stderr).
pub fn run_init_in(
    rt: &dyn Runtime,
    id: &str,
    b: &testkit::Bundle,
    stdin: Option<&[u8]>,
) -> (ExitStatus, Vec<u8>, Vec<u8>) {
    let io = io(stdin);
    let c = rt.create_container("sb", id, b.path(), io.set).unwrap();
    c.start().unwrap();
    let st = bounded("wait of an init", || c.wait()).unwrap();
    c.delete().unwrap();
    (st, io.out.bytes(), io.err.bytes())
}

/// Runs `args` as an exec in a running container; returns (status, stdout, stderr).
pub fn run_exec(
    c: &dyn Container,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> (ExitStatus, Vec<u8>, Vec<u8>, Box<dyn Process>) {
    let io = io(stdin);
    let p = c.exec(&testkit::exec_process(args, false), io.set).unwrap();
    let st = bounded("wait of an exec", || p.wait()).unwrap();
    (st, io.out.bytes(), io.err.bytes(), p)
}

/// A started container running `sh -c 'sleep 1000'` (a long-lived init for execs).
pub fn long_container(rt: &dyn Runtime, id: &str) -> (Box<dyn Container>, testkit::Bundle) {
    let b = bundle(&["sh", "-c", "sleep 1000"]);
    let c = rt
        .create_container("sb", id, b.path(), StdioSet::none())
        .unwrap();
    c.start().unwrap();
    (c, b)
}

/// The JSON of an extension call.
pub fn ext(rt: &dyn Runtime, method: &str, params: serde_json::Value) -> serde_json::Value {
    rt.extension(method, &params).unwrap()
}

pub fn no_params() -> serde_json::Value {
    json!({})
}

/// A bundle with only `config.json` and an empty `rootfs/`: enough for the simulator, and
/// much cheaper than a busybox bundle when a test needs hundreds.
pub fn light_bundle(args: &[&str], ns: PidNamespace, cgroup: Option<&str>) -> tempfile::TempDir {
    let mut b = BundleBuilder::new(args).pid_namespace(ns);
    if let Some(c) = cgroup {
        b = b.cgroups_path(c);
    }
    let spec = b.spec_mut().clone();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rootfs")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_vec(&spec).unwrap(),
    )
    .unwrap();
    dir
}
