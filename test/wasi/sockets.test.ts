/**
 * WASI sockets on pre-opened TCP listeners, on every engine.
 *
 * - A C guest (examples/http-server/server.c, wasi-libc's accept/recv/send/poll) serves HTTP to
 *   Node clients on 127.0.0.1 through `wasmscope run --listen`: 100 sequential and 20 concurrent
 *   requests with bodies up to 32 KiB come back byte for byte, in the blocking and the poll() mode;
 *   a client that goes away mid-request (end of stream, or a reset) gives the guest an errno and
 *   the server goes on.
 * - Async WASI: the same guest as an async call in this process (the event loop serves the clients).
 * - The WASI functions' own answers, from a hand-written guest: EAGAIN from a non-blocking accept,
 *   ENOTSOCK/ENOTCONN/EBADF/EINVAL, the socket filetype, a listener that cannot bind, and a blocking
 *   accept stopped by a context deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Context, ExitError, newModuleConfig } from '../../src/index.js';
import { tcpListeners } from '../../src/experimental.js';
import * as wasi from '../../src/wasi.js';
import { engines, runtimeFor, thrown, wat } from '../helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const serverWasm = join(root, 'examples/http-server/server.wasm');
const hasJspi = typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A POST of `body` to `path`; resolves with the response body. */
function post(port: number, path: string, body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** What the server answers to a POST of `body` to `path`. */
const expected = (path: string, body: Buffer): Buffer => Buffer.concat([Buffer.from(`POST ${path} ${body.length}\n`), body]);

/** A body of `n` bytes that differ from request to request. */
function bodyOf(i: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let k = 0; k < n; k++) b[k] = 32 + ((i * 7 + k * 13) % 95);
  return b;
}

/** Opens a connection, sends `partial`, then ends it (`reset`: resets it) before the request is complete. */
function disconnectMidRequest(port: number, partial: string, reset: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(partial, () => {
        setTimeout(() => {
          if (reset) s.resetAndDestroy();
          else s.end();
        }, 50);
      });
    });
    s.on('error', reject);
    s.on('close', () => resolve());
  });
}

async function waitForServer(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not listen');
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Starts `wasmscope run --listen` with the server guest; `connections` is how many it serves before exiting. */
async function startServer(engine: string, mode: string[], max: number) {
  const port = await freePort();
  const args = ['--import', 'tsx', join(root, 'src/cli/bin.ts'), 'run'];
  if (engine === 'interpreter') args.push('--interpreter');
  args.push('--listen', `127.0.0.1:${port}`, serverWasm, ...mode, '--max', String(max));
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // A connection that only probes readiness is one the server sees end: it counts as a gone client.
  await waitForServer(port, child);
  return { port, exited, stderr: () => stderr };
}

describe.each(engines)('HTTP over WASI sockets through wasmscope run --listen, $name engine', (engine) => {
  it('blocking accept/recv/send: 100 sequential and 20 concurrent requests, no byte lost; peers that go away get errnos', async () => {
    const server = await startServer(engine.name, [], 121);
    for (let i = 0; i < 100; i++) {
      const body = bodyOf(i, (i * 331) % 32768);
      expect((await post(server.port, `/seq/${i}`, body)).equals(expected(`/seq/${i}`, body))).toBe(true);
    }
    const bodies = Array.from({ length: 20 }, (_, i) => bodyOf(1000 + i, 1000 + i * 1500));
    const answers = await Promise.all(bodies.map((b, i) => post(server.port, `/con/${i}`, b)));
    answers.forEach((a, i) => expect(a.equals(expected(`/con/${i}`, bodies[i]!))).toBe(true));
    await disconnectMidRequest(server.port, 'POST /gone HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly part', false);
    await disconnectMidRequest(server.port, 'GET /reset HTTP/1.1\r\n', true);
    const last = bodyOf(7, 10);
    expect((await post(server.port, '/after', last)).equals(expected('/after', last))).toBe(true);
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain('client gone: end of stream');
    expect(server.stderr()).toMatch(/client gone: (Connection reset by peer|end of stream)/);
    expect(server.stderr()).toContain('served 121');
  });

  it('non-blocking sockets multiplexed with poll(): 20 concurrent requests, slow and vanishing clients do not hold up the others', async () => {
    const server = await startServer(engine.name, ['--poll'], 21);
    const slow = connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve) => slow.on('connect', () => resolve()));
    slow.write('POST /slow HTTP/1.1\r\nContent-Length: 4\r\n\r\nsl');
    const bodies = Array.from({ length: 20 }, (_, i) => bodyOf(2000 + i, 500 + i * 1600));
    const answers = await Promise.all(bodies.map((b, i) => post(server.port, `/p/${i}`, b)));
    answers.forEach((a, i) => expect(a.equals(expected(`/p/${i}`, bodies[i]!))).toBe(true));
    await disconnectMidRequest(server.port, 'POST /gone HTTP/1.1\r\n', true);
    const slowAnswer = new Promise<string>((resolve) => {
      let text = '';
      slow.on('data', (c: Buffer) => (text += c.toString()));
      slow.on('end', () => resolve(text));
    });
    slow.write('ow');
    expect(await slowAnswer).toMatch(/\r\n\r\nPOST \/slow 4\nslow$/);
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain('served 21');
  });
});

describe.each(engines)('async WASI sockets in this process, $name engine', (engine) => {
  it.skipIf(engine.name === 'compiler' && !hasJspi)(
    'the guest waits for clients as an async call while the event loop serves them',
    async () => {
      const r = runtimeFor(engine);
      await wasi.instantiate(r, undefined, { asyncIO: true });
      const stderr: string[] = [];
      const mod = await r.instantiateWithConfig(
        readFileSync(serverWasm),
        newModuleConfig()
          .withArgs('server', '--max', '12')
          .withTCPListener('127.0.0.1', 0)
          .withStderr({ write: (b: Uint8Array) => stderr.push(new TextDecoder().decode(b)) })
          .withStartFunctions(),
      );
      const { fd, port } = tcpListeners(mod)[0]!;
      expect(fd).toBe(3);
      const running = mod.exportedFunction('_start')!.callAsync();
      for (let i = 0; i < 2; i++) {
        const b = bodyOf(i, 100 * i);
        expect((await post(port, `/a/${i}`, b)).equals(expected(`/a/${i}`, b))).toBe(true);
      }
      const bodies = Array.from({ length: 10 }, (_, i) => bodyOf(3000 + i, 2000 * i));
      const answers = await Promise.all(bodies.map((b, i) => post(port, `/c/${i}`, b)));
      answers.forEach((a, i) => expect(a.equals(expected(`/c/${i}`, bodies[i]!))).toBe(true));
      await running.catch((e: unknown) => {
        if (!(e instanceof ExitError) || e.exitCode !== 0) throw e;
      });
      expect(stderr.join('')).toContain('served 12');
      await r.close();
    },
  );
});

/** A guest calling the socket functions directly (errno in, results through memory at 0). */
const SOCK_GUEST = `(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_shutdown" (func $shutdown (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $setflags (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "accept") (param i32 i32) (result i32) (call $accept (local.get 0) (local.get 1) (i32.const 0)))
  (func (export "recv") (param i32) (result i32)
    (i32.store (i32.const 16) (i32.const 64)) (i32.store (i32.const 20) (i32.const 8))
    (call $recv (local.get 0) (i32.const 16) (i32.const 1) (i32.const 0) (i32.const 4) (i32.const 8)))
  (func (export "send") (param i32) (result i32)
    (i32.store (i32.const 16) (i32.const 64)) (i32.store (i32.const 20) (i32.const 8))
    (call $send (local.get 0) (i32.const 16) (i32.const 1) (i32.const 0) (i32.const 4)))
  (func (export "shutdown") (param i32 i32) (result i32) (call $shutdown (local.get 0) (local.get 1)))
  (func (export "filetype") (param i32) (result i32)
    (drop (call $fdstat (local.get 0) (i32.const 32))) (i32.load8_u (i32.const 32)))
  (func (export "nonblock") (param i32) (result i32) (call $setflags (local.get 0) (i32.const 4)))
  (func (export "accept_read") (param i32) (result i32)
    (drop (call $accept (local.get 0) (i32.const 0) (i32.const 0)))
    (i32.store (i32.const 16) (i32.const 64)) (i32.store (i32.const 20) (i32.const 8))
    (call $read (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 4))))`;

const ERRNO = { SUCCESS: 0n, AGAIN: 6n, BADF: 8n, INVAL: 28n, NOTCONN: 53n, NOTSOCK: 57n };

describe.each(engines)('WASI socket functions, $name engine', (engine) => {
  it('errnos of the socket functions, the socket filetype and a non-blocking accept', async () => {
    const r = runtimeFor(engine);
    await wasi.instantiate(r);
    const mod = await r.instantiateWithConfig(
      await wat(SOCK_GUEST),
      newModuleConfig().withTCPListener('127.0.0.1', 0).withTCPListener('127.0.0.1', 0),
    );
    const fn = (name: string) => mod.exportedFunction(name)!;
    const ls = tcpListeners(mod);
    expect(ls.map((l) => l.fd)).toEqual([3, 4]);
    expect(ls[0]!.port).not.toBe(ls[1]!.port);
    expect(fn('filetype').call(3)).toEqual([6n]); // SOCKET_STREAM
    expect(fn('accept').call(1, 0)).toEqual([ERRNO.NOTSOCK]);
    expect(fn('accept').call(9, 0)).toEqual([ERRNO.BADF]);
    expect(fn('accept').call(3, 1)).toEqual([ERRNO.INVAL]);
    expect(fn('recv').call(3)).toEqual([ERRNO.NOTCONN]);
    expect(fn('send').call(2)).toEqual([ERRNO.NOTSOCK]);
    expect(fn('shutdown').call(3, 1)).toEqual([ERRNO.NOTCONN]);
    expect(fn('nonblock').call(3)).toEqual([ERRNO.SUCCESS]);
    expect(fn('accept').call(3, 0)).toEqual([ERRNO.AGAIN]);
    await r.close();
  });

  it('a listener that cannot bind fails the instantiation, naming the address', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const r = runtimeFor(engine);
    await wasi.instantiate(r);
    await expect(r.instantiateWithConfig(await wat(SOCK_GUEST), newModuleConfig().withTCPListener('127.0.0.1', port))).rejects.toThrow(
      `listen tcp 127.0.0.1:${port}: EADDRINUSE`,
    );
    await r.close();
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  });

  it('a blocking fd_read of a silent peer gives up when the context deadline passes', async () => {
    const r = runtimeFor(engine, (c) => c.withCloseOnContextDone(true));
    await wasi.instantiate(r);
    const mod = await r.instantiateWithConfig(await wat(SOCK_GUEST), newModuleConfig().withTCPListener('127.0.0.1', 0));
    const { port } = tcpListeners(mod)[0]!;
    // A peer on another thread (this one blocks in the guest): connects, sends nothing, stays.
    const peer = new Worker(
      `const s = require('node:net').connect(${port}, '127.0.0.1'); require('node:worker_threads').parentPort.once('message', () => s.destroy());`,
      { eval: true },
    );
    const e = thrown(() => mod.exportedFunction('accept_read')!.callWithContext(Context.background().withTimeout(500), 3));
    peer.postMessage('done');
    await peer.terminate();
    expect(e).toBeInstanceOf(ExitError);
    expect((e as ExitError).exitCode).toBe(0xefffffff);
    await r.close();
  });

  it('a blocking accept gives up when the context deadline passes (withCloseOnContextDone)', async () => {
    const r = runtimeFor(engine, (c) => c.withCloseOnContextDone(true));
    await wasi.instantiate(r);
    const mod = await r.instantiateWithConfig(await wat(SOCK_GUEST), newModuleConfig().withTCPListener('127.0.0.1', 0));
    const t0 = performance.now();
    const e = thrown(() => mod.exportedFunction('accept')!.callWithContext(Context.background().withTimeout(200), 3, 0));
    expect(e).toBeInstanceOf(ExitError);
    expect((e as ExitError).exitCode).toBe(0xefffffff);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(mod.isClosed()).toBe(true);
    await r.close();
  });
});
