/**
 * `lookupFunction` (wasmscope/experimental/table): ONE table of cases, run on every engine.
 *
 * Semantics fixed here (both engines): the entry at an offset of a funcref table is returned as a
 * callable `Function` when its type is exactly the expected one; an offset out of bounds and a null
 * entry trap with `invalid table access`, another signature with `indirect call type mismatch`, a
 * missing table throws `table index out of range`. The function runs in its defining module (an
 * entry imported from another module, a host function placed in a table), traps carry the wasm
 * stack trace, and its listeners fire as for any call.
 */
import { describe, expect, it } from 'vitest';
import { ValueType, type Module } from '../../src/api.js';
import { Context, WasmRuntimeError, newModuleConfig, type Runtime } from '../../src/index.js';
import { functionListenerFactoryFunc, withFunctionListenerFactory } from '../../src/experimental.js';
import { lookupFunction } from '../../src/experimental-table.js';
import { engines, runtimeFor, thrown, wat } from '../helpers.js';

const { I32, I64, F64 } = ValueType;

const GUEST = `(module $guest
  (import "host" "twice" (func $twice (param i32) (result i32)))
  (import "lib" "sq" (func $sq (param i64) (result i64)))
  (table (export "t") 6 funcref)
  (table $ext 1 externref)
  (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $half (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
  (func $boom (unreachable))
  (func (export "swap") (table.set 0 (i32.const 1) (ref.func $add)))
  (elem (i32.const 0) func $add $half $boom $twice $sq))`;

const LIB = `(module $lib (func (export "sq") (param i64) (result i64) (i64.mul (local.get 0) (local.get 0))))`;

async function setUp(r: Runtime, ctx?: Context): Promise<Module> {
  await r
    .newHostModuleBuilder('host')
    .newFunctionBuilder()
    .withFunc((_ctx, _mod, x: number) => x * 2, [I32], [I32])
    .export('twice')
    .instantiate();
  await r.instantiateWithConfig(await wat(LIB), newModuleConfig().withName('lib'));
  return r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('guest'), ctx);
}

interface Case {
  readonly name: string;
  readonly run: (mod: Module) => void;
}

const trapOf = (fn: () => unknown): string | undefined => {
  const e = thrown(fn);
  return e instanceof WasmRuntimeError ? e.trap : String(e);
};

const cases: Case[] = [
  {
    name: 'a defined function that is not exported, found at its offset, is called with natural and raw params',
    run(mod) {
      const add = lookupFunction(mod, 0, 0, [I32, I32], [I32]);
      expect(add.call(40, 2)).toEqual([42n]);
      const stack = new BigUint64Array([7n, 0xffffffffn]);
      add.callWithStack(stack);
      expect(stack[0]).toBe(6n);
      expect(add.definition().name()).toBe('add');
      expect(lookupFunction(mod, 0, 1, [F64], [F64]).call(3)).toEqual([0x3ff8000000000000n]);
    },
  },
  {
    name: 'a host function and a function imported from another module run as themselves',
    run(mod) {
      expect(lookupFunction(mod, 0, 3, [I32], [I32]).call(21)).toEqual([42n]);
      const sq = lookupFunction(mod, 0, 4, [I64], [I64]);
      expect(sq.call(12n)).toEqual([144n]);
      expect(sq.definition().moduleName()).toBe('lib');
    },
  },
  {
    name: 'an offset past the end and a null entry are invalid table access',
    run(mod) {
      expect(trapOf(() => lookupFunction(mod, 0, 6, [], []))).toBe('invalid table access');
      expect(trapOf(() => lookupFunction(mod, 0, 5, [], []))).toBe('invalid table access');
      expect(trapOf(() => lookupFunction(mod, 0, -1, [], []))).toBe('invalid table access');
    },
  },
  {
    name: 'another signature is an indirect call type mismatch, results included',
    run(mod) {
      expect(trapOf(() => lookupFunction(mod, 0, 0, [I32], [I32]))).toBe('indirect call type mismatch');
      expect(trapOf(() => lookupFunction(mod, 0, 0, [I32, I32], []))).toBe('indirect call type mismatch');
      expect(trapOf(() => lookupFunction(mod, 0, 0, [I64, I64], [I64]))).toBe('indirect call type mismatch');
    },
  },
  {
    name: 'a missing table is out of range; an externref table is refused',
    run(mod) {
      expect(() => lookupFunction(mod, 2, 0, [], [])).toThrow('table index out of range');
      expect(() => lookupFunction(mod, 1, 0, [], [])).toThrow('externref');
    },
  },
  {
    name: 'a trap in the function found carries its frame',
    run(mod) {
      const e = thrown(() => lookupFunction(mod, 0, 2, [], []).call());
      expect(e).toBeInstanceOf(WasmRuntimeError);
      expect((e as WasmRuntimeError).trap).toBe('unreachable');
      expect((e as Error).message).toContain('guest.boom()');
    },
  },
  {
    name: 'an entry changed after instantiation (by a table.set of the guest) is what is found',
    run(mod) {
      expect(lookupFunction(mod, 0, 1, [F64], [F64]).call(1)).toEqual([0x3fe0000000000000n]);
      mod.exportedFunction('swap')!.call();
      expect(trapOf(() => lookupFunction(mod, 0, 1, [F64], [F64]))).toBe('indirect call type mismatch');
      expect(lookupFunction(mod, 0, 1, [I32, I32], [I32]).call(2, 3)).toEqual([5n]);
    },
  },
];

describe.each(engines)('lookupFunction on the $name engine', (engine) => {
  it.each(cases)('$name', async ({ run }) => {
    const r = runtimeFor(engine);
    try {
      run(await setUp(r));
    } finally {
      await r.close();
    }
  });

  it("listeners compiled into the function found fire, and a closed module's function refuses to run", async () => {
    const r = runtimeFor(engine);
    const seen: string[] = [];
    const ctx = withFunctionListenerFactory(
      Context.background(),
      functionListenerFactoryFunc((def) => ({
        before: () => seen.push(`>${def.name()}`),
        after: () => seen.push(`<${def.name()}`),
        abort: () => seen.push(`!${def.name()}`),
      })),
    );
    const mod = await setUp(r, ctx);
    const add = lookupFunction(mod, 0, 0, [I32, I32], [I32]);
    expect(add.call(1, 2)).toEqual([3n]);
    expect(seen).toEqual(['>add', '<add']);
    await mod.close();
    expect(() => add.call(1, 2)).toThrow('exit_code(0)');
    await r.close();
  });
});
