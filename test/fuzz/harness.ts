/**
 * Runs one module on the interpreter, the compiler engine and raw V8 in lockstep and compares every
 * observable after instantiation and after each call: the outcome (results bit for bit, trap kind,
 * host error), the log of host calls (with their raw arguments), memory 0, every global and every
 * table's size and null pattern.
 *
 * All three sides see the same augmented module (augment.ts) and the same imports: each imported
 * module name is a small wasm "provider" module (identical bytes everywhere) that re-exports
 * functions of one host module `__fuzz_host` and defines the imported globals (zero / null). The
 * host functions' behaviour (`HostEnv`) is written once over raw slots; on raw V8 the host and the
 * calls go through adapter modules that move f32/f64/v128 as integer bits (wasm.ts), so NaN payloads
 * cross the JS boundary intact.
 *
 * Host semantics (binaryen's `fuzzing-support` imports, ours to define as long as all sides agree):
 * `log-*` record their argument; `sleep(ms, id)` returns `id`; `call-export(i, flags)` calls the
 * i-th original function export with zero arguments and lets errors through; `call-export-catch(i)`
 * returns 1 when that call throws, else 0; `call-ref(ref, flags)` throws a host error on null;
 * `call-ref-catch(ref)` returns 1 on null; `table-get`/`table-set` access table 0 through wasm
 * helpers (they trap like `table.get`/`table.set`). Any other import logs and returns zeros.
 *
 * Resource exhaustion is nondeterministic (V8's stack is not the interpreter's): once any side
 * reports a stack overflow, directly or caught by `call-export-catch`, the module stops and counts
 * as exhausted; nothing after that point is compared.
 */
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV2 } from '../../src/api.js';
import { instantiationTrap } from '../../src/compiler-native/traps.js';
import { Context, CompileError, LinkError, newModuleConfig, Trap, WasmRuntimeError, type Runtime } from '../../src/index.js';
import { functionListenerFactoryFunc, withFunctionListenerFactory, type FunctionListener } from '../../src/experimental.js';
import type { Module as ApiModule, ValueType } from '../../src/api.js';
import type { FuncType, Module } from '../../src/runtime/binary/module.js';
import { isStackOverflow } from '../../src/runtime/store/hooks.js';
import { engines, runtimeFor, wabtValidates, type EngineCase } from '../helpers.js';
import { augment, MEMORY_EXPORT, type Augmented } from './augment.js';
import { canonicalizeNaNs } from './nan.js';
import { formatSlots, parseSlots } from './values.js';
import { ByteWriter } from '../../src/runtime/binary/encoder.js';
import { decodeModule } from '../../src/runtime/binary/decoder.js';
import { EXTERNREF, FUNCREF, fromLegal, legalize, legalTypes, ModuleBuilder, slotCount, toLegal, V128, zeroConst } from './wasm.js';

/**
 * How our engines run a module: `plain`; `interrupts` (interrupt checks compiled in,
 * `withCloseOnContextDone(true)`, every call with a far deadline); `listened` (every function
 * listened: the interpreter's and the compiler's call traces must agree too). The compiler engine
 * rewrites bodies for the last two, so each variant fuzzes other code.
 */
export type Variant = 'plain' | 'interrupts' | 'listened';
export const VARIANTS: readonly Variant[] = ['plain', 'interrupts', 'listened'];

/** The feature set fuzzed: WebAssembly 2.0, tail calls and threads. */
export const FUZZ_FEATURES = CoreFeaturesV2 | CoreFeaturesTailCall | CoreFeaturesThreads;

/** A call of the plan: an export and its arguments as slot texts (values.ts). */
export interface Call {
  readonly name: string;
  readonly args: readonly string[];
}

/** What a step (instantiation or call) produced on one side, as text. */
export type Outcome =
  | { readonly kind: 'ok'; readonly values: readonly string[] }
  | { readonly kind: 'trap'; readonly traps: readonly Trap[]; readonly text: string }
  | { readonly kind: 'host'; readonly message: string }
  | { readonly kind: 'compile'; readonly message: string }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'exhausted'; readonly message: string };

export function outcomeText(o: Outcome): string {
  switch (o.kind) {
    case 'ok':
      return `ok ${o.values.join(' ')}`.trimEnd();
    case 'trap':
      return `trap ${o.traps.join(' | ')}`;
    case 'host':
      return `host error: ${o.message}`;
    case 'compile':
      return `compile error`;
    default:
      return `${o.kind}: ${o.message}`;
  }
}

/** The error host functions throw on purpose (a thrown value every side must propagate alike). */
export class FuzzHostError extends Error {
  override readonly name = 'FuzzHostError';
}

/** Thrown by host functions once a step made too many host calls; ends the module like a stack overflow. */
export class BudgetError extends Error {
  override readonly name = 'BudgetError';
}

/** Host calls one step may make (re-entry through `call-export-catch` can branch exponentially). */
const HOST_CALL_BUDGET = 5_000;
/** Nesting of `call-export` re-entries before a host error (deterministic, unlike the stack). */
const MAX_REENTRY = 6;

/** The state after a step, as comparable text (memory as bytes). */
export interface State {
  readonly memory: Uint8Array | undefined;
  readonly globals: readonly string[];
  readonly tables: readonly string[];
}

/** One step's observations on one side. */
export interface Observation {
  readonly outcome: Outcome;
  readonly log: readonly string[];
  /** Listener events (our engines, `listened` variant). */
  readonly trace: readonly string[];
  readonly state: State | undefined;
}

type SideName = 'v8' | 'interpreter' | 'compiler';

interface Side {
  readonly name: SideName;
  readonly env: HostEnv;
  instantiate(): Promise<Outcome>;
  /** Calls export `name` with raw slots (references in the side's own form). */
  call(name: string, slots: readonly unknown[]): unknown[];
  memory(): Uint8Array | undefined;
  close(): Promise<void>;
}

interface FuncImport {
  readonly module: string;
  readonly name: string;
  readonly type: FuncType;
  /** Name of the function in `__fuzz_host`. */
  readonly hostName: string;
}

/** The imports of a module, grouped by module name, with a provider module for each. */
interface ImportPlan {
  readonly funcs: readonly FuncImport[];
  readonly providers: ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }>;
}

/** The providers of `m`'s imports, or a reason why they cannot be provided. */
function planImports(m: Module): ImportPlan | string {
  const funcs: FuncImport[] = [];
  const byModule = new Map<string, ModuleBuilder>();
  const later: Array<() => void> = [];
  for (const imp of m.imports) {
    let b = byModule.get(imp.module);
    if (b === undefined) byModule.set(imp.module, (b = new ModuleBuilder()));
    const builder = b;
    if (imp.desc.kind === 0) {
      const type = m.types[imp.desc.typeIndex]!;
      const hostName = String(funcs.length);
      funcs.push({ module: imp.module, name: imp.name, type, hostName });
      const idx = builder.importFunc('__fuzz_host', hostName, type);
      builder.export(imp.name, 0, idx);
    } else if (imp.desc.kind === 3) {
      const g = imp.desc.global;
      later.push(() => builder.export(imp.name, 3, builder.global(g.valType, g.mutable, zeroConst(g.valType))));
    } else {
      return `imports a ${imp.desc.kind === 1 ? 'table' : 'memory'}`;
    }
  }
  for (const f of later) f();
  const providers = [...byModule].map(([name, b]) => ({ name, bytes: b.encode() }));
  return { funcs, providers };
}

/** The host functions' behaviour, over raw slots, on one side. */
class HostEnv {
  log: string[] = [];
  /** Listener events (`listened` variant), compared between our engines. */
  trace: string[] = [];
  exhausted = false;
  /** Host calls left in this step (`startStep` resets it). */
  budget = HOST_CALL_BUDGET;
  #depth = 0;
  /** Set once the module is instantiated. */
  callExport: ((name: string, slots: readonly unknown[]) => unknown[]) | undefined;

  constructor(
    private readonly aug: Augmented,
    private readonly exportTypes: ReadonlyMap<string, FuncType>,
    private readonly nullRef: unknown,
    private readonly isNull: (slot: unknown) => boolean,
    private readonly classify: (e: unknown) => Outcome,
  ) {}

  startStep(): void {
    this.budget = HOST_CALL_BUDGET;
  }

  invoke(f: FuncImport, slots: readonly unknown[]): unknown[] {
    if (--this.budget < 0) {
      this.exhausted = true;
      throw new BudgetError('host call budget exhausted');
    }
    const { params, results } = f.type;
    this.log.push(`${f.module}.${f.name}(${formatSlots(params, slots, this.isNull).join(' ')})`);
    const sig = `${params.join(',')}>${results.join(',')}`;
    if (f.module === 'fuzzing-support') {
      switch (`${f.name} ${sig}`) {
        case 'sleep 127,127>127':
          return [slots[1]];
        case 'call-export 127,127>':
        case 'call-export 127>':
          this.#callIndex(slots[0] as bigint);
          return [];
        case 'call-export-catch 127>127':
          try {
            this.#callIndex(slots[0] as bigint);
            return [0n];
          } catch (e) {
            if (this.classify(e).kind === 'exhausted') {
              this.exhausted = true;
              throw e;
            }
            return [1n];
          }
        case 'call-ref 112,127>':
        case 'call-ref 112>':
          if (this.isNull(slots[0])) throw new FuzzHostError('call-ref: null reference');
          return [];
        case 'call-ref-catch 112>127':
          return [this.isNull(slots[0]) ? 1n : 0n];
        case 'table-get 127>112':
          return this.#helper('__fuzz_table_get', [slots[0]]);
        case 'table-set 127,112>':
          this.#helper('__fuzz_table_set', [slots[0], slots[1]]);
          return [];
      }
    }
    return this.zeros(results);
  }

  zeros(ts: readonly number[]): unknown[] {
    const out: unknown[] = [];
    for (const t of ts) {
      if (t === FUNCREF || t === EXTERNREF) out.push(this.nullRef);
      else if (t === V128) out.push(0n, 0n);
      else out.push(0n);
    }
    return out;
  }

  #callIndex(raw: bigint): void {
    const i = Number(BigInt.asUintN(32, raw));
    const name = this.aug.funcExports[i];
    if (name === undefined) throw new FuzzHostError(`call-export: no export ${i}`);
    if (this.callExport === undefined) throw new FuzzHostError('call-export: not instantiated');
    if (this.#depth >= MAX_REENTRY) throw new FuzzHostError('call-export: nested too deep');
    this.#depth++;
    try {
      this.callExport(name, this.zeros(this.exportTypes.get(name)!.params));
    } finally {
      this.#depth--;
    }
  }

  #helper(name: string, slots: readonly unknown[]): unknown[] {
    if (!this.exportTypes.has(name)) throw new FuzzHostError(`${name}: no such table`);
    if (this.callExport === undefined) throw new FuzzHostError(`${name}: not instantiated`);
    return this.callExport(name, slots);
  }
}

// ---- our engines ----

function classifyOurs(e: unknown): Outcome {
  for (let x: unknown = e; x !== undefined && x !== null; x = (x as { cause?: unknown }).cause) {
    if (x instanceof WasmRuntimeError) {
      if (x.trap === Trap.StackOverflow) return { kind: 'exhausted', message: x.trap };
      return { kind: 'trap', traps: [x.trap], text: x.trap };
    }
    if (x instanceof FuzzHostError) return { kind: 'host', message: x.message };
    if (x instanceof BudgetError) return { kind: 'exhausted', message: x.message };
    if (x instanceof CompileError) return { kind: 'compile', message: x.message };
    if (!(x instanceof Error)) break;
  }
  if (isStackOverflow(e)) return { kind: 'exhausted', message: String(e) };
  return { kind: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

class EngineSide implements Side {
  readonly env: HostEnv;
  readonly name: SideName;
  #runtime: Runtime | undefined;
  #mod: ApiModule | undefined;

  readonly #ctx: Context;

  constructor(
    private readonly engine: EngineCase,
    private readonly aug: Augmented,
    private readonly imports: ImportPlan,
    private readonly exportTypes: ReadonlyMap<string, FuncType>,
    private readonly variant: Variant,
  ) {
    this.name = engine.name;
    this.env = new HostEnv(aug, exportTypes, 0n, (s) => s === 0n, classifyOurs);
    this.#ctx = variant === 'interrupts' ? Context.background().withTimeout(3_600_000) : Context.background();
  }

  /** The listener of the `listened` variant: records every call, return and abort. */
  #listener(): FunctionListener {
    const trace = (s: string): void => {
      if (this.env.trace.length < 10_000) this.env.trace.push(s);
    };
    return {
      before: (_c, _m, def, params) => trace(`> ${def.index()} ${[...params].join(',')}`),
      after: (_c, _m, def, results) => trace(`< ${def.index()} ${[...results].join(',')}`),
      abort: (_c, _m, def) => trace(`! ${def.index()}`),
    };
  }

  async instantiate(): Promise<Outcome> {
    const r = runtimeFor(this.engine, (c) => c.withCoreFeatures(FUZZ_FEATURES).withCloseOnContextDone(this.variant === 'interrupts'));
    this.#runtime = r;
    try {
      if (this.imports.funcs.length > 0) {
        const host = r.newHostModuleBuilder('__fuzz_host');
        for (const f of this.imports.funcs) {
          const nParams = slotCount(f.type.params);
          host
            .newFunctionBuilder()
            .withModuleFunction(
              (_ctx, _mod, stack) => {
                const out = this.env.invoke(f, Array.from(stack.subarray(0, nParams)));
                for (let i = 0; i < out.length; i++) stack[i] = out[i] as bigint;
              },
              f.type.params as ValueType[],
              f.type.results as ValueType[],
            )
            .export(f.hostName);
        }
        await host.instantiate();
      }
      for (const p of this.imports.providers) {
        await r.instantiateWithConfig(p.bytes, newModuleConfig().withName(p.name).withStartFunctions());
      }
    } catch (e) {
      return { kind: 'error', message: `setup: ${String(e)}` };
    }
    this.env.callExport = (name, slots) => this.call(name, slots);
    try {
      const listener = this.#listener();
      const ctx =
        this.variant === 'listened'
          ? withFunctionListenerFactory(
              this.#ctx,
              functionListenerFactoryFunc(() => listener),
            )
          : this.#ctx;
      this.#mod = await r.instantiateWithConfig(this.aug.bytes, newModuleConfig().withName('fuzz').withStartFunctions(), ctx);
      return { kind: 'ok', values: [] };
    } catch (e) {
      if (e instanceof LinkError) return { kind: 'error', message: `LinkError: ${e.message}` };
      return classifyOurs(e);
    }
  }

  call(name: string, slots: readonly unknown[]): unknown[] {
    const f = this.#mod?.exportedFunction(name);
    if (f === undefined) throw new FuzzHostError(`${name}: not instantiated`);
    const t = this.exportTypes.get(name)!;
    // A stack per call: host functions re-enter while an outer call's stack is live.
    const stack = new BigUint64Array(Math.max(1, slotCount(t.params), slotCount(t.results)));
    for (let i = 0; i < slots.length; i++) stack[i] = slots[i] as bigint;
    f.callWithStack(stack, this.#ctx);
    return Array.from(stack.subarray(0, slotCount(t.results)));
  }

  memory(): Uint8Array | undefined {
    const m = this.#mod?.memory();
    return m === undefined ? undefined : m.read(0, m.size());
  }

  async close(): Promise<void> {
    await this.#runtime?.close();
  }
}

// ---- raw V8 ----

/** The traps a V8 message may stand for (V8 words two pairs of traps alike). */
function v8Traps(message: string, e: WebAssembly.RuntimeError): Trap[] | undefined {
  if (message.includes('float unrepresentable in integer range')) return [Trap.IntegerOverflow, Trap.InvalidConversionToInteger];
  if (message.includes('null function or function signature mismatch')) return [Trap.InvalidTableAccess, Trap.IndirectCallTypeMismatch];
  const t = instantiationTrap(e);
  return t === undefined ? undefined : [t];
}

function classifyV8(e: unknown): Outcome {
  if (e instanceof WebAssembly.RuntimeError) {
    const traps = v8Traps(e.message, e);
    if (traps !== undefined) return { kind: 'trap', traps, text: e.message };
  }
  if (isStackOverflow(e)) return { kind: 'exhausted', message: String(e) };
  if (e instanceof FuzzHostError) return { kind: 'host', message: e.message };
  if (e instanceof BudgetError) return { kind: 'exhausted', message: e.message };
  if (e instanceof WebAssembly.CompileError) return { kind: 'compile', message: e.message };
  return { kind: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

/** JS value of a legal slot of type `t`. */
function jsOf(t: number, slot: unknown): unknown {
  if (t === 0x7f) return Number(BigInt.asIntN(32, slot as bigint));
  if (t === 0x7e) return BigInt.asIntN(64, slot as bigint);
  return slot;
}

/** Legal slot of a JS value of type `t`. */
function slotOf(t: number, v: unknown): unknown {
  if (t === 0x7f) return BigInt.asUintN(32, BigInt(v as number));
  if (t === 0x7e) return BigInt.asUintN(64, v as bigint);
  return v;
}

function jsResults(ts: readonly number[], slots: readonly unknown[]): unknown {
  const vals = ts.map((t, i) => jsOf(t, slots[i]));
  return vals.length === 0 ? undefined : vals.length === 1 ? vals[0] : vals;
}

function slotsOf(ts: readonly number[], ret: unknown): unknown[] {
  if (ts.length === 0) return [];
  const vals = ts.length === 1 ? [ret] : [...(ret as Iterable<unknown>)];
  return ts.map((t, i) => slotOf(t, vals[i]));
}

/**
 * A module importing `module.name` for each entry and exporting `exportName` with the entry's type
 * converted: `toJs` exports the legal form of an original function (the caller adapter), otherwise
 * the original form of a legal import (the host adapter).
 */
function adapter(entries: ReadonlyArray<{ module: string; name: string; exportName: string; type: FuncType }>, toJs: boolean): Uint8Array {
  const b = new ModuleBuilder();
  const legal = (t: FuncType): FuncType => ({ params: legalize(t.params), results: legalize(t.results) });
  for (const e of entries) b.importFunc(e.module, e.name, toJs ? e.type : legal(e.type));
  entries.forEach((e, k) => {
    const outer = toJs ? legal(e.type) : e.type;
    const inner = toJs ? e.type : legal(e.type);
    const w = new ByteWriter();
    // Push the inner function's params from the outer's.
    let l = 0;
    for (const t of (toJs ? e.type : outer).params) {
      if (toJs) {
        fromLegal(w, t, l);
        l += legalTypes(t).length;
      } else {
        toLegal(w, t, l);
        l += 1;
      }
    }
    w.u8(0x10).u32(k);
    // Results: into fresh locals (last first), then converted in order.
    const locals = inner.results;
    const base = outer.params.length;
    for (let i = locals.length - 1; i >= 0; i--) w.u8(0x21).u32(base + i);
    let r = base;
    for (const t of e.type.results) {
      if (toJs) {
        toLegal(w, t, r);
        r += 1;
      } else {
        fromLegal(w, t, r);
        r += legalTypes(t).length;
      }
    }
    b.export(e.exportName, 0, b.func(outer, locals, w.finish()));
  });
  return b.encode();
}

const adapterCache = new Map<string, WebAssembly.Module>();

function compileCached(key: string, make: () => Uint8Array): WebAssembly.Module {
  let m = adapterCache.get(key);
  if (m === undefined) {
    if (adapterCache.size > 256) adapterCache.clear();
    m = new WebAssembly.Module(make());
    adapterCache.set(key, m);
  }
  return m;
}

class V8Side implements Side {
  readonly name = 'v8' as const;
  readonly env: HostEnv;
  #exports: WebAssembly.Exports | undefined;
  #legal: WebAssembly.Exports | undefined;

  constructor(
    private readonly aug: Augmented,
    private readonly imports: ImportPlan,
    private readonly exportTypes: ReadonlyMap<string, FuncType>,
  ) {
    this.env = new HostEnv(aug, exportTypes, null, (s) => s === null, classifyV8);
  }

  async instantiate(): Promise<Outcome> {
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(this.aug.bytes);
    } catch (e) {
      return classifyV8(e);
    }
    const funcs = this.imports.funcs;
    const hostEntries = funcs.map((f) => ({ module: 'js', name: f.hostName, exportName: f.hostName, type: f.type }));
    const key = JSON.stringify(hostEntries.map((e) => [e.type.params, e.type.results]));
    const js: Record<string, (...a: unknown[]) => unknown> = {};
    for (const f of funcs) {
      const lp = legalize(f.type.params);
      const lr = legalize(f.type.results);
      js[f.hostName] = (...args: unknown[]) =>
        jsResults(
          lr,
          this.env.invoke(
            f,
            args.map((a, i) => slotOf(lp[i]!, a)),
          ),
        );
    }
    const host = new WebAssembly.Instance(
      compileCached(key, () => adapter(hostEntries, false)),
      { js } as WebAssembly.Imports,
    ).exports;
    const imports: WebAssembly.Imports = {};
    for (const p of this.imports.providers) {
      imports[p.name] = new WebAssembly.Instance(
        compileCached(Buffer.from(p.bytes).toString('latin1'), () => p.bytes),
        { __fuzz_host: host },
      ).exports;
    }
    this.env.callExport = (name, slots) => this.call(name, slots);
    try {
      this.#exports = new WebAssembly.Instance(module, imports).exports;
    } catch (e) {
      return classifyV8(e);
    }
    const entries = [...this.exportTypes].map(([name, type]) => ({ module: 'm', name, exportName: name, type }));
    this.#legal = new WebAssembly.Instance(new WebAssembly.Module(adapter(entries, true)), { m: this.#exports }).exports;
    return { kind: 'ok', values: [] };
  }

  call(name: string, slots: readonly unknown[]): unknown[] {
    const f = this.#legal?.[name] as ((...a: unknown[]) => unknown) | undefined;
    if (f === undefined) throw new FuzzHostError(`${name}: not instantiated`);
    const t = this.exportTypes.get(name)!;
    const lp = legalize(t.params);
    return slotsOf(legalize(t.results), f(...slots.map((s, i) => jsOf(lp[i]!, s))));
  }

  memory(): Uint8Array | undefined {
    const m = this.#exports?.[MEMORY_EXPORT] as WebAssembly.Memory | undefined;
    return m === undefined ? undefined : new Uint8Array(m.buffer);
  }

  async close(): Promise<void> {}
}

// ---- comparison ----

function refIsNull(side: Side): (s: unknown) => boolean {
  return side.name === 'v8' ? (s) => s === null : (s) => s === 0n;
}

function observeState(side: Side, aug: Augmented): State {
  const isNull = refIsNull(side);
  const globals = aug.globals.map((g) => formatSlots([g.type], side.call(g.name, []), isNull)[0]!);
  const tables = aug.tables.map((t) => {
    const size = side.call(t.size, [])[0] as bigint;
    const nulls = side.call(t.nulls, [])[0] as bigint;
    return `${size}:${nulls.toString(16)}`;
  });
  return { memory: side.memory(), globals, tables };
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'ok':
      return a.values.join() === (b as typeof a).values.join();
    case 'trap': {
      const bt = (b as typeof a).traps;
      return a.traps.some((t) => bt.includes(t));
    }
    case 'compile':
      return true;
    case 'host':
    case 'error':
      return a.message === (b as typeof a).message;
    default:
      return true;
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  const ba = Buffer.from(a.buffer, a.byteOffset, a.length);
  const bb = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (a.length === b.length && ba.equals(bb)) return -1;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** What differs between two sides' observations, or undefined when they agree. */
function difference(a: Observation, b: Observation): string | undefined {
  if (!sameOutcome(a.outcome, b.outcome)) return `outcome: ${outcomeText(a.outcome)} ≠ ${outcomeText(b.outcome)}`;
  // Exact trap texts must agree between our engines (V8's words are ambiguous, ours are not).
  if (a.outcome.kind === 'trap' && b.outcome.kind === 'trap' && a.outcome.traps.length === 1 && b.outcome.traps.length === 1) {
    if (a.outcome.traps[0] !== b.outcome.traps[0]) return `trap: ${a.outcome.traps[0]} ≠ ${b.outcome.traps[0]}`;
  }
  const la = a.log.join('\n');
  const lb = b.log.join('\n');
  if (la !== lb) {
    let i = 0;
    while (i < a.log.length && a.log[i] === b.log[i]) i++;
    return `host call log entry ${i}: ${a.log[i] ?? '(none)'} ≠ ${b.log[i] ?? '(none)'}`;
  }
  if (a.state === undefined || b.state === undefined) return a.state === b.state ? undefined : 'state: present on one side only';
  const ma = a.state.memory;
  const mb = b.state.memory;
  if ((ma === undefined) !== (mb === undefined)) return 'memory: present on one side only';
  if (ma !== undefined && mb !== undefined) {
    const d = firstDifference(ma, mb);
    if (d >= 0) {
      const hex = (m: Uint8Array): string => Buffer.from(m.subarray(d & ~7, (d & ~7) + 16)).toString('hex');
      return `memory at ${d} (sizes ${ma.length}, ${mb.length}): ${hex(ma)} ≠ ${hex(mb)}`;
    }
  }
  for (let i = 0; i < a.state.globals.length; i++) {
    if (a.state.globals[i] !== b.state.globals[i]) return `global ${i}: ${a.state.globals[i]} ≠ ${b.state.globals[i]}`;
  }
  for (let i = 0; i < a.state.tables.length; i++) {
    if (a.state.tables[i] !== b.state.tables[i]) return `table ${i}: ${a.state.tables[i]} ≠ ${b.state.tables[i]}`;
  }
  return undefined;
}

export interface Mismatch {
  /** -1: instantiation; otherwise the index of the call in the plan. */
  readonly step: number;
  readonly sides: readonly [SideName, SideName];
  readonly detail: string;
}

/** A recorded step of V8 (the oracle), as stored in regression fixtures. */
export interface Expected {
  readonly call?: Call;
  readonly outcome: string;
  readonly log: readonly string[];
  readonly memory?: string;
  readonly globals?: readonly string[];
  readonly tables?: readonly string[];
}

export type Status = 'ok' | 'invalid' | 'unsupported' | 'exhausted' | 'mismatch';

export interface CaseResult {
  readonly status: Status;
  /** Calls compared on all sides. */
  readonly calls: number;
  readonly mismatch?: Mismatch;
  /** Why the module was not run (`unsupported`, `invalid`). */
  readonly reason?: string;
  /** V8's observations of each step (with `record`). */
  readonly expected?: Expected[];
}

export interface CaseOptions {
  /** Record V8's observations (for fixtures). */
  readonly record?: boolean;
  /** Which of our engines to run (default: all). */
  readonly engines?: readonly EngineCase[];
  /** Makes arithmetic NaN results deterministic first (nan.ts). */
  readonly canonicalNaN?: boolean;
  /** How our engines run the module (default `plain`). */
  readonly variant?: Variant;
  /** Makes the memory fingerprint for records. */
  readonly fingerprint?: (bytes: Uint8Array) => string;
}

/** Runs `bytes` with the calls `plan` chooses on every side and compares after each step. */
export async function runCase(
  bytes: Uint8Array,
  plan: (aug: Augmented, exportTypes: ReadonlyMap<string, FuncType>) => readonly Call[],
  options: CaseOptions = {},
): Promise<CaseResult> {
  let aug: Augmented;
  try {
    aug = augment(options.canonicalNaN === true ? canonicalizeNaNs(bytes) : bytes);
  } catch (e) {
    // Undecodable: V8 must reject it too.
    let v8ok = true;
    try {
      new WebAssembly.Module(bytes);
    } catch {
      v8ok = false;
    }
    if (!v8ok) return { status: 'invalid', calls: 0, reason: String(e) };
    return {
      status: 'mismatch',
      calls: 0,
      mismatch: { step: -1, sides: ['v8', 'interpreter'], detail: `decoder rejects what V8 accepts: ${String(e)}` },
    };
  }
  const imports = planImports(aug.module);
  if (typeof imports === 'string') return { status: 'unsupported', calls: 0, reason: imports };
  const augModule = decodeModule(aug.bytes, 0x1ff);
  const exportTypes = new Map<string, FuncType>();
  for (const e of augModule.exports) if (e.kind === 0) exportTypes.set(e.name, augModule.types[augModule.funcTypeIndexSpace[e.index]!]!);

  const sides: Side[] = [
    new V8Side(aug, imports, exportTypes),
    ...(options.engines ?? engines).map((e) => new EngineSide(e, aug, imports, exportTypes, options.variant ?? 'plain')),
  ];
  const expected: Expected[] = [];
  try {
    const observe = (side: Side, outcome: Outcome): Observation => {
      const log = side.env.log;
      side.env.log = [];
      const trace = side.env.trace;
      side.env.trace = [];
      const observable = instantiated.has(side) && outcome.kind !== 'exhausted' && !side.env.exhausted;
      return { outcome, log, trace, state: observable ? observeState(side, aug) : undefined };
    };
    const instantiated = new Set<Side>();
    const obs: Observation[] = [];
    for (const s of sides) {
      const o = await s.instantiate();
      if (o.kind === 'ok') instantiated.add(s);
      obs.push(observe(s, o));
    }
    const compare = (step: number): CaseResult | undefined => {
      if (obs.some((o, i) => o.outcome.kind === 'exhausted' || sides[i]!.env.exhausted)) {
        return { status: 'exhausted', calls: Math.max(0, step) };
      }
      for (let i = 1; i < sides.length; i++) {
        const d = difference(obs[0]!, obs[i]!);
        if (d !== undefined)
          return { status: 'mismatch', calls: Math.max(0, step), mismatch: { step, sides: [sides[0]!.name, sides[i]!.name], detail: d } };
      }
      // Listener traces (`listened` variant): our engines against each other.
      for (let i = 2; i < sides.length; i++) {
        const [a, b] = [obs[1]!.trace, obs[i]!.trace];
        let k = 0;
        while (k < a.length && a[k] === b[k]) k++;
        if (k < a.length || k < b.length) {
          const detail = `listener event ${k}: ${a[k] ?? '(none)'} ≠ ${b[k] ?? '(none)'}`;
          return { status: 'mismatch', calls: Math.max(0, step), mismatch: { step, sides: [sides[1]!.name, sides[i]!.name], detail } };
        }
      }
      if (options.record === true) expected.push(record(obs[0]!, step < 0 ? undefined : calls[step], options.fingerprint));
      return undefined;
    };
    const calls = instantiated.size === sides.length ? plan(aug, exportTypes) : [];
    const r0 = compare(-1);
    if (r0 !== undefined) {
      // V8 accepts more than the fuzzed features (binaryen sometimes emits `ref.as_non_null` with
      // only reference types on): a module only V8 accepts is out of scope when wabt, under exactly
      // the fuzzed features, rejects it too.
      const v8Only = obs[0]!.outcome.kind !== 'compile' && obs.slice(1).every((o) => o.outcome.kind === 'compile');
      if (r0.status === 'mismatch' && v8Only && !(await wabtValidates(aug.bytes))) {
        return {
          status: 'invalid',
          calls: 0,
          reason: `beyond the fuzzed features: ${outcomeText(obs[1]!.outcome)} ${obs[1]!.outcome.kind === 'compile' ? obs[1]!.outcome.message : ''}`,
        };
      }
      return r0;
    }
    if (obs[0]!.outcome.kind === 'compile') return { status: 'invalid', calls: 0, reason: outcomeText(obs[0]!.outcome) };
    for (let k = 0; k < calls.length; k++) {
      const c = calls[k]!;
      for (let i = 0; i < sides.length; i++) {
        const s = sides[i]!;
        s.env.startStep();
        const isNull = refIsNull(s);
        const slots = parseSlots(c.args).map((v, j) => (isRefArg(c, j) ? (s.name === 'v8' ? null : 0n) : v));
        let outcome: Outcome;
        try {
          const t = exportTypes.get(c.name)!;
          outcome = { kind: 'ok', values: formatSlots(t.results, s.call(c.name, slots), isNull) };
        } catch (e) {
          outcome = s.name === 'v8' ? classifyV8(e) : classifyOurs(e);
        }
        obs[i] = observe(s, outcome);
      }
      const r = compare(k);
      if (r !== undefined) return r;
    }
    return { status: 'ok', calls: calls.length, expected: options.record === true ? expected : undefined };
  } finally {
    for (const s of sides) await s.close();
  }
}

function isRefArg(c: Call, slot: number): boolean {
  // Slot index → arg: v128 args take two slots.
  let s = 0;
  for (const a of c.args) {
    const n = a.startsWith('v128:') ? 2 : 1;
    if (slot < s + n) return a.startsWith('funcref:') || a.startsWith('externref:');
    s += n;
  }
  return false;
}

function record(o: Observation, call: Call | undefined, fp: ((b: Uint8Array) => string) | undefined): Expected {
  return {
    ...(call === undefined ? {} : { call }),
    outcome: outcomeText(o.outcome),
    log: o.log,
    ...(o.state === undefined
      ? {}
      : {
          ...(o.state.memory === undefined || fp === undefined ? {} : { memory: fp(o.state.memory) }),
          globals: o.state.globals,
          tables: o.state.tables,
        }),
  };
}
