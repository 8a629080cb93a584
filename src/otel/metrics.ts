/**
 * Call counts and durations per function as OpenTelemetry metrics, on function listeners.
 */
import { metrics, ValueType, type Attributes, type Counter, type Histogram, type Meter } from '@opentelemetry/api';
import type { Context } from '../runtime/api/context.js';
import type { FunctionListener, FunctionListenerFactory, StackIterator } from '../runtime/api/listener.js';
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import { ATTR, describeError, safeHandler, FunctionInfo, selectorOf, type DiagnosticHandler, type FunctionSelector } from './functions.js';
import { VERSION } from './version.js';

/** Options of {@link newOtelMetricsListenerFactory}. */
export interface OtelMetricsOptions {
  /**
   * Makes the instruments.
   * @defaultValue `metrics.getMeter('wasmscope', <version>)` of `@opentelemetry/api`, from the global
   *   MeterProvider registered at the first measured call
   */
  readonly meter?: Meter;
  /**
   * Which functions are measured.
   * @defaultValue `'exported'`: exported guest functions and every host function
   */
  readonly functions?: FunctionSelector;
  /**
   * Receives errors telemetry hit; telemetry never throws into the guest or the caller.
   * @defaultValue `diag.error` of `@opentelemetry/api`
   */
  readonly onError?: (error: unknown) => void;
}

/** The counter of calls. */
export const METRIC_CALLS = 'wasm.function.calls';
/** The histogram of call durations, in seconds. */
export const METRIC_DURATION = 'wasm.function.duration';

/** Bucket boundaries in seconds, from 1 µs (a small guest call) to 10 s. */
const DURATION_BUCKETS = [1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** The instruments of one meter. */
class Instruments {
  readonly calls: Counter;
  readonly duration: Histogram;
  constructor(meter: Meter) {
    this.calls = meter.createCounter(METRIC_CALLS, {
      description: 'Calls of WebAssembly functions',
      unit: '{call}',
      valueType: ValueType.INT,
    });
    this.duration = meter.createHistogram(METRIC_DURATION, {
      description: 'Duration of WebAssembly function calls, nested calls included',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
  }
}

/** Start times of the open measured calls, innermost last. */
class Timings {
  starts = new Float64Array(64);
  sp = 0;
  readonly report: DiagnosticHandler;
  readonly #meter: Meter | undefined;
  #instruments: Instruments | undefined;

  constructor(meter: Meter | undefined, report: DiagnosticHandler) {
    this.#meter = meter;
    this.report = report;
  }

  /**
   * The instruments, made at the first measurement: the metrics API has no proxy for a global
   * MeterProvider registered later, so the default meter is taken as late as possible.
   */
  #get(): Instruments {
    this.#instruments ??= new Instruments(this.#meter ?? metrics.getMeter('wasmscope', VERSION));
    return this.#instruments;
  }

  push(): void {
    if (this.sp === this.starts.length) {
      const s = new Float64Array(this.sp * 2);
      s.set(this.starts);
      this.starts = s;
    }
    this.starts[this.sp++] = performance.now();
  }

  pop(attributes: Attributes): void {
    const seconds = (performance.now() - this.starts[--this.sp]!) / 1000;
    try {
      const i = this.#get();
      i.calls.add(1, attributes);
      i.duration.record(seconds, attributes);
    } catch (e) {
      this.report(e);
    }
  }
}

class MetricsListener implements FunctionListener {
  readonly #t: Timings;
  readonly #fn: FunctionInfo;
  constructor(t: Timings, fn: FunctionInfo) {
    this.#t = t;
    this.#fn = fn;
  }
  before(_ctx: Context, _mod: Module, _def: FunctionDefinition, _params: BigUint64Array, _stack: StackIterator): void {
    this.#t.push();
  }
  after(_ctx: Context, mod: Module): void {
    let a: Attributes;
    try {
      a = this.#fn.attributes(mod);
    } catch (e) {
      this.#t.report(e);
      a = {};
    }
    this.#t.pop(a);
  }
  abort(_ctx: Context, mod: Module, _def: FunctionDefinition, err: unknown): void {
    let a: Attributes;
    try {
      a = { ...this.#fn.attributes(mod), [ATTR.errorType]: describeError(err).type };
    } catch (e) {
      this.#t.report(e);
      a = {};
    }
    this.#t.pop(a);
  }
}

/**
 * A function listener factory that records `wasm.function.calls` (a counter) and
 * `wasm.function.duration` (a histogram, seconds; a call's duration includes its nested calls) for
 * every call of the selected functions, with the attributes `code.function.name`,
 * `wasm.module.name`, `wasm.function.index`, `wasm.call.kind` (and `code.*` source attributes from
 * DWARF), plus `error.type` (`WasmRuntimeError`, `ExitError`, …) for calls that did not return.
 *
 * Note: telemetry never throws into the guest or its caller; failures go to `onError`.
 * @param options - see {@link OtelMetricsOptions}.
 * @returns a factory for `withFunctionListenerFactory` (composes with `multiFunctionListenerFactory`).
 */
export function newOtelMetricsListenerFactory(options: OtelMetricsOptions = {}): FunctionListenerFactory {
  const report = safeHandler(options.onError);
  const timings = new Timings(options.meter, report);
  const select = selectorOf(options.functions, report);
  return {
    newFunctionListener(def: FunctionDefinition): FunctionListener | undefined {
      return select(def) ? new MetricsListener(timings, new FunctionInfo(def)) : undefined;
    },
  };
}
