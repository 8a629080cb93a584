/**
 * Fused multiply-add (relaxed SIMD's `relaxed_madd`/`relaxed_nmadd`), rounded once like the FMA
 * instructions V8 uses on x64: `a * b + c` is computed exactly with bigints and rounded to nearest
 * (ties to even) in the target precision, subnormals and overflow included. JavaScript has no
 * `Math.fma`, and `a * b + c` in doubles rounds twice (for f32 lanes the double rounding of the sum
 * is wrong in rare cases too). Inputs are finite; NaN and infinity rules are the caller's.
 */

const scratch = new DataView(new ArrayBuffer(8));

/** `x` (finite, non-zero) as `m * 2^e`: the integer significand (unsigned) and exponent. */
function decompose(x: number): { m: bigint; e: number } {
  scratch.setFloat64(0, x);
  const hi = scratch.getUint32(0);
  const lo = scratch.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  return exp === 0 ? { m: frac, e: -1074 } : { m: frac | (1n << 52n), e: exp - 1075 };
}

function bitLength(m: bigint): number {
  return m.toString(2).length;
}

/**
 * `m * 2^e` (m > 0) rounded to nearest even with `prec` significand bits, normal exponents from
 * `emin`: the magnitude as a double (exact for both f64 and f32 targets), Infinity on overflow.
 */
function round(m: bigint, e: number, prec: number, emin: number): number {
  const n = bitLength(m);
  const lead = n - 1 + e;
  const keep = lead < emin ? prec - (emin - lead) : prec;
  const shift = n - keep;
  if (shift <= 0) return Number(m) * 2 ** e;
  let q = m >> BigInt(shift);
  const rem = m - (q << BigInt(shift));
  const half = 1n << BigInt(shift - 1);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  // q has at most prec + 1 bits and e + shift >= emin - prec + 1: both factors are exact doubles.
  return Number(q) * 2 ** (e + shift);
}

/** `a * b + c` rounded once, to a double (`prec` 53, `emin` -1022) or an f32 (24, -126); finite inputs. */
function fma(a: number, b: number, c: number, prec: number, emin: number): number {
  if (a === 0 || b === 0) {
    // The product is a signed zero: its sign is the xor of the operands' signs.
    const neg = (a < 0 || Object.is(a, -0)) !== (b < 0 || Object.is(b, -0));
    if (c === 0) return neg && Object.is(c, -0) ? -0 : 0;
    return c;
  }
  const pNeg = a < 0 !== b < 0;
  const da = decompose(Math.abs(a));
  const db = decompose(Math.abs(b));
  let pm = da.m * db.m;
  let pe = da.e + db.e;
  if (c === 0) {
    const r = round(pm, pe, prec, emin);
    return pNeg ? -r : r;
  }
  const dc = decompose(Math.abs(c));
  let cm = dc.m;
  let ce = dc.e;
  if (pe > ce) {
    pm <<= BigInt(pe - ce);
    pe = ce;
  } else if (ce > pe) {
    cm <<= BigInt(ce - pe);
    ce = pe;
  }
  const sum = (pNeg ? -pm : pm) + (c < 0 ? -cm : cm);
  if (sum === 0n) return 0;
  const r = round(sum < 0n ? -sum : sum, pe, prec, emin);
  return sum < 0n ? -r : r;
}

/** `a * b + c` with one rounding to a double (finite inputs). */
export function fmaF64(a: number, b: number, c: number): number {
  return fma(a, b, c, 53, -1022);
}

/** `a * b + c` with one rounding to an f32 (finite f32 inputs, as doubles). */
export function fmaF32(a: number, b: number, c: number): number {
  return Math.fround(fma(a, b, c, 24, -126));
}
