/**
 * Mid-call checkpoints on the interpreter (store/suspend.ts has the semantics): an async call
 * waiting at a host call is plain data at rest — its frames, value-stack words and pcs — which
 * {@link captureCall} turns into an engine-neutral {@link CallState} (functions as indices of the
 * called module, offsets relative to the call's first frame), and {@link checkResume} checks against
 * an instance in another runtime before the driver writes it back (driver.ts `resumeFunctionAsync`).
 *
 * Pcs index lowered code. Lowering is a pure function of the function body and the lowering
 * options (interrupt checks, dirty-page marks, listeners, coverage), so re-lowering in another
 * process gives the same layout; the state records the options and, per function with a frame, the
 * code length and a hash of its pc → byte offset map, and a resume refuses any difference.
 */
import { ExnInst, FuncInst, type Instance } from './objects.js';
import type { Machine } from './machine.js';
import { loweredOf } from './run.js';
import type { CallState } from '../store/suspend.js';

/** Where the driver's call is: what {@link captureCall} reads (driver.ts `Call`). */
export interface CallAt {
  readonly entry: FuncInst;
  readonly base: number;
  readonly entryFp: number;
  readonly lsDepth: number;
  readonly fn: FuncInst;
  readonly depth: number;
  readonly hostFn: FuncInst;
  readonly hostFp: number;
  readonly next: number;
}

const indexCache = new WeakMap<Instance, Map<FuncInst, number>>();

/** Function → index in `inst`'s function index space (the first index of a function imported twice). */
function indexOf(inst: Instance, f: FuncInst): number | undefined {
  let map = indexCache.get(inst);
  if (map === undefined || map.size === 0) {
    map = new Map();
    inst.functions.forEach((g, i) => {
      if (!map!.has(g)) map!.set(g, i);
    });
    indexCache.set(inst, map);
  }
  return map.get(f);
}

function unsupported(what: string): Error {
  return new Error(`not supported: ${what}`);
}

/** FNV-1a over the words of `a`. */
function hashWords(a: Int32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) {
    h ^= a[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The lowering options a layout depends on, as bits (see {@link CallState.lowering}). */
function loweringBits(inst: Instance): number {
  return (inst.interrupt ? 1 : 0) | (inst.dirtyPages ? 2 : 0);
}

/** Refuses instances whose lowering depends on more than the module and {@link loweringBits}. */
function checkPlainLowering(inst: Instance, what: string): void {
  if (inst.anyListened) throw unsupported(`${what} of a module with function listeners`);
  if (inst.coverage !== null) throw unsupported(`${what} of a module compiled with coverage`);
}

/** Why calls of `inst`'s functions can never be checkpointed, or undefined. */
export function staticRefusal(inst: Instance): string | undefined {
  try {
    checkPlainLowering(inst, 'mid-call checkpoints');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function nameOf(f: FuncInst): string {
  return f.definition.debugName();
}

/**
 * The state of call `c`, waiting at its host call on machine `m` (`m.top` covers the host call's
 * params and results). Throws `not supported: …` for what a checkpoint cannot hold.
 */
export function captureCall(m: Machine, c: CallAt): CallState {
  const inst = c.entry.inst!;
  checkPlainLowering(inst, 'mid-call checkpoints');
  if (m.listeners.sp > c.lsDepth) throw unsupported('mid-call checkpoints with listened frames open');
  const idx = (f: FuncInst, role: string): number => {
    const i = f.inst === inst || f.host !== null ? indexOf(inst, f) : undefined;
    if (i === undefined) {
      throw unsupported(
        `mid-call checkpoints with ${role} ${nameOf(f)} of another module on the stack (only the called module's frames can be resumed)`,
      );
    }
    return i;
  };
  const n = c.depth - c.base;
  const frames = { fn: new Int32Array(n), pc: new Int32Array(n), fp: new Int32Array(n) };
  const fns = new Set<FuncInst>([c.fn]);
  for (let k = 0; k < n; k++) {
    const f = m.frFn[c.base + k]!;
    frames.fn[k] = idx(f, 'a frame of');
    frames.pc[k] = m.frPc[c.base + k]!;
    frames.fp[k] = m.frFp[c.base + k]! - c.entryFp;
    fns.add(f);
  }
  const fn = idx(c.fn, 'a frame of');
  const hostFn = indexOf(inst, c.hostFn);
  if (hostFn === undefined || c.hostFn.host === null) {
    throw unsupported(`mid-call checkpoints at a call of ${nameOf(c.hostFn)}, which is not a host function imported by the called module`);
  }
  const top = m.top;
  const words = m.i32.slice(c.entryFp, 2 * top);
  const refs: Array<readonly [number, number]> = [];
  for (let s = c.entryFp >> 1; s < top; s++) {
    const r = m.refs[s];
    if (r === null || r === undefined) continue;
    if (r instanceof FuncInst) {
      const i = r.inst === inst || r.host !== null ? indexOf(inst, r) : undefined;
      if (i === undefined) throw unsupported(`mid-call checkpoints holding a reference to ${nameOf(r)} of another module`);
      refs.push([s - (c.entryFp >> 1), i]);
    } else if (r instanceof ExnInst) {
      throw unsupported('mid-call checkpoints holding an exception reference (exnref)');
    } else {
      throw unsupported('mid-call checkpoints holding a host reference (a non-null externref cannot be carried to another runtime)');
    }
  }
  const layout: Array<readonly [number, number, number]> = [];
  for (const f of fns) {
    const l = loweredOf(f);
    layout.push([indexOf(inst, f)!, l.code.length, hashWords(l.offsets)]);
  }
  return {
    entry: idx(c.entry, 'the entry'),
    fn,
    pc: m.curPc,
    fp: m.curFp - c.entryFp,
    hostFn,
    hostFp: c.hostFp - c.entryFp,
    next: c.next,
    frames,
    words,
    refs,
    layout,
    lowering: loweringBits(inst),
  };
}

/**
 * Checks `s` against instance `inst` (everything a resume reads: functions, code layout, offsets)
 * and returns the functions it names. Throws a refusal naming the first difference.
 */
export function checkResume(inst: Instance, s: CallState): { entry: FuncInst; fn: FuncInst; hostFn: FuncInst; frames: FuncInst[] } {
  const what = 'resumeCall';
  checkPlainLowering(inst, what);
  const bad = (msg: string): never => {
    throw new Error(`${what}: the checkpoint does not fit module[${inst.owner.api.name()}]: ${msg}`);
  };
  if (s.lowering !== loweringBits(inst)) {
    const opts = (b: number): string => `interrupt checks ${b & 1 ? 'on' : 'off'}, dirty-page tracking ${b & 2 ? 'on' : 'off'}`;
    throw new Error(
      `${what}: module[${inst.owner.api.name()}] was compiled and instantiated with other options than the checkpointed call's ` +
        `(${opts(loweringBits(inst))}; the call's: ${opts(s.lowering)}): use the same runtime configuration (withCloseOnContextDone, withDirtyPageTracking)`,
    );
  }
  const defined = (i: number, role: string): FuncInst => {
    const f = inst.functions[i];
    if (f === undefined || f.inst !== inst || f.host !== null) return bad(`${role} ${i} is not a function defined by the module`);
    return f;
  };
  const entry = defined(s.entry, 'entry function');
  const fn = defined(s.fn, 'function');
  const frames: FuncInst[] = [];
  for (let k = 0; k < s.frames.fn.length; k++) frames.push(defined(s.frames.fn[k]!, 'frame function'));
  const hostFn = inst.functions[s.hostFn];
  if (hostFn === undefined || hostFn.host === null) {
    return bad(`function ${s.hostFn} (where the call waits) is not a host function in this runtime`);
  }
  for (const [i, len, hash] of s.layout) {
    const l = loweredOf(defined(i, 'function'));
    if (l.code.length !== len || hashWords(l.offsets) !== hash) {
      bad(`function ${i} lowers to another code layout here (another wasmscope version?)`);
    }
  }
  const inLayout = (f: FuncInst, pc: number, role: string): void => {
    if (!s.layout.some(([i]) => inst.functions[i] === f) || pc < 0 || pc >= f.lowered!.code.length) bad(`${role} pc ${pc}`);
  };
  inLayout(fn, s.pc, 'calling');
  for (let k = 0; k < frames.length; k++) inLayout(frames[k]!, s.frames.pc[k]!, 'frame');
  const slots = s.words.length >> 1;
  if ((s.words.length & 1) !== 0 || slots === 0) bad('an odd or empty value stack');
  const inStack = (fp: number, n: number, role: string): void => {
    if (fp < 0 || (fp & 1) !== 0 || (fp >> 1) + n > slots) bad(`${role} frame pointer ${fp}`);
  };
  // A frame's slots past the host call's are dead (its operand stack ends at the call): the resume
  // grows the stack to every frame's extent.
  inStack(s.fp, 1, 'calling');
  for (let k = 0; k < frames.length; k++) inStack(s.frames.fp[k]!, 1, 'frame');
  inStack(s.hostFp, Math.max(hostFn.paramSlots, hostFn.resultSlots), 'host call');
  if (s.next < -1 || s.next >= fn.lowered!.code.length) bad(`resume pc ${s.next}`);
  for (const [slot, f] of s.refs) {
    if (slot < 0 || slot >= slots || inst.functions[f] === undefined) bad(`reference slot ${slot} → function ${f}`);
  }
  return { entry, fn, hostFn, frames };
}
