import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { snapshotDemo } from './run.js';

const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-snapshot-example-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('the snapshot example pre-initialises the world, checkpoints it in small deltas, rewinds it and restores it on the interpreter', async () => {
  const lines: string[] = [];
  const r = await snapshotDemo(tmp, (l) => lines.push(l));
  expect(lines).toHaveLength(4);
  // The world’s memory holds about 100 pages; 100 steps of 16 agents change a handful.
  expect(r.fullPages).toBeGreaterThan(80);
  expect(r.deltaPages).toBeGreaterThan(0);
  expect(r.deltaPages).toBeLessThan(r.fullPages / 4);
  expect(r.checksums[1]).toBe(r.checksums[0]);
  expect(r.checksums[2]).toBe(r.checksums[0]);
  expect(lines[2]).toBe('rewound and replayed: same state');
  expect(lines[3]).toBe('restored on the interpreter: same state (steps: 100)');
});
