#!/bin/sh
# The corrupt-plugin corpus of issue 14, larger than CI's: ${1:-4} times the mutants per region
# (CI runs scale 1: 510 files), from seed ${2:-the test's fixed seed}, every file through
# preflight + probe in one host process. Prints one line per file and the counts per refusing
# check. Needs runc for the runc backend's "works" check (list).
set -eu
cd "$(dirname "$0")/.."
RTL_CORPUS_SCALE="${1:-4}" ${2:+RTL_CORPUS_SEED="$2"} RTL_CORPUS_VERBOSE=1 \
    cargo test -p plugin --test corpus -- --nocapture
