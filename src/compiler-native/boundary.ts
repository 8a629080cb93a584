/**
 * The JS↔wasm boundary of the compiler engine, built so that raw bits cross it intact.
 *
 * V8's own conversions canonicalize NaNs (f32/f64 travel as JS numbers) and cannot carry v128, so
 * values never cross as JS numbers here. Instead one engine-wide scratch memory carries every
 * non-reference value as raw 64-bit slots (the store's stack layout: v128 takes two), and small
 * per-signature wasm helper modules load/store them:
 * - an *entry* helper `c(slot, refs…)` loads the params from scratch, `call_indirect`s the target
 *   through an engine-wide funcref table and stores the results back (the target is the instance's
 *   own exported function, so the call itself is a plain wasm→wasm call);
 * - an *import adapter* with the guest's exact signature stores the params to scratch, calls a JS
 *   closure (which runs the host function on a BigUint64Array stack) and loads the results;
 * - *global accessors* get/set f32, f64 and v128 globals through scratch.
 * Only references (externref/funcref) travel as JS values, as arguments and return values.
 *
 * Reentrancy: scratch is live only between a JS write and the helper's immediate load (or between
 * the helper's store and the JS read that directly follows), never across a nested call, so one
 * scratch area serves every nesting level.
 *
 * Note: i64 params could also cross as BigInt arguments or as two i32 halves; through scratch they
 * need no conversion at all (a BigUint64Array element copy), which measured fastest (see report in
 * bench).
 */
import { ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import type { FuncType, ValType } from '../runtime/binary/module.js';
import { EXTERNREF, F32, F64, FUNCREF, I32, I64, V128, slotsOf } from '../runtime/api/value-type.js';

/** Module name of helper modules, so stack frames of helpers can be told apart from guests'. */
export const HELPER_ENTRY_NAME = 'wasmscopeentry';
export const HELPER_ADAPTER_NAME = 'wasmscopehost';
const HELPER_GLOBAL_NAME = 'wasmscopeglobal';

export function isRef(t: ValType): boolean {
  return t === FUNCREF || t === EXTERNREF;
}

/** Slot layout of a value list: the slot index of each value, and the total. */
export interface SlotLayout {
  readonly slot: readonly number[];
  readonly total: number;
  /** Indices (into the value list) of the reference values. */
  readonly refs: readonly number[];
}

export function slotLayout(types: readonly ValType[]): SlotLayout {
  const slot: number[] = [];
  const refs: number[] = [];
  let n = 0;
  for (let i = 0; i < types.length; i++) {
    slot.push(n);
    if (isRef(types[i]!)) refs.push(i);
    n += slotsOf(types[i]!);
  }
  return { slot, total: n, refs };
}

export function sigKey(t: FuncType): string {
  return `${t.params.map((x) => x.toString(16)).join('')}:${t.results.map((x) => x.toString(16)).join('')}`;
}

// ---- per-engine state ----

const SCRATCH_PAGES = 1;

/** Calls a wasm function of one signature from JS: `c(slot, ...refParams) → refResults`. */
export type EntryFn = (...args: unknown[]) => unknown;

export interface GlobalAccessor {
  /** Stores the global's raw bits to scratch slot 0 (v128: slots 0 and 1). */
  readonly get: () => void;
  /** Sets the global from scratch slot 0 (v128: slots 0 and 1); absent for immutable globals. */
  readonly set: (() => void) | undefined;
}

/**
 * One engine's side of the boundary: its scratch memory, the funcref table its entry helpers call
 * through, and the helper instances bound to them. Compiled helper modules are shared by every
 * engine (they hold no state); instances are per engine, so two runtimes never share scratch.
 */
export class Boundary {
  /** Scratch slots (8 bytes each): enough for any signature V8 accepts (1000 params/results, v128 x2). */
  readonly memory = new WebAssembly.Memory({ initial: SCRATCH_PAGES, maximum: SCRATCH_PAGES });
  /** Raw 64-bit slots of the scratch memory (never grows, so the view stays valid). */
  readonly u64 = new BigUint64Array(this.memory.buffer);
  /** 32-bit words of the scratch memory (hook function indices arrive in word 0). */
  readonly u32 = new Uint32Array(this.memory.buffer);
  /** The funcref table the entry helpers call through. */
  readonly callTable = new WebAssembly.Table({ element: 'anyfunc', initial: 64 });
  readonly #freeSlots: number[] = [];
  #nextSlot = 0;
  readonly #entries = new Map<string, EntryFn>();

  /** Puts `fn` (a wasm function) in the call table; returns its slot. */
  allocSlot(fn: unknown): number {
    let s = this.#freeSlots.pop();
    if (s === undefined) {
      s = this.#nextSlot++;
      if (s >= this.callTable.length) this.callTable.grow(Math.max(64, this.callTable.length));
    }
    this.callTable.set(s, fn);
    return s;
  }

  freeSlot(s: number): void {
    this.callTable.set(s, null);
    this.#freeSlots.push(s);
  }

  /** The entry helper for signature `t` (compiled once per process, instantiated once per engine). */
  entryFor(t: FuncType): EntryFn {
    const key = sigKey(t);
    let fn = this.#entries.get(key);
    if (fn === undefined) {
      let mod = entryModules.get(key);
      if (mod === undefined) {
        mod = new WebAssembly.Module(buildEntry(t));
        entryModules.set(key, mod);
      }
      const inst = new WebAssembly.Instance(mod, { s: { m: this.memory, t: this.callTable } });
      fn = inst.exports['c'] as EntryFn;
      this.#entries.set(key, fn);
    }
    return fn;
  }

  /**
   * A wasm function of signature `t` that stores its params to scratch and calls `js` (which gets the
   * ref params as arguments, reads the others from scratch, writes non-ref results to scratch and
   * returns the ref results: one value, or an array for several).
   */
  adapterFor(t: FuncType, js: (...refs: unknown[]) => unknown): unknown {
    const key = sigKey(t);
    let mod = adapterModules.get(key);
    if (mod === undefined) {
      mod = new WebAssembly.Module(buildAdapter(t));
      adapterModules.set(key, mod);
    }
    const inst = new WebAssembly.Instance(mod, { s: { m: this.memory }, h: { f: js } });
    return inst.exports['f'];
  }

  /** Raw get/set of a float or v128 global through wasm, which keeps NaN payloads. */
  globalAccessor(g: WebAssembly.Global, valType: ValType, mutable: boolean): GlobalAccessor {
    const key = `${valType}:${mutable ? 1 : 0}`;
    let mod = accessorModules.get(key);
    if (mod === undefined) {
      mod = new WebAssembly.Module(buildAccessor(valType, mutable));
      accessorModules.set(key, mod);
    }
    const inst = new WebAssembly.Instance(mod, { s: { m: this.memory }, g: { g } });
    return { get: inst.exports['get'] as () => void, set: mutable ? (inst.exports['set'] as () => void) : undefined };
  }
}

/** Compiled helper modules by signature (immutable code, shared by every engine). */
const entryModules = new Map<string, WebAssembly.Module>();
const adapterModules = new Map<string, WebAssembly.Module>();
const accessorModules = new Map<string, WebAssembly.Module>();

// ---- wasm emission helpers ----

function section(w: ByteWriter, id: number, body: ByteWriter): void {
  w.u8(id).u32(body.len).bytes(body.buf.subarray(0, body.len));
}

function header(w: ByteWriter): void {
  w.u32Fixed(0x6d736100).u32Fixed(1);
}

/** A `name` custom section with only the module name. */
function nameSection(w: ByteWriter, moduleName: string): void {
  const sub = new ByteWriter(32).name(moduleName);
  const payload = new ByteWriter(64).name('name').u8(0).u32(sub.len).bytes(sub.buf.subarray(0, sub.len));
  section(w, 0, payload);
}

/** Loads the value of type `t` from scratch slot `slot` (address 0 + offset). */
function emitLoad(c: ByteWriter, t: ValType, slot: number): void {
  c.u8(0x41).u8(0); // i32.const 0
  const off = slot * 8;
  switch (t) {
    case I32:
      c.u8(0x28).u8(0).u32(off);
      return;
    case I64:
      c.u8(0x29).u8(0).u32(off);
      return;
    case F32:
      c.u8(0x2a).u8(0).u32(off);
      return;
    case F64:
      c.u8(0x2b).u8(0).u32(off);
      return;
    case V128:
      c.u8(0xfd).u32(0).u8(0).u32(off);
      return;
    default:
      throw new Error(`not supported: value type 0x${t.toString(16)} in scratch`);
  }
}

/**
 * Stores local `local` of type `t` to scratch slot `slot`, zero-extending 32-bit values to the
 * 64-bit slot as the raw stack protocol requires.
 */
function emitStoreLocal(c: ByteWriter, t: ValType, local: number, slot: number): void {
  c.u8(0x41).u8(0); // i32.const 0
  c.u8(0x20).u32(local); // local.get
  const off = slot * 8;
  switch (t) {
    case I32:
      c.u8(0xad).u8(0x37).u8(0).u32(off); // i64.extend_i32_u; i64.store
      return;
    case I64:
      c.u8(0x37).u8(0).u32(off);
      return;
    case F32:
      c.u8(0xbc).u8(0xad).u8(0x37).u8(0).u32(off); // i32.reinterpret_f32; i64.extend_i32_u; i64.store
      return;
    case F64:
      c.u8(0x39).u8(0).u32(off); // f64.store (bit-exact)
      return;
    case V128:
      c.u8(0xfd).u32(11).u8(0).u32(off); // v128.store
      return;
    default:
      throw new Error(`not supported: value type 0x${t.toString(16)} in scratch`);
  }
}

/** Encodes a function body: local groups (one per local) then code then `end`. */
function body(locals: readonly ValType[], code: ByteWriter): ByteWriter {
  const b = new ByteWriter(code.len + 16);
  b.u32(locals.length);
  for (const t of locals) b.u32(1).u8(t);
  b.bytes(code.buf.subarray(0, code.len)).u8(0x0b);
  const out = new ByteWriter(b.len + 5);
  out.u32(b.len).bytes(b.buf.subarray(0, b.len));
  return out;
}

function importMemory(imp: ByteWriter): void {
  imp.name('s').name('m').u8(2).u8(0x01).u32(SCRATCH_PAGES).u32(SCRATCH_PAGES);
}

// ---- entry helpers ----

function buildEntry(t: FuncType): Uint8Array {
  const pl = slotLayout(t.params);
  const rl = slotLayout(t.results);
  const refParams = pl.refs.map((i) => t.params[i]!);
  const refResults = rl.refs.map((i) => t.results[i]!);
  const w = new ByteWriter(256);
  header(w);
  const types = new ByteWriter(64).u32(2);
  encodeFuncType(types, t);
  encodeFuncType(types, { params: [I32, ...refParams], results: refResults });
  section(w, 1, types);
  const imp = new ByteWriter(32).u32(2);
  importMemory(imp);
  imp.name('s').name('t').u8(1).u8(FUNCREF).u8(0x00).u32(0);
  section(w, 2, imp);
  section(w, 3, new ByteWriter(4).u32(1).u32(1));
  section(w, 7, new ByteWriter(8).u32(1).name('c').u8(0).u32(0));
  const c = new ByteWriter(128);
  let refArg = 1;
  for (let i = 0; i < t.params.length; i++) {
    const p = t.params[i]!;
    if (isRef(p)) c.u8(0x20).u32(refArg++);
    else emitLoad(c, p, pl.slot[i]!);
  }
  c.u8(0x20).u8(0); // local.get slot
  c.u8(0x11).u32(0).u32(0); // call_indirect type 0 table 0
  // Results are on the stack, last on top: park them in locals, then store / push back refs.
  const firstLocal = 1 + refParams.length;
  for (let i = t.results.length - 1; i >= 0; i--) c.u8(0x21).u32(firstLocal + i);
  for (let i = 0; i < t.results.length; i++) {
    const r = t.results[i]!;
    if (!isRef(r)) emitStoreLocal(c, r, firstLocal + i, rl.slot[i]!);
  }
  for (const i of rl.refs) c.u8(0x20).u32(firstLocal + i);
  const code = new ByteWriter(256).u32(1);
  const b = body(t.results, c);
  code.bytes(b.buf.subarray(0, b.len));
  section(w, 10, code);
  nameSection(w, HELPER_ENTRY_NAME);
  return w.finish();
}

// ---- import adapters ----

function buildAdapter(t: FuncType): Uint8Array {
  const pl = slotLayout(t.params);
  const rl = slotLayout(t.results);
  const refParams = pl.refs.map((i) => t.params[i]!);
  const refResults = rl.refs.map((i) => t.results[i]!);
  const w = new ByteWriter(256);
  header(w);
  const types = new ByteWriter(64).u32(2);
  encodeFuncType(types, t);
  encodeFuncType(types, { params: refParams, results: refResults });
  section(w, 1, types);
  const imp = new ByteWriter(32).u32(2);
  importMemory(imp);
  imp.name('h').name('f').u8(0).u32(1);
  section(w, 2, imp);
  section(w, 3, new ByteWriter(4).u32(1).u32(0));
  section(w, 7, new ByteWriter(8).u32(1).name('f').u8(0).u32(1));
  const c = new ByteWriter(128);
  for (let i = 0; i < t.params.length; i++) {
    const p = t.params[i]!;
    if (!isRef(p)) emitStoreLocal(c, p, i, pl.slot[i]!);
  }
  for (const i of pl.refs) c.u8(0x20).u32(i);
  c.u8(0x10).u32(0); // call $h
  // Ref results come back on the stack; park them, then push every result in order.
  const firstLocal = t.params.length;
  for (let k = refResults.length - 1; k >= 0; k--) c.u8(0x21).u32(firstLocal + k);
  let k = 0;
  for (let i = 0; i < t.results.length; i++) {
    const r = t.results[i]!;
    if (isRef(r)) c.u8(0x20).u32(firstLocal + k++);
    else emitLoad(c, r, rl.slot[i]!);
  }
  const code = new ByteWriter(256).u32(1);
  const b = body(refResults, c);
  code.bytes(b.buf.subarray(0, b.len));
  section(w, 10, code);
  nameSection(w, HELPER_ADAPTER_NAME);
  return w.finish();
}

// ---- global accessors ----

function buildAccessor(t: ValType, mutable: boolean): Uint8Array {
  const w = new ByteWriter(128);
  header(w);
  const types = new ByteWriter(16).u32(1);
  encodeFuncType(types, { params: [], results: [] });
  section(w, 1, types);
  const imp = new ByteWriter(32).u32(2);
  importMemory(imp);
  imp
    .name('g')
    .name('g')
    .u8(3)
    .u8(t)
    .u8(mutable ? 1 : 0);
  section(w, 2, imp);
  const n = mutable ? 2 : 1;
  const fs = new ByteWriter(4).u32(n);
  for (let i = 0; i < n; i++) fs.u32(0);
  section(w, 3, fs);
  const ex = new ByteWriter(16).u32(n).name('get').u8(0).u32(0);
  if (mutable) ex.name('set').u8(0).u32(1);
  section(w, 7, ex);
  const code = new ByteWriter(64).u32(n);
  const get = new ByteWriter(32).u8(0x23).u32(0).u8(0x21).u32(0); // global.get 0; local.set 0
  emitStoreLocal(get, t, 0, 0);
  const gb = body([t], get);
  code.bytes(gb.buf.subarray(0, gb.len));
  if (mutable) {
    const set = new ByteWriter(32);
    emitLoad(set, t, 0);
    set.u8(0x24).u32(0); // global.set 0
    const sb = body([], set);
    code.bytes(sb.buf.subarray(0, sb.len));
  }
  section(w, 10, code);
  nameSection(w, HELPER_GLOBAL_NAME);
  return w.finish();
}
