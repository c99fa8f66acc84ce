//! Recovery beside a live host (issue 11, bad input): a forced delete of a container that a
//! live host is still creating waits for that create (the host holds the state directory's
//! lock) and then removes the whole container; it never leaves half of one. Real runc, as
//! root; mandatory under `RTL_REQUIRE_RUNC=1`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use runtime_api::{ErrorKind, StdioSet};
use testkit::{require_runc_or_skip, BundleBuilder};

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
