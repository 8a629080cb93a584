/**
 * Block coverage, shared by both engines: which instructions start a block (decided here, once),
 * the counters the engines add to when a block is entered, and the correction for a block that a
 * trap left in its middle. `wasmscope/profile` maps blocks to DWARF source lines.
 *
 * A block is a run of instructions that always runs to its end once entered, unless a trap stops
 * it. Blocks start at the function's first instruction and after every instruction that may leave
 * straight-line code: branches (`br`, `br_if`, `br_table`, `return`, `unreachable`, tail calls,
 * throws), the heads of control constructs (`loop`, `if`, `else`, `end`, handlers) and calls (a call
 * may not come back: `proc_exit`, a trap, a host error, a snapshot restore). So the only way a block
 * is left early is a trap at one of its own instructions: the innermost frame of the trap says
 * where, and the instructions after it in that block count one entry less ({@link BlockCoverage.stops}).
 *
 * Engines report entries only: the interpreter emits a COVER instruction at each block start while
 * lowering; the compiler engine adds a counter (a wasm global) per block before V8 compiles. Off,
 * neither emits anything: zero cost.
 */
import type { Context } from '../api/context.js';
import { Trap, type WasmRuntimeError } from '../api/errors.js';
import type { FunctionDefinition } from '../api/module.js';
import { nextInstr } from '../binary/instr.js';
import type { Module as IrModule } from '../binary/module.js';
import { definitionModule } from './definition.js';

/** Receives the block coverage of every module compiled with a context carrying it. */
export interface BlockCoverageSink {
  /** Called by `compileModule` (after validation) with the counters of a new compiled module. */
  addModule(coverage: BlockCoverage): void;
}

const sinkKey = Symbol('wasmscope.blockCoverage');

/** A context whose `compileModule` counts block entries of the modules it compiles into `sink`. */
export function withBlockCoverage(ctx: Context, sink: BlockCoverageSink): Context {
  return ctx.withValue(sinkKey, sink);
}

/** The sink on `ctx`, if any. */
export function getBlockCoverage(ctx: Context | undefined): BlockCoverageSink | undefined {
  return ctx?.value<BlockCoverageSink>(sinkKey);
}

const scratch = new Int32Array(1);

/** Codes after which a new block starts (see the module comment). */
const ENDS_BLOCK = ((): Uint8Array => {
  const t = new Uint8Array(0x400);
  // unreachable, loop, if, else, try, catch, throw, rethrow, throw_ref, end, br, br_if, br_table,
  // return, call, call_indirect, return_call, return_call_indirect, call_ref, return_call_ref,
  // delegate, catch_all, try_table, br_on_null, br_on_non_null.
  for (const c of [0x00, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15])
    t[c] = 1;
  for (const c of [0x18, 0x19, 0x1f, 0xd5, 0xd6]) t[c] = 1;
  return t;
})();

/**
 * The first instruction of every block of defined function `defIndex` of `m` (validated), as
 * absolute offsets into `m.bytes`, ascending. The final `end` never starts a block of its own.
 */
export function blockStartsOf(m: IrModule, defIndex: number): number[] {
  const body = m.codes[defIndex]!;
  const b = m.bytes;
  const out = [body.codeStart];
  const last = body.codeEnd - 1; // the final `end`
  let p = body.codeStart;
  while (p < last) {
    p = nextInstr(b, p, scratch);
    if (ENDS_BLOCK[scratch[0]!] === 1 && p < last && out[out.length - 1] !== p) out.push(p);
  }
  return out;
}

/**
 * The entry counts of one compiled module's blocks. One per compiled module: every instance adds
 * to the same counters (the interpreter directly; the compiler engine when it flushes its globals).
 */
export class BlockCoverage {
  /** The decoded module (its bytes, custom sections and code section offset). */
  readonly module: IrModule;
  /** The first instruction of each block, absolute offsets into `module.bytes`, ascending. */
  readonly starts: Int32Array;
  /** Per defined function: the index of its first block; the last entry is `starts.length`. */
  readonly funcFirst: Int32Array;
  /** Entries per block. */
  readonly counts: Float64Array;
  /**
   * Offsets where a trap stopped a block: each entry means one entry of the block holding it ran
   * only up to that instruction (inclusive).
   */
  readonly stops: number[] = [];
  readonly #sources = new Set<() => void>();

  constructor(m: IrModule) {
    this.module = m;
    const starts: number[] = [];
    const first = new Int32Array(m.codes.length + 1);
    for (let i = 0; i < m.codes.length; i++) {
      first[i] = starts.length;
      for (const s of blockStartsOf(m, i)) starts.push(s);
    }
    first[m.codes.length] = starts.length;
    this.starts = Int32Array.from(starts);
    this.funcFirst = first;
    this.counts = new Float64Array(starts.length);
    byModule.set(m, this);
  }

  /**
   * Registers `flush`, which adds the entries an engine keeps elsewhere (the compiler engine's
   * globals) to {@link counts} and zeroes them. Returns a function that flushes once more and
   * unregisters it (an instance's close).
   */
  addSource(flush: () => void): () => void {
    this.#sources.add(flush);
    return () => {
      if (this.#sources.delete(flush)) flush();
    };
  }

  /** Brings {@link counts} up to date. */
  flush(): void {
    for (const f of this.#sources) f();
  }

  /** The block holding absolute offset `offset`, or -1. */
  blockAt(offset: number): number {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    if (hi < 0 || offset < s[0]!) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

const byModule = new WeakMap<IrModule, BlockCoverage>();

/**
 * Notes where trap `e` stopped its innermost frame (`def` at absolute offset `offset`), when that
 * module counts blocks. A stack overflow stops a function before its first instruction and a call's
 * block already ends at the call, so neither needs a correction.
 */
export function noteTrapStop(e: WasmRuntimeError, def: FunctionDefinition, offset: number | undefined): void {
  if (offset === undefined || e.trap === Trap.StackOverflow) return;
  const m = definitionModule(def);
  if (m === undefined) return;
  const cov = byModule.get(m);
  if (cov !== undefined) cov.stops.push(offset);
}
