//! Preflight: the structural checks a plugin file passes before the host hands it to the
//! dynamic loader.
//!
//! # Why
//!
//! `dlopen` trusts the file: it maps the `PT_LOAD` segments, walks the dynamic table, the
//! version tables and the symbol hash table, and applies every relocation, writing wherever
//! the relocation says. A corrupt file (a failed upgrade, a full disk, a wrong download) can
//! therefore crash the host inside `ld.so` (a relocation aimed outside the library) or be
//! accepted with pages missing (a truncated file whose tail faults later). Preflight reads
//! the parts `ld.so` reads, with the `object` crate, and refuses, with a [`Check`] naming what
//! is wrong, any file where one of them points outside the file or outside the library's own
//! memory image.
//!
//! # What it guarantees
//!
//! When [`check`] passes, for the host's class, byte order and machine:
//! - the path is a regular file (not a directory, FIFO, socket or device: opening it never
//!   blocks), an ELF shared object (`ET_DYN`, not a position-independent executable);
//! - every `PT_LOAD` segment's bytes are inside the file (no truncation inside the image), the
//!   segments are aligned as `ld.so` requires, ascending and not overlapping;
//! - the dynamic section lies inside a loaded segment and is terminated; every address the
//!   dynamic table gives (string, symbol, hash, version, relocation and initialiser tables)
//!   falls with its whole extent inside the bytes of a loaded segment;
//! - every string offset `ld.so` reads (needed libraries, sonames, run paths, symbol and
//!   version names) is inside the string table; the version chains end inside their tables;
//! - the hash table's buckets and chains stay inside the symbol table;
//! - every relocation has a type `ld.so` handles for this machine, a symbol index inside the
//!   symbol table, and a target inside a writable segment of the library; relative
//!   relocations point inside the library's image; initialisers point into executable code;
//! - the entry symbol is a defined function among the dynamic symbols, inside executable
//!   code.
//!
//! What it cannot see: the *content* of code and data. A flipped byte in `.text` passes; what
//! that code does when run (at load, by the entry function, or later) is for the probe
//! (`crate::host::probe`) to contain, and only a pinned digest rules it out.

use std::fmt;
use std::fs::File;
use std::mem::size_of;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use object::elf;
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader as _, Rela as _, Sym as _};
use object::{Endianness, ReadCache, ReadRef};

type Ehdr = elf::FileHeader64<Endianness>;
type Phdr = elf::ProgramHeader64<Endianness>;
type DynEntry = elf::Dyn64<Endianness>;
type Sym = elf::Sym64<Endianness>;
type Rela = elf::Rela64<Endianness>;

/// The ELF class of this host.
const HOST_CLASS: u8 = if cfg!(target_pointer_width = "64") {
    elf::ELFCLASS64
} else {
    elf::ELFCLASS32
};
/// The ELF byte order of this host.
const HOST_DATA: u8 = if cfg!(target_endian = "little") {
    elf::ELFDATA2LSB
} else {
    elf::ELFDATA2MSB
};
/// The ELF machine of this host (0 where this module knows none: every file is refused).
const HOST_MACHINE: u16 = if cfg!(target_arch = "x86_64") {
    elf::EM_X86_64
} else if cfg!(target_arch = "aarch64") {
    elf::EM_AARCH64
} else {
    0
};

/// The relocation types `ld.so` applies in a shared object of this host's machine.
fn known_relocation(r_type: u32) -> bool {
    if cfg!(target_arch = "x86_64") {
        matches!(
            r_type,
            elf::R_X86_64_NONE
                | elf::R_X86_64_64
                | elf::R_X86_64_GLOB_DAT
                | elf::R_X86_64_JUMP_SLOT
                | elf::R_X86_64_RELATIVE
                | elf::R_X86_64_DTPMOD64
                | elf::R_X86_64_DTPOFF64
                | elf::R_X86_64_TPOFF64
                | elf::R_X86_64_TLSDESC
                | elf::R_X86_64_IRELATIVE
        )
    } else {
        matches!(
            r_type,
            elf::R_AARCH64_NONE
                | elf::R_AARCH64_ABS64
                | elf::R_AARCH64_GLOB_DAT
                | elf::R_AARCH64_JUMP_SLOT
                | elf::R_AARCH64_RELATIVE
                | elf::R_AARCH64_TLS_DTPMOD
                | elf::R_AARCH64_TLS_DTPREL
                | elf::R_AARCH64_TLS_TPREL
                | elf::R_AARCH64_TLSDESC
                | elf::R_AARCH64_IRELATIVE
        )
    }
}

/// The relative relocation of this host's machine (`base + addend`).
const R_RELATIVE: u32 = if cfg!(target_arch = "x86_64") {
    elf::R_X86_64_RELATIVE
} else {
    elf::R_AARCH64_RELATIVE
};

/// The relocation types of PLT slots (jump slots, IFUNC slots, lazy TLS descriptors).
fn plt_relocation(r_type: u32) -> bool {
    if cfg!(target_arch = "x86_64") {
        matches!(
            r_type,
            elf::R_X86_64_JUMP_SLOT | elf::R_X86_64_IRELATIVE | elf::R_X86_64_TLSDESC
        )
    } else {
        matches!(
            r_type,
            elf::R_AARCH64_JUMP_SLOT | elf::R_AARCH64_IRELATIVE | elf::R_AARCH64_TLSDESC
        )
    }
}

/// `DT_RELR` (packed relative relocations), not named by every `object` release.
const DT_RELR: u32 = 36;
/// `DT_RELRSZ`.
const DT_RELRSZ: u32 = 35;

/// Which structural check refused a file. The names are stable (`check.name()`), for
/// counting and matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Check {
    /// The path is not a regular file (a directory, FIFO, socket, device), or cannot be
    /// opened or read.
    FileType,
    /// No ELF header: too short, wrong magic, wrong version, wrong header sizes.
    ElfHeader,
    /// 32-bit vs 64-bit differs from the host.
    Class,
    /// Byte order differs from the host.
    ByteOrder,
    /// Built for another machine (`e_machine`).
    Machine,
    /// Not a shared object: an executable, a relocatable object, a core dump, a PIE.
    ObjectType,
    /// The program header table is not inside the file.
    ProgramHeaders,
    /// A loadable segment is truncated, misaligned, overlapping or out of order.
    Segments,
    /// The dynamic section is missing, outside the loaded image, or not terminated.
    DynamicSection,
    /// A dynamic table entry points outside the loaded image, or a required one is missing.
    DynamicTable,
    /// A string offset is outside the string table.
    StringTable,
    /// The symbol table is outside the image, or a symbol is out of bounds.
    SymbolTable,
    /// A symbol version table or chain is out of bounds.
    Versions,
    /// The symbol hash table is out of bounds or points outside the symbol table.
    HashTable,
    /// A relocation has an unknown type, a bad symbol, or a target outside the library's
    /// writable memory.
    Relocations,
    /// An initialiser or finaliser does not point into executable code.
    Initialisers,
    /// The entry symbol is not a defined function in executable code.
    EntrySymbol,
}

impl Check {
    /// Every check, in the order they run.
    pub const ALL: [Check; 17] = [
        Check::FileType,
        Check::ElfHeader,
        Check::Class,
        Check::ByteOrder,
        Check::Machine,
        Check::ObjectType,
        Check::ProgramHeaders,
        Check::Segments,
        Check::DynamicSection,
        Check::DynamicTable,
        Check::StringTable,
        Check::SymbolTable,
        Check::Versions,
        Check::HashTable,
        Check::Relocations,
        Check::Initialisers,
        Check::EntrySymbol,
    ];

    /// A short stable name (`"segments"`, `"relocations"`).
    pub fn name(self) -> &'static str {
        match self {
            Check::FileType => "file-type",
            Check::ElfHeader => "elf-header",
            Check::Class => "class",
            Check::ByteOrder => "byte-order",
            Check::Machine => "machine",
            Check::ObjectType => "object-type",
            Check::ProgramHeaders => "program-headers",
            Check::Segments => "segments",
            Check::DynamicSection => "dynamic-section",
            Check::DynamicTable => "dynamic-table",
            Check::StringTable => "string-table",
            Check::SymbolTable => "symbol-table",
            Check::Versions => "versions",
            Check::HashTable => "hash-table",
            Check::Relocations => "relocations",
            Check::Initialisers => "initialisers",
            Check::EntrySymbol => "entry-symbol",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A refusal: which check, and what exactly is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The check that failed.
    pub check: Check,
    /// What is wrong, with the offsets or values involved.
    pub message: String,
}

type Outcome<T> = std::result::Result<T, Refusal>;

fn refuse<T>(check: Check, message: impl Into<String>) -> Outcome<T> {
    Err(Refusal {
        check,
        message: message.into(),
    })
}

/// Opens `path` without blocking (a FIFO would otherwise block the open until a writer comes)
/// and checks it is a regular file.
pub(crate) fn open_regular(path: &Path) -> Outcome<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .or_else(|e| refuse(Check::FileType, format!("cannot open: {e}")))?;
    let meta = file
        .metadata()
        .or_else(|e| refuse(Check::FileType, format!("cannot stat: {e}")))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_block_device() || kind.is_char_device() {
            "a device"
        } else {
            "not a regular file"
        };
        return refuse(Check::FileType, format!("{what}, not a library file"));
    }
    Ok(file)
}

/// Runs every check on the file at `path`, looking for the entry symbol `entry` (what
/// [`load`](crate::load) does before `dlopen`; see the module docs for what passing
/// guarantees). Reads only what the dynamic loader would read: the headers and the tables the
/// dynamic section points to, not the code or the debug info.
pub fn check(path: &Path, entry: &str) -> Outcome<()> {
    run(open_regular(path)?, entry)
}

/// Runs every check on the open regular `file`, looking for the entry symbol `entry`.
pub(crate) fn run(file: File, entry: &str) -> Outcome<()> {
    let cache = ReadCache::new(file);
    Image::read(&cache)?.check_all(entry)
}

/// A loadable segment, as `ld.so` maps it.
#[derive(Debug, Clone, Copy)]
struct Segment {
    offset: u64,
    filesz: u64,
    vaddr: u64,
    memsz: u64,
    flags: u32,
}

impl Segment {
    fn contains_memory(&self, vaddr: u64, len: u64) -> bool {
        vaddr >= self.vaddr
            && vaddr
                .checked_add(len)
                .is_some_and(|end| end <= self.vaddr + self.memsz)
    }
    fn contains_file_bytes(&self, vaddr: u64, len: u64) -> bool {
        vaddr >= self.vaddr
            && vaddr
                .checked_add(len)
                .is_some_and(|end| end <= self.vaddr + self.filesz)
    }
}

/// What the checks share: the file, its segments and the dynamic entries.
struct Image<'a> {
    data: &'a ReadCache<File>,
    endian: Endianness,
    segments: Vec<Segment>,
    tls: Option<(u64, u64)>,
    dynamic: Vec<(u64, u64)>,
}

impl<'a> Image<'a> {
    fn read(data: &'a ReadCache<File>) -> Outcome<Image<'a>> {
        let len = data
            .len()
            .or_else(|_| refuse(Check::FileType, "cannot read the file's length"))?;
        if len == 0 {
            return refuse(Check::ElfHeader, "empty file");
        }
        let ident = data.read_bytes_at(0, 16).or_else(|_| {
            refuse(
                Check::ElfHeader,
                format!("{len} bytes, shorter than an ELF identification"),
            )
        })?;
        if ident[..4] != elf::ELFMAG {
            return refuse(Check::ElfHeader, "no ELF magic number: not an ELF file");
        }
        let (class, byte_order, version) = (ident[4], ident[5], ident[6]);
        if class != HOST_CLASS {
            return refuse(
                Check::Class,
                format!(
                    "ELF class {class} (this host is class {HOST_CLASS}: 1 = 32-bit, 2 = 64-bit)"
                ),
            );
        }
        if byte_order != HOST_DATA {
            return refuse(
                Check::ByteOrder,
                format!("ELF byte order {byte_order} (this host is {HOST_DATA}: 1 = little, 2 = big endian)"),
            );
        }
        if version != elf::EV_CURRENT {
            return refuse(Check::ElfHeader, format!("ELF version {version}"));
        }
        let header =
            Ehdr::parse(data).or_else(|e| refuse(Check::ElfHeader, format!("{len} bytes: {e}")))?;
        let endian = header
            .endian()
            .or_else(|e| refuse(Check::ByteOrder, e.to_string()))?;
        let machine = header.e_machine(endian);
        if machine != HOST_MACHINE {
            return refuse(
                Check::Machine,
                format!("built for machine {machine} (e_machine), this host is {HOST_MACHINE}"),
            );
        }
        match header.e_type(endian) {
            elf::ET_DYN => {}
            elf::ET_EXEC => {
                return refuse(Check::ObjectType, "an executable, not a shared library")
            }
            elf::ET_REL => {
                return refuse(
                    Check::ObjectType,
                    "a relocatable object, not a shared library",
                )
            }
            elf::ET_CORE => return refuse(Check::ObjectType, "a core dump, not a shared library"),
            other => {
                return refuse(
                    Check::ObjectType,
                    format!("object type {other}, not a shared library"),
                )
            }
        }
        if usize::from(header.e_ehsize.get(endian)) != size_of::<Ehdr>() {
            return refuse(
                Check::ElfHeader,
                format!("header size {}", header.e_ehsize.get(endian)),
            );
        }
        let phnum = header.e_phnum.get(endian);
        if phnum == 0 || phnum == elf::PN_XNUM {
            return refuse(Check::ProgramHeaders, format!("{phnum} program headers"));
        }
        if usize::from(header.e_phentsize.get(endian)) != size_of::<Phdr>() {
            return refuse(
                Check::ProgramHeaders,
                format!("program header size {}", header.e_phentsize.get(endian)),
            );
        }
        let phoff = header.e_phoff.get(endian);
        let headers: &[Phdr] = data.read_slice_at(phoff, usize::from(phnum)).or_else(|_| {
            refuse(
                Check::ProgramHeaders,
                format!("{phnum} program headers at offset {phoff} run past the end of the {len}-byte file"),
            )
        })?;

        let mut segments: Vec<Segment> = Vec::new();
        let mut dynamic_header = None;
        let mut tls = None;
        let mut phdr = None;
        for (i, ph) in headers.iter().enumerate() {
            let (offset, filesz) = (ph.p_offset(endian), ph.p_filesz(endian));
            let (vaddr, memsz) = (ph.p_vaddr(endian), ph.p_memsz(endian));
            let in_file = offset.checked_add(filesz).is_some_and(|end| end <= len);
            match ph.p_type(endian) {
                elf::PT_LOAD => {
                    if !in_file {
                        return refuse(
                            Check::Segments,
                            format!("loadable segment {i} needs bytes {offset}..{} of a {len}-byte file (truncated?)", offset.saturating_add(filesz)),
                        );
                    }
                    if filesz > memsz || vaddr.checked_add(memsz).is_none() {
                        return refuse(
                            Check::Segments,
                            format!(
                                "loadable segment {i}: file size {filesz} > memory size {memsz}"
                            ),
                        );
                    }
                    let align = ph.p_align(endian);
                    if align > 1 && (!align.is_power_of_two() || offset % align != vaddr % align) {
                        return refuse(Check::Segments, format!("loadable segment {i}: offset {offset:#x} and address {vaddr:#x} not aligned to {align:#x}"));
                    }
                    if let Some(last) = segments.last() {
                        if vaddr < last.vaddr + last.memsz {
                            return refuse(Check::Segments, format!("loadable segment {i} at {vaddr:#x} overlaps or precedes the one before"));
                        }
                    }
                    segments.push(Segment {
                        offset,
                        filesz,
                        vaddr,
                        memsz,
                        flags: ph.p_flags(endian),
                    });
                }
                elf::PT_DYNAMIC if dynamic_header.is_some() => {
                    return refuse(Check::DynamicSection, "more than one dynamic segment");
                }
                elf::PT_DYNAMIC => dynamic_header = Some((i, offset, filesz, vaddr)),
                elf::PT_TLS => tls = Some((vaddr, memsz)),
                elf::PT_PHDR => phdr = Some((i, offset, filesz, vaddr)),
                elf::PT_INTERP if !in_file => {
                    return refuse(
                        Check::ProgramHeaders,
                        format!("interpreter segment {i} past the end of the file"),
                    )
                }
                _ => {}
            }
        }
        if segments.is_empty() {
            return refuse(Check::Segments, "no loadable segment");
        }
        let image_end = segments.last().map(|s| s.vaddr + s.memsz).unwrap_or(0);
        if image_end > 1 << 40 {
            return refuse(
                Check::Segments,
                format!("memory image of {image_end:#x} bytes"),
            );
        }
        let mut image = Image {
            data,
            endian,
            segments,
            tls,
            dynamic: Vec::new(),
        };
        if let Some((_, vaddr, memsz)) = tls.map(|(v, m)| ((), v, m)) {
            if !image
                .segments
                .iter()
                .any(|s| s.contains_memory(vaddr, memsz))
            {
                return refuse(
                    Check::Segments,
                    "the TLS segment is outside the loaded image",
                );
            }
        }

        // ld.so finds the program headers in memory through PT_PHDR: it must describe the
        // table itself, mapped from the file.
        if let Some((i, offset, filesz, vaddr)) = phdr {
            let table = u64::from(phnum) * size_of::<Phdr>() as u64;
            let mapped = image.segments.iter().any(|s| {
                s.contains_file_bytes(vaddr, table) && s.offset + (vaddr - s.vaddr) == offset
            });
            if offset != phoff || filesz != table || !mapped {
                return refuse(
                    Check::ProgramHeaders,
                    format!("PT_PHDR (header {i}: {filesz} bytes at offset {offset:#x}, address {vaddr:#x}) does not describe the program header table"),
                );
            }
        }
        let Some((i, offset, filesz, vaddr)) = dynamic_header else {
            return refuse(
                Check::DynamicSection,
                "no dynamic segment: not a shared library",
            );
        };
        if offset.checked_add(filesz).is_none_or(|end| end > len) {
            return refuse(
                Check::DynamicSection,
                format!(
                    "dynamic segment {i} needs bytes {offset}..{} of a {len}-byte file",
                    offset.saturating_add(filesz)
                ),
            );
        }
        if !image
            .segments
            .iter()
            .any(|s| s.contains_file_bytes(vaddr, filesz) && s.offset + (vaddr - s.vaddr) == offset)
        {
            return refuse(
                Check::DynamicSection,
                format!("dynamic segment at {vaddr:#x} is not inside a loaded segment"),
            );
        }
        let entries: &[DynEntry] = data
            .read_slice_at(offset, (filesz / size_of::<DynEntry>() as u64) as usize)
            .or_else(|_| refuse(Check::DynamicSection, "unreadable dynamic segment"))?;
        let mut terminated = false;
        for entry in entries {
            let tag = entry.d_tag(endian);
            if tag == u64::from(elf::DT_NULL) {
                terminated = true;
                break;
            }
            image.dynamic.push((tag, entry.d_val(endian)));
        }
        if !terminated {
            return refuse(
                Check::DynamicSection,
                "the dynamic table has no DT_NULL terminator",
            );
        }
        Ok(image)
    }

    /// The value of dynamic tag `tag`, if present (the first one, as `ld.so` reads it... the
    /// last one wins in `ld.so` for most tags; both are checked for address tags).
    fn tag(&self, tag: u32) -> Option<u64> {
        self.dynamic
            .iter()
            .rev()
            .find(|(t, _)| *t == u64::from(tag))
            .map(|(_, v)| *v)
    }

    fn segment_of(&self, vaddr: u64, len: u64) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| s.contains_file_bytes(vaddr, len))
    }

    /// The file offset of `len` bytes at `vaddr`, if they are all file bytes of one segment.
    fn file_offset(&self, vaddr: u64, len: u64) -> Option<u64> {
        self.segment_of(vaddr, len)
            .map(|s| s.offset + (vaddr - s.vaddr))
    }

    fn bytes(&self, check: Check, what: &str, vaddr: u64, len: u64) -> Outcome<&'a [u8]> {
        let offset = self.file_offset(vaddr, len).ok_or_else(|| Refusal {
            check,
            message: format!("{what} ({len} bytes at {vaddr:#x}) is not inside a loaded segment"),
        })?;
        self.data
            .read_bytes_at(offset, len)
            .or_else(|_| refuse(check, format!("{what} is unreadable")))
    }

    fn slice<T: object::Pod>(
        &self,
        check: Check,
        what: &str,
        vaddr: u64,
        count: u64,
    ) -> Outcome<&'a [T]> {
        let len = count
            .checked_mul(size_of::<T>() as u64)
            .ok_or_else(|| Refusal {
                check,
                message: format!("{what}: {count} entries"),
            })?;
        let bytes = self.bytes(check, what, vaddr, len)?;
        object::pod::slice_from_all_bytes(bytes)
            .or_else(|_| refuse(check, format!("{what} is misaligned")))
    }

    fn in_memory(&self, vaddr: u64, len: u64, flag: u32) -> bool {
        self.segments
            .iter()
            .any(|s| s.contains_memory(vaddr, len) && s.flags & flag != 0)
    }

    fn image_end(&self) -> u64 {
        self.segments.last().map(|s| s.vaddr + s.memsz).unwrap_or(0)
    }

    fn check_all(&self, entry: &str) -> Outcome<()> {
        let e = self.endian;
        // A tag the loader does not know is ignored by it, so a corrupt tag silently drops an
        // entry (the PLT relocations, the versions): refuse tags outside the known set.
        if let Some((tag, _)) = self.dynamic.iter().find(|(tag, _)| !known_tag(*tag)) {
            return refuse(Check::DynamicTable, format!("unknown dynamic tag {tag:#x}"));
        }
        // Flags: a PIE is not a library; text relocations would write into code.
        if self
            .tag(elf::DT_FLAGS_1)
            .is_some_and(|f| f & u64::from(elf::DF_1_PIE) != 0)
        {
            return refuse(
                Check::ObjectType,
                "a position-independent executable, not a shared library",
            );
        }
        if self.tag(elf::DT_TEXTREL).is_some()
            || self
                .tag(elf::DT_FLAGS)
                .is_some_and(|f| f & u64::from(elf::DF_TEXTREL) != 0)
        {
            return refuse(
                Check::DynamicTable,
                "text relocations (DT_TEXTREL): the loader would write into code",
            );
        }
        let need = |tag: u32, name: &str| {
            self.tag(tag).ok_or_else(|| Refusal {
                check: Check::DynamicTable,
                message: format!("no {name} entry"),
            })
        };
        // Strings.
        let strtab = need(elf::DT_STRTAB, "DT_STRTAB")?;
        let strsz = need(elf::DT_STRSZ, "DT_STRSZ")?;
        let strings = self.bytes(
            Check::DynamicTable,
            "the string table (DT_STRTAB, DT_STRSZ)",
            strtab,
            strsz,
        )?;
        if strings.last() != Some(&0) {
            return refuse(Check::StringTable, "the string table does not end with NUL");
        }
        let string = |offset: u64, what: &str| -> Outcome<&[u8]> {
            let rest = strings
                .get(offset as usize..)
                .filter(|_| offset < strsz)
                .ok_or_else(|| Refusal {
                    check: Check::StringTable,
                    message: format!(
                        "{what}: string offset {offset} outside the {strsz}-byte string table"
                    ),
                })?;
            Ok(&rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())])
        };
        for (tag, value) in &self.dynamic {
            let what = match u32::try_from(*tag) {
                Ok(elf::DT_NEEDED) => "a needed library (DT_NEEDED)",
                Ok(elf::DT_SONAME) => "the soname",
                Ok(elf::DT_RPATH) => "the rpath",
                Ok(elf::DT_RUNPATH) => "the runpath",
                _ => continue,
            };
            string(*value, what)?;
        }

        // Symbols: their count comes from the hash table, as for `ld.so`.
        let symtab = need(elf::DT_SYMTAB, "DT_SYMTAB")?;
        if self
            .tag(elf::DT_SYMENT)
            .is_some_and(|s| s != size_of::<Sym>() as u64)
        {
            return refuse(Check::DynamicTable, "DT_SYMENT is not the size of a symbol");
        }
        let nsyms = self.hash_table_symbols()?;
        let symbols: &[Sym] = self.slice(
            Check::SymbolTable,
            "the dynamic symbol table",
            symtab,
            nsyms,
        )?;
        for (i, sym) in symbols.iter().enumerate() {
            string(u64::from(sym.st_name(e)), &format!("symbol {i}'s name"))?;
            let shndx = sym.st_shndx(e);
            if shndx == elf::SHN_UNDEF || shndx == elf::SHN_ABS {
                continue;
            }
            let (value, size) = (sym.st_value(e), sym.st_size(e));
            let inside = if sym.st_type() == elf::STT_TLS {
                self.tls.is_some_and(|(_, memsz)| {
                    value.checked_add(size).is_some_and(|end| end <= memsz)
                })
            } else {
                self.segments.iter().any(|s| s.contains_memory(value, size))
            };
            if !inside {
                return refuse(
                    Check::SymbolTable,
                    format!(
                        "symbol {i} ({} bytes at {value:#x}) is outside the library's image",
                        size
                    ),
                );
            }
        }
        self.check_versions(nsyms, &string)?;
        self.check_relocations(nsyms)?;
        self.check_initialisers()?;

        // The entry symbol.
        let found = symbols
            .iter()
            .find(|s| string(u64::from(s.st_name(e)), "").ok() == Some(entry.as_bytes()));
        let Some(sym) = found else {
            return refuse(Check::EntrySymbol, format!("no dynamic symbol {entry:?}"));
        };
        if sym.st_shndx(e) == elf::SHN_UNDEF {
            return refuse(
                Check::EntrySymbol,
                format!("{entry:?} is undefined (imported, not exported)"),
            );
        }
        if sym.st_type() != elf::STT_FUNC || !self.in_memory(sym.st_value(e), 1, elf::PF_X) {
            return refuse(
                Check::EntrySymbol,
                format!("{entry:?} is not a function in executable code"),
            );
        }
        Ok(())
    }

    /// Checks the hash table (GNU, else SysV) and returns the number of dynamic symbols it
    /// covers.
    fn hash_table_symbols(&self) -> Outcome<u64> {
        let e = self.endian;
        type Word = object::U32<Endianness>;
        if let Some(addr) = self.tag(elf::DT_GNU_HASH) {
            let header: &elf::GnuHashHeader<Endianness> = self
                .slice(Check::HashTable, "the GNU hash header", addr, 1)?
                .first()
                .ok_or_else(|| Refusal {
                    check: Check::HashTable,
                    message: "empty GNU hash header".into(),
                })?;
            let nbuckets = u64::from(header.bucket_count.get(e));
            let base = u64::from(header.symbol_base.get(e));
            let bloom = u64::from(header.bloom_count.get(e));
            if nbuckets == 0 || !bloom.is_power_of_two() || header.bloom_shift.get(e) >= 64 {
                return refuse(
                    Check::HashTable,
                    format!("GNU hash table with {nbuckets} buckets, {bloom} bloom words"),
                );
            }
            let header_len = size_of::<elf::GnuHashHeader<Endianness>>() as u64;
            let buckets_at = addr + header_len + bloom * 8;
            let buckets: &[Word] = self.slice(
                Check::HashTable,
                "the GNU hash buckets",
                buckets_at,
                nbuckets,
            )?;
            let chains_at = buckets_at + nbuckets * 4;
            let max = buckets
                .iter()
                .map(|b| u64::from(b.get(e)))
                .max()
                .unwrap_or(0);
            if buckets
                .iter()
                .any(|b| b.get(e) != 0 && u64::from(b.get(e)) < base)
            {
                return refuse(
                    Check::HashTable,
                    "a GNU hash bucket points below the first hashed symbol",
                );
            }
            if max == 0 {
                return Ok(base);
            }
            // Walk the last chain to its end marker: that is the symbol count.
            let mut index = max;
            loop {
                let value: &[Word] = self.slice(
                    Check::HashTable,
                    "a GNU hash chain",
                    chains_at + (index - base) * 4,
                    1,
                )?;
                index += 1;
                if value[0].get(e) & 1 != 0 {
                    break;
                }
                if index - base > 1 << 24 {
                    return refuse(Check::HashTable, "a GNU hash chain does not end");
                }
            }
            return Ok(index);
        }
        if let Some(addr) = self.tag(elf::DT_HASH) {
            let header: &[Word] = self.slice(Check::HashTable, "the hash header", addr, 2)?;
            let (nbucket, nchain) = (u64::from(header[0].get(e)), u64::from(header[1].get(e)));
            let table: &[Word] = self.slice(
                Check::HashTable,
                "the hash table",
                addr + 8,
                nbucket + nchain,
            )?;
            if nbucket == 0 || table.iter().any(|v| u64::from(v.get(e)) >= nchain) {
                return refuse(
                    Check::HashTable,
                    "a hash bucket or chain points outside the symbol table",
                );
            }
            return Ok(nchain);
        }
        refuse(
            Check::DynamicTable,
            "no symbol hash table (DT_GNU_HASH or DT_HASH)",
        )
    }

    fn check_versions(
        &self,
        nsyms: u64,
        string: &dyn Fn(u64, &str) -> Outcome<&'a [u8]>,
    ) -> Outcome<()>
    where
        Self: 'a,
    {
        let e = self.endian;
        // Version indices the tables define (0 and 1 are local and global).
        let mut defined: Vec<u16> = vec![0, 1];
        let needed: Vec<&[u8]> = self
            .dynamic
            .iter()
            .filter(|(tag, _)| *tag == u64::from(elf::DT_NEEDED))
            .filter_map(|(_, value)| string(*value, "").ok())
            .collect();
        if let Some(addr) = self.tag(elf::DT_VERNEED) {
            let count = self.tag(elf::DT_VERNEEDNUM).unwrap_or(0);
            let mut at = addr;
            for n in 0..count {
                let need: &[elf::Verneed<Endianness>] =
                    self.slice(Check::Versions, "a needed version (DT_VERNEED)", at, 1)?;
                let file = string(u64::from(need[0].vn_file.get(e)), "a needed version's file")
                    .map_err(versions)?;
                // ld.so asserts (aborts the process) when this names no needed library.
                if !needed.contains(&file) {
                    return refuse(
                        Check::Versions,
                        format!(
                            "versions are needed from {:?}, which is not a needed library",
                            String::from_utf8_lossy(file)
                        ),
                    );
                }
                let mut aux_at = at.saturating_add(u64::from(need[0].vn_aux.get(e)));
                for _ in 0..need[0].vn_cnt.get(e) {
                    let aux: &[elf::Vernaux<Endianness>] =
                        self.slice(Check::Versions, "a needed version entry", aux_at, 1)?;
                    string(u64::from(aux[0].vna_name.get(e)), "a needed version's name")
                        .map_err(versions)?;
                    defined.push(aux[0].vna_other.get(e) & 0x7fff);
                    aux_at = aux_at.saturating_add(u64::from(aux[0].vna_next.get(e)));
                }
                let next = u64::from(need[0].vn_next.get(e));
                if next == 0 && n + 1 < count {
                    return refuse(Check::Versions, "the needed-version chain ends early");
                }
                at = at.saturating_add(next);
            }
        }
        if let Some(addr) = self.tag(elf::DT_VERDEF) {
            let count = self.tag(elf::DT_VERDEFNUM).unwrap_or(0);
            let mut at = addr;
            for n in 0..count {
                let def: &[elf::Verdef<Endianness>] =
                    self.slice(Check::Versions, "a version definition (DT_VERDEF)", at, 1)?;
                defined.push(def[0].vd_ndx.get(e) & 0x7fff);
                let mut aux_at = at.saturating_add(u64::from(def[0].vd_aux.get(e)));
                for _ in 0..def[0].vd_cnt.get(e) {
                    let aux: &[elf::Verdaux<Endianness>] =
                        self.slice(Check::Versions, "a version definition entry", aux_at, 1)?;
                    string(
                        u64::from(aux[0].vda_name.get(e)),
                        "a version definition's name",
                    )
                    .map_err(versions)?;
                    aux_at = aux_at.saturating_add(u64::from(aux[0].vda_next.get(e)));
                }
                let next = u64::from(def[0].vd_next.get(e));
                if next == 0 && n + 1 < count {
                    return refuse(Check::Versions, "the version-definition chain ends early");
                }
                at = at.saturating_add(next);
            }
        }
        // Every symbol's version index must be one the tables define: ld.so indexes its
        // version array with it unchecked.
        if let Some(addr) = self.tag(elf::DT_VERSYM) {
            let versym: &[object::U16<Endianness>] = self.slice(
                Check::Versions,
                "the symbol versions (DT_VERSYM)",
                addr,
                nsyms,
            )?;
            for (i, v) in versym.iter().enumerate() {
                let index = v.get(e) & 0x7fff;
                if !defined.contains(&index) {
                    return refuse(
                        Check::Versions,
                        format!(
                            "symbol {i} has version index {index}, which no version table defines"
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    fn check_relocations(&self, nsyms: u64) -> Outcome<()> {
        let e = self.endian;
        if self.tag(elf::DT_REL).is_some() {
            return refuse(
                Check::DynamicTable,
                "REL relocations (DT_REL): this machine uses RELA",
            );
        }
        if let Some(ent) = self.tag(elf::DT_RELAENT) {
            if ent != size_of::<Rela>() as u64 {
                return refuse(Check::DynamicTable, format!("DT_RELAENT {ent}"));
            }
        }
        if self
            .tag(elf::DT_PLTREL)
            .is_some_and(|t| t != u64::from(elf::DT_RELA))
        {
            return refuse(Check::DynamicTable, "DT_PLTREL is not DT_RELA");
        }
        if let Some(addr) = self.tag(DT_RELR) {
            let size = self.tag(DT_RELRSZ).unwrap_or(0);
            self.bytes(
                Check::Relocations,
                "the packed relocations (DT_RELR)",
                addr,
                size,
            )?;
        }
        let tables = [
            (elf::DT_RELA, elf::DT_RELASZ, "the relocations (DT_RELA)"),
            (
                elf::DT_JMPREL,
                elf::DT_PLTRELSZ,
                "the PLT relocations (DT_JMPREL)",
            ),
        ];
        let image_end = self.image_end();
        let mut targets: Vec<u64> = Vec::new();
        for (addr_tag, size_tag, what) in tables {
            let Some(addr) = self.tag(addr_tag) else {
                continue;
            };
            let size = self.tag(size_tag).unwrap_or(0);
            if size % size_of::<Rela>() as u64 != 0 {
                return refuse(
                    Check::DynamicTable,
                    format!("{what}: size {size} is not a whole number of entries"),
                );
            }
            let relocs: &[Rela] = self.slice(
                Check::DynamicTable,
                what,
                addr,
                size / size_of::<Rela>() as u64,
            )?;
            // The PLT's slots: the GOT's three reserved words, then one per PLT relocation
            // (two words for a TLS descriptor, so at most 16 bytes each).
            let plt_slots = if addr_tag == elf::DT_JMPREL {
                let got = self.tag(elf::DT_PLTGOT).ok_or_else(|| Refusal {
                    check: Check::DynamicTable,
                    message: "PLT relocations without DT_PLTGOT".into(),
                })?;
                Some(got + 24..got + 24 + 16 * relocs.len() as u64)
            } else {
                // ld.so applies the first DT_RELACOUNT entries as relative ones, unchecked
                // (an assertion aborts the process otherwise).
                let count = self.tag(elf::DT_RELACOUNT).unwrap_or(0);
                let leading = relocs
                    .iter()
                    .take_while(|r| r.r_type(e, false) == R_RELATIVE)
                    .count() as u64;
                if count > leading {
                    return refuse(
                        Check::Relocations,
                        format!("DT_RELACOUNT {count}, but only the first {leading} relocations are relative"),
                    );
                }
                None
            };
            for (i, r) in relocs.iter().enumerate() {
                let (r_type, r_sym) = (r.r_type(e, false), u64::from(r.r_sym(e, false)));
                if let Some(slots) = &plt_slots {
                    let target = r.r_offset(e);
                    let is_plt_type = plt_relocation(r_type);
                    if !is_plt_type || !slots.contains(&target) {
                        return refuse(
                            Check::Relocations,
                            format!("{what}: entry {i} (type {r_type}) writes at {target:#x}, not into the PLT's slots {:#x}..{:#x}", slots.start, slots.end),
                        );
                    }
                }
                targets.push(r.r_offset(e));
                if !known_relocation(r_type) {
                    return refuse(
                        Check::Relocations,
                        format!("{what}: entry {i} has type {r_type}, unknown to the loader"),
                    );
                }
                if r_sym >= nsyms {
                    return refuse(
                        Check::Relocations,
                        format!("{what}: entry {i} uses symbol {r_sym} of {nsyms}"),
                    );
                }
                let target = r.r_offset(e);
                if !self.in_memory(target, 8, elf::PF_W) {
                    return refuse(Check::Relocations, format!("{what}: entry {i} writes at {target:#x}, outside the library's writable memory"));
                }
                if r_type == R_RELATIVE {
                    let addend = r.r_addend(e);
                    if addend < 0 || addend as u64 > image_end {
                        return refuse(Check::Relocations, format!("{what}: entry {i} points at {addend:#x}, outside the library's image"));
                    }
                }
            }
        }
        // One relocation per slot: a second one aimed at a slot means another slot lost its.
        targets.sort_unstable();
        if let Some(pair) = targets.windows(2).find(|w| w[0] == w[1]) {
            return refuse(
                Check::Relocations,
                format!("two relocations write at {:#x}", pair[0]),
            );
        }
        Ok(())
    }

    /// `DT_INIT`/`DT_FINI` and every slot of the initialiser arrays point into executable
    /// code, once relocated (a slot's value comes from its relative relocation).
    fn check_initialisers(&self) -> Outcome<()> {
        let e = self.endian;
        for (tag, what) in [(elf::DT_INIT, "DT_INIT"), (elf::DT_FINI, "DT_FINI")] {
            if let Some(addr) = self.tag(tag) {
                if !self.in_memory(addr, 1, elf::PF_X) {
                    return refuse(
                        Check::Initialisers,
                        format!("{what} {addr:#x} is not in executable code"),
                    );
                }
            }
        }
        let relative: Vec<(u64, i64)> = {
            let mut v = Vec::new();
            if let (Some(addr), Some(size)) = (self.tag(elf::DT_RELA), self.tag(elf::DT_RELASZ)) {
                let relocs: &[Rela] = self.slice(
                    Check::DynamicTable,
                    "the relocations",
                    addr,
                    size / size_of::<Rela>() as u64,
                )?;
                v.extend(
                    relocs
                        .iter()
                        .filter(|r| r.r_type(e, false) == R_RELATIVE)
                        .map(|r| (r.r_offset(e), r.r_addend(e))),
                );
            }
            v
        };
        let arrays = [
            (elf::DT_INIT_ARRAY, elf::DT_INIT_ARRAYSZ, "DT_INIT_ARRAY"),
            (elf::DT_FINI_ARRAY, elf::DT_FINI_ARRAYSZ, "DT_FINI_ARRAY"),
            (
                elf::DT_PREINIT_ARRAY,
                elf::DT_PREINIT_ARRAYSZ,
                "DT_PREINIT_ARRAY",
            ),
        ];
        for (addr_tag, size_tag, what) in arrays {
            let Some(addr) = self.tag(addr_tag) else {
                continue;
            };
            let size = self.tag(size_tag).unwrap_or(0);
            if size % 8 != 0 || !self.in_memory(addr, size, elf::PF_W) {
                return refuse(
                    Check::Initialisers,
                    format!("{what} ({size} bytes at {addr:#x}) is not in writable memory"),
                );
            }
            let slots: &[object::U64<Endianness>] =
                self.slice(Check::Initialisers, what, addr, size / 8)?;
            for (i, slot) in slots.iter().enumerate() {
                let at = addr + 8 * i as u64;
                let target = match relative.iter().find(|(off, _)| *off == at) {
                    Some((_, addend)) => *addend as u64,
                    None => slot.get(e),
                };
                // 0 and -1 are skipped by the loader.
                if target == 0 || target == u64::MAX {
                    continue;
                }
                if !self.in_memory(target, 1, elf::PF_X) {
                    return refuse(
                        Check::Initialisers,
                        format!("{what} slot {i} points at {target:#x}, not executable code"),
                    );
                }
            }
        }
        Ok(())
    }
}

/// The dynamic tags that the GNU toolchain writes in a shared library and `ld.so` reads
/// (the generic range up to `DT_RELRENT`, the GNU ranges and the version extensions).
fn known_tag(tag: u64) -> bool {
    let Ok(tag) = u32::try_from(tag) else {
        return false;
    };
    // Up to DT_RELRENT (37); the GNU value and address ranges (DT_VALRNGLO..DT_ADDRRNGHI).
    tag <= 37
        || (0x6fff_fd00..=0x6fff_feff).contains(&tag)
        || matches!(
            tag,
            elf::DT_GNU_HASH
                | elf::DT_VERSYM
                | elf::DT_RELACOUNT
                | elf::DT_RELCOUNT
                | elf::DT_FLAGS_1
                | elf::DT_VERDEF
                | elf::DT_VERDEFNUM
                | elf::DT_VERNEED
                | elf::DT_VERNEEDNUM
                | elf::DT_GNU_PRELINKED
                | elf::DT_GNU_CONFLICTSZ
                | elf::DT_GNU_LIBLISTSZ
                | elf::DT_CHECKSUM
                | elf::DT_GNU_CONFLICT
                | elf::DT_GNU_LIBLIST
        )
}

fn versions(r: Refusal) -> Refusal {
    Refusal {
        check: Check::Versions,
        ..r
    }
}
