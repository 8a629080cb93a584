/**
 * Function listeners and stack iteration for the interpreter.
 *
 * Only listened functions pay, by lowering-time choice (lower.ts): their code starts with
 * LISTEN_BEFORE (reached by call_indirect, tail calls and host entries), direct calls to them are
 * CALLL (fires before and enters past LISTEN_BEFORE), and unless the listener is before-only,
 * every return is RETL (fires after) and a tail call is preceded by LISTEN_AFTER with no results.
 * Those run-loop cases call {@link listenBefore} and {@link listenAfter}; host functions are listened
 * by {@link callHostListened}. Open frames follow the shared listener protocol (store/hooks.ts):
 * the engine aborts the ones still open when an error leaves an invocation, innermost first.
 *
 * Program counters handed to iterators: 0 for the called function (its entry), otherwise the code
 * index of the last word of the pending call instruction. `sourceOffsetForPC` maps them to byte
 * offsets relative to the start of the code section's contents.
 */
import { FunctionEventKind } from '../api/event-sink.js';
import type { InternalFunction, StackIterator } from '../api/listener.js';
import type { FunctionDefinition, Module as ApiModule } from '../api/module.js';
import { callListenedHost, callListenedHostAsync, ListenedFrame, listensExits, opensFrames, reopenOnOverflow } from '../store/hooks.js';
import type { Machine } from './machine.js';
import { refToRaw } from './machine.js';
import type { FuncInst } from './objects.js';

class InterpInternalFunction implements InternalFunction {
  readonly #f: FuncInst;
  constructor(f: FuncInst) {
    this.#f = f;
  }
  definition(): FunctionDefinition {
    return this.#f.definition;
  }
  sourceOffsetForPC(pc: number): number {
    return sourceOffsetOf(this.#f, pc);
  }
}

/**
 * Byte offset (relative to the code section's contents) of the instruction at `pc` of `f`: the
 * first instruction for pc < 0 (not started), 0 for host functions.
 */
export function sourceOffsetOf(f: FuncInst, pc: number): number {
  const abs = absoluteOffsetOf(f, pc);
  const mod = f.inst?.module;
  return abs === undefined || mod === undefined || mod === null ? 0 : abs - mod.codeSectionStart;
}

/** Absolute byte offset (into the module's bytes) of the instruction at `pc` of `f`, if wasm. */
export function absoluteOffsetOf(f: FuncInst, pc: number): number | undefined {
  const mod = f.inst?.module;
  if (mod === undefined || mod === null) return undefined;
  const body = mod.codes[f.codeIndex];
  if (body === undefined) return undefined;
  if (pc < 0) return body.codeStart;
  // A listened function's pc 0 is LISTEN_BEFORE, recorded at the body's first instruction.
  const off = f.lowered?.offsets[pc];
  return off === undefined ? body.codeStart : off;
}

export function internalOf(f: FuncInst): InternalFunction {
  let i = f.internal;
  if (i === null) {
    i = new InterpInternalFunction(f);
    f.internal = i;
  }
  return i;
}

/**
 * Iterates the called function, optionally the wasm frame that called a host function (held in
 * the run loop's locals, so not on the frame stack), then the frame stack from `d` down to `base`.
 */
class InterpStackIterator implements StackIterator {
  m: Machine;
  busy = false;
  // Plain fields (not #private): reset runs on every listened call.
  _f0: FuncInst | null = null;
  _f1: FuncInst | null = null;
  _pc1 = 0;
  _d = 0;
  _base = 0;
  _i = -1;
  _cur: FuncInst | null = null;
  _pc = 0;

  constructor(m: Machine) {
    this.m = m;
  }

  reset(f0: FuncInst, f1: FuncInst | null, pc1: number, d: number, base: number): this {
    this._f0 = f0;
    this._f1 = f1;
    this._pc1 = pc1;
    this._d = d;
    this._base = base;
    this._i = -1;
    this._cur = null;
    return this;
  }

  next(): boolean {
    const i = ++this._i;
    if (i === 0) {
      this._cur = this._f0;
      this._pc = 0;
      return true;
    }
    if (i === 1 && this._f1 !== null) {
      this._cur = this._f1;
      this._pc = this._pc1;
      return true;
    }
    const d = this._d;
    if (d < this._base) {
      this._cur = null;
      return false;
    }
    this._cur = this.m.frFn[d] ?? null;
    // Frames hold the return pc; the call instruction ends one word earlier.
    this._pc = this.m.frPc[d]! - 1;
    this._d = d - 1;
    return this._cur !== null;
  }

  function(): InternalFunction {
    if (this._cur === null) throw new Error('stack iterator: next() has not yielded a frame');
    return internalOf(this._cur);
  }

  programCounter(): number {
    return this._pc;
  }
}

/** An iterator for one before callback: the machine's, or a fresh one when that is in use. */
function takeIterator(m: Machine): InterpStackIterator {
  const it = m.iter as InterpStackIterator | null;
  if (it === null) {
    const fresh = new InterpStackIterator(m);
    m.iter = fresh;
    return fresh;
  }
  return it.busy ? new InterpStackIterator(m) : it;
}

/** Value kinds for {@link fill}: 32-bit number, 64-bit number, v128, reference. */
const K32 = 0;
const K64 = 1;
const K128 = 2;
const KREF = 3;

function kindsOf(types: readonly number[]): Uint8Array {
  return Uint8Array.from(types, (t) => (t === 0x7f || t === 0x7d ? K32 : t === 0x7e || t === 0x7c ? K64 : t === 0x7b ? K128 : KREF));
}

/**
 * Signature shapes with a straight-line copy (see {@link copyShape}): a loop over value kinds
 * costs several times more than the copies themselves, and this runs twice per listened call.
 * SHAPE_GENERIC: anything else (more values, v128, references) goes through {@link fill}.
 */
const SHAPE_GENERIC = -1;

/** The shape of a signature: values (up to 4, numbers only) + 8 × bitmask of the 64-bit ones. */
function shapeOf(kinds: Uint8Array): number {
  if (kinds.length > 4) return SHAPE_GENERIC;
  let mask = 0;
  for (let k = 0; k < kinds.length; k++) {
    if (kinds[k] === K64) mask |= 1 << k;
    else if (kinds[k] !== K32) return SHAPE_GENERIC;
  }
  return kinds.length + 8 * mask;
}

/** Copies the words of shape `shape` from the value stack at word `w`; false for SHAPE_GENERIC. */
function copyShape(i32: Int32Array, o: Int32Array, w: number, shape: number): boolean {
  switch (shape) {
    case 0:
      return true;
    case 1: // i32
      o[0] = i32[w]!;
      o[1] = 0;
      return true;
    case 2: // i32 i32
      o[0] = i32[w]!;
      o[1] = 0;
      o[2] = i32[w + 2]!;
      o[3] = 0;
      return true;
    case 3: // i32 i32 i32
      o[0] = i32[w]!;
      o[1] = 0;
      o[2] = i32[w + 2]!;
      o[3] = 0;
      o[4] = i32[w + 4]!;
      o[5] = 0;
      return true;
    case 9: // i64
      o[0] = i32[w]!;
      o[1] = i32[w + 1]!;
      return true;
    default:
      if (shape < 0) return false;
      for (let k = 0, n = shape & 7; k < n; k++) {
        o[2 * k] = i32[w + 2 * k]!;
        o[2 * k + 1] = (shape >> (3 + k)) & 1 ? i32[w + 2 * k + 1]! : 0;
      }
      return true;
  }
}

/** Creates `f`'s reused listener buffers, value kinds and shapes. */
function makeBuffers(f: FuncInst): void {
  const raw = new BigUint64Array(Math.max(f.paramSlots, f.resultSlots, 1));
  f.lParams = raw.subarray(0, f.paramSlots);
  f.lResults = raw.subarray(0, f.resultSlots);
  f.lParamKinds = kindsOf(f.type.params);
  f.lResultKinds = kindsOf(f.type.results);
  f.lParamShape = shapeOf(f.lParamKinds);
  f.lResultShape = shapeOf(f.lResultKinds);
  f.lWords = new Int32Array(raw.buffer);
}

/** Copies values of `kinds` at absolute word offset `w` of the value stack into raw form, bit exact. */
function fill(m: Machine, kinds: Uint8Array, w: number, words: Int32Array, raw: BigUint64Array): void {
  const i32 = m.i32;
  let j = 0;
  for (let k = 0; k < kinds.length; k++) {
    const kind = kinds[k]!;
    if (kind === K32) {
      words[j] = i32[w]!;
      words[j + 1] = 0;
    } else if (kind === K64) {
      words[j] = i32[w]!;
      words[j + 1] = i32[w + 1]!;
    } else if (kind === K128) {
      words[j] = i32[w]!;
      words[j + 1] = i32[w + 1]!;
      words[j + 2] = i32[w + 2]!;
      words[j + 3] = i32[w + 3]!;
      j += 2;
      w += 2;
    } else {
      raw[j >> 1] = refToRaw(m, m.refs[w >> 1]);
    }
    j += 2;
    w += 2;
  }
}

/** The frame `fn`'s listener calls open, or null for a before-only listener. */
function frameOf(fn: FuncInst): ListenedFrame | null {
  const l = fn.listener!;
  return opensFrames(l) ? new ListenedFrame(l, fn.definition, fn.inst!.owner.api) : null;
}

/** LISTEN_BEFORE: the run loop is at pc 0 of `fn` (frame at word offset `fp`), callers below `depth`. */
export function listenBefore(m: Machine, fn: FuncInst, fp: number, depth: number): void {
  if (fn.sinkId >= 0) {
    m.ring!.record(fn.sinkId, fn.sinkFi, ENTER);
    if (fn.listener === undefined) return;
  }
  if (fn.listener!.afterOnly === true && fn.listener!.beforeOnly !== true) return;
  if (fn.lWords === null) {
    makeBuffers(fn);
    fn.lFrame = frameOf(fn);
  }
  const params = fn.lParams!;
  const sh = fn.lParamShape;
  const i32 = m.i32;
  if (sh === 2) {
    params[0] = BigInt(i32[fp]! >>> 0);
    params[1] = BigInt(i32[fp + 2]! >>> 0);
  } else if (sh === 1) {
    params[0] = BigInt(i32[fp]! >>> 0);
  } else if (!copyShape(i32, fn.lWords!, fp, sh)) fill(m, fn.lParamKinds!, fp, fn.lWords!, params);
  let it = m.iter as InterpStackIterator | null;
  if (it === null || it.busy) it = takeIterator(m);
  it.busy = true;
  it.reset(fn, null, 0, depth - 1, m.baseDepth);
  // No finally: after a throw the iterator stays busy and later befores get fresh ones until
  // the outermost invocation ends (engine.ts resets it).
  fn.listener!.before(m.ctx, fn.inst!.owner.api, fn.definition, params, it);
  it.busy = false;
  const frame = fn.lFrame;
  // Inline push: no call between a returned before and its open frame (a call could overflow the stack).
  if (frame !== null) m.listeners.frames[m.listeners.sp++] = frame;
}

const NO_RESULTS = new BigUint64Array(0);
const ENTER = FunctionEventKind.Enter;
const EXIT = FunctionEventKind.Exit;
const TAIL = FunctionEventKind.Tail;

/**
 * LISTEN_AFTER: `fn` returns the results at absolute word offset `w`, or (w < 0) is replaced by a
 * tail call and has no results of its own. Its frame closes first (shared protocol).
 */
export function listenAfter(m: Machine, fn: FuncInst, w: number): void {
  if (fn.sinkId >= 0) {
    m.ring!.record(fn.sinkId, fn.sinkFi, w < 0 ? TAIL : EXIT);
    const l = fn.listener;
    if (l === undefined || !listensExits(l)) return;
  }
  let results: BigUint64Array = NO_RESULTS;
  if (w >= 0) {
    if (fn.lWords === null) makeBuffers(fn);
    results = fn.lResults!;
    if (fn.lResultShape === 1) results[0] = BigInt(m.i32[w]! >>> 0);
    else if (!copyShape(m.i32, fn.lWords!, w, fn.lResultShape)) fill(m, fn.lResultKinds!, w, fn.lWords!, results);
  }
  if (fn.lFrame !== null) m.listeners.sp--;
  try {
    fn.listener!.after(m.ctx, fn.inst!.owner.api, fn.definition, results);
  } catch (e) {
    if (fn.lFrame !== null) reopenOnOverflow(m.listeners, fn.lFrame, e);
    throw e;
  }
}

/** The stack iterator and frame of a call of listened host function `f` by `callerApi`. */
function hostListening(m: Machine, f: FuncInst, callerApi: ApiModule, fromWasm: boolean): { it: StackIterator; frame: ListenedFrame } {
  // Each host function has its own iterator: valid during before only, so a nested call of the
  // same function (from the host function itself) may reset it.
  let it = f.hostIter as InterpStackIterator | null;
  if (it === null) {
    it = new InterpStackIterator(m);
    f.hostIter = it;
  }
  if (fromWasm) it.reset(f, m.curFn, m.curPc, m.depth - 1, m.baseDepth);
  else it.reset(f, null, 0, -1, 0);
  let frame = f.hostFrame;
  if (frame === null || frame.mod !== callerApi) {
    frame = new ListenedFrame(f.listener!, f.definition, callerApi);
    f.hostFrame = frame;
  }
  return { it, frame };
}

/**
 * Runs host function `f` listened by its listener, with `callerApi` as the calling module. From
 * wasm, the caller is the run loop's current frame (`m.curFn` at `m.curPc`) and its callers are on
 * the frame stack below `m.depth`.
 */
export function callHostListened(m: Machine, f: FuncInst, callerApi: ApiModule, stack: BigUint64Array, fromWasm: boolean): void {
  const { it, frame } = hostListening(m, f, callerApi, fromWasm);
  callListenedHost(m.listeners, frame, m.ctx, f.host!, stack, stack.subarray(0, f.paramSlots), stack.subarray(0, f.resultSlots), it);
}

/** {@link callHostListened} for an async host function. */
export function callHostListenedAsync(
  m: Machine,
  f: FuncInst,
  callerApi: ApiModule,
  stack: BigUint64Array,
  fromWasm: boolean,
): Promise<void> {
  const { it, frame } = hostListening(m, f, callerApi, fromWasm);
  const params = stack.subarray(0, f.paramSlots);
  const results = stack.subarray(0, f.resultSlots);
  return callListenedHostAsync(m.listeners, frame, m.ctx, f.hostAsync!, stack, params, results, it);
}
