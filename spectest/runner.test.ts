/**
 * The runner itself: a tiny hand-made suite with commands that must pass and commands that must fail, so a
 * runner that silently passes everything (or crashes on one bad command) is caught.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wabtInit from 'wabt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFile, runSuite, summaryLine } from './runner.js';
import type { CommandOutcome } from './runner.js';

const SPECTEST_WAT = `(module
  (global (export "global_i32") i32 (i32.const 666))
  (table (export "table") 10 20 funcref)
  (memory (export "memory") 1 2)
  (func (export "print_i32") (param i32)))`;

const MAIN_WAT = `(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "arith_nan") (result f32) f32.const nan:0x400001)
  (func (export "neg_zero") (result f64) f64.const -0)
  (func (export "v") (result v128) v128.const i32x4 1 2 3 4)
  (func (export "vnan") (result v128) v128.const f32x4 nan nan:0x400001 1 0)
  (func (export "id_ref") (param externref) (result externref) local.get 0)
  (func $rec (export "rec") call $rec)
  (global (export "g") i32 (i32.const 7)))`;

const IMPORTER_WAT = `(module
  (import "M" "add" (func $add (param i32 i32) (result i32)))
  (import "spectest" "print_i32" (func (param i32)))
  (func (export "add3") (param i32) (result i32) local.get 0 i32.const 3 call $add))`;

const UNLINKABLE_WAT = `(module (import "M" "missing" (func)))`;
const START_TRAPS_WAT = `(module (func $s unreachable) (start $s))`;
const INVALID_WAT = `(module (func (result i32) i64.const 1))`;

let dir: string;

const i32 = (v: number | string) => ({ type: 'i32', value: String(v) });

beforeAll(async () => {
  const wabt = await wabtInit();
  const wasm = (name: string, text: string, validate = true): Uint8Array => {
    const m = wabt.parseWat(name, text, { simd: true, reference_types: true });
    if (validate) m.validate();
    return m.toBinary({}).buffer;
  };
  dir = mkdtempSync(join(tmpdir(), 'wasmscope-spectest-'));
  mkdirSync(join(dir, 'v2'));
  writeFileSync(join(dir, 'spectest.wasm'), wasm('spectest.wat', SPECTEST_WAT));
  writeFileSync(join(dir, 'v2', 'main.wasm'), wasm('main.wat', MAIN_WAT));
  writeFileSync(join(dir, 'v2', 'importer.wasm'), wasm('importer.wat', IMPORTER_WAT));
  writeFileSync(join(dir, 'v2', 'unlinkable.wasm'), wasm('unlinkable.wat', UNLINKABLE_WAT));
  writeFileSync(join(dir, 'v2', 'start.wasm'), wasm('start.wat', START_TRAPS_WAT));
  writeFileSync(join(dir, 'v2', 'invalid.wasm'), wasm('invalid.wat', INVALID_WAT, false));
  writeFileSync(join(dir, 'v2', 'garbage.wasm'), new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00]));

  const inv = (field: string, args: object[] = [], module?: string) => ({ type: 'invoke', field, args, ...(module ? { module } : {}) });
  const commands = [
    { type: 'module', line: 1, name: '$M', filename: 'main.wasm' },
    { type: 'register', line: 2, name: '$M', as: 'M' },
    { type: 'assert_return', line: 10, action: inv('add', [i32(1), i32(2)]), expected: [i32(3)] },
    { type: 'assert_return', line: 11, action: inv('add', [i32(1), i32(2)]), expected: [i32(4)] },
    { type: 'assert_return', line: 12, action: inv('add', [i32(4294967295), i32(1)]), expected: [i32(0)] },
    { type: 'assert_trap', line: 13, action: inv('div', [i32(1), i32(0)]), text: 'integer divide by zero', expected: [{ type: 'i32' }] },
    { type: 'assert_trap', line: 14, action: inv('div', [i32(1), i32(0)]), text: 'unreachable', expected: [{ type: 'i32' }] },
    { type: 'assert_trap', line: 15, action: inv('add', [i32(1), i32(2)]), text: 'unreachable', expected: [{ type: 'i32' }] },
    { type: 'assert_return', line: 16, action: inv('arith_nan'), expected: [{ type: 'f32', value: 'nan:arithmetic' }] },
    { type: 'assert_return', line: 17, action: inv('arith_nan'), expected: [{ type: 'f32', value: 'nan:canonical' }] },
    { type: 'assert_return', line: 18, action: inv('neg_zero'), expected: [{ type: 'f64', value: '0' }] },
    { type: 'assert_return', line: 19, action: inv('v'), expected: [{ type: 'v128', lane_type: 'i32', value: ['1', '2', '3', '4'] }] },
    { type: 'assert_return', line: 20, action: inv('v'), expected: [{ type: 'v128', lane_type: 'i32', value: ['1', '2', '3', '5'] }] },
    {
      type: 'assert_return',
      line: 21,
      action: inv('vnan'),
      expected: [{ type: 'v128', lane_type: 'f32', value: ['nan:canonical', 'nan:arithmetic', '1065353216', '0'] }],
    },
    {
      type: 'assert_return',
      line: 22,
      action: inv('id_ref', [{ type: 'externref', value: '5' }]),
      expected: [{ type: 'externref', value: '5' }],
    },
    {
      type: 'assert_return',
      line: 23,
      action: inv('id_ref', [{ type: 'externref', value: 'null' }]),
      expected: [{ type: 'externref', value: 'null' }],
    },
    { type: 'assert_return', line: 24, action: { type: 'get', field: 'g' }, expected: [i32(7)] },
    { type: 'assert_exhaustion', line: 25, action: inv('rec'), text: 'call stack exhausted', expected: [] },
    { type: 'assert_return', line: 26, action: inv('missing'), expected: [] },
    { type: 'assert_invalid', line: 30, filename: 'main.wasm', text: 'type mismatch', module_type: 'binary' },
    { type: 'assert_invalid', line: 31, filename: 'invalid.wasm', text: 'type mismatch', module_type: 'binary' },
    { type: 'assert_malformed', line: 32, filename: 'x.wat', text: 'unexpected token', module_type: 'text' },
    { type: 'assert_malformed', line: 33, filename: 'garbage.wasm', text: 'unknown binary version', module_type: 'binary' },
    { type: 'assert_unlinkable', line: 34, filename: 'unlinkable.wasm', text: 'unknown import', module_type: 'binary' },
    { type: 'assert_unlinkable', line: 35, filename: 'importer.wasm', text: 'unknown import', module_type: 'binary' },
    { type: 'assert_uninstantiable', line: 36, filename: 'start.wasm', text: 'unreachable', module_type: 'binary' },
    { type: 'assert_uninstantiable', line: 37, filename: 'start.wasm', text: 'out of bounds memory access', module_type: 'binary' },
    { type: 'module', line: 40, filename: 'importer.wasm' },
    { type: 'assert_return', line: 41, action: inv('add3', [i32(4)]), expected: [i32(7)] },
    { type: 'assert_return', line: 42, action: inv('add', [i32(1), i32(1)], '$M'), expected: [i32(2)] },
    { type: 'module', line: 50, filename: 'garbage.wasm' },
    { type: 'assert_return', line: 51, action: inv('add3', [i32(4)]), expected: [i32(7)] },
    { type: 'assert_return', line: 51, action: inv('add', [i32(1), i32(1)], '$M'), expected: [i32(2)] },
    { type: 'assert_bogus', line: 52 },
  ];
  writeFileSync(join(dir, 'v2', 'mixed.json'), JSON.stringify({ source_filename: 'mixed.wast', commands }));
});

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const byKey = (outcomes: CommandOutcome[]) => new Map(outcomes.map((o) => [o.key.replace(/^interpreter\/v2\/mixed\.json:/, ''), o]));

describe('spec-test runner', () => {
  it('passes correct commands and fails wrong ones without aborting the file', async () => {
    const outcomes = await runFile('v2', join(dir, 'v2', 'mixed.json'), { engine: 'interpreter', dir });
    const got = byKey(outcomes);
    const status = (k: string) => got.get(k)?.status;
    for (const k of ['1', '10', '12', '13', '16', '19', '21', '22', '23', '24', '25', '31', '33', '34', '36', '40', '41', '42', '51#2']) {
      expect(got.has('2')).toBe(false); // the register at line 2 belongs to the module at line 1
      expect([k, status(k), got.get(k)?.message]).toEqual([k, 'passed', undefined]);
    }
    for (const k of ['11', '14', '15', '17', '18', '20', '26', '30', '35', '37', '50', '51', '52'])
      expect([k, status(k)]).toEqual([k, 'failed']);
    expect(status('32')).toBe('skipped');
    expect(outcomes).toHaveLength(33);
  });

  it('explains failures with what ran, what was expected and what came back', async () => {
    const got = byKey(await runFile('v2', join(dir, 'v2', 'mixed.json'), { engine: 'interpreter', dir }));
    expect(got.get('11')?.message).toMatch(/invoke add\(i32:1 .*\): result 0: expected i32:4 .* got i32:3/);
    expect(got.get('14')?.message).toMatch(/expected trap "unreachable", got trap "integer divide by zero"/);
    expect(got.get('15')?.message).toMatch(/expected trap "unreachable", returned \[3\]/);
    expect(got.get('17')?.message).toMatch(/expected f32:nan:canonical, got f32:NaN \(0x7fc00001\)/);
    expect(got.get('18')?.message).toMatch(/expected f64:0 .* got f64:-0/);
    expect(got.get('26')?.message).toMatch(/no exported function "missing"/);
    expect(got.get('30')?.message).toMatch(/compiled, but should be rejected as "type mismatch"/);
    expect(got.get('35')?.message).toMatch(/instantiated, but should fail/);
    expect(got.get('37')?.message).toMatch(/expected "out of bounds memory access", instantiation trapped with "unreachable"/);
    expect(got.get('51')?.message).toMatch(/no current module \(garbage\.wasm: CompileError/);
    expect(got.get('52')?.message).toMatch(/unknown command type assert_bogus/);
  });

  it('tallies a suite per command kind', async () => {
    const r = await runSuite('v2', { engine: 'interpreter', dir });
    expect(summaryLine(r)).toBe('spectest interpreter v2: passed 19, failed 13, skipped 1');
    expect(r.byKind.get('assert_malformed')).toEqual({ passed: 1, failed: 0, skipped: 1 });
    expect(r.byKind.get('register')).toBeUndefined(); // part of the module instantiation, not counted
    expect(r.listening).toBeUndefined();
  });

  for (const engine of ['interpreter', 'compiler'] as const) {
    it(`on the ${engine}, listenAll and interrupts change no outcome; the listener sees every call nest and balance`, async () => {
      const plain = await runSuite('v2', { engine, dir });
      const hooked = await runSuite('v2', { engine, dir, listenAll: true, interrupts: true });
      expect(summaryLine(hooked)).toBe(`spectest ${engine} v2 (listened, interrupts): passed 19, failed 13, skipped 1`);
      expect(hooked.outcomes.map((o) => [o.key, o.status])).toEqual(plain.outcomes.map((o) => [o.key, o.status]));
      const l = hooked.listening!;
      expect(l.misnested).toEqual([]);
      // add, div (twice), the exhausting rec (aborted at every level), add3 → add, and more.
      expect(l.befores).toBeGreaterThan(20);
      expect(l.ends).toBe(l.befores);
    });
  }
});
