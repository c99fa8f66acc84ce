//! Generates the Rust type of containerd's `runtimeoptions.v1.Options` (not in
//! `containerd-shim-protos`) with the same protobuf code generator that crate uses.

fn main() {
    protobuf_codegen::Codegen::new()
        .pure()
        .include("proto")
        .input("proto/runtimeoptions.proto")
        .cargo_out_dir("protos")
        .run_from_script();
}
