/**
 * Natural values: how JS code sees wasm values when it does not want raw `bigint` slots. One mapping
 * for every place that converts (host functions built with `withFunc`, `Function.call`'s number
 * params, `exportsOf`, `instantiateWithImports`, the testing toolkit's mocks):
 *
 * | wasm      | natural value                                                     |
 * |-----------|-------------------------------------------------------------------|
 * | i32       | a signed number (an unsigned one, a boolean or a bigint accepted)  |
 * | i64       | a signed bigint (an integer number accepted)                      |
 * | f32, f64  | a number                                                          |
 * | v128      | `[lo, hi]` bigints, or 16 bytes (a `Uint8Array`): see {@link V128Form} |
 * | externref | the JS value itself (`null` is the null reference)                |
 * | funcref   | the runtime's opaque handle (a bigint; `0n`/`null` is null)       |
 *
 * Values that do not fit their type are errors naming the function, the param or result index and
 * the type: silently truncating `1.5`, wrapping `2 ** 40` or turning `NaN` into 0 hides bugs.
 */
import { decodeExternref, decodeF32, decodeF64, encodeExternref, encodeF32, encodeF64 } from '../api/encoding.js';
import { slotsOf, valueTypeName } from '../api/value-type.js';

/** How a v128 looks as a natural value: `[lo, hi]` bigints (host functions, mocks) or 16 bytes. */
export type V128Form = 'pair' | 'bytes';

/** The natural value of the raw slot(s) at `s` of type `t` (a v128 takes two slots). */
export function naturalValue(t: number, stack: ArrayLike<bigint>, s: number, v128: V128Form): unknown {
  const raw = stack[s] ?? 0n;
  switch (t) {
    case 0x7f:
      return Number(BigInt.asIntN(32, raw));
    case 0x7e:
      return BigInt.asIntN(64, raw);
    case 0x7d:
      return decodeF32(raw);
    case 0x7c:
      return decodeF64(raw);
    case 0x7b:
      return v128 === 'pair' ? [raw, stack[s + 1] ?? 0n] : v128Bytes(raw, stack[s + 1] ?? 0n);
    case 0x6f:
      return raw === 0n ? null : decodeExternref(raw);
    default:
      return raw;
  }
}

/** The natural values of raw slots holding values of `types`, in order. */
export function naturalValues(types: readonly number[], stack: ArrayLike<bigint>, v128: V128Form): unknown[] {
  const out: unknown[] = new Array<unknown>(types.length);
  let s = 0;
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    out[i] = naturalValue(t, stack, s, v128);
    s += slotsOf(t);
  }
  return out;
}

function v128Bytes(lo: bigint, hi: bigint): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt.asUintN(64, lo), true);
  v.setBigUint64(8, BigInt.asUintN(64, hi), true);
  return b;
}

/** A value for a text: strings quoted, everything else as JS prints it (`undefined`, `NaN`, `1.5`). */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isPromise(v)) return 'a Promise';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'function') return 'a function';
  return `a ${(v as object).constructor?.name ?? 'object'}`;
}

function isPromise(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Why natural value `v` cannot be a value of type `t`, or undefined when it can. `undefined` is
 * refused (a missing value) except for externref, where it is a JS value like any other.
 */
function misfit(t: number, v: unknown): { kind: 'type' | 'range'; want: string } | undefined {
  switch (t) {
    case 0x7f:
      if (typeof v === 'boolean' || typeof v === 'bigint') return undefined;
      if (typeof v !== 'number') return { kind: 'type', want: 'a number' };
      if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0xffff_ffff) {
        return { kind: 'range', want: 'an integer in [-2147483648, 4294967295]' };
      }
      return undefined;
    case 0x7e:
      if (typeof v === 'bigint') return undefined;
      if (typeof v !== 'number') return { kind: 'type', want: 'a bigint (or an integer number)' };
      if (!Number.isInteger(v) || v < -(2 ** 63) || v >= 2 ** 64) return { kind: 'range', want: 'an integer in [-2^63, 2^64)' };
      return undefined;
    case 0x7d:
    case 0x7c:
      return typeof v === 'number' ? undefined : { kind: 'type', want: 'a number' };
    case 0x7b:
      if (v instanceof Uint8Array ? v.length === 16 : Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'bigint')) {
        return undefined;
      }
      return { kind: 'type', want: 'a v128 (16 bytes as a Uint8Array, or [lo, hi] bigints)' };
    case 0x70:
      if (v === null || typeof v === 'bigint') return undefined;
      return { kind: 'type', want: 'a funcref (a handle from this runtime, or null)' };
    default:
      return undefined;
  }
}

/** The error for natural value `v` that does not fit type `t` at `what` (e.g. `env.now: result[0]`). */
export function misfitError(what: string, t: number, v: unknown, hint = ''): Error {
  const m = misfit(t, v) ?? { kind: 'type' as const, want: valueTypeName(t) };
  const text = `${what} (${valueTypeName(t)}) must be ${m.want}, got ${describeValue(v)}${hint}`;
  return m.kind === 'range' ? new RangeError(text) : new TypeError(text);
}

/**
 * Encodes natural value `v` of type `t` into `stack` at slot `s`; returns the next slot.
 * @param what - names the value in errors, e.g. `env.now: result[0]`.
 * @param undefinedIsZero - `undefined` is zero of the type (mocks: a bare `vi.fn()` stands in for any import).
 * @throws TypeError or RangeError when `v` does not fit `t`.
 */
export function writeNaturalValue(
  t: number,
  v: unknown,
  stack: BigUint64Array,
  s: number,
  what: () => string,
  undefinedIsZero: boolean,
): number {
  if (v === undefined && undefinedIsZero) {
    stack[s] = 0n;
    if (t === 0x7b) stack[s + 1] = 0n;
    return s + slotsOf(t);
  }
  switch (t) {
    case 0x7f:
      if (typeof v === 'number' && (v | 0) === v) {
        stack[s] = BigInt(v >>> 0);
        return s + 1;
      }
      break;
    case 0x7e:
      if (typeof v === 'bigint') {
        stack[s] = BigInt.asUintN(64, v);
        return s + 1;
      }
      break;
    case 0x7d:
      if (typeof v === 'number') {
        stack[s] = encodeF32(v);
        return s + 1;
      }
      break;
    case 0x7c:
      if (typeof v === 'number') {
        stack[s] = encodeF64(v);
        return s + 1;
      }
      break;
    case 0x6f:
      stack[s] = v === null ? 0n : encodeExternref(v);
      return s + 1;
  }
  return writeSlow(t, v, stack, s, what);
}

function writeSlow(t: number, v: unknown, stack: BigUint64Array, s: number, what: () => string): number {
  if (misfit(t, v) !== undefined) {
    const hint = isPromise(v) ? ': an async host function needs withAsyncFunc (and the guest called with callAsync)' : '';
    throw misfitError(what(), t, v, hint);
  }
  switch (t) {
    case 0x7f:
      stack[s] = typeof v === 'bigint' ? BigInt.asUintN(32, v) : BigInt(Number(v) >>> 0);
      return s + 1;
    case 0x7e:
      stack[s] = BigInt.asUintN(64, BigInt(v as number));
      return s + 1;
    case 0x7b: {
      if (v instanceof Uint8Array) {
        const d = new DataView(v.buffer, v.byteOffset, 16);
        stack[s] = d.getBigUint64(0, true);
        stack[s + 1] = d.getBigUint64(8, true);
      } else {
        const pair = v as readonly [bigint, bigint];
        stack[s] = BigInt.asUintN(64, pair[0]);
        stack[s + 1] = BigInt.asUintN(64, pair[1]);
      }
      return s + 2;
    }
    default:
      // funcref: a raw handle, or null.
      stack[s] = typeof v === 'bigint' ? BigInt.asUintN(64, v) : 0n;
      return s + 1;
  }
}

/**
 * Writes a function's natural return value `r` into `stack`: nothing for no results, the value for
 * one result, an array for several.
 * @param where - names the function in errors (`env.now`).
 * @throws TypeError or RangeError naming `where`, the result index and its type when `r` does not fit.
 */
export function writeNaturalResults(
  types: readonly number[],
  r: unknown,
  stack: BigUint64Array,
  where: string,
  undefinedIsZero: boolean,
): void {
  const n = types.length;
  if (n === 1) {
    writeNaturalValue(types[0]!, r, stack, 0, () => `${where}: result[0]`, undefinedIsZero);
    return;
  }
  if (n === 0) {
    if (r !== undefined && isPromise(r)) {
      throw new TypeError(`${where} returned a Promise: an async host function needs withAsyncFunc (and the guest called with callAsync)`);
    }
    return;
  }
  const values: readonly unknown[] | undefined = r === undefined && undefinedIsZero ? [] : Array.isArray(r) ? r : undefined;
  if (values === undefined || (r !== undefined && values.length !== n)) {
    const hint = isPromise(r) ? ': an async host function needs withAsyncFunc (and the guest called with callAsync)' : '';
    throw new TypeError(
      `${where} must return an array of ${n} results (${types.map(valueTypeName).join(', ')}), got ${describeValue(r)}${hint}`,
    );
  }
  let s = 0;
  for (let i = 0; i < n; i++) s = writeNaturalValue(types[i]!, values[i], stack, s, () => `${where}: result[${i}]`, undefinedIsZero);
}

/**
 * The raw slot of `Function.call` param `v` for a slot of type `t`: a bigint is a raw value (passed
 * as is), a number a natural one (validated). Returns undefined when `v` does not fit, so the caller
 * can name the function and param in the error ({@link misfitError}).
 */
export function encodeCallParam(t: number, v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v !== 'number') return undefined;
  switch (t) {
    case 0x7f:
      if ((v | 0) === v) return BigInt(v >>> 0);
      return Number.isInteger(v) && v > 0 && v <= 0xffff_ffff ? BigInt(v) : undefined;
    case 0x7d:
      return encodeF32(v);
    case 0x7c:
      return encodeF64(v);
    default:
      // i64 (and a v128's two i64 slots), references: an integer.
      return Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 64 ? BigInt.asUintN(64, BigInt(v)) : undefined;
  }
}
