/**
 * Property test of the compiler's rewind pass (src/compiler-native/rewind.ts) on real code: the
 * nowasi guests (C compiled by clang) with a host import `h.tick` spliced in and called at the entry
 * of every function, so that every function is on the stack during host calls and is transformed.
 * Taking a snapshot, and restoring it at once (the same host call, results unchanged), leave the
 * execution as it was: `run()` and the final memory must be exactly raw V8's, with snapshots taken
 * every few ticks (each one an unwind and a rewind of every frame on the stack), and with the
 * transform on but no snapshot taken.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Context, newModuleConfig } from '../../src/index.js';
import { getSnapshotter, withSnapshotter } from '../../src/experimental.js';
import { spliceHostCall } from '../../src/bench/modules.js';
import { engines, runtimeFor } from '../helpers.js';

const GUESTS = new URL('../fixtures/guests/nowasi', import.meta.url).pathname;
/**
 * The guests whose tick count stays small enough for a test (fib and calls make millions of calls),
 * and whether they tick at loop heads too (those that make few calls).
 */
const GUEST_TICKS: ReadonlyArray<readonly [string, boolean]> = [
  ['hashmap', false],
  ['i64', true],
  ['matmul', false],
  ['nbody', true],
  ['qsort', false],
  ['sha256', false],
  ['sieve', true],
];

/** FNV-1a over the memory. */
function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${bytes.length}:${h.toString(16)}`;
}

interface Outcome {
  readonly result: bigint;
  readonly memory: string;
}

function rawV8(bytes: Uint8Array): Outcome & { ticks: number } {
  let ticks = 0;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { h: { tick: () => void ticks++ } });
  const result = BigInt.asUintN(64, BigInt((inst.exports['run'] as () => bigint | number)()));
  return { result, memory: fingerprint(new Uint8Array((inst.exports['memory'] as WebAssembly.Memory).buffer)), ticks };
}

const compiler = engines.find((e) => e.name === 'compiler');

describe.skipIf(compiler === undefined)('rewind pass on the nowasi guests with a host call at every function entry', () => {
  for (const [name, loops] of GUEST_TICKS) {
    it(`${name}: snapshots taken (and restored at once) every few calls leave run() and memory as raw V8's`, async () => {
      const bytes = spliceHostCall(new Uint8Array(readFileSync(join(GUESTS, `${name}.tiny.wasm`))), { loops });
      const expected = rawV8(bytes);
      // About 60 snapshots per run, a third of them restored inside the host call that took them.
      const every = Math.max(1, Math.floor(expected.ticks / 60));
      for (const mode of ['none', 'snapshots'] as const) {
        const r = runtimeFor(compiler!);
        try {
          let ticks = 0;
          let taken = 0;
          await r
            .newHostModuleBuilder('h')
            .newFunctionBuilder()
            .withFunc(
              (ctx) => {
                ticks++;
                if (mode === 'none' || ticks % every !== 0) return;
                const s = getSnapshotter(ctx)!.snapshot();
                taken++;
                if (taken % 3 === 0) s.restore([]);
              },
              [],
              [],
            )
            .export('tick')
            .instantiate();
          const ctx = withSnapshotter(Context.background());
          const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName(name), ctx);
          const res = m.exportedFunction('run')!.callWithContext(mode === 'none' ? Context.background() : ctx);
          const t = m.exportedFunction('run')!.definition().resultTypes()[0];
          const result = t === 0x7f ? BigInt.asUintN(64, BigInt.asIntN(32, res[0]!)) : res[0]!;
          const got: Outcome = { result, memory: fingerprint(m.memory()!.read(0, m.memory()!.size())!) };
          expect({ mode, ...got }).toEqual({ mode, result: expected.result, memory: expected.memory });
          if (mode === 'snapshots') expect(taken).toBeGreaterThan(10);
        } finally {
          await r.close();
        }
      }
    }, 120_000);
  }
});
