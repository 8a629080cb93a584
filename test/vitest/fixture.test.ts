/**
 * The `wasmTest` fixture: a runtime per test (engine selectable, WASI ready, closed after the test),
 * an in-memory filesystem at `/`, stdout/stderr captured as strings, deterministic clock and random.
 */
import { describe, expect } from 'vitest';
import type { Runtime } from '../../src/index.js';
import { newSeededRandom, Oflag, type File } from '../../src/sys.js';
import { matchers, wasmTest } from '../../src/vitest.js';
import { wat } from '../helpers.js';

expect.extend(matchers);

/** Writes "out\n" to stdout, "err\n" to stderr, "hi" to /out.txt; returns random and clock words. */
const WASI_GUEST = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "out\\nerr\\nhi")
  (data (i32.const 200) "out.txt")
  (func $put (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (call $put (i32.const 1) (i32.const 100) (i32.const 4))
    (call $put (i32.const 2) (i32.const 104) (i32.const 4))
    (drop (call $open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 7) (i32.const 1) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16)))
    (call $put (i32.load (i32.const 16)) (i32.const 108) (i32.const 2)))
  (func (export "random") (result i64) (drop (call $random (i32.const 32) (i32.const 8))) (i64.load (i32.const 32)))
  (func (export "now") (result i64) (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 40))) (i64.load (i32.const 40))))`;

let previous: Runtime | undefined;

wasmTest(
  'captures stdout and stderr as strings and mounts the in-memory filesystem at /',
  async ({ runtime, stdout, stderr, fs, engine }) => {
    expect(engine).toBe('compiler');
    const mod = await runtime.instantiate(await wat(WASI_GUEST));
    expect(stdout.text).toBe('out\n');
    expect(stderr.text).toBe('err\n');
    const f = fs.openFile('out.txt', Oflag.RDONLY, 0) as File;
    const buf = new Uint8Array(8);
    expect(new TextDecoder().decode(buf.subarray(0, f.read(buf)))).toBe('hi');
    expect(mod).toHaveCalledImport('wasi_snapshot_preview1.fd_write', 1, 0, 1, 8);
    stdout.clear();
    expect(stdout.text).toBe('');
    previous = runtime;
  },
);

wasmTest('gives each test its own runtime and closes the last one after its test', async ({ runtime }) => {
  expect(previous).toBeDefined();
  expect(runtime).not.toBe(previous);
  await expect(previous!.compileModule(await wat('(module)'))).rejects.toThrow('runtime closed');
});

wasmTest('has a deterministic clock and random: the same values in every run', async ({ runtime, config }) => {
  const bin = await wat(WASI_GUEST);
  const a = await runtime.instantiateWithConfig(bin, config.withStartFunctions());
  const b = await runtime.instantiateWithConfig(bin, config.withStartFunctions());
  expect(a.exportedFunction('random')!.call()).toEqual(b.exportedFunction('random')!.call());
  // The sandboxed wall clock starts at 2022-01-01T00:00:00Z.
  expect(a.exportedFunction('now')!.call()[0]).toBe(1640995200000000000n);
  // The seed can be replaced through the config.
  const c = await runtime.instantiateWithConfig(bin, config.withStartFunctions().withRandSource(newSeededRandom(7n)));
  expect(c.exportedFunction('random')!.call()).not.toEqual(a.exportedFunction('random')!.call());
});

describe('on the interpreter', () => {
  wasmTest.override({ engine: 'interpreter' });

  wasmTest('runs the same guest with the engine chosen by override', async ({ runtime, engine, stdout }) => {
    expect(engine).toBe('interpreter');
    await runtime.instantiate(await wat(WASI_GUEST));
    expect(stdout.text).toBe('out\n');
  });
});

describe('with call tracing', () => {
  wasmTest.override({ callTrace: true });

  wasmTest('traces the calls of modules the runtime instantiates, start function included', async ({ runtime }) => {
    const mod = await runtime.instantiate(await wat(WASI_GUEST));
    mod.exportedFunction('random')!.call();
    expect(mod).toMatchCallTrace();
  });
});
