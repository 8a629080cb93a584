/**
 * Walks the instructions of function bodies (the runtime's own instruction walker,
 * `src/runtime/binary/instr.ts`).
 */
import type { Module } from '../../src/runtime/binary/module.js';
import { nextInstr } from '../../src/runtime/binary/instr.js';

const code = new Int32Array(1);

/** Offsets of the instructions of defined function `i`'s body (the final `end` included). */
export function instructionStarts(m: Module, i: number): number[] {
  const b = m.bytes;
  const body = m.codes[i]!;
  const out: number[] = [];
  let p = body.codeStart;
  while (p < body.codeEnd) {
    out.push(p);
    p = nextInstr(b, p, code);
  }
  return out;
}

/** The opcode code (opcodes.ts numbering) of the instruction at `p`, and the offset after it. */
export function codeAt(b: Uint8Array, p: number): [code: number, next: number] {
  const next = nextInstr(b, p, code);
  return [code[0]!, next];
}
