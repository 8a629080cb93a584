/**
 * Guest → host → guest re-entry, one table run per engine: a host function that calls back into the
 * guest nests an engine invocation per level. However deep the guest drives it, the call ends in the
 * trap `stack overflow` (a WasmRuntimeError, never V8's RangeError), with a wasm stack trace, and
 * the runtime stays usable. The depth reached is compared with raw V8 running the same guest with a
 * plain JS import (measured in the same process).
 *
 * Note: raw V8 nests one small JS frame per level; every level through a runtime nests a few more
 * (the host function's adapter, `Function.call`, the engine's entry), and each JS frame costs about
 * a third of raw V8's depth here, so the figure printed is well below raw V8's (README limits).
 */
import { describe, expect, it } from 'vitest';
import { ValueType } from '../../src/api.js';
import { Trap, WasmRuntimeError } from '../../src/index.js';
import type { Function as ApiFunction } from '../../src/api.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const GUEST = `(module (import "env" "h" (func $h (param i32) (result i32)))
  (func (export "rec") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (call $h (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))`;

/** The deepest `n` for which `run(n)` returns (binary search; `run` must fail for larger n). */
function deepest(run: (n: number) => void, max: number): number {
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try {
      run(mid);
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

async function rawV8Depth(bytes: Uint8Array): Promise<number> {
  let rec: (n: number) => number = () => 0;
  const { instance } = await WebAssembly.instantiate(bytes, { env: { h: (n: number) => rec(n) } });
  rec = instance.exports['rec'] as (n: number) => number;
  deepest(rec, 200_000); // warm up: depth depends on how far V8 has optimized the frames
  return deepest(rec, 200_000);
}

for (const engine of engines) {
  describe(`guest → host → guest re-entry on the ${engine.name}`, () => {
    it('ends in a stack-overflow trap with a wasm stack trace, never a RangeError, and the runtime stays usable', async () => {
      const bytes = await wat(GUEST);
      const r = runtimeFor(engine);
      try {
        let rec: ApiFunction | undefined;
        await r
          .newHostModuleBuilder('env')
          .newFunctionBuilder()
          .withFunc((_ctx, _m, n: number) => Number(rec!.call(n)[0]), [ValueType.I32], [ValueType.I32])
          .export('h')
          .instantiate();
        const m = await r.instantiate(bytes);
        rec = m.exportedFunction('rec')!;
        let err: unknown;
        try {
          rec.call(1_000_000);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(WasmRuntimeError);
        expect((err as WasmRuntimeError).trap).toBe(Trap.StackOverflow);
        expect((err as WasmRuntimeError).message).toMatch(/^wasm error: stack overflow\nwasm stack trace:\n\t/);
        expect(rec.call(100)).toEqual([100n]);

        const raw = await rawV8Depth(bytes);
        deepest((n) => rec!.call(n), 200_000);
        const ours = deepest((n) => rec!.call(n), 200_000);
        console.log(`re-entry depth on the ${engine.name}: ${ours} levels, raw V8 ${raw} (${((100 * ours) / raw).toFixed(0)}%)`);
        expect(ours).toBeGreaterThan(raw / 10);
      } finally {
        await r.close();
      }
    }, 60_000);
  });
}
