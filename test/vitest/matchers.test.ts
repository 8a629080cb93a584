/**
 * The `wasmscope/vitest` matchers on every engine: each passes when it should, and fails — with
 * expected vs actual, the wasm stack trace (DWARF lines when the guest has them) and the import
 * name — when it should not (negative cases assert the failure messages).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { Context, newModuleConfig, type Runtime } from '../../src/index.js';
import * as wasi from '../../src/wasi.js';
import { callTraceOf, matchers, mockImports, withCallTrace, withImportTracking } from '../../src/vitest.js';
import { engines, runtimeFor, wat, type EngineCase } from '../helpers.js';

expect.extend(matchers);

const GUEST = `(module
  (import "env" "log" (func $log (param i32)))
  (import "env" "twice" (func $twice (param i64) (result i64)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello")
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $crash (export "crash") unreachable)
  (func (export "deep") (call $crash))
  (func (export "run") (param i32) (call $log (local.get 0)) (call $log (i32.add (local.get 0) (i32.const 1))))
  (func (export "double") (param i64) (result i64) (call $twice (local.get 0)))
  (func (export "quit") (param i32) (call $exit (local.get 0))))`;

const TRAP_DWARF = fileURLToPath(new URL('../fixtures/dwarf/trap.dwarf5.wasm', import.meta.url));

/** A guest with mocked `env` (log records, twice doubles) and real WASI, compiled with call tracing. */
async function setup(e: EngineCase, traced = false) {
  const r: Runtime = runtimeFor(e);
  let ctx = withImportTracking(Context.background());
  if (traced) ctx = withCallTrace(ctx);
  await wasi.instantiate(r, ctx);
  const compiled = await r.compileModule(await wat(GUEST), ctx);
  const log = vi.fn();
  const mod = await mockImports(compiled, { env: { log, twice: (x: bigint) => x * 2n } }).instantiate(
    r,
    newModuleConfig().withName('guest'),
    ctx,
  );
  return { r, mod, log };
}

function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the assertion passed');
}

for (const e of engines) {
  describe(`matchers (${e.name})`, () => {
    it('toTrap checks the trap text, not just that the call threw', async () => {
      const { r, mod } = await setup(e);
      const div = mod.exportedFunction('div')!;
      expect(() => div.call(1, 0)).toTrap('integer divide by zero');
      expect(() => div.call(1, 0)).toTrap(/divide/);
      expect(() => div.call(1, 0)).toTrap();
      expect(() => div.call(4, 2)).not.toTrap();
      expect(() => mod.exportedFunction('crash')!.call()).not.toTrap('integer divide by zero');
      await r.close();
    });

    it('toTrap fails with expected vs actual trap and the wasm stack trace', async () => {
      const { r, mod } = await setup(e);
      const msg = failure(() => expect(() => mod.exportedFunction('deep')!.call()).toTrap('integer divide by zero'));
      expect(msg).toBe(
        'expected the trap "integer divide by zero", but it trapped:\n  wasm error: unreachable\n  wasm stack trace:\n  \t.crash()\n  \t.$6()',
      );
      expect(failure(() => expect(() => mod.exportedFunction('div')!.call(4, 2)).toTrap())).toBe('expected a trap, but it returned [2n]');
      expect(failure(() => expect(() => mod.exportedFunction('div')!.call(1, 0)).not.toTrap())).toMatch(
        /^expected no trap, but it trapped:\n {2}wasm error: integer divide by zero\n {2}wasm stack trace:\n {2}\t\.\$4\(i32,i32\) i32$/,
      );
      expect(failure(() => expect(() => 1).toTrap())).toBe('expected a trap, but it returned 1');
      expect(failure(() => expect(42).toTrap())).toBe('toTrap expects a function to call (or an error, with `.rejects`), got 42');
      expect(failure(() => expect(() => Promise.resolve()).toTrap())).toContain('use `await expect(promise).rejects.toTrap(…)`');
      await r.close();
    });

    it('toTrap failures show DWARF source lines when the guest has them', async () => {
      const r = runtimeFor(e);
      await wasi.instantiate(r);
      const bytes = readFileSync(TRAP_DWARF);
      const start = (): Promise<unknown> => r.instantiateWithConfig(bytes, newModuleConfig());
      await expect(start()).rejects.toTrap('integer divide by zero');
      let err: unknown;
      await start().catch((x: unknown) => (err = x));
      const msg = failure(() => expect(err).toTrap('unreachable'));
      expect(msg).toMatch(
        /^expected the trap "unreachable", but it trapped:\n {2}module\[\] function\[_start\] failed: wasm error: integer divide by zero\n {2}wasm stack trace:\n {2}\t.*divide/,
      );
      expect(msg).toMatch(/trap\.c:4:\d+/);
      await r.close();
    });

    it('toExitWith passes on ExitError with the code, and fails naming what happened instead', async () => {
      const { r, mod } = await setup(e);
      const quit = mod.exportedFunction('quit')!;
      expect(() => quit.call(3)).toExitWith(3);
      expect(failure(() => expect(() => quit.call(3)).toExitWith(4))).toBe('expected exit code 4, but it exited with code 3');
      const fresh = await setup(e);
      expect(failure(() => expect(() => fresh.mod.exportedFunction('crash')!.call()).toExitWith(0))).toBe(
        'expected exit code 0, but it trapped:\n  wasm error: unreachable\n  wasm stack trace:\n  \t.crash()',
      );
      expect(failure(() => expect(() => fresh.mod.exportedFunction('fib')!.call(3)).toExitWith(0))).toBe(
        'expected exit code 0, but it returned [2n]',
      );
      expect(() => fresh.mod.exportedFunction('fib')!.call(3)).not.toExitWith(0);
      expect(failure(() => expect(fresh.mod).toExitWith(0))).toBe(
        'expected exit code 0, but module[guest] is still open (its start function returned)',
      );
      await fresh.mod.closeWithExitCode(9);
      expect(fresh.mod).toExitWith(9);
      expect(failure(() => expect(fresh.mod).not.toExitWith(9))).toBe('expected no exit with code 9, but it exited with code 9');
      await r.close();
      await fresh.r.close();
    });

    it('toHaveMemory compares bytes or UTF-8 text at an offset, and fails with both hex dumps and the first difference', async () => {
      const { r, mod } = await setup(e);
      expect(mod).toHaveMemory(16, 'hello');
      expect(mod).toHaveMemory(16, [0x68, 0x65]);
      expect(mod.memory()).toHaveMemory(17, new Uint8Array([0x65, 0x6c]));
      expect(mod).not.toHaveMemory(16, 'help');
      expect(failure(() => expect(mod).toHaveMemory(16, 'help'))).toBe(
        'expected memory [16, 20) (0x10) to hold\n  68 65 6c 70 (as text: "help")\nbut it holds\n  68 65 6c 6c (as text: "hell")\nfirst difference at 19 (0x13): expected 0x70, got 0x6c',
      );
      expect(failure(() => expect(mod).toHaveMemory(65535, [1, 2]))).toBe(
        'expected memory [65535, 65537) (0xffff) to hold bytes [01 02], but it is outside memory of 65536 bytes',
      );
      expect(failure(() => expect(mod).not.toHaveMemory(16, 'he'))).toBe(
        'expected memory [16, 18) (0x10) not to hold bytes [68 65] (as text: "he"), but it does',
      );
      await r.close();
    });

    it('toHaveCalledImport matches natural args (asymmetric matchers too) and lists the calls when it fails', async () => {
      const { r, mod, log } = await setup(e);
      mod.exportedFunction('run')!.call(41);
      expect(log).toHaveBeenCalledWith(41);
      expect(mod).toHaveCalledImport('env.log');
      expect(mod).toHaveCalledImport('env.log', 42);
      expect(mod).toHaveCalledImport('env.log', expect.any(Number));
      expect(mod).not.toHaveCalledImport('env.twice');
      expect(mod.exportedFunction('double')!.call(-4n)).toEqual([BigInt.asUintN(64, -8n)]);
      expect(mod).toHaveCalledImport('env.twice', -4n);
      const wrongArgs = failure(() => expect(mod).toHaveCalledImport('env.log', 7));
      expect(wrongArgs).toMatch(
        /^expected module\[guest\] to call env\.log\(7\), but env\.log was called 2 times with other arguments:\n {2}#1 env\.log\(41\)\n {2}#2 env\.log\(42\)\nwasm stack trace of the last call:\n\t\.\$\d+\(i32\)$/,
      );
      expect(failure(() => expect(mod).toHaveCalledImport('wasi_snapshot_preview1.proc_exit'))).toBe(
        'expected module[guest] to call wasi_snapshot_preview1.proc_exit, but wasi_snapshot_preview1.proc_exit was never called (it called env.log, env.twice)',
      );
      expect(failure(() => expect(mod).not.toHaveCalledImport('env.twice', -4n))).toMatch(
        /^expected module\[guest\] not to call env\.twice\(-4n\), but it did \(call #3 env\.twice\(-4n\) → -8n\)\nwasm stack trace of that call:\n\t\.\$\d+\(i64\) i64$/,
      );
      await r.close();
    });

    it('toHaveCalledImport says how to get import calls recorded for an untracked module', async () => {
      const r = runtimeFor(e);
      const m = await r.instantiate(await wat('(module (func (export "f")))'));
      expect(failure(() => expect(m).toHaveCalledImport('env.log'))).toContain(
        'but no import calls are recorded for it: instantiate it through mockImports()',
      );
      await r.close();
    });

    it('toMatchCallTrace fails saying how to enable tracing when the module was not traced', async () => {
      const { r, mod } = await setup(e);
      expect(failure(() => expect(mod).toMatchCallTrace())).toBe(
        'toMatchCallTrace: no call trace for Module[guest]: compile the module with withCallTrace(ctx), or run the test with wasmTest.override({ callTrace: true })',
      );
      await r.close();
    });
  });
}

describe('call traces', () => {
  async function trace(e: EngineCase): Promise<string | undefined> {
    const { r, mod } = await setup(e, true);
    mod.exportedFunction('fib')!.call(3);
    mod.exportedFunction('run')!.call(1);
    mod.exportedFunction('double')!.call(5n);
    try {
      mod.exportedFunction('crash')!.call();
    } catch {
      // the trap is part of the trace
    }
    const t = callTraceOf(mod);
    await r.close();
    return t;
  }

  it('are the same text on both engines, and match the snapshot', async () => {
    const texts = await Promise.all(engines.map(trace));
    for (const t of texts) expect(t).toBe(texts[0]);
    expect(texts[0]).toBe(
      [
        'fib(3) → 2',
        '  fib(2) → 1',
        '    fib(1) → 1',
        '    fib(0) → 0',
        '  fib(1) → 1',
        'run(1)',
        '  env.log(1)',
        '  env.log(2)',
        'double(5n) → 10n',
        '  env.twice(5n) → 10n',
        'crash() ✗ wasm error: unreachable',
      ].join('\n'),
    );
    const { r, mod } = await setup(engines[0]!, true);
    mod.exportedFunction('fib')!.call(4);
    expect(mod).toMatchCallTrace();
    await r.close();
  });
});
