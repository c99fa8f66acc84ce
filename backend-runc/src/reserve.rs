//! A few descriptors held in reserve across a runc call, given back right before the steps
//! that must not fail for want of one.
//!
//! After `runc exec` (or `create`) has started a process, reading its pid file and opening its
//! pidfd each need a free descriptor. A host close to its `RLIMIT_NOFILE` (`EMFILE`) would
//! otherwise leave a process running that nobody knows the pid of. Holding two descriptors
//! (`/dev/null`, close-on-exec) from before the call and closing them just before those steps
//! gives the steps room even if the host used up the rest meanwhile.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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

/// Most bytes [`read_small_file_in_helper`] reads.
const HELPER_READ_MAX: usize = 64;

/// What the helper of [`read_small_file_in_helper`] is given and leaves behind. It lives in
/// our memory, which the helper shares.
struct HelperRead {
    path: *const libc::c_char,
    buf: [u8; HELPER_READ_MAX],
    /// Bytes read, or `-errno`.
    result: isize,
}

/// The helper's body: opens and reads the file in its own descriptor table. Only raw system
/// calls: it runs on a small stack of its own, in our memory, while the calling thread waits.
extern "C" fn helper_read(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `HelperRead` that `read_small_file_in_helper` passed to `clone`;
    // its thread is suspended (CLONE_VFORK) until this returns, so nothing else touches it.
    let job = unsafe { &mut *arg.cast::<HelperRead>() };
    let errno = || {
        // SAFETY: reads this thread's errno (the caller's, which is suspended meanwhile).
        unsafe { *libc::__errno_location() }
    };
    // SAFETY: `job.path` is a NUL-terminated path the caller keeps alive.
    let mut fd = unsafe { libc::open(job.path, libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 && matches!(errno(), libc::EMFILE | libc::ENFILE) {
        // Every usable slot is taken: free the lowest one, in this helper's copy of the table
        // only (it has no CLONE_FILES), and try again.
        // SAFETY: closes fd 0 of the helper's own descriptor table.
        unsafe { libc::close(0) };
        // SAFETY: as above.
        fd = unsafe { libc::open(job.path, libc::O_RDONLY | libc::O_CLOEXEC) };
    }
    if fd < 0 {
        job.result = -(errno() as isize);
        return 0;
    }
    let mut len = 0usize;
    job.result = loop {
        // SAFETY: reads into the unfilled part of `job.buf`, which is ours.
        let n = unsafe {
            libc::read(
                fd,
                job.buf[len..].as_mut_ptr().cast(),
                HELPER_READ_MAX - len,
            )
        };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            break -(errno() as isize);
        }
        len += n as usize;
        if n == 0 || len == HELPER_READ_MAX {
            break len as isize;
        }
    };
    // SAFETY: closes the descriptor opened above, in the helper's own table.
    unsafe { libc::close(fd) };
    0
}

/// Reads a small file (at most [`HELPER_READ_MAX`] bytes: a pid file) without taking a slot in
/// this process's descriptor table.
///
/// After `runc exec` has started a process, its pid file must be read even if every usable
/// descriptor slot is taken, by the host's threads or ours, or lies above a lowered
/// `RLIMIT_NOFILE`: slots given back by an [`FdReserve`] can be taken by any thread before
/// they are used, or be above the limit. So the file is read by a helper made with
/// `clone(CLONE_VM | CLONE_VFORK)` and no `CLONE_FILES`: it shares our memory (the bytes
/// come back in place) but has its own copy of the descriptor table, in which it may close a
/// slot to open the file. Nothing of the host's table changes. The helper exits with no exit
/// signal (so a host's `waitpid(-1)` without `__WALL` never sees it), with every signal
/// blocked, and is reaped here by its pid.
pub(crate) fn read_small_file_in_helper(path: &Path) -> io::Result<Vec<u8>> {
    let cpath = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut job = HelperRead {
        path: cpath.as_ptr(),
        buf: [0; HELPER_READ_MAX],
        result: 0,
    };
    let mut stack = vec![0u8; 64 * 1024];
    // SAFETY: the top of `stack` (stacks grow down on every Linux target Rust supports with
    // clone's signature), aligned down to 16 bytes.
    let top = unsafe { stack.as_mut_ptr().add(stack.len()) };
    let top = ((top as usize) & !15) as *mut libc::c_void;
    // SAFETY: sigset_t is plain data; sigfillset initialises it.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `old` is plain data, written by pthread_sigmask.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: fills a sigset we own; blocks every signal in this thread (the helper inherits
    // the mask, so no host handler ever runs on its stack in our memory).
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    // SAFETY: `helper_read` uses only `job` and its own stack, both alive until clone returns
    // (CLONE_VFORK: this thread is suspended until the helper exits).
    let pid = unsafe {
        libc::clone(
            helper_read,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK,
            (&mut job as *mut HelperRead).cast(),
        )
    };
    let clone_err = io::Error::last_os_error();
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    if pid < 0 {
        return Err(io::Error::new(
            clone_err.kind(),
            format!("starting a helper to read {}: {clone_err}", path.display()),
        ));
    }
    loop {
        let mut status = 0;
        // SAFETY: reaps the helper we just made (ours by pid, exit signal 0: __WALL).
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            tracing::warn!(pid, error = %e, "reaping the pid-file helper");
            break;
        }
    }
    drop(stack);
    if job.result < 0 {
        return Err(io::Error::from_raw_os_error(-job.result as i32));
    }
    Ok(job.buf[..job.result as usize].to_vec())
}
