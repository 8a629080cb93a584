/**
 * Relaxed SIMD against V8 on this machine: the interpreter must give V8's results bit for bit (the
 * spec allows a set per instruction; V8 on x64 picks one, see simd.ts). A wasm function per
 * instruction reads its operands from memory and stores the result; the same operands go through
 * `simdExec`. Inputs: random bits, float lanes of every magnitude with edge values (NaNs with
 * payloads, infinities, ±0, limits of the conversions), and multiply-adds close to cancellation, where
 * one rounding and two differ. Skipped where V8 has no relaxed SIMD (Node 20).
 */
import { describe, expect, it } from 'vitest';
import { CODE_FD_HI, OPS } from '../binary/opcodes.js';
import { simdExec, type SimdViews } from './simd.js';

/** The relaxed instructions: sub-opcode and operand count. */
const RELAXED: Array<[number, number]> = [];
for (let code = CODE_FD_HI; code < CODE_FD_HI + 0x20; code++) {
  const info = OPS[code];
  if (info !== undefined) RELAXED.push([code - CODE_FD_HI + 0x100, info.params!.length]);
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** A module exporting `mem` and one function `f<sub hex>` per instruction: operands at 16/32/48, result at 0. */
function moduleBytes(): Uint8Array {
  const str = (s: string): number[] => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const sec = (id: number, c: number[]): number[] => [id, ...leb(c.length), ...c];
  const bodies = RELAXED.map(([sub, n]) => {
    const b = [0x41, 0];
    for (let k = 0; k < n; k++) b.push(0x41, 16 * (k + 1), 0xfd, 0, 4, 0);
    b.push(0xfd, ...leb(sub), 0xfd, 11, 4, 0, 0x0b);
    return [...leb(b.length + 1), 0, ...b];
  });
  return new Uint8Array([
    ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...sec(1, [1, 0x60, 0, 0]),
    ...sec(3, [...leb(RELAXED.length), ...RELAXED.map(() => 0)]),
    ...sec(5, [1, 0, 1]),
    ...sec(7, [
      ...leb(RELAXED.length + 1),
      ...str('mem'),
      2,
      0,
      ...RELAXED.flatMap(([sub], i) => [...str(`f${sub.toString(16)}`), 0, ...leb(i)]),
    ]),
    ...sec(10, [...leb(RELAXED.length), ...bodies.flat()]),
  ]);
}

const bytes = moduleBytes();
const supported = WebAssembly.validate(bytes);

let seed = 0x2545f491;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

const F32_EDGES = [
  0,
  -0,
  1,
  -1,
  0.5,
  -1.5,
  2147483520,
  2147483648,
  -2147483904,
  4294967040,
  4294967296,
  Infinity,
  -Infinity,
  NaN,
  1e-45,
  3.4e38,
];
const F64_EDGES = [
  0,
  -0,
  1,
  -1,
  2147483647.5,
  -2147483648.5,
  -2147483649,
  4294967295.5,
  4294967296,
  Infinity,
  -Infinity,
  NaN,
  5e-324,
  1e300,
];

function operand(): Uint8Array {
  const b = new Uint8Array(16);
  switch (rnd() % 4) {
    case 0:
      for (let i = 0; i < 16; i++) b[i] = rnd() & 0xff;
      break;
    case 1: {
      const f = new Float32Array(b.buffer);
      for (let i = 0; i < 4; i++)
        f[i] = rnd() % 3 === 0 ? F32_EDGES[rnd() % F32_EDGES.length]! : (rnd() / 2 ** 32 - 0.5) * 2 ** ((rnd() % 300) - 150);
      break;
    }
    case 2: {
      const f = new Float64Array(b.buffer);
      for (let i = 0; i < 2; i++)
        f[i] = rnd() % 3 === 0 ? F64_EDGES[rnd() % F64_EDGES.length]! : (rnd() / 2 ** 32 - 0.5) * 2 ** ((rnd() % 2200) - 1100);
      break;
    }
    default: {
      const u = new Uint32Array(b.buffer);
      for (let i = 0; i < 4; i++) u[i] = [0, 0xffffffff, 0x80000000, 0x7fffffff, 0x7fa00001, 0xffc00000, rnd()][rnd() % 7]!;
    }
  }
  return b;
}

/** Operands of a multiply-add whose addend nearly cancels the product (one rounding vs two differ). */
function nearCancel(f64: boolean): Uint8Array {
  const b = new Uint8Array(48);
  const x = f64 ? new Float64Array(b.buffer) : new Float32Array(b.buffer);
  const n = f64 ? 2 : 4;
  for (let i = 0; i < n; i++) {
    const p = (rnd() / 2 ** 32 - 0.5) * 2 ** ((rnd() % 60) - 30);
    const q = (rnd() / 2 ** 32 - 0.5) * 2 ** ((rnd() % 60) - 30);
    x[i] = p;
    x[n + i] = q;
    const prod = f64 ? x[i]! * x[n + i]! : Math.fround(x[i]! * x[n + i]!);
    x[2 * n + i] = -prod * (1 + ((rnd() % 5) - 2) * 2 ** (f64 ? -53 : -24));
  }
  return b;
}

describe.skipIf(!supported)('relaxed SIMD against V8', () => {
  it('gives V8’s result bits for every relaxed instruction', async () => {
    const { instance } = await WebAssembly.instantiate(bytes);
    const ex = instance.exports as Record<string, unknown> & { mem: WebAssembly.Memory };
    const mem = new Uint8Array(ex.mem.buffer);
    const buf = new ArrayBuffer(64);
    const v: SimdViews = {
      u8: new Uint8Array(buf),
      i32: new Int32Array(buf),
      f32: new Float32Array(buf),
      f64: new Float64Array(buf),
      dv: new DataView(buf),
    };
    const mismatches: string[] = [];
    const check = (sub: number, ops: Uint8Array): void => {
      mem.set(ops, 16);
      (ex[`f${sub.toString(16)}`] as () => void)();
      v.u8.set(ops, 16);
      simdExec(sub, v, 0, 16, 32, 48, 0, undefined);
      const want = Buffer.from(mem.subarray(0, 16)).toString('hex');
      const got = Buffer.from(v.u8.subarray(0, 16)).toString('hex');
      if (want !== got && mismatches.length < 10)
        mismatches.push(`0xfd ${sub.toString(16)} ${Buffer.from(ops).toString('hex')}: V8 ${want}, ours ${got}`);
    };
    for (const [sub] of RELAXED) {
      for (let t = 0; t < 3000; t++) {
        const ops = new Uint8Array(48);
        ops.set(operand(), 0);
        ops.set(operand(), 16);
        ops.set(operand(), 32);
        check(sub, ops);
      }
    }
    for (let t = 0; t < 20000; t++) {
      check(0x105 + (t & 3), nearCancel((t & 3) >= 2));
    }
    expect(mismatches).toEqual([]);
  });
});
