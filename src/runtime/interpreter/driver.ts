/**
 * The driver of the run loop: calls from the host into the guest. `execute` (run.ts) leaves the
 * loop for every host call and every time slice; the driver makes the host call (or yields) and
 * resumes the loop right after it. So the run loop's large frame is never on the JS stack under a
 * host function (deep guest→host→guest re-entry nests only small frames), and at every host call the
 * invocation's whole execution state is plain data at rest — which snapshots copy and async calls
 * keep while they wait.
 *
 * Two drivers share every step: {@link callFunction} (synchronous) and {@link callFunctionAsync}
 * (awaits async host functions and time slices; runs on a machine of its own, so other calls can run
 * while it waits).
 */
import type { Context } from '../api/context.js';
import type { Module as ApiModule } from '../api/module.js';
import { Trap, WasmRuntimeError } from '../api/errors.js';
import { getTimeSlicing } from '../store/context-keys.js';
import { appendTrace, hostFunctionError, isStackOverflow, isTracedError } from '../store/hooks.js';
import { foreignRestore, Invocation, SnapshotRestore, snapshotsEnabled, withInvocationSnapshotter } from '../store/snapshots.js';
import type { TraceFrame } from '../store/trace.js';
import { absoluteOffsetOf, callHostListened, callHostListenedAsync } from './listen.js';
import { growStack, readRaw, writeRaw, type Machine } from './machine.js';
import type { FuncInst } from './objects.js';
import { EXEC_DONE, EXEC_YIELD, execute } from './run.js';
import { catchException, exceptionFromApi, exceptionToApi, ThrowSignal, type Cursor } from './exceptions.js';
import { WasmException } from '../api/tag.js';
import { InterpSnapshotter, restoreSnapshot, type InterpSnapshotState } from './snapshots.js';
import {
  CallSuspendedError,
  CallSuspension,
  withSuspendPoint,
  type CallHandle,
  type CallState,
  type SuspendPoint,
} from '../store/suspend.js';
import { captureCall, staticRefusal, type checkResume } from './resume.js';

/** One invocation in progress: where it started, where the loop is, what to restore when it ends. */
class Call {
  readonly savedCtx: Context;
  readonly savedBase: number;
  readonly savedOwner: ApiModule | null;
  readonly savedFn: FuncInst | null;
  readonly savedPc: number;
  /** Frame depth, first free value-stack slot and open listened frames when the call started. */
  readonly base: number;
  readonly top: number;
  readonly lsDepth: number;
  /** Word offset of the called function's frame (its params, then its results). */
  readonly entryFp: number;
  /** The call's snapshotter (`withSnapshotter`), if any. */
  readonly snapper: InterpSnapshotter | null;
  /** The function the call entered. */
  readonly entry: FuncInst;
  /** The loop's position: function, pc, frame pointer, frame depth. */
  fn: FuncInst;
  pc = 0;
  fp: number;
  depth: number;
  /** The host call in progress: function, word offset of its params/results, pc after it (-1: tail call). */
  hostFn: FuncInst;
  hostFp = 0;
  next = 0;
  /** Open listened frames when the host call started (a listened host function's frame is above). */
  hostLs = 0;
  /** The event ring's shadow stack depth when the call started (store/event-ring.ts). */
  readonly ringBase: number;

  constructor(m: Machine, f: FuncInst, ctx: Context) {
    this.savedCtx = m.ctx;
    this.savedBase = m.baseDepth;
    this.savedOwner = m.entryOwner;
    this.savedFn = m.curFn;
    this.savedPc = m.curPc;
    this.base = m.depth;
    this.top = m.top;
    this.lsDepth = m.listeners.sp;
    this.ringBase = m.ring === null ? 0 : m.ring.depth();
    this.entryFp = 2 * (this.top + 1);
    this.entry = f;
    this.fn = f;
    this.hostFn = f;
    this.fp = this.entryFp;
    this.depth = this.base;
    this.snapper = snapshotsEnabled(ctx) ? new InterpSnapshotter(m, new Invocation(), this.base, this.entryFp, this.lsDepth, f) : null;
  }
}

/** Starts a call of wasm function `f` with raw params in `stack`. */
function begin(m: Machine, f: FuncInst, stack: BigUint64Array, ctx: Context): Call {
  const c = new Call(m, f, ctx);
  // Host functions of this call find its snapshotter in their ctx.
  m.ctx = c.snapper === null ? ctx : withInvocationSnapshotter(ctx, c.snapper);
  m.ticks = 0;
  m.baseDepth = c.base;
  m.curFn = null;
  m.errHost = null;
  m.entryOwner = f.inst!.owner.api;
  growStack(m, c.top + 1 + Math.max(f.paramSlots, f.resultSlots) + 1);
  writeRaw(m, f.type.params, c.entryFp, stack);
  return c;
}

/** The loop left for a host call: records where (before the host function can re-enter). */
function hostCallSite(m: Machine, c: Call): void {
  c.fn = m.curFn!;
  c.depth = m.depth;
  c.hostFn = m.hostFn!;
  c.hostFp = m.hostFp;
  c.next = m.hostNext;
  c.hostLs = m.listeners.sp;
  const s = c.snapper;
  if (s !== null) {
    const site = s.site;
    site.fn = c.fn;
    site.pc = m.curPc;
    site.fp = m.curFp;
    site.depth = c.depth;
    site.hostFn = c.hostFn;
    site.hostFp = c.hostFp;
    site.next = c.next;
    site.lsDepth = m.listeners.sp;
    site.top = m.top;
  }
}

/** {@link recover} moved the cursor to a handler: the loop resumes there, not after the host call. */
const CAUGHT = true;

/**
 * A host call failed with `e`: a wasm exception (the host threw a WasmException, or a guest it
 * called let one out) is caught by a handler of this call's frames when one matches (the cursor
 * moves there: returns {@link CAUGHT}); a restore of one of this call's snapshots resumes right after
 * the host call that took it (the cursor moves there); anything else goes on.
 */
function recover(m: Machine, c: Call, e: unknown): boolean {
  if (e instanceof WasmException || e instanceof ThrowSignal) {
    const exn = e instanceof ThrowSignal ? e.exn : exceptionFromApi(m, e);
    // The frame that called the host function: at the call (pc one before the next), or, for a
    // tail call, gone (its caller is where the search starts).
    const at = { fn: c.fn, pc: c.next - 1, fp: m.curFp, depth: c.depth };
    if (catchException(m, exn, at, c.base, c.hostLs, c.next < 0)) {
      moveTo(c, at);
      return CAUGHT;
    }
    throw e instanceof ThrowSignal ? e : new ThrowSignal(exn);
  }
  if (!(e instanceof SnapshotRestore) || c.snapper === null) throw e;
  if (e.invocation !== c.snapper.invocation) throw foreignRestore(e);
  const at = restoreSnapshot(m, c.snapper, e.state as InterpSnapshotState, e.results, e);
  c.fn = at.fn;
  c.depth = at.depth;
  c.next = at.next;
  m.curFp = at.fp;
  return !CAUGHT;
}

/** Moves the cursor to where a handler resumes the loop. */
function moveTo(c: Call, at: Cursor): void {
  c.fn = at.fn;
  c.pc = at.pc;
  c.fp = at.fp;
  c.depth = at.depth;
}

/**
 * Runs the loop from the cursor; a wasm exception thrown there is caught by a handler of this
 * call's frames when one matches (the cursor moves there and the loop runs on), else goes on.
 */
function run(m: Machine, c: Call): number {
  for (;;) {
    try {
      return execute(m, c.fn, c.pc, c.fp, c.depth, c.base);
    } catch (e) {
      if (!(e instanceof ThrowSignal)) throw e;
      const at = { fn: m.curFn!, pc: m.curPc, fp: m.curFp, depth: m.depth };
      if (!catchException(m, e.exn, at, c.base, m.listeners.sp)) throw e;
      moveTo(c, at);
    }
  }
}

/** Moves the cursor past the host call that returned; false when that ended the call (a tail call at its base). */
function resume(m: Machine, c: Call): boolean {
  if (c.next >= 0) {
    c.pc = c.next;
    c.fp = m.curFp;
    return true;
  }
  // A tail call of a host function: its results are the calling frame's; return them.
  if (c.depth === c.base) return false;
  const d = --c.depth;
  c.fn = m.frFn[d]!;
  c.pc = m.frPc[d]!;
  c.fp = m.frFp[d]!;
  m.frFn[d] = null;
  return true;
}

/** The error `e` leaving call `c`, final: a trap gets this call's frames, open listened frames are aborted. */
function fail(m: Machine, c: Call, ctx: Context, e: unknown): unknown {
  let err = isStackOverflow(e) ? new WasmRuntimeError(Trap.StackOverflow) : e;
  if (err instanceof SnapshotRestore) err = foreignRestore(err);
  if (err instanceof ThrowSignal) err = exceptionToApi(m, err.exn);
  if (isTracedError(err)) appendTrace(err, traceFramesOf(m, c.base));
  m.ring?.abortAbove(c.ringBase);
  m.listeners.abortAbove(c.lsDepth, ctx, err);
  return err;
}

/** Call `c` of `f` returned: its results into `stack`, its event records to the sinks. */
function finish(m: Machine, f: FuncInst, c: Call, stack: BigUint64Array): void {
  readRaw(m, f.type.results, c.entryFp, stack);
  m.ring?.flush();
}

/** Restores the machine as it was before call `c`. */
function end(m: Machine, c: Call): void {
  if (c.snapper !== null) c.snapper.invocation.live = false;
  for (let d = c.base; d < m.frFn.length && m.frFn[d] !== undefined; d++) m.frFn[d] = null;
  m.depth = c.base;
  m.top = c.top;
  m.ctx = c.savedCtx;
  m.baseDepth = c.savedBase;
  m.entryOwner = c.savedOwner;
  m.curFn = c.savedFn;
  m.curPc = c.savedPc;
  m.errHost = null;
  m.errHostCaller = null;
  // The outer invocation (if any) looks at its own context at its next CHECK.
  m.ticks = 0;
  // No before callback can be running once the outermost invocation is over.
  if (c.base === 0 && m.iter !== null) m.iter.busy = false;
}

/** Calls `f` from the host with raw params in `stack`; results are written back to `stack`. */
export function callFunction(m: Machine, f: FuncInst, stack: BigUint64Array, ctx: Context): void {
  if (f.host !== null) return callHostFromApi(m, f, stack, ctx);
  const c = begin(m, f, stack, ctx);
  try {
    for (;;) {
      const r = run(m, c);
      if (r === EXEC_DONE) break;
      if (r === EXEC_YIELD) {
        // A time slice ended, but a synchronous call cannot yield: go on.
        c.fn = m.curFn!;
        c.pc = m.curPc;
        c.fp = m.curFp;
        c.depth = m.depth;
        continue;
      }
      hostCallSite(m, c);
      try {
        callHost(m, c.hostFn, c.hostFp);
      } catch (e) {
        if (recover(m, c, e) === CAUGHT) continue;
      }
      if (!resume(m, c)) break;
    }
    finish(m, f, c, stack);
  } catch (e) {
    throw fail(m, c, ctx, e);
  } finally {
    end(m, c);
  }
}

/** What an async call needs beyond the machine: its handle, and whether a synchronous call is running. */
export interface AsyncCallOptions {
  /** The call's handle (mid-call checkpoints, store/suspend.ts). */
  readonly handle?: CallHandle;
  /** Whether a synchronous guest call is in progress on the engine (then no checkpoint is consistent). */
  readonly syncBusy?: () => boolean;
}

/**
 * {@link callFunction} that awaits async host functions and yields to the event loop when a time
 * slice ends (`m.sliceMs`). `m` must be a machine no other call uses while this one waits.
 */
export async function callFunctionAsync(
  m: Machine,
  f: FuncInst,
  stack: BigUint64Array,
  ctx: Context,
  o: AsyncCallOptions = {},
): Promise<void> {
  if (f.host !== null) return callHostFromApiAsync(m, f, stack, ctx);
  startSlices(m, f, ctx);
  const point = pointOf(o, f);
  const c = begin(m, f, stack, point === undefined ? ctx : withSuspendPoint(ctx, point));
  try {
    await drive(m, c, o, point, 'run');
    finish(m, f, c, stack);
  } catch (e) {
    throw fail(m, c, ctx, e instanceof CallSuspension ? e.error : e);
  } finally {
    end(m, c);
    m.sliceMs = 0;
    if (o.handle !== undefined) o.handle.capture = null;
  }
}

/**
 * Continues the async call captured in `s` (checked by `checkResume` into `at`) on machine `m`:
 * writes its frames and value stack back, then re-runs the host call it waited at, or gives that
 * host call `results`. Results are written to `stack` (the entry function's result slots).
 */
export async function resumeFunctionAsync(
  m: Machine,
  at: ReturnType<typeof checkResume>,
  s: CallState,
  results: readonly bigint[] | undefined,
  stack: BigUint64Array,
  ctx: Context,
  o: AsyncCallOptions,
): Promise<void> {
  const f = at.entry;
  startSlices(m, f, ctx);
  const point = pointOf(o, f);
  if (point !== undefined && results === undefined) point.resuming = true;
  const c = begin(
    m,
    f,
    new BigUint64Array(Math.max(f.paramSlots, f.resultSlots, 1)),
    point === undefined ? ctx : withSuspendPoint(ctx, point),
  );
  try {
    const e = c.entryFp;
    const top = (e >> 1) + (s.words.length >> 1);
    let need = top + 1;
    for (let k = 0; k < at.frames.length; k++) need = Math.max(need, ((s.frames.fp[k]! + e) >> 1) + at.frames[k]!.lowered!.maxSlots + 1);
    need = Math.max(need, ((s.fp + e) >> 1) + at.fn.lowered!.maxSlots + 1);
    growStack(m, need);
    m.i32.set(s.words, e);
    for (let i = e >> 1; i < need; i++) m.refs[i] = null;
    for (const [slot, fi] of s.refs) m.refs[(e >> 1) + slot] = f.inst!.functions[fi]!;
    const base = c.base;
    for (let k = 0; k < at.frames.length; k++) {
      m.frFn[base + k] = at.frames[k]!;
      m.frPc[base + k] = s.frames.pc[k]!;
      m.frFp[base + k] = s.frames.fp[k]! + e;
    }
    m.depth = base + at.frames.length;
    m.top = top;
    m.curFn = at.fn;
    m.curPc = s.pc;
    m.curFp = s.fp + e;
    m.hostFn = at.hostFn;
    m.hostFp = s.hostFp + e;
    m.hostNext = s.next;
    hostCallSite(m, c);
    if (results !== undefined) {
      const r = new BigUint64Array(Math.max(at.hostFn.paramSlots, at.hostFn.resultSlots, 1));
      results.forEach((v, i) => (r[i] = BigInt.asUintN(64, v)));
      hostResults(m, at.hostFn, c.hostFp, r);
    }
    await drive(m, c, o, point, results === undefined ? 'host' : 'past-host');
    finish(m, f, c, stack);
  } catch (e) {
    throw fail(m, c, ctx, e instanceof CallSuspension ? e.error : e);
  } finally {
    end(m, c);
    m.sliceMs = 0;
    if (o.handle !== undefined) o.handle.capture = null;
    if (point !== undefined) point.resuming = false;
  }
}

/** Sets up time slicing of an async call of `f` (refused without interrupt checks). */
function startSlices(m: Machine, f: FuncInst, ctx: Context): void {
  const slice = getTimeSlicing(ctx);
  if (slice !== undefined && !f.inst!.interrupt) {
    throw new Error(
      'time slicing needs interrupt checks in the guest: make the runtime with withCloseOnContextDone(true) ' +
        '(the checks are where a call yields)',
    );
  }
  m.sliceMs = slice ?? 0;
  m.sliceEnd = performance.now() + m.sliceMs;
}

/** The suspend point of an async call of `f` with a handle (engines set `supported`, and what can never be captured). */
function pointOf(o: AsyncCallOptions, f: FuncInst): SuspendPoint | undefined {
  if (o.handle === undefined) return undefined;
  o.handle.supported = true;
  o.handle.refusal ??= staticRefusal(f.inst!);
  return { handle: o.handle, resuming: false };
}

/**
 * The async driver's loop, from `start`: `run` the loop from the cursor, make the `host` call the
 * cursor is at, or go `past-host` (its results are written).
 */
async function drive(
  m: Machine,
  c: Call,
  o: AsyncCallOptions,
  point: SuspendPoint | undefined,
  start: 'run' | 'host' | 'past-host',
): Promise<void> {
  const handle = o.handle;
  // The capture of this call at its current host call: consistent only while no synchronous guest
  // call runs inside the host function (guest→host→guest re-entry: those host frames cannot be resumed).
  const capture = (): CallState => {
    if (o.syncBusy?.() === true) {
      throw new Error(
        'not supported: a mid-call checkpoint while a synchronous guest call runs inside a host function ' +
          '(guest→host→guest re-entry): the host frames between cannot be resumed',
      );
    }
    return captureCall(m, c);
  };
  let step = start;
  for (;;) {
    if (step === 'run') {
      const r = run(m, c);
      if (r === EXEC_DONE) return;
      if (r === EXEC_YIELD) {
        c.fn = m.curFn!;
        c.pc = m.curPc;
        c.fp = m.curFp;
        c.depth = m.depth;
        await yieldToEventLoop();
        continue;
      }
      hostCallSite(m, c);
    }
    if (step !== 'past-host') {
      try {
        if (c.hostFn.hostAsync === undefined) {
          // suspend(ctx) may capture during a synchronous host call (at this very call).
          if (handle !== undefined) handle.capture = capture;
          try {
            callHost(m, c.hostFn, c.hostFp);
          } finally {
            if (handle !== undefined) handle.capture = null;
          }
        } else {
          if (handle !== undefined) {
            if (handle.suspendRequested && (point === undefined || !point.resuming)) {
              const bytes = handle.encode(capture());
              handle.stopped = bytes;
              throw new CallSuspension(new CallSuspendedError(bytes));
            }
            handle.capture = capture;
            handle.atAsync = true;
          }
          try {
            await callHostAsync(m, c.hostFn, c.hostFp);
          } finally {
            if (handle !== undefined) {
              handle.capture = null;
              handle.atAsync = false;
            }
          }
        }
      } catch (e) {
        if (e instanceof CallSuspension) throw e;
        if (recover(m, c, e) === CAUGHT) {
          step = 'run';
          continue;
        }
      } finally {
        if (point !== undefined) point.resuming = false;
      }
    }
    step = 'run';
    if (!resume(m, c)) return;
  }
}

/** Lets other tasks of the event loop run (timers and I/O included, not only microtasks). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A host function called directly from the API (`mod` is its own module). */
function callHostFromApi(m: Machine, f: FuncInst, stack: BigUint64Array, ctx: Context): void {
  const lsDepth = m.listeners.sp;
  try {
    const api = f.hostOwner!.api;
    if (f.listener === undefined) f.host!(ctx, api, stack);
    else {
      const savedCtx = m.ctx;
      m.ctx = ctx;
      try {
        callHostListened(m, f, api, stack, false);
      } finally {
        m.ctx = savedCtx;
      }
    }
  } catch (e) {
    m.listeners.abortAbove(lsDepth, ctx, e);
    throw e;
  }
}

/** {@link callHostFromApi} for an async host function (or a synchronous one, called from `callAsync`). */
async function callHostFromApiAsync(m: Machine, f: FuncInst, stack: BigUint64Array, ctx: Context): Promise<void> {
  if (f.hostAsync === undefined) return callHostFromApi(m, f, stack, ctx);
  const lsDepth = m.listeners.sp;
  const savedCtx = m.ctx;
  m.ctx = ctx;
  try {
    const api = f.hostOwner!.api;
    if (f.listener === undefined) await f.hostAsync(ctx, api, stack);
    else await callHostListenedAsync(m, f, api, stack, false);
  } catch (e) {
    m.listeners.abortAbove(lsDepth, ctx, e);
    throw e;
  } finally {
    m.ctx = savedCtx;
  }
}

/** What a host call leaves on the machine that a re-entrant call may have moved. */
interface Saved {
  readonly depth: number;
  readonly top: number;
  readonly curFn: FuncInst | null;
  readonly curPc: number;
  readonly curFp: number;
}

/** Reads host function `f`'s params at word offset `fp` into a new raw stack; keeps `m.top` above them. */
function hostStack(m: Machine, f: FuncInst, fp: number): BigUint64Array {
  const n = Math.max(f.paramSlots, f.resultSlots);
  const stack = new BigUint64Array(n);
  readRaw(m, f.type.params, fp, stack);
  if (m.top < (fp >> 1) + n) m.top = (fp >> 1) + n;
  return stack;
}

/** Writes host function `f`'s results from `stack` back to word offset `fp`. */
function hostResults(m: Machine, f: FuncInst, fp: number, stack: BigUint64Array): void {
  const n = Math.max(f.paramSlots, f.resultSlots);
  if ((fp >> 1) + n > m.capSlots) growStack(m, (fp >> 1) + n);
  writeRaw(m, f.type.results, fp, stack);
}

/** Restores what a re-entrant call from a host function moved (the caller's frame is still current). */
function restoreSaved(m: Machine, s: Saved): void {
  m.depth = s.depth;
  m.top = s.top;
  m.curFn = s.curFn;
  m.curPc = s.curPc;
  m.curFp = s.curFp;
}

/**
 * Calls host function `f`, called by the wasm frame the loop left, with its parameters at word
 * offset `fp`; results are written back there.
 */
function callHost(m: Machine, f: FuncInst, fp: number): void {
  const stack = hostStack(m, f, fp);
  const saved: Saved = { depth: m.depth, top: m.top, curFn: m.curFn, curPc: m.curPc, curFp: m.curFp };
  const api = saved.curFn!.inst!.owner.api;
  try {
    if (f.listener === undefined) f.host!(m.ctx, api, stack);
    else callHostListened(m, f, api, stack, true);
  } catch (e) {
    // The host frame is the innermost open frame of this invocation (its trace line).
    m.errHost = f;
    m.errHostCaller = api;
    throw hostFunctionError(e);
  } finally {
    restoreSaved(m, saved);
  }
  hostResults(m, f, fp, stack);
}

/** {@link callHost} for an async host function: the call waits for it. */
async function callHostAsync(m: Machine, f: FuncInst, fp: number): Promise<void> {
  const stack = hostStack(m, f, fp);
  const saved: Saved = { depth: m.depth, top: m.top, curFn: m.curFn, curPc: m.curPc, curFp: m.curFp };
  const api = saved.curFn!.inst!.owner.api;
  try {
    if (f.listener === undefined) await f.hostAsync!(m.ctx, api, stack);
    else await callHostListenedAsync(m, f, api, stack, true);
  } catch (e) {
    m.errHost = f;
    m.errHostCaller = api;
    throw hostFunctionError(e);
  } finally {
    restoreSaved(m, saved);
  }
  hostResults(m, f, fp, stack);
}

/** The trace lines of the frames of the invocation starting at `baseDepth` still open when an error left it. */
function traceFramesOf(m: Machine, baseDepth: number): TraceFrame[] {
  const open: Array<{ fn: FuncInst; pc: number }> = [];
  if (m.errHost !== null) open.push({ fn: m.errHost, pc: 0 });
  if (m.curFn !== null) open.push({ fn: m.curFn, pc: m.curPc });
  // Frames saved at calls hold the return pc; the call instruction ends one word earlier.
  for (let d = m.depth - 1; d >= baseDepth; d--) {
    const fn = m.frFn[d];
    if (fn !== null && fn !== undefined) open.push({ fn, pc: m.frPc[d]! - 1 });
  }
  return open.map((o) => {
    const inst = o.fn.inst;
    return {
      definition: o.fn.definition,
      module: inst !== null && inst.debugInfo ? (inst.module ?? undefined) : undefined,
      offset: absoluteOffsetOf(o.fn, o.pc),
    };
  });
}
