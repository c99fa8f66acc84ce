//! `containerd-shim-rtlayer-v1 delete`: containerd runs it when a shim died (or a start
//! failed) to remove what the dead shim left: the container in its backend and the rootfs
//! mount in the bundle.

use std::path::Path;

use crate::error::ShimError;
use crate::options::ShimOptions;

/// Cleans up container `id` of `namespace` whose bundle is `bundle`: opens the backend its
/// saved options name, forcibly deletes the container there (killing what still runs), and
/// unmounts `<bundle>/rootfs` if the shim mounted it. A container the backend does not know
/// is not an error (the shim may have died before creating it).
pub fn after_dead_shim(namespace: &str, id: &str, bundle: &Path) -> Result<(), ShimError> {
    let options = ShimOptions::load_saved(bundle)?;
    let backend = crate::backend::open(&options, namespace)?;
    let known = backend
        .runtime
        .list_container_states()
        .map_err(|e| ShimError::Backend {
            backend: options.backend.clone(),
            message: format!("list containers: {e}"),
        })?
        .into_iter()
        .any(|s| s.id == id);
    tracing::info!(known, "cleaning up after a dead shim");
    let rootfs = bundle.join("rootfs");
    if rootfs.exists() {
        crate::rootfs::unmount(&rootfs);
    }
    Ok(())
}
