/**
 * Value handling for the wast2json spec-test format: turning json arguments into raw uint64 slots for
 * `Function.call`, and comparing raw results against expectations by bits (wazero's rules).
 *
 * Kept free of any runtime import so it can be unit-tested on its own.
 */

/** One value in a wast2json command (`args` or `expected`). Numbers are unsigned decimal strings of the bits. */
export interface SpecValue {
  readonly type: string;
  /** Absent in `assert_trap`/`action` expectations, which only give types. */
  readonly value?: string | readonly string[];
  /** For `v128`: the lane shape the `value` strings use. */
  readonly lane_type?: string;
}

const MASK32 = 0xffff_ffffn;
const MASK64 = 0xffff_ffff_ffff_ffffn;

const F32_CANONICAL_NAN = 0x7fc0_0000n;
const F32_QUIET_NAN_BITS = 0x7fc0_0000n; // exponent all ones + quiet bit
const F64_CANONICAL_NAN = 0x7ff8_0000_0000_0000n;
const F64_QUIET_NAN_BITS = 0x7ff8_0000_0000_0000n;

/** `nan:canonical` for f32: sign ignored, payload exactly the quiet bit. */
export function isCanonicalNaN32(bits: bigint): boolean {
  return (bits & 0x7fff_ffffn) === F32_CANONICAL_NAN;
}

/** `nan:arithmetic` for f32: all-ones exponent and the quiet bit set, any other payload. */
export function isArithmeticNaN32(bits: bigint): boolean {
  return (bits & F32_QUIET_NAN_BITS) === F32_QUIET_NAN_BITS;
}

/** `nan:canonical` for f64. */
export function isCanonicalNaN64(bits: bigint): boolean {
  return (bits & 0x7fff_ffff_ffff_ffffn) === F64_CANONICAL_NAN;
}

/** `nan:arithmetic` for f64. */
export function isArithmeticNaN64(bits: bigint): boolean {
  return (bits & F64_QUIET_NAN_BITS) === F64_QUIET_NAN_BITS;
}

/** Bit width of one lane of a v128 `lane_type`. */
export function laneBits(laneType: string): number {
  switch (laneType) {
    case 'i8':
      return 8;
    case 'i16':
      return 16;
    case 'i32':
    case 'f32':
      return 32;
    case 'i64':
    case 'f64':
      return 64;
    default:
      throw new Error(`unknown v128 lane type ${laneType}`);
  }
}

/** How many raw uint64 slots a value of this type occupies in `Function.call` (v128 takes two). */
export function slotCount(type: string): number {
  return type === 'v128' ? 2 : 1;
}

function scalarString(v: SpecValue): string {
  if (typeof v.value !== 'string') throw new Error(`${v.type} value missing or not a string`);
  return v.value;
}

function parseBits(s: string, width: number): bigint {
  if (s.startsWith('nan:')) throw new Error(`${s} is only valid as an expected result`);
  // wast2json writes unsigned decimals; mask anyway so a signed spelling would still land on the same bits.
  return BigInt.asUintN(width, BigInt(s));
}

/** Packs v128 lanes (lane 0 = lowest bytes) into [lo, hi] uint64 words. */
export function v128FromLanes(laneType: string, lanes: readonly string[]): [bigint, bigint] {
  const w = laneBits(laneType);
  if (lanes.length * w !== 128) throw new Error(`v128 ${laneType} needs ${128 / w} lanes, got ${lanes.length}`);
  let all = 0n;
  for (let i = 0; i < lanes.length; i++) all |= parseBits(lanes[i] as string, w) << BigInt(i * w);
  return [all & MASK64, all >> 64n];
}

/** Lane `i` of the v128 [lo, hi] as unsigned bits. */
export function v128Lane(lo: bigint, hi: bigint, laneType: string, i: number): bigint {
  const w = laneBits(laneType);
  const all = (lo & MASK64) | ((hi & MASK64) << 64n);
  return (all >> BigInt(i * w)) & ((1n << BigInt(w)) - 1n);
}

/**
 * The raw slots for one argument. i32/i64/f32/f64 are their bits; externref `n` is `n+1` (0 is null, as
 * wazero's runner does); `ref.null` of either kind is 0.
 */
export function argToSlots(v: SpecValue): bigint[] {
  switch (v.type) {
    case 'i32':
    case 'f32':
      return [parseBits(scalarString(v), 32)];
    case 'i64':
    case 'f64':
      return [parseBits(scalarString(v), 64)];
    case 'externref': {
      const s = scalarString(v);
      return [s === 'null' ? 0n : BigInt(s) + 1n];
    }
    case 'funcref': {
      const s = scalarString(v);
      if (s === 'null') return [0n];
      throw new Error('a non-null funcref cannot be written as an argument');
    }
    case 'v128': {
      if (v.lane_type === undefined || !Array.isArray(v.value)) throw new Error('v128 argument needs lane_type and lanes');
      return v128FromLanes(v.lane_type, v.value as readonly string[]);
    }
    default:
      throw new Error(`unsupported argument type ${v.type}`);
  }
}

/** Flattens arguments into the `Function.call` parameter list. */
export function argsToSlots(args: readonly SpecValue[]): bigint[] {
  const out: bigint[] = [];
  for (const a of args) out.push(...argToSlots(a));
  return out;
}

function matchFloatBits(expected: string, bits: bigint, width: 32 | 64): boolean {
  if (expected === 'nan:canonical') return width === 32 ? isCanonicalNaN32(bits) : isCanonicalNaN64(bits);
  if (expected === 'nan:arithmetic') return width === 32 ? isArithmeticNaN32(bits) : isArithmeticNaN64(bits);
  return bits === parseBits(expected, width);
}

/**
 * Whether the raw result `slots` (one, or two for v128) match `expected`, by bits. i32 and f32 compare on the
 * low 32 bits; NaN patterns as the spec defines them (per lane for v128); externref `n` expects `n+1`;
 * a non-null funcref expectation accepts any non-zero handle. An expectation without a value matches anything.
 */
export function matchResult(expected: SpecValue, slots: readonly bigint[]): boolean {
  const first = slots[0];
  if (first === undefined) return false;
  if (expected.value === undefined) return true;
  switch (expected.type) {
    case 'i32':
      return (first & MASK32) === parseBits(scalarString(expected), 32);
    case 'i64':
      return (first & MASK64) === parseBits(scalarString(expected), 64);
    case 'f32':
      return matchFloatBits(scalarString(expected), first & MASK32, 32);
    case 'f64':
      return matchFloatBits(scalarString(expected), first & MASK64, 64);
    case 'externref': {
      const s = scalarString(expected);
      return s === 'null' ? first === 0n : first === BigInt(s) + 1n;
    }
    case 'funcref': {
      const s = scalarString(expected);
      return s === 'null' ? first === 0n : first !== 0n;
    }
    case 'v128': {
      const hi = slots[1];
      if (hi === undefined) return false;
      const laneType = expected.lane_type;
      if (laneType === undefined || !Array.isArray(expected.value)) throw new Error('v128 expectation needs lane_type and lanes');
      const lanes = expected.value as readonly string[];
      const w = laneBits(laneType);
      for (let i = 0; i < lanes.length; i++) {
        const got = v128Lane(first, hi, laneType, i);
        const want = lanes[i] as string;
        const ok = laneType === 'f32' || laneType === 'f64' ? matchFloatBits(want, got, w as 32 | 64) : got === parseBits(want, w);
        if (!ok) return false;
      }
      return true;
    }
    default:
      throw new Error(`unsupported result type ${expected.type}`);
  }
}

/**
 * Compares a whole result list. Returns undefined when it matches, otherwise why not.
 */
export function matchResults(expected: readonly SpecValue[], results: readonly bigint[]): string | undefined {
  let want = 0;
  for (const e of expected) want += slotCount(e.type);
  if (results.length !== want) return `expected ${want} result slot(s), got ${results.length}`;
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as SpecValue;
    const n = slotCount(e.type);
    const slots = results.slice(at, at + n);
    at += n;
    if (!matchResult(e, slots)) return `result ${i}: expected ${formatExpected(e)}, got ${formatRaw(e, slots)}`;
  }
  return undefined;
}

/**
 * Compares results against `either` alternatives (relaxed SIMD): each alternative is one complete
 * expected value (the command has one result); the results must match at least one. Returns
 * undefined when one matches, otherwise why none did.
 */
export function matchEither(alternatives: readonly SpecValue[], results: readonly bigint[]): string | undefined {
  const whys: string[] = [];
  for (const alt of alternatives) {
    const why = matchResults([alt], results);
    if (why === undefined) return undefined;
    whys.push(formatExpected(alt));
  }
  const first = alternatives[0];
  const got = first === undefined ? `[${results.join(', ')}]` : formatRaw(first, results);
  return `expected one of ${whys.join(' | ')}, got ${got}`;
}

function hex(v: bigint, width: number): string {
  return `0x${v.toString(16).padStart(width / 4, '0')}`;
}

function formatFloat(bits: bigint, width: 32 | 64): string {
  const buf = new DataView(new ArrayBuffer(8));
  if (width === 32) buf.setUint32(0, Number(bits & MASK32));
  else buf.setBigUint64(0, bits & MASK64);
  const n = width === 32 ? buf.getFloat32(0) : buf.getFloat64(0);
  return `${Object.is(n, -0) ? '-0' : String(n)} (${hex(bits, width)})`;
}

function formatScalar(type: string, bits: bigint): string {
  switch (type) {
    case 'i32':
      return `${bits & MASK32} (${hex(bits & MASK32, 32)})`;
    case 'i64':
      return `${bits & MASK64} (${hex(bits & MASK64, 64)})`;
    case 'f32':
      return formatFloat(bits, 32);
    case 'f64':
      return formatFloat(bits, 64);
    default:
      return String(bits);
  }
}

/** Human-readable text of an expectation, for failure reports. */
export function formatExpected(e: SpecValue): string {
  if (e.value === undefined) return `${e.type}:<any>`;
  if (e.type === 'v128') {
    const lanes = e.value as readonly string[];
    const lt = e.lane_type ?? '?';
    return `v128 ${lt}x${lanes.length} [${lanes.map((l) => (l.startsWith('nan:') ? l : formatScalar(lt, BigInt(l)))).join(', ')}]`;
  }
  const s = e.value as string;
  if (s.startsWith('nan:') || e.type === 'externref' || e.type === 'funcref') return `${e.type}:${s}`;
  return `${e.type}:${formatScalar(e.type, BigInt(s))}`;
}

/** Human-readable text of raw result slots, shaped like the expectation. */
export function formatRaw(e: SpecValue, slots: readonly bigint[]): string {
  if (e.type === 'v128') {
    const lo = slots[0] ?? 0n;
    const hi = slots[1] ?? 0n;
    const lt = e.lane_type ?? 'i64';
    const n = 128 / laneBits(lt);
    const lanes: string[] = [];
    for (let i = 0; i < n; i++) lanes.push(formatScalar(lt, v128Lane(lo, hi, lt, i)));
    return `v128 ${lt}x${n} [${lanes.join(', ')}]`;
  }
  if (e.type === 'externref' || e.type === 'funcref') {
    const raw = slots[0] ?? 0n;
    return raw === 0n ? `${e.type}:null` : `${e.type}:raw ${raw}`;
  }
  return `${e.type}:${formatScalar(e.type, slots[0] ?? 0n)}`;
}

/** Formats call arguments for failure reports. */
export function formatArgs(args: readonly SpecValue[]): string {
  return args.map((a) => formatExpected(a)).join(', ');
}

/**
 * The trap text wasmscope (like wazero) reports for a spec-test trap text. Texts not listed here are
 * expected to be a prefix-compatible match of the engine's trap (see {@link trapMatches}).
 */
export function mapTrapText(specText: string): string {
  switch (specText) {
    case 'undefined element':
    case 'undefined':
    case 'out of bounds table access':
      return 'invalid table access';
    case 'indirect call':
    case 'indirect call type mismatch':
      return 'indirect call type mismatch';
    case 'call stack exhausted':
      return 'stack overflow';
    default:
      if (specText.startsWith('uninitialized')) return 'invalid table access';
      return specText;
  }
}

/**
 * Whether an engine trap text satisfies a spec-test trap text: after {@link mapTrapText}, the expected text must
 * be a prefix of the trap (the reference interpreter's convention for assertion texts).
 */
export function trapMatches(specText: string, trap: string): boolean {
  return trap.startsWith(mapTrapText(specText));
}
