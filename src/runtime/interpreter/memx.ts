/**
 * Memory and table instructions beyond memory 0 of 32 bits (multiple memories, 64-bit memories and
 * tables), run out of line from rare.ts: the run loop's own memory ops stay those of memory 0, so
 * modules without these features run exactly the code they ran before.
 *
 * Addresses and lengths of 64-bit memories and tables are (lo, hi) word pairs read as doubles:
 * exact below 2^53, and every memory or table is far smaller, so a larger value is simply out of
 * bounds. Operands are absolute word offsets into the value stack.
 */
import { Trap, WasmRuntimeError } from '../api/errors.js';
import { OPS } from '../binary/opcodes.js';
import type { Machine } from './machine.js';
import { atomicAt } from './machine.js';
import type { Instance, Ref } from './objects.js';
import { simdMem } from './simd.js';

const TWO32 = 0x1_0000_0000;

function oobMem(): WasmRuntimeError {
  return new WasmRuntimeError(Trap.OutOfBoundsMemoryAccess);
}

function oobTable(): WasmRuntimeError {
  return new WasmRuntimeError(Trap.InvalidTableAccess);
}

/** The unsigned value at word offset `w`: an i32, or an i64 when `is64` (exact to 2^53, else huge). */
function u(i32: Int32Array, w: number, is64: boolean): number {
  if (!is64) return i32[w]! >>> 0;
  const hi = i32[w + 1]! >>> 0;
  return hi >= 0x200000 ? Infinity : hi * TWO32 + (i32[w]! >>> 0);
}

/** Writes `v` (an i32, or an i64 when `is64`; -1 stays -1) at word offset `w`. */
function put(i32: Int32Array, w: number, v: number, is64: boolean): void {
  i32[w] = v | 0;
  if (is64) i32[w + 1] = v < 0 ? -1 : Math.floor(v / TWO32) | 0;
}

/**
 * A load, store, SIMD memory or atomic instruction (wasm opcode `code`) on memory `memIdx` of
 * `inst`: `d` the result, `a` the address, `b`/`c` further operands, `off` the memarg offset.
 */
export function memAccess(
  m: Machine,
  inst: Instance,
  code: number,
  memIdx: number,
  d: number,
  a: number,
  b: number,
  c: number,
  off: number,
  lane: number,
): void {
  const i32 = m.i32;
  const mem = inst.memories[memIdx]!;
  const ea = u(i32, a, mem.is64) + off;
  if (code >= 0x300 && code < 0x400) {
    atomicAt(m, mem, code - 0x300, d, b, c, ea);
    return;
  }
  const info = OPS[code]!;
  const u8 = mem.api.u8;
  if (ea + info.memBytes > u8.length) throw oobMem();
  // Dirty-page tracking (wasmscope/snapshot): stores and SIMD stores mark what they write.
  if (info.results!.length === 0) mem.api.dirty?.mark(ea, info.memBytes);
  if (code >= 0x200) {
    simdMem(code - 0x200, m.simd, u8, ea, d * 4, b * 4, lane);
    return;
  }
  const dv = mem.api.dataView;
  switch (code) {
    case 0x28: // i32.load
    case 0x2a: // f32.load
      i32[d] = dv.getInt32(ea, true);
      return;
    case 0x29: // i64.load
    case 0x2b: // f64.load
      i32[d] = dv.getInt32(ea, true);
      i32[d + 1] = dv.getInt32(ea + 4, true);
      return;
    case 0x2c:
      i32[d] = dv.getInt8(ea);
      return;
    case 0x2d:
      i32[d] = dv.getUint8(ea);
      return;
    case 0x2e:
      i32[d] = dv.getInt16(ea, true);
      return;
    case 0x2f:
      i32[d] = dv.getUint16(ea, true);
      return;
    case 0x30:
    case 0x32:
    case 0x34: {
      // i64.load8_s, load16_s, load32_s
      const v = code === 0x30 ? dv.getInt8(ea) : code === 0x32 ? dv.getInt16(ea, true) : dv.getInt32(ea, true);
      i32[d] = v;
      i32[d + 1] = v >> 31;
      return;
    }
    case 0x31:
    case 0x33:
    case 0x35:
      // i64.load8_u, load16_u, load32_u
      i32[d] = code === 0x31 ? dv.getUint8(ea) : code === 0x33 ? dv.getUint16(ea, true) : dv.getInt32(ea, true);
      i32[d + 1] = 0;
      return;
    case 0x36: // i32.store
    case 0x38: // f32.store
    case 0x3e: // i64.store32
      dv.setInt32(ea, i32[b]!, true);
      return;
    case 0x37: // i64.store
    case 0x39: // f64.store
      dv.setInt32(ea, i32[b]!, true);
      dv.setInt32(ea + 4, i32[b + 1]!, true);
      return;
    case 0x3a: // i32.store8
    case 0x3c: // i64.store8
      dv.setInt8(ea, i32[b]!);
      return;
    case 0x3b: // i32.store16
    case 0x3d: // i64.store16
      dv.setInt16(ea, i32[b]!, true);
      return;
    default:
      throw new Error(`interpreter: bad memory instruction ${info.name}`);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * memory.size/grow/init/copy/fill (wasm opcode `code`) on any memory: `k` the data segment of
 * memory.init, `mem1`/`mem2` the memories (destination, source for memory.copy).
 */
export function memMisc(
  m: Machine,
  inst: Instance,
  code: number,
  k: number,
  mem1: number,
  mem2: number,
  d: number,
  a: number,
  b: number,
  c: number,
): void {
  const i32 = m.i32;
  const mem = inst.memories[mem1]!;
  const is64 = mem.is64;
  switch (code) {
    case 0x3f: // memory.size
      put(i32, d, mem.api.pages(), is64);
      return;
    case 0x40: {
      // memory.grow
      const n = u(i32, a, is64);
      const r = n > 0xffffffff ? undefined : mem.api.grow(n);
      m.memEpoch++;
      put(i32, d, r === undefined ? -1 : r, is64);
      return;
    }
    case 0x108: {
      // memory.init
      const dst = u(i32, a, is64);
      const src = i32[b]! >>> 0;
      const n = i32[c]! >>> 0;
      const data = inst.datas[k] ?? EMPTY;
      const u8 = mem.api.u8;
      if (src + n > data.length || dst + n > u8.length) throw oobMem();
      u8.set(data.subarray(src, src + n), dst);
      mem.api.dirty?.mark(dst, n);
      return;
    }
    case 0x10a: {
      // memory.copy: the length is an i64 only when both memories are 64-bit
      const from = inst.memories[mem2]!;
      const dst = u(i32, a, is64);
      const src = u(i32, b, from.is64);
      const n = u(i32, c, is64 && from.is64);
      const to8 = mem.api.u8;
      const from8 = from.api.u8;
      if (src + n > from8.length || dst + n > to8.length) throw oobMem();
      if (to8.buffer === from8.buffer) to8.copyWithin(dst, src, src + n);
      else to8.set(from8.subarray(src, src + n), dst);
      mem.api.dirty?.mark(dst, n);
      return;
    }
    case 0x10b: {
      // memory.fill
      const dst = u(i32, a, is64);
      const v = i32[b]! & 0xff;
      const n = u(i32, c, is64);
      const u8 = mem.api.u8;
      if (dst + n > u8.length) throw oobMem();
      u8.fill(v, dst, dst + n);
      mem.api.dirty?.mark(dst, n);
      return;
    }
    default:
      throw new Error(`interpreter: bad memory instruction ${OPS[code]?.name ?? code}`);
  }
}

const EMPTY_REFS: Ref[] = [];

/** table.size/grow/fill/copy/init (wasm opcode `code`) involving a 64-bit table. */
export function tableX(m: Machine, inst: Instance, code: number, t1: number, t2: number, d: number, a: number, b: number, c: number): void {
  const i32 = m.i32;
  switch (code) {
    case 0x10c: {
      // table.init: t1 the element segment, t2 the table
      const tab = inst.tables[t2]!;
      const dst = u(i32, a, tab.is64);
      const src = i32[b]! >>> 0;
      const n = i32[c]! >>> 0;
      const seg = inst.elems[t1] ?? EMPTY_REFS;
      if (src + n > seg.length || dst + n > tab.elems.length) throw oobTable();
      for (let j = 0; j < n; j++) tab.elems[dst + j] = seg[src + j]!;
      return;
    }
    case 0x10e: {
      // table.copy: t1 the destination, t2 the source
      const td = inst.tables[t1]!;
      const ts = inst.tables[t2]!;
      const dst = u(i32, a, td.is64);
      const src = u(i32, b, ts.is64);
      const n = u(i32, c, td.is64 && ts.is64);
      if (src + n > ts.elems.length || dst + n > td.elems.length) throw oobTable();
      if (td === ts) td.elems.copyWithin(dst, src, src + n);
      else for (let j = 0; j < n; j++) td.elems[dst + j] = ts.elems[src + j]!;
      return;
    }
    case 0x10f: {
      // table.grow
      const tab = inst.tables[t1]!;
      const n = u(i32, b, tab.is64);
      const r = n > 0xffffffff ? -1 : tab.grow(n, m.refs[a >> 1] ?? null);
      put(i32, d, r, tab.is64);
      return;
    }
    case 0x110: {
      const tab = inst.tables[t1]!;
      put(i32, d, tab.elems.length, tab.is64);
      return;
    }
    case 0x111: {
      // table.fill
      const tab = inst.tables[t1]!;
      const dst = u(i32, a, tab.is64);
      const v = m.refs[b >> 1] ?? null;
      const n = u(i32, c, tab.is64);
      if (dst + n > tab.elems.length) throw oobTable();
      for (let j = 0; j < n; j++) tab.elems[dst + j] = v;
      return;
    }
    default:
      throw new Error(`interpreter: bad table instruction ${OPS[code]?.name ?? code}`);
  }
}
