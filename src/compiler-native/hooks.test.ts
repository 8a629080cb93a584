/**
 * Compiler-specific parts of listeners and interrupts: which bodies the rewrite touches (zero cost
 * when nothing is hooked), raw values in listener params/results (v128, NaN bits, references),
 * before-only listeners, host listeners called from the API, and cancelling a running call from a
 * worker through a SharedArrayBuffer flag. Engine-neutral semantics live in test/engines/.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Context } from '../runtime/api/context.js';
import { ExitError } from '../runtime/api/errors.js';
import { CoreFeaturesV2 } from '../runtime/api/features.js';
import {
  functionListenerFactoryFunc,
  functionListenerFunc,
  withFunctionListenerFactory,
  type FunctionListener,
} from '../runtime/api/listener.js';
import { decodeModule } from '../runtime/binary/decoder.js';
import { newModuleConfig, newRuntimeConfigCompiler, newRuntimeWithConfig } from '../index.js';
import { wat } from '../../test/helpers.js';
import { withInterruptFlag } from './engine.js';
import { rewriteModule } from './rewrite.js';

const LOOPS = `(module
  (func $a (export "a") (param i32) (result i32) (local.get 0))
  (func $b (export "b") (param i32) (result i32) (loop $l (br_if $l (i32.eqz (local.get 0)))) (local.get 0))
  (func $spin (export "spin") (loop $l (br $l))))`;

describe('compiler hooks: what the rewrite touches', () => {
  it('copies every body unchanged when nothing is hooked (precise traps off)', async () => {
    const m = decodeModule(await wat(LOOPS), CoreFeaturesV2);
    const rw = rewriteModule(m, 1, { preciseTraps: false });
    expect(rw.instrumented.every((b) => b === undefined)).toBe(true);
    expect(rw.hooks).toEqual([]);
  });

  it('instruments only bodies with loops for interrupts, and only listened bodies for listeners', async () => {
    const m = decodeModule(await wat(LOOPS), CoreFeaturesV2);
    const withInterrupts = rewriteModule(m, 2, { preciseTraps: true, interrupts: true });
    expect(withInterrupts.instrumented.map((b) => b !== undefined)).toEqual([false, true, true]);
    const listened = rewriteModule(m, 3, { preciseTraps: true, listened: [0, 1, 0] });
    expect(listened.instrumented.map((b) => b !== undefined)).toEqual([false, true, false]);
    expect(listened.hooks.map((h) => h.kind)).toEqual(['tail', 'before', 'after']);
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
    const ctx = withFunctionListenerFactory(Context.background(), functionListenerFactoryFunc(() => listener));
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
    const compiled = await r.compileModule(await wat(`(module (func (export "id") (param i32 externref) (result externref) (local.get 1)))`), ctx);
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

describe('compiler hooks: cancelling from another thread', () => {
  it('stops a spinning call when a worker sets the SharedArrayBuffer flag', async () => {
    const r = newRuntimeWithConfig(newRuntimeConfigCompiler().withCloseOnContextDone(true));
    const m = await r.instantiateWithConfig(await wat(LOOPS), newModuleConfig().withName('spin'));
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       setTimeout(() => Atomics.store(workerData, 0, 1), 50);`,
      { eval: true, workerData: flag },
    );
    // Let the worker start (it cannot while this thread is busy in the call before it runs).
    await new Promise<void>((res) => worker.once('online', () => res()));
    let err: unknown;
    try {
      m.exportedFunction('spin')!.callWithContext(withInterruptFlag(Context.background(), flag));
    } catch (e) {
      err = e;
    }
    await worker.terminate();
    expect(err).toBeInstanceOf(ExitError);
    expect((err as ExitError).exitCode).toBe(0xffffffff);
    expect(m.isClosed()).toBe(true);
    await r.close();
  }, 20_000);
});
