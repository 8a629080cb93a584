import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { CompileError } from '../api/errors.js';
import {
  CoreFeatureMultiValue,
  CoreFeatureMutableGlobal,
  CoreFeaturesTailCall,
  CoreFeaturesThreads,
  CoreFeaturesV1,
  CoreFeaturesV2,
  type CoreFeatures,
} from '../api/features.js';
import { decodeModule } from '../binary/decoder.js';
import { validateModule, type ValidationInfo } from './validate.js';
import { GUESTS_DIR, SPECTEST_DIR } from '../../../test/paths.js';

const wabt = await wabtInit();

const ALL = CoreFeaturesV2 | CoreFeaturesThreads | CoreFeaturesTailCall;

/** Assembles WAT without wabt's validation, so invalid modules still become bytes. */
function wat(text: string): Uint8Array {
  const mod = wabt.parseWat('test.wat', text, {
    multi_value: true,
    sign_extension: true,
    simd: true,
    threads: true,
    tail_call: true,
    bulk_memory: true,
    reference_types: true,
    mutable_globals: true,
    sat_float_to_int: true,
  });
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

function validate(bytes: Uint8Array, features: CoreFeatures = ALL): ValidationInfo {
  return validateModule(decodeModule(bytes, features), features);
}

function rejection(bytes: Uint8Array, features: CoreFeatures = ALL): CompileError {
  try {
    validate(bytes, features);
  } catch (e) {
    if (e instanceof CompileError) return e;
    throw e;
  }
  throw new Error('module was accepted');
}

// ---- hand assembly, for what wabt refuses to encode ----

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, payload: number[]): number[] {
  return [id, ...leb(payload.length), ...payload];
}

/**
 * A module with one `[] -> []` function (or `type` bytes given) whose body is `code` (without the
 * final `end`), plus optional extra sections placed in order by id.
 */
function rawModule(code: number[], opts: { type?: number[]; memory?: boolean; dataCount?: number; table?: boolean } = {}): Uint8Array {
  const type = opts.type ?? [0x60, 0, 0];
  const bytes = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  bytes.push(...section(1, [1, ...type]));
  bytes.push(...section(3, [1, 0]));
  if (opts.table === true) bytes.push(...section(4, [1, 0x70, 0, 1]));
  if (opts.memory === true) bytes.push(...section(5, [1, 0, 1]));
  if (opts.dataCount !== undefined) bytes.push(...section(12, leb(opts.dataCount)));
  const body = [0, ...code, 0x0b];
  bytes.push(...section(10, [1, ...leb(body.length), ...body]));
  return new Uint8Array(bytes);
}

interface Case {
  readonly name: string;
  readonly wat: string;
  /** Expected reason prefix, or undefined when the module is valid. */
  readonly error?: string;
  readonly features?: CoreFeatures;
}

const VALID: readonly Case[] = [
  { name: 'an empty function', wat: '(module (func))' },
  { name: 'arithmetic on params and locals', wat: '(module (func (param i32) (result i32) (local i64) local.get 0 i32.const 1 i32.add))' },
  {
    name: 'block parameters (multi-value)',
    wat: '(module (func (result i32) i32.const 1 i32.const 2 (block (param i32 i32) (result i32) i32.add)))',
  },
  {
    name: 'loop parameters and a branch carrying them',
    wat: '(module (func (result i32) i32.const 1 (loop (param i32) (result i32) i32.const 1 i32.add i32.const 0 br_if 0)))',
  },
  {
    name: 'if without else that keeps its parameters',
    wat: '(module (func (param i32) (result i32) local.get 0 local.get 0 (if (param i32) (result i32) (then))))',
  },
  {
    name: 'multiple function results',
    wat: '(module (func (result i32 i64) i32.const 1 i64.const 2))',
  },
  {
    name: 'polymorphic stack after unreachable',
    wat: '(module (func (result i32) unreachable i32.add))',
  },
  { name: 'untyped select on an unknown operand after unreachable', wat: '(module (func (result i32) unreachable select))' },
  { name: 'select of v128', wat: '(module (func (result v128) v128.const i64x2 0 0 v128.const i64x2 1 1 i32.const 0 select))' },
  {
    name: 'br_table to labels of different types from unreachable code (2.0 rule)',
    wat: '(module (func (block (result f64) (block (result f32) unreachable (br_table 0 1 1 (i32.const 1))) drop f64.const 0) drop))',
  },
  {
    name: 'typed select on externref',
    wat: '(module (func (param externref externref) (result externref) local.get 0 local.get 1 i32.const 0 select (result externref)))',
  },
  { name: 'ref.func declared by an export', wat: '(module (func $f (export "f")) (func (result funcref) ref.func $f))' },
  {
    name: 'ref.func declared by a declarative element segment',
    wat: '(module (func $f) (elem declare func $f) (func (result funcref) ref.func $f))',
  },
  { name: 'ref.func declared by a global', wat: '(module (func $f) (global funcref (ref.func $f)) (func (result funcref) ref.func $f))' },
  {
    name: 'return_call with equal results',
    wat: '(module (func $g (param i32) (result i32) local.get 0) (func (result i32) i32.const 1 return_call $g))',
  },
  {
    name: 'return_call_indirect with equal results',
    wat: '(module (type $t (func (result i32))) (table 1 funcref) (func (result i32) i32.const 0 return_call_indirect (type $t)))',
  },
  { name: 'the last lane of each shape', wat: '(module (func (result i32) v128.const i64x2 0 0 i8x16.extract_lane_u 15))' },
  { name: 'i64x2 replace of lane 1', wat: '(module (func (result v128) v128.const i64x2 0 0 i64.const 1 i64x2.replace_lane 1))' },
  { name: 'natural atomic alignment', wat: '(module (memory 1 1 shared) (func (result i32) i32.const 0 i32.atomic.load align=4))' },
  { name: 'atomics on a non-shared memory', wat: '(module (memory 1) (func (result i32) i32.const 0 i32.const 1 i32.atomic.rmw.add))' },
  { name: 'atomic.fence without a memory', wat: '(module (func atomic.fence))' },
  {
    name: 'memory.init with a data count section',
    wat: '(module (memory 1) (data "x") (func i32.const 0 i32.const 0 i32.const 1 memory.init 0 data.drop 0))',
  },
  {
    name: 'table ops on a second table',
    wat: '(module (table 1 funcref) (table $e 2 externref) (func (result i32) ref.null extern i32.const 1 table.grow $e))',
  },
  {
    name: 'global.get of an imported immutable global in a global initializer',
    wat: '(module (import "m" "g" (global i32)) (global i32 (global.get 0)))',
  },
  { name: 'the largest memory', wat: '(module (memory 65536))' },
  { name: 'start function [] -> []', wat: '(module (func $s) (start $s))' },
  { name: 'element segment of externref', wat: '(module (table 1 externref) (elem (table 0) (i32.const 0) externref (ref.null extern)))' },
];

const INVALID: readonly Case[] = [
  { name: 'a result of the wrong type', wat: '(module (func (result i32) i64.const 0))', error: 'type mismatch' },
  { name: 'values left at the end of a block', wat: '(module (func i32.const 1))', error: 'type mismatch' },
  { name: 'popping from an empty block', wat: '(module (func (result i32) (block (result i32) i32.add)))', error: 'type mismatch' },
  { name: 'block params not available from outside', wat: '(module (func (block (param i32) drop)))', error: 'type mismatch' },
  {
    name: 'if without else changing its type',
    wat: '(module (func (result i32) i32.const 0 (if (result i32) (then i32.const 1))))',
    error: 'type mismatch',
  },
  { name: 'unknown local', wat: '(module (func (param i32) local.get 1 drop))', error: 'unknown local' },
  { name: 'unknown global', wat: '(module (func global.get 0 drop))', error: 'unknown global' },
  { name: 'unknown function', wat: '(module (func call 5))', error: 'unknown function' },
  { name: 'unknown table', wat: '(module (func i32.const 0 call_indirect (type 0)))', error: 'unknown table' },
  { name: 'unknown memory', wat: '(module (func (result i32) i32.const 0 i32.load))', error: 'unknown memory' },
  {
    name: 'unknown type in call_indirect',
    wat: '(module (table 1 funcref) (func i32.const 0 call_indirect (type 3)))',
    error: 'unknown type',
  },
  { name: 'unknown label', wat: '(module (func br 1))', error: 'unknown label' },
  { name: 'unknown data segment', wat: '(module (memory 1) (data "x") (func data.drop 1))', error: 'unknown data segment' },
  { name: 'unknown elem segment', wat: '(module (func elem.drop 0))', error: 'unknown elem segment' },
  {
    name: 'global.set of an immutable global',
    wat: '(module (global i32 (i32.const 0)) (func i32.const 1 global.set 0))',
    error: 'global is immutable',
  },
  {
    name: 'a non-constant global initializer',
    wat: '(module (global i32 (i32.add (i32.const 1) (i32.const 2))))',
    error: 'constant expression required',
  },
  {
    name: 'global.get of a mutable import in a constant expression',
    wat: '(module (import "m" "g" (global (mut i32))) (global i32 (global.get 0)))',
    error: 'constant expression required',
  },
  {
    name: 'global.get of a defined global in a constant expression',
    wat: '(module (global i32 (i32.const 0)) (global i32 (global.get 0)))',
    error: 'unknown global',
  },
  { name: 'a constant expression of the wrong type', wat: '(module (global i32 (i64.const 0)))', error: 'type mismatch' },
  { name: 'a data offset of the wrong type', wat: '(module (memory 1) (data (i64.const 0) "x"))', error: 'type mismatch' },
  { name: 'two memories', wat: '(module (memory 1) (memory 1))', error: 'multiple memories' },
  { name: 'a memory over 4GiB', wat: '(module (memory 65537))', error: 'memory size must be at most 65536 pages (4GiB)' },
  { name: 'a memory maximum under its minimum', wat: '(module (memory 2 1))', error: 'size minimum must not be greater than maximum' },
  {
    name: 'a table maximum under its minimum',
    wat: '(module (table 2 1 funcref))',
    error: 'size minimum must not be greater than maximum',
  },
  { name: 'a start function with a parameter', wat: '(module (func $s (param i32)) (start $s))', error: 'start function' },
  {
    name: 'ref.func of an undeclared function',
    wat: '(module (func $f) (func (result funcref) ref.func $f))',
    error: 'undeclared function reference',
  },
  {
    name: 'untyped select on references',
    wat: '(module (func (result externref) ref.null extern ref.null extern i32.const 0 select))',
    error: 'type mismatch',
  },
  {
    name: 'select of operands of different types',
    wat: '(module (func (result i32) i32.const 0 i64.const 0 i32.const 0 select))',
    error: 'type mismatch',
  },
  {
    name: 'alignment larger than natural',
    wat: '(module (memory 1) (func (result i32) i32.const 0 i32.load align=8))',
    error: 'alignment must not be larger than natural',
  },
  {
    name: 'SIMD alignment larger than natural',
    wat: '(module (memory 1) (func (result v128) i32.const 0 v128.load32_splat align=8))',
    error: 'alignment must not be larger than natural',
  },
  {
    name: 'atomic alignment under natural',
    wat: '(module (memory 1 1 shared) (func (result i32) i32.const 0 i32.atomic.load align=2))',
    error: 'alignment must be equal to natural',
  },
  { name: 'atomics without a memory', wat: '(module (func (result i32) i32.const 0 i32.atomic.load))', error: 'unknown memory' },
  {
    name: 'return_call whose callee results differ',
    wat: '(module (func $g (result i64) i64.const 0) (func (result i32) return_call $g))',
    error: 'type mismatch',
  },
  {
    name: 'return_call_indirect whose callee results differ',
    wat: '(module (type $t (func (result i64))) (table 1 funcref) (func (result i32) i32.const 0 return_call_indirect (type $t)))',
    error: 'type mismatch',
  },
  {
    name: 'call_indirect on an externref table',
    wat: '(module (table 1 externref) (func i32.const 0 call_indirect (type 0)))',
    error: 'type mismatch',
  },
  {
    name: 'table.copy between tables of different types',
    wat: '(module (table 1 funcref) (table 1 externref) (func i32.const 0 i32.const 0 i32.const 0 table.copy 0 1))',
    error: 'type mismatch',
  },
  {
    name: 'table.init of a segment of another type',
    wat: '(module (table 1 externref) (elem funcref) (func i32.const 0 i32.const 0 i32.const 0 table.init 0 0))',
    error: 'type mismatch',
  },
  {
    name: 'an element segment for a table of another type',
    wat: '(module (table 1 externref) (func $f) (elem (i32.const 0) $f))',
    error: 'type mismatch',
  },
  { name: 'an export of an unknown function', wat: '(module (export "f" (func 3)))', error: 'unknown function' },
  {
    name: 'br_if with the wrong value for its label',
    wat: '(module (func (result i32) (block (result i32) i64.const 0 i32.const 1 br_if 0 drop i32.const 0)))',
    error: 'type mismatch',
  },
  {
    name: 'br_table targets of different arities',
    wat: '(module (func (block (result i32) (block i32.const 0 i32.const 0 br_table 0 1)) drop))',
    error: 'type mismatch',
  },
  { name: 'ref.is_null of a number', wat: '(module (func (result i32) i32.const 0 ref.is_null))', error: 'type mismatch' },
  { name: 'local.set of the wrong type', wat: '(module (func (local f32) i32.const 0 local.set 0))', error: 'type mismatch' },
];

describe('validateModule', () => {
  for (const c of VALID) {
    it(`accepts ${c.name}`, () => {
      expect(() => validate(wat(c.wat), c.features ?? ALL)).not.toThrow();
    });
  }
  for (const c of INVALID) {
    it(`rejects ${c.name} with "${c.error ?? ''}"`, () => {
      const err = rejection(wat(c.wat), c.features ?? ALL);
      expect(err.kind).toBe('invalid');
      expect(err.reason.startsWith(c.error ?? '')).toBe(true);
    });
  }

  it('rejects a duplicate export name', () => {
    // wabt refuses to encode duplicates, so rename one export in the bytes.
    const bytes = wat('(module (func (export "a")) (func (export "b")))');
    const i = bytes.lastIndexOf(0x62); // "b"
    bytes[i] = 0x61;
    const err = rejection(bytes);
    expect(err.reason).toMatch(/^duplicate export name/);
    expect(err.section).toBe('export');
  });

  it('rejects a typed select with two types as invalid result arity', () => {
    const err = rejection(rawModule([0x41, 0, 0x41, 0, 0x41, 0, 0x1c, 2, 0x7f, 0x7f, 0x1a]));
    expect(err.reason).toMatch(/^invalid result arity/);
  });

  it('rejects memory.init without a data count section as malformed', () => {
    const code = [0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 8, 0, 0];
    const err = rejection(rawModule(code, { memory: true }));
    // Index 0 is beyond the (empty) data section, which is the spec's first complaint.
    expect(err.reason).toMatch(/^unknown data segment/);
    const ok = rawModule(code, { memory: true, dataCount: 1 });
    // With a data count of 1 but no data section the decoder complains instead; only check it rejects.
    expect(() => validate(ok)).toThrow(CompileError);
  });

  it('requires a zero byte after memory.size', () => {
    const err = rejection(rawModule([0x3f, 1, 0x1a], { memory: true }));
    expect(err.kind).toBe('malformed');
    expect(err.reason).toBe('zero byte expected');
  });

  it('requires a zero byte after atomic.fence', () => {
    const err = rejection(rawModule([0xfe, 3, 1]));
    expect(err.reason).toBe('zero byte expected');
  });

  it('rejects an unknown opcode as malformed "illegal opcode"', () => {
    const err = rejection(rawModule([0x06]));
    expect(err.kind).toBe('malformed');
    expect(err.reason).toMatch(/^illegal opcode/);
  });

  it('rejects an invalid lane index for each lane shape', () => {
    // i8x16.extract_lane_s 16, i64x2.extract_lane 2, v128.load16_lane lane 8, shuffle lane 32.
    const v = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
    expect(rejection(rawModule([...v, 0xfd, 0x15, 16, 0x1a])).reason).toBe('invalid lane index');
    expect(rejection(rawModule([...v, 0xfd, 0x1d, 2, 0x1a])).reason).toBe('invalid lane index');
    expect(rejection(rawModule([0x41, 0, ...v, 0xfd, 0x55, 1, 0, 8, 0x1a], { memory: true })).reason).toBe('invalid lane index');
    const shuffle = [...v, ...v, 0xfd, 0x0d, 32, ...new Array<number>(15).fill(0), 0x1a];
    expect(rejection(rawModule(shuffle)).reason).toBe('invalid lane index');
    expect(() => validate(rawModule([...v, 0xfd, 0x15, 15, 0x1a]))).not.toThrow();
  });

  it('rejects a function body with bytes after its final end', () => {
    expect(rejection(rawModule([0x0b, 0x01])).kind).toBe('malformed');
  });

  it('accepts only single-byte encodings of empty and value block types', () => {
    // block (result i32) as 0x7f is fine; the same value as a two-byte s33 (0xff 0x7f = -1) is not.
    expect(() => validate(rawModule([0x02, 0x7f, 0x41, 0, 0x0b, 0x1a]))).not.toThrow();
    expect(rejection(rawModule([0x02, 0xff, 0x7f, 0x41, 0, 0x0b, 0x1a])).kind).toBe('malformed');
    expect(rejection(rawModule([0x02, 0x60, 0x0b])).kind).toBe('malformed');
  });

  it('rejects else outside if', () => {
    expect(rejection(rawModule([0x05])).kind).toBe('malformed');
  });

  describe('feature gating', () => {
    it('rejects SIMD instructions and v128 without the SIMD feature', () => {
      expect(() => validate(wat('(module (func (result i32) v128.const i64x2 0 0 i8x16.extract_lane_u 0))'), CoreFeaturesV1)).toThrow(
        CompileError,
      );
      expect(() => validate(wat('(module (func (local v128)))'), CoreFeaturesV1)).toThrow(CompileError);
    });

    it('rejects sign-extension, saturating conversions and bulk memory in 1.0', () => {
      expect(rejection(wat('(module (func (result i32) i32.const 0 i32.extend8_s))'), CoreFeaturesV1).reason).toMatch(
        /^illegal opcode i32.extend8_s/,
      );
      expect(() => validate(wat('(module (func (result i32) f32.const 0 i32.trunc_sat_f32_s))'), CoreFeaturesV1)).toThrow(CompileError);
      expect(() => validate(wat('(module (memory 1) (func i32.const 0 i32.const 0 i32.const 0 memory.fill))'), CoreFeaturesV1)).toThrow(
        CompileError,
      );
    });

    it('rejects atomics without threads and tail calls without tail-call', () => {
      expect(() => validate(wat('(module (func atomic.fence))'), CoreFeaturesV2)).toThrow(CompileError);
      expect(() => validate(wat('(module (func $f return_call $f))'), CoreFeaturesV2)).toThrow(CompileError);
      expect(() => validate(wat('(module (func $f return_call $f))'), CoreFeaturesV2 | CoreFeaturesTailCall)).not.toThrow();
    });

    it('needs multi-value for several results and block parameters', () => {
      const v1 = CoreFeaturesV1;
      expect(() => validate(wat('(module (func (result i32 i32) i32.const 0 i32.const 0))'), v1 | CoreFeatureMultiValue)).not.toThrow();
      expect(() => validate(wat('(module (func (result i32 i32) i32.const 0 i32.const 0))'), v1)).toThrow(CompileError);
      expect(() => validate(wat('(module (func i32.const 0 (block (param i32) drop)))'), v1)).toThrow(CompileError);
    });

    it('needs mutable-global to import or export a mutable global', () => {
      const imp = wat('(module (import "m" "g" (global (mut i32))))');
      const exp = wat('(module (global (export "g") (mut i32) (i32.const 0)))');
      expect(() => validate(imp, 0)).toThrow(CompileError);
      expect(() => validate(exp, 0)).toThrow(CompileError);
      expect(() => validate(imp, CoreFeatureMutableGlobal)).not.toThrow();
      expect(() => validate(exp, CoreFeatureMutableGlobal)).not.toThrow();
    });

    it('requires identical br_table label types in 1.0 even in unreachable code', () => {
      const bytes = wat(
        '(module (func (block (result f64) (block (result f32) unreachable (br_table 0 1 1 (i32.const 1))) drop f64.const 0) drop))',
      );
      expect(() => validate(bytes, CoreFeaturesV2)).not.toThrow();
      expect(rejection(bytes, CoreFeaturesV1).reason).toMatch(/^type mismatch/);
    });
  });

  describe('error positions', () => {
    it('names the code section, the function index counting imports, and the instruction offset', () => {
      const bytes = wat('(module (import "m" "f" (func)) (func) (func (result i32) nop i64.const 0))');
      const err = rejection(bytes);
      expect(err.section).toBe('code');
      expect(err.functionIndex).toBe(2);
      expect(err.offset).toBeDefined();
      // The failing instruction is the final `end` (the i64 result does not match i32).
      expect(bytes[err.offset!]).toBe(0x0b);
      expect(err.message).toMatch(/section code, function\[2\], offset 0x/);
    });

    it('points at the failing instruction, not the function start', () => {
      const bytes = wat('(module (func (result i32) i32.const 1 f32.const 0 i32.add drop))');
      const err = rejection(bytes);
      expect(bytes[err.offset!]).toBe(0x6a); // i32.add
    });
  });

  describe('ValidationInfo', () => {
    it('reports the maximum operand stack height of each defined function', () => {
      const info = validate(
        wat(`(module (import "m" "f" (func))
          (func i32.const 1 i32.const 2 i32.const 3 i32.add i32.add drop)
          (func (result i32) (block (result i32) i32.const 1 (block (result i32) i32.const 2) i32.add))
          (func))`),
      );
      expect(info.functions.map((f) => f.maxStackHeight)).toEqual([3, 2, 0]);
      expect(info.functions.map((f) => f.maxControlDepth)).toEqual([1, 3, 1]);
    });

    it('counts a v128 as one value in maxStackHeight and two in maxStackSlots', () => {
      const info = validate(wat('(module (func (result v128) v128.const i64x2 0 0 v128.const i64x2 0 0 i32.const 0 select))'));
      expect(info.functions[0]!.maxStackHeight).toBe(3);
      expect(info.functions[0]!.maxStackSlots).toBe(5);
    });

    it('lists declared function references from exports, elements and globals', () => {
      const info = validate(
        wat(`(module (func $a) (func $b (export "b")) (func $c) (func $d)
          (table 2 funcref) (elem (i32.const 0) $a) (global funcref (ref.func $c)))`),
      );
      expect([...info.declaredFunctionRefs].sort()).toEqual([0, 1, 2]);
    });
  });

  it('validates a module of 20,000 small functions quickly', () => {
    // Hand-assembled: wabt takes seconds on text this size.
    const n = 20000;
    const body = [0, 0x20, 0, 0x41, 1, 0x6a, 0x41, 2, 0x6c, 0x0b]; // local.get 0; i32.const 1; i32.add; i32.const 2; i32.mul
    const funcs: number[] = [...leb(n)];
    const codes: number[] = [...leb(n)];
    for (let i = 0; i < n; i++) {
      funcs.push(0);
      codes.push(body.length, ...body);
    }
    const bytes = new Uint8Array([
      0x00,
      0x61,
      0x73,
      0x6d,
      1,
      0,
      0,
      0,
      ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]),
      ...section(3, funcs),
      ...section(10, codes),
    ]);
    const m = decodeModule(bytes, CoreFeaturesV2);
    // Speed is measured by `npm run bench` (compile suite), never asserted in a unit test.
    const info: ValidationInfo = validateModule(m, CoreFeaturesV2);
    expect(info.functions).toHaveLength(n);
  });
});

const SPECTEST = SPECTEST_DIR;
const GUESTS = GUESTS_DIR;

function wasmFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wasm'))
    .sort()
    .map((f) => join(dir, f));
}

describe('validateModule against V8', () => {
  const guests = wasmFiles(GUESTS);
  it.skipIf(guests.length === 0)('accepts every guest in the corpus, as V8 does', () => {
    for (const file of guests) {
      const bytes = new Uint8Array(readFileSync(file));
      expect(WebAssembly.validate(bytes), file).toBe(true);
      expect(() => validate(bytes, CoreFeaturesV2 | CoreFeaturesThreads), file).not.toThrow();
    }
  });

  const corpus = [...wasmFiles(join(SPECTEST, 'v2')), ...wasmFiles(join(SPECTEST, 'threads')), ...guests];
  it.skipIf(corpus.length === 0)('never crashes on mutated modules and accepts none that V8 rejects', () => {
    // V8's features are a superset of ALL, so anything we accept V8 must accept too; the converse
    // does not hold (V8 also has multi-memory, exception handling, ...).
    let seed = 12345;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff);
    const problems: string[] = [];
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const file = corpus[rnd() % corpus.length]!;
      const bytes = new Uint8Array(readFileSync(file));
      const flips = 1 + (rnd() % 3);
      for (let k = 0; k < flips; k++) bytes[8 + (rnd() % Math.max(1, bytes.length - 8))] = rnd() & 0xff;
      let ours = false;
      try {
        validate(bytes);
        ours = true;
        accepted++;
      } catch (e) {
        if (!(e instanceof CompileError)) problems.push(`${file} #${i}: crashed: ${String(e)}`);
      }
      if (ours && !WebAssembly.validate(bytes)) problems.push(`${file} #${i}: accepted, V8 rejects`);
    }
    console.log(`mutation fuzz: 3000 mutants, ${accepted} accepted, ${problems.length} problems`);
    expect(problems).toEqual([]);
  });
});
