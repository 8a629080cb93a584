import { describe, expect, it } from 'vitest';
import {
  Context,
  CompileError,
  ExitError,
  LinkError,
  WasmRuntimeError,
  newModuleConfig,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
} from '../../src/index.js';
import { ValueType, decodeF64, encodeF32, encodeF64, encodeI32, encodeI64, type InternalModule, type Module } from '../../src/api.js';
import { closeNotifyFunc, withCloseNotifier, withImportResolver } from '../../src/experimental.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const { I32, I64, F64 } = ValueType;

describe.each(engines)('runtime on the $name engine', (engine) => {
  describe('host functions', () => {
    it('guest calls a host function with natural values and gets its result', async () => {
      const r = runtimeFor(engine);
      const seen: unknown[] = [];
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(
          (_ctx, _mod, a: number, b: bigint, c: number) => {
            seen.push(a, b, c);
            return BigInt(a) + b + BigInt(Math.trunc(c));
          },
          [I32, I64, F64],
          [I64],
        )
        .export('add3')
        .instantiate();
      const m = await r.instantiate(
        await wat(`(module (import "env" "add3" (func $add3 (param i32 i64 f64) (result i64)))
          (func (export "run") (result i64) (call $add3 (i32.const -5) (i64.const 10000000000) (f64.const 2.75))))`),
      );
      expect(m.exportedFunction('run')!.call()).toEqual([10000000000n - 5n + 2n]);
      expect(seen).toEqual([-5, 10000000000n, 2.75]);
      await r.close();
    });

    it('host function on the raw stack reads params and writes results from index 0', async () => {
      const r = runtimeFor(engine);
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withModuleFunction(
          (_ctx, _mod, stack) => {
            const a = stack[0]!;
            const b = stack[1]!;
            stack[0] = b;
            stack[1] = a;
          },
          [I32, I32],
          [I32, I32],
        )
        .export('swap')
        .instantiate();
      const m = await r.instantiate(
        await wat(`(module (import "env" "swap" (func $swap (param i32 i32) (result i32 i32)))
          (func (export "run") (result i32) (call $swap (i32.const 7) (i32.const 3)) (i32.sub)))`),
      );
      expect(m.exportedFunction('run')!.call()).toEqual([encodeI32(3 - 7)]);
      await r.close();
    });

    it('a host function can call back into the guest (re-entrancy)', async () => {
      const r = runtimeFor(engine);
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc((_ctx, mod: Module, n: number) => Number(mod.exportedFunction('double')!.call(n)[0]) + 1, [I32], [I32])
        .export('cb')
        .instantiate();
      const m = await r.instantiate(
        await wat(`(module (import "env" "cb" (func $cb (param i32) (result i32)))
          (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
          (func (export "run") (param i32) (result i32) (i32.add (call $cb (local.get 0)) (i32.const 100))))`),
      );
      expect(m.exportedFunction('run')!.call(20)).toEqual([141n]);
      await r.close();
    });

    it('host function definitions carry names, types and the JS function', async () => {
      const r = runtimeFor(engine);
      const fn = (): number => 1;
      const host = await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(fn, [I32, I32], [I32])
        .withName('one')
        .withParameterNames('a', 'b')
        .withResultNames('r')
        .export('one_export')
        .compile();
      const def = host.exportedFunctions().get('one_export')!;
      expect(def.name()).toBe('one');
      expect(def.debugName()).toBe('env.one');
      expect(def.paramNames()).toEqual(['a', 'b']);
      expect(def.resultNames()).toEqual(['r']);
      expect(def.paramTypes()).toEqual([I32, I32]);
      expect(def.hostFunction()).toBe(fn);
      await r.close();
    });

    it('an error thrown by a host function reaches the caller as the cause of the error it gets, and the runtime stays usable', async () => {
      const r = runtimeFor(engine);
      const boom = new Error('boom');
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(
          () => {
            throw boom;
          },
          [],
          [],
        )
        .export('boom')
        .instantiate();
      const m = await r.instantiate(
        await wat(`(module (import "env" "boom" (func $boom))
          (func (export "run") (call $boom)) (func (export "ok") (result i32) (i32.const 1)))`),
      );
      expect(() => m.exportedFunction('run')!.call()).toThrow(expect.objectContaining({ cause: boom }));
      expect(m.exportedFunction('ok')!.call()).toEqual([1n]);
      await r.close();
    });
  });

  describe('registry and names', () => {
    const named = `(module $fromNameSection (func (export "f") (result i32) (i32.const 1)))`;

    it('uses the name-section name unless the config names the module', async () => {
      const r = runtimeFor(engine);
      const bin = await wat(named);
      const a = await r.instantiate(bin);
      expect(a.name()).toBe('fromNameSection');
      expect(r.module('fromNameSection')).toBe(a);
      const b = await r.instantiateWithConfig(bin, newModuleConfig().withName('other'));
      expect(b.name()).toBe('other');
      expect(r.module('other')).toBe(b);
      await r.close();
    });

    it('an empty name is anonymous and never registered; anonymous modules may repeat', async () => {
      const r = runtimeFor(engine);
      const bin = await wat(named);
      const a = await r.instantiateWithConfig(bin, newModuleConfig().withName(''));
      const b = await r.instantiateWithConfig(bin, newModuleConfig().withName(''));
      expect(a.name()).toBe('');
      expect(b.name()).toBe('');
      expect(r.module('')).toBeUndefined();
      await r.close();
    });

    it('a second module with a taken name is rejected', async () => {
      const r = runtimeFor(engine);
      const bin = await wat(named);
      await r.instantiate(bin);
      await expect(r.instantiate(bin)).rejects.toThrow('module[fromNameSection] has already been instantiated');
      await r.close();
    });

    it('a closed module frees its name', async () => {
      const r = runtimeFor(engine);
      const bin = await wat(named);
      const a = await r.instantiate(bin);
      await a.close();
      expect(r.module('fromNameSection')).toBeUndefined();
      const b = await r.instantiate(bin);
      expect(r.module('fromNameSection')).toBe(b);
      await r.close();
    });
  });

  describe('imports', () => {
    it('imports functions, memories, tables and globals from a registered module', async () => {
      const r = runtimeFor(engine);
      await r.instantiateWithConfig(
        await wat(`(module (memory (export "mem") 1) (table (export "tab") 2 funcref)
          (global (export "g") (mut i32) (i32.const 40)) (func $f (export "f") (result i32) (i32.const 2))
          (elem (i32.const 0) $f))`),
        newModuleConfig().withName('lib'),
      );
      const m = await r.instantiate(
        await wat(`(module (import "lib" "mem" (memory 1)) (import "lib" "tab" (table 2 funcref))
          (import "lib" "g" (global $g (mut i32))) (import "lib" "f" (func $f (result i32)))
          (type $t (func (result i32)))
          (func (export "run") (result i32)
            (i32.store (i32.const 8) (i32.const 5))
            (global.set $g (i32.add (global.get $g) (call $f)))
            (i32.add (global.get $g) (i32.add (i32.load (i32.const 8)) (call_indirect (type $t) (i32.const 0))))))`),
      );
      expect(m.exportedFunction('run')!.call()).toEqual([49n]);
      const lib = r.module('lib')!;
      expect(lib.exportedGlobal('g')!.get()).toBe(42n);
      expect(lib.exportedMemory('mem')!.readUint32Le(8)).toBe(5);
      await r.close();
    });

    it('fails with LinkError naming a missing module, a missing export and a signature mismatch', async () => {
      const r = runtimeFor(engine);
      const importer = await wat(`(module (import "lib" "f" (func (param i32))))`);
      await expect(r.instantiate(importer)).rejects.toThrow(
        new LinkError('module[lib] not instantiated; the module imports from it:\n\tlib.f(i32)'),
      );
      const many = await wat(`(module (import "env" "now" (func (result i64))) (import "other" "x" (func))
        (import "env" "mem" (memory 1 2)) (import "env" "g" (global (mut f64))) (import "env" "t" (table 3 funcref))
        (import "env" "pair" (func (param i32 externref) (result i32 f64))))`);
      await expect(r.instantiate(many)).rejects.toThrow(
        new LinkError(
          'module[env] not instantiated; the module imports from it:\n\tenv.now() i64\n\tenv.mem: memory 1..2 pages' +
            '\n\tenv.g: global mut f64\n\tenv.t: table funcref 3.. elements\n\tenv.pair(i32,externref) (i32,f64)',
        ),
      );
      await r.instantiateWithConfig(await wat(`(module (func (export "g")))`), newModuleConfig().withName('lib'));
      await expect(r.instantiate(importer)).rejects.toThrow('"f" is not exported in module "lib"');
      const r2 = runtimeFor(engine);
      await r2.instantiateWithConfig(await wat(`(module (func (export "f")))`), newModuleConfig().withName('lib'));
      const err: unknown = await r2.instantiate(importer).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LinkError);
      expect((err as Error).message).toBe('import func[lib.f]: signature mismatch: i32_v != v_v');
      await r.close();
      await r2.close();
    });

    it('asks the ImportResolver first and falls back to the registry', async () => {
      const r = runtimeFor(engine);
      const fromRegistry = await r.instantiateWithConfig(
        await wat(`(module (func (export "v") (result i32) (i32.const 1)))`),
        newModuleConfig().withName('dep'),
      );
      const alt = await r.instantiateWithConfig(
        await wat(`(module (func (export "v") (result i32) (i32.const 2)))`),
        newModuleConfig().withName(''),
      );
      const importer = await wat(`(module (import "dep" "v" (func $v (result i32))) (func (export "run") (result i32) (call $v)))`);
      const asked: string[] = [];
      const ctx = withImportResolver(Context.background(), (name) => {
        asked.push(name);
        return name === 'dep' ? alt : undefined;
      });
      const compiled = await r.compileModule(importer);
      const a = await r.instantiateModule(compiled, newModuleConfig().withName(''), ctx);
      expect(a.exportedFunction('run')!.call()).toEqual([2n]);
      expect(asked).toEqual(['dep']);
      const b = await r.instantiateModule(
        compiled,
        newModuleConfig().withName(''),
        withImportResolver(Context.background(), () => undefined),
      );
      expect(b.exportedFunction('run')!.call()).toEqual([1n]);
      expect(fromRegistry.isClosed()).toBe(false);
      await r.close();
    });
  });

  describe('close and exit codes', () => {
    const mod = `(module (func (export "f") (result i32) (i32.const 1)))`;

    it('calls into a closed module fail with ExitError carrying the exit code', async () => {
      const r = runtimeFor(engine);
      const m = await r.instantiate(await wat(mod));
      const f = m.exportedFunction('f')!;
      await m.closeWithExitCode(3);
      expect(m.isClosed()).toBe(true);
      const err = (() => {
        try {
          f.call();
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ExitError);
      expect((err as ExitError).exitCode).toBe(3);
      expect((err as Error).message).toBe('module closed with exit_code(3)');
      await r.close();
    });

    it('runtime close closes every module in reverse order, once, with its exit code', async () => {
      const r = runtimeFor(engine);
      const order: string[] = [];
      const notifier = (name: string) =>
        withCloseNotifier(
          Context.background(),
          closeNotifyFunc((_c, code) => order.push(`${name}:${code}`)),
        );
      const bin = await wat(mod);
      const compiled = await r.compileModule(bin);
      const a = await r.instantiateModule(compiled, newModuleConfig().withName('a'), notifier('a'));
      const b = await r.instantiateModule(compiled, newModuleConfig().withName('b'), notifier('b'));
      await r.closeWithExitCode(7);
      await r.close();
      expect(order).toEqual(['b:7', 'a:7']);
      expect(a.isClosed() && b.isClosed()).toBe(true);
      await expect(r.compileModule(bin)).rejects.toThrow('runtime closed with exit_code(7)');
    });

    it('start functions run after instantiation; a trap there rejects with the trap as cause and closes the module', async () => {
      const r = runtimeFor(engine);
      const ok = await r.instantiate(
        await wat(`(module (global $g (export "g") (mut i32) (i32.const 0)) (func (export "_start") (global.set $g (i32.const 9))))`),
      );
      expect(ok.exportedGlobal('g')!.get()).toBe(9n);
      const err: unknown = await r
        .instantiateWithConfig(
          await wat(`(module (func (export "boot") unreachable))`),
          newModuleConfig().withName('bad').withStartFunctions('boot'),
        )
        .catch((e: unknown) => e);
      expect((err as Error).message).toContain('module[bad] function[boot] failed: wasm error: unreachable');
      expect((err as Error).cause).toBeInstanceOf(WasmRuntimeError);
      expect(r.module('bad')).toBeUndefined();
      await r.close();
    });

    it('the wasm start section runs during instantiation', async () => {
      const r = runtimeFor(engine);
      const m = await r.instantiate(
        await wat(`(module (global $g (export "g") (mut i32) (i32.const 0)) (func $s (global.set $g (i32.const 4))) (start $s))`),
      );
      expect(m.exportedGlobal('g')!.get()).toBe(4n);
      await r.close();
    });
  });

  describe('memory', () => {
    it('reads and writes little-endian values, with bounds checks', async () => {
      const r = runtimeFor(engine);
      const m = await r.instantiate(
        await wat(`(module (memory (export "memory") 1 3) (func (export "load") (param i32) (result i64) (i64.load (local.get 0))))`),
      );
      const mem = m.memory()!;
      expect(mem.size()).toBe(65536);
      expect(mem.writeUint64Le(16, 0x0102030405060708n)).toBe(true);
      expect(mem.readUint32Le(16)).toBe(0x05060708);
      expect(mem.readUint16Le(20)).toBe(0x0304);
      expect(mem.readByte(23)).toBe(1);
      expect(m.exportedFunction('load')!.call(16)).toEqual([0x0102030405060708n]);
      expect(mem.writeFloat64Le(32, 1.5)).toBe(true);
      expect(mem.readFloat64Le(32)).toBe(1.5);
      expect(mem.writeUint32Le(65533, 1)).toBe(false);
      expect(mem.readUint32Le(65533)).toBeUndefined();
      expect(mem.read(65535, 1)!.length).toBe(1);
      expect(mem.read(65535, 2)).toBeUndefined();
      expect(mem.writeString(100, 'héllo')).toBe(true);
      expect(new TextDecoder().decode(mem.read(100, 6))).toBe('héllo');
      await r.close();
    });

    it('grows up to the maximum and keeps views valid after growth', async () => {
      const r = runtimeFor(engine);
      const m = await r.instantiate(
        await wat(
          `(module (memory (export "memory") 1 3) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))) (func (export "size") (result i32) (memory.size)))`,
        ),
      );
      const mem = m.memory()!;
      expect(mem.grow(1)).toBe(1);
      expect(mem.size()).toBe(2 * 65536);
      expect(m.exportedFunction('grow')!.call(1)).toEqual([2n]);
      expect(m.exportedFunction('grow')!.call(1)).toEqual([encodeI32(-1)]);
      expect(mem.grow(1)).toBeUndefined();
      expect(mem.grow(0)).toBe(3);
      expect(mem.writeByte(3 * 65536 - 1, 7)).toBe(true);
      expect(mem.read(3 * 65536 - 1, 1)![0]).toBe(7);
      expect(m.exportedFunction('size')!.call()).toEqual([3n]);
      await r.close();
    });

    it('memory() returns the memory even when it is not exported', async () => {
      const r = runtimeFor(engine);
      const m = await r.instantiate(await wat(`(module (memory 1) (data (i32.const 0) "hi"))`));
      expect(new TextDecoder().decode(m.memory()!.read(0, 2))).toBe('hi');
      await r.close();
    });

    it('withMemoryLimitPages clamps the maximum and rejects a minimum over the limit', async () => {
      const r = runtimeFor(engine, (c) => c.withMemoryLimitPages(2));
      const m = await r.instantiate(await wat(`(module (memory (export "memory") 1 10))`));
      expect(m.memory()!.grow(1)).toBe(1);
      expect(m.memory()!.grow(1)).toBeUndefined();
      await expect(r.instantiate(await wat(`(module (memory 3))`))).rejects.toThrow(/over limit/);
      await r.close();
    });
    it('withMemoryCapacityFromMax rejects an encoded maximum over the limit instead of clamping it', async () => {
      const r = runtimeFor(engine, (c) => c.withMemoryLimitPages(2).withMemoryCapacityFromMax(true));
      await expect(r.instantiate(await wat(`(module (memory 1 10))`))).rejects.toThrow('memory[0] max 10 pages over limit of 2 pages');
      const m = await r.instantiate(await wat(`(module (memory (export "memory") 1 2))`));
      expect(m.memory()!.grow(1)).toBe(1);
      await r.close();
    });
  });

  describe('globals and InternalModule', () => {
    it('exposes every global by index, exported or not, with raw bits', async () => {
      const r = runtimeFor(engine);
      const m = (await r.instantiate(
        await wat(
          `(module (global i32 (i32.const -1)) (global (export "f") f64 (f64.const 2.5)) (global (export "m") (mut i64) (i64.const 5)) (global f32 (f32.const -0)))`,
        ),
      )) as InternalModule;
      expect(m.numGlobal()).toBe(4);
      expect(m.global(0).get()).toBe(0xffffffffn);
      expect(decodeF64(m.global(1).get())).toBe(2.5);
      expect(m.global(3).get()).toBe(encodeF32(-0));
      const g = m.exportedGlobal('m') as import('../../src/api.js').MutableGlobal;
      g.set(encodeI64(-2n));
      expect(m.global(2).get()).toBe(0xfffffffffffffffen);
      expect(() => m.global(4)).toThrow(RangeError);
      await r.close();
    });
  });

  describe('calls and errors', () => {
    it('preserves NaN payload bits through params, results and globals', async () => {
      const r = runtimeFor(engine);
      const m = await r.instantiate(
        await wat(
          `(module (func (export "id32") (param f32) (result f32) (local.get 0)) (func (export "id64") (param f64) (result f64) (local.get 0)))`,
        ),
      );
      expect(m.exportedFunction('id32')!.call(0x7fa00001n)).toEqual([0x7fa00001n]);
      expect(m.exportedFunction('id64')!.call(0x7ff4000000000001n)).toEqual([0x7ff4000000000001n]);
      expect(m.exportedFunction('id64')!.call(encodeF64(-0))).toEqual([0x8000000000000000n]);
      await r.close();
    });

    it('a wrong parameter count or a short stack is an error', async () => {
      const r = runtimeFor(engine);
      const m = await r.instantiate(await wat(`(module (func (export "f") (param i32 i32) (result i32) (local.get 0)))`));
      expect(() => m.exportedFunction('f')!.call(1)).toThrow('expected 2 params, but passed 1');
      expect(() => m.exportedFunction('f')!.callWithStack(new BigUint64Array(1))).toThrow('need 2 params, but stack size is 1');
      const stack = new BigUint64Array([5n, 6n]);
      m.exportedFunction('f')!.callWithStack(stack);
      expect(stack[0]).toBe(5n);
      await r.close();
    });

    it('a trap is a WasmRuntimeError with the wasm stack trace named from the name section', async () => {
      const r = runtimeFor(engine);
      const m = await r.instantiate(
        await wat(`(module $calc (func $div (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
          (func $run (export "run") (param i32) (result i32) (call $div (i32.const 1) (local.get 0))))`),
      );
      let err: unknown;
      try {
        m.exportedFunction('run')!.call(0);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WasmRuntimeError);
      expect((err as WasmRuntimeError).trap).toBe('integer divide by zero');
      expect((err as Error).message).toBe(
        'wasm error: integer divide by zero\nwasm stack trace:\n\tcalc.div(i32,i32) i32\n\tcalc.run(i32) i32',
      );
      expect(m.exportedFunction('run')!.call(1)).toEqual([1n]);
      await r.close();
    });

    it('infinite recursion is a stack overflow trap, and the runtime stays usable', async () => {
      const r = runtimeFor(engine);
      const m = await r.instantiate(
        await wat(
          `(module (func $f (export "f") (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1))) (func (export "ok") (result i32) (i32.const 7)))`,
        ),
      );
      let err: unknown;
      try {
        m.exportedFunction('f')!.call(1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WasmRuntimeError);
      expect((err as WasmRuntimeError).trap).toBe('stack overflow');
      expect(m.exportedFunction('ok')!.call()).toEqual([7n]);
      await r.close();
    });
  });

  describe('compile errors', () => {
    it('rejects garbage with a CompileError that names the problem and offset', async () => {
      const r = runtimeFor(engine);
      const err: unknown = await r.compileModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CompileError);
      expect((err as Error).message).toMatch(/version/);
      await r.close();
    });

    it('rejects a type mismatch naming the function index', async () => {
      const r = runtimeFor(engine);
      // (func (result i32) (i64.const 0)) assembled by hand: wabt refuses invalid text.
      const bin = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0, 10, 6, 1, 4, 0, 0x42, 0, 0x0b]);
      const err: unknown = await r.compileModule(bin).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CompileError);
      expect((err as CompileError).functionIndex).toBe(0);
      expect((err as Error).message).toMatch(/type mismatch/);
      await r.close();
    });
  });
});

describe('hostile binaries', () => {
  const header = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  const cases: Array<[string, number[]]> = [
    ['a type count claiming 2^32 entries', [...header, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ['a truncated section', [...header, 1, 10, 1, 0x60]],
    ['an 11-byte LEB128', [...header, 1, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]],
    ['a section size past the end', [...header, 10, 0xff, 0xff, 0xff, 0xff, 0x07, 0]],
    [
      'a function count claiming 2^32 - 1 locals groups',
      [...header, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 8, 1, 6, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f],
    ],
  ];
  it.each(cases)('rejects %s with a CompileError', async (_name, bytes) => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const err: unknown = await r.compileModule(new Uint8Array(bytes)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompileError);
    expect((err as CompileError).offset).toBeGreaterThanOrEqual(8);
    await r.close();
  });
});
