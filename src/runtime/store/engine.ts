/**
 * The contract between the engine-agnostic store (registry, import resolution, naming, close,
 * start functions, the public API objects) and an engine (interpreter or compiler).
 *
 * The store decodes and validates; an engine prepares the validated module (`compile`) and creates
 * instances (`instantiate`, `instantiateHost`). Extern values (functions, tables, memories, globals)
 * are engine-native objects exchanged between instances of the same engine; the store only reads
 * the small interfaces below to check import types and to build the public API.
 */
import type { CallHandle, CallState } from './suspend.js';
import type { Context } from '../api/context.js';
import type { CoreFeatures } from '../api/features.js';
import type { FunctionDefinition, Memory, Module as ApiModule, MemoryDefinition } from '../api/module.js';
import type { DataMode, ElementMode, FuncType, GlobalType, Module as IrModule, ValType } from '../binary/module.js';
import type { MemoryApi } from './memory-api.js';
import type { Trap } from '../api/errors.js';
import type { FunctionEventSink } from '../api/event-sink.js';
import type { FunctionListener } from '../api/listener.js';
import type { BlockCoverage } from './coverage.js';
import type { TagInst } from './tags.js';

/** Options fixed at compile time. */
export interface CompileOptions {
  readonly features: CoreFeatures;
  /** DWARF line info in stack traces. */
  readonly debugInfo: boolean;
  /**
   * Listener per function index (index space, imports first; imported slots are always undefined:
   * the defining module's listener fires instead), or undefined when no function is listened.
   */
  readonly listeners: ReadonlyArray<FunctionListener | undefined> | undefined;
  /**
   * `withFunctionEventSink`: the sink and, per function index (imports first, always false), whether
   * it records the function's calls (api/event-sink.ts, store/event-ring.ts). Undefined: none.
   */
  readonly eventSink?: { readonly sink: FunctionEventSink; readonly recorded: readonly boolean[] } | undefined;
  /**
   * `withCloseOnContextDone(true)`: calls must stop when their context is done (an engine may
   * prepare interrupt checks at compile time; without it, code must run untouched).
   */
  readonly closeOnContextDone?: boolean;
  /**
   * Line coverage (`withBlockCoverage`): the engine counts the entries of every block of
   * `coverage.starts` into `coverage.counts` (store/coverage.ts). Undefined: code runs untouched.
   */
  readonly coverage?: BlockCoverage | undefined;
  /**
   * Compiled with `withSnapshotter(ctx)` on the compile context: calls may take snapshots (an engine
   * that needs to prepare code for them does it here; without it, code must run untouched).
   */
  readonly snapshots?: boolean;
  /**
   * Validates the module (throws its CompileError). The store defers validation to the engine so
   * that it can overlap it with its own work: the engine must call it before using unvalidated
   * input (the interpreter: first), or while a background compile runs (the compiler). The store
   * calls it again (a no-op once run) if the engine did not, and first when the engine fails.
   */
  readonly validate?: () => void;
  /**
   * `withDirtyPageTracking` (wasmscope/snapshot): every write to memory 0 marks its 64 KiB page in
   * the memory's `DirtyPages` (store/dirty-pages.ts). Off (undefined), code must run untouched.
   */
  readonly dirtyPages?: boolean;
}

// ---- the instantiation plan (made by store/instantiate.ts) ----

/** The value of a constant expression. */
export type PlannedValue =
  /** Raw bits: `lo` the low 64 bits (all of a non-v128 value), `hi` the high 64 bits of a v128. */
  | { readonly kind: 'bits'; readonly lo: bigint; readonly hi: bigint }
  | { readonly kind: 'null' }
  /** `ref.func`: the function at this index of the new instance's function index space. */
  | { readonly kind: 'func'; readonly index: number }
  /** `global.get` of an imported reference global: the engine copies the reference it holds. */
  | { readonly kind: 'global'; readonly global: EngineGlobal };

/** A memory the module defines, created by the store with the runtime's page limit. */
export interface PlannedMemory {
  readonly api: MemoryApi;
  /** The encoded maximum, if any (the limit applies through `api.maxPages`). */
  readonly max: number | undefined;
  readonly shared: boolean;
  /** A 64-bit memory (memory64). */
  readonly is64: boolean;
  /** Releases memory a user's allocator holds (`withMemoryAllocator`), when the module closes. */
  readonly free?: () => void;
}

/** A table the module defines. */
export interface PlannedTable {
  readonly elemType: ValType;
  readonly min: number;
  readonly max: number | undefined;
  /** A 64-bit table (memory64). */
  readonly is64: boolean;
}

export interface PlannedElement {
  readonly mode: ElementMode;
  readonly tableIndex: number;
  /** Evaluated offset (active segments; 0 otherwise). */
  readonly offset: number;
  readonly items: readonly PlannedValue[];
}

export interface PlannedData {
  readonly mode: DataMode;
  readonly memoryIndex: number;
  /** Evaluated offset (active segments; 0 otherwise). */
  readonly offset: number;
  readonly init: Uint8Array;
}

export interface InstantiationPlan {
  /** Defined memories, in index order after the imported ones. */
  readonly memories: readonly PlannedMemory[];
  /** The tag index space, imports first (exception handling): defined tags are made by the plan. */
  readonly tags: readonly TagInst[];
  /** Defined tables, in index order after the imported ones. */
  readonly tables: readonly PlannedTable[];
  /** Initial values of the defined globals. */
  readonly globals: readonly PlannedValue[];
  readonly elements: readonly PlannedElement[];
  readonly datas: readonly PlannedData[];
  /**
   * The first active segment (elements first, then data, each in order) that does not fit: the
   * engine writes the active segments before it, then throws `trap` (2.0 semantics).
   */
  readonly failure: { readonly kind: 'element' | 'data'; readonly index: number; readonly trap: Trap } | undefined;
}

/** Options of one instantiation. */
export interface InstantiateOptions {
  /**
   * What the store decided (store/instantiate.ts): the defined memories (already created), tables,
   * global initial values, evaluated segments and the first segment that does not fit. Engines
   * build their objects from it and never re-check limits or bounds. Undefined when an engine is
   * driven directly (engine tests): the engine then plans with `planInstantiation` itself.
   */
  readonly plan?: InstantiationPlan;
  readonly features: CoreFeatures;
  /** Memory limit in pages (`withMemoryLimitPages`). */
  readonly memoryLimitPages: number;
  /** Reserve capacity up to the maximum (`withMemoryCapacityFromMax`). */
  readonly memoryCapacityFromMax: boolean;
  readonly ctx: Context;
  /**
   * `RuntimeConfig.withCloseOnContextDone`: a call whose context is done (deadline or signal)
   * closes the module and ends with `ExitError`. Off (undefined) costs nothing.
   */
  readonly closeOnContextDone?: boolean;
}

/** A function of some instance: wasm-defined, imported from elsewhere, or a host function. */
export interface EngineFunction {
  readonly type: FuncType;
  readonly definition: FunctionDefinition;
}

export interface EngineTable {
  /** `funcref` (0x70), `externref` (0x6f) or `exnref` (0x69). */
  readonly elemType: number;
  size(): number;
  readonly max: number | undefined;
  /** A 64-bit table (memory64). */
  readonly is64?: boolean;
}

export interface EngineMemory {
  /** Current size in pages. */
  pages(): number;
  readonly max: number | undefined;
  readonly shared: boolean;
  /** A 64-bit memory (memory64). */
  readonly is64?: boolean;
  /** The public view of this memory (bounds-checked accessors). */
  readonly api: Memory;
}

export interface EngineGlobal {
  readonly type: GlobalType;
  /** Raw value (v128: low 64 bits). */
  get(): bigint;
  /** Raw value (v128: both halves). */
  getV128?(): [lo: bigint, hi: bigint];
  /** Sets a raw value; the caller checks mutability. */
  set(v: bigint): void;
}

export type ExternValue =
  | { readonly kind: 0; readonly value: EngineFunction }
  | { readonly kind: 1; readonly value: EngineTable }
  | { readonly kind: 2; readonly value: EngineMemory }
  | { readonly kind: 3; readonly value: EngineGlobal }
  /** A tag: the same engine-neutral object in both engines (tags.ts). */
  | { readonly kind: 4; readonly value: TagInst };

/**
 * A host function as the engine sees it: raw params in `stack[0..n)`, results written to
 * `stack[0..m)` (`stack.length >= max(n, m)`; v128 takes two slots).
 */
export type RawHostFunction = (ctx: Context, caller: ApiModule, stack: BigUint64Array) => void;

/** An async host function on the raw stack: results are in `stack[0..m)` when it resolves. */
export type RawAsyncHostFunction = (ctx: Context, caller: ApiModule, stack: BigUint64Array) => Promise<void>;

export interface HostFunctionSpec {
  readonly type: FuncType;
  readonly definition: FunctionDefinition;
  /** The function; for an async host function, one that refuses synchronous calls with a clear error. */
  readonly fn: RawHostFunction;
  /** The implementation of an async host function (reachable from `callAsync` calls only). */
  readonly asyncFn?: RawAsyncHostFunction | undefined;
  /** Set when the host module was compiled with a listener factory that listens this function. */
  readonly listener?: FunctionListener | undefined;
}

/** What the engine needs to know about the module that owns an instance. */
export interface InstanceOwner {
  /** The public module object (passed to host functions as the caller). */
  readonly api: ApiModule;
}

// ---- module state (wasmscope/snapshot: checkpoints and pre-initialisation) ----

/**
 * A reference in module state: null, a function of the instance's function index space (imports
 * first), or any other reference as its raw handle (an externref's value, or a function of another
 * module).
 */
export type StateRef =
  { readonly kind: 'null' } | { readonly kind: 'func'; readonly index: number } | { readonly kind: 'raw'; readonly raw: bigint };

/** The value of a global in module state: raw bits (`hi`: the high half of a v128) or a reference. */
export type StateValue = { readonly kind: 'bits'; readonly lo: bigint; readonly hi: bigint } | StateRef;

/** {@link TableElements.funcs} of a null element. */
export const NULL_ELEMENT = -1;
/** {@link TableElements.funcs} of an element outside the function index space (see `raw`). */
export const RAW_ELEMENT = -2;

/** The elements of a table, one entry per element. */
export interface TableElements {
  /** A function index of the instance's index space, {@link NULL_ELEMENT} or {@link RAW_ELEMENT}. */
  readonly funcs: Int32Array;
  /** The raw handle of every {@link RAW_ELEMENT}, by element index. */
  readonly raw: ReadonlyMap<number, bigint>;
}

/**
 * What a wasm instance holds beyond its memories (`EngineMemory.api`) and numeric global values
 * (`EngineGlobal.get`), read and written by wasmscope/snapshot. Engines only read and write: the
 * format, the checks (made before anything is written) and deltas are the snapshot layer's.
 */
export interface EngineModuleState {
  /** The decoded module the instance was made from. */
  readonly module: IrModule;
  /** The value of global `i` (index space, imports first). */
  global(i: number): StateValue;
  /**
   * Sets global `i`. Mutable globals only on the compiler engine (V8 cannot set an immutable one);
   * the caller never sets an immutable global to another value.
   */
  setGlobal(i: number, v: StateValue): void;
  /** The elements of table `t` (index space). */
  readTable(t: number): TableElements;
  /**
   * Writes `elems` to table `t` from element 0, growing it first when it is smaller (the caller
   * checked the maximum); elements past `elems` keep their values.
   */
  writeTable(t: number, elems: TableElements): void;
  /** Whether data segment (`'data'`) or element segment (`'elem'`) `i` has been dropped. */
  isDropped(kind: 'data' | 'elem', i: number): boolean;
  /** Drops data or element segment `i` (as `data.drop`/`elem.drop`). */
  drop(kind: 'data' | 'elem', i: number): void;
}

/**
 * A function found in a table (`lookupFunction`): its type and definition, and a direct call of it
 * (listeners compiled into a wasm function still fire; a host function is called as from the API).
 */
export interface TableFunction {
  readonly type: FuncType;
  readonly definition: FunctionDefinition;
  /** Calls it with raw params in `stack`; results are written to `stack[0..m)`. */
  call(stack: BigUint64Array, ctx: Context): void;
}

/** An instantiated module inside an engine. Index spaces include imports. */
export interface EngineInstance {
  readonly functions: readonly EngineFunction[];
  readonly tables: readonly EngineTable[];
  readonly memories: readonly EngineMemory[];
  readonly globals: readonly EngineGlobal[];
  /** The tag index space (exception handling); absent when the module has no tags. */
  readonly tags?: readonly TagInst[];
  /**
   * Calls function `funcIndex` synchronously with raw params in `stack`; results are written to
   * `stack[0..m)`. Traps throw `WasmRuntimeError` with wasm stack frames; host errors propagate.
   */
  call(funcIndex: number, stack: BigUint64Array, ctx: Context): void;
  /**
   * {@link call} that may reach async host functions: the call suspends while one runs, so the
   * event loop keeps going. Results are in `stack[0..m)` when it resolves.
   */
  callAsync(funcIndex: number, stack: BigUint64Array, ctx: Context, handle?: CallHandle): Promise<void>;
  /**
   * Continues an async call captured by a mid-call checkpoint (`state`, already checked against
   * this instance by {@link prepareResume}): re-runs the host call it waited at, or gives it
   * `results`. Results are in `stack[0..m)` when it resolves. Absent on engines without mid-call
   * checkpoints (the compiler).
   */
  resumeAsync?(
    state: CallState,
    results: readonly bigint[] | undefined,
    stack: BigUint64Array,
    ctx: Context,
    handle: CallHandle,
  ): Promise<void>;
  /**
   * Checks that `state` fits this instance (functions, code layout, host functions) before anything
   * is written; returns the entry function's result slots. Throws a refusal naming what differs.
   */
  prepareResume?(state: CallState): { readonly resultSlots: number; readonly hostResultSlots: number };
  /**
   * The function at `offset` of funcref table `tableIndex`: null for a null entry, undefined when
   * `offset` is out of the table's bounds. The store checks the table index and element type.
   */
  tableFunction(tableIndex: number, offset: number): TableFunction | null | undefined;
  /** Releases engine resources (memory allocators, caches). */
  close(): void;
  /** The module state (wasm instances; undefined for host modules). */
  readonly moduleState?: EngineModuleState;
}

/** A prepared module, owned by the engine. */
export interface CompiledCode {
  readonly module: IrModule;
}

export interface Engine {
  readonly kind: 'interpreter' | 'compiler';
  compile(module: IrModule, options: CompileOptions): Promise<CompiledCode>;
  /**
   * Instantiates from `options.plan`: globals, tables, memories, element and data segments (up to
   * the plan's failure, then its trap), then the start section. `imports` has one extern value per
   * import, in import order, already type-checked by the store.
   * @throws WasmRuntimeError for the plan's failing segment or a trap in the start function.
   */
  instantiate(code: CompiledCode, imports: readonly ExternValue[], owner: InstanceOwner, options: InstantiateOptions): EngineInstance;
  /** Creates an instance whose functions are host functions (a host module). */
  instantiateHost(functions: readonly HostFunctionSpec[], owner: InstanceOwner): EngineInstance;
  /**
   * What of `code` a compilation cache keeps (store/cache.ts): bytes from which
   * {@link codeFromArtifact} makes equivalent code in any engine of this kind, in this or another
   * process; undefined when it cannot be kept.
   */
  artifactOf(code: CompiledCode): Uint8Array | undefined;
  /**
   * Code from {@link artifactOf}'s bytes, compiled with the same options but for this engine
   * (listeners of `options` attached), for the module `decode` gives — known valid; the engine may
   * call it while other work runs (V8 compiling in the background). Undefined when the bytes are not
   * an artifact of this engine kind (a corrupt entry): the store then compiles afresh.
   */
  codeFromArtifact(decode: () => IrModule, artifact: Uint8Array, options: CompileOptions): Promise<CompiledCode | undefined>;
}

export type { MemoryDefinition };
