/**
 * Host modules: functions written in JS, exported under a module name for guests to import.
 */
import type { Context } from '../api/context.js';
import type { Module } from '../api/module.js';
import { slotsOf, type ValueType } from '../api/value-type.js';
import type { FuncType } from '../binary/module.js';
import type { CompiledModule } from './compiled-module.js';
import { newFunctionDefinition } from './definition.js';
import type { HostFunctionSpec, RawAsyncHostFunction, RawHostFunction } from './engine.js';
import type { FunctionListenerFactory } from '../api/listener.js';
import { naturalValue, writeNaturalResults } from './natural.js';
import type { Tag } from '../api/tag.js';
import { TagInst } from './tags.js';

/** A host function receiving natural values: i32 → number (signed), i64 → bigint (signed), f32/f64 → number. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NaturalHostFunction = (ctx: Context, mod: Module, ...params: any[]) => unknown;
/** A host function on the raw stack: params in stack[0..n), results to stack[0..m). */
export type StackHostFunction = (ctx: Context, mod: Module, stack: BigUint64Array) => void;
/** An async host function receiving natural values (as {@link NaturalHostFunction}); resolves to its result(s). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AsyncNaturalHostFunction = (ctx: Context, mod: Module, ...params: any[]) => Promise<unknown>;
/** An async host function on the raw stack: writes its results to stack[0..m) before it resolves. */
export type AsyncStackHostFunction = (ctx: Context, mod: Module, stack: BigUint64Array) => Promise<void>;

/** Builds a host module: functions written in JS, exported under a module name for guests to import (`r.newHostModuleBuilder("env")`). */
export interface HostModuleBuilder {
  /** Starts a function; finish it with `export(name)`, which returns this builder. */
  newFunctionBuilder(): HostFunctionBuilder;
  /**
   * Exports exception tag `tag` (made by `newTag`, or exported by a guest) as `name`: guests that
   * import it catch, and throw, exceptions of that tag.
   * @experimental
   */
  exportTag(name: string, tag: Tag): HostModuleBuilder;
  /** Compiles the module (listener factories of `ctx` listen its functions). @throws Error for a function without implementation or an invalid value type. */
  compile(ctx?: Context): Promise<CompiledModule>;
  /** Compiles and instantiates the module under its name, so guests importing it link to it. */
  instantiate(ctx?: Context): Promise<Module>;
}

/** Builds one host function: its implementation, signature and names. */
export interface HostFunctionBuilder {
  /** A host function on natural values: i32 → signed number, i64 → bigint, f32/f64 → number, v128 → `[lo, hi]`, externref → the JS value; it returns its result the same way (an array for several). A value that does not fit a result type is an error naming the function, the result and its type. */
  withFunc(fn: NaturalHostFunction, params: ValueType[], results: ValueType[]): HostFunctionBuilder;
  /** A host function on the raw stack: params in `stack[0..n)`, results written to `stack[0..m)` (wazero's `GoModuleFunction`), the allocation-free form. */
  withModuleFunction(fn: StackHostFunction, params: ValueType[], results: ValueType[]): HostFunctionBuilder;
  /**
   * An async host function: `fn` returns a Promise of its result(s). A guest reaching it must be
   * called with `callAsync`/`callWithContextAsync`/`callWithStackAsync`; a plain `call` that reaches
   * it throws an error naming it. The interpreter suspends the call on every Node version; the
   * compiler engine needs JS Promise Integration (Node ≥ 24).
   */
  withAsyncFunc(fn: AsyncNaturalHostFunction, params: ValueType[], results: ValueType[]): HostFunctionBuilder;
  /** {@link withAsyncFunc} on the raw stack. */
  withAsyncModuleFunction(fn: AsyncStackHostFunction, params: ValueType[], results: ValueType[]): HostFunctionBuilder;
  /** The function's debug name (default: its export name), as stack traces and listeners show it. */
  withName(name: string): HostFunctionBuilder;
  /** Parameter names, for listeners and logs (ignored unless every parameter is named). */
  withParameterNames(...names: string[]): HostFunctionBuilder;
  /** Result names, for listeners and logs (ignored unless every result is named). */
  withResultNames(...names: string[]): HostFunctionBuilder;
  /** Exports the function as `name` and returns the module builder. */
  export(name: string): HostModuleBuilder;
}

export interface HostFunctionEntry {
  readonly exportName: string;
  readonly name: string;
  readonly type: FuncType;
  readonly raw: RawHostFunction;
  /** The async implementation of an async host function (`raw` then refuses synchronous calls). */
  readonly async: RawAsyncHostFunction | undefined;
  readonly userFunction: unknown;
  readonly paramNames: readonly string[];
  readonly resultNames: readonly string[];
}

/** A tag a host module exports. */
export interface HostTagEntry {
  readonly exportName: string;
  readonly tag: TagInst;
}

/** What a builder needs from the runtime. */
export interface HostModuleSink {
  compileHost(
    moduleName: string,
    entries: readonly HostFunctionEntry[],
    ctx: Context | undefined,
    tags?: readonly HostTagEntry[],
  ): Promise<CompiledModule>;
  instantiateHost(compiled: CompiledModule, moduleName: string, ctx: Context | undefined): Promise<Module>;
}

const VALID_TYPES = new Set<number>([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

function checkTypes(where: string, kind: string, types: readonly number[]): void {
  types.forEach((t, i) => {
    if (!VALID_TYPES.has(t)) throw new Error(`${where} ${kind}[${i}] is unsupported: ${t}`);
  });
}

/** The natural value of raw param slot(s) at `s` of type `t`: v128 as `[lo, hi]` (see natural.ts). */
function naturalParam(t: number, stack: BigUint64Array, s: number): unknown {
  return naturalValue(t, stack, s, 'pair');
}

/**
 * Calls natural-value function `fn` with the params of `type` read from `stack`, returning what it
 * returns. Up to three params are passed without a spread call (smaller frames for re-entrant
 * calls, no argument array).
 */
function naturalCaller(fn: NaturalHostFunction, type: FuncType): (ctx: Context, mod: Module, stack: BigUint64Array) => unknown {
  const params = type.params;
  const t0 = params[0]!;
  const t1 = params[1]!;
  const t2 = params[2]!;
  const slot1 = slotsOf(t0);
  const slot2 = slot1 + slotsOf(t1);
  switch (params.length) {
    case 0:
      return (ctx, mod) => fn(ctx, mod);
    case 1:
      return (ctx, mod, stack) => fn(ctx, mod, naturalParam(t0, stack, 0));
    case 2:
      return (ctx, mod, stack) => fn(ctx, mod, naturalParam(t0, stack, 0), naturalParam(t1, stack, slot1));
    case 3:
      return (ctx, mod, stack) => fn(ctx, mod, naturalParam(t0, stack, 0), naturalParam(t1, stack, slot1), naturalParam(t2, stack, slot2));
    default:
      return (ctx, mod, stack) => {
        const args: unknown[] = [];
        let s = 0;
        for (const t of params) {
          args.push(naturalParam(t, stack, s));
          s += slotsOf(t);
        }
        return fn(ctx, mod, ...args);
      };
  }
}

/**
 * Adapts a natural-value host function to the raw stack protocol. `where` (`env.now`) names the
 * function when what it returns does not fit its result types.
 */
export function naturalToRaw(fn: NaturalHostFunction, type: FuncType, where: string): RawHostFunction {
  const call = naturalCaller(fn, type);
  const results = type.results;
  if (results.length === 0) {
    return (ctx, mod, stack) => {
      const r = call(ctx, mod, stack);
      if (r !== undefined) writeNaturalResults(results, r, stack, where, false);
    };
  }
  return (ctx, mod, stack) => writeNaturalResults(results, call(ctx, mod, stack), stack, where, false);
}

/** Adapts an async natural-value host function to the raw stack protocol. */
function naturalToRawAsync(fn: AsyncNaturalHostFunction, type: FuncType, where: string): RawAsyncHostFunction {
  const call = naturalCaller(fn, type);
  const results = type.results;
  return async (ctx, mod, stack) => writeNaturalResults(results, await (call(ctx, mod, stack) as Promise<unknown>), stack, where, false);
}

/** The synchronous face of an async host function: a clear error naming it and the way out. */
function refuseSync(where: string): RawHostFunction {
  return () => {
    throw new Error(
      `host function ${where} is async (withAsyncFunc): call the guest with callAsync, callWithContextAsync or callWithStackAsync`,
    );
  };
}

/** A host function on the raw stack: synchronous, or async (then `raw` is undefined). */
interface HostImplementation {
  readonly raw: RawHostFunction | undefined;
  readonly async: RawAsyncHostFunction | undefined;
}

class HostFunctionBuilderImpl implements HostFunctionBuilder {
  /** The implementation, made once the export name (which errors name) is known. */
  #fn: { make: (where: string) => HostImplementation; user: unknown; type: FuncType } | undefined;
  #name: string | undefined;
  #paramNames: string[] = [];
  #resultNames: string[] = [];

  constructor(private readonly module: HostModuleBuilderImpl) {}

  withFunc(fn: NaturalHostFunction, params: ValueType[], results: ValueType[]): HostFunctionBuilder {
    const type: FuncType = { params: params.slice(), results: results.slice() };
    this.#fn = { make: (where) => ({ raw: naturalToRaw(fn, type, where), async: undefined }), user: fn, type };
    return this;
  }

  withModuleFunction(fn: StackHostFunction, params: ValueType[], results: ValueType[]): HostFunctionBuilder {
    this.#fn = { make: () => ({ raw: fn, async: undefined }), user: fn, type: { params: params.slice(), results: results.slice() } };
    return this;
  }

  withAsyncFunc(fn: AsyncNaturalHostFunction, params: ValueType[], results: ValueType[]): HostFunctionBuilder {
    const type: FuncType = { params: params.slice(), results: results.slice() };
    this.#fn = { make: (where) => ({ raw: undefined, async: naturalToRawAsync(fn, type, where) }), user: fn, type };
    return this;
  }

  withAsyncModuleFunction(fn: AsyncStackHostFunction, params: ValueType[], results: ValueType[]): HostFunctionBuilder {
    this.#fn = { make: () => ({ raw: undefined, async: fn }), user: fn, type: { params: params.slice(), results: results.slice() } };
    return this;
  }

  withName(name: string): HostFunctionBuilder {
    this.#name = name;
    return this;
  }

  withParameterNames(...names: string[]): HostFunctionBuilder {
    this.#paramNames = names;
    return this;
  }

  withResultNames(...names: string[]): HostFunctionBuilder {
    this.#resultNames = names;
    return this;
  }

  export(name: string): HostModuleBuilder {
    const fn = this.#fn;
    if (fn === undefined) {
      this.module.deferError(
        new Error(
          `func[${this.module.moduleName}.${name}] has no implementation: call withFunc, withModuleFunction, withAsyncFunc or withAsyncModuleFunction`,
        ),
      );
      return this.module;
    }
    const where = `${this.module.moduleName}.${name}`;
    const { raw, async } = fn.make(where);
    this.module.add({
      exportName: name,
      name: this.#name ?? name,
      type: fn.type,
      raw: raw ?? refuseSync(where),
      async,
      userFunction: fn.user,
      paramNames: this.#paramNames.length === fn.type.params.length ? this.#paramNames : [],
      resultNames: this.#resultNames.length === fn.type.results.length ? this.#resultNames : [],
    });
    return this.module;
  }
}

export class HostModuleBuilderImpl implements HostModuleBuilder {
  readonly moduleName: string;
  readonly #sink: HostModuleSink;
  readonly #entries: HostFunctionEntry[] = [];
  readonly #tags: HostTagEntry[] = [];
  #error: Error | undefined;

  constructor(moduleName: string, sink: HostModuleSink) {
    this.moduleName = moduleName;
    this.#sink = sink;
  }

  deferError(e: Error): void {
    this.#error ??= e;
  }

  add(entry: HostFunctionEntry): void {
    const where = `func[${this.moduleName}.${entry.exportName}]`;
    try {
      checkTypes(where, 'param', entry.type.params);
      checkTypes(where, 'result', entry.type.results);
    } catch (e) {
      this.deferError(e as Error);
      return;
    }
    // Functions are indexed in first-export order; a re-export replaces in place.
    const i = this.#entries.findIndex((x) => x.exportName === entry.exportName);
    if (i >= 0) this.#entries[i] = entry;
    else this.#entries.push(entry);
  }

  newFunctionBuilder(): HostFunctionBuilder {
    return new HostFunctionBuilderImpl(this);
  }

  exportTag(name: string, tag: Tag): HostModuleBuilder {
    if (!(tag instanceof TagInst)) {
      this.deferError(new TypeError(`tag[${this.moduleName}.${name}]: not a tag of wasmscope (make one with newTag)`));
      return this;
    }
    const i = this.#tags.findIndex((x) => x.exportName === name);
    if (i >= 0) this.#tags[i] = { exportName: name, tag };
    else this.#tags.push({ exportName: name, tag });
    return this;
  }

  compile(ctx?: Context): Promise<CompiledModule> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.moduleName === '') return Promise.reject(new Error('a module name must not be empty'));
    return this.#sink.compileHost(this.moduleName, this.#entries.slice(), ctx, this.#tags.slice());
  }

  async instantiate(ctx?: Context): Promise<Module> {
    const compiled = await this.compile(ctx);
    return this.#sink.instantiateHost(compiled, this.moduleName, ctx);
  }
}

/** Builds the engine's view of host functions. */
export function hostFunctionSpecs(
  moduleName: string,
  entries: readonly HostFunctionEntry[],
  factory: FunctionListenerFactory | undefined,
): Array<{ exportName: string; spec: HostFunctionSpec }> {
  return entries.map((e, index) => {
    const definition = newFunctionDefinition({
      moduleName,
      index,
      importName: undefined,
      exportNames: [e.exportName],
      name: e.name,
      type: e.type,
      paramNames: e.paramNames,
      resultNames: e.resultNames,
      hostFunction: e.userFunction,
    });
    const listener = factory?.newFunctionListener(definition);
    // Wrapped once here, so both engines call the wrapper through `spec.fn`/`spec.asyncFn` and an
    // unwrapped function costs nothing.
    const fn = (factory?.interceptHostFunction?.(definition, e.raw) as RawHostFunction | undefined) ?? e.raw;
    const asyncFn =
      e.async === undefined
        ? undefined
        : ((factory?.interceptHostFunction?.(definition, e.async) as RawAsyncHostFunction | undefined) ?? e.async);
    return { exportName: e.exportName, spec: { type: e.type, fn, asyncFn, definition, listener } };
  });
}
