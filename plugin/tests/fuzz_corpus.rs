//! The committed corpus of fuzz target `plugin_buffer_decode` (`fuzz/corpus/plugin_buffer_decode/`) replayed through the
//! target's own check (`fuzz/checks/plugin_buffer_decode.rs`) on stable: every input the fuzzer kept runs in
//! `cargo test`, so a regression on one of them fails CI without a nightly toolchain.

include!("../../fuzz/checks/plugin_buffer_decode.rs");
include!("../../fuzz/checks/replay.rs");

#[test]
fn every_committed_fuzz_input_passes_the_targets_check() {
    replay("plugin_buffer_decode", check);
}
