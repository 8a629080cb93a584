// hello.c - the WASI example guest. Built with:
//   clang --target=wasm32-wasi --sysroot=/usr -O2 -Wl,--strip-debug hello.c -o hello.wasm
// (Debian 12: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32)
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  const char *name = getenv("NAME");
  printf("hello from WASI, %s!\n", name ? name : "world");
  for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
  printf("the guest's clock says %ld\n", (long)time(NULL));
  return argc > 3 ? 3 : 0;
}
