/**
 * What both engines do around guest code, decided once so the engines cannot drift apart:
 * - the listener protocol: which frames are open, exactly one `after` or `abort` per `before`, and
 *   aborting the open frames innermost first when an error leaves an engine invocation;
 * - listening a host function call;
 * - the interrupt decision of `withCloseOnContextDone` (deadline, signal, interrupt flag) and the
 *   exit it ends in;
 * - attaching a wasm stack trace to a trap, invocation by invocation as it crosses host frames.
 *
 * The engines differ only in how they reach these: the interpreter calls them from its run loop,
 * the compiler engine from the hooks its rewritten code calls.
 *
 * Listener protocol (the same on both engines, test/engines/listeners.test.ts):
 * - a frame is opened (pushed) when `before` has returned, so a `before` that throws gets no `abort`
 *   of its own (as a constructor that throws gets no destructor; it may have thrown before doing
 *   anything, e.g. on a JS stack overflow); the frames around it are aborted with its error;
 * - a frame is closed (popped) *before* `after` runs, so an `after` that throws gets no `abort` of
 *   its own; the frames around it are aborted with the listener's error, which is the call's error;
 * - listeners marked {@link FunctionListener.beforeOnly} or {@link FunctionListener.afterOnly} open
 *   no frame at all (an after-only listener's `after` runs when the function returns);
 * - an `abort` that throws is ignored (the other frames still get theirs; the call's error stays);
 * - an `after` that fails with a JS stack overflow (which can strike before its first line runs)
 *   is answered by an `abort` too ({@link reopenOnOverflow}), so deep recursion cannot leave a
 *   listener with an open frame.
 */
import { Context } from '../api/context.js';
import { WasmException } from '../api/tag.js';
import {
  EXIT_CODE_CONTEXT_CANCELED,
  EXIT_CODE_DEADLINE_EXCEEDED,
  ExitError,
  HostFunctionError,
  SnapshotError,
  WasmRuntimeError,
} from '../api/errors.js';
import type { FunctionListener, StackIterator } from '../api/listener.js';
import type { FunctionDefinition, Module as ApiModule } from '../api/module.js';
import { getInterruptFlag } from './context-keys.js';
import { noteTrapStop } from './coverage.js';
import type { RawAsyncHostFunction, RawHostFunction } from './engine.js';
import { SnapshotRestore } from './snapshots.js';
import { CallSuspension } from './suspend.js';
import { formatStackTrace, type TraceFrame } from './trace.js';

/** A listened frame: what `after` and `abort` need. One shape for every frame (monomorphic calls). */
export class ListenedFrame {
  constructor(
    readonly listener: FunctionListener,
    readonly def: FunctionDefinition,
    /** The `mod` argument: the defining module (wasm) or the calling module (host functions). */
    readonly mod: ApiModule,
  ) {}
}

const BACKGROUND = Context.background();

/** The open listened frames of one engine, innermost last. */
export class ListenerStack {
  readonly frames: ListenedFrame[] = [];
  /** Number of open frames. */
  sp = 0;

  /** Opens `f` (call right after its `before` returned). */
  push(f: ListenedFrame): void {
    this.frames[this.sp++] = f;
  }

  /** Closes the innermost frame (call right before its `after`) and returns it. */
  pop(): ListenedFrame {
    return this.frames[--this.sp]!;
  }

  /**
   * Aborts every frame opened above `depth`, innermost first, with the call's final error `err`. An
   * `abort` that throws neither hides `err` nor keeps the other frames from their abort.
   */
  abortAbove(depth: number, ctx: Context | undefined, err: unknown): void {
    const c = ctx ?? BACKGROUND;
    while (this.sp > depth) {
      const f = this.frames[--this.sp]!;
      try {
        f.listener.abort(c, f.mod, f.def, err);
      } catch {
        // The call's error is the one the caller sees.
      }
    }
  }
}

/**
 * Runs host function `fn` listened by `frame.listener`: before, the call, after, following the
 * protocol above. `params`/`results` are the views the listener sees (over `stack`).
 */
export function callListenedHost(
  ls: ListenerStack,
  frame: ListenedFrame,
  ctx: Context,
  fn: RawHostFunction,
  stack: BigUint64Array,
  params: BigUint64Array,
  results: BigUint64Array,
  it: StackIterator,
): void {
  const l = frame.listener;
  if (l.beforeOnly === true) {
    l.before(ctx, frame.mod, frame.def, params, it);
    fn(ctx, frame.mod, stack);
    return;
  }
  if (l.afterOnly === true) {
    fn(ctx, frame.mod, stack);
    l.after(ctx, frame.mod, frame.def, results);
    return;
  }
  l.before(ctx, frame.mod, frame.def, params, it);
  // Inline push: no call between a returned before and its open frame (a call could overflow the stack).
  ls.frames[ls.sp++] = frame;
  fn(ctx, frame.mod, stack);
  ls.sp--;
  try {
    l.after(ctx, frame.mod, frame.def, results);
  } catch (e) {
    reopenOnOverflow(ls, frame, e);
    throw e;
  }
}

/** {@link callListenedHost} for an async host function: after fires when its promise resolves. */
export async function callListenedHostAsync(
  ls: ListenerStack,
  frame: ListenedFrame,
  ctx: Context,
  fn: RawAsyncHostFunction,
  stack: BigUint64Array,
  params: BigUint64Array,
  results: BigUint64Array,
  it: StackIterator,
): Promise<void> {
  const l = frame.listener;
  if (l.afterOnly === true && l.beforeOnly !== true) {
    await fn(ctx, frame.mod, stack);
    l.after(ctx, frame.mod, frame.def, results);
    return;
  }
  l.before(ctx, frame.mod, frame.def, params, it);
  if (l.beforeOnly === true) return fn(ctx, frame.mod, stack);
  ls.frames[ls.sp++] = frame;
  await fn(ctx, frame.mod, stack);
  ls.sp--;
  try {
    l.after(ctx, frame.mod, frame.def, results);
  } catch (e) {
    reopenOnOverflow(ls, frame, e);
    throw e;
  }
}

/**
 * An `after` of `frame` failed with `e`: when that is a JS stack overflow, `after` may not have run
 * at all, so the frame opens again and gets the `abort` the error brings.
 */
export function reopenOnOverflow(ls: ListenerStack, frame: ListenedFrame, e: unknown): void {
  if (isStackOverflow(e)) ls.frames[ls.sp++] = frame;
}

/** Whether `l` needs exit hooks (`after`/`abort`): false for before-only listeners. */
export function listensExits(l: FunctionListener): boolean {
  return l.beforeOnly !== true;
}

/** Whether `l` needs its `before` and an open frame: false for before-only and after-only listeners. */
export function opensFrames(l: FunctionListener): boolean {
  return l.beforeOnly !== true && l.afterOnly !== true;
}

/**
 * The exit code a call with context `ctx` must stop with now under `withCloseOnContextDone`, or 0
 * while it may go on: canceled (signal, or the interrupt flag set by another thread) or deadline
 * exceeded. A synchronous call blocks the event loop, so neither a timer nor a signal listener can
 * fire during it: the deadline is compared with the clock and the flag is read with `Atomics`.
 */
export function contextDoneExitCode(ctx: Context): number {
  // The deadline first: an async call that waited past it also finds the timeout's signal aborted.
  if (ctx.deadline !== undefined && performance.now() >= ctx.deadline) return EXIT_CODE_DEADLINE_EXCEEDED;
  const flag = getInterruptFlag(ctx);
  if (flag !== undefined && Atomics.load(flag, 0) !== 0) return EXIT_CODE_CONTEXT_CANCELED;
  if (ctx.signal?.aborted === true) return EXIT_CODE_CONTEXT_CANCELED;
  return 0;
}

/** Whether anything can ever make {@link contextDoneExitCode} non-zero for `ctx`. */
export function contextCanBeDone(ctx: Context): boolean {
  return ctx.signal !== undefined || ctx.deadline !== undefined || getInterruptFlag(ctx) !== undefined;
}

/**
 * Stops a call whose context is done: closes `mod` (the module whose function the outermost call
 * of the invocation called; undefined during instantiation) with `code` and returns the
 * `ExitError` to throw.
 */
export function stopForContextDone(mod: ApiModule | undefined, code: number, ctx: Context): ExitError {
  if (mod !== undefined) void mod.closeWithExitCode(code, ctx);
  return new ExitError(code);
}

/**
 * Whether `e` is V8's JS stack overflow. Guest code that exhausts the JS stack (deep recursion on
 * the compiler engine, deep guest→host→guest re-entry on either engine) gets the trap
 * `stack overflow`, never a `RangeError`. V8 reports it as a `RangeError`, or as a `SyntaxError`
 * ("Invalid regular expression: /…/: Stack overflow") when a regular expression ran out of stack
 * (reading `Error.stack` under a source-map hook runs some). Mapping a trap at such a depth can
 * fail the same way, so an outer invocation boundary maps it again.
 */
export function isStackOverflow(e: unknown): boolean {
  if (e instanceof RangeError) return e.message.includes('Maximum call stack size exceeded');
  return e instanceof SyntaxError && /: (Stack overflow|Maximum call stack size exceeded)$/.test(e.message);
}

/** An error that carries a wasm stack trace: a trap, or a host function's error. */
export type TracedError = WasmRuntimeError | HostFunctionError;

/** Whether `e` carries a wasm stack trace the engines extend as it leaves their frames. */
export function isTracedError(e: unknown): e is TracedError {
  return e instanceof WasmRuntimeError || e instanceof HostFunctionError;
}

/** Frames already attached to a traced error by inner invocations, innermost first. */
const traceFrames = new WeakMap<TracedError, TraceFrame[]>();

/** Original byte offsets of a trap's frames, innermost first (-1 for host frames). */
export interface TrapOffsets {
  wasmOffsets?: number[];
}

/**
 * Appends `frames` (innermost first: the frames of one engine invocation the error left) to traced
 * error `e`'s wasm stack trace and rebuilds its message. Invocations nest through host functions, so
 * an error collects the frames of each invocation it leaves, innermost first.
 */
export function appendTrace(e: TracedError, frames: readonly TraceFrame[]): void {
  let all = traceFrames.get(e);
  if (all === undefined) {
    all = [];
    traceFrames.set(e, all);
    // The innermost frame is where the trap stopped its block (line coverage).
    const f = frames[0];
    if (f !== undefined && e instanceof WasmRuntimeError) noteTrapStop(e, f.definition, f.offset);
  }
  const t = e as TracedError & TrapOffsets;
  const offsets = t.wasmOffsets ?? [];
  for (const f of frames) {
    all.push(f);
    offsets.push(f.offset ?? -1);
  }
  t.wasmOffsets = offsets;
  e.setStackFrames(formatStackTrace(all, true));
}

/**
 * What an error `e` thrown by a host function called from a guest becomes, as wazero reports it: a
 * {@link HostFunctionError} whose `cause` is `e`; the engine then appends the host function's frame
 * and the guest frames the error leaves ({@link appendTrace}), as it does for a trap. Traps, exits,
 * snapshot restores and `SnapshotError`s (the runtime's own errors about the call), JS stack overflows (which the engines turn into the `stack overflow` trap),
 * `WasmException`s (exceptions a guest may catch) and an error already wrapped by an inner host
 * function pass unchanged. Both engines call this where an
 * error leaves a host function called from a guest.
 */
export function hostFunctionError(e: unknown): unknown {
  if (
    e instanceof WasmRuntimeError ||
    e instanceof HostFunctionError ||
    e instanceof ExitError ||
    e instanceof SnapshotRestore ||
    e instanceof CallSuspension ||
    e instanceof SnapshotError ||
    e instanceof WasmException ||
    isStackOverflow(e)
  ) {
    return e;
  }
  return new HostFunctionError(e);
}
