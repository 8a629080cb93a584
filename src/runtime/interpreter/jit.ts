/**
 * Straight-line JavaScript for a lowered function ("block compilation"), run by the run loop in
 * place of dispatching its instructions one by one.
 *
 * The same code, the same machine: the generated function reads and writes the same value-stack
 * words at the same frame offsets as the run loop, with the operands of every instruction folded
 * in as constants, and returns the pc of the next instruction the run loop must run itself — a
 * call, a return (or a pc that is not one of its entry points). Its text is the run loop's own
 * case bodies (jit-ops.ts, generated from run.ts by jit-ops.test.ts), so its semantics are the
 * run loop's by construction. Nothing about frames, the value stack or pcs changes: whenever the
 * run loop has control (every call, return, host call, trap), the machine's state is exactly what
 * pure interpretation would have left. Traps carry the exact pc of the trapping instruction.
 *
 * Entry points: pc 0, every branch target and every return point after a call. The run loop enters
 * at function entry (CALL/execute), after a callee returns (RET) and when execute resumes (after a
 * host call); from any other pc it just interprets.
 *
 * Only functions made of the instructions below get a compiled form: listened functions
 * (LISTEN_*), interrupt checks (CHECK: time slicing yields mid-function), coverage counters,
 * dirty-page marks, memory.grow, SIMD, atomics, multi/64-bit memories and exceptions stay
 * interpreted, as does a function whose text would be too large for V8 to optimize.
 * `WASMSCOPE_INTERP_JIT=0` turns it off (the run loop alone, for comparisons).
 */
import { Trap } from '../api/errors.js';
import { FUSED_PAIRS, instrLength } from './ir.js';
import { JIT_OPS } from './jit-ops.js';
import { miscOp, truncSat } from './machine.js';
import { divS64, divU64, mulhu, out64, remS64, remU64, rotl64, rotr64, shl64, shrS64, shrU64 } from './numeric.js';
import type { JitFn } from './objects.js';

export type { JitFn };
import { rareOp } from './rare.js';

/** Calls and returns: the run loop runs them (frames are its business). */
const EXITS = new Set([5, 6, 7, 8, 9, 10, 11, 58, 59]);
/** Calls that come back: the instruction after one is an entry point. */
const RETURNING_CALLS = new Set([8, 9, 58]);
/** Rare instructions (rare.ts) that only read and write the frame, globals, tables or memory words. */
const RARE = new Set([
  13, 14, 17, 19, 20, 23, 24, 25, 26, 27, 28, 29, 31, 32, 33, 73, 74, 104, 105, 106, 107, 108, 156, 157, 158, 159, 160, 161, 169, 174, 175,
  176, 183, 184, 185, 186, 187, 188, 194, 195, 196, 203, 204, 205, 206, 207, 208, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220,
  221, 225, 226, 253, 254,
]);
const FUSED_FIRST = new Map<number, number>(FUSED_PAIRS.map(([a, , f]) => [f, a]));
/** Functions longer than this (code words) stay interpreted: V8 would not optimize their text. */
const MAX_WORDS = 2000;

let enabled = process.env['WASMSCOPE_INTERP_JIT'] !== '0';

/** Turns block compilation on or off for functions lowered from now on (tests, benchmarks). */
export function setJitEnabled(on: boolean): void {
  enabled = on;
}

const HELPERS = { Trap, miscOp, truncSat, rareOp, divS64, divU64, mulhu, out64, remS64, remU64, rotl64, rotr64, shl64, shrS64, shrU64 };

/** The compiled form of `code`, or null when it has instructions the run loop must run itself. */
export function compileJit(code: Int32Array, trapAt: unknown): JitFn | null {
  if (!enabled || code.length > MAX_WORDS) return null;
  const entries = new Set<number>([0]);
  const starts: number[] = [];
  for (let pc = 0; pc < code.length; pc += instrLength(code[pc]!, code, pc)) {
    const raw = code[pc]!;
    const op = FUSED_FIRST.get(raw) ?? raw;
    starts.push(pc);
    if (op === 1) entries.add(code[pc + 1]!);
    else if (op === 2 || op === 3) entries.add(code[pc + 2]!);
    else if (op === 4) for (let j = 0; j <= code[pc + 2]!; j++) entries.add(code[pc + 3 + j]!);
    else if (op >= 110 && op <= 129) entries.add(code[pc + 3]!);
    else if (RETURNING_CALLS.has(op)) entries.add(pc + instrLength(raw, code, pc));
    else if (!JIT_OPS.has(op) && !EXITS.has(op) && !RARE.has(op) && op !== 34) return null;
  }
  const out: string[] = ['for (;;) {', 'switch (pc) {', 'default:', 'return pc;'];
  for (const pc of starts) {
    const raw = code[pc]!;
    const op = FUSED_FIRST.get(raw) ?? raw;
    if (entries.has(pc)) out.push(`case ${pc}:`);
    if (EXITS.has(op)) {
      out.push(`return ${pc};`);
    } else if (op === 4) {
      const n = code[pc + 2]!;
      out.push(`{ const x = i32[fp + ${code[pc + 1]!}] >>> 0;`, `switch (x < ${n} ? x : ${n}) {`);
      for (let j = 0; j <= n; j++) out.push(`case ${j}: pc = ${code[pc + 3 + j]!}; continue;`);
      out.push('} }');
    } else if (op === 34) {
      out.push(
        `{ m.curFn = fn; m.curPc = ${pc}; m.depth = depth;`,
        `miscOp(m, fn.inst, ${code[pc + 1]!}, ${code[pc + 2]!}, ${code[pc + 3]!}, fp + ${code[pc + 4]!}, fp + ${code[pc + 5]!}, fp + ${code[pc + 6]!}, fp + ${code[pc + 7]!}); }`,
      );
    } else if (RARE.has(op)) {
      out.push(`m.curFn = fn; m.curPc = ${pc}; m.depth = depth; rareOp(m, fn, code, ${pc}, fp);`);
    } else {
      const t = JIT_OPS.get(op)!;
      out.push('{', t.replace(/\$(\d+)\$/g, (_m, k: string) => String(code[pc + Number(k)]!)).replace(/@PC@/g, String(pc)), '}');
    }
  }
  out.push(`return ${code.length};`, '}', '}');
  try {
    const make = new Function(
      'H',
      'trapAt',
      'code',
      `'use strict';
const { Trap, miscOp, truncSat, rareOp, divS64, divU64, mulhu, out64, remS64, remU64, rotl64, rotr64, shl64, shrS64, shrU64 } = H;
return function jit(m, fn, depth, i32, f32, f64, fp, pc, dv, u8, memLen, globals) {
${out.join('\n')}
};`,
    ) as (h: typeof HELPERS, trapAt: unknown, code: Int32Array) => JitFn;
    return make(HELPERS, trapAt, code);
  } catch {
    // Code generation from strings disallowed (--disallow-code-generation-from-strings, CSP).
    enabled = false;
    return null;
  }
}
