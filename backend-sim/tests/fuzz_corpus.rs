//! The committed corpus of fuzz target `sim_shell_parse` (`fuzz/corpus/sim_shell_parse/`) replayed through the
//! target's own check (`fuzz/checks/sim_shell_parse.rs`) on stable: every input the fuzzer kept runs in
//! `cargo test`, so a regression on one of them fails CI without a nightly toolchain.

include!("../../fuzz/checks/sim_shell_parse.rs");
include!("../../fuzz/checks/replay.rs");

#[test]
fn every_committed_fuzz_input_passes_the_targets_check() {
    replay("sim_shell_parse", check);
}
