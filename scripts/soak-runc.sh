#!/bin/sh
# The full runc soak of issue 10: 100 runc lifecycles (or $1) while the host spawns and waits
# for its own children alongside. Run as root with runc and busybox. Prints the duration and
# the counts. CI runs the same test with 20 lifecycles.
set -eu
cd "$(dirname "$0")/.."
RTL_REQUIRE_RUNC=1 RTL_SOAK_RUNC_LIFECYCLES="${1:-100}" \
    cargo test -p backend-runc --test soak -- --nocapture
