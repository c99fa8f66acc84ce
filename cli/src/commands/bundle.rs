//! `rtctl bundle init DIR`.

use std::path::Path;

use crate::bundle;
use crate::error::CliError;

/// Fills the bundle's root filesystem from busybox and says where.
pub fn init(dir: &Path) -> Result<i32, CliError> {
    let rootfs = bundle::init(dir)?;
    println!("{}: root filesystem ready", rootfs.display());
    Ok(0)
}
