/* world.c (built with Debian clang 14 by build.sh) - the snapshot example's guest: a small world.
 * `wizer.initialize` generates a 1024x1024 terrain (a few rounds of smoothing noise: slow at start-up,
 * the reason to pre-initialise) and places the agents; `step(n)` moves the agents n times, each move
 * writing a few bytes; `checksum()` hashes the whole state. A WASI reactor importing nothing. */
#include <stdint.h>
#include <stdlib.h>

#define SIZE 1024
#define AGENTS 16

static uint8_t *terrain;  /* SIZE*SIZE heights */
static uint32_t *visits;  /* SIZE*SIZE visit counters */
static struct { int32_t x, y; } agents[AGENTS];
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t steps;

static uint32_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

__attribute__((export_name("wizer.initialize"))) void init(void) {
  terrain = malloc(SIZE * SIZE);
  visits = calloc(SIZE * SIZE, sizeof(uint32_t));
  for (int i = 0; i < SIZE * SIZE; i++) terrain[i] = (uint8_t)next_random();
  uint8_t *tmp = malloc(SIZE * SIZE);
  for (int round = 0; round < 8; round++) {
    for (int y = 0; y < SIZE; y++)
      for (int x = 0; x < SIZE; x++) {
        int sum = 0;
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++) sum += terrain[((y + dy) & (SIZE - 1)) * SIZE + ((x + dx) & (SIZE - 1))];
        tmp[y * SIZE + x] = (uint8_t)(sum / 9);
      }
    uint8_t *t = terrain;
    terrain = tmp;
    tmp = t;
  }
  free(tmp);
  for (int a = 0; a < AGENTS; a++) {
    agents[a].x = (int32_t)(next_random() % SIZE);
    agents[a].y = (int32_t)(next_random() % SIZE);
  }
}

/* Moves every agent n times, downhill when it can. */
__attribute__((export_name("step"))) void step(int32_t n) {
  for (int32_t i = 0; i < n; i++) {
    for (int a = 0; a < AGENTS; a++) {
      int32_t x = agents[a].x, y = agents[a].y;
      int32_t nx = (x + (int32_t)(next_random() % 3) - 1) & (SIZE - 1);
      int32_t ny = (y + (int32_t)(next_random() % 3) - 1) & (SIZE - 1);
      if (terrain[ny * SIZE + nx] <= terrain[y * SIZE + x] + 2) {
        agents[a].x = nx;
        agents[a].y = ny;
      }
      visits[agents[a].y * SIZE + agents[a].x]++;
    }
    steps++;
  }
}

__attribute__((export_name("steps"))) uint64_t steps_taken(void) { return steps; }

/* FNV-1a over the terrain, the visits, the agents and the steps. */
__attribute__((export_name("checksum"))) uint64_t checksum(void) {
  uint64_t h = 1469598103934665603ULL;
  for (int i = 0; i < SIZE * SIZE; i++) h = (h ^ terrain[i]) * 1099511628211ULL;
  for (int i = 0; i < SIZE * SIZE; i++) h = (h ^ visits[i]) * 1099511628211ULL;
  for (int a = 0; a < AGENTS; a++) h = (h ^ (uint32_t)(agents[a].x * SIZE + agents[a].y)) * 1099511628211ULL;
  return h ^ steps;
}
