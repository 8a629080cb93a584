/**
 * Sharing across instances: ONE table of cases, run on every engine.
 *
 * Semantics fixed here (both engines): an imported memory, table, global or function is the
 * exporter's own object, not a copy. Stores, `memory.grow` (up to the exporter's maximum), global
 * sets (NaN payloads kept) and table entries made through one instance are seen by every other, and
 * an imported function runs in its defining module whether called directly or through a table.
 */
import { describe, expect, it } from 'vitest';
import { CoreFeaturesThreads, CoreFeaturesV2, type Module } from '../../src/api.js';
import { newModuleConfig } from '../../src/index.js';
import { engines, runtimeFor, wat } from '../helpers.js';

interface Case {
  readonly name: string;
  /** The exporting module, instantiated as `a`. */
  readonly a: string;
  /** The importing module, instantiated as `b`. */
  readonly b: string;
  readonly run: (a: Module, b: Module) => void;
}

const PAGE = 65536;

const cases: Case[] = [
  {
    name: 'memory stores and growth, a mutable i64 global and table entries made through one instance are seen by the other',
    a: `(module (memory (export "mem") 1 5) (global (export "g") (mut i64) (i64.const 5))
      (table (export "tab") 2 funcref) (func $seven (result i32) (i32.const 7)) (elem (i32.const 1) $seven)
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
      (func (export "getg") (result i64) (global.get 0)))`,
    b: `(module (import "a" "mem" (memory 1)) (import "a" "g" (global $g (mut i64))) (import "a" "tab" (table 2 funcref))
      (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)) (global.set $g (i64.const -9)))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "callt") (result i32) (call_indirect (result i32) (i32.const 1))))`,
    run(a, b) {
      b.exportedFunction('poke')!.call(100, 1234);
      expect(a.exportedFunction('load')!.call(100)).toEqual([1234n]);
      expect(a.exportedGlobal('g')!.get()).toBe(0xfffffffffffffff7n);
      expect(a.exportedFunction('getg')!.call()).toEqual([0xfffffffffffffff7n]);
      expect(b.exportedFunction('callt')!.call()).toEqual([7n]);
      expect(b.exportedFunction('grow')!.call(2)).toEqual([1n]);
      expect(b.exportedFunction('grow')!.call(10)).toEqual([0xffffffffn]);
      expect(a.memory()!.size()).toBe(3 * PAGE);
      expect(b.memory()!.size()).toBe(3 * PAGE);
      b.exportedFunction('poke')!.call(3 * PAGE - 4, 5);
      expect(a.exportedFunction('load')!.call(3 * PAGE - 4)).toEqual([5n]);
      expect(a.memory()!.readUint32Le(3 * PAGE - 4)).toBe(5);
    },
  },
  {
    name: 'a shared memory, a funcref table, a mutable f64 global (NaN payload) and a function imported together, the function called directly and through the table',
    a: `(module $a
      (memory (export "mem") 1 1 shared)
      (table (export "tab") 2 funcref)
      (global (export "g") (mut f64) (f64.const 0))
      (func $sq (export "sq") (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
      (elem (i32.const 0) func $sq)
      (func (export "peek") (result i32) (i32.load (i32.const 8))))`,
    b: `(module $b
      (import "a" "mem" (memory 1 1 shared))
      (import "a" "tab" (table 2 funcref))
      (import "a" "g" (global (mut f64)))
      (import "a" "sq" (func $sq (param i64) (result i64)))
      (type $sig (func (param i64) (result i64)))
      (func (export "run") (param i64) (result i64)
        (i32.store (i32.const 8) (i32.const 77))
        (global.set 0 (f64.reinterpret_i64 (i64.const 0x7ff0000000000bad)))
        (i64.add (call $sq (local.get 0)) (call_indirect (type $sig) (local.get 0) (i32.const 0)))))`,
    run(a, b) {
      expect(b.exportedFunction('run')!.call(5n)).toEqual([50n]);
      expect(a.exportedFunction('peek')!.call()).toEqual([77n]);
      expect(a.exportedGlobal('g')!.get()).toBe(0x7ff0000000000badn);
      expect(b.memory()!.writeUint32Le(12, 99)).toBe(true);
      expect(a.memory()!.readUint32Le(12)).toBe(99);
    },
  },
];

for (const engine of engines) {
  describe(`sharing across instances on the ${engine.name}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = runtimeFor(engine, (cfg) => cfg.withCoreFeatures(CoreFeaturesV2 | CoreFeaturesThreads));
        try {
          const a = await r.instantiateWithConfig(await wat(c.a), newModuleConfig().withName('a'));
          const b = await r.instantiateWithConfig(await wat(c.b), newModuleConfig().withName('b'));
          c.run(a, b);
        } finally {
          await r.close();
        }
      });
    }
  });
}
