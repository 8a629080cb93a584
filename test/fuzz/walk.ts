/**
 * Walks the instructions of function bodies by their immediates (the opcode table of
 * `src/runtime/binary/opcodes.ts` says which kind each instruction has).
 */
import type { Module } from '../../src/runtime/binary/module.js';
import { CODE_FC, CODE_FD, CODE_FE, OPS, PREFIX_FC, PREFIX_FD, PREFIX_FE } from '../../src/runtime/binary/opcodes.js';

/** Reads an unsigned or signed LEB128 at `p`; returns the offset after it. */
function skipLeb(b: Uint8Array, p: number): number {
  while ((b[p++]! & 0x80) !== 0);
  return p;
}

function readU32(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const x = b[p++]!;
    v |= (x & 0x7f) << shift;
    if ((x & 0x80) === 0) return [v >>> 0, p];
    shift += 7;
  }
}

/** Offsets of the instructions of defined function `i`'s body (the final `end` included). */
export function instructionStarts(m: Module, i: number): number[] {
  const b = m.bytes;
  const body = m.codes[i]!;
  const out: number[] = [];
  let p = body.codeStart;
  while (p < body.codeEnd) {
    out.push(p);
    p = nextInstruction(b, p);
  }
  return out;
}

/** The opcode code (opcodes.ts numbering) of the instruction at `p`, and the offset of its immediates. */
export function codeAt(b: Uint8Array, p: number): [code: number, immediates: number] {
  const op = b[p++]!;
  if (op === PREFIX_FC || op === PREFIX_FD || op === PREFIX_FE) {
    const [sub, q] = readU32(b, p);
    return [(op === PREFIX_FC ? CODE_FC : op === PREFIX_FD ? CODE_FD : CODE_FE) + sub, q];
  }
  return [op, p];
}

/** The offset after the instruction at `p`. */
export function nextInstruction(b: Uint8Array, at: number): number {
  const [code, p0] = codeAt(b, at);
  let p = p0;
  const info = OPS[code];
  if (info === undefined) throw new Error(`walk: unknown opcode ${code.toString(16)}`);
  switch (info.imm) {
    case 'none':
      return p;
    case 'blocktype':
    case 'label':
    case 'func':
    case 'local':
    case 'global':
    case 'table':
    case 'memidx':
    case 'i32':
    case 'i64':
    case 'dataidx':
    case 'elemidx':
      return skipLeb(b, p);
    case 'brtable': {
      const [n, q] = readU32(b, p);
      p = q;
      for (let k = 0; k <= n; k++) p = skipLeb(b, p);
      return p;
    }
    case 'callind':
    case 'tableinit':
    case 'tablecopy':
    case 'memcopy':
    case 'meminit':
      return skipLeb(b, skipLeb(b, p));
    case 'memarg':
    case 'memlane': {
      const [align, q] = readU32(b, p);
      p = q;
      if ((align & 0x40) !== 0) p = skipLeb(b, p);
      p = skipLeb(b, p);
      return info.imm === 'memlane' ? p + 1 : p;
    }
    case 'f32':
      return p + 4;
    case 'f64':
      return p + 8;
    case 'v128':
    case 'shuffle':
      return p + 16;
    case 'lane':
    case 'reftype':
    case 'fence':
      return p + 1;
    case 'selectt': {
      const [n, q] = readU32(b, p);
      return q + n;
    }
  }
}
