#!/usr/bin/env bash
# Fuzzes the parsers with cargo-fuzz (nightly): the scenario parser, the simulator's shell
# parser, runc's state/list/ps/log parsers, the plugin host's decoding of plugin buffers.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 600 s, every target)
#
# One target at a time, one process each (-jobs=1 -workers=1), on the corpus committed in
# fuzz/corpus/<target>; new inputs are merged back into it minimised (-merge=1). Prints, per
# target, the executions, the time and whether a crash was found (crash inputs land in
# fuzz/artifacts/<target>/; replay one with `cargo +nightly fuzz run <target> <file>`).
# Needs: rustup nightly, `cargo install --locked cargo-fuzz`.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build -O
bin_dir="target/x86_64-unknown-linux-gnu/release"
summary=()
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t" "/tmp/rtl-fuzz-new-$t"
    log="/tmp/rtl-fuzz-$t.log"
    echo "== $t: ${secs}s, log $log"
    start=$(date +%s)
    set +e
    "$bin_dir/$t" "/tmp/rtl-fuzz-new-$t" "corpus/$t" -max_total_time="$secs" \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 -jobs=1 -workers=1 \
        -close_fd_mask=3 >"$log" 2>&1
    rc=$?
    # With -jobs the run's own output goes to fuzz-0.log.
    [ -f fuzz-0.log ] && cat fuzz-0.log >>"$log" && rm -f fuzz-0.log
    set -e
    elapsed=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
    crashes=$(find "artifacts/$t" -type f | wc -l)
    # Merge what the run found into the committed corpus, minimised.
    mkdir -p "/tmp/rtl-fuzz-merged-$t"
    "$bin_dir/$t" -merge=1 "/tmp/rtl-fuzz-merged-$t" "corpus/$t" "/tmp/rtl-fuzz-new-$t" >/dev/null 2>&1 || true
    if [ -n "$(ls -A "/tmp/rtl-fuzz-merged-$t")" ]; then
        rm -rf "corpus/$t" && mv "/tmp/rtl-fuzz-merged-$t" "corpus/$t"
    fi
    rm -rf "/tmp/rtl-fuzz-new-$t" "/tmp/rtl-fuzz-merged-$t"
    line="$t: ${execs} executions in ${elapsed}s, exit $rc, crash files: $crashes, corpus $(ls "corpus/$t" | wc -l) inputs"
    echo "$line"
    summary+=("$line")
    [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] || status=1
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
