/**
 * Cost of `wasmscope/otel` tracing, per exported call and per traced internal call, on both
 * engines, measured side by side in one run (interleaved rounds, medians):
 * - no tracing (the module compiled without listeners);
 * - tracing on, the exported call unsampled: under an unsampled parent (the tracer is not asked)
 *   and with an AlwaysOff sampler and no parent (the tracer is asked once per exported call);
 * - sampled, every span going to a no-op span processor, against OTel's own `startSpan`+`end` with
 *   the same processor (a root span for exported calls, a child span for internal calls).
 * Loaded only by `npm run bench -- otel` (it needs the OpenTelemetry SDK from the dev dependencies).
 */
import { context, ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Context as OtelContext, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  Context,
  newModuleConfig,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  type RuntimeConfig,
} from '../index.js';
import { functionListenerFactoryFunc, withFunctionListenerFactory } from '../runtime/api/listener.js';
import type { Function as ApiFunction } from '../runtime/api/module.js';
import { newOtelListenerFactory, type OtelListenerOptions } from '../otel.js';
import { medianOf } from './stats.js';

const ROUNDS = 15;
/** Internal calls per exported call in the internal-call cases. */
const INNER = 1000;

/**
 * `(module $bench (func $f (export "f") (param i32) (result i32) local.get 0)
 *   (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
 *   (func $many (export "many") (param i32) (local i32)
 *     (loop (drop (call $leaf (local.get 1))) (br_if 0 (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (local.get 0))))))`
 * with a name section, assembled here (no wabt at bench time).
 */
function benchModule(): Uint8Array {
  const b: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const sized = (body: number[]): number[] => [body.length, ...body];
  const section = (id: number, body: number[]): void => void b.push(id, ...sized(body));
  const str = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  section(1, [2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 1, 0x7f, 0]); // (i32)->i32, (i32)->()
  section(3, [3, 0, 0, 1]);
  section(7, [2, ...str('f'), 0x00, 0, ...str('many'), 0x00, 2]);
  const f = sized([0, 0x20, 0, 0x0b]);
  const leaf = sized([0, 0x20, 0, 0x41, 1, 0x6a, 0x0b]);
  // prettier-ignore
  const many = sized([1, 1, 0x7f,
    0x03, 0x40, 0x20, 1, 0x10, 1, 0x1a, 0x20, 1, 0x41, 1, 0x6a, 0x22, 1, 0x20, 0, 0x49, 0x0d, 0, 0x0b,
    0x0b]);
  section(10, [3, ...f, ...leaf, ...many]);
  const moduleName = [0, ...sized(str('bench'))];
  const funcNames = [1, ...sized([3, 0, ...str('f'), 1, ...str('leaf'), 2, ...str('many')])];
  section(0, [...str('name'), ...moduleName, ...funcNames]);
  return Uint8Array.from(b);
}

const NOOP_PROCESSOR: SpanProcessor = {
  onStart: () => {},
  onEnd: () => {},
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

interface Case {
  readonly name: string;
  /** Calls (exported or internal) one batch makes. */
  readonly calls: number;
  readonly batch: () => void;
}

/** Median ns per call of each case over interleaved rounds. */
function measure(cases: readonly Case[]): number[] {
  const samples = cases.map((): number[] => []);
  for (const c of cases) c.batch(); // warm up
  for (let r = 0; r < ROUNDS; r++) {
    cases.forEach((c, i) => {
      const t = performance.now();
      c.batch();
      samples[i]!.push(((performance.now() - t) * 1e6) / c.calls);
    });
  }
  return samples.map(medianOf);
}

const UNSAMPLED_PARENT: OtelContext = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.NONE,
});

const NOOP_LISTENERS = functionListenerFactoryFunc(() => ({ before: () => {}, after: () => {}, abort: () => {} }));

/** Export `name` of the bench module compiled with an otel factory, a no-op listener on every function, or nothing. */
async function exportOf(
  config: () => RuntimeConfig,
  name: string,
  options: OtelListenerOptions | 'noop' | undefined,
): Promise<ApiFunction> {
  const r = newRuntimeWithConfig(config());
  const ctx =
    options === undefined
      ? Context.background()
      : withFunctionListenerFactory(Context.background(), options === 'noop' ? NOOP_LISTENERS : newOtelListenerFactory(options));
  const m = await r.instantiateWithConfig(benchModule(), newModuleConfig().withName('bench'), ctx);
  return m.exportedFunction(name)!;
}

function line(engine: string, name: string, ns: number, plain: number, extra = ''): void {
  const over = ns - plain;
  console.log(
    `${engine.padEnd(11)} ${name.padEnd(52)} ${ns.toFixed(1).padStart(9)} ns  ${`${over >= 0 ? '+' : ''}${over.toFixed(1)}`.padStart(9)} ns${extra}`,
  );
}

async function engineCases(engine: string, config: () => RuntimeConfig, on: Tracer, off: Tracer): Promise<void> {
  const stack = new BigUint64Array(1);
  const calls = (fn: ApiFunction, n: number, arg: bigint, ctx?: OtelContext) => {
    const loop = (): void => {
      for (let i = 0; i < n; i++) {
        stack[0] = arg;
        fn.callWithStack(stack);
      }
    };
    return ctx === undefined ? loop : () => context.with(ctx, loop);
  };

  // Per exported call.
  const N = 20_000;
  const S = 5_000;
  const plainF = await exportOf(config, 'f', undefined);
  const noopF = await exportOf(config, 'f', 'noop');
  const unsampledF = await exportOf(config, 'f', { tracer: on });
  const offF = await exportOf(config, 'f', { tracer: off });
  const sampledF = await exportOf(config, 'f', { tracer: on });
  const rootOptions = { kind: SpanKind.INTERNAL };
  /** OTel's own span carrying the attributes ours carry, set the way ours are. */
  const ownWithAttributes = (name: string, parent: OtelContext, index: number): void => {
    const span = on.startSpan(name, rootOptions, parent);
    span.setAttribute('code.function.name', name);
    span.setAttribute('wasm.module.name', 'bench');
    span.setAttribute('wasm.function.index', index);
    span.setAttribute('wasm.call.kind', 'guest');
    span.end();
  };
  const exported = measure([
    { name: 'no tracing', calls: N, batch: calls(plainF, N, 1n) },
    { name: 'no-op listener', calls: N, batch: calls(noopF, N, 1n) },
    { name: 'unsampled: parent not sampled (tracer not asked)', calls: N, batch: calls(unsampledF, N, 1n, UNSAMPLED_PARENT) },
    { name: 'unsampled: AlwaysOff sampler (tracer asked)', calls: S, batch: calls(offF, S, 1n) },
    { name: 'sampled, no-op processor', calls: S, batch: calls(sampledF, S, 1n) },
    {
      name: "OTel's own startSpan+end (root), same processor",
      calls: S,
      batch: () => {
        for (let i = 0; i < S; i++) on.startSpan('bench.f', rootOptions, ROOT_CONTEXT).end();
      },
    },
    {
      name: 'the same with our 4 attributes',
      calls: S,
      batch: () => {
        for (let i = 0; i < S; i++) ownWithAttributes('bench.f', ROOT_CONTEXT, 0);
      },
    },
  ]);
  const [plain, noop, parentOff, samplerOff, sampled, own, ownAttrs] = exported as [number, number, number, number, number, number, number];
  console.log(`${engine}: per exported call`);
  line(engine, 'no tracing', plain, plain);
  line(engine, "no-op listener (the engine's listener hooks)", noop, plain);
  line(engine, 'unsampled, parent not sampled (tracer not asked)', parentOff, plain, '   goal <= +50 ns');
  line(engine, 'unsampled, AlwaysOff sampler (tracer asked)', samplerOff, plain);
  line(engine, 'sampled, no-op span processor', sampled, plain, `   span cost ${(sampled - plain).toFixed(0)} ns`);
  console.log(
    `${engine.padEnd(11)} ${"OTel's own startSpan+end, same processor".padEnd(52)} ${own.toFixed(1).padStart(9)} ns` +
      `   ratio ${((sampled - plain) / own).toFixed(2)}x (goal <= 1.2x)`,
  );
  console.log(
    `${engine.padEnd(11)} ${'  the same with our 4 attributes'.padEnd(52)} ${ownAttrs.toFixed(1).padStart(9)} ns` +
      `   ratio ${((sampled - plain) / ownAttrs).toFixed(2)}x`,
  );

  // Per traced internal call ('all'): `many(INNER)` calls `leaf` INNER times.
  const K = 100;
  const plainMany = await exportOf(config, 'many', undefined);
  const noopMany = await exportOf(config, 'many', 'noop');
  const unsampledMany = await exportOf(config, 'many', { tracer: on, functions: 'all' });
  const sampledMany = await exportOf(config, 'many', { tracer: on, functions: 'all' });
  const parentSpan = on.startSpan('bench.parent', rootOptions, ROOT_CONTEXT);
  const parentCtx = trace.setSpan(ROOT_CONTEXT, parentSpan);
  const inner = measure([
    { name: 'no tracing', calls: K * INNER, batch: calls(plainMany, K, BigInt(INNER)) },
    { name: 'no-op listener', calls: K * INNER, batch: calls(noopMany, K, BigInt(INNER)) },
    { name: 'unsampled', calls: K * INNER, batch: calls(unsampledMany, K, BigInt(INNER), UNSAMPLED_PARENT) },
    { name: 'sampled', calls: (K / 10) * INNER, batch: calls(sampledMany, K / 10, BigInt(INNER)) },
    {
      name: 'own',
      calls: (K / 10) * INNER,
      batch: () => {
        for (let i = 0; i < (K / 10) * INNER; i++) on.startSpan('bench.leaf', rootOptions, parentCtx).end();
      },
    },
    {
      name: 'own with attributes',
      calls: (K / 10) * INNER,
      batch: () => {
        for (let i = 0; i < (K / 10) * INNER; i++) ownWithAttributes('bench.leaf', parentCtx, 1);
      },
    },
  ]);
  parentSpan.end();
  const [iPlain, iNoop, iOff, iSampled, iOwn, iOwnAttrs] = inner as [number, number, number, number, number, number];
  console.log(`${engine}: per traced internal call (functions: 'all', ${INNER} calls per exported call)`);
  line(engine, 'no tracing', iPlain, iPlain);
  line(engine, "no-op listener (the engine's listener hooks)", iNoop, iPlain);
  line(engine, 'unsampled call', iOff, iPlain);
  line(engine, 'sampled, no-op span processor', iSampled, iPlain, `   span cost ${(iSampled - iPlain).toFixed(0)} ns`);
  console.log(
    `${engine.padEnd(11)} ${"OTel's own startSpan+end (child), same processor".padEnd(52)} ${iOwn.toFixed(1).padStart(9)} ns` +
      `   ratio ${((iSampled - iPlain) / iOwn).toFixed(2)}x (goal <= 1.2x)`,
  );
  console.log(
    `${engine.padEnd(11)} ${'  the same with our 4 attributes'.padEnd(52)} ${iOwnAttrs.toFixed(1).padStart(9)} ns` +
      `   ratio ${((iSampled - iPlain) / iOwnAttrs).toFixed(2)}x`,
  );
}

/** `npm run bench -- otel`. */
export async function otelSuite(): Promise<void> {
  console.log(`\n## otel: tracing cost per call (${ROUNDS} interleaved rounds, medians; 'over' = minus no tracing)`);
  const cm = new AsyncLocalStorageContextManager();
  cm.enable();
  context.setGlobalContextManager(cm);
  const on = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [NOOP_PROCESSOR] }).getTracer('bench');
  const off = new BasicTracerProvider({ sampler: new AlwaysOffSampler(), spanProcessors: [NOOP_PROCESSOR] }).getTracer('bench');
  await engineCases('compiler', newRuntimeConfigCompiler, on, off);
  await engineCases('interpreter', newRuntimeConfigInterpreter, on, off);
  context.disable();
}
