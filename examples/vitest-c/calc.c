/* calc.c - the guest of the Vitest C example (a WASI reactor: exports, no main). Built by build.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Provided by the host (mocked in the tests). */
__attribute__((import_module("env"), import_name("log_value"))) void log_value(int value);

static char buffer[64];

/* Integer division; traps (integer divide by zero) when b == 0. */
__attribute__((export_name("divide"))) int divide(int a, int b) {
  return a / b;
}

/* Sums 1..n, logging every partial sum through env.log_value. */
__attribute__((export_name("sum_to"))) int sum_to(int n) {
  int total = 0;
  for (int i = 1; i <= n; i++) {
    total += i;
    log_value(total);
  }
  return total;
}

/* Writes "hello, <name>!" into a static buffer and returns it. */
__attribute__((export_name("greet"))) const char *greet(const char *name) {
  snprintf(buffer, sizeof buffer, "hello, %s!", name);
  return buffer;
}

/* The address of the static buffer, for the host to write a name into. */
__attribute__((export_name("scratch"))) char *scratch(void) {
  return buffer;
}

/* Counts the lines of a file; prints the count to stdout, or an error to stderr and exits with 2. */
__attribute__((export_name("count_lines"))) int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  int lines = 0;
  for (int c; (c = fgetc(f)) != EOF;)
    if (c == '\n') lines++;
  fclose(f);
  printf("%s: %d lines\n", path, lines);
  fflush(stdout);
  return lines;
}
