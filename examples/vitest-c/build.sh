#!/bin/sh
# build.sh - rebuild calc.wasm from calc.c with Debian 12's clang 14 and wasi-libc:
#
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
#
# A WASI reactor (-mexec-model=reactor: `_initialize` instead of `_start`, so the exports can be
# called one by one), -O1 with DWARF (-g) so traps show calc.c lines; -fdebug-prefix-map keeps the
# recorded paths independent of the checkout. The .wasm is committed: the tests do not need clang.
set -eu
cd "$(dirname "$0")"
${CC:-clang} --target=wasm32-wasi --sysroot="${WASI_SYSROOT:-/usr}" -mexec-model=reactor -O1 -g \
  -fdebug-prefix-map="$(pwd)"=/examples/vitest-c -o calc.wasm calc.c
