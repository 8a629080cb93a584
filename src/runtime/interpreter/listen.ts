/**
 * Function listeners and stack iteration for the interpreter.
 *
 * Only listened functions pay: their lowered code starts with LISTEN_BEFORE and has a LISTEN_AFTER
 * before every return (lower.ts), whose run-loop cases call {@link listenBefore} and
 * {@link listenAfter}. Host functions are listened in `callHost`. Aborts are fired by the engine
 * when an error leaves an engine invocation (engine.ts), for the frames still open.
 *
 * Program counters handed to iterators: 0 for the called function (its entry), otherwise the code
 * index of the last word of the pending call instruction. `sourceOffsetForPC` maps them to byte
 * offsets relative to the start of the code section's contents.
 */
import type { InternalFunction, StackIterator } from '../api/listener.js';
import type { FunctionDefinition, Module as ApiModule } from '../api/module.js';
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
  #f0: FuncInst | null = null;
  #f1: FuncInst | null = null;
  #pc1 = 0;
  #d = 0;
  #base = 0;
  #i = -1;
  #cur: FuncInst | null = null;
  #pc = 0;

  constructor(m: Machine) {
    this.m = m;
  }

  reset(f0: FuncInst, f1: FuncInst | null, pc1: number, d: number, base: number): this {
    this.#f0 = f0;
    this.#f1 = f1;
    this.#pc1 = pc1;
    this.#d = d;
    this.#base = base;
    this.#i = -1;
    this.#cur = null;
    return this;
  }

  next(): boolean {
    const i = ++this.#i;
    if (i === 0) {
      this.#cur = this.#f0;
      this.#pc = 0;
      return true;
    }
    if (i === 1 && this.#f1 !== null) {
      this.#cur = this.#f1;
      this.#pc = this.#pc1;
      return true;
    }
    const d = this.#d;
    if (d < this.#base) {
      this.#cur = null;
      return false;
    }
    this.#cur = this.m.frFn[d] ?? null;
    // Frames hold the return pc; the call instruction ends one word earlier.
    this.#pc = this.m.frPc[d]! - 1;
    this.#d = d - 1;
    return this.#cur !== null;
  }

  function(): InternalFunction {
    if (this.#cur === null) throw new Error('stack iterator: next() has not yielded a frame');
    return internalOf(this.#cur);
  }

  programCounter(): number {
    return this.#pc;
  }
}

/** An iterator for one before callback (a nested before gets its own). */
function takeIterator(m: Machine): InterpStackIterator {
  let it = m.iter as InterpStackIterator | null;
  if (it === null) {
    it = new InterpStackIterator(m);
    m.iter = it;
  }
  if (it.busy) return new InterpStackIterator(m);
  it.busy = true;
  return it;
}

/** Creates `f`'s reused listener buffers. */
function makeBuffers(f: FuncInst): void {
  const raw = new BigUint64Array(Math.max(f.paramSlots, f.resultSlots, 1));
  f.lParams = raw.subarray(0, f.paramSlots);
  f.lResults = raw.subarray(0, f.resultSlots);
  f.lWords = new Int32Array(raw.buffer);
}

/** Copies typed values at absolute word offset `w` of the value stack into raw form, bit exact. */
function fill(m: Machine, types: readonly number[], w: number, words: Int32Array, raw: BigUint64Array): void {
  const i32 = m.i32;
  let j = 0;
  for (let k = 0; k < types.length; k++) {
    const t = types[k]!;
    if (t === 0x7f || t === 0x7d) {
      words[2 * j] = i32[w]!;
      words[2 * j + 1] = 0;
      j++;
      w += 2;
    } else if (t === 0x7e || t === 0x7c) {
      words[2 * j] = i32[w]!;
      words[2 * j + 1] = i32[w + 1]!;
      j++;
      w += 2;
    } else if (t === 0x7b) {
      words[2 * j] = i32[w]!;
      words[2 * j + 1] = i32[w + 1]!;
      words[2 * j + 2] = i32[w + 2]!;
      words[2 * j + 3] = i32[w + 3]!;
      j += 2;
      w += 4;
    } else {
      raw[j] = refToRaw(m.refs[w >> 1]);
      j++;
      w += 2;
    }
  }
}

/** LISTEN_BEFORE: the run loop is at pc 0 of `fn` (frame at word offset `fp`), callers below `depth`. */
export function listenBefore(m: Machine, fn: FuncInst, fp: number, depth: number): void {
  if (fn.lWords === null) makeBuffers(fn);
  const params = fn.lParams!;
  fill(m, fn.type.params, fp, fn.lWords!, params);
  const it = takeIterator(m).reset(fn, null, 0, depth - 1, m.baseDepth);
  // No finally: after a throw the iterator stays busy and later befores get fresh ones until
  // the outermost invocation ends (engine.ts resets it).
  fn.listener!.before(m.ctx, fn.inst!.owner.api, fn.definition, params, it);
  it.busy = false;
}

const NO_RESULTS = new BigUint64Array(0);

/**
 * LISTEN_AFTER: `fn` returns the results at absolute word offset `w`, or (w < 0) is replaced by a
 * tail call and has no results of its own.
 */
export function listenAfter(m: Machine, fn: FuncInst, w: number): void {
  let results: BigUint64Array = NO_RESULTS;
  if (w >= 0) {
    if (fn.lWords === null) makeBuffers(fn);
    results = fn.lResults!;
    fill(m, fn.type.results, w, fn.lWords!, results);
  }
  fn.listener!.after(m.ctx, fn.inst!.owner.api, fn.definition, results);
}

/**
 * Before of host function `f` called from wasm: the caller is the run loop's current frame
 * (`m.curFn` at `m.curPc`), its callers are on the frame stack below `m.depth`.
 */
export function listenHostBefore(m: Machine, f: FuncInst, callerApi: ApiModule, stack: BigUint64Array, fromWasm: boolean): void {
  const it = takeIterator(m);
  if (fromWasm) it.reset(f, m.curFn, m.curPc, m.depth - 1, m.baseDepth);
  else it.reset(f, null, 0, -1, 0);
  f.listener!.before(m.ctx, callerApi, f.definition, stack.subarray(0, f.paramSlots), it);
  it.busy = false;
}

export function listenHostAfter(m: Machine, f: FuncInst, callerApi: ApiModule, stack: BigUint64Array): void {
  f.listener!.after(m.ctx, callerApi, f.definition, stack.subarray(0, f.resultSlots));
}
