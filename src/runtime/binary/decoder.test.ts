import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { CompileError } from '../api/errors.js';
import {
  CoreFeatureBulkMemoryOperations,
  CoreFeatureMutableGlobal,
  CoreFeatureReferenceTypes,
  CoreFeaturesExceptionHandling,
  CoreFeaturesExtendedConst,
  CoreFeaturesMemory64,
  CoreFeaturesTailCall,
  CoreFeaturesThreads,
  CoreFeaturesV1,
  CoreFeaturesV2,
  CoreFeaturesV3,
  type CoreFeatures,
} from '../api/features.js';
import { decodeModule, MAX_LOCALS } from './decoder.js';
import type { ConstExpr, Module } from './module.js';
import { funcTypeOf } from './module.js';
import { parseNameSection } from './names.js';
import { ALL_SUITES, GUESTS_DIR, SPECTEST_DIR } from '../../../test/paths.js';

const wabt = await wabtInit();
const ALL = CoreFeaturesV2 | CoreFeaturesThreads | CoreFeaturesTailCall;
/** Every feature, for the corpus (the 3.0 suites included). */
const EVERY = CoreFeaturesV3 | CoreFeaturesThreads;

/** Compiles WAT with every proposal wabt needs for our tests. */
function wat(text: string): Uint8Array {
  const m = wabt.parseWat('test.wat', text, {
    simd: true,
    threads: true,
    tail_call: true,
    bulk_memory: true,
    reference_types: true,
    multi_value: true,
  });
  try {
    return new Uint8Array(m.toBinary({ write_debug_names: true }).buffer);
  } finally {
    m.destroy();
  }
}

// ---- a tiny binary builder for malformed input ----

function leb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}
function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...leb(b.length), ...b];
}
function vec(items: readonly number[][]): number[] {
  return [...leb(items.length), ...items.flat()];
}
function section(id: number, body: readonly number[]): number[] {
  return [id, ...leb(body.length), ...body];
}
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
function mod(...sections: number[][]): Uint8Array {
  return new Uint8Array([...HEADER, ...sections.flat()]);
}
/** Type section with one `[] -> []` type. */
const TYPE0 = section(1, vec([[0x60, 0, 0]]));
/** Function section declaring `n` functions of type 0. */
function funcs(n: number): number[] {
  return section(3, vec(Array.from({ length: n }, () => [0])));
}
/** Code section with the given raw bodies (each prefixed with its size). */
function code(...bodies: number[][]): number[] {
  return section(10, vec(bodies.map((b) => [...leb(b.length), ...b])));
}
const EMPTY_BODY = [0x00, 0x0b];

function decodeError(bytes: Uint8Array, features: CoreFeatures = ALL): CompileError {
  try {
    decodeModule(bytes, features);
  } catch (e) {
    if (e instanceof CompileError) return e;
    throw e;
  }
  throw new Error('expected a CompileError');
}

function expectMalformed(bytes: Uint8Array, reason: string, features: CoreFeatures = ALL): CompileError {
  const e = decodeError(bytes, features);
  expect(e.reason).toBe(reason);
  expect(e.kind).toBe('malformed');
  return e;
}

function constOf(e: ConstExpr | undefined): unknown {
  return e?.instrs;
}

describe('decodeModule: header', () => {
  it('rejects an empty or truncated header with unexpected end', () => {
    expectMalformed(new Uint8Array([]), 'unexpected end');
    expectMalformed(new Uint8Array([0, 0x61, 0x73]), 'unexpected end');
    expectMalformed(new Uint8Array([0, 0x61, 0x73, 0x6d, 1]), 'unexpected end');
  });

  it('rejects a wrong magic number', () => {
    expectMalformed(new Uint8Array([0, 0x61, 0x73, 0x6e, 1, 0, 0, 0]), 'magic header not detected');
  });

  it('rejects an unknown version', () => {
    expectMalformed(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), 'unknown binary version');
  });

  it('decodes the empty module to empty lists', () => {
    const m = decodeModule(mod(), ALL);
    expect(m.types).toEqual([]);
    expect(m.codes).toEqual([]);
    expect(m.sections).toEqual([]);
    expect(m.codeSectionStart).toBe(0);
    expect(m.startFunction).toBeUndefined();
    expect(m.dataCount).toBeUndefined();
    expect(m.names).toBeUndefined();
    expect(m.funcTypeIndexSpace).toEqual([]);
  });
});

describe('decodeModule: a full module built by wabt', () => {
  const bytes = wat(`
    (module $demo
      (type $t0 (func (param i32 i64) (result f32)))
      (type $t1 (func))
      (import "env" "f" (func $imp (type $t0)))
      (import "env" "tab" (table 2 10 funcref))
      (import "env" "mem" (memory 1 2))
      (import "env" "g" (global $ig i32))
      (import "env" "gm" (global (mut f64)))
      (table $t 3 externref)
      (global $g0 i64 (i64.const -5))
      (global $g1 (mut f32) (f32.const 1.5))
      (global $g2 f64 (f64.const -0.25))
      (global $g3 i32 (global.get $ig))
      (global $g4 funcref (ref.func $main))
      (global $g5 externref (ref.null extern))
      (global $g6 v128 (v128.const i32x4 1 2 3 4))
      (func $main (type $t1) (local $a i32) (local $b i32) (local $c f64)
        data.drop $p)
      (func $second (param $p i32) (result i32) local.get $p)
      (export "main" (func $main))
      (export "mem" (memory 0))
      (export "g0" (global $g0))
      (export "t" (table $t))
      (start $main)
      (elem (i32.const 1) func $main $second)
      (elem $passive func $second)
      (elem declare func $main)
      (data (i32.const 8) "hello")
      (data $p "passive!")
    )`);
  const m = decodeModule(bytes, ALL);

  it('keeps the bytes and lists the known sections in order', () => {
    expect(m.bytes).toBe(bytes);
    expect(m.sections.map((s) => s.id)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 12, 10, 11]);
    for (const s of m.sections) expect(s.end).toBeLessThanOrEqual(bytes.length);
  });

  it('decodes types and imports', () => {
    expect(m.types).toEqual([
      { params: [0x7f, 0x7e], results: [0x7d] },
      { params: [], results: [] },
      { params: [0x7f], results: [0x7f] },
    ]);
    expect(m.imports.map((i) => [i.module, i.name, i.desc.kind])).toEqual([
      ['env', 'f', 0],
      ['env', 'tab', 1],
      ['env', 'mem', 2],
      ['env', 'g', 3],
      ['env', 'gm', 3],
    ]);
    expect(m.imports[1]!.desc).toEqual({ kind: 1, table: { elemType: 0x70, limits: { min: 2, max: 10, shared: false } } });
    expect(m.imports[2]!.desc).toEqual({ kind: 2, memory: { limits: { min: 1, max: 2, shared: false } } });
    expect(m.imports[4]!.desc).toEqual({ kind: 3, global: { valType: 0x7c, mutable: true } });
    expect(m.numImportedFuncs).toBe(1);
    expect(m.numImportedTables).toBe(1);
    expect(m.numImportedMemories).toBe(1);
    expect(m.numImportedGlobals).toBe(2);
    // Each import's offset points at its module name's length byte.
    const first = m.imports[0]!;
    expect(bytes[first.offset]).toBe(3);
  });

  it('builds index spaces with imports first', () => {
    expect(m.funcTypeIndices).toEqual([1, 2]);
    expect(m.funcTypeIndexSpace).toEqual([0, 1, 2]);
    expect(funcTypeOf(m, 2)).toEqual({ params: [0x7f], results: [0x7f] });
    expect(funcTypeOf(m, 3)).toBeUndefined();
    expect(m.tableSpace.map((t) => t.elemType)).toEqual([0x70, 0x6f]);
    expect(m.memorySpace).toEqual([{ limits: { min: 1, max: 2, shared: false } }]);
    expect(m.globalSpace.map((g) => [g.valType, g.mutable])).toEqual([
      [0x7f, false],
      [0x7c, true],
      [0x7e, false],
      [0x7d, true],
      [0x7c, false],
      [0x7f, false],
      [0x70, false],
      [0x6f, false],
      [0x7b, false],
    ]);
  });

  it('decodes every constant form', () => {
    const g = m.globals;
    expect(constOf(g[0]!.init)).toEqual([{ op: 'i64.const', value: -5n }]);
    expect(constOf(g[1]!.init)).toEqual([{ op: 'f32.const', bits: 0x3fc00000 }]);
    expect(constOf(g[2]!.init)).toEqual([{ op: 'f64.const', bits: 0xbfd0000000000000n }]);
    expect(constOf(g[3]!.init)).toEqual([{ op: 'global.get', globalIndex: 0 }]);
    expect(constOf(g[4]!.init)).toEqual([{ op: 'ref.func', funcIndex: 1 }]);
    expect(constOf(g[5]!.init)).toEqual([{ op: 'ref.null', refType: 0x6f }]);
    const v = g[6]!.init.instrs[0]!;
    expect(v.op).toBe('v128.const');
    if (v.op === 'v128.const') expect([...v.bytes]).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]);
    // The offset of an init expression is its first opcode.
    expect(bytes[g[0]!.init.offset]).toBe(0x42);
  });

  it('decodes exports and start', () => {
    expect(m.exports.map((e) => [e.name, e.kind, e.index])).toEqual([
      ['main', 0, 1],
      ['mem', 2, 0],
      ['g0', 3, 2],
      ['t', 1, 1],
    ]);
    expect(m.startFunction).toBe(1);
  });

  it('decodes element segments into ref.func expressions', () => {
    expect(m.elements.map((e) => [e.mode, e.tableIndex, e.elemType])).toEqual([
      ['active', 0, 0x70],
      ['passive', 0, 0x70],
      ['declarative', 0, 0x70],
    ]);
    expect(constOf(m.elements[0]!.offsetExpr)).toEqual([{ op: 'i32.const', value: 1 }]);
    expect(m.elements[0]!.init.map((e) => e.instrs)).toEqual([[{ op: 'ref.func', funcIndex: 1 }], [{ op: 'ref.func', funcIndex: 2 }]]);
    expect(m.elements[1]!.offsetExpr).toBeUndefined();
  });

  it('decodes data segments as views and the data count', () => {
    expect(m.dataCount).toBe(2);
    const [a, b] = m.datas;
    expect(a!.mode).toBe('active');
    expect(constOf(a!.offsetExpr)).toEqual([{ op: 'i32.const', value: 8 }]);
    expect(new TextDecoder().decode(a!.init)).toBe('hello');
    expect(a!.init.buffer).toBe(bytes.buffer);
    expect(b!.mode).toBe('passive');
    expect(new TextDecoder().decode(b!.init)).toBe('passive!');
  });

  it('records body ranges without decoding instructions', () => {
    expect(m.codes).toHaveLength(2);
    const [main, second] = m.codes;
    expect(main!.locals).toEqual([
      { count: 2, type: 0x7f },
      { count: 1, type: 0x7c },
    ]);
    expect(main!.numLocals).toBe(3);
    expect([...bytes.subarray(main!.codeStart, main!.codeEnd)]).toEqual([0xfc, 0x09, 0x01, 0x0b]);
    expect([...bytes.subarray(second!.codeStart, second!.codeEnd)]).toEqual([0x20, 0x00, 0x0b]);
    expect(second!.numLocals).toBe(0);
    const codeSection = m.sections.find((s) => s.id === 10)!;
    expect(m.codeSectionStart).toBe(codeSection.start);
    expect(main!.entryOffset).toBe(codeSection.start + 1);
    expect(second!.entryOffset).toBe(main!.codeEnd);
  });

  it('parses the name section', () => {
    expect(m.names?.moduleName).toBe('demo');
    expect(m.names?.functionNames.get(0)).toBe('imp');
    expect(m.names?.functionNames.get(1)).toBe('main');
    expect(m.names?.functionNames.get(2)).toBe('second');
    expect(m.names?.localNames.get(1)?.get(0)).toBe('a');
    expect(m.names?.localNames.get(1)?.get(2)).toBe('c');
    expect(m.names?.localNames.get(2)?.get(0)).toBe('p');
    expect(m.customSections.map((c) => c.name)).toEqual(['name']);
  });
});

describe('decodeModule: element segment encodings', () => {
  const table = section(4, vec([[0x70, 0x00, 0x01]]));
  const i32c = (n: number): number[] => [0x41, ...leb(n), 0x0b];
  const refFunc = (i: number): number[] => [0xd2, ...leb(i), 0x0b];
  const refNull = [0xd0, 0x70, 0x0b];
  const cases: ReadonlyArray<readonly [number, number[], string, number]> = [
    [0, [...i32c(0), ...vec([[0]])], 'active', 0],
    [1, [0x00, ...vec([[0]])], 'passive', 0],
    [2, [0x00, ...i32c(0), 0x00, ...vec([[0]])], 'active', 0],
    [3, [0x00, ...vec([[0]])], 'declarative', 0],
    [4, [...i32c(0), ...vec([refFunc(0), refNull])], 'active', 0],
    [5, [0x70, ...vec([refFunc(0), refNull])], 'passive', 0],
    [6, [0x00, ...i32c(0), 0x70, ...vec([refFunc(0)])], 'active', 0],
    [7, [0x70, ...vec([refFunc(0)])], 'declarative', 0],
  ];
  for (const [flags, rest, mode, tableIndex] of cases) {
    it(`decodes encoding ${flags} as ${mode}`, () => {
      const m = decodeModule(mod(TYPE0, funcs(1), table, section(9, vec([[flags, ...rest]])), code(EMPTY_BODY)), ALL);
      const e = m.elements[0]!;
      expect(e.mode).toBe(mode);
      expect(e.tableIndex).toBe(tableIndex);
      expect(e.elemType).toBe(0x70);
      expect(e.init[0]!.instrs).toEqual([{ op: 'ref.func', funcIndex: 0 }]);
      if (flags === 4 || flags === 5) expect(e.init[1]!.instrs).toEqual([{ op: 'ref.null', refType: 0x70 }]);
      expect(e.offsetExpr === undefined).toBe(mode !== 'active');
    });
  }

  it('reads an explicit table index', () => {
    const m = decodeModule(mod(section(9, vec([[2, 0x05, ...i32c(3), 0x00, ...vec([])]]))), ALL);
    expect(m.elements[0]!.tableIndex).toBe(5);
    expect(constOf(m.elements[0]!.offsetExpr)).toEqual([{ op: 'i32.const', value: 3 }]);
  });

  it('reads an externref segment', () => {
    const m = decodeModule(mod(section(9, vec([[5, 0x6f, ...vec([[0xd0, 0x6f, 0x0b]])]]))), ALL);
    expect(m.elements[0]!.elemType).toBe(0x6f);
  });

  it('rejects a non-zero element kind, a bad reference type and an unknown encoding', () => {
    expectMalformed(mod(section(9, vec([[1, 0x01, ...vec([])]]))), 'malformed element kind');
    expectMalformed(mod(section(9, vec([[5, 0x7f, ...vec([])]]))), 'malformed reference type');
    expectMalformed(mod(section(9, vec([[8]]))), 'malformed elements segment kind');
  });

  it('needs bulk memory or reference types for encodings other than 0', () => {
    const bytes = mod(section(9, vec([[1, 0x00, ...vec([])]])));
    expect(decodeError(bytes, CoreFeaturesV1).reason).toMatch(/not enabled/);
    expect(decodeModule(bytes, CoreFeaturesV1 | CoreFeatureBulkMemoryOperations).elements).toHaveLength(1);
    expect(decodeModule(bytes, CoreFeaturesV1 | CoreFeatureReferenceTypes).elements).toHaveLength(1);
    expect(decodeModule(mod(section(9, vec([[0, ...i32c(0), ...vec([])]]))), CoreFeaturesV1).elements).toHaveLength(1);
  });
});

describe('decodeModule: data segments', () => {
  it('decodes encodings 0, 1 and 2', () => {
    const m = decodeModule(
      mod(
        section(
          11,
          vec([
            [0, 0x41, 0x10, 0x0b, ...str('ab')],
            [1, ...str('cd')],
            [2, 0x03, 0x41, 0x00, 0x0b, ...str('')],
          ]),
        ),
      ),
      ALL,
    );
    expect(m.datas.map((d) => [d.mode, d.memoryIndex, d.init.length])).toEqual([
      ['active', 0, 2],
      ['passive', 0, 2],
      ['active', 3, 0],
    ]);
  });

  it('rejects an unknown encoding and gates passive segments on bulk memory', () => {
    expectMalformed(mod(section(11, vec([[3]]))), 'malformed data segment kind');
    expect(decodeError(mod(section(11, vec([[1, 0]]))), CoreFeaturesV1).reason).toMatch(/bulk-memory/);
  });

  it('checks the data count against the data section', () => {
    const seg = [1, ...str('x')];
    expect(decodeModule(mod(section(12, leb(1)), section(11, vec([seg]))), ALL).dataCount).toBe(1);
    expectMalformed(mod(section(12, leb(2)), section(11, vec([seg]))), 'data count and data section have inconsistent lengths');
    expectMalformed(mod(section(12, leb(1))), 'data count and data section have inconsistent lengths');
    expect(decodeModule(mod(section(12, leb(0))), ALL).dataCount).toBe(0);
  });

  it('treats the data count section as an unknown section without bulk memory', () => {
    expectMalformed(mod(section(12, leb(0))), 'malformed section id', CoreFeaturesV1);
  });

  it('rejects a data length past the end', () => {
    expectMalformed(mod(section(11, vec([[1, ...leb(100)]]))), 'length out of bounds');
  });
});

describe('decodeModule: value types and feature gating', () => {
  const typeWith = (t: number): Uint8Array => mod(section(1, vec([[0x60, 1, t, 0]])));

  it('accepts the number types in every feature set', () => {
    for (const t of [0x7f, 0x7e, 0x7d, 0x7c]) expect(decodeModule(typeWith(t), 0).types[0]!.params).toEqual([t]);
  });

  it('gates v128 on SIMD and references on reference types', () => {
    expect(decodeError(typeWith(0x7b), CoreFeaturesV1).reason).toMatch(/v128 not enabled.*simd/);
    expect(decodeError(typeWith(0x70), CoreFeaturesV1).reason).toMatch(/funcref not enabled.*reference-types/);
    expect(decodeError(typeWith(0x6f), CoreFeaturesV1).reason).toMatch(/externref not enabled/);
    expect(decodeModule(typeWith(0x7b), CoreFeaturesV2).types[0]!.params).toEqual([0x7b]);
    expect(decodeModule(typeWith(0x6f), CoreFeaturesV2).types[0]!.params).toEqual([0x6f]);
  });

  it('rejects unknown value types', () => {
    expectMalformed(typeWith(0x40), 'malformed value type');
    expectMalformed(typeWith(0x80), 'integer representation too long');
  });

  it('accepts a funcref table in 1.0 but not an externref table', () => {
    const funcTable = mod(section(4, vec([[0x70, 0x00, 0x01]])));
    expect(decodeModule(funcTable, CoreFeaturesV1).tables[0]!.elemType).toBe(0x70);
    expect(decodeError(mod(section(4, vec([[0x6f, 0x00, 0x01]]))), CoreFeaturesV1).reason).toMatch(/externref/);
    expectMalformed(mod(section(4, vec([[0x7f, 0x00, 0x01]]))), 'malformed reference type');
  });

  it('leaves multiple results without multi-value to the validator', () => {
    const bytes = mod(section(1, vec([[0x60, 0, 2, 0x7f, 0x7f]])));
    expect(decodeModule(bytes, CoreFeaturesV1).types[0]!.results).toHaveLength(2);
  });

  it('rejects a function type form other than 0x60', () => {
    expectMalformed(mod(section(1, vec([[0x61, 0, 0]]))), 'malformed function type');
  });

  it('rejects bad mutability bytes', () => {
    expectMalformed(mod(section(6, vec([[0x7f, 0x02, 0x41, 0x00, 0x0b]]))), 'malformed mutability');
  });
});

describe('decodeModule: limits and shared memory', () => {
  const memory = (...limits: number[]): Uint8Array => mod(section(5, vec([limits])));

  it('decodes min and optional max', () => {
    expect(decodeModule(memory(0x00, 0x02), ALL).memories[0]!.limits).toEqual({ min: 2, max: undefined, shared: false });
    expect(decodeModule(memory(0x01, 0x02, 0x05), ALL).memories[0]!.limits).toEqual({ min: 2, max: 5, shared: false });
    const big = decodeModule(mod(section(5, vec([[0x00, ...leb(0xffffffff)]]))), ALL);
    expect(big.memories[0]!.limits.min).toBe(0xffffffff);
  });

  it('decodes a shared memory with the threads feature', () => {
    expect(decodeModule(memory(0x03, 0x01, 0x02), ALL).memories[0]!.limits).toEqual({ min: 1, max: 2, shared: true });
  });

  it('rejects a shared memory without the threads feature', () => {
    expectMalformed(memory(0x03, 0x01, 0x02), 'shared memory requested but threads feature not enabled', CoreFeaturesV2);
  });

  it('rejects a shared memory without a maximum as invalid', () => {
    const e = decodeError(memory(0x02, 0x01), ALL);
    expect(e.kind).toBe('invalid');
    expect(e.reason).toBe('shared memory requires a maximum size to be specified');
  });

  it('rejects unknown limits flags, and shared tables', () => {
    expectMalformed(memory(0x04, 0x01), 'integer too large');
    expectMalformed(memory(0x81, 0x00, 0x01), 'integer representation too long');
    expectMalformed(mod(section(4, vec([[0x70, 0x02, 0x01]]))), 'integer too large');
  });
});

describe('decodeModule: section layout', () => {
  it('rejects a repeated section', () => {
    expectMalformed(mod(TYPE0, TYPE0), 'unexpected content after last section');
  });

  it('rejects sections out of order', () => {
    expectMalformed(mod(funcs(0), TYPE0), 'unexpected content after last section');
    // The data count section goes before the code section.
    expectMalformed(mod(code(), section(12, leb(0))), 'unexpected content after last section');
  });

  it('rejects an unknown section id', () => {
    const e = expectMalformed(mod([13, 0]), 'malformed section id');
    expect(e.offset).toBe(8);
  });

  it('accepts custom sections anywhere and keeps them in order', () => {
    const m = decodeModule(
      mod(section(0, str('a')), TYPE0, section(0, [...str('b'), 1, 2, 3]), funcs(1), code(EMPTY_BODY), section(0, str('c'))),
      ALL,
    );
    expect(m.customSections.map((c) => [c.name, [...c.data]])).toEqual([
      ['a', []],
      ['b', [1, 2, 3]],
      ['c', []],
    ]);
    const b = m.customSections[1]!;
    expect(m.bytes[b.offset]).toBe(1);
    expect(m.sections.map((s) => s.id)).toEqual([1, 3, 10]);
  });

  it('rejects a section whose contents are shorter than its size', () => {
    expectMalformed(mod(section(1, [0, 0])), 'section size mismatch');
  });

  it('rejects a custom section whose name runs past the section', () => {
    expectMalformed(mod([0, 1, 5, 0x61, 0x62, 0x63, 0x64, 0x65]), 'unexpected end of section or function');
  });

  it('rejects malformed UTF-8 in names', () => {
    expectMalformed(mod(section(0, [2, 0xc0, 0x80])), 'malformed UTF-8 encoding');
    expectMalformed(mod(section(7, vec([[1, 0xff, 0x00, 0x00]]))), 'malformed UTF-8 encoding');
  });

  it('rejects bad import and export kinds', () => {
    expectMalformed(mod(section(2, vec([[...str('m'), ...str('n'), 0x04, 0x00]]))), 'malformed import kind');
    expectMalformed(mod(section(7, vec([[...str('e'), 0x04, 0x00]]))), 'malformed export kind');
  });

  it('decodes the start section', () => {
    expect(decodeModule(mod(section(8, leb(7))), ALL).startFunction).toBe(7);
  });

  it('names the section and offset in errors', () => {
    const bytes = mod(TYPE0, section(2, vec([[...str('m'), ...str('n'), 0x09]])));
    const e = expectMalformed(bytes, 'malformed import kind');
    expect(e.section).toBe('import');
    expect(e.offset).toBe(bytes.length - 1);
    expect(e.message).toContain('section import');
    expect(e.message).toContain(`offset 0x${(bytes.length - 1).toString(16)}`);
  });
});

describe('decodeModule: code section', () => {
  it('requires as many bodies as declared functions', () => {
    expectMalformed(mod(TYPE0, funcs(2), code(EMPTY_BODY)), 'function and code section have inconsistent lengths');
    expectMalformed(mod(TYPE0, funcs(1)), 'function and code section have inconsistent lengths');
    expectMalformed(mod(TYPE0, code(EMPTY_BODY)), 'function and code section have inconsistent lengths');
    expect(decodeModule(mod(TYPE0, funcs(0), code()), ALL).codes).toEqual([]);
  });

  it('requires a body to end with end', () => {
    // The last function runs to the end of the binary.
    expectMalformed(mod(TYPE0, funcs(1), code([0x00, 0x01])), 'unexpected end of section or function');
    // A body that stops before its end, followed by another body.
    expectMalformed(mod(TYPE0, funcs(2), code([0x00, 0x01], EMPTY_BODY)), 'END opcode expected');
    // An empty body has no room for locals.
    expectMalformed(mod(TYPE0, funcs(1), code([])), 'unexpected end of section or function');
    // Locals but no instructions.
    expectMalformed(mod(TYPE0, funcs(1), code([0x00]), section(0, str('x'))), 'unexpected end of section or function');
  });

  it('reports the function index of a bad body, counting imports', () => {
    const imp = section(2, vec([[...str('m'), ...str('f'), 0x00, 0x00]]));
    const e = expectMalformed(mod(TYPE0, imp, funcs(2), code(EMPTY_BODY, [0x01, 0x01, 0x40, 0x0b])), 'malformed value type');
    expect(e.functionIndex).toBe(2);
    expect(e.section).toBe('code');
  });

  it('counts locals across groups', () => {
    const m = decodeModule(mod(TYPE0, funcs(1), code([0x02, 0x03, 0x7f, 0x04, 0x7e, 0x0b])), ALL);
    expect(m.codes[0]!.numLocals).toBe(7);
    expect(m.codes[0]!.locals).toEqual([
      { count: 3, type: 0x7f },
      { count: 4, type: 0x7e },
    ]);
  });

  it('accepts up to the locals limit and rejects one more', () => {
    const body = (n: number): number[] => [0x01, ...leb(n), 0x7f, 0x0b];
    expect(decodeModule(mod(TYPE0, funcs(1), code(body(MAX_LOCALS))), ALL).codes[0]!.numLocals).toBe(MAX_LOCALS);
    expectMalformed(mod(TYPE0, funcs(1), code(body(MAX_LOCALS + 1))), 'too many locals');
  });

  it('rejects local counts that overflow 32 bits without allocating', () => {
    const body = [0x02, ...leb(0xffffffff), 0x7f, ...leb(0xffffffff), 0x7f, 0x0b];
    expectMalformed(mod(TYPE0, funcs(1), code(body)), 'too many locals');
  });

  it('gates local types on features', () => {
    expect(decodeError(mod(TYPE0, funcs(1), code([0x01, 0x01, 0x7b, 0x0b])), CoreFeaturesV1).reason).toMatch(/v128/);
  });

  it('rejects a body size past the end of the binary', () => {
    expectMalformed(mod(TYPE0, funcs(1), section(10, [1, ...leb(1000), 0x00, 0x0b])), 'length out of bounds');
  });
});

describe('decodeModule: constant expressions', () => {
  const global = (...expr: number[]): Uint8Array => mod(section(6, vec([[0x7f, 0x00, ...expr]])));

  it('reads extreme integer constants', () => {
    const m = decodeModule(
      mod(
        section(
          6,
          vec([
            [0x7f, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x78, 0x0b],
            [0x7e, 0x00, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f, 0x0b],
          ]),
        ),
      ),
      ALL,
    );
    expect(constOf(m.globals[0]!.init)).toEqual([{ op: 'i32.const', value: -0x80000000 }]);
    expect(constOf(m.globals[1]!.init)).toEqual([{ op: 'i64.const', value: -(2n ** 63n) }]);
  });

  it('records several instructions in order', () => {
    const m = decodeModule(global(0x23, 0x00, 0x23, 0x01, 0x0b), ALL);
    expect(constOf(m.globals[0]!.init)).toEqual([
      { op: 'global.get', globalIndex: 0 },
      { op: 'global.get', globalIndex: 1 },
    ]);
  });

  it('rejects a non-constant instruction as invalid', () => {
    const e = decodeError(global(0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b));
    expect(e.kind).toBe('invalid');
    expect(e.reason).toBe('constant expression required');
    expect(e.offset).toBe(8 + 2 + 1 + 2 + 4);
  });

  it('rejects an unknown opcode as malformed', () => {
    expectMalformed(global(0xf3, 0x0b), 'illegal opcode');
  });

  it('rejects a missing end', () => {
    expectMalformed(global(0x41, 0x01), 'unexpected end of section or function');
  });

  it('rejects a bad ref.null type', () => {
    expectMalformed(global(0xd0, 0x7f, 0x0b), 'malformed reference type');
  });

  it('rejects an over-long i32 constant', () => {
    expectMalformed(global(0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b), 'integer representation too long');
  });
});

describe('decodeModule: hostile input', () => {
  /** Rejects without allocating or looping per claimed entry (a hang would hit the test timeout). */
  function expectFastRejection(bytes: Uint8Array, reason: string | RegExp): void {
    const e = decodeError(bytes);
    if (typeof reason === 'string') expect(e.reason).toBe(reason);
    else expect(e.reason).toMatch(reason);
  }

  it('rejects a count claiming 2^32 - 1 entries in every vector', () => {
    const huge = leb(0xffffffff);
    for (const id of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11]) {
      expectFastRejection(mod(section(id, huge)), /^unexpected end/);
    }
    // Inside entries: params, local groups, element indices.
    expectFastRejection(mod(section(1, [1, 0x60, ...huge])), /^unexpected end/);
    expectFastRejection(mod(TYPE0, funcs(1), code([...huge, 0x0b])), /^unexpected end/);
    expectFastRejection(mod(section(9, vec([[1, 0x00, ...huge]]))), /^unexpected end/);
  });

  it('rejects a section truncated anywhere', () => {
    const full = mod(TYPE0, funcs(1), code(EMPTY_BODY));
    const funcsEnd = HEADER.length + TYPE0.length + funcs(1).length;
    // Every cut inside a section; cutting between sections leaves a well-formed prefix up to the
    // function section, whose missing code section is reported instead.
    for (let cut = HEADER.length + 1; cut < full.length; cut++) {
      if (cut === HEADER.length + TYPE0.length) continue;
      const e = decodeError(full.subarray(0, cut));
      expect(e.kind).toBe('malformed');
      if (cut !== funcsEnd) expect(e.reason).toMatch(/^unexpected end|length out of bounds/);
    }
  });

  it('rejects an 11-byte LEB', () => {
    const leb11 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
    expectFastRejection(mod([1, ...leb11]), 'integer representation too long');
    expectFastRejection(mod(section(1, leb11)), 'integer representation too long');
  });

  it('rejects a section size past the end', () => {
    expectFastRejection(mod([1, ...leb(0xffffffff), 0]), 'length out of bounds');
    expectFastRejection(mod([0, ...leb(100), ...str('x')]), 'length out of bounds');
  });

  it('rejects a name length past the end', () => {
    expectFastRejection(mod(section(7, [1, ...leb(0xfffffff0)])), 'length out of bounds');
  });

  it('never throws anything but CompileError on random mutations', () => {
    const base = wat(`(module (memory 1) (global (mut i32) (i32.const 1))
      (func (export "f") (param i32) (result i32) local.get 0 global.get 0 i32.add)
      (data (i32.const 0) "abc"))`);
    let seed = 1;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const b = base.slice();
      const n = 1 + (rand() % 3);
      for (let j = 0; j < n; j++) b[8 + (rand() % (b.length - 8))] = rand() & 0xff;
      try {
        decodeModule(b, ALL);
      } catch (e) {
        expect(e).toBeInstanceOf(CompileError);
      }
    }
  });
});

describe('parseNameSection', () => {
  it('skips unknown subsections', () => {
    const payload = [
      ...[0x05, 0x02, 0xaa, 0xbb], // unknown subsection 5
      ...section(1, vec([[...leb(3), ...str('three')]])),
    ];
    const bytes = new Uint8Array(payload);
    const names = parseNameSection(bytes, 0, bytes.length);
    expect(names?.functionNames.get(3)).toBe('three');
    expect(names?.moduleName).toBeUndefined();
  });

  it('ignores a malformed name section instead of failing the module', () => {
    const m = decodeModule(mod(section(0, [...str('name'), 0x01, 0x05, 0x01, 0x00, 0x09, 0x61])), ALL);
    expect(m.names).toBeUndefined();
    expect(m.customSections[0]!.name).toBe('name');
  });
});

describe('decodeModule: large modules', () => {
  it('decodes a module with 20,000 functions (speed is measured by npm run bench)', () => {
    const n = 20000;
    const bodies: number[][] = [];
    for (let i = 0; i < n; i++) {
      bodies.push(i % 2 === 0 ? [0x01, 0x02, 0x7f, 0x20, 0x00, 0x1a, 0x0b] : [0x00, 0x41, ...leb(i), 0x1a, 0x0b]);
    }
    const bytes = mod(TYPE0, funcs(n), code(...bodies));
    const m: Module = decodeModule(bytes, ALL);
    expect(m.codes).toHaveLength(n);
    expect(m.codes[n - 1]!.codeEnd).toBeLessThanOrEqual(bytes.length);
  });
});

// ---- corpora ----

const SPEC_ROOT = SPECTEST_DIR;
const GUESTS_ROOT = GUESTS_DIR;

interface SpecCommand {
  readonly type: string;
  readonly filename?: string;
  readonly module_type?: string;
  readonly text?: string;
}

function walk(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...walk(p, suffix));
    else if (entry.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

/** Each .wasm file's command type, keyed by absolute path. */
function specCommands(root: string): Map<string, SpecCommand> {
  const byFile = new Map<string, SpecCommand>();
  for (const json of ALL_SUITES.flatMap((s) => walk(join(root, s), '.json'))) {
    const dir = json.slice(0, json.lastIndexOf('/'));
    const { commands } = JSON.parse(readFileSync(json, 'utf8')) as { commands: SpecCommand[] };
    for (const c of commands) if (c.filename !== undefined) byFile.set(join(dir, c.filename), c);
  }
  return byFile;
}

describe.skipIf(!existsSync(SPEC_ROOT))('decodeModule: spec test corpus', () => {
  if (!existsSync(SPEC_ROOT)) console.log(`skipping spec corpus: ${SPEC_ROOT} is absent`);
  const commands = existsSync(SPEC_ROOT) ? specCommands(SPEC_ROOT) : new Map<string, SpecCommand>();

  it('decodes every module that is not expected to be malformed', () => {
    const failures: string[] = [];
    let decoded = 0;
    let invalid = 0;
    let orphans = 0;
    const files = [join(SPEC_ROOT, 'spectest.wasm'), ...ALL_SUITES.flatMap((s) => walk(join(SPEC_ROOT, s), '.wasm'))];
    for (const file of files) {
      const c = commands.get(file);
      if (c?.type === 'assert_malformed') continue;
      // A .wasm no command names (left over from another version of a suite) has no known intent;
      // the spectest host module at the root is the one exception.
      if (c === undefined && !file.endsWith('/spectest.wasm')) {
        orphans++;
        continue;
      }
      try {
        decodeModule(new Uint8Array(readFileSync(file)), EVERY);
        decoded++;
      } catch (e) {
        // A few invalid modules fail here already (constant expressions, shared memory without max).
        if (c?.type === 'assert_invalid' && e instanceof CompileError && e.kind === 'invalid') invalid++;
        else failures.push(`${file}: ${(e as Error).message}`);
      }
    }
    console.log(
      `spec corpus: ${decoded} decoded, ${invalid} assert_invalid modules rejected as invalid by the decoder, ` +
        `${orphans} files named by no command skipped`,
    );
    expect(failures).toEqual([]);
    expect(decoded).toBeGreaterThan(1000);
  });

  it('rejects binary assert_malformed modules, except the instruction-level ones left to the validator', () => {
    let total = 0;
    let rejected = 0;
    let sameText = 0;
    const accepted: string[] = [];
    for (const [file, c] of commands) {
      if (c.type !== 'assert_malformed' || c.module_type !== 'binary') continue;
      total++;
      try {
        decodeModule(new Uint8Array(readFileSync(file)), EVERY);
        accepted.push(`${file} (${c.text ?? ''})`);
      } catch (e) {
        expect(e).toBeInstanceOf(CompileError);
        rejected++;
        if (c.text !== undefined && (e as CompileError).reason.startsWith(c.text)) sameText++;
      }
    }
    console.log(
      `spec assert_malformed (binary): ${rejected}/${total} rejected by the decoder alone (${sameText} with the spec's text); ` +
        `${accepted.length} left to the validator`,
    );
    // What the decoder lets through must be a body-level problem: only the validator walks instructions.
    const instructionLevel =
      /zero (flag|byte) expected|integer too large|integer representation too long|data count section required|illegal opcode|unexpected end/;
    for (const a of accepted) expect(a).toMatch(instructionLevel);
    expect(rejected).toBeGreaterThan(total * 0.9);
  });
});

describe.skipIf(!existsSync(GUESTS_ROOT))('decodeModule: guest corpus', () => {
  it('decodes every guest', () => {
    const files = walk(GUESTS_ROOT, '.wasm');
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const m = decodeModule(new Uint8Array(readFileSync(file)), EVERY | CoreFeatureMutableGlobal);
      expect(m.codes.length, file).toBe(m.funcTypeIndices.length);
    }
  });
});

describe('decodeModule: WebAssembly 3.0', () => {
  const EH = CoreFeaturesV2 | CoreFeaturesExceptionHandling;

  it('decodes tags, tag imports and exports, only with exception handling', () => {
    const tagImport = section(2, vec([[...str('m'), ...str('t'), 0x04, 0x00, 0x00]]));
    const tags = section(13, vec([[0x00, 0x00]]));
    const exports = section(7, vec([[...str('e'), 0x04, 0x01]]));
    const m = decodeModule(mod(section(1, vec([[0x60, 1, 0x7f, 0]])), tagImport, tags, exports), EH);
    expect(m.tags).toEqual([{ typeIndex: 0 }]);
    expect(m.numImportedTags).toBe(1);
    expect(m.tagSpace).toEqual([{ typeIndex: 0 }, { typeIndex: 0 }]);
    expect(m.exports[0]).toMatchObject({ kind: 4, index: 1 });
    expectMalformed(mod(TYPE0, tags), 'malformed section id', CoreFeaturesV2);
    expectMalformed(mod(TYPE0, tagImport), 'malformed import kind', CoreFeaturesV2);
    expectMalformed(mod(TYPE0, section(13, vec([[0x01, 0x00]]))), 'malformed tag attribute', EH);
    // The tag section sits between memory and global.
    expectMalformed(mod(TYPE0, section(6, vec([[0x7f, 0x00, 0x41, 0x00, 0x0b]])), tags), 'unexpected content after last section', EH);
  });

  it('reads exnref only with exception handling', () => {
    const t = section(1, vec([[0x60, 1, 0x69, 0]]));
    expect(decodeModule(mod(t), EH).types[0]!.params).toEqual([0x69]);
    expect(decodeError(mod(t), CoreFeaturesV2).reason).toMatch(/exnref not enabled/);
  });

  it('reads 64-bit limits (u64) only with memory64', () => {
    const mem = section(5, vec([[0x05, ...[0x80, 0x80, 0x80, 0x80, 0x20], 0x81, 0x80, 0x80, 0x80, 0x20]]));
    const m = decodeModule(mod(mem), CoreFeaturesV2 | CoreFeaturesMemory64);
    expect(m.memories[0]!.limits).toEqual({ min: 2 ** 33, max: 2 ** 33 + 1, shared: false, is64: true });
    expectMalformed(mod(mem), 'integer too large', CoreFeaturesV2);
  });

  it('decodes extended constant expressions only with extended-const', () => {
    const g = section(6, vec([[0x7f, 0x00, 0x41, 0x02, 0x41, 0x03, 0x6c, 0x0b]]));
    const m = decodeModule(mod(g), CoreFeaturesV2 | CoreFeaturesExtendedConst);
    expect(constOf(m.globals[0]!.init)).toEqual([{ op: 'i32.const', value: 2 }, { op: 'i32.const', value: 3 }, { op: 'i32.mul' }]);
    expect(decodeError(mod(g), CoreFeaturesV2).reason).toBe('constant expression required');
  });
});
