/**
 * Removes the nondeterminism the spec allows in NaN results, so the sides can be compared bit for
 * bit everywhere else.
 *
 * Arithmetic float instructions (add, sub, mul, div, sqrt, min, max, rounding, promote/demote —
 * scalar and SIMD lanes) may return any arithmetic NaN (quiet bit set, any sign and payload) when
 * their result is NaN; the interpreter returns the canonical NaN where V8 returns the hardware's
 * (x86: negative) or a propagated payload. After each such instruction this transform inserts code
 * mapping a NaN result to the positive canonical NaN, or to the signalling NaN `0x7fa00000` /
 * `0x7ff4000000000000` when its quiet bit is clear — an arithmetic instruction must never return
 * one, so a side doing so still shows as a difference. Moves (loads, stores, locals, globals,
 * `select`, reinterpretations, lane moves, abs, neg, copysign, pmin/pmax) are deterministic and are
 * left alone, so their NaN bits stay compared exactly.
 *
 * The inserted code needs no block, so branch depths are unchanged; it uses four new locals per
 * instrumented function (f32, f64 and two v128).
 */
import { decodeModule } from '../../src/runtime/binary/decoder.js';
import { ByteWriter, encodeModule, type EncodableBody } from '../../src/runtime/binary/encoder.js';
import { opByName } from '../../src/runtime/binary/opcodes.js';
import { codeAt, instructionStarts } from './walk.js';
import { F32, F64, V128 } from './wasm.js';

const ARITH = ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt', 'ceil', 'floor', 'trunc', 'nearest'];

function codes(names: readonly string[]): Set<number> {
  return new Set(names.map((n) => opByName(n)!.code));
}

const SCALAR_F32 = codes([...ARITH.map((a) => `f32.${a}`), 'f32.demote_f64']);
const SCALAR_F64 = codes([...ARITH.map((a) => `f64.${a}`), 'f64.promote_f32']);
const VEC_F32 = codes([...ARITH.map((a) => `f32x4.${a}`), 'f32x4.demote_f64x2_zero']);
const VEC_F64 = codes([...ARITH.map((a) => `f64x2.${a}`), 'f64x2.promote_low_f32x4']);

function simd(w: ByteWriter, name: string): void {
  w.u8(0xfd).u32(opByName(name)!.code - 0x200);
}

function v128Const(w: ByteWriter, lanes: readonly bigint[], laneBytes: 4 | 8): void {
  simd(w, 'v128.const');
  for (const l of lanes) {
    if (laneBytes === 4) w.u32Fixed(Number(l));
    else w.u64Fixed(l);
  }
}

/** `bytes` with every arithmetic NaN made deterministic; bodies without such instructions are copied. */
export function canonicalizeNaNs(bytes: Uint8Array): Uint8Array {
  const m = decodeModule(bytes, 0x1ff);
  const out: EncodableBody[] = [...m.codes];
  let changed = false;
  for (let i = 0; i < m.codes.length; i++) {
    const body = m.codes[i]!;
    let starts: number[];
    try {
      starts = instructionStarts(m, i);
    } catch {
      continue; // an opcode outside the table: validation rejects the module anyway
    }
    const kinds = starts.map((p) => {
      const [code] = codeAt(m.bytes, p);
      return SCALAR_F32.has(code) ? 1 : SCALAR_F64.has(code) ? 2 : VEC_F32.has(code) ? 3 : VEC_F64.has(code) ? 4 : 0;
    });
    if (kinds.every((k) => k === 0)) continue;
    changed = true;
    const type = m.types[m.funcTypeIndices[i]!]!;
    const base = type.params.length + body.numLocals;
    const [lf, ld, lv, lw] = [base, base + 1, base + 2, base + 3];
    const w = new ByteWriter(body.codeEnd - body.codeStart + 256);
    w.u32(body.locals.length + 3);
    for (const g of body.locals) w.u32(g.count).u8(g.type);
    w.u32(1).u8(F32).u32(1).u8(F64).u32(2).u8(V128);
    for (let k = 0; k < starts.length; k++) {
      const end = k + 1 < starts.length ? starts[k + 1]! : body.codeEnd;
      w.bytes(m.bytes.subarray(starts[k]!, end));
      switch (kinds[k]) {
        case 1:
          w.u8(0x21).u32(lf);
          w.u8(0x41).s32(0x7fc00000).u8(0x41).s32(0x7fa00000);
          w.u8(0x20).u32(lf).u8(0xbc).u8(0x41).s32(0x00400000).u8(0x71).u8(0x1b).u8(0xbe);
          w.u8(0x20).u32(lf).u8(0x20).u32(lf).u8(0x20).u32(lf).u8(0x5c).u8(0x1b);
          break;
        case 2:
          w.u8(0x21).u32(ld);
          w.u8(0x42).s64(0x7ff8000000000000n).u8(0x42).s64(0x7ff4000000000000n);
          w.u8(0x20).u32(ld).u8(0xbd).u8(0x42).s64(0x0008000000000000n).u8(0x83).u8(0x42).s64(0n).u8(0x52).u8(0x1b).u8(0xbf);
          w.u8(0x20).u32(ld).u8(0x20).u32(ld).u8(0x20).u32(ld).u8(0x62).u8(0x1b);
          break;
        case 3:
        case 4: {
          const f32 = kinds[k] === 3;
          const lane = (x: bigint): bigint[] => (f32 ? [x, x, x, x] : [x, x]);
          const bytesPerLane = f32 ? 4 : 8;
          w.u8(0x21).u32(lv);
          v128Const(w, lane(f32 ? 0x7fa00000n : 0x7ff4000000000000n), bytesPerLane);
          v128Const(w, lane(f32 ? 0x7fc00000n : 0x7ff8000000000000n), bytesPerLane);
          w.u8(0x20).u32(lv);
          v128Const(w, lane(f32 ? 0x00400000n : 0x0008000000000000n), bytesPerLane);
          simd(w, 'v128.and');
          v128Const(w, lane(0n), bytesPerLane);
          simd(w, f32 ? 'i32x4.eq' : 'i64x2.eq');
          simd(w, 'v128.bitselect');
          w.u8(0x21).u32(lw);
          w.u8(0x20).u32(lw).u8(0x20).u32(lv).u8(0x20).u32(lv).u8(0x20).u32(lv);
          simd(w, f32 ? 'f32x4.ne' : 'f64x2.ne');
          simd(w, 'v128.bitselect');
          break;
        }
      }
    }
    out[i] = { encoded: w.finish() };
  }
  return changed ? encodeModule({ ...m, codes: out }, m).bytes : bytes;
}
