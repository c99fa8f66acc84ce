//! Whether tests that need real runc run, skip, or fail.

use std::path::Path;

/// The environment variable that makes runc tests mandatory (`RTL_REQUIRE_RUNC=1`). CI sets
/// it, so a machine without runc fails those tests instead of silently skipping them.
pub const REQUIRE_RUNC_VAR: &str = "RTL_REQUIRE_RUNC";

/// Whether `RTL_REQUIRE_RUNC` is set to something other than `0` or empty.
pub fn runc_required() -> bool {
    std::env::var(REQUIRE_RUNC_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Whether real containers can run here: we are root, `runc` is on `PATH`, and Debian's static
/// busybox is at `/bin/busybox` (bundles are built from it).
pub fn runc_available() -> bool {
    missing_for_runc().is_none()
}

fn missing_for_runc() -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("not root".into());
    }
    if find_on_path("runc").is_none() {
        return Some("runc not on PATH".into());
    }
    if !Path::new(crate::BUSYBOX).is_file() {
        return Some(format!(
            "{} missing (install busybox-static)",
            crate::BUSYBOX
        ));
    }
    None
}

/// The youki binary the tests drive: `$RTL_YOUKI` if set, else `youki` on `PATH`, else
/// `$CARGO_HOME/bin/youki` or `~/.cargo/bin/youki` (where `cargo install youki` puts it, and
/// where CI installs it). `None` if none of them is a file.
pub fn youki_path() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("RTL_YOUKI") {
        return Some(std::path::PathBuf::from(p)).filter(|p| p.is_file());
    }
    find_on_path("youki").or_else(|| {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
        Some(cargo_home.join("bin").join("youki")).filter(|p| p.is_file())
    })
}

/// Call first in a test that needs youki (and what runc tests need: root, busybox): `Some`
/// path means run it. Without youki it prints one skip line and returns `None`, unless
/// `RTL_REQUIRE_RUNC=1`, in which case it panics so the test fails (CI installs youki).
pub fn require_youki_or_skip(test_name: &str) -> Option<std::path::PathBuf> {
    let missing = missing_for_runc().or_else(|| {
        youki_path()
            .is_none()
            .then(|| "youki not found ($RTL_YOUKI, PATH, ~/.cargo/bin)".to_string())
    });
    match missing {
        None => youki_path(),
        Some(why) if runc_required() => {
            panic!("{test_name}: youki tests are mandatory ({REQUIRE_RUNC_VAR}=1) but {why}")
        }
        Some(why) => {
            eprintln!("SKIPPED {test_name}: {why} (set {REQUIRE_RUNC_VAR}=1 to make this fail)");
            None
        }
    }
}

fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Call first in a test that needs runc: `true` means run it. Without runc (or root, or
/// busybox) it prints one skip line naming the test and returns `false`, unless
/// `RTL_REQUIRE_RUNC=1`, in which case it panics so the test fails.
pub fn require_runc_or_skip(test_name: &str) -> bool {
    match missing_for_runc() {
        None => true,
        Some(why) if runc_required() => {
            panic!("{test_name}: runc tests are mandatory ({REQUIRE_RUNC_VAR}=1) but {why}")
        }
        Some(why) => {
            eprintln!("SKIPPED {test_name}: {why} (set {REQUIRE_RUNC_VAR}=1 to make this fail)");
            false
        }
    }
}
