/* pricing.c - the OpenTelemetry example's guest. Built with (Debian 12: apt-get install clang lld):
 *   clang --target=wasm32 -O0 -g -nostdlib -Wl,--no-entry -fdebug-prefix-map=$PWD=/example -o pricing.wasm pricing.c
 * quote() is exported; tax() is an internal function; lookup_rate() is a host function. */
__attribute__((import_module("env"), import_name("lookup_rate"))) int lookup_rate(int region);

__attribute__((noinline)) static int tax(int cents, int region) {
  return cents * lookup_rate(region) / 100;
}

__attribute__((export_name("quote"))) int quote(int cents, int region) {
  return cents + tax(cents, region);
}
