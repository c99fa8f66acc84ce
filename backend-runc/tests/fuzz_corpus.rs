//! The committed corpus of fuzz target `runc_output_parse` (`fuzz/corpus/runc_output_parse/`) replayed through the
//! target's own check (`fuzz/checks/runc_output_parse.rs`) on stable: every input the fuzzer kept runs in
//! `cargo test`, so a regression on one of them fails CI without a nightly toolchain.

include!("../../fuzz/checks/runc_output_parse.rs");
include!("../../fuzz/checks/replay.rs");

#[test]
fn every_committed_fuzz_input_passes_the_targets_check() {
    replay("runc_output_parse", check);
}
