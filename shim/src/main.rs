//! The `containerd-shim-rtlayer-v1` binary.

fn main() {
    containerd_shim::run::<shim::lifecycle::Lifecycle>(
        shim::lifecycle::RUNTIME_NAME,
        Some(shim::lifecycle::config()),
    );
}
