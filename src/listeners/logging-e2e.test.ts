/**
 * The logging listeners on real modules, on every engine. An engine that does not invoke listeners
 * yet (probed with a trivial listened module) has these tests skipped, by name, never passed silently.
 */
import { describe, expect, it } from 'vitest';
import { engines, runtimeFor, wat, type EngineCase } from '../../test/helpers.js';
import { ExitError, newModuleConfig, WasmRuntimeError } from '../index.js';
import { Context } from '../runtime/api/context.js';
import { functionListenerFactoryFunc, functionListenerFunc, withFunctionListenerFactory } from '../runtime/api/listener.js';
import { newBuilder as newWasiBuilder } from '../wasi/module.js';
import {
  LogScopeAll,
  LogScopeRandom,
  newHostLoggingListenerFactory,
  newLoggingListenerFactory,
  parseLogScopes,
  type LogScopes,
} from './logging.js';

class Lines {
  chunks: Array<string | Uint8Array> = [];
  write(chunk: string | Uint8Array): void {
    this.chunks.push(chunk);
  }
  get text(): string {
    return this.chunks.map((c) => (typeof c === 'string' ? c : new TextDecoder().decode(c))).join('');
  }
}

/** Whether `e` calls a listener's `before` for a called guest function (and host functions). */
async function probe(e: EngineCase): Promise<{ guest: boolean; host: boolean }> {
  let guest = false;
  let host = false;
  const factory = functionListenerFactoryFunc(() =>
    functionListenerFunc((_ctx, _mod, d) => {
      if (d.hostFunction() !== undefined) host = true;
      else guest = true;
    }),
  );
  const ctx = withFunctionListenerFactory(Context.background(), factory);
  const r = runtimeFor(e);
  try {
    await r
      .newHostModuleBuilder('probe_host')
      .newFunctionBuilder()
      .withModuleFunction(() => {}, [], [])
      .export('h')
      .instantiate(ctx);
    const c = await r.compileModule(await wat('(module (import "probe_host" "h" (func $h)) (func (export "f") call $h))'), ctx);
    const m = await r.instantiateModule(c, newModuleConfig());
    m.exportedFunction('f')!.call();
  } catch {
    // An engine that rejects listeners outright does not call them either.
  } finally {
    await r.close();
  }
  return { guest, host };
}

const probes = new Map<string, { guest: boolean; host: boolean }>();
for (const e of engines) probes.set(e.name, await probe(e));

const LISTENER_WAT = `(module $listener
  (import "wasi_snapshot_preview1" "random_get" (func $wasi.random_get (param $buf i32) (param $buf_len i32) (result (;errno;) i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $wasi.clock_time_get (param $id i32) (param $precision i64) (param $result.timestamp i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $wasi.proc_exit (param $rval i32)))
  (func $exit (export "exit") (call $wasi.proc_exit (i32.const 3)))
  (func $rand (export "rand") (param $len i32)
    (drop (call $wasi.random_get (i32.const 4) (local.get $len))))
  (func $now (export "now") (result i32)
    (call $wasi.clock_time_get (i32.const 1) (i64.const 1) (i32.const 16)))
  (memory (export "memory") 1 1))`;

const GUEST_WAT = `(module $calc
  (func $sq (param $x f64) (result f64) (f64.mul (local.get $x) (local.get $x)))
  (func $pair (param i32 i64) (result i32 i64) (local.get 0) (local.get 1))
  (func $trap (param $n i32) (result i32) (i32.div_s (i32.const 1) (local.get $n)))
  (func $outer (export "outer") (param $n i32) (result f64)
    (drop (call $pair (local.get $n) (i64.const -2)))
    (drop)
    (call $sq (f64.convert_i32_s (local.get $n))))
  (func (export "crash") (param $n i32) (result i32) (call $trap (local.get $n))))`;

/** Instantiates WASI and the listener guest with one factory (so they share one indentation stack). */
async function instantiateListener(e: EngineCase, factoryOf: (w: Lines) => ReturnType<typeof newLoggingListenerFactory>) {
  const out = new Lines();
  const ctx = withFunctionListenerFactory(Context.background(), factoryOf(out));
  const r = runtimeFor(e);
  await newWasiBuilder(r).instantiate(ctx);
  const c = await r.compileModule(await wat(LISTENER_WAT), ctx);
  const m = await r.instantiateModule(c, newModuleConfig());
  return { out, r, m };
}

for (const e of engines) {
  const p = probes.get(e.name)!;
  const noGuest = !p.guest;
  const noHost = !p.host;
  describe(`logging listeners end to end on the ${e.name} engine`, () => {
    it.skipIf(noGuest || noHost)(
      `[needs ${e.name} to call listeners] logs a guest calling WASI, indented, as wazero's example`,
      async () => {
        const { out, r, m } = await instantiateListener(e, newLoggingListenerFactory);
        m.exportedFunction('rand')!.call(4);
        expect(out.text).toBe(
          '--> listener.rand(len=4)\n\t==> wasi_snapshot_preview1.random_get(buf=4,buf_len=4)\n\t<== errno=ESUCCESS\n<--\n',
        );
        await r.close();
      },
    );

    it.skipIf(noGuest || noHost)(
      `[needs ${e.name} to call listeners] reads a WASI out-param from the caller's memory after success`,
      async () => {
        const { out, r, m } = await instantiateListener(e, newLoggingListenerFactory);
        m.exportedFunction('now')!.call();
        const ts = m.memory()!.readUint64Le(16)!;
        expect(out.text).toBe(
          '--> listener.now()\n' +
            `\t==> wasi_snapshot_preview1.clock_time_get(id=monotonic,precision=1)\n\t<== (timestamp=${ts},errno=ESUCCESS)\n` +
            '<-- 0\n',
        );
        await r.close();
      },
    );

    it.skipIf(noGuest || noHost)(`[needs ${e.name} to call listeners] host logging with scopes=random prints only random_get`, async () => {
      const scopes: LogScopes = parseLogScopes('random');
      expect(scopes).toBe(LogScopeRandom);
      const { out, r, m } = await instantiateListener(e, (w) => newHostLoggingListenerFactory(w, scopes));
      m.exportedFunction('rand')!.call(8);
      m.exportedFunction('now')!.call();
      expect(out.text).toBe('==> wasi_snapshot_preview1.random_get(buf=4,buf_len=8)\n<== errno=ESUCCESS\n');
      await r.close();
    });

    it.skipIf(noGuest || noHost)(
      `[needs ${e.name} to call listeners] host logging with all scopes adds exported guest functions only`,
      async () => {
        const { out, r, m } = await instantiateListener(e, (w) => newHostLoggingListenerFactory(w, LogScopeAll));
        m.exportedFunction('rand')!.call(2);
        expect(out.text).toBe(
          '--> listener.rand(len=2)\n\t==> wasi_snapshot_preview1.random_get(buf=4,buf_len=2)\n\t<== errno=ESUCCESS\n<--\n',
        );
        await r.close();
      },
    );

    it.skipIf(noGuest || noHost)(`[needs ${e.name} to call listeners] proc_exit leaves its ==> line with no return line`, async () => {
      const { out, r, m } = await instantiateListener(e, newLoggingListenerFactory);
      expect(() => m.exportedFunction('exit')!.call()).toThrow(ExitError);
      expect(out.text).toBe('--> listener.exit()\n\t==> wasi_snapshot_preview1.proc_exit(rval=3)\n');
      await r.close();
    });

    it.skipIf(noGuest)(`[needs ${e.name} to call listeners] logs nested guest calls with names, multi-values and floats`, async () => {
      const out = new Lines();
      const ctx = withFunctionListenerFactory(Context.background(), newLoggingListenerFactory(out));
      const r = runtimeFor(e);
      const m = await r.instantiateModule(await r.compileModule(await wat(GUEST_WAT), ctx), newModuleConfig());
      m.exportedFunction('outer')!.call(3);
      expect(out.text).toBe(
        '--> calc.outer(n=3)\n' + '\t--> calc.pair(3,-2)\n\t<-- (3,-2)\n' + '\t--> calc.sq(x=3)\n\t<-- 9\n' + '<-- 9\n',
      );
      await r.close();
    });

    it.skipIf(noGuest)(`[needs ${e.name} to call listeners] a trap leaves the --> lines dangling and resets the depth`, async () => {
      const out = new Lines();
      const ctx = withFunctionListenerFactory(Context.background(), newLoggingListenerFactory(out));
      const r = runtimeFor(e);
      const m = await r.instantiateModule(await r.compileModule(await wat(GUEST_WAT), ctx), newModuleConfig());
      expect(() => m.exportedFunction('crash')!.call(0)).toThrow(WasmRuntimeError);
      m.exportedFunction('crash')!.call(1);
      expect(out.text).toBe('--> calc.$4(n=0)\n\t--> calc.trap(n=0)\n' + '--> calc.$4(n=1)\n\t--> calc.trap(n=1)\n\t<-- 1\n<-- 1\n');
      await r.close();
    });
  });
}
