/**
 * Async WASI (`instantiate(r, ctx, { asyncIO: true })`), run per engine: `poll_oneoff` sleeps and
 * waits for input, and `fd_read` on a stream that can block, without blocking the event loop — timers
 * fire while the guest waits, a slow pipe's bytes arrive, and a poll on stdin honours its timeout.
 * The compiler engine needs JS Promise Integration (Node ≥ 24) for async host functions.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, constants as fsc, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newModuleConfig, type Runtime } from '../../src/index.js';
import * as wasi from '../../src/wasi.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const JSPI = typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function';

const GUEST = `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; A relative monotonic clock subscription at 0: userdata 7, timeout ns.
  (func $clock (param $at i32) (param $userdata i64) (param $ns i64)
    (i64.store (local.get $at) (local.get $userdata))
    (i32.store8 offset=8 (local.get $at) (i32.const 0))
    (i32.store offset=16 (local.get $at) (i32.const 1))
    (i64.store offset=24 (local.get $at) (local.get $ns))
    (i64.store offset=32 (local.get $at) (i64.const 0))
    (i32.store16 offset=40 (local.get $at) (i32.const 0)))
  ;; Sleeps ns through poll_oneoff; returns the errno.
  (func (export "sleep") (param $ns i64) (result i32)
    (call $clock (i32.const 0) (i64.const 7) (local.get $ns))
    (call $poll (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 2048)))
  ;; Waits for stdin or a timeout: the userdata of the first event (1 clock, 2 stdin), or -errno.
  (func (export "poll_stdin") (param $ns i64) (result i32) (local $e i32)
    (call $clock (i32.const 0) (i64.const 1) (local.get $ns))
    (i64.store (i32.const 48) (i64.const 2))
    (i32.store8 (i32.const 56) (i32.const 1))
    (i32.store (i32.const 64) (i32.const 0))
    (local.set $e (call $poll (i32.const 0) (i32.const 1024) (i32.const 2) (i32.const 2048)))
    (if (result i32) (local.get $e)
      (then (i32.sub (i32.const 0) (local.get $e)))
      (else (i32.wrap_i64 (i64.load (i32.const 1024))))))
  ;; Reads up to len bytes of stdin into 4096: the count, or -errno.
  (func (export "read") (param $len i32) (result i32) (local $e i32)
    (i32.store (i32.const 3000) (i32.const 4096))
    (i32.store (i32.const 3004) (local.get $len))
    (local.set $e (call $read (i32.const 0) (i32.const 3000) (i32.const 1) (i32.const 3008)))
    (if (result i32) (local.get $e) (then (i32.sub (i32.const 0) (local.get $e))) (else (i32.load (i32.const 3008))))))`;

const dir = mkdtempSync(join(tmpdir(), 'wasmscope-async-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fifoCount = 0;

/** A named pipe: its read end (non-blocking, so opening does not wait) and a way to write to it. */
function fifo(): { readFd: number; write: (s: string) => void; close: () => void } {
  const path = join(dir, `fifo${fifoCount++}`);
  execFileSync('mkfifo', [path]);
  const readFd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  const writeFd = openSync(path, fsc.O_WRONLY);
  return { readFd, write: (s) => void writeSync(writeFd, s), close: () => (closeSync(writeFd), closeSync(readFd)) };
}

async function setup(r: Runtime, stdin?: number) {
  await wasi.instantiate(r, undefined, { asyncIO: true });
  let config = newModuleConfig().withName('guest').withSysNanosleep();
  if (stdin !== undefined) config = config.withStdin(stdin);
  return r.instantiateWithConfig(await wat(GUEST), config);
}

/** Counts 1 ms timer ticks while `p` runs. */
async function ticksDuring<T>(p: () => Promise<T>): Promise<{ value: T; ticks: number }> {
  let ticks = 0;
  const t = setInterval(() => ticks++, 1);
  try {
    return { value: await p(), ticks };
  } finally {
    clearInterval(t);
  }
}

for (const engine of engines) {
  const supported = engine.name === 'interpreter' || JSPI;
  describe.skipIf(!supported)(`async WASI on the ${engine.name}`, () => {
    it('poll_oneoff sleeps on a timer: timers keep firing while the guest sleeps', async () => {
      const r = runtimeFor(engine);
      try {
        const m = await setup(r);
        const { value, ticks } = await ticksDuring(() => m.exportedFunction('sleep')!.callAsync(40_000_000n));
        expect(value).toEqual([0n]);
        expect(ticks).toBeGreaterThan(0);
      } finally {
        await r.close();
      }
    });

    it('fd_read of a slow pipe returns the bytes written while the guest waits', async () => {
      const r = runtimeFor(engine);
      const pipe = fifo();
      try {
        const m = await setup(r, pipe.readFd);
        setTimeout(() => pipe.write('hello'), 20);
        const [n] = await m.exportedFunction('read')!.callAsync(100);
        expect(n).toBe(5n);
        expect(new TextDecoder().decode(m.memory()!.read(4096, 5))).toBe('hello');
      } finally {
        await r.close();
        pipe.close();
      }
    });

    it('poll_oneoff on stdin honours its timeout when no input comes, and reports input that does', async () => {
      const r = runtimeFor(engine);
      const pipe = fifo();
      try {
        const m = await setup(r, pipe.readFd);
        const started = performance.now();
        expect(await m.exportedFunction('poll_stdin')!.callAsync(30_000_000n)).toEqual([1n]);
        expect(performance.now() - started).toBeGreaterThanOrEqual(25);
        setTimeout(() => pipe.write('x'), 10);
        expect(await m.exportedFunction('poll_stdin')!.callAsync(10_000_000_000n)).toEqual([2n]);
        expect(await m.exportedFunction('read')!.callAsync(10)).toEqual([1n]);
      } finally {
        await r.close();
        pipe.close();
      }
    });
  });
}
