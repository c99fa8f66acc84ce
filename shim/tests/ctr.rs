//! The shim driven by a real containerd 1.6 through `ctr`, as a user would: `ctr run --rm
//! --runtime io.containerd.rtlayer.v1 --rootfs DIR ID CMD...` (no image pulls), on the runc
//! backend and on the simulator. Mandatory in CI (`RTL_REQUIRE_RUNC=1`).

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::json;

const LONG: Duration = Duration::from_secs(60);

#[test]
fn run_rm_on_runc_delivers_stdout_stderr_and_exit_code() {
    if !require_containerd_or_skip("run_rm_on_runc") {
        return;
    }
    let d = Daemon::start("run-rm-runc");
    let rootfs = d.rootfs.display().to_string();
    // No runtime options: the runc backend, found by name beside the shim binary.
    let out = d.ctr(&[
        "run",
        "--rm",
        "--runtime",
        RUNTIME,
        "--rootfs",
        &rootfs,
        "c1",
        "/bin/sh",
        "-c",
        "echo to-stdout; echo to-stderr >&2; exit 3",
    ]);
    let (stdout, stderr, code) = text(&out);
    assert_eq!(stdout, "to-stdout\n", "stderr: {stderr}");
    assert!(stderr.contains("to-stderr"), "stderr: {stderr}");
    assert_eq!(code, 3);
    // --rm removed everything: no task, no container, no runc state.
    assert_eq!(d.task_status("c1"), None);
    let ls = text(&d.ctr(&["container", "ls", "-q"])).0;
    assert!(!ls.lines().any(|l| l == "c1"), "{ls}");
    assert!(!d.state_dir().join("c1").exists());
    assert!(!d.runc_root().join("c1").exists());
    eventually("the shim to exit", LONG, || {
        d.shim_pid("c1").is_none().then_some(())
    });
    // The next shim of the namespace finds what runc said to `--version` (not a run of it).
    let cache = d.state_dir().with_file_name("runtime-version.json");
    let entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache).expect("the runtime version cache")).unwrap();
    assert_eq!(entry["flavour"], "runc", "{entry}");
}

#[test]
fn stdin_piped_into_ctr_run_reaches_the_container() {
    if !require_containerd_or_skip("stdin_piped") {
        return;
    }
    let d = Daemon::start("stdin-piped");
    let rootfs = d.rootfs.display().to_string();
    let mut child = d
        .ctr_cmd()
        .args([
            "run",
            "--rm",
            "--runtime",
            RUNTIME,
            "--rootfs",
            &rootfs,
            "c1",
            "/bin/cat",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin.write_all(b"ping through the fifo\n").unwrap();
    // Wait until cat echoed the line (the task runs and ctr's stdin closer is set), then close
    // stdin: ctr sends CloseIO, cat sees end-of-file and exits 0.
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"ping through the fifo\n") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "ctr's stdout ended early: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "ctr exited {status}");
}

#[test]
fn the_simulator_backend_runs_the_same_ctr_run() {
    if !require_containerd_or_skip("simulator_ctr_run") {
        return;
    }
    let d = Daemon::start("sim-run");
    let rootfs = d.rootfs.display().to_string();
    let cfg = d.runtime_config("sim", &json!({"backend": "sim", "config": {"seed": 7}}));
    let out = d.ctr(&[
        "run",
        "--rm",
        "--runtime",
        RUNTIME,
        "--runtime-config-path",
        cfg.to_str().unwrap(),
        "--rootfs",
        &rootfs,
        "s1",
        "/bin/sh",
        "-c",
        "echo simulated; echo on-stderr >&2; exit 4",
    ]);
    let (stdout, stderr, code) = text(&out);
    assert_eq!(stdout, "simulated\n", "stderr: {stderr}");
    assert!(stderr.contains("on-stderr"), "{stderr}");
    assert_eq!(code, 4);
}

#[test]
fn exec_output_exit_code_drain_and_refusal_after_init_exit() {
    if !require_containerd_or_skip("exec") {
        return;
    }
    let d = Daemon::start("exec");
    let rootfs = d.rootfs.display().to_string();
    let cfg = d.runtime_config(
        "runc",
        &json!({"backend": plugin::testing::plugin_path("backend-runc"), "config": {"drain_grace_ms": 1000}}),
    );
    let out = d.ctr(&[
        "run",
        "-d",
        "--null-io",
        "--runtime",
        RUNTIME,
        "--runtime-config-path",
        cfg.to_str().unwrap(),
        "--rootfs",
        &rootfs,
        "c1",
        "/bin/sleep",
        "1000",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    eventually("c1 running", LONG, || {
        (d.task_status("c1").as_deref() == Some("RUNNING")).then_some(())
    });

    let out = d.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "c1",
        "/bin/sh",
        "-c",
        "echo from-exec; exit 5",
    ]);
    let (stdout, stderr, code) = text(&out);
    assert_eq!(stdout, "from-exec\n", "{stderr}");
    assert_eq!(code, 5);

    // A child holds the exec's stdout: ctr returns after the drain grace with all 1 MiB.
    let out = d.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e2",
        "c1",
        "/bin/sh",
        "-c",
        "head -c 1048576 /dev/zero; sleep 1000 &",
    ]);
    let (_, stderr, code) = text(&out);
    assert_eq!(out.stdout.len(), 1 << 20, "{stderr}");
    assert!(out.stdout.iter().all(|b| *b == 0));
    assert_eq!(code, 0);

    // Init exits (kill it); an exec afterwards is refused with a clear error.
    let out = d.ctr(&["task", "kill", "-s", "KILL", "c1"]);
    assert!(out.status.success(), "{:?}", text(&out));
    eventually("c1 stopped", LONG, || {
        (d.task_status("c1").as_deref() == Some("STOPPED")).then_some(())
    });
    let out = d.ctr(&["task", "exec", "--exec-id", "e3", "c1", "/bin/true"]);
    let (_, stderr, code) = text(&out);
    assert_ne!(code, 0);
    assert!(stderr.contains("not running"), "{stderr}");
    let out = d.ctr(&["task", "rm", "c1"]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(!d.runc_root().join("c1").exists());
}

#[test]
fn pause_resume_ps_kill_delete_and_metrics() {
    if !require_containerd_or_skip("pause_resume") {
        return;
    }
    let d = Daemon::start("lifecycle");
    let rootfs = d.rootfs.display().to_string();
    let out = d.ctr(&[
        "run",
        "-d",
        "--null-io",
        "--runtime",
        RUNTIME,
        "--rootfs",
        &rootfs,
        "c1",
        "/bin/sleep",
        "1000",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    eventually("c1 running", LONG, || {
        (d.task_status("c1").as_deref() == Some("RUNNING")).then_some(())
    });
    assert!(d.ctr(&["task", "pause", "c1"]).status.success());
    assert_eq!(d.task_status("c1").as_deref(), Some("PAUSED"));
    assert!(d.ctr(&["task", "resume", "c1"]).status.success());
    assert_eq!(d.task_status("c1").as_deref(), Some("RUNNING"));

    let ps = text(&d.ctr(&["task", "ps", "c1"])).0;
    let pids: Vec<i32> = ps
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(pids.len(), 1, "{ps}");
    let cmd = std::fs::read_to_string(format!("/proc/{}/cmdline", pids[0])).unwrap();
    assert!(cmd.starts_with("/bin/sleep"), "{cmd:?}");

    // An exec is signalled by its exec id (through a pidfd), the others stay.
    let out = d.ctr(&[
        "task",
        "exec",
        "-d",
        "--exec-id",
        "s1",
        "c1",
        "/bin/sleep",
        "1000",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    eventually("two processes", LONG, || {
        (pids_of(&d, "c1").len() == 2).then_some(())
    });
    let out = d.ctr(&["task", "kill", "-s", "KILL", "--exec-id", "s1", "c1"]);
    assert!(out.status.success(), "{:?}", text(&out));
    eventually("the exec gone", LONG, || {
        (pids_of(&d, "c1") == pids).then_some(())
    });

    let metrics = d.ctr(&["task", "metrics", "c1"]);
    let (m_out, m_err, _) = text(&metrics);
    assert!(metrics.status.success(), "metrics: {m_err}");
    assert!(
        m_out.contains("memory") || m_out.contains("pids"),
        "{m_out}"
    );

    // SIGTERM is ignored by a pid-namespace init without a handler: SIGKILL.
    assert!(d
        .ctr(&["task", "kill", "-s", "KILL", "c1"])
        .status
        .success());
    eventually("c1 stopped", LONG, || {
        (d.task_status("c1").as_deref() == Some("STOPPED")).then_some(())
    });
    let out = d.ctr(&["task", "delete", "c1"]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(d.task_status("c1"), None);
    assert!(!std::path::Path::new(&format!("/proc/{}", pids[0])).exists());

    // On the simulator, Stats answers Unimplemented (no cgroups to read).
    let cfg = d.runtime_config("sim", &json!({"backend": "sim"}));
    let out = d.ctr(&[
        "run",
        "-d",
        "--null-io",
        "--runtime",
        RUNTIME,
        "--runtime-config-path",
        cfg.to_str().unwrap(),
        "--rootfs",
        &rootfs,
        "s1",
        "/bin/sleep",
        "1000",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let (_, stderr, code) = text(&d.ctr(&["task", "metrics", "s1"]));
    assert_ne!(code, 0);
    // containerd drops a task's Stats error from the Metrics answer: ctr says none came.
    assert!(stderr.contains("no metrics received"), "{stderr}");
    let _ = d.ctr(&["task", "kill", "-s", "KILL", "s1"]);
}

fn assert_refused(d: &Daemon, id: &str, cfg: Option<&std::path::Path>, expect: &str) {
    let rootfs = d.rootfs.display().to_string();
    let mut args = vec!["run", "--rm", "--runtime", RUNTIME];
    let cfg_s;
    if let Some(c) = cfg {
        cfg_s = c.display().to_string();
        args.extend(["--runtime-config-path", &cfg_s]);
    }
    args.extend(["--rootfs", &rootfs, id, "/bin/true"]);
    let (_, stderr, code) = text(&d.ctr(&args));
    assert_ne!(code, 0, "{id} was not refused");
    assert!(
        stderr.contains(expect),
        "{id}: expected {expect:?} in {stderr}"
    );
    eventually("the shim to exit", LONG, || {
        d.shim_pid(id).is_none().then_some(())
    });
    assert_eq!(d.task_status(id), None);
    assert!(!d.state_dir().join(id).exists());
    assert!(!d.runc_root().join(id).exists());
}

#[test]
fn bad_input_is_refused_clearly_and_leaves_nothing() {
    if !require_containerd_or_skip("bad_input") {
        return;
    }
    let d = Daemon::start("bad-input");
    let unknown = d.runtime_config("unknown", &json!({"backend": "no-such-backend"}));
    assert_refused(&d, "b1", Some(&unknown), "unknown backend");
    let not_plugin = d.runtime_config("notplugin", &json!({"backend": "/etc/hostname"}));
    assert_refused(&d, "b2", Some(&not_plugin), "/etc/hostname");
    let bad_json = d.dir.path().join("bad.json");
    std::fs::write(&bad_json, "{ not json").unwrap();
    assert_refused(&d, "b3", Some(&bad_json), "runtime config");
    // Valid for containerd, too long for the layer (64 characters at most).
    let long_id = "x".repeat(70);
    assert_refused(&d, &long_id, None, "id");
}

#[test]
fn a_killed_shim_is_cleaned_up_by_containerd_leaving_nothing() {
    if !require_containerd_or_skip("killed_shim") {
        return;
    }
    let d = Daemon::start("killed-shim");
    let rootfs = d.rootfs.display().to_string();
    let out = d.ctr(&[
        "run",
        "-d",
        "--null-io",
        "--runtime",
        RUNTIME,
        "--rootfs",
        &rootfs,
        "c1",
        "/bin/sleep",
        "1000",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    eventually("c1 running", LONG, || {
        (d.task_status("c1").as_deref() == Some("RUNNING")).then_some(())
    });
    let ps = text(&d.ctr(&["task", "ps", "c1"])).0;
    let pids: Vec<i32> = ps
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(!pids.is_empty(), "{ps}");
    let shim = d.shim_pid("c1").expect("the shim of c1");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();

    // containerd sees the shim go, runs `containerd-shim-rtlayer-v1 delete`, which
    // force-deletes the container through the backend's recovery API.
    eventually("containerd to drop the task", LONG, || {
        (d.task_status("c1").is_none()).then_some(())
    });
    eventually("the container's processes to be gone", LONG, || {
        pids.iter()
            .all(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
            .then_some(())
    });
    let list = std::process::Command::new("runc")
        .arg("--root")
        .arg(d.runc_root())
        .args(["list", "-q"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout)
            .lines()
            .any(|l| l == "c1"),
        "runc still lists c1"
    );
    assert!(!d.runc_root().join("c1").exists());
    assert!(!d.state_dir().join("c1").exists());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&format!("/{}/c1", d.namespace)),
        "a mount of c1 is left"
    );
    assert!(d.shim_pid("c1").is_none());
}

/// ctr's default spec (`ctr oci spec`) for `args`, rooted at the daemon's busybox rootfs,
/// changed by `edit`.
fn spec_file(
    d: &Daemon,
    name: &str,
    args: &[&str],
    edit: impl FnOnce(&mut serde_json::Value),
) -> String {
    let out = d.ctr(&["oci", "spec"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let mut spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    spec["root"]["path"] = json!(d.rootfs.display().to_string());
    spec["process"]["args"] = json!(args);
    edit(&mut spec);
    let p = d.dir.path().join(format!("{name}.spec.json"));
    std::fs::write(&p, spec.to_string()).unwrap();
    p.display().to_string()
}

fn pids_of(d: &Daemon, id: &str) -> Vec<i32> {
    let ps = text(&d.ctr(&["task", "ps", id])).0;
    ps.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn alive(pid: i32) -> bool {
    // Gone, or at least not a zombie left behind.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn rule_1_through_containerd_host_pid_namespace_and_shared_cgroup() {
    if !require_containerd_or_skip("rule_1") {
        return;
    }
    let d = Daemon::start("rule-1");
    // containerd's TestContainerKillInitPidHost: no pid namespace of its own; when init
    // exits, its exec'd sleeps are gone by the time containerd reports the exit.
    let spec = spec_file(&d, "hostpid", &["/bin/sleep", "1000"], |s| {
        let ns = s["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "pid");
    });
    let out = d.ctr(&[
        "run",
        "-d",
        "--null-io",
        "--runtime",
        RUNTIME,
        "--config",
        &spec,
        "h1",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    eventually("h1 running", LONG, || {
        (d.task_status("h1").as_deref() == Some("RUNNING")).then_some(())
    });
    for e in ["e1", "e2"] {
        let out = d.ctr(&[
            "task",
            "exec",
            "-d",
            "--exec-id",
            e,
            "h1",
            "/bin/sleep",
            "1000",
        ]);
        assert!(out.status.success(), "{:?}", text(&out));
    }
    let pids = eventually("three processes in h1", LONG, || {
        let p = pids_of(&d, "h1");
        (p.len() == 3).then_some(p)
    });
    assert!(d
        .ctr(&["task", "kill", "-s", "KILL", "h1"])
        .status
        .success());
    eventually("h1 stopped", LONG, || {
        (d.task_status("h1").as_deref() == Some("STOPPED")).then_some(())
    });
    let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(
        left.is_empty(),
        "processes of h1 left after containerd reported its exit: {left:?}"
    );
    assert!(d.ctr(&["task", "rm", "h1"]).status.success());

    // Two containers with their own pid namespaces in one cgroup: the first one's init exit
    // does not kill the second (no cgroup-wide kill for a container that owns its pid ns).
    let cgroup = format!("/rtl-shim-shared-{}", std::process::id());
    let spec_a = spec_file(&d, "a", &["/bin/sleep", "1000"], |s| {
        s["linux"]["cgroupsPath"] = json!(cgroup)
    });
    let spec_b = spec_file(&d, "b", &["/bin/sleep", "1000"], |s| {
        s["linux"]["cgroupsPath"] = json!(cgroup)
    });
    for (id, spec) in [("a1", &spec_a), ("b1", &spec_b)] {
        let out = d.ctr(&[
            "run",
            "-d",
            "--null-io",
            "--runtime",
            RUNTIME,
            "--config",
            spec,
            id,
        ]);
        assert!(out.status.success(), "{id}: {:?}", text(&out));
        eventually("running", LONG, || {
            (d.task_status(id).as_deref() == Some("RUNNING")).then_some(())
        });
    }
    // `ps` lists the shared cgroup (both containers); b1's own process is its init.
    let b_init: i32 = text(&d.ctr(&["task", "ls"]))
        .0
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&"b1")).then(|| f[1].parse().unwrap())
        })
        .unwrap();
    assert!(d
        .ctr(&["task", "kill", "-s", "KILL", "a1"])
        .status
        .success());
    eventually("a1 stopped", LONG, || {
        (d.task_status("a1").as_deref() == Some("STOPPED")).then_some(())
    });
    assert_eq!(d.task_status("b1").as_deref(), Some("RUNNING"));
    assert!(alive(b_init), "b1 died with a1");
    for id in ["a1", "b1"] {
        let _ = d.ctr(&["task", "rm", "-f", id]);
    }
}

#[test]
fn ctr_run_with_a_tty_follows_a_resize() {
    if !require_containerd_or_skip("tty_resize") {
        return;
    }
    use std::os::fd::AsRawFd;
    let d = Daemon::start("tty");
    let rootfs = d.rootfs.display().to_string();
    let size = |rows, cols| nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size(24, 80)), None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut child = d
        .ctr_cmd()
        .args([
            "run",
            "--rm",
            "-t",
            "--runtime",
            RUNTIME,
            "--rootfs",
            &rootfs,
            "t1",
            "/bin/sh",
            "-c",
            "while :; do stty size; sleep 0.1; done",
        ])
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    let master = std::fs::File::from(pty.master);
    let master_fd = master.as_raw_fd();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let mut reader = master.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + LONG;
        while !seen.contains(needle) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let chunk = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {needle:?} on the terminal; got {seen:?}"));
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    wait_for("24 80");
    // The user resizes the terminal: ctr gets SIGWINCH and sends ResizePty.
    nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, nix::pty::Winsize);
    // SAFETY: TIOCSWINSZ on our own pty master with a valid winsize.
    unsafe { set_winsize(master_fd, &size(30, 100)) }.unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGWINCH,
    )
    .unwrap();
    wait_for("30 100");
    assert!(d
        .ctr(&["task", "kill", "-s", "KILL", "t1"])
        .status
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(137));
}

/// `ctr events` of this daemon, one line per event, read on a thread of its own.
struct EventStream {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl EventStream {
    /// Subscribes, and returns once an event published after the subscription was seen (a
    /// namespace created for the purpose), so that no later event can be missed.
    fn subscribe(d: &Daemon) -> EventStream {
        let mut child = d
            .ctr_cmd()
            .arg("events")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ctr events");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stream = EventStream { child, lines };
        for attempt in 0.. {
            assert!(attempt < 60, "ctr events never saw a namespace created");
            let probe = format!("{}-probe-{attempt}", d.namespace);
            assert!(d.ctr(&["namespaces", "create", &probe]).status.success());
            let needle = format!("/namespaces/create {{\"name\":\"{probe}\"");
            if stream
                .next_matching(&needle, Duration::from_secs(1))
                .is_some()
            {
                return stream;
            }
        }
        unreachable!()
    }

    /// The next line containing `needle` within `timeout`, or `None`.
    fn next_matching(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn events_reach_containerd_in_its_order() {
    if !require_containerd_or_skip("events") {
        return;
    }
    let d = Daemon::start("events");
    let events = EventStream::subscribe(&d);
    let rootfs = d.rootfs.display().to_string();
    let out = d.ctr(&[
        "run",
        "-d",
        "--null-io",
        "--runtime",
        RUNTIME,
        "--rootfs",
        &rootfs,
        "ev1",
        "/bin/sleep",
        "1000",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    // Quiet after the start, the shim closes its connection to containerd: the events after
    // this one go over new connections.
    eventually("the shim's idle disconnect", LONG, || {
        d.log_contains("event connection closed while idle")
            .then_some(())
    });
    let out = d.ctr(&["task", "exec", "--exec-id", "e1", "ev1", "/bin/true"]);
    assert!(out.status.success(), "{:?}", text(&out));
    for step in [
        &["task", "pause", "ev1"][..],
        &["task", "resume", "ev1"],
        &["task", "kill", "-s", "KILL", "ev1"],
    ] {
        let out = d.ctr(step);
        assert!(out.status.success(), "{step:?}: {:?}", text(&out));
    }
    eventually("ev1 stopped", LONG, || {
        (d.task_status("ev1").as_deref() == Some("STOPPED")).then_some(())
    });
    let out = d.ctr(&["task", "rm", "ev1"]);
    assert!(out.status.success(), "{:?}", text(&out));

    // Every task event of ev1, in the order containerd received them, up to its delete.
    let mut topics = Vec::new();
    while topics.last().map(String::as_str) != Some("/tasks/delete") {
        let line = events
            .next_matching("\"container_id\":\"ev1\"", LONG)
            .unwrap_or_else(|| panic!("no further event of ev1 after {topics:?}"));
        let topic = line
            .split_whitespace()
            .find(|word| word.starts_with("/tasks/"))
            .unwrap_or_else(|| panic!("no topic in {line:?}"));
        // Which process an exit is of: the exec's (id e1) or init's (id ev1).
        let topic = match topic {
            "/tasks/exit" if line.contains("\"id\":\"e1\"") => "/tasks/exit e1".to_string(),
            "/tasks/exit" => "/tasks/exit init".to_string(),
            other => other.to_string(),
        };
        topics.push(topic);
    }
    assert_eq!(
        topics,
        [
            "/tasks/create",
            "/tasks/start",
            "/tasks/exec-added",
            "/tasks/exec-started",
            "/tasks/exit e1",
            "/tasks/paused",
            "/tasks/resumed",
            "/tasks/exit init",
            "/tasks/delete",
        ]
    );
}
