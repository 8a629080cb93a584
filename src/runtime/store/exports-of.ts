/**
 * `exportsOf(mod)`: a module's exported functions as plain JS functions on natural values
 * (natural.ts), for JS code that wants `add(1, 2) === 3` rather than wazero's raw `bigint` slots.
 */
import type { Function as ApiFunction, Module } from '../api/module.js';
import { slotsOfTypes } from '../api/value-type.js';
import { naturalValue, naturalValues, writeNaturalValue } from './natural.js';

/**
 * An exported function on natural values: i32 → signed number, i64 → bigint, f32/f64 → number,
 * v128 → 16 bytes (`Uint8Array`), externref → the JS value, funcref → the runtime's handle. Returns
 * `undefined` for no results, the value for one, an array for several.
 */
export type NaturalFunction = (...params: unknown[]) => unknown;

/** Exported functions by export name. */
export type NaturalExports = Readonly<Record<string, NaturalFunction>>;

/**
 * The exported functions of `mod` as JS functions taking and returning natural values (see
 * {@link NaturalFunction}). Params are checked against their types: a value that does not fit is a
 * `TypeError` or `RangeError` naming the function, the param and its type.
 *
 * Declare the shape you expect for typed calls: the module's exports are only known at run time.
 *
 * @example
 * ```ts
 * const { add, hash } = exportsOf<{ add(a: number, b: number): number; hash(p: number): bigint }>(mod);
 * add(1, 2); // 3
 * ```
 * @typeParam T - the exports as the caller knows them (default: every name a {@link NaturalFunction}).
 */
export function exportsOf<T extends Readonly<Record<string, (...params: never[]) => unknown>> = NaturalExports>(mod: Module): T {
  const out: Record<string, NaturalFunction> = {};
  const prefix = mod.name() === '' ? '' : `${mod.name()}.`;
  for (const name of mod.exportedFunctionDefinitions().keys()) {
    out[name] = naturalFunction(mod.exportedFunction(name)!, name, `${prefix}${name}`);
  }
  return Object.freeze(out) as unknown as T;
}

function naturalFunction(fn: ApiFunction, name: string, label: string): NaturalFunction {
  const def = fn.definition();
  const params = def.paramTypes();
  const results = def.resultTypes();
  const size = Math.max(slotsOfTypes(params), slotsOfTypes(results), 1);
  const n = params.length;
  const f = (...args: unknown[]): unknown => {
    if (args.length !== n) throw new TypeError(`${label}: expected ${n} params, but passed ${args.length}`);
    const stack = new BigUint64Array(size);
    let s = 0;
    for (let i = 0; i < n; i++) s = writeNaturalValue(params[i]!, args[i], stack, s, () => `${label}: param[${i}]`, false);
    fn.callWithStack(stack);
    if (results.length === 0) return undefined;
    if (results.length === 1) return naturalValue(results[0]!, stack, 0, 'bytes');
    return naturalValues(results, stack, 'bytes');
  };
  Object.defineProperty(f, 'name', { value: name });
  return f;
}
