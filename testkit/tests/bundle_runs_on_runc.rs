//! The bundles testkit builds run on real runc (`runc run`, no runtime layer involved), so a
//! failure in a backend's tests is the backend's, not the bundle's.

use std::process::Command;

use testkit::{require_runc_or_skip, BundleBuilder, PidNamespace};

fn runc_run(bundle: &testkit::Bundle, id: &str) -> std::process::Output {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new("runc")
        .arg("--root")
        .arg(root.path())
        .args(["run", "--bundle"])
        .arg(bundle.path())
        .arg(id)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runc runs");
    // `runc run` deletes the container when it exits; nothing is left in `root`.
    out
}

#[test]
fn busybox_bundle_runs_with_its_own_and_the_host_pid_namespace() {
    if !require_runc_or_skip("busybox_bundle_runs_with_its_own_and_the_host_pid_namespace") {
        return;
    }
    let own = BundleBuilder::new(&["sh", "-c", "echo out; echo err >&2; echo $$; exit 3"])
        .build()
        .unwrap();
    let out = runc_run(&own, &format!("testkit-own-{}", std::process::id()));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(
        out.stdout, b"out\n1\n",
        "init is pid 1 of its own namespace"
    );
    assert_eq!(out.stderr, b"err\n");

    let host = BundleBuilder::new(&["sh", "-c", "echo $$"])
        .pid_namespace(PidNamespace::Host)
        .build()
        .unwrap();
    let out = runc_run(&host, &format!("testkit-host-{}", std::process::id()));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let pid: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(
        pid > 1,
        "in the host pid namespace init is not pid 1 (got {pid})"
    );
}
