/**
 * What wasmscope is for, in one run (`npm start`): a C guest with DWARF debug info, and
 * 1. the logging listener's call tree (guest and host calls, params and results),
 * 2. a trap with its wasm stack trace and the C source lines it came from,
 * 3. the OpenTelemetry spans of a traced call, printed as a tree,
 * 4. the guest's exports as plain JS functions, and its imports given as a plain object,
 * 5. a checkpoint of a guest's whole state, a rewind to it and a replay that lands on the same state.
 * Run it with `npm start` (or `npx tsx examples/tour/run.ts`).
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Context, exportsOf, newModuleConfig, newRuntime, WasmRuntimeError, type Runtime } from 'wasmscope';
import { ValueType } from 'wasmscope/api';
import { withFunctionListenerFactory } from 'wasmscope/experimental';
import { newLoggingListenerFactory } from 'wasmscope/experimental/logging';
import { newOtelListenerFactory } from 'wasmscope/otel';
import * as wasi from 'wasmscope/wasi';
import { checkpoint, restore } from 'wasmscope/snapshot';

/** pricing.c: `quote(cents, region)` adds `tax()`, which asks the host for `env.lookup_rate(region)`. */
export const PRICING_WASM = fileURLToPath(new URL('../otel/pricing.wasm', import.meta.url));
/** trap.c: `main()` → `compute(3)` → `divide(6, 0)`, a division by zero. */
export const TRAP_WASM = fileURLToPath(new URL('../../test/fixtures/dwarf/trap.dwarf5.wasm', import.meta.url));

/** world.c (examples/snapshot): a terrain generated at start-up, `step(n)` moves the world on. */
export const WORLD_WASM = fileURLToPath(new URL('../snapshot/world.wasm', import.meta.url));

/** The host side of pricing.c: a rate per region. */
async function withRates(r: Runtime, ctx?: Context): Promise<void> {
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withFunc((_ctx, _mod, region: number) => (region === 1 ? 20 : 7), [ValueType.I32], [ValueType.I32])
    .withParameterNames('region')
    .export('lookup_rate')
    .instantiate(ctx);
}

/** Runs the tour, writing to `out`. */
export async function runTour(out: (text: string) => void = (t) => void process.stdout.write(t), bold = false): Promise<void> {
  const heading = (s: string): void => out(bold ? `\n\x1b[1m${s}\x1b[0m\n` : `\n${s}\n`);
  const pricing = readFileSync(PRICING_WASM);

  heading('1. Every call, as a tree (the logging listener, wazero format)');
  {
    const ctx = withFunctionListenerFactory(
      Context.background(),
      newLoggingListenerFactory({ write: (s: string | Uint8Array) => out(String(s)) }),
    );
    const r = newRuntime();
    await withRates(r, ctx);
    const guest = await r.instantiateWithConfig(pricing, newModuleConfig().withName('pricing'), ctx);
    const [total] = guest.exportedFunction('quote')!.call(1000, 1);
    out(`quote(1000, 1) = ${total}\n`);
    await r.close();
  }

  heading('2. A trap, with the wasm stack trace and the C source lines (DWARF)');
  {
    const r = newRuntime();
    await wasi.instantiate(r);
    try {
      await r.instantiate(readFileSync(TRAP_WASM));
    } catch (e) {
      if (!(e instanceof WasmRuntimeError)) throw e;
      out(`${e.message}\n`);
    }
    await r.close();
  }

  heading('3. A traced call: OpenTelemetry spans of the guest, its internal call and the host call');
  {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    const ctx = withFunctionListenerFactory(Context.background(), newOtelListenerFactory({ functions: 'all' }));
    const r = newRuntime();
    await withRates(r, ctx);
    const guest = await r.instantiateWithConfig(pricing, newModuleConfig().withName('pricing'), ctx);
    trace.getTracer('tour').startActiveSpan('GET /quote', (span) => {
      guest.exportedFunction('quote')!.call(250, 2);
      span.end();
    });
    out(spanTree(exporter.getFinishedSpans()));
    await r.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
  }

  heading('4. Plain JS: exports as functions, imports as an object');
  {
    const r = newRuntime();
    const guest = await r.instantiateWithImports(pricing, { env: { lookup_rate: (region: number) => (region === 1 ? 20 : 7) } });
    const { quote } = exportsOf<{ quote(cents: number, region: number): number }>(guest);
    out(`quote(1000, 1) = ${quote(1000, 1)}; quote(1000, 2) = ${quote(1000, 2)}\n`);
    out(`console.log(guest) prints: ${inspect(guest)}\n`);
    await r.close();
  }
  heading('5. Checkpoint, rewind, replay (wasmscope/snapshot)');
  {
    const r = newRuntime();
    const world = await r.instantiateWithConfig(readFileSync(WORLD_WASM), newModuleConfig().withName('world'));
    world.exportedFunction('_initialize')!.call();
    world.exportedFunction('wizer.initialize')!.call();
    const state = (): string =>
      `steps ${world.exportedFunction('steps')!.call()[0]}, checksum ${world.exportedFunction('checksum')!.call()[0]}`;
    const cp = checkpoint(world);
    out(`${String(cp)}: ${state()}\n`);
    world.exportedFunction('step')!.call(100);
    out(`after step(100): ${state()}\n`);
    restore(world, cp);
    out(`restored:        ${state()}\n`);
    world.exportedFunction('step')!.call(100);
    out(`replayed:        ${state()}\n`);
    await r.close();
  }
  out('\nNext: README.md (install, a Vitest suite for your guest, the CLI), `npx wasmscope --help`.\n');
}

/** Spans as an indented tree with their source attributes. */
function spanTree(spans: readonly ReadableSpan[]): string {
  const children = new Map<string | undefined, ReadableSpan[]>();
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  for (const s of spans) {
    const parent = s.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), s]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    for (const s of (children.get(parent) ?? []).sort((a, b) => a.startTime[1] - b.startTime[1] || a.startTime[0] - b.startTime[0])) {
      const a = s.attributes;
      const where = a['code.file.path'] === undefined ? '' : ` ${String(a['code.file.path'])}:${String(a['code.line.number'])}`;
      const kind = a['wasm.call.kind'] === undefined ? '' : ` (${String(a['wasm.call.kind'])})`;
      lines.push(`${'  '.repeat(depth)}${s.name}${kind}${where}`);
      walk(s.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runTour(undefined, process.stdout.isTTY === true);
