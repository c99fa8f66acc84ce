//! Helpers shared by the plugin's integration tests.

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::OnceLock;

use plugin::Plugin;

/// The `full` test plugin, built and loaded once per test process.
pub fn full() -> Plugin {
    static FULL: OnceLock<Plugin> = OnceLock::new();
    FULL.get_or_init(|| {
        let path = plugin::testing::plugin_path("test-plugin-full");
        plugin::load(&path).unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
    })
    .clone()
}

/// A pipe: (read end, write end), both close-on-exec.
pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 succeeded, so both are fresh fds that we own.
    unsafe {
        use std::os::fd::FromRawFd;
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    }
}

/// Reads an fd to end-of-file (returns once every write end is closed).
pub fn read_to_end(fd: OwnedFd) -> Vec<u8> {
    let mut bytes = Vec::new();
    File::from(fd)
        .read_to_end(&mut bytes)
        .expect("read to end-of-file");
    bytes
}

/// Writes all of `bytes` then closes the fd.
pub fn write_and_close(fd: OwnedFd, bytes: &[u8]) {
    File::from(fd).write_all(bytes).expect("write");
}

/// The number of open fds of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// An OCI process spec with these args (and optionally a terminal).
pub fn spec(args: &[&str], terminal: bool) -> oci_spec::runtime::Process {
    let mut process = oci_spec::runtime::Process::default();
    process.set_args(Some(args.iter().map(|s| s.to_string()).collect()));
    process.set_terminal(Some(terminal));
    process
}
