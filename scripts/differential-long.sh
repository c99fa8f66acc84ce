#!/bin/sh
# The long differential run of issue 15: 2,000 generated scenarios (or $1), each on the
# simulator and on a real runtime, compared on exits, bytes, relay ends, error kinds, and the
# settled states and process listings. $2 picks the runtime: runc (default), youki, or all
# (youki needs $RTL_YOUKI, PATH or ~/.cargo/bin; about 1 s per scenario per runtime on 2 cores).
# Run as root with runc and busybox. CI runs 200 (runc) and 50 (youki).
# A divergence shrinks to a minimal scenario and is persisted in
# tests/proptest-regressions/differential*.txt (replayed first by every later run).
set -eu
cd "$(dirname "$0")/.."
case "${2:-runc}" in
    runc) filter=differential_sim_vs_runc ;;
    youki) filter=differential_sim_vs_youki ;;
    all) filter=differential_sim_vs_ ;;
    *) echo "usage: $0 [N] [runc|youki|all]" >&2; exit 2 ;;
esac
start=$(date +%s)
RTL_REQUIRE_RUNC=1 RTL_PROPTEST_CASES="${1:-2000}" \
    cargo test -p suites --test differential "$filter" -- --nocapture
echo "differential-long: $(( $(date +%s) - start )) s"
