#!/usr/bin/env bash
# The fault test of recovery on real runc at full size: 100 runs of a host (`rtctl scenario`)
# killed with SIGKILL at a generated point of a lifecycle, each followed by a new host taking
# back or cleaning up, then a check that nothing is left. CI runs 10 (the test's default).
# Needs root, runc and busybox-static. Usage: scripts/recover-fault-runc.sh [RUNS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
export RTL_RUNC_FAULT_RUNS="${1:-100}"
[ -n "${2:-}" ] && export RTL_RUNC_FAULT_SEED="$2"
export RTL_REQUIRE_RUNC=1
exec cargo test -p rtctl --test recover_fault_runc -- --nocapture
