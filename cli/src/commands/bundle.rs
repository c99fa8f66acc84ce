//! `rtctl bundle init DIR`.

use std::path::PathBuf;

use crate::bundle;
use crate::error::CliError;

/// Fills each bundle's root filesystem from busybox and says where; stops at the first
/// bundle that fails.
pub fn init(dirs: &[PathBuf]) -> Result<i32, CliError> {
    for dir in dirs {
        let rootfs = bundle::init(dir)?;
        println!("{}: root filesystem ready", rootfs.display());
    }
    Ok(0)
}
