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
 * need no conversion at all (a BigUint64Array element copy), which measured fastest
 * (`npm run bench -- boundary`).
 */
import { ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import { SectionId, type FuncType, type ValType } from '../runtime/binary/module.js';
import { ExternKind, F32, F64, FUNCREF, I32, I64, V128, isRefType, slotsOf } from '../runtime/api/value-type.js';

/** Module name of helper modules, so stack frames of helpers can be told apart from guests'. */
export const HELPER_ENTRY_NAME = 'wasmscopeentry';
export const HELPER_ADAPTER_NAME = 'wasmscopehost';
const HELPER_GLOBAL_NAME = 'wasmscopeglobal';

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
    if (isRefType(types[i]!)) refs.push(i);
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
  readonly #asyncEntries = new Map<string, (...args: unknown[]) => Promise<unknown>>();

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

  /**
   * A listener hook of signature `t` (its first param an i32, the function index): like
   * {@link adapterFor} for the other params (no ref params), but the function index is passed to
   * `js` as its argument rather than through scratch, so the hook reads no memory to dispatch.
   */
  hookAdapterFor(t: FuncType, js: (fi: number) => void): unknown {
    const key = sigKey(t);
    let mod = hookAdapterModules.get(key);
    if (mod === undefined) {
      mod = new WebAssembly.Module(buildAdapter(t, true));
      hookAdapterModules.set(key, mod);
    }
    const inst = new WebAssembly.Instance(mod, { s: { m: this.memory }, h: { f: js } });
    return inst.exports['f'];
  }

  /**
   * The async entry helper for signature `t`, wrapped in `WebAssembly.promising` (JS Promise
   * Integration): `(slot, callId, refs…) → Promise<refResults>`; `done(callId)` runs when the results
   * are in scratch. Undefined where V8 lacks JSPI.
   */
  asyncEntryFor(t: FuncType, done: (callId: number) => void): ((...args: unknown[]) => Promise<unknown>) | undefined {
    if (!hasJspi) return undefined;
    const key = sigKey(t);
    let fn = this.#asyncEntries.get(key);
    if (fn === undefined) {
      let mod = asyncEntryModules.get(key);
      if (mod === undefined) {
        mod = new WebAssembly.Module(buildEntry(t, true));
        asyncEntryModules.set(key, mod);
      }
      const inst = new WebAssembly.Instance(mod, { s: { m: this.memory, t: this.callTable, d: done } });
      fn = jspi().promising(inst.exports['c']) as (...args: unknown[]) => Promise<unknown>;
      this.#asyncEntries.set(key, fn);
    }
    return fn;
  }

  /**
   * The import adapter of an async host function of signature `t`: `suspend(refs…)` returns a
   * promise of a token, `take(token)` writes the results to scratch and returns the ref results.
   */
  asyncAdapterFor(t: FuncType, suspend: (...refs: unknown[]) => Promise<number>, take: (token: number) => unknown): unknown {
    const key = sigKey(t);
    let mod = asyncAdapterModules.get(key);
    if (mod === undefined) {
      mod = new WebAssembly.Module(buildAsyncAdapter(t));
      asyncAdapterModules.set(key, mod);
    }
    const suspending = new (jspi().Suspending)(suspend) as WebAssembly.ImportValue;
    const inst = new WebAssembly.Instance(mod, { s: { m: this.memory }, h: { f: suspending, t: take } });
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

/** JS Promise Integration, as V8 exposes it (Node ≥ 24). */
interface Jspi {
  promising(fn: unknown): (...args: unknown[]) => Promise<unknown>;
  Suspending: new (fn: (...args: never[]) => unknown) => unknown;
}

/** Whether the running V8 has JS Promise Integration (Node ≥ 24; not Node 20). */
export const hasJspi: boolean =
  typeof (WebAssembly as unknown as Partial<Jspi>).promising === 'function' &&
  typeof (WebAssembly as unknown as Partial<Jspi>).Suspending === 'function';

function jspi(): Jspi {
  return WebAssembly as unknown as Jspi;
}

/** Compiled helper modules by signature (immutable code, shared by every engine). */
const entryModules = new Map<string, WebAssembly.Module>();
const asyncEntryModules = new Map<string, WebAssembly.Module>();
const asyncAdapterModules = new Map<string, WebAssembly.Module>();
const adapterModules = new Map<string, WebAssembly.Module>();
const hookAdapterModules = new Map<string, WebAssembly.Module>();
const accessorModules = new Map<string, WebAssembly.Module>();

// ---- wasm emission helpers ----

/** A `name` custom section with only the module name. */
function nameSection(w: ByteWriter, moduleName: string): void {
  const sub = new ByteWriter(32).name(moduleName);
  w.section(SectionId.Custom, new ByteWriter(64).name('name').u8(0).sized(sub));
}

/** Loads the value of type `t` from scratch slot `slot` (address 0 + offset). */
function emitLoad(c: ByteWriter, t: ValType, slot: number): void {
  c.i32Const(0);
  const off = slot * 8;
  switch (t) {
    case I32:
      c.i32Load(0, off);
      return;
    case I64:
      c.i64Load(0, off);
      return;
    case F32:
      c.f32Load(0, off);
      return;
    case F64:
      c.f64Load(0, off);
      return;
    case V128:
      c.v128Load(0, off);
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
  c.i32Const(0).localGet(local);
  const off = slot * 8;
  switch (t) {
    case I32:
      c.i64ExtendI32U().i64Store(0, off);
      return;
    case I64:
      c.i64Store(0, off);
      return;
    case F32:
      c.i32ReinterpretF32().i64ExtendI32U().i64Store(0, off);
      return;
    case F64:
      c.f64Store(0, off); // bit-exact
      return;
    case V128:
      c.v128Store(0, off);
      return;
    default:
      throw new Error(`not supported: value type 0x${t.toString(16)} in scratch`);
  }
}

/** Writes a code entry: its size, local groups (one per local), `code` and `end`. */
function body(w: ByteWriter, locals: readonly ValType[], code: ByteWriter): void {
  const b = new ByteWriter(code.len + 16);
  b.u32(locals.length);
  for (const t of locals) b.u32(1).u8(t);
  b.bytes(code.written()).end();
  w.sized(b);
}

function importMemory(imp: ByteWriter): void {
  imp.name('s').name('m').u8(ExternKind.Memory).u8(0x01).u32(SCRATCH_PAGES).u32(SCRATCH_PAGES); // limits with a maximum
}

// ---- entry helpers ----

/**
 * The entry helper of a signature: `c(slot, refs…) → refResults` loads the params from scratch,
 * calls the function in table slot `slot`, and stores its results to scratch. `async`: the helper
 * of an async call (wrapped in `WebAssembly.promising`), `c(slot, callId, refs…)`; the call may
 * suspend, so its results must leave scratch at once: after storing them it calls the synchronous
 * import `s.d(callId)`, which copies them to the call's own stack before any other call can use
 * scratch.
 */
function buildEntry(t: FuncType, async = false): Uint8Array {
  const pl = slotLayout(t.params);
  const rl = slotLayout(t.results);
  const refParams = pl.refs.map((i) => t.params[i]!);
  const refResults = rl.refs.map((i) => t.results[i]!);
  /** Leading i32 params: the slot, and the call id of an async call. */
  const lead = async ? 2 : 1;
  const w = new ByteWriter(256).preamble();
  const types = new ByteWriter(64).u32(async ? 3 : 2);
  encodeFuncType(types, t);
  encodeFuncType(types, { params: [...(async ? [I32, I32] : [I32]), ...refParams], results: refResults });
  if (async) encodeFuncType(types, { params: [I32], results: [] });
  w.section(SectionId.Type, types);
  const imp = new ByteWriter(48).u32(async ? 3 : 2);
  importMemory(imp);
  imp.name('s').name('t').u8(ExternKind.Table).u8(FUNCREF).u8(0x00).u32(0); // limits: minimum 0, no maximum
  if (async) imp.name('s').name('d').u8(ExternKind.Func).u32(2);
  w.section(SectionId.Import, imp);
  w.section(SectionId.Function, new ByteWriter(4).u32(1).u32(1));
  // The helper's index follows the imported `s.d` of an async helper.
  w.section(
    SectionId.Export,
    new ByteWriter(8)
      .u32(1)
      .name('c')
      .u8(ExternKind.Func)
      .u32(async ? 1 : 0),
  );
  const c = new ByteWriter(128);
  let refArg = lead;
  for (let i = 0; i < t.params.length; i++) {
    const p = t.params[i]!;
    if (isRefType(p)) c.localGet(refArg++);
    else emitLoad(c, p, pl.slot[i]!);
  }
  c.localGet(0).callIndirect(0, 0); // the slot; call type 0 through table 0
  // Results are on the stack, last on top: park them in locals, then store / push back refs.
  const firstLocal = lead + refParams.length;
  for (let i = t.results.length - 1; i >= 0; i--) c.localSet(firstLocal + i);
  for (let i = 0; i < t.results.length; i++) {
    const r = t.results[i]!;
    if (!isRefType(r)) emitStoreLocal(c, r, firstLocal + i, rl.slot[i]!);
  }
  if (async) c.localGet(1).call(0); // done(callId)
  for (const i of rl.refs) c.localGet(firstLocal + i);
  const code = new ByteWriter(256).u32(1);
  body(code, t.results, c);
  w.section(SectionId.Code, code);
  nameSection(w, HELPER_ENTRY_NAME);
  return w.finish();
}

// ---- import adapters ----

function buildAdapter(t: FuncType, indexArg = false): Uint8Array {
  const pl = slotLayout(t.params);
  const rl = slotLayout(t.results);
  // A listener hook's: its first param (the function index) is the import's argument.
  const refParams = indexArg ? [I32] : pl.refs.map((i) => t.params[i]!);
  const refResults = rl.refs.map((i) => t.results[i]!);
  const w = new ByteWriter(256).preamble();
  const types = new ByteWriter(64).u32(2);
  encodeFuncType(types, t);
  encodeFuncType(types, { params: refParams, results: refResults });
  w.section(SectionId.Type, types);
  const imp = new ByteWriter(32).u32(2);
  importMemory(imp);
  imp.name('h').name('f').u8(ExternKind.Func).u32(1);
  w.section(SectionId.Import, imp);
  w.section(SectionId.Function, new ByteWriter(4).u32(1).u32(0));
  w.section(SectionId.Export, new ByteWriter(8).u32(1).name('f').u8(ExternKind.Func).u32(1));
  const c = new ByteWriter(128);
  for (let i = indexArg ? 1 : 0; i < t.params.length; i++) {
    const p = t.params[i]!;
    if (!isRefType(p)) emitStoreLocal(c, p, i, pl.slot[i]!);
  }
  if (indexArg) c.localGet(0);
  else for (const i of pl.refs) c.localGet(i);
  c.call(0); // $h
  // Ref results come back on the stack; park them, then push every result in order.
  const firstLocal = t.params.length;
  for (let k = refResults.length - 1; k >= 0; k--) c.localSet(firstLocal + k);
  let k = 0;
  for (let i = 0; i < t.results.length; i++) {
    const r = t.results[i]!;
    if (isRefType(r)) c.localGet(firstLocal + k++);
    else emitLoad(c, r, rl.slot[i]!);
  }
  const code = new ByteWriter(256).u32(1);
  body(code, refResults, c);
  w.section(SectionId.Code, code);
  nameSection(w, HELPER_ADAPTER_NAME);
  return w.finish();
}

// ---- async helpers (JS Promise Integration) ----

/**
 * The import adapter of an async host function: stores the params to scratch, calls the
 * suspending import `h.f(refs…) → token` (the JS side reads scratch before its first await), then
 * the synchronous `h.t(token) → refResults`, which writes the results to scratch right after the
 * call resumes, and loads them.
 */
function buildAsyncAdapter(t: FuncType): Uint8Array {
  const pl = slotLayout(t.params);
  const rl = slotLayout(t.results);
  const refParams = pl.refs.map((i) => t.params[i]!);
  const refResults = rl.refs.map((i) => t.results[i]!);
  const w = new ByteWriter(256).preamble();
  const types = new ByteWriter(64).u32(3);
  encodeFuncType(types, t);
  encodeFuncType(types, { params: refParams, results: [I32] });
  encodeFuncType(types, { params: [I32], results: refResults });
  w.section(SectionId.Type, types);
  const imp = new ByteWriter(48).u32(3);
  importMemory(imp);
  imp.name('h').name('f').u8(ExternKind.Func).u32(1);
  imp.name('h').name('t').u8(ExternKind.Func).u32(2);
  w.section(SectionId.Import, imp);
  w.section(SectionId.Function, new ByteWriter(4).u32(1).u32(0));
  w.section(SectionId.Export, new ByteWriter(8).u32(1).name('f').u8(ExternKind.Func).u32(2));
  const c = new ByteWriter(128);
  for (let i = 0; i < t.params.length; i++) {
    const p = t.params[i]!;
    if (!isRefType(p)) emitStoreLocal(c, p, i, pl.slot[i]!);
  }
  for (const i of pl.refs) c.localGet(i);
  c.call(0).call(1); // token = f(refs…); take(token)
  const firstLocal = t.params.length;
  for (let k = refResults.length - 1; k >= 0; k--) c.localSet(firstLocal + k);
  let k = 0;
  for (let i = 0; i < t.results.length; i++) {
    const r = t.results[i]!;
    if (isRefType(r)) c.localGet(firstLocal + k++);
    else emitLoad(c, r, rl.slot[i]!);
  }
  const code = new ByteWriter(256).u32(1);
  body(code, refResults, c);
  w.section(SectionId.Code, code);
  nameSection(w, HELPER_ADAPTER_NAME);
  return w.finish();
}

// ---- global accessors ----

function buildAccessor(t: ValType, mutable: boolean): Uint8Array {
  const w = new ByteWriter(128).preamble();
  const types = new ByteWriter(16).u32(1);
  encodeFuncType(types, { params: [], results: [] });
  w.section(SectionId.Type, types);
  const imp = new ByteWriter(32).u32(2);
  importMemory(imp);
  imp
    .name('g')
    .name('g')
    .u8(ExternKind.Global)
    .u8(t)
    .u8(mutable ? 1 : 0);
  w.section(SectionId.Import, imp);
  const n = mutable ? 2 : 1;
  const fs = new ByteWriter(4).u32(n);
  for (let i = 0; i < n; i++) fs.u32(0);
  w.section(SectionId.Function, fs);
  const ex = new ByteWriter(16).u32(n).name('get').u8(ExternKind.Func).u32(0);
  if (mutable) ex.name('set').u8(ExternKind.Func).u32(1);
  w.section(SectionId.Export, ex);
  const code = new ByteWriter(64).u32(n);
  const get = new ByteWriter(32).globalGet(0).localSet(0);
  emitStoreLocal(get, t, 0, 0);
  body(code, [t], get);
  if (mutable) {
    const set = new ByteWriter(32);
    emitLoad(set, t, 0);
    set.globalSet(0);
    body(code, [], set);
  }
  w.section(SectionId.Code, code);
  nameSection(w, HELPER_GLOBAL_NAME);
  return w.finish();
}
