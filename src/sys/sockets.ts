/**
 * TCP sockets for WASI (`sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`, and `fd_read`,
 * `fd_write`, `poll_oneoff`, `fd_close` on socket descriptors) over listeners pre-opened at
 * instantiation (wazero's `experimental/sock`).
 *
 * A guest's calls are synchronous; Node's sockets are not. Each module with listeners gets a worker
 * thread ({@link WORKER_SOURCE}) that owns every socket with `node:net` and buffers what arrives. A
 * blocking call posts a request and waits with `Atomics.wait` on a shared counter the worker bumps
 * after each reply, then takes the reply with `receiveMessageOnPort` — so the main thread needs no
 * event loop turn and no native code (ARCHITECTURE.md, "Sockets", says why not an addon). Async WASI
 * (`asyncIO`) awaits the same worker's replies through the event loop instead.
 *
 * Blocking calls of a call whose context can be done wait in 50 ms slices and give up with `EINTR`
 * (and {@link TcpHost.interruptedWith}) once it is, so timeouts stop servers waiting for clients.
 */
import { createRequire } from 'node:module';
import type { MessagePort, Worker } from 'node:worker_threads';
import { EAGAIN, EBADF, EINTR, ENOTCONN, ENOTDIR, errnoFromError, type Errno } from './errno.js';
import { FileType, type Dirent, type File, type Stat } from './fs.js';

const require = createRequire(import.meta.url);

/** node:worker_threads, loaded on first use: only a module with listeners needs it (start-up). */
function workerThreads(): typeof import('node:worker_threads') {
  return require('node:worker_threads') as typeof import('node:worker_threads');
}

/** A reply of the worker: `errno` (a Node error code) on failure. */
interface Reply {
  readonly id: number;
  readonly errno?: string;
  readonly handle?: number;
  readonly port?: number;
  readonly data?: Uint8Array;
  readonly n?: number;
  readonly ready?: boolean[];
}

/** What can be polled: a listener (a connection to accept) or a connection (data, EOF or an error). */
type PollKind = 'accept' | 'read';

/**
 * The worker: every socket of one module. Requests are `{ id, op, sync, ... }`; a request that
 * cannot be answered yet waits in `waiting` and is retried after every socket event.
 */
const WORKER_SOURCE = String.raw`
'use strict';
const net = require('node:net');
const { workerData, parentPort } = require('node:worker_threads');
const { port, signal } = workerData;
const HIGH = 4 << 20;
const listeners = new Map();
const conns = new Map();
let waiting = [];
let nextHandle = 1;

function reply(sync, r) {
  if (sync) {
    port.postMessage(r);
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  } else {
    parentPort.postMessage(r);
  }
}
function settle() {
  if (waiting.length === 0) return;
  const still = [];
  for (const w of waiting) {
    let r;
    try { r = w.attempt(); } catch (e) { r = { errno: code(e) }; }
    if (r === undefined) still.push(w);
    else { if (w.timer !== undefined) clearTimeout(w.timer); reply(w.sync, Object.assign({ id: w.id }, r)); }
  }
  waiting = still;
}
function code(e) { return (e && typeof e.code === 'string') ? e.code : 'EIO'; }

function addConn(sock) {
  const c = { sock, chunks: [], size: 0, eof: false, err: undefined, rdShut: false, wrShut: false };
  const h = nextHandle++;
  conns.set(h, c);
  sock.setNoDelay(true);
  sock.on('data', (b) => {
    if (c.rdShut) return;
    c.chunks.push(b);
    c.size += b.length;
    if (c.size > HIGH) sock.pause();
    settle();
  });
  sock.on('end', () => { c.eof = true; settle(); });
  sock.on('error', (e) => { c.err = code(e); settle(); });
  sock.on('close', () => { c.eof = true; c.closed = true; settle(); });
  sock.on('drain', settle);
  return h;
}

function take(c, max, peek) {
  const out = Buffer.allocUnsafe(Math.min(max, c.size));
  let n = 0;
  let i = 0;
  while (n < out.length) {
    const ch = c.chunks[i];
    const k = Math.min(ch.length, out.length - n);
    ch.copy(out, n, 0, k);
    n += k;
    if (peek) i++;
    else if (k === ch.length) c.chunks.shift();
    else c.chunks[0] = ch.subarray(k);
  }
  if (!peek) {
    c.size -= n;
    if (c.size <= HIGH && c.sock.isPaused()) c.sock.resume();
  }
  return out;
}

function readable(c) { return c.size > 0 || c.eof || c.rdShut || c.err !== undefined; }

const ops = {
  listen(m, done) {
    const server = net.createServer();
    const l = { server, queue: [], closed: false };
    server.on('connection', (s) => { l.queue.push(addConn(s)); settle(); });
    server.once('error', (e) => done({ errno: code(e) }));
    server.listen({ host: m.host, port: m.port, backlog: 511 }, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      const h = nextHandle++;
      listeners.set(h, l);
      done({ handle: h, port: server.address().port });
    });
  },
  accept(m) {
    const l = listeners.get(m.handle);
    if (l === undefined) return { errno: 'EBADF' };
    return () => (l.queue.length > 0 ? { handle: l.queue.shift() } : undefined);
  },
  recv(m) {
    const c = conns.get(m.handle);
    if (c === undefined) return { errno: 'EBADF' };
    return () => {
      if (c.size > 0 && (!m.waitall || c.size >= m.max || c.eof || c.err !== undefined)) return { data: take(c, m.max, m.peek) };
      if (c.rdShut || (c.eof && c.err === undefined)) return { data: Buffer.alloc(0) };
      if (c.err !== undefined) return { errno: c.err };
      return undefined;
    };
  },
  send(m) {
    const c = conns.get(m.handle);
    if (c === undefined) return { errno: 'EBADF' };
    if (c.err !== undefined) return { errno: c.err };
    if (c.wrShut || c.closed || !c.sock.writable) return { errno: 'EPIPE' };
    if (m.nonblock && c.sock.writableLength > HIGH) return { errno: 'EAGAIN' };
    c.sock.write(m.data);
    const n = m.data.length;
    return () => (c.sock.writableLength <= HIGH || c.err !== undefined || c.closed ? { n } : undefined);
  },
  shutdown(m) {
    const c = conns.get(m.handle);
    if (c === undefined) return { errno: 'EBADF' };
    if (m.how & 1) { c.rdShut = true; c.chunks = []; c.size = 0; if (c.sock.isPaused()) c.sock.resume(); }
    if (m.how & 2) { c.wrShut = true; c.sock.end(); }
    return { n: 0 };
  },
  close(m) {
    const c = conns.get(m.handle);
    if (c !== undefined) {
      conns.delete(m.handle);
      c.rdShut = true;
      c.chunks = [];
      if (c.sock.isPaused()) c.sock.resume();
      if (c.closed || c.err !== undefined) c.sock.destroy();
      else { c.sock.once('finish', () => c.sock.destroy()); c.sock.end(); }
      settle();
      return { n: 0 };
    }
    const l = listeners.get(m.handle);
    if (l !== undefined) {
      listeners.delete(m.handle);
      l.closed = true;
      l.server.close();
      for (const h of l.queue) { const q = conns.get(h); conns.delete(h); if (q) q.sock.destroy(); }
      settle();
      return { n: 0 };
    }
    return { errno: 'EBADF' };
  },
  poll(m) {
    const check = () => m.items.map((it) => {
      if (it.kind === 'accept') { const l = listeners.get(it.handle); return l === undefined || l.queue.length > 0; }
      const c = conns.get(it.handle);
      return c === undefined || readable(c);
    });
    return () => { const ready = check(); return ready.some(Boolean) ? { ready } : undefined; };
  },
};

function handle(m) {
  if (m.op === 'cancel') {
    waiting = waiting.filter((w) => !(w.sync && w.id === m.target));
    return;
  }
  const sync = m.sync === true;
  const done = (r) => reply(sync, Object.assign({ id: m.id }, r));
  try {
    const r = ops[m.op](m, done);
    if (r === undefined) return;
    if (typeof r !== 'function') return done(r);
    const first = r();
    if (first !== undefined) return done(first);
    if (m.nonblock) return done({ errno: 'EAGAIN' });
    const w = { id: m.id, sync, attempt: r, timer: undefined };
    if (typeof m.timeoutMs === 'number') {
      w.timer = setTimeout(() => {
        waiting = waiting.filter((x) => x !== w);
        done({ ready: m.items.map(() => false) });
      }, m.timeoutMs);
    }
    waiting.push(w);
  } catch (e) {
    done({ errno: code(e) });
  }
}
parentPort.on('message', handle);
`;

const NODE_ERRNO: Readonly<Record<string, Errno>> = { EBADF, EAGAIN, ENOTCONN };

function errnoOf(code: string): Errno {
  return NODE_ERRNO[code] ?? errnoFromError({ code });
}

/**
 * The socket worker of one module and the two ways to wait for it (blocking, or through the event
 * loop). Closed with the module's system context.
 */
export class TcpHost {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  readonly #pending = new Map<number, (r: Reply) => void>();
  #next = 1;
  #closed = false;
  /**
   * Asked every 50 ms while a blocking call waits: a non-zero exit code gives the call up (it
   * returns EINTR and {@link interruptedWith} is the code). Set by the WASI layer per call.
   */
  doneCode: (() => number) | undefined = undefined;
  /** The exit code the last blocking call was given up with (0: none). */
  interruptedWith = 0;

  constructor() {
    const { MessageChannel, Worker } = workerThreads();
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#signal = new Int32Array(new SharedArrayBuffer(4));
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { port: port2, signal: this.#signal }, transferList: [port2] });
    this.#worker.unref();
    this.#worker.on('message', (r: Reply) => {
      const resolve = this.#pending.get(r.id);
      if (resolve === undefined) return;
      this.#pending.delete(r.id);
      if (this.#pending.size === 0) this.#worker.unref();
      resolve(r);
    });
    this.#worker.on('error', () => {
      for (const resolve of this.#pending.values()) resolve({ id: 0, errno: 'EIO' });
      this.#pending.clear();
    });
  }

  /** Sends `msg` and blocks until the worker answers it (or the call's context is done: EINTR). */
  request(msg: Record<string, unknown>): Reply {
    if (this.#closed) return { id: 0, errno: 'EBADF' };
    const id = this.#next++;
    this.interruptedWith = 0;
    this.#worker.postMessage({ ...msg, id, sync: true });
    const done = this.doneCode;
    for (;;) {
      const seen = Atomics.load(this.#signal, 0);
      const got = workerThreads().receiveMessageOnPort(this.#port);
      if (got !== undefined) {
        const r = got.message as Reply;
        if (r.id === id) return r;
        continue;
      }
      const res = Atomics.wait(this.#signal, 0, seen, done === undefined ? undefined : 50);
      if (res === 'timed-out' && done !== undefined) {
        const code = done();
        if (code !== 0) {
          this.#worker.postMessage({ op: 'cancel', target: id, id: 0 });
          this.interruptedWith = code;
          return { id, errno: 'EINTR' };
        }
      }
    }
  }

  /** Sends `msg` and resolves with the worker's answer; the event loop runs meanwhile. */
  requestAsync(msg: Record<string, unknown>): Promise<Reply> {
    if (this.#closed) return Promise.resolve({ id: 0, errno: 'EBADF' });
    const id = this.#next++;
    return new Promise((resolve) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, resolve);
      this.#worker.postMessage({ ...msg, id, sync: false });
    });
  }

  /**
   * Binds a listener on `host:port` (port 0: any free port).
   * @returns the listener, or the Node error code when it cannot listen.
   */
  listen(host: string, port: number): TcpListenerFile | string {
    const r = this.request({ op: 'listen', host, port });
    if (r.errno !== undefined) return r.errno;
    return new TcpListenerFile(this, r.handle!, host, r.port!);
  }

  /** Polls sockets of this host: which are ready, waiting up to `timeoutMs` (undefined: until one is). */
  poll(items: ReadonlyArray<{ kind: PollKind; handle: number }>, timeoutMs: number | undefined): boolean[] | Errno {
    const r = this.request({
      op: 'poll',
      items,
      timeoutMs: timeoutMs === undefined ? undefined : Math.max(0, timeoutMs),
      nonblock: timeoutMs === 0,
    });
    if (r.errno === 'EAGAIN') return items.map(() => false);
    return r.errno !== undefined ? errnoOf(r.errno) : r.ready!;
  }

  /** {@link poll} through the event loop. */
  async pollAsync(items: ReadonlyArray<{ kind: PollKind; handle: number }>, timeoutMs: number | undefined): Promise<boolean[] | Errno> {
    const r = await this.requestAsync({
      op: 'poll',
      items,
      timeoutMs: timeoutMs === undefined ? undefined : Math.max(0, timeoutMs),
      nonblock: timeoutMs === 0,
    });
    if (r.errno === 'EAGAIN') return items.map(() => false);
    return r.errno !== undefined ? errnoOf(r.errno) : r.ready!;
  }

  /** Stops the worker: every socket closes (on module close). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const resolve of this.#pending.values()) resolve({ id: 0, errno: 'EBADF' });
    this.#pending.clear();
    this.#port.close();
    void this.#worker.terminate();
  }
}

/** What listeners and connections share: a stream descriptor whose I/O happens in the worker. */
abstract class SocketFile implements File {
  protected closed = false;
  /** Whether calls return EAGAIN instead of waiting (`FDFLAGS_NONBLOCK`). */
  nonblock = false;
  constructor(
    readonly host: TcpHost,
    readonly handle: number,
  ) {}
  abstract readonly pollKind: PollKind;
  isDir(): boolean {
    return false;
  }
  isAppend(): boolean {
    return false;
  }
  setAppend(): Errno {
    return 0;
  }
  setNonblock(on: boolean): Errno {
    this.nonblock = on;
    return 0;
  }
  stat(): Stat | Errno {
    if (this.closed) return EBADF;
    return { dev: 0n, ino: 0n, type: FileType.SOCKET_STREAM, mode: 0o600, nlink: 1n, size: 0n, atim: 0n, mtim: 0n, ctim: 0n };
  }
  read(_buf: Uint8Array): number {
    return -ENOTCONN;
  }
  pread(): number {
    return -EBADF;
  }
  seek(): number {
    return -EBADF;
  }
  readdir(): Dirent[] | Errno {
    return ENOTDIR;
  }
  write(_buf: Uint8Array): number {
    return -ENOTCONN;
  }
  pwrite(): number {
    return -EBADF;
  }
  truncate(): Errno {
    return EBADF;
  }
  sync(): Errno {
    return 0;
  }
  datasync(): Errno {
    return 0;
  }
  utimens(): Errno {
    return EBADF;
  }
  pollRead(timeoutMs: number): boolean | Errno {
    if (this.closed) return EBADF;
    const r = this.host.poll([{ kind: this.pollKind, handle: this.handle }], timeoutMs);
    return typeof r === 'number' ? r : r[0] === true;
  }
  async pollReadAsync(timeoutMs: number | undefined): Promise<boolean | Errno> {
    if (this.closed) return EBADF;
    const r = await this.host.pollAsync([{ kind: this.pollKind, handle: this.handle }], timeoutMs);
    return typeof r === 'number' ? r : r[0] === true;
  }
  close(): Errno {
    if (this.closed) return EBADF;
    this.closed = true;
    const r = this.host.request({ op: 'close', handle: this.handle });
    return r.errno === undefined ? 0 : errnoOf(r.errno);
  }
}

/** A pre-opened TCP listener: `sock_accept` gives its connections. */
export class TcpListenerFile extends SocketFile {
  readonly pollKind = 'accept';
  constructor(
    host: TcpHost,
    handle: number,
    /** The address it listens on, as configured. */
    readonly address: string,
    /** The port it listens on (the one the OS chose for port 0). */
    readonly port: number,
  ) {
    super(host, handle);
  }

  /** The next connection; EAGAIN when none is waiting and the listener (or `nonblock`) does not wait. */
  accept(nonblock: boolean): TcpConnFile | Errno {
    if (this.closed) return EBADF;
    const r = this.host.request({ op: 'accept', handle: this.handle, nonblock: nonblock || this.nonblock });
    return r.errno !== undefined ? errnoOf(r.errno) : new TcpConnFile(this.host, r.handle!);
  }

  /** {@link accept} through the event loop. */
  async acceptAsync(nonblock: boolean): Promise<TcpConnFile | Errno> {
    if (this.closed) return EBADF;
    const r = await this.host.requestAsync({ op: 'accept', handle: this.handle, nonblock: nonblock || this.nonblock });
    return r.errno !== undefined ? errnoOf(r.errno) : new TcpConnFile(this.host, r.handle!);
  }
}

/** A connection accepted from a listener. */
export class TcpConnFile extends SocketFile {
  readonly pollKind = 'read';

  /** Receives into `buf`: bytes received (0 at EOF or after shutdown) or `-errno` (EINTR: the call's context is done). */
  recv(buf: Uint8Array, peek: boolean, waitall: boolean): number {
    if (this.closed) return -EBADF;
    if (buf.length === 0) return 0;
    return this.#received(
      this.host.request({ op: 'recv', handle: this.handle, max: buf.length, peek, waitall, nonblock: this.nonblock }),
      buf,
    );
  }

  /** {@link recv} through the event loop. */
  async recvAsync(buf: Uint8Array, peek: boolean, waitall: boolean): Promise<number> {
    if (this.closed) return -EBADF;
    if (buf.length === 0) return 0;
    const r = await this.host.requestAsync({ op: 'recv', handle: this.handle, max: buf.length, peek, waitall, nonblock: this.nonblock });
    return this.#received(r, buf);
  }

  #received(r: Reply, buf: Uint8Array): number {
    if (r.errno !== undefined) return r.errno === 'EINTR' ? -EINTR : -errnoOf(r.errno);
    const data = r.data!;
    buf.set(data);
    return data.length;
  }

  /** Sends `buf` (all of it, once the worker took it): bytes sent or `-errno`. */
  send(buf: Uint8Array): number {
    if (this.closed) return -EBADF;
    if (buf.length === 0) return 0;
    const r = this.host.request({ op: 'send', handle: this.handle, data: buf.slice(), nonblock: this.nonblock });
    if (r.errno !== undefined) return r.errno === 'EINTR' ? -EINTR : -errnoOf(r.errno);
    return r.n!;
  }

  /** Shuts down reading (`how & 1`), writing (`how & 2`) or both. */
  shutdown(how: number): Errno {
    if (this.closed) return EBADF;
    const r = this.host.request({ op: 'shutdown', handle: this.handle, how });
    return r.errno === undefined ? 0 : errnoOf(r.errno);
  }

  override read(buf: Uint8Array): number {
    return this.recv(buf, false, false);
  }

  readAsync(buf: Uint8Array): Promise<number> {
    return this.recvAsync(buf, false, false);
  }

  override write(buf: Uint8Array): number {
    return this.send(buf);
  }
}

/** Whether `f` is a socket of wasmscope's TCP layer. */
export function isSocket(f: File): f is TcpListenerFile | TcpConnFile {
  return f instanceof SocketFile;
}

/**
 * Polls `files` together when they are all sockets of one host (one wait for all of them);
 * undefined otherwise (the caller polls them one by one).
 */
export function pollSockets(files: readonly File[], timeoutMs: number | undefined): boolean[] | Errno | undefined {
  const items = socketItems(files);
  return items === undefined ? undefined : items.host.poll(items.list, timeoutMs);
}

/** {@link pollSockets} through the event loop. */
export function pollSocketsAsync(files: readonly File[], timeoutMs: number | undefined): Promise<boolean[] | Errno> | undefined {
  const items = socketItems(files);
  return items === undefined ? undefined : items.host.pollAsync(items.list, timeoutMs);
}

function socketItems(files: readonly File[]): { host: TcpHost; list: Array<{ kind: PollKind; handle: number }> } | undefined {
  let host: TcpHost | undefined;
  const list: Array<{ kind: PollKind; handle: number }> = [];
  for (const f of files) {
    if (!(f instanceof SocketFile) || (host !== undefined && f.host !== host)) return undefined;
    host = f.host;
    list.push({ kind: f.pollKind, handle: f.handle });
  }
  return host === undefined ? undefined : { host, list };
}
