#!/usr/bin/env bash
# The main demo (README's first command): builds upstare in release, then examples/echo (a
# threaded TCP server) v1 and v2 with upstare-cc, runs v1 with four clients connected, updates
# it live to v2 with `upstare update --spec`, and shows what the clients saw, the phases and
# the pause. A first build from a fresh clone takes a few minutes: one line shows its progress.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
# Cargo's own output goes to the log; the terminal gets one line that counts crates.
if [ -t 1 ]; then
    cargo build --release --workspace --color never 2>&1 | tee "$log" | {
        n=0
        while IFS= read -r line; do
            case "$line" in
            *Compiling*)
                n=$((n + 1))
                set -- $line
                printf '\r\033[Kbuilding upstare (cargo build --release): %3d crates compiled, now %s' "$n" "$2"
                ;;
            esac
        done
    } || true
    printf '\r\033[K'
else
    echo "building upstare (cargo build --release) ..."
    cargo build --release --workspace --color never >"$log" 2>&1 || true
fi
if ! grep -q '^ *Finished' "$log"; then
    cat "$log"
    echo "demo: cargo build failed (output above)" >&2
    exit 1
fi
echo "built upstare in $((SECONDS - start)) s"
exec "${CARGO_TARGET_DIR:-target}/release/upstare-demo" "$@"
