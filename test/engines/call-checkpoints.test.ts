/**
 * Mid-call checkpoints of async calls (`PendingCall.checkpoint`, `suspend(ctx)`, `requestSuspend`,
 * `resumeCall`), on the interpreter; the compiler engine refuses them. Semantics:
 * - while a `callAsync` call waits at an async host function, `checkpoint()` gives bytes holding its
 *   machine state (frames, value stack, pcs) and the module's state; `resumeCall` in a fresh runtime
 *   with the same module (same name) and host modules continues it — re-running the host function,
 *   or giving it `results` — to the result the uninterrupted call gives;
 * - `suspend(ctx)` in a host function stops the call (CallSuspendedError with the checkpoint); the
 *   resumed call re-runs that host function, where `suspend` returns;
 * - refusals are clear and change nothing: a synchronous host frame between (guest→host→guest
 *   re-entry), another module binary, a missing module, a host import bound to something else,
 *   other lowering options, a changed code layout, host references on the stack, bad results.
 */
import { describe, expect, it } from 'vitest';
import {
  CallSuspendedError,
  Context,
  newModuleConfig,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  resumeCall,
  suspend,
  type PendingCall,
  type Runtime,
} from '../../src/index.js';
import type { Module } from '../../src/api.js';
import { ValueType } from '../../src/api.js';
import { CheckpointError, checkpoint } from '../../src/snapshot.js';
import { CoreFeaturesV3, functionListenerFactoryFunc, withFunctionListenerFactory } from '../../src/experimental.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/snapshot/format.js';
import { engines, runtimeFor, thrown, wat, wat3 } from '../helpers.js';

const { I32, I64, Externref } = ValueType;

/**
 * Recursion with locals of every kind (i32, f64, a funcref), a call_indirect, memory and a global;
 * the async `env.fetch` at the bottom and in a loop; `env.stop` is synchronous (it may suspend).
 */
const GUEST = `(module
  (import "env" "fetch" (func $fetch (param i32) (result i32)))
  (import "env" "stop" (func $stop (param i32) (result i32)))
  (import "env" "nested" (func $nested (param i32) (result i32)))
  (type $t (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $g (export "g") (mut i64) (i64.const 0))
  (table 2 funcref)
  (elem (i32.const 0) $sq $sq)
  (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func $walk (export "walk") (param $n i32) (result i64) (local $f f64) (local $r funcref)
    (local.set $f (f64.mul (f64.convert_i32_s (local.get $n)) (f64.const 1.5)))
    (local.set $r (ref.func $sq))
    (i32.store (i32.mul (local.get $n) (i32.const 4)) (i32.add (local.get $n) (i32.const 1000)))
    (global.set $g (i64.add (i64.mul (global.get $g) (i64.const 31)) (i64.extend_i32_u (local.get $n))))
    (if (result i64) (i32.eqz (local.get $n))
      (then (i64.extend_i32_u (call $fetch (i32.const 7))))
      (else
        (i64.add
          (i64.mul (call $walk (i32.sub (local.get $n) (i32.const 1))) (i64.const 3))
          (i64.add
            (i64.trunc_f64_s (local.get $f))
            (i64.extend_i32_u (call_indirect (type $t) (local.get $n) (i32.const 1))))))))
  (func (export "loop") (param $k i32) (result i64) (local $i i32) (local $acc i64)
    (loop $l
      (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
        (i64.extend_i32_u (call $fetch (local.get $i)))))
      (i32.store offset=1024 (i32.mul (local.get $i) (i32.const 4)) (i32.wrap_i64 (local.get $acc)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $k))))
    (local.get $acc))
  (func (export "stopping") (param $x i32) (result i32)
    (i32.add (call $stop (i32.mul (local.get $x) (i32.const 2))) (call $sq (local.get $x))))
  (func (export "reenter") (param $x i32) (result i32) (call $nested (local.get $x)))
  (func (export "inner") (param $x i32) (result i32) (call $stop (local.get $x)))
  (func (export "fetch_inner") (param $x i32) (result i32) (call $fetch (local.get $x))))`;

/** How the host functions of one runtime behave. */
interface Host {
  /** env.fetch answers `x * 10 + 3` once `gate` resolves. */
  gate: Promise<void>;
  fetched: number[];
  /** env.stop calls suspend(ctx) when true. */
  stopping: boolean;
  /** Called by env.fetch, synchronously, before it waits. */
  onFetch: ((x: number) => void) | undefined;
  /** The guest module, for env.nested. */
  guest: Module | undefined;
}

async function setup(r: Runtime, name = 'guest', source = GUEST, compileCtx?: Context): Promise<{ m: Module; host: Host }> {
  const host: Host = { gate: Promise.resolve(), fetched: [], stopping: false, onFetch: undefined, guest: undefined };
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withAsyncFunc(
      async (_ctx, _m, x: number) => {
        host.fetched.push(x);
        host.onFetch?.(x);
        await host.gate;
        return x * 10 + 3;
      },
      [I32],
      [I32],
    )
    .export('fetch')
    .newFunctionBuilder()
    .withFunc(
      (ctx, _m, x: number) => {
        if (host.stopping) suspend(ctx);
        return x + 1;
      },
      [I32],
      [I32],
    )
    .export('stop')
    .newFunctionBuilder()
    .withFunc((ctx, _m, x: number) => Number(host.guest!.exportedFunction('inner')!.callWithContext(ctx, x)[0]), [I32], [I32])
    .export('nested')
    .instantiate();
  const m = await r.instantiateModule(await r.compileModule(await wat(source), compileCtx), newModuleConfig().withName(name));
  host.guest = m;
  return { m, host };
}

/** A gate and its opener. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Lets the call run up to where it waits. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The result, memory bytes and global of an uninterrupted call. */
async function uninterrupted(fn: string, arg: number): Promise<{ result: bigint[]; mem: Uint8Array; g: bigint }> {
  const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
  try {
    const { m } = await setup(r);
    const result = await m.exportedFunction(fn)!.callAsync(arg);
    return { result, mem: m.memory()!.read(0, 4096)!.slice(), g: m.exportedGlobal('g')!.get() };
  } finally {
    await r.close();
  }
}

/** A checkpoint of `fn(arg)` taken while it waits at its `at`-th fetch (0-based); the original call finishes. */
async function checkpointAt(fn: string, arg: number, at = 0): Promise<Uint8Array> {
  const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
  try {
    const { m, host } = await setup(r);
    const gates: Array<() => void> = [];
    host.onFetch = () => {
      const g = gate();
      host.gate = g.promise;
      gates.push(g.open);
    };
    const p = m.exportedFunction(fn)!.callAsync(arg);
    for (let k = 0; k < at; k++) {
      await settle();
      gates[k]!();
    }
    await settle();
    const bytes = p.checkpoint();
    host.onFetch = undefined;
    host.gate = Promise.resolve();
    gates[at]!();
    await p;
    return bytes;
  } finally {
    await r.close();
  }
}

describe('mid-call checkpoints on the interpreter', () => {
  it('a call checkpointed at an async host call resumes in a fresh runtime to the uninterrupted result, memory and globals', async () => {
    const want = await uninterrupted('walk', 6);
    const bytes = await checkpointAt('walk', 6);
    const r2 = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const { m, host } = await setup(r2);
    expect(await resumeCall(r2, bytes)).toEqual(want.result);
    // The suspended host call ran again, with the same params.
    expect(host.fetched).toEqual([7]);
    expect(m.memory()!.read(0, 4096)).toEqual(want.mem);
    expect(m.exportedGlobal('g')!.get()).toBe(want.g);
    await r2.close();
  });

  it('a checkpoint taken at the third of five host calls in a loop resumes to the same result', async () => {
    const want = await uninterrupted('loop', 5);
    const bytes = await checkpointAt('loop', 5, 2);
    const r2 = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const { m, host } = await setup(r2);
    expect(await resumeCall(r2, bytes)).toEqual(want.result);
    expect(host.fetched).toEqual([2, 3, 4]);
    expect(m.memory()!.read(0, 4096)).toEqual(want.mem);
    await r2.close();
  });

  it('resumeCall with results gives them to the suspended host call without running it again', async () => {
    const bytes = await checkpointAt('loop', 2, 1);
    const r2 = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const { host } = await setup(r2);
    // acc = fetch(0) = 3; then acc * 1000003 + 99.
    expect(await resumeCall(r2, bytes, { results: [99n] })).toEqual([3n * 1000003n + 99n]);
    expect(host.fetched).toEqual([]);
    await r2.close();
  });

  it('a resumed call can be checkpointed again and resumed in a third runtime', async () => {
    const want = await uninterrupted('loop', 4);
    const first = await checkpointAt('loop', 4, 1);
    const r2 = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const { host: h2 } = await setup(r2);
    const g = gate();
    h2.gate = g.promise;
    const p2 = resumeCall(r2, first);
    await settle();
    const second = p2.checkpoint();
    g.open();
    expect(await p2).toEqual(want.result);
    await r2.close();
    const r3 = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    await setup(r3);
    expect(await resumeCall(r3, second)).toEqual(want.result);
    await r3.close();
  });

  it('suspend(ctx) in a synchronous host function stops the call with the checkpoint, and the resume re-runs that host function', async () => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const { m, host } = await setup(r);
    host.stopping = true;
    const p = m.exportedFunction('stopping')!.callAsync(5);
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CallSuspendedError);
    const bytes = (err as CallSuspendedError).checkpoint;
    expect(p.checkpoint()).toBe(bytes);
    // The runtime stays usable.
    host.stopping = false;
    expect(await m.exportedFunction('stopping')!.callAsync(5)).toEqual([11n + 25n]);
    await r.close();
    const r2 = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const { host: h2 } = await setup(r2);
    h2.stopping = true; // suspend(ctx) returns in the re-run host call
    expect(await resumeCall(r2, bytes)).toEqual([11n + 25n]);
    await r2.close();
  });

  it('requestSuspend stops the call before its next async host call, which the resume runs', async () => {
    const want = await uninterrupted('loop', 3);
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const { m, host } = await setup(r);
    const p = m.exportedFunction('loop')!.callAsync(3);
    p.requestSuspend();
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CallSuspendedError);
    // The call ran up to its first host call before callAsync returned; it stopped at the second.
    expect(host.fetched).toEqual([0]);
    await r.close();
    const r2 = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const { host: h2 } = await setup(r2);
    expect(await resumeCall(r2, (err as CallSuspendedError).checkpoint)).toEqual(want.result);
    expect(h2.fetched).toEqual([1, 2]);
    await r2.close();
  });

  it('checkpoint() while the call is not waiting at an async host function is a clear error', async () => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const { m } = await setup(r);
    const p = m.exportedFunction('loop')!.callAsync(1);
    await p;
    expect(() => p.checkpoint()).toThrow('checkpoint: the call is not waiting at an async host function');
    await r.close();
  });

  it('suspend(ctx) under guest→host→guest re-entry is refused and the call goes on', async () => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const { m, host } = await setup(r);
    host.stopping = true;
    await expect(m.exportedFunction('reenter')!.callAsync(4)).rejects.toThrow(
      'not supported: suspend(ctx) in a host function of a nested synchronous call (guest→host→guest re-entry)',
    );
    await r.close();
  });

  it('checkpoint() from a host function of a nested synchronous guest call is refused', async () => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    let p: PendingCall | undefined;
    let refusal: unknown;
    await r
      .newHostModuleBuilder('env')
      .newFunctionBuilder()
      .withAsyncFunc(
        async (_ctx, _m, x: number) => {
          await settle();
          // Inside the async host function: a synchronous guest call whose host function asks.
          guest.exportedFunction('inner')!.call(x);
          return x;
        },
        [I32],
        [I32],
      )
      .export('fetch')
      .newFunctionBuilder()
      .withFunc(
        (_ctx, _m, x: number) => {
          refusal = thrown(() => p!.checkpoint());
          return x;
        },
        [I32],
        [I32],
      )
      .export('stop')
      .newFunctionBuilder()
      .withFunc((_ctx, _m, x: number) => x, [I32], [I32])
      .export('nested')
      .instantiate();
    const guest = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'));
    p = guest.exportedFunction('fetch_inner')!.callAsync(3);
    expect(await p).toEqual([3n]);
    expect(String(refusal)).toContain('not supported: a mid-call checkpoint while a synchronous guest call runs inside a host function');
    await r.close();
  });

  it('a call made inside a host function of another call (with its context) cannot be checkpointed', async () => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    let inner: PendingCall | undefined;
    await r
      .newHostModuleBuilder('env')
      .newFunctionBuilder()
      .withAsyncFunc(async (_ctx, _m, x: number) => x, [I32], [I32])
      .export('fetch')
      .newFunctionBuilder()
      .withFunc(
        (ctx, _m, x: number) => {
          inner = guest.exportedFunction('fetch_inner')!.callWithContextAsync(ctx, x);
          return x;
        },
        [I32],
        [I32],
      )
      .export('stop')
      .newFunctionBuilder()
      .withFunc((_ctx, _m, x: number) => x, [I32], [I32])
      .export('nested')
      .instantiate();
    const guest = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'));
    await guest.exportedFunction('stopping')!.callAsync(1);
    expect(() => inner!.checkpoint()).toThrow('not supported: a mid-call checkpoint of a call made inside a host function of another call');
    await inner;
    await r.close();
  });

  describe('resumeCall refuses, changing nothing', () => {
    let bytes: Uint8Array;
    const fresh = async (source = GUEST, name = 'guest'): Promise<{ r: Runtime; m: Module }> => {
      bytes ??= await checkpointAt('walk', 3);
      const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
      const { m } = await setup(r, name, source);
      return { r, m };
    };

    it('another module binary under that name (sha256)', async () => {
      const { r, m } = await fresh(GUEST.replace('(i64.const 31)', '(i64.const 37)'));
      const before = m.memory()!.read(0, 64)!.slice();
      const e = thrown(() => resumeCall(r, bytes));
      expect(e).toBeInstanceOf(CheckpointError);
      expect((e as CheckpointError).reason).toBe('module-mismatch');
      expect(m.memory()!.read(0, 64)).toEqual(before);
      await r.close();
    });

    it('no module of that name in the runtime', async () => {
      const { r } = await fresh(GUEST, 'other');
      const e = thrown(() => resumeCall(r, bytes));
      expect((e as CheckpointError).reason).toBe('incompatible');
      expect((e as Error).message).toContain('module[guest] is not instantiated in this runtime');
      await r.close();
    });

    it('the awaited import bound to a wasm function instead of a host function', async () => {
      bytes ??= await checkpointAt('walk', 3);
      const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
      await r.instantiateWithConfig(
        await wat(`(module
          (func (export "fetch") (param i32) (result i32) (local.get 0))
          (func (export "stop") (param i32) (result i32) (local.get 0))
          (func (export "nested") (param i32) (result i32) (local.get 0)))`),
        newModuleConfig().withName('env'),
      );
      const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'));
      const g = m.exportedGlobal('g')!.get();
      expect(() => resumeCall(r, bytes)).toThrow('(where the call waits) is not a host function in this runtime');
      expect(m.exportedGlobal('g')!.get()).toBe(g);
      await r.close();
    });

    it('other lowering options (interrupt checks)', async () => {
      bytes ??= await checkpointAt('walk', 3);
      const r = newRuntimeWithConfig(newRuntimeConfigInterpreter().withCloseOnContextDone(true));
      await setup(r);
      expect(() => resumeCall(r, bytes)).toThrow('was compiled and instantiated with other options than the checkpointed call');
      await r.close();
    });

    it('a code layout that differs from the checkpointed one', async () => {
      const { r } = await fresh();
      const d = decodeCheckpoint(bytes);
      const call = d.call!;
      const layout = call.state.layout.map(([f, len, hash]) => [f, len, hash ^ 1] as const);
      const tampered = encodeCheckpoint({ ...d, call: { ...call, state: { ...call.state, layout } } });
      expect(() => resumeCall(r, tampered)).toThrow('lowers to another code layout here');
      await r.close();
    });

    it('corrupted bytes, and a module checkpoint without a call', async () => {
      const { r, m } = await fresh();
      const bad = bytes.slice();
      bad[bad.length - 40]! ^= 1;
      expect((thrown(() => resumeCall(r, bad)) as CheckpointError).reason).toBe('corrupt');
      const plain = checkpoint(m).toBytes();
      expect((thrown(() => resumeCall(r, plain)) as CheckpointError).reason).toBe('unsupported');
      await r.close();
    });

    it('results that do not fit the host call', async () => {
      const { r } = await fresh();
      expect(() => resumeCall(r, bytes, { results: [1n, 2n] })).toThrow('results must be 1 bigint(s)');
      await r.close();
    });
  });

  it('a host call reached by a tail call, a try_table handler and a v128 local come back on resume', async () => {
    const MIXED = `(module
      (import "env" "wait" (func $wait (param i32) (result i32)))
      (tag $e (param i32))
      (func $tail (param i32) (result i32) (return_call $wait (local.get 0)))
      (func (export "mixed") (param $x i32) (result i32) (local $v v128)
        (local.set $v (v128.const i32x4 1 2 3 4))
        (block $h (result i32)
          (try_table (catch $e $h)
            (if (i32.eq (call $tail (local.get $x)) (i32.const 99)) (then (throw $e (i32.const 5)))))
          (return (i32.add (local.get $x) (i32x4.extract_lane 2 (local.get $v)))))
        (i32x4.extract_lane 3 (local.get $v))
        i32.add))`;
    const make = async (g: Promise<void>): Promise<{ r: Runtime; m: Module }> => {
      const r = newRuntimeWithConfig(newRuntimeConfigInterpreter().withCoreFeatures(CoreFeaturesV3));
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withAsyncFunc(
          async (_ctx, _m, x: number) => {
            await g;
            return x;
          },
          [I32],
          [I32],
        )
        .export('wait')
        .instantiate();
      const m = await r.instantiateWithConfig(await wat3(MIXED), newModuleConfig().withName('mixed'));
      return { r, m };
    };
    const g = gate();
    const { r, m } = await make(g.promise);
    const p = m.exportedFunction('mixed')!.callAsync(10);
    await settle();
    const bytes = p.checkpoint();
    g.open();
    expect(await p).toEqual([13n]);
    await r.close();
    const a = await make(Promise.resolve());
    expect(await resumeCall(a.r, bytes)).toEqual([13n]);
    // 99 makes the guest throw; its handler (in the frame under the tail call) catches: 5 + 4.
    expect(await resumeCall(a.r, bytes, { results: [99n] })).toEqual([9n]);
    await a.r.close();
  });

  it('a module with function listeners refuses checkpoint() and requestSuspend() at once, and the call goes on', async () => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const listened = withFunctionListenerFactory(
      Context.background(),
      functionListenerFactoryFunc(() => ({ before: () => undefined, after: () => undefined, abort: () => undefined })),
    );
    const { m, host } = await setup(r, 'guest', GUEST, listened);
    const g = gate();
    host.gate = g.promise;
    const p = m.exportedFunction('loop')!.callAsync(2);
    await settle();
    expect(() => p.checkpoint()).toThrow('not supported: mid-call checkpoints of a module with function listeners');
    expect(() => p.requestSuspend()).toThrow('not supported: mid-call checkpoints of a module with function listeners');
    g.open();
    expect(await p).toEqual([3n * 1000003n + 13n]);
    await r.close();
  });

  it('a host reference (externref) on the stack is refused with a clear error', async () => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    await r
      .newHostModuleBuilder('env')
      .newFunctionBuilder()
      .withAsyncFunc(
        async () => {
          await settle();
          return 1;
        },
        [],
        [I32],
      )
      .export('wait')
      .instantiate();
    const m = await r.instantiateWithConfig(
      await wat(`(module (import "env" "wait" (func $wait (result i32)))
        (func (export "f") (param externref) (result i32) (call $wait)))`),
      newModuleConfig().withName('x'),
    );
    const p = m.exportedFunction('f')!.callAsync(5n);
    expect(() => p.checkpoint()).toThrow('not supported: mid-call checkpoints holding a host reference');
    expect(await p).toEqual([1n]);
    void Externref;
    void I64;
    await r.close();
  });
});

describe.each(engines.filter((e) => e.name === 'compiler'))('$name engine', (engine) => {
  it('refuses mid-call checkpoints, suspend(ctx) and resumeCall clearly', async () => {
    const r = runtimeFor(engine);
    await r
      .newHostModuleBuilder('env')
      .newFunctionBuilder()
      .withFunc(
        (ctx, _m, x: number) => {
          suspend(ctx);
          return x;
        },
        [I32],
        [I32],
      )
      .export('stop')
      .instantiate();
    const m = await r.instantiateWithConfig(
      await wat(`(module (import "env" "stop" (func $stop (param i32) (result i32)))
        (func (export "f") (param i32) (result i32) (call $stop (local.get 0))))`),
      newModuleConfig().withName('guest'),
    );
    const p = m.exportedFunction('f')!.callWithContextAsync(Context.background(), 1);
    expect(() => p.checkpoint()).toThrow('not supported: mid-call checkpoints on the compiler engine (use the interpreter)');
    expect(() => p.requestSuspend()).toThrow('not supported: mid-call checkpoints on the compiler engine (use the interpreter)');
    await expect(p).rejects.toThrow('not supported: suspend(ctx) outside an async call on the interpreter');
    const bytes = await checkpointAt('walk', 2);
    const r2 = runtimeFor(engine);
    await setup(r2).catch(() => undefined);
    const withGuest = r2.module('guest') !== undefined;
    if (withGuest)
      expect(() => resumeCall(r2, bytes)).toThrow('not supported: mid-call checkpoints on the compiler engine (use the interpreter)');
    else expect(() => resumeCall(r2, bytes)).toThrow('is not instantiated in this runtime');
    await r.close();
    await r2.close();
  });
});
