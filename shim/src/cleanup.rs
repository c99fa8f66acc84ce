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
    match backend.runtime.force_delete(id) {
        Ok(()) => tracing::info!("container force-deleted after a dead shim"),
        Err(e) if e.is(runtime_api::ErrorKind::NotFound) => {
            tracing::info!("the backend does not know the container: nothing to delete")
        }
        Err(e) => {
            return Err(ShimError::Backend {
                backend: options.backend.clone(),
                message: format!("force delete {id:?}: {e}"),
            })
        }
    }
    let rootfs = bundle.join("rootfs");
    if rootfs.exists() {
        crate::rootfs::unmount(&rootfs);
    }
    Ok(())
}
