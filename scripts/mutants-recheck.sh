#!/usr/bin/env bash
# Re-checks mutants of an earlier `cargo mutants` run against any test command, one at a time,
# in this tree. cargo-mutants 27 in --in-place mode runs only the mutated package's tests
# (it ignores --test-package of another package), so a mutant it reports missed may still be
# caught by a suite outside that package: the cross-backend conformance suite (package
# suites) or rtctl's recovery tests (package rtctl), for backend-runc's mutants.
#
#   scripts/mutants-recheck.sh MUTANTS_JSON NAMES_FILE -- TEST COMMAND...
#
#   MUTANTS_JSON  each mutant's name and diff: a run's mutants.out/mutants.json, or
#                 `cargo mutants --list --json --diff --file ... > FILE`
#   NAMES_FILE    the mutants to re-check, one name per line as cargo-mutants prints them
#                 (a run's missed.txt, say); results go beside it
#
# For each mutant: its diff is applied to this tree (`patch`, the tree must be clean), the test
# command runs (under `timeout`, RECHECK_TIMEOUT seconds, default 900), the file is restored
# with `git checkout`. Prints one line per mutant, "caught", "missed", "unviable" (it does not
# build) or "timeout" (not counted as caught), and appends them, after a line with the
# command, to recheck.txt beside NAMES_FILE, with the log of each one not missed. Paths are
# taken from the tree's top. Run the runc mutants with each test command in a pid namespace of
# its own (as scripts/mutants.sh says, and so that what one mutant leaves running dies with its
# command instead of filling the machine's pids: seen 2026-12-08, 32,000 `sleep`s):
#
#   scripts/mutants-recheck.sh mutants.out/runc/mutants.out/mutants.json \
#       mutants.out/runc/mutants.out/missed.txt -- unshare --pid --fork --kill-child --mount-proc \
#       cargo test -p suites --test conformance conformance_runc_plugin
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] && [ "$3" = "--" ] || { sed -n '2,26p' "$0" >&2; exit 2; }
json=$(realpath "$1")
names=$2
shift 3
[ -f "$json" ] || { echo "no $json" >&2; exit 2; }
run_dir=$(dirname "$names")
git diff --quiet || { echo "the tree has changes: a mutant must be applied to a clean tree" >&2; exit 2; }
out="$run_dir/recheck.txt"
echo "# $(date -u +%FT%TZ) at $(git rev-parse --short HEAD): $*" >>"$out"
restore() { git checkout -q -- "$@"; }
while IFS= read -r name; do
    [ -n "$name" ] || continue
    # The mutant's file (printed) and diff (written), from the run's own record, in one read.
    file=$(NAME="$name" python3 -c '
import json, os, sys
m = [m for m in json.load(open(sys.argv[1])) if m["name"] == os.environ["NAME"]]
if not m:
    sys.exit(1)
open(sys.argv[2], "w").write(m[0]["diff"] + "\n")
print(m[0]["file"])' "$json" "$run_dir/recheck.diff") || { echo "not in $json: $name" >&2; exit 2; }
    patch -s -p0 "$file" <"$run_dir/recheck.diff"
    trap 'restore "$file"' EXIT
    start=$(date +%s)
    set +e
    timeout --kill-after=30 "${RECHECK_TIMEOUT:-900}" "$@" >"$run_dir/recheck.log" 2>&1
    rc=$?
    set -e
    restore "$file"
    trap - EXIT
    if [ $rc -eq 0 ]; then verdict=missed
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then verdict=timeout
    elif grep -q '^error: could not compile' "$run_dir/recheck.log"; then verdict=unviable
    else verdict=caught
    fi
    line="$verdict $(( $(date +%s) - start ))s $name"
    echo "$line" | tee -a "$out"
    [ "$verdict" = missed ] || cp "$run_dir/recheck.log" "$run_dir/recheck-$(echo "$name" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-120).log"
done <"$names"
rm -f "$run_dir/recheck.diff" "$run_dir/recheck.log"
