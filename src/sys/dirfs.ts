/**
 * A host directory as an {@link FS}, with synchronous `node:fs` calls (a WASI call is synchronous).
 * Every path is resolved beneath the directory's real path (see `resolve.ts`). Times are set with
 * nanosecond precision where the host allows it (see `host-times.ts`).
 */
import * as nodefs from 'node:fs';
import { EBADF, EINVAL, EISDIR, ENOTDIR, ENOENT, EPERM, errnoFromError, type Errno } from './errno.js';
import { FileType, O_ACCMODE, Oflag, Whence, type Dirent, type File, type FS, type Stat } from './fs.js';
import { setHostTimes } from './host-times.js';
import { resolveBeneath, type ResolveLookup } from './resolve.js';

const C = nodefs.constants;

/** Converts Node's bigint stats. */
export function statFromNode(s: nodefs.BigIntStats): Stat {
  return {
    dev: s.dev,
    ino: s.ino,
    type: fileTypeOfMode(Number(s.mode)),
    mode: Number(s.mode) & 0o7777,
    nlink: s.nlink,
    size: s.size,
    atim: s.atimeNs,
    mtim: s.mtimeNs,
    ctim: s.ctimeNs,
  };
}

function fileTypeOfMode(mode: number): FileType {
  switch (mode & C.S_IFMT) {
    case C.S_IFREG:
      return FileType.REGULAR_FILE;
    case C.S_IFDIR:
      return FileType.DIRECTORY;
    case C.S_IFLNK:
      return FileType.SYMBOLIC_LINK;
    case C.S_IFCHR:
      return FileType.CHARACTER_DEVICE;
    case C.S_IFBLK:
      return FileType.BLOCK_DEVICE;
    case C.S_IFSOCK:
      return FileType.SOCKET_STREAM;
    default:
      return FileType.UNKNOWN;
  }
}

function direntType(d: nodefs.Dirent): FileType {
  if (d.isFile()) return FileType.REGULAR_FILE;
  if (d.isDirectory()) return FileType.DIRECTORY;
  if (d.isSymbolicLink()) return FileType.SYMBOLIC_LINK;
  if (d.isCharacterDevice()) return FileType.CHARACTER_DEVICE;
  if (d.isBlockDevice()) return FileType.BLOCK_DEVICE;
  if (d.isSocket()) return FileType.SOCKET_STREAM;
  return FileType.UNKNOWN;
}

/** Host open flags for an {@link Oflag} value; the final component is never followed by the host. */
function hostFlags(flag: number): number {
  let f = C.O_NOFOLLOW;
  switch (flag & O_ACCMODE) {
    case Oflag.RDWR:
      f |= C.O_RDWR;
      break;
    case Oflag.WRONLY:
      f |= C.O_WRONLY;
      break;
    default:
      f |= C.O_RDONLY;
  }
  if (flag & Oflag.APPEND) f |= C.O_APPEND;
  if (flag & Oflag.CREAT) f |= C.O_CREAT;
  if (flag & Oflag.DIRECTORY) f |= C.O_DIRECTORY;
  if (flag & Oflag.EXCL) f |= C.O_EXCL;
  if (flag & Oflag.TRUNC) f |= C.O_TRUNC;
  if (flag & Oflag.DSYNC) f |= C.O_DSYNC;
  if (flag & (Oflag.SYNC | Oflag.RSYNC)) f |= C.O_SYNC;
  return f;
}

/** A host directory mounted as a filesystem. */
export class DirFS implements FS {
  readonly #root: string;
  readonly #lookup: ResolveLookup;

  /** @param hostDir an existing host directory (its real path becomes the root). */
  constructor(hostDir: string) {
    let root: string;
    try {
      root = nodefs.realpathSync(hostDir);
    } catch {
      // Keep the given path: every operation then fails as the host reports (usually ENOENT).
      root = hostDir;
    }
    this.#root = root.endsWith('/') ? root.slice(0, -1) : root;
    this.#lookup = {
      kind: (rel) => {
        try {
          const s = nodefs.lstatSync(this.#host(rel), { throwIfNoEntry: false });
          if (s === undefined) return ENOENT;
          if (s.isSymbolicLink()) return 'link';
          return s.isDirectory() ? 'dir' : 'other';
        } catch (e) {
          return errnoFromError(e);
        }
      },
      readlink: (rel) => {
        try {
          return nodefs.readlinkSync(this.#host(rel), 'utf8');
        } catch (e) {
          return errnoFromError(e);
        }
      },
    };
  }

  /**
   * Whether open descriptor `fd` is the root or beneath it, by the path the kernel gives it
   * (`/proc/self/fd`); true where there is no such view (not Linux), which the walk alone then guards.
   */
  #beneath(fd: number): boolean {
    let real: string;
    try {
      real = nodefs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return true;
    }
    return real === this.#root || real.startsWith(this.#root === '/' ? '/' : `${this.#root}/`);
  }

  /** The host path of a resolved relative path. */
  #host(rel: string): string {
    return rel === '.' ? this.#root : `${this.#root}/${rel}`;
  }

  #resolve(path: string, follow: boolean): string | Errno {
    const r = resolveBeneath(path, follow, this.#lookup);
    return typeof r === 'number' ? r : this.#host(r);
  }

  openFile(path: string, flag: number, perm: number): File | Errno {
    const p = this.#resolve(path, (flag & Oflag.NOFOLLOW) === 0);
    if (typeof p === 'number') return p;
    const flags = hostFlags(flag);
    // Truncation through a writable descriptor waits until it is known to be beneath the root.
    const truncateLater = (flags & C.O_TRUNC) !== 0 && (flag & O_ACCMODE) !== Oflag.RDONLY;
    let fd: number;
    try {
      fd = nodefs.openSync(p, truncateLater ? flags & ~C.O_TRUNC : flags, perm);
    } catch (e) {
      return errnoFromError(e);
    }
    try {
      // The kernel walked `p` again: a directory on it swapped for a symlink since our walk
      // (another process racing the guest) may have led the open outside the root. Nothing is
      // read or written through a descriptor that is not beneath it.
      if (!this.#beneath(fd)) {
        nodefs.closeSync(fd);
        return EPERM;
      }
      if (truncateLater) nodefs.ftruncateSync(fd, 0);
      const st = nodefs.fstatSync(fd);
      if (st.isDirectory()) return new HostDir(fd, p);
    } catch (e) {
      nodefs.closeSync(fd);
      return errnoFromError(e);
    }
    return new HostFile(fd, p, hostFlags(flag), (flag & O_ACCMODE) !== Oflag.RDONLY);
  }

  lstat(path: string): Stat | Errno {
    return this.#stat(path, false);
  }

  stat(path: string): Stat | Errno {
    return this.#stat(path, true);
  }

  #stat(path: string, follow: boolean): Stat | Errno {
    const p = this.#resolve(path, follow);
    if (typeof p === 'number') return p;
    try {
      return statFromNode(nodefs.lstatSync(p, { bigint: true }));
    } catch (e) {
      return errnoFromError(e);
    }
  }

  #op(path: string, follow: boolean, fn: (hostPath: string) => void): Errno {
    const p = this.#resolve(path, follow);
    if (typeof p === 'number') return p;
    try {
      fn(p);
      return 0;
    } catch (e) {
      return errnoFromError(e);
    }
  }

  mkdir(path: string, perm: number): Errno {
    return this.#op(path, false, (p) => nodefs.mkdirSync(p, { mode: perm }));
  }

  chmod(path: string, perm: number): Errno {
    return this.#op(path, true, (p) => nodefs.chmodSync(p, perm));
  }

  rename(from: string, to: string): Errno {
    const a = this.#resolve(from, false);
    if (typeof a === 'number') return a;
    const b = this.#resolve(to, false);
    if (typeof b === 'number') return b;
    if (a === this.#root || b === this.#root) return EPERM;
    try {
      // POSIX rename: a directory may replace only an empty directory, a file only a non-directory.
      const sa = nodefs.lstatSync(a);
      const sb = nodefs.lstatSync(b, { throwIfNoEntry: false });
      if (sb !== undefined) {
        if (sa.isDirectory() && !sb.isDirectory()) return ENOTDIR;
        if (!sa.isDirectory() && sb.isDirectory()) return EISDIR;
      }
      nodefs.renameSync(a, b);
      return 0;
    } catch (e) {
      return errnoFromError(e);
    }
  }

  rmdir(path: string): Errno {
    return this.#op(path, false, (p) => {
      if (p === this.#root) throw Object.assign(new Error('root'), { code: 'EPERM' });
      nodefs.rmdirSync(p);
    });
  }

  unlink(path: string): Errno {
    const p = this.#resolve(path, false);
    if (typeof p === 'number') return p;
    try {
      const s = nodefs.lstatSync(p);
      // Linux says EISDIR, macOS EPERM: WASI programs expect EISDIR.
      if (s.isDirectory()) return EISDIR;
      nodefs.unlinkSync(p);
      return 0;
    } catch (e) {
      return errnoFromError(e);
    }
  }

  link(oldPath: string, newPath: string): Errno {
    const a = this.#resolve(oldPath, false);
    if (typeof a === 'number') return a;
    return this.#op(newPath, false, (b) => nodefs.linkSync(a, b));
  }

  symlink(target: string, linkPath: string): Errno {
    // The content is stored as given; it is checked when followed, so it can never lead outside.
    if (target.includes('\0')) return EINVAL;
    return this.#op(linkPath, false, (p) => nodefs.symlinkSync(target, p));
  }

  readlink(path: string): string | Errno {
    const p = this.#resolve(path, false);
    if (typeof p === 'number') return p;
    try {
      return nodefs.readlinkSync(p, 'utf8');
    } catch (e) {
      return errnoFromError(e);
    }
  }

  utimens(path: string, atim: bigint, mtim: bigint): Errno {
    const p = this.#resolve(path, true);
    return typeof p === 'number' ? p : setHostTimes({ path: p, follow: true }, atim, mtim);
  }

  lutimens(path: string, atim: bigint, mtim: bigint): Errno {
    const p = this.#resolve(path, false);
    return typeof p === 'number' ? p : setHostTimes({ path: p, follow: false }, atim, mtim);
  }
}

/** What host files and directories share: an open host fd, its stat, sync, times and close. */
abstract class HostFd {
  protected fd: number;
  protected closed = false;

  constructor(fd: number) {
    this.fd = fd;
  }
  stat(): Stat | Errno {
    if (this.closed) return EBADF;
    try {
      return statFromNode(nodefs.fstatSync(this.fd, { bigint: true }));
    } catch (e) {
      return errnoFromError(e);
    }
  }
  sync(): Errno {
    return this.attempt(() => nodefs.fsyncSync(this.fd));
  }
  datasync(): Errno {
    return this.attempt(() => nodefs.fdatasyncSync(this.fd));
  }
  utimens(atim: bigint, mtim: bigint): Errno {
    return this.closed ? EBADF : setHostTimes({ fd: this.fd }, atim, mtim);
  }
  protected attempt(fn: () => void): Errno {
    if (this.closed) return EBADF;
    try {
      fn();
      return 0;
    } catch (e) {
      return errnoFromError(e);
    }
  }
  close(): Errno {
    if (this.closed) return EBADF;
    this.closed = true;
    try {
      nodefs.closeSync(this.fd);
      return 0;
    } catch (e) {
      return errnoFromError(e);
    }
  }
}

/**
 * A regular (or special) host file; the offset is kept here because node:fs has no lseek. Appending
 * is the host's `O_APPEND` (atomic against other writers); turning it on or off reopens the file
 * without or with it, since Linux's `pwrite` ignores the offset on an `O_APPEND` descriptor.
 */
class HostFile extends HostFd implements File {
  readonly #path: string;
  #flags: number;
  readonly #writable: boolean;
  #pos = 0;

  /**
   * @param path the host path it was opened by (to reopen it where `/proc` is missing).
   * @param flags the host open flags.
   */
  constructor(fd: number, path: string, flags: number, writable: boolean) {
    super(fd);
    this.#path = path;
    this.#flags = flags;
    this.#writable = writable;
  }

  isDir(): boolean {
    return false;
  }
  isAppend(): boolean {
    return (this.#flags & C.O_APPEND) !== 0;
  }
  setAppend(on: boolean): Errno {
    if (this.closed) return EBADF;
    if (on === this.isAppend()) return 0;
    const flags = (this.#flags & ~(C.O_CREAT | C.O_EXCL | C.O_TRUNC | C.O_APPEND)) | (on ? C.O_APPEND : 0);
    const fd = reopen(this.fd, this.#path, flags);
    if (fd < 0) return -fd;
    nodefs.closeSync(this.fd);
    this.fd = fd;
    this.#flags = flags;
    return 0;
  }
  read(buf: Uint8Array): number {
    const n = this.pread(buf, this.#pos);
    if (n > 0) this.#pos += n;
    return n;
  }
  pread(buf: Uint8Array, offset: number): number {
    if (this.closed) return -EBADF;
    if (offset < 0) return -EINVAL;
    try {
      return nodefs.readSync(this.fd, buf, 0, buf.length, offset);
    } catch (e) {
      return -errnoFromError(e);
    }
  }
  seek(offset: number, whence: number): number {
    if (this.closed) return -EBADF;
    let base: number;
    switch (whence) {
      case Whence.SET:
        base = 0;
        break;
      case Whence.CUR:
        base = this.#pos;
        break;
      case Whence.END: {
        const s = this.stat();
        if (typeof s === 'number') return -s;
        base = Number(s.size);
        break;
      }
      default:
        return -EINVAL;
    }
    const to = base + offset;
    if (to < 0) return -EINVAL;
    this.#pos = to;
    return to;
  }
  readdir(): Dirent[] | Errno {
    return ENOTDIR;
  }
  write(buf: Uint8Array): number {
    if (this.closed) return -EBADF;
    if (!this.#writable) return -EBADF;
    if (this.isAppend()) {
      const s = this.stat();
      if (typeof s === 'number') return -s;
      this.#pos = Number(s.size);
    }
    const n = this.pwrite(buf, this.#pos);
    if (n > 0) this.#pos += n;
    return n;
  }
  pwrite(buf: Uint8Array, offset: number): number {
    if (this.closed || !this.#writable) return -EBADF;
    if (offset < 0) return -EINVAL;
    try {
      let done = 0;
      while (done < buf.length) done += nodefs.writeSync(this.fd, buf, done, buf.length - done, offset + done);
      return done;
    } catch (e) {
      return -errnoFromError(e);
    }
  }
  truncate(size: number): Errno {
    if (this.closed) return EBADF;
    if (size < 0) return EINVAL;
    if (!this.#writable) return EBADF;
    try {
      nodefs.ftruncateSync(this.fd, size);
      return 0;
    } catch (e) {
      return errnoFromError(e);
    }
  }
}

/**
 * Opens the file behind `fd` again with other `flags`: through `/proc/self/fd` where there is one,
 * else by `path` (not following a final symlink), checking it is still the same file.
 * @returns the new descriptor, or `-errno`.
 */
function reopen(fd: number, path: string, flags: number): number {
  const proc = `/proc/self/fd/${fd}`;
  const viaProc = nodefs.existsSync(proc);
  let next: number;
  try {
    // The /proc entry is a magic link: following it is the point.
    next = nodefs.openSync(viaProc ? proc : path, viaProc ? flags & ~C.O_NOFOLLOW : flags | C.O_NOFOLLOW);
  } catch (e) {
    return -errnoFromError(e);
  }
  try {
    const a = nodefs.fstatSync(fd, { bigint: true });
    const b = nodefs.fstatSync(next, { bigint: true });
    if (a.dev === b.dev && a.ino === b.ino) return next;
  } catch (e) {
    nodefs.closeSync(next);
    return -errnoFromError(e);
  }
  nodefs.closeSync(next);
  return -ENOENT;
}

/** An open host directory: the fd pins it for stat; entries are listed by path (node has no fdopendir). */
class HostDir extends HostFd implements File {
  readonly #path: string;

  constructor(fd: number, path: string) {
    super(fd);
    this.#path = path;
  }
  isDir(): boolean {
    return true;
  }
  isAppend(): boolean {
    return false;
  }
  setAppend(): Errno {
    return 0;
  }
  read(): number {
    return -EISDIR;
  }
  pread(): number {
    return -EISDIR;
  }
  seek(): number {
    return -EISDIR;
  }
  readdir(): Dirent[] | Errno {
    if (this.closed) return EBADF;
    try {
      const list = nodefs.readdirSync(this.#path, { withFileTypes: true });
      list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return list.map((d) => {
        let ino = 0n;
        try {
          ino = nodefs.lstatSync(`${this.#path}/${d.name}`, { bigint: true }).ino;
        } catch {
          // Removed since listing: keep the entry with ino 0, as a racing readdir would.
        }
        return { name: d.name, ino, type: direntType(d) };
      });
    } catch (e) {
      return errnoFromError(e);
    }
  }
  write(): number {
    return -EISDIR;
  }
  pwrite(): number {
    return -EISDIR;
  }
  truncate(): Errno {
    return EISDIR;
  }
}
