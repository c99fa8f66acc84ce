//! Keeping an idle shim small: giving back the heap of a burst and the code it ran.
//!
//! One shim runs per container, for as long as the container runs, and after `Start` it mostly
//! waits. Two kinds of pages stay resident from the burst of creating and starting the
//! container, in every shim of the node:
//!
//! - **Free heap.** The bundle's JSON, the backend's plugin and its first calls and the relays
//!   allocate far more than the shim keeps; glibc keeps the freed pages mapped for reuse.
//!   [`give_back_free_heap`] returns them (`malloc_trim(0)`).
//! - **Code it ran once.** Create and start run most of the shim's code, the plugin's and
//!   libc's, and the kernel maps code 64 KiB around every page fault (fault-around), so the
//!   resident size of a shim follows the size of its code, not what it runs while it waits.
//!   [`shed_idle_code`] unmaps this process's view of those pages (`MADV_DONTNEED` over the
//!   read-only segments of every loaded object). They are clean page-cache pages of the
//!   binaries: nothing is lost, the page cache keeps them for every other process, and the
//!   next request faults back in only what it runs (minor faults, no I/O while the page cache
//!   holds them).
//!
//! Both run once the shim has gone quiet after a `Start` (see [`idle`](crate::idle)): the
//! answer to the start, the events it publishes and the waiter threads it starts run code too,
//! and shedding before them would only see that code faulted straight back in.

use std::ffi::{c_int, c_void};

use object::elf::{Dyn64, DF_TEXTREL, DT_FLAGS, DT_NULL, DT_TEXTREL, PF_W, PT_DYNAMIC, PT_LOAD};
use object::NativeEndian;

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

/// What [`shed_idle_code`] did: the bytes of read-only segments it unmapped, and the objects
/// it left alone because their code may hold relocations written at load time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shed {
    /// Bytes of address space advised `MADV_DONTNEED` (resident or not).
    pub bytes: usize,
    /// Loaded objects skipped because they have text relocations (`DT_TEXTREL`).
    pub skipped_textrel: usize,
}

/// Unmaps this process's pages of the read-only segments (code and read-only data) of every
/// object the dynamic loader has loaded: the executable, its libraries and the backend plugin.
///
/// Guarantees:
/// - **Nothing written is lost.** Only `PT_LOAD` segments without write permission are
///   touched, and only of objects without text relocations, so every page there is the file's
///   own content (relocated data lives in the writable segments, `RELRO` included, which are
///   never touched). `MADV_DONTNEED` on a private file mapping drops the process's page-table
///   entries; the next access maps the same page-cache page again.
/// - **No race with unloading.** The segments are advised from inside `dl_iterate_phdr`'s
///   callback, under the loader's lock, so no object is unloaded (and nothing else mapped at
///   its addresses) meanwhile. Other threads may run that code at the same time: they fault
///   it back in.
/// - The vDSO (a kernel mapping, not a file) is skipped.
pub fn shed_idle_code() -> Shed {
    let mut shed = Shed::default();
    // SAFETY: `dl_iterate_phdr` calls `advise_object` once per loaded object with a valid
    // `dl_phdr_info` and the pointer given here, which is a live `&mut Shed` for the whole
    // call; the callback does not unwind (it only reads headers and calls madvise).
    unsafe {
        libc::dl_iterate_phdr(Some(advise_object), (&mut shed as *mut Shed).cast());
    }
    tracing::debug!(
        bytes = shed.bytes,
        skipped_textrel = shed.skipped_textrel,
        "read-only segments of loaded objects unmapped"
    );
    shed
}

/// `dl_iterate_phdr` callback: advises `MADV_DONTNEED` over one object's read-only segments.
unsafe extern "C" fn advise_object(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut c_void,
) -> c_int {
    // SAFETY: the loader passes a valid `info` for the duration of the call; `data` is the
    // `&mut Shed` given to `dl_iterate_phdr` by `shed_idle_code`.
    let (info, shed) = unsafe { (&*info, &mut *data.cast::<Shed>()) };
    if info.dlpi_phdr.is_null() || info.dlpi_phnum == 0 {
        return 0;
    }
    // SAFETY: `dlpi_phdr` points at the object's `dlpi_phnum` program headers, mapped for as
    // long as the object is loaded (the loader's lock is held during the callback).
    let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
    let base = info.dlpi_addr as usize;
    // SAFETY: getauxval only reads the auxiliary vector.
    let vdso = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } as usize;
    let loads = phdrs.iter().filter(|p| p.p_type == PT_LOAD);
    if vdso != 0
        && loads.clone().any(|p| {
            let start = base.wrapping_add(p.p_vaddr as usize);
            (start..start.wrapping_add(p.p_memsz as usize)).contains(&vdso)
        })
    {
        return 0;
    }
    if let Some(dynamic) = phdrs.iter().find(|p| p.p_type == PT_DYNAMIC) {
        // SAFETY: the dynamic segment of a loaded object is mapped at base + p_vaddr and
        // ends with a DT_NULL entry (the loader itself read it this way).
        if unsafe { has_text_relocations(base.wrapping_add(dynamic.p_vaddr as usize)) } {
            shed.skipped_textrel += 1;
            return 0;
        }
    }
    let page = page_size();
    for segment in loads.filter(|p| p.p_flags & PF_W == 0) {
        // Whole pages inside the segment only: a page shared with a neighbour is kept.
        let start = base.wrapping_add(segment.p_vaddr as usize);
        let end = start.wrapping_add(segment.p_memsz as usize);
        let (start, end) = (start.next_multiple_of(page), end - end % page);
        if end <= start {
            continue;
        }
        // SAFETY: [start, end) lies inside a read-only PT_LOAD segment of an object that stays
        // loaded while the loader's lock is held; its pages are clean file pages (no write
        // permission, no text relocations), so MADV_DONTNEED only drops this process's
        // mappings of them and the next access maps the same contents again.
        let advised =
            unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_DONTNEED) };
        if advised == 0 {
            shed.bytes += end - start;
        }
    }
    0
}

/// Whether the dynamic section at `dynamic` asks for text relocations (`DT_TEXTREL`, or
/// `DF_TEXTREL` in `DT_FLAGS`): then the loader wrote into the object's code pages.
///
/// # Safety
/// `dynamic` must point at a mapped ELF64 dynamic section terminated by `DT_NULL`.
unsafe fn has_text_relocations(dynamic: usize) -> bool {
    let mut entry = dynamic as *const Dyn64<NativeEndian>;
    loop {
        // SAFETY: the caller guarantees entries up to DT_NULL are mapped.
        let dyn_entry = unsafe { &*entry };
        let tag = dyn_entry.d_tag.get(NativeEndian);
        if tag == u64::from(DT_NULL) {
            return false;
        }
        if tag == u64::from(DT_TEXTREL)
            || (tag == u64::from(DT_FLAGS)
                && dyn_entry.d_val.get(NativeEndian) & u64::from(DF_TEXTREL) != 0)
        {
            return true;
        }
        // SAFETY: not yet at DT_NULL, so the next entry is inside the section.
        entry = unsafe { entry.add(1) };
    }
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4096, |size| size as usize)
}
