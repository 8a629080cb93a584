/**
 * `wasmscope/otel`: OpenTelemetry spans and metrics for guest and host calls, on function
 * listeners. Needs the peer dependency `@opentelemetry/api`; the embedder's own TracerProvider,
 * sampler, exporters and MeterProvider do the rest.
 *
 * @example
 * ```ts
 * import { withFunctionListenerFactory } from 'wasmscope/experimental';
 * import { newOtelListenerFactory } from 'wasmscope/otel';
 * const ctx = withFunctionListenerFactory(Context.background(), newOtelListenerFactory());
 * await wasi.instantiate(r, ctx);           // host modules compiled with ctx get host-call spans
 * const mod = await r.instantiateWithConfig(bytes, config, ctx);
 * ```
 * @packageDocumentation
 */
export { newOtelListenerFactory } from './otel/tracing.js';
export type { OtelListenerOptions } from './otel/tracing.js';
export { METRIC_CALLS, METRIC_DURATION, newOtelMetricsListenerFactory } from './otel/metrics.js';
export type { OtelMetricsOptions } from './otel/metrics.js';
export type { FunctionSelector } from './otel/functions.js';
