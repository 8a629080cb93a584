#!/bin/sh
# build.sh - rebuild server.wasm from server.c (Debian 12: apt-get install clang lld wasi-libc
# libclang-rt-dev-wasm32): clang 14, wasm32-wasi, -O2, no debug info.
set -eu
cd "$(dirname "$0")"
${CC:-clang} --target=wasm32-wasi --sysroot="${WASI_SYSROOT:-/usr}" -O2 -Wl,--strip-debug server.c -o server.wasm
echo built server.wasm
