/**
 * wasmscope/emscripten: ONE table of cases, run on every engine, with a guest shaped like emcc's
 * setjmp/longjmp output (test/fixtures/emscripten/sjlj.wat).
 *
 * Semantics fixed here (both engines): `instantiateForModule` gives `env` exactly the Emscripten
 * functions the guest imports, each `invoke_*` with the import's signature. An invoke calls table 0
 * at its first argument with the rest; a longjmp out of it restores the C stack pointer and becomes
 * `setThrew(1, 0)` (the guest's landing pad sees `__THREW__`); a trap is rethrown after the stack
 * pointer is restored; `proc_exit` ends the call as an `ExitError`; a null entry or another
 * signature traps as `call_indirect` would; missing guest exports are named.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Module } from '../../src/api.js';
import { ExitError, WasmRuntimeError, newModuleConfig, type Runtime } from '../../src/index.js';
import { instantiate, instantiateForModule, newFunctionExporterForModule } from '../../src/emscripten.js';
import * as wasi from '../../src/wasi.js';
import { engines, runtimeFor, thrown, wat } from '../helpers.js';

let sjlj: Uint8Array;
beforeAll(async () => {
  sjlj = await wat(readFileSync(new URL('../fixtures/emscripten/sjlj.wat', import.meta.url), 'utf8'));
});

interface Case {
  readonly name: string;
  readonly run: (mod: Module, r: Runtime) => void;
}

const trapOf = (fn: () => unknown): string | undefined => {
  const e = thrown(fn);
  return e instanceof WasmRuntimeError ? e.trap : String(e);
};

const cases: Case[] = [
  {
    name: 'no longjmp: the invoked function returns normally and the landing pad is not taken',
    run(mod) {
      const sp = mod.exportedFunction('stack_pointer')!.call();
      expect(mod.exportedFunction('add_via')!.call(40, 2)).toEqual([42n]);
      expect(mod.exportedFunction('threw')!.call()).toEqual([0n]);
      expect(mod.exportedFunction('stack_pointer')!.call()).toEqual(sp);
    },
  },
  {
    name: 'a longjmp from frames deep becomes setThrew, the stack pointer is restored, the guest goes on',
    run(mod) {
      const sp = mod.exportedFunction('stack_pointer')!.call();
      expect(mod.exportedFunction('run')!.call(5)).toEqual([7n]);
      expect(mod.exportedFunction('stack_pointer')!.call()).toEqual(sp);
      expect(mod.exportedFunction('run')!.call(0)).toEqual([7n]);
      expect(mod.exportedFunction('run')!.call(200)).toEqual([7n]);
      expect(mod.exportedFunction('stack_pointer')!.call()).toEqual(sp);
      expect(mod.exportedFunction('threw')!.call()).toEqual([0n]);
    },
  },
  {
    name: 'a trap in the invoked function is rethrown with its frames, after the stack pointer is restored',
    run(mod) {
      const sp = mod.exportedFunction('stack_pointer')!.call();
      const e = thrown(() => mod.exportedFunction('call_via')!.call(3));
      expect(e).toBeInstanceOf(WasmRuntimeError);
      expect((e as WasmRuntimeError).trap).toBe('unreachable');
      expect((e as Error).message).toContain('.trapper()');
      expect(mod.exportedFunction('stack_pointer')!.call()).toEqual(sp);
    },
  },
  {
    name: 'proc_exit in the invoked function ends the call with its exit code',
    run(mod) {
      const e = thrown(() => mod.exportedFunction('call_via')!.call(4));
      expect(e).toBeInstanceOf(ExitError);
      expect((e as ExitError).exitCode).toBe(3);
      expect(mod.isClosed()).toBe(true);
    },
  },
  {
    name: 'a null entry, an index past the table and another signature trap as call_indirect would',
    run(mod) {
      expect(trapOf(() => mod.exportedFunction('call_via')!.call(0))).toBe('invalid table access');
      expect(trapOf(() => mod.exportedFunction('call_via')!.call(99))).toBe('invalid table access');
      expect(trapOf(() => mod.exportedFunction('call_via')!.call(2))).toBe('indirect call type mismatch');
    },
  },
  {
    name: 'emscripten_notify_memory_growth is accepted',
    run(mod) {
      expect(mod.exportedFunction('call_via')!.call(5)).toEqual([]);
    },
  },
  {
    name: 'env holds exactly the Emscripten functions the guest imports, with their signatures',
    run(_mod, r) {
      const env = r.module('env')!;
      expect([...env.exportedFunctionDefinitions().keys()].sort()).toEqual([
        '_emscripten_throw_longjmp',
        'emscripten_notify_memory_growth',
        'invoke_iii',
        'invoke_v',
        'invoke_vii',
      ]);
      const iii = env.exportedFunctionDefinitions().get('invoke_iii')!;
      expect(iii.paramTypes()).toEqual([0x7f, 0x7f, 0x7f]);
      expect(iii.resultTypes()).toEqual([0x7f]);
      expect(iii.paramNames()).toEqual(['index', 'a1', 'a2']);
    },
  },
];

describe.each(engines)('wasmscope/emscripten on the $name engine', (engine) => {
  it.each(cases)('$name', async ({ run }) => {
    const r = runtimeFor(engine);
    try {
      await wasi.instantiate(r);
      const compiled = await r.compileModule(sjlj);
      await instantiateForModule(r, compiled);
      run(await r.instantiateModule(compiled, newModuleConfig()), r);
    } finally {
      await r.close();
    }
  });

  it('an invoke in a guest without the stack exports names the missing one', async () => {
    const r = runtimeFor(engine);
    const bytes = await wat(`(module (import "env" "invoke_v" (func $invoke_v (param i32)))
      (table 2 funcref) (elem (i32.const 1) $f) (func $f)
      (func (export "go") (call $invoke_v (i32.const 1))))`);
    const compiled = await r.compileModule(bytes);
    await instantiateForModule(r, compiled);
    const mod = await r.instantiateModule(compiled, newModuleConfig());
    expect(() => mod.exportedFunction('go')!.call()).toThrow('emscripten_stack_get_current not exported');
    await r.close();
  });

  it('instantiate (without a guest) gives emscripten_notify_memory_growth only; an invoke without its index is refused', async () => {
    const r = runtimeFor(engine);
    const env = await instantiate(r);
    expect([...env.exportedFunctionDefinitions().keys()]).toEqual(['emscripten_notify_memory_growth']);
    const bad = await r.compileModule(await wat('(module (import "env" "invoke_x" (func (param f64))))'));
    expect(() => newFunctionExporterForModule(bad)).toThrow('env.invoke_x: the first parameter of an invoke must be the i32 table index');
    await r.close();
  });
});
