//! Finding a workspace plugin for tests and hosts: [`plugin_path`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

/// The path of the built `cdylib` of workspace member `package` (for example
/// `"backend-sim"` or `"test-plugin-full"`).
///
/// Runs `cargo build -p <package>` once per process and package (cargo itself decides
/// whether anything is stale, so the library is rebuilt if it is missing or older than its
/// sources), in the target directory and profile of the running executable (derived from
/// [`std::env::current_exe`], so it works under `cargo test`, `cargo bench` and with
/// `CARGO_TARGET_DIR`), and takes the library's path from cargo's own artifact report.
/// Safe to call from many threads at once: one build per package per process, the others
/// wait for it; across processes cargo's build lock serialises builds.
///
/// Uses the `CARGO` environment variable that cargo sets for the processes it runs, else
/// `cargo` on `PATH`.
///
/// # Panics
///
/// If the build fails or produces no `cdylib` (with cargo's output in the message): this is
/// a test helper, and a test cannot go on without its plugin.
pub fn plugin_path(package: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, Arc<OnceLock<PathBuf>>>> = Mutex::new(BTreeMap::new());
    let cell = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(package.to_string())
        .or_default()
        .clone();
    cell.get_or_init(|| build(package)).clone()
}

/// Where the running executable was built: (target directory, profile directory name).
fn build_location() -> (PathBuf, String) {
    let exe = std::env::current_exe().expect("the path of the running executable");
    let mut dir = exe
        .parent()
        .expect("the executable's directory")
        .to_path_buf();
    if matches!(
        dir.file_name().and_then(|n| n.to_str()),
        Some("deps" | "examples")
    ) {
        dir.pop();
    }
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a profile directory name")
        .to_string();
    let target = dir.parent().expect("the target directory").to_path_buf();
    (target, profile)
}

fn build(package: &str) -> PathBuf {
    let (target_dir, profile_dir) = build_location();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace directory")
        .join("Cargo.toml");
    let mut command = Command::new(&cargo);
    command
        .arg("build")
        .arg("--quiet")
        .arg("--message-format=json")
        .arg("-p")
        .arg(package)
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    match profile_dir.as_str() {
        "debug" => command.args(["--profile", "dev"]),
        other => command.args(["--profile", other]),
    };
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?} to build {package}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        panic!(
            "`cargo build -p {package}` failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            stdout
        );
    }
    let cdylibs: Vec<(String, PathBuf)> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| {
            message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"))
        })
        .flat_map(|message| {
            let id = message["package_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            message["filenames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.as_str().map(PathBuf::from))
                .filter(|f| f.extension().is_some_and(|e| e == "so"))
                .map(move |f| (id.clone(), f))
        })
        .collect();
    let found = if cdylibs.len() == 1 {
        cdylibs.first()
    } else {
        cdylibs.iter().find(|(id, _)| {
            id.contains(&format!("#{package}@")) || id.contains(&format!("/{package}#"))
        })
    };
    match found {
        Some((_, path)) => path.clone(),
        None => panic!("`cargo build -p {package}` reported no cdylib; artifacts: {cdylibs:?}"),
    }
}
