/**
 * setjmp/longjmp for a C guest (test/fixtures/snapshot/setjmp.c), as host functions built on the
 * Snapshotter: `env.setjmp(slot)` takes a snapshot and returns 0, `env.longjmp(slot, value)` restores
 * it so that `setjmp` returns `value`. Errors of a recursive-descent evaluator jump back from any
 * depth; a loop made of jumps restores one snapshot many times. Run on both engines (the module
 * compiled with withSnapshotter on the compile context, as the compiler engine needs).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Context, newModuleConfig } from '../../src/index.js';
import { ValueType, type Module } from '../../src/api.js';
import { getSnapshotter, withSnapshotter, type Snapshot } from '../../src/experimental.js';
import { engines, runtimeFor } from '../helpers.js';

const { I32 } = ValueType;
const bytes = new Uint8Array(readFileSync(fileURLToPath(new URL('../fixtures/snapshot/setjmp.wasm', import.meta.url))));

async function guest(engine: (typeof engines)[number]): Promise<Module> {
  const r = runtimeFor(engine);
  const slots = new Map<number, Snapshot>();
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withFunc(
      (ctx: Context, _mod: Module, slot: number) => {
        slots.set(slot, getSnapshotter(ctx)!.snapshot());
        return 0;
      },
      [I32],
      [I32],
    )
    .export('setjmp')
    .newFunctionBuilder()
    .withFunc(
      (_ctx: Context, _mod: Module, slot: number, value: number) => {
        slots.get(slot)!.restore([BigInt(value)]);
      },
      [I32, I32],
      [],
    )
    .export('longjmp')
    .instantiate();
  // Compiled for snapshots (the compiler engine's rewind pass; the interpreter needs nothing).
  return r.instantiateWithConfig(bytes, newModuleConfig().withName(''), withSnapshotter(Context.background()));
}

/** Evaluates `expr` in the guest: [error code, value, deepest nesting reached]. */
function evaluate(m: Module, expr: string): number[] {
  const at = Number(m.exportedFunction('input')!.call()[0]);
  m.memory()!.writeString(at, `${expr}\0`);
  const ctx = withSnapshotter(Context.background());
  const err = Number(m.exportedFunction('eval')!.callWithContext(ctx)[0]);
  return [err, Number(BigInt.asIntN(32, m.exportedFunction('value')!.call()[0]!)), Number(m.exportedFunction('depth')!.call()[0])];
}

for (const e of engines) {
  describe(`setjmp/longjmp in C through the Snapshotter (${e.name})`, () => {
    it('evaluates, and jumps back from any depth on errors', async ({ skip }) => {
      const m = await guest(e);
      let first: number[];
      try {
        first = evaluate(m, '2*(3+4)-5');
      } catch (err) {
        if (err instanceof Error && /not supported: snapshots/.test(err.message)) skip(`${e.name}: ${err.message}`);
        throw err;
      }
      expect(first).toEqual([0, 9, 1]);
      expect(evaluate(m, '((((((1+)))))')).toEqual([1, 9, 6]); // syntax error 6 levels deep
      expect(evaluate(m, '7/(3-3)')).toEqual([2, 9, 1]); // division by zero
      expect(evaluate(m, '1+2)')).toEqual([3, 3, 0]); // trailing input: after the value was set
      expect(evaluate(m, '-(-(-8))*2')).toEqual([0, -16, 5]);
    });

    it('restores one snapshot any number of times (a loop made of jumps)', async ({ skip }) => {
      const m = await guest(e);
      const ctx = withSnapshotter(Context.background());
      let r: bigint[];
      try {
        r = m.exportedFunction('jumps')!.callWithContext(ctx, 100);
      } catch (err) {
        if (err instanceof Error && /not supported: snapshots/.test(err.message)) skip(`${e.name}: ${err.message}`);
        throw err;
      }
      expect(r).toEqual([101n]);
    });
  });
}
