/**
 * The compiler engine: binary rewriting onto V8 (ARCHITECTURE.md §3).
 *
 * `compile` rewrites the module (rewrite.ts: renamed imports, hidden exports, a frame-URL id; bodies
 * untouched) and hands it to `WebAssembly.compile`, so guest code runs as V8's own Liftoff/TurboFan
 * code. Tables, memories and globals are real `WebAssembly.Table/Memory/Global` objects shared
 * across modules; an imported guest function is the exporting instance's own function, so
 * guest-to-guest calls stay wasm-to-wasm. The JS boundary goes through the helpers of boundary.ts,
 * which keep raw bits. Traps become `WasmRuntimeError` with wazero's texts (traps.ts).
 */
import { Context } from '../runtime/api/context.js';
import { EXIT_CODE_CONTEXT_CANCELED, EXIT_CODE_DEADLINE_EXCEEDED, ExitError, Trap, WasmRuntimeError } from '../runtime/api/errors.js';
import { CoreFeatureBulkMemoryOperations } from '../runtime/api/features.js';
import { functionListenerFunc, type FunctionListener, type InternalFunction, type StackIterator } from '../runtime/api/listener.js';
import type { FunctionDefinition, Module as ApiModule } from '../runtime/api/module.js';
import type { FuncType, GlobalType, Module as IrModule, ValType } from '../runtime/binary/module.js';
import { Reader } from '../runtime/binary/reader.js';
import { moduleFunctionDefinitions, moduleMemoryDefinitions } from '../runtime/store/definition.js';
import type {
  CompileOptions,
  CompiledCode,
  Engine,
  EngineFunction,
  EngineGlobal,
  EngineInstance,
  EngineMemory,
  EngineTable,
  ExternValue,
  HostFunctionSpec,
  InstanceOwner,
  InstantiateOptions,
} from '../runtime/store/engine.js';
import { MemoryApi } from '../runtime/store/memory-api.js';
import {
  adapterFor,
  allocSlot,
  entryFor,
  freeSlot,
  globalAccessor,
  isRef,
  scratch64,
  scratchMemory,
  slotLayout,
  type EntryFn,
  type GlobalAccessor,
  type SlotLayout,
} from './boundary.js';
import { mapInstrumentedOffset } from './instrument.js';
import { HIDDEN_LAST_INDEX, hiddenGlobal, hiddenTable, rewriteModule, type Rewritten } from './rewrite.js';
import { STACK_TRACE_LIMIT, noteHostFrame, parseGuestFrames, toWasmError, type FrameSource } from './traps.js';
import { EXTERNREF, F32, F64, FUNCREF, I32, I64, V128 } from '../runtime/api/value-type.js';
import { getInterruptFlag, withInterruptFlag } from '../runtime/store/context-keys.js';

const MASK64 = (1n << 64n) - 1n;

// ---- references across the boundary ----

const funcHandles = new Map<unknown, bigint>();
const handleFuncs = new Map<bigint, unknown>();
const externObjects = new Map<bigint, unknown>();
const externHandles = new Map<unknown, bigint>();
let nextFuncHandle = 1n;
/** Handles for non-bigint externref values (set by JS code outside the store) count down from here. */
let nextExternHandle = MASK64;

/** The raw stack value of reference `v` of type `t`. */
function refToRaw(t: ValType, v: unknown): bigint {
  if (v === null) return 0n;
  if (t === EXTERNREF) {
    if (typeof v === 'bigint') return v;
    let h = externHandles.get(v);
    if (h === undefined) {
      h = nextExternHandle--;
      externHandles.set(v, h);
      externObjects.set(h, v);
    }
    return h;
  }
  let h = funcHandles.get(v);
  if (h === undefined) {
    h = nextFuncHandle++;
    funcHandles.set(v, h);
    handleFuncs.set(h, v);
  }
  return h;
}

/** The JS value V8 takes for raw reference `raw` of type `t`. */
function rawToRef(t: ValType, raw: bigint): unknown {
  if (raw === 0n) return null;
  if (t === EXTERNREF) return externObjects.get(raw) ?? raw;
  const f = handleFuncs.get(raw);
  if (f === undefined) throw new Error(`unknown funcref handle ${raw}`);
  return f;
}

// ---- compiled modules ----

let nextModuleId = 1;
/** Compiled modules by frame-URL id, for stack traces. */
const codeById = new Map<number, WeakRef<CompiledModuleImpl>>();
const codeRegistry = new FinalizationRegistry<number>((id) => codeById.delete(id));

class CompiledModuleImpl implements CompiledCode, FrameSource {
  #defs: readonly FunctionDefinition[] | undefined;
  readonly numImportedFuncs: number;
  /** DWARF source lines in traces (`CompileOptions.debugInfo`). */
  debugInfo = true;
  /** Listener per function index, when any function is listened. */
  listeners: ReadonlyArray<FunctionListener | undefined> | undefined;
  /** The most recent instance, to inspect tables when a trap needs it. */
  lastInstance: WeakRef<GuestInstance> | undefined;

  constructor(
    readonly module: IrModule,
    readonly wasm: WebAssembly.Module,
    readonly id: number,
    readonly memoryImported: boolean,
    readonly rw: Rewritten,
  ) {
    this.numImportedFuncs = module.numImportedFuncs;
  }

  trapOfFunction(funcIndex: number): Trap | undefined {
    if (funcIndex === this.rw.nanTrapFunc) return Trap.InvalidConversionToInteger;
    return undefined;
  }

  #internal: InternalFunction[] = [];

  /** The stack-iterator view of function `funcIndex` (pcs are original absolute offsets). */
  internalFunction(funcIndex: number): InternalFunction {
    return (this.#internal[funcIndex] ??= new SimpleInternalFunction(this.defs[funcIndex]!, this.module.codeSectionStart));
  }

  /** Definitions of the function index space, built on first use (compile latency). */
  get defs(): readonly FunctionDefinition[] {
    return (this.#defs ??= moduleFunctionDefinitions(this.module));
  }

  originalOffset(funcIndex: number, offset: number): number {
    const i = funcIndex - this.numImportedFuncs;
    const b = this.rw.instrumented[i];
    if (b !== undefined) return mapInstrumentedOffset(b, offset - this.rw.newCodeStart[i]!);
    const d = this.rw.bodyDelta[i];
    return d === undefined ? offset : offset - d;
  }

  /**
   * V8 says "null function or function signature mismatch" for both; wazero tells them apart. The
   * element index is gone by now, so the table decides: without null entries it must be a
   * mismatch; with nulls, the (more common) call of a null entry is assumed.
   */
  refineIndirect(funcIndex: number, offset: number): Trap {
    const m = this.module;
    const op = m.bytes[offset];
    if (op !== 0x11 && op !== 0x13) return Trap.InvalidTableAccess;
    let typeIndex: number;
    let tableIndex: number;
    try {
      const r = new Reader(m.bytes, offset + 1);
      typeIndex = r.u32();
      tableIndex = r.u32();
    } catch {
      return Trap.InvalidTableAccess;
    }
    const inst = this.lastInstance?.deref();
    const table = inst?.tables[tableIndex];
    const expected = m.types[typeIndex];
    if (table === undefined || expected === undefined) return Trap.InvalidTableAccess;
    // With precise traps the element index was saved just before the call.
    const last = inst?.lastIndex;
    if (last !== undefined) return table.wasm.get(last.value as number) === null ? Trap.InvalidTableAccess : Trap.IndirectCallTypeMismatch;
    void funcIndex;
    const n = Math.min(table.size(), 1 << 20);
    for (let i = 0; i < n; i++) if (table.wasm.get(i) === null) return Trap.InvalidTableAccess;
    return Trap.IndirectCallTypeMismatch;
  }
}

function sourceOf(id: number): FrameSource | undefined {
  return codeById.get(id)?.deref();
}

// ---- extern values ----

/** A function of a guest instance (defined, or imported from a guest or through a host adapter). */
class GuestFunction implements EngineFunction {
  slot = -1;
  entry: EntryFn | undefined;
  #params: SlotLayout | undefined;
  #results: SlotLayout | undefined;

  constructor(
    readonly type: FuncType,
    readonly definition: FunctionDefinition,
    /** The callable wasm function, or undefined for a defined function V8 does not export. */
    readonly wasm: unknown,
  ) {}

  get params(): SlotLayout {
    return (this.#params ??= slotLayout(this.type.params));
  }

  get results(): SlotLayout {
    return (this.#results ??= slotLayout(this.type.results));
  }
}

/** A host function (from `instantiateHost`). */
class HostFunction implements EngineFunction {
  constructor(
    readonly type: FuncType,
    readonly definition: FunctionDefinition,
    readonly spec: HostFunctionSpec,
    readonly owner: InstanceOwner,
  ) {}
}

class CTable implements EngineTable {
  constructor(
    readonly wasm: WebAssembly.Table,
    readonly elemType: number,
    readonly max: number | undefined,
  ) {}
  size(): number {
    return this.wasm.length;
  }
}

class CMemory implements EngineMemory {
  constructor(
    readonly wasm: WebAssembly.Memory,
    readonly max: number | undefined,
    readonly shared: boolean,
    readonly api: MemoryApi,
  ) {}
  pages(): number {
    return this.wasm.buffer.byteLength / 65536;
  }
}

class CGlobal implements EngineGlobal {
  #accessor: GlobalAccessor | undefined;

  constructor(
    readonly wasm: WebAssembly.Global,
    readonly type: GlobalType,
  ) {}

  #acc(): GlobalAccessor {
    return (this.#accessor ??= globalAccessor(this.wasm, this.type.valType, this.type.mutable));
  }

  get(): bigint {
    switch (this.type.valType) {
      case I32:
        return BigInt((this.wasm.value as number) >>> 0);
      case I64:
        return BigInt.asUintN(64, this.wasm.value as bigint);
      case F32:
      case F64:
      case V128:
        this.#acc().get();
        return scratch64[0]!;
      default:
        return refToRaw(this.type.valType, this.wasm.value);
    }
  }

  getV128(): [lo: bigint, hi: bigint] {
    this.#acc().get();
    return [scratch64[0]!, scratch64[1]!];
  }

  set(v: bigint): void {
    switch (this.type.valType) {
      case I32:
        this.wasm.value = Number(BigInt.asIntN(32, v));
        return;
      case I64:
        this.wasm.value = BigInt.asIntN(64, v);
        return;
      case F32:
      case F64:
      case V128: {
        const set = this.#acc().set;
        if (set === undefined) throw new Error('global is immutable');
        scratch64[0] = v & MASK64;
        scratch64[1] = (v >> 64n) & MASK64;
        set();
        return;
      }
      default:
        this.wasm.value = rawToRef(this.type.valType, v);
    }
  }
}

// ---- calls ----

/** The context of the innermost call in progress (host functions receive it). */
let currentCtx: Context | undefined;
let callDepth = 0;

/** The module whose function the outermost call in progress called (closed by timeouts). */
let currentCallModule: ApiModule | undefined;

function callWasm(f: GuestFunction, stack: BigUint64Array, ctx: Context, mod: ApiModule): void {
  if (f.wasm === undefined) {
    throw new Error(`not supported: calling function ${f.definition.index()} (not exported) on the compiler engine`);
  }
  if (f.slot < 0) {
    f.entry = entryFor(f.type);
    f.slot = allocSlot(f.wasm);
  }
  const pl = f.params;
  const rl = f.results;
  const n = pl.total;
  for (let i = 0; i < n; i++) scratch64[i] = stack[i]!;
  const prevCtx = currentCtx;
  const prevMod = currentCallModule;
  currentCtx = ctx;
  currentCallModule = mod;
  const depth = shadowSp;
  const outer = callDepth++ === 0;
  const prevLimit = Error.stackTraceLimit;
  if (outer && prevLimit < STACK_TRACE_LIMIT) Error.stackTraceLimit = STACK_TRACE_LIMIT;
  let r: unknown;
  try {
    if (pl.refs.length === 0) {
      r = f.entry!(f.slot);
    } else {
      const args: unknown[] = [f.slot];
      for (const i of pl.refs) args.push(rawToRef(f.type.params[i]!, stack[pl.slot[i]!]!));
      r = f.entry!(...args);
    }
  } catch (e) {
    const err = toWasmError(e, sourceOf);
    if (shadowSp > depth) abortFrames(depth, err);
    throw err;
  } finally {
    currentCtx = prevCtx;
    currentCallModule = prevMod;
    callDepth--;
    if (outer) Error.stackTraceLimit = prevLimit;
  }
  const m = rl.total;
  for (let i = 0; i < m; i++) stack[i] = scratch64[i]!;
  const refs = rl.refs;
  if (refs.length === 1) {
    const i = refs[0]!;
    stack[rl.slot[i]!] = refToRaw(f.type.results[i]!, r);
  } else if (refs.length > 1) {
    const arr = r as unknown[];
    for (let k = 0; k < refs.length; k++) {
      const i = refs[k]!;
      stack[rl.slot[i]!] = refToRaw(f.type.results[i]!, arr[k]);
    }
  }
}

/**
 * The wasm function a guest imports for host function `h`: an adapter of `h`'s exact signature
 * calling a closure that runs `h` with `caller` as the calling module.
 */
function hostAdapter(h: HostFunction, caller: ApiModule): unknown {
  const t = h.type;
  const pl = slotLayout(t.params);
  const rl = slotLayout(t.results);
  const size = Math.max(pl.total, rl.total, 1);
  const fn = h.spec.fn;
  const listener = h.spec.listener;
  const def = h.definition;
  const frame: OpenFrame | undefined = listener === undefined ? undefined : { listener, def, mod: caller };
  const it = new CompilerStackIterator(new SimpleInternalFunction(def, -1), 0, 0);
  const cached = new BigUint64Array(size);
  const cachedParams = cached.subarray(0, pl.total);
  const cachedResults = cached.subarray(0, rl.total);
  let depth = 0;
  const run = (refArgs: readonly unknown[] | undefined): unknown => {
    // A nested call of the same host function (through a re-entrant guest call) gets its own stack.
    const st = depth === 0 ? cached : new BigUint64Array(size);
    depth++;
    try {
      for (let i = 0; i < pl.total; i++) st[i] = scratch64[i]!;
      if (refArgs !== undefined) {
        for (let k = 0; k < pl.refs.length; k++) {
          const i = pl.refs[k]!;
          st[pl.slot[i]!] = refToRaw(t.params[i]!, refArgs[k]);
        }
      }
      if (listener === undefined) {
        fn(currentCtx!, caller, st);
      } else {
        // Left open on the shadow stack if fn throws: the JS boundary aborts it.
        shadow[shadowSp++] = frame!;
        listener.before(currentCtx!, caller, def, st === cached ? cachedParams : st.subarray(0, pl.total), it.reset());
        fn(currentCtx!, caller, st);
        shadowSp--;
        listener.after(currentCtx!, caller, def, st === cached ? cachedResults : st.subarray(0, rl.total));
      }
      for (let i = 0; i < rl.total; i++) scratch64[i] = st[i]!;
      if (rl.refs.length === 0) return undefined;
      if (rl.refs.length === 1) return rawToRef(t.results[rl.refs[0]!]!, st[rl.slot[rl.refs[0]!]!]!);
      return rl.refs.map((i) => rawToRef(t.results[i]!, st[rl.slot[i]!]!));
    } catch (e) {
      noteHostFrame(e, def);
      throw e;
    } finally {
      depth--;
    }
  };
  const js = pl.refs.length === 0 ? (): unknown => run(undefined) : (...refs: unknown[]): unknown => run(refs);
  return adapterFor(t, js);
}

// ---- listeners ----
//
// Listened bodies call hooks through the appended hook table (rewrite.ts): before(fi, params…) at
// entry, after(fi, results…) at every exit, tail(fi) before a tail call. The hooks are import
// adapters (boundary.ts) that put their arguments in scratch slots, so the listener gets
// BigUint64Array views over scratch (no copy, no BigInt until read) and the function index comes
// as a plain number. Open listened frames live on a JS shadow stack; the JS boundary (callWasm,
// instantiation) aborts every frame still open above its own depth when an error passes.
// Caller frames for stack iterators come from V8's own stack, captured only when an iterator is
// walked past its first frame: unlistened callers show too, at their pending call's offset.
//
// Semantics (shared with the interpreter, test/engines/listeners.test.ts):
// - `mod`: a wasm function's defining module instance; a host function's calling module (the host
//   module itself when called from the API).
// - A `return_call*` in a listened function replaces its frame: `after` fires at the tail call with
//   an empty results array, then the callee gets its own before/after (constant stack kept).
// - Params/results views are valid during the callback only, and only until the listener calls
//   back into wasm (they are views over the engine's scratch memory).
// - Listeners made by `functionListenerFunc` (no after/abort) instrument the entry only.

const scratch32 = new Uint32Array(scratchMemory.buffer);
const EMPTY = new BigUint64Array(0);

/** An open listened frame: what `abort` needs. */
interface OpenFrame {
  readonly listener: FunctionListener;
  readonly def: FunctionDefinition;
  /** The `mod` argument: the defining module (wasm) or the caller (host functions). */
  readonly mod: ApiModule;
}

const shadow: OpenFrame[] = [];
let shadowSp = 0;

/** Aborts every listened frame opened above `depth`, innermost first, with the final error. */
function abortFrames(depth: number, err: unknown): void {
  const ctx = currentCtx ?? BACKGROUND;
  while (shadowSp > depth) {
    const f = shadow[--shadowSp]!;
    try {
      f.listener.abort(ctx, f.mod, f.def, err);
    } catch {
      // A failing abort must not hide the error nor skip the other frames.
    }
  }
}

class SimpleInternalFunction implements InternalFunction {
  constructor(
    readonly def: FunctionDefinition,
    /** Offset of the code section contents in the original binary; -1 for host functions. */
    readonly base: number,
  ) {}
  definition(): FunctionDefinition {
    return this.def;
  }
  sourceOffsetForPC(pc: number): number {
    return this.base < 0 ? 0 : pc - this.base;
  }
}

/**
 * The iterator handed to `before`. Its first frame is the called function; the callers are parsed
 * from a V8 stack capture on the first `next()` past it (so an unused iterator costs nothing).
 * Program counters are original absolute offsets (host functions: 0).
 */
class CompilerStackIterator implements StackIterator {
  readonly #top: InternalFunction;
  readonly #topPc: number;
  /** Guest frames to skip at the top of the capture (the listened function's own frame). */
  readonly #skip: number;
  #fns: InternalFunction[] = [];
  #pcs: number[] = [];
  #n = 0;
  #i = -1;
  #captured = false;

  constructor(top: InternalFunction, pc: number, skip: number) {
    this.#top = top;
    this.#topPc = pc;
    this.#skip = skip;
  }

  /** Rewinds for a new `before` (each listened function has its own iterator: no allocation per call). */
  reset(): this {
    this.#i = -1;
    this.#captured = false;
    this.#n = 0;
    return this;
  }

  next(): boolean {
    if (this.#i === -1) {
      this.#i = 0;
      return true;
    }
    if (!this.#captured) this.#capture();
    if (this.#i >= this.#n) return false;
    this.#i++;
    return true;
  }

  function(): InternalFunction {
    if (this.#i <= 0) return this.#top;
    return this.#fns[this.#i - 1]!;
  }

  programCounter(): number {
    if (this.#i <= 0) return this.#topPc;
    return this.#pcs[this.#i - 1]!;
  }

  #capture(): void {
    this.#captured = true;
    const holder: { stack?: string } = {};
    const prev = Error.stackTraceLimit;
    Error.stackTraceLimit = Infinity;
    try {
      Error.captureStackTrace(holder);
    } finally {
      Error.stackTraceLimit = prev;
    }
    let skip = this.#skip;
    let n = 0;
    parseGuestFrames(holder.stack ?? '', sourceOf, (src, funcIndex, offset) => {
      if (skip > 0) {
        skip--;
        return;
      }
      this.#fns[n] = (src as CompiledModuleImpl).internalFunction(funcIndex);
      this.#pcs[n] = offset;
      n++;
    });
    this.#n = n;
  }
}

const BACKGROUND = Context.background();

/** A listened function of an instance: what its hooks need. */
interface Listened extends OpenFrame {
  readonly it: CompilerStackIterator;
  /** False for before-only listeners: no exit hooks, no shadow-stack entry. */
  readonly exits: boolean;
  readonly params: BigUint64Array;
  readonly results: BigUint64Array;
  readonly paramTypes: readonly ValType[];
  readonly resultTypes: readonly ValType[];
}

/** Writes the raw handles of reference values (passed to an adapter as JS values) into scratch. */
function refsToScratch(types: readonly ValType[], refs: readonly unknown[]): void {
  const l = slotLayout([I32, ...types]);
  for (let k = 0; k < l.refs.length; k++) {
    const i = l.refs[k]!;
    scratch64[l.slot[i]!] = refToRaw(types[i - 1]!, refs[k]);
  }
}

/**
 * WebAssembly 1.0 instantiation checks every active segment's bounds before writing anything; V8
 * (2.0 semantics) writes segments in order and stops at the first that does not fit. Without the
 * bulk-memory feature the check runs here first, with the interpreter's errors. Defined tables and
 * memories have their minimum size at this point; imported ones their current size.
 */
function checkSegmentsV1(m: IrModule, tables: readonly CTable[], memories: readonly CMemory[], globals: readonly CGlobal[]): void {
  const offsetOf = (e: IrModule['datas'][number]['offsetExpr']): number => {
    const i = e?.instrs[0];
    if (i === undefined) return 0;
    if (i.op === 'i32.const') return i.value >>> 0;
    if (i.op === 'global.get') return Number(globals[i.globalIndex]!.get() & 0xffffffffn);
    throw new Error(`not supported: segment offset ${i.op}`);
  };
  for (const seg of m.elements) {
    if (seg.mode !== 'active') continue;
    const t = seg.tableIndex;
    const size = t < m.numImportedTables ? tables[t]!.size() : m.tableSpace[t]!.limits.min;
    if (offsetOf(seg.offsetExpr) + seg.init.length > size) throw new WasmRuntimeError(Trap.InvalidTableAccess);
  }
  for (const d of m.datas) {
    if (d.mode !== 'active') continue;
    const i = d.memoryIndex;
    const pages = i < m.numImportedMemories ? memories[i]!.pages() : (m.memorySpace[i]?.limits.min ?? 0);
    if (offsetOf(d.offsetExpr) + d.init.length > pages * 65536) throw new WasmRuntimeError(Trap.OutOfBoundsMemoryAccess);
  }
}

/** The filled hook table of a new instance (listener hooks, interrupt check). */
function hookTable(code: CompiledModuleImpl, api: ApiModule): WebAssembly.Table {
  const m = code.module;
  const table = new WebAssembly.Table({ element: 'anyfunc', initial: code.rw.hooks.length, maximum: code.rw.hooks.length });
  const lis: Array<Listened | undefined> = [];
  const listeners = code.listeners;
  if (listeners !== undefined) {
    for (let fi = m.numImportedFuncs; fi < listeners.length; fi++) {
      const l = listeners[fi];
      if (l === undefined) continue;
      const t = m.types[m.funcTypeIndexSpace[fi]!]!;
      lis[fi] = {
        listener: l,
        def: code.defs[fi]!,
        mod: api,
        exits: !isBeforeOnly(l),
        it: new CompilerStackIterator(code.internalFunction(fi), m.codes[fi - m.numImportedFuncs]!.codeStart, 1),
        params: new BigUint64Array(scratchMemory.buffer, 8, slotLayout(t.params).total),
        results: new BigUint64Array(scratchMemory.buffer, 8, slotLayout(t.results).total),
        paramTypes: t.params,
        resultTypes: t.results,
      };
    }
  }
  const I32_ONLY: FuncType = { params: [I32], results: [] };
  code.rw.hooks.forEach((h, slot) => {
    let fn: unknown;
    switch (h.kind) {
      case 'before': {
        const hasRefs = slotLayout(h.type.params).refs.length > 0;
        const before = (): void => {
          const e = lis[scratch32[0]!]!;
          if (e.exits) shadow[shadowSp++] = e;
          e.listener.before(currentCtx!, api, e.def, e.params, e.it.reset());
        };
        fn = adapterFor(
          h.type,
          hasRefs
            ? (...refs: unknown[]): void => {
                refsToScratch(lis[scratch32[0]!]!.paramTypes, refs);
                before();
              }
            : before,
        );
        break;
      }
      case 'after': {
        const hasRefs = slotLayout(h.type.params).refs.length > 0;
        const after = (): void => {
          // The exiting frame is the top of the shadow stack (one fewer lookup than by index).
          const e = shadow[--shadowSp] as Listened;
          e.listener.after(currentCtx!, api, e.def, e.results);
        };
        fn = adapterFor(
          h.type,
          hasRefs
            ? (...refs: unknown[]): void => {
                refsToScratch(lis[scratch32[0]!]!.resultTypes, refs);
                after();
              }
            : after,
        );
        break;
      }
      case 'tail':
        fn = adapterFor(I32_ONLY, (): void => {
          const e = lis[scratch32[0]!]!;
          shadowSp--;
          e.listener.after(currentCtx!, api, e.def, EMPTY);
        });
        break;
      case 'check':
        fn = adapterFor(I32_ONLY, checkInterrupt);
        break;
    }
    table.set(slot, fn);
  });
  return table;
}

/**
 * The interrupt check (every `INTERRUPT_INTERVAL` loop iterations of a module compiled with
 * `closeOnContextDone`): when the current call's context is done, closes the called module and
 * throws its ExitError. The context's signal cannot fire during a synchronous call (the event loop
 * is blocked), so the deadline is compared with the clock, and a SharedArrayBuffer flag set by
 * another thread is read (`interruptFlag`).
 */
function checkInterrupt(): void {
  const ctx = currentCtx;
  if (ctx === undefined) return;
  const flag = getInterruptFlag(ctx);
  const flagged = flag !== undefined && Atomics.load(flag, 0) !== 0;
  if (!flagged && (ctx.deadline === undefined || performance.now() < ctx.deadline) && ctx.signal?.aborted !== true) return;
  const code = !flagged && ctx.deadlineExceeded() ? EXIT_CODE_DEADLINE_EXCEEDED : EXIT_CODE_CONTEXT_CANCELED;
  const mod = currentCallModule;
  if (mod !== undefined) void mod.closeWithExitCode(code, ctx);
  throw new ExitError(code);
}

export { withInterruptFlag };

const NOOP_AFTER = functionListenerFunc(() => {}).after;

/**
 * Whether `l` only implements before (made by `functionListenerFunc`): its body then needs no exit
 * hooks and no shadow-stack entry, which halves the cost of a listened call.
 */
function isBeforeOnly(l: FunctionListener): boolean {
  return l.after === NOOP_AFTER && l.abort === NOOP_AFTER;
}

// ---- instances ----

class GuestInstance implements EngineInstance {
  constructor(
    readonly functions: readonly GuestFunction[],
    readonly tables: readonly CTable[],
    readonly memories: readonly CMemory[],
    readonly globals: readonly CGlobal[],
    readonly api: ApiModule,
    /** The precise-traps global holding the last call_indirect element index, if any. */
    readonly lastIndex: WebAssembly.Global | undefined,
  ) {}

  call(funcIndex: number, stack: BigUint64Array, ctx: Context): void {
    const f = this.functions[funcIndex];
    if (f === undefined) throw new RangeError(`function index ${funcIndex} out of range`);
    callWasm(f, stack, ctx, this.api);
  }

  close(): void {
    for (const f of this.functions) {
      if (f.slot >= 0) {
        freeSlot(f.slot);
        f.slot = -1;
      }
    }
  }
}

class HostInstance implements EngineInstance {
  readonly tables: readonly EngineTable[] = [];
  readonly memories: readonly EngineMemory[] = [];
  readonly globals: readonly EngineGlobal[] = [];

  constructor(
    readonly functions: readonly HostFunction[],
    readonly owner: InstanceOwner,
  ) {}

  call(funcIndex: number, stack: BigUint64Array, ctx: Context): void {
    const f = this.functions[funcIndex];
    if (f === undefined) throw new RangeError(`function index ${funcIndex} out of range`);
    const prev = currentCtx;
    currentCtx = ctx;
    const l = f.spec.listener;
    const mod = this.owner.api;
    const depth = shadowSp;
    try {
      if (l === undefined) {
        f.spec.fn(ctx, mod, stack);
      } else {
        shadow[shadowSp++] = { listener: l, def: f.definition, mod };
        const it = new CompilerStackIterator(new SimpleInternalFunction(f.definition, -1), 0, 0);
        l.before(ctx, mod, f.definition, stack.subarray(0, slotLayout(f.type.params).total), it);
        f.spec.fn(ctx, mod, stack);
        shadowSp--;
        l.after(ctx, mod, f.definition, stack.subarray(0, slotLayout(f.type.results).total));
      }
    } catch (e) {
      if (shadowSp > depth) abortFrames(depth, e);
      throw e;
    } finally {
      currentCtx = prev;
    }
  }

  close(): void {}
}

/** Options of {@link newCompilerEngine}. */
export interface CompilerEngineOptions {
  /**
   * Tell apart the traps V8 words alike (NaN vs. overflow in float→int conversions, null entry vs.
   * type mismatch in `call_indirect`) by instrumenting the bodies that contain them, so trap texts
   * are wazero's exactly (spec conformance). Costs a walk of every body at compile time and a check
   * per such instruction (measured by perf.ts). On by default; `false` leaves bodies untouched and
   * words those traps as the likelier case (overflow; null entry when the table has nulls).
   */
  readonly preciseTraps?: boolean;
}

class CompilerEngine implements Engine {
  readonly kind = 'compiler' as const;

  constructor(readonly options: CompilerEngineOptions) {}

  async compile(module: IrModule, options: CompileOptions): Promise<CompiledCode> {
    const listeners = options.listeners;
    const listened = listeners?.map((l) => (l === undefined ? 0 : isBeforeOnly(l) ? 2 : 1));
    const id = nextModuleId++;
    let rw: Rewritten;
    try {
      rw = rewriteModule(module, id, {
        preciseTraps: this.options.preciseTraps !== false,
        listened,
        interrupts: options.closeOnContextDone === true,
      });
    } catch (e) {
      // The rewrite walks bodies assuming they are valid: an invalid module is a CompileError.
      options.validate?.();
      throw e;
    }
    // V8 compiles on background threads while our validator runs here (compile latency).
    const compiling = WebAssembly.compile(rw.bytes);
    compiling.catch(() => {});
    options.validate?.();
    let wasm: WebAssembly.Module;
    try {
      wasm = await compiling;
    } catch (e) {
      throw new Error(`internal error: V8 rejected the rewritten module: ${(e as Error).message}`, { cause: e });
    }
    const code = new CompiledModuleImpl(module, wasm, id, rw.memoryImported, rw);
    code.listeners = listeners;
    code.debugInfo = options.debugInfo;
    codeById.set(id, new WeakRef(code));
    codeRegistry.register(code, id);
    return code;
  }

  instantiate(code: CompiledCode, imports: readonly ExternValue[], owner: InstanceOwner, options: InstantiateOptions): EngineInstance {
    if (!(code instanceof CompiledModuleImpl)) throw new Error('internal error: code from another engine');
    const m = code.module;
    const importArr: unknown[] = [];
    const functions: GuestFunction[] = [];
    const tables: CTable[] = [];
    const memories: CMemory[] = [];
    const globals: CGlobal[] = [];
    for (let k = 0; k < m.imports.length; k++) {
      const imp = m.imports[k]!;
      const ev = imports[k];
      if (ev === undefined || ev.kind !== imp.desc.kind) throw new Error(`internal error: import ${k} missing or of the wrong kind`);
      switch (ev.kind) {
        case 0: {
          const src = ev.value;
          const def = code.defs[functions.length]!;
          let wasm: unknown;
          if (src instanceof GuestFunction) {
            if (src.wasm === undefined) throw new Error('not supported: importing a non-exported function');
            wasm = src.wasm;
          } else if (src instanceof HostFunction) {
            wasm = hostAdapter(src, owner.api);
          } else {
            throw new Error('internal error: function from another engine');
          }
          importArr.push(wasm);
          functions.push(new GuestFunction(imp.desc.kind === 0 ? m.types[imp.desc.typeIndex]! : src.type, def, wasm));
          break;
        }
        case 1:
          if (!(ev.value instanceof CTable)) throw new Error('internal error: table from another engine');
          importArr.push(ev.value.wasm);
          tables.push(ev.value);
          break;
        case 2:
          if (!(ev.value instanceof CMemory)) throw new Error('internal error: memory from another engine');
          importArr.push(ev.value.wasm);
          memories.push(ev.value);
          break;
        case 3:
          if (!(ev.value instanceof CGlobal)) throw new Error('internal error: global from another engine');
          importArr.push(ev.value.wasm);
          globals.push(ev.value);
          break;
      }
    }
    const importObject: Record<string, Record<string, unknown>> = { i: importArr as unknown as Record<string, unknown> };
    if (code.memoryImported) {
      const mt = m.memories[0]!;
      const limit = options.memoryLimitPages;
      // The interpreter's wording: both engines reject alike.
      if (mt.limits.min > limit)
        throw new Error(`memory[${m.numImportedMemories}] min ${mt.limits.min} pages over limit of ${limit} pages`);
      const max = Math.max(mt.limits.min, Math.min(mt.limits.max ?? limit, limit));
      const mem = new WebAssembly.Memory({ initial: mt.limits.min, maximum: max, shared: mt.limits.shared });
      const def = moduleMemoryDefinitions(m, limit)[m.numImportedMemories]!;
      memories.push(new CMemory(mem, mt.limits.max, mt.limits.shared, new MemoryApi(mem, def, max)));
      importObject['m'] = { m: mem };
    }
    let definedTables: CTable[] | undefined;
    if (code.rw.tablesImported) {
      definedTables = [];
      const t: Record<string, unknown> = { hooks: hookTable(code, owner.api) };
      for (let i = m.numImportedTables; i < m.tableSpace.length; i++) {
        const tt = m.tableSpace[i]!;
        const desc: WebAssembly.TableDescriptor = { element: tt.elemType === FUNCREF ? 'anyfunc' : 'externref', initial: tt.limits.min };
        if (tt.limits.max !== undefined) desc.maximum = tt.limits.max;
        // Entries start as null (an externref table's default would be `undefined`).
        const table = new WebAssembly.Table(desc, null);
        definedTables.push(new CTable(table, tt.elemType, tt.limits.max));
        t[String(i)] = table;
      }
      importObject['t'] = t;
    }
    if ((options.features & CoreFeatureBulkMemoryOperations) === 0) checkSegmentsV1(m, tables, memories, globals);
    let instance: WebAssembly.Instance;
    const prevCtx = currentCtx;
    currentCtx = options.ctx;
    const prevLimit = Error.stackTraceLimit;
    if (callDepth === 0 && prevLimit < STACK_TRACE_LIMIT) Error.stackTraceLimit = STACK_TRACE_LIMIT;
    callDepth++;
    try {
      instance = new WebAssembly.Instance(code.wasm, importObject as WebAssembly.Imports);
    } catch (e) {
      if (e instanceof WebAssembly.LinkError) {
        throw new Error(`internal error: V8 rejected the imports the store checked: ${e.message}`, { cause: e });
      }
      throw toWasmError(e, sourceOf);
    } finally {
      currentCtx = prevCtx;
      callDepth--;
      Error.stackTraceLimit = prevLimit;
    }
    const ex = instance.exports;
    // Defined functions: the callable object is the export, when exported.
    const exported = new Map<number, unknown>();
    for (const e of m.exports) if (e.kind === 0 && !exported.has(e.index)) exported.set(e.index, ex[e.name]);
    for (let i = m.numImportedFuncs; i < m.funcTypeIndexSpace.length; i++) {
      const def = code.defs[i]!;
      functions.push(new GuestFunction(m.types[m.funcTypeIndexSpace[i]!]!, def, exported.get(i)));
    }
    if (definedTables !== undefined) {
      tables.push(...definedTables);
    } else {
      for (let i = m.numImportedTables; i < m.tableSpace.length; i++) {
        const t = m.tableSpace[i]!;
        tables.push(new CTable(ex[hiddenTable(i)] as WebAssembly.Table, t.elemType, t.limits.max));
      }
    }
    for (let i = m.numImportedGlobals; i < m.globalSpace.length; i++) {
      globals.push(new CGlobal(ex[hiddenGlobal(i)] as WebAssembly.Global, m.globalSpace[i]!));
    }
    const inst = new GuestInstance(
      functions,
      tables,
      memories,
      globals,
      owner.api,
      ex[HIDDEN_LAST_INDEX] as WebAssembly.Global | undefined,
    );
    code.lastInstance = new WeakRef(inst);
    return inst;
  }

  instantiateHost(functions: readonly HostFunctionSpec[], owner: InstanceOwner): EngineInstance {
    for (const f of functions) {
      for (const t of [...f.type.params, ...f.type.results]) {
        if (!isRef(t) && t !== I32 && t !== I64 && t !== F32 && t !== F64 && t !== V128) {
          throw new Error(`not supported: value type 0x${t.toString(16)}`);
        }
      }
    }
    return new HostInstance(
      functions.map((f) => new HostFunction(f.type, f.definition, f, owner)),
      owner,
    );
  }
}

/** The compiler engine (binary rewriting onto V8). */
export function newCompilerEngine(options: CompilerEngineOptions = {}): Engine {
  return new CompilerEngine(options);
}
