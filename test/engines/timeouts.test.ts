/**
 * Timeouts, one table of cases run on every engine: with
 * `withCloseOnContextDone(true)`, a call whose context is done stops with an ExitError, the called
 * module is closed and the runtime stays usable.
 *
 * A synchronous call blocks the event loop, so no timer or signal listener can run during it: a
 * context timeout is a deadline the engine compares with the clock, and a signal counts only if it
 * was aborted before (or by a host function during) the call.
 */
import { describe, expect, it } from 'vitest';
import { Context, ExitError, newModuleConfig } from '../../src/index.js';
import type { Module } from '../../src/api.js';
import { Worker } from 'node:worker_threads';
import {
  functionListenerFactoryFunc,
  withFunctionListenerFactory,
  withInterruptFlag,
  type FunctionListener,
} from '../../src/experimental.js';
import { engines, runtimeFor, wat } from '../helpers.js';
import { CoreFeaturesTailCall, CoreFeaturesV2, ValueType } from '../../src/api.js';

const INFINITE = `(module
  (import "env" "poke" (func $poke))
  (func (export "spin") (loop $l (br $l)))
  (func (export "spin_poke") (loop $l (call $poke) (br $l)))
  (func (export "count") (param i32) (result i32) (local i32)
    (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1)))`;

interface Case {
  readonly name: string;
  readonly closeOnContextDone: boolean;
  /** `poked` aborts when the guest calls `env.poke` (the only way a signal can flip mid-call). */
  readonly run: (m: Module, poked: AbortController) => void;
}

const cases: Case[] = [
  {
    name: 'an infinite loop past its deadline ends with "context deadline exceeded" and closes the module',
    closeOnContextDone: true,
    run(m) {
      const ctx = Context.background().withTimeout(50);
      let err: unknown;
      try {
        m.exportedFunction('spin')!.callWithContext(ctx);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ExitError);
      expect((err as ExitError).exitCode).toBe(0xefffffff);
      expect((err as ExitError).message).toBe('module closed with context deadline exceeded');
      expect(m.isClosed()).toBe(true);
    },
  },
  {
    name: 'an infinite loop with an aborted signal ends with "context canceled" and closes the module',
    closeOnContextDone: true,
    run(m) {
      const ac = new AbortController();
      ac.abort();
      const ctx = Context.background().withSignal(ac.signal);
      let err: unknown;
      try {
        m.exportedFunction('spin')!.callWithContext(ctx);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ExitError);
      expect((err as ExitError).exitCode).toBe(0xffffffff);
      expect((err as ExitError).message).toBe('module closed with context canceled');
      expect(m.isClosed()).toBe(true);
    },
  },
  {
    name: 'a signal aborted by a host function during the call stops it with "context canceled"',
    closeOnContextDone: true,
    run(m, poked) {
      const ctx = Context.background().withSignal(poked.signal);
      let err: unknown;
      try {
        m.exportedFunction('spin_poke')!.callWithContext(ctx);
      } catch (e) {
        err = e;
      }
      expect((err as ExitError).exitCode).toBe(0xffffffff);
      expect(m.isClosed()).toBe(true);
    },
  },
  {
    name: 'a loop that ends before its deadline returns normally',
    closeOnContextDone: true,
    run(m) {
      const ctx = Context.background().withTimeout(60_000);
      expect(m.exportedFunction('count')!.callWithContext(ctx, 1_000_000)).toEqual([1_000_000n]);
      expect(m.isClosed()).toBe(false);
    },
  },
  {
    name: 'with withCloseOnContextDone, a context without deadline or signal never stops the call',
    closeOnContextDone: true,
    run(m) {
      expect(m.exportedFunction('count')!.callWithContext(Context.background(), 300_000)).toEqual([300_000n]);
      expect(m.exportedFunction('count')!.call(300_000)).toEqual([300_000n]);
      expect(m.isClosed()).toBe(false);
    },
  },
  {
    name: 'without withCloseOnContextDone a done context does not stop the call',
    closeOnContextDone: false,
    run(m) {
      const ac = new AbortController();
      ac.abort();
      const ctx = Context.background().withSignal(ac.signal);
      expect(m.exportedFunction('count')!.callWithContext(ctx, 300_000)).toEqual([300_000n]);
      expect(m.isClosed()).toBe(false);
    },
  },
];

for (const engine of engines) {
  describe(`timeouts on the ${engine.name}`, () => {
    for (const c of cases) {
      it(
        c.name,
        async () => {
          const r = runtimeFor(engine, (cfg) => cfg.withCloseOnContextDone(c.closeOnContextDone));
          try {
            const poked = new AbortController();
            await r
              .newHostModuleBuilder('env')
              .newFunctionBuilder()
              .withFunc(() => poked.abort(), [], [])
              .export('poke')
              .instantiate();
            const other = await r.instantiateWithConfig(await wat(INFINITE), newModuleConfig().withName('other'));
            const m = await r.instantiateWithConfig(await wat(INFINITE), newModuleConfig().withName('guest'));
            c.run(m, poked);
            // Other modules are untouched.
            expect(other.exportedFunction('count')!.call(10)).toEqual([10n]);
            // The runtime stays usable: a new instance of the same module runs.
            const again = await r.instantiateWithConfig(await wat(INFINITE), newModuleConfig().withName('again'));
            expect(again.exportedFunction('count')!.call(10)).toEqual([10n]);
          } finally {
            await r.close();
          }
        },
        20_000,
      );
    }
  });
}

for (const engine of engines) {
  describe(`timeouts with listeners on the ${engine.name}`, () => {
    it('a stopped guest aborts every open listened frame with the ExitError', async () => {
      const r = runtimeFor(engine, (cfg) => cfg.withCloseOnContextDone(true));
      try {
        const log: string[] = [];
        const listener: FunctionListener = {
          before: (_c, _m, d) => void log.push(`B ${d.name()}`),
          after: (_c, _m, d) => void log.push(`A ${d.name()}`),
          abort: (_c, _m, d, err) => void log.push(`X ${d.name()} ${(err as Error).message}`),
        };
        const ctx = withFunctionListenerFactory(
          Context.background(),
          functionListenerFactoryFunc(() => listener),
        );
        const m = await r.instantiateWithConfig(
          await wat(`(module (func $outer (export "outer") (call $spin)) (func $spin (loop $l (br $l))))`),
          newModuleConfig().withName('guest'),
          ctx,
        );
        expect(() => m.exportedFunction('outer')!.callWithContext(Context.background().withTimeout(20))).toThrow(ExitError);
        expect(log).toEqual([
          'B outer',
          'B spin',
          'X spin module closed with context deadline exceeded',
          'X outer module closed with context deadline exceeded',
        ]);
      } finally {
        await r.close();
      }
    }, 20_000);
  });
}

for (const engine of engines) {
  describe(`cancelling from another thread on the ${engine.name}`, () => {
    it('a worker setting the SharedArrayBuffer flag stops a spinning call with "context canceled"', async () => {
      const r = runtimeFor(engine, (cfg) => cfg.withCloseOnContextDone(true));
      try {
        const m = await r.instantiateWithConfig(
          await wat(`(module (func (export "spin") (loop $l (br $l))))`),
          newModuleConfig().withName('spin'),
        );
        const flag = new Int32Array(new SharedArrayBuffer(4));
        const worker = new Worker(
          `const { workerData } = require('node:worker_threads');
           setTimeout(() => Atomics.store(workerData, 0, 1), 50);`,
          { eval: true, workerData: flag },
        );
        // The worker must be running before this thread blocks in the call.
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
        expect((err as ExitError).message).toBe('module closed with context canceled');
        expect(m.isClosed()).toBe(true);
      } finally {
        await r.close();
      }
    }, 20_000);
  });
}

/**
 * Guests that run long without a loop instruction: the check sits at function entries as well as
 * loop heads, so recursion, tail-call cycles and call_indirect chains stop too. Each case is stopped
 * once by a deadline and once by the interrupt flag; an uninterrupted run would not end within the
 * test's timeout.
 */
const LOOP_FREE = `(module
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (type $i2i (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $fib_indirect $fib)
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1))) (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $fib_indirect (export "fib_indirect") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add
        (call_indirect (type $i2i) (i32.sub (local.get 0) (i32.const 1)) (i32.const 0))
        (call_indirect (type $i2i) (i32.sub (local.get 0) (i32.const 2)) (i32.const 0))))))
  (func $self (export "self") (param i32) (result i32) (return_call $self (i32.add (local.get 0) (i32.const 1))))
  (func $ping (export "ping") (param i32) (result i32) (return_call $pong (i32.add (local.get 0) (i32.const 1))))
  (func $pong (param i32) (result i32) (return_call $ping (local.get 0)))
  (func (export "via_host") (param i32) (result i32) (call $reenter (local.get 0)))
  (func (export "small") (param i32) (result i32) (call $fib (local.get 0))))`;

/** A module whose start function never returns (a self tail call). */
const ENDLESS_START = `(module (func $s (return_call $s)) (start $s))`;

interface LoopFreeCase {
  readonly name: string;
  /** Runs the endless part with `ctx`; returns what it returned (it must throw instead). */
  readonly run: (m: Module, ctx: Context) => unknown;
}

const loopFree: LoopFreeCase[] = [
  { name: 'loop-free exponential recursion', run: (m, ctx) => m.exportedFunction('fib')!.callWithContext(ctx, 50) },
  { name: 'a self return_call cycle', run: (m, ctx) => m.exportedFunction('self')!.callWithContext(ctx, 0) },
  { name: 'a mutual return_call cycle', run: (m, ctx) => m.exportedFunction('ping')!.callWithContext(ctx, 0) },
  { name: 'a long call_indirect chain', run: (m, ctx) => m.exportedFunction('fib_indirect')!.callWithContext(ctx, 50) },
  { name: 'a guest re-entered from a host function', run: (m, ctx) => m.exportedFunction('via_host')!.callWithContext(ctx, 50) },
];

/** Starts a worker that sets `flag` after `ms`; resolves once it runs. */
async function flagLater(flag: Int32Array, ms: number): Promise<Worker> {
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     setTimeout(() => Atomics.store(workerData.flag, 0, 1), workerData.ms);`,
    { eval: true, workerData: { flag, ms } },
  );
  await new Promise<void>((res) => worker.once('online', () => res()));
  return worker;
}

const stoppers = [
  { name: 'a deadline', code: 0xefffffff, ctx: async () => ({ ctx: Context.background().withTimeout(100), done: async () => {} }) },
  {
    name: 'the interrupt flag',
    code: 0xffffffff,
    ctx: async () => {
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const worker = await flagLater(flag, 100);
      return { ctx: withInterruptFlag(Context.background(), flag), done: async () => void (await worker.terminate()) };
    },
  },
];

for (const engine of engines) {
  describe(`timeouts stop guests without loops on the ${engine.name}`, () => {
    for (const s of stoppers) {
      for (const c of loopFree) {
        it(`${c.name} is stopped by ${s.name}; the runtime stays usable`, async () => {
          const r = runtimeFor(engine, (cfg) => cfg.withCloseOnContextDone(true).withCoreFeatures(CoreFeaturesV2 | CoreFeaturesTailCall));
          try {
            let guest: Module | undefined;
            await r
              .newHostModuleBuilder('env')
              .newFunctionBuilder()
              .withFunc(
                (ctx, _m, n: number) => Number(guest!.exportedFunction('fib')!.callWithContext(ctx, n)[0]),
                [ValueType.I32],
                [ValueType.I32],
              )
              .export('reenter')
              .instantiate();
            guest = await r.instantiateWithConfig(await wat(LOOP_FREE), newModuleConfig().withName('guest'));
            const { ctx, done } = await s.ctx();
            let err: unknown;
            try {
              err = c.run(guest, ctx);
            } catch (e) {
              err = e;
            } finally {
              await done();
            }
            expect(err).toBeInstanceOf(ExitError);
            expect((err as ExitError).exitCode).toBe(s.code);
            expect(guest.isClosed()).toBe(true);
            const again = await r.instantiateWithConfig(await wat(LOOP_FREE), newModuleConfig().withName('again'));
            expect(again.exportedFunction('small')!.call(20)).toEqual([6765n]);
          } finally {
            await r.close();
          }
        }, 30_000);
      }
      it(`an endless start function is stopped by ${s.name}; the runtime stays usable`, async () => {
        const r = runtimeFor(engine, (cfg) => cfg.withCloseOnContextDone(true).withCoreFeatures(CoreFeaturesV2 | CoreFeaturesTailCall));
        try {
          const { ctx, done } = await s.ctx();
          let err: unknown;
          try {
            await r.instantiateWithConfig(await wat(ENDLESS_START), newModuleConfig().withName('start'), ctx);
          } catch (e) {
            err = e;
          } finally {
            await done();
          }
          expect(err).toBeInstanceOf(ExitError);
          expect((err as ExitError).exitCode).toBe(s.code);
          expect(r.module('start')).toBeUndefined();
          const m = await r
            .instantiateWithConfig(
              await wat(LOOP_FREE.replace('(import "env" "reenter"', '(import "env2" "reenter"')),
              newModuleConfig().withName('after'),
              undefined,
            )
            .catch((e: unknown) => e);
          expect(m).toBeInstanceOf(Error); // env2 does not exist: linking still works and says so
          const ok = await r.instantiateWithConfig(
            await wat('(module (func (export "one") (result i32) (i32.const 1)))'),
            newModuleConfig(),
          );
          expect(ok.exportedFunction('one')!.call()).toEqual([1n]);
        } finally {
          await r.close();
        }
      }, 30_000);
    }
  });
}
