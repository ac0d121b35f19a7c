#!/usr/bin/env bash
# The main demo (README's first command): builds upstare in release, then examples/echo (a
# threaded TCP server) v1 and v2 with upstare-cc, runs v1 with four clients connected, updates
# it live to v2 with `upstare update`, and shows what the clients saw, the phases and the pause.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "building upstare (cargo build --release) ..."
cargo build --release --workspace --quiet
exec target/release/upstare-demo "$@"
