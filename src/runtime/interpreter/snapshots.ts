/**
 * The interpreter's Snapshotter (store/snapshots.ts has the semantics). The run loop leaves for
 * every host call (engine.ts), so when a host function takes a snapshot the whole execution state
 * of the invocation is plain data at rest: the frames on the frame stack, the value-stack words
 * (locals and operand stacks), the calling frame's pc, and the open listened frames. A snapshot
 * copies them; a restore writes the copy back and resumes the driver right after the host call, so
 * one snapshot can be restored any number of times.
 */
import type { ListenedFrame } from '../store/hooks.js';
import { newSnapshot, type Invocation, type Snapshot, type Snapshotter } from '../store/snapshots.js';
import { growStack, writeRaw, type Machine } from './machine.js';
import type { FuncInst, Ref } from './objects.js';

/** Where the driver of an invocation is when it makes a host call. */
export interface HostCallSite {
  /** The calling function, its pc (the call instruction), frame pointer and frame depth. */
  fn: FuncInst;
  pc: number;
  fp: number;
  depth: number;
  /** The host function, the word offset of its params/results, and the pc after the call (-1: tail call). */
  hostFn: FuncInst;
  hostFp: number;
  next: number;
  /** Open listened frames before the host call (its own frame, if listened, is above). */
  lsDepth: number;
  /** First free value-stack slot when the host was called. */
  top: number;
}

/** A copy of an invocation's execution state at a host call. */
export class InterpSnapshotState {
  constructor(
    readonly site: Readonly<HostCallSite>,
    readonly frFn: readonly FuncInst[],
    readonly frPc: Int32Array,
    readonly frFp: Int32Array,
    /** Value-stack words from the invocation's entry frame to `site.top`. */
    readonly words: Int32Array,
    readonly refs: ReadonlyArray<Ref | undefined>,
    /** The invocation's open listened frames (from its first one). */
    readonly listened: readonly ListenedFrame[],
  ) {}
}

/** The snapshotter of one interpreter invocation. */
export class InterpSnapshotter implements Snapshotter {
  /** The driver's current host call (set before each host call). */
  readonly site: HostCallSite;

  constructor(
    readonly m: Machine,
    readonly invocation: Invocation,
    /** Frame depth and value-stack word offset where the invocation starts. */
    readonly baseDepth: number,
    readonly entryFp: number,
    /** Open listened frames when the invocation started. */
    readonly lsBase: number,
    entry: FuncInst,
  ) {
    this.site = { fn: entry, pc: 0, fp: entryFp, depth: baseDepth, hostFn: entry, hostFp: 0, next: 0, lsDepth: lsBase, top: 0 };
  }

  snapshot(): Snapshot {
    const m = this.m;
    const s = this.site;
    const frFn = m.frFn.slice(this.baseDepth, s.depth) as FuncInst[];
    const frPc = m.frPc.slice(this.baseDepth, s.depth);
    const frFp = m.frFp.slice(this.baseDepth, s.depth);
    const words = m.i32.slice(this.entryFp, 2 * s.top);
    const refs = m.refs.slice(this.entryFp >> 1, s.top);
    const listened = m.listeners.frames.slice(this.lsBase, s.lsDepth);
    const state = new InterpSnapshotState({ ...s }, frFn, frPc, frFp, words, refs, listened);
    return newSnapshot(this.invocation, state, s.hostFn.resultSlots);
  }
}

/**
 * Writes snapshot `st` back into the machine and `results` as the host call's results; returns the
 * host call site to resume at. Listened frames the restore discards are aborted with `reason`,
 * innermost first; frames the snapshot holds that have closed since are opened again.
 */
export function restoreSnapshot(
  m: Machine,
  snap: InterpSnapshotter,
  st: InterpSnapshotState,
  results: readonly bigint[],
  reason: unknown,
): HostCallSite {
  const s = st.site;
  // Listened frames: keep the common prefix, abort what is above it, reopen the snapshot's rest.
  const ls = m.listeners;
  let common = snap.lsBase;
  while (common < ls.sp && common - snap.lsBase < st.listened.length && ls.frames[common] === st.listened[common - snap.lsBase]) common++;
  ls.abortAbove(common, m.ctx, reason);
  for (let k = common - snap.lsBase; k < st.listened.length; k++) ls.push(st.listened[k]!);
  // Frames and value stack.
  for (let d = 0; d < st.frFn.length; d++) {
    m.frFn[snap.baseDepth + d] = st.frFn[d]!;
    m.frPc[snap.baseDepth + d] = st.frPc[d]!;
    m.frFp[snap.baseDepth + d] = st.frFp[d]!;
  }
  for (let d = s.depth; d < m.frFn.length && m.frFn[d] !== undefined && m.frFn[d] !== null; d++) m.frFn[d] = null;
  growStack(m, s.top + 1);
  m.i32.set(st.words, snap.entryFp);
  for (let i = 0; i < st.refs.length; i++) m.refs[(snap.entryFp >> 1) + i] = st.refs[i];
  writeRaw(
    m,
    s.hostFn.type.results,
    s.hostFp,
    BigUint64Array.from(results, (v) => BigInt.asUintN(64, v)),
  );
  m.depth = s.depth;
  m.top = s.top;
  return s;
}
