/**
 * Mid-call checkpoints of async calls (`callAsync`): what the store and the engines share. An async
 * call returns a {@link PendingCall}; while it waits at a host call its engine can capture the whole
 * execution state as plain data ({@link CallState}: functions as indices of the called module,
 * frame pointers relative to the call's first frame), which wasmscope/snapshot writes into a
 * checkpoint beside the module's state, and `resumeCall` continues in another runtime or process.
 *
 * Only the interpreter captures (its run loop is at rest at every host call); the compiler engine
 * refuses with {@link COMPILER_REFUSAL}.
 */
import type { Context } from '../api/context.js';
import type { Module, PendingCall } from '../api/module.js';

export type { PendingCall };

/** The refusal of every mid-call checkpoint operation on the compiler engine. */
export const COMPILER_REFUSAL = 'not supported: mid-call checkpoints on the compiler engine (use the interpreter)';

/**
 * The execution state of an async call waiting at a host call, engine-neutral plain data. Function
 * references are indices of the function index space of the module the call entered (imports
 * first); value-stack offsets are 32-bit words relative to the call's first frame.
 */
export interface CallState {
  /** Index of the function the call entered. */
  readonly entry: number;
  /** The function calling the host function: index, pc (the call instruction), frame pointer. */
  readonly fn: number;
  readonly pc: number;
  readonly fp: number;
  /** The host function called: index, word offset of its params/results, pc after the call (-1: a tail call). */
  readonly hostFn: number;
  readonly hostFp: number;
  readonly next: number;
  /** The frames below the calling one, outermost first: function index, return pc, frame pointer. */
  readonly frames: { readonly fn: Int32Array; readonly pc: Int32Array; readonly fp: Int32Array };
  /** The value-stack words from the first frame up to the host call's params and results. */
  readonly words: Int32Array;
  /** Non-null reference slots: slot (relative, 8-byte) and function index. */
  readonly refs: ReadonlyArray<readonly [slot: number, func: number]>;
  /**
   * The code layout of every function with a frame (fn index, lowered length, hash of the pc → byte
   * offset map): a resume re-lowers them and refuses a difference (pcs index lowered code).
   */
  readonly layout: ReadonlyArray<readonly [fn: number, length: number, hash: number]>;
  /** Lowering options the layout depends on: bit 0 interrupt checks, bit 1 dirty-page marks. */
  readonly lowering: number;
}

/**
 * How a call made with `callAsync` ends when a host function called `suspend(ctx)` (or after
 * `PendingCall.requestSuspend`): the call is stopped and its state is in {@link checkpoint},
 * to continue with `resumeCall`.
 */
export class CallSuspendedError extends Error {
  /** Always `'CallSuspendedError'`. */
  override readonly name = 'CallSuspendedError';
  /** The checkpoint of the stopped call (what `PendingCall.checkpoint` gave at the stop). */
  readonly checkpoint: Uint8Array;

  /** @param checkpoint - the stopped call's checkpoint bytes. */
  constructor(checkpoint: Uint8Array) {
    super('the call was suspended: continue it with resumeCall(runtime, error.checkpoint)');
    this.checkpoint = checkpoint;
  }
}

/**
 * What the store and an engine share about one async call. The store makes it (with the encoder of
 * checkpoint bytes); an engine that supports mid-call checkpoints sets `supported` and, while the
 * call waits at a host call, `capture`.
 */
export class CallHandle {
  /** Set by engines that can capture a waiting call's state. */
  supported = false;
  /** Why the call cannot be checkpointed at all (started inside a host function, listeners, coverage). */
  refusal: string | undefined = undefined;
  /** The call's state, while it is at a host call; null otherwise. */
  capture: (() => CallState) | null = null;
  /** Whether that host call is an async one the call waits at (else only `suspend` may capture). */
  atAsync = false;
  /** Stop at the next async host call (`PendingCall.requestSuspend`). */
  suspendRequested = false;
  /** The checkpoint of the stop, once the call stopped. */
  stopped: Uint8Array | undefined = undefined;

  constructor(
    /** Checkpoint bytes of the call's module with `state` (wasmscope/snapshot's encoder). */
    readonly encode: (state: CallState) => Uint8Array,
  ) {}

  /** The checkpoint bytes now (see `PendingCall.checkpoint`). */
  checkpoint(): Uint8Array {
    if (!this.supported) throw new Error(COMPILER_REFUSAL);
    if (this.refusal !== undefined) throw new Error(this.refusal);
    if (this.stopped !== undefined) return this.stopped;
    if (this.capture === null || !this.atAsync) {
      throw new Error(
        'checkpoint: the call is not waiting at an async host function (it is running — a synchronous host function ' +
          'stops it with suspend(ctx) — or has finished)',
      );
    }
    return this.encode(this.capture());
  }

  /** The checkpoint bytes at the host call in progress, async or not (for `suspend`). */
  take(): Uint8Array {
    if (!this.supported) throw new Error(COMPILER_REFUSAL);
    if (this.refusal !== undefined) throw new Error(this.refusal);
    if (this.capture === null) throw new Error('not supported: suspend(ctx) outside a host call of the call');
    return this.encode(this.capture());
  }
}

/** The stop a host function asks for with {@link suspend}: unwinds to the async call's driver. */
export class CallSuspension extends Error {
  override readonly name = 'CallSuspension';
  constructor(readonly error: CallSuspendedError) {
    super(error.message);
  }
}

/** What `suspend(ctx)` finds in the context of an async interpreter call's host function. */
export interface SuspendPoint {
  /** The call's handle (its capture is set while it is at a host call). */
  readonly handle: CallHandle;
  /** True while a resumed call re-runs the host call it stopped in: `suspend` then returns. */
  resuming: boolean;
}

const suspendKey = Symbol('wasmscope.suspendPoint');
/** The value nested synchronous calls put under the key: their host functions cannot stop the outer call. */
const NESTED = 'nested';

/** `ctx` for the host functions of an async call: carries its suspend point. */
export function withSuspendPoint(ctx: Context, p: SuspendPoint): Context {
  return ctx.withValue(suspendKey, p);
}

/** The suspend point in `ctx` (undefined: none; 'nested': under a nested synchronous call). */
export function suspendPointOf(ctx: Context): SuspendPoint | typeof NESTED | undefined {
  return ctx.value<SuspendPoint | typeof NESTED>(suspendKey);
}

/** `ctx` of a synchronous call made inside a host function of an async call (if it carries a point). */
export function nestedContext(ctx: Context): Context {
  return ctx.value(suspendKey) === undefined ? ctx : ctx.withValue(suspendKey, NESTED);
}

/**
 * Stops the async call this host function runs in, right at this host call: the call's promise
 * rejects with a {@link CallSuspendedError} holding its checkpoint (taken now, before anything
 * unwinds), and `resumeCall` on that checkpoint — in this process or another — runs this host
 * function again, where `suspend(ctx)` then returns (so the host function goes on and gives its
 * results). Side effects of the host function before `suspend` happen again on resume.
 *
 * Call it with the `ctx` the host function received, in a call made with `callAsync` (or
 * `callWithContextAsync`) on the interpreter.
 * @throws Error `not supported: …` outside such a call (a synchronous call, the compiler engine), in
 *   a host function of a nested synchronous guest call (guest→host→guest re-entry: the host frames
 *   between cannot be resumed), or when the state cannot be checkpointed (see
 *   `PendingCall.checkpoint`); the call goes on unchanged then.
 */
export function suspend(ctx: Context): void {
  const p = suspendPointOf(ctx);
  if (p === undefined) {
    throw new Error(
      'not supported: suspend(ctx) outside an async call on the interpreter (call the guest with callAsync; ' +
        'mid-call checkpoints on the compiler engine are not supported)',
    );
  }
  if (p === NESTED) {
    throw new Error(
      'not supported: suspend(ctx) in a host function of a nested synchronous call (guest→host→guest re-entry): ' +
        'the host frames between cannot be resumed',
    );
  }
  if (p.resuming) {
    p.resuming = false;
    return;
  }
  const bytes = p.handle.take();
  p.handle.stopped = bytes;
  throw new CallSuspension(new CallSuspendedError(bytes));
}

/** `promise` as the {@link PendingCall} of the call `handle` belongs to. */
export function pendingCall(promise: Promise<bigint[]>, handle: CallHandle): PendingCall {
  return Object.assign(promise, {
    checkpoint: (): Uint8Array => handle.checkpoint(),
    requestSuspend: (): void => {
      if (!handle.supported) throw new Error(COMPILER_REFUSAL);
      if (handle.refusal !== undefined) throw new Error(handle.refusal);
      handle.suspendRequested = true;
    },
  });
}

/** `promise` as a {@link PendingCall} that cannot be checkpointed (`what`: of what, for the refusal). */
export function uncheckpointableCall(promise: Promise<bigint[]>, what: string): PendingCall {
  const refuse = (): never => {
    throw new Error(`not supported: mid-call checkpoints of ${what}`);
  };
  return Object.assign(promise, { checkpoint: refuse, requestSuspend: refuse });
}

/** Writes a mid-call checkpoint: the module's state with the call's (wasmscope/snapshot registers it). */
export type CallEncoder = (mod: Module, state: CallState, meta: Uint8Array | undefined) => Uint8Array;

let callEncoder: CallEncoder | undefined;

/** Registers the encoder of mid-call checkpoints (wasmscope/snapshot's, once it is loaded). */
export function setCallEncoder(e: CallEncoder): void {
  callEncoder = e;
}

/** The checkpoint bytes of `mod`'s state with the suspended call `state`. */
export function encodeCall(mod: Module, state: CallState, meta: Uint8Array | undefined): Uint8Array {
  if (callEncoder === undefined)
    throw new Error("mid-call checkpoints need wasmscope/snapshot loaded (import resumeCall from 'wasmscope' or 'wasmscope/snapshot')");
  return callEncoder(mod, state, meta);
}
