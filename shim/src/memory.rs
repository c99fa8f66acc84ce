//! Giving back the heap of a burst.
//!
//! One shim runs per container, for as long as the container runs, and after `Start` it mostly
//! waits. Creating and starting the container (the bundle's JSON, the backend's plugin and its
//! first calls, the relays) allocates far more than the shim keeps; glibc keeps the freed
//! pages mapped for reuse, and they stay resident in every shim of the node. After a start, the
//! free pages are handed back to the kernel (`malloc_trim(0)`: the top of the heap is
//! returned, free pages inside it are released with `MADV_DONTNEED`); the next burst faults
//! them in again.

/// Returns the heap's free pages to the kernel. Costs a walk over the free lists (a few
/// microseconds for a shim's heap); nothing allocated is touched.
pub fn give_back_free_heap() {
    // SAFETY: malloc_trim only releases memory the allocator holds free; it takes the
    // allocator's own locks and is safe to call from any thread at any time.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0);
    }
}
