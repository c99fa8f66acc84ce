//! The `containerd-shim-rtlayer-v1` binary.

fn main() {
    // One shim runs per container, so its memory is multiplied by the node's containers.
    // glibc gives every thread that allocates an arena of its own (up to 8 per core); the
    // shim's threads (ttrpc, waiters, relays, the plugin's reaper) allocate little, and a
    // single arena keeps their heap pages together instead of spread over a dozen arenas.
    // SAFETY: `mallopt` only sets an allocator parameter; it runs before any other thread
    // exists, and on failure (return 0) glibc keeps its default.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    containerd_shim::run::<shim::lifecycle::Lifecycle>(
        shim::lifecycle::RUNTIME_NAME,
        Some(shim::lifecycle::config()),
    );
}
