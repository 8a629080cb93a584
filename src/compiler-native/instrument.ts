/**
 * Body instrumentation for the compiler engine: the first pass rewrites some function bodies while
 * the others stay byte-for-byte copies (see rewrite.ts). It is the extension point for listeners,
 * snapshots and interrupts (issues 4/5); today it implements *precise traps*.
 *
 * Precise traps: V8 reports one text where wazero has two, and the operand that decides is gone by
 * the time JS sees the error:
 * - a trapping float→int conversion of a NaN ("invalid conversion to integer") vs. out of range
 *   ("integer overflow"): a NaN check before the conversion calls an appended `$nanTrap`;
 * - a `call_indirect` of a null entry ("invalid table access") vs. one of another type ("indirect
 *   call type mismatch"): a null check before the call calls an appended `$nullTrap`.
 * A trap whose innermost frame is one of those functions is known precisely; otherwise V8's text is.
 * It walks every body, so it is opt-in (compile latency).
 */
import { ByteWriter } from '../runtime/binary/encoder.js';
import type { Module } from '../runtime/binary/module.js';
import { OPS } from '../runtime/binary/opcodes.js';
import { Reader } from '../runtime/binary/reader.js';

/** An instrumented body and how its offsets map back. */
export interface InstrumentedBody {
  /** Locals and code, without the leading size. */
  readonly encoded: Uint8Array;
  /** Byte length of the local declarations at the start of `encoded`. */
  readonly localsLength: number;
  /**
   * Segments of the new code, in order: `newStart[i]` (relative to the start of the new code) maps
   * to `origStart[i]` (absolute in the original binary); `copied[i]` says whether offsets advance
   * together (copied bytes) or all map to `origStart[i]` (inserted code).
   */
  readonly newStart: Int32Array;
  readonly origStart: Int32Array;
  readonly copied: Uint8Array;
}

/** Original offset of `rel` (relative to the start of the body's new code). */
export function mapInstrumentedOffset(b: InstrumentedBody, rel: number): number {
  let lo = 0;
  let hi = b.newStart.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (b.newStart[mid]! <= rel) lo = mid;
    else hi = mid - 1;
  }
  const s = b.newStart[lo] ?? 0;
  return b.copied[lo] === 1 ? b.origStart[lo]! + (rel - s) : b.origStart[lo]!;
}

const F32 = 0x7d;
const F64 = 0x7c;
const I32 = 0x7f;

/** Trapping truncations and the float type they take. */
const TRUNC: ReadonlyMap<number, number> = new Map([
  [0xa8, F32],
  [0xa9, F32],
  [0xaa, F64],
  [0xab, F64],
  [0xae, F32],
  [0xaf, F32],
  [0xb0, F64],
  [0xb1, F64],
]);

/** Skips the immediates of `code` (an OPS code) at `r`. */
function skipImmediates(r: Reader, code: number): void {
  const info = OPS[code];
  if (info === undefined) throw new Error(`not supported: opcode 0x${code.toString(16)}`);
  switch (info.imm) {
    case 'none':
      return;
    case 'blocktype':
      r.s33();
      return;
    case 'label':
    case 'func':
    case 'local':
    case 'global':
    case 'table':
    case 'dataidx':
    case 'elemidx':
    case 'memidx':
      r.u32();
      return;
    case 'brtable': {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
      return;
    }
    case 'callind':
    case 'tableinit':
    case 'tablecopy':
    case 'meminit':
      r.u32();
      r.u32();
      return;
    case 'memcopy':
      r.u32();
      r.u32();
      return;
    case 'memarg':
      r.u32();
      r.u32();
      return;
    case 'memlane':
      r.u32();
      r.u32();
      r.u8();
      return;
    case 'i32':
      r.s32();
      return;
    case 'i64':
      r.s64Halves();
      return;
    case 'f32':
      r.skip(4);
      return;
    case 'f64':
      r.skip(8);
      return;
    case 'v128':
    case 'shuffle':
      r.skip(16);
      return;
    case 'lane':
    case 'reftype':
    case 'fence':
      r.u8();
      return;
    case 'selectt': {
      const n = r.u32();
      r.skip(n);
      return;
    }
  }
}

/**
 * Instruments body `defIndex` of `m` for precise traps, or returns undefined when it has no
 * trapping conversion and no `call_indirect`.
 */
export function instrumentPreciseTraps(m: Module, defIndex: number, nanTrapFunc: number, nullTrapFunc: number): InstrumentedBody | undefined {
  const body = m.codes[defIndex]!;
  const type = m.types[m.funcTypeIndices[defIndex]!]!;
  const base = type.params.length + body.numLocals;
  const tmpF32 = base;
  const tmpF64 = base + 1;
  const tmpI32 = base + 2;
  const r = new Reader(m.bytes, body.codeStart, body.codeEnd);
  const out = new ByteWriter(body.codeEnd - body.codeStart + 64);
  const newStart: number[] = [];
  const origStart: number[] = [];
  const copied: number[] = [];
  let copyFrom = body.codeStart;
  let changed = false;
  const flush = (to: number): void => {
    if (to > copyFrom) {
      newStart.push(out.len);
      origStart.push(copyFrom);
      copied.push(1);
      out.bytes(m.bytes.subarray(copyFrom, to));
    }
    copyFrom = to;
  };
  while (r.pos < body.codeEnd) {
    const at = r.pos;
    const code = r.opcode();
    const trunc = TRUNC.get(code);
    if (trunc !== undefined || code === 0x11 || code === 0x13) {
      flush(at);
      changed = true;
      newStart.push(out.len);
      origStart.push(at);
      copied.push(0);
      if (trunc !== undefined) {
        const tmp = trunc === F32 ? tmpF32 : tmpF64;
        // local.tee t; local.get t; local.get t; fN.ne; if; call $nanTrap; end
        out.u8(0x22).u32(tmp).u8(0x20).u32(tmp).u8(0x20).u32(tmp).u8(trunc === F32 ? 0x5c : 0x62).u8(0x04).u8(0x40).u8(0x10).u32(nanTrapFunc).u8(0x0b);
      } else {
        const save = r.pos;
        r.u32();
        const table = r.u32();
        r.pos = save;
        // local.tee i; local.get i; table.get x; ref.is_null; if; call $nullTrap; end
        out.u8(0x22).u32(tmpI32).u8(0x20).u32(tmpI32).u8(0x25).u32(table).u8(0xd1).u8(0x04).u8(0x40).u8(0x10).u32(nullTrapFunc).u8(0x0b);
      }
    }
    skipImmediates(r, code);
  }
  if (!changed) return undefined;
  flush(body.codeEnd);
  const w = new ByteWriter(out.len + 32);
  w.u32(body.locals.length + 3);
  for (const g of body.locals) w.u32(g.count).u8(g.type);
  w.u32(1).u8(F32).u32(1).u8(F64).u32(1).u8(I32);
  const localsLength = w.len;
  w.bytes(out.buf.subarray(0, out.len));
  return {
    encoded: w.finish(),
    localsLength,
    newStart: Int32Array.from(newStart),
    origStart: Int32Array.from(origStart),
    copied: Uint8Array.from(copied),
  };
}
