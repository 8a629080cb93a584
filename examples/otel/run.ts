/**
 * The OpenTelemetry example: an HTTP server whose request handler calls a wasm guest. With the
 * OpenTelemetry SDK set up the usual way and wasmscope's otel listener factory on the compile
 * context, the guest's calls land in the request's trace, and the spans the host function makes
 * itself (here a pretend database lookup) nest under its host-call span:
 *
 *   GET /quote
 *     .quote guest /example/pricing.c:10
 *       .tax guest /example/pricing.c:6
 *         env.lookup_rate host
 *           rates.lookup
 *
 * Run it with `npx tsx examples/otel/run.ts`. It prints the span tree of one request.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Context, newModuleConfig, newRuntime } from 'wasmscope';
import { ValueType } from 'wasmscope/api';
import { withFunctionListenerFactory } from 'wasmscope/experimental';
import { newOtelListenerFactory } from 'wasmscope/otel';

export const PRICING_WASM = fileURLToPath(new URL('./pricing.wasm', import.meta.url));

/** Serves one `GET /quote?cents=N&region=R` and returns the request's span tree, one line per span. */
export async function runExample(out: (line: string) => void = console.log): Promise<string[]> {
  // The embedder's OpenTelemetry setup: any provider, sampler and exporter work.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  const tracer = trace.getTracer('pricing-service');

  // wasmscope: the factory rides on the context the host module and the guest are compiled with.
  const ctx = withFunctionListenerFactory(Context.background(), newOtelListenerFactory({ functions: 'all' }));
  const r = newRuntime();
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withFunc(
      // Host code instrumented on its own: its span nests under the host call's span.
      (_ctx, _mod, region: number) => tracer.startActiveSpan('rates.lookup', (span) => (span.end(), region === 1 ? 20 : 7)),
      [ValueType.I32],
      [ValueType.I32],
    )
    .export('lookup_rate')
    .instantiate(ctx);
  const guest = await r.instantiateWithConfig(readFileSync(PRICING_WASM), newModuleConfig().withName('pricing'), ctx);
  const quote = guest.exportedFunction('quote')!;

  const server = createServer((req, res) => {
    // What HTTP instrumentation does: a span per request, active while the handler runs.
    tracer.startActiveSpan(`${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`, (span) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const [total] = quote.call(Number(q.get('cents')), Number(q.get('region')));
      res.end(String(total));
      span.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  try {
    const body = await (await fetch(`http://127.0.0.1:${port}/quote?cents=1000&region=1`)).text();
    out(`quote(1000, region 1) = ${body}`);
  } finally {
    server.close();
    await r.close();
  }
  await provider.forceFlush();
  const lines = spanTree(exporter.getFinishedSpans());
  for (const l of lines) out(l);
  await provider.shutdown();
  trace.disable();
  context.disable();
  return lines;
}

/** Spans indented under their parents: `name [wasm.call.kind] [code.file.path:code.line.number]`. */
function spanTree(spans: readonly ReadableSpan[]): string[] {
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const out: string[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    for (const s of spans) {
      const p = s.parentSpanContext?.spanId;
      const isChild = parent === undefined ? p === undefined || !ids.has(p) : p === parent;
      if (!isChild) continue;
      const a = s.attributes;
      const where = a['code.file.path'] === undefined ? '' : ` ${String(a['code.file.path'])}:${String(a['code.line.number'])}`;
      const kind = a['wasm.call.kind'] === undefined ? '' : ` ${String(a['wasm.call.kind'])}`;
      out.push(`${'  '.repeat(depth)}${s.name}${kind}${where}`);
      walk(s.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runExample();
}
