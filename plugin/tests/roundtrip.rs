//! Every trait method round-trips through the loader: the `full` test plugin loaded from its
//! cdylib answers exactly as the same implementation linked statically.

mod common;

use std::path::Path;

use common::{pipe, read_to_end, spec, write_and_close};
use runtime_api::{
    ConsoleSize, Container, Error, ErrorKind, ExitStatus, RelayEnd, Runtime, Signal, Status,
    StdioSet,
};
use serde_json::json;

fn loaded() -> Box<dyn Runtime> {
    common::full()
        .open(&json!({}))
        .expect("open the full plugin")
}

fn linked() -> Box<dyn Runtime> {
    Box::new(test_plugin_full::open(&json!({})).expect("open the linked implementation"))
}

/// Drives one container through its whole life and records every answer.
fn container_life(runtime: &dyn Runtime) -> Vec<String> {
    let mut log = Vec::new();
    let mut note = |what: &str, value: String| log.push(format!("{what}: {value}"));

    let (stdin_r, stdin_w) = pipe();
    let (stdout_r, stdout_w) = pipe();
    let (stderr_r, stderr_w) = pipe();
    write_and_close(stdin_w, b"some input\n");
    let stdio = StdioSet {
        stdin: Some(stdin_r),
        stdout: Some(stdout_w),
        stderr: Some(stderr_w),
    };
    let c = runtime
        .create_container("sandbox-1", "c1", Path::new("/bundles/c1"), stdio)
        .expect("create");
    note("id", c.id().to_string());
    note("pid", c.pid().to_string());
    note("init pid", c.init_process().pid().to_string());
    note("exists", format!("{:?}", c.exists()));
    note("state created", format!("{:?}", c.state()));
    note(
        "exec before start",
        format!(
            "{:?}",
            c.exec(&spec(&["echo"], false), StdioSet::none()).err()
        ),
    );
    note("wait before start", format!("{:?}", c.wait()));
    note("report before wait", format!("{:?}", c.relay_report()));
    note("start", format!("{:?}", c.start()));
    note("start again", format!("{:?}", c.start()));
    note("state running", format!("{:?}", c.state()));
    note(
        "resize init",
        format!("{:?}", c.resize_console(ConsoleSize { rows: 24, cols: 80 })),
    );
    note("pause", format!("{:?}", c.pause()));
    note("pause again", format!("{:?}", c.pause()));
    note("state paused", format!("{:?}", c.state().map(|s| s.status)));
    note("resume", format!("{:?}", c.resume()));
    note("resume again", format!("{:?}", c.resume()));
    let mut resources = oci_spec::runtime::LinuxResources::default();
    let mut pids = oci_spec::runtime::LinuxPids::default();
    pids.set_limit(64);
    resources.set_pids(Some(pids));
    note("update", format!("{:?}", c.update(&resources)));
    note(
        "resources",
        format!(
            "{:?}",
            runtime.extension("resources", &json!({ "id": "c1" }))
        ),
    );
    note("kill bad signal", format!("{:?}", c.kill(Signal(0))));
    note("running", format!("{:?}", c.running_processes()));
    note("all", format!("{:?}", c.all_processes()));
    note("list", format!("{:?}", runtime.list_container_states()));
    note("delete running", format!("{:?}", c.delete()));
    note("wait", format!("{:?}", c.wait()));
    note("wait again", format!("{:?}", c.wait()));
    note("report", format!("{:?}", c.relay_report()));
    note(
        "stdout",
        String::from_utf8_lossy(&read_to_end(stdout_r)).into_owned(),
    );
    note(
        "stderr",
        String::from_utf8_lossy(&read_to_end(stderr_r)).into_owned(),
    );
    note("state stopped", format!("{:?}", c.state()));
    note("kill stopped", format!("{:?}", c.kill(Signal::TERM)));
    note("update stopped", format!("{:?}", c.update(&resources)));
    note(
        "exec stopped",
        format!(
            "{:?}",
            c.exec(&spec(&["echo"], false), StdioSet::none()).err()
        ),
    );
    note("running stopped", format!("{:?}", c.running_processes()));
    note("delete", format!("{:?}", c.delete()));
    note("delete again", format!("{:?}", c.delete()));
    note("exists after delete", format!("{:?}", c.exists()));
    note(
        "list after delete",
        format!("{:?}", runtime.list_container_states()),
    );
    note("pid after delete", c.pid().to_string());
    log
}

#[test]
fn container_life_is_identical_through_the_plugin() {
    let through_plugin = container_life(loaded().as_ref());
    let linked_statically = container_life(linked().as_ref());
    assert_eq!(through_plugin, linked_statically);
}

#[test]
fn container_values_survive_the_boundary() {
    let runtime = loaded();
    let (stdout_r, stdout_w) = pipe();
    let c = runtime
        .create_container(
            "sb",
            "values",
            Path::new("/b/values"),
            StdioSet {
                stdout: Some(stdout_w),
                ..StdioSet::none()
            },
        )
        .unwrap();
    assert_eq!(c.id(), "values");
    assert_eq!(c.pid(), 1000);
    assert!(c.exists().unwrap());
    let state = c.state().unwrap();
    assert_eq!(state.id, "values");
    assert_eq!(state.pid, 1000);
    assert_eq!(state.bundle, "/b/values");
    assert_eq!(state.rootfs.as_deref(), Some("/b/values/rootfs"));
    assert_eq!(state.status, Status::Created);
    assert_eq!(state.created.as_deref(), Some("2024-01-01T00:00:00Z"));
    c.start().unwrap();
    let all = c.all_processes().unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].created_by_runtime && !all[1].created_by_runtime);
    assert_eq!(c.start().unwrap_err().kind(), ErrorKind::NotStopped);
    assert_eq!(c.wait().unwrap(), ExitStatus::Exited(0));
    assert_eq!(read_to_end(stdout_r), b"hello from values\n");
    let report = c.relay_report().expect("a report after wait");
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdout.relayed, 18);
    c.delete().unwrap();
    assert!(!c.exists().unwrap());
    let again = c.delete().unwrap_err();
    assert_eq!(again.kind(), ErrorKind::NotFound);
    assert_eq!(again.container_id(), Some("values"));
}

#[test]
fn kill_reports_the_signal_as_exit_status() {
    let runtime = loaded();
    let c = runtime
        .create_container("sb", "killed", Path::new("/b"), StdioSet::none())
        .unwrap();
    c.start().unwrap();
    c.kill(Signal::KILL).unwrap();
    let status = c.wait().unwrap();
    assert_eq!(status, ExitStatus::Signaled(Signal::KILL));
    assert_eq!(status.code(), 137);
    assert_eq!(c.relay_report(), None, "no connections, no report");
}

#[test]
fn runtime_errors_round_trip() {
    let runtime = loaded();
    let c = runtime
        .create_container("sb", "dup", Path::new("/b"), StdioSet::none())
        .unwrap();
    let dup = runtime
        .create_container("sb", "dup", Path::new("/b"), StdioSet::none())
        .err()
        .unwrap();
    assert_eq!(dup.kind(), ErrorKind::AlreadyExists);
    assert_eq!(dup.container_id(), Some("dup"));
    let bad = runtime
        .create_container("sb", "../etc", Path::new("/b"), StdioSet::none())
        .err()
        .unwrap();
    assert_eq!(bad.kind(), ErrorKind::InvalidId);
    assert_eq!(runtime.list_container_states().unwrap().len(), 1);
    drop(c);
    let unknown = common::full()
        .open(&json!({ "no_such_key": 1 }))
        .err()
        .unwrap();
    assert_eq!(unknown.kind(), ErrorKind::InvalidArgument);
    assert!(unknown.message().contains("no_such_key"), "{unknown}");
    let configured = common::full().open(&json!({ "pid_base": 50 })).unwrap();
    let c = configured
        .create_container("sb", "c", Path::new("/b"), StdioSet::none())
        .unwrap();
    assert_eq!(c.pid(), 50);
}

#[test]
fn every_error_kind_round_trips() {
    let runtime = loaded();
    for kind in ErrorKind::ALL {
        let message = format!("message for {kind:?} with unicode é and \"quotes\"");
        let error = runtime
            .extension("error", &json!({ "kind": kind, "message": message }))
            .unwrap_err();
        assert_eq!(error, Error::new(kind, message.clone()));
        let error = runtime
            .extension(
                "error",
                &json!({ "kind": kind, "message": message, "container_id": "c-9" }),
            )
            .unwrap_err();
        assert_eq!(error, Error::for_container(kind, "c-9", message));
    }
    let unsupported = runtime
        .extension("no-such-method", &json!(null))
        .unwrap_err();
    assert_eq!(unsupported.kind(), ErrorKind::Unsupported);
}

#[test]
fn large_json_round_trips() {
    let runtime = loaded();
    let big: Vec<String> = (0..100_000)
        .map(|i| format!("item {i}: {}", "x".repeat(i % 97)))
        .collect();
    let params = json!({ "items": big, "nested": { "deep": [1, 2.5, true, null] } });
    assert!(serde_json::to_vec(&params).unwrap().len() > 5_000_000);
    let answer = runtime.extension("echo", &params).unwrap();
    assert_eq!(answer, params);
}

#[test]
fn exec_processes_round_trip() {
    let runtime = loaded();
    let c = runtime
        .create_container("sb", "execs", Path::new("/b"), StdioSet::none())
        .unwrap();
    c.start().unwrap();

    let (out_r, out_w) = pipe();
    let echo = c
        .exec(
            &spec(&["echo", "hello", "world"], false),
            StdioSet {
                stdout: Some(out_w),
                ..StdioSet::none()
            },
        )
        .unwrap();
    assert_eq!(echo.pid(), c.pid() + 1);
    assert_eq!(echo.relay_report(), None);
    assert_eq!(echo.delete().unwrap_err().kind(), ErrorKind::StillRunning);
    assert_eq!(
        echo.resize_console(ConsoleSize { rows: 1, cols: 1 })
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    let running = c.running_processes().unwrap();
    assert!(running.iter().any(|p| p.pid == echo.pid() && !p.is_zombie));
    assert_eq!(echo.wait().unwrap(), ExitStatus::Exited(0));
    assert_eq!(read_to_end(out_r), b"hello world\n");
    let zombies = c.all_processes().unwrap();
    assert!(zombies.iter().any(|p| p.pid == echo.pid() && p.is_zombie));
    assert!(!c
        .running_processes()
        .unwrap()
        .iter()
        .any(|p| p.pid == echo.pid()));
    echo.delete().unwrap();
    assert_eq!(echo.delete().unwrap_err().kind(), ErrorKind::NotFound);

    let (in_r, in_w) = pipe();
    let (out_r, out_w) = pipe();
    let cat = c
        .exec(
            &spec(&["cat"], true),
            StdioSet {
                stdin: Some(in_r),
                stdout: Some(out_w),
                stderr: None,
            },
        )
        .unwrap();
    cat.resize_console(ConsoleSize {
        rows: 50,
        cols: 132,
    })
    .unwrap();
    write_and_close(in_w, b"through the plugin");
    assert_eq!(cat.wait().unwrap(), ExitStatus::Exited(0));
    assert_eq!(read_to_end(out_r), b"through the plugin");
    let report = cat.relay_report().unwrap();
    assert_eq!((report.stdin.relayed, report.stdout.relayed), (18, 18));
    assert_eq!(
        cat.resize_console(ConsoleSize { rows: 1, cols: 1 })
            .unwrap_err()
            .kind(),
        ErrorKind::RelayClosed
    );

    let exit = c
        .exec(&spec(&["exit", "3"], false), StdioSet::none())
        .unwrap();
    assert_eq!(exit.wait().unwrap(), ExitStatus::Exited(3));
    let (err_r, err_w) = pipe();
    let fail = c
        .exec(
            &spec(&["fail", "oops"], false),
            StdioSet {
                stderr: Some(err_w),
                ..StdioSet::none()
            },
        )
        .unwrap();
    assert_eq!(fail.wait().unwrap(), ExitStatus::Exited(1));
    assert_eq!(read_to_end(err_r), b"oops");
    let signal = c
        .exec(&spec(&["signal", "15"], false), StdioSet::none())
        .unwrap();
    assert_eq!(signal.wait().unwrap().code(), 143);
    let invalid = c
        .exec(&spec(&["rm", "-rf", "/"], false), StdioSet::none())
        .err()
        .unwrap();
    assert_eq!(invalid.kind(), ErrorKind::InvalidSpec);
    assert_eq!(invalid.container_id(), Some("execs"));
    // A process object outlives its container object and its runtime.
    drop(c);
    drop(runtime);
    assert_eq!(signal.wait().unwrap(), ExitStatus::Signaled(Signal::TERM));
}

#[test]
fn fds_of_a_failed_call_are_closed_by_the_plugin() {
    let runtime = loaded();
    let (out_r, out_w) = pipe();
    let err = runtime
        .create_container(
            "sb",
            "bad/id",
            Path::new("/b"),
            StdioSet {
                stdout: Some(out_w),
                ..StdioSet::none()
            },
        )
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidId);
    // The only write end went to the plugin; end-of-file proves it was closed.
    assert_eq!(read_to_end(out_r), b"");
}

#[test]
fn panics_become_errors_and_the_host_goes_on() {
    let runtime = loaded();
    let error = runtime
        .extension("panic", &json!({ "message": "from a test" }))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Panicked);
    assert!(
        error.message().contains("deliberate panic: from a test"),
        "{error}"
    );
    assert!(error.message().contains("\"full\""), "{error}");

    let c = runtime
        .create_container("sb", "panic-1", Path::new("/b"), StdioSet::none())
        .unwrap();
    c.start().unwrap();
    let error = c.pause().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Panicked);
    assert!(error.message().contains("pause"), "{error}");

    // The fds handed to a call that panics are closed, not leaked.
    let (out_r, out_w) = pipe();
    let error = c
        .exec(
            &spec(&["panic"], false),
            StdioSet {
                stdout: Some(out_w),
                ..StdioSet::none()
            },
        )
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Panicked);
    assert_eq!(read_to_end(out_r), b"");

    // The plugin and the container still work.
    assert_eq!(c.state().unwrap().status, Status::Running);
    assert_eq!(runtime.extension("echo", &json!(7)).unwrap(), json!(7));
}

#[test]
fn one_runtime_serves_many_threads() {
    let runtime: std::sync::Arc<dyn Runtime> = loaded().into();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let runtime = runtime.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let id = format!("t{t}-{i}");
                    let c: Box<dyn Container> = runtime
                        .create_container("sb", &id, Path::new("/b"), StdioSet::none())
                        .unwrap();
                    c.start().unwrap();
                    assert_eq!(c.state().unwrap().id, id);
                    c.kill(Signal::TERM).unwrap();
                    c.wait().unwrap();
                    c.delete().unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert!(runtime.list_container_states().unwrap().is_empty());
}

/// Takes a container back and force-deletes another, recording every answer.
fn take_back_life(runtime: &dyn Runtime) -> Vec<String> {
    let mut log = Vec::new();
    let mut note = |what: &str, value: String| log.push(format!("{what}: {value}"));
    note(
        "open invalid",
        format!("{:?}", runtime.open_container("../x").err()),
    );
    note(
        "open unknown",
        format!("{:?}", runtime.open_container("nobody").err()),
    );
    note(
        "force invalid",
        format!("{:?}", runtime.force_delete("a/b").err()),
    );
    note(
        "force unknown",
        format!("{:?}", runtime.force_delete("nobody").err()),
    );
    let first = runtime
        .create_container("sb", "tb", Path::new("/b/tb"), StdioSet::none())
        .expect("create");
    first.start().expect("start");
    let back = runtime.open_container("tb").expect("take back");
    note("back id", back.id().to_string());
    note("back pid", back.pid().to_string());
    note("back state", format!("{:?}", back.state()));
    note("back exists", format!("{:?}", back.exists()));
    note("back pause", format!("{:?}", back.pause()));
    note("back resume", format!("{:?}", back.resume()));
    let echo = back
        .exec(&spec(&["echo", "hi"], false), StdioSet::none())
        .expect("exec in a taken-back container");
    note("back exec wait", format!("{:?}", echo.wait()));
    note("back wait", format!("{:?}", back.wait()));
    note(
        "back wait code",
        back.wait().map(|s| s.code()).unwrap().to_string(),
    );
    note("back report", format!("{:?}", back.relay_report()));
    note("back delete", format!("{:?}", back.delete()));
    note("first exists", format!("{:?}", first.exists()));

    let doomed = runtime
        .create_container("sb", "doomed", Path::new("/b/d"), StdioSet::none())
        .expect("create");
    doomed.start().expect("start");
    note("force", format!("{:?}", runtime.force_delete("doomed")));
    note(
        "force again",
        format!("{:?}", runtime.force_delete("doomed")),
    );
    note("doomed exists", format!("{:?}", doomed.exists()));
    note("doomed delete", format!("{:?}", doomed.delete()));
    note("list", format!("{:?}", runtime.list_container_states()));
    log
}

#[test]
fn taking_back_and_forced_delete_are_identical_through_the_plugin() {
    let through_plugin = take_back_life(loaded().as_ref());
    let linked_statically = take_back_life(linked().as_ref());
    assert_eq!(through_plugin, linked_statically);
}

#[test]
fn taking_back_answers_kinds_and_an_unknown_exit_across_the_boundary() {
    let runtime = loaded();
    assert_eq!(
        runtime.open_container("../x").err().map(|e| e.kind()),
        Some(ErrorKind::InvalidId)
    );
    let unknown = runtime.open_container("nobody").err().expect("unknown id");
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    assert_eq!(unknown.container_id(), Some("nobody"));
    assert_eq!(
        runtime.force_delete("").err().map(|e| e.kind()),
        Some(ErrorKind::InvalidId)
    );
    let c = runtime
        .create_container("sb", "tb", Path::new("/b/tb"), StdioSet::none())
        .unwrap();
    c.start().unwrap();
    let back = runtime.open_container("tb").unwrap();
    assert_eq!(back.id(), "tb");
    assert_eq!(back.pid(), c.pid());
    assert_eq!(back.state().unwrap().status, Status::Running);
    let status = back.wait().unwrap();
    assert_eq!(status, ExitStatus::Unknown);
    assert_eq!(status.code(), 255);
    assert_eq!(back.relay_report(), None);
    runtime.force_delete("tb").unwrap();
    assert!(!c.exists().unwrap());
    assert!(runtime.list_container_states().unwrap().is_empty());
    assert_eq!(
        runtime.force_delete("tb").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// Issue 10 item 7: when `id` or `pid` failed in the plugin right after a create or exec, the
/// adapter destroyed the handle and reported an error, while the container (or process) lived
/// on with nobody able to kill, wait for or delete it. Now the handle is kept: the id is the
/// one the host asked for, the pid 0 until the plugin answers, and the rest works.
#[test]
fn failing_id_and_pid_after_create_and_exec_keep_the_handle() {
    let rt = common::full()
        .open(&json!({ "panic_in_id_and_pid": true }))
        .expect("open the full plugin");
    let c = rt
        .create_container("sb", "kept", Path::new("/bundles/kept"), StdioSet::none())
        .expect("create must not give up a container whose id/pid query failed");
    assert_eq!(c.id(), "kept");
    assert_eq!(c.pid(), 0);
    assert_eq!(c.state().unwrap().status, Status::Created);
    c.start().unwrap();
    let p = c
        .exec(&spec(&["echo", "x"], false), StdioSet::none())
        .expect("exec must not give up a process whose pid query failed");
    assert_eq!(p.pid(), 0);
    assert_eq!(p.wait().unwrap(), ExitStatus::Exited(0));
    p.delete().unwrap();
    c.kill(Signal::KILL).unwrap();
    assert_eq!(c.wait().unwrap(), ExitStatus::Signaled(Signal::KILL));
    c.delete().unwrap();
    assert!(rt.list_container_states().unwrap().is_empty());
}
