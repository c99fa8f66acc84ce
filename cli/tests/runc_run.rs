//! `rtctl run` on the real runc backend: stdio relayed both ways, the container's exit code,
//! Ctrl-C forwarded, a tty bundle under a real terminal, and nothing left behind.
//! Skipped without root/runc/busybox, unless RTL_REQUIRE_RUNC=1 (then they fail).

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

fn runc_ready(name: &str) -> bool {
    if !testkit::require_runc_or_skip(name) {
        return false;
    }
    ensure_plugin("backend-runc");
    true
}

#[test]
fn run_relays_stdin_stdout_stderr_and_exits_with_the_containers_code() {
    if !runc_ready("run_relays_stdin_stdout_stderr_and_exits_with_the_containers_code") {
        return;
    }
    let dirs = RuncDirs::new();
    let b = bundle(&["sh", "-c", "cat; echo to-stderr >&2; exit 3"], false);
    let mut child = rtctl()
        .args([
            "--backend",
            "runc",
            "--backend-config",
            &dirs.config(),
            "run",
        ])
        .arg(b.path())
        .args(["--id", "rtctl-relay-test"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input: Vec<u8> = (0..20_000u32)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    let mut stdin = child.stdin.take().unwrap();
    let feed = input.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&feed).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_text(&out));
    assert!(out.stdout == input, "stdout must be stdin, byte for byte");
    assert_eq!(stderr_text(&out), "to-stderr\n");
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
}

#[test]
fn example_bundle_runs_on_runc_after_bundle_init() {
    if !runc_ready("example_bundle_runs_on_runc_after_bundle_init") {
        return;
    }
    let dirs = RuncDirs::new();
    // A copy of the example, so the test never writes into the source tree.
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(
        workspace().join("examples/bundles/hello/config.json"),
        copy.path().join("config.json"),
    )
    .unwrap();
    let refused = output(
        rtctl()
            .args([
                "--backend",
                "runc",
                "--backend-config",
                &dirs.config(),
                "run",
            ])
            .arg(copy.path()),
    );
    assert_one_line_error(&refused, "rtctl bundle init");
    let init = output(rtctl().args(["bundle", "init"]).arg(copy.path()));
    assert!(init.status.success());
    let out = output(
        rtctl()
            .args([
                "--backend",
                "runc",
                "--backend-config",
                &dirs.config(),
                "run",
            ])
            .arg(copy.path()),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"hello from the container\n");
    assert_eq!(stderr_text(&out), "and this line went to stderr\n");
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
}

#[test]
fn ctrl_c_is_forwarded_to_the_container() {
    if !runc_ready("ctrl_c_is_forwarded_to_the_container") {
        return;
    }
    let dirs = RuncDirs::new();
    let b = bundle(
        &[
            "sh",
            "-c",
            "trap 'echo got INT; exit 7' INT; echo ready; while true; do sleep 0.1; done",
        ],
        false,
    );
    let mut child = rtctl()
        .args([
            "--backend",
            "runc",
            "--backend-config",
            &dirs.config(),
            "run",
        ])
        .arg(b.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !seen.ends_with(b"ready\n") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "rtctl ended before the container was ready");
        seen.extend_from_slice(&buf[..n]);
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(String::from_utf8_lossy(&seen), "ready\ngot INT\n");
    assert_eq!(status.code(), Some(7));
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
}

/// Output of a pty master, collected by a thread.
struct Screen {
    text: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    fn watch(master: &OwnedFd) -> Screen {
        let text = Arc::new(Mutex::new(Vec::new()));
        let sink = text.clone();
        let mut file = std::fs::File::from(master.try_clone().unwrap());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            // EIO once every slave is closed: the end.
            while let Ok(n) = file.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Screen { text }
    }

    fn contents(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }

    /// Waits until the output contains `needle` after byte `from`; returns the end offset.
    fn wait_for(&self, needle: &str, from: usize, child: &mut Child) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let all = self.contents();
            if let Some(pos) = all.get(from..).and_then(|s| s.find(needle)) {
                return from + pos + needle.len();
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("rtctl exited ({status}) before printing {needle:?}; screen: {all:?}");
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on the terminal; screen: {all:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn set_size(fd: &OwnedFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from a live local; fd is an open pty master.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    assert_eq!(rc, 0, "TIOCSWINSZ");
}

#[test]
fn tty_bundle_works_under_a_real_terminal_and_follows_its_size() {
    if !runc_ready("tty_bundle_works_under_a_real_terminal_and_follows_its_size") {
        return;
    }
    let dirs = RuncDirs::new();
    // Prints its terminal's size, then again after every line it reads, until it reads "q".
    let b = bundle(
        &[
            "sh",
            "-c",
            "[ -t 0 ] && echo is-a-tty; stty size; while read line; do [ \"$line\" = q ] && exit 5; stty size; done",
        ],
        true,
    );
    let pty = nix::pty::openpty(
        Some(&nix::pty::Winsize {
            ws_row: 33,
            ws_col: 101,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }),
        None,
    )
    .unwrap();
    let slave = pty.slave;
    let master = pty.master;
    let screen = Screen::watch(&master);
    let mut cmd = rtctl();
    cmd.args([
        "--backend",
        "runc",
        "--backend-config",
        &dirs.config(),
        "run",
    ])
    .arg(b.path())
    .stdin(Stdio::from(slave.try_clone().unwrap()))
    .stdout(Stdio::from(slave.try_clone().unwrap()))
    .stderr(Stdio::from(slave.try_clone().unwrap()));
    // SAFETY: between fork and exec only async-signal-safe calls: setsid and ioctl. They make
    // rtctl the leader of a new session whose controlling terminal is the pty, as a shell
    // would, so that it gets SIGWINCH when the size changes.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            if libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(slave);
    let mut input = std::fs::File::from(master.try_clone().unwrap());

    let mut at = screen.wait_for("is-a-tty", 0, &mut child);
    // The container's terminal started with ours's size...
    at = screen.wait_for("33 101", at, &mut child);
    // ...and follows it: resize ours, then poke the shell until it reports the new size
    // (SIGWINCH reaches rtctl asynchronously).
    set_size(&master, 40, 120);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        input.write_all(b"x\r").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        if screen.contents()[at..].contains("40 120") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "size never followed: {:?}",
            screen.contents()
        );
    }
    // Typed input reaches the container through the pty, and its exit code comes back.
    input.write_all(b"q\r").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5), "screen: {:?}", screen.contents());
    // rtctl put our terminal back in cooked mode with echo.
    let mode = nix::sys::termios::tcgetattr(&master).unwrap();
    let flags = mode.local_flags;
    assert!(
        flags.contains(nix::sys::termios::LocalFlags::ICANON)
            && flags.contains(nix::sys::termios::LocalFlags::ECHO),
        "terminal mode restored: {flags:?}"
    );
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
}

#[test]
fn lifecycle_scenario_passes_on_runc() {
    if !runc_ready("lifecycle_scenario_passes_on_runc") {
        return;
    }
    let dirs = RuncDirs::new();
    // The example scenario and its bundle, copied so the source tree stays untouched.
    let tree = tempfile::tempdir().unwrap();
    let bundle = tree.path().join("bundles/sleeper");
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::create_dir_all(tree.path().join("scenarios")).unwrap();
    let examples = workspace().join("examples");
    std::fs::copy(
        examples.join("bundles/sleeper/config.json"),
        bundle.join("config.json"),
    )
    .unwrap();
    let scenario = tree.path().join("scenarios/lifecycle.scenario");
    std::fs::copy(examples.join("scenarios/lifecycle.scenario"), &scenario).unwrap();
    assert!(output(rtctl().args(["bundle", "init"]).arg(&bundle))
        .status
        .success());
    let out = output(
        rtctl()
            .args(["--backend", "runc", "--backend-config", &dirs.config()])
            .args(["scenario", "--id-prefix", "rtctl-lifecycle-"])
            .arg(&scenario),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("PASSED: 16 steps"), "{text}");
    assert!(!text.contains("rules:"), "rule checks are the simulator's");
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
}

#[test]
fn failing_scenario_on_runc_cleans_up_its_containers() {
    if !runc_ready("failing_scenario_on_runc_cleans_up_its_containers") {
        return;
    }
    let dirs = RuncDirs::new();
    let b = bundle(&["sleep", "1000"], false);
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("fails.scenario");
    std::fs::write(
        &scenario,
        format!(
            "create c {}\nstart c\nexec c e -- sleep 1000\npause c\nstate c expect status running\nwait c\n",
            b.path().display()
        ),
    )
    .unwrap();
    let out = output(
        rtctl()
            .args(["--backend", "runc", "--backend-config", &dirs.config()])
            .args(["scenario", "--id-prefix", "rtctl-fails-"])
            .arg(&scenario),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "FAILED: line 5: state c expect status running: expected status running, got paused"
        ),
        "{text}"
    );
    // The paused container and its exec were resumed, killed, waited for and deleted.
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
}

#[test]
fn ctrl_c_stops_a_scenario_and_removes_its_containers() {
    if !runc_ready("ctrl_c_stops_a_scenario_and_removes_its_containers") {
        return;
    }
    let dirs = RuncDirs::new();
    let b = bundle(&["sleep", "1000"], false);
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("forever.scenario");
    std::fs::write(
        &scenario,
        format!(
            "create c {}\nstart c\nexec c e -- sleep 1000\nwait c\ndelete c\n",
            b.path().display()
        ),
    )
    .unwrap();
    let mut child = rtctl()
        .args(["--backend", "runc", "--backend-config", &dirs.config()])
        .args(["scenario", "--id-prefix", "rtctl-interrupt-"])
        .arg(&scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 1024];
    // The report of the exec step is printed once it ran; the next step blocks in wait.
    while !seen.contains("-> pid") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "rtctl ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(
        rest.contains("FAILED: line 5: interrupted by SIGINT before this step"),
        "{rest}"
    );
    assert!(dirs.leftovers().is_empty(), "{:?}", dirs.leftovers());
}
