/**
 * The compiler engine's extern values: functions, tables, memories and globals are V8's own objects
 * (`WebAssembly.Table/Memory/Global`, wasm function objects) shared by every instance that imports
 * them, behind the store's small Engine* interfaces.
 */
import type { FunctionDefinition } from '../runtime/api/module.js';
import { F32, F64, I32, I64, V128 } from '../runtime/api/value-type.js';
import type { FuncType, GlobalType } from '../runtime/binary/module.js';
import type { EngineFunction, EngineGlobal, EngineMemory, EngineTable, HostFunctionSpec, InstanceOwner } from '../runtime/store/engine.js';
import type { MemoryApi } from '../runtime/store/memory-api.js';
import { slotLayout, type EntryFn, type GlobalAccessor, type SlotLayout } from './boundary.js';
import type { EngineState } from './state.js';

const MASK64 = (1n << 64n) - 1n;

/** A function of a guest instance (defined, or imported from a guest or through a host adapter). */
export class GuestFunction implements EngineFunction {
  /** Its slot in the engine's call table once called from JS, or -1. */
  slot = -1;
  entry: EntryFn | undefined = undefined;
  #params: SlotLayout | undefined;
  #results: SlotLayout | undefined;

  constructor(
    readonly type: FuncType,
    readonly definition: FunctionDefinition,
    /** The callable wasm function, or undefined for a defined function V8 does not export. */
    readonly wasm: unknown,
    /** The host function, when this is an imported host function (called directly from the API). */
    readonly host: HostFunction | undefined = undefined,
  ) {}

  get params(): SlotLayout {
    return (this.#params ??= slotLayout(this.type.params));
  }

  get results(): SlotLayout {
    return (this.#results ??= slotLayout(this.type.results));
  }
}

/** A host function (from `instantiateHost`). */
export class HostFunction implements EngineFunction {
  constructor(
    readonly type: FuncType,
    readonly definition: FunctionDefinition,
    readonly spec: HostFunctionSpec,
    readonly owner: InstanceOwner,
  ) {}
}

export class CTable implements EngineTable {
  constructor(
    readonly wasm: WebAssembly.Table,
    readonly elemType: number,
    readonly max: number | undefined,
    readonly is64 = false,
  ) {}
  size(): number {
    // A 64-bit table's length is a bigint.
    return Number(this.wasm.length);
  }
  /** Entry `i` (a 64-bit table takes its index as a bigint). */
  get(i: number): unknown {
    return this.is64 ? (this.wasm as unknown as { get(i: bigint): unknown }).get(BigInt(i)) : this.wasm.get(i);
  }
  /** Sets entry `i` to `v`. */
  set(i: number, v: unknown): void {
    if (this.is64) (this.wasm as unknown as { set(i: bigint, v: unknown): void }).set(BigInt(i), v);
    else this.wasm.set(i, v);
  }
  /** Grows by `delta` null entries. */
  grow(delta: number): void {
    if (this.is64) (this.wasm as unknown as { grow(d: bigint, v: null): bigint }).grow(BigInt(delta), null);
    else this.wasm.grow(delta, null);
  }
}

export class CMemory implements EngineMemory {
  constructor(
    readonly wasm: WebAssembly.Memory,
    readonly max: number | undefined,
    readonly shared: boolean,
    readonly api: MemoryApi,
    readonly is64 = false,
  ) {}
  pages(): number {
    return this.wasm.buffer.byteLength / 65536;
  }
}

export class CGlobal implements EngineGlobal {
  #accessor: GlobalAccessor | undefined;

  constructor(
    readonly wasm: WebAssembly.Global,
    readonly type: GlobalType,
    readonly state: EngineState,
  ) {}

  #acc(): GlobalAccessor {
    return (this.#accessor ??= this.state.boundary.globalAccessor(this.wasm, this.type.valType, this.type.mutable));
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
        return this.state.boundary.u64[0]!;
      default:
        return this.state.refs.toRaw(this.type.valType, this.wasm.value);
    }
  }

  getV128(): [lo: bigint, hi: bigint] {
    this.#acc().get();
    const u64 = this.state.boundary.u64;
    return [u64[0]!, u64[1]!];
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
        const u64 = this.state.boundary.u64;
        u64[0] = v & MASK64;
        u64[1] = (v >> 64n) & MASK64;
        set();
        return;
      }
      default:
        this.wasm.value = this.state.refs.fromRaw(this.type.valType, v);
    }
  }
}
