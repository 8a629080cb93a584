/**
 * `wasmscope/otel` outside the engine table: the defaults (global tracer and meter providers,
 * instrumentation scope), option validation, and that nothing but `wasmscope/otel` (and the CLI's
 * tracing flags, on use) loads OpenTelemetry.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Context, newModuleConfig, newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../../src/index.js';
import { withFunctionListenerFactory } from '../../src/experimental.js';
import { newOtelListenerFactory, newOtelMetricsListenerFactory } from '../../src/otel.js';
import { wat } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  dependencies?: Record<string, string>;
};

const STATIC_IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

/** Every file a source file reaches through static (non-type) imports, with the packages they import. */
function staticGraph(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      if (/^\s*(import|export)\s+type\s/.test(m[0])) continue;
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) {
        packages.set(spec, relative(root, file));
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      if (existsSync(target)) visit(target);
    }
  };
  visit(join(root, 'src', entry));
  return { files, packages };
}

describe('wasmscope/otel', () => {
  it('no entry point but wasmscope/otel loads OpenTelemetry (the CLI only on --trace-*)', () => {
    for (const entry of [
      'index.ts',
      'api.ts',
      'experimental.ts',
      'experimental-logging.ts',
      'wasi.ts',
      'sys.ts',
      'bench.ts',
      'cli/bin.ts',
    ]) {
      const { packages } = staticGraph(entry);
      const otel = [...packages].filter(([p]) => p.startsWith('@opentelemetry/'));
      expect(otel, entry).toEqual([]);
    }
    const otel = staticGraph('otel.ts');
    expect([...otel.packages.keys()].filter((p) => p.startsWith('@opentelemetry/'))).toEqual(['@opentelemetry/api']);
  });

  it('@opentelemetry/api is an optional peer dependency, never a dependency', () => {
    expect(pkg.peerDependencies['@opentelemetry/api']).toMatch(/^\^1\./);
    expect(pkg.peerDependenciesMeta['@opentelemetry/api']?.optional).toBe(true);
    expect(pkg.dependencies?.['@opentelemetry/api']).toBeUndefined();
  });

  it('defaults to the global providers, with instrumentation scope wasmscope and the package version', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const reader = new (class extends MetricReader {
      constructor() {
        super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
      }
      protected onForceFlush(): Promise<void> {
        return Promise.resolve();
      }
      protected onShutdown(): Promise<void> {
        return Promise.resolve();
      }
    })();
    // Registered after the factories exist: the API's proxies follow the global providers.
    const spans = newOtelListenerFactory();
    const counts = newOtelMetricsListenerFactory();
    expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);
    expect(metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))).toBe(true);
    try {
      const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
      for (const f of [spans, counts]) {
        const m = await r.instantiateWithConfig(
          await wat('(module $g (func $f (export "f")))'),
          newModuleConfig().withName(''),
          withFunctionListenerFactory(Context.background(), f),
        );
        m.exportedFunction('f')!.call();
      }
      const [span] = exporter.getFinishedSpans();
      expect(span?.name).toBe('g.f');
      expect(span?.instrumentationScope).toEqual({ name: 'wasmscope', version: pkg.version, schemaUrl: undefined });
      const { resourceMetrics } = await reader.collect();
      const scope = resourceMetrics.scopeMetrics[0]!;
      expect(scope.scope).toMatchObject({ name: 'wasmscope', version: pkg.version });
      expect(scope.metrics.map((x) => x.descriptor.name).sort()).toEqual(['wasm.function.calls', 'wasm.function.duration']);
      await r.close();
    } finally {
      trace.disable();
      metrics.disable();
    }
  });

  it('rejects options out of range with errors that name them', () => {
    expect(() => newOtelListenerFactory({ sampleEvery: 0 })).toThrow('sampleEvery: expected a number >= 1, got 0');
    expect(() => newOtelListenerFactory({ sampleEvery: 1.5 })).toThrow('sampleEvery: expected an integer >= 1, got 1.5');
    expect(() => newOtelListenerFactory({ maxSpansPerCall: 0 })).toThrow('maxSpansPerCall: expected a number >= 1, got 0');
    expect(() => newOtelListenerFactory({ minDurationMicros: -1 })).toThrow('minDurationMicros: expected a number >= 0, got -1');
    expect(() => newOtelListenerFactory({ functions: 'some' as 'all' })).toThrow(
      "functions: expected 'exported', 'all' or a predicate, got some",
    );
  });

  it('a predicate that throws selects nothing and reports to onError', () => {
    const errors: unknown[] = [];
    const f = newOtelListenerFactory({
      functions: () => {
        throw new Error('bad predicate');
      },
      onError: (e) => errors.push(e),
    });
    const def = { hostFunction: () => undefined, exportNames: () => ['x'] } as unknown as Parameters<typeof f.newFunctionListener>[0];
    expect(f.newFunctionListener(def)).toBeUndefined();
    expect((errors[0] as Error).message).toBe('bad predicate');
  });
});
