/**
 * Value formatting for the logging listener, byte-for-byte as wazero's `internal/logging` prints
 * values: i32/i64 signed decimal, f32/f64 as Go's `strconv.FormatFloat(v, 'g', -1, bits)`, v128 as
 * `%016x%016x` (low word first) and references as `%016x`.
 */

const scratch = new DataView(new ArrayBuffer(8));

/** Decimal digits (no leading/trailing zeros) and the point position: value = 0.digits × 10^dp. */
interface Decimal {
  digits: string;
  dp: number;
}

/** Splits JS's shortest round-trip rendering (which is also Go's shortest for float64) into digits and dp. */
function decimalOfJs(abs: number): Decimal {
  const s = abs.toExponential(); // shortest digits that round-trip, as in Number.prototype.toString
  const e = s.indexOf('e');
  const mant = s.slice(0, e).replace('.', '');
  const exp = Number(s.slice(e + 1));
  return { digits: mant.replace(/0+$/, '') || '0', dp: exp + 1 };
}

const BIG_10 = 10n;

function pow10(n: number): bigint {
  return BIG_10 ** BigInt(n);
}

/**
 * The shortest decimal that reads back as the same float32 (Go's float32 shortest formatting),
 * computed exactly: `abs` = m × 2^e with a rounding interval around it; for each length, the
 * correctly rounded candidate and its neighbours are tested against the interval, and the one closest
 * to the exact value wins (ties to an even last digit).
 */
function decimalOfF32(abs: number): Decimal {
  scratch.setFloat32(0, abs, true);
  const bits = scratch.getUint32(0, true);
  const biased = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  let m: bigint;
  let e: number;
  if (biased === 0) {
    m = BigInt(frac);
    e = -149;
  } else {
    m = BigInt(frac | 0x800000);
    e = biased - 150;
  }
  // The interval is [x - lo, x + hi] in units of 2^(e-2): lower gap is half as wide at a power of two.
  const lowerHalf = frac === 0 && biased > 1 ? 1n : 2n;
  const inclusive = (m & 1n) === 0n;
  // Work in integers scaled by 2^sh2 (for negative binary exponents) and 10^sh10 (for negative decimal ones).
  const x4 = 4n * m;
  const kEst = Math.floor(Math.log10(abs));
  for (let p = 1; p <= 9; p++) {
    // Try decimal exponents around the estimate (the log10 estimate can be off by one).
    let best: { d: bigint; q: number; dist: bigint; scale: bigint } | undefined;
    for (let k = kEst - 1; k <= kEst + 1; k++) {
      const q = k - p + 1; // candidate = d × 10^q with d having p digits
      const sh2 = Math.max(0, 2 - e);
      const sh10 = Math.max(0, -q);
      const scaleX = (e - 2 + sh2 >= 0 ? 1n << BigInt(e - 2 + sh2) : 1n) * pow10(sh10);
      const X = x4 * scaleX;
      const lo = (x4 - lowerHalf) * scaleX;
      const hi = (x4 + 2n) * scaleX;
      const unit = pow10(q + sh10) * (1n << BigInt(sh2)); // value of d=1 in the scaled space
      const d0 = X / unit;
      for (const d of [d0 - 1n, d0, d0 + 1n, d0 + 2n]) {
        if (d < pow10(p - 1) || d >= pow10(p)) continue;
        const c = d * unit;
        const inside = inclusive ? c >= lo && c <= hi : c > lo && c < hi;
        if (!inside) continue;
        const dist = c > X ? c - X : X - c;
        // Compare distances across different scales by cross-multiplying.
        if (best === undefined || dist * best.scale < best.dist * scaleX || (dist * best.scale === best.dist * scaleX && (d & 1n) === 0n)) {
          best = { d, q, dist, scale: scaleX };
        }
      }
    }
    if (best !== undefined) {
      const digits = best.d.toString().replace(/0+$/, '');
      return { digits, dp: best.q + p };
    }
  }
  // Unreachable: 9 digits always identify a float32.
  return decimalOfJs(abs);
}

/** Go's `%g` layout of shortest digits: %e when exp < -4 || exp >= 6 (two-digit exponent minimum), else %f. */
function layout(neg: boolean, d: Decimal): string {
  const sign = neg ? '-' : '';
  const nd = d.digits.length;
  const exp = d.dp - 1;
  if (exp < -4 || exp >= 6) {
    let s = d.digits[0]!;
    if (nd > 1) s += '.' + d.digits.slice(1);
    const ae = Math.abs(exp);
    return `${sign}${s}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  if (d.dp <= 0) return `${sign}0.${'0'.repeat(-d.dp)}${d.digits}`;
  if (d.dp >= nd) return `${sign}${d.digits}${'0'.repeat(d.dp - nd)}`;
  return `${sign}${d.digits.slice(0, d.dp)}.${d.digits.slice(d.dp)}`;
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  return undefined;
}

/** Go's `strconv.FormatFloat(v, 'g', -1, 64)`. */
export function formatF64(v: number): string {
  return special(v) ?? layout(v < 0, decimalOfJs(Math.abs(v)));
}

/** Go's `strconv.FormatFloat(float64(v), 'g', -1, 32)`: the shortest decimal that round-trips as float32. */
export function formatF32(v: number): string {
  const f = Math.fround(v);
  return special(f) ?? layout(f < 0, decimalOfF32(Math.abs(f)));
}

/** i32 raw bits (low 32 of a raw value) as signed decimal. */
export function formatI32(raw: bigint): string {
  return String(Number(raw & 0xffffffffn) | 0);
}

/** i64 raw bits as signed decimal. */
export function formatI64(raw: bigint): string {
  return BigInt.asIntN(64, raw).toString();
}

/** `%016x` of raw bits. */
export function hex16(raw: bigint): string {
  return BigInt.asUintN(64, raw).toString(16).padStart(16, '0');
}

/** The float32 whose bits are the low 32 bits of `raw`. */
export function f32OfRaw(raw: bigint): number {
  scratch.setUint32(0, Number(raw & 0xffffffffn), true);
  return scratch.getFloat32(0, true);
}

/** The float64 whose bits are `raw`. */
export function f64OfRaw(raw: bigint): number {
  scratch.setBigUint64(0, BigInt.asUintN(64, raw), true);
  return scratch.getFloat64(0, true);
}
