#!/usr/bin/env bash
# The main demo (README's first command): builds everything in release, then the Lua interpreter
# with plain gcc and with upstare-cc, and runs a Lua workload while the runtime unwinds and
# rebuilds its stacks every N update points (default 20000), printing the pause times.
# Usage: scripts/demo.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "building upstare (cargo build --release) ..."
cargo build --release --workspace --quiet
exec target/release/upstare-demo "$@"
