#!/bin/sh
# The long differential run of issue 15: 2,000 generated scenarios (or $1), each on the
# simulator and on real runc, compared on exits, bytes, relay ends, error kinds, and the
# settled states and process listings. Run as root with runc and busybox. CI runs 200.
# A divergence shrinks to a minimal scenario and is persisted in
# tests/proptest-regressions/differential.txt (replayed first by every later run).
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
RTL_REQUIRE_RUNC=1 RTL_PROPTEST_CASES="${1:-2000}" \
    cargo test -p suites --test differential -- --nocapture
echo "differential-long: $(( $(date +%s) - start )) s"
