//! A corpus of corrupt plugin files, loaded one after another by one host process with the
//! settings rtctl uses (preflight + probe, the probe opening a runtime): the host never dies,
//! each file is refused with its cause or loads and works, and afterwards the real plugins
//! still load and work.
//!
//! The corpus comes from both real plugins (`libbackend_sim.so`, `libbackend_runc.so`) and a
//! fixed seed ([`SEED`], or `RTL_CORPUS_SEED`): truncations at offsets inside the ELF header,
//! the program headers, the dynamic section, the dynamic symbol, string, hash and version
//! tables, the relocations, the initialiser array, the code and the static symbol table;
//! byte flips in each of those regions; and the special cases (an empty file, a changed
//! `e_machine`, class or byte order, an `ET_EXEC`, an ELF executable and a PIE instead of a
//! library, a text file, a directory, a FIFO, a symlink loop).
//!
//! File sizes: the debug builds are ~55 MB, of which the dynamic loader reads only the first
//! ~9 MB (the loaded segments; the rest is debug info, the static symbol table and the
//! section headers). Writing 55 MB per mutant would make the corpus take minutes, so byte
//! flips in the loaded regions are applied to the file cut after its last loaded segment
//! (the image `ld.so` maps, byte for byte; that cut file itself is in the corpus and must
//! load and work); flips in the static symbol table and the debug info, and truncations, are
//! of the whole file. `RTL_CORPUS_SCALE=N` multiplies the number of mutants per region
//! (`scripts/plugin-corpus.sh` runs a larger corpus).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};
use plugin::{Check, LoadError, LoadOptions, Probe};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// The corpus's seed.
const SEED: u64 = 0x5eed_c0de_2026;

/// A plugin the corpus is made from.
struct Base {
    /// `sim` or `runc`.
    backend: &'static str,
    /// The library file name (the entry symbol comes from it).
    file_name: String,
    /// The whole file.
    bytes: Vec<u8>,
    /// The end of the last loaded segment's bytes in the file.
    image_end: usize,
    /// Named regions (file offset ranges).
    regions: Vec<(&'static str, std::ops::Range<usize>)>,
    /// The runtime configuration used to check that a loaded file works.
    config: serde_json::Value,
}

/// How to make one corpus entry.
enum Make {
    /// The first `len` bytes of the whole file.
    Truncate(usize),
    /// The loaded image (or the whole file if `whole`), with byte `at` xor-ed with `xor`.
    Flip { at: usize, xor: u8, whole: bool },
    /// The whole file with bytes written at an offset.
    Patch { at: usize, bytes: Vec<u8> },
    /// The loaded image unchanged.
    Image,
    /// A copy of another file.
    CopyOf(PathBuf),
    /// Text.
    Text,
    /// A directory where the library should be.
    Directory,
    /// A FIFO (opening it for reading would block).
    Fifo,
    /// A symlink pointing to itself.
    SymlinkLoop,
}

struct Mutant {
    base: usize,
    label: String,
    make: Make,
}

fn load_base(backend: &'static str, package: &str, state: &Path) -> Base {
    let path = plugin::testing::plugin_path(package);
    let bytes = std::fs::read(&path).unwrap();
    let file = object::read::elf::ElfFile64::<object::Endianness>::parse(&*bytes).unwrap();
    let image_end = file
        .elf_program_headers()
        .iter()
        .filter(|ph| ph.p_type.get(file.endian()) == object::elf::PT_LOAD)
        .map(|ph| (ph.p_offset.get(file.endian()) + ph.p_filesz.get(file.endian())) as usize)
        .max()
        .unwrap();
    let header = file.elf_header();
    let phoff = header.e_phoff.get(file.endian()) as usize;
    let phnum = header.e_phnum.get(file.endian()) as usize;
    let mut regions = vec![
        ("elf-header", 0..64),
        ("program-headers", phoff..phoff + phnum * 56),
    ];
    for (region, section) in [
        ("dynamic", ".dynamic"),
        ("dynsym", ".dynsym"),
        ("dynstr", ".dynstr"),
        ("gnu-hash", ".gnu.hash"),
        ("versions", ".gnu.version_r"),
        ("versym", ".gnu.version"),
        ("relocations", ".rela.dyn"),
        ("plt-relocations", ".rela.plt"),
        ("init-array", ".init_array"),
        ("code", ".text"),
        ("symtab", ".symtab"),
    ] {
        let s = file
            .section_by_name(section)
            .unwrap_or_else(|| panic!("{package} has no {section}"));
        let (start, size) = s.file_range().unwrap();
        regions.push((region, start as usize..(start + size) as usize));
    }
    let config = match backend {
        "runc" => serde_json::json!({
            "root": state.join("runc-root"),
            "state_dir": state.join("runc-state"),
        }),
        _ => serde_json::json!({ "seed": 7 }),
    };
    Base {
        backend,
        file_name: path.file_name().unwrap().to_string_lossy().into_owned(),
        bytes,
        image_end,
        regions,
        config,
    }
}

/// The corpus, from the seed: the same seed gives the same list.
fn corpus(bases: &[Base], seed: u64, scale: usize, helper: &Path) -> Vec<Mutant> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut below = |n: usize| (rng.next_u64() % n as u64) as usize;
    let mut all = Vec::new();
    for (b, base) in bases.iter().enumerate() {
        let mut push = |label: String, make| {
            all.push(Mutant {
                base: b,
                label: format!("{}: {label}", base.backend),
                make,
            })
        };
        push("empty file".into(), Make::Truncate(0));
        push("the loaded image only".into(), Make::Image);
        push(
            "e_machine = aarch64".into(),
            Make::Patch {
                at: 18,
                bytes: object::elf::EM_AARCH64.to_le_bytes().to_vec(),
            },
        );
        push(
            "e_machine = i386".into(),
            Make::Patch {
                at: 18,
                bytes: object::elf::EM_386.to_le_bytes().to_vec(),
            },
        );
        push(
            "32-bit class".into(),
            Make::Patch {
                at: 4,
                bytes: vec![1],
            },
        );
        push(
            "big-endian".into(),
            Make::Patch {
                at: 5,
                bytes: vec![2],
            },
        );
        push(
            "e_type = ET_EXEC".into(),
            Make::Patch {
                at: 16,
                bytes: object::elf::ET_EXEC.to_le_bytes().to_vec(),
            },
        );
        push(
            "e_type = ET_REL".into(),
            Make::Patch {
                at: 16,
                bytes: object::elf::ET_REL.to_le_bytes().to_vec(),
            },
        );
        push(
            "a third of the file".into(),
            Make::Truncate(base.bytes.len() / 3),
        );
        for (region, range) in &base.regions {
            let (truncations, flips) = match *region {
                "elf-header" => (6, 16),
                "program-headers" => (6, 24),
                "dynamic" => (6, 24),
                "dynsym" => (5, 14),
                "dynstr" => (4, 8),
                "gnu-hash" => (3, 6),
                "versions" => (3, 6),
                "versym" => (2, 4),
                "relocations" => (8, 36),
                "plt-relocations" => (2, 6),
                "init-array" => (2, 4),
                "code" => (8, 30),
                "symtab" => (2, 3),
                _ => (2, 2),
            };
            for _ in 0..truncations * scale {
                let at = range.start + below(range.len().max(1));
                push(
                    format!("truncated at {at} (in {region})"),
                    Make::Truncate(at),
                );
            }
            for _ in 0..flips * scale {
                let at = range.start + below(range.len().max(1));
                let xor = if below(2) == 0 {
                    1 << below(8)
                } else {
                    1 + below(255) as u8
                };
                push(
                    format!("byte {at} ^ {xor:#04x} (in {region})"),
                    Make::Flip {
                        at,
                        xor,
                        whole: at >= base.image_end,
                    },
                );
            }
        }
        // The debug info: never read by the loader.
        for _ in 0..2 * scale {
            let at = base.image_end + below(base.bytes.len() - base.image_end);
            push(
                format!("truncated at {at} (in debug info)"),
                Make::Truncate(at),
            );
        }
        push(
            "an ELF executable (busybox)".into(),
            Make::CopyOf("/bin/busybox".into()),
        );
        push(
            "a PIE executable".into(),
            Make::CopyOf(helper.to_path_buf()),
        );
        push("a text file".into(), Make::Text);
        push("a directory".into(), Make::Directory);
        push("a FIFO".into(), Make::Fifo);
        push("a symlink loop".into(), Make::SymlinkLoop);
    }
    all
}

/// Writes corpus entry `m` as `dir/<the library's name>`.
fn materialise(m: &Mutant, base: &Base, dir: &Path) -> PathBuf {
    std::fs::create_dir(dir).unwrap();
    let path = dir.join(&base.file_name);
    let write = |parts: &[&[u8]]| {
        let mut f = std::fs::File::create(&path).unwrap();
        for p in parts {
            f.write_all(p).unwrap();
        }
    };
    match &m.make {
        Make::Truncate(len) => write(&[&base.bytes[..*len]]),
        Make::Image => write(&[&base.bytes[..base.image_end]]),
        Make::Flip { at, xor, whole } => {
            let end = if *whole {
                base.bytes.len()
            } else {
                base.image_end
            };
            write(&[
                &base.bytes[..*at],
                &[base.bytes[*at] ^ xor],
                &base.bytes[at + 1..end],
            ])
        }
        Make::Patch { at, bytes } => {
            write(&[&base.bytes[..*at], bytes, &base.bytes[at + bytes.len()..]])
        }
        Make::CopyOf(from) => {
            std::fs::copy(from, &path).unwrap();
        }
        Make::Text => write(&[b"#!/bin/sh\necho this is not a library\n"]),
        Make::Directory => std::fs::create_dir(&path).unwrap(),
        Make::Fifo => nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap(),
        Make::SymlinkLoop => std::os::unix::fs::symlink(&path, &path).unwrap(),
    }
    path
}

/// What happened to one file: the refusing check's name, or how the load went.
fn classify(error: &LoadError) -> String {
    match error {
        LoadError::Malformed { check, .. } => format!("preflight {check}"),
        LoadError::MissingEntry { .. } => "entry symbol".into(),
        LoadError::NotALibrary { .. } => "dlopen (dlerror)".into(),
        LoadError::ProbeFailed { failure, .. } => {
            let what = failure.what.split(" (").next().unwrap_or("").to_string();
            format!("probe: {what} {}", failure.stage)
        }
        LoadError::NotFound { .. } => "not found".into(),
        LoadError::AbiMismatch { .. }
        | LoadError::LayoutMismatch { .. }
        | LoadError::ApiMismatch { .. }
        | LoadError::BadDeclaration { .. } => "declaration".into(),
        other => format!("other: {other}"),
    }
}

/// Opens a runtime and lists its containers: what "works" means here (what the probe runs).
fn works(plugin: &plugin::Plugin, config: &serde_json::Value) -> Result<(), String> {
    let runtime = plugin.open(config).map_err(|e| e.to_string())?;
    runtime
        .list_container_states()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn corrupt_plugin_files_never_take_the_host_down() {
    let seed = std::env::var("RTL_CORPUS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let scale = std::env::var("RTL_CORPUS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let state = tempfile::tempdir().unwrap();
    let bases = [
        load_base("sim", "backend-sim", state.path()),
        load_base("runc", "backend-runc", state.path()),
    ];
    let helper = PathBuf::from(env!("CARGO_BIN_EXE_rtlayer-plugin-probe"));
    let mutants = corpus(&bases, seed, scale, &helper);
    assert!(mutants.len() >= 500, "only {} files", mutants.len());
    eprintln!("corpus: {} files from seed {seed:#x}", mutants.len());

    let work = tempfile::tempdir().unwrap();
    let mut by_check: BTreeMap<String, usize> = BTreeMap::new();
    let mut loaded = Vec::new();
    let started = std::time::Instant::now();
    for (n, m) in mutants.iter().enumerate() {
        let base = &bases[m.base];
        let path = materialise(m, base, &work.path().join(n.to_string()));
        if std::env::var_os("RTL_CORPUS_VERBOSE").is_some() {
            eprintln!("{n:4} {} ...", m.label);
        }
        // rtctl's settings: preflight + a probe that also opens a runtime with the config.
        let options = LoadOptions::new().probe(Probe::new(&helper).open_with(base.config.clone()));
        let outcome = match plugin::load_with(&path, &options) {
            Err(error) => {
                assert_eq!(error.path(), path, "{}: {error}", m.label);
                let message = error.to_string();
                assert!(
                    message.contains(&path.display().to_string()),
                    "{}: the message does not name the file: {message}",
                    m.label
                );
                if let LoadError::NotALibrary { message, .. } = &error {
                    assert!(
                        message.starts_with("dlopen failed: ")
                            && message.len() > "dlopen failed: ".len(),
                        "{}: no dlerror text: {message:?}",
                        m.label
                    );
                }
                classify(&error)
            }
            Ok(plugin) => match works(&plugin, &base.config) {
                Ok(()) => {
                    loaded.push(m.label.clone());
                    "loaded and works".into()
                }
                Err(e) => format!(
                    "loaded, open refused ({})",
                    e.split(':').next().unwrap_or("")
                ),
            },
        };
        if std::env::var_os("RTL_CORPUS_VERBOSE").is_some() {
            eprintln!("{n:4} {:60} {outcome}", m.label);
        }
        // Expectations that do not depend on the seed.
        let expect = |wanted: &str| {
            assert_eq!(outcome, wanted, "{}", m.label);
        };
        match &m.make {
            Make::Truncate(0) => expect("preflight elf-header"),
            Make::Truncate(len) if *len < base.image_end => assert!(
                outcome.starts_with("preflight "),
                "{}: a file cut inside its loaded image must be refused before dlopen, got {outcome}",
                m.label
            ),
            Make::Truncate(_) | Make::Image => expect("loaded and works"),
            Make::Patch { at: 18, .. } => expect("preflight machine"),
            Make::Patch { at: 4, .. } => expect("preflight class"),
            Make::Patch { at: 5, .. } => expect("preflight byte-order"),
            Make::Patch { at: 16, .. } => expect("preflight object-type"),
            Make::CopyOf(_) => expect("preflight object-type"),
            Make::Text => expect("preflight elf-header"),
            Make::Directory | Make::Fifo | Make::SymlinkLoop => expect("preflight file-type"),
            Make::Flip { whole: true, .. } => expect("loaded and works"),
            _ => {}
        }
        *by_check.entry(outcome).or_default() += 1;
        // Leave nothing behind (a loaded library stays mapped after its file is gone).
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
    let elapsed = started.elapsed();

    // Afterwards, the real plugins still load (with the same settings) and work.
    for base in &bases {
        let path = plugin::testing::plugin_path(&format!("backend-{}", base.backend));
        let options = LoadOptions::new().probe(Probe::new(&helper).open_with(base.config.clone()));
        let plugin = plugin::load_with(&path, &options)
            .unwrap_or_else(|e| panic!("the real {} plugin after the corpus: {e}", base.backend));
        assert_eq!(plugin.name(), base.backend);
        works(&plugin, &base.config).unwrap();
    }

    let mut summary = format!(
        "corpus: {} files (seed {seed:#x}, scale {scale}) in {:.1} s, one host process:\n",
        mutants.len(),
        elapsed.as_secs_f64()
    );
    for (outcome, count) in &by_check {
        summary.push_str(&format!("  {count:5}  {outcome}\n"));
    }
    // Past the test harness's output capture, so CI logs show it.
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(summary.as_bytes());
    let refused: usize = by_check
        .iter()
        .filter(|(k, _)| !k.starts_with("loaded"))
        .map(|(_, v)| v)
        .sum();
    assert!(refused > 0 && !loaded.is_empty());
    // Every check named in the corpus's fixed cases fired.
    for check in [
        Check::FileType,
        Check::ElfHeader,
        Check::Class,
        Check::ByteOrder,
        Check::Machine,
        Check::ObjectType,
        Check::Segments,
    ] {
        assert!(
            by_check.contains_key(&format!("preflight {check}")),
            "no file refused by {check}"
        );
    }
}
