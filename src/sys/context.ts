/**
 * The per-module system context (wazero's `internal/sys.Context`): args, environment, stdio, clocks,
 * randomness and the open-file table, built from a ModuleConfig at instantiation. WASI host functions
 * reach it through the calling module (`ModuleInstance.sys`).
 */
import { createRequire } from 'node:module';
import { DirFS } from './dirfs.js';
import { EACCES, ELOOP, ENOENT, ENOTDIR, EPERM, errnoName, type Errno } from './errno.js';
import { FileType, type Dirent, type File, type FS } from './fs.js';
import type { Reader, Writer } from './io.js';
import { ReadFS } from './readfs.js';
import { ENOSYS } from './errno.js';
import { GuardedFS, isBuiltinFS } from './userfs.js';
import { DIR_RIGHTS_BASE, DIR_RIGHTS_INHERITING, rightsMask, SOCKET_LISTENER_RIGHTS, SOCKET_RIGHTS } from './rights.js';
import { TcpHost } from './sockets.js';
import { BytesStdin, HostFdStdin, ReaderStdin, sleepMs, WriterFile } from './stdio.js';

/** A mount of a filesystem into the guest's view. */
export interface FSMount {
  readonly guestPath: string;
  readonly hostDir: string | undefined;
  readonly fs: unknown;
  readonly readOnly: boolean;
  /** The guest path as given (the pre-open name WASI reports); `guestPath` is its cleaned form. */
  readonly name?: string;
}

/**
 * What a module's system context is built from: the system part of its `ModuleConfig`
 * (`undefined` fields take the deterministic defaults).
 */
export interface SysConfig {
  readonly args: readonly string[];
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly stdin: Uint8Array | string | number | Reader | undefined;
  readonly stdout: Writer | undefined;
  readonly stderr: Writer | undefined;
  readonly fs: { readonly mounts: readonly FSMount[] } | undefined;
  readonly walltime: { fn: () => [bigint, number]; resolution: number } | 'sys' | undefined;
  readonly nanotime: { fn: () => bigint; resolution: number } | 'sys' | undefined;
  readonly nanosleep: ((ns: bigint) => void) | 'sys' | undefined;
  readonly osyield: (() => void) | undefined;
  readonly randSource: Reader | undefined;
  /** TCP listeners bound at instantiation, given file descriptors after the mounts. */
  readonly tcpListeners?: ReadonlyArray<{ readonly host: string; readonly port: number }>;
}

/** An open file descriptor. */
export interface FileEntry {
  file: File;
  /** The filesystem a directory's `path_*` calls resolve in (undefined for stdio). */
  readonly fs: FS | undefined;
  /**
   * Path of this file inside `fs` (`.` for a mount's root). For a directory it is resolved (no `..`,
   * no symlinks): lookups through the descriptor stay beneath it.
   */
  readonly path: string;
  /** Guest name of a pre-opened mount, exactly as configured (e.g. `/`, `.` or `/tmp`); undefined otherwise. */
  readonly preopenName: string | undefined;
  /** Directory listing with `.` and `..` first, taken at cookie 0 and kept so cookies stay valid. */
  dirents: Dirent[] | undefined;
  /** WASI rights of the descriptor itself (see `rights.ts`); they can only be dropped. */
  rightsBase: number;
  /** WASI rights handed on to descriptors opened through this one. */
  rightsInheriting: number;
  /** WASI `fdflags` as opened, then as changed by `fd_fdstat_set_flags`. */
  fdflags: number;
}

/** The fd table: lowest free number first, as POSIX does. */
export class FileTable {
  readonly #entries: Array<FileEntry | undefined> = [];

  get(fd: number): FileEntry | undefined {
    return this.#entries[fd];
  }

  /** Inserts at the lowest free fd and returns it. */
  insert(e: FileEntry): number {
    let fd = this.#entries.indexOf(undefined);
    if (fd < 0) fd = this.#entries.length;
    this.#entries[fd] = e;
    return fd;
  }

  /** Puts `e` at `fd` (replacing nothing: the caller closed what was there). */
  set(fd: number, e: FileEntry): void {
    while (this.#entries.length < fd) this.#entries.push(undefined);
    this.#entries[fd] = e;
  }

  delete(fd: number): void {
    if (fd >= this.#entries.length) return;
    this.#entries[fd] = undefined;
    while (this.#entries.length > 0 && this.#entries[this.#entries.length - 1] === undefined) this.#entries.pop();
  }

  /** Closes every file (on module close). */
  closeAll(): void {
    for (const e of this.#entries) e?.file.close();
    this.#entries.length = 0;
  }

  /** The open fds, ascending. */
  fds(): number[] {
    const out: number[] = [];
    this.#entries.forEach((e, i) => {
      if (e !== undefined) out.push(i);
    });
    return out;
  }
}

/** 2022-01-01T00:00:00Z in ns: where the deterministic wall clock starts. */
export const FAKE_EPOCH_NANOS = 1640995200000000000n;
const MS = 1_000_000n;

/**
 * An invalid system configuration of a module (its `ModuleConfig`), reported by instantiation: an
 * argument or environment variable wazero refuses, a clock resolution out of range, or a mount that
 * cannot be opened (`mount /data at /data: ENOENT: no such directory`) or is not a directory.
 */
export class SysConfigError extends Error {
  /** Always `'SysConfigError'`. */
  override readonly name = 'SysConfigError';
}

/** Everything a WASI call needs about its module. */
export class SysContext {
  readonly args: readonly Uint8Array[];
  readonly environ: readonly Uint8Array[];
  readonly files = new FileTable();
  /** Wall clock: [seconds, nanoseconds]. */
  readonly walltime: () => [bigint, number];
  readonly walltimeResolution: number;
  readonly nanotime: () => bigint;
  readonly nanotimeResolution: number;
  readonly nanosleep: (ns: bigint) => void;
  /** {@link nanosleep} for async WASI: a real sleep waits on a timer instead of blocking. */
  readonly nanosleepAsync: (ns: bigint) => Promise<void>;
  readonly osyield: () => void;
  readonly random: Reader;
  /** The worker doing the socket I/O of the TCP listeners, when there are any. */
  sockets: TcpHost | undefined = undefined;

  constructor(init: {
    args: readonly Uint8Array[];
    environ: readonly Uint8Array[];
    walltime: () => [bigint, number];
    walltimeResolution: number;
    nanotime: () => bigint;
    nanotimeResolution: number;
    nanosleep: (ns: bigint) => void;
    nanosleepAsync: (ns: bigint) => Promise<void>;
    osyield: () => void;
    random: Reader;
  }) {
    this.args = init.args;
    this.environ = init.environ;
    this.walltime = init.walltime;
    this.walltimeResolution = init.walltimeResolution;
    this.nanotime = init.nanotime;
    this.nanotimeResolution = init.nanotimeResolution;
    this.nanosleep = init.nanosleep;
    this.nanosleepAsync = init.nanosleepAsync;
    this.osyield = init.osyield;
    this.random = init.random;
  }

  /** Wall-clock time in ns since the epoch. */
  walltimeNanos(): bigint {
    const [s, ns] = this.walltime();
    return s * 1_000_000_000n + BigInt(ns);
  }

  /** Closes every open file (the host's stdio fds are never closed: see stdio.ts). */
  close(): void {
    this.files.closeAll();
    this.sockets?.close();
  }
}

const encoder = new TextEncoder();

function cString(s: string): Uint8Array {
  const b = encoder.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** A deterministic pseudo-random source (splitmix64), the default when no rand source is configured. */
export function newSeededRandom(seed: bigint): Reader {
  let state = BigInt.asUintN(64, seed);
  let word = 0n;
  let left = 0;
  return {
    read(into: Uint8Array): number {
      for (let i = 0; i < into.length; i++) {
        if (left === 0) {
          state = BigInt.asUintN(64, state + 0x9e3779b97f4a7c15n);
          let z = state;
          z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
          z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
          word = z ^ (z >> 31n);
          left = 8;
        }
        into[i] = Number(word & 0xffn);
        word >>= 8n;
        left--;
      }
      return into.length;
    },
  };
}

/** A {@link Reader} of cryptographically strong random bytes. */
export const cryptoRandom: Reader = {
  read(into: Uint8Array): number {
    // node:crypto loads on first use (start-up: a run that never asks for randomness skips it).
    (require('node:crypto') as typeof import('node:crypto')).randomFillSync(into);
    return into.length;
  },
};

const require = createRequire(import.meta.url);

/** The host's wall clock with sub-millisecond steps (Date.now anchored to hrtime). */
function sysWalltime(): () => [bigint, number] {
  const anchorWall = BigInt(Date.now()) * MS;
  const anchorHr = process.hrtime.bigint();
  return () => {
    const t = anchorWall + (process.hrtime.bigint() - anchorHr);
    return [t / 1_000_000_000n, Number(t % 1_000_000_000n)];
  };
}

function checkResolution(kind: string, res: number): void {
  if (!Number.isInteger(res) || res < 1 || res > 3_600_000_000_000) throw new SysConfigError(`invalid ${kind} resolution: ${res}`);
}

/**
 * Builds the system context of a module from its configuration, opening its mounts.
 * @throws SysConfigError for an invalid environment, argument or clock resolution (wazero's texts).
 */
export function newSysContext(c: SysConfig): SysContext {
  for (const a of c.args) if (a.includes('\0')) throw new SysConfigError('args invalid: contains NUL character');
  for (const [k, v] of c.env) {
    if (k === '') throw new SysConfigError('environ invalid: empty key');
    if (k.includes('=')) throw new SysConfigError("environ invalid: key contains '=' character");
    if (k.includes('\0') || v.includes('\0')) throw new SysConfigError('environ invalid: contains NUL character');
  }

  let walltime: () => [bigint, number];
  let walltimeResolution: number;
  if (c.walltime === 'sys') {
    walltime = sysWalltime();
    walltimeResolution = 1000;
  } else if (c.walltime !== undefined) {
    checkResolution('Walltime', c.walltime.resolution);
    walltime = c.walltime.fn;
    walltimeResolution = c.walltime.resolution;
  } else {
    // Deterministic: starts at 2022-01-01Z, +1 ms per read (as in wazero, see its RATIONALE.md: a
    // guest that spins on the clock still makes progress, and runs are reproducible).
    let t = FAKE_EPOCH_NANOS;
    walltime = () => {
      const now = t;
      t += MS;
      return [now / 1_000_000_000n, Number(now % 1_000_000_000n)];
    };
    walltimeResolution = 1000;
  }

  let nanotime: () => bigint;
  let nanotimeResolution: number;
  if (c.nanotime === 'sys') {
    nanotime = () => process.hrtime.bigint();
    nanotimeResolution = 1;
  } else if (c.nanotime !== undefined) {
    checkResolution('Nanotime', c.nanotime.resolution);
    nanotime = c.nanotime.fn;
    nanotimeResolution = c.nanotime.resolution;
  } else {
    let t = 0n;
    nanotime = () => {
      const now = t;
      t += MS;
      return now;
    };
    nanotimeResolution = 1;
  }

  let nanosleep: (ns: bigint) => void;
  let nanosleepAsync: (ns: bigint) => Promise<void>;
  if (c.nanosleep === 'sys') {
    nanosleep = (ns) => sleepMs(Number(ns) / 1e6);
    nanosleepAsync = (ns) => new Promise((resolve) => setTimeout(resolve, Number(ns) / 1e6));
  } else {
    nanosleep = c.nanosleep ?? (() => {});
    nanosleepAsync = (ns) => {
      nanosleep(ns);
      return Promise.resolve();
    };
  }

  const sys = new SysContext({
    args: c.args.map(cString),
    environ: c.env.map(([k, v]) => cString(`${k}=${v}`)),
    walltime,
    walltimeResolution,
    nanotime,
    nanotimeResolution,
    nanosleep,
    nanosleepAsync,
    osyield: c.osyield ?? (() => {}),
    random: c.randSource ?? newSeededRandom(42n),
  });

  const stdio = (file: File, readable: boolean): FileEntry => ({
    file,
    fs: undefined,
    path: '',
    preopenName: undefined,
    dirents: undefined,
    rightsBase: rightsMask('stream', readable, !readable),
    rightsInheriting: 0,
    fdflags: 0,
  });
  const stdin = c.stdin;
  sys.files.insert(
    stdio(
      stdin === undefined
        ? new BytesStdin(new Uint8Array(0))
        : typeof stdin === 'number'
          ? new HostFdStdin(stdin)
          : typeof stdin === 'string' || stdin instanceof Uint8Array
            ? new BytesStdin(stdin)
            : new ReaderStdin(stdin),
      true,
    ),
  );
  sys.files.insert(stdio(new WriterFile(c.stdout), false));
  sys.files.insert(stdio(new WriterFile(c.stderr), false));

  for (const m of c.fs?.mounts ?? []) {
    let fs: FS;
    if (m.hostDir !== undefined) fs = new DirFS(m.hostDir);
    else if (isFS(m.fs)) fs = m.fs;
    else throw new SysConfigError(`withFSMount(${m.guestPath}): not an FS from wasmscope/sys`);
    // A user's filesystem never throws into the guest (see userfs.ts).
    if (!isBuiltinFS(fs)) fs = new GuardedFS(fs);
    if (m.readOnly) fs = new ReadFS(fs);
    const where = `mount ${m.hostDir ?? '(FS)'} at ${m.name ?? m.guestPath}`;
    const root = fs.openFile('.', 0, 0);
    // A filesystem that cannot even open its root (wazero's UnimplementedFS) mounts nothing.
    if (root === ENOSYS) continue;
    if (typeof root === 'number') throw new SysConfigError(`${where}: ${describeMountErrno(root)}`);
    // A regular file opens too: a mount must be a directory.
    const st = root.stat();
    if (typeof st === 'number' || st.type !== FileType.DIRECTORY) {
      root.close();
      throw new SysConfigError(`${where}: ${describeMountErrno(typeof st === 'number' ? st : ENOTDIR)}`);
    }
    // The pre-open is named exactly as configured (`.`, `./x`, `/`), as node:wasi and wasmtime do;
    // only an empty name becomes `/`.
    const name = m.name ?? m.guestPath;
    sys.files.insert({
      file: root,
      fs,
      path: '.',
      preopenName: name === '' ? '/' : name,
      dirents: undefined,
      rightsBase: DIR_RIGHTS_BASE,
      rightsInheriting: DIR_RIGHTS_INHERITING,
      fdflags: 0,
    });
  }

  const listens = c.tcpListeners ?? [];
  if (listens.length > 0) {
    const host = new TcpHost();
    sys.sockets = host;
    for (const { host: addr, port } of listens) {
      const l = host.listen(addr, port);
      if (typeof l === 'string') {
        sys.close();
        throw new SysConfigError(`listen tcp ${addr}:${port}: ${l}`);
      }
      sys.files.insert({
        file: l,
        fs: undefined,
        path: '',
        preopenName: undefined,
        dirents: undefined,
        rightsBase: SOCKET_LISTENER_RIGHTS,
        rightsInheriting: SOCKET_RIGHTS,
        fdflags: 0,
      });
    }
  }
  return sys;
}

/** An errno of opening a mount's root, by name and in words (`ENOENT: no such directory`). */
function describeMountErrno(e: Errno): string {
  const words: Partial<Record<Errno, string>> = {
    [ENOENT]: 'no such directory',
    [ENOTDIR]: 'not a directory',
    [EACCES]: 'permission denied',
    [EPERM]: 'operation not permitted',
    [ELOOP]: 'too many symbolic links',
  };
  const w = words[e];
  return w === undefined ? errnoName(e) : `${errnoName(e)}: ${w}`;
}

function isFS(x: unknown): x is FS {
  return typeof x === 'object' && x !== null && typeof (x as FS).openFile === 'function' && typeof (x as FS).stat === 'function';
}
