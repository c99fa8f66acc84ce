//! The runc backend on real containers, through the plugin loader (run as root with runc and
//! busybox; mandatory under `RTL_REQUIRE_RUNC=1`).

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;
use runtime_api::oci_spec::runtime::{LinuxPidsBuilder, LinuxResourcesBuilder};
use runtime_api::{ConsoleSize, ErrorKind, ExitStatus, Signal, Status, StdioSet};
use testkit::{exec_process, BundleBuilder, PidNamespace};

#[test]
fn lifecycle_exit_codes_and_signals() {
    if !require_runc_or_skip("lifecycle_exit_codes_and_signals") {
        return;
    }
    let w = World::new("life");
    let bundle = BundleBuilder::new(&["sh", "-c", "echo out; echo err >&2; exit 3"])
        .build()
        .unwrap();
    let (stdio, out, err) = collect(None);
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), stdio)
            .unwrap();
    assert!(c.pid() > 0);
    assert_eq!(c.state().unwrap().status, Status::Created);
    assert!(c.state().unwrap().created.is_some());
    c.start().unwrap();
    assert_eq!(c.wait_bounded().unwrap(), ExitStatus::Exited(3));
    assert_eq!(
        c.wait_bounded().unwrap(),
        ExitStatus::Exited(3),
        "wait is idempotent"
    );
    assert_eq!(c.state().unwrap().status, Status::Stopped);
    c.delete().unwrap();
    assert_eq!(out.bytes(), b"out\n");
    assert_eq!(err.bytes(), b"err\n");
    assert!(!c.exists().unwrap());
    assert_eq!(c.delete().failed().kind(), ErrorKind::NotFound);

    // A signal gives 128 + n.
    let bundle = BundleBuilder::new(&["sleep", "1000"]).build().unwrap();
    let c =
        w.rt.create_container("sb", &w.id(2), bundle.path(), StdioSet::none())
            .unwrap();
    c.start().unwrap();
    assert_eq!(c.state().unwrap().status, Status::Running);
    c.kill(Signal::KILL).unwrap();
    let st = c.wait_bounded().unwrap();
    assert_eq!(st, ExitStatus::Signaled(Signal::KILL));
    assert_eq!(st.code(), 137);
    assert_eq!(c.kill(Signal::TERM).failed().kind(), ErrorKind::NotRunning);
    c.delete().unwrap();
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
    assert!(w.rt.list_container_states().unwrap().is_empty());
}

/// A container whose init sleeps, for exec tests. Own pid namespace unless said otherwise.
fn sleeper(
    w: &World,
    n: u32,
    ns: PidNamespace,
) -> (testkit::Bundle, Box<dyn runtime_api::Container>) {
    let bundle = BundleBuilder::new(&["sleep", "1000"])
        .pid_namespace(ns)
        .build()
        .unwrap();
    let c =
        w.rt.create_container("sb", &w.id(n), bundle.path(), StdioSet::none())
            .unwrap();
    c.start().unwrap();
    (bundle, c)
}

/// Kills init, waits and deletes; checks the state directory is gone.
fn finish(w: &World, c: Box<dyn runtime_api::Container>) {
    if c.kill(Signal::KILL).is_ok() {
        c.wait_bounded().unwrap();
    }
    c.delete().unwrap();
    let id = c.id().to_string();
    assert!(!w.state_dir().join(&id).exists());
}

#[test]
fn exec_round_trips_stdio_and_shared_scripts() {
    if !require_runc_or_skip("exec_round_trips_stdio_and_shared_scripts") {
        return;
    }
    let w = World::new("exec");
    let (_b, c) = sleeper(&w, 1, PidNamespace::Own);
    // Every byte value, in and out again, on both streams.
    let payload: Vec<u8> = (0..=255u8).cycle().take(256 * 700).collect();
    let (stdio, out, err) = collect(Some(source(payload.clone())));
    let p = c
        .exec(
            &exec_process(&["sh", "-c", "cat | tee /dev/stderr"], false),
            stdio,
        )
        .unwrap();
    assert_eq!(p.wait_bounded().unwrap(), ExitStatus::Exited(0));
    assert_eq!(out.bytes(), payload);
    assert_eq!(err.bytes(), payload);
    let report = p.relay_report().unwrap();
    assert!(!report.was_cut());
    assert_eq!(report.stdin.relayed, payload.len() as u64);
    p.delete().unwrap();
    assert_eq!(p.delete().failed().kind(), ErrorKind::NotFound);

    for s in testkit::shared_scripts() {
        let (stdio, out, err) = collect(Some(source(s.stdin.clone())));
        let args = s.args_str();
        let p = c.exec(&exec_process(&args, false), stdio).unwrap();
        let st = p.wait_bounded().unwrap();
        assert_eq!(st.code(), s.exit_code, "script {}", s.name);
        assert_eq!(out.bytes(), s.stdout, "stdout of script {}", s.name);
        let err = err.bytes();
        if on_youki() && err == b"head: standard output: I/O error\n" {
            // youki (a Rust program) leaves SIGPIPE ignored in the processes it starts, so a
            // writer into a closed pipe gets EPIPE and complains instead of dying quietly.
            eprintln!("youki: script {}: SIGPIPE ignored in the container", s.name);
        } else {
            assert_eq!(err, s.stderr, "stderr of script {}", s.name);
        }
        p.delete().unwrap();
    }
    finish(&w, c);
}

#[test]
fn tty_exec_sees_resize() {
    if !require_runc_or_skip("tty_exec_sees_resize") {
        return;
    }
    let w = World::new("tty");
    let (_b, c) = sleeper(&w, 1, PidNamespace::Own);
    let (out, sink) = Sink::new();
    let (stdin_r, mut stdin_w) = pipe_stdin();
    let p = c
        .exec(
            &exec_process(&["sh", "-c", "read go; stty size; exit 4"], true),
            StdioSet {
                stdin: Some(stdin_r),
                stdout: Some(out),
                stderr: None,
            },
        )
        .unwrap();
    p.resize_console(ConsoleSize {
        rows: 33,
        cols: 101,
    })
    .unwrap();
    stdin_w.write_all(b"go\n").unwrap();
    drop(stdin_w);
    assert_eq!(p.wait_bounded().unwrap(), ExitStatus::Exited(4));
    let text = String::from_utf8_lossy(&sink.bytes()).into_owned();
    assert!(text.contains("33 101"), "{text:?}");
    assert_eq!(
        p.resize_console(ConsoleSize { rows: 1, cols: 1 })
            .failed()
            .kind(),
        ErrorKind::RelayClosed
    );
    // A process without a terminal cannot be resized.
    assert_eq!(
        c.resize_console(ConsoleSize { rows: 1, cols: 1 })
            .failed()
            .kind(),
        ErrorKind::InvalidArgument
    );
    p.delete().unwrap();
    finish(&w, c);
}

#[test]
fn pause_resume_and_update_are_seen() {
    if !require_runc_or_skip("pause_resume_and_update_are_seen") {
        return;
    }
    let w = World::new("pause");
    let cg = format!("/rtl-test-{}-{}", w.name, std::process::id());
    let bundle = BundleBuilder::new(&["sleep", "1000"])
        .cgroups_path(&cg)
        .build()
        .unwrap();
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .unwrap();
    c.start().unwrap();
    assert_eq!(c.resume().failed().kind(), ErrorKind::NotRunning);
    c.pause().unwrap();
    assert_eq!(c.state().unwrap().status, Status::Paused);
    c.resume().unwrap();
    assert_eq!(c.state().unwrap().status, Status::Running);

    let resources = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(17).build().unwrap())
        .build()
        .unwrap();
    c.update(&resources).unwrap();
    let max = std::fs::read_to_string(format!("/sys/fs/cgroup/pids{cg}/pids.max")).unwrap();
    assert_eq!(max.trim(), "17");
    let listed = w.rt.list_container_states().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, c.id());
    assert_eq!(listed[0].status, Status::Running);
    finish(&w, c);
}

#[test]
fn process_listings_show_zombies_and_who_created_them() {
    if !require_runc_or_skip("process_listings_show_zombies_and_who_created_them") {
        return;
    }
    let w = World::new("ps");
    // init leaves a zombie child: `exec sleep` never reaps the short sleep.
    let bundle = BundleBuilder::new(&["sh", "-c", "sleep 0.05 & exec sleep 1000"])
        .build()
        .unwrap();
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .unwrap();
    c.start().unwrap();
    let p = c
        .exec(
            &exec_process(&["sh", "-c", "sleep 1002 & exec sleep 1001"], false),
            StdioSet::none(),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let all = loop {
        let all = c.all_processes().unwrap();
        if all.iter().any(|p| p.is_zombie) && all.len() >= 4 {
            break all;
        }
        assert!(Instant::now() < deadline, "{all:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let running = c.running_processes().unwrap();
    assert!(running.iter().all(|p| !p.is_zombie));
    assert_eq!(running.len() + 1, all.len(), "{running:?} vs {all:?}");
    let find = |pid: i32| all.iter().find(|x| x.pid == pid).unwrap().clone();
    assert!(find(c.pid()).created_by_runtime);
    assert_eq!(find(c.pid()).command, ["sleep", "1000"]);
    assert!(find(p.pid()).created_by_runtime);
    let child = all.iter().find(|x| x.command == ["sleep", "1002"]).unwrap();
    assert!(!child.created_by_runtime);
    let zombie = all.iter().find(|x| x.is_zombie).unwrap();
    assert!(!zombie.created_by_runtime);
    // A zombie child of the host process is not the container's, whatever the claim covers.
    let mut host_child = std::process::Command::new("true").spawn().unwrap();
    let host_pid = host_child.id() as i32;
    // Its exit, waited for without reaping it: it stays a zombie.
    wait_exit_unreaped(host_pid).unwrap();
    assert_eq!(proc_state(host_pid), Some('Z'));
    let all = c.all_processes().unwrap();
    assert!(
        all.iter().all(|x| x.pid != host_pid),
        "the host's zombie child {host_pid} is listed as the container's: {all:?}"
    );
    assert_eq!(host_child.wait().unwrap().code(), Some(0));
    finish(&w, c);
    assert_eq!(
        p.wait_bounded().unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
}

/// A handle whose container was deleted never reaches a new container created with the same
/// id: each call on it fails with `NotFound`, and the new container is untouched.
#[test]
fn a_deleted_containers_handle_never_reaches_a_new_one_with_its_id() {
    if !require_runc_or_skip("a_deleted_containers_handle_never_reaches_a_new_one_with_its_id") {
        return;
    }
    let w = World::new("stale");
    let bundle = BundleBuilder::new(&["sleep", "1000"]).build().unwrap();
    let id = w.id(1);
    let old =
        w.rt.create_container("sb", &id, bundle.path(), StdioSet::none())
            .unwrap();
    old.delete().unwrap();
    let new =
        w.rt.create_container("sb", &id, bundle.path(), StdioSet::none())
            .unwrap();
    assert_eq!(old.start().failed().kind(), ErrorKind::NotFound);
    assert_eq!(new.state().unwrap().status, Status::Created);
    new.start().unwrap();
    assert_eq!(old.pause().failed().kind(), ErrorKind::NotFound);
    assert_eq!(new.state().unwrap().status, Status::Running);
    assert_eq!(
        old.exec(&exec_process(&["true"], false), StdioSet::none())
            .failed()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(old.kill(Signal::KILL).failed().kind(), ErrorKind::NotFound);
    assert_eq!(old.delete().failed().kind(), ErrorKind::NotFound);
    assert!(!old.exists().unwrap());
    assert_eq!(new.state().unwrap().status, Status::Running);
    assert!(new.running_processes().unwrap().len() == 1);
    finish(&w, new);
}

#[test]
fn errors_have_kinds_and_leave_nothing_behind() {
    if !require_runc_or_skip("errors_have_kinds_and_leave_nothing_behind") {
        return;
    }
    let w = World::new("errs");
    let bundle = BundleBuilder::new(&["sh", "-c", "read x; exit 0"])
        .build()
        .unwrap();
    let (stdin_r, stdin_w) = pipe_stdin();
    let (stdio, _o, _e) = collect(Some(stdin_r));
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), stdio)
            .unwrap();

    // Same id twice: refused, and the first container's state is untouched.
    let e =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .failed();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert!(w.state_dir().join(w.id(1)).is_dir());
    // Same id known to runc but not to us (another state dir): runc's own refusal.
    let other = World::with("errs2", serde_json::json!({"root": w.root()}));
    let e = other
        .rt
        .create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
        .failed();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert!(
        e.message().contains("already exists"),
        "runc's text kept: {e}"
    );
    assert!(
        other.state_entries().is_empty(),
        "{:?}",
        other.state_entries()
    );

    c.start().unwrap();
    assert_eq!(c.start().failed().kind(), ErrorKind::NotStopped);
    let e = c.delete().failed();
    assert_eq!(e.kind(), ErrorKind::StillRunning, "{e}");
    if !on_youki() {
        assert!(e.message().contains("not stopped"), "{e}");
    }

    // init exits: exec is refused before and after wait, with runc's wording too.
    drop(stdin_w);
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.state().unwrap().status != Status::Stopped {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let e = c
        .exec(&exec_process(&["true"], false), StdioSet::none())
        .failed();
    assert_eq!(e.kind(), ErrorKind::NotRunning, "{e}");
    assert_eq!(c.wait_bounded().unwrap(), ExitStatus::Exited(0));
    let e = c
        .exec(&exec_process(&["true"], false), StdioSet::none())
        .failed();
    assert_eq!(e.kind(), ErrorKind::NotRunning, "{e}");
    assert_eq!(c.start().failed().kind(), ErrorKind::NotStopped);
    assert_eq!(c.pause().failed().kind(), ErrorKind::NotRunning);
    c.delete().unwrap();
    // Unknown ids: the deleted container, and one removed behind our back.
    assert_eq!(c.state().failed().kind(), ErrorKind::NotFound);
    let (_b, d) = sleeper(&w, 2, PidNamespace::Own);
    assert!(w.runc(&["delete", "--force", d.id()]).status.success());
    assert_eq!(d.state().failed().kind(), ErrorKind::NotFound);
    assert!(!d.exists().unwrap());
    assert_eq!(d.pause().failed().kind(), ErrorKind::NotFound);
    d.wait_bounded().unwrap();
    let _ = d.delete();

    // Bad ids are refused before any directory exists.
    let long = "a".repeat(1000);
    for bad in ["../x", "a/b", ".", "..", "", long.as_str()] {
        let e =
            w.rt.create_container("sb", bad, bundle.path(), StdioSet::none())
                .failed();
        assert_eq!(e.kind(), ErrorKind::InvalidId, "{bad:?}");
    }
    // Bundles with no or a malformed config.json.
    let empty = tempfile::tempdir().unwrap();
    let e =
        w.rt.create_container("sb", &w.id(3), empty.path(), StdioSet::none())
            .failed();
    assert_eq!(e.kind(), ErrorKind::InvalidSpec, "{e}");
    std::fs::write(empty.path().join("config.json"), b"{ not json").unwrap();
    let e =
        w.rt.create_container("sb", &w.id(3), empty.path(), StdioSet::none())
            .failed();
    assert_eq!(e.kind(), ErrorKind::InvalidSpec, "{e}");
    let e =
        w.rt.create_container("sb", &w.id(3), &w.tmp.path().join("nope"), StdioSet::none())
            .failed();
    assert_eq!(e.kind(), ErrorKind::InvalidSpec, "{e}");
    // A bundle runc refuses (no rootfs): runc's error, and no state directory left.
    let norootfs = tempfile::tempdir().unwrap();
    std::fs::copy(
        bundle.path().join("config.json"),
        norootfs.path().join("config.json"),
    )
    .unwrap();
    let (stdio, _o, _e) = collect(None);
    let e =
        w.rt.create_container("sb", &w.id(4), norootfs.path(), stdio)
            .failed();
    assert_eq!(e.kind(), ErrorKind::InvalidSpec, "{e}");
    assert!(e.message().contains("rootfs"), "runc's text kept: {e}");
    let left: Vec<_> = w
        .state_entries()
        .into_iter()
        .filter(|e| !e.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
    assert!(w.rt.list_container_states().unwrap().is_empty());
}

#[test]
fn unknown_config_keys_are_refused() {
    if !require_runc_or_skip("unknown_config_keys_are_refused") {
        return;
    }
    let e = plugin()
        .open(&serde_json::json!({"runc_binary": "/x"}))
        .failed();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert_eq!(plugin().name(), "runc");
    assert_eq!(plugin().api_version(), runtime_api::API_VERSION);
}

#[test]
fn missing_runc_binary_is_a_clear_error() {
    if !require_runc_or_skip("missing_runc_binary_is_a_clear_error") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let e = plugin()
        .open(&serde_json::json!({
            "runc_path": "/nonexistent/bin/runc",
            "root": tmp.path().join("root"),
            "state_dir": tmp.path().join("state"),
        }))
        .failed();
    assert_eq!(e.kind(), ErrorKind::Backend);
    assert!(e.message().contains("/nonexistent/bin/runc"), "{e}");
    // With the flavour given, open trusts the path; the first call says it is missing.
    let w = World::with(
        "norunc",
        serde_json::json!({"runc_path": "/nonexistent/bin/runc", "flavour": "runc"}),
    );
    let bundle = BundleBuilder::new(&["true"]).build().unwrap();
    let e =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .failed();
    assert_eq!(e.kind(), ErrorKind::Backend);
    assert!(e.message().contains("/nonexistent/bin/runc"), "{e}");
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
    assert_eq!(
        w.rt.list_container_states().failed().kind(),
        ErrorKind::Backend
    );
}

#[test]
fn a_binary_that_is_not_an_oci_runtime_is_refused_at_open() {
    if !require_runc_or_skip("a_binary_that_is_not_an_oci_runtime_is_refused_at_open") {
        return;
    }
    let w0 = World::new("notoci");
    let hang = w0.script("hanging", "#!/bin/sh\nsleep 1000\n");
    let fails = w0.script("failing", "#!/bin/sh\necho 'no such option' >&2\nexit 3\n");
    let silent = w0.script("silent", "#!/bin/sh\nexit 0\n");
    for (bin, said) in [
        ("/bin/true".into(), "true (GNU coreutils)"),
        ("/bin/cat".into(), "cat (GNU coreutils)"),
        (silent, "printed nothing"),
        (fails, "no such option"),
    ] {
        let e = plugin()
            .open(&serde_json::json!({"runc_path": bin, "state_dir": w0.state_dir()}))
            .failed();
        assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
        assert!(e.message().contains(&bin.display().to_string()), "{e}");
        assert!(e.message().contains(said), "{e}");
    }
    let t0 = Instant::now();
    let e = plugin()
        .open(&serde_json::json!({"runc_path": hang, "state_dir": w0.state_dir(), "command_timeout_ms": 300}))
        .failed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(t0.elapsed() < Duration::from_secs(10));
    // What each runtime is, from its own `--version`.
    let rt = plugin()
        .open(&serde_json::json!({"runc_path": runtime_bin(), "state_dir": w0.state_dir()}))
        .unwrap();
    assert!(rt.list_container_states().unwrap().is_empty());
    assert!(w0.state_entries().is_empty(), "{:?}", w0.state_entries());
}

#[test]
fn hanging_runc_times_out_and_leaves_no_process() {
    if !require_runc_or_skip("hanging_runc_times_out_and_leaves_no_process") {
        return;
    }
    let w0 = World::new("hang");
    let pids_file = w0.tmp.path().join("fake-pids");
    let fake = w0.script(
        "fake-runc",
        &format!(
            "#!/bin/sh\necho $$ >> {p}\nsleep 1000 &\necho $! >> {p}\nsleep 1000\n",
            p = pids_file.display()
        ),
    );
    let w = World::with(
        "hang",
        serde_json::json!({"runc_path": fake, "flavour": "runc", "command_timeout_ms": 300, "state_dir": w0.state_dir()}),
    );
    let t0 = Instant::now();
    let e = w.rt.list_container_states().failed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let bundle = BundleBuilder::new(&["true"]).build().unwrap();
    let (stdio, out, _err) = collect(None);
    let e =
        w.rt.create_container("sb", &w.id(1), bundle.path(), stdio)
            .failed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    out.bytes();
    // Each call started the script and its background sleep: none of them is alive or a zombie.
    let pids: Vec<i32> = std::fs::read_to_string(&pids_file)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert!(pids.len() >= 4, "{pids:?}");
    for pid in pids {
        assert!(!exists(pid), "pid {pid} of the fake runc is still there");
    }
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
}

/// A runtime whose `create` fails after forking a helper that outlives it (what youki's
/// intermediate process can do) leaves nothing behind: the helper, reparented to this process,
/// is killed and reaped before the error is returned.
#[test]
fn a_failed_creates_helper_is_killed_and_reaped() {
    if !require_runc_or_skip("a_failed_creates_helper_is_killed_and_reaped") {
        return;
    }
    let w0 = World::new("leftover");
    let pid_file = w0.tmp.path().join("helper-pid");
    // Only `create` forks the helper (the cleanup's `delete` must not), with its stdio
    // elsewhere, so that the invocation's pipes reach end-of-file and it fails normally.
    let fake = w0.script(
        "fake-runc",
        &format!(
            "#!/bin/sh\ncase \" $* \" in *\" create \"*)\n  sleep 1000 </dev/null >/dev/null 2>&1 &\n  echo $! > {p}\nesac\nexit 1\n",
            p = pid_file.display()
        ),
    );
    let w = World::with(
        "leftover",
        serde_json::json!({"runc_path": fake, "flavour": "runc", "state_dir": w0.state_dir()}),
    );
    let bundle = BundleBuilder::new(&["true"]).build().unwrap();
    let e =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .failed();
    assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
    let helper: i32 = std::fs::read_to_string(&pid_file)
        .expect("the fake runtime's create ran")
        .trim()
        .parse()
        .unwrap();
    assert!(
        !exists(helper),
        "the failed create's helper (pid {helper}, state {:?}) is still there",
        proc_state(helper)
    );
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
}

#[test]
fn garbage_printing_runc_is_a_backend_error() {
    if !require_runc_or_skip("garbage_printing_runc_is_a_backend_error") {
        return;
    }
    let w0 = World::new("garbage");
    let fake = w0.script("fake-runc", "#!/bin/sh\necho 'this is {not json'\nexit 0\n");
    let w = World::with(
        "garbage",
        serde_json::json!({"runc_path": fake, "flavour": "runc", "state_dir": w0.state_dir()}),
    );
    let e = w.rt.list_container_states().failed();
    assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
    assert!(e.message().contains("not json"), "{e}");
    // create "succeeds" without writing a pid file: refused, nothing left.
    let bundle = BundleBuilder::new(&["true"]).build().unwrap();
    let e =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .failed();
    assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
    // A failing fake with a JSON log line: the kind comes from the log.
    let fake2 = w0.script(
        "fake-runc-2",
        "#!/bin/sh\nwhile [ \"$1\" != --log ]; do shift; done\necho '{\"level\":\"error\",\"msg\":\"container does not exist\"}' > \"$2\"\nexit 1\n",
    );
    let w2 = World::with(
        "garbage2",
        serde_json::json!({"runc_path": fake2, "flavour": "runc"}),
    );
    let e = w2.rt.list_container_states().failed();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

/// runc failing on a live container, for a reason that is not "the container does not exist"
/// (its log says so): the failure reaches the caller as a backend failure with runc's message,
/// never as an answer (`exists` false, a delete done) nor as another kind; and once runc works
/// again, the same calls succeed and nothing is left.
#[test]
fn runc_failing_on_a_live_container_is_reported_as_it_is() {
    if !require_runc_or_skip("runc_failing_on_a_live_container_is_reported_as_it_is") {
        return;
    }
    let w0 = World::new("failing");
    let fail = w0.tmp.path().join("fail");
    // While `fail` exists, `state`, `exec` and `delete` log an error and exit 1.
    let wrapper = w0.script(
        "failing-runc",
        &format!(
            "#!/bin/sh
             if [ -e {f} ]; then case \"$*\" in *\" state \"*|*\" exec \"*|*\" delete \"*)
             while [ \"$1\" != --log ]; do shift; done
             echo '{{\"level\":\"error\",\"msg\":\"injected failure\"}}' >> \"$2\"
             exit 1;; esac; fi
             exec {runc} \"$@\"\n",
            f = fail.display(),
            runc = runtime_bin().display()
        ),
    );
    let w = World::with(
        "failing",
        serde_json::json!({"runc_path": wrapper, "root": w0.root(), "state_dir": w0.state_dir()}),
    );
    let bundle = BundleBuilder::new(&["sleep", "1000"]).build().unwrap();
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .unwrap();
    c.start().unwrap();
    let injected = |e: runtime_api::Error| {
        assert_eq!(e.kind(), ErrorKind::Backend, "{e}");
        assert!(e.message().contains("injected failure"), "{e}");
    };
    std::fs::write(&fail, "").unwrap();
    injected(c.exists().failed());
    injected(
        c.exec(&exec_process(&["true"], false), StdioSet::none())
            .failed(),
    );
    c.kill(Signal::KILL).unwrap();
    assert_eq!(
        c.wait_bounded().unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    injected(c.delete().failed());
    std::fs::remove_file(&fail).unwrap();
    assert!(
        c.exists().unwrap(),
        "a delete that failed removed the container"
    );
    c.delete().unwrap();
    assert!(!c.exists().unwrap());
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
    assert!(w.rt.list_container_states().unwrap().is_empty());
}

/// Used as a library (no plugin), the backend's containers tell rule 1's decision: whether
/// the container owns its pid namespace, from its spec.
#[test]
fn the_library_tells_whether_a_container_owns_its_pid_namespace() {
    if !require_runc_or_skip("the_library_tells_whether_a_container_owns_its_pid_namespace") {
        return;
    }
    let w = World::new("libns");
    let rt = backend_runc::open_from_json(&serde_json::json!({
        "runc_path": runtime_bin(),
        "root": w.root(),
        "state_dir": w.state_dir(),
    }))
    .unwrap();
    for (n, ns, owns) in [(1, PidNamespace::Own, true), (2, PidNamespace::Host, false)] {
        let bundle = BundleBuilder::new(&["sleep", "1000"])
            .pid_namespace(ns)
            .build()
            .unwrap();
        let c = rt
            .create("sb", &w.id(n), bundle.path(), StdioSet::none())
            .unwrap();
        assert_eq!(c.owns_pid_namespace(), owns, "container {n}");
        runtime_api::Process::delete(&c).unwrap();
    }
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
}

#[test]
fn host_children_keep_their_exit_status() {
    if !require_runc_or_skip("host_children_keep_their_exit_status") {
        return;
    }
    let w = World::new("host");
    // A running container keeps an orphan claim alive, so the reaper scans for orphans.
    let (_b, c) = sleeper(&w, 1, PidNamespace::Host);
    let quick = std::process::Command::new("sh")
        .args(["-c", "exit 7"])
        .spawn()
        .unwrap();
    let mut slow = std::process::Command::new("sh")
        .args(["-c", "sleep 0.2; exit 9"])
        .spawn()
        .unwrap();
    // Longer than several orphan scans: the quick child is a zombie all that time.
    std::thread::sleep(reaper_scan() * 3);
    let mut quick = quick;
    assert_eq!(quick.wait().unwrap().code(), Some(7));
    assert_eq!(slow.wait().unwrap().code(), Some(9));
    let st = std::process::Command::new("sh")
        .args(["-c", "exit 5"])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(5));
    finish(&w, c);
}

fn reaper_scan() -> Duration {
    backend_runc::reaper::ORPHAN_SCAN_INTERVAL
}

/// Starts `sh -c 'sleep 1000 & exec sleep 1001'` in `c` and returns the exec with the pids of
/// both sleeps once they run.
fn exec_sleepers(
    c: &dyn runtime_api::Container,
    stdio: StdioSet,
) -> (Box<dyn runtime_api::Process>, Vec<i32>) {
    let p = c
        .exec(
            &exec_process(&["sh", "-c", "sleep 1000 & exec sleep 1001"], false),
            stdio,
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let procs = c.running_processes().unwrap();
        let sleepers: Vec<i32> = procs
            .iter()
            .filter(|x| x.command == ["sleep", "1000"] || x.command == ["sleep", "1001"])
            .map(|x| x.pid)
            .collect();
        if sleepers.len() == 2 {
            assert!(sleepers.contains(&p.pid()));
            return (p, sleepers);
        }
        assert!(Instant::now() < deadline, "{procs:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn rule1_init_exit_kills_siblings_without_own_pid_namespace() {
    if !require_runc_or_skip("rule1_init_exit_kills_siblings_without_own_pid_namespace") {
        return;
    }
    let w0 = World::new("rule1a");
    let (wrapper, calls) = w0.recording_runc();
    let w = World::with(
        "rule1a",
        serde_json::json!({"runc_path": wrapper, "state_dir": w0.state_dir(), "root": w0.root()}),
    );
    let bundle = BundleBuilder::new(&["sh", "-c", "read x; exit 5"])
        .pid_namespace(PidNamespace::Host)
        .build()
        .unwrap();
    let (stdin_r, stdin_w) = pipe_stdin();
    let (stdio, _out, _err) = collect(Some(stdin_r));
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), stdio)
            .unwrap();
    c.start().unwrap();
    let (eout, esink) = Sink::new();
    let (p, siblings) = exec_sleepers(
        c.as_ref(),
        StdioSet {
            stdout: Some(eout),
            ..StdioSet::none()
        },
    );
    drop(stdin_w); // init reads end-of-file and exits
    assert_eq!(c.wait_bounded().unwrap(), ExitStatus::Exited(5));
    for pid in &siblings {
        assert!(
            !exists(*pid),
            "sibling {pid} survived init's exit (state {:?})",
            proc_state(*pid)
        );
    }
    // The exec's exit was collected before init's wait returned.
    assert_eq!(
        p.wait_bounded().unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    assert!(esink.bytes().is_empty());
    assert_eq!(
        c.exec(&exec_process(&["true"], false), StdioSet::none())
            .failed()
            .kind(),
        ErrorKind::NotRunning
    );
    let log = std::fs::read_to_string(&calls).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains(&format!("kill --all {} 9", c.id()))),
        "{log}"
    );
    p.delete().unwrap();
    c.delete().unwrap();

    // The seed's mistake, driven with runc directly on a copy of the scenario: a plain
    // `runc kill <id> KILL` (no --all) on runc 1.1 kills init and leaves the siblings running.
    let copy = BundleBuilder::new(&["sleep", "1000"])
        .pid_namespace(PidNamespace::Host)
        .build()
        .unwrap();
    let id = w.id(2);
    let init_pid_file = w0.tmp.path().join("copy-init.pid");
    let bundle_arg = copy.path().to_str().unwrap();
    assert!(w0.runc_quiet(&[
        "create",
        "--bundle",
        bundle_arg,
        "--pid-file",
        init_pid_file.to_str().unwrap(),
        &id
    ]));
    assert!(w0.runc_quiet(&["start", &id]));
    let init: i32 = std::fs::read_to_string(&init_pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let spec = w0.tmp.path().join("copy-exec.json");
    std::fs::write(
        &spec,
        serde_json::to_vec(&exec_process(
            &["sh", "-c", "sleep 1000 & exec sleep 1001"],
            false,
        ))
        .unwrap(),
    )
    .unwrap();
    let exec_pid_file = w0.tmp.path().join("copy-exec.pid");
    assert!(w0.runc_quiet(&[
        "exec",
        "-d",
        "--process",
        spec.to_str().unwrap(),
        "--pid-file",
        exec_pid_file.to_str().unwrap(),
        &id
    ]));
    let exec_pid: i32 = std::fs::read_to_string(&exec_pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let child = loop {
        if let Some(c) = children(exec_pid).first() {
            break *c;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(w0.runc_quiet(&["kill", &id, "KILL"]));
    reap_own(init);
    std::thread::sleep(Duration::from_millis(200));
    let survivors: Vec<i32> = [exec_pid, child]
        .into_iter()
        .filter(|p| exists(*p) && proc_state(*p) != Some('Z'))
        .collect();
    assert_eq!(
        survivors,
        vec![exec_pid, child],
        "a plain kill leaves the siblings running"
    );
    // Clean the copy up.
    assert!(w0.runc_quiet(&["kill", "--all", &id, "KILL"]));
    reap_own(exec_pid);
    reap_own(child);
    assert!(w0.runc_quiet(&["delete", "--force", &id]));
}

#[test]
fn rule1_own_pid_namespace_gets_no_kill_all() {
    if !require_runc_or_skip("rule1_own_pid_namespace_gets_no_kill_all") {
        return;
    }
    let w0 = World::new("rule1b");
    let (wrapper, calls) = w0.recording_runc();
    let w = World::with(
        "rule1b",
        serde_json::json!({"runc_path": wrapper, "state_dir": w0.state_dir(), "root": w0.root()}),
    );
    let bundle = BundleBuilder::new(&["sh", "-c", "read x; exit 0"])
        .pid_namespace(PidNamespace::Own)
        .build()
        .unwrap();
    let (stdin_r, stdin_w) = pipe_stdin();
    let (stdio, _out, _err) = collect(Some(stdin_r));
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), stdio)
            .unwrap();
    c.start().unwrap();
    let (p, siblings) = exec_sleepers(c.as_ref(), StdioSet::none());
    drop(stdin_w);
    assert_eq!(c.wait_bounded().unwrap(), ExitStatus::Exited(0));
    for pid in &siblings {
        assert!(
            !exists(*pid),
            "sibling {pid} survived (state {:?})",
            proc_state(*pid)
        );
    }
    assert_eq!(
        p.wait_bounded().unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    c.delete().unwrap();
    let log = std::fs::read_to_string(&calls).unwrap();
    assert!(
        log.lines().any(|l| l.contains(" exec ")),
        "the wrapper recorded: {log}"
    );
    assert!(
        !log.lines()
            .any(|l| l.contains(" kill ") && l.contains("--all")),
        "no kill-all for a container that owns its pid namespace: {log}"
    );
}

#[test]
fn rule1_shared_cgroup_own_pid_namespaces_survive_each_other() {
    if !require_runc_or_skip("rule1_shared_cgroup_own_pid_namespaces_survive_each_other") {
        return;
    }
    let w = World::new("rule1c");
    let cg = format!("/rtl-shared-{}", std::process::id());
    let a_bundle = BundleBuilder::new(&["sh", "-c", "read x; exit 0"])
        .cgroups_path(&cg)
        .build()
        .unwrap();
    let b_bundle = BundleBuilder::new(&["sleep", "1000"])
        .cgroups_path(&cg)
        .build()
        .unwrap();
    let (stdin_r, stdin_w) = pipe_stdin();
    let (stdio, _out, _err) = collect(Some(stdin_r));
    let a =
        w.rt.create_container("sb", &w.id(1), a_bundle.path(), stdio)
            .unwrap();
    a.start().unwrap();
    let b =
        w.rt.create_container("sb", &w.id(2), b_bundle.path(), StdioSet::none())
            .unwrap();
    b.start().unwrap();
    drop(stdin_w);
    assert_eq!(a.wait_bounded().unwrap(), ExitStatus::Exited(0));
    // b survived a's init exit (rule 1) ...
    assert_eq!(b.state().unwrap().status, Status::Running);
    assert!(exists(b.pid()) && proc_state(b.pid()) != Some('Z'));
    let p = b
        .exec(&exec_process(&["true"], false), StdioSet::none())
        .unwrap();
    assert_eq!(p.wait_bounded().unwrap(), ExitStatus::Exited(0));
    a.delete().unwrap();
    if on_youki() {
        // ... but youki's `delete` SIGKILLs every process of the deleted container's cgroup
        // (libcgroups v1 `remove`), b's included: a property of youki, not of rule 1.
        assert_eq!(
            b.wait_bounded().unwrap(),
            ExitStatus::Signaled(Signal::KILL)
        );
        b.delete().unwrap();
        return;
    }
    // ... and a's delete (runc) leaves it alone.
    assert_eq!(b.state().unwrap().status, Status::Running);
    assert!(exists(b.pid()) && proc_state(b.pid()) != Some('Z'));
    finish(&w, b);
}

#[test]
fn rule2_init_output_of_10_mib_arrives_whole() {
    if !require_runc_or_skip("rule2_init_output_of_10_mib_arrives_whole") {
        return;
    }
    let w = World::new("rule2a");
    let bundle = BundleBuilder::new(&["head", "-c", "10485760", "/dev/zero"])
        .build()
        .unwrap();
    let (stdio, out, err) = collect(None);
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), stdio)
            .unwrap();
    c.start().unwrap();
    assert_eq!(c.wait_bounded().unwrap(), ExitStatus::Exited(0));
    let report = c.relay_report().unwrap();
    assert!(!report.was_cut());
    assert_eq!(report.stdout.relayed, 10 << 20);
    c.delete().unwrap();
    let bytes = out.bytes();
    assert_eq!(bytes.len(), 10 << 20);
    assert!(bytes.iter().all(|b| *b == 0));
    assert!(err.bytes().is_empty());
}

#[test]
fn rule2_exec_with_lingering_child_is_cut_after_the_grace() {
    if !require_runc_or_skip("rule2_exec_with_lingering_child_is_cut_after_the_grace") {
        return;
    }
    let w = World::new("rule2b");
    let (_b, c) = sleeper(&w, 1, PidNamespace::Own);
    let (stdio, out, _err) = collect(None);
    let t0 = Instant::now();
    let p = c
        .exec(
            &exec_process(
                &["sh", "-c", "head -c 1048576 /dev/zero; sleep 1000 &"],
                false,
            ),
            stdio,
        )
        .unwrap();
    assert_eq!(p.wait_bounded().unwrap(), ExitStatus::Exited(0));
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let report = p.relay_report().unwrap();
    assert_eq!(
        report.end,
        runtime_api::RelayEnd::Cut {
            grace: Duration::from_millis(300)
        }
    );
    assert_eq!(report.stdout.relayed, 1 << 20);
    assert_eq!(out.bytes().len(), 1 << 20);
    let lingering: Vec<i32> = c
        .running_processes()
        .unwrap()
        .into_iter()
        .filter(|x| x.command == ["sleep", "1000"] && x.pid != c.pid())
        .map(|x| x.pid)
        .collect();
    assert_eq!(lingering.len(), 1);
    p.delete().unwrap();
    finish(&w, c);
    assert!(
        !exists(lingering[0]),
        "the lingering sleep is gone with the container"
    );
}

#[test]
fn tty_init_and_delete_of_a_created_container() {
    if !require_runc_or_skip("tty_init_and_delete_of_a_created_container") {
        return;
    }
    let w = World::new("ttyinit");
    let bundle = BundleBuilder::new(&["sh", "-c", "stty size; echo bye"])
        .terminal(true)
        .build()
        .unwrap();
    let (out, sink) = Sink::new();
    let c =
        w.rt.create_container(
            "sb",
            &w.id(1),
            bundle.path(),
            StdioSet {
                stdout: Some(out),
                ..StdioSet::none()
            },
        )
        .unwrap();
    c.resize_console(ConsoleSize { rows: 21, cols: 77 })
        .unwrap();
    c.start().unwrap();
    assert_eq!(c.wait_bounded().unwrap(), ExitStatus::Exited(0));
    c.delete().unwrap();
    let text = String::from_utf8_lossy(&sink.bytes()).into_owned();
    assert!(text.contains("21 77"), "{text:?}");
    assert!(text.contains("bye"), "{text:?}");

    // A container that was created but never started can be deleted; its init is reaped.
    let bundle = BundleBuilder::new(&["true"]).build().unwrap();
    let (stdio, out, _err) = collect(None);
    let c =
        w.rt.create_container("sb", &w.id(2), bundle.path(), stdio)
            .unwrap();
    let pid = c.pid();
    c.delete().unwrap();
    assert!(!exists(pid), "the created init was killed and reaped");
    assert!(out.bytes().is_empty());
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
}
