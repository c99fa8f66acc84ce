//! A few descriptors held in reserve across a runc call, given back right before the steps
//! that must not fail for want of one.
//!
//! After `runc exec` (or `create`) has started a process, reading its pid file and opening its
//! pidfd each need a free descriptor. A host close to its `RLIMIT_NOFILE` (`EMFILE`) would
//! otherwise leave a process running that nobody knows the pid of. Holding two descriptors
//! (`/dev/null`, close-on-exec) from before the call and closing them just before those steps
//! gives the steps room even if the host used up the rest meanwhile.

use std::fs::File;

/// Descriptors held back; dropping (or [`release`](FdReserve::release)) gives them back.
pub(crate) struct FdReserve {
    _held: Vec<File>,
}

impl FdReserve {
    /// Holds up to `n` descriptors (fewer if the limit is already reached).
    pub fn new(n: usize) -> FdReserve {
        FdReserve {
            _held: (0..n)
                .filter_map(|_| File::open("/dev/null").ok())
                .collect(),
        }
    }

    /// Gives the descriptors back.
    pub fn release(self) {}
}
