/**
 * Errors that tell what and where: ONE table of cases, run on every engine.
 *
 * Semantics fixed here (both engines):
 * - A trap in a start function rejects `instantiate` with a `WasmRuntimeError` (the same trap and
 *   frames) whose message is wazero's: `module[<name>] function[_start] failed: wasm error: <trap>`
 *   and the `wasm stack trace:`; the trap as the guest raised it is its `cause`.
 * - An error thrown by a host function called from a guest reaches the caller as a
 *   `HostFunctionError`, wazero's shape: the host error's message, then `wasm stack trace:` with the
 *   host function's frame first and the guest frames under it (across re-entry: every invocation's
 *   frames, innermost first); the thrown value is its `cause`, and its `stack` keeps the JS frames
 *   of the host code. Traps and `ExitError`s a host function throws pass unchanged (a trap gains the
 *   host frame and the guest frames). In a start function the prefix of the first case is added.
 * - A `withFunc` host function whose return value does not fit its result types (`undefined` or
 *   `NaN` for an integer, a Promise: async needs `withAsyncFunc`, not an array for several results)
 *   fails naming the function (`env.now`), the result index and its type.
 * - A mount that cannot be opened fails instantiation with a `SysConfigError` naming the host path,
 *   the guest path and the errno by name and in words; a regular file is refused (`ENOTDIR`).
 * - `Function.call` params: a bigint is a raw value; a number must fit the param's type (an i32 an
 *   integer in [-2^31, 2^32), an i64 an integer, f32/f64 any number, NaN included); anything else is
 *   a `TypeError`, a number out of range a `RangeError`, naming the function, the param and its type.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValueType } from '../../src/api.js';
import {
  ExitError,
  HostFunctionError,
  newFSConfig,
  newModuleConfig,
  SysConfigError,
  WasmRuntimeError,
  type Runtime,
} from '../../src/index.js';
import { SysConfigError as SysConfigErrorOfSys } from '../../src/sys.js';
import type { Module } from '../../src/api.js';
import { engines, runtimeFor, thrown, wat, type EngineCase } from '../helpers.js';

const { I32, I64, F64 } = ValueType;

interface Case {
  readonly name: string;
  readonly run: (r: Runtime, engine: EngineCase) => Promise<void>;
}

/** JS Promise Integration: the compiler engine's async host functions need it (Node >= 24). */
const jspi = typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function';

async function guest(r: Runtime, text: string, name = 'g'): Promise<Module> {
  return r.instantiateWithConfig(await wat(text), newModuleConfig().withName(name).withStartFunctions());
}

/** A host module `env` with one natural-value function `name`. */
async function hostFn(r: Runtime, name: string, fn: (...a: never[]) => unknown, params: ValueType[], results: ValueType[]): Promise<void> {
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withFunc((_ctx, _mod, ...a: unknown[]) => (fn as (...x: unknown[]) => unknown)(...a), params, results)
    .export(name)
    .instantiate();
}

const ADD = `(module $g
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "addf") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1))))`;

const cases: Case[] = [
  {
    name: 'a trap in _start rejects instantiate with a WasmRuntimeError in wazero words, the original trap as cause',
    async run(r) {
      const bytes = await wat(`(module (func $boom unreachable) (func $_start (export "_start") (call $boom)))`);
      const err = await r.instantiate(bytes).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WasmRuntimeError);
      const t = err as WasmRuntimeError;
      expect(t.trap).toBe('unreachable');
      expect(t.message).toBe('module[] function[_start] failed: wasm error: unreachable\nwasm stack trace:\n\t.boom()\n\t._start()');
      expect(t.cause).toBeInstanceOf(WasmRuntimeError);
      expect((t.cause as WasmRuntimeError).message).toBe('wasm error: unreachable\nwasm stack trace:\n\t.boom()\n\t._start()');
      await expect(r.instantiateWithConfig(bytes, newModuleConfig().withName('named'))).rejects.toThrow(
        /^module\[named\] function\[_start\] failed: wasm error: unreachable/,
      );
    },
  },
  {
    name: "a host function's error is a HostFunctionError: its message, the host frame and the guest frames; the error in cause, the host's JS frames in stack",
    async run(r) {
      const boom = new TypeError('boom');
      await hostFn(
        r,
        'fail',
        () => {
          throw boom;
        },
        [I32],
        [],
      );
      const m = await guest(
        r,
        `(module $g (import "env" "fail" (func $fail (param i32)))
          (func $inner (call $fail (i32.const 7))) (func $run (export "run") (call $inner)))`,
      );
      const err = thrown(() => m.exportedFunction('run')!.call());
      expect(err).toBeInstanceOf(HostFunctionError);
      const h = err as HostFunctionError;
      expect(h.message).toBe('boom\nwasm stack trace:\n\tenv.fail(i32)\n\tg.inner()\n\tg.run()');
      expect(h.cause).toBe(boom);
      expect(h.stackFrames).toEqual(['env.fail(i32)', 'g.inner()', 'g.run()']);
      expect(h.stack).toMatch(/^HostFunctionError: boom\nwasm stack trace:\n\tenv\.fail\(i32\)/);
      expect(h.stack).toContain('errors.test.ts');
      expect(m.isClosed()).toBe(false);
    },
  },
  {
    name: 'an error crossing guest → host → guest → host lists every invocation, innermost first; a thrown string is the message',
    async run(r) {
      let outer!: Module;
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(
          () => {
            throw 'plain string';
          },
          [],
          [],
        )
        .export('inner')
        .newFunctionBuilder()
        .withFunc(() => void outer.exportedFunction('reenter')!.call(), [], [])
        .export('outer')
        .instantiate();
      outer = await guest(
        r,
        `(module $g (import "env" "inner" (func $inner)) (import "env" "outer" (func $outer))
          (func $reenter (export "reenter") (call $inner)) (func $run (export "run") (call $outer)))`,
      );
      const err = thrown(() => outer.exportedFunction('run')!.call()) as HostFunctionError;
      expect(err).toBeInstanceOf(HostFunctionError);
      expect(err.cause).toBe('plain string');
      expect(err.message).toBe('plain string\nwasm stack trace:\n\tenv.inner()\n\tg.reenter()\n\tenv.outer()\n\tg.run()');
    },
  },
  {
    name: 'a trap or an ExitError thrown by a host function passes unchanged; the trap gains the host and guest frames',
    async run(r) {
      let throwing: unknown;
      await hostFn(
        r,
        'fail',
        () => {
          throw throwing;
        },
        [],
        [],
      );
      const m = await guest(r, `(module $g (import "env" "fail" (func $fail)) (func $run (export "run") (call $fail)))`);
      const exit = new ExitError(3);
      throwing = exit;
      expect(thrown(() => m.exportedFunction('run')!.call())).toBe(exit);
      const trap = new WasmRuntimeError('unreachable');
      throwing = trap;
      expect(thrown(() => m.exportedFunction('run')!.call())).toBe(trap);
      expect(trap.message).toBe('wasm error: unreachable\nwasm stack trace:\n\tenv.fail()\n\tg.run()');
    },
  },
  {
    name: "an async host function's error rejects callAsync with a HostFunctionError naming the host frame (interpreter: and the guest frames)",
    async run(r, engine) {
      if (engine.name === 'compiler' && !jspi) return;
      const boom = new Error('async boom');
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withAsyncFunc(
          async () => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            throw boom;
          },
          [],
          [I32],
        )
        .export('fetch')
        .instantiate();
      const m = await guest(
        r,
        `(module $g (import "env" "fetch" (func $fetch (result i32))) (func $run (export "run") (result i32) (call $fetch)))`,
      );
      const err = await m
        .exportedFunction('run')!
        .callAsync()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostFunctionError);
      expect((err as HostFunctionError).cause).toBe(boom);
      const expected = engine.name === 'interpreter' ? ['env.fetch() i32', 'g.run() i32'] : ['env.fetch() i32'];
      expect((err as HostFunctionError).stackFrames.slice(0, expected.length)).toEqual(expected);
      expect((err as Error).message).toMatch(/^async boom\nwasm stack trace:\n\tenv\.fetch\(\) i32/);
    },
  },
  {
    name: "a host function's error in _start: the HostFunctionError with wazero's prefix",
    async run(r) {
      await hostFn(
        r,
        'fail',
        () => {
          throw new Error('no config');
        },
        [],
        [],
      );
      const bytes = await wat(`(module (import "env" "fail" (func $fail)) (func $_start (export "_start") (call $fail)))`);
      const err = await r.instantiate(bytes).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostFunctionError);
      expect((err as Error).message).toBe('module[] function[_start] failed: no config\nwasm stack trace:\n\tenv.fail()\n\t._start()');
      expect((err as Error).cause).toEqual(new Error('no config'));
    },
  },
  {
    name: 'a withFunc result that does not fit names the function, the result index and its type; a Promise says async needs withAsyncFunc',
    async run(r) {
      const returns: Record<string, unknown> = {};
      const b = r.newHostModuleBuilder('env');
      for (const [name, results] of [
        ['now', [I64]],
        ['count', [I32]],
        ['pair', [I32, F64]],
        ['notify', []],
      ] as const) {
        b.newFunctionBuilder()
          .withFunc(() => returns[name], [], [...results])
          .export(name);
      }
      await b.instantiate();
      const m = await guest(
        r,
        `(module $g (import "env" "now" (func $now (result i64))) (import "env" "count" (func $count (result i32)))
          (import "env" "pair" (func $pair (result i32 f64))) (import "env" "notify" (func $notify))
          (func $now_ (export "now") (result i64) (call $now)) (func (export "count") (result i32) (call $count))
          (func (export "pair") (result i32) (call $pair) (drop)) (func (export "notify") (call $notify)))`,
      );
      const fail = (name: string, value: unknown): HostFunctionError => {
        returns[name] = value;
        const err = thrown(() => m.exportedFunction(name)!.call());
        expect(err).toBeInstanceOf(HostFunctionError);
        return err as HostFunctionError;
      };
      let e = fail('now', undefined);
      expect(e.cause).toBeInstanceOf(TypeError);
      expect(e.message).toBe(
        'env.now: result[0] (i64) must be a bigint (or an integer number), got undefined\nwasm stack trace:\n\tenv.now() i64\n\tg.now_() i64',
      );
      e = fail('now', Promise.resolve(1n));
      expect(e.message).toMatch(
        /^env\.now: result\[0\] \(i64\) must be a bigint \(or an integer number\), got a Promise: an async host function needs withAsyncFunc/,
      );
      e = fail('count', NaN);
      expect(e.cause).toBeInstanceOf(RangeError);
      expect(e.message).toMatch(/^env\.count: result\[0\] \(i32\) must be an integer in \[-2147483648, 4294967295\], got NaN\n/);
      expect(fail('count', '5').message).toMatch(/^env\.count: result\[0\] \(i32\) must be a number, got "5"\n/);
      expect(fail('pair', 1).message).toMatch(/^env\.pair must return an array of 2 results \(i32, f64\), got 1\n/);
      expect(fail('pair', [1, undefined]).message).toMatch(/^env\.pair: result\[1\] \(f64\) must be a number, got undefined\n/);
      expect(fail('notify', Promise.resolve()).message).toMatch(
        /^env\.notify returned a Promise: an async host function needs withAsyncFunc/,
      );
      // What fits passes: an unsigned i32, a boolean, an integer number for an i64.
      returns['count'] = 0xffffffff;
      expect(m.exportedFunction('count')!.call()).toEqual([0xffffffffn]);
      returns['count'] = true;
      expect(m.exportedFunction('count')!.call()).toEqual([1n]);
      returns['now'] = -2;
      expect(m.exportedFunction('now')!.call()).toEqual([0xfffffffffffffffen]);
    },
  },
  {
    name: 'a mount that does not exist or is a file fails instantiation with a SysConfigError naming the errno in words',
    async run(r) {
      const bytes = await wat('(module)');
      const mount = (host: string): Promise<unknown> =>
        r
          .instantiateWithConfig(bytes, newModuleConfig().withFSConfig(newFSConfig().withDirMount(host, '/sandbox')))
          .catch((e: unknown) => e);
      const missing = await mount('/nonexistent');
      expect(missing).toBeInstanceOf(SysConfigError);
      expect(SysConfigErrorOfSys).toBe(SysConfigError);
      expect((missing as Error).message).toBe('mount /nonexistent at /sandbox: ENOENT: no such directory');
      expect(((await mount(fileURLToPath(import.meta.url))) as Error).message).toMatch(
        /^mount .*errors\.test\.ts at \/sandbox: ENOTDIR: not a directory$/,
      );
    },
  },
  {
    name: 'Function.call refuses params that do not fit their type with a TypeError or RangeError naming the param and its type',
    async run(r) {
      const m = await guest(r, ADD);
      const add = m.exportedFunction('add')!;
      const call = (...a: unknown[]): unknown => thrown(() => add.call(...(a as number[])));
      expect(call('1', '2')).toEqual(new TypeError('g.add: param[0] (i32) must be a number or a bigint (raw), got "1"'));
      expect(call(1.5, 2.7)).toEqual(new RangeError('g.add: param[0] (i32) must be an integer in [-2147483648, 4294967295], got 1.5'));
      expect(call(2 ** 40, 0)).toEqual(
        new RangeError('g.add: param[0] (i32) must be an integer in [-2147483648, 4294967295], got 1099511627776'),
      );
      expect(call(NaN, 1)).toEqual(new RangeError('g.add: param[0] (i32) must be an integer in [-2147483648, 4294967295], got NaN'));
      expect(call(1, undefined)).toEqual(new TypeError('g.add: param[1] (i32) must be a number or a bigint (raw), got undefined'));
      expect(call(undefined, null)).toBeInstanceOf(TypeError);
      expect(call(1, null)).toEqual(new TypeError('g.add: param[1] (i32) must be a number or a bigint (raw), got null'));
      expect(thrown(() => m.exportedFunction('add64')!.call(1.5, 1))).toEqual(
        new RangeError('g.add64: param[0] (i64) must be an integer in [-2^63, 2^64), got 1.5'),
      );
      // What fits passes: signed and unsigned i32, raw bigints, integer i64 numbers, any float (NaN too).
      expect(add.call(-1, 0xffffffff)).toEqual([0xfffffffen]);
      expect(add.call(1n, 0x1_0000_0002n)).toEqual([3n]);
      expect(m.exportedFunction('add64')!.call(-1, 2 ** 40)).toEqual([2n ** 40n - 1n]);
      expect(Number.isNaN(new Float64Array(new BigUint64Array(m.exportedFunction('addf')!.call(NaN, 1)).buffer)[0])).toBe(true);
    },
  },
];

for (const engine of engines) {
  describe(`errors on the ${engine.name}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = runtimeFor(engine);
        try {
          await c.run(r, engine);
        } finally {
          await r.close();
        }
      });
    }
  });
}
