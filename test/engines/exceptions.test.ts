/**
 * Exception handling at the API: ONE table of cases, run on every engine, so the interpreter and the
 * compiler cannot drift apart.
 *
 * Semantics fixed here (both engines):
 * - An exception no guest frame catches leaves the call as a `WasmException` carrying its tag and
 *   its raw payload (values as `Function.call` returns them), never as a `WasmRuntimeError`.
 * - Guests catch exceptions — their own, other modules', and the `WasmException` a host function
 *   throws — but never traps, and never another error from the host (an exit, a listener's error, a
 *   trap of a nested call): those pass every `catch_all`.
 * - Tags compare by identity: a tag one module exports and another imports is the same tag;
 *   `newTag` makes a host tag a host module exports with `exportTag`; `exportedTag` finds a guest's.
 * - Listeners: every frame an exception unwinds past gets `abort` (its error the WasmException), the
 *   frame that catches it does not, and goes on to its `after`.
 * - An exception crosses nested invocations: a guest called from a host function may throw to a
 *   guest frame below the host function.
 * - Snapshots (withSnapshotter; the compiler engine's rewind pass): a snapshot inside or around a
 *   try_table restores with its handlers active again; no catch_all catches a restore.
 * Both encodings: `try_table`/`throw_ref`/`exnref` (the compiler engine needs Node >= 24 for it and
 * refuses it clearly on Node 20), and the legacy `try`/`catch`/`delegate`/`rethrow` (every Node).
 */
import { describe, expect, it } from 'vitest';
import {
  CoreFeaturesV3,
  exportedTag,
  functionListenerFactoryFunc,
  getSnapshotter,
  newTag,
  withSnapshotter,
  type Snapshot,
  withFunctionListenerFactory,
  type FunctionListener,
  type Tag,
} from '../../src/experimental.js';
import { Context, ExitError, HostFunctionError, WasmException, WasmRuntimeError, newModuleConfig, type Runtime } from '../../src/index.js';
import type { FunctionDefinition, Module } from '../../src/api.js';
import { v8Features } from '../../src/compiler-native/support.js';
import { engines, runtimeFor, thrown, wat3 } from '../helpers.js';

const I32 = 0x7f;

const GUEST = `(module
  (import "host" "t" (tag $ht (param i32)))
  (import "host" "throwHost" (func $throwHost (param i32)))
  (import "host" "fail" (func $fail))
  (import "host" "exit" (func $exit))
  (tag $e (export "e") (param i32 i64))
  (func $thrower (export "throw") (param i32) (throw $e (local.get 0) (i64.const 7)))
  (func (export "catchOwn") (param i32) (result i32)
    (block $h (result i32 i64)
      (try_table (catch $e $h) (call $thrower (local.get 0)))
      (return (i32.const -1)))
    (drop))
  (func (export "catchHost") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $ht $h) (call $throwHost (local.get 0)))
      (return (i32.const -1))))
  (func (export "catchAllHostError") (result i32)
    (block $h (try_table (catch_all $h) (call $fail)) (return (i32.const 0)))
    (i32.const 1))
  (func (export "catchAllExit") (result i32)
    (block $h (try_table (catch_all $h) (call $exit)) (return (i32.const 0)))
    (i32.const 1))
  (func (export "catchAllTrap") (result i32)
    (block $h (try_table (catch_all $h) (unreachable)) (return (i32.const 0)))
    (i32.const 1))
  (func (export "rethrowRef") (param i32) (result i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call $thrower (local.get 0)))
      (return (i32.const 0)))
    (throw_ref))
)`;

const LEGACY = `(module
  (tag $e (export "e") (param i32))
  (func $thrower (param i32) (throw $e (local.get 0)))
  (func (export "throw") (param i32) (call $thrower (local.get 0)))
  (func (export "legacy") (param i32) (result i32)
    (try (result i32)
      (do (call $thrower (local.get 0)) (i32.const -1))
      (catch $e (i32.add (i32.const 100)))))
  (func (export "legacyRethrow") (param i32) (result i32)
    (try (result i32)
      (do (try (result i32) (do (call $thrower (local.get 0)) (i32.const -1)) (catch_all (rethrow 0))))
      (catch $e)))
  (func (export "legacyDelegate") (param i32) (result i32)
    (try $outer (result i32)
      (do (try (do (call $thrower (local.get 0))) (delegate $outer)) (i32.const -1))
      (catch $e)))
)`;

const LISTENED = `(module
  (tag $e (param i32))
  (func $h (param i32) (throw $e (local.get 0)))
  (func $g (param i32) (call $h (local.get 0)))
  (func $f (export "f") (param i32) (result i32)
    (block $c (result i32)
      (try_table (catch $e $c) (call $g (local.get 0)))
      (return (i32.const -1))))
)`;

const LISTENED_LEGACY = `(module
  (tag $e (param i32))
  (func $h (param i32) (throw $e (local.get 0)))
  (func $g (param i32) (call $h (local.get 0)))
  (func $f (export "f") (param i32) (result i32)
    (try (result i32) (do (call $g (local.get 0)) (i32.const -1)) (catch $e)))
)`;

const TRACED = `(module
  (tag $e)
  (func $inner (unreachable))
  (func $middle (block $h (try_table (catch $e $h) (call $inner))))
  (func $outer (export "outer") (call $middle))
)`;

/**
 * Snapshots across try_table (host module `snap`: `take` snapshots and returns 0, `jump` restores
 * the last snapshot with 7). Each export returns its expected result only when the restore resumed
 * right after `take` with the try_table's handler active again, and no handler caught the restore.
 */
const SNAPSHOT_EH = `(module
  (import "snap" "take" (func $take (result i32)))
  (import "snap" "jump" (func $jump))
  (import "snap" "takeJump" (func $takeJump (result i32)))
  (import "snap" "nested" (func $nested))
  (import "snap" "jumpFinally" (func $jumpFinally))
  (import "snap" "fail" (func $fail))
  (tag $e (param i32))
  ;; The snapshot and the restore inside one try_table; the throw after the restore is caught (7 + 100).
  (func (export "inside") (result i32) (local $x i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (local.set $x (call $take))
        (if (i32.eqz (local.get $x)) (then (call $jump)))
        (throw $e (local.get $x)))
      (unreachable))
    (i32.add (i32.const 100)))
  ;; The snapshot two frames below the try_table; the exception thrown there after the restore.
  (func $inner (param i32) (result i32) (local $x i32)
    (local.set $x (i32.add (local.get 0) (call $take)))
    (if (i32.eq (local.get $x) (local.get 0)) (then (call $jump)))
    (throw $e (local.get $x)))
  (func $middle (param i32) (result i32) (i32.mul (call $inner (local.get 0)) (i32.const 2)))
  (func (export "below") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h) (call $middle (local.get 0)))
      (return))
    (i32.add (i32.const 1000)))
  ;; The restore from a catch handler's code (the snapshot before the try_table): 7 + 7.
  (func (export "fromHandler") (result i32) (local $x i32)
    (local.set $x (call $take))
    (block $h (result i32)
      (try_table (catch $e $h) (throw $e (local.get $x)))
      (unreachable))
    (if (i32.eqz) (then (call $jump)))
    (i32.add (local.get $x) (local.get $x)))
  ;; The snapshot in a catch handler's code, the restore after it: 5 + 7.
  (func (export "inHandler") (result i32) (local $x i32)
    (block $h (result i32)
      (try_table (catch $e $h) (throw $e (i32.const 5)))
      (unreachable))
    (local.set $x (i32.add (call $take)))
    (if (i32.eq (local.get $x) (i32.const 5)) (then (call $jump)))
    (local.get $x))
  ;; catch_all around the restoring call: the restore passes it (7, not -1).
  (func (export "catchAll") (result i32) (local $x i32)
    (local.set $x (call $take))
    (block $h
      (try_table (catch_all $h) (if (i32.eqz (local.get $x)) (then (call $jump))))
      (return (local.get $x)))
    (i32.const -1))
  ;; catch_all_ref around the restoring call, its exnref the result of a block holding the site.
  (func (export "catchAllRef") (result i32) (local $x i32)
    (local.set $x (call $take))
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (if (i32.eqz (local.get $x)) (then (call $jump))))
      (return (local.get $x)))
    (drop)
    (i32.const -1))
  ;; A restore of the snapshot its own host call took (still pending), under catch_all: 9.
  (func (export "pending") (result i32)
    (block $h (try_table (catch_all $h) (return (call $takeJump))))
    (i32.const -1))
  ;; A restore from a nested call (the host function calls the guest's "jumper" export), through
  ;; guest frames under catch_all in both calls: 7.
  (func (export "jumper")
    (block $h (try_table (catch_all $h) (call $jump))))
  ;; The restoring host function's finally calls "failing" (a host error, caught by that finally).
  (func (export "failing") (call $fail))
  (func (export "finallyRestore") (result i32) (local $x i32)
    (local.set $x (call $take))
    (block $h
      (try_table (catch_all $h) (if (i32.eqz (local.get $x)) (then (call $jumpFinally))))
      (return (local.get $x)))
    (i32.const -1))
  (func (export "nestedRestore") (result i32) (local $x i32)
    (local.set $x (call $take))
    (block $h
      (try_table (catch_all $h) (if (i32.eqz (local.get $x)) (then (call $nested))))
      (return (local.get $x)))
    (i32.const -1))
)`;

const REENTER = `(module
  (import "host" "reenter" (func $reenter (param i32)))
  (tag $e (export "e") (param i32))
  (func (export "inner") (param i32) (throw $e (local.get 0)))
  (func (export "outer") (param i32) (result i32)
    (block $c (result i32)
      (try_table (catch $e $c) (call $reenter (local.get 0)))
      (return (i32.const -1))))
)`;

/** Host module `host`: a tag, a function throwing it, one failing, one exiting, one re-entering the guest. */
async function hostModule(r: Runtime, tag: Tag): Promise<void> {
  await r
    .newHostModuleBuilder('host')
    .exportTag('t', tag)
    .newFunctionBuilder()
    .withFunc(
      (_ctx: Context, _mod: Module, x: number) => {
        throw new WasmException(tag, [BigInt(x >>> 0)]);
      },
      [I32],
      [],
    )
    .export('throwHost')
    .newFunctionBuilder()
    .withFunc(
      () => {
        throw new Error('boom');
      },
      [],
      [],
    )
    .export('fail')
    .newFunctionBuilder()
    .withFunc(
      () => {
        throw new ExitError(3);
      },
      [],
      [],
    )
    .export('exit')
    .newFunctionBuilder()
    .withFunc(
      (_ctx: Context, mod: Module, x: number) => {
        mod.exportedFunction('inner')!.call(x);
      },
      [I32],
      [],
    )
    .export('reenter')
    .instantiate();
}

/** Instantiates `src`, or returns undefined when this engine refuses its features here (Node 20's compiler). */
async function instantiateOrSkip(r: Runtime, src: string, ctx?: Context): Promise<Module | undefined> {
  const bytes = await wat3(src);
  try {
    return await r.instantiateModule(await r.compileModule(bytes, ctx), (await import('../../src/index.js')).newModuleConfig(), ctx);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('not supported')) return undefined;
    throw e;
  }
}

for (const engine of engines) {
  describe(`exceptions on the ${engine.name}`, () => {
    const setup = async (src: string, ctx?: Context): Promise<{ r: Runtime; mod: Module | undefined; tag: Tag }> => {
      const r = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV3));
      const tag = newTag([I32]);
      await hostModule(r, tag);
      return { r, mod: await instantiateOrSkip(r, src, ctx), tag };
    };

    it('an uncaught exception leaves the call as a WasmException with its tag and payload', async (t) => {
      const { r, mod } = await setup(GUEST);
      if (mod === undefined) return t.skip();
      const e = thrown(() => mod.exportedFunction('throw')!.call(5));
      expect(e).toBeInstanceOf(WasmException);
      expect(e).not.toBeInstanceOf(WasmRuntimeError);
      expect((e as WasmException).tag).toBe(exportedTag(mod, 'e'));
      expect((e as WasmException).payload).toEqual([5n, 7n]);
      expect((e as WasmException).tag.params()).toEqual([0x7f, 0x7e]);
      await r.close();
    });

    it('a guest catches its own exception, the host’s, and rethrows one with throw_ref', async (t) => {
      const { r, mod, tag } = await setup(GUEST);
      if (mod === undefined) return t.skip();
      expect(mod.exportedFunction('catchOwn')!.call(42)).toEqual([42n]);
      expect(mod.exportedFunction('catchHost')!.call(9)).toEqual([9n]);
      const e = thrown(() => mod.exportedFunction('rethrowRef')!.call(11));
      expect(e).toBeInstanceOf(WasmException);
      expect((e as WasmException).payload).toEqual([11n, 7n]);
      expect(exportedTag(mod, 'e')).not.toBe(tag);
      await r.close();
    });

    it('catch_all catches neither a trap nor another host error', async (t) => {
      const { r, mod } = await setup(GUEST);
      if (mod === undefined) return t.skip();
      expect(thrown(() => mod.exportedFunction('catchAllTrap')!.call())).toBeInstanceOf(WasmRuntimeError);
      const boom = thrown(() => mod.exportedFunction('catchAllHostError')!.call());
      expect(boom).toBeInstanceOf(HostFunctionError);
      expect(((boom as HostFunctionError).cause as Error).message).toBe('boom');
      expect(thrown(() => mod.exportedFunction('catchAllExit')!.call())).toBeInstanceOf(ExitError);
      await r.close();
    });

    it('the legacy encoding: catch, catch_all with rethrow, delegate', async (t) => {
      const { r, mod } = await setup(LEGACY);
      if (mod === undefined) return t.skip();
      expect(mod.exportedFunction('legacy')!.call(1)).toEqual([101n]);
      expect(mod.exportedFunction('legacyRethrow')!.call(2)).toEqual([2n]);
      expect(mod.exportedFunction('legacyDelegate')!.call(3)).toEqual([3n]);
      const e = thrown(() => mod.exportedFunction('throw')!.call(4));
      expect(e).toBeInstanceOf(WasmException);
      expect((e as WasmException).payload).toEqual([4n]);
      await r.close();
    });

    for (const [encoding, src] of [
      ['try_table', LISTENED],
      ['legacy try', LISTENED_LEGACY],
    ] as const) {
      it(`listeners (${encoding}): the frames an exception unwinds get abort, the catching frame its after`, async (t) => {
        const log: string[] = [];
        const errors: unknown[] = [];
        const listener: FunctionListener = {
          before: (_c: Context, _m: Module, def: FunctionDefinition) => log.push(`B ${def.name()}`),
          after: (_c: Context, _m: Module, def: FunctionDefinition, results: BigUint64Array) =>
            log.push(`A ${def.name()} ${results.join(',')}`),
          abort: (_c: Context, _m: Module, def: FunctionDefinition, err: unknown) => {
            log.push(`X ${def.name()}`);
            errors.push(err);
          },
        };
        const ctx = withFunctionListenerFactory(
          Context.background(),
          functionListenerFactoryFunc(() => listener),
        );
        const { r, mod } = await setup(src, ctx);
        if (mod === undefined) return t.skip();
        expect(mod.exportedFunction('f')!.call(8)).toEqual([8n]);
        expect(log).toEqual(['B f', 'B g', 'B h', 'X h', 'X g', 'A f 8']);
        // The compiler engine hands abort the exception where V8 has exnref (Node >= 24).
        if (engine.name === 'interpreter' || typeof (WebAssembly as { JSTag?: unknown }).JSTag !== 'undefined') {
          for (const err of errors) expect((err as WasmException).payload).toEqual([8n]);
        }
        await r.close();
      });
    }

    it('a module needing a feature this V8 lacks is refused naming the feature and the way out', async () => {
      const r = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV3));
      const bytes = await wat3(LISTENED);
      const err = await r.compileModule(bytes).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (err !== undefined) {
        // Only the compiler engine on a V8 without exnref (Node 20) refuses try_table.
        expect(engine.name).toBe('compiler');
        expect((err as Error).message).toMatch(/^not supported: try_table .*Node >= 24, or the interpreter/);
      }
      await r.close();
    });

    it('a trap inside try_table keeps its wasm stack trace', async (t) => {
      const { r, mod } = await setup(TRACED);
      if (mod === undefined) return t.skip();
      const e = thrown(() => mod.exportedFunction('outer')!.call());
      expect(e).toBeInstanceOf(WasmRuntimeError);
      expect((e as WasmRuntimeError).stackFrames.map((f) => f.split('(')[0])).toEqual(['.inner', '.middle', '.outer']);
      await r.close();
    });

    /** Whether try_table runs on this engine here (the compiler engine needs exnref: Node >= 24). */
    const exnrefHere = engine.name === 'interpreter' || v8Features().exnref;

    /** The `snap` host module of SNAPSHOT_EH; `jump` restores the last snapshot with 7. */
    const snapHost = async (r: Runtime): Promise<void> => {
      const saved: Snapshot[] = [];
      let pendingRestores = 0;
      await r
        .newHostModuleBuilder('snap')
        .newFunctionBuilder()
        .withFunc(
          (ctx: Context) => {
            saved.push(getSnapshotter(ctx)!.snapshot());
            return 0;
          },
          [],
          [I32],
        )
        .export('take')
        .newFunctionBuilder()
        .withFunc(() => saved.at(-1)!.restore([7n]), [], [])
        .export('jump')
        .newFunctionBuilder()
        .withFunc(
          (ctx: Context) => {
            const s = getSnapshotter(ctx)!.snapshot();
            if (pendingRestores++ === 0) s.restore([9n]);
            return 0;
          },
          [],
          [I32],
        )
        .export('takeJump')
        .newFunctionBuilder()
        .withFunc((ctx: Context, mod: Module) => void mod.exportedFunction('jumper')!.callWithContext(ctx), [], [])
        .export('nested')
        .newFunctionBuilder()
        .withFunc(
          (ctx: Context, mod: Module) => {
            try {
              saved.at(-1)!.restore([7n]);
            } finally {
              try {
                mod.exportedFunction('failing')!.callWithContext(ctx);
              } catch {
                // a cleanup that failed
              }
            }
          },
          [],
          [],
        )
        .export('jumpFinally')
        .newFunctionBuilder()
        .withFunc(
          () => {
            throw new Error('cleanup failed');
          },
          [],
          [],
        )
        .export('fail')
        .instantiate();
    };

    for (const [name, fn, args, want] of [
      ['a snapshot taken inside try_table restores into it, and its handler still catches', 'inside', [], 107n],
      ['a snapshot two frames below a try_table: after the restore the exception thrown there is caught', 'below', [3], 1010n],
      ["a restore from a catch handler's code", 'fromHandler', [], 14n],
      ["a snapshot taken in a catch handler's code (the payload an operand across it) restores", 'inHandler', [], 12n],
      ['catch_all around the restoring call does not catch the restore', 'catchAll', [], 7n],
      ['catch_all_ref around the restoring call does not catch the restore', 'catchAllRef', [], 7n],
      ['a restore of a pending snapshot (its own host call) under catch_all', 'pending', [], 9n],
      ['a restore from a nested call passes catch_all in both calls', 'nestedRestore', [], 7n],
      ["a restore whose host function's finally calls a guest that fails arrives", 'finallyRestore', [], 7n],
    ] as const) {
      it(`snapshots: ${name}`, async (t) => {
        if (!exnrefHere) return t.skip('the compiler engine refuses try_table without exnref (Node 20)');
        const r = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV3));
        try {
          await snapHost(r);
          // On the compiler engine the module is compiled for snapshots (the rewind pass).
          const snapCtx = withSnapshotter(Context.background());
          const mod = await r.instantiateModule(await r.compileModule(await wat3(SNAPSHOT_EH), snapCtx), newModuleConfig(), snapCtx);
          expect(mod.exportedFunction(fn)!.callWithContext(snapCtx, ...args)).toEqual([want]);
        } finally {
          await r.close();
        }
      });
    }

    it('compiled for snapshots, a module catches and rethrows as without (no snapshot taken)', async (t) => {
      if (!exnrefHere) return t.skip('the compiler engine refuses try_table without exnref (Node 20)');
      const { r, mod, tag } = await setup(GUEST, withSnapshotter(Context.background()));
      if (mod === undefined) throw new Error('refused');
      for (const ctx of [Context.background(), withSnapshotter(Context.background())]) {
        expect(mod.exportedFunction('catchOwn')!.callWithContext(ctx, 42)).toEqual([42n]);
        expect(mod.exportedFunction('catchHost')!.callWithContext(ctx, 9)).toEqual([9n]);
        const e = thrown(() => mod.exportedFunction('rethrowRef')!.callWithContext(ctx, 11));
        expect(e).toBeInstanceOf(WasmException);
        expect((e as WasmException).payload).toEqual([11n, 7n]);
        expect(exportedTag(mod, 'e')).not.toBe(tag);
        expect(thrown(() => mod.exportedFunction('catchAllTrap')!.callWithContext(ctx))).toBeInstanceOf(WasmRuntimeError);
        const boom = thrown(() => mod.exportedFunction('catchAllHostError')!.callWithContext(ctx));
        expect(boom).toBeInstanceOf(HostFunctionError);
        expect(((boom as HostFunctionError).cause as Error).message).toBe('boom');
        expect(thrown(() => mod.exportedFunction('catchAllExit')!.callWithContext(ctx))).toBeInstanceOf(ExitError);
      }
      await r.close();
    });

    it('compiled for snapshots, an exception crossing nested invocations is caught as without', async (t) => {
      if (!exnrefHere) return t.skip('the compiler engine refuses try_table without exnref (Node 20)');
      const { r, mod } = await setup(REENTER, withSnapshotter(Context.background()));
      if (mod === undefined) throw new Error('refused');
      expect(mod.exportedFunction('outer')!.callWithContext(withSnapshotter(Context.background()), 6)).toEqual([6n]);
      await r.close();
    });

    it('snapshots: a host function that throws after taking a snapshot: the guest catches it, and a restore makes the call return', async (t) => {
      if (!exnrefHere) return t.skip('the compiler engine refuses try_table without exnref (Node 20)');
      const r = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV3));
      try {
        const tag = newTag([I32]);
        let saved: Snapshot | undefined;
        let jumps = 0;
        await r
          .newHostModuleBuilder('thrown')
          .exportTag('t', tag)
          .newFunctionBuilder()
          .withFunc(
            (ctx: Context) => {
              saved = getSnapshotter(ctx)!.snapshot();
              throw new WasmException(tag, [1n]);
            },
            [],
            [I32],
          )
          .export('takeThrow')
          .newFunctionBuilder()
          .withFunc(() => void (jumps++ === 0 && saved!.restore([40n])), [], [])
          .export('jump')
          .instantiate();
        // The handler gets the payload (1) and restores: takeThrow returns 40 and the code after it runs.
        const src = `(module
          (import "thrown" "t" (tag $t (param i32)))
          (import "thrown" "takeThrow" (func $takeThrow (result i32)))
          (import "thrown" "jump" (func $jump))
          (func $inner (result i32) (i32.mul (call $takeThrow) (i32.const 2)))
          (func (export "run") (result i32) (local $x i32) (local $p i32)
            (block $h (result i32)
              (try_table (catch $t $h) (local.set $x (call $inner)))
              (call $jump)
              (return (i32.add (local.get $x) (i32.const 1))))
            (local.set $p)
            (i32.store (i32.const 0) (local.get $p))
            (call $jump)
            (i32.const -1))
          (memory (export "memory") 1))`;
        const snapCtx = withSnapshotter(Context.background());
        const mod = await r.instantiateModule(await r.compileModule(await wat3(src), snapCtx), newModuleConfig(), snapCtx);
        expect(mod.exportedFunction('run')!.callWithContext(snapCtx)).toEqual([81n]);
        expect(mod.memory()!.readUint32Le(0)).toBe(1); // the payload the handler got
        expect(jumps).toBe(2);
      } finally {
        await r.close();
      }
    });

    it('snapshots: the compiler engine refuses the legacy encoding and exnref values it would have to save', async (t) => {
      if (engine.name !== 'compiler' || !exnrefHere) return t.skip('the rewind pass is the compiler engine’s, try_table needs exnref');
      const r = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV3));
      try {
        await snapHost(r);
        const snapCtx = withSnapshotter(Context.background());
        const compile = async (src: string): Promise<unknown> =>
          r.compileModule(await wat3(src), snapCtx).then(
            () => undefined,
            (e: unknown) => e,
          );
        const legacy = await compile(LEGACY.replace('(module', '(module (import "snap" "jump" (func $jump))'));
        expect((legacy as Error).message).toMatch(
          /^not supported: .* legacy exception-handling encoding \(try\/catch\/delegate\/rethrow\)/,
        );
        const local = await compile(`(module (import "snap" "jump" (func $jump))
          (func (export "f") (local exnref) (call $jump)))`);
        expect((local as Error).message).toMatch(/^not supported: .*keeps an exnref/);
        const across = await compile(`(module (import "snap" "jump" (func $jump))
          (func (export "f") (block $h (result exnref) (try_table (catch_all_ref $h) (call $jump)) (return))
            (call $jump) (throw_ref)))`);
        expect((across as Error).message).toMatch(/^not supported: .*keeps an exnref/);
        // Without withSnapshotter the same modules compile.
        expect(await r.compileModule(await wat3(LEGACY))).toBeDefined();
      } finally {
        await r.close();
      }
    });

    it('an exception thrown in a nested invocation reaches the guest below the host function', async (t) => {
      const { r, mod } = await setup(REENTER);
      if (mod === undefined) return t.skip();
      expect(mod.exportedFunction('outer')!.call(6)).toEqual([6n]);
      await r.close();
    });
  });
}
