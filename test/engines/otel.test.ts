/**
 * OpenTelemetry spans and metrics (`wasmscope/otel`): ONE table of cases, run on every engine, with
 * the real SDK (BasicTracerProvider, InMemorySpanExporter, AsyncLocalStorageContextManager).
 *
 * Each case prints the finished spans as a tree in start order (`name kind [status] [exit=N]`,
 * children indented under their parent). Semantics fixed here:
 * - one span per call of a selected function, named by its debug name; an exported call's span is
 *   a child of the active context; nested selected calls nest in call order;
 * - while a host function runs its span is the active context: the host's own spans nest under
 *   it, and guest code the host calls back nests under the host's own span;
 * - a trap records the exception (with the wasm stack trace) and ERROR on every open span,
 *   innermost first; an exit sets `wasm.exit_code` and OK (0) or ERROR; a deadline is an exit;
 * - an unsampled exported call makes no further span objects (the tracer is asked once, or not at
 *   all under an unsampled parent);
 * - a tail call ends the caller's span; the callee's span takes the caller's place;
 * - a snapshot restore closes the spans of the calls it discards with ERROR and the reason (no
 *   exception). Only the interpreter takes snapshots (the compiler engine refuses them, see the
 *   snapshots table), so that case runs there only.
 */
import { describe, expect, it } from 'vitest';
import { context, trace, TraceFlags, type Span, type Tracer } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler } from '@opentelemetry/sdk-trace-base';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type HistogramMetricData,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import { Context, ExitError, newModuleConfig, WasmRuntimeError, type Runtime } from '../../src/index.js';
import type { Module } from '../../src/api.js';
import {
  functionListenerFactoryFunc,
  functionListenerFunc,
  getSnapshotter,
  multiFunctionListenerFactory,
  withFunctionListenerFactory,
  withSnapshotter,
  type FunctionListenerFactory,
  type Snapshot,
} from '../../src/experimental.js';
import { newLoggingListenerFactory } from '../../src/experimental-logging.js';
import { newOtelListenerFactory, newOtelMetricsListenerFactory, type OtelListenerOptions } from '../../src/otel.js';
import { instantiate as instantiateWasi } from '../../src/wasi.js';
import { CoreFeaturesTailCall, CoreFeaturesV2 } from '../../src/api.js';
import { engines, runtimeFor, wat } from '../helpers.js';
import { newHarness, type Harness } from '../otel/harness.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const I32 = 0x7f;

const GUEST = `(module $m
  (import "env" "work" (func $work (param i32) (result i32)))
  (import "env" "fail" (func $fail))
  (func $run (export "run") (param i32) (result i32) (call $step (local.get 0)))
  (func $step (param i32) (result i32) (i32.add (call $leaf (local.get 0)) (call $work (local.get 0))))
  (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $again (export "again") (param i32) (result i32) (call $leaf (local.get 0)))
  (func $crash (export "crash") (call $deeper))
  (func $deeper (drop (i32.div_s (i32.const 1) (i32.const 0))))
  (func $host_fail (export "host_fail") (call $fail))
  (func $many (export "many") (param i32) (local i32)
    (loop $l
      (drop (call $leaf (local.get 1)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0)))))
  (func $spin (export "spin") (loop $l (br $l)))
  (func $busy (export "busy") (param i32) (result i32) (drop (call $leaf (i32.const 1))) (call $slow (local.get 0)))
  (func $slow (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1))
  (func $tail (export "tail") (param i32) (result i32) (return_call $leaf (local.get 0)))
  (func $types (export "types") (param i64 f32 f64 v128 externref funcref)))`;

const EXITER = `(module $x
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func $quit (export "quit") (param i32) (call $exit (local.get 0))))`;

interface Env {
  readonly h: Harness;
  readonly r: Runtime;
  /** Instantiates `env` and GUEST as `m` with an otel factory (options merged over `{ tracer }`). */
  readonly guest: (options?: OtelListenerOptions, extra?: FunctionListenerFactory) => Promise<Module>;
  /** What `env.work(x)` does (default: returns x + 1). */
  work: (mod: Module, x: number) => number;
  /** The name of the active span each time `env.work` ran. */
  readonly activeInHost: string[];
}

interface Case {
  readonly name: string;
  /** Set for a case only one engine can run (the reason is in the header). */
  readonly only?: 'interpreter';
  readonly closeOnContextDone?: boolean;
  /** The provider's sampler (default: the SDK's, ParentBased(AlwaysOn)). */
  readonly sampler?: 'off' | 'on';
  readonly run: (env: Env) => Promise<void> | void;
  /** The finished spans' tree. */
  readonly expected: readonly string[];
}

/** A span's name, or `#<span id>` for one without (a remote parent). */
function nameOf(span: Span | undefined): string {
  return span === undefined ? '-' : ((span as unknown as { name?: string }).name ?? `#${span.spanContext().spanId}`);
}

/** A tracer that counts the spans it is asked for. */
function counting(inner: Tracer): Tracer & { count: number } {
  const t = {
    count: 0,
    startSpan: (...args: Parameters<Tracer['startSpan']>) => {
      t.count++;
      return inner.startSpan(...args);
    },
    startActiveSpan: inner.startActiveSpan.bind(inner),
  };
  return t as Tracer & { count: number };
}

const cases: Case[] = [
  {
    name: "functions: 'all' — the span tree of nested guest and host calls",
    async run({ guest }) {
      const m = await guest({ functions: 'all' });
      expect(m.exportedFunction('run')!.call(3)).toEqual([10n]);
    },
    expected: ['m.run guest', '  m.step guest', '    m.leaf guest', '    env.work host'],
  },
  {
    name: "functions: 'exported' (default) — exported guest functions and host functions only",
    async run({ guest, activeInHost }) {
      const m = await guest();
      m.exportedFunction('run')!.call(3);
      // While the host function runs, its own span is the active context.
      expect(activeInHost).toEqual(['env.work']);
    },
    expected: ['m.run guest', '  env.work host'],
  },
  {
    name: 'a predicate selects functions by definition',
    async run({ guest }) {
      const m = await guest({ functions: (def) => def.name() === 'leaf' || def.name() === 'run' });
      m.exportedFunction('run')!.call(3);
    },
    expected: ['m.run guest', '  m.leaf guest'],
  },
  {
    name: "an exported call's span is a child of the active span (same trace)",
    async run({ h, guest }) {
      const m = await guest();
      h.tracer.startActiveSpan('http.request', (req) => {
        m.exportedFunction('run')!.call(1);
        req.end();
      });
      const req = h.span('http.request');
      const run = h.span('m.run');
      expect(run.spanContext().traceId).toBe(req.spanContext().traceId);
      expect(run.parentSpanContext?.spanId).toBe(req.spanContext().spanId);
    },
    expected: ['http.request', '  m.run guest', '    env.work host'],
  },
  {
    name: "a host function's own spans nest under its host-call span",
    async run(env) {
      const m = await env.guest({ functions: 'all' });
      env.work = (_mod, x) =>
        env.h.tracer.startActiveSpan('db.query', (s) => {
          s.end();
          return x;
        });
      m.exportedFunction('run')!.call(2);
    },
    expected: ['m.run guest', '  m.step guest', '    m.leaf guest', '    env.work host', '      db.query'],
  },
  {
    name: "guest code re-entered from host code nests under the host code's own span",
    async run(env) {
      const m = await env.guest({ functions: 'all' });
      env.work = (mod, x) =>
        env.h.tracer.startActiveSpan('cache.fill', (s) => {
          const r = Number(mod.exportedFunction('again')!.call(x)[0]);
          s.end();
          return r;
        });
      expect(m.exportedFunction('run')!.call(2)).toEqual([8n]);
      expect(env.activeInHost).toEqual(['env.work']);
    },
    expected: [
      'm.run guest',
      '  m.step guest',
      '    m.leaf guest',
      '    env.work host',
      '      cache.fill',
      '        m.again guest',
      '          m.leaf guest',
    ],
  },
  {
    name: 'guest code re-entered straight from a host function nests under the host-call span',
    async run(env) {
      const m = await env.guest();
      env.work = (mod, x) => Number(mod.exportedFunction('again')!.call(x)[0]);
      m.exportedFunction('run')!.call(2);
    },
    expected: ['m.run guest', '  env.work host', '    m.again guest'],
  },
  {
    name: 'a trap: the exception with the wasm stack trace and ERROR on every open span, innermost first',
    async run({ h, guest }) {
      const m = await guest({ functions: 'all' });
      expect(() => m.exportedFunction('crash')!.call()).toThrow(WasmRuntimeError);
      // Ended innermost first.
      expect(h.exporter.getFinishedSpans().map((s) => s.name)).toEqual(['m.deeper', 'm.crash']);
      for (const name of ['m.deeper', 'm.crash']) {
        const ev = h.span(name).events.find((e) => e.name === 'exception');
        expect(ev?.attributes?.['exception.type']).toBe('WasmRuntimeError');
        expect(ev?.attributes?.['exception.message']).toBe('wasm error: integer divide by zero');
        expect(ev?.attributes?.['exception.stacktrace']).toBe(
          'wasm error: integer divide by zero\nwasm stack trace:\n\tm.deeper()\n\tm.crash()',
        );
      }
    },
    expected: ['m.crash guest ERROR(wasm error: integer divide by zero)', '  m.deeper guest ERROR(wasm error: integer divide by zero)'],
  },
  {
    name: 'a host error: recorded on the host-call span and on its callers',
    async run({ h, guest }) {
      const m = await guest();
      expect(() => m.exportedFunction('host_fail')!.call()).toThrow('boom');
      const ev = h.span('env.fail').events.find((e) => e.name === 'exception');
      expect(ev?.attributes?.['exception.message']).toBe('boom');
      expect(ev?.attributes?.['exception.type']).toBe('Error');
    },
    expected: ['m.host_fail guest ERROR(boom)', '  env.fail host ERROR(boom)'],
  },
  {
    name: 'proc_exit(0) ends the spans OK with wasm.exit_code',
    async run({ r, h }) {
      const ctx = withFunctionListenerFactory(Context.background(), newOtelListenerFactory({ tracer: h.tracer }));
      await instantiateWasi(r, ctx);
      const x = await r.instantiateWithConfig(await wat(EXITER), newModuleConfig().withName('x'), ctx);
      expect(() => x.exportedFunction('quit')!.call(0)).toThrow(ExitError);
    },
    expected: ['x.quit guest OK exit=0', '  wasi_snapshot_preview1.proc_exit host OK exit=0'],
  },
  {
    name: 'a non-zero exit code sets ERROR',
    async run({ r, h }) {
      const ctx = withFunctionListenerFactory(Context.background(), newOtelListenerFactory({ tracer: h.tracer }));
      await instantiateWasi(r, ctx);
      const x = await r.instantiateWithConfig(await wat(EXITER), newModuleConfig().withName('x'), ctx);
      expect(() => x.exportedFunction('quit')!.call(3)).toThrow('exit_code(3)');
    },
    expected: [
      'x.quit guest ERROR(module closed with exit_code(3)) exit=3',
      '  wasi_snapshot_preview1.proc_exit host ERROR(module closed with exit_code(3)) exit=3',
    ],
  },
  {
    name: 'a timeout closes the open spans with ERROR and the reason',
    closeOnContextDone: true,
    async run({ guest }) {
      const m = await guest();
      expect(() => m.exportedFunction('spin')!.callWithContext(Context.background().withTimeout(20))).toThrow(ExitError);
    },
    expected: ['m.spin guest ERROR(module closed with context deadline exceeded) exit=4026531839'],
  },
  {
    name: "unsampled by the provider's sampler: the tracer is asked once per exported call, nothing is recorded",
    sampler: 'off',
    async run(env) {
      const tracer = counting(env.h.tracer);
      const m = await env.guest({ tracer, functions: 'all' });
      let hostSpanRecording: boolean | undefined;
      env.work = (_mod, x) =>
        env.h.tracer.startActiveSpan('db.query', (s) => {
          hostSpanRecording = s.isRecording();
          s.end();
          return x;
        });
      m.exportedFunction('run')!.call(3);
      m.exportedFunction('many')!.call(5);
      expect(tracer.count).toBe(2);
      expect(hostSpanRecording).toBe(false);
      expect(env.h.started()).toEqual([]);
    },
    expected: [],
  },
  {
    name: 'under an unsampled parent the tracer is not even asked (followParentSampling)',
    async run(env) {
      const tracer = counting(env.h.tracer);
      const m = await env.guest({ tracer, functions: 'all' });
      const parent = trace.setSpanContext(context.active(), {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.NONE,
      });
      context.with(parent, () => m.exportedFunction('run')!.call(3));
      expect(tracer.count).toBe(0);
      // The host code still runs in the caller's (unsampled) context.
      expect(env.activeInHost).toEqual(['#b7ad6b7169203331']);
    },
    expected: [],
  },
  {
    name: 'followParentSampling: false asks the sampler under an unsampled parent',
    sampler: 'on',
    async run(env) {
      const m = await env.guest({ followParentSampling: false });
      const parent = trace.setSpanContext(context.active(), {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.NONE,
      });
      context.with(parent, () => m.exportedFunction('run')!.call(3));
      expect(env.h.span('m.run').spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    },
    expected: ['m.run guest', '  env.work host'],
  },
  {
    name: 'sampleEvery: 1 nested call in N per function, deterministically (1st, N+1th, …)',
    async run({ guest }) {
      const m = await guest({ functions: 'all', sampleEvery: 3 });
      m.exportedFunction('many')!.call(10);
    },
    expected: ['m.many guest', '  m.leaf guest', '  m.leaf guest', '  m.leaf guest', '  m.leaf guest'],
  },
  {
    name: 'maxSpansPerCall: later calls get no span; the exported call counts what it dropped',
    async run({ h, guest }) {
      const m = await guest({ functions: 'all', maxSpansPerCall: 3 });
      m.exportedFunction('many')!.call(10);
      expect(h.span('m.many').attributes['wasm.spans.dropped']).toBe(8);
      h.reset();
      // The budget is per exported call.
      m.exportedFunction('many')!.call(1);
      expect(h.span('m.many').attributes['wasm.spans.dropped']).toBeUndefined();
    },
    expected: ['m.many guest', '  m.leaf guest'],
  },
  {
    name: 'minDurationMicros: short child spans are never started; long ones keep their start time',
    async run({ h, guest }) {
      const m = await guest({ functions: 'all', minDurationMicros: 1000 });
      m.exportedFunction('busy')!.call(5_000_000);
      const busy = h.span('m.busy');
      const slow = h.span('m.slow');
      expect(slow.parentSpanContext?.spanId).toBe(busy.spanContext().spanId);
      // The lazily started span keeps the time the call started (the SDK's own start times are
      // Date.now(), to the millisecond), and lasted >= 1 ms.
      expect(hr(slow.startTime)).toBeGreaterThanOrEqual(hr(busy.startTime) - 1e6);
      expect(hr(slow.duration)).toBeGreaterThanOrEqual(1e6);
      expect(h.started().map((s) => (s as unknown as { name: string }).name)).not.toContain('m.leaf');
    },
    expected: ['m.busy guest', '  m.slow guest'],
  },
  {
    name: 'minDurationMicros: a host call starts its span and its callers', // host code may nest spans under it
    async run({ guest }) {
      const m = await guest({ functions: 'all', minDurationMicros: 10_000_000 });
      m.exportedFunction('run')!.call(3);
    },
    expected: ['m.run guest', '  m.step guest', '    env.work host'],
  },
  {
    name: 'recordParams: wasm.params as natural values',
    async run({ h, guest }) {
      const m = await guest({ functions: 'all', recordParams: true });
      m.exportedFunction('run')!.call(-7);
      expect(h.span('m.run').attributes['wasm.params']).toEqual(['-7']);
      expect(h.span('env.work').attributes['wasm.params']).toEqual(['-7']);
    },
    expected: ['m.run guest', '  m.step guest', '    m.leaf guest', '    env.work host'],
  },
  {
    name: 'recordParams: every value type (i64 signed, floats, v128 as hex, references)',
    async run({ h, guest }) {
      const m = await guest({ recordParams: true });
      m.exportedFunction('types')!.call(-2n, 1.5, -0.25, 0x0f0e0d0c0b0a0908n, 0x0706050403020100n, 0n, 0n);
      expect(h.span('m.types').attributes['wasm.params']).toEqual([
        '-2',
        '1.5',
        '-0.25',
        '0x07060504030201000f0e0d0c0b0a0908',
        'null',
        'null',
      ]);
    },
    expected: ['m.types guest'],
  },
  {
    name: 'attributes: function name, module instance name, index and call kind',
    async run({ h, guest }) {
      const m = await guest({ functions: 'all' });
      m.exportedFunction('run')!.call(1);
      expect(h.span('m.leaf').attributes).toEqual({
        'code.function.name': 'm.leaf',
        'wasm.module.name': 'm',
        'wasm.function.index': 4,
        'wasm.call.kind': 'guest',
      });
      expect(h.span('env.work').attributes).toEqual({
        'code.function.name': 'env.work',
        'wasm.module.name': 'env',
        'wasm.function.index': 0,
        'wasm.call.kind': 'host',
      });
      expect(h.span('m.run').kind).toBe(0); // INTERNAL
    },
    expected: ['m.run guest', '  m.step guest', '    m.leaf guest', '    env.work host'],
  },
  {
    name: "code.file.path/line from the function's first DWARF line",
    async run({ r, h }) {
      const ctx = withFunctionListenerFactory(Context.background(), newOtelListenerFactory({ tracer: h.tracer, functions: 'all' }));
      const bytes = readFileSync(fileURLToPath(new URL('../fixtures/dwarf/inline.dwarf5.wasm', import.meta.url)));
      const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName('inl'), ctx);
      m.exportedFunction('run')!.call(1);
      expect(h.span('.run').attributes).toMatchObject({
        'code.file.path': '/fixtures/inline.c',
        'code.line.number': 11,
        'wasm.module.name': 'inl',
      });
      expect(h.span('.outer').attributes).toMatchObject({ 'code.file.path': '/fixtures/inline.c', 'code.line.number': 7 });
    },
    expected: ['.run guest', '  .outer guest'],
  },
  {
    name: 'a snapshot restore closes the spans of the calls it discards (ERROR, the reason, no exception)',
    async run({ r, h }) {
      const ctx = withFunctionListenerFactory(Context.background(), newOtelListenerFactory({ tracer: h.tracer, functions: 'all' }));
      const snapshots: Snapshot[] = [];
      await r
        .newHostModuleBuilder('example')
        .newFunctionBuilder()
        .withFunc((c) => (snapshots.push(getSnapshotter(c)!.snapshot()), 0), [I32], [I32])
        .export('snapshot')
        .newFunctionBuilder()
        .withFunc(() => snapshots[0]!.restore([5n]), [], [])
        .export('restore')
        .instantiate(ctx);
      const s = await r.instantiateWithConfig(
        await wat(`(module $s
          (import "example" "snapshot" (func $snapshot (param i32) (result i32)))
          (import "example" "restore" (func $restore))
          (func $helper (result i32) (call $restore) (i32.const 10))
          (func $run (export "run") (result i32) (local i32)
            (local.set 0 (call $snapshot (i32.const 0)))
            (if (result i32) (local.get 0) (then (local.get 0)) (else (call $helper)))))`),
        newModuleConfig().withName('s'),
        withSnapshotter(ctx),
      );
      expect(s.exportedFunction('run')!.callWithContext(withSnapshotter(Context.background()))).toEqual([5n]);
      expect(h.span('s.helper').events).toEqual([]);
    },
    expected: [
      's.run guest',
      '  example.snapshot host',
      '  s.helper guest ERROR(snapshot restore)',
      '    example.restore host ERROR(snapshot restore)',
    ],
  },
  {
    name: 'a tail call ends the caller span; the callee span takes its place',
    async run({ guest }) {
      const m = await guest({ functions: 'all' });
      expect(m.exportedFunction('tail')!.call(5)).toEqual([10n]);
    },
    expected: ['m.tail guest', 'm.leaf guest'],
  },
  {
    name: 'a host function called from the API gets a root span and is the active context',
    async run({ r, guest, activeInHost }) {
      await guest();
      r.module('env')!.exportedFunction('work')!.call(4);
      expect(activeInHost).toEqual(['env.work']);
    },
    expected: ['env.work host'],
  },
  {
    name: 'telemetry never throws: a failing tracer reports to onError and the calls run normally',
    async run({ r, h }) {
      const errors: unknown[] = [];
      const broken = {
        startSpan: () => {
          throw new Error('exporter down');
        },
        startActiveSpan: h.tracer.startActiveSpan.bind(h.tracer),
      } as unknown as Tracer;
      const ctx = withFunctionListenerFactory(
        Context.background(),
        newOtelListenerFactory({ tracer: broken, functions: 'all', onError: (e) => errors.push(e) }),
      );
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc((_c, _m, x: number) => x + 1, [I32], [I32])
        .export('work')
        .newFunctionBuilder()
        .withFunc(() => undefined, [], [])
        .export('fail')
        .instantiate(ctx);
      const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('m'), ctx);
      expect(m.exportedFunction('run')!.call(3)).toEqual([10n]);
      expect(errors.length).toBeGreaterThan(0);
      expect((errors[0] as Error).message).toBe('exporter down');
    },
    expected: [],
  },
  {
    name: 'composed with a listener whose before throws: the spans it interrupts end with its error, the next call is a fresh root',
    async run({ r, h }) {
      let failures = 1;
      const thrower = functionListenerFactoryFunc(() =>
        functionListenerFunc((_c, _m, def) => {
          if (def.name() === 'work' && failures-- > 0) throw new Error('listener failed');
        }),
      );
      const ctx = withFunctionListenerFactory(
        Context.background(),
        multiFunctionListenerFactory(newOtelListenerFactory({ tracer: h.tracer }), thrower),
      );
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc((_c, _m, x: number) => x + 1, [I32], [I32])
        .export('work')
        .newFunctionBuilder()
        .withFunc(() => undefined, [], [])
        .export('fail')
        .instantiate(ctx);
      const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('m'), ctx);
      expect(() => m.exportedFunction('run')!.call(3)).toThrow('listener failed');
      expect(m.exportedFunction('run')!.call(3)).toEqual([10n]);
    },
    expected: ['m.run guest ERROR(listener failed)', '  env.work host ERROR(listener failed)', 'm.run guest', '  env.work host'],
  },
  {
    name: 'an onError that throws is ignored',
    async run({ r }) {
      const broken = {
        startSpan: () => {
          throw new Error('exporter down');
        },
      } as unknown as Tracer;
      const ctx = withFunctionListenerFactory(
        Context.background(),
        newOtelListenerFactory({
          tracer: broken,
          onError: () => {
            throw new Error('handler down');
          },
        }),
      );
      const m = await r.instantiateWithConfig(
        await wat('(module $q (func $f (export "f") (result i32) (i32.const 1)))'),
        newModuleConfig(),
        ctx,
      );
      expect(m.exportedFunction('f')!.call()).toEqual([1n]);
    },
    expected: [],
  },
  {
    name: 'composes with multiFunctionListenerFactory (logging + otel): host spans still active in host code',
    async run(env) {
      const lines: string[] = [];
      const logging = newLoggingListenerFactory({ write: (c) => lines.push(String(c)) });
      const m = await env.guest({}, logging);
      m.exportedFunction('run')!.call(3);
      expect(env.activeInHost).toEqual(['env.work']);
      expect(lines.join('')).toContain('--> m.run(3)');
    },
    expected: ['m.run guest', '  env.work host'],
  },
  {
    name: 'metrics: wasm.function.calls and wasm.function.duration per function, error.type for aborts',
    async run({ r }) {
      const reader = new TestReader();
      const provider = new MeterProvider({ readers: [reader] });
      const ctx = withFunctionListenerFactory(
        Context.background(),
        newOtelMetricsListenerFactory({ meter: provider.getMeter('test'), functions: 'all' }),
      );
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc((_c, _m, x: number) => x + 1, [I32], [I32])
        .export('work')
        .newFunctionBuilder()
        .withFunc(() => undefined, [], [])
        .export('fail')
        .instantiate(ctx);
      const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('m'), ctx);
      m.exportedFunction('run')!.call(3);
      m.exportedFunction('run')!.call(4);
      expect(() => m.exportedFunction('crash')!.call()).toThrow(WasmRuntimeError);
      const { resourceMetrics } = await reader.collect();
      const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
      const calls = all.find((x) => x.descriptor.name === 'wasm.function.calls') as SumMetricData;
      const count = (fn: string, error?: string): number | undefined =>
        calls.dataPoints.find((p) => p.attributes['code.function.name'] === fn && p.attributes['error.type'] === error)?.value;
      expect(count('m.run')).toBe(2);
      expect(count('m.leaf')).toBe(2);
      expect(count('env.work')).toBe(2);
      expect(count('m.crash', 'WasmRuntimeError')).toBe(1);
      expect(count('m.deeper', 'WasmRuntimeError')).toBe(1);
      const duration = all.find((x) => x.descriptor.name === 'wasm.function.duration') as HistogramMetricData;
      expect(duration.descriptor.unit).toBe('s');
      const run = duration.dataPoints.find(
        (p) => p.attributes['code.function.name'] === 'm.run' && p.attributes['error.type'] === undefined,
      )!;
      expect(run.value.count).toBe(2);
      expect(run.value.sum).toBeGreaterThan(0);
      expect(run.value.sum).toBeLessThan(1);
      expect(run.attributes).toMatchObject({ 'wasm.module.name': 'm', 'wasm.call.kind': 'guest' });
    },
    expected: [],
  },
];

/** A metric reader the test collects from by hand. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function hr(t: [number, number]): number {
  return t[0] * 1e9 + t[1];
}

describe.each(engines)('otel spans ($name)', (engine) => {
  it.each(cases.filter((c) => c.only === undefined || c.only === engine.name))('$name', async (c) => {
    const h = newHarness(c.sampler === 'off' ? new AlwaysOffSampler() : c.sampler === 'on' ? new AlwaysOnSampler() : undefined);
    const r = runtimeFor(engine, (cfg) => {
      let out = cfg.withCoreFeatures(CoreFeaturesV2 | CoreFeaturesTailCall);
      if (c.closeOnContextDone === true) out = out.withCloseOnContextDone(true);
      return out;
    });
    const env: Env = {
      h,
      r,
      activeInHost: [],
      work: (_mod, x) => x + 1,
      async guest(options, extra) {
        const otel = newOtelListenerFactory({ tracer: h.tracer, ...options });
        const ctx = withFunctionListenerFactory(
          Context.background(),
          extra === undefined ? otel : multiFunctionListenerFactory(extra, otel),
        );
        await r
          .newHostModuleBuilder('env')
          .newFunctionBuilder()
          .withFunc(
            (_c, mod: Module, x: number) => {
              env.activeInHost.push(nameOf(trace.getActiveSpan()));
              return env.work(mod, x);
            },
            [I32],
            [I32],
          )
          .export('work')
          .newFunctionBuilder()
          .withFunc(
            () => {
              throw new Error('boom');
            },
            [],
            [],
          )
          .export('fail')
          .instantiate(ctx);
        return r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('m'), ctx);
      },
    };
    try {
      await c.run(env);
      expect(h.tree()).toEqual(c.expected);
      // Every span that started has ended.
      expect(h.started().length).toBe(h.spans().length);
    } finally {
      await r.close();
    }
  });
});
