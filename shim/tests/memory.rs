//! What an idle shim keeps resident: `memory::shed_idle_code` unmaps the code of every loaded
//! object, which faults back in on use, and never what the loader wrote into code pages.

use std::path::Path;
use std::process::Command;

use shim::memory::shed_idle_code;

/// This process's resident file-backed memory, in KiB (`RssFile` of /proc/self/status).
fn resident_file_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssFile:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssFile in /proc/self/status")
}

#[test]
fn shedding_unmaps_resident_code_which_still_runs_after() {
    // Run a good part of the test binary's code (formatting, collections, I/O) first.
    let text: Vec<String> = (0..1000).map(|i| format!("{i:>8x}")).collect();
    let before = resident_file_kib();
    let shed = shed_idle_code();
    let after = resident_file_kib();
    assert!(shed.bytes > 0, "nothing advised: {shed:?}");
    assert!(
        after < before,
        "resident file pages did not shrink: {before} KiB before, {after} KiB after ({shed:?})"
    );
    // The code it dropped runs again: the same computation gives the same result.
    let again: Vec<String> = (0..1000).map(|i| format!("{i:>8x}")).collect();
    assert_eq!(text, again);
}

/// A shared object whose code the loader relocates (`DT_TEXTREL`): `value_address` returns
/// the address of `value` from an immediate the loader wrote into its code page. The function
/// sits on a page of its own with padding pages around it, inside its code segment's whole
/// pages (the only ones a shed touches).
const TEXTREL_SOURCE: &str = r#"
int value = 42;
__asm__(".text\n.balign 4096\n.fill 8192,1,0xcc\n");
__attribute__((aligned(4096))) int *value_address(void) {
    int *p;
    __asm__("movabs $value, %0" : "=r"(p));
    return p;
}
__asm__(".text\n.balign 4096\n.fill 8192,1,0xcc\n");
"#;

fn build_textrel_object(dir: &Path) -> std::path::PathBuf {
    let source = dir.join("textrel.c");
    let object = dir.join("libtextrel.so");
    std::fs::write(&source, TEXTREL_SOURCE).expect("write C source");
    let out = Command::new("cc")
        .args([
            "-shared",
            "-fPIC",
            "-O1",
            "-fno-toplevel-reorder",
            "-Wl,-z,notext",
            "-o",
        ])
        .arg(&object)
        .arg(&source)
        .output()
        .expect("run cc (gcc is installed wherever Rust links)");
    assert!(
        out.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    object
}

#[test]
fn shedding_keeps_code_the_loader_relocated() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = build_textrel_object(dir.path());
    // SAFETY: the library is the one built above; its initialisers do nothing, and the
    // symbols are looked up with their C types.
    let library = unsafe { libloading::Library::new(&path) }.expect("load the TEXTREL object");
    // SAFETY: `value_address` is `int *(void)` and `value` an `int`, as defined above.
    let (value_address, value) = unsafe {
        (
            library
                .get::<unsafe extern "C" fn() -> *const i32>(b"value_address")
                .expect("value_address"),
            library.get::<*const i32>(b"value").expect("value"),
        )
    };
    let expected = *value;
    // SAFETY: calls the C function defined above, which takes no argument.
    assert_eq!(
        unsafe { value_address() },
        expected,
        "relocated before the shed"
    );
    let shed = shed_idle_code();
    assert!(
        shed.skipped_textrel >= 1,
        "the TEXTREL object was not recognised: {shed:?}"
    );
    // SAFETY: as above.
    let after = unsafe { value_address() };
    assert_eq!(
        after, expected,
        "the loader's relocation in the code page was dropped"
    );
    // SAFETY: `after` is the address of `value`, live while `library` is loaded.
    assert_eq!(unsafe { *after }, 42);
}
