/**
 * The contract between the engine-agnostic store (registry, import resolution, naming, close,
 * start functions, the public API objects) and an engine (interpreter or compiler).
 *
 * The store decodes and validates; an engine prepares the validated module (`compile`) and creates
 * instances (`instantiate`, `instantiateHost`). Extern values (functions, tables, memories, globals)
 * are engine-native objects exchanged between instances of the same engine; the store only reads
 * the small interfaces below to check import types and to build the public API.
 */
import type { Context } from '../api/context.js';
import type { CoreFeatures } from '../api/features.js';
import type { FunctionDefinition, Memory, Module as ApiModule, MemoryDefinition } from '../api/module.js';
import type { DataMode, ElementMode, FuncType, GlobalType, Module as IrModule, ValType } from '../binary/module.js';
import type { MemoryApi } from './memory-api.js';
import type { Trap } from '../api/errors.js';
import type { FunctionListener } from '../api/listener.js';
import type { BlockCoverage } from './coverage.js';

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
}

/** A table the module defines. */
export interface PlannedTable {
  readonly elemType: ValType;
  readonly min: number;
  readonly max: number | undefined;
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
  /** `funcref` (0x70) or `externref` (0x6f). */
  readonly elemType: number;
  size(): number;
  readonly max: number | undefined;
}

export interface EngineMemory {
  /** Current size in pages. */
  pages(): number;
  readonly max: number | undefined;
  readonly shared: boolean;
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
  | { readonly kind: 3; readonly value: EngineGlobal };

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

/** An instantiated module inside an engine. Index spaces include imports. */
export interface EngineInstance {
  readonly functions: readonly EngineFunction[];
  readonly tables: readonly EngineTable[];
  readonly memories: readonly EngineMemory[];
  readonly globals: readonly EngineGlobal[];
  /**
   * Calls function `funcIndex` synchronously with raw params in `stack`; results are written to
   * `stack[0..m)`. Traps throw `WasmRuntimeError` with wasm stack frames; host errors propagate.
   */
  call(funcIndex: number, stack: BigUint64Array, ctx: Context): void;
  /**
   * {@link call} that may reach async host functions: the call suspends while one runs, so the
   * event loop keeps going. Results are in `stack[0..m)` when it resolves.
   */
  callAsync(funcIndex: number, stack: BigUint64Array, ctx: Context): Promise<void>;
  /** Releases engine resources (memory allocators, caches). */
  close(): void;
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
}

export type { MemoryDefinition };
