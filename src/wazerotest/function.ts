/**
 * Mock functions: a JS function with a wasm signature, callable through the `Function` API, that
 * records every call (a spy). A mock function belongs to the mock module it is given to; until the
 * module builds its exports (lazily, on first access), it has no module and cannot be called.
 */
import { uncheckpointableCall, type PendingCall } from '../runtime/store/suspend.js';
import { Context } from '../runtime/api/context.js';
import { ExitError } from '../runtime/api/errors.js';
import type { Function as ApiFunction, FunctionDefinition, Module } from '../runtime/api/module.js';
import { slotsOfTypes, type ValueType } from '../runtime/api/value-type.js';
import { checkValueTypes, encodeCallParam, naturalParams, slotTypes, writeNaturalResults } from './values.js';

/**
 * One recorded call of a mock function, with raw uint64 params and results (see `decodeI32` …).
 * `kind` tells whether it returned or threw.
 */
export type MockCall =
  | {
      /** The call returned. */
      readonly kind: 'returned';
      /** Raw params, one slot each (v128 takes two). */
      readonly params: readonly bigint[];
      /** Raw results, one slot each. */
      readonly results: readonly bigint[];
    }
  | {
      /** The call threw (a host error, an `ExitError`, or a trap from a nested guest call). */
      readonly kind: 'threw';
      /** Raw params, one slot each (v128 takes two). */
      readonly params: readonly bigint[];
      /** What was thrown. */
      readonly error: unknown;
    };

/**
 * A mock host function taking natural values: i32 → number (signed), i64 → bigint (signed),
 * f32/f64 → number, v128 → `[lo, hi]`, externref → the JS value; returns the result the same way
 * (an array for several results; `undefined` is zero).
 */
export type MockNaturalFunction = (ctx: Context, mod: Module, ...params: never[]) => unknown;

/** A mock host function on the raw stack: params in `stack[0..n)`, results written to `stack[0..m)`. */
export type MockStackFunction = (ctx: Context, mod: Module, stack: BigUint64Array) => void;

/** Names of a mock function; every field is optional. */
export interface MockFunctionOptions {
  /** The function's name (`definition().name()`). @defaultValue the JS function's name */
  readonly name?: string;
  /** Names the module exports it under. @defaultValue `[name]` when the name is not empty, else none */
  readonly exportNames?: readonly string[];
  /** Overrides `definition().debugName()` (otherwise `module.name`, or `module.$index` when unnamed). */
  readonly debugName?: string;
  /** Parameter names (kept only when there is one per parameter). */
  readonly paramNames?: readonly string[];
  /** Result names (kept only when there is one per result). */
  readonly resultNames?: readonly string[];
}

/** A mock function: a `Function` (wasmscope/api) with a spy. */
export interface MockFunction extends ApiFunction {
  /** Every call so far, oldest first. */
  readonly calls: readonly MockCall[];
  /** Forgets the recorded calls. */
  clearCalls(): void;
}

/** What a function needs from the module it belongs to (internal). */
export interface FunctionOwner {
  readonly api: Module;
  readonly moduleName: string;
  /** The exit code once the module is closed. */
  exitCode(): number | undefined;
}

class MockFunctionDefinition implements FunctionDefinition {
  constructor(readonly fn: MockFunctionImpl) {}
  moduleName(): string {
    return this.fn.owner?.moduleName ?? '';
  }
  index(): number {
    return this.fn.index;
  }
  import(): [module: string, name: string] | undefined {
    return undefined;
  }
  exportNames(): string[] {
    return [...this.fn.exportNames];
  }
  name(): string {
    return this.fn.name;
  }
  debugName(): string {
    if (this.fn.debugName !== undefined) return this.fn.debugName;
    const mod = this.moduleName();
    return this.fn.name === '' ? `${mod}.$${this.fn.index}` : `${mod}.${this.fn.name}`;
  }
  hostFunction(): unknown {
    return this.fn.user;
  }
  paramTypes(): ValueType[] {
    return this.fn.params.slice();
  }
  paramNames(): string[] {
    return [...this.fn.paramNames];
  }
  resultTypes(): ValueType[] {
    return this.fn.results.slice();
  }
  resultNames(): string[] {
    return [...this.fn.resultNames];
  }
}

/** A function and its spy (internal class; the public API is {@link MockFunction}). */
export class MockFunctionImpl implements MockFunction {
  readonly user: unknown;
  readonly raw: MockStackFunction;
  readonly params: ValueType[];
  readonly results: ValueType[];
  readonly name: string;
  readonly exportNames: readonly string[];
  readonly debugName: string | undefined;
  readonly paramNames: readonly string[];
  readonly resultNames: readonly string[];
  readonly #paramSlots: number;
  readonly #resultSlots: number;
  readonly #slotTypes: number[];
  readonly #definition: FunctionDefinition;
  readonly #calls: MockCall[] = [];
  /** Set when the owning module builds its exports. */
  owner: FunctionOwner | undefined;
  index = 0;

  constructor(
    user: unknown,
    raw: MockStackFunction,
    params: readonly ValueType[],
    results: readonly ValueType[],
    options: MockFunctionOptions,
  ) {
    this.user = user;
    this.raw = raw;
    this.params = params.slice();
    this.results = results.slice();
    const jsName = typeof user === 'function' ? user.name : '';
    this.name = options.name ?? jsName;
    this.exportNames = options.exportNames?.slice() ?? (this.name === '' ? [] : [this.name]);
    this.debugName = options.debugName;
    this.paramNames = options.paramNames?.length === params.length ? options.paramNames.slice() : [];
    this.resultNames = options.resultNames?.length === results.length ? options.resultNames.slice() : [];
    this.#paramSlots = slotsOfTypes(params);
    this.#resultSlots = slotsOfTypes(results);
    this.#slotTypes = slotTypes(params);
    this.#definition = new MockFunctionDefinition(this);
  }

  get calls(): readonly MockCall[] {
    return this.#calls;
  }

  clearCalls(): void {
    this.#calls.length = 0;
  }

  definition(): FunctionDefinition {
    return this.#definition;
  }

  call(...params: Array<bigint | number>): bigint[] {
    return this.callWithContext(Context.background(), ...params);
  }

  callWithContext(ctx: Context, ...params: Array<bigint | number>): bigint[] {
    if (params.length !== this.#paramSlots) throw new Error(`expected ${this.#paramSlots} params, but passed ${params.length}`);
    const stack = new BigUint64Array(Math.max(this.#paramSlots, this.#resultSlots));
    for (let i = 0; i < params.length; i++) stack[i] = encodeCallParam(this.#slotTypes[i]!, params[i]!);
    this.callWithStack(stack, ctx);
    return Array.from(stack.subarray(0, this.#resultSlots));
  }

  /** A mock function is synchronous: {@link call}, resolved. */
  callAsync(...params: Array<bigint | number>): PendingCall {
    return this.callWithContextAsync(Context.background(), ...params);
  }

  /** A mock function is synchronous: {@link callWithContext}, resolved (it cannot be checkpointed). */
  callWithContextAsync(ctx: Context, ...params: Array<bigint | number>): PendingCall {
    const run = async (): Promise<bigint[]> => this.callWithContext(ctx, ...params);
    return uncheckpointableCall(run(), 'a mock function (it runs synchronously)');
  }

  /** A mock function is synchronous: {@link callWithStack}, resolved. */
  async callWithStackAsync(stack: BigUint64Array, ctx?: Context): Promise<void> {
    this.callWithStack(stack, ctx);
    return Promise.resolve();
  }

  callWithStack(stack: BigUint64Array, ctx?: Context): void {
    const need = Math.max(this.#paramSlots, this.#resultSlots);
    if (stack.length < need) throw new Error(`need ${need} params, but stack size is ${stack.length}`);
    const owner = this.owner;
    if (owner === undefined) throw new Error('missing function module');
    const before = owner.exitCode();
    if (before !== undefined) throw new ExitError(before);
    const params = Array.from(stack.subarray(0, this.#paramSlots));
    try {
      this.raw(ctx ?? Context.background(), owner.api, stack);
    } catch (e) {
      this.#calls.push({ kind: 'threw', params, error: e });
      throw e;
    }
    // As a real module: a function that closed its own module fails with the exit.
    const after = owner.exitCode();
    if (after !== undefined) {
      const err = new ExitError(after);
      this.#calls.push({ kind: 'threw', params, error: err });
      throw err;
    }
    this.#calls.push({ kind: 'returned', params, results: Array.from(stack.subarray(0, this.#resultSlots)) });
  }

  toString(): string {
    return `function(${this.#definition.debugName()})`;
  }
}

function check(where: string, fn: unknown, params: readonly number[], results: readonly number[]): void {
  if (typeof fn !== 'function') throw new TypeError(`cannot construct wasm function from ${typeof fn}`);
  checkValueTypes(where, 'param', params);
  checkValueTypes(where, 'result', results);
}

/**
 * A mock function calling `fn` with natural values (wazero's `NewFunction`; the signature is given
 * because JS functions carry no parameter types). `fn` gets the context and the mock module it
 * belongs to, then the params.
 * @param fn - the implementation.
 * @param params - parameter types (`ValueType.I32` …).
 * @param results - result types.
 * @param options - names; by default the function is exported under `fn.name`.
 * @throws TypeError when `fn` is not a function or a type is not a value type.
 */
export function newFunction(
  fn: MockNaturalFunction,
  params: readonly ValueType[],
  results: readonly ValueType[],
  options: MockFunctionOptions = {},
): MockFunction {
  const where = `newFunction(${options.name ?? (typeof fn === 'function' ? fn.name : '')})`;
  check(where, fn, params, results);
  const call = fn as unknown as (ctx: Context, mod: Module, ...args: unknown[]) => unknown;
  const raw: MockStackFunction = (ctx, mod, stack) => {
    const r = call(ctx, mod, ...naturalParams(params, stack));
    writeNaturalResults(results, r, stack, where);
  };
  return new MockFunctionImpl(fn, raw, params, results, options);
}

/**
 * A mock function on the raw stack (wazero's `GoModuleFunction` field): `fn` reads params from
 * `stack[0..n)` and writes results to `stack[0..m)`.
 * @throws TypeError when `fn` is not a function or a type is not a value type.
 */
export function newStackFunction(
  fn: MockStackFunction,
  params: readonly ValueType[],
  results: readonly ValueType[],
  options: MockFunctionOptions = {},
): MockFunction {
  check(`newStackFunction(${options.name ?? (typeof fn === 'function' ? fn.name : '')})`, fn, params, results);
  return new MockFunctionImpl(fn, fn, params, results, options);
}
