/**
 * The interpreter's runtime objects: function instances, tables, memories, globals and module
 * instances. They double as the engine's extern values (EngineFunction, EngineTable, …), so
 * importing them into another instance of the same engine is sharing the same object.
 */
import type { FunctionListener, InternalFunction, StackIterator } from '../api/listener.js';
import type { FunctionDefinition, Memory } from '../api/module.js';
import { slotsOfTypes } from '../api/value-type.js';
import type { FuncType, GlobalType, Module as IrModule } from '../binary/module.js';
import type {
  EngineFunction,
  EngineGlobal,
  EngineMemory,
  EngineTable,
  InstanceOwner,
  RawAsyncHostFunction,
  RawHostFunction,
} from '../store/engine.js';
import type { BlockCoverage } from '../store/coverage.js';
import type { HandleTable } from '../store/handles.js';
import type { ListenedFrame } from '../store/hooks.js';
import type { MemoryApi } from '../store/memory-api.js';
import type { TagInst } from '../store/tags.js';
import type { Tag, WasmException } from '../api/tag.js';

/** A lowered function body (see lower.ts). */
/**
 * A function's compiled form (jit.ts): runs from entry point `pc` until the run loop must take over
 * and returns that pc. `m` is the Machine (typed loosely here: objects.ts is below machine.ts).
 */
export type JitFn = (
  m: object,
  fn: FuncInst,
  depth: number,
  i32: Int32Array,
  f32: Float32Array,
  f64: Float64Array,
  fp: number,
  pc: number,
  dv: DataView,
  u8: Uint8Array,
  memLen: number,
  globals: GlobalInst[],
) => number;

export interface Lowered {
  readonly code: Int32Array;
  /** Original byte offset of the instruction at each code index (0 between instruction starts). */
  readonly offsets: Int32Array;
  /** Slots used by the frame: locals + operand stack (v128 takes two). */
  readonly maxSlots: number;
  /** Slots of the parameters (the frame's first slots). */
  readonly paramSlots: number;
  /** Slots holding declared locals, zeroed at entry: [paramSlots, localSlots). */
  readonly localSlots: number;
  /** Words copied to the frame at entry, starting at slot `localSlots` (loop constants). */
  readonly consts: Int32Array;
  /** Slots of reference-typed declared locals (set to null at entry). */
  readonly refLocals: Int32Array;
  /** Pool of shuffle lane arrays for SIMD. */
  readonly lanes: readonly Uint8Array[];
  /**
   * Exception handlers (exceptions.ts), innermost try first: per try, `start end kind n` then its
   * clauses. Empty for functions without `try`/`try_table`.
   */
  readonly handlers: Int32Array;
  /** Its compiled form (jit.ts), set by the run loop when it lowers the function; null: interpreted. */
  jit: JitFn | null;
}

const typeIds = new Map<string, number>();

/** A small integer identifying a function type structurally (equal params and results). */
export function typeIdOf(t: FuncType): number {
  const key = `${t.params.join(',')}:${t.results.join(',')}`;
  let id = typeIds.get(key);
  if (id === undefined) {
    id = typeIds.size + 1;
    typeIds.set(key, id);
  }
  return id;
}

export class FuncInst implements EngineFunction {
  readonly type: FuncType;
  readonly definition: FunctionDefinition;
  readonly typeId: number;
  /** The instance whose code this is (null for host functions). */
  readonly inst: Instance | null;
  /** Index among the defining module's codes (defined functions only). */
  readonly codeIndex: number;
  lowered: Lowered | null;
  readonly host: RawHostFunction | null;
  /** The implementation of an async host function (`host` then refuses synchronous calls). */
  hostAsync: RawAsyncHostFunction | undefined = undefined;
  /** Owner of a host function (the caller module passed to host functions is the *caller's* owner). */
  readonly hostOwner: InstanceOwner | null;
  /** Parameter / result slot counts. */
  readonly paramSlots: number;
  readonly resultSlots: number;
  /** The listener fixed at compile time (wasm) or host-module build time (host), if any. */
  listener: FunctionListener | undefined = undefined;
  /** The event-ring owner id recording this function's calls (`withFunctionEventSink`), or -1. */
  sinkId = -1;
  /** Its function index, for the event ring (set with {@link sinkId}). */
  sinkFi = 0;
  /** Reused params/results views of one buffer for the listener, and its words (see listen.ts). */
  lParams: BigUint64Array | null = null;
  lResults: BigUint64Array | null = null;
  lWords: Int32Array | null = null;
  lParamKinds: Uint8Array | null = null;
  lResultKinds: Uint8Array | null = null;
  lParamShape = -1;
  lResultShape = -1;
  /** This function as a stack iterator shows it (created on first use). */
  internal: InternalFunction | null = null;
  /** The frame its listener's calls open (created on first use; wasm functions only). */
  lFrame: ListenedFrame | null = null;
  /** The frame of a listened host function's last call (reused while the caller is the same). */
  hostFrame: ListenedFrame | null = null;
  /** The stack iterator of a listened host function's calls (created on first use). */
  hostIter: StackIterator | null = null;

  constructor(
    type: FuncType,
    definition: FunctionDefinition,
    inst: Instance | null,
    codeIndex: number,
    host: RawHostFunction | null,
    hostOwner: InstanceOwner | null,
  ) {
    this.type = type;
    this.definition = definition;
    this.typeId = typeIdOf(type);
    this.inst = inst;
    this.codeIndex = codeIndex;
    this.lowered = null;
    this.host = host;
    this.hostOwner = hostOwner;
    this.paramSlots = slotsOfTypes(type.params);
    this.resultSlots = slotsOfTypes(type.results);
  }
}

/**
 * A caught or thrown exception (an `exnref`): its tag and payload, slot by slot as on the value
 * stack (two words per slot, references beside them).
 */
export class ExnInst {
  /** The exception at the API, once it has been needed (exceptions.ts). */
  api: WasmException | undefined = undefined;

  constructor(
    readonly tag: Tag,
    readonly words: Int32Array,
    readonly refs: ReadonlyArray<Ref | undefined>,
  ) {}
}

/** A reference value: a function, a non-null externref handle, an exception, or null. */
export type Ref = FuncInst | bigint | ExnInst | null;

/** Upper bound on table sizes, so a huge `table.grow` fails instead of exhausting memory. */
export const MAX_TABLE_ELEMENTS = 10_000_000;

export class TableInst implements EngineTable {
  readonly elemType: number;
  readonly max: number | undefined;
  readonly is64: boolean;
  elems: Ref[];

  constructor(elemType: number, min: number, max: number | undefined, is64 = false) {
    this.elemType = elemType;
    this.max = max;
    this.is64 = is64;
    if (min > MAX_TABLE_ELEMENTS) throw new Error(`table size ${min} exceeds the limit of ${MAX_TABLE_ELEMENTS} elements`);
    this.elems = new Array<Ref>(min).fill(null);
  }

  size(): number {
    return this.elems.length;
  }

  /** Grows by `delta` filled with `init`; returns the old size or -1. */
  grow(delta: number, init: Ref): number {
    const old = this.elems.length;
    const n = old + delta;
    const cap = this.max === undefined ? MAX_TABLE_ELEMENTS : Math.min(this.max, MAX_TABLE_ELEMENTS);
    if (n > cap) return -1;
    for (let i = 0; i < delta; i++) this.elems.push(init);
    return old;
  }
}

export class MemInst implements EngineMemory {
  readonly api: MemoryApi;
  readonly max: number | undefined;
  readonly shared: boolean;
  readonly is64: boolean;

  constructor(api: MemoryApi, max: number | undefined, shared: boolean, is64 = false) {
    this.api = api;
    this.max = max;
    this.shared = shared;
    this.is64 = is64;
  }

  pages(): number {
    return this.api.pages();
  }

  /** The public memory. */
  get publicApi(): Memory {
    return this.api;
  }
}

export class GlobalInst implements EngineGlobal {
  readonly type: GlobalType;
  /** Raw bits: i32/f32 in [0]; i64/f64 in [0] (lo), [1] (hi); v128 in [0..3]. */
  readonly bits: Int32Array;
  ref: Ref;
  /** The engine's funcref handles (the raw form of a funcref at the API). */
  readonly handles: HandleTable;

  constructor(type: GlobalType, handles: HandleTable) {
    this.type = type;
    this.bits = new Int32Array(4);
    this.ref = null;
    this.handles = handles;
  }

  get(): bigint {
    const t = this.type.valType;
    if (t === 0x70) return this.ref === null ? 0n : this.handles.handleOf(this.ref);
    if (t === 0x6f) return this.ref === null ? 0n : (this.ref as bigint);
    if (t === 0x7f || t === 0x7d) return BigInt(this.bits[0]! >>> 0);
    return (BigInt(this.bits[1]! >>> 0) << 32n) | BigInt(this.bits[0]! >>> 0);
  }

  getV128(): [lo: bigint, hi: bigint] {
    const b = this.bits;
    return [(BigInt(b[1]! >>> 0) << 32n) | BigInt(b[0]! >>> 0), (BigInt(b[3]! >>> 0) << 32n) | BigInt(b[2]! >>> 0)];
  }

  set(v: bigint): void {
    const t = this.type.valType;
    if (t === 0x70) {
      this.ref = v === 0n ? null : ((this.handles.valueOf(v) as FuncInst | undefined) ?? null);
      return;
    }
    if (t === 0x6f) {
      this.ref = v === 0n ? null : v;
      return;
    }
    this.bits[0] = Number(BigInt.asIntN(32, v));
    this.bits[1] = t === 0x7f || t === 0x7d ? 0 : Number(BigInt.asIntN(32, v >> 32n));
  }

  /** Sets a v128 value from two 64-bit halves. */
  setV128(lo: bigint, hi: bigint): void {
    this.bits[0] = Number(BigInt.asIntN(32, lo));
    this.bits[1] = Number(BigInt.asIntN(32, lo >> 32n));
    this.bits[2] = Number(BigInt.asIntN(32, hi));
    this.bits[3] = Number(BigInt.asIntN(32, hi >> 32n));
  }
}

/** A module instance of this engine. Index spaces include imports. */
export class Instance {
  readonly module: IrModule | null;
  readonly owner: InstanceOwner;
  functions: FuncInst[] = [];
  tables: TableInst[] = [];
  memories: MemInst[] = [];
  globals: GlobalInst[] = [];
  /** The tag index space (exception handling). */
  tags: TagInst[] = [];
  /** Data segments (null once dropped). */
  datas: Array<Uint8Array | null> = [];
  /** Element segments as evaluated references (null once dropped). */
  elems: Array<Ref[] | null> = [];
  /** Memory 0 or null. */
  mem: MemInst | null = null;
  closed = false;
  /** DWARF source lines in traps (`CompileOptions.debugInfo`). */
  debugInfo = true;
  /** Interrupt checks at loop heads and function entries (`closeOnContextDone`). */
  interrupt = false;
  /** Per defined function: 1 when its entry is checked (store/interrupts.ts); null: every entry. */
  entryChecked: Uint8Array | null = null;
  /** Dirty-page tracking (`CompileOptions.dirtyPages`): stores are lowered with a DIRTY mark before them. */
  dirtyPages = false;
  /** Some function in the index space has a listener (lowering then looks for CALLL targets). */
  anyListened = false;
  /** Line coverage (`CompileOptions.coverage`): block starts and counters, shared by every instance. */
  coverage: BlockCoverage | null = null;
  /** `coverage.counts`, or null (read by COVER). */
  coverCounts: Float64Array | null = null;

  constructor(module: IrModule | null, owner: InstanceOwner) {
    this.module = module;
    this.owner = owner;
  }
}
