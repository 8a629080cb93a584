/**
 * Semantics of the fixed-width SIMD instructions (the 0xFD prefix) for the interpreter engine.
 *
 * The interpreter keeps its values in one `ArrayBuffer` of 8-byte slots; a v128 takes 16 bytes
 * (two slots) with little-endian lanes. Every operation here copies its vector operands into
 * module-level scratch vectors, computes the result lane by lane into another scratch vector and
 * copies that to the destination, so the destination may alias any operand and no call allocates.
 *
 * Float lanes follow the spec's NaN rules by always producing the canonical NaN from arithmetic
 * (a canonical NaN is both a valid "canonical" and "arithmetic" result), while pure moves (splat,
 * extract/replace lane, abs, neg, pmin/pmax, loads and stores) copy bits and so keep NaN payloads.
 *
 * The code is table-driven: one factory per shape of logic (lane-wise binary, unary, conversion,
 * narrowing, extension, …) and a table that binds each instruction name to a factory instance.
 *
 * @see https://webassembly.github.io/spec/core/exec/numerics.html
 */
import { CODE_FD, CODE_FD_HI, OPS, opByName } from '../binary/opcodes.js';
import { fmaF32, fmaF64 } from './fma.js';

/** Views over the interpreter's value-stack `ArrayBuffer` (8-byte slots). */
export interface SimdViews {
  u8: Uint8Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
  dv: DataView;
}

// Typed arrays use the host byte order and the stack layout is little-endian.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error('not supported: SIMD on a big-endian host');
}

type LaneKind = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'f32' | 'f64';
type Lanes = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;
type Vec = Record<LaneKind, Lanes> & { readonly i32: Int32Array; readonly u8: Uint8Array; readonly f64: Float64Array };

function vec(): Vec {
  const b = new ArrayBuffer(16);
  return {
    i8: new Int8Array(b),
    u8: new Uint8Array(b),
    i16: new Int16Array(b),
    u16: new Uint16Array(b),
    i32: new Int32Array(b),
    u32: new Uint32Array(b),
    f32: new Float32Array(b),
    f64: new Float64Array(b),
  };
}

/** Scratch operands and result. */
const A = vec();
const B = vec();
const C = vec();
const R = vec();

function load(v: SimdViews, off: number, into: Vec): void {
  const s = v.i32;
  const d = into.i32;
  const k = off >> 2;
  d[0] = s[k]!;
  d[1] = s[k + 1]!;
  d[2] = s[k + 2]!;
  d[3] = s[k + 3]!;
}

function store(v: SimdViews, off: number): void {
  const d = v.i32;
  const s = R.i32;
  const k = off >> 2;
  d[k] = s[0]!;
  d[k + 1] = s[1]!;
  d[k + 2] = s[2]!;
  d[k + 3] = s[3]!;
}

/** Writes an i32 (or f32 bits) result into a slot, zeroing the slot's high half. */
function storeI32(v: SimdViews, off: number, x: number): void {
  const k = off >> 2;
  v.i32[k] = x;
  v.i32[k + 1] = 0;
}

/** Replaces NaN lanes of the float result by the canonical NaN (see the file comment). */
function canon(k: LaneKind): void {
  if (k === 'f32') {
    const r = R.f32;
    for (let i = 0; i < 4; i++) if (r[i]! !== r[i]!) R.i32[i] = 0x7fc00000;
  } else if (k === 'f64') {
    const r = R.f64;
    for (let i = 0; i < 2; i++) {
      if (r[i]! !== r[i]!) {
        R.i32[2 * i] = 0;
        R.i32[2 * i + 1] = 0x7ff80000;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 64-bit integer lanes as (lo, hi) int32 pairs; helpers leave their result in LO/HI.

let LO = 0;
let HI = 0;

/** High 32 bits of the unsigned 64-bit product of two uint32 values. */
function mulhu(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const p0 = al * bl;
  const p1 = ah * bl;
  const p2 = al * bh;
  const mid = (p0 >>> 16) + (p1 & 0xffff) + (p2 & 0xffff);
  return ah * bh + (p1 >>> 16) + (p2 >>> 16) + (mid >>> 16);
}

function add64(al: number, ah: number, bl: number, bh: number): void {
  const lo = (al >>> 0) + (bl >>> 0);
  LO = lo | 0;
  HI = (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0;
}

function sub64(al: number, ah: number, bl: number, bh: number): void {
  const lo = (al >>> 0) - (bl >>> 0);
  LO = lo | 0;
  HI = (ah - bh - (lo < 0 ? 1 : 0)) | 0;
}

function mul64(al: number, ah: number, bl: number, bh: number): void {
  LO = Math.imul(al, bl);
  HI = (mulhu(al >>> 0, bl >>> 0) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
}

/** Signed 32x32 → 64 product (int32 inputs). */
function mul32s(a: number, b: number): void {
  LO = Math.imul(a, b);
  HI = (mulhu(a >>> 0, b >>> 0) - (a < 0 ? b >>> 0 : 0) - (b < 0 ? a >>> 0 : 0)) | 0;
}

/** Unsigned 32x32 → 64 product (uint32 inputs). */
function mul32u(a: number, b: number): void {
  LO = Math.imul(a, b);
  HI = mulhu(a, b) | 0;
}

/** Signed comparison of two 64-bit values: -1, 0 or 1. */
function cmp64(al: number, ah: number, bl: number, bh: number): number {
  if (ah !== bh) return ah < bh ? -1 : 1;
  const l = al >>> 0;
  const r = bl >>> 0;
  return l === r ? 0 : l < r ? -1 : 1;
}

function shl64(lo: number, hi: number, s: number): void {
  if (s === 0) {
    LO = lo;
    HI = hi;
  } else if (s < 32) {
    HI = (hi << s) | (lo >>> (32 - s));
    LO = lo << s;
  } else {
    HI = lo << (s - 32);
    LO = 0;
  }
}

function shr64(lo: number, hi: number, s: number, signed: boolean): void {
  if (s === 0) {
    LO = lo;
    HI = hi;
  } else if (s < 32) {
    LO = (lo >>> s) | (hi << (32 - s));
    HI = signed ? hi >> s : hi >>> s;
  } else {
    LO = signed ? hi >> (s - 32) : hi >>> (s - 32);
    HI = signed ? hi >> 31 : 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar lane functions.

type F1 = (x: number, i: number) => number;
type F2 = (x: number, y: number) => number;

const clamp =
  (lo: number, hi: number) =>
  (x: number): number =>
    x < lo ? lo : x > hi ? hi : x;
const satS8 = clamp(-0x80, 0x7f);
const satU8 = clamp(0, 0xff);
const satS16 = clamp(-0x8000, 0x7fff);
const satU16 = clamp(0, 0xffff);

const MASK = (b: boolean): number => (b ? -1 : 0);
const CMP: Readonly<Record<'eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge', F2>> = {
  eq: (x, y) => MASK(x === y),
  ne: (x, y) => MASK(x !== y),
  lt: (x, y) => MASK(x < y),
  gt: (x, y) => MASK(x > y),
  le: (x, y) => MASK(x <= y),
  ge: (x, y) => MASK(x >= y),
};

function popcnt8(x: number): number {
  x = x - ((x >> 1) & 0x55);
  x = (x & 0x33) + ((x >> 2) & 0x33);
  return (x + (x >> 4)) & 0x0f;
}

const TWO52 = 4503599627370496;
/** Round to nearest integer, ties to even, keeping the sign of zero (inputs are exact doubles). */
function nearest(x: number): number {
  const a = Math.abs(x);
  if (!(a < TWO52)) return x; // already integral, infinite or NaN
  const r = a + TWO52 - TWO52; // the FPU's default rounding mode is ties-to-even
  return x < 0 || Object.is(x, -0) ? -r : r;
}

function truncSatS32(x: number): number {
  if (x !== x) return 0;
  if (x >= 2147483647) return 2147483647;
  if (x <= -2147483648) return -2147483648;
  return Math.trunc(x);
}

function truncSatU32(x: number): number {
  if (x !== x || x <= 0) return 0;
  if (x >= 4294967295) return 4294967295;
  return Math.trunc(x);
}

// ---------------------------------------------------------------------------------------------
// Handler factories, one per shape of logic.

type Handler = (v: SimdViews, dst: number, a: number, b: number, c: number, imm: number, lanes: Uint8Array | undefined) => void;

/** Lane-wise binary op: `r[i] = f(a[i], b[i])`; float results get canonical NaNs. */
function bin(k: LaneKind, f: F2, out: LaneKind = k): Handler {
  const x = A[k];
  const y = B[k];
  const r = R[out];
  const n = x.length;
  return (v, dst, a, b) => {
    load(v, a, A);
    load(v, b, B);
    for (let i = 0; i < n; i++) r[i] = f(x[i]!, y[i]!);
    canon(out);
    store(v, dst);
  };
}

/** Lane-wise unary op or conversion: `r[i] = f(a[i], i)` for the lanes both shapes have; other result lanes are 0. */
function un(k: LaneKind, f: F1, out: LaneKind = k): Handler {
  const x = A[k];
  const r = R[out];
  const n = Math.min(x.length, r.length);
  return (v, dst, a) => {
    load(v, a, A);
    R.i32.fill(0);
    for (let i = 0; i < n; i++) r[i] = f(x[i]!, i);
    canon(out);
    store(v, dst);
  };
}

/** pmin/pmax: picks the `b` lane's bits when `pick(a, b)`, else the `a` lane's bits. */
function pickLane(k: 'f32' | 'f64', pick: (x: number, y: number) => boolean): Handler {
  const x = A[k];
  const y = B[k];
  const w = k === 'f32' ? 1 : 2;
  return (v, dst, a, b) => {
    load(v, a, A);
    load(v, b, B);
    for (let i = 0; i < x.length; i++) {
      const src = pick(x[i]!, y[i]!) ? B.i32 : A.i32;
      for (let j = i * w; j < i * w + w; j++) R.i32[j] = src[j]!;
    }
    store(v, dst);
  };
}

/** f64x2 comparisons: all-ones/all-zeros 64-bit lanes. */
function cmpF64(f: F2): Handler {
  return (v, dst, a, b) => {
    load(v, a, A);
    load(v, b, B);
    for (let i = 0; i < 2; i++) R.i32[2 * i] = R.i32[2 * i + 1] = f(A.f64[i]!, B.f64[i]!);
    store(v, dst);
  };
}

/** i64x2 comparisons: `f` is applied to (signed three-way comparison, 0). */
function cmpI64(f: F2): Handler {
  return (v, dst, a, b) => {
    load(v, a, A);
    load(v, b, B);
    const x = A.i32;
    const y = B.i32;
    for (let i = 0; i < 4; i += 2) R.i32[i] = R.i32[i + 1] = f(cmp64(x[i]!, x[i + 1]!, y[i]!, y[i + 1]!), 0);
    store(v, dst);
  };
}

/** i64x2 binary arithmetic through a pair helper. */
function bin64(f: (al: number, ah: number, bl: number, bh: number) => void): Handler {
  return (v, dst, a, b) => {
    load(v, a, A);
    load(v, b, B);
    const x = A.i32;
    const y = B.i32;
    for (let i = 0; i < 4; i += 2) {
      f(x[i]!, x[i + 1]!, y[i]!, y[i + 1]!);
      R.i32[i] = LO;
      R.i32[i + 1] = HI;
    }
    store(v, dst);
  };
}

/** i64x2 unary arithmetic through a pair helper (abs, neg). */
function un64(f: (lo: number, hi: number) => void): Handler {
  return (v, dst, a) => {
    load(v, a, A);
    const x = A.i32;
    for (let i = 0; i < 4; i += 2) {
      f(x[i]!, x[i + 1]!);
      R.i32[i] = LO;
      R.i32[i + 1] = HI;
    }
    store(v, dst);
  };
}

/** Shifts: `b` is an i32 shift amount taken modulo the lane width. */
function shift(k: LaneKind, f: F2): Handler {
  const x = A[k];
  const r = R[k];
  const mask = x.BYTES_PER_ELEMENT * 8 - 1;
  return (v, dst, a, b) => {
    const s = v.i32[b >> 2]! & mask;
    load(v, a, A);
    for (let i = 0; i < x.length; i++) r[i] = f(x[i]!, s);
    store(v, dst);
  };
}

function shift64(f: (lo: number, hi: number, s: number) => void): Handler {
  return (v, dst, a, b) => {
    const s = v.i32[b >> 2]! & 63;
    load(v, a, A);
    for (let i = 0; i < 4; i += 2) {
      f(A.i32[i]!, A.i32[i + 1]!, s);
      R.i32[i] = LO;
      R.i32[i + 1] = HI;
    }
    store(v, dst);
  };
}

/** Narrowing with saturation: lanes of `a` then lanes of `b`, each through `sat`. */
function narrow(k: LaneKind, out: LaneKind, sat: (x: number) => number): Handler {
  const x = A[k];
  const y = B[k];
  const r = R[out];
  const n = x.length;
  return (v, dst, a, b) => {
    load(v, a, A);
    load(v, b, B);
    for (let i = 0; i < n; i++) {
      r[i] = sat(x[i]!);
      r[n + i] = sat(y[i]!);
    }
    store(v, dst);
  };
}

/** Widens the low or high half of `A` (already loaded) into `R`; 'i64' results are int32 pairs. */
function extendInto(k: LaneKind, out: LaneKind | 'i64', high: boolean): void {
  const x = A[k];
  if (out === 'i64') {
    // 32 → 64 bits: the high word is the sign (a uint32 lane is never negative).
    const off = high ? 2 : 0;
    for (let i = 0; i < 2; i++) {
      const e = x[i + off]!;
      R.i32[2 * i] = e;
      R.i32[2 * i + 1] = e < 0 ? -1 : 0;
    }
    return;
  }
  const r = R[out];
  const off = high ? r.length : 0;
  for (let i = 0; i < r.length; i++) r[i] = x[i + off]!;
}

function extend(k: LaneKind, out: LaneKind | 'i64', high: boolean): Handler {
  return (v, dst, a) => {
    load(v, a, A);
    extendInto(k, out, high);
    store(v, dst);
  };
}

/** Extended multiplication of the low or high halves. */
function extmul(k: LaneKind, out: LaneKind, high: boolean): Handler {
  const x = A[k];
  const y = B[k];
  const r = R[out];
  const off = high ? r.length : 0;
  return (v, dst, a, b) => {
    load(v, a, A);
    load(v, b, B);
    for (let i = 0; i < r.length; i++) r[i] = x[i + off]! * y[i + off]!;
    store(v, dst);
  };
}

function extmul64(signed: boolean, high: boolean): Handler {
  const x = signed ? A.i32 : A.u32;
  const y = signed ? B.i32 : B.u32;
  const off = high ? 2 : 0;
  return (v, dst, a, b) => {
    load(v, a, A);
    load(v, b, B);
    for (let i = 0; i < 2; i++) {
      if (signed) mul32s(x[i + off]!, y[i + off]!);
      else mul32u(x[i + off]!, y[i + off]!);
      R.i32[2 * i] = LO;
      R.i32[2 * i + 1] = HI;
    }
    store(v, dst);
  };
}

/** Pairwise widening addition. */
function extadd(k: LaneKind, out: LaneKind): Handler {
  const x = A[k];
  const r = R[out];
  return (v, dst, a) => {
    load(v, a, A);
    for (let i = 0; i < r.length; i++) r[i] = x[2 * i]! + x[2 * i + 1]!;
    store(v, dst);
  };
}

const dot: Handler = (v, dst, a, b) => {
  load(v, a, A);
  load(v, b, B);
  const x = A.i16;
  const y = B.i16;
  // Only (-0x8000)² + (-0x8000)² overflows, and wraps to 0x80000000 as the spec says.
  for (let i = 0; i < 4; i++) R.i32[i] = x[2 * i]! * y[2 * i]! + x[2 * i + 1]! * y[2 * i + 1]!;
  store(v, dst);
};

const bitselect: Handler = (v, dst, a, b, c) => {
  load(v, a, A);
  load(v, b, B);
  load(v, c, C);
  for (let i = 0; i < 4; i++) R.i32[i] = (A.i32[i]! & C.i32[i]!) | (B.i32[i]! & ~C.i32[i]!);
  store(v, dst);
};

const swizzle: Handler = (v, dst, a, b) => {
  load(v, a, A);
  load(v, b, B);
  for (let i = 0; i < 16; i++) {
    const j = B.u8[i]!;
    R.u8[i] = j < 16 ? A.u8[j]! : 0;
  }
  store(v, dst);
};

const shuffle: Handler = (v, dst, a, b, _c, _imm, lanes) => {
  if (lanes === undefined || lanes.length < 16) throw new Error('i8x16.shuffle: missing lane indices');
  load(v, a, A);
  load(v, b, B);
  for (let i = 0; i < 16; i++) {
    const j = lanes[i]!;
    R.u8[i] = j < 16 ? A.u8[j]! : B.u8[(j - 16) & 15]!;
  }
  store(v, dst);
};

/** Splat of an i32 or f32-bits scalar (f32 splat copies bits through the i32 view). */
function splat(k: 'i8' | 'i16' | 'i32'): Handler {
  const r = R[k];
  return (v, dst, a) => {
    r.fill(v.i32[a >> 2]!);
    store(v, dst);
  };
}

/** Splat of an i64 or f64-bits scalar. */
const splat64: Handler = (v, dst, a) => {
  const lo = v.i32[a >> 2]!;
  const hi = v.i32[(a >> 2) + 1]!;
  R.i32[0] = R.i32[2] = lo;
  R.i32[1] = R.i32[3] = hi;
  store(v, dst);
};

/** Extract lane to an i32 (or f32-bits) scalar. */
function extractLane(k: LaneKind): Handler {
  const x = A[k];
  return (v, dst, a, _b, _c, imm) => {
    load(v, a, A);
    storeI32(v, dst, x[imm]!);
  };
}

const extractLane64: Handler = (v, dst, a, _b, _c, imm) => {
  load(v, a, A);
  const k = dst >> 2;
  v.i32[k] = A.i32[2 * imm]!;
  v.i32[k + 1] = A.i32[2 * imm + 1]!;
};

function replaceLane(k: 'i8' | 'i16' | 'i32'): Handler {
  const r = R[k];
  return (v, dst, a, b, _c, imm) => {
    load(v, a, R);
    r[imm] = v.i32[b >> 2]!;
    store(v, dst);
  };
}

const replaceLane64: Handler = (v, dst, a, b, _c, imm) => {
  load(v, a, R);
  R.i32[2 * imm] = v.i32[b >> 2]!;
  R.i32[2 * imm + 1] = v.i32[(b >> 2) + 1]!;
  store(v, dst);
};

/** bitmask: bit i is the sign of lane i (for i64x2 the sign lives in the high word). */
function bitmask(k: LaneKind, stride: number): Handler {
  const x = A[k];
  const n = x.length / stride;
  return (v, dst, a) => {
    load(v, a, A);
    let m = 0;
    for (let i = 0; i < n; i++) if (x[i * stride + stride - 1]! < 0) m |= 1 << i;
    storeI32(v, dst, m);
  };
}

function allTrue(k: LaneKind, stride: number): Handler {
  const x = A[k];
  const n = x.length / stride;
  return (v, dst, a) => {
    load(v, a, A);
    let ok = 1;
    for (let i = 0; i < n; i++) {
      let lane = 0;
      for (let j = 0; j < stride; j++) lane |= x[i * stride + j]!;
      if (lane === 0) ok = 0;
    }
    storeI32(v, dst, ok);
  };
}

const anyTrue: Handler = (v, dst, a) => {
  load(v, a, A);
  storeI32(v, dst, (A.i32[0]! | A.i32[1]! | A.i32[2]! | A.i32[3]!) !== 0 ? 1 : 0);
};

// ---------------------------------------------------------------------------------------------
// The instruction table.

/** By 0xFD sub-opcode: 0..0xff, and the relaxed SIMD instructions from 0x100. */
const HANDLERS: Array<Handler | undefined> = new Array<Handler | undefined>(0x200).fill(undefined);

function def(name: string, h: Handler): void {
  const info = opByName(name);
  if (info === undefined) throw new Error(`simd: unknown instruction ${name}`);
  if ((info.code & ~0xff) === CODE_FD) HANDLERS[info.code - CODE_FD] = h;
  else if (info.code >= CODE_FD_HI) HANDLERS[info.code - CODE_FD_HI + 0x100] = h;
  else throw new Error(`simd: not a SIMD instruction ${name}`);
}

const INT_SHAPES = [
  { name: 'i8x16', s: 'i8', u: 'u8', sat: [satS8, satU8] },
  { name: 'i16x8', s: 'i16', u: 'u16', sat: [satS16, satU16] },
  { name: 'i32x4', s: 'i32', u: 'u32', sat: undefined },
] as const;

const F2S: ReadonlyArray<readonly ['f32x4' | 'f64x2', 'f32' | 'f64']> = [
  ['f32x4', 'f32'],
  ['f64x2', 'f64'],
];

function buildTable(): void {
  // Splats, lanes.
  def('i8x16.splat', splat('i8'));
  def('i16x8.splat', splat('i16'));
  def('i32x4.splat', splat('i32'));
  def('f32x4.splat', splat('i32'));
  def('i64x2.splat', splat64);
  def('f64x2.splat', splat64);
  def('i8x16.extract_lane_s', extractLane('i8'));
  def('i8x16.extract_lane_u', extractLane('u8'));
  def('i16x8.extract_lane_s', extractLane('i16'));
  def('i16x8.extract_lane_u', extractLane('u16'));
  def('i32x4.extract_lane', extractLane('i32'));
  def('f32x4.extract_lane', extractLane('i32'));
  def('i64x2.extract_lane', extractLane64);
  def('f64x2.extract_lane', extractLane64);
  def('i8x16.replace_lane', replaceLane('i8'));
  def('i16x8.replace_lane', replaceLane('i16'));
  def('i32x4.replace_lane', replaceLane('i32'));
  def('f32x4.replace_lane', replaceLane('i32'));
  def('i64x2.replace_lane', replaceLane64);
  def('f64x2.replace_lane', replaceLane64);
  def('i8x16.shuffle', shuffle);
  def('i8x16.swizzle', swizzle);

  // Bitwise.
  def(
    'v128.not',
    un('i32', (x) => ~x),
  );
  def(
    'v128.and',
    bin('i32', (x, y) => x & y),
  );
  def(
    'v128.andnot',
    bin('i32', (x, y) => x & ~y),
  );
  def(
    'v128.or',
    bin('i32', (x, y) => x | y),
  );
  def(
    'v128.xor',
    bin('i32', (x, y) => x ^ y),
  );
  def('v128.bitselect', bitselect);
  def('v128.any_true', anyTrue);

  // Integer shapes i8x16, i16x8, i32x4: typed-array stores wrap results to the lane width.
  for (const { name, s, u, sat } of INT_SHAPES) {
    def(`${name}.eq`, bin(s, CMP.eq));
    def(`${name}.ne`, bin(s, CMP.ne));
    for (const p of ['lt', 'gt', 'le', 'ge'] as const) {
      def(`${name}.${p}_s`, bin(s, CMP[p]));
      def(`${name}.${p}_u`, bin(u, CMP[p]));
    }
    def(
      `${name}.abs`,
      un(s, (x) => Math.abs(x)),
    );
    def(
      `${name}.neg`,
      un(s, (x) => -x),
    );
    def(`${name}.all_true`, allTrue(s, 1));
    def(`${name}.bitmask`, bitmask(s, 1));
    def(
      `${name}.shl`,
      shift(s, (x, n) => x << n),
    );
    def(
      `${name}.shr_s`,
      shift(s, (x, n) => x >> n),
    );
    def(
      `${name}.shr_u`,
      shift(u, (x, n) => x >>> n),
    );
    def(
      `${name}.add`,
      bin(s, (x, y) => x + y),
    );
    def(
      `${name}.sub`,
      bin(s, (x, y) => x - y),
    );
    def(`${name}.min_s`, bin(s, Math.min));
    def(`${name}.min_u`, bin(u, Math.min));
    def(`${name}.max_s`, bin(s, Math.max));
    def(`${name}.max_u`, bin(u, Math.max));
    if (sat !== undefined) {
      const [ss, su] = sat;
      def(
        `${name}.add_sat_s`,
        bin(s, (x, y) => ss(x + y)),
      );
      def(
        `${name}.add_sat_u`,
        bin(u, (x, y) => su(x + y)),
      );
      def(
        `${name}.sub_sat_s`,
        bin(s, (x, y) => ss(x - y)),
      );
      def(
        `${name}.sub_sat_u`,
        bin(u, (x, y) => su(x - y)),
      );
      def(
        `${name}.avgr_u`,
        bin(u, (x, y) => (x + y + 1) >>> 1),
      );
    }
  }
  def(
    'i16x8.mul',
    bin('i16', (x, y) => x * y),
  );
  def('i32x4.mul', bin('i32', Math.imul));
  def('i8x16.popcnt', un('u8', popcnt8));
  def(
    'i16x8.q15mulr_sat_s',
    bin('i16', (x, y) => satS16((x * y + 0x4000) >> 15)),
  );
  def('i32x4.dot_i16x8_s', dot);

  // Narrowing (inputs are signed, also for the unsigned-saturating forms), widening.
  def('i8x16.narrow_i16x8_s', narrow('i16', 'i8', satS8));
  def('i8x16.narrow_i16x8_u', narrow('i16', 'u8', satU8));
  def('i16x8.narrow_i32x4_s', narrow('i32', 'i16', satS16));
  def('i16x8.narrow_i32x4_u', narrow('i32', 'u16', satU16));
  const WIDEN = [
    ['i16x8', 'i8x16', 'i8', 'u8', 'i16'],
    ['i32x4', 'i16x8', 'i16', 'u16', 'i32'],
    ['i64x2', 'i32x4', 'i32', 'u32', 'i64'],
  ] as const;
  for (const [to, from, s, u, out] of WIDEN) {
    for (const half of ['low', 'high'] as const) {
      const high = half === 'high';
      def(`${to}.extend_${half}_${from}_s`, extend(s, out, high));
      def(`${to}.extend_${half}_${from}_u`, extend(u, out, high));
      if (out === 'i64') {
        def(`${to}.extmul_${half}_${from}_s`, extmul64(true, high));
        def(`${to}.extmul_${half}_${from}_u`, extmul64(false, high));
      } else {
        def(`${to}.extmul_${half}_${from}_s`, extmul(s, out, high));
        def(`${to}.extmul_${half}_${from}_u`, extmul(u, out, high));
      }
    }
    if (out !== 'i64') {
      def(`${to}.extadd_pairwise_${from}_s`, extadd(s, out));
      def(`${to}.extadd_pairwise_${from}_u`, extadd(u, out));
    }
  }

  // i64x2.
  def('i64x2.eq', cmpI64(CMP.eq));
  def('i64x2.ne', cmpI64(CMP.ne));
  for (const p of ['lt', 'gt', 'le', 'ge'] as const) def(`i64x2.${p}_s`, cmpI64(CMP[p]));
  def('i64x2.add', bin64(add64));
  def('i64x2.sub', bin64(sub64));
  def('i64x2.mul', bin64(mul64));
  def(
    'i64x2.neg',
    un64((lo, hi) => sub64(0, 0, lo, hi)),
  );
  def(
    'i64x2.abs',
    un64((lo, hi) => {
      if (hi < 0) sub64(0, 0, lo, hi);
      else {
        LO = lo;
        HI = hi;
      }
    }),
  );
  def('i64x2.all_true', allTrue('i32', 2));
  def('i64x2.bitmask', bitmask('i32', 2));
  def('i64x2.shl', shift64(shl64));
  def(
    'i64x2.shr_s',
    shift64((lo, hi, s) => shr64(lo, hi, s, true)),
  );
  def(
    'i64x2.shr_u',
    shift64((lo, hi, s) => shr64(lo, hi, s, false)),
  );

  // Floats. Arithmetic runs in double; the Float32Array store rounds like Math.fround, which is
  // exact for + - * / sqrt of f32 operands.
  for (const [name, k] of F2S) {
    for (const p of ['eq', 'ne', 'lt', 'gt', 'le', 'ge'] as const) {
      def(`${name}.${p}`, k === 'f32' ? bin(k, CMP[p], 'i32') : cmpF64(CMP[p]));
    }
    def(
      `${name}.add`,
      bin(k, (x, y) => x + y),
    );
    def(
      `${name}.sub`,
      bin(k, (x, y) => x - y),
    );
    def(
      `${name}.mul`,
      bin(k, (x, y) => x * y),
    );
    def(
      `${name}.div`,
      bin(k, (x, y) => x / y),
    );
    // Math.min/max propagate NaN and order -0 below +0, as the spec requires.
    def(`${name}.min`, bin(k, Math.min));
    def(`${name}.max`, bin(k, Math.max));
    def(
      `${name}.pmin`,
      pickLane(k, (x, y) => y < x),
    );
    def(
      `${name}.pmax`,
      pickLane(k, (x, y) => x < y),
    );
    def(`${name}.sqrt`, un(k, Math.sqrt));
    def(`${name}.ceil`, un(k, Math.ceil));
    def(`${name}.floor`, un(k, Math.floor));
    def(`${name}.trunc`, un(k, Math.trunc));
    def(`${name}.nearest`, un(k, nearest));
  }
  // abs/neg only touch the sign bit (the high word of an f64 lane), keeping NaN payloads.
  def(
    'f32x4.abs',
    un('i32', (x) => x & 0x7fffffff),
  );
  def(
    'f32x4.neg',
    un('i32', (x) => x ^ 0x80000000),
  );
  def(
    'f64x2.abs',
    un('i32', (x, i) => ((i & 1) === 1 ? x & 0x7fffffff : x)),
  );
  def(
    'f64x2.neg',
    un('i32', (x, i) => ((i & 1) === 1 ? x ^ 0x80000000 : x)),
  );

  // Conversions (`un` zeroes result lanes the input shape lacks: the `_zero` forms).
  const id = (x: number): number => x;
  def('i32x4.trunc_sat_f32x4_s', un('f32', truncSatS32, 'i32'));
  def('i32x4.trunc_sat_f32x4_u', un('f32', truncSatU32, 'i32'));
  def('i32x4.trunc_sat_f64x2_s_zero', un('f64', truncSatS32, 'i32'));
  def('i32x4.trunc_sat_f64x2_u_zero', un('f64', truncSatU32, 'i32'));
  def('f32x4.convert_i32x4_s', un('i32', id, 'f32'));
  def('f32x4.convert_i32x4_u', un('u32', id, 'f32'));
  def('f64x2.convert_low_i32x4_s', un('i32', id, 'f64'));
  def('f64x2.convert_low_i32x4_u', un('u32', id, 'f64'));
  def('f32x4.demote_f64x2_zero', un('f64', id, 'f32'));
  def('f64x2.promote_low_f32x4', un('f32', id, 'f64'));
  buildRelaxed();
}

// ---------------------------------------------------------------------------------------------
// Relaxed SIMD: the results V8 gives on x64 (SSE4.1/AVX with FMA), each within the spec's set.

/** cvttps2dq/cvttpd2dq: truncation, 0x80000000 for NaN and out-of-range lanes. */
function truncX64(x: number): number {
  return x !== x || x >= 2147483648 || x < -2147483648 ? -2147483648 : Math.trunc(x);
}

/** pshufb: a set top bit gives 0, else the low four bits index `a`. */
const relaxedSwizzle: Handler = (v, dst, a, b) => {
  load(v, a, A);
  load(v, b, B);
  for (let i = 0; i < 16; i++) {
    const j = B.u8[i]!;
    R.u8[i] = (j & 0x80) !== 0 ? 0 : A.u8[j & 15]!;
  }
  store(v, dst);
};

/**
 * Lane select by the mask's top bit per `width` bytes (pblendvb for i8x16 and i16x8, blendvps,
 * blendvpd): `a`'s lane where it is set, `b`'s elsewhere.
 */
function laneSelect(width: number): Handler {
  return (v, dst, a, b, c) => {
    load(v, a, A);
    load(v, b, B);
    load(v, c, C);
    for (let i = 0; i < 16; i += width) {
      const src = (C.u8[i + width - 1]! & 0x80) !== 0 ? A.u8 : B.u8;
      for (let j = i; j < i + width; j++) R.u8[j] = src[j]!;
    }
    store(v, dst);
  };
}

/** minps/maxps (and the pd forms): `a`'s lane when `pick(a, b)`, else `b`'s, bit for bit (NaN, ±0). */
function relaxedMinMax(k: 'f32' | 'f64', max: boolean): Handler {
  return pickLane(k, max ? (x, y) => !(x > y) : (x, y) => !(x < y));
}

const F32_DEFAULT_NAN = 0xffc00000 | 0;

/**
 * vfmadd/vfnmadd: a NaN operand propagates, quieted, in the order b, a, c (what V8's instruction
 * forms give); an invalid operation (inf × 0, inf − inf) without one gives x64's default NaN.
 */
function madd(k: 'f32' | 'f64', negate: boolean): Handler {
  const x = A[k];
  const y = B[k];
  const z = C[k];
  const w = k === 'f32' ? 1 : 2;
  const fma = k === 'f32' ? fmaF32 : fmaF64;
  const r = R[k];
  return (v, dst, a, b, c) => {
    load(v, a, A);
    load(v, b, B);
    load(v, c, C);
    for (let i = 0; i < x.length; i++) {
      const av = x[i]!;
      const bv = y[i]!;
      const cv = z[i]!;
      const nan = bv !== bv ? B : av !== av ? A : cv !== cv ? C : undefined;
      if (nan !== undefined) {
        for (let j = i * w; j < i * w + w; j++) R.i32[j] = nan.i32[j]!;
        const top = i * w + w - 1;
        R.i32[top] = R.i32[top]! | (k === 'f32' ? 0x00400000 : 0x00080000);
        continue;
      }
      const pa = negate ? -av : av;
      if (!Number.isFinite(av) || !Number.isFinite(bv) || !Number.isFinite(cv)) {
        // A product of finite operands is finite before rounding (it never overflows to meet an
        // infinite addend); an infinite operand's product is infinite, or invalid times zero.
        const res = Number.isFinite(av) && Number.isFinite(bv) ? cv : pa * bv + cv;
        if (res === res) r[i] = res;
        else if (w === 1) R.i32[i] = F32_DEFAULT_NAN;
        else {
          R.i32[2 * i] = 0;
          R.i32[2 * i + 1] = 0xfff80000 | 0;
        }
        continue;
      }
      r[i] = fma(pa, bv, cv);
    }
    store(v, dst);
  };
}

/** pmaddubsw(b unsigned, a signed): per i16 lane, the saturated sum of two byte products. */
function dotI7Pair(i: number): number {
  const p = B.u8[2 * i]! * A.i8[2 * i]! + B.u8[2 * i + 1]! * A.i8[2 * i + 1]!;
  return p > 0x7fff ? 0x7fff : p < -0x8000 ? -0x8000 : p;
}

const relaxedDot: Handler = (v, dst, a, b) => {
  load(v, a, A);
  load(v, b, B);
  for (let i = 0; i < 8; i++) R.i16[i] = dotI7Pair(i);
  store(v, dst);
};

/**
 * vpdpbusd (AVX-VNNI, which V8 uses where the CPU has it, as here): per i32 lane, the sum of four
 * unsigned-by-signed byte products plus the addend, without the 16-bit saturation of pmaddubsw.
 */
const relaxedDotAdd: Handler = (v, dst, a, b, c) => {
  load(v, a, A);
  load(v, b, B);
  load(v, c, C);
  for (let i = 0; i < 4; i++) {
    let sum = C.i32[i]!;
    for (let k = 4 * i; k < 4 * i + 4; k++) sum += B.u8[k]! * A.i8[k]!;
    R.i32[i] = sum | 0;
  }
  store(v, dst);
};

function buildRelaxed(): void {
  def('i8x16.relaxed_swizzle', relaxedSwizzle);
  def('i32x4.relaxed_trunc_f32x4_s', un('f32', truncX64, 'i32'));
  def('i32x4.relaxed_trunc_f32x4_u', un('f32', truncSatU32, 'i32'));
  def('i32x4.relaxed_trunc_f64x2_s_zero', un('f64', truncX64, 'i32'));
  def('i32x4.relaxed_trunc_f64x2_u_zero', un('f64', truncSatU32, 'i32'));
  def('f32x4.relaxed_madd', madd('f32', false));
  def('f32x4.relaxed_nmadd', madd('f32', true));
  def('f64x2.relaxed_madd', madd('f64', false));
  def('f64x2.relaxed_nmadd', madd('f64', true));
  def('i8x16.relaxed_laneselect', laneSelect(1));
  def('i16x8.relaxed_laneselect', laneSelect(1));
  def('i32x4.relaxed_laneselect', laneSelect(4));
  def('i64x2.relaxed_laneselect', laneSelect(8));
  def('f32x4.relaxed_min', relaxedMinMax('f32', false));
  def('f32x4.relaxed_max', relaxedMinMax('f32', true));
  def('f64x2.relaxed_min', relaxedMinMax('f64', false));
  def('f64x2.relaxed_max', relaxedMinMax('f64', true));
  def(
    'i16x8.relaxed_q15mulr_s',
    bin('i16', (x, y) => (x * y + 0x4000) >> 15),
  );
  def('i16x8.relaxed_dot_i8x16_i7x16_s', relaxedDot);
  def('i32x4.relaxed_dot_i8x16_i7x16_add_s', relaxedDotAdd);
}
buildTable();

/**
 * Executes one non-memory SIMD instruction (every 0xFD instruction except loads, stores and
 * `v128.const`) on the interpreter's value stack.
 *
 * @param sub - the 0xFD sub-opcode.
 * @param v - views over the value-stack buffer.
 * @param dst - byte offset of the result (a v128 or a scalar slot); may alias an operand.
 * @param a - byte offset of the first operand (the vector, or the scalar of a splat).
 * @param b - byte offset of the second operand (vector, shift amount or replace_lane scalar).
 * @param c - byte offset of the third operand (the bitselect mask).
 * @param imm - the lane index of extract_lane/replace_lane.
 * @param lanes - the 16 lane indices of i8x16.shuffle.
 * @throws Error for sub-opcodes that are not non-memory SIMD instructions.
 */
export function simdExec(
  sub: number,
  v: SimdViews,
  dst: number,
  a: number,
  b: number,
  c: number,
  imm: number,
  lanes: Uint8Array | undefined,
): void {
  const h = HANDLERS[sub];
  if (h === undefined) throw new Error(`not a SIMD operation: ${OPS[CODE_FD + sub]?.name ?? `0xfd ${sub}`}`);
  h(v, dst, a, b, c, imm, lanes);
}

/** Whether `simdExec` implements the sub-opcode (for the lowering and tests). */
export function simdExecSupports(sub: number): boolean {
  return HANDLERS[sub] !== undefined;
}

/**
 * Executes one SIMD memory instruction: the v128 loads (plain, extending, splat, zero, lane) and
 * stores (plain, lane). The caller has already bounds-checked `ea + memBytes <= mem.length`.
 *
 * @param sub - the 0xFD sub-opcode.
 * @param v - views over the value-stack buffer.
 * @param mem - the linear memory.
 * @param ea - the effective address.
 * @param dst - byte offset of the loaded v128 (loads only); may alias `val`.
 * @param val - byte offset of the v128 operand (stores and `load*_lane`).
 * @param lane - the lane index of `load*_lane`/`store*_lane`.
 * @throws Error('not a SIMD memory op') for other sub-opcodes.
 */
export function simdMem(sub: number, v: SimdViews, mem: Uint8Array, ea: number, dst: number, val: number, lane: number): void {
  const r = R.u8;
  switch (sub) {
    case 0x00: // v128.load
      for (let i = 0; i < 16; i++) r[i] = mem[ea + i]!;
      break;
    case 0x01: // v128.load8x8_s … v128.load32x2_u: 8 bytes widened
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06: {
      for (let i = 0; i < 8; i++) A.u8[i] = mem[ea + i]!;
      const e = LOAD_EXTEND[sub - 1]!;
      extendInto(e[0], e[1], false);
      break;
    }
    case 0x07: // v128.load8_splat … load64_splat
    case 0x08:
    case 0x09:
    case 0x0a: {
      const n = 1 << (sub - 0x07);
      for (let i = 0; i < 16; i++) r[i] = mem[ea + (i & (n - 1))]!;
      break;
    }
    case 0x0b: // v128.store
      for (let i = 0; i < 16; i++) mem[ea + i] = v.u8[val + i]!;
      return;
    case 0x54: // v128.load8_lane … load64_lane
    case 0x55:
    case 0x56:
    case 0x57: {
      const n = 1 << (sub - 0x54);
      load(v, val, R);
      for (let i = 0; i < n; i++) r[lane * n + i] = mem[ea + i]!;
      break;
    }
    case 0x58: // v128.store8_lane … store64_lane
    case 0x59:
    case 0x5a:
    case 0x5b: {
      const n = 1 << (sub - 0x58);
      for (let i = 0; i < n; i++) mem[ea + i] = v.u8[val + lane * n + i]!;
      return;
    }
    case 0x5c: // v128.load32_zero, v128.load64_zero
    case 0x5d: {
      const n = sub === 0x5c ? 4 : 8;
      r.fill(0);
      for (let i = 0; i < n; i++) r[i] = mem[ea + i]!;
      break;
    }
    default:
      throw new Error('not a SIMD memory op');
  }
  store(v, dst);
}

const LOAD_EXTEND: ReadonlyArray<readonly [LaneKind, LaneKind | 'i64']> = [
  ['i8', 'i16'],
  ['u8', 'u16'],
  ['i16', 'i32'],
  ['u16', 'u32'],
  ['i32', 'i64'],
  ['u32', 'i64'],
];
