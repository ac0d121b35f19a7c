#!/usr/bin/env bash
# Benchmarks in one command: builds the workspace in release, then runs the e2e benchmark driver
# (e2e/src/bin/bench.rs), which measures upstare-cc builds against plain `gcc -O2` side by side
# (alternating runs, medians) and prints a table of ratios:
#   sort (bench/c/sort.c), fib(40) (bench/c/fib.c), Lua on e2e/data/lua/bench_*.lua,
#   and the compile time of the Lua sources.
# Not run in CI: timings on a shared machine are not a pass/fail criterion.
# Usage: bench/run.sh [--reps N] [--compile-reps N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace
exec target/release/upstare-bench "$@"
