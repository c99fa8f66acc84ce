#!/usr/bin/env bash
# Measures the rule properties' throughput on the simulator: release build, one test thread,
# N cases per rule (default 2000), wall time of each rule's test on its own.
#
#   scripts/prop-throughput.sh [CASES]
#
# Prints, per rule, the scenarios run (shrinking included: the test's own count) and:
# - "running": the scenarios per second of the property itself, as the test measures it
#   (generating, running and judging scenarios; the figure of the proof issue);
# - "process": the wall time of the whole test process and its scenarios per second (also the
#   binary's start, and its check with cargo that the simulator plugin is built, ~0.1 s);
# - the CPU time (user+sys of every thread: on a shared, loaded machine the wall figures
#   mostly measure the other load).
# A first 1-case run builds the simulator plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-2000}"
bin=$(cargo test --release -p suites --test properties --no-run --message-format=json 2>/dev/null \
    | grep '"executable":"[^"]*properties' | sed 's/.*"executable":"\([^"]*\)".*/\1/' | tail -1)
RTL_PROPTEST_CASES=1 "$bin" --test-threads=1 >/dev/null 2>&1
for t in rule1_init_exit_kills_siblings_unless_namespace_owned rule2_relays_drain_and_never_hang; do
    start=$(date +%s.%N)
    out=$(RTL_PROPTEST_CASES="$cases" /usr/bin/time -f 'cpu %U %S' "$bin" --test-threads=1 --exact "$t" 2>&1)
    end=$(date +%s.%N)
    cpu=$(echo "$out" | grep '^cpu ' | tail -1 | awk '{ print $2 + $3 }')
    ran=$(echo "$out" | grep -o '[0-9]* scenarios run' | head -1 | grep -o '^[0-9]*')
    running=$(echo "$out" | grep -o 'in [0-9.]* s, [0-9]* scenarios/s' | head -1)
    echo "$out" | grep -q "test result: ok" || { echo "$out" | tail -20; echo "$t FAILED"; exit 1; }
    awk -v t="$t" -v n="$ran" -v s="$start" -v e="$end" -v c="$cpu" -v r="$running" \
        'BEGIN { w = e - s; printf "%s: %d scenarios; running: %s; process: %.2f s wall = %.0f scenarios/s; %.2f s CPU (user+sys, all threads) = %.0f scenarios per CPU-second\n", t, n, r, w, n / w, c, n / c }'
done
