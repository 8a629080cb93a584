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
import type { Context } from '../runtime/api/context.js';
import { Trap } from '../runtime/api/errors.js';
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
  slotLayout,
  type EntryFn,
  type GlobalAccessor,
  type SlotLayout,
} from './boundary.js';
import { mapInstrumentedOffset } from './instrument.js';
import { hiddenGlobal, hiddenTable, rewriteModule, type Rewritten } from './rewrite.js';
import { STACK_TRACE_LIMIT, toWasmError, type FrameSource } from './traps.js';

const I32 = 0x7f;
const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;
const FUNCREF = 0x70;
const EXTERNREF = 0x6f;
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
    if (funcIndex === this.rw.nullTrapFunc) return Trap.InvalidTableAccess;
    return undefined;
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
    // With precise traps, null entries were caught before the call: this is a mismatch.
    if (this.rw.nullTrapFunc >= 0) return Trap.IndirectCallTypeMismatch;
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

function callWasm(f: GuestFunction, stack: BigUint64Array, ctx: Context): void {
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
  currentCtx = ctx;
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
    throw toWasmError(e, sourceOf);
  } finally {
    currentCtx = prevCtx;
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
  const cached = new BigUint64Array(size);
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
      fn(currentCtx!, caller, st);
      for (let i = 0; i < rl.total; i++) scratch64[i] = st[i]!;
      if (rl.refs.length === 0) return undefined;
      if (rl.refs.length === 1) return rawToRef(t.results[rl.refs[0]!]!, st[rl.slot[rl.refs[0]!]!]!);
      return rl.refs.map((i) => rawToRef(t.results[i]!, st[rl.slot[i]!]!));
    } finally {
      depth--;
    }
  };
  const js = pl.refs.length === 0 ? (): unknown => run(undefined) : (...refs: unknown[]): unknown => run(refs);
  return adapterFor(t, js);
}

// ---- instances ----

class GuestInstance implements EngineInstance {
  constructor(
    readonly functions: readonly GuestFunction[],
    readonly tables: readonly CTable[],
    readonly memories: readonly CMemory[],
    readonly globals: readonly CGlobal[],
  ) {}

  call(funcIndex: number, stack: BigUint64Array, ctx: Context): void {
    const f = this.functions[funcIndex];
    if (f === undefined) throw new RangeError(`function index ${funcIndex} out of range`);
    callWasm(f, stack, ctx);
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
    try {
      f.spec.fn(ctx, this.owner.api, stack);
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
    if (options.listeners !== undefined && options.listeners.some((l) => l !== undefined)) {
      throw new Error('not supported: function listeners on the compiler engine');
    }
    const id = nextModuleId++;
    const rw = rewriteModule(module, id, { preciseTraps: this.options.preciseTraps !== false });
    let wasm: WebAssembly.Module;
    try {
      wasm = await WebAssembly.compile(rw.bytes);
    } catch (e) {
      throw new Error(`internal error: V8 rejected the rewritten module: ${(e as Error).message}`, { cause: e });
    }
    const code = new CompiledModuleImpl(module, wasm, id, rw.memoryImported, rw);
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
      if (mt.limits.min > limit) throw new Error(`memory[${m.numImportedMemories}] min ${mt.limits.min} pages over limit of ${limit} pages`);
      const max = Math.max(mt.limits.min, Math.min(mt.limits.max ?? limit, limit));
      const mem = new WebAssembly.Memory({ initial: mt.limits.min, maximum: max, shared: mt.limits.shared });
      const def = moduleMemoryDefinitions(m, limit)[m.numImportedMemories]!;
      memories.push(new CMemory(mem, mt.limits.max, mt.limits.shared, new MemoryApi(mem, def, max)));
      importObject['m'] = { m: mem };
    }
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
    for (let i = m.numImportedTables; i < m.tableSpace.length; i++) {
      const t = m.tableSpace[i]!;
      tables.push(new CTable(ex[hiddenTable(i)] as WebAssembly.Table, t.elemType, t.limits.max));
    }
    for (let i = m.numImportedGlobals; i < m.globalSpace.length; i++) {
      globals.push(new CGlobal(ex[hiddenGlobal(i)] as WebAssembly.Global, m.globalSpace[i]!));
    }
    const inst = new GuestInstance(functions, tables, memories, globals);
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
