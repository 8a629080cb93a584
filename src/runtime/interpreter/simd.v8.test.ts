/**
 * Differential test of every SIMD instruction against V8's own WebAssembly SIMD: for each 0xFD
 * instruction (all lane indices of the lane instructions, a set of shuffles) a wasm function reads
 * its operands from memory, runs the instruction and stores the result; the same operands go
 * through `simdExec`/`simdMem` and the result bits must match. Inputs mix random bits with
 * interesting lane values (0, -0, ±1, extremes, NaNs with payloads, infinities, ties, limits of
 * the integer conversions). Where the spec lets a NaN result be any NaN (float arithmetic), both
 * sides must produce a NaN in that lane and ours must be canonical.
 */
import wabtInit from 'wabt';
import { beforeAll, describe, expect, it } from 'vitest';
import { CODE_FD, OPS, type OpInfo } from '../binary/opcodes.js';
import { simdExec, simdMem, type SimdViews } from './simd.js';

const V = 0x7b;
const I32 = 0x7f;
const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;

const LOAD_OF: Record<number, string> = { [I32]: 'i32.load', [I64]: 'i64.load', [F32]: 'f32.load', [F64]: 'f64.load' };
const STORE_OF: Record<number, string> = {
  [I32]: 'i32.store',
  [I64]: 'i64.store',
  [F32]: 'f32.store',
  [F64]: 'f64.store',
  [V]: 'v128.store',
};
const BYTES_OF: Record<number, number> = { [I32]: 4, [I64]: 8, [F32]: 4, [F64]: 8, [V]: 16 };

/** One wasm test function: an instruction with fixed immediates. */
interface Case {
  info: OpInfo;
  sub: number;
  imm: number;
  lanes: Uint8Array | undefined;
  text: string;
}

// Memory layout of the wasm side: vector operands at 0/16/32, the scalar operand at 48, the
// result at 64, and the data region of the memory instructions at 256..511.
const SCALAR_AT = 48;
const RESULT_AT = 64;
const DATA_AT = 256;

function isMem(info: OpInfo): boolean {
  return info.imm === 'memarg' || info.imm === 'memlane';
}

function buildCases(seed: () => number): Case[] {
  const cases: Case[] = [];
  for (let sub = 0; sub < 256; sub++) {
    const info = OPS[CODE_FD + sub];
    if (info === undefined || sub === 0x0c) continue;
    const params = info.params ?? [];
    const results = info.results ?? [];
    const laneCount = info.imm === 'lane' || info.imm === 'memlane' ? laneCountOf(info) : 1;
    const shuffles = info.imm === 'shuffle' ? 24 : 1;
    for (let lane = 0; lane < laneCount; lane++) {
      for (let s = 0; s < shuffles; s++) {
        let imm = '';
        let lanes: Uint8Array | undefined;
        if (info.imm === 'lane') imm = ` ${lane}`;
        if (info.imm === 'memlane') imm = ` offset=${DATA_AT} ${lane}`;
        if (info.imm === 'memarg') imm = ` offset=${DATA_AT}`;
        if (info.imm === 'shuffle') {
          lanes = new Uint8Array(16).map(() => Math.floor(seed() * 32));
          if (s === 0) lanes = new Uint8Array(16).map((_, i) => i);
          if (s === 1) lanes = new Uint8Array(16).map((_, i) => 31 - i);
          imm = ' ' + [...lanes].join(' ');
        }
        let operands: string;
        if (isMem(info)) {
          operands = `(i32.load (i32.const ${SCALAR_AT}))` + (params.length > 1 ? ' (v128.load (i32.const 0))' : '');
        } else {
          let vi = 0;
          operands = params
            .map((t) => (t === V ? `(v128.load (i32.const ${16 * vi++}))` : `(${LOAD_OF[t]!} (i32.const ${SCALAR_AT}))`))
            .join(' ');
        }
        const instr = `(${info.name}${imm} ${operands})`;
        const body = results.length === 0 ? instr : `(${STORE_OF[results[0]!]!} (i32.const ${RESULT_AT}) ${instr})`;
        cases.push({ info, sub, imm: lane, lanes, text: body });
      }
    }
  }
  return cases;
}

function laneCountOf(info: OpInfo): number {
  if (info.imm === 'memlane') return 16 / info.memBytes;
  const shape = info.name.slice(0, 5);
  return { i8x16: 16, i16x8: 8, i32x4: 4, i64x2: 2, f32x4: 4, f64x2: 2 }[shape] ?? 1;
}

// ---------------------------------------------------------------------------------------------
// Inputs.

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32Bits = (x: number): number => {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, x, true);
  return b.getUint32(0, true);
};

const SPECIAL32: number[] = [
  0,
  1,
  2,
  0x7f,
  0x80,
  0xff,
  0x7fff,
  0x8000,
  0xffff,
  0x7fffffff,
  0x80000000,
  0xffffffff,
  0x00ff00ff,
  0x80008000,
  0x7f807f80,
  0x01000100,
  // f32: -0, ±1, ±0.5, ±1.5, ±2.5, ±inf, NaNs (quiet, signalling, payloads, negative), denormals, limits.
  0x80000000,
  0x3f800000,
  0xbf800000,
  0x3f000000,
  0xbf000000,
  0x3fc00000,
  0xbfc00000,
  0x40200000,
  0xc0200000,
  0x7f800000,
  0xff800000,
  0x7fc00000,
  0xffc00000,
  0x7f800001,
  0x7fa00000,
  0x7fc12345,
  0xffc54321,
  0x00000001,
  0x807fffff,
  0x7f7fffff,
  0xff7fffff,
  0x4b000000,
  0x4b7fffff,
  0x4effffff,
  0x4f000000,
  0x4f7fffff,
  0x4f800000,
  0xcf000000,
  0xcf000001,
  0x3effffff,
  f32Bits(2147483520),
  f32Bits(4294967040),
  f32Bits(-0.75),
  f32Bits(8388609.5),
];

const f64Parts = (x: number): [number, number] => {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x, true);
  return [b.getUint32(0, true), b.getUint32(4, true)];
};

const SPECIAL64: Array<[number, number]> = [
  [0, 0],
  [0, 0x80000000],
  [0xffffffff, 0xffffffff],
  [0xffffffff, 0x7fffffff],
  [1, 0],
  [0, 1],
  [0x80000000, 0],
  [0xffffffff, 0],
  [0, 0x7ff00000],
  [0, 0xfff00000],
  [0, 0x7ff80000],
  [0, 0xfff80000],
  [1, 0x7ff00000],
  [0x12345678, 0x7ff4abcd],
  [0xdeadbeef, 0xfff8beef],
  [1, 0x80000000],
  [0xffffffff, 0x000fffff],
  ...[
    0.5,
    -0.5,
    1.5,
    -1.5,
    2.5,
    -2.5,
    1,
    -1,
    2147483647,
    2147483647.5,
    2147483648,
    -2147483648,
    -2147483648.5,
    -2147483649,
    4294967295,
    4294967295.5,
    4294967296,
    -0.9,
    1e300,
    -1e300,
    3.4028235677973366e38,
    3.4028235677973362e38,
    1.401298464324817e-45,
    7.006492321624085e-46,
    4503599627370495.5,
    4503599627370497,
    -4503599627370497,
    16777217,
    1 / 3,
  ].map(f64Parts),
];

function randomVector(r: () => number, out: DataView, off: number): void {
  const mode = Math.floor(r() * 4);
  for (let i = 0; i < 16; i += 4) {
    const pick = mode === 0 ? 0 : r();
    if (pick < 0.4) out.setUint32(off + i, Math.floor(r() * 4294967296), true);
    else out.setUint32(off + i, SPECIAL32[Math.floor(r() * SPECIAL32.length)]!, true);
  }
  if (mode === 3) {
    for (let i = 0; i < 16; i += 8) {
      const [lo, hi] = SPECIAL64[Math.floor(r() * SPECIAL64.length)]!;
      out.setUint32(off + i, lo, true);
      out.setUint32(off + i + 4, hi, true);
    }
  }
  if (mode === 2) {
    // Small lanes: bytes/halves near the saturation edges.
    const edges = [0, 1, 0x7f, 0x80, 0x81, 0xff, 0xfe, 0x40, 0xc0];
    for (let i = 0; i < 16; i++) if (r() < 0.5) out.setUint8(off + i, edges[Math.floor(r() * edges.length)]!);
  }
}

function randomScalar(r: () => number, t: number, out: DataView, off: number): void {
  if (t === I32 || t === F32) {
    const x = r() < 0.5 ? Math.floor(r() * 4294967296) : SPECIAL32[Math.floor(r() * SPECIAL32.length)]!;
    // Shift amounts: mostly small, sometimes past the lane width.
    out.setUint32(off, r() < 0.3 && t === I32 ? Math.floor(r() * 140) : x, true);
  } else {
    const [lo, hi] = SPECIAL64[Math.floor(r() * SPECIAL64.length)]!;
    out.setUint32(off, r() < 0.5 ? lo : Math.floor(r() * 4294967296), true);
    out.setUint32(off + 4, r() < 0.5 ? hi : Math.floor(r() * 4294967296), true);
  }
}

// ---------------------------------------------------------------------------------------------
// Comparison.

/** Float ops whose NaN results the spec leaves nondeterministic (sign and payload). */
const NAN_FREE = /^f(32x4|64x2)\.(add|sub|mul|div|sqrt|min|max|ceil|floor|trunc|nearest|demote_f64x2_zero|promote_low_f32x4)$/;

function compare(info: OpInfo, want: Uint8Array, got: Uint8Array): string | undefined {
  const m = NAN_FREE.exec(info.name);
  if (m === null) {
    for (let i = 0; i < want.length; i++) {
      if (want[i] !== got[i]) return `bytes differ: want ${hex(want)} got ${hex(got)}`;
    }
    return undefined;
  }
  const w = info.name.startsWith('f32x4') ? 4 : 8;
  const dw = new DataView(want.buffer, want.byteOffset, 16);
  const dg = new DataView(got.buffer, got.byteOffset, 16);
  for (let i = 0; i < 16; i += w) {
    const a = w === 4 ? dw.getFloat32(i, true) : dw.getFloat64(i, true);
    const b = w === 4 ? dg.getFloat32(i, true) : dg.getFloat64(i, true);
    if (Number.isNaN(a) || Number.isNaN(b)) {
      if (!(Number.isNaN(a) && Number.isNaN(b))) return `NaN mismatch in lane ${i / w}: want ${hex(want)} got ${hex(got)}`;
      const canonical =
        w === 4
          ? (dg.getUint32(i, true) & 0x7fffffff) === 0x7fc00000
          : dg.getUint32(i, true) === 0 && (dg.getUint32(i + 4, true) & 0x7fffffff) === 0x7ff80000;
      if (!canonical) return `non-canonical NaN in lane ${i / w}: ${hex(got)}`;
    } else {
      for (let j = i; j < i + w; j++) if (want[j] !== got[j]) return `lane ${i / w} differs: want ${hex(want)} got ${hex(got)}`;
    }
  }
  return undefined;
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------------------------------------

const ITERATIONS = 160;

describe('SIMD instructions agree with V8', () => {
  let cases: Case[] = [];
  let exportsOf: Record<string, () => void> = {};
  let wasmMem: Uint8Array = new Uint8Array(0);

  beforeAll(async () => {
    const wabt = await wabtInit();
    cases = buildCases(rng(7));
    const funcs = cases.map((c, i) => `(func (export "f${i}") ${c.text})`).join('\n');
    const text = `(module (memory (export "mem") 1)\n${funcs})`;
    const mod = wabt.parseWat('simd-diff.wat', text, { simd: true });
    const bin = mod.toBinary({}).buffer;
    mod.destroy();
    const inst = await WebAssembly.instantiate(new Uint8Array(bin));
    const ex = inst.instance.exports as Record<string, unknown>;
    exportsOf = ex as Record<string, () => void>;
    wasmMem = new Uint8Array((ex['mem'] as WebAssembly.Memory).buffer);
  });

  it('covers every 0xFD instruction except v128.const', () => {
    const subs = new Set(cases.map((c) => c.sub));
    const all = OPS.filter((o) => o !== undefined && o.code >= CODE_FD && o.code < CODE_FD + 0x100 && o.code !== CODE_FD + 0x0c);
    expect(all.length).toBe(235);
    expect(all.filter((o) => !subs.has(o!.code - CODE_FD)).map((o) => o!.name)).toEqual([]);
  });

  it('produces the same bits as V8 on random and special operands', () => {
    const r = rng(12345);
    const stack = new ArrayBuffer(256);
    const v: SimdViews = {
      u8: new Uint8Array(stack),
      i32: new Int32Array(stack),
      f32: new Float32Array(stack),
      f64: new Float64Array(stack),
      dv: new DataView(stack),
    };
    const wdv = new DataView(wasmMem.buffer);
    const mem = new Uint8Array(1024);
    const failures: string[] = [];
    let runs = 0;
    cases.forEach((c, idx) => {
      const fn = exportsOf[`f${idx}`]!;
      const params = c.info.params ?? [];
      const results = c.info.results ?? [];
      for (let it = 0; it < ITERATIONS && failures.length < 20; it++) {
        // Operands into wasm memory.
        for (let k = 0; k < 3; k++) randomVector(r, wdv, 16 * k);
        const scalarType = isMem(c.info) ? I32 : params.find((t) => t !== V);
        if (scalarType !== undefined) randomScalar(r, scalarType, wdv, SCALAR_AT);
        if (isMem(c.info)) wdv.setUint32(SCALAR_AT, Math.floor(r() * 240), true);
        for (let i = DATA_AT; i < DATA_AT + 256; i++) wasmMem[i] = Math.floor(r() * 256);
        wasmMem.fill(0xee, RESULT_AT, RESULT_AT + 16);
        mem.set(wasmMem.subarray(0, 1024));

        // The same operands onto our stack: vectors at 8, 32, 56 (8-aligned), garbage elsewhere.
        v.u8.fill(0xcd);
        const at = [8, 32, 56];
        let vi = 0;
        const offs = params.map((t) => {
          const o = at.shift()!;
          const src = t === V ? 16 * vi++ : SCALAR_AT;
          v.u8.set(wasmMem.subarray(src, src + BYTES_OF[t]!), o);
          return o;
        });
        const dst = 128;

        fn();
        runs++;
        try {
          if (isMem(c.info)) {
            const ea = DATA_AT + wdv.getUint32(SCALAR_AT, true);
            v.u8.set(wasmMem.subarray(0, 16), 32);
            simdMem(c.sub, v, mem, ea, dst, 32, c.imm);
          } else {
            simdExec(c.sub, v, dst, offs[0] ?? -8, offs[1] ?? -8, offs[2] ?? -8, c.imm, c.lanes);
          }
        } catch (e) {
          failures.push(`${c.info.name}: threw ${String(e)}`);
          continue;
        }
        let err: string | undefined;
        if (results.length === 0) {
          for (let i = DATA_AT; i < DATA_AT + 256 && err === undefined; i++) {
            if (mem[i] !== wasmMem[i]) err = `memory differs at ${i - DATA_AT}`;
          }
        } else {
          const n = BYTES_OF[results[0]!]!;
          err = compare(c.info, wasmMem.slice(RESULT_AT, RESULT_AT + n), v.u8.slice(dst, dst + n));
          if (err === undefined && n === 4 && v.i32[(dst >> 2) + 1] !== 0) err = 'high half of the result slot not zero';
        }
        if (err !== undefined) {
          const inputs = hex(wasmMem.slice(0, 56));
          failures.push(`${c.info.name}${c.info.imm === 'lane' ? ` lane ${c.imm}` : ''}: ${err} (inputs ${inputs})`);
        }
      }
    });
    console.log(`SIMD vs V8: ${cases.length} instruction variants, ${runs} runs, ${failures.length} failures`);
    expect(failures).toEqual([]);
  });
});
