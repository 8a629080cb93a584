/**
 * Filesystems users implement (wasmscope/sys `FS`/`File`, wazero's `experimental/sys`), mounted
 * next to the built-in ones and used by a real wasi-libc guest (test/fixtures/wasi/src/fsprobe.c)
 * on every engine: a virtual filesystem written from `unimplementedFS()`/`unimplementedFile()`, a
 * proxy recording what the guest does, a filesystem that throws (the guest gets errnos, never a
 * trap), and an untouched `unimplementedFS()` (mounts nothing).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newFSConfig } from '../../src/index.js';
import {
  EACCES,
  EISDIR,
  ENOENT,
  ENOSYS,
  FileType,
  Oflag,
  newMemFS,
  unimplementedFile,
  unimplementedFS,
  type Dirent,
  type File,
  type FS,
  type Stat,
} from '../../src/sys.js';
import { engines, runtimeFor } from '../helpers.js';
import { runGuest } from './run-guest.js';

const probe = readFileSync(new URL('../fixtures/wasi/fsprobe.wasm', import.meta.url));
const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const stat = (type: FileType, size: number, ino: number): Stat => ({
  dev: 7n,
  ino: BigInt(ino),
  type,
  mode: type === FileType.DIRECTORY ? 0o555 : 0o644,
  nlink: 1n,
  size: BigInt(size),
  atim: 0n,
  mtim: 0n,
  ctim: 0n,
});

/**
 * A filesystem of generated files (`motd.txt`, `count.txt` counting its reads, `sub/deep.txt`)
 * that keeps what the guest writes in `written`, written from scratch by a user.
 */
function virtualFS(): { fs: FS; written: Map<string, string> } {
  const written = new Map<string, string>();
  let reads = 0;
  const files: Record<string, () => string> = {
    'motd.txt': () => 'hello from a user FS\n',
    'count.txt': () => `read ${++reads}\n`,
    'sub/deep.txt': () => 'deep\n',
  };
  const dirs = new Set(['.', 'sub']);
  const entries = (dir: string): Dirent[] => {
    const prefix = dir === '.' ? '' : `${dir}/`;
    const names = new Set<string>();
    for (const p of [...Object.keys(files), ...written.keys(), ...dirs]) {
      if (p !== '.' && p.startsWith(prefix) && p.length > prefix.length) names.add(p.slice(prefix.length).split('/')[0]!);
    }
    return [...names]
      .sort()
      .map((name, i) => ({ name, ino: BigInt(100 + i), type: dirs.has(prefix + name) ? FileType.DIRECTORY : FileType.REGULAR_FILE }));
  };
  const norm = (p: string): string => (p === '' || p === '.' ? '.' : p.replace(/^\.\//, ''));
  const readable = (content: string): File => {
    const bytes = new TextEncoder().encode(content);
    let pos = 0;
    return {
      ...unimplementedFile(),
      stat: () => stat(FileType.REGULAR_FILE, bytes.length, 1),
      read(buf) {
        const n = Math.min(buf.length, bytes.length - pos);
        buf.set(bytes.subarray(pos, pos + n));
        pos += n;
        return n;
      },
    };
  };
  const fs: FS = {
    ...unimplementedFS(),
    stat(path) {
      const p = norm(path);
      if (dirs.has(p)) return stat(FileType.DIRECTORY, 0, 2);
      if (p in files) return stat(FileType.REGULAR_FILE, 0, 3);
      if (written.has(p)) return stat(FileType.REGULAR_FILE, written.get(p)!.length, 4);
      return ENOENT;
    },
    lstat(path) {
      return this.stat(path);
    },
    openFile(path, flag) {
      const p = norm(path);
      if (dirs.has(p)) {
        if ((flag & 3) !== Oflag.RDONLY) return EISDIR;
        return { ...unimplementedFile(), isDir: () => true, stat: () => stat(FileType.DIRECTORY, 0, 2), readdir: () => entries(p) };
      }
      if ((flag & 3) !== Oflag.RDONLY) {
        if (p in files) return EACCES;
        if ((flag & Oflag.CREAT) === 0 && !written.has(p)) return ENOENT;
        written.set(p, '');
        return {
          ...unimplementedFile(),
          stat: () => stat(FileType.REGULAR_FILE, written.get(p)!.length, 4),
          write(buf) {
            written.set(p, written.get(p)! + new TextDecoder().decode(buf));
            return buf.length;
          },
        };
      }
      const gen = files[p];
      if (gen !== undefined) return readable(gen());
      const w = written.get(p);
      return w === undefined ? ENOENT : readable(w);
    },
  };
  return { fs, written };
}

/** A user FS that delegates to another and records the operations the guest made. */
function recordingFS(inner: FS, log: string[]): FS {
  const wrap = <K extends keyof FS>(name: K) =>
    ((...args: unknown[]) => {
      log.push(`${name}(${String(args[0])})`);
      return (inner[name] as (...a: unknown[]) => unknown).apply(inner, args);
    }) as FS[K];
  return {
    openFile: wrap('openFile'),
    lstat: wrap('lstat'),
    stat: wrap('stat'),
    mkdir: wrap('mkdir'),
    chmod: wrap('chmod'),
    rename: wrap('rename'),
    rmdir: wrap('rmdir'),
    unlink: wrap('unlink'),
    link: wrap('link'),
    symlink: wrap('symlink'),
    readlink: wrap('readlink'),
    utimens: wrap('utimens'),
    lutimens: wrap('lutimens'),
  };
}

/** A user FS whose files throw on every read and whose writes throw a Node-style EACCES. */
function throwingFS(): FS {
  const { fs } = virtualFS();
  return {
    ...fs,
    openFile(path, flag, perm) {
      if ((flag & 3) !== Oflag.RDONLY) throw Object.assign(new Error('denied'), { code: 'EACCES' });
      const f = fs.openFile(path, flag, perm);
      if (typeof f === 'number' || f.isDir()) return f;
      return {
        ...f,
        read() {
          throw new Error('the disk is on fire');
        },
      };
    },
    mkdir() {
      throw new TypeError('not a function, really');
    },
  };
}

describe.each(engines)('user filesystems on the $name engine', (engine) => {
  it('a virtual FS, an in-memory FS and a host directory mounted side by side', async () => {
    const host = mkdtempSync(join(tmpdir(), 'wasmscope-userfs-'));
    tmpDirs.push(host);
    writeFileSync(join(host, 'h.txt'), 'from the host\n');
    const { fs, written } = virtualFS();
    const r = runtimeFor(engine);
    const res = await runGuest(r, probe, {
      args: [
        'fsprobe',
        ...['ls', '/virt', 'cat', '/virt/motd.txt', 'cat', '/virt/count.txt', 'cat', '/virt/count.txt', 'cat', '/virt/sub/deep.txt'],
        ...['write', '/virt/out.txt', 'guest wrote this', 'cat', '/virt/out.txt', 'write', '/virt/motd.txt', 'x'],
        ...['cat', '/virt/nope.txt', 'ls', '/virt/sub', 'cat', '/mem/m.txt', 'cat', '/host/h.txt', 'write', '/mem/new.txt', 'n'],
      ],
      fs: newFSConfig()
        .withSysFSMount(fs, '/virt')
        .withFSMount(newMemFS({ 'm.txt': 'from memory\n' }), '/mem')
        .withDirMount(host, '/host'),
    });
    expect(res.stdout).toBe(
      [
        'count.txt',
        'motd.txt',
        'sub/',
        'hello from a user FS',
        'read 1',
        'read 2',
        'deep',
        'guest wrote this' + 'write /virt/motd.txt: Permission denied',
        'cat /virt/nope.txt: No such file or directory',
        'deep.txt',
        'from memory',
        'from the host',
        '',
      ].join('\n'),
    );
    expect(res.exitCode).toBe(0);
    expect([...written]).toEqual([['out.txt', 'guest wrote this']]);
    await r.close();
  });

  it('a proxy FS sees the operations of the guest, paths relative to its root', async () => {
    const log: string[] = [];
    const r = runtimeFor(engine);
    const res = await runGuest(r, probe, {
      args: ['fsprobe', 'write', '/p/a.txt', 'A', 'cat', '/p/a.txt'],
      fs: newFSConfig().withFSMount(recordingFS(newMemFS(), log), '/p'),
    });
    expect(res.stdout).toBe('A');
    expect(log.filter((l) => l.startsWith('openFile'))).toEqual(['openFile(.)', 'openFile(a.txt)', 'openFile(a.txt)']);
    await r.close();
  });

  it('what a user FS throws reaches the guest as an errno, never as a trap', async () => {
    const r = runtimeFor(engine);
    const res = await runGuest(r, probe, {
      args: ['fsprobe', 'cat', '/t/motd.txt', 'write', '/t/x.txt', 'y', 'ls', '/t'],
      fs: newFSConfig().withFSMount(throwingFS(), '/t'),
    });
    expect(res.stdout).toBe(
      ['read /t/motd.txt: I/O error', 'write /t/x.txt: Permission denied', 'count.txt', 'motd.txt', 'sub/', ''].join('\n'),
    );
    expect(res.exitCode).toBe(0);
    await r.close();
  });

  it('an untouched unimplementedFS mounts nothing; an unimplemented file answers ENOSYS', async () => {
    const r = runtimeFor(engine);
    const res = await runGuest(r, probe, {
      args: ['fsprobe', 'cat', '/none/a', 'cat', '/mem/m.txt'],
      fs: newFSConfig()
        .withFSMount(unimplementedFS(), '/none')
        .withFSMount(newMemFS({ 'm.txt': 'still here\n' }), '/mem'),
    });
    // No pre-open holds /none: wasi-libc finds no directory to resolve it in.
    expect(res.stdout).toBe('cat /none/a: Capabilities insufficient\nstill here\n');
    expect(unimplementedFile().read(new Uint8Array(1))).toBe(-ENOSYS);
    await r.close();
  });
});
