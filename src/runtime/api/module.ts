/**
 * The public interfaces of instantiated modules and their parts (wazero's `api` package).
 */
import type { Context } from './context.js';
import type { ValueType } from './value-type.js';

/** A function's signature and names, whether defined in wasm, imported or on the host. */
export interface FunctionDefinition {
  /** The name-section name of the compiled module that defines it (not the instance name). */
  moduleName(): string;
  /** Index in the function index space (imports first). */
  index(): number;
  /** `[module, name]` when this is an import. */
  import(): [module: string, name: string] | undefined;
  /** Export names, in export order. */
  exportNames(): string[];
  /** The name-section name, or the host function's name. */
  name(): string;
  /** `module.name`, or `module.$index` when unnamed. */
  debugName(): string;
  /** The JS function of a host function (wazero's `GoFunction()`), otherwise undefined. */
  hostFunction(): unknown | undefined;
  /** Parameter types, in order. */
  paramTypes(): ValueType[];
  /** Parameter names, empty unless every parameter is named. */
  paramNames(): string[];
  /** Result types, in order. */
  resultTypes(): ValueType[];
  /** Result names, empty unless every result is named. */
  resultNames(): string[];
}

/** Limits of a memory, imported or defined. */
export interface MemoryDefinition {
  /** The name-section name of the compiled module that defines it. */
  moduleName(): string;
  /** Index in the memory index space (imports first). */
  index(): number;
  /** `[module, name]` when this is an import. */
  import(): [module: string, name: string] | undefined;
  /** Export names, in export order. */
  exportNames(): string[];
  /** Minimum size in pages. */
  min(): number;
  /** `[max, encoded]`: the maximum in pages, and whether the binary declared it. */
  max(): [max: number, encoded: boolean];
}

/** A custom section kept by the compiler (`withCustomSections(true)`). */
export interface CustomSection {
  /** The section name (e.g. `name`, `.debug_info`). */
  name(): string;
  /** The section contents, after its name. */
  data(): Uint8Array;
}

/** A function exported by a module, callable from the host. */
export interface Function {
  /** The function's signature and names. */
  definition(): FunctionDefinition;
  /**
   * Calls the function synchronously. A `bigint` parameter is a raw uint64 (see `encodeI32` …);
   * a `number` is a natural value encoded by the parameter's type. Returns raw results.
   * @throws WasmRuntimeError on a trap; ExitError when the module was closed.
   */
  call(...params: Array<bigint | number>): bigint[];
  /** {@link call} with a context (listeners, snapshotter, deadlines). */
  callWithContext(ctx: Context, ...params: Array<bigint | number>): bigint[];
  /**
   * The allocation-free call: params in `stack[0..n)`, results written to `stack[0..m)`.
   * `stack.length` must be at least max(param slots, result slots); v128 takes two slots.
   */
  callWithStack(stack: BigUint64Array, ctx?: Context): void;
  /**
   * Calls the function so that it may reach async host functions (`withAsyncFunc`): the call
   * suspends while one runs and the event loop keeps going. Resolves with the raw results.
   * The interpreter suspends on every Node version; the compiler engine needs JS Promise
   * Integration (Node ≥ 24) to reach async host functions.
   * The returned {@link PendingCall} can be checkpointed while it waits at an async host function
   * (interpreter only; continue it with `resumeCall`).
   * @throws (rejects) WasmRuntimeError on a trap; ExitError when the module was closed;
   *   CallSuspendedError when a host function stopped the call with `suspend(ctx)`.
   */
  callAsync(...params: Array<bigint | number>): PendingCall;
  /** {@link callAsync} with a context (listeners, deadlines, snapshots, time slicing). */
  callWithContextAsync(ctx: Context, ...params: Array<bigint | number>): PendingCall;
  /** {@link callWithStack} that may reach async host functions (see {@link callAsync}). */
  callWithStackAsync(stack: BigUint64Array, ctx?: Context): Promise<void>;
}

/**
 * A call in progress made with `callAsync`/`callWithContextAsync` (a Promise of its raw results),
 * that can be checkpointed while it waits at a host call and continued elsewhere with
 * `resumeCall`.
 */
export interface PendingCall extends Promise<bigint[]> {
  /**
   * The call's whole state — its frames, value stack and program counters (machine state), plus the
   * called module's memories, globals, tables and dropped segments — as checkpoint bytes (the format
   * of wasmscope/snapshot), for `resumeCall`. Valid while the call waits at an async host function;
   * after the call stopped in `suspend(ctx)` or at {@link PendingCall.requestSuspend}, it returns
   * that stop's checkpoint.
   * @throws Error `not supported: …` on the compiler engine, for a call started inside a host function
   *   (guest→host→guest re-entry), or with references the checkpoint cannot hold (externrefs,
   *   functions of other modules, exceptions), listeners or coverage; a plain Error when the call is
   *   running (not waiting at a host call) or has finished. Nothing changes when it throws.
   */
  checkpoint(): Uint8Array;
  /**
   * Stops the call at its next async host call, before that host function runs (a host call it is
   * waiting at now completes first): the call then rejects with a `CallSuspendedError` holding the
   * checkpoint, and `resumeCall` on it runs that host function. Used by `wasmscope run
   * --checkpoint-after-ms`.
   * If the state there cannot be checkpointed (an externref on the stack, say), the call rejects
   * with that refusal.
   * @throws Error `not supported: …` on the compiler engine, for a call started inside a host
   *   function of another call, or of a module with listeners or coverage.
   */
  requestSuspend(): void;
}

/** A linear memory. Offsets are bytes; every access is bounds-checked. */
export interface Memory {
  /** The memory's limits and names. */
  definition(): MemoryDefinition;
  /** Size in bytes. */
  size(): number;
  /** Grows by `deltaPages`; returns the previous size in pages, or undefined when it cannot grow. */
  grow(deltaPages: number): number | undefined;
  /** A write-through view of `byteCount` bytes (not a copy); stale after a reallocating grow. */
  read(offset: number, byteCount: number): Uint8Array | undefined;
  /** The byte at `offset`, or undefined when out of bounds. */
  readByte(offset: number): number | undefined;
  /** The little-endian uint16 at `offset`, or undefined when out of bounds. */
  readUint16Le(offset: number): number | undefined;
  /** The little-endian uint32 at `offset`, or undefined when out of bounds. */
  readUint32Le(offset: number): number | undefined;
  /** The little-endian float32 at `offset`, or undefined when out of bounds. */
  readFloat32Le(offset: number): number | undefined;
  /** The little-endian float64 at `offset`, or undefined when out of bounds. */
  readFloat64Le(offset: number): number | undefined;
  /** The little-endian uint64 at `offset`, or undefined when out of bounds. */
  readUint64Le(offset: number): bigint | undefined;
  /** Copies `bytes` to `offset`; false (nothing written) when out of bounds. */
  write(offset: number, bytes: Uint8Array): boolean;
  /** Writes `s` as UTF-8 at `offset`; false (nothing written) when out of bounds. */
  writeString(offset: number, s: string): boolean;
  /** Writes byte `v` at `offset`; false when out of bounds. */
  writeByte(offset: number, v: number): boolean;
  /** Writes `v` as a little-endian uint16 at `offset`; false when out of bounds. */
  writeUint16Le(offset: number, v: number): boolean;
  /** Writes `v` as a little-endian uint32 at `offset`; false when out of bounds. */
  writeUint32Le(offset: number, v: number): boolean;
  /** Writes `v` as a little-endian float32 at `offset`; false when out of bounds. */
  writeFloat32Le(offset: number, v: number): boolean;
  /** Writes `v` as a little-endian float64 at `offset`; false when out of bounds. */
  writeFloat64Le(offset: number, v: number): boolean;
  /** Writes `v` as a little-endian uint64 at `offset`; false when out of bounds. */
  writeUint64Le(offset: number, v: bigint): boolean;
}

/** A global variable; values are raw uint64 (v128: low 64 bits, see `getV128`). */
export interface Global {
  /** The global's value type. */
  type(): ValueType;
  /** The raw value (see `decodeI32`, `decodeF64`, …). */
  get(): bigint;
}

/** A mutable global. */
export interface MutableGlobal extends Global {
  /** Sets the raw value (see `encodeI32`, `encodeF64`, …). */
  set(v: bigint): void;
}

/** An instantiated module. */
export interface Module {
  /** The instance name (the `ModuleConfig` name, else the name-section name; `''` is anonymous). */
  name(): string;
  /** The module's memory (defined or imported), exported or not. */
  memory(): Memory | undefined;
  /** The exported function `name`, or undefined when there is none. */
  exportedFunction(name: string): Function | undefined;
  /** The definitions of every exported function, by export name. */
  exportedFunctionDefinitions(): Map<string, FunctionDefinition>;
  /** The exported memory `name`, or undefined when there is none. */
  exportedMemory(name: string): Memory | undefined;
  /** The definitions of every exported memory, by export name. */
  exportedMemoryDefinitions(): Map<string, MemoryDefinition>;
  /** The exported global `name` (a `MutableGlobal` when mutable), or undefined when there is none. */
  exportedGlobal(name: string): Global | undefined;
  /** Closes the module with exit code 0 (its calls then fail with `ExitError`; its name is free again). */
  close(ctx?: Context): Promise<void>;
  /** Closes the module with `exitCode`, as WASI `proc_exit` does. */
  closeWithExitCode(exitCode: number, ctx?: Context): Promise<void>;
  /** Whether the module has been closed. */
  isClosed(): boolean;
}

/** Every module is an InternalModule: it also gives access to all its globals by index. */
export interface InternalModule extends Module {
  /** Number of globals, imports included. */
  numGlobal(): number;
  /** Global `i` (read-only view). @throws RangeError when out of range. */
  global(i: number): Global;
}
