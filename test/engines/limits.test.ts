/**
 * Limits and instantiation checks, decided by the store for both engines (store/instantiate.ts):
 * one message per limit, a typed error, never a raw V8 RangeError; the runtime stays usable.
 * - A memory minimum over the runtime's page limit, or a table minimum over 10,000,000 elements,
 *   fails `compileModule` with a CompileError naming the memory/table, its minimum and the limit.
 *   A memory without a maximum is capped at the page limit: `memory.grow` past it fails.
 * - WebAssembly 1.0 (no bulk memory): an out-of-bounds segment fails instantiation before anything
 *   is written. 2.0: segments before the failing one are written (visible through an imported
 *   memory or table), then the trap: `out of bounds memory access` for data, `invalid table access`
 *   for elements.
 * - A start function that traps fails the instantiation with the trap and its frames; the module's
 *   name stays free.
 */
import { describe, expect, it } from 'vitest';
import { CompileError, Trap, WasmRuntimeError, newModuleConfig, type Runtime } from '../../src/index.js';
import { CoreFeaturesV1 } from '../../src/api.js';
import { asTrap, engines, runtimeFor, wat } from '../helpers.js';

interface Case {
  readonly name: string;
  readonly v1?: boolean;
  readonly run: (r: Runtime) => Promise<void>;
}

/** Expects `p` to reject with a CompileError whose message is exactly `message`. */
async function rejectsWithCompileError(p: Promise<unknown>, message: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CompileError);
  expect((err as CompileError).reason).toBe(message);
}

const cases: Case[] = [
  {
    name: 'a memory minimum over the page limit is a CompileError naming memory, minimum and limit',
    async run(r) {
      await rejectsWithCompileError(r.compileModule(await wat('(module (memory 3))')), 'memory[0] min 3 pages over limit of 2 pages');
    },
  },
  {
    name: 'a table minimum over 10,000,000 elements is a CompileError, never V8\'s "implementation limit" RangeError',
    async run(r) {
      await rejectsWithCompileError(
        r.compileModule(await wat('(module (table 10000001 funcref))')),
        'table[0] min 10000001 elements over limit of 10000000 elements',
      );
      await rejectsWithCompileError(
        r.compileModule(await wat('(module (import "m" "t" (table 1 funcref)) (table 4294967295 externref))')),
        'table[1] min 4294967295 elements over limit of 10000000 elements',
      );
      const ok = await r.instantiate(await wat('(module (table (export "t") 10000 funcref))'));
      expect(ok.isClosed()).toBe(false);
    },
  },
  {
    name: '1.0: an out-of-bounds data segment fails before any segment is written',
    v1: true,
    async run(r) {
      await r.instantiateWithConfig(
        await wat('(module (memory (export "mem") 1) (func (export "peek") (result i32) (i32.load8_u (i32.const 0))))'),
        newModuleConfig().withName('shared'),
      );
      const err = await r
        .instantiate(
          await wat(`(module (import "shared" "mem" (memory 1))
            (data (i32.const 0) "\\2a") (data (i32.const 65536) "x"))`),
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(WasmRuntimeError);
      expect((err as WasmRuntimeError).trap).toBe(Trap.OutOfBoundsMemoryAccess);
      expect(r.module('shared')!.exportedFunction('peek')!.call()).toEqual([0n]);
    },
  },
  {
    name: '2.0: segments before the out-of-bounds one are written, then the trap',
    async run(r) {
      await r.instantiateWithConfig(
        await wat('(module (memory (export "mem") 1) (func (export "peek") (result i32) (i32.load8_u (i32.const 0))))'),
        newModuleConfig().withName('shared'),
      );
      const err = await r
        .instantiate(
          await wat(`(module (import "shared" "mem" (memory 1))
            (data (i32.const 0) "\\2a") (data (i32.const 65536) "x"))`),
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(WasmRuntimeError);
      expect((err as WasmRuntimeError).trap).toBe(Trap.OutOfBoundsMemoryAccess);
      expect(r.module('shared')!.exportedFunction('peek')!.call()).toEqual([42n]);
    },
  },
  {
    name: '2.0: element segments before the out-of-bounds one are written, then the trap "invalid table access"',
    async run(r) {
      const a = await r.instantiateWithConfig(
        await wat(`(module (table (export "t") 2 funcref) (type $r (func (result i32)))
          (func (export "callt") (param i32) (result i32) (call_indirect (type $r) (local.get 0))))`),
        newModuleConfig().withName('a'),
      );
      const err = await r
        .instantiateWithConfig(
          await wat(`(module (import "a" "t" (table 2 funcref)) (func $eleven (result i32) (i32.const 11))
            (elem (i32.const 0) func $eleven) (elem (i32.const 2) func $eleven))`),
          newModuleConfig().withName('b'),
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(asTrap(err).trap).toBe(Trap.InvalidTableAccess);
      expect(r.module('b')).toBeUndefined();
      expect(a.exportedFunction('callt')!.call(0)).toEqual([11n]);
    },
  },
  {
    name: 'a start function that traps fails instantiation with its trap and frame, and the name stays free',
    async run(r) {
      const err = await r
        .instantiateWithConfig(await wat(`(module $s (func $boom unreachable) (start $boom))`), newModuleConfig().withName('s'))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(asTrap(err).message).toBe('wasm error: unreachable\nwasm stack trace:\n\ts.boom()');
      expect(r.module('s')).toBeUndefined();
      const s = await r.instantiateWithConfig(
        await wat(`(module (func (export "two") (result i32) (i32.const 2)))`),
        newModuleConfig().withName('s'),
      );
      expect(s.exportedFunction('two')!.call()).toEqual([2n]);
    },
  },
  {
    name: 'a memory without a maximum is capped at the page limit: memory.grow past it returns -1',
    async run(r) {
      const m = await r.instantiate(
        await wat(`(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`),
      );
      expect(m.exportedFunction('grow')!.call(1)).toEqual([1n]);
      expect(m.exportedFunction('grow')!.call(1)).toEqual([0xffffffffn]);
      expect(m.memory()!.grow(1)).toBeUndefined();
      expect(m.memory()!.size()).toBe(2 * 65536);
    },
  },
];

for (const engine of engines) {
  describe(`limits and instantiation checks on the ${engine.name}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = runtimeFor(engine, (cfg) => {
          const limited = cfg.withMemoryLimitPages(2);
          return c.v1 === true ? limited.withCoreFeatures(CoreFeaturesV1) : limited;
        });
        try {
          await c.run(r);
          // The runtime stays usable.
          const m = await r.instantiate(await wat('(module (func (export "one") (result i32) (i32.const 1)))'));
          expect(m.exportedFunction('one')!.call()).toEqual([1n]);
        } finally {
          await r.close();
        }
      });
    }
  });
}
