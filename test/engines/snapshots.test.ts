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
import { Context, SnapshotError, newModuleConfig, type Runtime } from '../../src/index.js';
import type { Module } from '../../src/api.js';
import { ValueType } from '../../src/api.js';
import {
  functionListenerFactoryFunc,
  getSnapshotter,
  withFunctionListenerFactory,
  withSnapshotter,
  type FunctionListener,
  type Snapshot,
} from '../../src/experimental.js';
import { engines, runtimeFor, wat } from '../helpers.js';

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

for (const engine of engines) {
  describe(`snapshots on the ${engine.name}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = runtimeFor(engine);
        const snapshots: Snapshot[] = [];
        const log: string[] = [];
        const restoreWith = { value: 0n, after: (): void => {} };
        try {
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
          const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'), snapCtx());
          await c.run(m, { r, snapshots, restoreWith, log });
        } finally {
          await r.close();
        }
      });
    }

    it('listeners stay balanced: each frame a restore discards is aborted, innermost first, with the restore', async () => {
      const r = runtimeFor(engine);
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
  });
}
