/**
 * Spans for guest and host calls, on function listeners (see ARCHITECTURE.md, "OpenTelemetry").
 *
 * One {@link CallStack} per factory holds a frame per open listened call (listeners are synchronous
 * and strictly nested: exactly one `after` or `abort` per `before` that returned, innermost first). A frame has a
 * span or not (not selected by sampling, over the span budget, or the whole call unsampled); a child
 * span's parent is the innermost frame below it that has one, except where guest code was entered
 * from host code (an exported call, or a re-entry from a host function): there the parent is
 * OpenTelemetry's active context, so a guest called inside an HTTP handler lands in that request's
 * trace and a guest re-entered from host code nests under the host code's own span.
 */
import {
  context as otelContext,
  trace,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Context as OtelContext,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import type { Context } from '../runtime/api/context.js';
import { isStackOverflow } from '../runtime/store/hooks.js';
import type { FunctionListener, FunctionListenerFactory, HostFunctionCall, StackIterator } from '../runtime/api/listener.js';
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import {
  ATTR,
  describeError,
  safeHandler,
  exceptionOf,
  FunctionInfo,
  selectorOf,
  type DiagnosticHandler,
  type FunctionSelector,
} from './functions.js';
import { VERSION } from './version.js';

/** Options of {@link newOtelListenerFactory}. */
export interface OtelListenerOptions {
  /**
   * Makes the spans.
   * @defaultValue `trace.getTracer('wasmscope', <version>)` of `@opentelemetry/api` (the global provider)
   */
  readonly tracer?: Tracer;
  /**
   * Which functions get spans.
   * @defaultValue `'exported'`: exported guest functions and every host function
   */
  readonly functions?: FunctionSelector;
  /**
   * Child spans shorter than this are dropped (never started, so no span processor sees them); the
   * span of the exported call is always kept, and so is a span that ended in an error.
   *
   * Note: a host-call span is started when the host function starts (host code may make spans
   * under it), and so are the spans of its callers: only guest spans that made no host call can
   * be dropped.
   * @defaultValue 0 (keep every span)
   */
  readonly minDurationMicros?: number;
  /**
   * At most this many spans per exported call (its own included); further calls get none and the
   * exported call's span gets `wasm.spans.dropped`.
   * @defaultValue `Infinity`
   */
  readonly maxSpansPerCall?: number;
  /**
   * Record each call's params as `wasm.params` (natural values as text: i32/i64 signed decimal,
   * floats as numbers, v128 as 32 hex digits, references as handles or `null`).
   * @defaultValue false
   */
  readonly recordParams?: boolean;
  /**
   * Give a span to 1 call in N of each function, counted per function (deterministic: the 1st, the
   * N+1th, …). Applies to nested calls — meant for `functions: 'all'`; the exported call itself
   * always follows the tracer's sampler. Calls without a span still get their children nested
   * under the nearest span.
   * @defaultValue 1 (every call)
   */
  readonly sampleEvery?: number;
  /**
   * When the active span at an exported call belongs to a trace that is not sampled (no `SAMPLED`
   * trace flag), make no spans for the call without asking the tracer — what the default
   * `ParentBased` sampler decides, for ~30 ns instead of an unsampled `startSpan` (~750 ns).
   * Set to false when the provider's sampler may sample children of unsampled parents.
   * @defaultValue true
   */
  readonly followParentSampling?: boolean;
  /**
   * Receives errors telemetry hit (a tracer or predicate that threw); telemetry never throws into
   * the guest or the caller.
   * @defaultValue `diag.error` of `@opentelemetry/api`
   */
  readonly onError?: (error: unknown) => void;
}

/** The options of every span started at its call: attributes are set once it records. */
const INTERNAL: SpanOptions = Object.freeze({ kind: SpanKind.INTERNAL });

/** A frame without a span. */
const NONE = 0;
/** A frame with a started span. */
const SPAN = 1;
/** A frame whose span is started only if it lasts long enough or a child needs it (`minDurationMicros`). */
const LAZY = 2;

/** The open listened calls of one factory, innermost last, and the state of the current exported call. */
class CallStack {
  readonly tracer: Tracer;
  readonly report: DiagnosticHandler;
  /** `minDurationMicros` in milliseconds; 0 when every span is started eagerly. */
  readonly #minMs: number;
  readonly #maxSpans: number;
  readonly #recordParams: boolean;
  readonly #followParent: boolean;
  /** 1 in N nested calls of each function gets a span. */
  readonly #every: number;

  /** Open frames. */
  sp = 0;
  /**
   * The depth at which host code was last entered with a context of ours made active: a call
   * opened at this depth was made by host code, so its parent is the active context.
   */
  boundary = 0;
  /** The current exported call is not sampled: frames get no spans at all. */
  #suppressed = false;
  /** The unsampled span the tracer returned for the current call, if it was asked. */
  #unsampledRoot: Span | undefined;
  #unsampledContext: OtelContext | undefined;
  /** Spans the current call may still start. */
  #budget = 0;
  #dropped = 0;

  // Per frame (index = depth).
  #kinds = new Uint8Array(64);
  /** Index of the innermost frame at or below this one that has (or may get) a span; -1: none. */
  #tops = new Int32Array(64);
  /** For lazy frames: `#tops` of the frame below when it opened. */
  #parents = new Int32Array(64);
  #starts = new Float64Array(64);
  #spans: Array<Span | undefined> = [];
  /** The context with the frame's span set (made on first need). */
  #contexts: Array<OtelContext | undefined> = [];
  /** The context spans at this depth derive from: the active context where guest code was entered. */
  #bases: Array<OtelContext | undefined> = [];
  #fns: Array<FunctionInfo | undefined> = [];
  #mods: Array<Module | undefined> = [];
  #params: Array<string[] | undefined> = [];

  constructor(tracer: Tracer, options: OtelListenerOptions, report: DiagnosticHandler) {
    this.tracer = tracer;
    this.report = report;
    this.#minMs = (options.minDurationMicros ?? 0) / 1000;
    this.#maxSpans = options.maxSpansPerCall ?? Infinity;
    this.#recordParams = options.recordParams === true;
    this.#followParent = options.followParentSampling !== false;
    this.#every = options.sampleEvery ?? 1;
  }

  #grow(): void {
    const n = this.#kinds.length * 2;
    const kinds = new Uint8Array(n);
    kinds.set(this.#kinds);
    this.#kinds = kinds;
    const tops = new Int32Array(n);
    tops.set(this.#tops);
    this.#tops = tops;
    const parents = new Int32Array(n);
    parents.set(this.#parents);
    this.#parents = parents;
    const starts = new Float64Array(n);
    starts.set(this.#starts);
    this.#starts = starts;
  }

  /** A call of `fn` (from module instance `mod`) opens. Never throws. */
  enter(fn: FunctionInfo, mod: Module, params: BigUint64Array): void {
    const i = this.sp;
    if (i === this.#kinds.length) this.#grow();
    this.sp = i + 1;
    this.#kinds[i] = NONE;
    // The one check an unsampled call pays per nested call.
    if (this.#suppressed) return;
    try {
      if (i === 0) this.#enterCall(fn, mod, params);
      else this.#enterNested(i, fn, mod, params);
    } catch (e) {
      this.#kinds[i] = NONE;
      if (isStackOverflow(e)) {
        // The engine turns this into a stack-overflow trap and, since this `before` threw, sends
        // this frame no `after`/`abort`: take the frame back.
        this.sp = i;
        throw e;
      }
      this.report(e);
    }
  }

  /** The outermost listened call: the root of this call's spans, or the decision to make none. */
  #enterCall(fn: FunctionInfo, mod: Module, params: BigUint64Array): void {
    const parent = otelContext.active();
    this.boundary = 0;
    this.#tops[0] = -1;
    this.#bases[0] = parent;
    if (this.#followParent) {
      const p = trace.getSpan(parent);
      if (p !== undefined && (p.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) {
        this.#suppressed = true;
        return;
      }
    }
    const span = this.tracer.startSpan(fn.name, INTERNAL, parent);
    if (!span.isRecording()) {
      this.#suppressed = true;
      this.#unsampledRoot = span;
      return;
    }
    this.#budget = this.#maxSpans - 1;
    this.#dropped = 0;
    this.#open(0, span, fn, mod, params);
  }

  #enterNested(i: number, fn: FunctionInfo, mod: Module, params: BigUint64Array): void {
    let top: number;
    let base: OtelContext | undefined;
    if (i === this.boundary) {
      // Made by host code: nest under whatever is active there.
      top = -1;
      base = otelContext.active();
    } else {
      top = this.#tops[i - 1]!;
      base = this.#bases[i - 1];
    }
    this.#tops[i] = top;
    this.#bases[i] = base;
    if (fn.calls++ % this.#every !== 0) return;
    if (this.#budget <= 0) {
      this.#dropped++;
      return;
    }
    if (this.#minMs > 0 && !fn.host) {
      this.#budget--;
      this.#kinds[i] = LAZY;
      this.#tops[i] = i;
      this.#parents[i] = top;
      this.#fns[i] = fn;
      this.#mods[i] = mod;
      this.#params[i] = this.#recordParams ? fn.params(params) : undefined;
      this.#starts[i] = performance.now();
      return;
    }
    const parent = top < 0 ? (base ?? otelContext.active()) : this.#contextOf(top);
    this.#budget--;
    this.#open(i, this.tracer.startSpan(fn.name, INTERNAL, parent), fn, mod, params);
  }

  #open(i: number, span: Span, fn: FunctionInfo, mod: Module, params: BigUint64Array): void {
    this.#spans[i] = span;
    this.#contexts[i] = undefined;
    this.#kinds[i] = SPAN;
    this.#tops[i] = i;
    if (!span.isRecording()) return;
    fn.setAttributes(span, mod);
    if (this.#recordParams) span.setAttribute(ATTR.params, fn.params(params));
  }

  /** The context with frame `j`'s span, starting the span first if it is lazy. */
  #contextOf(j: number): OtelContext {
    let c = this.#contexts[j];
    if (c !== undefined) return c;
    if (this.#kinds[j] === LAZY) this.#materialize(j);
    c = trace.setSpan(this.#bases[j] ?? otelContext.active(), this.#spans[j]!);
    this.#contexts[j] = c;
    return c;
  }

  /** Starts lazy frame `j`'s span with the time its call started (its parents first). */
  #materialize(j: number): void {
    const p = this.#parents[j]!;
    const parent = p < 0 ? (this.#bases[j] ?? otelContext.active()) : this.#contextOf(p);
    const fn = this.#fns[j]!;
    const options: SpanOptions = { kind: SpanKind.INTERNAL, startTime: this.#starts[j]! };
    const span = this.tracer.startSpan(fn.name, options, parent);
    if (span.isRecording()) {
      fn.setAttributes(span, this.#mods[j]!);
      const params = this.#params[j];
      if (params !== undefined) span.setAttribute(ATTR.params, params);
    }
    this.#spans[j] = span;
    this.#kinds[j] = SPAN;
    this.#fns[j] = undefined;
    this.#mods[j] = undefined;
    this.#params[j] = undefined;
  }

  /** The innermost open call returned. Never throws. */
  exit(): void {
    const i = --this.sp;
    if (this.#suppressed) {
      if (i === 0) this.#endCall();
      return;
    }
    const kind = this.#kinds[i];
    if (kind !== NONE) {
      try {
        this.#close(i, kind!, undefined, false);
      } catch (e) {
        this.report(e);
      }
    }
    if (i === 0) this.#endCall();
  }

  /** The innermost open call ended with `err` (a trap, a host error, an exit). Never throws. */
  abort(err: unknown): void {
    const i = --this.sp;
    if (this.#suppressed) {
      if (i === 0) this.#endCall();
      return;
    }
    const kind = this.#kinds[i];
    if (kind !== NONE) {
      try {
        this.#close(i, kind!, err, true);
      } catch (e) {
        this.report(e);
      }
    }
    if (i === 0) this.#endCall();
  }

  #close(i: number, kind: number, err: unknown, failed: boolean): void {
    let endTime: number | undefined;
    if (kind === LAZY) {
      endTime = performance.now();
      if (!failed && endTime - this.#starts[i]! < this.#minMs) {
        // Too short: never started, so nothing to end; its place in the budget is free again.
        this.#budget++;
        this.#fns[i] = undefined;
        this.#mods[i] = undefined;
        this.#params[i] = undefined;
        return;
      }
      this.#materialize(i);
    }
    const span = this.#spans[i]!;
    this.#spans[i] = undefined;
    this.#contexts[i] = undefined;
    if (failed) recordError(span, err);
    if (i === 0 && this.#dropped > 0) span.setAttribute(ATTR.spansDropped, this.#dropped);
    span.end(endTime);
  }

  #endCall(): void {
    this.#suppressed = false;
    this.#unsampledRoot = undefined;
    this.#unsampledContext = undefined;
    this.#bases[0] = undefined;
    this.boundary = 0;
  }

  /**
   * The context host code called now should run in: the innermost span's, or the unsampled span
   * of an unsampled call (so the host's own spans are not sampled either); undefined when the
   * active context is already right.
   */
  hostContext(): OtelContext | undefined {
    const i = this.sp - 1;
    if (i < 0) return undefined;
    if (this.#suppressed) {
      const root = this.#unsampledRoot;
      if (root === undefined) return undefined;
      this.#unsampledContext ??= trace.setSpan(this.#bases[0] ?? otelContext.active(), root);
      return this.#unsampledContext;
    }
    const top = this.#tops[i]!;
    return top < 0 ? undefined : this.#contextOf(top);
  }
}

/**
 * Ends a failed call's span: exits by their code, a snapshot restore's discarded calls with the
 * reason only, everything else as an exception.
 */
function recordError(span: Span, err: unknown): void {
  const d = describeError(err);
  if (d.exitCode !== undefined) {
    span.setAttribute(ATTR.exitCode, d.exitCode);
    span.setStatus(d.exitCode === 0 ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: d.message });
    return;
  }
  if (!d.discarded) span.recordException(exceptionOf(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: d.message });
}

class OtelListener implements FunctionListener {
  readonly #calls: CallStack;
  readonly #fn: FunctionInfo;
  constructor(calls: CallStack, fn: FunctionInfo) {
    this.#calls = calls;
    this.#fn = fn;
  }
  before(_ctx: Context, mod: Module, _def: FunctionDefinition, params: BigUint64Array, _stack: StackIterator): void {
    this.#calls.enter(this.#fn, mod, params);
  }
  after(): void {
    this.#calls.exit();
  }
  abort(_ctx: Context, _mod: Module, _def: FunctionDefinition, err: unknown): void {
    this.#calls.abort(err);
  }
}

class OtelListenerFactory implements FunctionListenerFactory {
  readonly #calls: CallStack;
  readonly #select: (def: FunctionDefinition) => boolean;

  constructor(options: OtelListenerOptions) {
    const report = safeHandler(options.onError);
    const tracer = options.tracer ?? trace.getTracer('wasmscope', VERSION);
    checkCount('minDurationMicros', options.minDurationMicros, 0);
    checkCount('maxSpansPerCall', options.maxSpansPerCall, 1);
    checkCount('sampleEvery', options.sampleEvery, 1);
    if (options.sampleEvery !== undefined && !Number.isInteger(options.sampleEvery)) {
      throw new RangeError(`sampleEvery: expected an integer >= 1, got ${options.sampleEvery}`);
    }
    this.#calls = new CallStack(tracer, options, report);
    this.#select = selectorOf(options.functions, report);
  }

  newFunctionListener(def: FunctionDefinition): FunctionListener | undefined {
    if (!this.#select(def)) return undefined;
    return new OtelListener(this.#calls, new FunctionInfo(def));
  }

  /**
   * Runs every host function (selected or not) with the innermost span of the call as the active
   * context, so spans the host code makes nest under it, and marks the depth so guest code it
   * calls back nests under the host code's own spans.
   */
  interceptHostFunction(_def: FunctionDefinition, fn: HostFunctionCall): HostFunctionCall {
    const calls = this.#calls;
    return (ctx, mod, stack) => {
      if (calls.sp === 0) {
        fn(ctx, mod, stack);
        return;
      }
      let active: OtelContext | undefined;
      try {
        active = calls.hostContext();
      } catch (e) {
        calls.report(e);
      }
      const saved = calls.boundary;
      calls.boundary = calls.sp;
      try {
        if (active === undefined) fn(ctx, mod, stack);
        else otelContext.with(active, fn, undefined, ctx, mod, stack);
      } finally {
        calls.boundary = saved;
      }
    };
  }
}

function checkCount(name: string, v: number | undefined, min: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || Number.isNaN(v) || v < min) throw new RangeError(`${name}: expected a number >= ${min}, got ${String(v)}`);
}

/**
 * A function listener factory that makes an OpenTelemetry span (kind INTERNAL, named by the
 * function's debug name `module.function`) for every call of the selected functions.
 *
 * - An exported call's span is a child of the active context at the call (`context.active()`);
 *   nested selected calls nest in call order; while a host function runs, its span is the active
 *   context, so spans the host code makes nest under it (the factory wraps host functions through
 *   {@link FunctionListenerFactory.interceptHostFunction}: compile host modules with it too).
 * - Attributes: `code.function.name`, `code.file.path`/`code.line.number`/`code.column.number`
 *   (the function's first DWARF line, when the module has DWARF), `wasm.module.name`,
 *   `wasm.function.index`, `wasm.call.kind` (`guest` | `host`), and `wasm.params` when asked.
 * - A trap records the exception (its stack is the wasm stack trace) and sets status ERROR on
 *   every open span, innermost first; an exit sets `wasm.exit_code` and status OK (code 0) or
 *   ERROR; a closed context (timeout, cancel) is an exit with status ERROR and its reason.
 * - Sampling: when the exported call's span is not sampled, its nested calls make no span objects
 *   at all (one check per exported call).
 *
 * Note: telemetry never throws into the guest or its caller; failures go to `onError`.
 * @param options - see {@link OtelListenerOptions}.
 * @returns a factory to put on the compile context with `withFunctionListenerFactory` (it composes
 *   with `multiFunctionListenerFactory`).
 * @throws RangeError for a negative `minDurationMicros`, or `maxSpansPerCall`/`sampleEvery` below 1.
 */
export function newOtelListenerFactory(options: OtelListenerOptions = {}): FunctionListenerFactory {
  return new OtelListenerFactory(options);
}
