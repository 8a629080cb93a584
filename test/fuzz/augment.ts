/**
 * Makes a module's whole state observable the same way on every side: appends helper functions and
 * exports (nothing existing changes index, so the original code behaves exactly as before).
 *
 * - `__fuzz_memory`: memory 0, exported once more under a known name.
 * - `__fuzz_g<i>`: `() -> T` reads global `i` (every global, exported or not, any type).
 * - `__fuzz_tsize<t>`, `__fuzz_tnulls<t>`: size and a hash of the null-ness of table `t`'s elements
 *   (references themselves cannot be compared across sides; null or not can).
 * - `__fuzz_table_get`, `__fuzz_table_set`: table 0's elements for the `table-get`/`table-set`
 *   host functions (when table 0 holds funcrefs).
 */
import { decodeModule } from '../../src/runtime/binary/decoder.js';
import { ByteWriter, encodeModule, type EncodedBody } from '../../src/runtime/binary/encoder.js';
import type { Export, FuncType, Module } from '../../src/runtime/binary/module.js';
import { FUNCREF, I32, I64 } from './wasm.js';

/** Every feature the decoder knows: decoding here only reads structure (the engines validate). */
const ALL_FEATURES = 0x1ff;

export interface Augmented {
  /** The module with the helpers. */
  readonly bytes: Uint8Array;
  /** The module as decoded (before augmentation). */
  readonly module: Module;
  /** Names of the original function exports, in export order (what `call-export` indexes). */
  readonly funcExports: readonly string[];
  /** Getter export and type of each global, in index order. */
  readonly globals: ReadonlyArray<{ readonly name: string; readonly type: number }>;
  /** Export names of the table-state helpers, per table. */
  readonly tables: ReadonlyArray<{ readonly size: string; readonly nulls: string }>;
  /** Whether `__fuzz_table_get`/`__fuzz_table_set` exist. */
  readonly tableAccess: boolean;
  readonly hasMemory: boolean;
}

export const MEMORY_EXPORT = '__fuzz_memory';

/** Decodes and augments `bytes`; throws the decoder's CompileError when it cannot decode. */
export function augment(bytes: Uint8Array): Augmented {
  const m = decodeModule(bytes, ALL_FEATURES);
  const types: FuncType[] = [...m.types];
  const typeOf = (t: FuncType): number => {
    const i = types.findIndex((x) => same(x.params, t.params) && same(x.results, t.results));
    if (i >= 0) return i;
    types.push(t);
    return types.length - 1;
  };
  const funcTypeIndices = [...m.funcTypeIndices];
  const codes: Array<Module['codes'][number] | EncodedBody> = [...m.codes];
  const exports: Export[] = [...m.exports];
  const numFuncs = m.numImportedFuncs + m.funcTypeIndices.length;
  const addFunc = (name: string, t: FuncType, locals: readonly number[], code: (w: ByteWriter) => void): void => {
    const w = new ByteWriter();
    w.u32(locals.length);
    for (const l of locals) w.u32(1).u8(l);
    code(w);
    w.u8(0x0b);
    funcTypeIndices.push(typeOf(t));
    codes.push({ encoded: w.finish() });
    exports.push({ name, kind: 0, index: numFuncs + funcTypeIndices.length - m.funcTypeIndices.length - 1, offset: 0 });
  };

  const hasMemory = m.memorySpace.length > 0;
  if (hasMemory) exports.push({ name: MEMORY_EXPORT, kind: 2, index: 0, offset: 0 });

  const globals = m.globalSpace.map((g, i) => {
    const name = `__fuzz_g${i}`;
    addFunc(name, { params: [], results: [g.valType] }, [], (w) => w.u8(0x23).u32(i));
    return { name, type: g.valType };
  });

  const tables = m.tableSpace.map((_, t) => {
    const size = `__fuzz_tsize${t}`;
    const nulls = `__fuzz_tnulls${t}`;
    addFunc(size, { params: [], results: [I32] }, [], (w) => w.u8(0xfc).u32(16).u32(t));
    // h = h * 31 + 1 + is_null(t[i]) for i < min(size, 65536).
    addFunc(nulls, { params: [], results: [I64] }, [I32, I64], (w) => {
      w.u8(0x02).u8(0x40).u8(0x03).u8(0x40);
      w.u8(0x20).u32(0).u8(0xfc).u32(16).u32(t).u8(0x4f).u8(0x0d).u32(1); // br_if 1 (i >= size)
      w.u8(0x20).u32(0).u8(0x41).s32(65536).u8(0x4f).u8(0x0d).u32(1);
      w.u8(0x20).u32(1).u8(0x42).s64(31n).u8(0x7e); // h * 31
      w.u8(0x20).u32(0).u8(0x25).u32(t).u8(0xd1).u8(0xad).u8(0x42).s64(1n).u8(0x7c).u8(0x7c);
      w.u8(0x21).u32(1);
      w.u8(0x20).u32(0).u8(0x41).s32(1).u8(0x6a).u8(0x21).u32(0);
      w.u8(0x0c).u32(0).u8(0x0b).u8(0x0b);
      w.u8(0x20).u32(1);
    });
    return { size, nulls };
  });

  const tableAccess = m.tableSpace[0]?.elemType === FUNCREF;
  if (tableAccess) {
    addFunc('__fuzz_table_get', { params: [I32], results: [FUNCREF] }, [], (w) => w.u8(0x20).u32(0).u8(0x25).u32(0));
    addFunc('__fuzz_table_set', { params: [I32, FUNCREF], results: [] }, [], (w) => w.u8(0x20).u32(0).u8(0x20).u32(1).u8(0x26).u32(0));
  }

  const funcExports = m.exports.filter((e) => e.kind === 0).map((e) => e.name);
  const out = encodeModule({ ...m, types, funcTypeIndices, codes, exports }, m).bytes;
  return { bytes: out, module: m, funcExports, globals, tables, tableAccess, hasMemory };
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
