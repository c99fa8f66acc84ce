//! Link options of the plugin's shared object.

fn main() {
    // Relative relocations packed (DT_RELR, glibc 2.36+): the loader reads a few KiB instead of
    // a `.rela.dyn` of hundreds of KiB, whose pages stay resident in every process that loads
    // the plugin (one containerd shim per container).
    println!("cargo:rustc-link-arg-cdylib=-Wl,-z,pack-relative-relocs");
}
