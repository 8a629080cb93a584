/**
 * The interpreter's own invariants: the run loop's `case` numbers match the opcode numbering of
 * ir.ts. Lowering output is checked in listen.test.ts and fused.test.ts, SIMD lanes in simd*.test.ts.
 * What the engine computes is engine-neutral and lives in test/engines/ (values, instructions,
 * traces, host functions, linking, limits, listeners, timeouts, re-entry, differential).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { I } from './ir.js';

describe('run loop opcode numbering', () => {
  it('uses the same numbers as ir.ts for every named case', () => {
    const src = readFileSync(new URL('./run.ts', import.meta.url), 'utf8') + readFileSync(new URL('./rare.ts', import.meta.url), 'utf8');
    const re = /case (\d+):(?: \{)?\n\s+\/\/ ([A-Z0-9_, ]+)\n/g;
    let n = 0;
    for (const m of src.matchAll(re)) {
      const num = Number(m[1]);
      const names = m[2]!.split(',').map((s) => s.trim());
      // A combined case lists its names in order over consecutive preceding labels; check the first.
      const first = names.length === 1 ? names[0]! : undefined;
      if (first !== undefined) {
        expect(I[first as keyof typeof I], first).toBe(num);
        n++;
      }
    }
    expect(n).toBeGreaterThan(150);
  });

  it('gives every instruction of ir.ts a number of its own', () => {
    const byNumber = new Map<number, string[]>();
    for (const [name, num] of Object.entries(I)) byNumber.set(num, [...(byNumber.get(num) ?? []), name]);
    expect([...byNumber.values()].filter((names) => names.length > 1)).toEqual([]);
  });
});
