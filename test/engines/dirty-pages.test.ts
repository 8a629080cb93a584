/**
 * Dirty-page tracking (`withDirtyPageTracking`), one table run per engine (and on the compiler with
 * marks made by a call, as V8 without multi-memory does). Semantics:
 * - opt-in at compile time; every write to memory marks the 64 KiB page(s) it writes: plain, atomic
 *   and SIMD stores (a write spanning two pages marks both), `memory.fill/copy/init`, writes through
 *   the `Memory` API and by WASI;
 * - marks are a superset of the pages written (never a page missed), cleared when a checkpoint
 *   succeeds; a write after a host function cleared them (a checkpoint taken during a call) marks
 *   its page again;
 * - untracked code pays nothing and marks nothing; a memory with an untracked writer has marks that
 *   are not trusted, and deltas compare pages instead.
 */
import { describe, expect, it } from 'vitest';
import { Context, newModuleConfig, newRuntimeConfigCompiler, type Runtime } from '../../src/index.js';
import { CoreFeaturesV2, type Module } from '../../src/api.js';
import { CoreFeaturesThreads } from '../../src/experimental.js';

import { newCompilerEngine } from '../../src/compiler-native/engine.js';
import { RuntimeImpl } from '../../src/runtime/store/runtime.js';
import { MemoryApi } from '../../src/runtime/store/memory-api.js';
import { checkpoint, withDirtyPageTracking } from '../../src/snapshot.js';
import * as wasi from '../../src/wasi.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const PAGE = 65536;
const FEATURES = CoreFeaturesV2 | CoreFeaturesThreads;
const TRACKED = withDirtyPageTracking(Context.background());

const WRITES = `(module
  (import "host" "checkpoint" (func $checkpoint))
  (memory (export "memory") 8 8)
  (data $d "0123456789")
  (func (export "i32.store") (param i32) (i32.store (local.get 0) (i32.const 1)))
  (func (export "i64.store") (param i32) (i64.store (local.get 0) (i64.const 1)))
  (func (export "f32.store") (param i32) (f32.store (local.get 0) (f32.const 1)))
  (func (export "f64.store") (param i32) (f64.store (local.get 0) (f64.const 1)))
  (func (export "i32.store8") (param i32) (i32.store8 (local.get 0) (i32.const 1)))
  (func (export "i32.store16") (param i32) (i32.store16 (local.get 0) (i32.const 1)))
  (func (export "i64.store8") (param i32) (i64.store8 (local.get 0) (i64.const 1)))
  (func (export "i64.store16") (param i32) (i64.store16 (local.get 0) (i64.const 1)))
  (func (export "i64.store32") (param i32) (i64.store32 (local.get 0) (i64.const 1)))
  (func (export "offset") (param i32) (i32.store offset=65536 (local.get 0) (i32.const 1)))
  (func (export "v128.store") (param i32) (v128.store (local.get 0) (v128.const i64x2 1 1)))
  (func (export "v128.store64_lane") (param i32) (v128.store64_lane 1 (local.get 0) (v128.const i64x2 1 1)))
  (func (export "i32.atomic.store") (param i32) (i32.atomic.store (local.get 0) (i32.const 1)))
  (func (export "i64.atomic.rmw.add") (param i32) (drop (i64.atomic.rmw.add (local.get 0) (i64.const 1))))
  (func (export "i32.atomic.rmw.cmpxchg") (param i32) (drop (i32.atomic.rmw.cmpxchg (local.get 0) (i32.const 0) (i32.const 1))))
  (func (export "memory.fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 1) (local.get 1)))
  (func (export "memory.copy") (param i32 i32) (memory.copy (local.get 0) (i32.const 0) (local.get 1)))
  (func (export "memory.init") (param i32 i32) (memory.init $d (local.get 0) (i32.const 0) (local.get 1)))
  ;; Writes page 1, lets the host take a checkpoint (clearing the marks), writes page 1 again.
  (func (export "aroundHost") (param i32)
    (i32.store (local.get 0) (i32.const 1))
    (call $checkpoint)
    (i32.store (local.get 0) (i32.const 2)))
  ;; A loop writing the same page, then another.
  (func (export "loop") (param i32 i32) (local i32)
    (loop $l
      (i32.store (i32.add (local.get 0) (local.get 2)) (local.get 2))
      (br_if $l (i32.lt_u (local.tee 2 (i32.add (local.get 2) (i32.const 4))) (local.get 1))))
    (i32.store (i32.const 8) (i32.const 1)))
)`;

/** The marked pages of `m`'s memory, ascending. */
function marked(m: Module): number[] {
  const api = m.memory();
  if (!(api instanceof MemoryApi) || api.dirty === undefined) return [];
  const out: number[] = [];
  // Marks past the memory's size mean nothing (the last page of the 65,536 always counts as marked).
  api.dirty.bits.subarray(0, api.pages()).forEach((b, p) => {
    if (b !== 0) out.push(p);
  });
  return out;
}

function clear(m: Module): void {
  (m.memory() as MemoryApi).dirty!.clear('test');
}

interface Case {
  readonly name: string;
  readonly run: (r: Runtime) => Promise<void>;
}

async function writer(r: Runtime, onHost: (m: Module) => void = () => undefined): Promise<Module> {
  let self: Module | undefined;
  await r
    .newHostModuleBuilder('host')
    .newFunctionBuilder()
    .withFunc(() => onHost(self!), [], [])
    .export('checkpoint')
    .instantiate();
  const compiled = await r.compileModule(await wat(WRITES), TRACKED);
  self = await r.instantiateModule(compiled, newModuleConfig().withName(''));
  return self;
}

/** Each store at `at`, and the pages it must mark. */
const STORES: ReadonlyArray<readonly [string, number, number[]]> = [
  ['i32.store', PAGE + 8, [1]],
  ['i32.store', 2 * PAGE - 2, [1, 2]],
  ['i64.store', 3 * PAGE - 4, [2, 3]],
  ['f32.store', 4, [0]],
  ['f64.store', 5 * PAGE - 8, [4]],
  ['i32.store8', 5 * PAGE - 1, [4]],
  ['i32.store16', 5 * PAGE - 1, [4, 5]],
  ['i64.store8', 7 * PAGE, [7]],
  ['i64.store16', 6 * PAGE, [6]],
  ['i64.store32', 6 * PAGE - 2, [5, 6]],
  ['offset', 4, [1]],
  ['offset', PAGE - 2, [1, 2]],
  ['v128.store', 2 * PAGE - 8, [1, 2]],
  ['v128.store64_lane', 3 * PAGE, [3]],
  ['i32.atomic.store', 4 * PAGE, [4]],
  ['i64.atomic.rmw.add', PAGE - 8, [0]],
  ['i32.atomic.rmw.cmpxchg', 7 * PAGE + 4, [7]],
];

const cases: Case[] = [
  {
    name: 'every kind of store marks the page it writes, and both pages of a write spanning two',
    run: async (r) => {
      const m = await writer(r);
      for (const [fn, at, pages] of STORES) {
        clear(m);
        m.exportedFunction(fn)!.call(at);
        expect([fn, at, marked(m)]).toEqual([fn, at, pages]);
      }
    },
  },
  {
    name: 'memory.fill, memory.copy and memory.init mark every page of their destination',
    run: async (r) => {
      const m = await writer(r);
      for (const fn of ['memory.fill', 'memory.copy', 'memory.init']) {
        clear(m);
        const n = fn === 'memory.init' ? 10 : 2 * PAGE;
        m.exportedFunction(fn)!.call(PAGE - 5, n);
        expect([fn, marked(m)]).toEqual([fn, fn === 'memory.init' ? [0, 1] : [0, 1, 2]]);
        clear(m);
        m.exportedFunction(fn)!.call(3 * PAGE, 0);
        expect([fn, marked(m)]).toEqual([fn, []]);
      }
    },
  },
  {
    name: 'a write after a host function cleared the marks during the call marks its page again',
    run: async (r) => {
      let cleared = 0;
      const m = await writer(r, (self) => {
        clear(self);
        cleared++;
      });
      clear(m);
      m.exportedFunction('aroundHost')!.call(PAGE + 16);
      expect([cleared, marked(m)]).toEqual([1, [1]]);
    },
  },
  {
    name: 'a loop marks every page it writes, and a page written after the loop',
    run: async (r) => {
      const m = await writer(r);
      clear(m);
      m.exportedFunction('loop')!.call(2 * PAGE - 64, 3 * PAGE);
      expect(marked(m)).toEqual([0, 1, 2, 3, 4]);
    },
  },
  {
    name: 'writes through the Memory API mark their pages',
    run: async (r) => {
      const m = await writer(r);
      const mem = m.memory()!;
      clear(m);
      mem.write(2 * PAGE - 1, new Uint8Array(2));
      mem.writeUint64Le(5 * PAGE, 1n);
      mem.writeByte(7 * PAGE + 1, 1);
      expect(marked(m)).toEqual([1, 2, 5, 7]);
      mem.readUint32Le(0);
      expect(marked(m)).toEqual([1, 2, 5, 7]);
    },
  },
  {
    name: 'WASI marks the pages it writes',
    run: async (r) => {
      await wasi.instantiate(r);
      const guest = `(module
        (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
        (memory (export "memory") 4)
        (func (export "run")
          (drop (call $random (i32.const 131070) (i32.const 4)))
          (drop (call $clock (i32.const 0) (i64.const 0) (i32.const 196608)))))`;
      const m = await r.instantiateModule(await r.compileModule(await wat(guest), TRACKED), newModuleConfig());
      clear(m);
      m.exportedFunction('run')!.call();
      expect(marked(m)).toEqual([1, 2, 3]);
    },
  },
  {
    name: 'untracked code marks nothing; an untracked writer makes deltas compare pages',
    run: async (r) => {
      const plain = await r.instantiate(
        await wat('(module (memory (export "memory") 2) (func (export "w") (i32.store (i32.const 70000) (i32.const 1))))'),
      );
      plain.exportedFunction('w')!.call();
      expect((plain.memory() as MemoryApi).dirty).toBeUndefined();
      const owner = await r.instantiateWithConfig(
        await wat('(module (memory (export "memory") 2) (func (export "w") (param i32) (i32.store (i32.const 70000) (local.get 0))))'),
        newModuleConfig().withName('owner'),
      );
      const guest = await r.instantiateModule(
        await r.compileModule(
          await wat('(module (import "owner" "memory" (memory 2)) (func (export "w") (i32.store (i32.const 8) (i32.const 1))))'),
          TRACKED,
        ),
        newModuleConfig(),
      );
      const api = guest.memory() as MemoryApi;
      expect([api.dirty !== undefined, api.untrackedWriters]).toEqual([true, true]);
      const base = checkpoint(guest, { imports: ['owner.memory'] });
      owner.exportedFunction('w')!.call(5); // not marked: the delta still finds it
      expect(checkpoint(guest, { imports: ['owner.memory'], base }).storedPages).toBe(1);
    },
  },
];

/** The engines, and the compiler engine marking through a call on every window miss. */
const targets: Array<{ readonly name: string; readonly runtime: () => Runtime }> = [
  ...engines.map((e) => ({ name: e.name, runtime: () => runtimeFor(e, (c) => c.withCoreFeatures(FEATURES)) })),
  {
    name: 'compiler (marks by call)',
    runtime: () => new RuntimeImpl(newRuntimeConfigCompiler().withCoreFeatures(FEATURES), newCompilerEngine({ inlineDirtyMarks: false })),
  },
];

for (const t of targets) {
  describe(`dirty pages on the ${t.name} engine`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = t.runtime();
        try {
          await c.run(r);
        } finally {
          await r.close();
        }
      });
    }
  });
}
