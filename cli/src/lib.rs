//! rtctl's library part: the scenario language (parser, runner, expectations), shared by the
//! `rtctl` binary, the fuzz targets (`fuzz/`) and the suites that write generated scenarios
//! as `.scenario` files.

pub mod scenario;

/// The digest rtctl prints for a simulated run's trace: FNV-1a, 64 bits, over the rendered
/// trace text, as 16 hex digits; stable across platforms and Rust versions, so two runs with
/// the same digest made the same decisions.
pub fn trace_digest(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
