//! Remembering what `<runtime> --version` said, per binary, in the state directory.
//!
//! # Why
//! Every [`open`](crate::open) must know which runtime `runc_path` is, and a binary that is not
//! an OCI runtime must be refused there ([`crate::flavour`]). Running `--version` costs a fork
//! and an exec (5-10 ms), paid again by every short-lived host: a containerd shim opens the
//! backend once per container, and its `delete` subcommand once more. The answer only changes
//! when the binary does, so it is kept in `<state_dir>/.runtime-versions.json`, keyed by the
//! binary's resolved path and identity (device, inode, size, modification and change times).
//!
//! # Guarantees
//! * A binary that was replaced, rebuilt, touched or moved has another identity: it is asked
//!   again. Only answers that named a known runtime are kept, so a binary that is not an OCI
//!   runtime is asked (and refused) at every open.
//! * The file is written whole (a temporary file renamed over it), so a reader never sees half
//!   of it; an unreadable or malformed file counts as empty. Failing to write it is logged and
//!   changes nothing else.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::flavour::{Flavour, RuntimeVersion};

/// The cache file's name inside the state directory.
pub const FILE_NAME: &str = ".runtime-versions.json";

/// What identifies one binary: where it is and which file is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    identity: Identity,
    flavour: Flavour,
    version: String,
}

/// The binary `runc_path` names (looked up on `PATH` when it has no `/`), with symlinks
/// resolved, and its identity; `None` if it cannot be found or read.
fn identify(runc_path: &Path) -> Option<(PathBuf, Identity)> {
    let found = if runc_path.components().count() > 1 || runc_path.is_absolute() {
        runc_path.to_path_buf()
    } else {
        which::which(runc_path).ok()?
    };
    let path = found.canonicalize().ok()?;
    let m = std::fs::metadata(&path).ok()?;
    let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
    Some((
        path,
        Identity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        },
    ))
}

fn read(file: &Path) -> BTreeMap<PathBuf, Entry> {
    std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// What `--version` said about `runc_path`: from the cache in `state_dir` when the same binary
/// was asked before, else from `ask` (which runs it), then remembered if it succeeded.
pub fn version_of(
    runc_path: &Path,
    state_dir: &Path,
    ask: impl FnOnce() -> runtime_api::Result<RuntimeVersion>,
) -> runtime_api::Result<RuntimeVersion> {
    let Some((path, identity)) = identify(runc_path) else {
        return ask();
    };
    let file = state_dir.join(FILE_NAME);
    let mut entries = read(&file);
    if let Some(e) = entries.get(&path).filter(|e| e.identity == identity) {
        tracing::debug!(runtime = %path.display(), flavour = %e.flavour, version = %e.version, "runtime version from the cache");
        return Ok(RuntimeVersion {
            flavour: e.flavour,
            version: e.version.clone(),
        });
    }
    let v = ask()?;
    entries.insert(
        path,
        Entry {
            identity,
            flavour: v.flavour,
            version: v.version.clone(),
        },
    );
    let tmp = state_dir.join(format!("{FILE_NAME}.{}.tmp", std::process::id()));
    let written = serde_json::to_vec(&entries)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, &file));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!(error = %e, file = %file.display(), "cannot remember the runtime's version");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn script(dir: &Path, name: &str, banner: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\necho '{banner}'\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn runc(version: &str) -> runtime_api::Result<RuntimeVersion> {
        Ok(RuntimeVersion {
            flavour: Flavour::Runc,
            version: version.into(),
        })
    }

    #[test]
    fn asks_once_per_binary_and_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let bin = script(dir.path(), "rt", "runc version 1.1.5");
        let asked = Cell::new(0);
        let ask = |v: &'static str| {
            let asked = &asked;
            move || {
                asked.set(asked.get() + 1);
                runc(v)
            }
        };
        assert_eq!(
            version_of(&bin, dir.path(), ask("1.1.5")).unwrap().version,
            "1.1.5"
        );
        assert_eq!(
            version_of(&bin, dir.path(), ask("x")).unwrap().version,
            "1.1.5"
        );
        assert_eq!(asked.get(), 1, "the second open is answered from the cache");
        // Rewritten in place (a new size and times): asked again.
        script(dir.path(), "rt", "runc version 1.2.40");
        assert_eq!(
            version_of(&bin, dir.path(), ask("1.2.4")).unwrap().version,
            "1.2.4"
        );
        assert_eq!(asked.get(), 2);
    }

    #[test]
    fn failures_are_not_remembered_and_a_bad_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let bin = script(dir.path(), "cat-ish", "not a runtime");
        let asked = Cell::new(0);
        for _ in 0..2 {
            let e = version_of(&bin, dir.path(), || {
                asked.set(asked.get() + 1);
                Err(runtime_api::Error::new(
                    runtime_api::ErrorKind::Backend,
                    "not an OCI runtime",
                ))
            });
            assert!(e.is_err());
        }
        assert_eq!(asked.get(), 2, "a refusal is asked again at every open");
        std::fs::write(dir.path().join(FILE_NAME), b"garbage {").unwrap();
        assert_eq!(
            version_of(&bin, dir.path(), || runc("1.1.5"))
                .unwrap()
                .version,
            "1.1.5"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    }
}
