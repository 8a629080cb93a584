/**
 * Host functions: ONE table of cases, run on every engine.
 *
 * Semantics fixed here (both engines):
 * - A stack host function (`withModuleFunction`) reads its params from the raw stack from index 0
 *   and writes its results there: raw bits, NaN payloads kept, a v128 as two slots, externref
 *   handles unchanged. Its `mod` argument is the calling module.
 * - A host function may call back into the guest (re-entry), any number of levels deep; a trap after
 *   a re-entry shows only the frames still on the stack.
 * - An `ExitError` a host function throws reaches the caller unchanged (the same object), however deep
 *   the guest stack; any other error reaches it as the `cause` of a `HostFunctionError` (see
 *   errors.test.ts); either way the module stays usable.
 */
import { describe, expect, it } from 'vitest';
import { ValueType, type Module } from '../../src/api.js';
import { ExitError, newModuleConfig, type Runtime } from '../../src/index.js';
import { engines, runtimeFor, thrown, trapOf, wat } from '../helpers.js';

const { I32, I64, F32, F64, V128, Externref } = ValueType;

interface Case {
  readonly name: string;
  readonly run: (r: Runtime) => Promise<void>;
}

/** Instantiates `text` as module `name`. */
async function guest(r: Runtime, text: string, name: string): Promise<Module> {
  return r.instantiateWithConfig(await wat(text), newModuleConfig().withName(name));
}

const cases: Case[] = [
  {
    name: 'a stack host function reads raw params (NaN bits, i64, v128 as two slots), writes raw results and sees the calling module',
    async run(r) {
      const seen: bigint[][] = [];
      const callers: string[] = [];
      await r
        .newHostModuleBuilder('host')
        .newFunctionBuilder()
        .withModuleFunction(
          (_ctx, caller, stack) => {
            callers.push(caller.name());
            seen.push([...stack.subarray(0, 6)]);
            stack[0] = 0x7ff0000000000001n;
            stack[1] = 0xffffffffn;
          },
          [I32, I64, F32, F64, V128],
          [F64, I32],
        )
        .export('mix')
        .instantiate();
      const m = await guest(
        r,
        `(module
          (import "host" "mix" (func $mix (param i32 i64 f32 f64 v128) (result f64 i32)))
          (func (export "go") (result i64 i32) (local $r i32)
            (call $mix (i32.const -1) (i64.const -2) (f32.reinterpret_i32 (i32.const 0x7f800001))
              (f64.reinterpret_i64 (i64.const 0xfff0000000000002)) (v128.const i64x2 3 4))
            (local.set $r)
            (i64.reinterpret_f64)
            (local.get $r)))`,
        'guest',
      );
      expect(m.exportedFunction('go')!.call()).toEqual([0x7ff0000000000001n, 0xffffffffn]);
      expect(seen).toEqual([[0xffffffffn, 0xfffffffffffffffen, 0x7f800001n, 0xfff0000000000002n, 3n, 4n]]);
      expect(callers).toEqual(['guest']);
    },
  },
  {
    name: 'a host function imported and re-exported by a guest runs the same when called from the API as from the guest',
    async run(r) {
      const callers: string[] = [];
      await r
        .newHostModuleBuilder('host')
        .newFunctionBuilder()
        .withModuleFunction(
          (_ctx, caller, stack) => {
            callers.push(caller.name());
            const lo = stack[1]!;
            stack[0] = stack[0]! ^ 0x8000000000000000n;
            stack[1] = stack[2]!;
            stack[2] = lo;
          },
          [F64, V128],
          [F64, V128],
        )
        .export('flip')
        .instantiate();
      const m = await guest(
        r,
        `(module (import "host" "flip" (func $flip (param f64 v128) (result f64 v128))) (export "flip" (func $flip))
          (func (export "go") (param f64 v128) (result f64 v128) (call $flip (local.get 0) (local.get 1))))`,
        'guest',
      );
      expect(m.exportedFunction('flip')!.call(0x7ff0000000000001n, 5n, 6n)).toEqual([0xfff0000000000001n, 6n, 5n]);
      expect(m.exportedFunction('go')!.call(0x7ff0000000000001n, 5n, 6n)).toEqual([0xfff0000000000001n, 6n, 5n]);
      // From the API the host function's `mod` is its own module (no guest calls it); from the guest, the guest.
      expect(callers).toEqual(['host', 'guest']);
    },
  },
  {
    name: 'externref params and results of a host function are the handles, unchanged',
    async run(r) {
      await r
        .newHostModuleBuilder('host')
        .newFunctionBuilder()
        .withModuleFunction(
          (_ctx, _caller, stack) => {
            stack[0] = stack[0]! + 1n;
          },
          [Externref],
          [Externref],
        )
        .export('next')
        .instantiate();
      const m = await guest(
        r,
        `(module (import "host" "next" (func $next (param externref) (result externref)))
          (func (export "next") (param externref) (result externref) (call $next (local.get 0))))`,
        'guest',
      );
      expect(m.exportedFunction('next')!.call(41n)).toEqual([42n]);
    },
  },
  {
    name: 'host and guest call each other in a chain of re-entries (i32 and i64 params), and results come back through every level',
    async run(r) {
      let m: Module | undefined;
      await r
        .newHostModuleBuilder('h')
        .newFunctionBuilder()
        .withModuleFunction(
          (_ctx, _caller, stack) => {
            const n = stack[0]!;
            // Re-enter the guest: fib(n - 1) computed by wasm, plus the i64 param.
            const back = n === 0n ? 0n : m!.exportedFunction('fib')!.call(n - 1n)[0]!;
            stack[0] = BigInt.asUintN(64, back + stack[1]!);
          },
          [I32, I64],
          [I64],
        )
        .export('f')
        .newFunctionBuilder()
        .withFunc((_ctx, _caller, n: number) => (n === 0 ? 0 : n + Number(m!.exportedFunction('sum')!.call(n - 1)[0])), [I32], [I32])
        .export('back')
        .instantiate();
      m = await guest(
        r,
        `(module (import "h" "f" (func $h (param i32 i64) (result i64)))
          (import "h" "back" (func $back (param i32) (result i32)))
          (func (export "fib") (param i64) (result i64)
            (if (result i64) (i64.lt_u (local.get 0) (i64.const 2)) (then (local.get 0))
              (else (call $h (i32.wrap_i64 (local.get 0)) (i64.const 0)))))
          (func (export "viaHost") (param i32) (result i64) (call $h (local.get 0) (i64.const -1)))
          (func (export "sum") (param i32) (result i32) (call $back (local.get 0))))`,
        'g',
      );
      expect(m.exportedFunction('fib')!.call(10n)).toEqual([1n]);
      expect(m.exportedFunction('viaHost')!.call(0)).toEqual([0xffffffffffffffffn]);
      expect(m.exportedFunction('sum')!.call(10)).toEqual([55n]);
    },
  },
  {
    name: 'a trap after a host function re-entered the guest shows only the frames still on the stack',
    async run(r) {
      let m: Module | undefined;
      await r
        .newHostModuleBuilder('h')
        .newFunctionBuilder()
        .withFunc((_ctx, _caller, n: number) => (n === 0 ? 0 : n + Number(m!.exportedFunction('sum')!.call(n - 1)[0])), [I32], [I32])
        .export('back')
        .instantiate();
      m = await guest(
        r,
        `(module $g
          (import "h" "back" (func $back (param i32) (result i32)))
          (func (export "sum") (param i32) (result i32) (call $back (local.get 0)))
          (func (export "boom") (param i32) (result i32) (drop (call $back (i32.const 3))) unreachable))`,
        'g',
      );
      const e = trapOf(() => m!.exportedFunction('boom')!.call(0));
      expect(e.message).toBe('wasm error: unreachable\nwasm stack trace:\n\tg.$2(i32) i32');
      expect(m.exportedFunction('sum')!.call(10)).toEqual([55n]);
    },
  },
  {
    name: 'an ExitError thrown by a host function 50 frames deep reaches the caller as the same object, an Error as the cause of a HostFunctionError, and the module stays usable',
    async run(r) {
      let throwing: unknown;
      await r
        .newHostModuleBuilder('h')
        .newFunctionBuilder()
        .withFunc(
          () => {
            throw throwing;
          },
          [],
          [],
        )
        .export('fail')
        .instantiate();
      const m = await guest(
        r,
        `(module (import "h" "fail" (func $fail))
          (func $deep (param i32) (if (local.get 0) (then (call $deep (i32.sub (local.get 0) (i32.const 1)))) (else (call $fail))))
          (func (export "run") (call $deep (i32.const 50)))
          (func (export "ok") (result i32) (i32.const 42)))`,
        'g',
      );
      for (const err of [new Error('host failure'), new ExitError(3)]) {
        throwing = err;
        const got = thrown(() => m.exportedFunction('run')!.call());
        if (err instanceof ExitError) expect(got).toBe(err);
        else expect(got).toMatchObject({ name: 'HostFunctionError', cause: err });
        expect(m.isClosed()).toBe(false);
        expect(m.exportedFunction('ok')!.call()).toEqual([42n]);
      }
    },
  },
];

for (const engine of engines) {
  describe(`host functions on the ${engine.name}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = runtimeFor(engine);
        try {
          await c.run(r);
        } finally {
          await r.close();
        }
      });
    }
  });
}
