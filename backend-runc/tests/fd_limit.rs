//! Issue 10 item 5: `runc exec` succeeded, then reading its pid file or opening its pidfd
//! failed because the host was at its descriptor limit (`EMFILE`): the process was left
//! running, untracked. A wrapper runc lowers this process's `RLIMIT_NOFILE` (with `prlimit`)
//! to its lowest free descriptor (or to 3, below every descriptor the layer holds, so that the
//! descriptors it reserved are above the limit) right after the real `runc exec` returns. A
//! test binary of its own, and its tests one at a time: the limit is process-wide.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use runtime_api::{ExitStatus, Signal, StdioSet};
use testkit::{exec_process, require_runc_or_skip, BundleBuilder, PidNamespace};

/// The limit is process-wide: one test at a time.
static LIMIT: Mutex<()> = Mutex::new(());

#[test]
fn exec_at_the_descriptor_limit_leaves_no_untracked_process() {
    if !require_runc_or_skip("exec_at_the_descriptor_limit_leaves_no_untracked_process") {
        return;
    }
    exec_with_lowered_limit("n=0; while [ -e /proc/$PPID/fd/$n ]; do n=$((n+1)); done");
}

/// The limit goes below the descriptors the layer reserved for the pid file (as when a slot
/// below them was freed after they were taken): giving them back frees no usable slot, so only
/// a read that needs no slot of ours finds the pid. Failed every run before the pid file was
/// read by a helper with a descriptor table of its own.
#[test]
fn exec_with_no_usable_descriptor_slot_leaves_no_untracked_process() {
    if !require_runc_or_skip("exec_with_no_usable_descriptor_slot_leaves_no_untracked_process") {
        return;
    }
    exec_with_lowered_limit("n=3");
}

/// Runs an exec through a wrapper runc that, after the real `runc exec`, sets `n` with
/// `set_n` (shell) and lowers this process's soft `RLIMIT_NOFILE` to it: the exec must either
/// be tracked or leave nothing behind.
fn exec_with_lowered_limit(set_n: &str) {
    let _one = LIMIT.lock().unwrap_or_else(|e| e.into_inner());
    let w0 = World::new("emfile");
    let started = w0.tmp.path().join("started");
    let wrapper = w0.script(
        "emfile-runc",
        &format!(
            "#!/bin/sh\ncase \"$*\" in *\" exec \"*) ;; *) exec runc \"$@\";; esac\n\
             runc \"$@\" || exit $?\n\
             prev=; for a in \"$@\"; do if [ \"$prev\" = --pid-file ]; then cat \"$a\" >> {s}; echo >> {s}; fi; prev=$a; done\n\
             {set_n}\n\
             prlimit --pid $PPID --nofile=$n:\n",
            s = started.display()
        ),
    );
    let w = World::with(
        "emfile",
        serde_json::json!({"runc_path": wrapper, "state_dir": w0.state_dir(), "root": w0.root()}),
    );
    let bundle = BundleBuilder::new(&["sleep", "1000"])
        .pid_namespace(PidNamespace::Host)
        .build()
        .unwrap();
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .unwrap();
    c.start().unwrap();
    let limits = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let r = c.exec(&exec_process(&["sleep", "1001"], false), StdioSet::none());
    setrlimit(Resource::RLIMIT_NOFILE, limits.0, limits.1).unwrap();
    let pid: i32 = std::fs::read_to_string(&started)
        .expect("runc exec did not start the process")
        .trim()
        .parse()
        .unwrap();
    match r {
        Ok(p) => {
            // Tracked: the layer knows its pid and will collect its exit.
            assert_eq!(p.pid(), pid);
            c.kill(Signal::KILL).unwrap();
            assert_eq!(
                c.wait_bounded().unwrap(),
                ExitStatus::Signaled(Signal::KILL)
            );
            assert_eq!(
                p.wait_bounded().unwrap(),
                ExitStatus::Signaled(Signal::KILL)
            );
            p.delete().unwrap();
        }
        Err(e) => {
            // Refused: then nothing of it may be left, alive or a zombie.
            let deadline = Instant::now() + Duration::from_secs(5);
            while exists(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(
                !exists(pid),
                "exec failed ({e}) and left its process {pid} behind (state {:?})",
                proc_state(pid)
            );
            c.kill(Signal::KILL).unwrap();
            c.wait_bounded().unwrap();
        }
    }
    c.delete().unwrap();
    assert!(!exists(pid));
}
