/**
 * Batched function events: a {@link FunctionEventSink} observes calls without any JS call per
 * event. The engines write one record per event — `(function index, kind, counter)` — into a ring
 * buffer (on the compiler engine from the instrumented wasm itself, with no wasm→JS transition) and
 * hand the records to the sink in batches. For listeners that need not run synchronously: counting,
 * sampling profilers, coverage, the unsampled path of tracing.
 *
 * When a batch is delivered:
 * - when the ring buffer is full ({@link FUNCTION_EVENT_BATCH_CAPACITY} records): by the next
 *   record, or by the end of the invocation, whichever comes first;
 * - when an engine invocation ends (an exported function's call returns or fails, an instantiation's
 *   start function ends), nested invocations (a host function calling back into wasm) included;
 * - before a record of another module instance is written (a batch holds the records of one
 *   instance), so calls that go back and forth between two recorded instances pay a delivery each.
 *
 * Records of one engine (one runtime) are totally ordered: counters increase by one per record,
 * over every recorded instance of the runtime.
 * @experimental
 */
import type { Context } from './context.js';
import type { FunctionDefinition, Module } from './module.js';

/**
 * Kinds of function events ({@link FunctionEventBatch.kinds}).
 * @experimental
 */
export const FunctionEventKind = {
  /** The function was entered (called, directly, indirectly, by a tail call or from the host). */
  Enter: 0,
  /** The function returned normally. */
  Exit: 1,
  /** The function was left by a tail call (`return_call*`): its callee replaces it. */
  Tail: 2,
  /**
   * The function did not return: a trap, an exit, a host function's error or an exception unwound
   * it. Written by the engine, innermost frame first, when the error leaves the engine invocation
   * (or, for a wasm exception, when a guest catches it).
   */
  Abort: 3,
} as const;

/** A value of {@link FunctionEventKind}. @experimental */
export type FunctionEventKind = (typeof FunctionEventKind)[keyof typeof FunctionEventKind];

/**
 * Records of one module instance, oldest first. The arrays are views over the engine's ring buffer:
 * valid during {@link FunctionEventSink.onEvents} only (copy what you keep); index `i` of each array
 * belongs to record `i`, for `i < length`.
 * @experimental
 */
export interface FunctionEventBatch {
  /** Number of records. */
  readonly length: number;
  /** The instance whose functions the records are about (the `mod` a listener would get). */
  readonly module: Module;
  /** Function indices, in the module's function index space (imports first). */
  readonly functions: Int32Array;
  /** {@link FunctionEventKind} of each record. */
  readonly kinds: Int32Array;
  /**
   * The *timestamp counter* of each record: not a clock (reading one from wasm costs a JS call) but
   * an event counter, increasing by exactly 1 per record over every recorded instance of the runtime
   * (exact up to 2^53). Record order is call order; for wall time, read a clock in `onEvents`
   * (records of one batch happened between the previous delivery and this one).
   */
  readonly counters: Float64Array;
  /** The definition of function index `functionIndex` of {@link module}. */
  definition(functionIndex: number): FunctionDefinition;
}

/**
 * Receives function events in batches (module comment). Set on the compile context with
 * {@link withFunctionEventSink}; fixed at compile time like listeners.
 * @experimental
 */
export interface FunctionEventSink {
  /**
   * Called with each batch. It runs while wasm may be on the stack (a full buffer, a nested
   * invocation's end): it must not call into the runtime. An error it throws becomes the error of
   * the call that delivered the batch.
   */
  onEvents(batch: FunctionEventBatch): void;
  /**
   * Optional: whether calls of wasm function `def` are recorded (called once per defined function at
   * compile time); absent, every defined function is. Host functions are never recorded (use a
   * {@link FunctionListener} for them).
   */
  recordFunction?(def: FunctionDefinition): boolean;
}

/** Records per ring buffer: a batch holds at most this many. @experimental */
export const FUNCTION_EVENT_BATCH_CAPACITY = 4096;

const sinkKey = Symbol('wasmscope.functionEventSink');

/**
 * A context whose `compileModule` records the calls of the module's functions into `sink`
 * (combines with {@link withFunctionListenerFactory}: a function may have both).
 * @experimental
 */
export function withFunctionEventSink(ctx: Context, sink: FunctionEventSink): Context {
  return ctx.withValue(sinkKey, sink);
}

/** The sink on `ctx`, if any. @experimental */
export function getFunctionEventSink(ctx: Context | undefined): FunctionEventSink | undefined {
  return ctx?.value<FunctionEventSink>(sinkKey);
}
