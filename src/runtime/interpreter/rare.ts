/**
 * Instructions that are rare in real guests (bit counts, sign extensions, f32/f64 rounding and
 * sign ops, trapping float-to-int conversions, i64-to-float conversions, references, tables,
 * v128 moves and globals), run out of line by the run loop's `default` case.
 *
 * Why: V8 compiles the run loop as one TurboFan unit, several times per process as type feedback
 * arrives (each compile ~100-150 ms of CPU on the shared machines), and its register allocation
 * gets worse with size. Every case moved here shrinks that unit; a rare instruction pays one call.
 * The caller has set `m.curFn/curPc/depth`, so traps here need no bookkeeping. Case labels are
 * numeric literals like run.ts's (engine.test.ts checks both files against ir.ts).
 */
import { Trap, WasmRuntimeError } from '../api/errors.js';
import type { Machine } from './machine.js';
import { clz64, ctz32, ctz64, i64ToF32, nearest, out64, popcnt32, truncToI32S, truncToI32U, truncToI64, u64ToF32 } from './numeric.js';
import { ExnInst, type FuncInst, type Ref } from './objects.js';
import { memAccess, memMisc, tableX } from './memx.js';
import { newExn, ThrowSignal } from './exceptions.js';

/** Runs the rare instruction at `pc` of `fn` (frame at word offset `fp`); returns the next pc. */
export function rareOp(m: Machine, fn: FuncInst, code: Int32Array, pc: number, fp: number): number {
  const i32 = m.i32;
  const f32 = m.f32;
  const f64 = m.f64;
  const refs = m.refs;
  const inst = fn.inst!;
  const globals = inst.globals;
  const tables = inst.tables;
  const funcs = inst.functions;
  switch (code[pc]!) {
    case 13: {
      // COPY_REF
      refs[(fp + code[pc + 1]!) >> 1] = refs[(fp + code[pc + 2]!) >> 1]!;
      return pc + 3;
    }
    case 14: {
      // COPY_V128
      const d = fp + code[pc + 1]!;
      const s = fp + code[pc + 2]!;
      i32[d] = i32[s]!;
      i32[d + 1] = i32[s + 1]!;
      i32[d + 2] = i32[s + 2]!;
      i32[d + 3] = i32[s + 3]!;
      return pc + 3;
    }
    case 17: {
      // CONST128
      const d = fp + code[pc + 1]!;
      i32[d] = code[pc + 2]!;
      i32[d + 1] = code[pc + 3]!;
      i32[d + 2] = code[pc + 4]!;
      i32[d + 3] = code[pc + 5]!;
      return pc + 6;
    }
    case 19: {
      // SELECT_REF
      const s = i32[fp + code[pc + 4]!]! !== 0 ? fp + code[pc + 2]! : fp + code[pc + 3]!;
      refs[(fp + code[pc + 1]!) >> 1] = refs[s >> 1]!;
      return pc + 5;
    }
    case 20: {
      // SELECT_V128
      const d = fp + code[pc + 1]!;
      const s = i32[fp + code[pc + 4]!]! !== 0 ? fp + code[pc + 2]! : fp + code[pc + 3]!;
      i32[d] = i32[s]!;
      i32[d + 1] = i32[s + 1]!;
      i32[d + 2] = i32[s + 2]!;
      i32[d + 3] = i32[s + 3]!;
      return pc + 5;
    }
    case 23: {
      // GLOBAL_GET_REF
      refs[(fp + code[pc + 1]!) >> 1] = globals[code[pc + 2]!]!.ref;
      return pc + 3;
    }
    case 24: {
      // GLOBAL_SET_REF
      globals[code[pc + 1]!]!.ref = refs[(fp + code[pc + 2]!) >> 1]!;
      return pc + 3;
    }
    case 25: {
      // GLOBAL_GET_V128
      const d = fp + code[pc + 1]!;
      const g = globals[code[pc + 2]!]!.bits;
      i32[d] = g[0]!;
      i32[d + 1] = g[1]!;
      i32[d + 2] = g[2]!;
      i32[d + 3] = g[3]!;
      return pc + 3;
    }
    case 26: {
      // GLOBAL_SET_V128
      const s = fp + code[pc + 2]!;
      const g = globals[code[pc + 1]!]!.bits;
      g[0] = i32[s]!;
      g[1] = i32[s + 1]!;
      g[2] = i32[s + 2]!;
      g[3] = i32[s + 3]!;
      return pc + 3;
    }
    case 27: {
      // TABLE_GET
      const tab = tables[code[pc + 2]!]!.elems;
      const ix = i32[fp + code[pc + 3]!]! >>> 0;
      if (ix >= tab.length) {
        throw new WasmRuntimeError(Trap.InvalidTableAccess);
      }
      refs[(fp + code[pc + 1]!) >> 1] = tab[ix]!;
      return pc + 4;
    }
    case 28: {
      // TABLE_SET
      const tab = tables[code[pc + 1]!]!.elems;
      const ix = i32[fp + code[pc + 2]!]! >>> 0;
      if (ix >= tab.length) {
        throw new WasmRuntimeError(Trap.InvalidTableAccess);
      }
      tab[ix] = refs[(fp + code[pc + 3]!) >> 1]! as Ref;
      return pc + 4;
    }
    case 29: {
      // MEMORY_SIZE
      i32[fp + code[pc + 1]!] = inst.mem === null ? 0 : inst.mem.api.pages();
      return pc + 2;
    }
    case 31: {
      // REF_NULL
      refs[(fp + code[pc + 1]!) >> 1] = null;
      return pc + 2;
    }
    case 32: {
      // REF_IS_NULL
      i32[fp + code[pc + 1]!] = refs[(fp + code[pc + 2]!) >> 1] === null ? 1 : 0;
      return pc + 3;
    }
    case 33: {
      // REF_FUNC
      refs[(fp + code[pc + 1]!) >> 1] = funcs[code[pc + 2]!]!;
      return pc + 3;
    }
    case 73: {
      // I32_ROTL
      const x = i32[fp + code[pc + 2]!]!;
      const y = i32[fp + code[pc + 3]!]!;
      i32[fp + code[pc + 1]!] = (x << (y & 31)) | (x >>> (32 - (y & 31)));
      return pc + 4;
    }
    case 74: {
      // I32_ROTR
      const x = i32[fp + code[pc + 2]!]!;
      const y = i32[fp + code[pc + 3]!]!;
      i32[fp + code[pc + 1]!] = (x >>> (y & 31)) | (x << (32 - (y & 31)));
      return pc + 4;
    }
    case 104: {
      // I32_CLZ
      const x = i32[fp + code[pc + 2]!]!;
      i32[fp + code[pc + 1]!] = Math.clz32(x);
      return pc + 3;
    }
    case 105: {
      // I32_CTZ
      const x = i32[fp + code[pc + 2]!]!;
      i32[fp + code[pc + 1]!] = ctz32(x);
      return pc + 3;
    }
    case 106: {
      // I32_POPCNT
      const x = i32[fp + code[pc + 2]!]!;
      i32[fp + code[pc + 1]!] = popcnt32(x);
      return pc + 3;
    }
    case 107: {
      // I32_EXTEND8_S
      const x = i32[fp + code[pc + 2]!]!;
      i32[fp + code[pc + 1]!] = (x << 24) >> 24;
      return pc + 3;
    }
    case 108: {
      // I32_EXTEND16_S
      const x = i32[fp + code[pc + 2]!]!;
      i32[fp + code[pc + 1]!] = (x << 16) >> 16;
      return pc + 3;
    }
    case 156: {
      // I64_CLZ
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      const lo = i32[a]!;
      const hi = i32[a + 1]!;
      i32[d] = clz64(lo, hi);
      i32[d + 1] = 0;
      return pc + 3;
    }
    case 157: {
      // I64_CTZ
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      const lo = i32[a]!;
      const hi = i32[a + 1]!;
      i32[d] = ctz64(lo, hi);
      i32[d + 1] = 0;
      return pc + 3;
    }
    case 158: {
      // I64_POPCNT
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      const lo = i32[a]!;
      const hi = i32[a + 1]!;
      i32[d] = popcnt32(lo) + popcnt32(hi);
      i32[d + 1] = 0;
      return pc + 3;
    }
    case 159: {
      // I64_EXTEND8_S
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      const lo = i32[a]!;
      const r = (lo << 24) >> 24;
      i32[d] = r;
      i32[d + 1] = r >> 31;
      return pc + 3;
    }
    case 160: {
      // I64_EXTEND16_S
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      const lo = i32[a]!;
      const r = (lo << 16) >> 16;
      i32[d] = r;
      i32[d + 1] = r >> 31;
      return pc + 3;
    }
    case 161: {
      // I64_EXTEND32_S
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      const lo = i32[a]!;
      i32[d] = lo;
      i32[d + 1] = lo >> 31;
      return pc + 3;
    }
    case 225: {
      // F64_CONVERT_I64_S
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      const lo = i32[a]!;
      const hi = i32[a + 1]!;
      f64[d >> 1] = hi * 4294967296 + (lo >>> 0);
      return pc + 3;
    }
    case 226: {
      // F64_CONVERT_I64_U
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      const lo = i32[a]!;
      const hi = i32[a + 1]!;
      f64[d >> 1] = (hi >>> 0) * 4294967296 + (lo >>> 0);
      return pc + 3;
    }
    case 220: {
      // F32_CONVERT_I64_S
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      const lo = i32[a]!;
      const hi = i32[a + 1]!;
      f32[d] = i64ToF32(lo, hi);
      return pc + 3;
    }
    case 221: {
      // F32_CONVERT_I64_U
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      const lo = i32[a]!;
      const hi = i32[a + 1]!;
      f32[d] = u64ToF32(lo, hi);
      return pc + 3;
    }
    case 174: {
      // F32_MIN
      const x = f32[fp + code[pc + 2]!]!;
      const y = f32[fp + code[pc + 3]!]!;
      f32[fp + code[pc + 1]!] = Math.min(x, y);
      return pc + 4;
    }
    case 175: {
      // F32_MAX
      const x = f32[fp + code[pc + 2]!]!;
      const y = f32[fp + code[pc + 3]!]!;
      f32[fp + code[pc + 1]!] = Math.max(x, y);
      return pc + 4;
    }
    case 185: {
      // F32_CEIL
      const x = f32[fp + code[pc + 2]!]!;
      f32[fp + code[pc + 1]!] = Math.ceil(x);
      return pc + 3;
    }
    case 186: {
      // F32_FLOOR
      const x = f32[fp + code[pc + 2]!]!;
      f32[fp + code[pc + 1]!] = Math.floor(x);
      return pc + 3;
    }
    case 187: {
      // F32_TRUNC
      const x = f32[fp + code[pc + 2]!]!;
      f32[fp + code[pc + 1]!] = Math.trunc(x);
      return pc + 3;
    }
    case 188: {
      // F32_NEAREST
      const x = f32[fp + code[pc + 2]!]!;
      f32[fp + code[pc + 1]!] = nearest(x);
      return pc + 3;
    }
    case 194: {
      // F64_MIN
      const x = f64[(fp + code[pc + 2]!) >> 1]!;
      const y = f64[(fp + code[pc + 3]!) >> 1]!;
      f64[(fp + code[pc + 1]!) >> 1] = Math.min(x, y);
      return pc + 4;
    }
    case 195: {
      // F64_MAX
      const x = f64[(fp + code[pc + 2]!) >> 1]!;
      const y = f64[(fp + code[pc + 3]!) >> 1]!;
      f64[(fp + code[pc + 1]!) >> 1] = Math.max(x, y);
      return pc + 4;
    }
    case 205: {
      // F64_CEIL
      const x = f64[(fp + code[pc + 2]!) >> 1]!;
      f64[(fp + code[pc + 1]!) >> 1] = x !== x ? x + x : Math.ceil(x); // x + x quiets a signalling NaN
      return pc + 3;
    }
    case 206: {
      // F64_FLOOR
      const x = f64[(fp + code[pc + 2]!) >> 1]!;
      f64[(fp + code[pc + 1]!) >> 1] = x !== x ? x + x : Math.floor(x); // x + x quiets a signalling NaN
      return pc + 3;
    }
    case 207: {
      // F64_TRUNC
      const x = f64[(fp + code[pc + 2]!) >> 1]!;
      f64[(fp + code[pc + 1]!) >> 1] = x !== x ? x + x : Math.trunc(x); // x + x quiets a signalling NaN
      return pc + 3;
    }
    case 208: {
      // F64_NEAREST
      const x = f64[(fp + code[pc + 2]!) >> 1]!;
      f64[(fp + code[pc + 1]!) >> 1] = x !== x ? x + x : nearest(x); // x + x quiets a signalling NaN
      return pc + 3;
    }
    case 183: {
      // F32_ABS
      i32[fp + code[pc + 1]!] = i32[fp + code[pc + 2]!]! & 0x7fffffff;
      return pc + 3;
    }
    case 184: {
      // F32_NEG
      i32[fp + code[pc + 1]!] = i32[fp + code[pc + 2]!]! ^ -0x80000000;
      return pc + 3;
    }
    case 176: {
      // F32_COPYSIGN
      i32[fp + code[pc + 1]!] = (i32[fp + code[pc + 2]!]! & 0x7fffffff) | (i32[fp + code[pc + 3]!]! & -0x80000000);
      return pc + 4;
    }
    case 203: {
      // F64_ABS
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      i32[d] = i32[a]!;
      i32[d + 1] = i32[a + 1]! & 0x7fffffff;
      return pc + 3;
    }
    case 204: {
      // F64_NEG
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      i32[d] = i32[a]!;
      i32[d + 1] = i32[a + 1]! ^ -0x80000000;
      return pc + 3;
    }
    case 196: {
      // F64_COPYSIGN
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      i32[d] = i32[a]!;
      i32[d + 1] = (i32[a + 1]! & 0x7fffffff) | (i32[fp + code[pc + 3]! + 1]! & -0x80000000);
      return pc + 4;
    }
    case 210: {
      // I32_TRUNC_F32_S
      const a = fp + code[pc + 2]!;
      const x = f32[a]!;
      if (x > -2147483649 && x < 2147483648) i32[fp + code[pc + 1]!] = x | 0;
      else {
        i32[fp + code[pc + 1]!] = truncToI32S(x);
      }
      return pc + 3;
    }
    case 211: {
      // I32_TRUNC_F32_U
      const a = fp + code[pc + 2]!;
      const x = f32[a]!;
      if (x > -1 && x < 4294967296) i32[fp + code[pc + 1]!] = x >>> 0;
      else {
        i32[fp + code[pc + 1]!] = truncToI32U(x);
      }
      return pc + 3;
    }
    case 212: {
      // I32_TRUNC_F64_S
      const a = fp + code[pc + 2]!;
      const x = f64[a >> 1]!;
      if (x > -2147483649 && x < 2147483648) i32[fp + code[pc + 1]!] = x | 0;
      else {
        i32[fp + code[pc + 1]!] = truncToI32S(x);
      }
      return pc + 3;
    }
    case 213: {
      // I32_TRUNC_F64_U
      const a = fp + code[pc + 2]!;
      const x = f64[a >> 1]!;
      if (x > -1 && x < 4294967296) i32[fp + code[pc + 1]!] = x >>> 0;
      else {
        i32[fp + code[pc + 1]!] = truncToI32U(x);
      }
      return pc + 3;
    }
    case 214: {
      // I64_TRUNC_F32_S
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      truncToI64(f32[a]!, true);
      i32[d] = out64[0]!;
      i32[d + 1] = out64[1]!;
      return pc + 3;
    }
    case 215: {
      // I64_TRUNC_F32_U
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      truncToI64(f32[a]!, false);
      i32[d] = out64[0]!;
      i32[d + 1] = out64[1]!;
      return pc + 3;
    }
    case 216: {
      // I64_TRUNC_F64_S
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      truncToI64(f64[a >> 1]!, true);
      i32[d] = out64[0]!;
      i32[d + 1] = out64[1]!;
      return pc + 3;
    }
    case 217: {
      // I64_TRUNC_F64_U
      const a = fp + code[pc + 2]!;
      const d = fp + code[pc + 1]!;
      truncToI64(f64[a >> 1]!, false);
      i32[d] = out64[0]!;
      i32[d + 1] = out64[1]!;
      return pc + 3;
    }
    case 218: {
      // F32_CONVERT_I32_S
      f32[fp + code[pc + 1]!] = i32[fp + code[pc + 2]!]!;
      return pc + 3;
    }
    case 219: {
      // F32_CONVERT_I32_U
      f32[fp + code[pc + 1]!] = i32[fp + code[pc + 2]!]! >>> 0;
      return pc + 3;
    }
    case 254: {
      // ADDR64
      if (i32[fp + code[pc + 1]! + 1] !== 0) throw new WasmRuntimeError(Trap.OutOfBoundsMemoryAccess);
      return pc + 2;
    }
    case 169: {
      // IDX64
      if (i32[fp + code[pc + 1]! + 1] !== 0) throw new WasmRuntimeError(Trap.InvalidTableAccess);
      return pc + 2;
    }
    case 253: {
      // CLAMP64
      const a = fp + code[pc + 2]!;
      i32[fp + code[pc + 1]!] = i32[a + 1] !== 0 ? -1 : i32[a]!;
      return pc + 3;
    }
    case 247: {
      // MEMX
      memAccess(
        m,
        inst,
        code[pc + 1]!,
        code[pc + 2]!,
        fp + code[pc + 3]!,
        fp + code[pc + 4]!,
        fp + code[pc + 5]!,
        fp + code[pc + 6]!,
        (code[pc + 7]! >>> 0) + code[pc + 8]! * 0x1_0000_0000,
        code[pc + 9]!,
      );
      return pc + 10;
    }
    case 248: {
      // MEMX_MISC
      memMisc(
        m,
        inst,
        code[pc + 1]!,
        code[pc + 2]!,
        code[pc + 3]!,
        code[pc + 4]!,
        fp + code[pc + 5]!,
        fp + code[pc + 6]!,
        fp + code[pc + 7]!,
        fp + code[pc + 8]!,
      );
      return pc + 9;
    }
    case 249: {
      // TABLEX
      tableX(
        m,
        inst,
        code[pc + 1]!,
        code[pc + 2]!,
        code[pc + 3]!,
        fp + code[pc + 4]!,
        fp + code[pc + 5]!,
        fp + code[pc + 6]!,
        fp + code[pc + 7]!,
      );
      return pc + 8;
    }
    case 250: {
      // THROW
      m.curFp = fp;
      throw new ThrowSignal(newExn(m, inst.tags[code[pc + 1]!]!, fp + code[pc + 2]!));
    }
    case 251: {
      // THROW_REF
      const exn = refs[(fp + code[pc + 1]!) >> 1];
      if (!(exn instanceof ExnInst)) throw new WasmRuntimeError(Trap.NullExceptionReference);
      m.curFp = fp;
      throw new ThrowSignal(exn);
    }
    case 252: {
      // RETHROW
      m.curFp = fp;
      throw new ThrowSignal(refs[(fp + code[pc + 1]!) >> 1] as ExnInst);
    }
    default:
      throw new Error(`interpreter: bad internal opcode ${code[pc]} at ${pc}`);
  }
}
