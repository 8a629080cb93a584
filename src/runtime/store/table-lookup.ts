/**
 * `lookupFunction` (wazero's `experimental/table.LookupFunction`): the function a guest's table
 * holds at an offset, checked against the signature the host expects and callable from the host —
 * what `call_indirect` does, for host code that receives function pointers (Emscripten's
 * `invoke_*`, callbacks registered by index). The checks are made once here for both engines; the
 * engines only find the entry (`EngineInstance.tableFunction`).
 */
import { uncheckpointableCall, type PendingCall } from './suspend.js';
import { Context } from '../api/context.js';
import { Trap, WasmRuntimeError } from '../api/errors.js';
import type { Function as ApiFunction, FunctionDefinition, Module } from '../api/module.js';
import { slotsOfTypes, type ValueType } from '../api/value-type.js';
import type { TableFunction } from './engine.js';
import { encodeParam, ModuleInstance } from './module-instance.js';

const FUNCREF = 0x70;

/**
 * The function at `offset` of table `tableIndex` of `mod`, whose type must be exactly
 * `params` → `results`.
 *
 * The returned function is called directly, as `call_indirect` would call it: a wasm function's
 * listeners fire, a host function runs without the caller's listeners. Its calls are synchronous
 * (`callAsync` runs them synchronously).
 * @param mod - a module instantiated by a wasmscope runtime (not a mock or host module).
 * @throws Error `table index out of range` when the module has no such table, or when it holds
 *   externrefs; {@link WasmRuntimeError} with trap `invalid table access` for an offset out of
 *   bounds or a null entry, `indirect call type mismatch` for another signature.
 * @experimental
 */
export function lookupFunction(
  mod: Module,
  tableIndex: number,
  offset: number,
  params: readonly ValueType[],
  results: readonly ValueType[],
): ApiFunction {
  if (!(mod instanceof ModuleInstance) || mod.isHost) throw new TypeError('lookupFunction: not a guest module instantiated by wasmscope');
  const table = mod.engine.tables[tableIndex];
  if (!Number.isInteger(tableIndex) || table === undefined) throw new Error('table index out of range');
  if (table.elemType !== FUNCREF) throw new Error(`table[${tableIndex}] holds externref, not funcref`);
  if (!Number.isInteger(offset) || offset < 0) throw new WasmRuntimeError(Trap.InvalidTableAccess);
  const f = mod.engine.tableFunction(tableIndex, offset);
  if (f === undefined || f === null) throw new WasmRuntimeError(Trap.InvalidTableAccess);
  if (!sameTypes(f.type.params, params) || !sameTypes(f.type.results, results)) {
    throw new WasmRuntimeError(Trap.IndirectCallTypeMismatch);
  }
  return new TableFunctionImpl(mod, f);
}

function sameTypes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/** A function found in a table, as the public `Function`. */
class TableFunctionImpl implements ApiFunction {
  readonly #module: ModuleInstance;
  readonly #fn: TableFunction;
  readonly #paramSlots: number;
  readonly #resultSlots: number;
  readonly #slotTypes: number[];

  constructor(module: ModuleInstance, fn: TableFunction) {
    this.#module = module;
    this.#fn = fn;
    this.#paramSlots = slotsOfTypes(fn.type.params);
    this.#resultSlots = slotsOfTypes(fn.type.results);
    this.#slotTypes = fn.type.params.flatMap((t) => (t === 0x7b ? [0x7e, 0x7e] : [t]));
  }

  definition(): FunctionDefinition {
    return this.#fn.definition;
  }

  call(...params: Array<bigint | number>): bigint[] {
    return this.callWithContext(Context.background(), ...params);
  }

  callWithContext(ctx: Context, ...params: Array<bigint | number>): bigint[] {
    if (params.length !== this.#paramSlots) throw new Error(`expected ${this.#paramSlots} params, but passed ${params.length}`);
    const stack = new BigUint64Array(Math.max(this.#paramSlots, this.#resultSlots));
    for (let i = 0; i < params.length; i++) stack[i] = encodeParam(this.#slotTypes[i]!, params[i]!, this, i);
    this.callWithStack(stack, ctx);
    return Array.from(stack.subarray(0, this.#resultSlots));
  }

  callWithStack(stack: BigUint64Array, ctx?: Context): void {
    const need = Math.max(this.#paramSlots, this.#resultSlots);
    if (stack.length < need) throw new Error(`need ${need} params, but stack size is ${stack.length}`);
    const m = this.#module;
    m.failIfClosed();
    this.#fn.call(stack, ctx ?? Context.background());
    m.failIfClosed();
  }

  callAsync(...params: Array<bigint | number>): PendingCall {
    return this.callWithContextAsync(Context.background(), ...params);
  }

  callWithContextAsync(ctx: Context, ...params: Array<bigint | number>): PendingCall {
    let p: Promise<bigint[]>;
    try {
      p = Promise.resolve(this.callWithContext(ctx, ...params));
    } catch (e) {
      p = Promise.reject(e as Error);
    }
    return uncheckpointableCall(p, 'a table function (it runs synchronously)');
  }

  callWithStackAsync(stack: BigUint64Array, ctx?: Context): Promise<void> {
    try {
      this.callWithStack(stack, ctx);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }
}
