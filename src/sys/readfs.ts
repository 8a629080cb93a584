/**
 * A read-only view of an {@link FS} (wazero's `sysfs.ReadFS`): operations that would change the
 * filesystem fail with EROFS; files opened through it refuse writes with EBADF, like a file opened
 * O_RDONLY.
 */
import { EBADF, EROFS, type Errno } from './errno.js';
import { O_ACCMODE, Oflag, type Dirent, type File, type FS, type Stat } from './fs.js';

const WRITE_FLAGS = Oflag.APPEND | Oflag.CREAT | Oflag.TRUNC;

/** Wraps `fs` so nothing can be written through it. */
export class ReadFS implements FS {
  readonly #fs: FS;
  constructor(fs: FS) {
    this.#fs = fs;
  }
  openFile(path: string, flag: number, perm: number): File | Errno {
    if ((flag & O_ACCMODE) !== Oflag.RDONLY || (flag & WRITE_FLAGS) !== 0) return EROFS;
    const f = this.#fs.openFile(path, flag, perm);
    return typeof f === 'number' ? f : new ReadOnlyFile(f);
  }
  lstat(path: string): Stat | Errno {
    return this.#fs.lstat(path);
  }
  stat(path: string): Stat | Errno {
    return this.#fs.stat(path);
  }
  mkdir(_path: string, _perm: number): Errno {
    return EROFS;
  }
  chmod(_path: string, _perm: number): Errno {
    return EROFS;
  }
  rename(_from: string, _to: string): Errno {
    return EROFS;
  }
  rmdir(_path: string): Errno {
    return EROFS;
  }
  unlink(_path: string): Errno {
    return EROFS;
  }
  link(_oldPath: string, _newPath: string): Errno {
    return EROFS;
  }
  symlink(_target: string, _linkPath: string): Errno {
    return EROFS;
  }
  readlink(path: string): string | Errno {
    return this.#fs.readlink(path);
  }
  utimens(_path: string, _atim: bigint, _mtim: bigint): Errno {
    return EROFS;
  }
  lutimens(_path: string, _atim: bigint, _mtim: bigint): Errno {
    return EROFS;
  }
}

class ReadOnlyFile implements File {
  readonly #f: File;
  constructor(f: File) {
    this.#f = f;
  }
  isDir(): boolean {
    return this.#f.isDir();
  }
  isAppend(): boolean {
    return false;
  }
  setAppend(on: boolean): Errno {
    return on ? EBADF : 0;
  }
  stat(): Stat | Errno {
    return this.#f.stat();
  }
  read(buf: Uint8Array): number {
    return this.#f.read(buf);
  }
  pread(buf: Uint8Array, offset: number): number {
    return this.#f.pread(buf, offset);
  }
  seek(offset: number, whence: number): number {
    return this.#f.seek(offset, whence);
  }
  readdir(): Dirent[] | Errno {
    return this.#f.readdir();
  }
  write(): number {
    return -EBADF;
  }
  pwrite(): number {
    return -EBADF;
  }
  truncate(): Errno {
    return EBADF;
  }
  sync(): Errno {
    return this.#f.sync();
  }
  datasync(): Errno {
    return this.#f.datasync();
  }
  utimens(): Errno {
    return EROFS;
  }
  close(): Errno {
    return this.#f.close();
  }
}
