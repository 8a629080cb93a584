/**
 * The Snapshotter (setjmp/longjmp for guest calls), one table run per engine. Semantics:
 * - enabled per call by `withSnapshotter(ctx)`; a host function of that call takes
 *   `getSnapshotter(ctx)!.snapshot()`; without the flag `getSnapshotter` is undefined;
 * - `snapshot.restore(results)` never returns: execution resumes right after the host call that
 *   took the snapshot, which now returns `results`; only execution state rolls back (memory,
 *   globals, tables and host state keep their values);
 * - a snapshot can be restored any number of times while its call runs; restoring one whose call
 *   has finished, or that belongs to another call, is a `SnapshotError` (host `finally` blocks on the
 *   way still run);
 * - listeners stay balanced: every frame a restore discards gets `abort`, innermost first, with the
 *   restore as the reason.
 */
import { describe, expect, it } from 'vitest';
import { Context, SnapshotError, WasmRuntimeError, newModuleConfig, type Runtime } from '../../src/index.js';
import type { Module } from '../../src/api.js';
import { CoreFeaturesTailCall, CoreFeaturesV2, ValueType } from '../../src/api.js';
import {
  functionListenerFactoryFunc,
  getSnapshotter,
  withFunctionListenerFactory,
  withSnapshotter,
  type FunctionListener,
  type Snapshot,
  CoreFeaturesV3,
} from '../../src/experimental.js';
import { hasJspi } from '../../src/compiler-native/boundary.js';
import { decodeModule } from '../../src/runtime/binary/decoder.js';
import { nextInstr, readLeb } from '../../src/runtime/binary/instr.js';
import { withBlockCoverage, type BlockCoverage } from '../../src/runtime/store/coverage.js';
import { engines, runtimeFor, thrown, wat } from '../helpers.js';

const { I32 } = ValueType;

/** wazero's experimental/testdata/snapshot.wat, plus cases of our own. */
const GUEST = `(module
  (import "example" "snapshot" (func $snapshot (param i32) (result i32)))
  (import "example" "restore" (func $restore (param i32)))
  (func $helper (result i32)
    (call $restore (i32.const 0))
    i32.const 10)
  (func $run (export "run") (result i32) (local i32)
    (local.set 0 (call $snapshot (i32.const 0)))
    (if (result i32) (local.get 0) (then (local.get 0)) (else (call $helper))))
  (func (export "snapshot") (param i32) (result i32) (call $snapshot (local.get 0)))
  (func (export "restore") (param i32) (call $restore (local.get 0)))
  ;; The two branches after the snapshot return different constants: a wrong resume pc shows.
  (func (export "branches") (result i32)
    (if (result i32) (i32.eq (call $snapshot (i32.const 0)) (i32.const 7))
      (then (i32.const 111))
      (else (call $restore (i32.const 0)) (i32.const 222))))
  ;; Counts through restores: memory (not rolled back) counts how often the snapshot returned.
  (func (export "count") (param i32) (result i32) (local i32)
    (local.set 1 (call $snapshot (i32.const 0)))
    (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))
    (if (result i32) (i32.lt_u (local.get 1) (local.get 0))
      (then (call $restore (i32.const 0)) (i32.const -1))
      (else (i32.load (i32.const 8)))))
  (func $deep (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.add (call $deep (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
      (else (call $snapshot (i32.const 0)))))
  ;; A snapshot 5 frames deep, restored from a shallower frame: the deep frames come back.
  (func (export "deep") (result i32) (local i32)
    (local.set 0 (call $deep (i32.const 5)))
    (if (result i32) (i32.eq (local.get 0) (i32.const 5))
      (then (call $restore (i32.const 0)) (i32.const -1))
      (else (local.get 0))))
  ;; Snapshots under call_indirect: taken through the table, restored through it.
  (type $ri (func (result i32)))
  (type $rii (func (param i32) (result i32)))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $snapInd $restoreInd $tc1)
  (func $snapInd (result i32) (call $snapshot (i32.const 0)))
  (func $restoreInd (result i32) (call $restore (i32.const 0)) (i32.const -5))
  (func (export "indirect") (result i32) (local i32)
    (local.set 0 (call_indirect (type $ri) (i32.const 0)))
    (if (result i32) (local.get 0)
      (then (i32.add (local.get 0) (i32.const 1000)))
      (else (call_indirect (type $ri) (i32.const 1)))))
  ;; A tail-call chain (return_call_indirect, return_call) down to the snapshotting call.
  (func $tc3 (param i32) (result i32) (i32.add (call $snapshot (i32.const 0)) (local.get 0)))
  (func $tc2 (param i32 i32) (result i32) (return_call $tc3 (i32.add (local.get 0) (local.get 1))))
  (func $tc1 (param i32) (result i32) (return_call $tc2 (local.get 0) (i32.const 10)))
  (func $tcind (param i32) (result i32) (return_call_indirect (type $rii) (local.get 0) (i32.const 2)))
  (func (export "tail") (result i32) (local i32)
    (local.set 0 (call $tcind (i32.const 5)))
    (if (result i32) (i32.eq (local.get 0) (i32.const 15))
      (then (call $restore (i32.const 0)) (i32.const -1))
      (else (local.get 0))))
  ;; A tail call of the snapshotting host function itself.
  (func $tailhost (param i32) (result i32) (return_call $snapshot (local.get 0)))
  (func (export "tailhost") (result i32) (local i32)
    (local.set 0 (call $tailhost (i32.const 0)))
    (if (result i32) (local.get 0) (then (local.get 0)) (else (call $restore (i32.const 0)) (i32.const -1))))
  ;; Operands live across the snapshotting call: an i32 below, an f64 through a multi-value block
  ;; with params; a v128 local changed after the snapshot (locals roll back).
  (func (export "multi") (result i32) (local v128 i32)
    (local.set 0 (v128.const i32x4 1 2 3 4))
    i32.const 100
    f64.const 2.5
    (block (param f64) (result f64 i32) (call $snapshot (i32.const 0)))
    local.set 1
    i32.trunc_f64_s
    i32.add
    (i32x4.extract_lane 2 (local.get 0))
    i32.add
    local.get 1
    i32.add
    (if (i32.eqz (local.get 1))
      (then (local.set 0 (v128.const i32x4 0 0 0 0)) (call $restore (i32.const 0)))))
  ;; References live across the snapshotting call: an externref operand, a funcref local.
  (func (export "refs") (param externref) (result externref i32) (local funcref i32)
    (local.set 1 (ref.func $snapInd))
    (local.get 0)
    (local.set 2 (call $snapshot (i32.const 0)))
    (if (i32.eqz (local.get 2)) (then (local.set 1 (ref.null func)) (call $restore (i32.const 0))))
    (i32.add (local.get 2) (ref.is_null (local.get 1))))
  ;; Deep recursion: the snapshot n frames deep.
  (func (export "deepn") (param i32) (result i32) (local i32)
    (local.set 1 (call $deep (local.get 0)))
    (if (result i32) (i32.eq (local.get 1) (local.get 0))
      (then (call $restore (i32.const 0)) (i32.const -1))
      (else (local.get 1))))
  ;; A loop dispatching through br_table; the snapshot in one arm, the restore in another.
  (func (export "brtable") (result i32) (local i32 i32)
    (block $done
      (loop $l
        (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 $done (local.get 0)))
          (local.set 1 (i32.add (local.get 1) (i32.const 1)))
          (local.set 0 (i32.add (local.get 0) (i32.const 1)))
          (br $l))
          (local.set 1 (i32.add (local.get 1) (call $snapshot (i32.const 0))))
          (local.set 0 (i32.add (local.get 0) (i32.const 1)))
          (br $l))
        (if (i32.eqz (i32.load (i32.const 16)))
          (then (i32.store (i32.const 16) (i32.const 1)) (call $restore (i32.const 0))))
        (local.set 0 (i32.add (local.get 0) (i32.const 1)))
        (br $l)))
    (local.get 1))
  ;; A trap after a restore: its trace must show the original offsets.
  (func $boom (param i32) (result i32) (if (local.get 0) (then unreachable)) (i32.const 0))
  (func (export "trap") (result i32) (local i32)
    (local.set 0 (call $snapshot (i32.const 0)))
    (if (local.get 0) (then (drop (call $boom (local.get 0)))))
    (call $restore (i32.const 0))
    (i32.const -1))
  (memory (export "memory") 1 1))`;

interface Env {
  readonly r: Runtime;
  readonly snapshots: Snapshot[];
  /** What the restore host function passes to restore (per call). */
  readonly restoreWith: { value: bigint; after: () => void };
  readonly log: string[];
}

interface Case {
  readonly name: string;
  readonly run: (m: Module, env: Env) => Promise<void> | void;
}

const snapCtx = (): Context => withSnapshotter(Context.background());

/** WebAssembly 2.0 and tail calls. */
const FEATURES = CoreFeaturesV2 | CoreFeaturesTailCall;

const cases: Case[] = [
  {
    name: "wazero's snapshot.wat: run returns the value restored from a deeper frame (5)",
    run(m, env) {
      env.restoreWith.value = 5n;
      expect(m.exportedFunction('run')!.callWithContext(snapCtx())).toEqual([5n]);
    },
  },
  {
    name: 'the resume point is exact: the branch after the snapshotting call sees the restored result',
    run(m, env) {
      env.restoreWith.value = 7n;
      expect(m.exportedFunction('branches')!.callWithContext(snapCtx())).toEqual([111n]);
    },
  },
  {
    name: 'a snapshot can be restored any number of times while its call runs',
    run(m, env) {
      env.restoreWith.value = 1n;
      env.restoreWith.after = () => void (env.restoreWith.value += 1n);
      // snapshot returns 0, then 1..5 through five restores of the same snapshot: six returns.
      expect(m.exportedFunction('count')!.callWithContext(snapCtx(), 5)).toEqual([6n]);
      expect(env.snapshots.length).toBe(1);
    },
  },
  {
    name: 'frames between the snapshot and the restore come back, 5 frames deep',
    run(m, env) {
      env.restoreWith.value = 42n;
      // deep(5) returns snapshot()+5 = 5; restoring with 42 makes it return 47.
      expect(m.exportedFunction('deep')!.callWithContext(snapCtx())).toEqual([47n]);
    },
  },
  {
    name: 'memory is not rolled back by a restore (only execution state is)',
    run(m, env) {
      env.restoreWith.value = 3n;
      m.memory()!.writeUint32Le(8, 0);
      expect(m.exportedFunction('count')!.callWithContext(snapCtx(), 3)).toEqual([2n]);
      expect(m.memory()!.readUint32Le(8)).toBe(2);
    },
  },
  {
    name: 'a snapshot taken through call_indirect is restored through call_indirect',
    run(m, env) {
      env.restoreWith.value = 9n;
      expect(m.exportedFunction('indirect')!.callWithContext(snapCtx())).toEqual([1009n]);
    },
  },
  {
    name: "inside a tail-call chain (return_call_indirect, return_call): the chain's last frame comes back",
    run(m, env) {
      env.restoreWith.value = 100n;
      expect(m.exportedFunction('tail')!.callWithContext(snapCtx())).toEqual([115n]);
    },
  },
  {
    name: 'a snapshot in a host function reached by a tail call resumes its caller',
    run(m, env) {
      env.restoreWith.value = 33n;
      expect(m.exportedFunction('tailhost')!.callWithContext(snapCtx())).toEqual([33n]);
    },
  },
  {
    name: 'operands live across the call (i32, f64 through a multi-value block) and v128 locals come back',
    run(m, env) {
      env.restoreWith.value = 7n;
      // 100 + trunc(2.5) + lane 2 of (1,2,3,4) + 7: the v128 local set to zero after the snapshot rolls back.
      expect(m.exportedFunction('multi')!.callWithContext(snapCtx())).toEqual([112n]);
    },
  },
  {
    name: 'reference operands and locals come back (externref operand, funcref local)',
    run(m, env) {
      env.restoreWith.value = 4n;
      expect(m.exportedFunction('refs')!.callWithContext(snapCtx(), 0x1234n)).toEqual([0x1234n, 4n]);
    },
  },
  {
    name: 'a loop dispatching through br_table: the snapshot and the restore in different arms',
    run(m, env) {
      env.restoreWith.value = 50n;
      expect(m.exportedFunction('brtable')!.callWithContext(snapCtx())).toEqual([51n]);
    },
  },
  {
    name: 'deep recursion: 2000 frames come back',
    run(m, env) {
      env.restoreWith.value = 42n;
      expect(m.exportedFunction('deepn')!.callWithContext(snapCtx(), 2000)).toEqual([2042n]);
    },
  },
  {
    name: 'a trap after a restore shows its frames at their original offsets',
    async run(m, env) {
      env.restoreWith.value = 1n;
      const err = thrown(() => m.exportedFunction('trap')!.callWithContext(snapCtx()));
      expect(err).toBeInstanceOf(WasmRuntimeError);
      // Guest frames only: the interpreter also lists the restore host frame (offset -1) above them.
      const offsets = (err as { wasmOffsets?: number[] }).wasmOffsets!.filter((o) => o >= 0);
      expect(offsets).toEqual(await trapOffsets());
      expect((err as Error).message).toMatch(/\t\.boom\(i32\) i32\n\t\.\$\d+\(\) i32/);
    },
  },
  {
    name: 'getSnapshotter is undefined when the call was not made with withSnapshotter',
    run(m, env) {
      expect(() => m.exportedFunction('snapshot')!.call(0)).toThrow('no snapshotter');
      expect(env.snapshots.length).toBe(0);
    },
  },
  {
    name: 'restoring the snapshot of a finished call is a SnapshotError, and the runtime stays usable',
    run(m, env) {
      expect(m.exportedFunction('snapshot')!.callWithContext(snapCtx(), 0)).toEqual([0n]);
      expect(env.snapshots.length).toBe(1);
      // From another call: the error leaves through the restore host function.
      expect(() => m.exportedFunction('restore')!.callWithContext(snapCtx(), 0)).toThrow(SnapshotError);
      // From outside any call.
      expect(() => env.snapshots[0]!.restore([1n])).toThrow(SnapshotError);
      env.restoreWith.value = 5n;
      env.snapshots.length = 0;
      expect(m.exportedFunction('run')!.callWithContext(snapCtx())).toEqual([5n]);
    },
  },
  {
    name: 'a restore from a nested call unwinds through host frames (finally blocks run) to the call that took it',
    async run(m, env) {
      // The snapshot host function calls back into the guest, whose restore targets the outer call.
      env.log.length = 0;
      const r = env.r;
      let finallyRan = false;
      await r
        .newHostModuleBuilder('nested')
        .newFunctionBuilder()
        .withFunc(
          (ctx, mod) => {
            try {
              const s = getSnapshotter(ctx)!.snapshot();
              env.snapshots.push(s);
              mod.exportedFunction('restore')!.callWithContext(ctx, env.snapshots.length - 1);
              return 2;
            } finally {
              finallyRan = true;
            }
          },
          [I32],
          [I32],
        )
        .export('snapshot')
        .instantiate();
      const outer = await r.instantiateWithConfig(
        await wat(`(module (import "nested" "snapshot" (func $s (param i32) (result i32)))
          (import "example" "restore" (func $restore (param i32)))
          (func (export "snapshot") (param i32) (result i32) (call $s (local.get 0)))
          (func (export "restore") (param i32) (call $restore (local.get 0))))`),
        newModuleConfig().withName('outer'),
        snapCtx(),
      );
      env.restoreWith.value = 12n;
      expect(outer.exportedFunction('snapshot')!.callWithContext(snapCtx(), 0)).toEqual([12n]);
      expect(finallyRan).toBe(true);
    },
  },
];

/** Instantiates the "example" host module (snapshot, restore) in `r`. */
async function setUp(r: Runtime): Promise<Env> {
  const snapshots: Snapshot[] = [];
  const log: string[] = [];
  const restoreWith = { value: 0n, after: (): void => {} };
  await r
    .newHostModuleBuilder('example')
    .newFunctionBuilder()
    .withFunc(
      (ctx) => {
        const s = getSnapshotter(ctx);
        if (s === undefined) throw new Error('no snapshotter');
        snapshots.push(s.snapshot());
        return 0;
      },
      [I32],
      [I32],
    )
    .export('snapshot')
    .newFunctionBuilder()
    .withFunc(
      (_ctx, _mod, i: number) => {
        const value = restoreWith.value;
        restoreWith.after();
        snapshots[i]!.restore([value]);
      },
      [I32],
      [],
    )
    .export('restore')
    .instantiate();
  return { r, snapshots, restoreWith, log };
}

/** Offsets of the `unreachable` in $boom and of the `call $boom` in the "trap" export, from the binary. */
async function trapOffsets(): Promise<number[]> {
  const m = decodeModule(await wat(GUEST), 0x1ff);
  const walk = (funcIndex: number, want: (code: number, at: number) => boolean): number => {
    const body = m.codes[funcIndex - m.numImportedFuncs]!;
    const op = new Int32Array(1);
    for (let p = body.codeStart; p < body.codeEnd;) {
      const at = p;
      p = nextInstr(m.bytes, p, op);
      if (want(op[0]!, at)) return at;
    }
    throw new Error('not found');
  };
  const trap = m.exports.find((e) => e.name === 'trap')!.index;
  const call = walk(trap, (code, at) => code === 0x10 && readLeb(m.bytes, at + 1) >= m.numImportedFuncs);
  const boom = readLeb(m.bytes, call + 1);
  return [walk(boom, (code) => code === 0x00), call];
}

for (const engine of engines) {
  describe(`snapshots on the ${engine.name}`, () => {
    for (const interrupts of [false, true]) {
      for (const c of cases) {
        it(`${c.name}${interrupts ? ' (interrupt checks on)' : ''}`, async () => {
          const r = runtimeFor(engine, (cfg) => cfg.withCoreFeatures(FEATURES).withCloseOnContextDone(interrupts));
          try {
            const env = await setUp(r);
            const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'), snapCtx());
            await c.run(m, env);
          } finally {
            await r.close();
          }
        });
      }
    }

    it('with line coverage counters in the module: snapshots restore, and the counters count', async () => {
      const r = runtimeFor(engine, (cfg) => cfg.withCoreFeatures(FEATURES));
      try {
        const env = await setUp(r);
        env.restoreWith.value = 5n;
        const modules: BlockCoverage[] = [];
        const ctx = withBlockCoverage(snapCtx(), { addModule: (c) => void modules.push(c) });
        const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'), ctx);
        expect(m.exportedFunction('run')!.callWithContext(snapCtx())).toEqual([5n]);
        expect(modules.length).toBe(1);
        await m.close();
        expect(modules[0]!.counts.some((n) => n > 0)).toBe(true);
      } finally {
        await r.close();
      }
    });

    // With exception handling on, the compiler's listened bodies get unwind wrappers (catch_all_ref;
    // try + catch_all on Node 20): a restore passes them, and the events are the same.
    for (const [features, eh] of [
      [FEATURES, ''],
      [CoreFeaturesV3, ' (exception handling on)'],
    ] as const) {
      it(`listeners stay balanced: each frame a restore discards is aborted, innermost first, with the restore${eh}`, async () => {
        const r = runtimeFor(engine, (cfg) => cfg.withCoreFeatures(features));
        try {
          const snapshots: Snapshot[] = [];
          const log: string[] = [];
          const listener: FunctionListener = {
            before: (_c, _m, d) => void log.push(`B ${d.name()}`),
            after: (_c, _m, d, res) => void log.push(`A ${d.name()} ${[...res].join(',')}`),
            abort: (_c, _m, d, err) => void log.push(`X ${d.name()} ${(err as Error).name}`),
          };
          const lctx = withFunctionListenerFactory(
            Context.background(),
            functionListenerFactoryFunc(() => listener),
          );
          await r
            .newHostModuleBuilder('example')
            .newFunctionBuilder()
            .withFunc(
              (ctx) => {
                snapshots.push(getSnapshotter(ctx)!.snapshot());
                return 0;
              },
              [I32],
              [I32],
            )
            .export('snapshot')
            .newFunctionBuilder()
            .withFunc((_c, _m, i: number) => snapshots[i]!.restore([5n]), [I32], [])
            .export('restore')
            .instantiate(lctx);
          const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'), withSnapshotter(lctx));
          expect(m.exportedFunction('run')!.callWithContext(snapCtx())).toEqual([5n]);
          expect(log).toEqual([
            'B run',
            'B snapshot',
            'A snapshot 0',
            'B helper',
            'B restore',
            'X restore SnapshotRestore',
            'X helper SnapshotRestore',
            'A run 5',
          ]);
        } finally {
          await r.close();
        }
      });
    }
  });
}

/**
 * Compiler engine: the rewind pass runs only for modules compiled with `withSnapshotter(ctx)` on the
 * compile context (ARCHITECTURE.md); a snapshot with a frame of a module compiled without it fails
 * with a clear error naming the way out, and the runtime stays usable.
 */
for (const engine of engines.filter((e) => e.name === 'compiler')) {
  describe(`snapshots on the ${engine.name}: modules compiled without withSnapshotter`, () => {
    it('a snapshot fails with "not supported", naming withSnapshotter on the compile context', async () => {
      const r = runtimeFor(engine, (cfg) => cfg.withCoreFeatures(FEATURES));
      try {
        const env = await setUp(r);
        const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'));
        expect(() => m.exportedFunction('run')!.callWithContext(snapCtx())).toThrow(
          /^not supported: a snapshot on the compiler engine .*withSnapshotter\(ctx\) on the compile context/,
        );
        expect(env.snapshots.length).toBe(0);
        // Calls without snapshots run as usual.
        expect(m.exportedFunction('snapshot')).toBeDefined();
        const plain = await r.instantiateWithConfig(
          await wat('(module (func (export "f") (result i32) (i32.const 3)))'),
          newModuleConfig().withName('plain'),
        );
        expect(plain.exportedFunction('f')!.callWithContext(snapCtx())).toEqual([3n]);
      } finally {
        await r.close();
      }
    });

    it('async calls (callAsync) refuse snapshots where JS Promise Integration runs them; without it they run synchronously', async () => {
      const r = runtimeFor(engine, (cfg) => cfg.withCoreFeatures(FEATURES));
      try {
        const env = await setUp(r);
        env.restoreWith.value = 5n;
        const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'), snapCtx());
        const p = m.exportedFunction('run')!.callWithContextAsync(snapCtx());
        if (hasJspi) await expect(p).rejects.toThrow(/^not supported: snapshots in async calls \(callAsync\) on the compiler engine/);
        else await expect(p).resolves.toEqual([5n]);
      } finally {
        await r.close();
      }
    });

    it('a guest module compiled for snapshots calling one compiled without: the snapshot names the function', async () => {
      const r = runtimeFor(engine, (cfg) => cfg.withCoreFeatures(FEATURES));
      try {
        await setUp(r);
        await r.instantiateWithConfig(
          await wat(`(module (import "example" "snapshot" (func $s (param i32) (result i32)))
            (func $inner (export "inner") (result i32) (call $s (i32.const 0))))`),
          newModuleConfig().withName('lib'),
        );
        const m = await r.instantiateWithConfig(
          await wat(`(module (import "lib" "inner" (func $inner (result i32)))
            (func (export "outer") (result i32) (call $inner)))`),
          newModuleConfig().withName('app'),
          snapCtx(),
        );
        expect(() => m.exportedFunction('outer')!.callWithContext(snapCtx())).toThrow(/not supported: .*function \.inner was not/);
      } finally {
        await r.close();
      }
    });
  });
}
