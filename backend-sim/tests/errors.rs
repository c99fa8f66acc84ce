//! The simulator returns the same error kinds as the runc backend for the same misuse.

mod common;
use common::*;
use runtime_api::{ConsoleSize, ErrorKind, Runtime, Signal, StdioSet};
use std::os::fd::AsRawFd;

#[test]
fn id_errors() {
    let rt = sim(1);
    let b = bundle(&["sh", "-c", "sleep 10"]);
    for bad in ["", "..", "a/b", "x y"] {
        let e = rt
            .create_container("sb", bad, b.path(), StdioSet::none())
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidId, "{bad:?}");
    }
    let c = rt
        .create_container("sb", "c", b.path(), StdioSet::none())
        .unwrap();
    let e = rt
        .create_container("sb", "c", b.path(), StdioSet::none())
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    c.delete().unwrap();
    assert_eq!(c.delete().unwrap_err().kind(), ErrorKind::NotFound);
    assert!(!c.exists().unwrap());
    assert_eq!(c.start().unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(c.state().unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn bundle_errors_are_invalid_spec_and_close_the_fds() {
    let rt = sim(1);
    let dir = tempfile::tempdir().unwrap();
    let (w, cap) = Capture::new();
    let raw = w.as_raw_fd();
    let e = rt
        .create_container(
            "sb",
            "c",
            dir.path(),
            StdioSet {
                stdout: Some(w),
                ..StdioSet::none()
            },
        )
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidSpec);
    assert!(e.to_string().contains("config.json"), "{e}");
    // The fd was closed: the capture sees end-of-file.
    assert!(cap.bytes().is_empty());
    let _ = raw;
    std::fs::write(dir.path().join("config.json"), b"{not json").unwrap();
    let e = rt
        .create_container("sb", "c", dir.path(), StdioSet::none())
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidSpec);
    assert!(rt.list_container_states().unwrap().is_empty());
}

#[test]
fn unsupported_commands_are_refused_naming_the_word() {
    let rt = sim(1);
    let b = bundle(&["sh", "-c", "ls /; echo hi"]);
    let e = rt
        .create_container("sb", "c", b.path(), StdioSet::none())
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidSpec);
    assert!(e.message().contains("\"ls\""), "{e}");
    let b = bundle(&["nginx", "-g", "daemon off;"]);
    let e = rt
        .create_container("sb", "c", b.path(), StdioSet::none())
        .err()
        .unwrap();
    assert!(e.message().contains("nginx"), "{e}");
    let (c, _b) = long_container(&rt, "ok");
    let e = c
        .exec(
            &testkit::exec_process(&["sh", "-c", "echo a | sort"], false),
            StdioSet::none(),
        )
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidSpec);
    assert!(e.message().contains("\"sort\""), "{e}");
    assert!(rt.list_container_states().unwrap().len() == 1);
}

#[test]
fn lifecycle_misuse() {
    let rt = sim(2);
    let b = bundle(&["sh", "-c", "sleep 5"]);
    let c = rt
        .create_container("sb", "c", b.path(), StdioSet::none())
        .unwrap();
    assert_eq!(c.state().unwrap().status, runtime_api::Status::Created);
    assert_eq!(c.pause().unwrap_err().kind(), ErrorKind::NotRunning);
    c.start().unwrap();
    assert_eq!(c.start().unwrap_err().kind(), ErrorKind::NotStopped);
    assert_eq!(c.resume().unwrap_err().kind(), ErrorKind::NotRunning);
    assert_eq!(c.delete().unwrap_err().kind(), ErrorKind::StillRunning);
    assert_eq!(
        c.resize_console(ConsoleSize { rows: 1, cols: 1 })
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        c.kill(Signal(0)).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    c.pause().unwrap();
    assert_eq!(c.state().unwrap().status, runtime_api::Status::Paused);
    assert_eq!(c.pause().unwrap_err().kind(), ErrorKind::NotRunning);
    assert_eq!(c.delete().unwrap_err().kind(), ErrorKind::StillRunning);
    c.resume().unwrap();
    let p = c
        .exec(
            &testkit::exec_process(&["sleep", "100"], false),
            StdioSet::none(),
        )
        .unwrap();
    assert_eq!(p.delete().unwrap_err().kind(), ErrorKind::StillRunning);
    assert_eq!(
        bounded("wait", || c.wait()).unwrap(),
        runtime_api::ExitStatus::Exited(0)
    );
    assert_eq!(c.state().unwrap().status, runtime_api::Status::Stopped);
    assert_eq!(c.state().unwrap().pid, 0);
    // Init exited: exec and kill are "not running"; start is "not stopped".
    let e = c
        .exec(&testkit::exec_process(&["true"], false), StdioSet::none())
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::NotRunning);
    assert_eq!(
        c.kill(Signal::TERM).unwrap_err().kind(),
        ErrorKind::NotRunning
    );
    assert_eq!(c.start().unwrap_err().kind(), ErrorKind::NotStopped);
    assert_eq!(
        c.update(&Default::default()).unwrap_err().kind(),
        ErrorKind::NotRunning
    );
    // The exec was killed by rule 1? No: the container owns its pid namespace, so the
    // namespace's death killed it.
    assert_eq!(
        bounded("wait", || p.wait()).unwrap(),
        runtime_api::ExitStatus::Signaled(Signal::KILL)
    );
    p.delete().unwrap();
    assert_eq!(p.delete().unwrap_err().kind(), ErrorKind::NotFound);
    c.delete().unwrap();
    assert_eq!(
        bounded("wait", || c.wait()).unwrap(),
        runtime_api::ExitStatus::Exited(0),
        "wait stays idempotent"
    );
}

#[test]
fn unknown_configuration_keys_are_refused() {
    let e = backend_sim::open_from_json(&serde_json::json!({"seeds": 1}))
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let rt = sim(3);
    let e = rt.extension("no_such_method", &no_params()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[test]
fn state_and_listing() {
    let rt = sim(4);
    let (c, b) = long_container(&rt, "b");
    let (_c2, _b2) = long_container(&rt, "a");
    let st = c.state().unwrap();
    assert_eq!(st.id, "b");
    assert_eq!(st.pid, c.pid());
    assert_eq!(st.status, runtime_api::Status::Running);
    assert_eq!(
        std::path::Path::new(&st.bundle),
        std::path::absolute(b.path()).unwrap()
    );
    assert!(st.created.is_some());
    let ids: Vec<String> = rt
        .list_container_states()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, ["a", "b"]);
    // Every call settles: the shell has already exec'd its last command, as on runc.
    let clock = rt.now();
    let procs = c.running_processes().unwrap();
    assert_eq!(procs.len(), 1);
    assert!(procs[0].created_by_runtime);
    assert_eq!(procs[0].command, ["sleep", "1000"]);
    assert_eq!(rt.now(), clock, "a settled world does not move on a read");
}
