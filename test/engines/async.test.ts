/**
 * Async host functions and suspendable calls, one table run per engine. Semantics:
 * - `withAsyncFunc(fn, …)`/`withAsyncModuleFunction` make a host function whose `fn` returns a
 *   Promise; `callAsync`/`callWithContextAsync`/`callWithStackAsync` run a call that may reach it:
 *   the call suspends while it runs and the event loop keeps going;
 * - a plain synchronous call that reaches one throws an error naming it and the way out;
 * - rejections, listeners, traps and timeouts behave as for synchronous calls;
 * - several calls may be suspended at once, and a suspended instance may be called again.
 * The interpreter suspends on every Node version; the compiler engine needs JS Promise Integration
 * (Node ≥ 24): without it, instantiating a module that imports an async host function fails with
 * an error naming both ways out.
 */
import { describe, expect, it } from 'vitest';
import { Context, ExitError, newModuleConfig, WasmRuntimeError, type Runtime } from '../../src/index.js';
import type { Module } from '../../src/api.js';
import { ValueType } from '../../src/api.js';
import {
  functionListenerFactoryFunc,
  withFunctionListenerFactory,
  withTimeSlicing,
  type FunctionListener,
} from '../../src/experimental.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const { I32, I64, F64 } = ValueType;
const JSPI = typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function';

const GUEST = `(module
  (import "env" "fetch" (func $fetch (param i32) (result i32)))
  (import "env" "wide" (func $wide (param i64) (result i64 f64)))
  (import "env" "now" (func $now (result i32)))
  (memory (export "memory") 1)
  (func $twice (export "twice") (param i32) (result i32)
    (i32.add (call $fetch (local.get 0)) (call $fetch (local.get 0))))
  (func (export "wide") (param i64) (result i64 f64) (call $wide (local.get 0)))
  (func (export "sync_only") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "fetch_then_trap") (param i32) (result i32)
    (drop (call $fetch (local.get 0))) unreachable)
  (func (export "spin_after_fetch") (param i32) (result i32) (local i32)
    (local.set 1 (call $fetch (local.get 0)))
    (loop $l (br $l))
    (local.get 1))
  (func (export "now") (result i32) (call $now)))`;

/** Resolves after `ms` on a timer (the event loop must run for it). */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Env {
  readonly r: Runtime;
  readonly log: string[];
  /** How `env.fetch` answers: `x + 100` after a timer (and `gate`), or a rejection when `fail` is set. */
  readonly fetch: { fail: boolean; delayMs: number; gate: Promise<void> };
}

interface Case {
  readonly name: string;
  /** Runs with a module instantiated from GUEST as `guest` (listened when `listened`). */
  readonly run: (m: Module, env: Env) => Promise<void>;
  readonly listened?: boolean;
  readonly closeOnContextDone?: boolean;
}

const cases: Case[] = [
  {
    name: 'callAsync waits for async host functions without blocking the event loop',
    async run(m, { log, fetch }) {
      let open!: () => void;
      fetch.gate = new Promise<void>((r) => (open = r));
      let done = false;
      const p = m
        .exportedFunction('twice')!
        .callAsync(5)
        .then((r) => ((done = true), r));
      // Timers run while the guest waits for its host function.
      await sleep(5);
      log.push('timer');
      expect(done).toBe(false);
      open();
      expect(await p).toEqual([210n]);
      expect(log).toEqual(['fetch 5', 'timer', 'fetch 5']);
    },
  },
  {
    name: 'the raw-stack form carries i64 and f64 results bit-exact',
    async run(m) {
      expect(await m.exportedFunction('wide')!.callAsync(-2n)).toEqual([BigInt.asUintN(64, -4n), 0x7ff8000000000abcn]);
    },
  },
  {
    name: 'a plain call that reaches an async host function throws an error naming it',
    async run(m) {
      expect(() => m.exportedFunction('twice')!.call(1)).toThrow(
        'host function env.fetch is async (withAsyncFunc): call the guest with callAsync, callWithContextAsync or callWithStackAsync',
      );
      // The runtime stays usable, synchronously and asynchronously.
      expect(m.exportedFunction('sync_only')!.call(2)).toEqual([6n]);
      expect(await m.exportedFunction('twice')!.callAsync(1)).toEqual([202n]);
    },
  },
  {
    name: 'callAsync of a function that reaches no async host function returns its results',
    async run(m) {
      expect(await m.exportedFunction('sync_only')!.callAsync(7)).toEqual([21n]);
      const stack = new BigUint64Array([4n]);
      await m.exportedFunction('sync_only')!.callWithStackAsync(stack);
      expect(stack[0]).toBe(12n);
    },
  },
  {
    name: 'a rejected host promise is the call error, and the runtime stays usable',
    async run(m, { fetch }) {
      fetch.fail = true;
      await expect(m.exportedFunction('twice')!.callAsync(1)).rejects.toThrow('fetch failed for 1');
      fetch.fail = false;
      expect(await m.exportedFunction('twice')!.callAsync(1)).toEqual([202n]);
    },
  },
  {
    name: 'a trap after the call resumed is a WasmRuntimeError with the guest frame',
    async run(m) {
      const err = await m
        .exportedFunction('fetch_then_trap')!
        .callAsync(1)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(WasmRuntimeError);
      expect((err as WasmRuntimeError).message).toBe('wasm error: unreachable\nwasm stack trace:\n\t.$6(i32) i32');
    },
  },
  {
    name: 'several calls suspended at once on one runtime each get their own results',
    async run(m, { r, fetch }) {
      fetch.delayMs = 5;
      const other = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('other'));
      const results = await Promise.all([
        m.exportedFunction('twice')!.callAsync(1),
        other.exportedFunction('twice')!.callAsync(2),
        m.exportedFunction('twice')!.callAsync(3),
      ]);
      expect(results).toEqual([[202n], [204n], [206n]]);
    },
  },
  {
    name: 'an async host function called from the API through its host module resolves',
    async run(_m, { r }) {
      expect(await r.module('env')!.exportedFunction('fetch')!.callAsync(9)).toEqual([109n]);
    },
  },
  {
    name: 'listeners see before and after around the suspension, in call order',
    listened: true,
    async run(m, { log }) {
      expect(await m.exportedFunction('twice')!.callAsync(1)).toEqual([202n]);
      expect(log.filter((l) => l.startsWith('B ') || l.startsWith('A ') || l.startsWith('X '))).toEqual([
        'B twice',
        'B fetch',
        'A fetch 101',
        'B fetch',
        'A fetch 101',
        'A twice 202',
      ]);
    },
  },
  {
    name: 'a deadline that passes during the wait stops the call at its next check',
    closeOnContextDone: true,
    async run(m, { fetch }) {
      fetch.delayMs = 30;
      const ctx = Context.background().withTimeout(10);
      const err = await m
        .exportedFunction('spin_after_fetch')!
        .callWithContextAsync(ctx, 1)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(ExitError);
      expect((err as ExitError).exitCode).toBe(0xefffffff);
    },
  },
];

for (const engine of engines) {
  const refused = engine.name === 'compiler' && !JSPI;
  describe(`async host functions on the ${engine.name}`, () => {
    if (refused) {
      it('instantiating a module that imports an async host function fails, naming Node >= 24 and the interpreter', async () => {
        const r = runtimeFor(engine);
        try {
          await r
            .newHostModuleBuilder('env')
            .newFunctionBuilder()
            .withAsyncFunc(async () => 1, [], [I32])
            .export('now')
            .instantiate();
          const err = await r.instantiate(await wat(`(module (import "env" "now" (func (result i32))))`)).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect((err as Error).message).toMatch(
            /^not supported: async host function env\.now on the compiler engine needs JS Promise Integration \(Node >= 24; .*use the interpreter \(newRuntimeConfigInterpreter\(\)\)/,
          );
        } finally {
          await r.close();
        }
      });
      return;
    }
    for (const c of cases) {
      it(
        c.name,
        async () => {
          const r = runtimeFor(engine, (cfg) => cfg.withCloseOnContextDone(c.closeOnContextDone === true));
          const log: string[] = [];
          const fetch = { fail: false, delayMs: 1, gate: Promise.resolve() };
          const listener: FunctionListener = {
            before: (_c, _m, d) => void log.push(`B ${d.name()}`),
            after: (_c, _m, d, res) => void log.push(`A ${d.name()} ${[...res].join(',')}`),
            abort: (_c, _m, d, err) => void log.push(`X ${d.name()} ${(err as Error).message.split('\n')[0]}`),
          };
          const ctx =
            c.listened === true
              ? withFunctionListenerFactory(
                  Context.background(),
                  functionListenerFactoryFunc(() => listener),
                )
              : Context.background();
          try {
            await r
              .newHostModuleBuilder('env')
              .newFunctionBuilder()
              .withAsyncFunc(
                async (_ctx, _m, x: number) => {
                  log.push(`fetch ${x}`);
                  await sleep(fetch.delayMs);
                  await fetch.gate;
                  if (fetch.fail) throw new Error(`fetch failed for ${x}`);
                  return x + 100;
                },
                [I32],
                [I32],
              )
              .export('fetch')
              .newFunctionBuilder()
              .withAsyncModuleFunction(
                async (_ctx, _m, stack) => {
                  await sleep(1);
                  stack[0] = BigInt.asUintN(64, BigInt.asIntN(64, stack[0]!) * 2n);
                  stack[1] = 0x7ff8000000000abcn;
                },
                [I64],
                [I64, F64],
              )
              .export('wide')
              .newFunctionBuilder()
              .withAsyncFunc(async () => Promise.resolve(7), [], [I32])
              .export('now')
              .instantiate(ctx);
            const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'), ctx);
            await c.run(m, { r, log, fetch });
          } finally {
            await r.close();
          }
        },
        20_000,
      );
    }
  });
}

/**
 * Time slicing (`withTimeSlicing`): an async call yields to the event loop every slice at the
 * guest's interrupt checks (interpreter; the compiler engine refuses a time slice).
 */
const SPIN = `(module (func (export "count") (param i32) (result i32) (local i32)
  (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
  (local.get 1)))`;

for (const engine of engines) {
  describe(`time slicing on the ${engine.name}`, () => {
    if (engine.name === 'compiler') {
      it('an async call with a time slice is refused, naming the interpreter', async () => {
        const r = runtimeFor(engine, (cfg) => cfg.withCloseOnContextDone(true));
        try {
          const m = await r.instantiate(await wat(SPIN));
          await expect(m.exportedFunction('count')!.callWithContextAsync(withTimeSlicing(Context.background(), 5), 10)).rejects.toThrow(
            'not supported: time slicing on the compiler engine',
          );
        } finally {
          await r.close();
        }
      });
      return;
    }
    it('timers keep firing while a long guest computation runs in slices, and the result is the same', async () => {
      const r = runtimeFor(engine, (cfg) => cfg.withCloseOnContextDone(true));
      try {
        const m = await r.instantiate(await wat(SPIN));
        let ticks = 0;
        const timer = setInterval(() => ticks++, 1);
        const n = 20_000_000;
        const result = await m.exportedFunction('count')!.callWithContextAsync(withTimeSlicing(Context.background(), 2), n);
        clearInterval(timer);
        expect(result).toEqual([BigInt(n)]);
        // Without slices a timer cannot fire during the call; with 2 ms slices it fires along.
        expect(ticks).toBeGreaterThan(0);
        let blockedTicks = 0;
        const timer2 = setInterval(() => blockedTicks++, 1);
        await m.exportedFunction('count')!.callAsync(n / 10);
        clearInterval(timer2);
        expect(blockedTicks).toBe(0);
      } finally {
        await r.close();
      }
    }, 60_000);

    it('a time slice on a module without interrupt checks is refused with the way out', async () => {
      const r = runtimeFor(engine);
      try {
        const m = await r.instantiate(await wat(SPIN));
        await expect(m.exportedFunction('count')!.callWithContextAsync(withTimeSlicing(Context.background(), 5), 10)).rejects.toThrow(
          'time slicing needs interrupt checks in the guest: make the runtime with withCloseOnContextDone(true)',
        );
      } finally {
        await r.close();
      }
    });
  });
}
