/**
 * Checkpoints of module state (wasmscope/snapshot), one table run per engine. Semantics:
 * - `checkpoint(mod)` captures every defined memory (pages and bytes), table (functions as indices,
 *   nulls kept), global (mutable or not, exported or not) and which segments were dropped;
 *   `restore(mod, cp)` gives the same instance, or a fresh instance of the same module, exactly that
 *   state;
 * - `checkpoint(mod, { base })` is a delta holding only the memory pages that changed since `base`;
 *   a chain of deltas restores to the state a full checkpoint gives, with or without dirty-page
 *   tracking, and through bytes;
 * - refusals happen before anything changes, with a `CheckpointError` naming what and where: another
 *   module, a memory or table that grew (unless `keepGrown`), a segment dropped after the
 *   checkpoint, an immutable global that differs, imported state not named, host references
 *   without a codec, bytes that are truncated or corrupted.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Context, newModuleConfig, type CompiledModule, type Runtime } from '../../src/index.js';
import { CoreFeaturesV3, withImportResolver } from '../../src/experimental.js';
import type { Module } from '../../src/api.js';
import { ValueType } from '../../src/api.js';
import { Checkpoint, CheckpointError, checkpoint, restore, withDirtyPageTracking, type ReferenceCodec } from '../../src/snapshot.js';
import { engines, runtimeFor, thrown, wat, wat3 } from '../helpers.js';

/** A module with every kind of state. */
const STATE = `(module
  (import "env" "base" (global $base i32))
  (memory (export "memory") 2 16)
  (global $m32 (mut i32) (i32.const 1))
  (global $m64 (mut i64) (i64.const 2))
  (global $f32 (mut f32) (f32.const 1.5))
  (global $f64 (mut f64) (f64.const 2.5))
  (global $v (mut v128) (v128.const i64x2 3 4))
  (global $fn (mut funcref) (ref.null func))
  (global $imm i32 (global.get $base))
  (table $t (export "table") 4 100 funcref)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func $three (result i32) (i32.const 3))
  (elem (table $t) (i32.const 0) func $one $two)
  (elem $later func $three)
  (data $d "passive data")
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "pages") (result i32) (memory.size))
  (func (export "setGlobals") (param i32)
    (global.set $m32 (local.get 0))
    (global.set $m64 (i64.mul (i64.extend_i32_u (local.get 0)) (i64.const 0x100000000)))
    (global.set $f32 (f32.convert_i32_s (local.get 0)))
    (global.set $f64 (f64.convert_i32_s (local.get 0)))
    (global.set $v (i64x2.splat (i64.extend_i32_u (local.get 0))))
    (global.set $fn (ref.func $three)))
  (func (export "globals") (result i32 i64 f32 f64 i64 i32)
    (global.get $m32) (global.get $m64) (global.get $f32) (global.get $f64)
    (i64x2.extract_lane 1 (global.get $v))
    (if (result i32) (ref.is_null (global.get $fn)) (then (i32.const -1)) (else (i32.const 3))))
  (func (export "imm") (result i32) (global.get $imm))
  (func (export "callAt") (param i32) (result i32) (call_indirect $t (result i32) (local.get 0)))
  (func (export "isNull") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "tableSize") (result i32) (table.size $t))
  (func (export "editTable")
    (table.set $t (i32.const 0) (ref.null func))
    (table.set $t (i32.const 3) (ref.func $three)))
  (func (export "growTable") (drop (table.grow $t (ref.null func) (i32.const 2))))
  (func (export "dropData") (data.drop $d))
  (func (export "dropElem") (elem.drop $later))
  ;; memory.init traps on a dropped segment (length 0) and copies on a live one.
  (func (export "initData") (param i32) (memory.init $d (local.get 0) (i32.const 0) (i32.const 7)))
  (func (export "initElem") (table.init $t $later (i32.const 1) (i32.const 0) (i32.const 1)))
)`;

const PAGE = 65536;

interface Fixture {
  readonly r: Runtime;
  /** A new instance whose `env.base` global is `base` (default 7). */
  instance(opts?: { tracked?: boolean; base?: number }): Promise<Module>;
}

async function fixture(r: Runtime): Promise<Fixture> {
  const bytes = await wat(STATE);
  const envs = new Map<number, Module>();
  const compiled = new Map<boolean, CompiledModule>();
  return {
    r,
    async instance(opts = {}) {
      const base = opts.base ?? 7;
      let env = envs.get(base);
      if (env === undefined) {
        env = await r.instantiate(await wat(`(module (global (export "base") i32 (i32.const ${base})))`));
        envs.set(base, env);
      }
      const tracked = opts.tracked === true;
      let c = compiled.get(tracked);
      if (c === undefined) {
        c = await r.compileModule(bytes, tracked ? withDirtyPageTracking(Context.background()) : undefined);
        compiled.set(tracked, c);
      }
      const linked = env;
      return r.instantiateModule(
        c,
        newModuleConfig().withName(''),
        withImportResolver(Context.background(), (n) => (n === 'env' ? linked : undefined)),
      );
    },
  };
}

/** Calls export `name` of `m` with natural params; raw results. */
function call(m: Module, name: string, ...params: number[]): bigint[] {
  return m.exportedFunction(name)!.call(...params);
}

/** Everything the module's state can show through its exports. */
function observe(m: Module): unknown {
  const mem = m.memory()!;
  return {
    pages: call(m, 'pages'),
    memory: createHash('sha256').update(mem.read(0, mem.size())!).digest('hex'),
    words: [0, 100, PAGE + 8, 2 * PAGE - 4].map((a) => call(m, 'load', a)[0]),
    globals: call(m, 'globals'),
    imm: call(m, 'imm'),
    table: [0, 1, 2, 3].map((i) => call(m, 'isNull', i)[0]),
    tableSize: call(m, 'tableSize'),
  };
}

/** Changes every kind of state. */
function mutate(m: Module, k: number): void {
  call(m, 'store', 100, k);
  call(m, 'store', PAGE + 8, 10 * k);
  call(m, 'setGlobals', k);
  call(m, 'editTable');
}

/** The error a call threw, as a CheckpointError (the test fails otherwise). */
function refusal(fn: () => unknown): CheckpointError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(CheckpointError);
  return e as CheckpointError;
}

interface Case {
  readonly name: string;
  readonly run: (f: Fixture) => Promise<void>;
}

const cases: Case[] = [
  {
    name: 'a full checkpoint restores memory, every global, the table and dropped segments into the same instance',
    run: async (f) => {
      const m = await f.instance();
      mutate(m, 5);
      const before = observe(m);
      const cp = checkpoint(m);
      mutate(m, 9);
      call(m, 'store', 2 * PAGE - 4, 77);
      call(m, 'initElem');
      expect(observe(m)).not.toEqual(before);
      restore(m, cp);
      expect(observe(m)).toEqual(before);
      expect(call(m, 'callAt', 1)).toEqual([2n]);
    },
  },
  {
    name: 'restores into a fresh instance of the same module',
    run: async (f) => {
      const m = await f.instance();
      mutate(m, 6);
      call(m, 'dropData');
      call(m, 'grow', 1);
      const cp = checkpoint(m);
      const fresh = await f.instance();
      restore(fresh, cp);
      expect(observe(fresh)).toEqual(observe(m));
      expect(call(fresh, 'pages')).toEqual([3n]);
      // The data segment is dropped in the fresh instance too: memory.init of 7 bytes traps.
      expect(() => call(fresh, 'initData', 0)).toThrow(/out of bounds memory access/);
    },
  },
  {
    name: 'a chain of deltas restores to exactly the state a full checkpoint gives, without tracking',
    run: async (f) => chainOfDeltas(f, false),
  },
  {
    name: 'a chain of deltas restores to exactly the state a full checkpoint gives, with dirty-page tracking',
    run: async (f) => chainOfDeltas(f, true),
  },
  {
    name: 'a delta holds only the changed pages, and pages the memory grew by',
    run: async (f) => {
      for (const tracked of [false, true]) {
        const m = await f.instance({ tracked });
        const base = checkpoint(m);
        expect(base.storedPages).toBe(2);
        expect(checkpoint(m, { base }).storedPages).toBe(0);
        call(m, 'store', PAGE + 8, 1);
        const d1 = checkpoint(m, { base });
        expect([d1.kind, d1.storedPages, d1.base]).toEqual(['delta', 1, base]);
        call(m, 'grow', 2);
        expect(checkpoint(m, { base: d1 }).storedPages).toBe(2);
        // Against an older base: the marks name candidates, which are compared with it.
        call(m, 'store', 100, 1);
        call(m, 'store', 100, 0);
        expect(checkpoint(m, { base }).storedPages).toBe(3);
      }
    },
  },
  {
    name: 'the dirty-page marks clear only when a checkpoint succeeds',
    run: async (f) => {
      const m = await f.instance({ tracked: true });
      const base = checkpoint(m);
      // Written back to its old bytes: unchanged for a compare, changed for the marks.
      call(m, 'store', 100, 1);
      call(m, 'store', 100, 0);
      const other = checkpoint(await f.r.instantiate(await wat('(module (memory 1))')));
      expect(refusal(() => checkpoint(m, { base: other })).reason).toBe('module-mismatch');
      const d = checkpoint(m, { base });
      expect(d.storedPages).toBe(1);
      // Cleared by that success: nothing marked since.
      expect(checkpoint(m, { base: d }).storedPages).toBe(0);
    },
  },
  {
    name: 'restoring the same checkpoint again and again writes back every change (the fuzzing loop)',
    run: async (f) => {
      for (const tracked of [false, true]) {
        const m = await f.instance({ tracked });
        mutate(m, 1);
        const cp = checkpoint(m);
        const state = observe(m);
        for (let i = 2; i < 6; i++) {
          mutate(m, i);
          call(m, 'store', 2 * PAGE - 4, i);
          restore(m, cp);
          expect(observe(m)).toEqual(state);
        }
      }
    },
  },
  {
    name: 'restores backwards and forwards along a chain',
    run: async (f) => {
      const m = await f.instance({ tracked: true });
      const c0 = checkpoint(m);
      const s0 = observe(m);
      call(m, 'store', 100, 1);
      const c1 = checkpoint(m, { base: c0 });
      const s1 = observe(m);
      call(m, 'store', PAGE + 8, 2);
      const c2 = checkpoint(m, { base: c1 });
      const s2 = observe(m);
      restore(m, c0);
      expect(observe(m)).toEqual(s0);
      restore(m, c2);
      expect(observe(m)).toEqual(s2);
      restore(m, c1);
      expect(observe(m)).toEqual(s1);
    },
  },
  {
    name: 'checkpoints round-trip through bytes; a delta read from bytes needs its base',
    run: async (f) => {
      const m = await f.instance();
      mutate(m, 3);
      const c0 = checkpoint(m);
      mutate(m, 4);
      const c1 = checkpoint(m, { base: c0 });
      const want = observe(m);
      const base = Checkpoint.fromBytes(c0.toBytes());
      expect([base.id, base.kind, base.moduleSha256]).toEqual([c0.id, 'full', c0.moduleSha256]);
      const fresh = await f.instance();
      expect(refusal(() => restore(fresh, c1.toBytes())).reason).toBe('base');
      restore(fresh, c1.toBytes(), { base });
      expect(observe(fresh)).toEqual(want);
      expect(refusal(() => Checkpoint.fromBytes(c1.toBytes(), { base: c1 })).message).toMatch(/was taken against .*, not/);
    },
  },
  {
    name: 'refuses a checkpoint of another module, and changes nothing',
    run: async (f) => {
      const m = await f.instance();
      const other = await f.r.instantiate(await wat('(module (memory (export "memory") 1))'));
      const cp = checkpoint(other);
      const before = observe(m);
      const e = refusal(() => restore(m, cp));
      expect(e.reason).toBe('module-mismatch');
      expect(e.message).toMatch(/^restore: the checkpoint is of module [0-9a-f]{12}…, module\[\] is [0-9a-f]{12}…$/);
      expect(observe(m)).toEqual(before);
    },
  },
  {
    name: 'refuses to shrink a grown memory or table unless keepGrown, which zeroes and nulls what lies past',
    run: async (f) => {
      const m = await f.instance();
      const cp = checkpoint(m);
      const before = observe(m);
      call(m, 'grow', 1);
      call(m, 'store', 2 * PAGE + 4, 9);
      call(m, 'store', 100, 9);
      const e = refusal(() => restore(m, cp));
      expect([e.reason, e.message]).toEqual([
        'incompatible',
        'restore: memory 0 grew to 3 pages since the checkpoint (2) and cannot shrink: restore into a fresh instance, or pass keepGrown to zero the pages past it',
      ]);
      expect(call(m, 'load', 100)).toEqual([9n]); // nothing written
      restore(m, cp, { keepGrown: true });
      expect(call(m, 'load', 2 * PAGE + 4)).toEqual([0n]);
      expect(call(m, 'pages')).toEqual([3n]);
      call(m, 'growTable');
      expect(refusal(() => restore(m, cp, {})).message).toMatch(/memory 0 grew/);
      restore(m, cp, { keepGrown: true });
      expect(call(m, 'tableSize')).toEqual([6n]);
      expect([call(m, 'isNull', 4), call(m, 'isNull', 5)]).toEqual([[1n], [1n]]);
      const { memory: _m, pages: _p, tableSize: _t, ...rest } = observe(m) as Record<string, unknown>;
      const { memory: _bm, pages: _bp, tableSize: _bt, ...restBefore } = before as Record<string, unknown>;
      expect(rest).toEqual(restBefore);
    },
  },
  {
    name: 'refuses to bring back a segment dropped after the checkpoint',
    run: async (f) => {
      const m = await f.instance();
      const cp = checkpoint(m);
      call(m, 'store', 100, 5);
      call(m, 'dropData');
      const e = refusal(() => restore(m, cp));
      expect([e.reason, e.message]).toEqual([
        'incompatible',
        'restore: data segment 0 was dropped after the checkpoint and cannot come back: restore into a fresh instance',
      ]);
      expect(call(m, 'load', 100)).toEqual([5n]);
      const fresh = await f.instance();
      restore(fresh, cp);
      call(fresh, 'initData', 0);
      expect(Buffer.from(fresh.memory()!.read(0, 7)!).toString()).toBe('passive');
    },
  },
  {
    name: 'refuses an immutable global that differs in the target (its initial value read another import)',
    run: async (f) => {
      const m = await f.instance({ base: 7 });
      const cp = checkpoint(m);
      const other = await f.instance({ base: 8 });
      call(other, 'store', 100, 3);
      const e = refusal(() => restore(other, cp));
      expect([e.reason, e.message]).toEqual([
        'incompatible',
        'restore: immutable global 7 is 0x8 here, 0x7 in the checkpoint (its initial value read an imported global that differs): it cannot be set',
      ]);
      expect(call(other, 'load', 100)).toEqual([3n]);
    },
  },
  {
    name: 'refuses truncated and corrupted bytes',
    run: async (f) => {
      const m = await f.instance();
      call(m, 'store', 100, 5);
      const bytes = checkpoint(m).toBytes();
      expect(refusal(() => restore(m, bytes.subarray(0, bytes.length - 1))).message).toMatch(/^truncated checkpoint: \d+ bytes of \d+$/);
      const flipped = bytes.slice();
      flipped[200] = flipped[200]! ^ 1;
      expect(refusal(() => restore(m, flipped)).message).toBe('corrupted checkpoint: checksum mismatch');
      expect(refusal(() => restore(m, new Uint8Array(200))).message).toBe('not a checkpoint: no "WSCP" header');
      const v2 = bytes.slice();
      v2[4] = 2;
      expect(refusal(() => restore(m, v2)).message).toBe('checkpoint format version 2 is not supported (this version reads 1)');
      expect(call(m, 'load', 100)).toEqual([5n]);
    },
  },
];

async function chainOfDeltas(f: Fixture, tracked: boolean): Promise<void> {
  const m = await f.instance({ tracked });
  // An untracked twin goes through the same changes and gets full checkpoints.
  const twin = await f.instance();
  const chain: Checkpoint[] = [checkpoint(m)];
  const fulls: Checkpoint[] = [checkpoint(twin)];
  const states: unknown[] = [observe(m)];
  for (let k = 1; k <= 4; k++) {
    for (const x of [m, twin]) {
      mutate(x, k);
      if (k === 2) call(x, 'grow', 1);
      if (k === 3) call(x, 'dropData');
      call(x, 'store', (k % 3) * PAGE + 16 * k, k);
    }
    chain.push(checkpoint(m, { base: chain[k - 1]! }));
    fulls.push(checkpoint(twin));
    states.push(observe(m));
  }
  for (let k = 4; k >= 0; k--) {
    const fromChain = await f.instance();
    restore(fromChain, chain[k]!);
    const fromFull = await f.instance();
    restore(fromFull, fulls[k]!);
    expect(observe(fromChain)).toEqual(states[k]);
    expect(observe(fromFull)).toEqual(states[k]);
  }
}

/** A table holding externrefs, and a global holding a function of another module. */
const REFS = `(module
  (import "host" "f" (func $f))
  (table $ext (export "ext") 2 externref)
  (global $g (mut funcref) (ref.null func))
  (func (export "putExt") (param externref) (table.set $ext (i32.const 1) (local.get 0)))
  (func (export "getExt") (result externref) (table.get $ext (i32.const 1)))
  (func (export "putFunc") (param funcref) (global.set $g (local.get 0)))
  (func (export "isNullFunc") (result i32) (ref.is_null (global.get $g)))
)`;

const refCases: Case[] = [
  {
    name: 'refuses a host externref without a codec, and restores it through one',
    run: async (f) => {
      const r = f.r;
      await r
        .newHostModuleBuilder('host')
        .newFunctionBuilder()
        .withFunc(() => undefined, [], [])
        .export('f')
        .instantiate();
      const compiled = await r.compileModule(await wat(REFS));
      const m = await r.instantiateModule(compiled, newModuleConfig().withName(''));
      m.exportedFunction('putExt')!.call(0x1234n);
      const e = refusal(() => checkpoint(m));
      expect([e.reason, e.message]).toEqual([
        'reference',
        'checkpoint: table 0 element 1 holds a host externref: give options.references to encode it',
      ]);
      const codec: ReferenceCodec = {
        encode: (raw, type) => {
          expect(type).toBe(ValueType.Externref);
          return new TextEncoder().encode(`ref:${raw}`);
        },
        decode: (bytes) => BigInt(new TextDecoder().decode(bytes).slice(4)) + 1n,
      };
      const cp = Checkpoint.fromBytes(checkpoint(m, { references: codec }).toBytes());
      const fresh = await r.instantiateModule(compiled, newModuleConfig().withName(''));
      expect(refusal(() => restore(fresh, cp)).reason).toBe('reference');
      restore(fresh, cp, { references: codec });
      expect(fresh.exportedFunction('getExt')!.call()).toEqual([0x1235n]);
    },
  },
  {
    name: 'refuses a function of another module in a global without a codec',
    run: async (f) => {
      const r = f.r;
      await r
        .newHostModuleBuilder('host')
        .newFunctionBuilder()
        .withFunc(() => undefined, [], [])
        .export('f')
        .instantiate();
      const m = await r.instantiate(await wat(REFS));
      const other = await r.instantiate(await wat('(module (func (export "f") (result funcref) (ref.func 0)))'));
      const fn = other.exportedFunction('f')!.call()[0]!;
      m.exportedFunction('putFunc')!.call(fn);
      const e = refusal(() => checkpoint(m));
      expect(e.message).toBe('checkpoint: global 0 holds a function of another module: give options.references to encode it');
    },
  },
  {
    name: 'refuses an imported memory unless named, and restores it when named',
    run: async (f) => {
      const r = f.r;
      const owner = await r.instantiateWithConfig(await wat('(module (memory (export "mem") 1))'), newModuleConfig().withName('owner'));
      const guest = `(module (import "owner" "mem" (memory 1))
        (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1))))`;
      const m = await r.instantiate(await wat(guest));
      m.exportedFunction('store')!.call(8, 42);
      const e = refusal(() => checkpoint(m));
      expect([e.reason, e.message]).toEqual([
        'import',
        'checkpoint: imported memory owner.mem is state of another module too: name it in options.imports to include it',
      ]);
      const cp = checkpoint(m, { imports: ['owner.mem'] });
      m.exportedFunction('store')!.call(8, 43);
      expect(refusal(() => restore(m, cp)).reason).toBe('import');
      restore(m, cp, { imports: 'all' });
      expect(owner.memory()!.readUint32Le(8)).toBe(42);
    },
  },
];

for (const e of engines) {
  describe(`checkpoints on the ${e.name} engine`, () => {
    for (const c of [...cases, ...refCases]) {
      it(c.name, async () => {
        const r = runtimeFor(e);
        try {
          await c.run(await fixture(r));
        } finally {
          await r.close();
        }
      });
    }
  });
}

/** 64-bit tables and memory (memory64): table entries and pages by 64-bit index. */
const MEMORY64 = `(module
  (memory i64 1 4)
  (table $t i64 4 funcref)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (elem (table $t) (i64.const 0) func $one)
  (elem declare func $two)
  (func (export "set") (table.set $t (i64.const 2) (ref.func $two)))
  (func (export "callAt") (param i64) (result i32) (call_indirect $t (result i32) (local.get 0)))
  (func (export "store") (param i64 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i64) (result i32) (i32.load (local.get 0)))
)`;

for (const e of engines) {
  describe(`checkpoints of 64-bit tables and memories on the ${e.name} engine`, () => {
    it('a checkpoint of a memory64 module restores its table entries and memory into a fresh instance', async ({ skip }) => {
      const r = runtimeFor(e, (c) => c.withCoreFeatures(CoreFeaturesV3));
      try {
        let compiled: CompiledModule;
        try {
          compiled = await r.compileModule(await wat3(MEMORY64));
        } catch (err) {
          // The compiler engine on a V8 without memory64 (Node 20) refuses the module, naming the way out.
          if (/^not supported: 64-bit memories/.test((err as Error).message)) return skip();
          throw err;
        }
        const a = await r.instantiateModule(compiled, newModuleConfig().withName('a'));
        a.exportedFunction('set')!.call();
        a.exportedFunction('store')!.call(8n, 42);
        const cp = checkpoint(a);
        const b = await r.instantiateModule(compiled, newModuleConfig().withName('b'));
        expect(thrown(() => b.exportedFunction('callAt')!.call(2n))).toBeDefined();
        restore(b, cp);
        expect(b.exportedFunction('callAt')!.call(0n)).toEqual([1n]);
        expect(b.exportedFunction('callAt')!.call(2n)).toEqual([2n]);
        expect(b.exportedFunction('load')!.call(8n)).toEqual([42n]);
        const c = await r.instantiateModule(compiled, newModuleConfig().withName('c'));
        restore(c, Checkpoint.fromBytes(cp.toBytes()));
        expect(c.exportedFunction('callAt')!.call(2n)).toEqual([2n]);
      } finally {
        await r.close();
      }
    });
  });
}
