//! OCI bundles built from `/bin/busybox`.

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, Process, ProcessBuilder, Spec,
    UserBuilder,
};

/// Where Debian's `busybox-static` installs the static busybox binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Applets linked in every bundle's `/bin` (the shell subset the simulator also models, plus a
/// few tools tests use to look inside a container).
pub const BUSYBOX_APPLETS: &[&str] = &[
    "sh", "echo", "printf", "head", "cat", "sleep", "kill", "stty", "true", "false", "ls", "ps",
    "env", "id", "wc", "tr", "yes", "dd", "seq", "grep", "test", "[", "pwd", "mkdir", "rm",
];

const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Which pid namespace a container gets. Rule 1 depends on it: only [`PidNamespace::Own`]
/// makes the container own its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidNamespace {
    /// A new pid namespace (a `pid` entry without a path), as `runc spec` writes it.
    Own,
    /// The host's pid namespace (no `pid` entry).
    Host,
    /// Join an existing namespace (a `pid` entry with this path, e.g. `/proc/<pid>/ns/pid`).
    Join(PathBuf),
}

/// Builds a busybox OCI bundle in a fresh temporary directory.
///
/// The spec starts from `oci-spec`'s default (the equivalent of `runc spec`: new pid, net,
/// ipc, uts, mount and cgroup namespaces, `/proc`, `/dev` and friends mounted) with a writable
/// root filesystem and the given process arguments.
#[derive(Debug, Clone)]
pub struct BundleBuilder {
    spec: Spec,
    base: Option<PathBuf>,
}

impl BundleBuilder {
    /// A bundle running `args` (e.g. `["sh", "-c", "echo hi"]`) as init, without a terminal,
    /// in its own pid namespace.
    pub fn new(args: &[&str]) -> BundleBuilder {
        let mut spec = Spec::default();
        spec.set_process(Some(exec_process(args, false)));
        if let Some(root) = spec.root_mut() {
            root.set_readonly(Some(false));
        }
        spec.set_hostname(Some("rtl".to_string()));
        BundleBuilder { spec, base: None }
    }

    /// Whether init gets a terminal (`process.terminal`).
    pub fn terminal(mut self, on: bool) -> Self {
        if let Some(p) = self.spec.process_mut() {
            p.set_terminal(Some(on));
        }
        self
    }

    /// Which pid namespace the container gets.
    pub fn pid_namespace(mut self, ns: PidNamespace) -> Self {
        let linux = self.spec.linux_mut().get_or_insert_with(Default::default);
        let mut namespaces: Vec<LinuxNamespace> = linux
            .namespaces()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.typ() != LinuxNamespaceType::Pid)
            .collect();
        let entry = |path: Option<&Path>| {
            let mut b = LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::Pid);
            if let Some(p) = path {
                b = b.path(p.to_path_buf());
            }
            b.build().expect("a pid namespace entry always builds")
        };
        match &ns {
            PidNamespace::Own => namespaces.insert(0, entry(None)),
            PidNamespace::Host => {}
            PidNamespace::Join(path) => namespaces.insert(0, entry(Some(path))),
        }
        linux.set_namespaces(Some(namespaces));
        self
    }

    /// The container's cgroup path (`linux.cgroupsPath`); two containers given the same path
    /// share a cgroup.
    pub fn cgroups_path(mut self, path: &str) -> Self {
        let linux = self.spec.linux_mut().get_or_insert_with(Default::default);
        linux.set_cgroups_path(Some(PathBuf::from(path)));
        self
    }

    /// Adds `KEY=value` to init's environment.
    pub fn env(mut self, kv: &str) -> Self {
        if let Some(p) = self.spec.process_mut() {
            let mut env = p.env().clone().unwrap_or_default();
            env.push(kv.to_string());
            p.set_env(Some(env));
        }
        self
    }

    /// Leaves out of the spec what only a real runtime reads: mounts, annotations, the
    /// process's capabilities, rlimits and `noNewPrivileges`, and the cgroup resources and
    /// masked and read-only paths. Kept: `ociVersion`, `root`, the process's arguments,
    /// environment, working directory, user and terminal, the hostname, the namespaces and the
    /// cgroup path: all the simulator reads. For bundles of the simulator that are written
    /// by the thousand (the rule properties): a third of the JSON to write and to parse.
    pub fn config_only(mut self) -> Self {
        self.spec.set_mounts(None);
        self.spec.set_annotations(None);
        if let Some(p) = self.spec.process_mut() {
            p.set_capabilities(None);
            p.set_rlimits(None);
            p.set_no_new_privileges(None);
        }
        if let Some(l) = self.spec.linux_mut() {
            l.set_resources(None);
            l.set_masked_paths(None);
            l.set_readonly_paths(None);
        }
        self
    }

    /// Writes the bundle under `dir` instead of the system temp directory (the bundle
    /// directory itself is still a fresh one inside it).
    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.base = Some(dir.to_path_buf());
        self
    }

    /// The spec, for anything the builder has no method for.
    pub fn spec_mut(&mut self) -> &mut Spec {
        &mut self.spec
    }

    /// The spec, for a caller that wrote it itself ([`write_config`](Self::write_config)).
    pub fn into_spec(self) -> Spec {
        self.spec
    }

    /// Writes `config.json` and a busybox `rootfs/` into a fresh temporary directory that is
    /// removed when the returned [`Bundle`] drops. Fails if `/bin/busybox` is missing.
    pub fn build(self) -> io::Result<Bundle> {
        let dir = match &self.base {
            Some(base) => tempfile::Builder::new()
                .prefix("bundle-")
                .tempdir_in(base)?,
            None => tempfile::Builder::new().prefix("rtl-bundle-").tempdir()?,
        };
        write_busybox_rootfs(&dir.path().join("rootfs"))?;
        self.write_config(dir.path())?;
        Ok(Bundle {
            dir,
            spec: self.spec,
        })
    }

    /// Like [`build`](Self::build) but with an empty `rootfs/`: for a backend that reads only
    /// `config.json` (the simulator), it saves copying busybox into every bundle.
    pub fn build_config_only(self) -> io::Result<Bundle> {
        let dir = match &self.base {
            Some(base) => tempfile::Builder::new()
                .prefix("bundle-")
                .tempdir_in(base)?,
            None => tempfile::Builder::new().prefix("rtl-bundle-").tempdir()?,
        };
        self.write_config(dir.path())?;
        Ok(Bundle {
            dir,
            spec: self.spec,
        })
    }

    /// Writes `config.json` and an empty `rootfs/` into `dir` (created if missing; kept):
    /// a bundle for the simulator at a path of the caller's choosing, e.g. beside a
    /// `.scenario` file. `rtctl bundle init DIR` fills its rootfs for runc.
    pub fn write_config(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir.join("rootfs"))?;
        let config = serde_json::to_vec_pretty(&self.spec).map_err(io::Error::other)?;
        fs::write(dir.join("config.json"), config)
    }

    /// Like [`write_config`](Self::write_config), for a bundle rewritten run after run at
    /// the same path (a backend that reads only `config.json`, at create: the simulator's
    /// property runs): the JSON is compact, and `dir` and its empty `rootfs/` are created only
    /// when the write finds no `dir`, so a rewrite is one open, write and close.
    pub fn rewrite_config(&self, dir: &Path) -> io::Result<()> {
        let config = serde_json::to_vec(&self.spec).map_err(io::Error::other)?;
        let path = dir.join("config.json");
        match fs::write(&path, &config) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir.join("rootfs"))?;
                fs::write(&path, &config)
            }
            written => written,
        }
    }
}

/// Fills `rootfs` with a copy of `/bin/busybox`, its applet
/// links ([`BUSYBOX_APPLETS`]), `/proc`, `/dev`, `/sys`, `/tmp` (mode 1777), `/root` and a
/// minimal `/etc`. Idempotent: what is already there is kept. Fails with `NotFound` naming the
/// package to install when `/bin/busybox` is missing.
pub fn write_busybox_rootfs(rootfs: &Path) -> io::Result<()> {
    if !Path::new(BUSYBOX).is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{BUSYBOX} is missing (install Debian's busybox-static)"),
        ));
    }
    let bin = rootfs.join("bin");
    fs::create_dir_all(&bin)?;
    for d in ["proc", "dev", "sys", "tmp", "etc", "root"] {
        fs::create_dir_all(rootfs.join(d))?;
    }
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777))?;
    let target = bin.join("busybox");
    if !target.exists() {
        // A copy, not a hard link: the rootfs is writable, and a container writing to its
        // /bin/busybox must not change the host's.
        fs::copy(BUSYBOX, &target).map_err(|e| {
            io::Error::new(e.kind(), format!("copying {BUSYBOX} into the bundle: {e}"))
        })?;
    }
    for applet in BUSYBOX_APPLETS {
        let link = bin.join(applet);
        if link.symlink_metadata().is_err() {
            symlink("busybox", link)?;
        }
    }
    for (file, content) in [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("etc/group", "root:x:0:\n"),
    ] {
        let path = rootfs.join(file);
        if !path.exists() {
            fs::write(path, content)?;
        }
    }
    Ok(())
}

/// A bundle on disk; the directory is removed when it drops.
#[derive(Debug)]
pub struct Bundle {
    dir: tempfile::TempDir,
    spec: Spec,
}

impl Bundle {
    /// The bundle directory (holds `config.json` and `rootfs/`).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The spec written to `config.json`.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }
}

/// A process spec for `Container::exec`: `args`, cwd `/`, user 0:0, a `PATH`, and the
/// terminal flag.
pub fn exec_process(args: &[&str], terminal: bool) -> Process {
    ProcessBuilder::default()
        .args(args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
        .env(vec![PATH_ENV.to_string(), "TERM=xterm".to_string()])
        .cwd("/")
        .terminal(terminal)
        .user(
            UserBuilder::default()
                .uid(0u32)
                .gid(0u32)
                .build()
                .expect("a root user always builds"),
        )
        .no_new_privileges(true)
        .build()
        .expect("an exec process spec always builds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime_api::owns_pid_namespace;

    #[test]
    fn a_rewritten_config_makes_its_bundle_once_and_replaces_the_spec() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c0");
        BundleBuilder::new(&["echo", "one"])
            .rewrite_config(&dir)
            .unwrap();
        assert!(dir.join("rootfs").is_dir());
        BundleBuilder::new(&["echo", "two"])
            .rewrite_config(&dir)
            .unwrap();
        let spec = Spec::load(dir.join("config.json")).unwrap();
        let args = spec.process().as_ref().unwrap().args().clone().unwrap();
        assert_eq!(args, ["echo", "two"]);
        assert!(dir.join("rootfs").is_dir());
    }

    #[test]
    fn pid_namespace_choices_drive_rule_one() {
        let own = BundleBuilder::new(&["true"]);
        assert!(owns_pid_namespace(&own.spec));
        let host = BundleBuilder::new(&["true"]).pid_namespace(PidNamespace::Host);
        assert!(!owns_pid_namespace(&host.spec));
        let join = BundleBuilder::new(&["true"])
            .pid_namespace(PidNamespace::Join("/proc/1/ns/pid".into()));
        assert!(!owns_pid_namespace(&join.spec));
        // Switching back to Own leaves exactly one pid entry.
        let back = join.pid_namespace(PidNamespace::Own);
        let count = back
            .spec
            .linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|n| n.typ() == LinuxNamespaceType::Pid)
            .count();
        assert_eq!(count, 1);
    }

    #[test]
    fn config_only_bundle_has_the_spec_and_an_empty_rootfs() {
        let b = BundleBuilder::new(&["sh", "-c", "exit 3"])
            .pid_namespace(PidNamespace::Host)
            .build_config_only()
            .unwrap();
        let spec = Spec::load(b.path().join("config.json")).unwrap();
        assert!(!owns_pid_namespace(&spec));
        let p = spec.process().as_ref().unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &["sh", "-c", "exit 3"]);
        assert_eq!(fs::read_dir(b.path().join("rootfs")).unwrap().count(), 0);
    }

    #[test]
    fn build_writes_config_and_busybox_rootfs() {
        if !Path::new(BUSYBOX).exists() {
            eprintln!("skipping: {BUSYBOX} missing");
            return;
        }
        let b = BundleBuilder::new(&["sh", "-c", "echo hi"])
            .terminal(true)
            .cgroups_path("/rtl/test")
            .env("A=1")
            .build()
            .unwrap();
        let spec = Spec::load(b.path().join("config.json")).unwrap();
        let p = spec.process().as_ref().unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &["sh", "-c", "echo hi"]);
        assert_eq!(p.terminal(), Some(true));
        assert!(p.env().as_ref().unwrap().contains(&"A=1".to_string()));
        assert_eq!(
            spec.linux().as_ref().unwrap().cgroups_path().as_deref(),
            Some(Path::new("/rtl/test"))
        );
        assert!(b.path().join("rootfs/bin/busybox").is_file());
        assert_eq!(
            fs::read_link(b.path().join("rootfs/bin/sh")).unwrap(),
            Path::new("busybox")
        );
        let dir = b.path().to_path_buf();
        drop(b);
        assert!(!dir.exists(), "bundle directory removed on drop");
    }
}
