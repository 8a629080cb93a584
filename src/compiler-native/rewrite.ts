/**
 * The module rewrite of the compiler engine: what V8 compiles instead of the original binary.
 *
 * With no hooks, function bodies are copied byte-for-byte (the code section is copied whole) and
 * only these change:
 * - imports are renamed to `i`/`<import index>` (so duplicate or odd names such as `__proto__`
 *   never collide in the JS import object), and a defined memory becomes the import `m`/`m`, so the
 *   engine creates it with the runtime's page limit as its maximum;
 * - hidden exports (names starting with U+0000, which no guest export can collide with in practice)
 *   expose every defined table and global;
 * - the name section's module name becomes a unique id, which V8 puts in the stack-frame URL
 *   (`wasm://wasm/<id>-<hash>`) so frames map back to this module; other custom sections are dropped.
 *
 * Instrumenting only some bodies is a matter of giving those entries of `codes` new bytes (an
 * `EncodedBody`) and recording their offset map in `bodyMaps`; untouched bodies keep a constant
 * delta.
 */
import { ByteWriter, u32Size } from '../runtime/binary/encoder.js';
import { encodeModule, type EncodableBody } from '../runtime/binary/encoder.js';
import type { CustomSection, Export, FuncType, Import, Module } from '../runtime/binary/module.js';
import { instrumentPreciseTraps, type InstrumentedBody } from './instrument.js';

/** Prefix of hidden export names. */
export const HIDDEN = '\u0000wasmscope:';
export const hiddenTable = (i: number): string => `${HIDDEN}table${i}`;
export const hiddenGlobal = (i: number): string => `${HIDDEN}global${i}`;

/** Module-name prefix of rewritten guests in V8 frame URLs. */
export const GUEST_NAME_PREFIX = 'wasmscopeguest';

export interface Rewritten {
  readonly bytes: Uint8Array;
  /** Whether the defined memory was turned into the import `m`/`m`. */
  readonly memoryImported: boolean;
  /**
   * Per defined function: new offset minus original offset, for bodies copied unchanged. Offsets
   * of V8 frames in such a body map back by subtracting it.
   */
  readonly bodyDelta: Int32Array;
  /** Per defined function: its instrumented body, if it was rewritten. */
  readonly instrumented: ReadonlyArray<InstrumentedBody | undefined>;
  /** Per defined function: absolute offset of its new code (after the locals), for instrumented ones. */
  readonly newCodeStart: Int32Array;
  /** Appended trap functions (precise traps): function index of `$nanTrap` and `$nullTrap`, or -1. */
  readonly nanTrapFunc: number;
  readonly nullTrapFunc: number;
}

export interface RewriteOptions {
  /** Instrument bodies so that traps V8 words alike are told apart (instrument.ts). */
  readonly preciseTraps: boolean;
}

/** Rewrites `m` for V8; `id` names it in frame URLs. */
export function rewriteModule(m: Module, id: number, options: RewriteOptions = { preciseTraps: false }): Rewritten {
  const imports: Import[] = m.imports.map((imp, k) => ({ module: 'i', name: String(k), desc: imp.desc, offset: imp.offset }));
  let memories = m.memories;
  const memoryImported = m.memories.length > 0;
  if (memoryImported) {
    // Only one memory exists without multi-memory, so its index stays 0 as an import.
    imports.push({ module: 'm', name: 'm', desc: { kind: 2, memory: m.memories[0]! }, offset: -1 });
    memories = m.memories.slice(1);
  }
  const exports: Export[] = [...m.exports];
  for (let i = 0; i < m.tables.length; i++) {
    exports.push({ name: hiddenTable(m.numImportedTables + i), kind: 1, index: m.numImportedTables + i, offset: -1 });
  }
  for (let i = 0; i < m.globals.length; i++) {
    exports.push({ name: hiddenGlobal(m.numImportedGlobals + i), kind: 3, index: m.numImportedGlobals + i, offset: -1 });
  }
  const customSections: CustomSection[] = [];
  const orig = m.customSections.find((c) => c.name === 'name');
  customSections.push({ name: 'name', data: renameModule(orig?.data, `${GUEST_NAME_PREFIX}${id}`), offset: orig?.offset ?? m.bytes.length });

  let codes: readonly EncodableBody[] = m.codes;
  let types = m.types;
  let funcTypeIndices = m.funcTypeIndices;
  const instrumented: Array<InstrumentedBody | undefined> = [];
  let nanTrapFunc = -1;
  let nullTrapFunc = -1;
  if (options.preciseTraps) {
    nanTrapFunc = m.numImportedFuncs + m.codes.length;
    nullTrapFunc = nanTrapFunc + 1;
    const list: EncodableBody[] = [];
    for (let i = 0; i < m.codes.length; i++) {
      const b = instrumentPreciseTraps(m, i, nanTrapFunc, nullTrapFunc);
      instrumented.push(b);
      list.push(b ?? m.codes[i]!);
    }
    let empty = m.types.findIndex((t) => t.params.length === 0 && t.results.length === 0);
    if (empty < 0) {
      empty = m.types.length;
      types = [...m.types, { params: [], results: [] } satisfies FuncType];
    }
    const trapBody = { encoded: new Uint8Array([0x00, 0x00, 0x0b]) }; // no locals; unreachable; end
    list.push(trapBody, trapBody);
    codes = list;
    funcTypeIndices = [...m.funcTypeIndices, empty, empty];
  }
  const out = encodeModule({ ...m, types, funcTypeIndices, imports, memories, exports, codes, customSections }, m);
  const bodyDelta = new Int32Array(m.codes.length);
  const newCodeStart = new Int32Array(m.codes.length);
  for (let i = 0; i < m.codes.length; i++) {
    bodyDelta[i] = out.bodyOffsets[i]! - m.codes[i]!.entryOffset;
    const b = instrumented[i];
    if (b !== undefined) newCodeStart[i] = out.bodyOffsets[i]! + u32Size(b.encoded.length) + b.localsLength;
  }
  return { bytes: out.bytes, memoryImported, bodyDelta, instrumented, newCodeStart, nanTrapFunc, nullTrapFunc };
}

/**
 * A name-section payload with module name `name` and the other subsections of `data` (function
 * and local names, which V8 shows in `Error.stack`). A malformed original is dropped.
 */
function renameModule(data: Uint8Array | undefined, name: string): Uint8Array {
  const w = new ByteWriter(64 + (data?.length ?? 0));
  const sub = new ByteWriter(32).name(name);
  w.u8(0).u32(sub.len).bytes(sub.buf.subarray(0, sub.len));
  if (data === undefined) return w.finish();
  const rest = new ByteWriter(data.length);
  let p = 0;
  try {
    while (p < data.length) {
      const start = p;
      const id = data[p++]!;
      let size = 0;
      let shift = 0;
      for (;;) {
        const b = data[p++];
        if (b === undefined || shift > 28) throw new Error('malformed');
        size |= (b & 0x7f) << shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
      }
      size >>>= 0;
      if (p + size > data.length) throw new Error('malformed');
      p += size;
      if (id !== 0) rest.bytes(data.subarray(start, p));
    }
  } catch {
    return w.finish();
  }
  w.bytes(rest.buf.subarray(0, rest.len));
  return w.finish();
}
