/**
 * The guest's stdio as {@link File}s. They never close or otherwise touch the host's own descriptors:
 * a guest closing fd 1 only closes its own view.
 */
import * as nodefs from 'node:fs';
import { statFromNode } from './dirfs.js';
import { EAGAIN, EBADF, ENOTDIR, errnoFromError, type Errno } from './errno.js';
import { FileType, type Dirent, type File, type Stat } from './fs.js';
import type { Reader, Writer } from './io.js';

/** Seeking or positioned I/O on a stream: wazero answers EBADF (ESPIPE is not in its errno set). */
const ESPIPE_AS_EBADF = EBADF;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms` (fractional allowed); the event loop does not run meanwhile. */
export function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

function charDeviceStat(): Stat {
  return { dev: 0n, ino: 0n, type: FileType.CHARACTER_DEVICE, mode: 0o620, nlink: 1n, size: 0n, atim: 0n, mtim: 0n, ctim: 0n };
}

/** Common no-op / refusing behaviour of a stream. */
abstract class Stream implements File {
  protected closed = false;
  isDir(): boolean {
    return false;
  }
  isAppend(): boolean {
    return false;
  }
  setAppend(): Errno {
    return 0;
  }
  stat(): Stat | Errno {
    return this.closed ? EBADF : charDeviceStat();
  }
  read(_buf: Uint8Array): number {
    return -EBADF;
  }
  pread(): number {
    return -ESPIPE_AS_EBADF;
  }
  seek(): number {
    return -ESPIPE_AS_EBADF;
  }
  readdir(): Dirent[] | Errno {
    return ENOTDIR;
  }
  write(_buf: Uint8Array): number {
    return -EBADF;
  }
  pwrite(): number {
    return -ESPIPE_AS_EBADF;
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
  close(): Errno {
    if (this.closed) return EBADF;
    this.closed = true;
    return 0;
  }
}

/** stdin from bytes held in memory (a string is UTF-8 encoded). */
export class BytesStdin extends Stream {
  readonly #data: Uint8Array;
  #pos = 0;
  constructor(data: Uint8Array | string) {
    super();
    this.#data = typeof data === 'string' ? new TextEncoder().encode(data) : data.slice();
  }
  override read(buf: Uint8Array): number {
    if (this.closed) return -EBADF;
    const n = Math.min(buf.length, this.#data.length - this.#pos);
    buf.set(this.#data.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return n;
  }
  pollRead(): boolean {
    return true;
  }
}

/** stdin from a {@link Reader} (assumed to block until it has data, like a Go io.Reader). */
export class ReaderStdin extends Stream {
  readonly #r: Reader;
  constructor(r: Reader) {
    super();
    this.#r = r;
  }
  override read(buf: Uint8Array): number {
    if (this.closed) return -EBADF;
    try {
      return this.#r.read(buf);
    } catch (e) {
      return -errnoFromError(e);
    }
  }
  pollRead(): boolean {
    return true;
  }
}

/**
 * stdin from a host file descriptor. The host fd is read but never closed. A non-blocking host fd
 * (EAGAIN) is retried after short sleeps, so the guest sees a blocking read.
 */
export class HostFdStdin extends Stream {
  readonly #fd: number;
  /** Bytes read ahead by pollRead and not yet given to the guest. */
  #ahead: Uint8Array | undefined;
  #eof = false;
  constructor(fd: number) {
    super();
    this.#fd = fd;
  }
  override stat(): Stat | Errno {
    if (this.closed) return EBADF;
    try {
      return statFromNode(nodefs.fstatSync(this.#fd, { bigint: true }));
    } catch {
      return charDeviceStat();
    }
  }
  /** One host read; `-EAGAIN` when a non-blocking fd has nothing yet. */
  #readOnce(buf: Uint8Array): number {
    try {
      return nodefs.readSync(this.#fd, buf, 0, buf.length, null);
    } catch (e) {
      const errno = errnoFromError(e);
      // EOF on a closed pipe end or a hung-up terminal.
      if ((e as { code?: string }).code === 'EOF') return 0;
      return -errno;
    }
  }
  override read(buf: Uint8Array): number {
    if (this.closed) return -EBADF;
    if (buf.length === 0) return 0;
    const ahead = this.#ahead;
    if (ahead !== undefined) {
      const n = Math.min(buf.length, ahead.length);
      buf.set(ahead.subarray(0, n));
      this.#ahead = n === ahead.length ? undefined : ahead.subarray(n);
      return n;
    }
    if (this.#eof) return 0;
    for (;;) {
      const n = this.#readOnce(buf);
      if (n !== -EAGAIN) return n;
      sleepMs(5);
    }
  }
  /** An async read-ahead in progress (async WASI), filling `#ahead` or setting `#eof`/`#error`. */
  #inflight: Promise<void> | undefined;
  /** An error an async read-ahead met, reported by the next read. */
  #error = 0;

  /** Reads ahead without blocking the event loop (libuv's thread pool waits for the host fd). */
  #readAhead(): Promise<void> {
    this.#inflight ??= new Promise<void>((resolve) => {
      const buf = new Uint8Array(4096);
      const attempt = (): void => {
        nodefs.read(this.#fd, buf, 0, buf.length, null, (err, n) => {
          if (err !== null) {
            if (err.code === 'EAGAIN') {
              // A non-blocking host fd with nothing yet: look again shortly.
              setTimeout(attempt, 5);
              return;
            }
            if (err.code === 'EOF') this.#eof = true;
            else this.#error = errnoFromError(err);
          } else if (n === 0) {
            this.#eof = true;
          } else {
            const prev = this.#ahead;
            const got = buf.slice(0, n);
            this.#ahead = prev === undefined ? got : concat(prev, got);
          }
          this.#inflight = undefined;
          resolve();
        });
      };
      attempt();
    });
    return this.#inflight;
  }

  /** {@link read} without blocking the event loop (async WASI). */
  async readAsync(buf: Uint8Array): Promise<number> {
    if (this.closed) return -EBADF;
    if (buf.length === 0) return 0;
    while (this.#ahead === undefined && !this.#eof && this.#error === 0) await this.#readAhead();
    if (this.#ahead === undefined && this.#error !== 0) {
      const e = this.#error;
      this.#error = 0;
      return -e;
    }
    return this.read(buf);
  }

  /** {@link pollRead} without blocking the event loop (async WASI); honours `timeoutMs`. */
  async pollReadAsync(timeoutMs: number | undefined): Promise<boolean | Errno> {
    if (this.closed) return EBADF;
    if (this.#ahead !== undefined || this.#eof) return true;
    const ahead = this.#readAhead();
    if (timeoutMs === undefined) await ahead;
    else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ahead, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    if (this.#error !== 0) return this.#error;
    return this.#ahead !== undefined || this.#eof;
  }

  /**
   * Whether a read would not block. Note: node:fs cannot poll, so on a blocking host fd this reads
   * ahead (blocking until data or EOF, beyond `timeoutMs`); a non-blocking fd honours the timeout.
   */
  pollRead(timeoutMs: number): boolean | Errno {
    if (this.closed) return EBADF;
    if (this.#ahead !== undefined || this.#eof) return true;
    const deadline = performance.now() + timeoutMs;
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = this.#readOnce(buf);
      if (n > 0) {
        this.#ahead = buf.subarray(0, n);
        return true;
      }
      if (n === 0) {
        this.#eof = true;
        return true;
      }
      if (n !== -EAGAIN) return -n;
      if (performance.now() >= deadline) return false;
      sleepMs(Math.min(5, Math.max(0, deadline - performance.now())));
    }
  }
}

/** `a` followed by `b`. */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** stdout/stderr to a {@link Writer}; each write hands the writer its own copy of the bytes. */
export class WriterFile extends Stream {
  readonly #w: Writer | undefined;
  /** @param w the sink; undefined discards. */
  constructor(w: Writer | undefined) {
    super();
    this.#w = w;
  }
  override write(buf: Uint8Array): number {
    if (this.closed) return -EBADF;
    if (this.#w === undefined || buf.length === 0) return buf.length;
    try {
      this.#w.write(buf.slice());
      return buf.length;
    } catch (e) {
      return -errnoFromError(e);
    }
  }
}

/** A {@link Writer} over a host fd with blocking semantics (retries EAGAIN on non-blocking pipes). */
export function hostFdWriter(fd: number): Writer {
  return {
    write(chunk: Uint8Array): number {
      let done = 0;
      while (done < chunk.length) {
        try {
          done += nodefs.writeSync(fd, chunk, done, chunk.length - done);
        } catch (e) {
          if ((e as { code?: string }).code !== 'EAGAIN') throw e;
          sleepMs(1);
        }
      }
      return done;
    },
  };
}
