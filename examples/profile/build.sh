#!/bin/sh
# build.sh - rebuild demo.wasm from demo.c with Debian 12's clang 14 and wasi-libc:
#
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
#
# A WASI command, -O1 with DWARF (-g) so profiles and coverage name demo.c's functions and lines;
# -fdebug-prefix-map keeps the recorded paths independent of the checkout. The .wasm is committed.
set -eu
cd "$(dirname "$0")"
${CC:-clang} --target=wasm32-wasi --sysroot="${WASI_SYSROOT:-/usr}" -O1 -g \
  -fdebug-prefix-map="$(pwd)"=examples/profile -o demo.wasm demo.c
