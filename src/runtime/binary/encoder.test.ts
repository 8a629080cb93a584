/**
 * Round trip: decode → encode of every module the spec suites instantiate and of every guest gives a
 * module V8 accepts and that decodes to the same IR. Corpus locations: test/paths.ts (absent folders
 * are skipped with a message).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import wabtInit from 'wabt';
import { GUESTS_DIR, SPECTEST_DIR, SPECTEST_MISSING } from '../../../test/paths.js';
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV1, CoreFeaturesV2, type CoreFeatures } from '../api/features.js';
import { decodeModule } from './decoder.js';
import { encodeModule } from './encoder.js';
import type { Module } from './module.js';

const SPEC = SPECTEST_DIR;
const GUESTS = GUESTS_DIR;
const ALL = CoreFeaturesV2 | CoreFeaturesThreads | CoreFeaturesTailCall;

const SUITES: ReadonlyArray<readonly [string, CoreFeatures]> = [
  ['v1', CoreFeaturesV1],
  ['v2', CoreFeaturesV2],
  ['threads', CoreFeaturesV2 | CoreFeaturesThreads],
  ['tail-call', CoreFeaturesV2 | CoreFeaturesTailCall],
];

interface Command {
  readonly type: string;
  readonly filename?: string;
  readonly module_type?: string;
}

/** The IR facts that must survive a round trip (offsets differ, so they are left out). */
function shape(m: Module): unknown {
  return {
    types: m.types,
    imports: m.imports.map((i) => [i.module, i.name, i.desc]),
    funcs: m.funcTypeIndices,
    tables: m.tables,
    memories: m.memories,
    globals: m.globals.map((g) => [g.type, g.init.instrs]),
    exports: m.exports.map((e) => [e.name, e.kind, e.index]),
    start: m.startFunction,
    elements: m.elements.map((e) => [e.mode, e.tableIndex, e.elemType, e.offsetExpr?.instrs, e.init.map((i) => i.instrs)]),
    dataCount: m.dataCount,
    codes: m.codes.map((c) => [c.locals, m.bytes.subarray(c.codeStart, c.codeEnd)]),
    datas: m.datas.map((d) => [d.mode, d.memoryIndex, d.offsetExpr?.instrs, d.init]),
    customs: m.customSections.map((c) => [c.name, c.data]),
  };
}

function roundTrip(bytes: Uint8Array, features: CoreFeatures): void {
  const m = decodeModule(bytes, features);
  // Full re-encode from the IR (no section reused).
  const full = encodeModule(m);
  expect(() => new WebAssembly.Module(full.bytes)).not.toThrow();
  const again = decodeModule(full.bytes, features);
  expect(shape(again)).toEqual(shape(m));
  for (let i = 0; i < again.codes.length; i++) expect(full.bodyOffsets[i]).toBe(again.codes[i]!.entryOffset);
  // Derived encode with every section unchanged: copied raw, identical bytes unless the original
  // used padded (non-minimal) section sizes.
  const same = encodeModule({ ...m }, m);
  expect(() => new WebAssembly.Module(same.bytes)).not.toThrow();
  const sameAgain = decodeModule(same.bytes, features);
  expect(shape(sameAgain)).toEqual(shape(m));
  for (let i = 0; i < m.codes.length; i++) expect(same.bodyOffsets[i]).toBe(sameAgain.codes[i]!.entryOffset);
}

describe('encoder: spec suite modules round-trip', () => {
  if (!existsSync(SPEC)) {
    it.skip(SPECTEST_MISSING, () => {});
    return;
  }
  for (const [dir, features] of SUITES) {
    const path = join(SPEC, dir);
    if (!existsSync(path)) continue;
    it(`${dir}: every module command round-trips and V8 accepts it`, () => {
      let n = 0;
      for (const f of readdirSync(path)
        .filter((x) => x.endsWith('.json'))
        .sort()) {
        const json = JSON.parse(readFileSync(join(path, f), 'utf8')) as { commands: Command[] };
        for (const c of json.commands) {
          if (c.type !== 'module' || c.filename === undefined || !c.filename.endsWith('.wasm')) continue;
          const bytes = new Uint8Array(readFileSync(join(path, c.filename)));
          try {
            roundTrip(bytes, features);
          } catch (e) {
            throw new Error(`${dir}/${c.filename}: ${(e as Error).message}`);
          }
          n++;
        }
      }
      expect(n).toBeGreaterThan(0);
    });
  }
});

describe('encoder: guests round-trip', () => {
  if (!existsSync(GUESTS)) {
    it.skip(`guests absent (${GUESTS})`, () => {});
    return;
  }
  it('every guest module round-trips and V8 accepts it', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.wasm')) files.push(join(d, e.name));
      }
    };
    walk(GUESTS);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      try {
        roundTrip(new Uint8Array(readFileSync(f)), ALL);
      } catch (e) {
        throw new Error(`${f}: ${(e as Error).message}`);
      }
    }
  });
});

describe('encoder: derived modules', () => {
  it('copies unchanged sections raw and re-encodes a changed export section', async () => {
    const wabt = await wabtInit();
    const text = '(module (memory 1) (global i32 (i32.const 7)) (func (result i32) global.get 0) (export "f" (func 0)))';
    const bytes = new Uint8Array(wabt.parseWat('x.wat', text).toBinary({}).buffer);
    const m = decodeModule(bytes, CoreFeaturesV2);
    const exports = [...m.exports, { name: '\u0000g', kind: 3 as const, index: 0, offset: -1 }];
    const out = encodeModule({ ...m, exports }, m);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(out.bytes), {});
    expect((inst.exports['\u0000g'] as WebAssembly.Global).value).toBe(7);
    expect((inst.exports['f'] as () => number)()).toBe(7);
    // The body is the same bytes, shifted by the export section growth.
    const again = decodeModule(out.bytes, CoreFeaturesV2);
    const delta = again.codes[0]!.codeStart - m.codes[0]!.codeStart;
    expect(out.bodyOffsets[0]! - m.codes[0]!.entryOffset).toBe(delta);
    expect(again.bytes.subarray(again.codes[0]!.codeStart, again.codes[0]!.codeEnd)).toEqual(
      m.bytes.subarray(m.codes[0]!.codeStart, m.codes[0]!.codeEnd),
    );
  });
});
