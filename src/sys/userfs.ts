/**
 * Filesystems users implement (wazero's `experimental/sys` FS and File, `UnimplementedFS`).
 *
 * A user's {@link FS} is mounted like the built-in ones (`FSConfig.withFSMount` or
 * `withSysFSMount`). Since WASI functions never throw into the guest, the mount guards it: a method
 * that throws answers the errno of the error (a Node `code`, else EIO), a missing method ENOSYS, and
 * a result of the wrong shape EIO. Starting from {@link unimplementedFS} / {@link unimplementedFile}
 * (spread them, then override) gives ENOSYS for everything not written yet.
 */
import { DirFS } from './dirfs.js';
import { EIO, ENOSYS, errnoFromError, type Errno } from './errno.js';
import type { Dirent, File, FS, Stat } from './fs.js';
import { MemFS } from './memfs.js';
import { ReadFS } from './readfs.js';

/**
 * An {@link FS} whose every operation fails with ENOSYS (wazero's `UnimplementedFS`): spread it
 * into an object literal and override what the filesystem supports. Mounting it as is mounts nothing.
 * @experimental
 */
export function unimplementedFS(): FS {
  const no = (): Errno => ENOSYS;
  return {
    openFile: no,
    lstat: no,
    stat: no,
    mkdir: no,
    chmod: no,
    rename: no,
    rmdir: no,
    unlink: no,
    link: no,
    symlink: no,
    readlink: no,
    utimens: no,
    lutimens: no,
  };
}

/**
 * A {@link File} whose every operation fails with ENOSYS (closing succeeds): spread it into an
 * object literal and override what the file supports.
 * @experimental
 */
export function unimplementedFile(): File {
  const no = (): Errno => ENOSYS;
  const noCount = (): number => -ENOSYS;
  return {
    isDir: () => false,
    isAppend: () => false,
    setAppend: no,
    stat: no,
    read: noCount,
    pread: noCount,
    seek: noCount,
    readdir: no,
    write: noCount,
    pwrite: noCount,
    truncate: no,
    sync: no,
    datasync: no,
    utimens: no,
    close: () => 0,
  };
}

/** Whether `fs` is one of wasmscope's own filesystems (trusted not to throw). */
export function isBuiltinFS(fs: FS): boolean {
  return fs instanceof DirFS || fs instanceof MemFS || fs instanceof ReadFS;
}

const isErrno = (v: unknown): v is Errno => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 0x10000;

/** Runs `fn`: a throw becomes its errno, a non-errno result EIO. */
function errno(fn: (() => Errno) | undefined): Errno {
  if (fn === undefined) return ENOSYS;
  try {
    const r: unknown = fn();
    return isErrno(r) ? r : EIO;
  } catch (e) {
    return errnoFromError(e);
  }
}

/** Runs `fn` returning a count: a throw becomes `-errno`, a non-integer `-EIO`. */
function count(fn: (() => number) | undefined): number {
  if (fn === undefined) return -ENOSYS;
  try {
    const r: unknown = fn();
    return typeof r === 'number' && Number.isInteger(r) ? r : -EIO;
  } catch (e) {
    return -errnoFromError(e);
  }
}

/** Runs `fn` returning a value or an errno: a throw becomes its errno. */
function value<T extends object | string>(fn: (() => T | Errno) | undefined, ok: (v: unknown) => v is T): T | Errno {
  if (fn === undefined) return ENOSYS;
  try {
    const r: unknown = fn();
    if (isErrno(r)) return r;
    return ok(r) ? r : EIO;
  } catch (e) {
    return errnoFromError(e);
  }
}

const isStat = (v: unknown): v is Stat => typeof v === 'object' && v !== null && typeof (v as Stat).type === 'number';
const isString = (v: unknown): v is string => typeof v === 'string';
const isDirents = (v: unknown): v is Dirent[] => Array.isArray(v);
const isFile = (v: unknown): v is File => typeof v === 'object' && v !== null && typeof (v as File).read === 'function';

/** A user's filesystem as a mount uses it: nothing it does throws into the guest. */
export class GuardedFS implements FS {
  readonly #fs: FS;
  constructor(fs: FS) {
    this.#fs = fs;
  }
  openFile(path: string, flag: number, perm: number): File | Errno {
    const fs = this.#fs;
    const f = value(fs.openFile === undefined ? undefined : () => fs.openFile(path, flag, perm), isFile);
    return typeof f === 'number' ? f : new GuardedFile(f);
  }
  lstat(path: string): Stat | Errno {
    const fs = this.#fs;
    return value(fs.lstat === undefined ? undefined : () => fs.lstat(path), isStat);
  }
  stat(path: string): Stat | Errno {
    const fs = this.#fs;
    return value(fs.stat === undefined ? undefined : () => fs.stat(path), isStat);
  }
  mkdir(path: string, perm: number): Errno {
    const fs = this.#fs;
    return errno(fs.mkdir === undefined ? undefined : () => fs.mkdir(path, perm));
  }
  chmod(path: string, perm: number): Errno {
    const fs = this.#fs;
    return errno(fs.chmod === undefined ? undefined : () => fs.chmod(path, perm));
  }
  rename(from: string, to: string): Errno {
    const fs = this.#fs;
    return errno(fs.rename === undefined ? undefined : () => fs.rename(from, to));
  }
  rmdir(path: string): Errno {
    const fs = this.#fs;
    return errno(fs.rmdir === undefined ? undefined : () => fs.rmdir(path));
  }
  unlink(path: string): Errno {
    const fs = this.#fs;
    return errno(fs.unlink === undefined ? undefined : () => fs.unlink(path));
  }
  link(oldPath: string, newPath: string): Errno {
    const fs = this.#fs;
    return errno(fs.link === undefined ? undefined : () => fs.link(oldPath, newPath));
  }
  symlink(target: string, linkPath: string): Errno {
    const fs = this.#fs;
    return errno(fs.symlink === undefined ? undefined : () => fs.symlink(target, linkPath));
  }
  readlink(path: string): string | Errno {
    const fs = this.#fs;
    return value(fs.readlink === undefined ? undefined : () => fs.readlink(path), isString);
  }
  utimens(path: string, atim: bigint, mtim: bigint): Errno {
    const fs = this.#fs;
    return errno(fs.utimens === undefined ? undefined : () => fs.utimens(path, atim, mtim));
  }
  lutimens(path: string, atim: bigint, mtim: bigint): Errno {
    const fs = this.#fs;
    return errno(fs.lutimens === undefined ? undefined : () => fs.lutimens(path, atim, mtim));
  }
}

/** A file of a user's filesystem, guarded like {@link GuardedFS}. */
class GuardedFile implements File {
  readonly #f: File;
  pollRead?: (timeoutMs: number) => boolean | Errno;
  readAsync?: (buf: Uint8Array) => Promise<number>;
  pollReadAsync?: (timeoutMs: number | undefined) => Promise<boolean | Errno>;

  constructor(f: File) {
    this.#f = f;
    const poll = f.pollRead;
    if (poll !== undefined) {
      this.pollRead = (t) => {
        try {
          const r: unknown = poll.call(f, t);
          return typeof r === 'boolean' || isErrno(r) ? r : EIO;
        } catch (e) {
          return errnoFromError(e);
        }
      };
    }
    const readAsync = f.readAsync;
    if (readAsync !== undefined) this.readAsync = (buf) => readAsync.call(f, buf).catch((e: unknown) => -errnoFromError(e));
    const pollAsync = f.pollReadAsync;
    if (pollAsync !== undefined) this.pollReadAsync = (t) => pollAsync.call(f, t).catch((e: unknown) => errnoFromError(e));
  }
  isDir(): boolean {
    try {
      return this.#f.isDir?.() === true;
    } catch {
      return false;
    }
  }
  isAppend(): boolean {
    try {
      return this.#f.isAppend?.() === true;
    } catch {
      return false;
    }
  }
  setAppend(on: boolean): Errno {
    const f = this.#f;
    return errno(f.setAppend === undefined ? undefined : () => f.setAppend(on));
  }
  stat(): Stat | Errno {
    const f = this.#f;
    return value(f.stat === undefined ? undefined : () => f.stat(), isStat);
  }
  read(buf: Uint8Array): number {
    const f = this.#f;
    return count(f.read === undefined ? undefined : () => f.read(buf));
  }
  pread(buf: Uint8Array, offset: number): number {
    const f = this.#f;
    return count(f.pread === undefined ? undefined : () => f.pread(buf, offset));
  }
  seek(offset: number, whence: number): number {
    const f = this.#f;
    return count(f.seek === undefined ? undefined : () => f.seek(offset, whence));
  }
  readdir(): Dirent[] | Errno {
    const f = this.#f;
    return value(f.readdir === undefined ? undefined : () => f.readdir(), isDirents);
  }
  write(buf: Uint8Array): number {
    const f = this.#f;
    return count(f.write === undefined ? undefined : () => f.write(buf));
  }
  pwrite(buf: Uint8Array, offset: number): number {
    const f = this.#f;
    return count(f.pwrite === undefined ? undefined : () => f.pwrite(buf, offset));
  }
  truncate(size: number): Errno {
    const f = this.#f;
    return errno(f.truncate === undefined ? undefined : () => f.truncate(size));
  }
  sync(): Errno {
    const f = this.#f;
    return errno(f.sync === undefined ? undefined : () => f.sync());
  }
  datasync(): Errno {
    const f = this.#f;
    return errno(f.datasync === undefined ? undefined : () => f.datasync());
  }
  utimens(atim: bigint, mtim: bigint): Errno {
    const f = this.#f;
    return errno(f.utimens === undefined ? undefined : () => f.utimens(atim, mtim));
  }
  close(): Errno {
    const f = this.#f;
    return errno(f.close === undefined ? () => 0 : () => f.close());
  }
}
