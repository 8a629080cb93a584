/**
 * `wasmscope run --trace-otlp URL` / `--trace-file FILE`: spans of the run exported over OTLP/HTTP
 * (JSON) and/or written as OTLP JSON lines. Everything OpenTelemetry is loaded here, on use, from
 * optional dependencies; a missing package is a clear error, never a crash at startup.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type { FunctionListenerFactory } from '../runtime/api/listener.js';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** `ExportResult` of `@opentelemetry/core`, as the exporter interface takes it. */
type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];

/** What the run needs: the listener factory, and a shutdown that flushes every span. */
export interface CliTracing {
  readonly factory: FunctionListenerFactory;
  /** Flushes and shuts the exporters down; returns what went wrong (never throws). */
  shutdown(): Promise<string[]>;
}

/** Where the spans go. */
export interface CliTracingOptions {
  /** OTLP/HTTP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`. */
  readonly otlpUrl?: string | undefined;
  /** A file to write OTLP JSON lines to (one `ExportTraceServiceRequest` per line; truncated first). */
  readonly file?: string | undefined;
  /** The resource's `service.name`. */
  readonly serviceName: string;
}

/** Imports a package by name (replaceable in tests). */
export type Importer = (specifier: string) => Promise<unknown>;

const defaultImporter: Importer = (specifier) => import(specifier);

/** Export result codes of `@opentelemetry/core` (`ExportResultCode`). */
const SUCCESS = 0;
const FAILED = 1;

/** Writes each exported batch as one line of OTLP JSON. */
class FileSpanExporter implements SpanExporter {
  readonly #path: string;
  readonly #serialize: (spans: ReadableSpan[]) => Uint8Array | undefined;
  constructor(path: string, serialize: (spans: ReadableSpan[]) => Uint8Array | undefined) {
    this.#path = path;
    this.#serialize = serialize;
    writeFileSync(path, '');
  }
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      const bytes = this.#serialize(spans);
      if (bytes === undefined) throw new Error('spans could not be serialized');
      appendFileSync(this.#path, `${Buffer.from(bytes).toString('utf8')}\n`);
      done({ code: SUCCESS });
    } catch (e) {
      done({ code: FAILED, error: e instanceof Error ? e : new Error(String(e)) });
    }
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Forwards to `inner` and remembers failures (the SDK would only log them). */
class WatchedExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #where: string;
  readonly #problems: string[];
  constructor(inner: SpanExporter, where: string, problems: string[]) {
    this.#inner = inner;
    this.#where = where;
    this.#problems = problems;
  }
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      if (result.code !== SUCCESS) {
        const reason = result.error?.message ?? 'failed';
        if (!this.#problems.some((p) => p.endsWith(reason))) this.#problems.push(`exporting spans to ${this.#where} failed: ${reason}`);
      }
      done(result);
    });
  }
  async shutdown(): Promise<void> {
    await this.#inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** The packages each destination needs. */
const NEEDS_ANY = ['@opentelemetry/api', '@opentelemetry/sdk-trace-base', '@opentelemetry/resources'];
const NEEDS_OTLP = '@opentelemetry/exporter-trace-otlp-http';
const NEEDS_FILE = '@opentelemetry/otlp-transformer';

async function load<T>(importer: Importer, specifier: string, flag: string, all: readonly string[]): Promise<T> {
  try {
    return (await importer(specifier)) as T;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(`${flag} needs the optional package ${specifier}, which is not installed: npm install ${all.join(' ')}`);
    }
    throw e;
  }
}

/**
 * Sets up tracing for one run: a tracer provider of its own (the global one is left alone) with a
 * batch processor per destination, and the otel listener factory (`functions: 'exported'`: the
 * start function and every host call).
 * @throws Error naming the missing optional packages (and how to install them).
 */
export async function startTracing(options: CliTracingOptions, importer: Importer = defaultImporter): Promise<CliTracing> {
  const flag = options.otlpUrl !== undefined ? '--trace-otlp' : '--trace-file';
  const all = [...NEEDS_ANY, ...(options.otlpUrl !== undefined ? [NEEDS_OTLP] : []), ...(options.file !== undefined ? [NEEDS_FILE] : [])];
  await load<typeof import('@opentelemetry/api')>(importer, '@opentelemetry/api', flag, all);
  const sdk = await load<typeof import('@opentelemetry/sdk-trace-base')>(importer, '@opentelemetry/sdk-trace-base', flag, all);
  const resources = await load<typeof import('@opentelemetry/resources')>(importer, '@opentelemetry/resources', flag, all);
  const problems: string[] = [];
  const exporters: SpanExporter[] = [];
  if (options.otlpUrl !== undefined) {
    const otlp = await load<typeof import('@opentelemetry/exporter-trace-otlp-http')>(importer, NEEDS_OTLP, '--trace-otlp', all);
    exporters.push(new WatchedExporter(new otlp.OTLPTraceExporter({ url: options.otlpUrl }), options.otlpUrl, problems));
  }
  if (options.file !== undefined) {
    const transformer = await load<typeof import('@opentelemetry/otlp-transformer')>(importer, NEEDS_FILE, '--trace-file', all);
    const file = new FileSpanExporter(options.file, (spans) => transformer.JsonTraceSerializer.serializeRequest(spans));
    exporters.push(new WatchedExporter(file, options.file, problems));
  }
  const provider = new sdk.BasicTracerProvider({
    resource: resources.defaultResource().merge(resources.resourceFromAttributes({ 'service.name': options.serviceName })),
    // A guest run is one synchronous call: the batch timer cannot fire during it, so the queue
    // must hold a whole run's spans until the run returns.
    spanProcessors: exporters.map((e) => new sdk.BatchSpanProcessor(e, { maxQueueSize: 100_000, maxExportBatchSize: 1024 })),
  });
  const { newOtelListenerFactory } = await import('../otel.js');
  const { VERSION } = await import('../otel/version.js');
  return {
    factory: newOtelListenerFactory({ tracer: provider.getTracer('wasmscope', VERSION) }),
    async shutdown() {
      try {
        await provider.shutdown();
      } catch (e) {
        // Usually the export failure already reported.
        const reason = e instanceof Error ? e.message : String(e);
        if (!problems.some((p) => p.endsWith(reason))) problems.push(`flushing spans failed: ${reason}`);
      }
      return problems;
    },
  };
}
