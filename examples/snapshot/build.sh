#!/bin/sh
# build.sh - rebuild world.wasm from world.c with Debian 12's clang 14 and wasi-libc:
#
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
#
# A WASI reactor (-mexec-model=reactor) that imports nothing; -O2, debug info stripped. The .wasm is
# committed: the example and its test do not need clang.
set -eu
cd "$(dirname "$0")"
${CC:-clang} --target=wasm32-wasi --sysroot="${WASI_SYSROOT:-/usr}" -O2 -mexec-model=reactor -Wl,--strip-debug -o world.wasm world.c
