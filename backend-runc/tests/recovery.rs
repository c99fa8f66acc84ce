//! Recovery beside a live host (issue 11, bad input): a forced delete of a container that a
//! live host is still creating waits for that create (the host holds the state directory's
//! lock) and then removes the whole container; it never leaves half of one. And a container
//! taken back from the host that created it (`open_container`) takes new execs beside the
//! records of that host's. Real runc, as root; mandatory under `RTL_REQUIRE_RUNC=1`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use runtime_api::{ErrorKind, ExitStatus, Signal, StdioSet};
use testkit::{exec_process, require_runc_or_skip, BundleBuilder};

#[test]
fn forced_delete_of_a_container_being_created_waits_and_leaves_nothing() {
    if !require_runc_or_skip("forced_delete_of_a_container_being_created_waits_and_leaves_nothing")
    {
        return;
    }
    let cleaner = World::new("fdcreate");
    // The creating host: the same root and state directory, through a runtime whose `create`
    // takes a second longer than runc's.
    let marker = cleaner.tmp.path().join("create-started");
    let slow = cleaner.script(
        "slow-create-runc",
        &format!(
            "#!/bin/sh\ncase \"$*\" in *\" create \"*) touch {}; sleep 1;; esac\nexec {} \"$@\"\n",
            marker.display(),
            runtime_bin().display()
        ),
    );
    let creator = World::with(
        "fdcreate",
        serde_json::json!({
            "runc_path": slow,
            "root": cleaner.root(),
            "state_dir": cleaner.state_dir(),
        }),
    );
    let bundle = BundleBuilder::new(&["sleep", "1000"]).build().unwrap();
    let id = cleaner.id(1);

    let created = std::thread::scope(|s| {
        let create = s.spawn(|| {
            let r = creator
                .rt
                .create_container("sb", &id, bundle.path(), StdioSet::none());
            (Instant::now(), r)
        });
        // The create is in flight (its state directory made and locked) once the runtime's
        // `create` has started: wait for that, not for a time.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !marker.exists() {
            assert!(
                Instant::now() < deadline,
                "the runtime's create never started"
            );
            std::thread::yield_now();
        }
        assert!(
            cleaner.state_dir().join(&id).is_dir(),
            "the create is in flight"
        );
        cleaner
            .rt
            .force_delete(&id)
            .expect("a forced delete waits for the create, then removes the container");
        let deleted_at = Instant::now();
        let (created_at, created) = create.join().unwrap();
        assert!(
            deleted_at >= created_at,
            "the forced delete returned before the create it raced had ended"
        );
        created
    });
    // The create finished whole; the forced delete then removed all of it.
    let container = created.expect("the create itself succeeds");
    assert!(
        !container.exists().unwrap(),
        "the creating host sees its container gone"
    );
    assert_eq!(container.start().failed().kind(), ErrorKind::NotFound);
    drop(container);
    assert!(cleaner.rt.list_container_states().unwrap().is_empty());
    assert!(
        cleaner.state_entries().is_empty(),
        "{:?}",
        cleaner.state_entries()
    );
    assert!(
        !cleaner.root().join(&id).exists(),
        "runc's own directory is gone"
    );
    assert!(processes_with(&id).is_empty());
}

/// The state of a container keeps a record of each exec its host started (its process spec
/// and pid file, which a later take-back reads to claim those processes). A host that takes
/// the container back numbers its own execs after the old host's, so its execs succeed and
/// the old records stay.
#[test]
fn execs_into_a_taken_back_container_keep_the_old_hosts_records() {
    if !require_runc_or_skip("execs_into_a_taken_back_container_keep_the_old_hosts_records") {
        return;
    }
    let old_host = World::new("takeexec");
    let bundle = BundleBuilder::new(&["sleep", "1000"]).build().unwrap();
    let id = old_host.id(1);
    let c = old_host
        .rt
        .create_container("sb", &id, bundle.path(), StdioSet::none())
        .unwrap();
    c.start().unwrap();
    // Two execs of the old host, never deleted: as a host that died leaves them.
    for _ in 0..2 {
        let p = c
            .exec(&exec_process(&["true"], false), StdioSet::none())
            .unwrap();
        assert_eq!(p.wait_bounded().unwrap(), ExitStatus::Exited(0));
    }
    let records = |w: &World| {
        let mut r: Vec<String> = std::fs::read_dir(w.state_dir().join(&id))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("exec-"))
            .collect();
        r.sort();
        r
    };
    let old_records = records(&old_host);
    assert_eq!(old_records.len(), 4, "{old_records:?}");

    let new_host = World::with(
        "takeexec",
        serde_json::json!({ "root": old_host.root(), "state_dir": old_host.state_dir() }),
    );
    let back = new_host
        .rt
        .open_container(&id)
        .expect("taking the container back");
    for n in 0..2 {
        let (stdio, out, _err) = collect(None);
        let word = format!("taken-back-{n}");
        let p = back
            .exec(&exec_process(&["echo", &word], false), stdio)
            .unwrap_or_else(|e| panic!("exec {n} into the taken-back container: {e}"));
        assert_eq!(p.wait_bounded().unwrap(), ExitStatus::Exited(0));
        assert_eq!(out.bytes(), format!("{word}\n").into_bytes());
        p.delete().unwrap();
    }
    let now = records(&old_host);
    assert!(
        old_records.iter().all(|r| now.contains(r)),
        "the old host's exec records were replaced: {old_records:?} then {now:?}"
    );

    back.kill(Signal::KILL).unwrap();
    back.wait_bounded().unwrap();
    back.delete().unwrap();
    assert!(!old_host.state_dir().join(&id).exists());
    drop(c);
}
