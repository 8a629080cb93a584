/**
 * The public Module and Function objects over an engine instance. Engine-agnostic.
 */
import { Context } from '../api/context.js';
import { ExitError } from '../api/errors.js';
import type {
  Function as ApiFunction,
  FunctionDefinition,
  Global,
  InternalModule,
  Memory,
  MemoryDefinition,
  MutableGlobal,
} from '../api/module.js';
import { slotsOf, slotsOfTypes, valueTypeName, type ValueType } from '../api/value-type.js';
import { describeValue, encodeCallParam, misfitError } from './natural.js';
import { formatFrameSignature } from './definition.js';
import type { SysContext } from '../../sys/context.js';
import type { Tag } from '../api/tag.js';
import type { TagInst } from './tags.js';
import type { CloseNotifier } from './context-keys.js';
import type { EngineGlobal, EngineInstance, ExternValue } from './engine.js';
import { CallHandle, encodeCall, nestedContext, pendingCall, suspendPointOf, type PendingCall } from './suspend.js';
import { checkpointMetaOf } from './context-keys.js';

/** Node's `util.inspect.custom` (a registered symbol: no import of node:util needed). */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** What a module instance needs from its runtime. */
export interface ModuleOwner {
  /** Forget a closed module (unregister its name). */
  moduleClosed(m: ModuleInstance): void;
}

export interface ExportEntry {
  readonly kind: 0 | 1 | 2 | 3 | 4;
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
  /** The tags a host module exports (by export index). */
  hostTags: readonly TagInst[] = [];
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

  /** What `console.log(mod)` prints: the name and the exports, not the engine's internals. */
  [INSPECT](): string {
    if (this.#exitCode !== undefined) return `Module[${this.#name}] (closed, exit code ${this.#exitCode})`;
    const lines: string[] = [];
    for (const [name, e] of this.exportsByName) lines.push(this.#describeExport(name, e));
    return lines.length === 0 ? `Module[${this.#name}] {}` : `Module[${this.#name}] {\n${lines.map((l) => `  ${l}`).join('\n')}\n}`;
  }

  #describeExport(name: string, e: ExportEntry): string {
    const eng = this.engine;
    switch (e.kind) {
      case 0: {
        const def = eng.functions[e.index]?.definition;
        return def === undefined ? `${name}: function` : `${name}${formatFrameSignature(def).slice(def.debugName().length)}`;
      }
      case 1: {
        const t = eng.tables[e.index];
        return `${name}: table ${valueTypeName(t?.elemType ?? 0x70)}, ${t?.size() ?? 0} elements`;
      }
      case 2: {
        const m = eng.memories[e.index];
        const pages = m?.pages() ?? 0;
        return `${name}: ${m?.shared === true ? 'shared ' : ''}memory, ${pages} page${pages === 1 ? '' : 's'}`;
      }
      case 3: {
        const g = eng.globals[e.index];
        return g === undefined ? `${name}: global` : `${name}: global ${g.type.mutable ? 'mut ' : ''}${valueTypeName(g.type.valType)}`;
      }
      case 4: {
        const t = eng.tags?.[e.index];
        return t === undefined ? `${name}: tag` : `${name}: tag (${t.type.params.map(valueTypeName).join(',')})`;
      }
    }
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
      case 4: {
        const t = this.isHost ? this.hostTags[e.index] : this.engine.tags?.[e.index];
        return t === undefined ? undefined : { kind: 4, value: t };
      }
    }
  }

  /** The tag exported as `name` (exception handling), if any. */
  exportedTag(name: string): Tag | undefined {
    const e = this.exportsByName.get(name);
    if (e === undefined || e.kind !== 4) return undefined;
    return this.isHost ? this.hostTags[e.index] : this.engine.tags?.[e.index];
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

/**
 * Encodes `Function.call` param `v` (a raw bigint, or a natural number) for a slot of type `t`.
 * @throws TypeError or RangeError naming the function (`fn`), the param and its type when `v` does not fit.
 */
export function encodeParam(t: number, v: unknown, fn: { definition(): FunctionDefinition }, slot: number): bigint {
  const raw = encodeCallParam(t, v);
  if (raw === undefined) throw paramError(t, v, fn.definition(), slot);
  return raw;
}

/** The error of a call param that does not fit (cold). */
function paramError(t: number, v: unknown, def: FunctionDefinition, slot: number): Error {
  // Slots → params: a v128 takes two slots.
  const types = def.paramTypes();
  let param = 0;
  let s = 0;
  while (param < types.length && s + slotsOf(types[param]!) <= slot) s += slotsOf(types[param++]!);
  const name = def.paramNames()[param];
  const part = types[param] === 0x7b ? (slot === s ? ' low half' : ' high half') : '';
  // An unnamed function by the name the caller knows it by: its export name.
  const fn = def.name() === '' && def.exportNames().length > 0 ? `${def.moduleName()}.${def.exportNames()[0]}` : def.debugName();
  const label = `${fn}: param[${param}]${name === undefined || name === '' ? '' : ` ${name}`}${part}`;
  const err = misfitError(label, t, v);
  if (typeof v !== 'number' && typeof v !== 'bigint') {
    err.message = `${label} (${valueTypeName(types[param] ?? t)}) must be a number or a bigint (raw), got ${describeValue(v)}`;
  }
  return err;
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

  /** What `console.log(fn)` prints: `Function[g.add(i32,i32) i32]`. */
  [INSPECT](): string {
    return `Function[${formatFrameSignature(this.definition())}]`;
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
    // Inside a host function of an async call: its host functions cannot stop (suspend) the outer call.
    m.engine.call(this.#index, stack, nestedContext(ctx));
    m.failIfClosed();
    return this.#results(stack);
  }

  callAsync(...params: Array<bigint | number>): PendingCall {
    return this.callWithContextAsync(BACKGROUND, ...params);
  }

  callWithContextAsync(ctx: Context, ...params: Array<bigint | number>): PendingCall {
    const m = this.#module;
    const handle = new CallHandle((state) => encodeCall(m, state, checkpointMetaOf(ctx)));
    if (suspendPointOf(ctx) !== undefined) {
      handle.refusal =
        'not supported: a mid-call checkpoint of a call made inside a host function of another call (guest→host→guest re-entry): ' +
        'only an outermost call can be resumed';
    }
    const run = async (): Promise<bigint[]> => {
      const stack = this.#encode(params);
      await this.#callAsync(stack, ctx, handle);
      return this.#results(stack);
    };
    return pendingCall(run(), handle);
  }

  callWithStackAsync(stack: BigUint64Array, ctx?: Context): Promise<void> {
    return this.#callAsync(stack, ctx ?? BACKGROUND, undefined);
  }

  async #callAsync(stack: BigUint64Array, ctx: Context, handle: CallHandle | undefined): Promise<void> {
    const need = Math.max(this.#paramSlots, this.#resultSlots);
    if (stack.length < need) throw new Error(`need ${need} params, but stack size is ${stack.length}`);
    const m = this.#module;
    m.failIfClosed();
    await m.engine.callAsync(this.#index, stack, ctx, handle);
    m.failIfClosed();
  }

  /** A new raw stack holding `params`, encoded by parameter type. */
  #encode(params: ReadonlyArray<bigint | number>): BigUint64Array {
    if (params.length !== this.#paramSlots) {
      throw new Error(`expected ${this.#paramSlots} params, but passed ${params.length}`);
    }
    const stack = new BigUint64Array(Math.max(this.#paramSlots, this.#resultSlots));
    const types = this.#slotTypes;
    for (let i = 0; i < params.length; i++) {
      const v = params[i];
      // The common cases inline; anything else is checked (and named in the error) by encodeParam.
      if (typeof v === 'bigint') stack[i] = BigInt.asUintN(64, v);
      else stack[i] = encodeParam(types[i]!, v, this, i);
    }
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
    m.engine.call(this.#index, stack, ctx === undefined ? Context.background() : nestedContext(ctx));
    // A host function may have closed the module without throwing (wazero's FailIfClosed).
    m.failIfClosed();
  }
}
