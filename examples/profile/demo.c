/* Built by build.sh: clang --target=wasm32-wasi -O1 -g -> demo.wasm (a WASI command).
 * A small word-frequency program with a few distinct hot spots for the profiling example:
 * generate words, count them in a hash table (malloc per new word), sort by count (qsort), print. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
  char word[8];
  int count;
  struct entry *next;
};

#define BUCKETS 257
static struct entry *table[BUCKETS];
static unsigned seed = 12345;

__attribute__((noinline)) static unsigned next_random(void) {
  seed = seed * 1103515245u + 12345u;
  return seed >> 8;
}

__attribute__((noinline)) static void make_word(char *out) {
  int n = 2 + next_random() % 3;
  for (int i = 0; i < n; i++) out[i] = 'a' + next_random() % 6;
  out[n] = 0;
}

__attribute__((noinline)) static unsigned hash(const char *s) {
  unsigned h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h % BUCKETS;
}

__attribute__((noinline)) static void count_word(const char *w) {
  unsigned b = hash(w);
  for (struct entry *e = table[b]; e != NULL; e = e->next) {
    if (strcmp(e->word, w) == 0) {
      e->count++;
      return;
    }
  }
  struct entry *e = malloc(sizeof *e);
  strcpy(e->word, w);
  e->count = 1;
  e->next = table[b];
  table[b] = e;
}

static int by_count(const void *a, const void *b) {
  const struct entry *x = *(struct entry *const *)a;
  const struct entry *y = *(struct entry *const *)b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->word, y->word);
}

__attribute__((noinline)) static int sorted(struct entry **out) {
  int n = 0;
  for (int b = 0; b < BUCKETS; b++)
    for (struct entry *e = table[b]; e != NULL; e = e->next) out[n++] = e;
  qsort(out, n, sizeof *out, by_count);
  return n;
}

int main(int argc, char **argv) {
  int words = argc > 1 ? atoi(argv[1]) : 20000;
  char w[8];
  for (int i = 0; i < words; i++) {
    make_word(w);
    count_word(w);
  }
  static struct entry *all[1 << 12];
  int n = sorted(all);
  printf("%d distinct words; most frequent: %s %d, %s %d, %s %d\n", n, all[0]->word, all[0]->count, all[1]->word, all[1]->count,
         all[2]->word, all[2]->count);
  if (words < 0)
    puts("never printed");
  return 0;
}
