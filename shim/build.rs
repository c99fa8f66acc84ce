//! Generates the Rust type of containerd's `runtimeoptions.v1.Options` (not in
//! `containerd-shim-protos`) with the same protobuf code generator that crate uses.

fn main() {
    // Relative relocations packed (DT_RELR, glibc 2.36+): the loader reads a few KiB instead
    // of a `.rela.dyn` of hundreds of KiB, whose pages would stay resident in every shim.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    protobuf_codegen::Codegen::new()
        .pure()
        .include("proto")
        .input("proto/runtimeoptions.proto")
        .cargo_out_dir("protos")
        .run_from_script();
}
