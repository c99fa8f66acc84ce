//! The rootfs mounts containerd passes with `Create` (snapshots; none with `ctr run
//! --rootfs`): mounted on `<bundle>/rootfs` before the container is created, unmounted when
//! it is deleted or when create fails.

use std::path::{Path, PathBuf};

use containerd_shim::protos::types::mount::Mount;

use crate::error::ShimError;

/// Mounts `mounts` in order on `<bundle>/rootfs`; returns the target if anything was mounted.
/// On failure, what was mounted is unmounted again.
pub fn mount_all(mounts: &[Mount], bundle: &Path) -> Result<Option<PathBuf>, ShimError> {
    if mounts.is_empty() {
        return Ok(None);
    }
    let target = bundle.join("rootfs");
    std::fs::create_dir_all(&target)
        .map_err(|e| ShimError::Io(format!("create {}", target.display()), e))?;
    for m in mounts {
        let fs_type = (!m.type_.is_empty()).then_some(m.type_.as_str());
        let source = (!m.source.is_empty()).then_some(m.source.as_str());
        if let Err(e) = containerd_shim::mount::mount_rootfs(fs_type, source, &m.options, &target) {
            unmount(&target);
            return Err(ShimError::Precondition(format!(
                "mount {} ({}) on {}: {e}",
                m.source,
                m.type_,
                target.display()
            )));
        }
        tracing::debug!(source = %m.source, fs_type = %m.type_, target = %target.display(), "rootfs mounted");
    }
    Ok(Some(target))
}

/// Unmounts everything at and below `target` (errors are logged: the caller is already
/// cleaning up).
pub fn unmount(target: &Path) {
    let t = target.display().to_string();
    if let Err(e) = containerd_shim::mount::umount_recursive(Some(&t), libc::MNT_DETACH) {
        tracing::warn!(target = %t, error = %e, "cannot unmount the rootfs");
    }
}
