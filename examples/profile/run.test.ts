import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { decodePprof } from 'wasmscope/profile';
import { profileDemo } from './run.js';

const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-profile-example-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('the profiling example writes a CPU and a memory profile, a flame graph and lcov for demo.c', async () => {
  const out = await profileDemo(tmp, 3000);
  const cpu = await decodePprof(readFileSync(out.cpu));
  const leaves = new Set(cpu.samples.map((s) => s.stack[0]!.function));
  for (const f of ['make_word', 'count_word', 'hash', 'next_random']) expect(leaves).toContain(f);
  const mem = await decodePprof(readFileSync(out.mem));
  // One malloc per distinct word, from count_word.
  const fromCountWord = mem.samples.filter((s) => s.stack[1]?.function === 'count_word');
  expect(fromCountWord.reduce((n, s) => n + s.values[0]!, 0)).toBeGreaterThan(100);
  expect(readFileSync(out.flame, 'utf8')).toContain('count_word');
  const lcov = readFileSync(out.lcov, 'utf8');
  expect(lcov).toContain('SF:examples/profile/demo.c\n');
  // The line that never runs.
  expect(lcov).toMatch(/\nDA:77,0\n/);
});
