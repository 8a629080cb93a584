/**
 * The compiler engine's Snapshotter (store/snapshots.ts has the semantics), on modules the rewind
 * pass transformed (rewind.ts: modules compiled with `withSnapshotter(ctx)` on the compile context).
 *
 * - Taking a snapshot: `snapshot()` in a host function only records a pending snapshot. When the host
 *   function returns, its import adapter sets every transformed instance's `$state` to unwinding:
 *   the guest frames push their records to the engine's rewind stack and return, up to the
 *   invocation's JS boundary, which copies the stack (the copy *is* the snapshot) and calls the
 *   guest again, rewinding: the frames come back from the records and the host call returns its
 *   results. A snapshot costs one unwind and one rewind of the frames between the host call and the
 *   invocation's entry.
 * - Restoring: the restore signal unwinds the JS stack (host `finally` blocks run; V8 discards the
 *   wasm frames) to the invocation, which loads the snapshot's copy with the new results in its
 *   results record and rewinds. A restore thrown before the host call that took the snapshot has
 *   returned is caught by that call's adapter, which starts the unwind as for a snapshot: the
 *   snapshot is captured on the way out and restored at once.
 * - A restore crosses guest frames as the exception bridge's uncatchable trap (exceptions.ts), so
 *   no guest `catch_all` stops it; the adapter of the host call that took a pending snapshot and the
 *   invocation that took a captured one recover it there. A snapshot whose host call then throws
 *   (a WasmException) is captured by an unwind as if the call had returned (restoring it makes the
 *   call return the restore's results); the rewind after that unwind throws the exception at the
 *   call site, where the guest's handlers (entered again by the rewind) catch it.
 * - Listeners: unwinds and rewinds fire no hooks (frames are not left or entered); a restore aborts
 *   the listened frames above the ones the snapshot holds and reopens the snapshot's frames, as the
 *   interpreter does.
 *
 * The rewind stack (rewind-stack.ts) is reached from transformed guests through their helper table.
 */
import { SnapshotError } from '../runtime/api/errors.js';
import type { Context } from '../runtime/api/context.js';
import { EXTERNREF, F32, F64, FUNCREF, I32, I64, V128 } from '../runtime/api/value-type.js';
import type { FuncType, ValType } from '../runtime/binary/module.js';
import type { ListenedFrame } from '../runtime/store/hooks.js';
import { newSnapshot, type Invocation, type Snapshot, SnapshotRestore, type Snapshotter } from '../runtime/store/snapshots.js';
import { slotLayout } from './boundary.js';
import type { References } from './references.js';
import { STATE_UNWINDING } from './rewind.js';
import { sizeOf, type InvocationSnapshots, type RewindImage } from './rewind-stack.js';
import type { EngineState } from './state.js';
import { parseGuestFrames, type FrameSource } from './traps.js';

/**
 * `img` with its results record (at the bottom: the snapshotting host call's results, then tag 0)
 * holding `results` (raw values, one per slot) of types `types`.
 */
export function withResults(img: RewindImage, types: readonly ValType[], results: readonly bigint[], refs: References): RewindImage {
  const bytes = img.bytes.slice();
  const funcs = img.funcs.slice();
  const externs = img.externs.slice();
  const dv = new DataView(bytes.buffer);
  let off = 0;
  let slot = 0;
  let fi = 0;
  let ei = 0;
  for (const t of types) {
    const v = results[slot]!;
    switch (t) {
      case I32:
      case F32:
        dv.setUint32(off, Number(BigInt.asUintN(32, v)), true);
        break;
      case I64:
      case F64:
        dv.setBigUint64(off, BigInt.asUintN(64, v), true);
        break;
      case V128:
        dv.setBigUint64(off, BigInt.asUintN(64, v), true);
        dv.setBigUint64(off + 8, BigInt.asUintN(64, results[slot + 1]!), true);
        slot++;
        break;
      case FUNCREF:
        funcs[fi++] = refs.fromRaw(t, v);
        break;
      case EXTERNREF:
        externs[ei++] = refs.fromRaw(t, v);
        break;
    }
    off += sizeOf(t);
    slot++;
  }
  return { bytes, funcs, externs };
}

/** The engine-specific state of one snapshot. */
export class CompilerSnapState {
  /** The rewind stack when it was taken (set when the unwind that takes it reaches the invocation). */
  image: RewindImage | undefined = undefined;
  /** The invocation's open listened frames then. */
  listened: readonly ListenedFrame[] = [];
  constructor(
    /** Result types of the host function that took it. */
    readonly resultTypes: readonly ValType[],
  ) {}
}

/** What a module needs to say about its frames for snapshots. */
export interface RewindableSource extends FrameSource {
  /** Whether function `funcIndex`'s frames can unwind and rewind (the rewind pass transformed it). */
  rewindable(funcIndex: number): boolean;
}

/** The snapshotter of one compiler-engine invocation. */
export class CompilerSnapshotter implements Snapshotter, InvocationSnapshots {
  /** The type of the host function being called by this invocation's guest code, if any. */
  hostType: FuncType | undefined = undefined;
  /** Snapshots taken during the current host call (captured by the unwind that follows it). */
  readonly pending: CompilerSnapState[] = [];
  /** Set when the guest is unwinding to this invocation. */
  unwinding = false;
  /** A restore of a pending snapshot, done once the unwind has captured it. */
  pendingRestore: SnapshotRestore | undefined = undefined;
  /**
   * V8's exception a host call threw after taking snapshots: the unwind captures them, and the
   * rewind that follows throws it where the call was made (the rewind stack's `done`).
   */
  pendingThrow: unknown = undefined;

  constructor(
    readonly state: EngineState,
    readonly invocation: Invocation,
    /** Open listened frames when the invocation started. */
    readonly lsBase: number,
  ) {}

  snapshot(): Snapshot {
    const state = this.state;
    const t = this.hostType;
    if (!this.invocation.live || state.snap !== (this as InvocationSnapshots)) {
      throw new SnapshotError('snapshot: the call this snapshotter belongs to is not the one in progress');
    }
    checkFrames(state);
    if (t === undefined) throw notCompiledForSnapshots('the module that imported this host function');
    const st = new CompilerSnapState(t.results);
    this.pending.push(st);
    return newSnapshot(this.invocation, st, slotLayout(t.results).total);
  }

  /** Starts the unwind to this invocation (the host call has returned, or a pending snapshot is restored). */
  beginUnwind(): void {
    this.unwinding = true;
    this.state.rewind.setAll(STATE_UNWINDING);
  }

  /**
   * Listened frames for a restore of `st`: keeps those open now that the snapshot holds too, aborts
   * the others (innermost first) with `reason`, reopens the snapshot's rest.
   */
  relisten(st: CompilerSnapState, ctx: Context, reason: unknown): void {
    const ls = this.state.listeners;
    const base = this.lsBase;
    let common = base;
    while (common < ls.sp && common - base < st.listened.length && ls.frames[common] === st.listened[common - base]) common++;
    ls.abortAbove(common, ctx, reason);
    for (let k = common - base; k < st.listened.length; k++) ls.push(st.listened[k]!);
  }
}

function notCompiledForSnapshots(what: string): Error {
  return new Error(
    `not supported: a snapshot on the compiler engine needs every guest frame of the call compiled for snapshots, ` +
      `and ${what} was not: compile it with withSnapshotter(ctx) on the compile context ` +
      '(runtime.compileModule(bytes, withSnapshotter(ctx)), or instantiate(bytes, withSnapshotter(ctx)))',
  );
}

/** Throws unless every guest frame of the innermost invocation can unwind (V8's own stack tells). */
function checkFrames(state: EngineState): void {
  const holder: { stack?: string } = {};
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  try {
    Error.captureStackTrace(holder);
  } finally {
    Error.stackTraceLimit = prev;
  }
  let bad: string | undefined;
  const reached = parseGuestFrames(holder.stack ?? '', state, (src, funcIndex) => {
    if (bad === undefined && !(src as RewindableSource).rewindable(funcIndex)) bad = src.defs[funcIndex]!.debugName();
  });
  if (bad !== undefined) throw notCompiledForSnapshots(`function ${bad}`);
  if (!reached) throw new Error('internal error: snapshot: the invocation entry is not on the stack');
}

/**
 * The import adapter closure `run` of a host function of type `t`, for a transformed importer: it
 * tells the invocation's snapshotter which host call is in progress, starts the unwind that takes
 * the snapshots made during the call, and turns a restore of one of them into that unwind.
 */
export function snapshottingAdapter(
  state: EngineState,
  t: FuncType,
  run: (...refs: unknown[]) => unknown,
): (...refs: unknown[]) => unknown {
  const refResults = slotLayout(t.results).refs.length;
  return (...refArgs: unknown[]): unknown => {
    const s = state.snap as CompilerSnapshotter | undefined;
    if (s === undefined) return run(...refArgs);
    const prevType = s.hostType;
    s.hostType = t;
    const lsAt = state.listeners.sp;
    try {
      const r = run(...refArgs);
      if (s.pending.length > 0) s.beginUnwind();
      return r;
    } catch (e) {
      // `run` turned a restore into the bridge's uncatchable trap (a guest `catch_all` must not stop it).
      const r = state.exceptions.kept(e);
      if (!(r instanceof SnapshotRestore) || r.invocation !== s.invocation || !s.pending.includes(r.state as CompilerSnapState)) {
        if (s.pending.length > 0 && state.exceptions.isTagged(e)) {
          // A WasmException after a snapshot (a guest may catch it): the unwind captures the
          // snapshot as if the call had returned, and the rewind throws it at the call site.
          s.pendingThrow = e;
          s.beginUnwind();
          return refResults === 0 ? undefined : refResults === 1 ? null : new Array<null>(refResults).fill(null);
        }
        throw e;
      }
      state.exceptions.take();
      // Host frames opened inside this call are discarded by the restore.
      state.listeners.abortAbove(lsAt, state.ctx, r);
      s.pendingRestore = r;
      s.beginUnwind();
      // Results do not matter: the unwind saves them and the restore replaces them.
      return refResults === 0 ? undefined : refResults === 1 ? null : new Array<null>(refResults).fill(null);
    } finally {
      s.hostType = prevType;
    }
  };
}
