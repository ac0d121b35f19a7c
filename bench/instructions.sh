#!/usr/bin/env bash
# Deterministic benchmark: instructions executed (valgrind --tool=callgrind) by the plain gcc -O2
# build and the upstare-cc -O2 build of bench/c/*.c and of Lua running bench/lua/fib24.lua and
# e2e/data/lua/bench_fannkuch.lua (n = 7), and their
# ratio. Unlike bench/run.sh it does not depend on how busy the machine is. Needs valgrind and
# python3 (to read `cargo metadata`). Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --quiet
root=$(pwd)
up="$root/target/release/upstare-cc"
work="$root/target/release/bench-instructions"
rm -rf "$work" && mkdir -p "$work"
lua_src=$(cd e2e && cargo metadata --format-version 1 | python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "lua-src" and p["version"] == "551.1.0":
        print(os.path.join(os.path.dirname(p["manifest_path"]), "lua-5.4.9"))')
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*refs: *//p' | tr -d ,; }
row() { # name plain-cmd... -- upstare-cmd...
    local name=$1; shift
    local plain=() inst=()
    while [ "$1" != "--" ]; do plain+=("$1"); shift; done; shift
    inst=("$@")
    local a b; a=$(count "${plain[@]}"); b=$(count "${inst[@]}")
    awk -v n="$name" -v a="$a" -v b="$b" 'BEGIN { printf "%-28s %14d %14d %7.2fx\n", n, a, b, b / a }'
}
for cc in gcc "$up"; do
    tag=$([ "$cc" = gcc ] && echo plain || echo upstare)
    for p in sort fib alloc; do "$cc" -O2 -o "$work/$p-$tag" "bench/c/$p.c"; done
    mkdir -p "$work/lua-$tag"
    for f in "$lua_src"/*.c e2e/data/lua_main.c; do
        "$cc" -O2 -w -DLUA_USE_LINUX -DLUA_USE_JUMPTABLE=0 -I"$lua_src" -c "$f" -o "$work/lua-$tag/$(basename "$f" .c).o"
    done
    "$cc" -O2 -o "$work/lua-$tag/lua" "$work/lua-$tag"/*.o -lm -ldl
done
printf "%-28s %14s %14s %8s\n" benchmark "gcc -O2" "upstare-cc" ratio
row "sort" "$work/sort-plain" -- "$work/sort-upstare"
row "fib(27)" "$work/fib-plain" 27 -- "$work/fib-upstare" 27
row "alloc(3)" "$work/alloc-plain" 3 -- "$work/alloc-upstare" 3
row "lua fib24" "$work/lua-plain/lua" bench/lua/fib24.lua -- "$work/lua-upstare/lua" bench/lua/fib24.lua
fk=e2e/data/lua/bench_fannkuch.lua
row "lua fannkuch(7)" "$work/lua-plain/lua" "$fk" 7 -- "$work/lua-upstare/lua" "$fk" 7
