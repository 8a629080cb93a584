/**
 * Compiler-specific parts of listeners and interrupts: which bodies the rewrite touches (zero cost
 * when nothing is hooked), raw values in listener params/results (v128, NaN bits, references),
 * before-only listeners and host listeners called from the API. Engine-neutral semantics (including
 * cancelling a running call from a worker) live in test/engines/.
 */
import { describe, expect, it } from 'vitest';
import { Context } from '../runtime/api/context.js';
import { CoreFeaturesTailCall, CoreFeaturesV2 } from '../runtime/api/features.js';
import {
  functionListenerFactoryFunc,
  functionListenerFunc,
  withFunctionListenerFactory,
  type FunctionListener,
} from '../runtime/api/listener.js';
import { decodeModule } from '../runtime/binary/decoder.js';
import { newModuleConfig, newRuntimeConfigCompiler, newRuntimeWithConfig } from '../index.js';
import { wat } from '../../test/helpers.js';
import { rewriteModule } from './rewrite.js';
import { entryCheckedBodies } from './instrument.js';

const LOOPS = `(module
  (func $a (export "a") (param i32) (result i32) (local.get 0))
  (func $b (export "b") (param i32) (result i32) (loop $l (br_if $l (i32.eqz (local.get 0)))) (local.get 0))
  (func $spin (export "spin") (loop $l (br $l))))`;

describe('compiler hooks: what the rewrite touches', () => {
  it('copies every body unchanged when nothing is hooked (precise traps off)', async () => {
    const m = decodeModule(await wat(LOOPS), CoreFeaturesV2);
    const rw = rewriteModule(m, 'test1', { preciseTraps: false });
    expect(rw.instrumented.every((b) => b === undefined)).toBe(true);
    expect(rw.hooks).toEqual([]);
  });

  it('instruments only bodies with loops for interrupts, and only listened bodies for listeners', async () => {
    const m = decodeModule(await wat(LOOPS), CoreFeaturesV2);
    const withInterrupts = rewriteModule(m, 'test2', { preciseTraps: true, interrupts: true });
    expect(withInterrupts.instrumented.map((b) => b !== undefined)).toEqual([false, true, true]);
    const listened = rewriteModule(m, 'test3', { preciseTraps: true, listened: [0, 1, 0] });
    expect(listened.instrumented.map((b) => b !== undefined)).toEqual([false, true, false]);
    expect(listened.hooks.map((h) => h.kind)).toEqual(['tail', 'before', 'after']);
  });
});

describe('compiler hooks: entry checks for interrupts', () => {
  it('checks the entries of functions on a call cycle, calling through a table or calling an import, and no others', async () => {
    const m = decodeModule(
      await wat(`(module
        (import "env" "h" (func $h))
        (type $v (func))
        (table 1 funcref)
        (func $leaf (result i32) (i32.const 1))
        (func $helper (result i32) (call $leaf))
        (func $loop (local i32) (loop $l (local.set 0 (call $helper)) (br_if $l (local.get 0))))
        (func $self (call $self))
        (func $ping (call $pong))
        (func $pong (call $ping))
        (func $tail (return_call $tail))
        (func $indirect (call_indirect (type $v) (i32.const 0)))
        (func $host (call $h)))`),
      CoreFeaturesV2 | CoreFeaturesTailCall,
    );
    expect(Array.from(entryCheckedBodies(m))).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1]);
  });
});

describe('compiler hooks: listener values', () => {
  it('gives exact raw params and results (v128 as two slots, NaN bits, multi-value)', async () => {
    const log: string[] = [];
    const listener: FunctionListener = {
      before: (_c, _m, def, params) => log.push(`B ${def.name()} ${[...params].map((x) => x.toString(16)).join(',')}`),
      after: (_c, _m, def, results) => log.push(`A ${def.name()} ${[...results].map((x) => x.toString(16)).join(',')}`),
      abort: () => undefined,
    };
    const r = newRuntimeWithConfig(newRuntimeConfigCompiler());
    const ctx = withFunctionListenerFactory(
      Context.background(),
      functionListenerFactoryFunc(() => listener),
    );
    const compiled = await r.compileModule(
      await wat(`(module
        (func $swap (export "swap") (param v128 f64 i32) (result i32 f64 v128)
          (local.get 2) (local.get 1) (local.get 0)))`),
      ctx,
    );
    const m = await r.instantiateModule(compiled, newModuleConfig().withName('m'));
    const res = m.exportedFunction('swap')!.call(0x1111n, 0x2222n, 0x7ff4000000000001n, 0xffffffffn);
    expect(res).toEqual([0xffffffffn, 0x7ff4000000000001n, 0x1111n, 0x2222n]);
    expect(log).toEqual(['B swap 1111,2222,7ff4000000000001,ffffffff', 'A swap ffffffff,7ff4000000000001,1111,2222']);
    await r.close();
  });

  it('passes reference params as the store handles', async () => {
    const seen: bigint[] = [];
    const r = newRuntimeWithConfig(newRuntimeConfigCompiler());
    const ctx = withFunctionListenerFactory(
      Context.background(),
      functionListenerFactoryFunc(() => functionListenerFunc((_c, _m, _d, params) => seen.push(...params))),
    );
    const compiled = await r.compileModule(
      await wat(`(module (func (export "id") (param i32 externref) (result externref) (local.get 1)))`),
      ctx,
    );
    const m = await r.instantiateModule(compiled, newModuleConfig().withName('m'));
    expect(m.exportedFunction('id')!.call(7n, 42n)).toEqual([42n]);
    expect(seen).toEqual([7n, 42n]);
    await r.close();
  });

  it('fires before and after for a host function called directly from the API, mod being the host module', async () => {
    const log: string[] = [];
    const r = newRuntimeWithConfig(newRuntimeConfigCompiler());
    const ctx = withFunctionListenerFactory(
      Context.background(),
      functionListenerFactoryFunc(() => ({
        before: (_c, mod, def, params) => log.push(`B ${mod.name()} ${def.name()} ${[...params].join(',')}`),
        after: (_c, mod, def, results) => log.push(`A ${mod.name()} ${def.name()} ${[...results].join(',')}`),
        abort: () => undefined,
      })),
    );
    const host = await r
      .newHostModuleBuilder('env')
      .newFunctionBuilder()
      .withFunc((_c, _m, x: number) => x + 1, [0x7f], [0x7f])
      .withName('inc')
      .export('inc')
      .instantiate(ctx);
    expect(host.exportedFunction('inc')!.call(4)).toEqual([5n]);
    expect(log).toEqual(['B env inc 4', 'A env inc 5']);
    await r.close();
  });
});

// Cancelling from another thread (SharedArrayBuffer flag) is engine-neutral: test/engines/timeouts.test.ts.

describe('compiler hooks: loops wrapped for interrupt checks compute the same', () => {
  it('runs loops with params and results, br/br_if/br_table across loops, and return, as V8 runs the original', async () => {
    const bytes = await wat(`(module
      (func (export "nested") (param i32) (result i32) (local i32 i32)
        (block $out
          (loop $outer
            (local.set 2 (i32.const 0))
            (loop $inner
              (local.set 1 (i32.add (local.get 1) (local.get 2)))
              (br_if $out (i32.gt_u (local.get 1) (i32.const 100000)))
              (local.set 2 (i32.add (local.get 2) (i32.const 1)))
              (br_table $inner $inner $outer $out (i32.rem_u (local.get 2) (i32.const 4)))))
        )
        (local.get 1))
      (func (export "params") (param i32) (result i32 i32)
        (i32.const 0) (local.get 0)
        (loop $l (param i32 i32) (result i32 i32)
          ;; (acc, n) -> (acc + n, n - 1) until n == 0
          (local.set 0)
          (i32.add (local.get 0))
          (if (param i32) (result i32 i32) (i32.eqz (local.get 0))
            (then (local.get 0))
            (else (i32.sub (local.get 0) (i32.const 1)) (br $l)))))
      (func (export "ret") (param i32) (result i32)
        (loop $l (if (i32.ge_u (local.get 0) (i32.const 70000)) (then (return (local.get 0))))
          (local.set 0 (i32.add (local.get 0) (i32.const 3))) (br $l))
        (i32.const -1)))`);
    const raw = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as Record<string, (...a: number[]) => unknown>;
    const r = newRuntimeWithConfig(newRuntimeConfigCompiler().withCloseOnContextDone(true));
    const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName('loops'));
    const ctx = Context.background().withTimeout(60_000);
    expect(m.exportedFunction('nested')!.callWithContext(ctx, 0)).toEqual([BigInt(raw['nested']!(0) as number)]);
    expect(m.exportedFunction('params')!.callWithContext(ctx, 100_000)).toEqual(
      (raw['params']!(100_000) as number[]).map((x) => BigInt(x >>> 0)),
    );
    expect(m.exportedFunction('ret')!.callWithContext(ctx, 1)).toEqual([BigInt(raw['ret']!(1) as number)]);
    await r.close();
  });

  it('runs every nowasi guest (tiny) with interrupt checks and a deadline to the same result as V8', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('../../test/fixtures/guests/nowasi', import.meta.url).pathname;
    const r = newRuntimeWithConfig(newRuntimeConfigCompiler().withCloseOnContextDone(true));
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.tiny.wasm'))) {
      const bytes = new Uint8Array(readFileSync(`${dir}/${f}`));
      const raw = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports['run'] as () => bigint | number;
      const want = BigInt.asUintN(64, BigInt(raw()));
      const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName(f));
      const fn = m.exportedFunction('run')!;
      const got = fn.callWithContext(Context.background().withTimeout(60_000))[0]!;
      const bits = fn.definition().resultTypes()[0] === 0x7f ? BigInt.asUintN(64, BigInt.asIntN(32, got)) : got;
      expect({ f, bits }).toEqual({ f, bits: want });
    }
    await r.close();
  }, 60_000);
});
