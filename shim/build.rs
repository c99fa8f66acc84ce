//! Generates the Rust type of containerd's `runtimeoptions.v1.Options` (not in
//! `containerd-shim-protos`) with the same protobuf code generator that crate uses.

fn main() {
    // Relative relocations packed (DT_RELR, glibc 2.36+): the loader reads a few KiB instead
    // of a `.rela.dyn` of hundreds of KiB, whose pages would stay resident in every shim.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    // A position-dependent executable: the loader has nothing to relocate in it, so its
    // relocated read-only data (vtables, the protobuf descriptors: 250 KiB) stays clean file
    // pages shared by every shim, instead of a private copy in each. The plugins stay
    // position-independent (they are shared objects). Debian's containerd-shim-runc-v2 is
    // built the same way; the cost is that the binary's own code is not randomised (libc's,
    // the plugin's, the stacks and the heap still are).
    println!("cargo:rustc-link-arg-bins=-no-pie");
    protobuf_codegen::Codegen::new()
        .pure()
        .include("proto")
        .input("proto/runtimeoptions.proto")
        .cargo_out_dir("protos")
        .run_from_script();
}
