/**
 * The instruction scan of V8-first validation (scan.ts). What it must never do: vouch for a module
 * that V8 accepts and wasmscope's validator rejects, either as it is (the interpreter's check) or
 * as the compiler engine rewrites it (which appends a function, a type and a global). Checked on
 * hand-made bodies of what V8 takes beyond the configured features (Node 24 takes GC, typed
 * function references, multiple memories, 64-bit memories, exceptions…), and on every module of
 * the spec suites, the 3.0 ones included, under each feature set the runtime offers.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV1, CoreFeaturesV2, type CoreFeatures } from '../api/features.js';
import { decodeModule } from '../binary/decoder.js';
import { ByteWriter, encodeFuncType } from '../binary/encoder.js';
import { instructionSites } from '../binary/instr.js';
import { SectionId, type Module } from '../binary/module.js';
import { REWRITE_SITE_CODES, rewriteModule } from '../../compiler-native/rewrite.js';
import { SPECTEST_DIR } from '../../../test/paths.js';
import { scanBodies } from './scan.js';
import { validateBodies, validateModuleLevel } from './validate.js';

const ALL = CoreFeaturesV2 | CoreFeaturesThreads | CoreFeaturesTailCall;

/**
 * A module with types `[] → []` and `[i32] → [i32]`, one memory (max 1, shared when asked), a
 * funcref table of one, two mutable i32 globals and two functions of type 0, the first with `body`
 * (instructions, without the final `end`) and one i32 local.
 */
function moduleWith(body: readonly number[], shared = false): Uint8Array {
  const w = new ByteWriter(256).preamble();
  const types = new ByteWriter().u32(2);
  encodeFuncType(types, { params: [], results: [] });
  encodeFuncType(types, { params: [0x7f], results: [0x7f] });
  w.section(SectionId.Type, types);
  w.section(SectionId.Function, new ByteWriter().u32(2).u32(0).u32(0));
  w.section(SectionId.Table, new ByteWriter().u32(1).u8(0x70).u8(0).u32(1));
  w.section(
    SectionId.Memory,
    new ByteWriter()
      .u32(1)
      .u8(shared ? 3 : 1)
      .u32(1)
      .u32(1),
  );
  w.section(SectionId.Global, new ByteWriter().u32(2).u8(0x7f).u8(1).i32Const(0).end().u8(0x7f).u8(1).i32Const(0).end());
  w.section(SectionId.DataCount, new ByteWriter().u32(0));
  const code = new ByteWriter().u32(2);
  code.sized(new ByteWriter().u32(1).u32(1).u8(0x7f).bytes(body).end());
  code.sized(new ByteWriter().u32(0).end());
  w.section(SectionId.Code, code);
  return w.finish();
}

function scan(bytes: Uint8Array, features: CoreFeatures = CoreFeaturesV2): Int32Array | undefined {
  return scanBodies(decodeModule(bytes, features), features, REWRITE_SITE_CODES);
}

describe('scanBodies', () => {
  it('vouches for 2.0 bodies and reports the precise-trap sites', () => {
    // i32.const 0  f32.const 0  i32.trunc_f32_s  call_indirect (type 1) 0  drop
    const bytes = moduleWith([0x41, 0, 0x43, 0, 0, 0, 0, 0xa8, 0x11, 1, 0, 0x1a]);
    const m = decodeModule(bytes, CoreFeaturesV2);
    const sites = scanBodies(m, CoreFeaturesV2, REWRITE_SITE_CODES);
    expect(sites).toBeDefined();
    expect(Array.from(sites!)).toEqual(Array.from(instructionSites(m, REWRITE_SITE_CODES)));
    expect(sites!.length).toBe(2);
  });

  it('leaves feature sets below 2.0 to the validator', () => {
    expect(scanBodies(decodeModule(moduleWith([]), CoreFeaturesV2), CoreFeaturesV1)).toBeUndefined();
  });

  // Bodies V8 accepts (some only in Node 24) that the configured features do not allow, or that
  // V8 reads differently: the scan must give up on each.
  const REFUSED: ReadonlyArray<readonly [string, readonly number[], CoreFeatures?]> = [
    ['an atomic without threads', [0x41, 0, 0xfe, 0x10, 2, 0, 0x1a]],
    ['return_call without tail calls', [0x12, 1]],
    ['legacy try/catch_all (exceptions)', [0x06, 0x40, 0x19, 0x0b]],
    ['try_table (exceptions)', [0x1f, 0x40, 0, 0x0b]],
    ['throw_ref (exceptions)', [0xd0, 0x69, 0x0a]],
    ['ref.eq (GC)', [0xd0, 0x70, 0xd0, 0x70, 0xd3, 0x1a]],
    ['ref.as_non_null (typed function references)', [0xd0, 0x70, 0xd4, 0x1a]],
    ['br_on_null (typed function references)', [0xd0, 0x70, 0xd5, 0, 0x1a]],
    ['call_ref (typed function references)', [0xd0, 0x70, 0x14, 0]],
    ['ref.i31 (GC prefix)', [0x41, 0, 0xfb, 0x1c, 0x1a]],
    ['ref.null of a GC heap type', [0xd0, 0x6e, 0x1a]],
    ['a block of a GC reference type', [0x02, 0x63, 0x70, 0xd0, 0x70, 0x0b, 0x1a]],
    ['select of a GC reference type', [0xd0, 0x70, 0xd0, 0x70, 0x41, 0, 0x1c, 1, 0x64, 0x70, 0x1a]],
    ['relaxed SIMD', [0xfd, 0x80, 0x02, 0x01, 0x1a]],
    ['a memory index in a memarg (multiple memories)', [0x41, 0, 0x28, 0x42, 1, 0, 0x1a]],
    ['memory.size of memory 1', [0x3f, 1, 0x1a]],
    ['memory.size of memory 0 as a two-byte LEB', [0x3f, 0x80, 0, 0x1a]],
    ['a memarg offset of six bytes (64-bit memories read u64 offsets)', [0x41, 0, 0x28, 2, 0x82, 0x80, 0x80, 0x80, 0x80, 0, 0x1a]],
    ['a call one past the functions (the rewrite appends one)', [0x10, 2]],
    ['a global one past the globals (the rewrite appends one)', [0x23, 2, 0x1a]],
    ['a call_indirect type one past the types (the rewrite appends one)', [0x41, 0, 0x11, 2, 0]],
    ['a block type one past the types', [0x02, 2, 0x0b]],
    ['a block type of a negative two-byte s33', [0x02, 0xff, 0x7f, 0x0b]],
    ['a ref.func one past the functions', [0xd2, 2, 0x1a]],
  ];
  for (const [what, body, features] of REFUSED) {
    it(`gives up on ${what}`, () => {
      // The decoder leaves bodies alone: the scan is what sees these.
      const m = decodeModule(moduleWith(body), features ?? CoreFeaturesV2);
      expect(scanBodies(m, features ?? CoreFeaturesV2, REWRITE_SITE_CODES)).toBeUndefined();
    });
  }

  it('bounds indices digit by digit: below the bound passes, at it or above gives up', () => {
    // global.get 1 (the last global), call 1 (the last function), as one- and two-byte LEBs.
    expect(scan(moduleWith([0x23, 1, 0x1a]))).toBeDefined();
    expect(scan(moduleWith([0x23, 0x81, 0x00, 0x1a]))).toBeDefined();
    expect(scan(moduleWith([0x23, 0x82, 0x00, 0x1a]))).toBeUndefined();
    expect(scan(moduleWith([0x23, 0x81, 0x01, 0x1a]))).toBeUndefined();
    expect(scan(moduleWith([0x10, 1]))).toBeDefined();
    // Block type 1 is within bounds (that it takes an i32 the block lacks is V8's to find).
    expect(scan(moduleWith([0x41, 0, 0x02, 1, 0x0b, 0x1a]))).toBeDefined();
  });

  it('takes threads and tail calls when they are enabled', () => {
    expect(scan(moduleWith([0x41, 0, 0xfe, 0x10, 2, 0, 0x1a], true), ALL)).toBeDefined();
    expect(scan(moduleWith([0x12, 1]), ALL)).toBeDefined();
  });
});

/** Every module file under `dir`. */
function wasmFiles(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...wasmFiles(p));
    else if (p.endsWith('.wasm')) out.push(p);
  }
  return out;
}

describe.skipIf(!existsSync(SPECTEST_DIR))('scanBodies on every module of the spec suites', () => {
  it('never vouches for a module V8 accepts (as it is or rewritten) and the validator rejects; finds every site', () => {
    const problems: string[] = [];
    let vouched = 0;
    const featureSets = [CoreFeaturesV2, CoreFeaturesV2 | CoreFeaturesThreads, CoreFeaturesV2 | CoreFeaturesTailCall, ALL];
    for (const file of wasmFiles(SPECTEST_DIR)) {
      const bytes = new Uint8Array(readFileSync(file));
      const v8 = WebAssembly.validate(bytes);
      for (const features of featureSets) {
        let m: Module;
        let refs: ReadonlySet<number>;
        try {
          m = decodeModule(bytes, features);
          refs = validateModuleLevel(m, features);
        } catch {
          continue;
        }
        const sites = scanBodies(m, features, REWRITE_SITE_CODES);
        let valid = true;
        try {
          validateBodies(m, features, refs);
        } catch {
          valid = false;
        }
        const where = `${file.slice(SPECTEST_DIR.length + 1)} (features 0x${features.toString(16)})`;
        if (valid && sites === undefined) problems.push(`${where}: valid, but the scan gave up`);
        if (sites === undefined) continue;
        vouched++;
        if (valid) {
          const walked = instructionSites(m, REWRITE_SITE_CODES);
          if (Array.from(walked).join() !== Array.from(sites).join()) problems.push(`${where}: sites differ from a walk`);
          continue;
        }
        if (v8) problems.push(`${where}: V8 accepts it and the scan vouched, but it is invalid`);
        let rewritten = false;
        try {
          rewritten = WebAssembly.validate(rewriteModule(m, 'scan', { preciseTraps: true, sites }).bytes);
        } catch {
          rewritten = false;
        }
        if (rewritten) problems.push(`${where}: V8 accepts its rewrite and the scan vouched, but it is invalid`);
      }
    }
    console.log(`scan: vouched for ${vouched} decodable modules × feature sets; ${problems.length} problems`);
    expect(problems.slice(0, 40)).toEqual([]);
  });
});
