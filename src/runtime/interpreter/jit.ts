/**
 * Straight-line JavaScript for a lowered function ("block compilation"), run by the run loop in
 * place of dispatching its instructions one by one.
 *
 * The same code, the same machine: the generated function reads and writes the same value-stack
 * words at the same frame offsets as the run loop, with the operands of every instruction folded
 * in as constants, and returns the pc of the next instruction the run loop must run itself — a
 * call, a return (or a pc that is not one of its entry points). Its text is the run loop's own
 * case bodies (jit-ops.ts, generated from run.ts by jit-ops.test.ts), so its semantics are the
 * run loop's by construction (8-byte loads and stores may move one double instead of two int32
 * words, bit for bit the same: see f64Next). Nothing about frames, the value stack or pcs changes: whenever the
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
 * interpreted.
 *
 * Regions: a function longer than REGION_WORDS code words becomes several generated functions over
 * consecutive instructions, each entered at its first instruction and at the entry points inside
 * it, and a dispatcher that calls the region holding the pc until one returns a pc of its own (an
 * exit). Every innermost loop that fits gets a region of its own. Small functions optimize faster
 * (TurboFan's time grows faster than linearly with a function's size: 100–330 ms for one
 * 1,100-word function, paid again after each deopt) and better (a few hundred words against 2,000:
 * sieve 33× → 13× V8).
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
/**
 * Functions longer than this many code words run as several generated functions (regions) of at
 * most this size. `WASMSCOPE_INTERP_JIT_REGION_WORDS` overrides it (tests: tiny regions make every
 * branch cross regions).
 */
const REGION_WORDS = Number(process.env['WASMSCOPE_INTERP_JIT_REGION_WORDS'] ?? 250);
let regionWords = REGION_WORDS;

let enabled = process.env['WASMSCOPE_INTERP_JIT'] !== '0';

/** Turns block compilation on or off for functions lowered from now on (tests, benchmarks). */
export function setJitEnabled(on: boolean): void {
  enabled = on;
}

/** Sets the region size in code words for functions compiled from now on (tests); undefined: the default. */
export function setJitRegionWords(words: number | undefined): void {
  regionWords = words ?? REGION_WORDS;
}

const HELPERS = { Trap, miscOp, truncSat, rareOp, divS64, divU64, mulhu, out64, remS64, remU64, rotl64, rotr64, shl64, shrS64, shrU64 };

/** The compiled form of `code`, or null when it has instructions the run loop must run itself. */
export function compileJit(code: Int32Array, trapAt: unknown): JitFn | null {
  if (!enabled) return null;
  const entries = new Set<number>([0]);
  const starts: number[] = [];
  /** Backward branches as [target, branch pc]: loops, which a region boundary should not cut. */
  const loops: Array<readonly [number, number]> = [];
  const target = (pc: number, t: number): void => {
    entries.add(t);
    if (t <= pc) loops.push([t, pc]);
  };
  for (let pc = 0; pc < code.length; pc += instrLength(code[pc]!, code, pc)) {
    const raw = code[pc]!;
    const op = FUSED_FIRST.get(raw) ?? raw;
    starts.push(pc);
    if (op === 1) target(pc, code[pc + 1]!);
    else if (op === 2 || op === 3) target(pc, code[pc + 2]!);
    else if (op === 4) for (let j = 0; j <= code[pc + 2]!; j++) target(pc, code[pc + 3 + j]!);
    else if (op >= 110 && op <= 129) target(pc, code[pc + 3]!);
    else if (RETURNING_CALLS.has(op)) entries.add(pc + instrLength(raw, code, pc));
    else if (!JIT_OPS.has(op) && !EXITS.has(op) && !RARE.has(op) && op !== 34) return null;
  }
  try {
    if (code.length <= regionWords) return generate(code, trapAt, starts, 0, starts.length, entries);
    // A large function: several generated functions ("regions") over consecutive instructions, each
    // small enough for V8 to optimize, and a dispatcher that runs the region of the current pc until
    // one returns a pc of its own (a call, a return: the run loop's business).
    const cuts = regionCuts(code.length, starts, loops);
    const regionOf = new Int32Array(code.length + 1).fill(-1);
    const regions: JitFn[] = [];
    for (let r = 0; r + 1 < cuts.length; r++) {
      const a = cuts[r]!;
      const b = cuts[r + 1]!;
      const from = starts[a]!;
      const to = b < starts.length ? starts[b]! : code.length;
      regionOf.fill(r, from, to);
      regions.push(generate(code, trapAt, starts, a, b, new Set([...entries].filter((e) => e >= from && e < to).concat(from))));
    }
    const calls = regions.map((_, r) => `case ${r}: npc = r${r}(m, fn, depth, i32, f32, f64, fp, pc, dv, u8, memLen, globals); break;`);
    const make = new Function(
      'regionOf',
      ...regions.map((_, r) => `r${r}`),
      `'use strict';
return function jitRegions(m, fn, depth, i32, f32, f64, fp, pc, dv, u8, memLen, globals) {
  for (;;) {
    const r = regionOf[pc];
    let npc = pc;
    switch (r) {
${calls.join('\n')}
      default: return pc;
    }
    if (regionOf[npc] === r) return npc;
    pc = npc;
  }
};`,
    ) as (regionOf: Int32Array, ...regions: JitFn[]) => JitFn;
    return make(regionOf, ...regions);
  } catch {
    // Code generation from strings disallowed (--disallow-code-generation-from-strings, CSP).
    enabled = false;
    return null;
  }
}

/**
 * Where to split a large function into regions: indices into `starts`, from 0 to starts.length.
 * Every innermost loop that fits in a region gets a region of its own (V8 then optimizes it as the
 * small loop it is); the code between is cut into regions of at most regionWords words, each cut
 * in the last half of that span where it crosses the fewest loops (a loop cut in two pays a dispatch
 * per iteration), the latest such.
 */
function regionCuts(length: number, starts: number[], loops: ReadonlyArray<readonly [number, number]>): number[] {
  const crossing = new Int32Array(length + 1);
  for (const [t, b] of loops) {
    crossing[t + 1]!++;
    crossing[b + 1]!--;
  }
  for (let pc = 1; pc <= length; pc++) crossing[pc]! += crossing[pc - 1]!;
  const indexOf = new Map<number, number>(starts.map((pc, i) => [pc, i]));
  // Loops by head (a loop's last backward branch is its end), then the innermost ones.
  const byHead = new Map<number, number>();
  for (const [t, b] of loops) byHead.set(t, Math.max(byHead.get(t) ?? -1, b));
  const fixed = new Set<number>([0, starts.length]);
  for (const [t, b] of byHead) {
    const end = indexOf.get(b)! + 1;
    const endPc = end < starts.length ? starts[end]! : length;
    if (endPc - t > regionWords) continue;
    let inner = false;
    for (const [t2, b2] of byHead) if (t2 !== t && t2 >= t && b2 <= b) inner = true;
    if (inner) continue;
    fixed.add(indexOf.get(t)!);
    fixed.add(end);
  }
  const sorted = [...fixed].sort((x, y) => x - y);
  const cuts = [0];
  for (let k = 0; k + 1 < sorted.length; k++) {
    let a = sorted[k]!;
    const stop = sorted[k + 1]!;
    const stopPc = stop < starts.length ? starts[stop]! : length;
    while (stopPc - starts[a]! > regionWords) {
      const from = starts[a]!;
      let best = -1;
      for (let i = a + 1; i < stop && starts[i]! - from <= regionWords; i++) {
        if (starts[i]! - from < regionWords / 2) continue;
        if (best < 0 || crossing[starts[i]!]! <= crossing[starts[best]!]!) best = i;
      }
      if (best < 0) best = a + 1;
      cuts.push(best);
      a = best;
    }
    cuts.push(stop);
  }
  return cuts;
}

/** One generated function over instructions starts[a..b), entered at `entries` (in that range). */
function generate(code: Int32Array, trapAt: unknown, starts: number[], a: number, b: number, entries: Set<number>): JitFn {
  const out: string[] = ['for (;;) {', 'switch (pc) {', 'default:', 'return pc;'];
  for (let i = a; i < b; i++) {
    const pc = starts[i]!;
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
    } else if (op === 41 && f64Next(code, starts, i, b, entries, code[pc + 1]!)) {
      // I64_LOAD whose value an f64 instruction reads next: one f64 store (see f64Next).
      out.push(
        `{ const ea = (i32[fp + ${code[pc + 2]!}] >>> 0) + ${code[pc + 3]! >>> 0};`,
        `if (ea > memLen - 8) throw trapAt(m, fn, ${pc}, depth, Trap.OutOfBoundsMemoryAccess);`,
        `f64[(fp + ${code[pc + 1]!}) >> 1] = dv.getFloat64(ea, true); }`,
      );
    } else if (op === 53 && f64Before(code, starts, i, a, entries, code[pc + 2]!)) {
      // I64_STORE of a value an f64 instruction (or an f64-style load) wrote: one f64 load.
      out.push(
        `{ const ea = (i32[fp + ${code[pc + 1]!}] >>> 0) + ${code[pc + 3]! >>> 0};`,
        `if (ea > memLen - 8) throw trapAt(m, fn, ${pc}, depth, Trap.OutOfBoundsMemoryAccess);`,
        `dv.setFloat64(ea, f64[(fp + ${code[pc + 2]!}) >> 1], true); }`,
      );
    } else {
      const t = JIT_OPS.get(op)!;
      out.push('{', t.replace(/\$(\d+)\$/g, (_m, k: string) => String(code[pc + Number(k)]!)).replace(/@PC@/g, String(pc)), '}');
    }
  }
  out.push(`return ${b < starts.length ? starts[b]! : code.length};`, '}', '}');
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
}

/*
 * 8-byte loads and stores (I64_LOAD/I64_STORE, also f64.load/store) move two int32 words, as in the
 * run loop. When an f64 instruction reads the loaded slot next, or wrote the stored slot, the
 * generated code moves the 8 bytes as one double instead (DataView get/setFloat64 and the
 * Float64Array view, which V8 keeps bit-exact on every tier: jit.test.ts): two int32 stores read
 * back as one double (or the reverse) defeat the CPU's store forwarding, a stall of ~10 cycles.
 * Measured (Node 20, steady): matmul 47× → 21× V8, nbody 32× → 24×. Not for every 8-byte move:
 * an i64 computed as int32 words and stored through one f64 read would stall the same way (fib's
 * i64 call counter), hence the choice by neighbour. Either form is exact; only speed depends on the
 * guess.
 */
/** How far (instructions) to look for the producer or consumer of a slot. */
const F64_WINDOW = 6;
/** Opcodes whose template reads operand k as an f64, by k (from jit-ops.ts texts). */
const F64_READS = new Map<number, Set<number>>();
/** Opcodes whose template writes operand 1 as an f64. */
const F64_WRITES = new Set<number>();
for (const [op, text] of JIT_OPS) {
  for (const m of text.matchAll(/f64\[\(fp \+ \$(\d)\$\) >> 1\](?! =)/g)) {
    F64_READS.set(op, (F64_READS.get(op) ?? new Set<number>()).add(Number(m[1])));
  }
  if (text.includes('f64[(fp + $1$) >> 1] =')) F64_WRITES.add(op);
}

/** Operand positions (1..3) of the instruction at `pc` that name word offset `w`. */
function operandsNaming(code: Int32Array, pc: number, w: number): number[] {
  const len = instrLength(code[pc]!, code, pc);
  const ks: number[] = [];
  for (let k = 1; k <= 3 && k < len; k++) if (code[pc + k] === w) ks.push(k);
  return ks;
}

/** Whether the first later instruction (same block) naming slot `w` reads it as an f64. */
function f64Next(code: Int32Array, starts: number[], i: number, b: number, entries: Set<number>, w: number): boolean {
  for (let j = i + 1; j < b && j <= i + F64_WINDOW; j++) {
    const pc = starts[j]!;
    if (entries.has(pc)) return false;
    const ks = operandsNaming(code, pc, w);
    if (ks.length === 0) continue;
    const raw = code[pc]!;
    const reads = F64_READS.get(FUSED_FIRST.get(raw) ?? raw);
    return reads !== undefined && ks.every((k) => reads.has(k));
  }
  return false;
}

/** Whether the last earlier instruction (same block) naming slot `w` wrote it as an f64. */
function f64Before(code: Int32Array, starts: number[], i: number, a: number, entries: Set<number>, w: number): boolean {
  if (entries.has(starts[i]!)) return false;
  for (let j = i - 1; j >= a && j >= i - F64_WINDOW; j--) {
    const pc = starts[j]!;
    const ks = operandsNaming(code, pc, w);
    if (ks.length > 0) {
      const raw = code[pc]!;
      const op = FUSED_FIRST.get(raw) ?? raw;
      if (op === 41) return ks[0] === 1 && f64Next(code, starts, j, starts.length, entries, w);
      return ks.includes(1) && F64_WRITES.has(op);
    }
    if (entries.has(pc)) return false;
  }
  return false;
}
