/**
 * The 46 wasi_snapshot_preview1 host functions, with wazero's errno semantics where wasi-testsuite
 * (and wasmtime) agree, theirs where they differ. Each reads its parameters from the raw stack, checks
 * the rights it needs (see `sys/rights.ts`), works on the calling module's {@link SysContext} and
 * memory, and returns a sys errno that the wrapper maps to a WASI errno. WASI functions never throw
 * into the guest, except `proc_exit` (an {@link ExitError}, by design).
 */
import type { Context } from '../runtime/api/context.js';
import { ExitError } from '../runtime/api/errors.js';
import type { Module } from '../runtime/api/module.js';
import { ModuleInstance } from '../runtime/store/module-instance.js';
import type { FileEntry, SysContext } from '../sys/context.js';
import {
  EBADF,
  EFAULT,
  EINTR,
  EINVAL,
  EIO,
  EISDIR,
  ENAMETOOLONG,
  ENOENT,
  ENOSYS,
  ENOTCAPABLE,
  ENOTCONN,
  ENOTDIR,
  ENOTSOCK,
  ENOTSUP,
  EPERM,
  ERRNO_COUNT,
  type Errno,
} from '../sys/errno.js';
import { FileType, O_ACCMODE, Oflag, UTIME_OMIT, type Dirent, type FS } from '../sys/fs.js';
import { lookupOf, MAX_PATH, resolveBeneath, stripDirOnly } from '../sys/resolve.js';
import { RIGHTS_ALL, rightsMask, SOCKET_RIGHTS } from '../sys/rights.js';
import { pollSockets, pollSocketsAsync, TcpConnFile, TcpListenerFile } from '../sys/sockets.js';
import { contextCanBeDone, contextDoneExitCode, stopForContextDone } from '../runtime/store/hooks.js';
import {
  CLOCKID_MONOTONIC,
  CLOCKID_REALTIME,
  EVENTTYPE,
  FDFLAGS,
  FSTFLAGS,
  LOOKUPFLAGS,
  OFLAGS,
  RIFLAGS,
  RIGHTS,
  SDFLAGS,
  SIZE,
  SUBCLOCKFLAGS,
  toWasiErrno,
} from './constants.js';
import { inBounds, memView, wrote, type MemView } from './memory.js';

const I32 = 0x7f;
const I64 = 0x7e;

/** One WASI function: signature, parameter names (wazero's) and implementation. */
export interface WasiFunction {
  readonly name: string;
  readonly params: readonly number[];
  readonly paramNames: readonly string[];
  /** Empty only for proc_exit; every other function returns `errno`. */
  readonly results: readonly number[];
  readonly fn: (ctx: Context, mod: Module, stack: BigUint64Array, sys: SysContext) => Errno;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

const u32 = (v: bigint | undefined): number => Number((v ?? 0n) & 0xffffffffn);
const i64 = (v: bigint | undefined): bigint => BigInt.asIntN(64, v ?? 0n);
const u16 = (v: bigint | undefined): number => Number((v ?? 0n) & 0xffffn);

function sysOf(mod: Module): SysContext | undefined {
  return mod instanceof ModuleInstance ? mod.sys : undefined;
}

function lookup(sys: SysContext, fd: number): FileEntry | undefined {
  return sys.files.get(fd >>> 0);
}

/**
 * Whether `e` holds every right in `rights`: 0, EBADF for a missing `fd_read`/`fd_write` (not open for
 * it, as POSIX answers), ENOTCAPABLE for any other missing right.
 */
function missingRights(e: FileEntry, rights: number): Errno {
  const missing = rights & ~e.rightsBase;
  if (missing === 0) return 0;
  return (missing & (RIGHTS.FD_READ | RIGHTS.FD_WRITE)) !== 0 ? EBADF : ENOTCAPABLE;
}

/** The entry of `fd` if it holds `rights` (see {@link missingRights}); EBADF for no such descriptor. */
function entryWith(sys: SysContext, fd: number, rights: number): FileEntry | Errno {
  const e = lookup(sys, fd);
  if (e === undefined) return EBADF;
  const bad = missingRights(e, rights);
  return bad === 0 ? e : bad;
}

/** The 30 defined rights of a raw `rights` parameter. */
const rightsOf = (v: bigint | undefined): number => Number(BigInt.asUintN(30, v ?? 0n)) & RIGHTS_ALL;

function readString(v: MemView, ptr: number, len: number): string | undefined {
  if (!inBounds(v, ptr, len)) return undefined;
  return decoder.decode(v.u8.subarray(ptr, ptr + len));
}

/**
 * wazero's `atPath`, with rights: reads the path of a `path_*` call made through the directory `fd`,
 * which must hold `rights`, and gives the FS and the path inside it. A pre-opened root passes the
 * path on as is (its FS refuses to leave the root); any other directory resolves it here with itself
 * as the floor, so neither `..` nor a symlink can climb above the descriptor. `follow` is whether a
 * final symlink is followed; `walk` resolves here even at a root (to follow a final symlink the FS
 * operation itself would not).
 */
function atPath(
  sys: SysContext,
  v: MemView,
  fd: number,
  ptr: number,
  len: number,
  rights: number,
  follow: boolean,
  walk = false,
): [FS, string] | Errno {
  const p = readString(v, ptr, len);
  if (p === undefined) return EFAULT;
  if (p.length > MAX_PATH) return ENAMETOOLONG;
  const e = lookup(sys, fd);
  if (e === undefined) return EBADF;
  if (e.fs === undefined || !e.file.isDir()) return ENOTDIR;
  const bad = missingRights(e, rights);
  if (bad !== 0) return bad;
  if (p.startsWith('/')) return EPERM;
  const rel = p === '' ? '.' : p;
  if (e.path === '.' && !walk) return [e.fs, rel];
  const r = resolveBeneath(rel, follow, lookupOf(e.fs), e.path);
  return typeof r === 'number' ? r : [e.fs, r];
}

/**
 * Resolves the two (fd, path) pairs of path_link and path_rename, with the rights each side needs.
 * Both must lie in one filesystem: linking or renaming across mounts is ENOSYS, as in wazero.
 */
function atTwoPaths(
  sys: SysContext,
  v: MemView,
  from: readonly [fd: number, ptr: number, len: number, rights: number, follow: boolean],
  to: readonly [fd: number, ptr: number, len: number, rights: number],
): [FS, string, string] | Errno {
  const a = atPath(sys, v, from[0], from[1], from[2], from[3], from[4], from[4]);
  if (typeof a === 'number') return a;
  const b = atPath(sys, v, to[0], to[1], to[2], to[3], false);
  if (typeof b === 'number') return b;
  if (a[0] !== b[0]) return ENOSYS;
  return [a[0], a[1], b[1]];
}

function writeFilestat(
  v: MemView,
  at: number,
  st: { dev: bigint; ino: bigint; type: number; nlink: bigint; size: bigint; atim: bigint; mtim: bigint; ctim: bigint },
): void {
  const dv = v.dv;
  dv.setBigUint64(at, BigInt.asUintN(64, st.dev), true);
  dv.setBigUint64(at + 8, BigInt.asUintN(64, st.ino), true);
  dv.setBigUint64(at + 16, BigInt(st.type), true);
  dv.setBigUint64(at + 24, BigInt.asUintN(64, st.nlink), true);
  dv.setBigUint64(at + 32, BigInt.asUintN(64, st.size), true);
  dv.setBigUint64(at + 40, BigInt.asUintN(64, st.atim), true);
  dv.setBigUint64(at + 48, BigInt.asUintN(64, st.mtim), true);
  dv.setBigUint64(at + 56, BigInt.asUintN(64, st.ctim), true);
  wrote(v, at, 64);
}

/** wazero's `toTimes`: fst_flags → (atim, mtim) with UTIME_OMIT for kept times. */
function toTimes(sys: SysContext, atim: bigint, mtim: bigint, fst: number): [bigint, bigint] | Errno {
  const aSet = (fst & FSTFLAGS.ATIM) !== 0;
  const aNow = (fst & FSTFLAGS.ATIM_NOW) !== 0;
  const mSet = (fst & FSTFLAGS.MTIM) !== 0;
  const mNow = (fst & FSTFLAGS.MTIM_NOW) !== 0;
  if ((aSet && aNow) || (mSet && mNow)) return EINVAL;
  let now: bigint | undefined;
  const nowNs = (): bigint => (now ??= sys.walltimeNanos());
  const a = aSet ? atim : aNow ? nowNs() : UTIME_OMIT;
  const m = mSet ? mtim : mNow ? nowNs() : UTIME_OMIT;
  return [a, m];
}

/** readv/writev over iovecs; `io` returns bytes or -errno. Returns the total or an errno (as a negative). */
function iovecs(v: MemView, iovs: number, count: number, io: (buf: Uint8Array) => number, stopShort: boolean): number {
  const stop = count * SIZE.IOVEC;
  if (!inBounds(v, iovs, stop)) return -EFAULT;
  let total = 0;
  for (let p = iovs; p < iovs + stop; p += SIZE.IOVEC) {
    const off = v.dv.getUint32(p, true);
    const len = v.dv.getUint32(p + 4, true);
    if (len === 0 && stopShort) continue;
    if (!inBounds(v, off, len)) return -EFAULT;
    const n = io(v.u8.subarray(off, off + len));
    if (n < 0) return n === -ENOSYS ? -EBADF : n;
    if (stopShort) wrote(v, off, n); // a read into memory
    total += n;
    if (stopShort && n < len) break;
  }
  return total;
}

/**
 * The shared body of fd_read, fd_write, fd_pread and fd_pwrite: runs `io` over the iovecs of `fd`
 * and stores the byte count at `resultAt`.
 */
function vectoredIo(
  m: Module,
  sys: SysContext,
  fd: number,
  iovs: number,
  iovsLen: number,
  resultAt: number,
  isRead: boolean,
  rights: number,
  io: (file: FileEntry['file'], buf: Uint8Array) => number,
): number {
  const e = lookup(sys, fd);
  if (e === undefined) return EBADF;
  if (e.file.isDir()) return EISDIR;
  const bad = missingRights(e, rights);
  if (bad !== 0) return bad;
  const v = memView(m);
  const file = e.file;
  const n = iovecs(v, iovs, iovsLen, (b) => io(file, b), isRead);
  if (n < 0) return -n;
  if (!inBounds(v, resultAt, 4)) return EFAULT;
  v.dv.setUint32(resultAt, n, true);
  wrote(v, resultAt, 4);
  return 0;
}

/** An `io` for the positioned variants: reads or writes at `offset`, advancing it. */
function atOffset(
  offset: bigint,
  op: (file: FileEntry['file'], buf: Uint8Array, off: number) => number,
): (file: FileEntry['file'], buf: Uint8Array) => number {
  let off = Number(offset);
  return (file, b) => {
    if (b.length === 0) return 0;
    const r = op(file, b, off);
    if (r > 0) off += r;
    return r;
  };
}

// ---------------------------------------------------------------- args, environ

function stringsGet(list: readonly Uint8Array[], v: MemView, ptrs: number, buf: number): Errno {
  let size = 0;
  for (const s of list) size += s.length;
  if (!inBounds(v, ptrs, list.length * 4) || !inBounds(v, buf, size)) return EFAULT;
  let at = buf;
  list.forEach((s, i) => {
    v.dv.setUint32(ptrs + i * 4, at, true);
    v.u8.set(s, at);
    at += s.length;
  });
  wrote(v, ptrs, list.length * 4);
  wrote(v, buf, size);
  return 0;
}

function sizesGet(list: readonly Uint8Array[], v: MemView, countPtr: number, sizePtr: number): Errno {
  if (!inBounds(v, countPtr, 4) || !inBounds(v, sizePtr, 4)) return EFAULT;
  let size = 0;
  for (const s of list) size += s.length;
  v.dv.setUint32(countPtr, list.length, true);
  v.dv.setUint32(sizePtr, size, true);
  wrote(v, countPtr, 4);
  wrote(v, sizePtr, 4);
  return 0;
}

// ---------------------------------------------------------------- the table

function f(name: string, params: ReadonlyArray<readonly [number, string]>, fn: WasiFunction['fn']): WasiFunction {
  return { name, params: params.map((p) => p[0]), paramNames: params.map((p) => p[1]), results: [I32], fn };
}

/** A function wazero leaves unimplemented: always ENOSYS. */
function stub(name: string, params: ReadonlyArray<readonly [number, string]>): WasiFunction {
  return f(name, params, () => ENOSYS);
}

function fdOnly(name: string, rights: number, op: (e: FileEntry) => Errno): WasiFunction {
  return f(name, [[I32, 'fd']], (_c, _m, s, sys) => {
    const e = entryWith(sys, u32(s[0]), rights);
    return typeof e === 'number' ? e : op(e);
  });
}

function dirents(e: FileEntry): Dirent[] | Errno {
  const list = e.file.readdir();
  if (typeof list === 'number') return list === ENOTDIR ? EBADF : list;
  const st = e.file.stat();
  const ino = typeof st === 'number' ? 0n : st.ino;
  let parentIno = ino;
  if (e.fs !== undefined && e.path !== '.') {
    const ps = e.fs.stat(`${e.path}/..`);
    if (typeof ps !== 'number') parentIno = ps.ino;
  }
  return [{ name: '.', ino, type: FileType.DIRECTORY }, { name: '..', ino: parentIno, type: FileType.DIRECTORY }, ...list];
}

const encoder = new TextEncoder();

/** All functions, in wazero's export order. */
export const WASI_FUNCTIONS: readonly WasiFunction[] = [
  f(
    'args_get',
    [
      [I32, 'argv'],
      [I32, 'argv_buf'],
    ],
    (_c, m, s, sys) => stringsGet(sys.args, memView(m), u32(s[0]), u32(s[1])),
  ),
  f(
    'args_sizes_get',
    [
      [I32, 'result.argc'],
      [I32, 'result.argv_len'],
    ],
    (_c, m, s, sys) => sizesGet(sys.args, memView(m), u32(s[0]), u32(s[1])),
  ),
  f(
    'environ_get',
    [
      [I32, 'environ'],
      [I32, 'environ_buf'],
    ],
    (_c, m, s, sys) => stringsGet(sys.environ, memView(m), u32(s[0]), u32(s[1])),
  ),
  f(
    'environ_sizes_get',
    [
      [I32, 'result.environc'],
      [I32, 'result.environv_len'],
    ],
    (_c, m, s, sys) => sizesGet(sys.environ, memView(m), u32(s[0]), u32(s[1])),
  ),
  f(
    'clock_res_get',
    [
      [I32, 'id'],
      [I32, 'result.resolution'],
    ],
    (_c, m, s, sys) => {
      const id = u32(s[0]);
      const at = u32(s[1]);
      let res: number;
      if (id === CLOCKID_REALTIME) res = sys.walltimeResolution;
      else if (id === CLOCKID_MONOTONIC) res = sys.nanotimeResolution;
      else return EINVAL;
      const v = memView(m);
      if (!inBounds(v, at, 8)) return EFAULT;
      v.dv.setBigUint64(at, BigInt(res), true);
      wrote(v, at, 8);
      return 0;
    },
  ),
  f(
    'clock_time_get',
    [
      [I32, 'id'],
      [I64, 'precision'],
      [I32, 'result.timestamp'],
    ],
    (_c, m, s, sys) => {
      const id = u32(s[0]);
      const at = u32(s[2]);
      if (id !== CLOCKID_REALTIME && id !== CLOCKID_MONOTONIC) return EINVAL;
      const v = memView(m);
      if (!inBounds(v, at, 8)) return EFAULT;
      const t = id === CLOCKID_REALTIME ? sys.walltimeNanos() : sys.nanotime();
      v.dv.setBigUint64(at, BigInt.asUintN(64, t), true);
      wrote(v, at, 8);
      return 0;
    },
  ),
  f(
    'fd_advise',
    [
      [I32, 'fd'],
      [I64, 'offset'],
      [I64, 'len'],
      [I32, 'advice'],
    ],
    (_c, _m, s, sys) => {
      const e = entryWith(sys, u32(s[0]), RIGHTS.FD_ADVISE);
      if (typeof e === 'number') return e;
      // posix_fadvise is only a hint: accepting it without acting is correct.
      return u32(s[3]) <= 5 ? 0 : EINVAL;
    },
  ),
  f(
    'fd_allocate',
    [
      [I32, 'fd'],
      [I64, 'offset'],
      [I64, 'len'],
    ],
    (_c, _m, s, sys) => {
      const e = entryWith(sys, u32(s[0]), RIGHTS.FD_ALLOCATE);
      if (typeof e === 'number') return e;
      const tail = BigInt.asIntN(64, (s[1] ?? 0n) + (s[2] ?? 0n));
      if (tail < 0n) return EINVAL;
      const st = e.file.stat();
      if (typeof st === 'number') return st;
      if (st.size >= tail) return 0;
      return e.file.truncate(Number(tail));
    },
  ),
  f('fd_close', [[I32, 'fd']], (_c, _m, s, sys) => {
    const fd = u32(s[0]);
    const e = lookup(sys, fd);
    if (e === undefined) return EBADF;
    // Only the guest's view closes: stdio streams never close the host's descriptors.
    const errno = e.file.close();
    sys.files.delete(fd);
    return errno;
  }),
  fdOnly('fd_datasync', RIGHTS.FD_DATASYNC, (e) => e.file.datasync()),
  f(
    'fd_fdstat_get',
    [
      [I32, 'fd'],
      [I32, 'result.stat'],
    ],
    (_c, m, s, sys) => {
      const at = u32(s[1]);
      const v = memView(m);
      if (!inBounds(v, at, SIZE.FDSTAT)) return EFAULT;
      const e = lookup(sys, u32(s[0]));
      if (e === undefined) return EBADF;
      const st = e.file.stat();
      if (typeof st === 'number') return st;
      v.dv.setUint16(at, st.type, true);
      v.dv.setUint16(at + 2, e.fdflags, true);
      v.dv.setUint32(at + 4, 0, true);
      v.dv.setBigUint64(at + 8, BigInt(e.rightsBase), true);
      v.dv.setBigUint64(at + 16, BigInt(e.rightsInheriting), true);
      wrote(v, at, SIZE.FDSTAT);
      return 0;
    },
  ),
  f(
    'fd_fdstat_set_flags',
    [
      [I32, 'fd'],
      [I32, 'flags'],
    ],
    (_c, _m, s, sys) => {
      const flags = u16(s[1]);
      const e = entryWith(sys, u32(s[0]), RIGHTS.FD_FDSTAT_SET_FLAGS);
      if (typeof e === 'number') return e;
      // As fcntl(F_SETFL): the sync flags are fixed at open.
      if ((flags & (FDFLAGS.DSYNC | FDFLAGS.RSYNC | FDFLAGS.SYNC)) !== 0) return EINVAL;
      let changed: number = FDFLAGS.NONBLOCK;
      const st = e.file.stat();
      // Only regular files take APPEND (streams and directories ignore it, as in wazero).
      if (typeof st !== 'number' && st.type === FileType.REGULAR_FILE) {
        const errno = e.file.setAppend((flags & FDFLAGS.APPEND) !== 0);
        if (errno !== 0) return errno;
        changed |= FDFLAGS.APPEND;
      }
      const nonblock = e.file.setNonblock?.((flags & FDFLAGS.NONBLOCK) !== 0) ?? 0;
      if (nonblock !== 0) return nonblock;
      e.fdflags = (e.fdflags & ~changed) | (flags & changed);
      return 0;
    },
  ),
  f(
    'fd_fdstat_set_rights',
    [
      [I32, 'fd'],
      [I64, 'fs_rights_base'],
      [I64, 'fs_rights_inheriting'],
    ],
    (_c, _m, s, sys) => {
      const e = lookup(sys, u32(s[0]));
      if (e === undefined) return EBADF;
      const base = s[1] ?? 0n;
      const inheriting = s[2] ?? 0n;
      // Rights can only be dropped.
      if ((base & ~BigInt(e.rightsBase)) !== 0n || (inheriting & ~BigInt(e.rightsInheriting)) !== 0n) return ENOTCAPABLE;
      e.rightsBase = Number(base);
      e.rightsInheriting = Number(inheriting);
      return 0;
    },
  ),
  f(
    'fd_filestat_get',
    [
      [I32, 'fd'],
      [I32, 'result.filestat'],
    ],
    (_c, m, s, sys) => {
      const at = u32(s[1]);
      const v = memView(m);
      if (!inBounds(v, at, SIZE.FILESTAT)) return EFAULT;
      const e = entryWith(sys, u32(s[0]), RIGHTS.FD_FILESTAT_GET);
      if (typeof e === 'number') return e;
      const st = e.file.stat();
      if (typeof st === 'number') return st;
      writeFilestat(v, at, st);
      return 0;
    },
  ),
  f(
    'fd_filestat_set_size',
    [
      [I32, 'fd'],
      [I64, 'size'],
    ],
    (_c, _m, s, sys) => {
      const e = entryWith(sys, u32(s[0]), RIGHTS.FD_FILESTAT_SET_SIZE);
      if (typeof e === 'number') return e;
      const size = i64(s[1]);
      if (size < 0n) return EINVAL;
      return e.file.truncate(Number(size));
    },
  ),
  f(
    'fd_filestat_set_times',
    [
      [I32, 'fd'],
      [I64, 'atim'],
      [I64, 'mtim'],
      [I32, 'fst_flags'],
    ],
    (_c, _m, s, sys) => {
      const e = entryWith(sys, u32(s[0]), RIGHTS.FD_FILESTAT_SET_TIMES);
      if (typeof e === 'number') return e;
      const t = toTimes(sys, i64(s[1]), i64(s[2]), u16(s[3]));
      if (typeof t === 'number') return t;
      return e.file.utimens(t[0], t[1]);
    },
  ),
  f(
    'fd_pread',
    [
      [I32, 'fd'],
      [I32, 'iovs'],
      [I32, 'iovs_len'],
      [I64, 'offset'],
      [I32, 'result.nread'],
    ],
    (_c, m, s, sys) =>
      vectoredIo(
        m,
        sys,
        u32(s[0]),
        u32(s[1]),
        u32(s[2]),
        u32(s[4]),
        true,
        RIGHTS.FD_READ | RIGHTS.FD_SEEK,
        atOffset(i64(s[3]), (f, b, off) => f.pread(b, off)),
      ),
  ),
  f(
    'fd_prestat_get',
    [
      [I32, 'fd'],
      [I32, 'result.prestat'],
    ],
    (_c, m, s, sys) => {
      const e = lookup(sys, u32(s[0]));
      if (e === undefined || e.preopenName === undefined) return EBADF;
      const v = memView(m);
      const at = u32(s[1]);
      if (!inBounds(v, at, 8)) return EFAULT;
      // tag 0 (preopentype dir), 3 bytes padding, then u32 name length.
      v.dv.setUint32(at, 0, true);
      v.dv.setUint32(at + 4, encoder.encode(e.preopenName).length, true);
      wrote(v, at, 8);
      return 0;
    },
  ),
  f(
    'fd_prestat_dir_name',
    [
      [I32, 'fd'],
      [I32, 'result.path'],
      [I32, 'result.path_len'],
    ],
    (_c, m, s, sys) => {
      const e = lookup(sys, u32(s[0]));
      if (e === undefined || e.preopenName === undefined) return EBADF;
      const name = encoder.encode(e.preopenName);
      // A buffer too small for the whole name fails (a truncated name would be a different path);
      // a larger one is fine.
      if (u32(s[2]) < name.length) return ENAMETOOLONG;
      const v = memView(m);
      const at = u32(s[1]);
      if (!inBounds(v, at, name.length)) return EFAULT;
      v.u8.set(name, at);
      wrote(v, at, name.length);
      return 0;
    },
  ),
  f(
    'fd_pwrite',
    [
      [I32, 'fd'],
      [I32, 'iovs'],
      [I32, 'iovs_len'],
      [I64, 'offset'],
      [I32, 'result.nwritten'],
    ],
    (_c, m, s, sys) =>
      vectoredIo(
        m,
        sys,
        u32(s[0]),
        u32(s[1]),
        u32(s[2]),
        u32(s[4]),
        false,
        RIGHTS.FD_WRITE | RIGHTS.FD_SEEK,
        atOffset(i64(s[3]), (f, b, off) => f.pwrite(b, off)),
      ),
  ),
  f(
    'fd_read',
    [
      [I32, 'fd'],
      [I32, 'iovs'],
      [I32, 'iovs_len'],
      [I32, 'result.nread'],
    ],
    (c, m, s, sys) => {
      const io = (): Errno => vectoredIo(m, sys, u32(s[0]), u32(s[1]), u32(s[2]), u32(s[3]), true, RIGHTS.FD_READ, (f, b) => f.read(b));
      // A socket read may wait: it gives up when the call's context is done.
      return sys.sockets === undefined ? io() : withSockets(sys, c, m, io);
    },
  ),
  f(
    'fd_readdir',
    [
      [I32, 'fd'],
      [I32, 'buf'],
      [I32, 'buf_len'],
      [I64, 'cookie'],
      [I32, 'result.bufused'],
    ],
    (_c, m, s, sys) => {
      const buf = u32(s[1]);
      const bufLen = u32(s[2]);
      const cookie = i64(s[3]);
      if (bufLen < SIZE.DIRENT) return EINVAL;
      const e = entryWith(sys, u32(s[0]), RIGHTS.FD_READDIR);
      if (typeof e === 'number') return e;
      if (cookie < 0n) return EINVAL;
      // The listing is taken at cookie 0 and kept, so every cookie handed out stays valid however
      // large the directory is and however small the guest's buffer.
      if (cookie === 0n || e.dirents === undefined) {
        const list = dirents(e);
        if (typeof list === 'number') return list;
        e.dirents = list;
      }
      const list = e.dirents;
      if (cookie > BigInt(list.length)) return ENOENT;
      const v = memView(m);
      const bufusedAt = u32(s[4]);
      if (!inBounds(v, buf, bufLen)) return EFAULT;
      let pos = 0;
      let truncated = false;
      for (let i = Number(cookie); i < list.length && pos < bufLen; i++) {
        const d = list[i]!;
        const name = encoder.encode(d.name);
        const left = bufLen - pos;
        const at = buf + pos;
        if (SIZE.DIRENT + name.length > left) {
          // No room for the whole entry: write what fits of the header so the caller sees
          // bufused == buf_len and retries with a bigger buffer.
          const hdr = new Uint8Array(SIZE.DIRENT);
          const hv = new DataView(hdr.buffer);
          hv.setBigUint64(0, BigInt(i + 1), true);
          hv.setBigUint64(8, BigInt.asUintN(64, d.ino), true);
          hv.setUint32(16, name.length, true);
          hv.setUint32(20, d.type, true);
          v.u8.set(hdr.subarray(0, Math.min(left, SIZE.DIRENT)), at);
          truncated = true;
          break;
        }
        v.dv.setBigUint64(at, BigInt(i + 1), true);
        v.dv.setBigUint64(at + 8, BigInt.asUintN(64, d.ino), true);
        v.dv.setUint32(at + 16, name.length, true);
        v.dv.setUint32(at + 20, d.type, true);
        v.u8.set(name, at + SIZE.DIRENT);
        pos += SIZE.DIRENT + name.length;
      }
      if (!inBounds(v, bufusedAt, 4)) return EFAULT;
      v.dv.setUint32(bufusedAt, truncated ? bufLen : pos, true);
      wrote(v, buf, truncated ? bufLen : pos);
      wrote(v, bufusedAt, 4);
      return 0;
    },
  ),
  f(
    'fd_renumber',
    [
      [I32, 'fd'],
      [I32, 'to'],
    ],
    (_c, _m, s, sys) => {
      const from = u32(s[0]);
      const to = u32(s[1]);
      const e = lookup(sys, from);
      // As dup2 onto an open descriptor: `to` must be open (wasi-testsuite; wasmtime). Any
      // descriptor may move or be replaced, pre-opens and stdio too: it only changes the guest's own
      // table (a replaced pre-open closes; a host's stdio never does).
      const old = lookup(sys, to);
      if (e === undefined || old === undefined) return EBADF;
      if (from === to) return 0;
      old.file.close();
      sys.files.delete(from);
      sys.files.set(to, e);
      return 0;
    },
  ),
  f(
    'fd_seek',
    [
      [I32, 'fd'],
      [I64, 'offset'],
      [I32, 'whence'],
      [I32, 'result.newoffset'],
    ],
    (_c, m, s, sys) => {
      const offset = i64(s[1]);
      const whence = u32(s[2]);
      // fd_seek implies fd_tell; fd_tell alone allows the seek that only reports the offset.
      const tellOnly = offset === 0n && whence === 1;
      return seek(m, sys, u32(s[0]), offset, whence, u32(s[3]), tellOnly ? RIGHTS.FD_TELL : RIGHTS.FD_SEEK);
    },
  ),
  fdOnly('fd_sync', RIGHTS.FD_SYNC, (e) => e.file.sync()),
  f(
    'fd_tell',
    [
      [I32, 'fd'],
      [I32, 'result.offset'],
    ],
    (_c, m, s, sys) => seek(m, sys, u32(s[0]), 0n, 1, u32(s[1]), RIGHTS.FD_TELL),
  ),
  f(
    'fd_write',
    [
      [I32, 'fd'],
      [I32, 'iovs'],
      [I32, 'iovs_len'],
      [I32, 'result.nwritten'],
    ],
    (c, m, s, sys) => {
      const io = (): Errno => vectoredIo(m, sys, u32(s[0]), u32(s[1]), u32(s[2]), u32(s[3]), false, RIGHTS.FD_WRITE, (f, b) => f.write(b));
      return sys.sockets === undefined ? io() : withSockets(sys, c, m, io);
    },
  ),
  f(
    'path_create_directory',
    [
      [I32, 'fd'],
      [I32, 'path'],
      [I32, 'path_len'],
    ],
    (_c, m, s, sys) => {
      const p = atPath(sys, memView(m), u32(s[0]), u32(s[1]), u32(s[2]), RIGHTS.PATH_CREATE_DIRECTORY, false);
      return typeof p === 'number' ? p : p[0].mkdir(p[1], 0o700);
    },
  ),
  f(
    'path_filestat_get',
    [
      [I32, 'fd'],
      [I32, 'flags'],
      [I32, 'path'],
      [I32, 'path_len'],
      [I32, 'result.filestat'],
    ],
    (_c, m, s, sys) => {
      const v = memView(m);
      const follow = (u32(s[1]) & LOOKUPFLAGS.SYMLINK_FOLLOW) !== 0;
      const p = atPath(sys, v, u32(s[0]), u32(s[2]), u32(s[3]), RIGHTS.PATH_FILESTAT_GET, follow);
      if (typeof p === 'number') return p;
      const st = follow ? p[0].stat(p[1]) : p[0].lstat(p[1]);
      if (typeof st === 'number') return st;
      const at = u32(s[4]);
      if (!inBounds(v, at, SIZE.FILESTAT)) return EFAULT;
      writeFilestat(v, at, st);
      return 0;
    },
  ),
  f(
    'path_filestat_set_times',
    [
      [I32, 'fd'],
      [I32, 'flags'],
      [I32, 'path'],
      [I32, 'path_len'],
      [I64, 'atim'],
      [I64, 'mtim'],
      [I32, 'fst_flags'],
    ],
    (_c, m, s, sys) => {
      const t = toTimes(sys, i64(s[4]), i64(s[5]), u16(s[6]));
      if (typeof t === 'number') return t;
      const follow = (u32(s[1]) & LOOKUPFLAGS.SYMLINK_FOLLOW) !== 0;
      const p = atPath(sys, memView(m), u32(s[0]), u32(s[2]), u32(s[3]), RIGHTS.PATH_FILESTAT_SET_TIMES, follow);
      if (typeof p === 'number') return p;
      return follow ? p[0].utimens(p[1], t[0], t[1]) : p[0].lutimens(p[1], t[0], t[1]);
    },
  ),
  f(
    'path_link',
    [
      [I32, 'old_fd'],
      [I32, 'old_flags'],
      [I32, 'old_path'],
      [I32, 'old_path_len'],
      [I32, 'new_fd'],
      [I32, 'new_path'],
      [I32, 'new_path_len'],
    ],
    (_c, m, s, sys) => {
      const follow = (u32(s[1]) & LOOKUPFLAGS.SYMLINK_FOLLOW) !== 0;
      const p = atTwoPaths(
        sys,
        memView(m),
        [u32(s[0]), u32(s[2]), u32(s[3]), RIGHTS.PATH_LINK_SOURCE, follow],
        [u32(s[4]), u32(s[5]), u32(s[6]), RIGHTS.PATH_LINK_TARGET],
      );
      return typeof p === 'number' ? p : p[0].link(p[1], p[2]);
    },
  ),
  f(
    'path_open',
    [
      [I32, 'fd'],
      [I32, 'dirflags'],
      [I32, 'path'],
      [I32, 'path_len'],
      [I32, 'oflags'],
      [I64, 'fs_rights_base'],
      [I64, 'fs_rights_inheriting'],
      [I32, 'fdflags'],
      [I32, 'result.opened_fd'],
    ],
    (_c, m, s, sys) => {
      const v = memView(m);
      const dirFd = u32(s[0]);
      const dirflags = u16(s[1]);
      const pathLen = u32(s[3]);
      const oflags = u16(s[4]);
      const fdflags = u16(s[7]);
      let need: number = RIGHTS.PATH_OPEN;
      if ((oflags & OFLAGS.CREAT) !== 0) need |= RIGHTS.PATH_CREATE_FILE;
      if ((oflags & OFLAGS.TRUNC) !== 0) need |= RIGHTS.PATH_FILESTAT_SET_SIZE;
      const follow = (dirflags & LOOKUPFLAGS.SYMLINK_FOLLOW) !== 0;
      const p = atPath(sys, v, dirFd, u32(s[2]), pathLen, need, follow);
      if (typeof p === 'number') return p;
      if (pathLen === 0) return EINVAL;
      // The new descriptor gets what it asks for as far as its directory may hand it on (asking for
      // more is not an error: wasi-libc and Go ask for every right and take what they get).
      const dir = lookup(sys, dirFd)!;
      const base = rightsOf(s[5]) & dir.rightsInheriting;
      const inheriting = rightsOf(s[6]) & dir.rightsInheriting;
      const flag = openFlags(dirflags, oflags, fdflags, base);
      const isDir = (flag & Oflag.DIRECTORY) !== 0;
      if (isDir && (oflags & OFLAGS.CREAT) !== 0) return EINVAL;
      const file = p[0].openFile(p[1], flag, 0o600);
      if (typeof file === 'number') return file;
      if (isDir && !file.isDir()) {
        file.close();
        return ENOTDIR;
      }
      let path = p[1];
      if (file.isDir()) {
        // Lookups through a directory descriptor are confined beneath its resolved path.
        const r = resolveBeneath(p[1], true, lookupOf(p[0]));
        if (typeof r === 'number') {
          file.close();
          return r;
        }
        path = stripDirOnly(r);
      }
      const at = u32(s[8]);
      if (!inBounds(v, at, 4)) {
        file.close();
        return EFAULT;
      }
      const acc = flag & O_ACCMODE;
      const mask = rightsMask(file.isDir() ? 'dir' : 'file', acc !== Oflag.WRONLY, acc !== Oflag.RDONLY);
      const fd = sys.files.insert({
        file,
        fs: p[0],
        path,
        preopenName: undefined,
        dirents: undefined,
        rightsBase: base & mask,
        rightsInheriting: inheriting,
        fdflags: fdflags & (FDFLAGS.APPEND | FDFLAGS.DSYNC | FDFLAGS.NONBLOCK | FDFLAGS.RSYNC | FDFLAGS.SYNC),
      });
      v.dv.setUint32(at, fd, true);
      wrote(v, at, 4);
      return 0;
    },
  ),
  f(
    'path_readlink',
    [
      [I32, 'fd'],
      [I32, 'path'],
      [I32, 'path_len'],
      [I32, 'buf'],
      [I32, 'buf_len'],
      [I32, 'result.bufused'],
    ],
    (_c, m, s, sys) => {
      const pathLen = u32(s[2]);
      const bufLen = u32(s[4]);
      if (pathLen === 0 || bufLen === 0) return EINVAL;
      const v = memView(m);
      const p = atPath(sys, v, u32(s[0]), u32(s[1]), pathLen, RIGHTS.PATH_READLINK, false);
      if (typeof p === 'number') return p;
      const target = p[0].readlink(p[1]);
      if (typeof target === 'number') return target;
      // As readlink(2): a small buffer gets the first bytes of the target.
      const bytes = encoder.encode(target).subarray(0, bufLen);
      const buf = u32(s[3]);
      if (!inBounds(v, buf, bytes.length)) return EFAULT;
      v.u8.set(bytes, buf);
      wrote(v, buf, bytes.length);
      const at = u32(s[5]);
      if (!inBounds(v, at, 4)) return EFAULT;
      v.dv.setUint32(at, bytes.length, true);
      wrote(v, at, 4);
      return 0;
    },
  ),
  f(
    'path_remove_directory',
    [
      [I32, 'fd'],
      [I32, 'path'],
      [I32, 'path_len'],
    ],
    (_c, m, s, sys) => {
      const p = atPath(sys, memView(m), u32(s[0]), u32(s[1]), u32(s[2]), RIGHTS.PATH_REMOVE_DIRECTORY, false);
      return typeof p === 'number' ? p : p[0].rmdir(p[1]);
    },
  ),
  f(
    'path_rename',
    [
      [I32, 'fd'],
      [I32, 'old_path'],
      [I32, 'old_path_len'],
      [I32, 'new_fd'],
      [I32, 'new_path'],
      [I32, 'new_path_len'],
    ],
    (_c, m, s, sys) => {
      const p = atTwoPaths(
        sys,
        memView(m),
        [u32(s[0]), u32(s[1]), u32(s[2]), RIGHTS.PATH_RENAME_SOURCE, false],
        [u32(s[3]), u32(s[4]), u32(s[5]), RIGHTS.PATH_RENAME_TARGET],
      );
      return typeof p === 'number' ? p : p[0].rename(p[1], p[2]);
    },
  ),
  f(
    'path_symlink',
    [
      [I32, 'old_path'],
      [I32, 'old_path_len'],
      [I32, 'fd'],
      [I32, 'new_path'],
      [I32, 'new_path_len'],
    ],
    (_c, m, s, sys) => {
      const fd = u32(s[2]);
      const oldLen = u32(s[1]);
      const v = memView(m);
      const p = atPath(sys, v, fd, u32(s[3]), u32(s[4]), RIGHTS.PATH_SYMLINK, false);
      if (typeof p === 'number') return p;
      if (oldLen === 0 || u32(s[4]) === 0) return EINVAL;
      const target = readString(v, u32(s[0]), oldLen);
      if (target === undefined) return EFAULT;
      // An absolute target could only ever name something outside the sandbox. A relative one is
      // stored as given and checked whenever it is followed.
      if (target.startsWith('/')) return EPERM;
      return p[0].symlink(target, p[1]);
    },
  ),
  f(
    'path_unlink_file',
    [
      [I32, 'fd'],
      [I32, 'path'],
      [I32, 'path_len'],
    ],
    (_c, m, s, sys) => {
      const p = atPath(sys, memView(m), u32(s[0]), u32(s[1]), u32(s[2]), RIGHTS.PATH_UNLINK_FILE, false);
      return typeof p === 'number' ? p : p[0].unlink(p[1]);
    },
  ),
  f(
    'poll_oneoff',
    [
      [I32, 'in'],
      [I32, 'out'],
      [I32, 'nsubscriptions'],
      [I32, 'result.nevents'],
    ],
    (c, m, s, sys) => pollOneoff(memView(m), sys, u32(s[0]), u32(s[1]), u32(s[2]), u32(s[3]), c, m),
  ),
  {
    name: 'proc_exit',
    params: [I32],
    paramNames: ['rval'],
    results: [],
    fn: (ctx, m, s) => {
      const code = u32(s[0]);
      // Close the calling module first, so a caller catching the error sees it closed.
      if (m instanceof ModuleInstance) m.closeNow(code, ctx);
      throw new ExitError(code);
    },
  },
  stub('proc_raise', [[I32, 'sig']]),
  f('sched_yield', [], (_c, _m, _s, sys) => {
    sys.osyield();
    return 0;
  }),
  f(
    'random_get',
    [
      [I32, 'buf'],
      [I32, 'buf_len'],
    ],
    (_c, m, s, sys) => {
      const v = memView(m);
      const buf = u32(s[0]);
      const len = u32(s[1]);
      if (!inBounds(v, buf, len)) return EFAULT;
      try {
        const dst = v.u8.subarray(buf, buf + len);
        wrote(v, buf, len);
        let done = 0;
        while (done < len) {
          const n = sys.random.read(dst.subarray(done));
          if (n <= 0) return EIO;
          done += n;
        }
        return 0;
      } catch {
        return EIO;
      }
    },
  ),
  f(
    'sock_accept',
    [
      [I32, 'fd'],
      [I32, 'flags'],
      [I32, 'result.fd'],
    ],
    (c, m, s, sys) => {
      const l = listenerEntry(sys, u32(s[0]));
      if (typeof l === 'number') return l;
      const flags = u16(s[1]);
      if ((flags & ~FDFLAGS.NONBLOCK) !== 0) return EINVAL;
      const at = u32(s[2]);
      if (!inBounds(memView(m), at, 4)) return EFAULT;
      const conn = withSockets(sys, c, m, () => l.file.accept((l.entry.fdflags & FDFLAGS.NONBLOCK) !== 0));
      return typeof conn === 'number' ? conn : storeAccepted(m, sys, conn, flags, at);
    },
  ),
  f(
    'sock_recv',
    [
      [I32, 'fd'],
      [I32, 'ri_data'],
      [I32, 'ri_data_len'],
      [I32, 'ri_flags'],
      [I32, 'result.ro_datalen'],
      [I32, 'result.ro_flags'],
    ],
    (c, m, s, sys) => {
      const r = recvArgs(m, sys, s);
      if (typeof r === 'number') return r;
      const n = withSockets(sys, c, m, () => r.conn.recv(r.buf, r.peek, r.waitall));
      return recvDone(m, r, n);
    },
  ),
  f(
    'sock_send',
    [
      [I32, 'fd'],
      [I32, 'si_data'],
      [I32, 'si_data_len'],
      [I32, 'si_flags'],
      [I32, 'result.so_datalen'],
    ],
    (c, m, s, sys) => {
      const conn = connEntry(sys, u32(s[0]), RIGHTS.FD_WRITE);
      if (typeof conn === 'number') return conn;
      if (u16(s[3]) !== 0) return EINVAL;
      const v = memView(m);
      const at = u32(s[4]);
      if (!inBounds(v, at, 4)) return EFAULT;
      const data = gather(v, u32(s[1]), u32(s[2]));
      if (typeof data === 'number') return data;
      const n = withSockets(sys, c, m, () => conn.send(data));
      if (n < 0) return -n;
      memView(m).dv.setUint32(at, n, true);
      return 0;
    },
  ),
  f(
    'sock_shutdown',
    [
      [I32, 'fd'],
      [I32, 'how'],
    ],
    (_c, _m, s, sys) => {
      const conn = connEntry(sys, u32(s[0]), RIGHTS.SOCK_SHUTDOWN);
      if (typeof conn === 'number') return conn;
      const how = u32(s[1]);
      if (how === 0 || (how & ~(SDFLAGS.RD | SDFLAGS.WR)) !== 0) return EINVAL;
      return conn.shutdown(how);
    },
  ),
];

/** The listener at `fd`: EBADF for no descriptor, ENOTSOCK for another file, ENOTCAPABLE without `sock_accept`. */
function listenerEntry(sys: SysContext, fd: number): { entry: FileEntry; file: TcpListenerFile } | Errno {
  const e = lookup(sys, fd);
  if (e === undefined) return EBADF;
  if (!(e.file instanceof TcpListenerFile)) return ENOTSOCK;
  const bad = missingRights(e, RIGHTS.SOCK_ACCEPT);
  return bad !== 0 ? bad : { entry: e, file: e.file };
}

/** The connection at `fd` holding `rights`: ENOTCONN for a listener, ENOTSOCK for another file. */
function connEntry(sys: SysContext, fd: number, rights: number): TcpConnFile | Errno {
  const e = lookup(sys, fd);
  if (e === undefined) return EBADF;
  if (e.file instanceof TcpListenerFile) return ENOTCONN;
  if (!(e.file instanceof TcpConnFile)) return ENOTSOCK;
  const bad = missingRights(e, rights);
  return bad !== 0 ? bad : e.file;
}

/**
 * Runs a socket operation that may block, letting it give up when the call's context is done
 * (`withCloseOnContextDone` deadlines and cancels): the call then stops as the engines stop it.
 */
function withSockets<T extends number | object>(sys: SysContext, ctx: Context, mod: Module, op: () => T): T {
  const host = sys.sockets;
  if (host === undefined) return op();
  host.doneCode = contextCanBeDone(ctx) ? () => contextDoneExitCode(ctx) : undefined;
  let r: T;
  try {
    r = op();
  } finally {
    host.doneCode = undefined;
  }
  if (host.interruptedWith !== 0 && (r === EINTR || r === -EINTR)) throw stopForContextDone(mod, host.interruptedWith, ctx);
  return r;
}

/** Gives an accepted connection the lowest free descriptor and stores it at `at`. */
function storeAccepted(m: Module, sys: SysContext, conn: TcpConnFile, flags: number, at: number): Errno {
  conn.nonblock = (flags & FDFLAGS.NONBLOCK) !== 0;
  const fd = sys.files.insert({
    file: conn,
    fs: undefined,
    path: '',
    preopenName: undefined,
    dirents: undefined,
    rightsBase: SOCKET_RIGHTS,
    rightsInheriting: 0,
    fdflags: flags & FDFLAGS.NONBLOCK,
  });
  memView(m).dv.setUint32(at, fd, true);
  return 0;
}

/** The bytes of an iovec list, concatenated (or EFAULT). */
function gather(v: MemView, iovs: number, count: number): Uint8Array | Errno {
  const list = iovecList(v, iovs, count);
  if (typeof list === 'number') return list;
  const out = new Uint8Array(list.reduce((n, [, len]) => n + len, 0));
  let at = 0;
  for (const [ptr, len] of list) {
    out.set(v.u8.subarray(ptr, ptr + len), at);
    at += len;
  }
  return out;
}

/** The (pointer, length) pairs of an iovec list, each checked against memory. */
function iovecList(v: MemView, iovs: number, count: number): Array<[number, number]> | Errno {
  if (!inBounds(v, iovs, count * SIZE.IOVEC)) return EFAULT;
  const list: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const ptr = v.dv.getUint32(iovs + i * SIZE.IOVEC, true);
    const len = v.dv.getUint32(iovs + i * SIZE.IOVEC + 4, true);
    if (!inBounds(v, ptr, len)) return EFAULT;
    list.push([ptr, len]);
  }
  return list;
}

/** A sock_recv's decoded arguments: the connection, a buffer as long as its iovecs, and where the results go. */
interface RecvArgs {
  readonly conn: TcpConnFile;
  readonly buf: Uint8Array;
  readonly iovs: number;
  readonly count: number;
  readonly peek: boolean;
  readonly waitall: boolean;
  readonly lenAt: number;
  readonly flagsAt: number;
}

function recvArgs(m: Module, sys: SysContext, s: BigUint64Array): RecvArgs | Errno {
  const conn = connEntry(sys, u32(s[0]), RIGHTS.FD_READ);
  if (typeof conn === 'number') return conn;
  const flags = u16(s[3]);
  if ((flags & ~(RIFLAGS.RECV_PEEK | RIFLAGS.RECV_WAITALL)) !== 0) return EINVAL;
  const v = memView(m);
  const lenAt = u32(s[4]);
  const flagsAt = u32(s[5]);
  if (!inBounds(v, lenAt, 4) || !inBounds(v, flagsAt, 2)) return EFAULT;
  const list = iovecList(v, u32(s[1]), u32(s[2]));
  if (typeof list === 'number') return list;
  const total = list.reduce((n, [, len]) => n + len, 0);
  return {
    conn,
    buf: new Uint8Array(total),
    iovs: u32(s[1]),
    count: u32(s[2]),
    peek: (flags & RIFLAGS.RECV_PEEK) !== 0,
    waitall: (flags & RIFLAGS.RECV_WAITALL) !== 0,
    lenAt,
    flagsAt,
  };
}

/** Scatters `n` received bytes into the iovecs (read again: memory may have grown) and stores the results. */
function recvDone(m: Module, r: RecvArgs, n: number): Errno {
  if (n < 0) return -n;
  const v = memView(m);
  const list = iovecList(v, r.iovs, r.count);
  if (typeof list === 'number') return list;
  let from = 0;
  for (const [ptr, len] of list) {
    if (from >= n) break;
    const k = Math.min(len, n - from);
    v.u8.set(r.buf.subarray(from, from + k), ptr);
    from += k;
  }
  v.dv.setUint32(r.lenAt, n, true);
  v.dv.setUint16(r.flagsAt, 0, true);
  return 0;
}

/** fd_seek and fd_tell; `rights` is FD_TELL when only the offset is asked for (FD_SEEK implies it). */
function seek(m: Module, sys: SysContext, fd: number, offset: bigint, whence: number, at: number, rights: number): Errno {
  const e = lookup(sys, fd);
  if (e === undefined) return EBADF;
  if (e.file.isDir()) return EISDIR;
  if (missingRights(e, rights) !== 0 && missingRights(e, RIGHTS.FD_SEEK) !== 0) return ENOTCAPABLE;
  if (whence > 2) return EINVAL;
  const r = e.file.seek(Number(offset), whence);
  if (r < 0) return -r;
  const v = memView(m);
  if (!inBounds(v, at, 8)) return EFAULT;
  v.dv.setBigUint64(at, BigInt(r), true);
  wrote(v, at, 8);
  return 0;
}

/** wazero's `openFlags`: WASI dirflags/oflags/fdflags and the granted base rights → an {@link Oflag} value. */
export function openFlags(dirflags: number, oflags: number, fdflags: number, rights: number): number {
  let flag = 0;
  if ((dirflags & LOOKUPFLAGS.SYMLINK_FOLLOW) === 0) flag |= Oflag.NOFOLLOW;
  if ((oflags & OFLAGS.DIRECTORY) !== 0) flag |= Oflag.DIRECTORY;
  else if ((oflags & OFLAGS.EXCL) !== 0) flag |= Oflag.EXCL;
  let mode: number = Oflag.RDONLY;
  if ((oflags & OFLAGS.TRUNC) !== 0) {
    flag |= Oflag.TRUNC;
    mode = Oflag.RDWR;
  }
  if ((oflags & OFLAGS.CREAT) !== 0) {
    flag |= Oflag.CREAT;
    mode = Oflag.RDWR;
  }
  if ((fdflags & FDFLAGS.NONBLOCK) !== 0) flag |= Oflag.NONBLOCK;
  if ((fdflags & FDFLAGS.APPEND) !== 0) {
    flag |= Oflag.APPEND;
    mode = Oflag.RDWR;
  }
  if ((fdflags & FDFLAGS.DSYNC) !== 0) flag |= Oflag.DSYNC;
  if ((fdflags & FDFLAGS.RSYNC) !== 0) flag |= Oflag.RSYNC;
  if ((fdflags & FDFLAGS.SYNC) !== 0) flag |= Oflag.SYNC;
  // FD_READ/FD_WRITE among the granted rights tell the access mode; without either, a descriptor
  // that creates, truncates or appends is opened for writing (it then holds no rights to use it).
  const r = RIGHTS.FD_READ;
  const w = RIGHTS.FD_WRITE;
  if ((rights & (r | w)) === (r | w)) flag |= Oflag.RDWR;
  else if ((rights & w) === w) flag |= Oflag.WRONLY;
  else if ((rights & r) === r) flag |= Oflag.RDONLY;
  else flag |= mode;
  return flag;
}

/** A poll_oneoff in progress: the events reported so far and what is left to wait for. */
interface Poll {
  v: MemView;
  readonly neventsPtr: number;
  nevents: number;
  readonly writeEvent: (userdata: bigint, errno: Errno, type: number) => void;
  readonly clocks: Array<{ userdata: bigint; timeout: bigint }>;
  readonly blockingReads: Array<{ userdata: bigint; entry: FileEntry }>;
  /** The smallest relative clock timeout (ns), if any. */
  timeout: bigint | undefined;
}

/** Reads poll_oneoff's subscriptions and reports those ready at once; the rest is left to wait for. */
function pollBegin(v: MemView, sys: SysContext, inPtr: number, outPtr: number, n: number, neventsPtr: number): Poll | Errno {
  if (n === 0) return EINVAL;
  if (!inBounds(v, inPtr, n * SIZE.SUBSCRIPTION) || !inBounds(v, outPtr, n * SIZE.EVENT) || !inBounds(v, neventsPtr, 4)) return EFAULT;
  const dv = v.dv;
  const poll: Poll = {
    v,
    neventsPtr,
    nevents: 0,
    writeEvent: (userdata, errno, type) => {
      const at = outPtr + poll.nevents * SIZE.EVENT;
      const d = poll.v.dv;
      d.setBigUint64(at, userdata, true);
      d.setUint16(at + 8, toWasiErrno(errno), true);
      d.setUint8(at + 10, type);
      poll.v.u8.fill(0, at + 11, at + SIZE.EVENT);
      wrote(poll.v, at, SIZE.EVENT);
      poll.nevents++;
    },
    clocks: [],
    blockingReads: [],
    timeout: undefined,
  };
  for (let i = 0; i < n; i++) {
    const at = inPtr + i * SIZE.SUBSCRIPTION;
    const userdata = dv.getBigUint64(at, true);
    const tag = dv.getUint8(at + 8);
    switch (tag) {
      case EVENTTYPE.CLOCK: {
        const id = dv.getUint32(at + 16, true);
        const timeout = dv.getBigUint64(at + 24, true);
        const flags = dv.getUint16(at + 40, true);
        if (id !== CLOCKID_REALTIME && id !== CLOCKID_MONOTONIC) poll.writeEvent(userdata, EINVAL, tag);
        else if ((flags & SUBCLOCKFLAGS.SUBSCRIPTION_CLOCK_ABSTIME) !== 0) poll.writeEvent(userdata, ENOTSUP, tag);
        else poll.clocks.push({ userdata, timeout });
        break;
      }
      case EVENTTYPE.FD_READ: {
        const e = entryWith(sys, dv.getUint32(at + 16, true), RIGHTS.POLL_FD_READWRITE | RIGHTS.FD_READ);
        if (typeof e === 'number') poll.writeEvent(userdata, e, tag);
        else if (e.file.pollRead !== undefined) poll.blockingReads.push({ userdata, entry: e });
        else poll.writeEvent(userdata, 0, tag); // files are always readable
        break;
      }
      case EVENTTYPE.FD_WRITE: {
        // Every write here completes synchronously (stdio writers and files block), so whatever
        // may be written to is writable now.
        const e = entryWith(sys, dv.getUint32(at + 16, true), RIGHTS.POLL_FD_READWRITE | RIGHTS.FD_WRITE);
        poll.writeEvent(userdata, typeof e === 'number' ? e : 0, tag);
        break;
      }
      default:
        return EINVAL;
    }
  }
  for (const c of poll.clocks) if (poll.timeout === undefined || c.timeout < poll.timeout) poll.timeout = c.timeout;
  return poll;
}

/** Reports the read subscriptions whose stream `ready` says is ready (or failed). */
function pollReport(p: Poll, r: { userdata: bigint }, ready: boolean | Errno): void {
  if (ready === true) p.writeEvent(r.userdata, 0, EVENTTYPE.FD_READ);
  else if (typeof ready === 'number') p.writeEvent(r.userdata, ready, EVENTTYPE.FD_READ);
}

/** What a poll of streams that are not all sockets of one module gets instead of readiness. */
const NOT_SOCKETS: boolean[] = [];

/** Reports the read subscriptions a socket poll found ready (an errno fails them all). */
function pollReportAll(p: Poll, ready: boolean[] | Errno): void {
  p.blockingReads.forEach((r, i) => pollReport(p, r, typeof ready === 'number' ? ready : ready[i] === true));
}

/** Ends a poll: reports the clocks of the smallest timeout when nothing else is ready; stores nevents. */
function pollEnd(p: Poll, timedOut: boolean): Errno {
  if (timedOut && p.nevents === 0) for (const c of p.clocks) if (c.timeout === p.timeout) p.writeEvent(c.userdata, 0, EVENTTYPE.CLOCK);
  p.v.dv.setUint32(p.neventsPtr, p.nevents, true);
  wrote(p.v, p.neventsPtr, 4);
  return 0;
}

function pollOneoff(
  v: MemView,
  sys: SysContext,
  inPtr: number,
  outPtr: number,
  n: number,
  neventsPtr: number,
  ctx: Context,
  mod: Module,
): Errno {
  const p = pollBegin(v, sys, inPtr, outPtr, n, neventsPtr);
  if (typeof p === 'number') return p;
  const timeout = p.timeout;
  const files = p.blockingReads.map((r) => r.entry.file);
  if (p.nevents > 0) {
    // Something is ready already: report it without waiting, plus any stream that is ready now.
    const ready = pollSockets(files, 0);
    if (ready !== undefined) pollReportAll(p, ready);
    else for (const r of p.blockingReads) if (r.entry.file.pollRead!(0) === true) p.writeEvent(r.userdata, 0, EVENTTYPE.FD_READ);
    return pollEnd(p, false);
  }
  if (files.length > 0) {
    // Sockets of one module wait together in their worker, up to the smallest clock timeout.
    const ready = withSockets(
      sys,
      ctx,
      mod,
      () => pollSockets(files, timeout === undefined ? undefined : Number(timeout) / 1e6) ?? NOT_SOCKETS,
    );
    if (ready !== NOT_SOCKETS) {
      pollReportAll(p, ready);
      p.v = memView(mod);
      return pollEnd(p, true);
    }
  }
  if (p.blockingReads.length > 0) {
    // Wait for input up to the smallest clock timeout (no clock: until input arrives).
    const deadline = timeout === undefined ? undefined : performance.now() + Number(timeout) / 1e6;
    for (;;) {
      for (const r of p.blockingReads) pollReport(p, r, r.entry.file.pollRead!(0));
      if (p.nevents > 0) break;
      const left = deadline === undefined ? 50 : deadline - performance.now();
      if (left <= 0) break;
      p.blockingReads[0]!.entry.file.pollRead!(Math.min(left, 50));
    }
    return pollEnd(p, true);
  }
  if (timeout !== undefined) sys.nanosleep(timeout);
  return pollEnd(p, timeout !== undefined);
}

/**
 * poll_oneoff that waits without blocking the event loop (async WASI): clocks sleep on a timer
 * (the configured `nanosleep` decides how long: none with the default fake clock), and streams that
 * can wait asynchronously (`File.pollReadAsync`, e.g. a host pipe or terminal) honour the timeout.
 */
export async function pollOneoffAsync(
  ctx: Context,
  m: Module,
  sys: SysContext,
  inPtr: number,
  outPtr: number,
  n: number,
  neventsPtr: number,
): Promise<Errno> {
  const p = pollBegin(memView(m), sys, inPtr, outPtr, n, neventsPtr);
  if (typeof p === 'number') return p;
  if (p.nevents > 0 || (p.blockingReads.length > 0 && p.blockingReads.some((r) => r.entry.file.pollReadAsync === undefined))) {
    // Ready at once, or a stream that can only wait synchronously: the synchronous poll decides.
    return pollOneoff(memView(m), sys, inPtr, outPtr, n, neventsPtr, ctx, m);
  }
  const timeoutMs = p.timeout === undefined ? undefined : Number(p.timeout) / 1e6;
  const sockets = pollSocketsAsync(
    p.blockingReads.map((r) => r.entry.file),
    timeoutMs,
  );
  if (sockets !== undefined) {
    pollReportAll(p, await sockets);
  } else if (p.blockingReads.length > 0) {
    const waits = p.blockingReads.map(async (r) => pollReport(p, r, await r.entry.file.pollReadAsync!(timeoutMs)));
    await Promise.race(waits);
  } else if (p.timeout !== undefined) {
    await sys.nanosleepAsync(p.timeout);
  }
  // The memory may have grown while waiting: report through fresh views.
  p.v = memView(m);
  return pollEnd(p, true);
}

/**
 * fd_read that waits without blocking the event loop (async WASI) when the descriptor is a stream
 * that can (`File.readAsync`, e.g. a host pipe or terminal); other files read synchronously.
 */
export async function fdReadAsync(m: Module, sys: SysContext, fd: number, iovs: number, iovsLen: number, resultAt: number): Promise<Errno> {
  const e = lookup(sys, fd);
  const file = e?.file;
  if (e === undefined || file?.readAsync === undefined || file.isDir() || missingRights(e, RIGHTS.FD_READ) !== 0) {
    return vectoredIo(m, sys, fd, iovs, iovsLen, resultAt, true, RIGHTS.FD_READ, (f, b) => f.read(b));
  }
  // Read the iovec list first (the memory may change while waiting), then fill them in order.
  let v = memView(m);
  if (!inBounds(v, iovs, iovsLen * 8)) return EFAULT;
  const list: Array<[number, number]> = [];
  for (let i = 0; i < iovsLen; i++) list.push([v.dv.getUint32(iovs + i * 8, true), v.dv.getUint32(iovs + i * 8 + 4, true)]);
  let total = 0;
  for (const [ptr, len] of list) {
    if (len === 0) continue;
    const buf = new Uint8Array(len);
    const n = await file.readAsync(buf);
    if (n < 0) return total > 0 ? storeCount(m, resultAt, total) : -n;
    v = memView(m);
    if (!inBounds(v, ptr, n)) return EFAULT;
    v.u8.set(buf.subarray(0, n), ptr);
    wrote(v, ptr, n);
    total += n;
    if (n < len) break;
  }
  return storeCount(m, resultAt, total);
}

/** Stores a byte count at `at` (EFAULT when out of bounds). */
function storeCount(m: Module, at: number, n: number): Errno {
  const v = memView(m);
  if (!inBounds(v, at, 4)) return EFAULT;
  v.dv.setUint32(at, n, true);
  wrote(v, at, 4);
  return 0;
}

/** Runs a WASI function for the raw host-function protocol: errno (WASI numbering) in stack[0]. */
export function toHostFunction(w: WasiFunction): (ctx: Context, mod: Module, stack: BigUint64Array) => void {
  const fn = w.fn;
  if (w.results.length === 0) {
    return (ctx, mod, stack) => {
      const sys = sysOf(mod);
      fn(ctx, mod, stack, sys as SysContext);
    };
  }
  return (ctx, mod, stack) => {
    const sys = sysOf(mod);
    if (sys === undefined) {
      stack[0] = BigInt(toWasiErrno(ENOSYS));
      return;
    }
    stack[0] = ERRNO_BIG[fn(ctx, mod, stack, sys)] ?? BigInt(toWasiErrno(EIO));
  };
}

/**
 * The functions async WASI replaces (`instantiate(r, ctx, { asyncIO: true })`): they wait for
 * streams and sleeps without blocking the event loop. The guest must then be called with
 * `callAsync` (its `_start` too).
 */
export const ASYNC_WASI_FUNCTIONS: ReadonlyMap<string, (ctx: Context, mod: Module, stack: BigUint64Array) => Promise<void>> = new Map([
  ['fd_read', asyncHostFunction((m, s, sys) => fdReadAsync(m, sys, u32(s[0]), u32(s[1]), u32(s[2]), u32(s[3])))],
  ['poll_oneoff', asyncHostFunction((m, s, sys, c) => pollOneoffAsync(c, m, sys, u32(s[0]), u32(s[1]), u32(s[2]), u32(s[3])))],
  ['sock_accept', asyncHostFunction(sockAcceptAsync)],
  ['sock_recv', asyncHostFunction(sockRecvAsync)],
]);

function asyncHostFunction(
  fn: (mod: Module, stack: BigUint64Array, sys: SysContext, ctx: Context) => Promise<Errno>,
): (ctx: Context, mod: Module, stack: BigUint64Array) => Promise<void> {
  return async (ctx, mod, stack) => {
    const sys = sysOf(mod);
    stack[0] = sys === undefined ? BigInt(toWasiErrno(ENOSYS)) : (ERRNO_BIG[await fn(mod, stack, sys, ctx)] ?? BigInt(toWasiErrno(EIO)));
  };
}

/** sock_accept that waits for a connection without blocking the event loop (async WASI). */
async function sockAcceptAsync(m: Module, s: BigUint64Array, sys: SysContext): Promise<Errno> {
  const l = listenerEntry(sys, u32(s[0]));
  if (typeof l === 'number') return l;
  const flags = u16(s[1]);
  if ((flags & ~FDFLAGS.NONBLOCK) !== 0) return EINVAL;
  const at = u32(s[2]);
  if (!inBounds(memView(m), at, 4)) return EFAULT;
  const conn = await l.file.acceptAsync((l.entry.fdflags & FDFLAGS.NONBLOCK) !== 0);
  if (typeof conn === 'number') return conn;
  if (!inBounds(memView(m), at, 4)) return EFAULT;
  return storeAccepted(m, sys, conn, flags, at);
}

/** sock_recv that waits for data without blocking the event loop (async WASI). */
async function sockRecvAsync(m: Module, s: BigUint64Array, sys: SysContext): Promise<Errno> {
  const r = recvArgs(m, sys, s);
  if (typeof r === 'number') return r;
  return recvDone(m, r, await r.conn.recvAsync(r.buf, r.peek, r.waitall));
}

/** WASI errno as a raw bigint, indexed by sys errno (avoids BigInt() per call). */
const ERRNO_BIG: bigint[] = Array.from({ length: ERRNO_COUNT }, (_, i) => BigInt(toWasiErrno(i)));
