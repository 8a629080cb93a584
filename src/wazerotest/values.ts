/**
 * Natural ⇄ raw value conversions for mock and mocked host functions: the runtime's own mapping
 * (`store/natural.ts`, as `HostFunctionBuilder.withFunc`: i32 → signed number, i64 → signed bigint,
 * f32/f64 → number, v128 → `[lo, hi]`, externref → the JS value, funcref → the raw handle), except
 * that a missing result (`undefined`) is zero of its type, so a bare `vi.fn()` can stand in for any
 * import.
 */
import { encodeF32, encodeF64 } from '../runtime/api/encoding.js';
import { naturalValues, writeNaturalResults as writeResults } from '../runtime/store/natural.js';

/** A value as a host function sees it: number (i32, f32, f64), bigint (i64, funcref), pair (v128), or any JS value (externref). */
export type NaturalValue = number | bigint | readonly [lo: bigint, hi: bigint] | unknown;

/** Decodes raw params from `stack` into natural values (v128 as `[lo, hi]`). */
export function naturalParams(types: readonly number[], stack: ArrayLike<bigint>): unknown[] {
  return naturalValues(types, stack, 'pair');
}

/**
 * Writes a host function's natural return value into `stack`: nothing for no results, the value for
 * one result, an array for several. `undefined` is zero of each type.
 * @throws TypeError or RangeError when the value does not fit the result types (`where` names the function).
 */
export function writeNaturalResults(types: readonly number[], value: unknown, stack: BigUint64Array, where: string): void {
  writeResults(types, value, stack, where, true);
}

/** A natural or raw param encoded for its slot (bigint = raw, as `Function.call`). */
export function encodeCallParam(t: number, v: bigint | number): bigint {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  switch (t) {
    case 0x7f:
      return BigInt(v >>> 0);
    case 0x7d:
      return encodeF32(v);
    case 0x7c:
      return encodeF64(v);
    default:
      return BigInt.asUintN(64, BigInt(Math.trunc(v)));
  }
}

/** Slot types of a signature (v128 expands to two i64 slots). */
export function slotTypes(types: readonly number[]): number[] {
  const out: number[] = [];
  for (const t of types) {
    if (t === 0x7b) out.push(0x7e, 0x7e);
    else out.push(t);
  }
  return out;
}

const VALID = new Set<number>([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/** @throws TypeError naming `where` when a type is not a value type. */
export function checkValueTypes(where: string, kind: string, types: readonly number[]): void {
  types.forEach((t, i) => {
    if (!VALID.has(t)) throw new TypeError(`${where}: ${kind}[${i}] is not a value type: ${String(t)}`);
  });
}
