/**
 * Values across the boundary between JS and the guest: ONE table of cases, run on every engine.
 *
 * Semantics fixed here (both engines):
 * - Every value is a raw uint64 slot: i32 results zero-extended, i64 as two's complement, f32/f64 as
 *   their bits, with NaN payloads (signaling ones and the sign included) kept bit for bit through
 *   params, results, locals, globals, memory, `select` and reinterpretation.
 * - A v128 takes two slots, low half first, in params, results and multi-value lists.
 * - externref values are opaque handles passed through unchanged, `ref.null` being 0; a funcref
 *   result is a non-null handle, the same for the same function, that calls it when passed back.
 * - A module's memory and every global are reachable through the API even when it exports nothing.
 */
import { describe, expect, it } from 'vitest';
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV2 } from '../../src/api.js';
import type { InternalModule, Module, MutableGlobal } from '../../src/api.js';
import { newModuleConfig } from '../../src/index.js';
import { engines, runtimeFor, wat } from '../helpers.js';

interface Case {
  readonly name: string;
  /** The guest, instantiated as module `m`. */
  readonly wat: string;
  readonly run: (m: Module) => void;
}

const cases: Case[] = [
  {
    name: 'f32 and f64 NaN payloads (signaling and negative ones too) cross params and results bit for bit',
    wat: `(module
      (func (export "f32") (param f32) (result f32) local.get 0)
      (func (export "f64") (param f64) (result f64) local.get 0)
      (func (export "mkf32") (result f32) (f32.reinterpret_i32 (i32.const 0x7f812345)))
      (func (export "bits") (param f64) (result i64) (i64.reinterpret_f64 (local.get 0))))`,
    run(m) {
      const f32 = m.exportedFunction('f32')!;
      const f64 = m.exportedFunction('f64')!;
      expect(f32.call(0x7fa00001n)).toEqual([0x7fa00001n]);
      expect(f32.call(0xffc00123n)).toEqual([0xffc00123n]);
      expect(f64.call(0x7ff0000000000001n)).toEqual([0x7ff0000000000001n]);
      expect(f64.call(0xfff8000000000abcn)).toEqual([0xfff8000000000abcn]);
      expect(f64.call(0x8000000000000000n)).toEqual([0x8000000000000000n]);
      expect(m.exportedFunction('mkf32')!.call()).toEqual([0x7f812345n]);
      expect(m.exportedFunction('bits')!.call(0x7ff4000000000001n)).toEqual([0x7ff4000000000001n]);
    },
  },
  {
    name: 'NaN payloads survive locals, globals (set from the API too), memory, select, neg/abs, reinterpretation and copysign',
    wat: `(module
      (memory 1)
      (global $g (export "g") (mut f32) (f32.const 0))
      (global $h (mut f64) (f64.const 0))
      (func (export "f32") (param f32 i32) (result f32) (local f32)
        (local.set 2 (local.get 0))
        (global.set $g (local.get 2))
        (f32.store (i32.const 8) (global.get $g))
        (select (f32.load (i32.const 8)) (f32.const 1) (local.get 1)))
      (func (export "f64") (param f64) (result f64)
        (global.set $h (f64.neg (f64.abs (local.get 0))))
        (f64.store (i32.const 16) (global.get $h))
        (f64.reinterpret_i64 (i64.reinterpret_f64 (f64.load (i32.const 16)))))
      (func (export "copysign") (param f32 f32) (result f32) (f32.copysign (local.get 0) (local.get 1)))
      (func (export "getg") (result f32) (global.get $g)))`,
    run(m) {
      expect(m.exportedFunction('f32')!.call(0x7fa00001n, 1n)).toEqual([0x7fa00001n]);
      expect(m.exportedFunction('f32')!.call(0xffa00001n, 1n)).toEqual([0xffa00001n]);
      expect(m.exportedFunction('f64')!.call(0x7ff4000000000001n)).toEqual([0xfff4000000000001n]);
      expect(m.exportedFunction('copysign')!.call(0x7fa00001n, 0x80000000n)).toEqual([0xffa00001n]);
      const g = m.exportedGlobal('g') as MutableGlobal;
      g.set(0xff800001n);
      expect(g.get()).toBe(0xff800001n);
      expect(m.exportedFunction('getg')!.call()).toEqual([0xff800001n]);
    },
  },
  {
    name: 'i64 extremes cross exactly in both directions, and i32 results come back zero-extended',
    wat: `(module
      (func (export "add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
      (func (export "neg") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0))))`,
    run(m) {
      const add = m.exportedFunction('add')!;
      expect(add.call(0x7fffffffffffffffn, 1n)).toEqual([0x8000000000000000n]);
      expect(add.call(0xffffffffffffffffn, 0xffffffffffffffffn)).toEqual([0xfffffffffffffffen]);
      expect(add.call(0x8000000000000000n, 0n)).toEqual([0x8000000000000000n]);
      expect(m.exportedFunction('neg')!.call(1n)).toEqual([0xffffffffn]);
    },
  },
  {
    name: 'a v128 takes two slots (low half first) in params and results, also among other values in multi-value results',
    wat: `(module
      (func (export "swap") (param v128) (result v128)
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get 0) (local.get 0)))
      (func (export "multi") (param i32 v128 f32) (result f32 v128 i64 i32)
        local.get 2 local.get 1 (i64.const -1) local.get 0))`,
    run(m) {
      expect(m.exportedFunction('swap')!.call(0x0123456789abcdefn, 0xfedcba9876543210n)).toEqual([
        0xfedcba9876543210n,
        0x0123456789abcdefn,
      ]);
      expect(m.exportedFunction('multi')!.call(7n, 1n, 2n, 0x7fa00000n)).toEqual([0x7fa00000n, 1n, 2n, 0xffffffffffffffffn, 7n]);
    },
  },
  {
    name: 'externref handles pass through unchanged and ref.null is 0',
    wat: `(module
      (func (export "ext") (param externref) (result externref) local.get 0)
      (func (export "isnull") (param externref) (result i32) (ref.is_null (local.get 0)))
      (func (export "null") (result externref) (ref.null extern)))`,
    run(m) {
      expect(m.exportedFunction('ext')!.call(42n)).toEqual([42n]);
      expect(m.exportedFunction('ext')!.call(0n)).toEqual([0n]);
      expect(m.exportedFunction('isnull')!.call(0n)).toEqual([1n]);
      expect(m.exportedFunction('isnull')!.call(5n)).toEqual([0n]);
      expect(m.exportedFunction('null')!.call()).toEqual([0n]);
    },
  },
  {
    name: 'a funcref result is a stable non-null handle that calls its function when passed back',
    wat: `(module
      (table $t 1 funcref)
      (func $f (export "f") (result i32) (i32.const 42))
      (elem declare func $f)
      (func (export "fref") (result funcref) (ref.func $f))
      (func (export "isnull") (param funcref) (result i32) (ref.is_null (local.get 0)))
      (func (export "callref") (param funcref) (result i32)
        (table.set $t (i32.const 0) (local.get 0))
        (call_indirect (result i32) (i32.const 0))))`,
    run(m) {
      const [h] = m.exportedFunction('fref')!.call();
      expect(h).not.toBe(0n);
      expect(m.exportedFunction('fref')!.call()).toEqual([h]);
      expect(m.exportedFunction('isnull')!.call(h!)).toEqual([0n]);
      expect(m.exportedFunction('isnull')!.call(0n)).toEqual([1n]);
      expect(m.exportedFunction('callref')!.call(h!)).toEqual([42n]);
    },
  },
  {
    name: 'a module that exports nothing shows its memory and every global with raw bits (NaN payload, v128 low half, sign)',
    wat: `(module (memory 2 3) (table 4 externref)
      (global i32 (i32.const -5)) (global (mut f32) (f32.const nan:0x200001)) (global v128 (v128.const i64x2 1 2))
      (global i64 (i64.const -1)) (data (i32.const 10) "hi"))`,
    run(mod) {
      const m = mod as InternalModule;
      const mem = m.memory()!;
      expect(mem.read(10, 2)).toEqual(new Uint8Array([104, 105]));
      expect(mem.size()).toBe(2 * 65536);
      expect(mem.grow(1)).toBe(2);
      expect(mem.grow(1)).toBeUndefined();
      expect(m.numGlobal()).toBe(4);
      expect(m.global(0).get()).toBe(0xfffffffbn);
      expect(m.global(1).get()).toBe(0x7fa00001n);
      expect(m.global(2).get()).toBe(1n);
      expect(m.global(3).get()).toBe(0xffffffffffffffffn);
    },
  },
];

for (const engine of engines) {
  describe(`values across the boundary on the ${engine.name}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = runtimeFor(engine, (cfg) => cfg.withCoreFeatures(CoreFeaturesV2 | CoreFeaturesThreads | CoreFeaturesTailCall));
        try {
          c.run(await r.instantiateWithConfig(await wat(c.wat), newModuleConfig().withName('m')));
        } finally {
          await r.close();
        }
      });
    }
  });
}
