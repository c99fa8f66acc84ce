//! The committed corpus of fuzz target `scenario_parse` (`fuzz/corpus/scenario_parse/`) replayed through the
//! target's own check (`fuzz/checks/scenario_parse.rs`) on stable: every input the fuzzer kept runs in
//! `cargo test`, so a regression on one of them fails CI without a nightly toolchain.

include!("../../fuzz/checks/scenario_parse.rs");
include!("../../fuzz/checks/replay.rs");

#[test]
fn every_committed_fuzz_input_passes_the_targets_check() {
    replay("scenario_parse", check);
}
