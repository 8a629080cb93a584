/**
 * `mockImports` on every engine: host modules from the guest's import section, natural values in and
 * out, unmocked imports trapping with their name, and the import-call record.
 */
import { describe, expect, it, vi } from 'vitest';
import { newModuleConfig, newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../../src/index.js';
import * as wasi from '../../src/wasi.js';
import { decodeF64 } from '../../src/api.js';
import { currentImportCall, matchers, mockImports, readCString, wasmTest, type ImportCallContext } from '../../src/vitest.js';
import { engines, runtimeFor, wat } from '../helpers.js';

expect.extend(matchers);

const GUEST = `(module
  (import "env" "mix" (func $mix (param i32 i64 f32 f64) (result f64)))
  (import "env" "pair" (func $pair (param i32) (result i32 i64)))
  (import "env" "say" (func $say (param i32)))
  (import "env" "unused" (func $unused (param i32 i32) (result i32)))
  (import "extra" "thing" (func $thing))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "hi there\\00")
  (func (export "mix") (result f64) (call $mix (i32.const -2) (i64.const -3) (f32.const 1.5) (f64.const 0.25)))
  (func (export "pair") (result i64) (local $a i32) (local $b i64)
    (call $pair (i32.const 5)) (local.set $b) (local.set $a)
    (i64.add (i64.extend_i32_s (local.get $a)) (local.get $b)))
  (func (export "say") (call $say (i32.const 64)))
  (func (export "unused") (result i32) (call $unused (i32.const 1) (i32.const -1)))
  (func (export "thing") (call $thing))
  (func (export "random") (result i32) (call $random (i32.const 0) (i32.const 4))))`;

for (const e of engines) {
  describe(`mockImports (${e.name})`, () => {
    it('passes natural values in and out with the signatures of the binary; several results as an array', async () => {
      const r = runtimeFor(e);
      const compiled = await r.compileModule(await wat(GUEST));
      const mix = vi.fn((a: number, b: bigint, c: number, d: number) => a + Number(b) + c + d);
      const pair = vi.fn((x: number) => [x * 2, BigInt(x) * 100n]);
      const mod = await mockImports(compiled, { env: { mix, pair } }).instantiate(r);
      expect(decodeF64(mod.exportedFunction('mix')!.call()[0]!)).toBe(-3.25);
      expect(mix).toHaveBeenCalledWith(-2, -3n, 1.5, 0.25);
      expect(mod.exportedFunction('pair')!.call()).toEqual([510n]);
      expect(mod).toHaveCalledImport('env.pair', 5);
      await r.close();
    });

    it('traps naming an import of a mocked module that has no implementation, with its arguments', async () => {
      const r = runtimeFor(e);
      const mod = await mockImports(await r.compileModule(await wat(GUEST)), { env: {} }).instantiate(r);
      expect(() => mod.exportedFunction('unused')!.call()).toThrow(
        'unmocked import env.unused called with (1, -1): give mockImports an implementation for it',
      );
      expect(() => mod.exportedFunction('thing')!.call()).toThrow('unmocked import extra.thing called with ()');
      expect(mod).toHaveCalledImport('env.unused', 1, -1);
      await r.close();
    });

    it('gives implementations the calling guest and its memory, as `this` and through currentImportCall()', async () => {
      const r = runtimeFor(e);
      const seen: string[] = [];
      const mod = await mockImports(await r.compileModule(await wat(GUEST)), {
        env: {
          say(this: ImportCallContext, ptr: number) {
            seen.push(`${this.import} ${readCString(this.memory!, ptr)} ${this.module.name()}`);
            seen.push(readCString(currentImportCall().module, ptr));
          },
        },
      }).instantiate(r, newModuleConfig().withName('g'));
      mod.exportedFunction('say')!.call();
      expect(seen).toEqual(['env.say hi there g', 'hi there']);
      expect(() => currentImportCall()).toThrow('no import implementation is running');
      await r.close();
    });

    it('leaves unmocked modules to the registry (WASI here) and records their calls when tracked', async () => {
      const r = runtimeFor(e);
      await wasi.instantiate(r);
      const mocked = mockImports(await r.compileModule(await wat(GUEST)), { env: { say: vi.fn() } });
      const mod = await mocked.instantiate(r);
      expect(mod.exportedFunction('random')!.call()).toEqual([0n]);
      mod.exportedFunction('say')!.call();
      expect(mocked.calls().map((c) => c.import)).toEqual(['env.say']);
      expect(mocked.moduleNames).toEqual(['env']);
      await r.close();
    });

    it('a mocked module takes precedence over the registry', async () => {
      const r = runtimeFor(e);
      await wasi.instantiate(r);
      const random = vi.fn(() => 76);
      const mod = await mockImports(await r.compileModule(await wat(GUEST)), {
        wasi_snapshot_preview1: { random_get: random },
      }).instantiate(r);
      expect(mod.exportedFunction('random')!.call()).toEqual([76n]);
      expect(random).toHaveBeenCalledWith(0, 4);
      await r.close();
    });
  });
}

describe('mockImports errors', () => {
  it('rejects an implementation for an import the module does not have, and non-function imports', async () => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const compiled = await r.compileModule(await wat(GUEST));
    expect(() => mockImports(compiled, { env: { nope: vi.fn() } })).toThrow(
      'mockImports: env.nope is not a function import of the module (its function imports: env.mix, env.pair',
    );
    expect(() => mockImports(compiled, { other: {} })).toThrow('mockImports: the module imports nothing from "other"');
    const withMemory = await r.compileModule(await wat('(module (import "env" "memory" (memory 1)) (import "env" "f" (func)))'));
    expect(() => mockImports(withMemory, { env: {} })).toThrow('mockImports: env.memory is a memory import: only functions can be given');
    expect(() => mockImports({} as never, {})).toThrow('not a CompiledModule of wasmscope');
    await r.close();
  });
});

wasmTest('in a wasmTest runtime, mocked guests get the fixture config and context by default', async ({ runtime }) => {
  const log = vi.fn();
  const mod = await mockImports(await runtime.compileModule(await wat(GUEST)), { env: { say: log } }).instantiate(runtime);
  mod.exportedFunction('say')!.call();
  expect(log).toHaveBeenCalledWith(64);
  // WASI comes from the fixture runtime, whose calls are tracked.
  mod.exportedFunction('random')!.call();
  expect(mod).toHaveCalledImport('wasi_snapshot_preview1.random_get', 0, 4);
});
