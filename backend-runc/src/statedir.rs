//! The per-container state directory: `<state_dir>/<id>`, mode 0700, holding pid files and the
//! process specs handed to `runc exec`. Created at create (after the id was validated),
//! removed on delete and on every failed create.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use runtime_api::{Error, ErrorKind, Result};

/// A container's state directory. Not removed on drop: [`StateDir::remove`] says when.
#[derive(Debug)]
pub(crate) struct StateDir {
    path: PathBuf,
}

impl StateDir {
    /// Creates `<base>/<id>` with mode 0700 (and `base` itself, 0700, if missing). Fails with
    /// [`ErrorKind::AlreadyExists`] if the directory exists, without touching it (another
    /// container of that id owns it). `id` must have been validated.
    pub fn create(base: &Path, id: &str) -> Result<StateDir> {
        ensure_base(base).map_err(|e| {
            Error::for_container(
                ErrorKind::Backend,
                id,
                format!("creating state directory {}: {e}", base.display()),
            )
        })?;
        let path = base.join(id);
        match DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => Ok(StateDir { path }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(Error::for_container(
                ErrorKind::AlreadyExists,
                id,
                format!("state directory {} exists", path.display()),
            )),
            Err(e) => Err(Error::for_container(
                ErrorKind::Backend,
                id,
                format!("creating state directory {}: {e}", path.display()),
            )),
        }
    }

    /// The existing directory `<base>/<id>` of a container another host made, or `None`
    /// if there is none. `id` must have been validated.
    pub fn existing(base: &Path, id: &str) -> Option<StateDir> {
        let path = base.join(id);
        path.is_dir().then_some(StateDir { path })
    }

    /// Takes the directory's lock (`flock`, exclusive), held by a host for as long as it
    /// creates the container, and by recovery while it judges or removes the directory. The
    /// kernel drops it when its holder dies, so a dead host's lock never blocks. Waits up to
    /// `timeout`; `Ok(None)` when the holder kept it that long. Fails with `NotFound` when
    /// the directory is gone (or was replaced) by the time the lock was taken.
    pub fn lock(&self, timeout: std::time::Duration) -> io::Result<Option<DirLock>> {
        use std::os::unix::fs::MetadataExt;
        let file = fs::File::open(&self.path)?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match nix::fcntl::Flock::lock(
                file.try_clone()?,
                nix::fcntl::FlockArg::LockExclusiveNonblock,
            ) {
                Ok(flock) => {
                    let held = file.metadata()?;
                    let now = fs::metadata(&self.path)?;
                    if (held.dev(), held.ino()) != (now.dev(), now.ino()) {
                        return Err(io::Error::new(
                            io::ErrorKind::NotFound,
                            "the state directory was replaced",
                        ));
                    }
                    return Ok(Some(DirLock { _flock: flock }));
                }
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => {}
                Err((_, e)) => return Err(e.into()),
            }
            if std::time::Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// The pids in the exec pid files (`exec-N.pid`) and the highest `N` seen.
    pub fn exec_pids(&self) -> (Vec<i32>, u64) {
        let mut pids = Vec::new();
        let mut max = 0;
        for entry in fs::read_dir(&self.path).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Some(n) = name
                .strip_prefix("exec-")
                .and_then(|r| r.strip_suffix(".pid").or_else(|| r.strip_suffix(".json")))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            max = max.max(n);
            if name.ends_with(".pid") {
                if let Ok(pid) = read_pid(&entry.path()) {
                    pids.push(pid);
                }
            }
        }
        (pids, max)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The init's pid file.
    pub fn init_pid_file(&self) -> PathBuf {
        self.path.join("init.pid")
    }

    /// The pid file of exec number `n`.
    pub fn exec_pid_file(&self, n: u64) -> PathBuf {
        self.path.join(format!("exec-{n}.pid"))
    }

    /// The process spec file of exec number `n`.
    pub fn exec_spec_file(&self, n: u64) -> PathBuf {
        self.path.join(format!("exec-{n}.json"))
    }

    /// Writes `bytes` to a new file (mode 0600) in the directory.
    pub fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(bytes)
    }

    /// Removes the directory and everything in it. Idempotent.
    pub fn remove(&self) -> io::Result<()> {
        match fs::remove_dir_all(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// The lock of a state directory (see [`StateDir::lock`]); released on drop.
#[derive(Debug)]
pub(crate) struct DirLock {
    _flock: nix::fcntl::Flock<fs::File>,
}

fn ensure_base(base: &Path) -> io::Result<()> {
    if base.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(base)
}

/// Reads a pid file runc wrote.
pub(crate) fn read_pid(path: &Path) -> io::Result<i32> {
    parse_pid(path, &fs::read_to_string(path)?)
}

/// The pid in `text`, the content of the pid file at `path`.
pub(crate) fn parse_pid(path: &Path, text: &str) -> io::Result<i32> {
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("pid file {} holds {text:?}", path.display()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn create_is_0700_and_exclusive() {
        let t = tempfile::tempdir().unwrap();
        let base = t.path().join("state");
        let d = StateDir::create(&base, "c1").unwrap();
        let mode = fs::metadata(d.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let e = StateDir::create(&base, "c1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(
            d.path().is_dir(),
            "a refused create must not touch the existing dir"
        );
        d.write_file(&d.exec_pid_file(1), b"123\n").unwrap();
        assert_eq!(read_pid(&d.exec_pid_file(1)).unwrap(), 123);
        d.write_file(&d.exec_pid_file(2), b"x").unwrap();
        assert!(read_pid(&d.exec_pid_file(2)).is_err());
        d.remove().unwrap();
        d.remove().unwrap();
        assert!(!d.path().exists());
    }
}
