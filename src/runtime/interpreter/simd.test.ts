import { describe, expect, it } from 'vitest';
import { CODE_FD, OPS, opByName } from '../binary/opcodes.js';
import { simdExec, simdExecSupports, simdMem, type SimdViews } from './simd.js';

const buf = new ArrayBuffer(128);
const v: SimdViews = {
  u8: new Uint8Array(buf),
  i32: new Int32Array(buf),
  f32: new Float32Array(buf),
  f64: new Float64Array(buf),
  dv: new DataView(buf),
};
const dv = v.dv;

// Operand slots (byte offsets, 8-aligned) and the result slot.
const A = 8;
const B = 32;
const C = 56;
const D = 88;

function sub(name: string): number {
  const info = opByName(name);
  if (info === undefined) throw new Error(name);
  return info.code - CODE_FD;
}

function reset(): void {
  v.u8.fill(0xcd);
}

function setU32s(off: number, lanes: number[]): void {
  lanes.forEach((x, i) => dv.setUint32(off + 4 * i, x >>> 0, true));
}
function setF32s(off: number, lanes: number[]): void {
  lanes.forEach((x, i) => dv.setFloat32(off + 4 * i, x, true));
}
function setF64s(off: number, lanes: number[]): void {
  lanes.forEach((x, i) => dv.setFloat64(off + 8 * i, x, true));
}
function setI16s(off: number, lanes: number[]): void {
  lanes.forEach((x, i) => dv.setInt16(off + 2 * i, x, true));
}
function setU8s(off: number, lanes: number[]): void {
  lanes.forEach((x, i) => dv.setUint8(off + i, x));
}
function setI64s(off: number, lanes: bigint[]): void {
  lanes.forEach((x, i) => dv.setBigInt64(off + 8 * i, x, true));
}
const u32s = (off: number): number[] => [0, 1, 2, 3].map((i) => dv.getUint32(off + 4 * i, true));
const i16s = (off: number): number[] => [0, 1, 2, 3, 4, 5, 6, 7].map((i) => dv.getInt16(off + 2 * i, true));
const u8s = (off: number): number[] => [...v.u8.slice(off, off + 16)];
const i64s = (off: number): bigint[] => [0, 1].map((i) => dv.getBigInt64(off + 8 * i, true));
const f32s = (off: number): number[] => [0, 1, 2, 3].map((i) => dv.getFloat32(off + 4 * i, true));
const f64s = (off: number): number[] => [0, 1].map((i) => dv.getFloat64(off + 8 * i, true));

function exec(name: string, dst = D, imm = 0, lanes?: Uint8Array): void {
  simdExec(sub(name), v, dst, A, B, C, imm, lanes);
}

describe('simdExec dispatch', () => {
  it('implements every non-memory 0xFD instruction except v128.const', () => {
    const missing: string[] = [];
    for (let s = 0; s < 256; s++) {
      const info = OPS[CODE_FD + s];
      if (info === undefined || s === 0x0c || info.imm === 'memarg' || info.imm === 'memlane') continue;
      if (!simdExecSupports(s)) missing.push(info.name);
    }
    expect(missing).toEqual([]);
  });

  it('rejects memory instructions, v128.const and unknown sub-opcodes', () => {
    expect(() => exec('v128.load')).toThrow(/not a SIMD operation: v128.load/);
    expect(() => exec('v128.const')).toThrow(/not a SIMD operation/);
    expect(() => simdExec(0x9a, v, D, A, B, C, 0, undefined)).toThrow(/not a SIMD operation/);
  });

  it('rejects non-memory instructions in simdMem', () => {
    expect(() => simdMem(sub('i8x16.add'), v, new Uint8Array(16), 0, D, A, 0)).toThrow('not a SIMD memory op');
  });
});

describe('float lanes that are pure bit moves keep NaN payloads', () => {
  const SNAN32 = 0x7f800001;
  it('f32x4.abs and f32x4.neg only touch the sign bit', () => {
    reset();
    setU32s(A, [SNAN32, 0xffc12345, 0x80000000, 0x3f800000]);
    exec('f32x4.abs');
    expect(u32s(D)).toEqual([SNAN32, 0x7fc12345, 0, 0x3f800000]);
    exec('f32x4.neg');
    expect(u32s(D)).toEqual([0xff800001, 0x7fc12345, 0, 0xbf800000]);
  });

  it('f64x2.abs and f64x2.neg only touch the sign bit of each 64-bit lane', () => {
    reset();
    setU32s(A, [0x00000001, 0xfff00000, 0x89abcdef, 0x7ff40000]);
    exec('f64x2.abs');
    expect(u32s(D)).toEqual([0x00000001, 0x7ff00000, 0x89abcdef, 0x7ff40000]);
    exec('f64x2.neg');
    expect(u32s(D)).toEqual([0x00000001, 0x7ff00000, 0x89abcdef, 0xfff40000]);
  });

  it('splat, extract_lane and replace_lane copy signalling NaN bits', () => {
    reset();
    dv.setUint32(A, SNAN32, true);
    exec('f32x4.splat');
    expect(u32s(D)).toEqual([SNAN32, SNAN32, SNAN32, SNAN32]);

    reset();
    setU32s(A, [0, 0, SNAN32, 0]);
    exec('f32x4.extract_lane', D, 2);
    expect(dv.getUint32(D, true)).toBe(SNAN32);
    expect(dv.getUint32(D + 4, true)).toBe(0);

    reset();
    setU32s(A, [1, 2, 3, 4]);
    dv.setUint32(B, SNAN32, true);
    exec('f32x4.replace_lane', D, 1);
    expect(u32s(D)).toEqual([1, SNAN32, 3, 4]);

    reset();
    setU32s(A, [1, 2, 3, 4]);
    setU32s(B, [0x00000005, 0x7ff00000]);
    exec('f64x2.replace_lane', D, 1);
    expect(u32s(D)).toEqual([1, 2, 5, 0x7ff00000]);
    simdExec(sub('f64x2.extract_lane'), v, C, D, B, C, 1, undefined);
    expect(u32s(C).slice(0, 2)).toEqual([5, 0x7ff00000]);
  });

  it('pmin/pmax select the lane bits as b < a ? b : a and a < b ? b : a', () => {
    reset();
    setU32s(A, [SNAN32, 0x3f800000, 0x80000000, 0x00000000]);
    setU32s(B, [0x3f800000, 0x7fc00001, 0x00000000, 0x80000000]);
    exec('f32x4.pmin');
    // NaN compares false, so a is chosen; -0 and +0 compare equal, so a is chosen.
    expect(u32s(D)).toEqual([SNAN32, 0x3f800000, 0x80000000, 0x00000000]);
    exec('f32x4.pmax');
    expect(u32s(D)).toEqual([SNAN32, 0x3f800000, 0x80000000, 0x00000000]);
    setF32s(B, [2, 0.5, -1, 1]);
    exec('f32x4.pmax');
    expect(u32s(D)).toEqual([SNAN32, 0x3f800000, 0x80000000, 0x3f800000]);
  });
});

describe('float arithmetic', () => {
  it('produces canonical NaNs, including from signalling NaN inputs', () => {
    reset();
    setU32s(A, [0x7f800001, 0xffc12345, 0x7f800000, 0]);
    setF32s(B, [1, 1, -Infinity, 0]);
    dv.setFloat32(B + 12, 0, true);
    exec('f32x4.add');
    expect(u32s(D).map((x) => x & 0x7fffffff)).toEqual([0x7fc00000, 0x7fc00000, 0x7fc00000, 0]);
    exec('f32x4.div');
    expect(u32s(D)[3]! & 0x7fffffff).toBe(0x7fc00000); // 0/0
  });

  it('orders -0 below +0 in min and max and propagates NaN', () => {
    reset();
    setF32s(A, [0, -0, NaN, 1]);
    setF32s(B, [-0, 0, 1, NaN]);
    exec('f32x4.min');
    expect(f32s(D).map((x) => (Object.is(x, -0) ? '-0' : String(x)))).toEqual(['-0', '-0', 'NaN', 'NaN']);
    exec('f32x4.max');
    expect(f32s(D).map((x) => (Object.is(x, -0) ? '-0' : String(x)))).toEqual(['0', '0', 'NaN', 'NaN']);
    setF64s(A, [0, -0]);
    setF64s(B, [-0, 0]);
    exec('f64x2.min');
    expect(f64s(D).map((x) => Object.is(x, -0))).toEqual([true, true]);
  });

  it('rounds f32 lane results once (add of values needing rounding)', () => {
    reset();
    setF32s(A, [16777216, 1, 3.4028234663852886e38, 0.1]);
    setF32s(B, [1, 1e-8, 3.4028234663852886e38, 0.2]);
    exec('f32x4.add');
    expect(f32s(D)).toEqual([16777216, 1, Infinity, Math.fround(Math.fround(0.1) + Math.fround(0.2))]);
  });

  it('rounds nearest ties to even and keeps the sign of zero', () => {
    reset();
    setF32s(A, [0.5, 1.5, 2.5, -0.5]);
    exec('f32x4.nearest');
    expect(f32s(D).map((x) => (Object.is(x, -0) ? '-0' : x))).toEqual([0, 2, 2, '-0']);
    setF64s(A, [-2.5, 4503599627370497]);
    exec('f64x2.nearest');
    expect(f64s(D)).toEqual([-2, 4503599627370497]);
    setF32s(A, [-0.5, 0.5, -1.5, 1.5]);
    exec('f32x4.ceil');
    expect(f32s(D).map((x) => (Object.is(x, -0) ? '-0' : x))).toEqual(['-0', 1, -1, 2]);
  });

  it('compares lanes to all-ones/all-zeros masks with IEEE NaN semantics', () => {
    reset();
    setF64s(A, [NaN, -0]);
    setF64s(B, [NaN, 0]);
    exec('f64x2.eq');
    expect(u32s(D)).toEqual([0, 0, 0xffffffff, 0xffffffff]);
    exec('f64x2.ne');
    expect(u32s(D)).toEqual([0xffffffff, 0xffffffff, 0, 0]);
  });
});

describe('conversions', () => {
  it('converts u32 lanes to f32 with one correct rounding', () => {
    reset();
    setU32s(A, [0xffffffff, 16777217, 16777219, 0x80000001]);
    exec('f32x4.convert_i32x4_u');
    expect(f32s(D)).toEqual([4294967296, 16777216, 16777220, 2147483648]);
    exec('f32x4.convert_i32x4_s');
    expect(f32s(D)).toEqual([-1, 16777216, 16777220, -2147483648]);
  });

  it('truncates with saturation and maps NaN to 0', () => {
    reset();
    setF32s(A, [NaN, -Infinity, 2147483648, -2.9]);
    exec('i32x4.trunc_sat_f32x4_s');
    expect(u32s(D)).toEqual([0, 0x80000000, 0x7fffffff, 0xfffffffe]);
    setF32s(A, [NaN, -0.9, 4294967296, 3.99]);
    exec('i32x4.trunc_sat_f32x4_u');
    expect(u32s(D)).toEqual([0, 0, 0xffffffff, 3]);
    setF64s(A, [-2147483648.9, 2147483647.9]);
    exec('i32x4.trunc_sat_f64x2_s_zero');
    expect(u32s(D)).toEqual([0x80000000, 0x7fffffff, 0, 0]);
    setF64s(A, [4294967295.9, -1]);
    exec('i32x4.trunc_sat_f64x2_u_zero');
    expect(u32s(D)).toEqual([0xffffffff, 0, 0, 0]);
  });

  it('demotes into the low lanes with zeroed high lanes and promotes the low lanes', () => {
    reset();
    setF64s(A, [1 / 3, 1e300]);
    exec('f32x4.demote_f64x2_zero');
    expect(f32s(D)).toEqual([Math.fround(1 / 3), Infinity, 0, 0]);
    setF32s(A, [0.1, -0, 7, 8]);
    exec('f64x2.promote_low_f32x4');
    expect(f64s(D).map((x) => (Object.is(x, -0) ? '-0' : x))).toEqual([Math.fround(0.1), '-0']);
    setU32s(A, [0xffffffff, 0x80000000, 5, 6]);
    exec('f64x2.convert_low_i32x4_u');
    expect(f64s(D)).toEqual([4294967295, 2147483648]);
    exec('f64x2.convert_low_i32x4_s');
    expect(f64s(D)).toEqual([-1, -2147483648]);
  });
});

describe('integer lanes', () => {
  it('q15mulr_sat_s rounds and saturates 0x8000 * 0x8000', () => {
    reset();
    setI16s(A, [-0x8000, 0x4000, -0x8000, 1, 0x7fff, -1, 0x1234, -0x4000]);
    setI16s(B, [-0x8000, 0x4000, 0x7fff, 0x4000, 0x7fff, 0x4000, 0, 0x0001]);
    exec('i16x8.q15mulr_sat_s');
    expect(i16s(D)).toEqual([0x7fff, 0x2000, -0x7fff, 1, 0x7ffe, 0, 0, 0]);
  });

  it('avgr_u rounds up and does not overflow', () => {
    reset();
    setU8s(A, [255, 0, 1, 2, ...new Array<number>(12).fill(0)]);
    setU8s(B, [254, 1, 1, 5, ...new Array<number>(12).fill(0)]);
    exec('i8x16.avgr_u');
    expect(u8s(D).slice(0, 4)).toEqual([255, 1, 1, 4]);
  });

  it('saturating add/sub clamp per signedness', () => {
    reset();
    setU8s(A, [0x7f, 0x80, 0xff, 0x00, ...new Array<number>(12).fill(0)]);
    setU8s(B, [0x01, 0xff, 0x01, 0x01, ...new Array<number>(12).fill(0)]);
    exec('i8x16.add_sat_s');
    expect(u8s(D).slice(0, 4)).toEqual([0x7f, 0x80, 0x00, 0x01]);
    exec('i8x16.add_sat_u');
    expect(u8s(D).slice(0, 4)).toEqual([0x80, 0xff, 0xff, 0x01]);
    exec('i8x16.sub_sat_u');
    expect(u8s(D).slice(0, 4)).toEqual([0x7e, 0x00, 0xfe, 0x00]);
  });

  it('takes shift amounts modulo the lane width', () => {
    reset();
    setU8s(A, new Array<number>(16).fill(0x81));
    dv.setInt32(B, 9, true);
    exec('i8x16.shl');
    expect(u8s(D)).toEqual(new Array<number>(16).fill(0x02));
    exec('i8x16.shr_s');
    expect(u8s(D)).toEqual(new Array<number>(16).fill(0xc0));
    dv.setInt32(B, -1, true);
    exec('i8x16.shr_u');
    expect(u8s(D)).toEqual(new Array<number>(16).fill(0x01));
    setI64s(A, [-0x8000000000000000n, 0x4000000000000001n]);
    dv.setInt32(B, 64 + 63, true);
    exec('i64x2.shr_s');
    expect(i64s(D)).toEqual([-1n, 0n]);
    dv.setInt32(B, 33, true);
    exec('i64x2.shl');
    expect(i64s(D)).toEqual([0n, 0x200000000n]);
    exec('i64x2.shr_u');
    expect(i64s(D)).toEqual([0x40000000n, 0x20000000n]);
  });

  it('i64x2 add/sub/mul/neg/abs wrap like two-complement 64-bit arithmetic', () => {
    reset();
    const M = (x: bigint): bigint => BigInt.asIntN(64, x);
    const xs = [0x7fffffffffffffffn, -0x8000000000000000n];
    const ys = [2n, -1n];
    setI64s(A, xs);
    setI64s(B, ys);
    exec('i64x2.mul');
    expect(i64s(D)).toEqual(xs.map((x, i) => M(x * ys[i]!)));
    exec('i64x2.add');
    expect(i64s(D)).toEqual(xs.map((x, i) => M(x + ys[i]!)));
    exec('i64x2.sub');
    expect(i64s(D)).toEqual(xs.map((x, i) => M(x - ys[i]!)));
    exec('i64x2.neg');
    expect(i64s(D)).toEqual(xs.map((x) => M(-x)));
    exec('i64x2.abs');
    expect(i64s(D)).toEqual([0x7fffffffffffffffn, -0x8000000000000000n]);
    setI64s(A, [-5n, 0xffffffffn]);
    setI64s(B, [-7n, 0x100000001n]);
    exec('i64x2.mul');
    expect(i64s(D)).toEqual([35n, M(0xffffffffn * 0x100000001n)]);
  });

  it('i64x2 comparisons are signed 64-bit', () => {
    reset();
    setI64s(A, [-1n, 0x100000000n]);
    setI64s(B, [0n, 0xffffffffn]);
    exec('i64x2.lt_s');
    expect(i64s(D)).toEqual([-1n, 0n]);
    exec('i64x2.ge_s');
    expect(i64s(D)).toEqual([0n, -1n]);
  });

  it('extmul_i32x4 produces full 64-bit products', () => {
    reset();
    setU32s(A, [0xffffffff, 0x80000000, 0x80000000, 7]);
    setU32s(B, [0xffffffff, 0x80000000, 0x7fffffff, 0xfffffff9]);
    exec('i64x2.extmul_low_i32x4_u');
    expect(i64s(D)).toEqual([BigInt.asIntN(64, 0xffffffffn * 0xffffffffn), 0x4000000000000000n]);
    exec('i64x2.extmul_low_i32x4_s');
    expect(i64s(D)).toEqual([1n, 0x4000000000000000n]);
    exec('i64x2.extmul_high_i32x4_s');
    expect(i64s(D)).toEqual([-0x80000000n * 0x7fffffffn, -49n]);
  });

  it('dot wraps the single overflowing case', () => {
    reset();
    setI16s(A, [-0x8000, -0x8000, 1, 2, 3, 4, -5, 6]);
    setI16s(B, [-0x8000, -0x8000, 5, 6, 7, 8, 9, -10]);
    exec('i32x4.dot_i16x8_s');
    expect(u32s(D)).toEqual([0x80000000, 17, 53, (-45 - 60) >>> 0]);
  });

  it('narrows signed inputs with signed or unsigned saturation', () => {
    reset();
    setI16s(A, [-129, -128, 127, 128, 255, 256, -1, 0]);
    setI16s(B, [1, 2, 3, 4, 5, 6, 7, 8]);
    exec('i8x16.narrow_i16x8_s');
    expect(u8s(D)).toEqual([0x80, 0x80, 0x7f, 0x7f, 0x7f, 0x7f, 0xff, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    exec('i8x16.narrow_i16x8_u');
    expect(u8s(D)).toEqual([0, 0, 127, 128, 255, 255, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('popcnt, bitmask, all_true and any_true', () => {
    reset();
    setU8s(A, [0, 1, 0xff, 0x80, 0x55, 0x0f, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0x81]);
    exec('i8x16.popcnt');
    expect(u8s(D)).toEqual([0, 1, 8, 1, 4, 4, 2, 3, 0, 0, 0, 0, 0, 0, 0, 2]);
    exec('i8x16.bitmask');
    expect(dv.getUint32(D, true)).toBe(0b1000000000001100);
    expect(dv.getUint32(D + 4, true)).toBe(0);
    exec('i8x16.all_true');
    expect(dv.getUint32(D, true)).toBe(0);
    exec('v128.any_true');
    expect(dv.getUint32(D, true)).toBe(1);
    setI64s(A, [-1n, 0x100000000n]);
    exec('i64x2.all_true');
    expect(dv.getUint32(D, true)).toBe(1);
    exec('i64x2.bitmask');
    expect(dv.getUint32(D, true)).toBe(1);
    setI64s(A, [0n, 0n]);
    exec('v128.any_true');
    expect(dv.getUint32(D, true)).toBe(0);
  });

  it('extract_lane sign- or zero-extends and zeroes the slot high half', () => {
    reset();
    setU8s(A, [0, 0, 0, 0x80, ...new Array<number>(12).fill(0xff)]);
    exec('i8x16.extract_lane_s', D, 3);
    expect([dv.getInt32(D, true), dv.getInt32(D + 4, true)]).toEqual([-128, 0]);
    exec('i8x16.extract_lane_u', D, 3);
    expect(dv.getInt32(D, true)).toBe(128);
    exec('i16x8.extract_lane_s', D, 7);
    expect(dv.getInt32(D, true)).toBe(-1);
    exec('i16x8.extract_lane_u', D, 7);
    expect(dv.getInt32(D, true)).toBe(0xffff);
  });
});

describe('lane permutations', () => {
  it('swizzle yields 0 for indices of 16 and above', () => {
    reset();
    setU8s(
      A,
      [...Array(16).keys()].map((i) => 0x10 + i),
    );
    setU8s(B, [0, 15, 16, 0x80, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 31]);
    exec('i8x16.swizzle');
    expect(u8s(D)).toEqual([0x10, 0x1f, 0, 0, 0, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0]);
  });

  it('shuffle picks from a (0..15) and b (16..31)', () => {
    reset();
    setU8s(A, [...Array(16).keys()]);
    setU8s(
      B,
      [...Array(16).keys()].map((i) => 0x80 + i),
    );
    const lanes = new Uint8Array([31, 0, 16, 15, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22]);
    exec('i8x16.shuffle', D, 0, lanes);
    expect(u8s(D)).toEqual([0x8f, 0, 0x80, 15, 1, 0x81, 2, 0x82, 3, 0x83, 4, 0x84, 5, 0x85, 6, 0x86]);
  });
});

describe('aliasing', () => {
  it('allows dst to alias a and b', () => {
    reset();
    setU8s(A, [...Array(16).keys()]);
    const lanes = new Uint8Array([...Array(16).keys()].reverse());
    simdExec(sub('i8x16.shuffle'), v, A, A, A, C, 0, lanes);
    expect(u8s(A)).toEqual([...Array(16).keys()].reverse());
    simdExec(sub('i8x16.swizzle'), v, A, A, A, C, 0, undefined);
    // a[b[i]] with a = b = [15..0] is i.
    expect(u8s(A)).toEqual([...Array(16).keys()]);
  });

  it('allows dst to alias the bitselect mask', () => {
    reset();
    setU32s(A, [0xffffffff, 0xffffffff, 0, 0x12345678]);
    setU32s(B, [0, 0, 0xffffffff, 0x9abcdef0]);
    setU32s(C, [0xf0f0f0f0, 0, 0xffff0000, 0xffffffff]);
    simdExec(sub('v128.bitselect'), v, C, A, B, C, 0, undefined);
    expect(u32s(C)).toEqual([0xf0f0f0f0, 0, 0x0000ffff, 0x12345678]);
  });

  it('allows an i8x16.splat result to overwrite its scalar operand slot', () => {
    reset();
    dv.setUint32(A, 0x1234567f, true);
    simdExec(sub('i8x16.splat'), v, A, A, B, C, 0, undefined);
    expect(u8s(A)).toEqual(new Array<number>(16).fill(0x7f));
  });
});

describe('simdMem', () => {
  const mem = new Uint8Array(64).map((_, i) => (i * 37 + 0x80) & 0xff);
  const bytes = (from: number, n: number): number[] => [...mem.slice(from, from + n)];
  const m = (name: string, ea: number, dst = D, val = A, lane = 0): void => simdMem(sub(name), v, mem, ea, dst, val, lane);

  it('loads 16 unaligned bytes', () => {
    reset();
    m('v128.load', 3);
    expect(u8s(D)).toEqual(bytes(3, 16));
  });

  it('loads and widens 8 bytes', () => {
    reset();
    const src = new Uint8Array(mem.buffer, 5, 8);
    const dvm = new DataView(mem.buffer);
    m('v128.load8x8_s', 5);
    expect(i16s(D)).toEqual([...src].map((b) => (b << 24) >> 24));
    m('v128.load8x8_u', 5);
    expect(i16s(D)).toEqual([...src]);
    m('v128.load16x4_s', 5);
    expect(u32s(D)).toEqual([0, 1, 2, 3].map((i) => dvm.getInt16(5 + 2 * i, true) >>> 0));
    m('v128.load16x4_u', 5);
    expect(u32s(D)).toEqual([0, 1, 2, 3].map((i) => dvm.getUint16(5 + 2 * i, true)));
    m('v128.load32x2_s', 5);
    expect(i64s(D)).toEqual([0, 1].map((i) => BigInt(dvm.getInt32(5 + 4 * i, true))));
    m('v128.load32x2_u', 5);
    expect(i64s(D)).toEqual([0, 1].map((i) => BigInt(dvm.getUint32(5 + 4 * i, true))));
  });

  it('splats 1, 2, 4 and 8 bytes', () => {
    for (const [name, n] of [
      ['v128.load8_splat', 1],
      ['v128.load16_splat', 2],
      ['v128.load32_splat', 4],
      ['v128.load64_splat', 8],
    ] as const) {
      reset();
      m(name, 9);
      expect(u8s(D)).toEqual(Array.from({ length: 16 }, (_, i) => mem[9 + (i % n)]));
    }
  });

  it('zero-extends load32_zero and load64_zero', () => {
    reset();
    m('v128.load32_zero', 2);
    expect(u8s(D)).toEqual([...bytes(2, 4), ...new Array<number>(12).fill(0)]);
    m('v128.load64_zero', 2);
    expect(u8s(D)).toEqual([...bytes(2, 8), ...new Array<number>(8).fill(0)]);
  });

  it('loads one lane and keeps the others, also when dst aliases the vector', () => {
    reset();
    setU8s(A, [...Array(16).keys()]);
    m('v128.load16_lane', 11, D, A, 5);
    const want = [...Array(16).keys()];
    want[10] = mem[11]!;
    want[11] = mem[12]!;
    expect(u8s(D)).toEqual(want);
    m('v128.load64_lane', 0, A, A, 1);
    expect(u8s(A)).toEqual([...[...Array(8).keys()], ...bytes(0, 8)]);
  });

  it('stores 16 bytes or exactly one lane', () => {
    const out = new Uint8Array(32);
    reset();
    setU8s(
      A,
      [...Array(16).keys()].map((i) => 0xa0 + i),
    );
    simdMem(sub('v128.store'), v, out, 7, D, A, 0);
    expect([...out.slice(7, 23)]).toEqual(u8s(A));
    expect(out[6]).toBe(0);
    expect(out[23]).toBe(0);
    out.fill(0);
    simdMem(sub('v128.store32_lane'), v, out, 1, D, A, 3);
    expect([...out.slice(0, 6)]).toEqual([0, 0xac, 0xad, 0xae, 0xaf, 0]);
    out.fill(0);
    simdMem(sub('v128.store8_lane'), v, out, 0, D, A, 15);
    expect([...out.slice(0, 2)]).toEqual([0xaf, 0]);
    out.fill(0);
    simdMem(sub('v128.store64_lane'), v, out, 3, D, A, 0);
    expect([...out.slice(2, 12)]).toEqual([0, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0]);
  });
});
