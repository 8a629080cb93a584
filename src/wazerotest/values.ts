/**
 * Natural ⇄ raw value conversions for mock and mocked host functions: the same mapping as
 * `HostFunctionBuilder.withFunc` (i32 → signed number, i64 → signed bigint, f32/f64 → number,
 * v128 → `[lo, hi]`, externref → the JS value, funcref → the raw handle), except that a missing
 * result (`undefined`) is zero of its type, so a bare `vi.fn()` can stand in for any import.
 */
import { decodeExternref, decodeF32, decodeF64, encodeExternref, encodeF32, encodeF64 } from '../runtime/api/encoding.js';
import { valueTypeName } from '../runtime/api/value-type.js';

/** A value as a host function sees it: number (i32, f32, f64), bigint (i64, funcref), pair (v128), or any JS value (externref). */
export type NaturalValue = number | bigint | readonly [lo: bigint, hi: bigint] | unknown;

/** Decodes raw params from `stack` into natural values. */
export function naturalParams(types: readonly number[], stack: ArrayLike<bigint>): unknown[] {
  const out: unknown[] = [];
  let s = 0;
  for (const t of types) {
    const raw = stack[s++] ?? 0n;
    switch (t) {
      case 0x7f:
        out.push(Number(BigInt.asIntN(32, raw)));
        break;
      case 0x7e:
        out.push(BigInt.asIntN(64, raw));
        break;
      case 0x7d:
        out.push(decodeF32(raw));
        break;
      case 0x7c:
        out.push(decodeF64(raw));
        break;
      case 0x7b:
        out.push([raw, stack[s++] ?? 0n]);
        break;
      case 0x6f:
        out.push(raw === 0n ? null : decodeExternref(raw));
        break;
      default:
        out.push(raw);
    }
  }
  return out;
}

/** Encodes one natural value of type `t` into `stack` at `s`; returns the next slot. */
function encodeInto(t: number, v: unknown, stack: BigUint64Array, s: number, where: string): number {
  switch (t) {
    case 0x7f:
      stack[s] = v === undefined ? 0n : typeof v === 'bigint' ? BigInt.asUintN(32, v) : BigInt(Number(v) >>> 0);
      return s + 1;
    case 0x7e:
      if (v === undefined) stack[s] = 0n;
      else if (typeof v === 'bigint') stack[s] = BigInt.asUintN(64, v);
      else if (typeof v === 'number' && Number.isFinite(v)) stack[s] = BigInt.asUintN(64, BigInt(Math.trunc(v)));
      else throw new TypeError(`${where}: expected an i64 (bigint or number), got ${String(v)}`);
      return s + 1;
    case 0x7d:
      stack[s] = encodeF32(v === undefined ? 0 : Number(v));
      return s + 1;
    case 0x7c:
      stack[s] = encodeF64(v === undefined ? 0 : Number(v));
      return s + 1;
    case 0x7b: {
      if (v === undefined) {
        stack[s] = 0n;
        stack[s + 1] = 0n;
        return s + 2;
      }
      if (!Array.isArray(v) || v.length !== 2) throw new TypeError(`${where}: expected a v128 as [lo, hi] bigints`);
      stack[s] = BigInt.asUintN(64, BigInt(v[0] as bigint));
      stack[s + 1] = BigInt.asUintN(64, BigInt(v[1] as bigint));
      return s + 2;
    }
    case 0x6f:
      stack[s] = v === undefined || v === null ? 0n : encodeExternref(v);
      return s + 1;
    default:
      stack[s] = typeof v === 'bigint' ? v : 0n;
      return s + 1;
  }
}

/**
 * Writes a host function's natural return value into `stack`: nothing for no results, the value for
 * one result, an array for several. `undefined` is zero of each type.
 * @throws TypeError when the value does not fit the result types (`where` names the function).
 */
export function writeNaturalResults(types: readonly number[], value: unknown, stack: BigUint64Array, where: string): void {
  if (types.length === 0) return;
  if (types.length === 1) {
    encodeInto(types[0]!, value, stack, 0, where);
    return;
  }
  const values: readonly unknown[] | undefined = value === undefined ? [] : Array.isArray(value) ? value : undefined;
  if (values === undefined || (value !== undefined && values.length !== types.length)) {
    throw new TypeError(
      `${where}: returned ${String(value)}, expected an array of ${types.length} results (${types.map(valueTypeName).join(', ')})`,
    );
  }
  let s = 0;
  types.forEach((t, i) => {
    s = encodeInto(t, values[i], stack, s, where);
  });
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
