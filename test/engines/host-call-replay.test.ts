/**
 * Record/replay of host calls: ONE table of cases, run on every engine. Each case records a run
 * against real host functions, then replays the log in a fresh runtime whose host modules come only
 * from `replayHostCalls` (the real host functions are counted and must not run again).
 *
 * Semantics fixed here:
 * - a replayed call gets the recorded memory writes and growth, then the recorded outcome (results,
 *   exit, trap or error);
 * - the first call that differs from the log (function or params), or one past its end, fails with
 *   `HostCallDivergenceError` naming its index and both calls (thrown by a replayed host function,
 *   it reaches the caller as the `cause` of a `HostFunctionError`, with the guest's stack trace);
 *   `assertComplete` reports calls the guest did not make;
 * - host calls made inside a host call (host → guest → host) are recorded nested and not replayed
 *   (their effect is part of the outer call's).
 */
import { describe, expect, it } from 'vitest';
import { Context, ExitError, newModuleConfig, WasmRuntimeError, type Runtime } from '../../src/index.js';
import { ValueType, type Module } from '../../src/api.js';
import * as wasi from '../../src/wasi.js';
import { cryptoRandom } from '../../src/sys.js';
import {
  decodeHostCallLog,
  formatHostCallLog,
  HostCallDivergenceError,
  newHostCallLogBuffer,
  replayHostCalls,
  withHostCallRecorder,
} from '../../src/replay.js';
import { engines, runtimeFor, wat, type EngineCase } from '../helpers.js';

const { I32, I64 } = ValueType;

/** The custom-import guest: `env.fill(ptr, len)` writes, `env.clock()` returns an i64, `env.grow()` grows memory. */
const GUEST = `(module
  (import "env" "fill" (func $fill (param i32 i32)))
  (import "env" "clock" (func $clock (result i64)))
  (import "env" "grow" (func $grow (result i32)))
  (import "env" "fail" (func $fail (param i32)))
  (import "env" "callback" (func $callback))
  (memory (export "memory") 1)
  (func (export "sum") (param $n i32) (result i64) (local $i i32) (local $s i64)
    (call $fill (i32.const 16) (local.get $n))
    (local.set $s (call $clock))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (i64.add (local.get $s) (i64.load8_u offset=16 (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $s))
  (func (export "grown") (result i32)
    (drop (call $grow))
    (i32.load8_u (i32.const 65540)))
  (func (export "fail") (param i32) (call $fail (local.get 0)))
  (func (export "nested") (call $callback))
  (func (export "inner") (call $fill (i32.const 0) (i32.const 4))))`;

interface Host {
  /** Calls of the real host functions. */
  calls: number;
}

async function instantiateRealEnv(r: Runtime, ctx: Context, host: Host): Promise<void> {
  let tick = 1000n;
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withFunc(
      (_c, mod: Module, ptr: number, len: number) => {
        host.calls++;
        const m = mod.memory()!;
        for (let i = 0; i < len; i++) m.writeByte(ptr + i, (i * 7 + 3) & 0xff);
      },
      [I32, I32],
      [],
    )
    .export('fill')
    .newFunctionBuilder()
    .withFunc(
      () => {
        host.calls++;
        return (tick += 17n);
      },
      [],
      [I64],
    )
    .export('clock')
    .newFunctionBuilder()
    .withFunc(
      (_c, mod: Module) => {
        host.calls++;
        const m = mod.memory()!;
        const prev = m.grow(1)!;
        m.writeByte(65540, 99);
        return prev;
      },
      [],
      [I32],
    )
    .export('grow')
    .newFunctionBuilder()
    .withFunc(
      (_c, mod: Module, how: number) => {
        host.calls++;
        if (how === 0) throw new Error('boom');
        if (how === 1) throw new WasmRuntimeError('unreachable');
        void mod.closeWithExitCode(3);
        throw new ExitError(3);
      },
      [I32],
      [],
    )
    .export('fail')
    .newFunctionBuilder()
    .withFunc(
      (_c, mod: Module) => {
        host.calls++;
        mod.exportedFunction('inner')!.call();
      },
      [],
      [],
    )
    .export('callback')
    .instantiate(ctx);
}

/** Runs `act` on a guest linked to real host functions while recording; returns the log and what `act` returned. */
async function record<T>(e: EngineCase, bin: Uint8Array, act: (m: Module) => T, host: Host): Promise<{ log: Uint8Array; value: T }> {
  const r = runtimeFor(e);
  try {
    const sink = newHostCallLogBuffer();
    await instantiateRealEnv(r, withHostCallRecorder(Context.background(), sink), host);
    const m = await r.instantiateWithConfig(bin, newModuleConfig().withName('guest'));
    const value = act(m);
    return { log: sink.bytes(), value };
  } finally {
    await r.close();
  }
}

async function replay<T>(e: EngineCase, bin: Uint8Array, log: Uint8Array, act: (m: Module) => T) {
  const r = runtimeFor(e);
  const rp = replayHostCalls(log);
  await rp.instantiate(r);
  const m = await r.instantiateWithConfig(bin, newModuleConfig().withName('guest'));
  return { r, rp, m, value: act(m) };
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

interface Case {
  readonly name: string;
  readonly run: (e: EngineCase, bin: Uint8Array) => Promise<void>;
}

const cases: Case[] = [
  {
    name: 'a replay returns the recorded results and memory without calling the host',
    async run(e, bin) {
      const host = { calls: 0 };
      const rec = await record(e, bin, (m) => [m.exportedFunction('sum')!.call(8), m.exportedFunction('sum')!.call(3)], host);
      expect(host.calls).toBe(4);
      const { r, rp, m, value } = await replay(e, bin, rec.log, (m) => [
        m.exportedFunction('sum')!.call(8),
        m.exportedFunction('sum')!.call(3),
      ]);
      expect(value).toEqual(rec.value);
      expect(host.calls).toBe(4);
      expect(Array.from(m.memory()!.read(16, 8)!)).toEqual([3, 10, 17, 24, 31, 38, 45, 52]);
      expect([rp.position(), rp.length()]).toEqual([4, 4]);
      expect(() => rp.assertComplete()).not.toThrow();
      await r.close();
    },
  },
  {
    name: 'memory the host grew is grown again, and the bytes it wrote in the new page come back',
    async run(e, bin) {
      const rec = await record(e, bin, (m) => m.exportedFunction('grown')!.call(), { calls: 0 });
      expect(rec.value).toEqual([99n]);
      const log = decodeHostCallLog(rec.log);
      expect(log.calls[0]).toMatchObject({ grownToPages: 2, writes: [{ offset: 65540, bytes: new Uint8Array([99]) }] });
      const { r, m, value } = await replay(e, bin, rec.log, (m) => m.exportedFunction('grown')!.call());
      expect(value).toEqual([99n]);
      expect(m.memory()!.size()).toBe(2 * 65536);
      await r.close();
    },
  },
  {
    name: 'a recorded host error, trap and exit are thrown again, the exit closing the module',
    async run(e, bin) {
      const act = (m: Module): unknown[] => [0, 1, 2].map((how) => thrown(() => m.exportedFunction('fail')!.call(how)));
      const rec = await record(e, bin, act, { calls: 0 });
      const { r, m, value } = await replay(e, bin, rec.log, act);
      const [boom, trap, exit] = value;
      expect(boom).toMatchObject({ name: 'HostFunctionError', cause: { message: 'boom' } });
      expect(trap).toBeInstanceOf(WasmRuntimeError);
      expect((trap as WasmRuntimeError).trap).toBe('unreachable');
      expect(exit).toBeInstanceOf(ExitError);
      expect((exit as ExitError).exitCode).toBe(3);
      expect(m.isClosed()).toBe(true);
      expect(formatHostCallLog(decodeHostCallLog(rec.log))).toMatch(
        /#0 env\.fail\(0\) → threw: boom\n#1 env\.fail\(1\) → trap: unreachable\n#2 env\.fail\(2\) → exit\(3\)/,
      );
      await r.close();
    },
  },
  {
    name: 'the first call with other params fails with its index and both calls, and is kept',
    async run(e, bin) {
      const rec = await record(e, bin, (m) => m.exportedFunction('sum')!.call(8), { calls: 0 });
      const { r, rp, value } = await replay(e, bin, rec.log, (m) => thrown(() => m.exportedFunction('sum')!.call(5)));
      const err = (value as Error).cause as HostCallDivergenceError;
      expect(err).toBeInstanceOf(HostCallDivergenceError);
      expect((value as Error).message).toContain('\nwasm stack trace:\n\tenv.fill(i32,i32)');
      expect(err.divergence.index).toBe(0);
      expect(err.divergence.actual).toBe('env.fill(16, 5)');
      expect(err.divergence.expected).toMatch(/^#0 env\.fill\(16, 8\) → \(\)\n {4}wrote \[0x10, \+8\): 03 0a 11 18 1f 26 2d 34$/);
      expect(err.message).toContain('host call #0 diverges: the guest called env.fill(16, 5), the recording has\n#0 env.fill(16, 8)');
      expect(rp.divergence()).toEqual(err.divergence);
      expect(() => rp.assertComplete()).toThrow(HostCallDivergenceError);
      await r.close();
    },
  },
  {
    name: 'a call past the end of the log diverges, and calls never made fail assertComplete',
    async run(e, bin) {
      const rec = await record(e, bin, (m) => m.exportedFunction('sum')!.call(2), { calls: 0 });
      const more = await replay(e, bin, rec.log, (m) => [
        m.exportedFunction('sum')!.call(2),
        thrown(() => m.exportedFunction('sum')!.call(2)),
      ]);
      expect(((more.value[1] as Error).cause as Error).message).toBe(
        'host call #2 diverges: the guest called env.fill(16, 2), but the recording has ended',
      );
      await more.r.close();
      const fewer = await replay(e, bin, rec.log, () => undefined);
      expect(() => fewer.rp.assertComplete()).toThrow(
        'host call #0 diverges: the guest made no more calls, but the recording continues with\n#0 env.fill(16, 2)',
      );
      await fewer.r.close();
    },
  },
  {
    name: 'a host call made inside another is recorded nested and not replayed; the outer call carries its writes',
    async run(e, bin) {
      const host = { calls: 0 };
      const rec = await record(e, bin, (m) => m.exportedFunction('nested')!.call(), host);
      const log = decodeHostCallLog(rec.log);
      expect(log.calls.map((c) => `${c.depth} ${c.function.name}`)).toEqual(['0 callback', '1 fill']);
      expect(log.calls[0]!.writes).toEqual([{ offset: 0, bytes: new Uint8Array([3, 10, 17, 24]) }]);
      const { r, rp, m } = await replay(e, bin, rec.log, (m) => m.exportedFunction('nested')!.call());
      expect(Array.from(m.memory()!.read(0, 4)!)).toEqual([3, 10, 17, 24]);
      expect(rp.length()).toBe(1);
      expect(() => rp.assertComplete()).not.toThrow();
      expect(host.calls).toBe(2);
      await r.close();
    },
  },
  {
    name: 'a WASI guest replays random bytes and its exit without touching the host',
    async run(e) {
      const bin = await wat(`(module
        (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "roll") (result i64) (drop (call $random (i32.const 64) (i32.const 8))) (i64.load (i32.const 64)))
        (func (export "quit") (call $exit (i32.const 5))))`);
      const r1 = runtimeFor(e);
      const sink = newHostCallLogBuffer();
      await wasi.instantiate(r1, withHostCallRecorder(Context.background(), sink));
      const m1 = await r1.instantiateWithConfig(bin, newModuleConfig().withRandSource(cryptoRandom));
      const rolled = m1.exportedFunction('roll')!.call();
      expect(thrown(() => m1.exportedFunction('quit')!.call())).toBeInstanceOf(ExitError);
      await r1.close();
      const log = decodeHostCallLog(sink.bytes());
      // Every function of the recorded module is declared, called or not.
      expect(log.functions).toHaveLength(46);
      const { r, rp, m, value } = await replay(e, bin, sink.bytes(), (m) => m.exportedFunction('roll')!.call());
      expect(value).toEqual(rolled);
      const exit = thrown(() => m.exportedFunction('quit')!.call());
      expect((exit as ExitError).exitCode).toBe(5);
      expect(rp.moduleNames()).toEqual(['wasi_snapshot_preview1']);
      await r.close();
    },
  },
];

for (const e of engines) {
  describe(`host-call record/replay (${e.name})`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        await c.run(e, await wat(GUEST));
      });
    }
  });
}
