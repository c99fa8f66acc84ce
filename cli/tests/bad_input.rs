//! Bad input: one clear line on stderr, a non-zero exit (125), nothing on stdout, and nothing
//! left behind (the runc directories stay empty, no container remains).
//!
//! These need no root: rtctl refuses the input before any container exists.

mod common;

use std::path::Path;

use common::*;

fn runc_args(dirs: &RuncDirs) -> Vec<String> {
    ensure_plugin("backend-runc");
    vec![
        "--backend".into(),
        "runc".into(),
        "--backend-config".into(),
        dirs.config(),
    ]
}

#[test]
fn unknown_backend_name() {
    let out = output(rtctl().args(["--backend", "nosuch", "run", "examples/bundles/hello"]));
    assert_one_line_error(&out, "unknown backend \"nosuch\"");
    // The same through the environment variable.
    let out = output(
        rtctl()
            .env("RTCTL_BACKEND", "nosuch")
            .args(["run", "examples/bundles/hello"]),
    );
    assert_one_line_error(&out, "unknown backend \"nosuch\"");
}

#[test]
fn plugin_path_that_is_not_a_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("libbackend_fake.so");
    std::fs::write(&text, "this is not a shared library\n").unwrap();
    let out = output(
        rtctl()
            .arg("--backend")
            .arg(&text)
            .args(["run", "examples/bundles/hello"]),
    );
    assert_one_line_error(&out, "not a loadable library");
    assert!(stderr_text(&out).contains(&text.display().to_string()));

    // A real shared library that is no plugin: no entry symbol.
    let libc = [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists());
    if let Some(libc) = libc {
        let out = output(rtctl().args(["--backend", libc, "run", "examples/bundles/hello"]));
        assert_one_line_error(&out, "no entry symbol");
    }

    let missing = dir.path().join("nothing-here.so");
    let out = output(
        rtctl()
            .arg("--backend")
            .arg(&missing)
            .args(["run", "examples/bundles/hello"]),
    );
    assert_one_line_error(&out, "no such file");
}

#[test]
fn missing_bundle() {
    let dirs = RuncDirs::new();
    let out = output(
        rtctl()
            .args(runc_args(&dirs))
            .args(["run", "examples/bundles/does-not-exist"]),
    );
    assert_one_line_error(
        &out,
        "bundle examples/bundles/does-not-exist: no such directory",
    );
    assert!(dirs.leftovers().is_empty());
}

#[test]
fn malformed_config_json() {
    let dirs = RuncDirs::new();
    let bundle = tempfile::tempdir().unwrap();
    std::fs::write(bundle.path().join("config.json"), "{\"process\": [1, 2,").unwrap();
    let out = output(rtctl().args(runc_args(&dirs)).arg("run").arg(bundle.path()));
    assert_one_line_error(&out, "config.json is not a valid OCI spec");
    assert!(dirs.leftovers().is_empty());
    // The bundle directory is untouched.
    let entries: Vec<_> = std::fs::read_dir(bundle.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn invalid_id() {
    let dirs = RuncDirs::new();
    for bad in ["../escape", "a b", "", "..", &"x".repeat(200)] {
        let out = output(rtctl().args(runc_args(&dirs)).args([
            "run",
            "examples/bundles/hello",
            "--id",
            bad,
        ]));
        assert_one_line_error(&out, "--id:");
        assert!(dirs.leftovers().is_empty());
    }
}

#[test]
fn unknown_scenario_step() {
    let dirs = RuncDirs::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.scenario");
    std::fs::write(
        &file,
        "create c ../bundles/hello\nstart c\nfrobnicate c\nwait c\n",
    )
    .unwrap();
    let out = output(rtctl().args(runc_args(&dirs)).arg("scenario").arg(&file));
    assert_one_line_error(&out, ":3: unknown step \"frobnicate\"");
    assert!(dirs.leftovers().is_empty());
}

#[test]
fn missing_scenario_file() {
    let dirs = RuncDirs::new();
    let out = output(
        rtctl()
            .args(runc_args(&dirs))
            .args(["scenario", "examples/scenarios/nope.scenario"]),
    );
    assert_one_line_error(
        &out,
        "scenario examples/scenarios/nope.scenario: no such file",
    );
}

#[test]
fn bad_backend_configuration() {
    let dirs = RuncDirs::new();
    let mut args = runc_args(&dirs);
    args[3] = "{not json".into();
    let out = output(rtctl().args(&args).args(["run", "examples/bundles/hello"]));
    assert_one_line_error(&out, "--backend-config is not valid JSON");
    // A key the backend does not know: refused by the backend when it opens.
    let Ok(b) = testkit::BundleBuilder::new(&["true"]).build() else {
        eprintln!("skipping the unknown-key case: no /bin/busybox for a bundle");
        return;
    };
    let out = output(
        rtctl()
            .args([
                "--backend",
                "runc",
                "--backend-config",
                r#"{"no_such_key": 1}"#,
                "run",
            ])
            .arg(b.path()),
    );
    assert_one_line_error(&out, "no_such_key");
    assert!(dirs.leftovers().is_empty());
}

/// A copy of the crash test plugin (its entry function aborts) named `file_name` in `dir`.
fn crashing_plugin(dir: &tempfile::TempDir, file_name: &str) -> std::path::PathBuf {
    let path = dir.path().join(file_name);
    std::fs::copy(plugin::testing::plugin_path("test-plugin-crash"), &path).unwrap();
    path
}

#[test]
fn plugin_path_that_crashes_at_load_is_probed_not_fatal() {
    // Structurally perfect, but its entry function aborts: only the probe's child dies.
    let dir = tempfile::tempdir().unwrap();
    let path = crashing_plugin(&dir, "libtest_plugin_crash.so");
    let out = output(
        rtctl()
            .arg("--backend")
            .arg(&path)
            .args(["run", "examples/bundles/hello"]),
    );
    assert_one_line_error(&out, "the probe process killed by signal 6 (SIGABRT)");
    assert!(stderr_text(&out).contains(&path.display().to_string()));
}

#[test]
fn backends_lists_a_crashing_plugin_as_unusable() {
    ensure_plugin("backend-sim");
    let dir = tempfile::tempdir().unwrap();
    let path = crashing_plugin(&dir, "libbackend_crash.so");
    let out = output(rtctl().env("RTCTL_PLUGIN_PATH", dir.path()).arg("backends"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", stderr_text(&out));
    let crash = stdout
        .lines()
        .find(|l| l.starts_with("crash "))
        .unwrap_or_else(|| panic!("no line for the crashing plugin: {stdout}"));
    assert!(
        crash.contains("unusable") && crash.contains("SIGABRT"),
        "{crash}"
    );
    assert!(crash.contains(&path.display().to_string()), "{crash}");
    assert!(
        stdout.lines().any(|l| l.starts_with("sim ")),
        "the simulator is still listed after the crash: {stdout}"
    );
}
