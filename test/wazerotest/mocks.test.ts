/**
 * `wasmscope/wazerotest` mocks on their own: lazy exports, spies, close semantics, globals, tables
 * and synthetic stacks. Memory bounds are in test/engines/wazerotest-parity.test.ts (against real
 * modules on both engines).
 */
import { describe, expect, it } from 'vitest';
import { Context, ExitError } from '../../src/index.js';
import { decodeF32, encodeF32, encodeI32, ValueType, type Module } from '../../src/api.js';
import {
  newFixedMemory,
  newFunction,
  newGlobal,
  newMemory,
  newModule,
  newStackFunction,
  newStackIterator,
  newTable,
  PAGE_SIZE,
} from '../../src/wazerotest.js';

const { I32, I64, F32, F64 } = ValueType;

describe('wazerotest modules', () => {
  it('builds exports lazily: a function has no module and index 0 until the module is first accessed', () => {
    const a = newFunction(function a() {}, [], []);
    const b = newFunction(function b() {}, [], []);
    const mod = newModule(undefined, a, b).setName('m');
    expect(b.definition().moduleName()).toBe('');
    expect(b.definition().index()).toBe(0);
    expect(() => b.call()).toThrow('missing function module');
    expect(mod.exportedFunction('b')).toBe(b);
    expect(b.definition().moduleName()).toBe('m');
    expect(b.definition().index()).toBe(1);
    expect(b.definition().debugName()).toBe('m.b');
    expect(b.call()).toEqual([]);
  });

  it('exports a function under its JS name unless export names are given; an anonymous one is not exported', () => {
    const named = newFunction(function log() {}, [I32], []);
    const renamed = newFunction(function inner() {}, [], [], { exportNames: ['x', 'y'] });
    const anonymous = newFunction(() => 0, [], [I32], { name: '' });
    const mod = newModule(undefined, named, renamed, anonymous).setName('env');
    expect([...mod.exportedFunctionDefinitions().keys()]).toEqual(['log', 'x', 'y']);
    expect(mod.exportedFunction('x')).toBe(renamed);
    expect(mod.exportedFunction('inner')).toBeUndefined();
    expect(mod.function(2)).toBe(anonymous);
    expect(anonymous.definition().debugName()).toBe('env.$2');
    expect(mod.numFunction()).toBe(3);
    expect(String(mod)).toBe('module[env]');
  });

  it('exposes the signature, names and JS function through the definition', () => {
    function add(_ctx: Context, _m: Module, x: number, y: number): number {
      return x + y;
    }
    const f = newFunction(add, [I32, I32], [I32], { paramNames: ['x', 'y'], resultNames: ['sum'], debugName: 'custom' });
    newModule(undefined, f).exportedFunction('add');
    const d = f.definition();
    expect([
      d.name(),
      d.paramTypes(),
      d.resultTypes(),
      d.paramNames(),
      d.resultNames(),
      d.hostFunction(),
      d.debugName(),
      d.import(),
    ]).toEqual(['add', [I32, I32], [I32], ['x', 'y'], ['sum'], add, 'custom', undefined]);
  });

  it('passes natural values in and out: signed i32, bigint i64, floats, several results as an array', () => {
    const f = newFunction(
      (_ctx, _m, a: number, b: bigint, c: number, d: number) => [a - 1, b * 2n, c, d / 2],
      [I32, I64, F32, F64],
      [I32, I64, F32, F64],
      {
        name: 'f',
      },
    );
    newModule(undefined, f).exportedFunction('f');
    const [r0, r1, r2, r3] = f.call(-5, -3n, 1.5, 9);
    expect(r0).toBe(encodeI32(-6));
    expect(r1).toBe(BigInt.asUintN(64, -6n));
    expect(decodeF32(r2!)).toBe(1.5);
    expect(r3).toBe(0x4012000000000000n); // 4.5
  });

  it('records every call in its spy, with raw params and results or the error thrown', () => {
    const f = newFunction(
      (_ctx, _m, x: number) => {
        if (x < 0) throw new Error('negative');
        return x * 2;
      },
      [I32],
      [I32],
      { name: 'double' },
    );
    const mod = newModule(undefined, f);
    mod.exportedFunction('double')!.call(21);
    expect(() => f.call(-1)).toThrow('negative');
    expect(f.calls).toEqual([
      { kind: 'returned', params: [21n], results: [42n] },
      { kind: 'threw', params: [0xffffffffn], error: new Error('negative') },
    ]);
    f.clearCalls();
    expect(f.calls).toEqual([]);
  });

  it('gives the function the mock module, so it can use the mock memory', () => {
    const mem = newMemory(new TextEncoder().encode('hello'));
    const strlen = newFunction(
      (_ctx, mod, ptr: number) =>
        mod
          .memory()!
          .read(ptr, PAGE_SIZE - ptr)!
          .indexOf(0),
      [I32],
      [I32],
      { name: 'strlen' },
    );
    newModule(mem, strlen).exportedFunction('strlen');
    expect(strlen.call(0)).toEqual([5n]);
    expect(mem.size()).toBe(PAGE_SIZE);
    expect(mem.bytes()[4]).toBe('o'.charCodeAt(0));
  });

  it('runs a raw stack function with params in the stack and results written back', () => {
    const f = newStackFunction(
      (_ctx, _m, stack) => {
        stack[0] = stack[0]! + stack[1]!;
      },
      [I64, I64],
      [I64],
      { name: 'add' },
    );
    newModule(undefined, f).exportedFunction('add');
    const stack = new BigUint64Array([2n, 3n]);
    f.callWithStack(stack);
    expect(stack[0]).toBe(5n);
  });

  it('stores the first exit code once; every later call fails with ExitError of that code', async () => {
    const f = newFunction(function ping() {}, [], []);
    const mod = newModule(undefined, f);
    mod.exportedFunction('ping')!.call();
    await mod.closeWithExitCode(3);
    await mod.closeWithExitCode(4);
    await mod.close();
    expect(mod.isClosed()).toBe(true);
    expect(mod.exitCode()).toBe(3);
    let err: unknown;
    try {
      f.call();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExitError);
    expect((err as ExitError).exitCode).toBe(3);
    expect(f.calls).toHaveLength(1);
  });

  it('fails a call with ExitError when the function closes its own module', () => {
    const exit = newFunction(
      (_ctx, mod, code: number) => {
        void mod.closeWithExitCode(code);
      },
      [I32],
      [],
      { name: 'proc_exit' },
    );
    const mod = newModule(undefined, exit);
    expect(() => mod.exportedFunction('proc_exit')!.call(7)).toThrow('module closed with exit_code(7)');
    expect(exit.calls[0]).toMatchObject({ kind: 'threw', params: [7n] });
  });

  it('rejects what cannot be a wasm function', () => {
    expect(() => newFunction(42 as never, [], [])).toThrow('cannot construct wasm function from number');
    expect(() => newFunction(() => {}, [0x40 as ValueType], [])).toThrow('param[0] is not a value type');
    expect(() => newModule(undefined, {} as never)).toThrow('argument 1 is not made by newFunction');
  });

  it('checks the param count of call, as a real function', () => {
    const f = newFunction(function two() {}, [I32, I32], []);
    newModule(undefined, f).exportedFunction('two');
    expect(() => f.call(1)).toThrow('expected 2 params, but passed 1');
  });
});

describe('wazerotest memories', () => {
  it('rounds sizes up to whole pages and exports the memory as "memory"', () => {
    const mod = newModule(newMemory(1)).setName('m');
    const mem = mod.memory()!;
    expect(mem.size()).toBe(PAGE_SIZE);
    expect(mod.exportedMemory('memory')).toBe(mem);
    expect(mod.exportedMemory('other')).toBeUndefined();
    expect(mem.definition().moduleName()).toBe('m');
    expect([...mod.exportedMemoryDefinitions().keys()]).toEqual(['memory']);
    expect(newMemory(0).size()).toBe(0);
    expect(newMemory(PAGE_SIZE + 1).size()).toBe(2 * PAGE_SIZE);
  });

  it('gives a fixed memory a maximum equal to its size, and a plain one the 65536-page limit', () => {
    expect(newFixedMemory(PAGE_SIZE).definition().max()).toEqual([1, true]);
    expect(newFixedMemory(PAGE_SIZE).grow(1)).toBeUndefined();
    const m = newMemory(PAGE_SIZE);
    expect(m.definition().max()).toEqual([65536, false]);
    expect(m.grow(1)).toBe(1);
    expect(m.size()).toBe(2 * PAGE_SIZE);
  });

  it('rejects impossible sizes and maximums', () => {
    expect(() => newMemory(-1)).toThrow(RangeError);
    expect(() => newMemory(1.5)).toThrow(RangeError);
    expect(() => newMemory(2 * PAGE_SIZE, 1)).toThrow('maxPages must be an integer in [2, 65536]');
  });
});

describe('wazerotest globals and tables', () => {
  it('encodes natural values by type, keeps raw bigints, and exports globals by name', () => {
    const a = newGlobal(I32, -1, false, ['a']);
    const b = newGlobal(F32, 1.5, true, ['b']);
    const c = newGlobal(I64, 0xffn);
    const mod = newModule(undefined, a, b, c);
    expect(mod.exportedGlobal('a')!.get()).toBe(0xffffffffn);
    expect(mod.exportedGlobal('b')!.get()).toBe(encodeF32(1.5));
    expect(mod.numGlobal()).toBe(3);
    expect(mod.global(2).get()).toBe(0xffn);
    expect(() => mod.global(3)).toThrow(RangeError);
    expect([String(a), String(b), String(c)]).toEqual(['-1', '1.5', '255']);
  });

  it('lets a mutable global change and refuses to set an immutable one', () => {
    const g = newGlobal(I32, 1, true);
    g.set(2n);
    expect(g.get()).toBe(2n);
    expect(g.mutable).toBe(true);
    const k = newGlobal(I32, 1);
    expect(() => (k as unknown as { set(v: bigint): void }).set(2n)).toThrow('global is immutable');
  });

  it('reads and writes table elements with Memory-like bounds, and grows up to its maximum', () => {
    const target = newFunction(function target() {}, [], []);
    const t = newTable(ValueType.Funcref, 2, { max: 3, exportNames: ['table'] });
    const mod = newModule(undefined, target, t);
    expect(mod.exportedTable('table')).toBe(t);
    expect(t.set(1, target)).toBe(true);
    expect(t.get(1)).toBe(target);
    expect(t.get(0)).toBeNull();
    expect([t.get(2), t.set(2, target), t.get(-1)]).toEqual([undefined, false, undefined]);
    expect(t.grow(1)).toBe(2);
    expect(t.grow(1)).toBeUndefined();
    expect(t.size()).toBe(3);
    expect(() => newTable(I32, 1)).toThrow('element type must be funcref or externref');
  });
});

describe('wazerotest stack iterators', () => {
  it('walks frames from the last (the called function) to the first, each with its own pc and source offset', () => {
    const outer = newFunction(function outer() {}, [], []);
    const inner = newFunction(function inner() {}, [I32], []);
    newModule(undefined, outer, inner).setName('m').exportedFunction('outer');
    const it = newStackIterator(
      { function: outer, params: [], results: [], pc: 10, sourceOffset: 100 },
      { function: inner, params: [1n], results: [], pc: 20, sourceOffset: 200 },
    );
    const seen: string[] = [];
    while (it.next()) {
      const fn = it.function();
      seen.push(`${fn.definition().debugName()}@${fn.sourceOffsetForPC(it.programCounter())}`);
    }
    expect(seen).toEqual(['m.inner@200', 'm.outer@100']);
  });
});

describe('wazerotest contexts', () => {
  it('passes the call context to the function', () => {
    const key = Symbol('k');
    const f = newFunction((ctx) => ctx.value<number>(key), [], [I32], { name: 'get' });
    newModule(undefined, f).exportedFunction('get');
    expect(f.callWithContext(Context.background().withValue(key, 9))).toEqual([9n]);
  });
});
