/**
 * Edge-biased random values as raw slots (what `callWithStack` takes: uint64 `bigint`s, v128 as two
 * slots, low half first), and their text form in fixtures and reports.
 */
import { EXTERNREF, F32, F64, FUNCREF, I32, I64, V128 } from './wasm.js';

export type Rnd = () => number;

const I32_EDGES = [
  0, 1, 2, 0xffffffff, 0x7fffffff, 0x80000000, 0x80000001, 0xff, 0x100, 0xffff, 0x10000, 31, 32, 63, 64, 0xfffffffe, 0xfff0,
];
const I64_EDGES = [
  0n,
  1n,
  2n,
  0xffffffffffffffffn,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0x8000000000000001n,
  0xffffffffn,
  0x100000000n,
  0x7fffffffn,
  0x80000000n,
  0xffffffff80000000n,
  63n,
  64n,
  0xfffffffffffffffen,
];
/** f32 bits: ±0, ±inf, quiet and signalling NaNs of both signs with payloads, ±1, denormals, limits of int conversion. */
const F32_EDGES = [
  0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fa00000, 0xffa00000, 0x7f800001, 0x7fc00001, 0xffffffff, 0x7fbfffff,
  0x3f800000, 0xbf800000, 0x00000001, 0x80000001, 0x007fffff, 0x7f7fffff, 0xff7fffff, 0x4f000000, 0xcf000000, 0x4effffff, 0x4f800000,
  0x5f000000, 0xdf000000, 0x3f000000, 0x3fc00000, 0xbfc00000,
];
const F64_EDGES = [
  0n,
  0x8000000000000000n,
  0x7ff0000000000000n,
  0xfff0000000000000n,
  0x7ff8000000000000n,
  0xfff8000000000000n,
  0x7ff4000000000000n,
  0xfff4000000000000n,
  0x7ff0000000000001n,
  0x7ff8000000000001n,
  0xffffffffffffffffn,
  0x7ff7ffffffffffffn,
  0x3ff0000000000000n,
  0xbff0000000000000n,
  0x0000000000000001n,
  0x000fffffffffffffn,
  0x7fefffffffffffffn,
  0x41e0000000000000n, // 2^31
  0xc1e0000000000000n,
  0x41dfffffffc00000n, // 2^31 - 1
  0x41f0000000000000n, // 2^32
  0x43e0000000000000n, // 2^63
  0xc3e0000000000000n,
  0x43f0000000000000n, // 2^64
  0x3fe0000000000000n, // 0.5
  0x3ff8000000000000n, // 1.5
  0xbff8000000000000n,
];

function u32(rnd: Rnd): number {
  return Math.floor(rnd() * 0x100000000);
}

function u64(rnd: Rnd): bigint {
  return (BigInt(u32(rnd)) << 32n) | BigInt(u32(rnd));
}

function pick<T>(rnd: Rnd, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function smallInt(rnd: Rnd): number {
  return (Math.floor(rnd() * 33) - 16) >>> 0;
}

export function randomI32(rnd: Rnd): number {
  const r = rnd();
  if (r < 0.5) return pick(rnd, I32_EDGES);
  if (r < 0.75) return smallInt(rnd);
  return u32(rnd);
}

export function randomI64(rnd: Rnd): bigint {
  const r = rnd();
  if (r < 0.5) return pick(rnd, I64_EDGES);
  if (r < 0.75) return BigInt.asUintN(64, BigInt(Math.floor(rnd() * 33) - 16));
  return u64(rnd);
}

export function randomF32Bits(rnd: Rnd): number {
  const r = rnd();
  if (r < 0.55) return pick(rnd, F32_EDGES);
  if (r < 0.8) {
    const f = new Float32Array([(Math.floor(rnd() * 2001) - 1000) / pick(rnd, [1, 2, 4, 10, 1000])]);
    return new Uint32Array(f.buffer)[0]!;
  }
  return u32(rnd);
}

export function randomF64Bits(rnd: Rnd): bigint {
  const r = rnd();
  if (r < 0.55) return pick(rnd, F64_EDGES);
  if (r < 0.8) {
    const f = new Float64Array([(Math.floor(rnd() * 2001) - 1000) / pick(rnd, [1, 2, 4, 10, 1000])]);
    return new BigUint64Array(f.buffer)[0]!;
  }
  return u64(rnd);
}

/** A v128 as [lo, hi]: lanes of one shape drawn from the edge pools, or random bytes. */
export function randomV128(rnd: Rnd): [bigint, bigint] {
  const r = rnd();
  const b = new BigUint64Array(2);
  if (r < 0.25) {
    const u = new Uint32Array(b.buffer);
    for (let i = 0; i < 4; i++) u[i] = randomI32(rnd);
  } else if (r < 0.45) {
    const u = new Uint32Array(b.buffer);
    for (let i = 0; i < 4; i++) u[i] = randomF32Bits(rnd);
  } else if (r < 0.6) {
    b[0] = randomI64(rnd);
    b[1] = randomI64(rnd);
  } else if (r < 0.75) {
    b[0] = randomF64Bits(rnd);
    b[1] = randomF64Bits(rnd);
  } else if (r < 0.85) {
    const u = new Uint8Array(b.buffer);
    const x = pick(rnd, [0, 0x7f, 0x80, 0xff, 1]);
    u.fill(x);
  } else {
    b[0] = u64(rnd);
    b[1] = u64(rnd);
  }
  return [b[0]!, b[1]!];
}

/** Raw slots for parameters of types `ts` (references are null: 0n). */
export function randomArgs(rnd: Rnd, ts: readonly number[]): bigint[] {
  const out: bigint[] = [];
  for (const t of ts) {
    if (t === I32) out.push(BigInt(randomI32(rnd)));
    else if (t === I64) out.push(randomI64(rnd));
    else if (t === F32) out.push(BigInt(randomF32Bits(rnd)));
    else if (t === F64) out.push(randomF64Bits(rnd));
    else if (t === V128) out.push(...randomV128(rnd));
    else if (t === FUNCREF || t === EXTERNREF) out.push(0n);
    else throw new Error(`no random value of type 0x${t.toString(16)}`);
  }
  return out;
}

const TYPE_NAMES: Record<number, string> = {
  [I32]: 'i32',
  [I64]: 'i64',
  [F32]: 'f32',
  [F64]: 'f64',
  [V128]: 'v128',
  [FUNCREF]: 'funcref',
  [EXTERNREF]: 'externref',
};

export function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `0x${t.toString(16)}`;
}

/**
 * Text of raw slots of types `ts`: `i32:0x…`, `f64:0x…` (bits), `v128:0x<hi><lo>`, and `funcref:null`
 * or `funcref:ref` (a reference's identity cannot be compared across sides; null-ness can).
 * `isNull` tells a reference slot's null-ness (sides hold references differently).
 */
export function formatSlots(ts: readonly number[], slots: readonly unknown[], isNull: (slot: unknown) => boolean): string[] {
  const out: string[] = [];
  let s = 0;
  for (const t of ts) {
    if (t === V128) {
      const lo = slots[s++] as bigint;
      const hi = slots[s++] as bigint;
      out.push(`v128:0x${hi.toString(16).padStart(16, '0')}${lo.toString(16).padStart(16, '0')}`);
    } else if (t === FUNCREF || t === EXTERNREF) {
      out.push(`${typeName(t)}:${isNull(slots[s++]) ? 'null' : 'ref'}`);
    } else {
      const v = slots[s++] as bigint;
      const bits = t === I32 || t === F32 ? BigInt.asUintN(32, v) : BigInt.asUintN(64, v);
      out.push(`${typeName(t)}:0x${bits.toString(16)}`);
    }
  }
  return out;
}

/** Raw slots back from {@link formatSlots}'s text (references become null: 0n). */
export function parseSlots(texts: readonly string[]): bigint[] {
  const out: bigint[] = [];
  for (const x of texts) {
    const [t, v] = x.split(':') as [string, string];
    if (t === 'v128') {
      const n = BigInt(v);
      out.push(n & 0xffffffffffffffffn, n >> 64n);
    } else if (t === 'funcref' || t === 'externref') out.push(0n);
    else out.push(BigInt(v));
  }
  return out;
}
