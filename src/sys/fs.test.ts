import * as nodefs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirFS } from './dirfs.js';
import { EBADF, EEXIST, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, ENOTEMPTY, EPERM, EROFS } from './errno.js';
import { FileType, Oflag, UTIME_OMIT, type File, type FS } from './fs.js';
import { MemFS } from './memfs.js';
import { ReadFS } from './readfs.js';

let tmp: string;
let outside: string;

beforeAll(() => {
  tmp = nodefs.mkdtempSync(path.join(os.tmpdir(), 'wasmscope-fs-'));
  outside = nodefs.mkdtempSync(path.join(os.tmpdir(), 'wasmscope-outside-'));
  nodefs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
});
afterAll(() => {
  nodefs.rmSync(tmp, { recursive: true, force: true });
  nodefs.rmSync(outside, { recursive: true, force: true });
});

function file(f: File | number): File {
  if (typeof f === 'number') throw new Error(`errno ${f}`);
  return f;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The same behaviour table runs over the host-directory FS and the in-memory FS. */
const impls: Array<{ name: string; make: () => FS; symlinkOutside?: (fs: FS) => void }> = [
  {
    name: 'DirFS',
    make: () => {
      const d = nodefs.mkdtempSync(path.join(tmp, 'case-'));
      nodefs.writeFileSync(path.join(d, 'a.txt'), 'hello');
      nodefs.mkdirSync(path.join(d, 'sub'));
      nodefs.writeFileSync(path.join(d, 'sub', 'b.txt'), 'bee');
      // Host symlinks that point outside the mount, made by the host (the guest cannot).
      nodefs.symlinkSync(path.join(outside, 'secret.txt'), path.join(d, 'abs-link'));
      nodefs.symlinkSync(path.relative(d, path.join(outside, 'secret.txt')), path.join(d, 'rel-link'));
      nodefs.symlinkSync(outside, path.join(d, 'dir-link'));
      return new DirFS(d);
    },
  },
  {
    name: 'MemFS',
    make: () => {
      const m = new MemFS({ 'a.txt': 'hello', 'sub/b.txt': 'bee' });
      m.symlink('/etc/passwd', 'abs-link');
      m.symlink('../../../../outside/secret.txt', 'rel-link');
      m.symlink('/', 'dir-link');
      return m;
    },
  },
];

describe.each(impls)('$name', ({ make }) => {
  it('reads a file and stats it', () => {
    const fs = make();
    const f = file(fs.openFile('a.txt', Oflag.RDONLY, 0));
    const buf = new Uint8Array(16);
    expect(f.read(buf)).toBe(5);
    expect(dec.decode(buf.subarray(0, 5))).toBe('hello');
    expect(f.read(buf)).toBe(0);
    const st = f.stat();
    expect(typeof st).toBe('object');
    if (typeof st === 'object') {
      expect(st.type).toBe(FileType.REGULAR_FILE);
      expect(st.size).toBe(5n);
    }
    expect(f.close()).toBe(0);
    expect(f.close()).toBe(EBADF);
  });

  it('refuses absolute paths, NUL bytes, empty and over-long paths', () => {
    const fs = make();
    expect(fs.openFile('/a.txt', Oflag.RDONLY, 0)).toBe(EPERM);
    expect(fs.openFile('a.txt\0x', Oflag.RDONLY, 0)).toBe(EINVAL);
    expect(fs.openFile('', Oflag.RDONLY, 0)).toBe(ENOENT);
    expect(fs.stat('x'.repeat(5000))).toBe(ENAMETOOLONG);
  });

  it('allows .. inside the root but refuses climbing above it', () => {
    const fs = make();
    expect(typeof fs.openFile('sub/../a.txt', Oflag.RDONLY, 0)).toBe('object');
    expect(fs.openFile('..', Oflag.RDONLY, 0)).toBe(EPERM);
    expect(fs.openFile('../a.txt', Oflag.RDONLY, 0)).toBe(EPERM);
    expect(fs.openFile('sub/../../a.txt', Oflag.RDONLY, 0)).toBe(EPERM);
    expect(fs.stat('sub/../..')).toBe(EPERM);
    expect(fs.mkdir('../escaped', 0o755)).toBe(EPERM);
    expect(fs.symlink('x', '../escaped-link')).toBe(EPERM);
  });

  it('refuses symlinks that point outside the root', () => {
    const fs = make();
    expect(fs.openFile('abs-link', Oflag.RDONLY, 0)).toBe(EPERM);
    expect(fs.openFile('rel-link', Oflag.RDONLY, 0)).toBe(EPERM);
    expect(fs.stat('dir-link')).toBe(EPERM);
    expect(fs.openFile('dir-link/secret.txt', Oflag.RDONLY, 0)).toBe(EPERM);
    // Not following the final link is fine: it is the link itself.
    const st = fs.lstat('abs-link');
    expect(typeof st === 'object' && st.type).toBe(FileType.SYMBOLIC_LINK);
    expect(fs.openFile('abs-link', Oflag.RDONLY | Oflag.NOFOLLOW, 0)).toBe(ELOOP);
  });

  it('follows symlinks that stay inside and refuses symlink loops', () => {
    const fs = make();
    expect(fs.symlink('sub/b.txt', 'good-link')).toBe(0);
    expect(fs.readlink('good-link')).toBe('sub/b.txt');
    const f = file(fs.openFile('good-link', Oflag.RDONLY, 0));
    const buf = new Uint8Array(8);
    expect(f.read(buf)).toBe(3);
    expect(fs.symlink('../sub', 'sub/self')).toBe(0);
    expect(typeof fs.stat('sub/self/self/self/b.txt')).toBe('object');
    expect(fs.symlink('loop2', 'loop1')).toBe(0);
    expect(fs.symlink('loop1', 'loop2')).toBe(0);
    expect(fs.stat('loop1')).toBe(ELOOP);
  });

  it('creates, writes, appends, truncates and seeks', () => {
    const fs = make();
    const f = file(fs.openFile('new.txt', Oflag.RDWR | Oflag.CREAT | Oflag.EXCL, 0o644));
    expect(f.write(enc.encode('abcdef'))).toBe(6);
    expect(f.seek(2, 0)).toBe(2);
    const buf = new Uint8Array(2);
    expect(f.read(buf)).toBe(2);
    expect(dec.decode(buf)).toBe('cd');
    expect(f.seek(-1, 2)).toBe(5);
    expect(f.seek(-10, 1)).toBe(-EINVAL);
    expect(f.pwrite(enc.encode('Z'), 0)).toBe(1);
    expect(f.truncate(3)).toBe(0);
    f.close();
    expect(fs.openFile('new.txt', Oflag.RDWR | Oflag.CREAT | Oflag.EXCL, 0o644)).toBe(EEXIST);
    const a = file(fs.openFile('new.txt', Oflag.WRONLY | Oflag.APPEND, 0));
    expect(a.write(enc.encode('!'))).toBe(1);
    a.close();
    const r = file(fs.openFile('new.txt', Oflag.RDONLY, 0));
    const all = new Uint8Array(10);
    expect(dec.decode(all.subarray(0, r.read(all)))).toBe('Zbc!');
    expect(r.write(enc.encode('x'))).toBe(-EBADF);
  });

  it('lists directories in a stable order and reports errors of directory operations', () => {
    const fs = make();
    const d = file(fs.openFile('.', Oflag.RDONLY, 0));
    expect(d.isDir()).toBe(true);
    const list = d.readdir();
    expect(Array.isArray(list) && list.map((e) => e.name)).toEqual(['a.txt', 'abs-link', 'dir-link', 'rel-link', 'sub']);
    expect(d.read(new Uint8Array(1))).toBe(-EISDIR);
    expect(fs.openFile('sub', Oflag.WRONLY, 0)).toBe(EISDIR);
    expect(fs.openFile('a.txt', Oflag.RDONLY | Oflag.DIRECTORY, 0)).toBe(ENOTDIR);
    expect(fs.openFile('a.txt/x', Oflag.RDONLY, 0)).toBe(ENOTDIR);
    expect(fs.openFile('missing/x', Oflag.RDONLY | Oflag.CREAT, 0o644)).toBe(ENOENT);
    expect(fs.mkdir('sub', 0o755)).toBe(EEXIST);
    expect(fs.rmdir('sub')).toBe(ENOTEMPTY);
    expect(fs.rmdir('a.txt')).toBe(ENOTDIR);
    expect(fs.unlink('sub')).toBe(EISDIR);
    expect(fs.unlink('sub/b.txt')).toBe(0);
    expect(fs.rmdir('sub')).toBe(0);
    expect(fs.stat('sub')).toBe(ENOENT);
    expect(fs.rmdir('.')).toBe(EPERM);
  });

  it('renames and links', () => {
    const fs = make();
    expect(fs.rename('a.txt', 'c.txt')).toBe(0);
    expect(fs.stat('a.txt')).toBe(ENOENT);
    expect(fs.link('c.txt', 'd.txt')).toBe(0);
    const st = fs.stat('d.txt');
    expect(typeof st === 'object' && st.nlink).toBe(2n);
    expect(fs.rename('c.txt', 'sub')).toBe(EISDIR);
    expect(fs.rename('sub', 'c.txt')).toBe(ENOTDIR);
    expect(fs.rename('c.txt', '../c.txt')).toBe(EPERM);
  });

  it('sets times to the nanosecond and keeps an omitted one exactly', () => {
    const fs = make();
    const before = fs.stat('a.txt');
    if (typeof before === 'number') throw new Error('stat');
    const t = 1_600_000_000_123_456_789n;
    expect(fs.utimens('a.txt', UTIME_OMIT, t)).toBe(0);
    const after = fs.stat('a.txt');
    if (typeof after === 'number') throw new Error('stat');
    expect(after.mtim).toBe(t);
    expect(after.atim).toBe(before.atim);
    // Before 1970 too (node:fs alone would turn a negative time into "now").
    expect(fs.utimens('a.txt', -1_500_000_001n, UTIME_OMIT)).toBe(0);
    const old = fs.stat('a.txt');
    expect(typeof old === 'object' && old.atim).toBe(-1_500_000_001n);
  });

  it('lutimens sets the times of a symlink itself, utimens those of its target', () => {
    const fs = make();
    expect(fs.symlink('a.txt', 'ln')).toBe(0);
    const target = fs.stat('a.txt');
    if (typeof target === 'number') throw new Error('stat');
    const t = 1_500_000_000_987_654_321n;
    expect(fs.lutimens('ln', t, t)).toBe(0);
    const link = fs.lstat('ln');
    expect(typeof link === 'object' && [link.atim, link.mtim]).toEqual([t, t]);
    const same = fs.stat('a.txt');
    expect(typeof same === 'object' && same.mtim).toBe(target.mtim);
    expect(fs.utimens('ln', UTIME_OMIT, t + 1n)).toBe(0);
    const moved = fs.stat('a.txt');
    expect(typeof moved === 'object' && moved.mtim).toBe(t + 1n);
  });

  it('a trailing slash names a directory: ENOTDIR on a file, ENOENT for a link or symlink created there', () => {
    const fs = make();
    expect(fs.stat('a.txt/')).toBe(ENOTDIR);
    expect(fs.openFile('a.txt/', Oflag.RDONLY, 0)).toBe(ENOTDIR);
    expect(fs.symlink('a.txt', 'new/')).toBe(ENOENT);
    expect(fs.link('a.txt', 'new/')).toBe(ENOENT);
    expect(fs.openFile('new/', Oflag.RDWR | Oflag.CREAT, 0o644)).toBe(EISDIR);
    expect(fs.stat('new')).toBe(ENOENT);
    expect(fs.mkdir('newdir/', 0o755)).toBe(0);
    expect(typeof fs.stat('sub/')).toBe('object');
    expect(fs.rename('a.txt', 'moved/')).toBe(ENOTDIR);
    expect(fs.rename('newdir/', 'moved/')).toBe(0);
  });

  it('clearing and setting O_APPEND changes where writes land', () => {
    const fs = make();
    const f = file(fs.openFile('a.txt', Oflag.RDWR | Oflag.APPEND, 0));
    expect(f.isAppend()).toBe(true);
    expect(f.write(enc.encode('!'))).toBe(1);
    expect(f.setAppend(false)).toBe(0);
    expect(f.isAppend()).toBe(false);
    expect(f.pwrite(enc.encode('J'), 0)).toBe(1);
    expect(f.seek(1, 0)).toBe(1);
    expect(f.write(enc.encode('E'))).toBe(1);
    expect(f.setAppend(true)).toBe(0);
    expect(f.seek(0, 0)).toBe(0);
    expect(f.write(enc.encode('?'))).toBe(1);
    const all = new Uint8Array(16);
    expect(dec.decode(all.subarray(0, f.pread(all, 0)))).toBe('JEllo!?');
    f.close();
  });
});

describe('ReadFS', () => {
  it('refuses every write with EROFS or EBADF and still reads', () => {
    const fs = new ReadFS(new MemFS({ 'a.txt': 'hello', 'd/x': '' }));
    expect(fs.openFile('a.txt', Oflag.WRONLY, 0)).toBe(EROFS);
    expect(fs.openFile('a.txt', Oflag.RDONLY | Oflag.TRUNC, 0)).toBe(EROFS);
    expect(fs.openFile('n', Oflag.RDONLY | Oflag.CREAT, 0)).toBe(EROFS);
    expect(fs.mkdir('x', 0o755)).toBe(EROFS);
    expect(fs.unlink('a.txt')).toBe(EROFS);
    expect(fs.rmdir('d')).toBe(EROFS);
    expect(fs.rename('a.txt', 'b')).toBe(EROFS);
    expect(fs.symlink('a.txt', 'l')).toBe(EROFS);
    expect(fs.link('a.txt', 'l')).toBe(EROFS);
    expect(fs.utimens('a.txt', 0n, 0n)).toBe(EROFS);
    expect(fs.lutimens('a.txt', 0n, 0n)).toBe(EROFS);
    const f = file(fs.openFile('a.txt', Oflag.RDONLY, 0));
    expect(f.write(enc.encode('x'))).toBe(-EBADF);
    expect(f.truncate(0)).toBe(EBADF);
    expect(f.read(new Uint8Array(5))).toBe(5);
  });
});

describe('DirFS on a missing directory', () => {
  it('answers ENOENT', () => {
    const fs = new DirFS(path.join(tmp, 'does-not-exist'));
    expect(fs.openFile('.', Oflag.RDONLY, 0)).toBe(ENOENT);
  });
});
