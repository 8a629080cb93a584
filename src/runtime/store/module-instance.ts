/**
 * The public Module and Function objects over an engine instance. Engine-agnostic.
 */
import { Context } from '../api/context.js';
import { ExitError } from '../api/errors.js';
import { encodeF32, encodeF64 } from '../api/encoding.js';
import type {
  Function as ApiFunction,
  FunctionDefinition,
  Global,
  InternalModule,
  Memory,
  MemoryDefinition,
  MutableGlobal,
} from '../api/module.js';
import { slotsOfTypes, type ValueType } from '../api/value-type.js';
import type { SysContext } from '../../sys/context.js';
import type { CloseNotifier } from './context-keys.js';
import type { EngineGlobal, EngineInstance, ExternValue } from './engine.js';

/** What a module instance needs from its runtime. */
export interface ModuleOwner {
  /** Forget a closed module (unregister its name). */
  moduleClosed(m: ModuleInstance): void;
}

export interface ExportEntry {
  readonly kind: 0 | 1 | 2 | 3;
  readonly index: number;
}

export class ModuleInstance implements InternalModule {
  readonly #name: string;
  readonly #owner: ModuleOwner;
  /** Set right after the engine instantiated the module. */
  engine!: EngineInstance;
  readonly exportsByName: ReadonlyMap<string, ExportEntry>;
  readonly isHost: boolean;
  closeNotifier: CloseNotifier | undefined;
  /** Called when the module closes (e.g. closes the CompiledModule made by `Runtime.instantiate`). */
  onClose: (() => void) | undefined;
  /** Releases what the module holds outside its engine (memories of a user's allocator), after close. */
  onRelease: (() => void) | undefined;
  /** The WASI system view (args, env, stdio, clocks, files) of a wasm module; host modules have none. */
  sys: SysContext | undefined;
  #exitCode: number | undefined;

  constructor(name: string, owner: ModuleOwner, exportsByName: ReadonlyMap<string, ExportEntry>, isHost: boolean) {
    this.#name = name;
    this.#owner = owner;
    this.exportsByName = exportsByName;
    this.isHost = isHost;
  }

  name(): string {
    return this.#name;
  }

  toString(): string {
    return `Module[${this.#name}]`;
  }

  memory(): Memory | undefined {
    return this.engine.memories[0]?.api;
  }

  exportedFunction(name: string): ApiFunction | undefined {
    const e = this.exportsByName.get(name);
    if (e === undefined || e.kind !== 0) return undefined;
    return new FunctionImpl(this, e.index);
  }

  /** A callable for any function index (internal: used by tools and the start section logic). */
  functionByIndex(index: number): ApiFunction {
    return new FunctionImpl(this, index);
  }

  exportedFunctionDefinitions(): Map<string, FunctionDefinition> {
    const out = new Map<string, FunctionDefinition>();
    for (const [name, e] of this.exportsByName) {
      if (e.kind === 0) out.set(name, this.engine.functions[e.index]!.definition);
    }
    return out;
  }

  exportedMemory(name: string): Memory | undefined {
    const e = this.exportsByName.get(name);
    if (e === undefined || e.kind !== 2) return undefined;
    return this.engine.memories[e.index]?.api;
  }

  exportedMemoryDefinitions(): Map<string, MemoryDefinition> {
    const out = new Map<string, MemoryDefinition>();
    for (const [name, e] of this.exportsByName) {
      if (e.kind === 2) {
        const m = this.engine.memories[e.index];
        if (m !== undefined) out.set(name, m.api.definition());
      }
    }
    return out;
  }

  exportedGlobal(name: string): Global | undefined {
    const e = this.exportsByName.get(name);
    if (e === undefined || e.kind !== 3) return undefined;
    const g = this.engine.globals[e.index];
    return g === undefined ? undefined : globalView(g, g.type.mutable);
  }

  numGlobal(): number {
    return this.engine.globals.length;
  }

  global(i: number): Global {
    const g = this.engine.globals[i];
    if (g === undefined) throw new RangeError(`global index ${i} out of range [0, ${this.engine.globals.length})`);
    return globalView(g, false);
  }

  /** The extern value exported as `name`, for import resolution. */
  exportedExtern(name: string): ExternValue | undefined {
    const e = this.exportsByName.get(name);
    if (e === undefined) return undefined;
    switch (e.kind) {
      case 0:
        return { kind: 0, value: this.engine.functions[e.index]! };
      case 1:
        return { kind: 1, value: this.engine.tables[e.index]! };
      case 2:
        return { kind: 2, value: this.engine.memories[e.index]! };
      case 3:
        return { kind: 3, value: this.engine.globals[e.index]! };
    }
  }

  isClosed(): boolean {
    return this.#exitCode !== undefined;
  }

  /** The exit code once closed. */
  exitCode(): number | undefined {
    return this.#exitCode;
  }

  /** Throws `ExitError` when the module has been closed. */
  failIfClosed(): void {
    if (this.#exitCode !== undefined) throw new ExitError(this.#exitCode);
  }

  close(ctx?: Context): Promise<void> {
    return this.closeWithExitCode(0, ctx);
  }

  closeWithExitCode(exitCode: number, ctx?: Context): Promise<void> {
    this.closeNow(exitCode, ctx ?? Context.background());
    return Promise.resolve();
  }

  /** Synchronous close (host functions such as `proc_exit` close from inside a call). First call wins. */
  closeNow(exitCode: number, ctx: Context): boolean {
    if (this.#exitCode !== undefined) return false;
    this.#exitCode = exitCode >>> 0;
    try {
      this.closeNotifier?.closeNotify(ctx, this.#exitCode);
    } finally {
      this.#owner.moduleClosed(this);
      this.engine?.close();
      this.sys?.close();
      this.onRelease?.();
      this.onClose?.();
    }
    return true;
  }
}

function globalView(g: EngineGlobal, mutable: boolean): Global | MutableGlobal {
  const type = (): ValueType => g.type.valType as ValueType;
  if (!mutable) return { type, get: () => g.get(), toString: () => `global(${g.get()})` } as Global;
  return {
    type,
    get: () => g.get(),
    set: (v: bigint) => g.set(BigInt.asUintN(64, v)),
    toString: () => `global(${g.get()})`,
  } as MutableGlobal;
}

const BACKGROUND = Context.background();

/** Encodes a natural or raw param for a slot of type `t`. */
export function encodeParam(t: number, v: bigint | number): bigint {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  switch (t) {
    case 0x7f:
      return BigInt(v >>> 0);
    case 0x7e:
      return BigInt.asUintN(64, BigInt(Math.trunc(v)));
    case 0x7d:
      return encodeF32(v);
    case 0x7c:
      return encodeF64(v);
    default:
      return BigInt.asUintN(64, BigInt(Math.trunc(v)));
  }
}

/** Slot types of a signature (v128 expands to two i64 slots). */
function slotTypes(types: readonly number[]): number[] {
  const out: number[] = [];
  for (const t of types) {
    if (t === 0x7b) out.push(0x7e, 0x7e);
    else out.push(t);
  }
  return out;
}

class FunctionImpl implements ApiFunction {
  readonly #module: ModuleInstance;
  readonly #index: number;
  readonly #paramSlots: number;
  readonly #resultSlots: number;
  /** The slot type of each param slot (v128 takes two i64 slots). */
  readonly #slotTypes: number[];

  constructor(module: ModuleInstance, index: number) {
    this.#module = module;
    this.#index = index;
    const fn = module.engine.functions[index];
    if (fn === undefined) throw new RangeError(`function index ${index} out of range`);
    this.#paramSlots = slotsOfTypes(fn.type.params);
    this.#resultSlots = slotsOfTypes(fn.type.results);
    this.#slotTypes = slotTypes(fn.type.params);
  }

  definition(): FunctionDefinition {
    return this.#module.engine.functions[this.#index]!.definition;
  }

  // call and callWithContext each call the engine themselves: guest→host→guest re-entry nests
  // their frame once per level, so one frame less is deeper re-entry.
  call(...params: Array<bigint | number>): bigint[] {
    const stack = this.#encode(params);
    const m = this.#module;
    m.failIfClosed();
    m.engine.call(this.#index, stack, BACKGROUND);
    m.failIfClosed();
    return this.#results(stack);
  }

  callWithContext(ctx: Context, ...params: Array<bigint | number>): bigint[] {
    const stack = this.#encode(params);
    const m = this.#module;
    m.failIfClosed();
    m.engine.call(this.#index, stack, ctx);
    m.failIfClosed();
    return this.#results(stack);
  }

  callAsync(...params: Array<bigint | number>): Promise<bigint[]> {
    return this.callWithContextAsync(BACKGROUND, ...params);
  }

  async callWithContextAsync(ctx: Context, ...params: Array<bigint | number>): Promise<bigint[]> {
    const stack = this.#encode(params);
    await this.callWithStackAsync(stack, ctx);
    return this.#results(stack);
  }

  async callWithStackAsync(stack: BigUint64Array, ctx?: Context): Promise<void> {
    const need = Math.max(this.#paramSlots, this.#resultSlots);
    if (stack.length < need) throw new Error(`need ${need} params, but stack size is ${stack.length}`);
    const m = this.#module;
    m.failIfClosed();
    await m.engine.callAsync(this.#index, stack, ctx ?? BACKGROUND);
    m.failIfClosed();
  }

  /** A new raw stack holding `params`, encoded by parameter type. */
  #encode(params: ReadonlyArray<bigint | number>): BigUint64Array {
    if (params.length !== this.#paramSlots) {
      throw new Error(`expected ${this.#paramSlots} params, but passed ${params.length}`);
    }
    const stack = new BigUint64Array(Math.max(this.#paramSlots, this.#resultSlots));
    const types = this.#slotTypes;
    for (let i = 0; i < params.length; i++) stack[i] = encodeParam(types[i]!, params[i]!);
    return stack;
  }

  /** The results at the bottom of `stack`. */
  #results(stack: BigUint64Array): bigint[] {
    const results: bigint[] = new Array<bigint>(this.#resultSlots);
    for (let i = 0; i < this.#resultSlots; i++) results[i] = stack[i]!;
    return results;
  }

  callWithStack(stack: BigUint64Array, ctx?: Context): void {
    const need = Math.max(this.#paramSlots, this.#resultSlots);
    if (stack.length < need) throw new Error(`need ${need} params, but stack size is ${stack.length}`);
    const m = this.#module;
    m.failIfClosed();
    m.engine.call(this.#index, stack, ctx ?? Context.background());
    // A host function may have closed the module without throwing (wazero's FailIfClosed).
    m.failIfClosed();
  }
}
