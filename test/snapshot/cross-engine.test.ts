/**
 * Checkpoints are engine-neutral: one taken on either engine restores on the other, as an object
 * and through its bytes, deltas included (a base from one engine, a delta from the other).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Context, newModuleConfig, newRuntimeConfigCompiler, newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../../src/index.js';
import type { Module } from '../../src/api.js';
import { Checkpoint, checkpoint, restore, withDirtyPageTracking } from '../../src/snapshot.js';
import { wat } from '../helpers.js';

const GUEST = `(module
  (memory (export "memory") 1 8)
  (global $n (mut i64) (i64.const 0))
  (global $v (mut v128) (v128.const i32x4 0 0 0 0))
  (table $t 3 funcref)
  (func $a (result i32) (i32.const 10))
  (func $b (result i32) (i32.const 20))
  (elem (table $t) (i32.const 0) func $a)
  (elem declare func $b)
  (data $p "bytes")
  (func (export "step") (param i32)
    (global.set $n (i64.add (global.get $n) (i64.extend_i32_u (local.get 0))))
    (global.set $v (i32x4.splat (local.get 0)))
    (i32.store (i32.mul (local.get 0) (i32.const 4096)) (local.get 0))
    (if (i32.eq (local.get 0) (i32.const 3)) (then (drop (memory.grow (i32.const 1))) (data.drop $p)))
    (table.set $t (i32.const 1) (ref.func $b)))
  (func (export "n") (result i64) (global.get $n))
  (func (export "v") (result i32) (i32x4.extract_lane 2 (global.get $v)))
  (func (export "call") (param i32) (result i32) (call_indirect $t (result i32) (local.get 0)))
  (func (export "init") (memory.init $p (i32.const 0) (i32.const 0) (i32.const 5))))`;

const engines = { interpreter: newRuntimeConfigInterpreter, compiler: newRuntimeConfigCompiler } as const;
type EngineName = keyof typeof engines;

async function instance(engine: EngineName, tracked = false): Promise<Module> {
  const r = newRuntimeWithConfig(engines[engine]());
  const ctx = tracked ? withDirtyPageTracking(Context.background()) : Context.background();
  return r.instantiateModule(await r.compileModule(await wat(GUEST), ctx), newModuleConfig());
}

function state(m: Module): unknown {
  const mem = m.memory()!;
  return {
    memory: createHash('sha256').update(mem.read(0, mem.size())!).digest('hex'),
    n: m.exportedFunction('n')!.call(),
    v: m.exportedFunction('v')!.call(),
    calls: [0, 1].map((i) => {
      try {
        return m.exportedFunction('call')!.call(i);
      } catch (e) {
        return (e as Error).message;
      }
    }),
  };
}

const pairs: Array<[EngineName, EngineName]> = [
  ['interpreter', 'compiler'],
  ['compiler', 'interpreter'],
];

describe('checkpoints across engines', () => {
  for (const [from, to] of pairs) {
    it(`a full checkpoint and a chain of deltas taken on the ${from} restore on the ${to}, as objects and as bytes`, async () => {
      const m = await instance(from, true);
      const chain = [checkpoint(m)];
      const states = [state(m)];
      for (let k = 1; k <= 4; k++) {
        m.exportedFunction('step')!.call(k);
        chain.push(checkpoint(m, { base: chain[k - 1]! }));
        states.push(state(m));
      }
      // Bytes: each delta read against its base read from bytes.
      const read: Checkpoint[] = [];
      for (const cp of chain) read.push(Checkpoint.fromBytes(cp.toBytes(), { base: read[read.length - 1] }));
      for (let k = 0; k < chain.length; k++) {
        const a = await instance(to);
        restore(a, chain[k]!);
        expect(state(a)).toEqual(states[k]);
        const b = await instance(to);
        restore(b, read[k]!);
        expect(state(b)).toEqual(states[k]);
      }
      // The segment is live before step 3 and dropped after it, on the other engine too.
      const live = await instance(to);
      restore(live, chain[2]!);
      live.exportedFunction('init')!.call();
      const dropped = await instance(to);
      restore(dropped, chain[3]!);
      expect(() => dropped.exportedFunction('init')!.call()).toThrow(/out of bounds memory access/);
    });

    it(`a delta taken on the ${to} against a base from the ${from} restores on both`, async () => {
      const m = await instance(from);
      m.exportedFunction('step')!.call(1);
      const base = checkpoint(m);
      const other = await instance(to, true);
      restore(other, base);
      other.exportedFunction('step')!.call(2);
      const delta = checkpoint(other, { base });
      expect(delta.storedPages).toBe(1);
      const want = state(other);
      for (const e of [from, to]) {
        const x = await instance(e);
        restore(x, Checkpoint.fromBytes(delta.toBytes(), { base: Checkpoint.fromBytes(base.toBytes()) }));
        expect(state(x)).toEqual(want);
      }
    });
  }
});
