/**
 * The instruction walker over function bodies, derived from the opcode table (opcodes.ts): the
 * immediate kind of every opcode code as a typed array, and the walk from one instruction to the
 * next. The validator reads and checks immediates itself, by kind; the interpreter's lowering and
 * the compiler's instrumentation skip the immediates they do not need with {@link skipImmediates}.
 *
 * The walk reads the bytes of a *validated* body: it does no bounds checks, and reads a one-byte
 * immediate (a memory index, a lane, a reference type) as the LEB128 it equals when valid.
 */
import { IMM_KINDS, NUM_CODES, OPS, type ImmKind } from './opcodes.js';

/** The index of an immediate kind in `IMM_KINDS`, as stored in {@link IMM_OF}. */
function kind(k: ImmKind): number {
  return IMM_KINDS.indexOf(k);
}

// Immediate kinds as small integers, for dense switches.
export const IMM_NONE = kind('none');
export const IMM_BLOCKTYPE = kind('blocktype');
export const IMM_LABEL = kind('label');
export const IMM_BRTABLE = kind('brtable');
export const IMM_FUNC = kind('func');
export const IMM_CALLIND = kind('callind');
export const IMM_LOCAL = kind('local');
export const IMM_GLOBAL = kind('global');
export const IMM_TABLE = kind('table');
export const IMM_MEMARG = kind('memarg');
export const IMM_MEMIDX = kind('memidx');
export const IMM_I32 = kind('i32');
export const IMM_I64 = kind('i64');
export const IMM_F32 = kind('f32');
export const IMM_F64 = kind('f64');
export const IMM_V128 = kind('v128');
export const IMM_SHUFFLE = kind('shuffle');
export const IMM_LANE = kind('lane');
export const IMM_MEMLANE = kind('memlane');
export const IMM_REFTYPE = kind('reftype');
export const IMM_SELECTT = kind('selectt');
export const IMM_DATAIDX = kind('dataidx');
export const IMM_ELEMIDX = kind('elemidx');
export const IMM_MEMINIT = kind('meminit');
export const IMM_MEMCOPY = kind('memcopy');
export const IMM_TABLEINIT = kind('tableinit');
export const IMM_TABLECOPY = kind('tablecopy');
export const IMM_FENCE = kind('fence');
export const IMM_TAG = kind('tag');
export const IMM_TRYTABLE = kind('trytable');
/** In {@link IMM_OF}: no instruction has this code. */
export const IMM_UNKNOWN = 255;

// What skipping needs to know of the immediates: their byte shape.
const S_NONE = 0;
/** One LEB128 of any width: a block type, an index, an i32/i64 constant (and a one-byte index). */
const S_LEB = 1;
const S_LEB2 = 2;
/** A memarg and a lane byte. */
const S_LEB2_BYTE = 3;
const S_BRTABLE = 4;
const S_FIXED4 = 5;
const S_FIXED8 = 6;
const S_FIXED16 = 7;
const S_BYTE = 8;
const S_SELECTT = 9;
/** A memarg: align (bit 6 set: a memory index follows), then the offset. */
const S_MEMARG = 10;
/** A memarg and a lane byte. */
const S_MEMARG_BYTE = 11;
/** A block type and catch clauses (`try_table`). */
const S_TRYTABLE = 12;

function shapeOf(k: ImmKind): number {
  switch (k) {
    case 'none':
      return S_NONE;
    case 'blocktype':
    case 'label':
    case 'func':
    case 'local':
    case 'global':
    case 'table':
    case 'dataidx':
    case 'elemidx':
    case 'memidx':
    case 'i32':
    case 'i64':
    case 'tag':
      return S_LEB;
    case 'callind':
    case 'tableinit':
    case 'tablecopy':
    case 'meminit':
    case 'memcopy':
      return S_LEB2;
    case 'memarg':
      return S_MEMARG;
    case 'memlane':
      return S_MEMARG_BYTE;
    case 'trytable':
      return S_TRYTABLE;
    case 'brtable':
      return S_BRTABLE;
    case 'f32':
      return S_FIXED4;
    case 'f64':
      return S_FIXED8;
    case 'v128':
    case 'shuffle':
      return S_FIXED16;
    case 'lane':
    case 'reftype':
    case 'fence':
      return S_BYTE;
    case 'selectt':
      return S_SELECTT;
  }
}

/** The immediate kind of each code (an `IMM_*` constant), {@link IMM_UNKNOWN} for unknown codes. */
export const IMM_OF: Uint8Array = new Uint8Array(NUM_CODES).fill(IMM_UNKNOWN);
/** The byte shape of each code's immediates, 255 for unknown codes. */
const SHAPE_OF = new Uint8Array(NUM_CODES).fill(255);
for (const info of OPS) {
  if (info === undefined) continue;
  IMM_OF[info.code] = kind(info.imm);
  SHAPE_OF[info.code] = shapeOf(info.imm);
}

/** The position after the LEB128 at `p`. */
export function skipLeb(b: Uint8Array, p: number): number {
  while ((b[p++]! & 0x80) !== 0);
  return p;
}

/** The unsigned LEB128 (u32) at `p`. */
export function readLeb(b: Uint8Array, p: number): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const x = b[p++]!;
    result |= (x & 0x7f) << shift;
    if ((x & 0x80) === 0) return result >>> 0;
    shift += 7;
  }
}

/** Bit 6 of a memarg's alignment field: a memory index follows it (multi-memory). */
export const MEMARG_HAS_MEMIDX = 0x40;

/** The position after the memarg at `p` (align, optional memory index, offset). */
export function skipMemarg(b: Uint8Array, p: number): number {
  const align = readLeb(b, p);
  p = skipLeb(b, p);
  if ((align & MEMARG_HAS_MEMIDX) !== 0) p = skipLeb(b, p);
  return skipLeb(b, p);
}

/** The position after the immediates of instruction `code`, which start at `p`. */
export function skipImmediates(b: Uint8Array, p: number, code: number): number {
  switch (SHAPE_OF[code]) {
    case S_NONE:
      return p;
    case S_LEB:
      return skipLeb(b, p);
    case S_LEB2:
      return skipLeb(b, skipLeb(b, p));
    case S_LEB2_BYTE:
      return skipLeb(b, skipLeb(b, p)) + 1;
    case S_BRTABLE: {
      const n = readLeb(b, p);
      p = skipLeb(b, p);
      for (let i = 0; i <= n; i++) p = skipLeb(b, p);
      return p;
    }
    case S_FIXED4:
      return p + 4;
    case S_FIXED8:
      return p + 8;
    case S_FIXED16:
      return p + 16;
    case S_BYTE:
      return p + 1;
    case S_SELECTT:
      return skipLeb(b, p) + readLeb(b, p);
    case S_MEMARG:
      return skipMemarg(b, p);
    case S_MEMARG_BYTE:
      return skipMemarg(b, p) + 1;
    case S_TRYTABLE: {
      p = skipLeb(b, p);
      const n = readLeb(b, p);
      p = skipLeb(b, p);
      for (let i = 0; i < n; i++) {
        const k = b[p++]!;
        if (k < 2) p = skipLeb(b, p);
        p = skipLeb(b, p);
      }
      return p;
    }
    default:
      throw new Error(`not supported: opcode 0x${code.toString(16)}`);
  }
}

/**
 * The position after the instruction at `p`; `out[0]` receives its code (a byte, or
 * `0x100`/`0x200`/`0x300` + the sub-opcode of a 0xFC/0xFD/0xFE prefix, `0x400 + sub - 0x100` for
 * 0xFD sub-opcodes from 0x100).
 */
export function nextInstr(b: Uint8Array, p: number, out: Int32Array): number {
  let code = b[p++]!;
  if (code >= 0xfc && code <= 0xfe) {
    const sub = readLeb(b, p);
    p = skipLeb(b, p);
    code = (code === 0xfc ? 0x100 : code === 0xfd ? (sub < 0x100 ? 0x200 : 0x300) : 0x300) + sub;
  }
  out[0] = code;
  return skipImmediates(b, p, code);
}
