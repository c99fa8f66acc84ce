#!/usr/bin/env bash
# The rule properties as a long sweep: 1,000,000 generated scenarios per rule (or N) on the
# simulator, on every core, with a progress bar; each failure is shrunk, written as a
# .scenario file under target/rtl-sweep/ and printed with its rtctl replay command.
#
#   scripts/prop-sweep.sh [N] [rtl-sweep options...]    e.g. scripts/prop-sweep.sh 1000000
#   scripts/prop-sweep.sh 20000 --mutations plain_kill_on_init_exit   (shows what it catches)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
shift || true
cargo build --release -p suites --bin rtl-sweep -p backend-sim -p rtctl
# The sweep loads the simulator plugin built beside it (plugin::testing builds it if missing).
exec ./target/release/rtl-sweep --scenarios "$n" "$@"
