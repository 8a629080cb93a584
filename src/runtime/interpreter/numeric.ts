/**
 * Numeric helpers of the run loop that are too long to inline: 64-bit arithmetic on int32 halves,
 * float ↔ integer conversions with the spec's rounding and traps, `nearest`. A 64-bit result is
 * returned in {@link out64} (lo, hi) to avoid allocating.
 */
import { Trap, WasmRuntimeError } from '../api/errors.js';

/** Result of the 64-bit helpers: [lo, hi]. */
export const out64 = new Int32Array(2);

const TWO32 = 4294967296;

/** High 32 bits of the unsigned product of two 32-bit values. */
export function mulhu(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

export function toBig(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo >>> 0);
}

function fromBig(v: bigint): void {
  out64[0] = Number(BigInt.asIntN(32, v));
  out64[1] = Number(BigInt.asIntN(32, v >> 32n));
}

/**
 * Unsigned 64-bit division into `out64` (quotient) and {@link rem64} (remainder, [lo, hi]).
 * Divisors below 2^53 use exact double arithmetic (long division in base 2^16 for 32-bit
 * divisors, a corrected estimate otherwise); larger ones fall back to BigInt.
 */
function udivmod64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (bhi === 0) {
    const b = blo >>> 0;
    const ah = ahi >>> 0;
    const qh = Math.floor(ah / b);
    let r = ah - qh * b;
    let n = r * 65536 + (alo >>> 16);
    const q1 = Math.floor(n / b);
    r = n - q1 * b;
    n = r * 65536 + (alo & 0xffff);
    const q0 = Math.floor(n / b);
    r = n - q0 * b;
    out64[0] = (q1 * 65536 + q0) | 0;
    out64[1] = qh | 0;
    rem64[0] = r | 0;
    rem64[1] = 0;
    return;
  }
  if (bhi >>> 0 < 0x200000) {
    // 2^32 <= b < 2^53: the quotient is below 2^32 and the double estimate is off by at most one.
    const bd = (bhi >>> 0) * TWO32 + (blo >>> 0);
    let q = Math.floor(((ahi >>> 0) * TWO32 + (alo >>> 0)) / bd);
    if (q > 4294967295) q = 4294967295;
    const plo = Math.imul(q | 0, blo);
    const phi = (mulhu(q | 0, blo) + Math.imul(q | 0, bhi)) | 0;
    let rlo = (alo - plo) | 0;
    let rhi = (ahi - phi - (alo >>> 0 < plo >>> 0 ? 1 : 0)) | 0;
    while (rhi < 0) {
      q -= 1;
      const lo = (rlo + blo) | 0;
      rhi = (rhi + bhi + (lo >>> 0 < rlo >>> 0 ? 1 : 0)) | 0;
      rlo = lo;
    }
    while (rhi >>> 0 > bhi >>> 0 || (rhi === bhi && rlo >>> 0 >= blo >>> 0)) {
      q += 1;
      const lo = (rlo - blo) | 0;
      rhi = (rhi - bhi - (rlo >>> 0 < blo >>> 0 ? 1 : 0)) | 0;
      rlo = lo;
    }
    out64[0] = q | 0;
    out64[1] = 0;
    rem64[0] = rlo;
    rem64[1] = rhi;
    return;
  }
  const a = BigInt.asUintN(64, toBig(alo, ahi));
  const b = BigInt.asUintN(64, toBig(blo, bhi));
  fromBig(a % b);
  rem64[0] = out64[0]!;
  rem64[1] = out64[1]!;
  fromBig(a / b);
}

/** Remainder of the last 64-bit division: [lo, hi]. */
const rem64 = new Int32Array(2);

export function divU64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (blo === 0 && bhi === 0) throw new WasmRuntimeError(Trap.IntegerDivideByZero);
  udivmod64(alo, ahi, blo, bhi);
}

export function remU64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (blo === 0 && bhi === 0) throw new WasmRuntimeError(Trap.IntegerDivideByZero);
  udivmod64(alo, ahi, blo, bhi);
  out64[0] = rem64[0]!;
  out64[1] = rem64[1]!;
}

export function divS64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (blo === 0 && bhi === 0) throw new WasmRuntimeError(Trap.IntegerDivideByZero);
  if (ahi === -0x80000000 && alo === 0 && blo === -1 && bhi === -1) throw new WasmRuntimeError(Trap.IntegerOverflow);
  const neg = (ahi ^ bhi) < 0;
  // Work on magnitudes so the fast unsigned path applies.
  let mlo = alo;
  let mhi = ahi;
  if (ahi < 0) {
    mlo = -alo | 0;
    mhi = (~ahi + (alo === 0 ? 1 : 0)) | 0;
  }
  let nlo = blo;
  let nhi = bhi;
  if (bhi < 0) {
    nlo = -blo | 0;
    nhi = (~bhi + (blo === 0 ? 1 : 0)) | 0;
  }
  divU64(mlo, mhi, nlo, nhi);
  if (neg) {
    const lo = out64[0]!;
    const hi = out64[1]!;
    out64[0] = -lo | 0;
    out64[1] = (~hi + (lo === 0 ? 1 : 0)) | 0;
  }
}

export function remS64(alo: number, ahi: number, blo: number, bhi: number): void {
  if (blo === 0 && bhi === 0) throw new WasmRuntimeError(Trap.IntegerDivideByZero);
  if (blo === -1 && bhi === -1) {
    out64[0] = 0;
    out64[1] = 0;
    return;
  }
  let mlo = alo;
  let mhi = ahi;
  if (ahi < 0) {
    mlo = -alo | 0;
    mhi = (~ahi + (alo === 0 ? 1 : 0)) | 0;
  }
  let nlo = blo;
  let nhi = bhi;
  if (bhi < 0) {
    nlo = -blo | 0;
    nhi = (~bhi + (blo === 0 ? 1 : 0)) | 0;
  }
  remU64(mlo, mhi, nlo, nhi);
  if (ahi < 0) {
    const lo = out64[0]!;
    const hi = out64[1]!;
    out64[0] = -lo | 0;
    out64[1] = (~hi + (lo === 0 ? 1 : 0)) | 0;
  }
}

export function shl64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) {
    out64[0] = lo;
    out64[1] = hi;
  } else if (n < 32) {
    out64[1] = (hi << n) | (lo >>> (32 - n));
    out64[0] = lo << n;
  } else {
    out64[1] = lo << (n - 32);
    out64[0] = 0;
  }
}

export function shrU64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) {
    out64[0] = lo;
    out64[1] = hi;
  } else if (n < 32) {
    out64[0] = (lo >>> n) | (hi << (32 - n));
    out64[1] = hi >>> n;
  } else {
    out64[0] = hi >>> (n - 32);
    out64[1] = 0;
  }
}

export function shrS64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) {
    out64[0] = lo;
    out64[1] = hi;
  } else if (n < 32) {
    out64[0] = (lo >>> n) | (hi << (32 - n));
    out64[1] = hi >> n;
  } else {
    out64[0] = hi >> (n - 32);
    out64[1] = hi >> 31;
  }
}

export function rotl64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) {
    out64[0] = lo;
    out64[1] = hi;
    return;
  }
  if (n >= 32) {
    const t = lo;
    lo = hi;
    hi = t;
    n -= 32;
    if (n === 0) {
      out64[0] = lo;
      out64[1] = hi;
      return;
    }
  }
  out64[1] = (hi << n) | (lo >>> (32 - n));
  out64[0] = (lo << n) | (hi >>> (32 - n));
}

export function rotr64(lo: number, hi: number, n: number): void {
  rotl64(lo, hi, (64 - (n & 63)) & 63);
}

export function clz64(lo: number, hi: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

export function ctz32(x: number): number {
  if (x === 0) return 32;
  return 31 - Math.clz32(x & -x);
}

export function ctz64(lo: number, hi: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

export function popcnt32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Round to nearest, ties to even (f64.nearest; f32 via fround of the result). */
export function nearest(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  let r = Math.round(x);
  if (r - x === 0.5 && r % 2 !== 0) r -= 1;
  // Math.round(-0.4) is -0, as required; keep the sign for results that round to zero.
  if (r === 0 && x < 0) return -0;
  return r;
}

/** Signed (lo, hi) → f64, correctly rounded. */
export function i64ToF64(lo: number, hi: number): number {
  return hi * TWO32 + (lo >>> 0);
}

export function u64ToF64(lo: number, hi: number): number {
  return (hi >>> 0) * TWO32 + (lo >>> 0);
}

/** Unsigned (lo, hi) → f32 with a single rounding (a sticky bit keeps the double exact). */
export function u64ToF32(lo: number, hi: number): number {
  if (hi >>> 0 < 0x200000) return Math.fround((hi >>> 0) * TWO32 + (lo >>> 0));
  const l = (lo & ~0xfff) | ((lo & 0xfff) !== 0 ? 0x800 : 0);
  return Math.fround((hi >>> 0) * TWO32 + (l >>> 0));
}

export function i64ToF32(lo: number, hi: number): number {
  if (hi >= 0) return u64ToF32(lo, hi);
  const nlo = -lo | 0;
  const nhi = (~hi + (lo === 0 ? 1 : 0)) | 0;
  return -u64ToF32(nlo, nhi);
}

/** Truncates a double to i64 halves in out64; traps on NaN / out of range. */
export function truncToI64(x: number, signed: boolean): void {
  if (x !== x) throw new WasmRuntimeError(Trap.InvalidConversionToInteger);
  const t = Math.trunc(x);
  if (signed ? t < -9223372036854775808 || t >= 9223372036854775808 : t <= -1 || t >= 18446744073709551616) {
    throw new WasmRuntimeError(Trap.IntegerOverflow);
  }
  setI64FromInt(t);
}

/** out64 ← an integral double in [-2^63, 2^64). */
function setI64FromInt(t: number): void {
  const hi = Math.floor(t / TWO32);
  const lo = t - hi * TWO32;
  out64[0] = lo | 0;
  out64[1] = hi | 0;
}

export function truncSatToI64(x: number, signed: boolean): void {
  if (x !== x) {
    out64[0] = 0;
    out64[1] = 0;
    return;
  }
  const t = Math.trunc(x);
  if (signed) {
    if (t < -9223372036854775808) {
      out64[0] = 0;
      out64[1] = -0x80000000;
      return;
    }
    if (t >= 9223372036854775808) {
      out64[0] = -1;
      out64[1] = 0x7fffffff;
      return;
    }
  } else {
    if (t <= 0) {
      out64[0] = 0;
      out64[1] = 0;
      return;
    }
    if (t >= 18446744073709551616) {
      out64[0] = -1;
      out64[1] = -1;
      return;
    }
  }
  setI64FromInt(t);
}

export function truncToI32S(x: number): number {
  if (x !== x) throw new WasmRuntimeError(Trap.InvalidConversionToInteger);
  const t = Math.trunc(x);
  if (t < -2147483648 || t > 2147483647) throw new WasmRuntimeError(Trap.IntegerOverflow);
  return t | 0;
}

export function truncToI32U(x: number): number {
  if (x !== x) throw new WasmRuntimeError(Trap.InvalidConversionToInteger);
  const t = Math.trunc(x);
  if (t <= -1 || t > 4294967295) throw new WasmRuntimeError(Trap.IntegerOverflow);
  return t | 0;
}

export function truncSatI32S(x: number): number {
  if (x !== x) return 0;
  if (x <= -2147483648) return -2147483648;
  if (x >= 2147483647) return 2147483647;
  return Math.trunc(x) | 0;
}

export function truncSatI32U(x: number): number {
  if (x !== x || x <= 0) return 0;
  if (x >= 4294967295) return -1;
  return Math.trunc(x) | 0;
}
