/**
 * Natural values for JS users: ONE table of cases, run on every engine.
 *
 * Semantics fixed here (both engines):
 * - `exportsOf(mod)` gives every exported function as a JS function on natural values: i32 → signed
 *   number, i64 → bigint, f32/f64 → number, v128 → 16 bytes (`Uint8Array`), externref → the JS value
 *   given, funcref → the runtime's handle; no result is `undefined`, several an array. A param that
 *   does not fit its type, or a wrong count, is a `TypeError`/`RangeError` naming it.
 * - `r.instantiateWithImports(bytes, { env: { … } })` builds a host module per import module named,
 *   with the signatures of the binary, on the same natural values; implementations see the calling
 *   guest as `this` (`this.memory`). Every import of a named module needs an implementation (a
 *   LinkError lists those missing, with their signatures); names the module does not import are
 *   ignored; modules not named resolve from the runtime (e.g. WASI). `_start` runs by default.
 * - `util.inspect(mod)` (what `console.log` prints) is `Module[name]` and its exports, not the
 *   engine's internals; a function prints as its signature, a compiled module with its imports.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { exportsOf, LinkError, newModuleConfig, type NaturalFunction, type Runtime } from '../../src/index.js';
import * as wasi from '../../src/wasi.js';
import { engines, runtimeFor, thrown, wat } from '../helpers.js';

interface Case {
  readonly name: string;
  readonly run: (r: Runtime) => Promise<void>;
}

const VALUES = `(module $g
  (table $t 1 funcref) (elem (i32.const 0) $neg)
  (func $neg (export "neg") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
  (func (export "wide") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)))
  (func (export "half") (param f32 f64) (result f32 f64) (f32.div (local.get 0) (f32.const 2)) (f64.div (local.get 1) (f64.const 2)))
  (func (export "swap") (param v128) (result v128) (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 (local.get 0) (local.get 0)))
  (func (export "same") (param externref) (result externref) (local.get 0))
  (func (export "fn") (result funcref) (table.get $t (i32.const 0)))
  (func (export "isnull") (param funcref) (result i32) (ref.is_null (local.get 0)))
  (func (export "nothing"))
  (memory (export "memory") 1))`;

const cases: Case[] = [
  {
    name: 'exportsOf: i32 signed, i64 bigint, f32/f64 numbers, v128 bytes, refs as given, several results an array, none undefined',
    async run(r) {
      const mod = await r.instantiateWithConfig(await wat(VALUES), newModuleConfig().withName('g'));
      const ex = exportsOf<{
        neg(x: number): number;
        wide(x: bigint | number): bigint;
        half(a: number, b: number): [number, number];
        swap(v: Uint8Array): Uint8Array;
        same<T>(x: T): T;
        fn(): bigint;
        isnull(f: bigint | null): number;
        nothing(): undefined;
      }>(mod);
      expect(ex.neg(5)).toBe(-5);
      expect(ex.neg(-0x80000000)).toBe(-0x80000000);
      expect(ex.wide(-2n)).toBe(-6n);
      expect(ex.wide(5)).toBe(15n);
      expect(ex.half(3, 5)).toEqual([1.5, 2.5]);
      expect(ex.swap(Uint8Array.from({ length: 16 }, (_, i) => i))).toEqual(Uint8Array.from({ length: 16 }, (_, i) => 15 - i));
      const obj = { any: 'value' };
      expect(ex.same(obj)).toBe(obj);
      expect(ex.same(null)).toBe(null);
      const handle = ex.fn();
      expect(typeof handle).toBe('bigint');
      expect(ex.isnull(handle)).toBe(0);
      expect(ex.isnull(null)).toBe(1);
      expect(ex.nothing()).toBeUndefined();
      expect(Object.keys(ex).sort()).toEqual(['fn', 'half', 'isnull', 'neg', 'nothing', 'same', 'swap', 'wide']);
      expect(ex.neg.name).toBe('neg');
    },
  },
  {
    name: 'exportsOf: a param that does not fit, or a wrong count, names the function, the param and its type',
    async run(r) {
      const mod = await r.instantiateWithConfig(await wat(VALUES), newModuleConfig().withName('g'));
      const ex = exportsOf(mod);
      const neg = ex['neg'] as NaturalFunction;
      expect(thrown(() => neg('1'))).toEqual(new TypeError('g.neg: param[0] (i32) must be a number, got "1"'));
      expect(thrown(() => neg(1.5))).toEqual(
        new RangeError('g.neg: param[0] (i32) must be an integer in [-2147483648, 4294967295], got 1.5'),
      );
      expect(thrown(() => neg())).toEqual(new TypeError('g.neg: expected 1 params, but passed 0'));
      expect(thrown(() => (ex['wide'] as NaturalFunction)(undefined))).toEqual(
        new TypeError('g.wide: param[0] (i64) must be a bigint (or an integer number), got undefined'),
      );
      expect(thrown(() => (ex['swap'] as NaturalFunction)(new Uint8Array(8)))).toBeInstanceOf(TypeError);
    },
  },
  {
    name: 'instantiateWithImports: implementations get natural values and the calling guest as this, and return natural values',
    async run(r) {
      const seen: unknown[] = [];
      const bytes = await wat(`(module $g
        (import "env" "log" (func $log (param i32 i64 f64)))
        (import "env" "now" (func $now (result i64)))
        (import "env" "bytes" (func $bytes (param v128) (result v128)))
        (import "env" "peek" (func $peek (param i32) (result i32)))
        (memory (export "memory") 1) (data (i32.const 16) "hi")
        (func (export "_start")
          (call $log (i32.const -1) (call $now) (f64.const 0.5)))
        (func (export "roundtrip") (result v128) (call $bytes (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)))
        (func (export "peek") (param i32) (result i32) (call $peek (local.get 0))))`);
      const mod = await r.instantiateWithImports(bytes, {
        env: {
          log(a: number, b: bigint, c: number) {
            seen.push([a, b, c]);
          },
          now: () => 1234n,
          bytes: (v: Uint8Array) => v.map((x) => x * 2),
          peek(this: { memory: { readByte(o: number): number | undefined } | undefined }, at: number) {
            return this.memory!.readByte(at)!;
          },
        },
        ignored: { notImported: () => 0 },
      });
      expect(seen).toEqual([[-1, 1234n, 0.5]]);
      const ex = exportsOf(mod);
      expect((ex['roundtrip'] as NaturalFunction)()).toEqual(Uint8Array.from({ length: 16 }, (_, i) => 2 * (i + 1)));
      expect((ex['peek'] as NaturalFunction)(17)).toBe('i'.charCodeAt(0));
      expect(r.module('env')).toBeUndefined();
    },
  },
  {
    name: 'instantiateWithImports: a missing implementation is a LinkError listing the imports with signatures; other modules resolve from the runtime',
    async run(r) {
      const bytes = await wat(`(module
        (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
        (import "env" "log" (func (param i32))) (import "env" "now" (func (result i64))) (import "env" "pair" (func (param f32) (result i32 f64))))`);
      const err = await r.instantiateWithImports(bytes, { env: { log: () => undefined } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LinkError);
      expect((err as Error).message).toBe(
        'instantiateWithImports: no implementation for the imports\n\tenv.now() i64\n\tenv.pair(f32) (i32,f64)',
      );
      const noWasi = await r
        .instantiateWithImports(bytes, { env: { log: () => undefined, now: () => 0n, pair: () => [1, 2] } })
        .catch((e: unknown) => e);
      expect((noWasi as Error).message).toMatch(
        /^module\[wasi_snapshot_preview1\] not instantiated; the module imports from it:\n\twasi_snapshot_preview1\.proc_exit\(i32\)$/,
      );
      await wasi.instantiate(r);
      const mod = await r.instantiateWithImports(bytes, { env: { log: () => undefined, now: () => 0n, pair: () => [1, 2] } });
      expect(mod.isClosed()).toBe(false);
      const memImport = await wat(`(module (import "env" "mem" (memory 1)))`);
      await expect(r.instantiateWithImports(memImport, { env: {} })).rejects.toThrow(
        'instantiateWithImports: env.mem: memory 1.. pages is not a function: only functions can be given',
      );
    },
  },
  {
    name: 'console.log of a module prints its name and exports; a function its signature; a compiled module its imports',
    async run(r) {
      const mod = await r.instantiateWithConfig(await wat(VALUES), newModuleConfig().withName('g'));
      const text = inspect(mod);
      expect(text).toBe(
        'Module[g] {\n  neg(i32) i32\n  wide(i64) i64\n  half(f32,f64) (f32,f64)\n  swap(v128) v128\n  same(externref) externref\n' +
          '  fn() funcref\n  isnull(funcref) i32\n  nothing()\n  memory: memory, 1 page\n}',
      );
      expect(inspect(mod.exportedFunction('neg'))).toBe('Function[g.neg(i32) i32]');
      const compiled = await r.compileModule(await wat(`(module $c (import "env" "log" (func (param i32))) (func (export "run")))`));
      expect(inspect(compiled)).toBe('CompiledModule[c] {\n  import env.log(i32)\n  export run()\n}');
      await mod.close();
      expect(inspect(mod)).toBe('Module[g] (closed, exit code 0)');
    },
  },
];

for (const engine of engines) {
  describe(`natural values on the ${engine.name}`, () => {
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
