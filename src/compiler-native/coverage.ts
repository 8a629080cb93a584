/**
 * Line coverage on the compiler engine: a pass before the rewrite (rewrite.ts) that adds one
 * mutable i32 global per block (the blocks of store/coverage.ts, decided there for both engines)
 * and, at the start of each block, the code `global.get g; i32.const 1; i32.add; global.set g`.
 * Globals rather than a hook call: a counter costs V8 a load, an add and a store, no call.
 *
 * The result is decoded again and handed to the rewrite as if it were the module, so listeners,
 * interrupts and precise traps compose with it unchanged; its offsets map back to the original
 * binary through {@link CoverageRewrite.originalOffset}. Each instance's counters are hidden
 * exports (the rewrite exports every defined global) that the store's block coverage flushes into
 * its counts when it is read and when the instance closes. Only modules compiled with coverage
 * pay any of this.
 */
import type { CoreFeatures } from '../runtime/api/features.js';
import { decodeModule } from '../runtime/binary/decoder.js';
import { ByteWriter, encodeModule, type EncodableBody } from '../runtime/binary/encoder.js';
import type { Global, Module } from '../runtime/binary/module.js';
import type { BlockCoverage } from '../runtime/store/coverage.js';
import { mapInstrumentedOffset, type InstrumentedBody } from './instrument.js';
import { hiddenGlobal } from './rewrite.js';

/** V8's limit on the globals of a module (`kV8MaxWasmGlobals`), less room for the rewrite's own. */
const MAX_GLOBALS = 1_000_000 - 16;

const I32 = 0x7f;

/** The module with counters, and how its offsets map back. */
export class CoverageRewrite {
  constructor(
    /** The module with counters (decoded from its own bytes): what the rewrite rewrites. */
    readonly module: Module,
    /** Per defined function: its body with counters (offsets relative to its code start). */
    readonly bodies: readonly InstrumentedBody[],
    /** The global index of block 0's counter. */
    readonly firstCounter: number,
    readonly coverage: BlockCoverage,
  ) {}

  /** The original absolute offset of absolute offset `offset` of defined function `defIndex` in {@link module}. */
  originalOffset(defIndex: number, offset: number): number {
    const b = this.bodies[defIndex];
    const code = this.module.codes[defIndex];
    if (b === undefined || code === undefined) return offset;
    return mapInstrumentedOffset(b, offset - code.codeStart);
  }

  /**
   * Makes the counters of a new instance (its exports `ex`) count into the block coverage: returns
   * what to call when the instance closes.
   */
  attach(ex: WebAssembly.Exports): () => void {
    const n = this.coverage.counts.length;
    const globals: WebAssembly.Global[] = new Array<WebAssembly.Global>(n);
    for (let k = 0; k < n; k++) globals[k] = ex[hiddenGlobal(this.firstCounter + k)] as WebAssembly.Global;
    const counts = this.coverage.counts;
    return this.coverage.addSource(() => {
      for (let k = 0; k < n; k++) {
        const g = globals[k]!;
        const v = g.value as number;
        if (v !== 0) {
          // Counters wrap at 2^32 between two flushes.
          counts[k]! += v >>> 0;
          g.value = 0;
        }
      }
    });
  }
}

/**
 * Adds block counters to `m` (validated) for `coverage` (whose blocks are `m`'s).
 * @throws Error when the module would need more globals than V8 allows.
 */
export function addCoverageCounters(m: Module, coverage: BlockCoverage, features: CoreFeatures): CoverageRewrite {
  const starts = coverage.starts;
  const firstCounter = m.globalSpace.length;
  if (firstCounter + starts.length > MAX_GLOBALS) {
    throw new Error(
      `not supported: line coverage of ${starts.length} blocks on the compiler engine (V8 allows ${MAX_GLOBALS} globals); ` +
        'use the interpreter (newRuntimeConfigInterpreter())',
    );
  }
  const counters: Global[] = [];
  for (let k = 0; k < starts.length; k++) {
    counters.push({ type: { valType: I32, mutable: true }, init: { instrs: [{ op: 'i32.const', value: 0 }], offset: -1 }, offset: -1 });
  }
  const bodies: InstrumentedBody[] = [];
  const codes: EncodableBody[] = [];
  for (let i = 0; i < m.codes.length; i++) {
    const b = countBlocks(m, i, coverage, firstCounter);
    bodies.push(b);
    codes.push(b);
  }
  const names = m.customSections.filter((c) => c.name === 'name');
  const out = encodeModule({ ...m, globals: [...m.globals, ...counters], codes, customSections: names }, m);
  return new CoverageRewrite(decodeModule(out.bytes, features), bodies, firstCounter, coverage);
}

/** Body `defIndex` of `m` with a counter increment at the start of each of its blocks. */
function countBlocks(m: Module, defIndex: number, coverage: BlockCoverage, firstCounter: number): InstrumentedBody {
  const body = m.codes[defIndex]!;
  const first = coverage.funcFirst[defIndex]!;
  const end = coverage.funcFirst[defIndex + 1]!;
  const out = new ByteWriter(body.codeEnd - body.codeStart + 12 * (end - first) + 16);
  const newStart: number[] = [];
  const origStart: number[] = [];
  const copied: number[] = [];
  let from = body.codeStart;
  for (let k = first; k < end; k++) {
    const at = coverage.starts[k]!;
    if (at > from) {
      newStart.push(out.len);
      origStart.push(from);
      copied.push(1);
      out.bytes(m.bytes.subarray(from, at));
      from = at;
    }
    // The counter stands for the block's first instruction.
    newStart.push(out.len);
    origStart.push(at);
    copied.push(0);
    const g = firstCounter + k;
    out.globalGet(g).i32Const(1).i32Add().globalSet(g);
  }
  newStart.push(out.len);
  origStart.push(from);
  copied.push(1);
  out.bytes(m.bytes.subarray(from, body.codeEnd));
  // The original local declarations, as encoded.
  const locals = m.bytes.subarray(body.entryOffset, body.codeStart);
  let p = 0;
  while ((locals[p]! & 0x80) !== 0) p++; // skip the body size
  const decl = locals.subarray(p + 1);
  const w = new ByteWriter(decl.length + out.len);
  w.bytes(decl).bytes(out.written());
  return {
    encoded: w.finish(),
    localsLength: decl.length,
    newStart: Int32Array.from(newStart),
    origStart: Int32Array.from(origStart),
    copied: Uint8Array.from(copied),
  };
}
