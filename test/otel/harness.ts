/**
 * A real OpenTelemetry SDK for the tests: a BasicTracerProvider exporting to an
 * InMemorySpanExporter, with AsyncLocalStorageContextManager as the global context manager, and a
 * printer of the recorded span tree (spans in the order they started, indented under their parent).
 */
import { context, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

let contextManager: AsyncLocalStorageContextManager | undefined;

/** Makes `context.active()`/`context.with` work (once per test process). */
export function installContextManager(): void {
  if (contextManager !== undefined) return;
  contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
}

/** Records the order spans start in (the SDK's start times have millisecond resolution). */
class StartOrder implements SpanProcessor {
  readonly started: Span[] = [];
  onStart(span: Span): void {
    this.started.push(span);
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface Harness {
  readonly tracer: Tracer;
  readonly exporter: InMemorySpanExporter;
  /** Spans that started, in order (ended or not). */
  started(): readonly Span[];
  /** Finished spans, in start order. */
  spans(): ReadableSpan[];
  /** The finished spans as an indented tree: `name kind [status] [exit=N]`. */
  tree(): string[];
  /** The finished span named `name` (the first one). */
  span(name: string): ReadableSpan;
  reset(): void;
}

/** A tracer provider with an in-memory exporter (and `sampler`, default always on). */
export function newHarness(sampler?: Sampler): Harness {
  installContextManager();
  const exporter = new InMemorySpanExporter();
  const order = new StartOrder();
  const provider = new BasicTracerProvider({
    spanProcessors: [order, new SimpleSpanProcessor(exporter)],
    ...(sampler === undefined ? {} : { sampler }),
  });
  const tracer = provider.getTracer('test');
  const spans = (): ReadableSpan[] => {
    const finished = new Set<ReadableSpan>(exporter.getFinishedSpans());
    return order.started.filter((s) => finished.has(s as unknown as ReadableSpan)) as unknown as ReadableSpan[];
  };
  return {
    tracer,
    exporter,
    started: () => order.started,
    spans,
    tree: () => formatTree(spans()),
    span(name) {
      const s = spans().find((x) => x.name === name);
      if (s === undefined)
        throw new Error(
          `no span ${name} in ${spans()
            .map((x) => x.name)
            .join(', ')}`,
        );
      return s;
    },
    reset() {
      exporter.reset();
      order.started.length = 0;
    },
  };
}

function label(s: ReadableSpan): string {
  const parts = [s.name];
  const kind = s.attributes['wasm.call.kind'];
  if (kind !== undefined) parts.push(String(kind));
  if (s.status.code === SpanStatusCode.ERROR) parts.push(`ERROR(${s.status.message ?? ''})`);
  if (s.status.code === SpanStatusCode.OK) parts.push('OK');
  const exit = s.attributes['wasm.exit_code'];
  if (exit !== undefined) parts.push(`exit=${String(exit)}`);
  return parts.join(' ');
}

/** Spans in start order, each under its parent; a span whose parent was not recorded is a root. */
export function formatTree(spans: readonly ReadableSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const children = new Map<ReadableSpan | undefined, ReadableSpan[]>();
  for (const s of spans) {
    const p = s.parentSpanContext === undefined ? undefined : byId.get(s.parentSpanContext.spanId);
    const list = children.get(p) ?? [];
    list.push(s);
    children.set(p, list);
  }
  const out: string[] = [];
  const walk = (parent: ReadableSpan | undefined, depth: number): void => {
    for (const c of children.get(parent) ?? []) {
      out.push(`${'  '.repeat(depth)}${label(c)}`);
      walk(c, depth + 1);
    }
  };
  walk(undefined, 0);
  return out;
}
