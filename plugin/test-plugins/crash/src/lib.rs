//! Test plugin that is structurally perfect (it passes every preflight check) but whose entry
//! function never returns a declaration: it kills its process (`abort`, SIGABRT), or hangs.
//! No structural check can see that; the probe's child dies (or is killed after its time
//! limit) instead of the host.
//!
//! The loader takes the entry symbol's name from the file name, so one library serves
//! several cases: `libtest_plugin_crash.so` and `libbackend_crash.so` abort,
//! `libcrash_hang.so` hangs.

/// Entry symbol of `libtest_plugin_crash.so`: aborts the process.
#[unsafe(no_mangle)]
pub extern "C" fn rtlayer_plugin_entry_test_plugin_crash() -> *const u8 {
    std::process::abort()
}

/// Entry symbol of a copy named `libbackend_crash.so` (found by `rtctl backends`): aborts.
#[unsafe(no_mangle)]
pub extern "C" fn rtlayer_plugin_entry_backend_crash() -> *const u8 {
    std::process::abort()
}

/// Entry symbol of a copy named `libcrash_hang.so`: never returns.
#[unsafe(no_mangle)]
pub extern "C" fn rtlayer_plugin_entry_crash_hang() -> *const u8 {
    loop {
        std::thread::park();
    }
}
