//! Remembering what a runtime binary said to `--version`, across processes.
//!
//! [`open`](crate::open) runs `runc_path --version` to learn which runtime it drives and to
//! refuse a binary that is not one. A host that opens the backend once per container (a
//! containerd shim: one process per container) pays that run, a few milliseconds, on every
//! container start. With [`Config::version_cache`](crate::Config::version_cache) set, the
//! answer is kept in that file with the identity of the binary it came from: the device,
//! inode, size and modification and change times of the file the path resolves to. Replacing
//! or rewriting the binary (an upgrade, a different runtime at the same path, a `PATH` that
//! now finds another file) changes that identity, and the next open asks the binary again.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use runtime_api::Result;

use crate::flavour::{Flavour, RuntimeVersion};

/// What identifies the binary a cached answer came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Identity {
    /// The file `runc_path` resolved to (through `PATH` for a bare name).
    file: PathBuf,
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Identity {
    /// The identity of the file `path` names now (a bare name is looked up on `PATH`, the
    /// way the runtime will be run); `None` if there is none.
    fn of(path: &Path) -> Option<Identity> {
        let file = which::which(path).ok()?;
        let meta = std::fs::metadata(&file).ok()?;
        let ns = |secs: i64, nsecs: i64| i128::from(secs) * 1_000_000_000 + i128::from(nsecs);
        Some(Identity {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        })
    }
}

/// One cached answer.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Entry {
    identity: Identity,
    flavour: Flavour,
    version: String,
}

/// What `path --version` says, from `cache` when it holds the answer of the same binary, else
/// from `detect` (whose answer is then written to `cache`; a cache that cannot be read or
/// written is only a miss). Without `cache`, always `detect`.
pub fn detect_with_cache(
    path: &Path,
    cache: Option<&Path>,
    detect: impl FnOnce() -> Result<RuntimeVersion>,
) -> Result<RuntimeVersion> {
    let Some(cache) = cache else {
        return detect();
    };
    let identity = Identity::of(path);
    if let Some(identity) = &identity {
        if let Some(entry) = read(cache).filter(|e| &e.identity == identity) {
            tracing::debug!(cache = %cache.display(), file = %identity.file.display(), "runtime version from the cache");
            return Ok(RuntimeVersion {
                flavour: entry.flavour,
                version: entry.version,
            });
        }
    }
    let detected = detect()?;
    // The identity read before the run: if the binary changed meanwhile, the entry does not
    // match its new identity and the next open asks again.
    if let Some(identity) = identity {
        let entry = Entry {
            identity,
            flavour: detected.flavour,
            version: detected.version.clone(),
        };
        if let Err(e) = write(cache, &entry) {
            tracing::debug!(cache = %cache.display(), error = %e, "runtime version not cached");
        }
    }
    Ok(detected)
}

fn read(cache: &Path) -> Option<Entry> {
    let bytes = std::fs::read(cache).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes `entry` through a temporary file renamed over `cache`, so that a reader never sees
/// half an entry (several hosts may open the backend at once).
fn write(cache: &Path, entry: &Entry) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    let name = cache
        .file_name()
        .ok_or_else(|| std::io::Error::other("the cache path names no file"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = cache.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, cache).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, banner: &str) -> PathBuf {
        let path = dir.join("fake-runtime");
        std::fs::write(&path, format!("#!/bin/sh\necho '{banner}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A detection that counts its runs and parses what the binary would print.
    fn detect<'a>(
        runs: &'a Cell<u32>,
        banner: &'a str,
    ) -> impl FnOnce() -> Result<RuntimeVersion> + 'a {
        move || {
            runs.set(runs.get() + 1);
            crate::flavour::parse_version(Path::new("fake"), banner.as_bytes())
        }
    }

    #[test]
    fn the_same_binary_is_asked_once_and_a_changed_one_again() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("runtime-version.json");
        let bin = script(dir.path(), "runc version 1.1.5");
        let runs = Cell::new(0);
        for _ in 0..3 {
            let v =
                detect_with_cache(&bin, Some(&cache), detect(&runs, "runc version 1.1.5")).unwrap();
            assert_eq!((v.flavour, v.version.as_str()), (Flavour::Runc, "1.1.5"));
        }
        assert_eq!(
            runs.get(),
            1,
            "asked again although the binary did not change"
        );

        // Another runtime installed at the same path: asked again, and believed.
        let replaced = dir.path().join("replacement");
        std::fs::write(&replaced, "#!/bin/sh\necho 'youki version: 0.7.0'\n").unwrap();
        std::fs::set_permissions(&replaced, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&replaced, &bin).unwrap();
        let v =
            detect_with_cache(&bin, Some(&cache), detect(&runs, "youki version: 0.7.0")).unwrap();
        assert_eq!((v.flavour, v.version.as_str()), (Flavour::Youki, "0.7.0"));
        assert_eq!(runs.get(), 2);
        let v =
            detect_with_cache(&bin, Some(&cache), detect(&runs, "youki version: 0.7.0")).unwrap();
        assert_eq!(v.flavour, Flavour::Youki);
        assert_eq!(runs.get(), 2);
    }

    #[test]
    fn a_refused_binary_is_not_cached_and_a_corrupt_cache_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("runtime-version.json");
        let bin = script(dir.path(), "cat (GNU coreutils) 9.1");
        let runs = Cell::new(0);
        for _ in 0..2 {
            let refused =
                detect_with_cache(&bin, Some(&cache), detect(&runs, "cat (GNU coreutils) 9.1"));
            assert!(refused.is_err());
        }
        assert_eq!(runs.get(), 2, "a refusal must be asked again every time");
        assert!(!cache.exists());

        std::fs::write(&cache, b"{ not json").unwrap();
        let bin = script(dir.path(), "runc version 1.1.5");
        let v = detect_with_cache(&bin, Some(&cache), detect(&runs, "runc version 1.1.5")).unwrap();
        assert_eq!(v.flavour, Flavour::Runc);
        assert_eq!(runs.get(), 3);
        detect_with_cache(&bin, Some(&cache), detect(&runs, "runc version 1.1.5")).unwrap();
        assert_eq!(runs.get(), 3, "the repaired cache was not used");
    }

    #[test]
    fn without_a_cache_every_open_asks() {
        let dir = tempfile::tempdir().unwrap();
        let bin = script(dir.path(), "runc version 1.1.5");
        let runs = Cell::new(0);
        for _ in 0..2 {
            detect_with_cache(&bin, None, detect(&runs, "runc version 1.1.5")).unwrap();
        }
        assert_eq!(runs.get(), 2);
    }
}
