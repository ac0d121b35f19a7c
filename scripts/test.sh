#!/usr/bin/env bash
# The whole test suite in one command (README points here; .ci/run calls it).
#
# The end-to-end tests (e2e/) run the `upstare-cc` binary and link `libupstare_runtime.a`, which
# `cargo test -p upstare-e2e` alone does not build, so the workspace is built in release first;
# the tests then find both in target/release/. --no-fail-fast so that one failing test binary
# does not hide the results of the others. Extra arguments go to the test binaries, e.g.
# `scripts/test.sh --nocapture` to see the e2e summaries (skipped csmith seeds, counts).
# The last line sums every test binary's result ("tests: N passed, N failed").
#
# Harness self-check without the compiler: UPSTARE_E2E_CC_OVERRIDE=gcc scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
cargo build --release --workspace
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --release --workspace --no-fail-fast -- "$@" 2>&1 | tee "$log" || status=$?
echo "scripts/test.sh: finished in $(( $(date +%s) - start ))s"
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
