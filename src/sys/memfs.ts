/**
 * An in-memory {@link FS}: a tree of nodes held in JS objects. Useful for tests and for giving a
 * guest a scratch filesystem that touches nothing on the host.
 */
import { EBADF, EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR, ENOTEMPTY, EPERM, type Errno } from './errno.js';
import { FileType, O_ACCMODE, Oflag, UTIME_OMIT, Whence, type Dirent, type File, type FS, type Stat } from './fs.js';
import { isDirOnly, resolveBeneath, splitParent, stripDirOnly, type ResolveLookup } from './resolve.js';

interface NodeBase {
  ino: bigint;
  mode: number;
  nlink: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}
interface FileNode extends NodeBase {
  kind: 'file';
  data: Uint8Array;
  size: number;
}
interface DirNode extends NodeBase {
  kind: 'dir';
  entries: Map<string, Node>;
  parent: DirNode | undefined;
}
interface LinkNode extends NodeBase {
  kind: 'link';
  target: string;
}
type Node = FileNode | DirNode | LinkNode;

/** Initial content of an in-memory FS: file contents by path (parents are created). */
export type MemFSInit = Readonly<Record<string, Uint8Array | string>>;

const encoder = new TextEncoder();

/** An in-memory filesystem. */
export class MemFS implements FS {
  readonly #root: DirNode;
  #nextIno = 1n;
  readonly #now: () => bigint;
  readonly #lookup: ResolveLookup;

  /**
   * @param init files to create, e.g. `{ 'a/b.txt': 'hello' }`.
   * @param now the clock for timestamps (ns since the epoch); defaults to the host's real time.
   */
  constructor(init: MemFSInit = {}, now: () => bigint = () => BigInt(Date.now()) * 1_000_000n) {
    this.#now = now;
    this.#root = this.#newDir(undefined, 0o755);
    this.#lookup = {
      kind: (rel) => {
        const n = this.#get(rel);
        if (n === undefined) return ENOENT;
        return n.kind === 'link' ? 'link' : n.kind === 'dir' ? 'dir' : 'other';
      },
      readlink: (rel) => {
        const n = this.#get(rel);
        return n?.kind === 'link' ? n.target : EINVAL;
      },
    };
    for (const [path, content] of Object.entries(init)) {
      const parts = path.split('/').filter((p) => p !== '' && p !== '.');
      let dir = this.#root;
      for (const p of parts.slice(0, -1)) {
        let next = dir.entries.get(p);
        if (next === undefined) {
          next = this.#newDir(dir, 0o755);
          dir.entries.set(p, next);
        }
        if (next.kind !== 'dir') throw new Error(`MemFS: ${p} in ${path} is not a directory`);
        dir = next;
      }
      const data = typeof content === 'string' ? encoder.encode(content) : content.slice();
      const f = this.#newFile(0o644);
      f.data = data;
      f.size = data.length;
      dir.entries.set(parts[parts.length - 1] ?? '', f);
    }
  }

  #base(mode: number): NodeBase {
    const t = this.#now();
    return { ino: this.#nextIno++, mode, nlink: 1n, atim: t, mtim: t, ctim: t };
  }
  #newDir(parent: DirNode | undefined, mode: number): DirNode {
    return { ...this.#base(mode), kind: 'dir', entries: new Map(), parent, nlink: 2n };
  }
  #newFile(mode: number): FileNode {
    return { ...this.#base(mode), kind: 'file', data: new Uint8Array(0), size: 0 };
  }

  /** The node at a resolved path (no symlinks in its directory part). */
  #get(rel: string): Node | undefined {
    if (rel === '.') return this.#root;
    let n: Node = this.#root;
    for (const p of stripDirOnly(rel).split('/')) {
      if (n.kind !== 'dir') return undefined;
      const next: Node | undefined = n.entries.get(p);
      if (next === undefined) return undefined;
      n = next;
    }
    return n;
  }

  #resolve(path: string, follow: boolean): string | Errno {
    return resolveBeneath(path, follow, this.#lookup);
  }

  /** Parent directory and name of a resolved path, for operations that create or remove an entry. */
  #parentOf(rel: string): [DirNode, string] | Errno {
    if (rel === '.') return EPERM;
    const [parent, name] = splitParent(stripDirOnly(rel));
    const d = this.#get(parent);
    if (d === undefined) return ENOENT;
    if (d.kind !== 'dir') return ENOTDIR;
    return [d, name];
  }

  openFile(path: string, flag: number, perm: number): File | Errno {
    const rel = this.#resolve(path, (flag & Oflag.NOFOLLOW) === 0);
    if (typeof rel === 'number') return rel;
    let n = this.#get(rel);
    const acc = flag & O_ACCMODE;
    if (n === undefined) {
      if ((flag & Oflag.CREAT) === 0) return ENOENT;
      if ((flag & Oflag.DIRECTORY) !== 0) return ENOENT;
      if (isDirOnly(rel)) return EISDIR; // Linux: O_CREAT cannot make a directory
      const pn = this.#parentOf(rel);
      if (typeof pn === 'number') return pn;
      n = this.#newFile(perm & 0o7777);
      pn[0].entries.set(pn[1], n);
      pn[0].mtim = n.mtim;
    } else if ((flag & (Oflag.CREAT | Oflag.EXCL)) === (Oflag.CREAT | Oflag.EXCL)) {
      return EEXIST;
    }
    if (n.kind === 'link') return ELOOP; // O_NOFOLLOW on a symlink
    if (n.kind === 'dir') {
      if (acc !== Oflag.RDONLY) return EISDIR;
      return new MemDir(n);
    }
    if ((flag & Oflag.DIRECTORY) !== 0) return ENOTDIR;
    if ((flag & Oflag.TRUNC) !== 0 && acc !== Oflag.RDONLY) {
      n.size = 0;
      n.mtim = this.#now();
    }
    return new MemFile(n, acc, (flag & Oflag.APPEND) !== 0, this.#now);
  }

  lstat(path: string): Stat | Errno {
    return this.#stat(path, false);
  }
  stat(path: string): Stat | Errno {
    return this.#stat(path, true);
  }
  #stat(path: string, follow: boolean): Stat | Errno {
    const rel = this.#resolve(path, follow);
    if (typeof rel === 'number') return rel;
    const n = this.#get(rel);
    return n === undefined ? ENOENT : statOf(n);
  }

  mkdir(path: string, perm: number): Errno {
    const rel = this.#resolve(path, false);
    if (typeof rel === 'number') return rel;
    if (this.#get(rel) !== undefined) return EEXIST;
    const pn = this.#parentOf(rel);
    if (typeof pn === 'number') return pn;
    pn[0].entries.set(pn[1], this.#newDir(pn[0], perm & 0o7777));
    pn[0].nlink++;
    return 0;
  }

  chmod(path: string, perm: number): Errno {
    const rel = this.#resolve(path, true);
    if (typeof rel === 'number') return rel;
    const n = this.#get(rel);
    if (n === undefined) return ENOENT;
    n.mode = perm & 0o7777;
    n.ctim = this.#now();
    return 0;
  }

  rename(from: string, to: string): Errno {
    const a = this.#resolve(from, false);
    if (typeof a === 'number') return a;
    const b = this.#resolve(to, false);
    if (typeof b === 'number') return b;
    const src = this.#get(a);
    if (src === undefined) return ENOENT;
    const pa = this.#parentOf(a);
    if (typeof pa === 'number') return pa;
    const pb = this.#parentOf(b);
    if (typeof pb === 'number') return pb;
    if (src.kind !== 'dir' && isDirOnly(b)) return ENOTDIR;
    if (stripDirOnly(a) === stripDirOnly(b)) return 0;
    if (src.kind === 'dir' && (stripDirOnly(b) + '/').startsWith(stripDirOnly(a) + '/')) return EINVAL;
    const dst = pb[0].entries.get(pb[1]);
    if (dst !== undefined) {
      if (src.kind === 'dir' && dst.kind !== 'dir') return ENOTDIR;
      if (src.kind !== 'dir' && dst.kind === 'dir') return EISDIR;
      if (dst.kind === 'dir' && dst.entries.size > 0) return ENOTEMPTY;
    }
    pa[0].entries.delete(pa[1]);
    pb[0].entries.set(pb[1], src);
    if (src.kind === 'dir') src.parent = pb[0];
    return 0;
  }

  rmdir(path: string): Errno {
    const rel = this.#resolve(path, false);
    if (typeof rel === 'number') return rel;
    if (rel === '.') return EPERM;
    const n = this.#get(rel);
    if (n === undefined) return ENOENT;
    if (n.kind !== 'dir') return ENOTDIR;
    if (n.entries.size > 0) return ENOTEMPTY;
    const pn = this.#parentOf(rel);
    if (typeof pn === 'number') return pn;
    pn[0].entries.delete(pn[1]);
    pn[0].nlink--;
    return 0;
  }

  unlink(path: string): Errno {
    const rel = this.#resolve(path, false);
    if (typeof rel === 'number') return rel;
    const n = this.#get(rel);
    if (n === undefined) return ENOENT;
    if (n.kind === 'dir') return EISDIR;
    const pn = this.#parentOf(rel);
    if (typeof pn === 'number') return pn;
    pn[0].entries.delete(pn[1]);
    n.nlink--;
    return 0;
  }

  link(oldPath: string, newPath: string): Errno {
    const a = this.#resolve(oldPath, false);
    if (typeof a === 'number') return a;
    const src = this.#get(a);
    if (src === undefined) return ENOENT;
    if (src.kind === 'dir') return EPERM;
    const b = this.#resolve(newPath, false);
    if (typeof b === 'number') return b;
    if (this.#get(b) !== undefined) return EEXIST;
    if (isDirOnly(b)) return ENOENT;
    const pb = this.#parentOf(b);
    if (typeof pb === 'number') return pb;
    pb[0].entries.set(pb[1], src);
    src.nlink++;
    return 0;
  }

  symlink(target: string, linkPath: string): Errno {
    if (target.includes('\0')) return EINVAL;
    const rel = this.#resolve(linkPath, false);
    if (typeof rel === 'number') return rel;
    if (this.#get(rel) !== undefined) return EEXIST;
    if (isDirOnly(rel)) return ENOENT;
    const pn = this.#parentOf(rel);
    if (typeof pn === 'number') return pn;
    pn[0].entries.set(pn[1], { ...this.#base(0o777), kind: 'link', target });
    return 0;
  }

  readlink(path: string): string | Errno {
    const rel = this.#resolve(path, false);
    if (typeof rel === 'number') return rel;
    const n = this.#get(rel);
    if (n === undefined) return ENOENT;
    return n.kind === 'link' ? n.target : EINVAL;
  }

  utimens(path: string, atim: bigint, mtim: bigint): Errno {
    return this.#utimens(path, true, atim, mtim);
  }

  lutimens(path: string, atim: bigint, mtim: bigint): Errno {
    return this.#utimens(path, false, atim, mtim);
  }

  #utimens(path: string, follow: boolean, atim: bigint, mtim: bigint): Errno {
    const rel = this.#resolve(path, follow);
    if (typeof rel === 'number') return rel;
    const n = this.#get(rel);
    if (n === undefined) return ENOENT;
    setTimes(n, atim, mtim);
    return 0;
  }
}

function setTimes(n: NodeBase, atim: bigint, mtim: bigint): void {
  if (atim !== UTIME_OMIT) n.atim = atim;
  if (mtim !== UTIME_OMIT) n.mtim = mtim;
}

function statOf(n: Node): Stat {
  return {
    dev: 0n,
    ino: n.ino,
    type: n.kind === 'dir' ? FileType.DIRECTORY : n.kind === 'link' ? FileType.SYMBOLIC_LINK : FileType.REGULAR_FILE,
    mode: n.mode,
    nlink: n.nlink,
    size: n.kind === 'file' ? BigInt(n.size) : n.kind === 'link' ? BigInt(encoder.encode(n.target).length) : 0n,
    atim: n.atim,
    mtim: n.mtim,
    ctim: n.ctim,
  };
}

class MemFile implements File {
  readonly #n: FileNode;
  readonly #acc: number;
  #append: boolean;
  #pos = 0;
  #closed = false;
  readonly #now: () => bigint;

  constructor(n: FileNode, acc: number, append: boolean, now: () => bigint) {
    this.#n = n;
    this.#acc = acc;
    this.#append = append;
    this.#now = now;
  }
  isDir(): boolean {
    return false;
  }
  isAppend(): boolean {
    return this.#append;
  }
  setAppend(on: boolean): Errno {
    this.#append = on;
    return 0;
  }
  stat(): Stat | Errno {
    return this.#closed ? EBADF : statOf(this.#n);
  }
  read(buf: Uint8Array): number {
    const n = this.pread(buf, this.#pos);
    if (n > 0) this.#pos += n;
    return n;
  }
  pread(buf: Uint8Array, offset: number): number {
    if (this.#closed || this.#acc === Oflag.WRONLY) return -EBADF;
    if (offset < 0) return -EINVAL;
    const f = this.#n;
    if (offset >= f.size) return 0;
    const n = Math.min(buf.length, f.size - offset);
    buf.set(f.data.subarray(offset, offset + n));
    return n;
  }
  seek(offset: number, whence: number): number {
    if (this.#closed) return -EBADF;
    const base = whence === Whence.SET ? 0 : whence === Whence.CUR ? this.#pos : whence === Whence.END ? this.#n.size : -1;
    if (base < 0) return -EINVAL;
    const to = base + offset;
    if (to < 0) return -EINVAL;
    this.#pos = to;
    return to;
  }
  readdir(): Dirent[] | Errno {
    return ENOTDIR;
  }
  write(buf: Uint8Array): number {
    if (this.#append) this.#pos = this.#n.size;
    const n = this.pwrite(buf, this.#pos);
    if (n > 0) this.#pos += n;
    return n;
  }
  pwrite(buf: Uint8Array, offset: number): number {
    if (this.#closed || this.#acc === Oflag.RDONLY) return -EBADF;
    if (offset < 0) return -EINVAL;
    const f = this.#n;
    const end = offset + buf.length;
    this.#ensure(end);
    f.data.set(buf, offset);
    if (end > f.size) f.size = end;
    f.mtim = this.#now();
    return buf.length;
  }
  #ensure(size: number): void {
    const f = this.#n;
    if (size <= f.data.length) {
      return;
    }
    const next = new Uint8Array(Math.max(size, f.data.length * 2, 64));
    next.set(f.data.subarray(0, f.size));
    f.data = next;
  }
  truncate(size: number): Errno {
    if (this.#closed || this.#acc === Oflag.RDONLY) return EBADF;
    if (size < 0) return EINVAL;
    const f = this.#n;
    this.#ensure(size);
    if (size > f.size) f.data.fill(0, f.size, size);
    f.size = size;
    f.mtim = this.#now();
    return 0;
  }
  sync(): Errno {
    return this.#closed ? EBADF : 0;
  }
  datasync(): Errno {
    return this.#closed ? EBADF : 0;
  }
  utimens(atim: bigint, mtim: bigint): Errno {
    if (this.#closed) return EBADF;
    setTimes(this.#n, atim, mtim);
    return 0;
  }
  close(): Errno {
    if (this.#closed) return EBADF;
    this.#closed = true;
    return 0;
  }
}

class MemDir implements File {
  readonly #n: DirNode;
  #closed = false;
  constructor(n: DirNode) {
    this.#n = n;
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
  stat(): Stat | Errno {
    return this.#closed ? EBADF : statOf(this.#n);
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
    if (this.#closed) return EBADF;
    const out: Dirent[] = [];
    for (const [name, n] of [...this.#n.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      out.push({ name, ino: n.ino, type: statOf(n).type });
    }
    return out;
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
  sync(): Errno {
    return this.#closed ? EBADF : 0;
  }
  datasync(): Errno {
    return this.#closed ? EBADF : 0;
  }
  utimens(atim: bigint, mtim: bigint): Errno {
    if (this.#closed) return EBADF;
    setTimes(this.#n, atim, mtim);
    return 0;
  }
  close(): Errno {
    if (this.#closed) return EBADF;
    this.#closed = true;
    return 0;
  }
}
