/**
 * wasi_snapshot_preview1 behaviour the official WASI test suite checks, one named case per behaviour,
 * run on every engine (and, where the filesystem matters, on a host directory and an in-memory FS):
 * rights (drop-only, enforced per call, following the open mode), pre-open names, path resolution
 * beneath a directory descriptor, trailing slashes, symlinks, nanosecond times, fdflags, fd_renumber,
 * sockets and poll_oneoff on stdio.
 */
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newFSConfig, type FSConfig } from '../../src/index.js';
import { newMemFS } from '../../src/sys.js';
import { ERRNO } from '../../src/wasi.js';
import { DIR_RIGHTS_BASE, DIR_RIGHTS_INHERITING, RIGHTS, STREAM_RIGHTS_BASE } from '../../src/wasi/constants.js';
import { engines, runtimeFor } from '../helpers.js';
import { guest, type Guest } from './proxy-guest.js';

const E = ERRNO;
const R = RIGHTS;
const ALL = 0x3fffffffn;
/** What a directory is opened asking for: everything but fd_write (with it, O_DIRECTORY is EISDIR). */
const DIR_ASK = ALL & ~BigInt(RIGHTS.FD_WRITE);
const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
const FDFLAGS = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
const FOLLOW = 1;

const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-preview1-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The filesystems path behaviour is checked on: a host directory and an in-memory FS. */
const filesystems: Array<{ name: string; mount: () => { fs: FSConfig; host: string | undefined } }> = [
  {
    name: 'host directory',
    mount: () => {
      const host = mkdtempSync(join(tmp, 'mount-'));
      return { fs: newFSConfig().withDirMount(host, '/'), host };
    },
  },
  { name: 'in-memory FS', mount: () => ({ fs: newFSConfig().withFSMount(newMemFS(), '/'), host: undefined }) },
];

/** Helpers over a proxy guest: strings go to fixed scratch addresses, results are read back. */
function ops(g: Guest) {
  const path = (s: string, at = 1000): [number, number] => [at, g.put(at, s)];
  return {
    /** path_open; the new fd is at address 0 on success. */
    open(
      dir: number,
      p: string,
      o: { oflags?: number; base?: bigint; inheriting?: bigint; fdflags?: number; dirflags?: number } = {},
    ): number {
      return g.call(
        'path_open',
        dir,
        o.dirflags ?? FOLLOW,
        ...path(p),
        o.oflags ?? 0,
        o.base ?? ((o.oflags ?? 0) & OFLAGS.DIRECTORY ? DIR_ASK : ALL),
        o.inheriting ?? ALL,
        o.fdflags ?? 0,
        0,
      );
    },
    /** fd_fdstat_get → [errno, filetype, flags, base, inheriting]. */
    fdstat(fd: number): [number, number, number, bigint, bigint] {
      const errno = g.call('fd_fdstat_get', fd, 100);
      return [errno, g.mem.readByte(100)!, g.mem.readUint16Le(102)!, g.u64(108), g.u64(116)];
    },
    write(fd: number, s: string): number {
      g.mem.writeUint32Le(200, 300);
      g.mem.writeUint32Le(204, g.put(300, s));
      return g.call('fd_write', fd, 200, 1, 208);
    },
    read(fd: number, n: number): [number, string] {
      g.mem.writeUint32Le(200, 300);
      g.mem.writeUint32Le(204, n);
      const errno = g.call('fd_read', fd, 200, 1, 208);
      return [errno, errno === 0 ? g.str(300, g.u32(208)) : ''];
    },
    /** path_filestat_get → [errno, mtim, atim]. */
    times(dir: number, p: string, flags: number): [number, bigint, bigint] {
      const errno = g.call('path_filestat_get', dir, flags, ...path(p), 400);
      return [errno, g.u64(400 + 48), g.u64(400 + 40)];
    },
    path,
  };
}

describe.each(engines)('wasi_snapshot_preview1 semantics on $name', (engine) => {
  describe('rights', () => {
    it('a pre-open holds every directory right and hands on every file and directory right; stdio rights follow the stream direction and never seek', async () => {
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS(), '/')));
      const o = ops(g);
      expect(o.fdstat(3)).toEqual([E.SUCCESS, 3, 0, BigInt(DIR_RIGHTS_BASE), BigInt(DIR_RIGHTS_INHERITING)]);
      const [, , , stdin] = o.fdstat(0);
      const [, , , stdout] = o.fdstat(1);
      expect(stdin & BigInt(R.FD_READ | R.FD_WRITE | R.FD_SEEK | R.FD_TELL)).toBe(BigInt(R.FD_READ));
      expect(stdout & BigInt(R.FD_READ | R.FD_WRITE | R.FD_SEEK | R.FD_TELL)).toBe(BigInt(R.FD_WRITE));
      expect(stdout | stdin).toBe(BigInt(STREAM_RIGHTS_BASE));
    });

    it('path_open grants what is asked, limited to what the directory hands on, to the file type and to the open mode', async () => {
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS({ f: 'x', 'd/g': '' }), '/')));
      const o = ops(g);
      expect(o.open(3, 'f', { base: BigInt(R.FD_READ | R.FD_SEEK) })).toBe(E.SUCCESS);
      expect(o.fdstat(g.u32(0))[3]).toBe(BigInt(R.FD_READ | R.FD_SEEK));
      // Asking for everything read-only: no write rights.
      expect(o.open(3, 'f', { base: ALL & ~BigInt(R.FD_WRITE) })).toBe(E.SUCCESS);
      const ro = o.fdstat(g.u32(0))[3];
      expect(ro & BigInt(R.FD_READ)).toBe(BigInt(R.FD_READ));
      expect(ro & BigInt(R.FD_WRITE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE)).toBe(0n);
      // Write-only: no fd_read.
      expect(o.open(3, 'f', { base: BigInt(R.FD_WRITE | R.FD_FILESTAT_GET) })).toBe(E.SUCCESS);
      expect(o.fdstat(g.u32(0))[3]).toBe(BigInt(R.FD_WRITE | R.FD_FILESTAT_GET));
      // A directory gets only directory rights, however many file rights (fd_read, fd_seek, …) it asks for;
      // asking to write one is EISDIR, as opening a directory for writing is.
      expect(o.open(3, 'd', { oflags: OFLAGS.DIRECTORY, base: BigInt(R.FD_READ | R.FD_WRITE) })).toBe(E.ISDIR);
      expect(o.open(3, 'd', { oflags: OFLAGS.DIRECTORY, inheriting: BigInt(R.FD_READ) })).toBe(E.SUCCESS);
      const d = g.u32(0);
      expect(o.fdstat(d).slice(3)).toEqual([BigInt(DIR_RIGHTS_BASE), BigInt(R.FD_READ)]);
      // ... and hands on no more than it inherited.
      expect(o.open(d, 'g')).toBe(E.SUCCESS);
      expect(o.fdstat(g.u32(0))[3]).toBe(BigInt(R.FD_READ));
    });

    it('fd_fdstat_set_rights only drops rights: asking for one not held is ENOTCAPABLE', async () => {
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS({ f: 'x' }), '/')));
      const o = ops(g);
      o.open(3, 'f', { base: BigInt(R.FD_READ | R.FD_WRITE | R.FD_SEEK), inheriting: 0n });
      const fd = g.u32(0);
      expect(g.call('fd_fdstat_set_rights', fd, BigInt(R.FD_READ | R.FD_WRITE | R.FD_SEEK), 0n)).toBe(E.SUCCESS);
      expect(g.call('fd_fdstat_set_rights', fd, BigInt(R.FD_SEEK), 0n)).toBe(E.SUCCESS);
      expect(o.fdstat(fd).slice(3)).toEqual([BigInt(R.FD_SEEK), 0n]);
      expect(g.call('fd_fdstat_set_rights', fd, BigInt(R.FD_SEEK | R.FD_READ), 0n)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_fdstat_set_rights', fd, BigInt(R.FD_SEEK), 1n)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_fdstat_set_rights', fd, 1n << 40n, 0n)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_fdstat_set_rights', 99, 0n, 0n)).toBe(E.BADF);
    });

    it('every call checks its rights: a dropped fd_read or fd_write is EBADF, any other dropped right ENOTCAPABLE', async () => {
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS({ f: 'hello' }), '/')));
      const o = ops(g);
      o.open(3, 'f');
      const fd = g.u32(0);
      expect(o.read(fd, 2)).toEqual([E.SUCCESS, 'he']);
      const drop = (r: number): number => {
        const [, , , base, inheriting] = o.fdstat(fd);
        return g.call('fd_fdstat_set_rights', fd, base & ~BigInt(r), inheriting);
      };
      drop(R.FD_READ);
      expect(o.read(fd, 2)[0]).toBe(E.BADF);
      expect(o.write(fd, 'x')).toBe(E.SUCCESS);
      drop(R.FD_WRITE);
      expect(o.write(fd, 'x')).toBe(E.BADF);
      expect(g.call('fd_tell', fd, 0)).toBe(E.SUCCESS);
      drop(R.FD_SEEK);
      expect(g.call('fd_seek', fd, 0n, 0, 0)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_seek', fd, 0n, 1, 0)).toBe(E.SUCCESS); // fd_tell's right suffices to ask the offset
      drop(R.FD_TELL);
      expect(g.call('fd_tell', fd, 0)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_filestat_get', fd, 400)).toBe(E.SUCCESS);
      drop(R.FD_FILESTAT_GET);
      expect(g.call('fd_filestat_get', fd, 400)).toBe(E.NOTCAPABLE);
      drop(
        R.FD_FILESTAT_SET_SIZE | R.FD_FILESTAT_SET_TIMES | R.FD_ALLOCATE | R.FD_ADVISE | R.FD_SYNC | R.FD_DATASYNC | R.FD_FDSTAT_SET_FLAGS,
      );
      expect(g.call('fd_filestat_set_size', fd, 0n)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_filestat_set_times', fd, 0n, 0n, 4)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_allocate', fd, 0n, 1n)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_advise', fd, 0n, 0n, 0)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_sync', fd)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_datasync', fd)).toBe(E.NOTCAPABLE);
      expect(g.call('fd_fdstat_set_flags', fd, 0)).toBe(E.NOTCAPABLE);
      // Whatever is dropped, the descriptor still closes and reports its state.
      expect(o.fdstat(fd)[0]).toBe(E.SUCCESS);
      expect(g.call('fd_close', fd)).toBe(E.SUCCESS);
    });

    it('path_* calls check the directory right each needs; O_TRUNC needs path_filestat_set_size and O_CREAT path_create_file', async () => {
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS({ 'd/f': 'x' }), '/')));
      const o = ops(g);
      o.open(3, 'd', { oflags: OFLAGS.DIRECTORY });
      const d = g.u32(0);
      const keep = (r: number): number => g.call('fd_fdstat_set_rights', d, BigInt(r), ALL & BigInt(DIR_RIGHTS_INHERITING));
      expect(keep(DIR_RIGHTS_BASE & ~R.PATH_FILESTAT_SET_SIZE & ~R.PATH_CREATE_FILE)).toBe(E.SUCCESS);
      expect(o.open(d, 'f')).toBe(E.SUCCESS);
      expect(o.open(d, 'f', { oflags: OFLAGS.TRUNC })).toBe(E.NOTCAPABLE);
      expect(o.open(d, 'new', { oflags: OFLAGS.CREAT })).toBe(E.NOTCAPABLE);
      expect(keep(R.PATH_OPEN)).toBe(E.SUCCESS);
      expect(o.open(d, 'f')).toBe(E.SUCCESS);
      expect(g.call('path_create_directory', d, ...o.path('x'))).toBe(E.NOTCAPABLE);
      expect(g.call('path_filestat_get', d, 0, ...o.path('f'), 400)).toBe(E.NOTCAPABLE);
      expect(g.call('path_filestat_set_times', d, 0, ...o.path('f'), 0n, 0n, 4)).toBe(E.NOTCAPABLE);
      expect(g.call('path_unlink_file', d, ...o.path('f'))).toBe(E.NOTCAPABLE);
      expect(g.call('path_remove_directory', d, ...o.path('x'))).toBe(E.NOTCAPABLE);
      expect(g.call('path_readlink', d, ...o.path('f'), 2000, 10, 0)).toBe(E.NOTCAPABLE);
      expect(g.call('path_symlink', ...o.path('f', 1500), d, ...o.path('l'))).toBe(E.NOTCAPABLE);
      expect(g.call('path_rename', d, ...o.path('f'), 3, ...o.path('g', 1500))).toBe(E.NOTCAPABLE);
      expect(g.call('path_link', 3, 0, ...o.path('d/f'), d, ...o.path('g', 1500))).toBe(E.NOTCAPABLE);
      expect(g.call('fd_readdir', d, 2000, 100, 0n, 0)).toBe(E.NOTCAPABLE);
      // The pre-open still has them all.
      expect(g.call('path_rename', 3, ...o.path('d/f'), 3, ...o.path('g', 1500))).toBe(E.SUCCESS);
    });

    it('poll_oneoff subscriptions need poll_fd_readwrite plus fd_read or fd_write', async () => {
      const g = await guest(runtimeFor(engine), (c) => c.withStdin('x'));
      const sub = (i: number, tag: number, fd: number): void => {
        g.mem.write(i * 48, new Uint8Array(48));
        g.mem.writeUint64Le(i * 48, BigInt(i + 1));
        g.mem.writeByte(i * 48 + 8, tag);
        g.mem.writeUint32Le(i * 48 + 16, fd);
      };
      sub(0, 2 /* FD_WRITE */, 0);
      sub(1, 1 /* FD_READ */, 1);
      expect(g.call('poll_oneoff', 0, 1000, 2, 2000)).toBe(E.SUCCESS);
      expect([g.mem.readUint16Le(1008), g.mem.readUint16Le(1040)]).toEqual([E.BADF, E.BADF]);
      g.call('fd_fdstat_set_rights', 1, BigInt(R.FD_WRITE), 0n);
      sub(0, 2, 1);
      expect(g.call('poll_oneoff', 0, 1000, 1, 2000)).toBe(E.SUCCESS);
      expect(g.mem.readUint16Le(1008)).toBe(E.NOTCAPABLE);
    });
  });

  it('fd_prestat_dir_name fails with ENAMETOOLONG on a buffer smaller than the name and fills a larger one', async () => {
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS(), '/data')));
    g.mem.write(16, new Uint8Array(8).fill(0x2a));
    expect(g.call('fd_prestat_dir_name', 3, 16, 0)).toBe(E.NAMETOOLONG);
    expect(g.call('fd_prestat_dir_name', 3, 16, 4)).toBe(E.NAMETOOLONG);
    expect(g.mem.readByte(16)).toBe(0x2a);
    expect(g.call('fd_prestat_dir_name', 3, 16, 5)).toBe(E.SUCCESS);
    expect(g.call('fd_prestat_dir_name', 3, 16, 8)).toBe(E.SUCCESS);
    expect(g.str(16, 6)).toBe('/data*');
  });

  it('pre-opens are named exactly as configured: ".", "./x", "/" and "/tmp/"', async () => {
    const names = ['.', './x', '/', '/tmp/'];
    const g = await guest(runtimeFor(engine), (c) =>
      c.withFSConfig(names.reduce((fs, n, i) => (i % 2 === 0 ? fs.withFSMount(newMemFS(), n) : fs.withDirMount(tmp, n)), newFSConfig())),
    );
    const got: string[] = [];
    for (let fd = 3; g.call('fd_prestat_get', fd, 0) === E.SUCCESS; fd++) {
      const len = g.u32(4);
      expect(g.call('fd_prestat_dir_name', fd, 16, len)).toBe(E.SUCCESS);
      got.push(g.str(16, len));
    }
    expect(got).toEqual(names);
  });

  it('sock_* on a file, a directory or stdio is ENOTSOCK', async () => {
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS({ f: '' }), '/')));
    ops(g).open(3, 'f');
    for (const fd of [0, 1, 2, 3, g.u32(0)]) {
      expect(g.call('sock_shutdown', fd, 1)).toBe(E.NOTSOCK);
      expect(g.call('sock_accept', fd, 0, 0)).toBe(E.NOTSOCK);
      expect(g.call('sock_recv', fd, 0, 0, 0, 0, 4)).toBe(E.NOTSOCK);
      expect(g.call('sock_send', fd, 0, 0, 0, 0)).toBe(E.NOTSOCK);
    }
  });

  it('poll_oneoff reports stdout and stderr writable at once, without waiting for a clock', async () => {
    const slept: bigint[] = [];
    const g = await guest(runtimeFor(engine), (c) => c.withNanosleep((ns) => slept.push(ns)));
    const sub = (i: number, userdata: bigint, tag: number, fd: number, timeout = 0n): void => {
      g.mem.write(i * 48, new Uint8Array(48));
      g.mem.writeUint64Le(i * 48, userdata);
      g.mem.writeByte(i * 48 + 8, tag);
      g.mem.writeUint32Le(i * 48 + 16, fd);
      g.mem.writeUint64Le(i * 48 + 24, timeout);
    };
    sub(0, 1n, 2 /* FD_WRITE */, 1);
    sub(1, 2n, 2, 2);
    sub(2, 3n, 0 /* CLOCK */, 1 /* MONOTONIC */, 200_000_000n);
    expect(g.call('poll_oneoff', 0, 1000, 3, 2000)).toBe(E.SUCCESS);
    expect(g.u32(2000)).toBe(2);
    const ev = (i: number): [bigint, number, number] => [
      g.u64(1000 + i * 32),
      g.mem.readUint16Le(1008 + i * 32)!,
      g.mem.readByte(1010 + i * 32)!,
    ];
    expect([ev(0), ev(1)]).toEqual([
      [1n, E.SUCCESS, 2],
      [2n, E.SUCCESS, 2],
    ]);
    expect(slept).toEqual([]);
  });

  it('fd_renumber moves a descriptor over a pre-open (closing it), and to a closed descriptor is EBADF', async () => {
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS({ 'd/f': '' }), '/')));
    const o = ops(g);
    o.open(3, 'd', { oflags: OFLAGS.DIRECTORY });
    const d = g.u32(0);
    expect(g.call('fd_renumber', d, 9)).toBe(E.BADF);
    expect(g.call('fd_renumber', d, d)).toBe(E.SUCCESS);
    expect(g.call('fd_renumber', d, 3)).toBe(E.SUCCESS);
    expect(g.call('fd_fdstat_get', d, 100)).toBe(E.BADF);
    // fd 3 is the directory now (no longer a pre-open): paths resolve in it.
    expect(g.call('fd_prestat_get', 3, 0)).toBe(E.BADF);
    expect(o.open(3, 'f')).toBe(E.SUCCESS);
    // stdio may move too, over any open descriptor.
    expect(g.call('fd_renumber', 1, g.u32(0))).toBe(E.SUCCESS);
    expect(g.call('fd_fdstat_get', 1, 100)).toBe(E.BADF);
  });

  it('fd_fdstat_get reports the fdflags a file was opened with; fd_fdstat_set_flags changes APPEND and NONBLOCK only', async () => {
    const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(newFSConfig().withFSMount(newMemFS({ f: '' }), '/')));
    const o = ops(g);
    expect(o.open(3, 'f', { fdflags: FDFLAGS.APPEND | FDFLAGS.SYNC | FDFLAGS.DSYNC | FDFLAGS.NONBLOCK })).toBe(E.SUCCESS);
    const fd = g.u32(0);
    expect(o.fdstat(fd)[2]).toBe(FDFLAGS.APPEND | FDFLAGS.SYNC | FDFLAGS.DSYNC | FDFLAGS.NONBLOCK);
    expect(g.call('fd_fdstat_set_flags', fd, 0)).toBe(E.SUCCESS);
    expect(o.fdstat(fd)[2]).toBe(FDFLAGS.SYNC | FDFLAGS.DSYNC);
    expect(g.call('fd_fdstat_set_flags', fd, FDFLAGS.SYNC)).toBe(E.INVAL);
    expect(g.call('fd_fdstat_set_flags', fd, FDFLAGS.APPEND)).toBe(E.SUCCESS);
    expect(o.fdstat(fd)[2]).toBe(FDFLAGS.APPEND | FDFLAGS.SYNC | FDFLAGS.DSYNC);
  });

  describe.each(filesystems)('on a $name', ({ mount }) => {
    it('clearing FDFLAGS_APPEND makes writes land at the offset again, setting it sends them to the end', async () => {
      const m = mount();
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(m.fs));
      const o = ops(g);
      expect(o.open(3, 'f', { oflags: OFLAGS.CREAT, fdflags: FDFLAGS.APPEND })).toBe(E.SUCCESS);
      const fd = g.u32(0);
      o.write(fd, 'aaaa');
      g.call('fd_seek', fd, 0n, 0, 0);
      o.write(fd, 'bb'); // appended
      expect(g.call('fd_fdstat_set_flags', fd, 0)).toBe(E.SUCCESS);
      g.call('fd_seek', fd, 0n, 0, 0);
      o.write(fd, 'cc'); // at 0
      expect(g.call('fd_fdstat_set_flags', fd, FDFLAGS.APPEND)).toBe(E.SUCCESS);
      g.call('fd_seek', fd, 0n, 0, 0);
      o.write(fd, 'd'); // appended
      g.call('fd_seek', fd, 0n, 0, 0);
      expect(o.read(fd, 20)).toEqual([E.SUCCESS, 'ccaabbd']);
      if (m.host !== undefined) expect(readFileSync(join(m.host, 'f'), 'utf8')).toBe('ccaabbd');
    });

    it('fd_filestat_set_times and path_filestat_set_times keep nanoseconds, and an omitted time stays exactly as it was', async () => {
      const m = mount();
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(m.fs));
      const o = ops(g);
      o.open(3, 'f', { oflags: OFLAGS.CREAT });
      const fd = g.u32(0);
      const [, mtim, atim] = o.times(3, 'f', 0);
      const m1 = mtim - 100n;
      expect(g.call('fd_filestat_set_times', fd, 0n, m1, 4 /* MTIM */)).toBe(E.SUCCESS);
      expect(o.times(3, 'f', 0)).toEqual([E.SUCCESS, m1, atim]);
      const a2 = 1_234_567_890_123_456_789n;
      expect(g.call('path_filestat_set_times', 3, 0, ...o.path('f'), a2, 0n, 1 /* ATIM */)).toBe(E.SUCCESS);
      expect(o.times(3, 'f', 0)).toEqual([E.SUCCESS, m1, a2]);
      if (m.host !== undefined) {
        const st = statSync(join(m.host, 'f'), { bigint: true });
        expect([st.mtimeNs, st.atimeNs]).toEqual([m1, a2]);
      }
    });

    it('path_filestat_set_times without SYMLINK_FOLLOW sets the times of the symlink itself, with it those of the target', async () => {
      const m = mount();
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(m.fs));
      const o = ops(g);
      o.open(3, 'file', { oflags: OFLAGS.CREAT });
      expect(g.call('path_symlink', ...o.path('file', 1500), 3, ...o.path('link'))).toBe(E.SUCCESS);
      const [, fileMtim] = o.times(3, 'file', 0);
      const [, linkMtim] = o.times(3, 'link', 0);
      expect(g.call('path_filestat_set_times', 3, 0, ...o.path('link'), 0n, linkMtim - 200n, 4)).toBe(E.SUCCESS);
      expect(o.times(3, 'link', 0)[1]).toBe(linkMtim - 200n);
      expect(o.times(3, 'file', 0)[1]).toBe(fileMtim);
      expect(g.call('path_filestat_set_times', 3, FOLLOW, ...o.path('link'), 0n, linkMtim, 4)).toBe(E.SUCCESS);
      expect(o.times(3, 'file', 0)[1]).toBe(linkMtim);
      expect(o.times(3, 'link', 0)[1]).toBe(linkMtim - 200n);
      if (m.host !== undefined) expect(lstatSync(join(m.host, 'link'), { bigint: true }).mtimeNs).toBe(linkMtim - 200n);
    });

    it('".." may not climb above the directory descriptor, nor may a symlink inside it, though both stay in the mount', async () => {
      const m = mount();
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(m.fs));
      const o = ops(g);
      g.call('path_create_directory', 3, ...o.path('dir'));
      g.call('path_create_directory', 3, ...o.path('dir/nested'));
      o.open(3, 'dir/nested/file', { oflags: OFLAGS.CREAT });
      o.open(3, 'top', { oflags: OFLAGS.CREAT });
      expect(g.call('path_symlink', ...o.path('../top', 1500), 3, ...o.path('dir/up'))).toBe(E.SUCCESS);
      expect(o.open(3, './dir/../dir', { oflags: OFLAGS.DIRECTORY })).toBe(E.SUCCESS);
      const d = g.u32(0);
      expect(o.open(d, 'nested/../nested/./file')).toBe(E.SUCCESS);
      expect(o.open(d, 'nested/../../dir/nested/file')).toBe(E.PERM);
      expect(o.open(d, '../top')).toBe(E.PERM);
      expect(o.open(d, 'up')).toBe(E.PERM);
      expect(g.call('path_filestat_get', d, FOLLOW, ...o.path('up'), 400)).toBe(E.PERM);
      expect(g.call('path_create_directory', d, ...o.path('../x'))).toBe(E.PERM);
      // Not following the final symlink is fine: it is inside.
      expect(g.call('path_filestat_get', d, 0, ...o.path('up'), 400)).toBe(E.SUCCESS);
      // Through the pre-open, the same paths are inside.
      expect(o.open(3, 'dir/up')).toBe(E.SUCCESS);
      expect(o.open(3, 'dir/nested/../../top')).toBe(E.SUCCESS);
      // A directory opened below keeps its own floor.
      expect(o.open(d, 'nested', { oflags: OFLAGS.DIRECTORY })).toBe(E.SUCCESS);
      expect(o.open(g.u32(0), '../nested/file')).toBe(E.PERM);
    });

    it('a trailing slash on a non-directory is ENOTDIR, and a link or symlink cannot be created at a path ending in "/" (ENOENT)', async () => {
      const m = mount();
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(m.fs));
      const o = ops(g);
      o.open(3, 'file', { oflags: OFLAGS.CREAT });
      g.call('path_create_directory', 3, ...o.path('dir'));
      expect(o.open(3, 'file/')).toBe(E.NOTDIR);
      expect(o.open(3, 'file///')).toBe(E.NOTDIR);
      expect(o.open(3, 'dir/', { base: BigInt(R.FD_READDIR) })).toBe(E.SUCCESS);
      expect(g.call('path_link', 3, 0, ...o.path('file'), 3, ...o.path('link/', 1500))).toBe(E.NOENT);
      expect(g.call('path_symlink', ...o.path('file', 1500), 3, ...o.path('sym/'))).toBe(E.NOENT);
      expect(g.call('path_symlink', ...o.path('file', 1500), 3, ...o.path('file/'))).toBe(E.NOTDIR);
      expect(g.call('path_symlink', ...o.path('file', 1500), 3, ...o.path('dir/'))).toBe(E.EXIST);
      expect(g.call('path_filestat_get', 3, 0, ...o.path('link'), 400)).toBe(E.NOENT);
      expect(g.call('path_filestat_get', 3, 0, ...o.path('sym'), 400)).toBe(E.NOENT);
      expect(g.call('path_unlink_file', 3, ...o.path('file/'))).toBe(E.NOTDIR);
      expect(g.call('path_create_directory', 3, ...o.path('made/'))).toBe(E.SUCCESS);
    });

    it('path_symlink refuses an absolute target with EPERM and creates nothing', async () => {
      const m = mount();
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(m.fs));
      const o = ops(g);
      expect(g.call('path_symlink', ...o.path('/', 1500), 3, ...o.path('root'))).toBe(E.PERM);
      expect(g.call('path_symlink', ...o.path('/etc/passwd', 1500), 3, ...o.path('evil'))).toBe(E.PERM);
      expect(g.call('path_filestat_get', 3, 0, ...o.path('evil'), 400)).toBe(E.NOENT);
      expect(g.call('path_symlink', ...o.path('etc/passwd', 1500), 3, ...o.path('dangling'))).toBe(E.SUCCESS);
    });

    it('path_readlink truncates the target into a buffer smaller than it, leaving the rest of memory untouched', async () => {
      const m = mount();
      const g = await guest(runtimeFor(engine), (c) => c.withFSConfig(m.fs));
      const o = ops(g);
      g.call('path_symlink', ...o.path('target', 1500), 3, ...o.path('symlink'));
      g.mem.write(2000, new Uint8Array(10));
      expect(g.call('path_readlink', 3, ...o.path('symlink'), 2000, 10, 0)).toBe(E.SUCCESS);
      expect([g.u32(0), g.str(2000, 10)]).toEqual([6, 'target\0\0\0\0']);
      g.mem.write(2000, new Uint8Array(10));
      expect(g.call('path_readlink', 3, ...o.path('symlink'), 2000, 4, 0)).toBe(E.SUCCESS);
      expect([g.u32(0), g.str(2000, 6)]).toEqual([4, 'targ\0\0']);
    });
  });
});
