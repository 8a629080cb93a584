/**
 * Each wasi_snapshot_preview1 function called directly from a tiny guest that re-exports it, on every
 * engine: results, memory effects and errno edge cases (EFAULT, EBADF with unsigned fds, EINVAL, …).
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitError, newFSConfig, newModuleConfig } from '../../src/index.js';
import { cryptoRandom, newMemFS } from '../../src/sys.js';
import { ERRNO, MODULE_NAME_UNSTABLE, newBuilder } from '../../src/wasi.js';
import { engines, runtimeFor, wat } from '../helpers.js';
import { guest, proxyWat } from './proxy-guest.js';

let proxyUnstable: Uint8Array;
let tmp: string;
beforeAll(async () => {
  proxyUnstable = await wat(proxyWat('wasi_unstable'));
  tmp = mkdtempSync(join(tmpdir(), 'wasmscope-wasifn-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const E = ERRNO;
const PAGE = 65536;
/** Every right, as a guest asking for all it can get passes them to path_open. */
const ALL = 0x3fffffffn;
/** Every right but fd_write: a directory opened asking for fd_read and fd_write is EISDIR. */
const DIR = ALL & ~0x40n;

describe.each(engines)('WASI functions on $name', (engine) => {
  it('args_sizes_get/args_get and environ_*: sizes, NUL-terminated strings, EFAULT', async () => {
    const g = await guest(runtimeFor(engine), (c) => c.withArgs('a', 'bc').withEnv('K', 'v').withEnv('X', 'yz'));
    expect(g.call('args_sizes_get', 0, 4)).toBe(E.SUCCESS);
    expect([g.u32(0), g.u32(4)]).toEqual([2, 5]);
    expect(g.call('args_get', 100, 200)).toBe(E.SUCCESS);
    expect([g.u32(100), g.u32(104)]).toEqual([200, 202]);
    expect(g.str(200, 5)).toBe('a\0bc\0');
    expect(g.call('environ_sizes_get', 0, 4)).toBe(E.SUCCESS);
    expect([g.u32(0), g.u32(4)]).toEqual([2, 9]);
    expect(g.call('environ_get', 100, 300)).toBe(E.SUCCESS);
    expect(g.str(300, 9)).toBe('K=v\0X=yz\0');
    expect(g.call('args_get', PAGE - 4, 200)).toBe(E.FAULT);
    expect(g.call('args_get', 100, PAGE - 2)).toBe(E.FAULT);
    expect(g.call('environ_sizes_get', PAGE - 3, 0)).toBe(E.FAULT);
  });

  it('clock_res_get/clock_time_get: fake clocks, unsupported ids, EFAULT', async () => {
    const g = await guest(runtimeFor(engine));
    expect(g.call('clock_res_get', 0, 0)).toBe(E.SUCCESS);
    expect(g.u64(0)).toBe(1000n);
    expect(g.call('clock_res_get', 1, 0)).toBe(E.SUCCESS);
    expect(g.u64(0)).toBe(1n);
    expect(g.call('clock_res_get', 2, 0)).toBe(E.INVAL);
    expect(g.call('clock_time_get', 0, 0n, 8)).toBe(E.SUCCESS);
    expect(g.u64(8)).toBe(1640995200000000000n);
    expect(g.call('clock_time_get', 0, 0n, 8)).toBe(E.SUCCESS);
    expect(g.u64(8)).toBe(1640995200001000000n);
    expect(g.call('clock_time_get', 1, 0n, 8)).toBe(E.SUCCESS);
    expect(g.u64(8)).toBe(0n);
    expect(g.call('clock_time_get', 1, 0n, 8)).toBe(E.SUCCESS);
    expect(g.u64(8)).toBe(1000000n);
    expect(g.call('clock_time_get', 3, 0n, 8)).toBe(E.INVAL);
    expect(g.call('clock_time_get', 0, 0n, PAGE - 7)).toBe(E.FAULT);
  });

  it('clock functions use configured clocks and reject bad resolutions at instantiation', async () => {
    const r = runtimeFor(engine);
    const g = await guest(r, (c) => c.withWalltime(() => [5n, 7], 3).withNanotime(() => 42n, 9));
    g.call('clock_time_get', 0, 0n, 0);
    expect(g.u64(0)).toBe(5_000_000_007n);
    g.call('clock_time_get', 1, 0n, 0);
    expect(g.u64(0)).toBe(42n);
    g.call('clock_res_get', 1, 0);
    expect(g.u64(0)).toBe(9n);
    await expect(guest(r, (c) => c.withWalltime(() => [0n, 0], 0))).rejects.toThrow('invalid Walltime resolution: 0');
  });

  it('fd_write/fd_read on stdio through iovecs; EBADF for unknown and huge (unsigned) fds; EFAULT', async () => {
    const g = await guest(runtimeFor(engine), (c) => c.withStdin('input!'));
    g.put(100, 'hello ');
    g.put(200, 'world');
    g.mem.writeUint32Le(0, 100);
    g.mem.writeUint32Le(4, 6);
    g.mem.writeUint32Le(8, 200);
    g.mem.writeUint32Le(12, 5);
    expect(g.call('fd_write', 1, 0, 2, 16)).toBe(E.SUCCESS);
    expect(g.u32(16)).toBe(11);
    expect(Buffer.concat(g.out).toString()).toBe('hello world');
    expect(g.call('fd_write', 9, 0, 2, 16)).toBe(E.BADF);
    expect(g.call('fd_write', 0xffffffff, 0, 2, 16)).toBe(E.BADF);
    expect(g.call('fd_write', 0x80000001, 0, 2, 16)).toBe(E.BADF);
    expect(g.call('fd_write', 1, PAGE - 4, 1, 16)).toBe(E.FAULT);
    g.mem.writeUint32Le(20, PAGE - 2);
    g.mem.writeUint32Le(24, 5);
    expect(g.call('fd_write', 1, 20, 1, 16)).toBe(E.FAULT);
    expect(g.call('fd_write', 1, 0, 1, PAGE - 1)).toBe(E.FAULT);
    g.mem.writeUint32Le(0, 300);
    g.mem.writeUint32Le(4, 4);
    g.mem.writeUint32Le(8, 400);
    g.mem.writeUint32Le(12, 10);
    expect(g.call('fd_read', 0, 0, 2, 16)).toBe(E.SUCCESS);
    expect(g.u32(16)).toBe(6);
    expect(g.str(300, 4) + g.str(400, 2)).toBe('input!');
    expect(g.call('fd_read', 0, 0, 2, 16)).toBe(E.SUCCESS);
    expect(g.u32(16)).toBe(0);
    expect(g.call('fd_read', 1, 0, 2, 16)).toBe(E.BADF);
  });

  it('fd_prestat_get/fd_prestat_dir_name name the mounts as given; EBADF for stdio; ENAMETOOLONG for a small buffer', async () => {
    const g = await guest(runtimeFor(engine), (c) =>
      c.withFSConfig(newFSConfig().withFSMount(newMemFS(), '/').withFSMount(newMemFS(), '/tmp')),
    );
    expect(g.call('fd_prestat_get', 3, 0)).toBe(E.SUCCESS);
    expect([g.u32(0), g.u32(4)]).toEqual([0, 1]);
    expect(g.call('fd_prestat_dir_name', 3, 16, 1)).toBe(E.SUCCESS);
    expect(g.str(16, 1)).toBe('/');
    expect(g.call('fd_prestat_get', 4, 0)).toBe(E.SUCCESS);
    expect(g.u32(4)).toBe(4);
    expect(g.call('fd_prestat_dir_name', 4, 16, 4)).toBe(E.SUCCESS);
    expect(g.str(16, 4)).toBe('/tmp');
    expect(g.call('fd_prestat_dir_name', 4, 16, 3)).toBe(E.NAMETOOLONG);
    expect(g.call('fd_prestat_dir_name', 4, 16, 5)).toBe(E.SUCCESS);
    expect(g.call('fd_prestat_get', 1, 0)).toBe(E.BADF);
    expect(g.call('fd_prestat_get', 5, 0)).toBe(E.BADF);
    expect(g.call('fd_prestat_dir_name', 4, PAGE - 2, 4)).toBe(E.FAULT);
  });

  it('path_open: files and directories, escapes refused (EPERM), NUL (EINVAL), flags checked', async () => {
    const fs = newMemFS({ 'dir/a.txt': 'abc' });
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(fs, '/')));
    const open = (path: string, oflags = 0, rights = ALL, fdflags = 0, dirflags = 1): number =>
      g.call('path_open', 3, dirflags, 1000, g.put(1000, path), oflags, rights, 0n, fdflags, 0);
    expect(open('dir/a.txt')).toBe(E.SUCCESS);
    const fd = g.u32(0);
    expect(fd).toBe(4);
    expect(open('../etc/passwd')).toBe(E.PERM);
    expect(open('dir/../../x')).toBe(E.PERM);
    expect(open('/etc/passwd')).toBe(E.PERM);
    expect(open('dir/a.txt\0.png')).toBe(E.INVAL);
    expect(open('missing')).toBe(E.NOENT);
    expect(open('dir', 2 /* DIRECTORY */ | 1 /* CREAT */)).toBe(E.INVAL);
    expect(open('dir/a.txt', 2)).toBe(E.NOTDIR);
    expect(open('dir/new.txt', 1 | 4 /* CREAT|EXCL */)).toBe(E.SUCCESS);
    expect(open('dir/new.txt', 1 | 4)).toBe(E.EXIST);
    expect(g.call('path_open', 3, 1, 1000, 0, 0, 0n, 0n, 0, 0)).toBe(E.INVAL);
    expect(g.call('path_open', fd, 1, 1000, g.put(1000, 'x'), 0, 0n, 0n, 0, 0)).toBe(E.NOTDIR);
    expect(g.call('path_open', 99, 1, 1000, 1, 0, 0n, 0n, 0, 0)).toBe(E.BADF);
    expect(g.call('path_open', 3, 1, PAGE - 1, 5, 0, 0n, 0n, 0, 0)).toBe(E.FAULT);
    // A directory fd resolves relative to itself.
    expect(open('dir', 2, DIR)).toBe(E.SUCCESS);
    const dirFd = g.u32(0);
    expect(g.call('path_open', dirFd, 1, 1000, g.put(1000, 'a.txt'), 0, ALL, 0n, 0, 0)).toBe(E.SUCCESS);
    expect(g.call('path_open', dirFd, 1, 1000, g.put(1000, '../../x'), 0, 0n, 0n, 0, 0)).toBe(E.PERM);
  });

  it('fd_fdstat_get: types, flags and rights; fd_fdstat_set_flags', async () => {
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS({ f: 'x' }), '/')));
    expect(g.call('fd_fdstat_get', 1, 0)).toBe(E.SUCCESS);
    expect(g.mem.readByte(0)).toBe(2); // CHARACTER_DEVICE
    expect(g.u64(8) & 0x24n).toBe(0n); // no FD_SEEK / FD_TELL: a tty to wasi-libc
    expect(g.call('fd_fdstat_get', 3, 0)).toBe(E.SUCCESS);
    expect(g.mem.readByte(0)).toBe(3); // DIRECTORY
    expect(g.u64(8) & 0x4000n).toBe(0x4000n); // FD_READDIR
    g.call('path_open', 3, 1, 1000, g.put(1000, 'f'), 0, ALL, 0n, 1 /* APPEND */, 0);
    const fd = g.u32(0);
    expect(g.call('fd_fdstat_get', fd, 0)).toBe(E.SUCCESS);
    expect(g.mem.readByte(0)).toBe(4); // REGULAR_FILE
    expect(g.mem.readUint16Le(2)).toBe(1); // APPEND
    expect(g.call('fd_fdstat_set_flags', fd, 0)).toBe(E.SUCCESS);
    g.call('fd_fdstat_get', fd, 0);
    expect(g.mem.readUint16Le(2)).toBe(0);
    expect(g.call('fd_fdstat_set_flags', fd, 16 /* SYNC */)).toBe(E.INVAL);
    expect(g.call('fd_fdstat_set_flags', 77, 0)).toBe(E.BADF);
    expect(g.call('fd_fdstat_get', 77, 0)).toBe(E.BADF);
    expect(g.call('fd_fdstat_get', 1, PAGE - 8)).toBe(E.FAULT);
  });

  it('proc_raise is ENOSYS; sock_* on a descriptor that is not a socket are ENOTSOCK, on a closed one EBADF', async () => {
    const g = await guest(runtimeFor(engine));
    expect(g.call('proc_raise', 9)).toBe(E.NOSYS);
    expect(g.call('sock_accept', 1, 0, 0)).toBe(E.NOTSOCK);
    expect(g.call('sock_recv', 1, 0, 0, 0, 0, 4)).toBe(E.NOTSOCK);
    expect(g.call('sock_send', 1, 0, 0, 0, 0)).toBe(E.NOTSOCK);
    expect(g.call('sock_shutdown', 1, 3)).toBe(E.NOTSOCK);
    expect(g.call('sock_shutdown', 40, 3)).toBe(E.BADF);
  });

  it('file metadata: fd_filestat_*, fd_allocate, fd_advise, fd_sync/datasync, path_filestat_*', async () => {
    const dir = mkdtempSync(join(tmp, 'meta-'));
    writeFileSync(join(dir, 'f'), 'hello');
    symlinkSync('f', join(dir, 'link'));
    const t = 1_700_000_000_123_456_789n;
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withDirMount(dir, '/')));
    expect(g.call('path_open', 3, 1, 1000, g.put(1000, 'f'), 0, ALL, 0n, 0, 0)).toBe(E.SUCCESS);
    const fd = g.u32(0);
    expect(g.call('fd_filestat_get', fd, 64)).toBe(E.SUCCESS);
    expect(g.mem.readByte(64 + 16)).toBe(4);
    expect(g.u64(64 + 32)).toBe(5n);
    expect(g.call('fd_allocate', fd, 0n, 100n)).toBe(E.SUCCESS);
    g.call('fd_filestat_get', fd, 64);
    expect(g.u64(64 + 32)).toBe(100n);
    expect(g.call('fd_allocate', fd, 0n, 10n)).toBe(E.SUCCESS); // never shrinks
    expect(g.call('fd_filestat_set_size', fd, 3n)).toBe(E.SUCCESS);
    g.call('fd_filestat_get', fd, 64);
    expect(g.u64(64 + 32)).toBe(3n);
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('hel');
    expect(g.call('fd_advise', fd, 0n, 0n, 1)).toBe(E.SUCCESS);
    expect(g.call('fd_advise', fd, 0n, 0n, 9)).toBe(E.INVAL);
    expect(g.call('fd_sync', fd)).toBe(E.SUCCESS);
    expect(g.call('fd_datasync', fd)).toBe(E.SUCCESS);
    expect(g.call('fd_filestat_set_times', fd, 0n, t, 4 /* MTIM */)).toBe(E.SUCCESS);
    g.call('fd_filestat_get', fd, 64);
    expect(g.u64(64 + 48)).toBe(t);
    expect(g.call('fd_filestat_set_times', fd, 0n, t, 1 | 2 /* ATIM|ATIM_NOW */)).toBe(E.INVAL);
    expect(g.call('path_filestat_get', 3, 0, 1000, g.put(1000, 'link'), 64)).toBe(E.SUCCESS);
    expect(g.mem.readByte(64 + 16)).toBe(7); // SYMBOLIC_LINK when not following
    expect(g.call('path_filestat_get', 3, 1, 1000, g.put(1000, 'link'), 64)).toBe(E.SUCCESS);
    expect(g.mem.readByte(64 + 16)).toBe(4);
    expect(g.call('path_filestat_get', 3, 1, 1000, g.put(1000, 'nope'), 64)).toBe(E.NOENT);
    expect(g.call('path_filestat_set_times', 3, 1, 1000, g.put(1000, 'link'), t, t, 1 | 4)).toBe(E.SUCCESS);
    g.call('path_filestat_get', 3, 1, 1000, g.put(1000, 'f'), 64);
    expect(g.u64(64 + 40)).toBe(t);
    expect(g.call('fd_filestat_get', 55, 64)).toBe(E.BADF);
  });

  it('fd_seek/fd_tell: offsets, EINVAL whence, EISDIR on a directory; fd_pread/fd_pwrite keep the offset', async () => {
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS({ f: '0123456789' }), '/')));
    g.call('path_open', 3, 1, 1000, g.put(1000, 'f'), 0, ALL, 0n, 0, 0);
    const fd = g.u32(0);
    expect(g.call('fd_seek', fd, 4n, 0, 8)).toBe(E.SUCCESS);
    expect(g.u64(8)).toBe(4n);
    expect(g.call('fd_seek', fd, -1n, 2, 8)).toBe(E.SUCCESS);
    expect(g.u64(8)).toBe(9n);
    expect(g.call('fd_seek', fd, -100n, 1, 8)).toBe(E.INVAL);
    expect(g.call('fd_seek', fd, 0n, 3, 8)).toBe(E.INVAL);
    expect(g.call('fd_tell', fd, 8)).toBe(E.SUCCESS);
    expect(g.u64(8)).toBe(9n);
    expect(g.call('fd_seek', 3, 0n, 0, 8)).toBe(E.ISDIR);
    g.mem.writeUint32Le(0, 100);
    g.mem.writeUint32Le(4, 3);
    expect(g.call('fd_pread', fd, 0, 1, 2n, 16)).toBe(E.SUCCESS);
    expect(g.str(100, 3)).toBe('234');
    g.put(100, 'abc');
    expect(g.call('fd_pwrite', fd, 0, 1, 0n, 16)).toBe(E.SUCCESS);
    expect(g.u32(16)).toBe(3);
    g.call('fd_tell', fd, 8);
    expect(g.u64(8)).toBe(9n);
    expect(g.call('fd_pread', fd, 0, 1, 0n, 16)).toBe(E.SUCCESS);
    expect(g.str(100, 3)).toBe('abc');
  });

  it('fd_readdir: . and .., cookies resume after a small buffer, a truncated entry fills the buffer, errors', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`d/entry-${String(i).padStart(2, '0')}`] = '';
    files['file'] = '';
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS(files), '/')));
    g.call('path_open', 3, 1, 1000, g.put(1000, 'd'), 2, DIR, 0n, 0, 0);
    const fd = g.u32(0);
    const names: string[] = [];
    let cookie = 0n;
    for (let round = 0; round < 100; round++) {
      expect(g.call('fd_readdir', fd, 2000, 100, cookie, 0)).toBe(E.SUCCESS);
      const used = g.u32(0);
      let p = 2000;
      while (p + 24 <= 2000 + used) {
        const next = g.u64(p);
        const len = g.u32(p + 16);
        if (p + 24 + len > 2000 + used) break; // truncated: re-read from its cookie
        names.push(g.str(p + 24, len));
        cookie = next;
        p += 24 + len;
      }
      if (used < 100) break;
    }
    expect(names.slice(0, 2)).toEqual(['.', '..']);
    expect(names.length).toBe(42);
    expect(names[41]).toBe('entry-39');
    expect(g.call('fd_readdir', fd, 2000, 23, 0n, 0)).toBe(E.INVAL);
    expect(g.call('fd_readdir', fd, 2000, 100, 1000n, 0)).toBe(E.NOENT);
    expect(g.call('fd_readdir', fd, 2000, 100, -1n, 0)).toBe(E.INVAL);
    expect(g.call('fd_readdir', 1, 2000, 100, 0n, 0)).toBe(E.NOTCAPABLE);
    expect(g.call('fd_readdir', 99, 2000, 100, 0n, 0)).toBe(E.BADF);
    expect(g.call('fd_readdir', fd, PAGE - 50, 100, 0n, 0)).toBe(E.FAULT);
  });

  it('path_* on directories and links: create/remove directory, unlink, rename, link, symlink, readlink', async () => {
    const a = newMemFS({ 'x.txt': 'x' });
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(a, '/').withFSMount(newMemFS(), '/other')));
    const p = (s: string): [number, number] => [1000, g.put(1000, s)];
    const q = (s: string): [number, number] => [1500, g.put(1500, s)];
    expect(g.call('path_create_directory', 3, ...p('d'))).toBe(E.SUCCESS);
    expect(g.call('path_create_directory', 3, ...p('d'))).toBe(E.EXIST);
    expect(g.call('path_create_directory', 3, ...p('../d'))).toBe(E.PERM);
    expect(g.call('path_rename', 3, ...p('x.txt'), 3, ...q('d/y.txt'))).toBe(E.SUCCESS);
    expect(g.call('path_remove_directory', 3, ...p('d'))).toBe(E.NOTEMPTY);
    expect(g.call('path_link', 3, 0, ...p('d/y.txt'), 3, ...q('z.txt'))).toBe(E.SUCCESS);
    expect(g.call('path_link', 3, 0, ...p('z.txt'), 4, ...q('z.txt'))).toBe(E.NOSYS);
    expect(g.call('path_rename', 3, ...p('z.txt'), 4, ...q('z.txt'))).toBe(E.NOSYS);
    expect(g.call('path_symlink', ...p('d/y.txt'), 3, ...q('ln'))).toBe(E.SUCCESS);
    expect(g.call('path_symlink', ...p('/etc/passwd'), 3, ...q('evil'))).toBe(E.PERM);
    expect(g.call('path_open', 3, 1, ...q('evil'), 0, 0n, 0n, 0, 0)).toBe(E.NOENT);
    expect(g.call('path_readlink', 3, ...q('ln'), 2000, 100, 0)).toBe(E.SUCCESS);
    expect(g.str(2000, g.u32(0))).toBe('d/y.txt');
    expect(g.call('path_readlink', 3, ...q('ln'), 2000, 0, 0)).toBe(E.INVAL);
    expect(g.call('path_readlink', 3, ...q('z.txt'), 2000, 100, 0)).toBe(E.INVAL);
    expect(g.call('path_unlink_file', 3, ...p('d'))).toBe(E.ISDIR);
    expect(g.call('path_unlink_file', 3, ...p('d/y.txt'))).toBe(E.SUCCESS);
    expect(g.call('path_unlink_file', 3, ...p('d/y.txt'))).toBe(E.NOENT);
    expect(g.call('path_remove_directory', 3, ...p('d'))).toBe(E.SUCCESS);
    expect(g.call('path_remove_directory', 3, ...p('z.txt'))).toBe(E.NOTDIR);
    expect(g.call('path_create_directory', 1, ...p('d'))).toBe(E.NOTDIR);
  });

  it('fd_close and fd_renumber: a descriptor replaces an open one, closed fds are EBADF', async () => {
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS({ f: '' }), '/')));
    expect(g.call('fd_renumber', 9, 1)).toBe(E.BADF);
    g.call('path_open', 3, 1, 1000, g.put(1000, 'f'), 0, 0n, 0n, 0, 0);
    const fd = g.u32(0);
    expect(g.call('fd_renumber', fd, 1)).toBe(E.SUCCESS);
    expect(g.call('fd_fdstat_get', 1, 0)).toBe(E.SUCCESS);
    expect(g.mem.readByte(0)).toBe(4); // fd 1 is the file now
    expect(g.call('fd_fdstat_get', fd, 0)).toBe(E.BADF);
    expect(g.call('fd_close', 1)).toBe(E.SUCCESS);
    expect(g.call('fd_close', 1)).toBe(E.BADF);
    expect(g.call('fd_close', 0xfffffffe)).toBe(E.BADF);
  });

  it('poll_oneoff: clocks sleep for the smallest timeout, fds report readiness, errors per event', async () => {
    const slept: bigint[] = [];
    const g = await guest(runtimeFor(engine), (c) => c.withNanosleep((ns) => slept.push(ns)).withStdin('data'));
    const sub = (i: number, userdata: bigint, tag: number, a: number, timeout = 0n, flags = 0): void => {
      const at = 0 + i * 48;
      g.mem.write(at, new Uint8Array(48));
      g.mem.writeUint64Le(at, userdata);
      g.mem.writeByte(at + 8, tag);
      g.mem.writeUint32Le(at + 16, a);
      g.mem.writeUint64Le(at + 24, timeout);
      g.mem.writeUint16Le(at + 40, flags);
    };
    const ev = (i: number): [bigint, number, number] => [
      g.u64(1000 + i * 32),
      g.mem.readUint16Le(1000 + i * 32 + 8)!,
      g.mem.readByte(1000 + i * 32 + 10)!,
    ];
    expect(g.call('poll_oneoff', 0, 1000, 0, 2000)).toBe(E.INVAL);
    sub(0, 11n, 0, 1, 5_000_000n);
    sub(1, 12n, 0, 1, 2_000_000n);
    expect(g.call('poll_oneoff', 0, 1000, 2, 2000)).toBe(E.SUCCESS);
    expect(slept).toEqual([2_000_000n]);
    expect(g.u32(2000)).toBe(1);
    expect(ev(0)).toEqual([12n, 0, 0]);
    sub(0, 21n, 0, 0, 1n, 1 /* ABSTIME */);
    sub(1, 22n, 2 /* FD_WRITE */, 1);
    sub(2, 23n, 1 /* FD_READ */, 77);
    sub(3, 24n, 0, 9, 1n);
    expect(g.call('poll_oneoff', 0, 1000, 4, 2000)).toBe(E.SUCCESS);
    expect(g.u32(2000)).toBe(4);
    expect([ev(0), ev(1), ev(2), ev(3)]).toEqual([
      [21n, E.NOTSUP, 0],
      [22n, E.SUCCESS, 2],
      [23n, E.BADF, 1],
      [24n, E.INVAL, 0],
    ]);
    sub(0, 31n, 1, 0);
    sub(1, 32n, 0, 1, 1_000_000_000n);
    expect(g.call('poll_oneoff', 0, 1000, 2, 2000)).toBe(E.SUCCESS);
    expect(g.u32(2000)).toBe(1);
    expect(ev(0)).toEqual([31n, 0, 1]);
    expect(g.call('poll_oneoff', 0, PAGE - 10, 1, 2000)).toBe(E.FAULT);
  });

  it('random_get: deterministic by default, crypto when asked, EFAULT out of range', async () => {
    const r = runtimeFor(engine);
    const a = await guest(r);
    const b = await guest(r);
    expect(a.call('random_get', 0, 32)).toBe(E.SUCCESS);
    b.call('random_get', 0, 32);
    expect(a.mem.read(0, 32)).toEqual(b.mem.read(0, 32));
    const c = await guest(r, (x) => x.withRandSource(cryptoRandom));
    c.call('random_get', 0, 32);
    expect(c.mem.read(0, 32)).not.toEqual(a.mem.read(0, 32));
    expect(a.call('random_get', PAGE - 4, 8)).toBe(E.FAULT);
  });

  it('sched_yield calls the configured osyield', async () => {
    let yields = 0;
    const g = await guest(runtimeFor(engine), (c) => c.withOsyield(() => yields++));
    expect(g.call('sched_yield')).toBe(E.SUCCESS);
    expect(yields).toBe(1);
  });

  it('proc_exit closes the calling module and surfaces ExitError', async () => {
    const g = await guest(runtimeFor(engine));
    let err: unknown;
    try {
      g.call('proc_exit', 3);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExitError);
    expect((err as ExitError).exitCode).toBe(3);
    expect(g.mod.isClosed()).toBe(true);
    expect(() => g.call('sched_yield')).toThrow(ExitError);
  });

  it('validates the environment and args at instantiation with wazero texts', async () => {
    const r = runtimeFor(engine);
    await expect(guest(r, (c) => c.withEnv('', 'v'))).rejects.toThrow('environ invalid: empty key');
    await expect(guest(r, (c) => c.withEnv('A=B', 'v'))).rejects.toThrow("environ invalid: key contains '=' character");
    await expect(guest(r, (c) => c.withArgs('a\0b'))).rejects.toThrow('args invalid: contains NUL character');
  });

  it('can be exported as wasi_unstable', async () => {
    const r = runtimeFor(engine);
    await newBuilder(r, MODULE_NAME_UNSTABLE).instantiate();
    const out: Uint8Array[] = [];
    const mod = await r.instantiateWithConfig(proxyUnstable, newModuleConfig().withStdout({ write: (c) => out.push(c) }));
    mod.memory()!.write(100, new TextEncoder().encode('ok'));
    mod.memory()!.writeUint32Le(0, 100);
    mod.memory()!.writeUint32Le(4, 2);
    expect(Number(mod.exportedFunction('fd_write')!.call(1, 0, 1, 8)[0])).toBe(E.SUCCESS);
    expect(Buffer.concat(out).toString()).toBe('ok');
  });
});
