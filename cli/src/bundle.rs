//! OCI bundles on disk: reading a bundle's `config.json` with one-line errors, and filling its
//! root filesystem from the host's static busybox (`rtctl bundle init`), since the repository
//! cannot carry a busybox binary.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use testkit::BUSYBOX;

use crate::error::CliError;

/// Reads `BUNDLE/config.json`, refusing a missing directory, a missing file or a malformed
/// spec with one line that names the bundle.
pub fn load_spec(bundle: &Path) -> Result<Spec, CliError> {
    let shown = bundle.display();
    match fs::metadata(bundle) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(CliError::new(format!("bundle {shown}: not a directory"))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CliError::new(format!("bundle {shown}: no such directory")))
        }
        Err(e) => return Err(CliError::new(format!("bundle {shown}: {e}"))),
    }
    let config = bundle.join("config.json");
    let text = match fs::read(&config) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CliError::new(format!(
                "bundle {shown}: no config.json in the bundle directory"
            )))
        }
        Err(e) => return Err(CliError::new(format!("bundle {shown}: config.json: {e}"))),
    };
    let spec: Spec = serde_json::from_slice(&text).map_err(|e| {
        CliError::new(format!(
            "bundle {shown}: config.json is not a valid OCI spec: {e}"
        ))
    })?;
    if spec.process().is_none() {
        return Err(CliError::new(format!(
            "bundle {shown}: config.json has no \"process\" to run"
        )));
    }
    Ok(spec)
}

/// The root filesystem directory the spec names (relative paths are under the bundle).
pub fn rootfs_path(bundle: &Path, spec: &Spec) -> PathBuf {
    let root = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .unwrap_or_else(|| PathBuf::from("rootfs"));
    if root.is_absolute() {
        root
    } else {
        bundle.join(root)
    }
}

/// For a real backend: refuses a bundle whose root filesystem was never populated, saying how
/// to populate it.
pub fn check_rootfs(bundle: &Path, spec: &Spec) -> Result<(), CliError> {
    let rootfs = rootfs_path(bundle, spec);
    if rootfs.join("bin").is_dir() {
        return Ok(());
    }
    Err(CliError::new(format!(
        "bundle {}: root filesystem {} is empty or missing (fill it from {BUSYBOX} with `rtctl bundle init {}`)",
        bundle.display(),
        rootfs.display(),
        bundle.display()
    )))
}

/// Fills the bundle's root filesystem with `/bin/busybox`, its applet links, `/proc`, `/dev`,
/// `/sys`, `/tmp` and a minimal `/etc`. Idempotent: what is already there is kept. Returns the
/// root filesystem's path.
pub fn init(bundle: &Path) -> Result<PathBuf, CliError> {
    let spec = load_spec(bundle)?;
    let rootfs = rootfs_path(bundle, &spec);
    testkit::write_busybox_rootfs(&rootfs).map_err(|e| {
        CliError::new(format!(
            "bundle {}: filling {}: {e}",
            bundle.display(),
            rootfs.display()
        ))
    })?;
    Ok(rootfs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, config: &str) {
        fs::write(dir.join("config.json"), config).unwrap();
    }

    #[test]
    fn load_refuses_bad_bundles_in_one_line() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let e = load_spec(&missing).unwrap_err().to_string();
        assert!(e.ends_with("no such directory"), "{e}");
        let e = load_spec(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("no config.json"), "{e}");
        write(tmp.path(), "{ not json");
        let e = load_spec(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("not a valid OCI spec"), "{e}");
        assert!(!e.contains('\n'));
        write(tmp.path(), r#"{"ociVersion": "1.0.2"}"#);
        let e = load_spec(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("no \"process\""), "{e}");
    }

    #[test]
    fn init_fills_the_rootfs_and_is_idempotent() {
        if !Path::new(BUSYBOX).is_file() {
            eprintln!("skipping: {BUSYBOX} missing");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let spec = testkit::BundleBuilder::new(&["true"]);
        let mut spec = spec;
        let json = serde_json::to_string(spec.spec_mut()).unwrap();
        write(tmp.path(), &json);
        assert!(check_rootfs(tmp.path(), &load_spec(tmp.path()).unwrap()).is_err());
        let rootfs = init(tmp.path()).unwrap();
        assert!(rootfs.join("bin/busybox").is_file());
        assert_eq!(
            fs::read_link(rootfs.join("bin/sh")).unwrap(),
            Path::new("busybox")
        );
        init(tmp.path()).unwrap();
        check_rootfs(tmp.path(), &load_spec(tmp.path()).unwrap()).unwrap();
    }
}
