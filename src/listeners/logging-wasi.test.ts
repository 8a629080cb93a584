import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { wat } from '../../test/helpers.js';
import { newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../index.js';
import { Context } from '../runtime/api/context.js';
import type { FunctionListener, FunctionListenerFactory } from '../runtime/api/listener.js';
import type { FunctionDefinition, Memory, Module } from '../runtime/api/module.js';
import { newFunctionDefinition } from '../runtime/store/definition.js';
import { ERRNO, FDFLAGS, OFLAGS, RIGHTS } from '../wasi/constants.js';
import { WASI_FUNCTIONS } from '../wasi/functions.js';
import { LogScopeAll, newHostLoggingListenerFactory, newLoggingListenerFactory } from './logging.js';
import { newStackIterator } from './stack.js';

class Lines {
  chunks: Array<string | Uint8Array> = [];
  write(chunk: string | Uint8Array): void {
    this.chunks.push(chunk);
  }
  get text(): string {
    return this.chunks.map((c) => (typeof c === 'string' ? c : new TextDecoder().decode(c))).join('');
  }
}

function wasiDef(name: string, moduleName = 'wasi_snapshot_preview1'): FunctionDefinition {
  const w = WASI_FUNCTIONS.find((f) => f.name === name);
  if (w === undefined) throw new Error(`no WASI function ${name}`);
  return newFunctionDefinition({
    moduleName,
    index: 0,
    importName: undefined,
    exportNames: [name],
    name,
    type: { params: w.params, results: w.results },
    paramNames: w.paramNames,
    resultNames: w.results.length > 0 ? ['errno'] : [],
    hostFunction: () => {},
  });
}

const ctx = Context.background();
let mod: Module;
let mem: Memory;
let out: Lines;
let factory: FunctionListenerFactory;

beforeAll(async () => {
  const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
  mod = await r.instantiate(await wat('(module (memory (export "memory") 1))'));
  mem = mod.memory()!;
});

beforeEach(() => {
  out = new Lines();
  factory = newHostLoggingListenerFactory(out, LogScopeAll);
  mem.write(0, new Uint8Array(1024));
});

function listen(d: FunctionDefinition): FunctionListener {
  const l = factory.newFunctionListener(d);
  if (l === undefined) throw new Error(`${d.debugName()} not listened`);
  return l;
}

/**
 * Calls `name` as a listened host function: before, then `effect` (the host's memory writes), then
 * after with `errno` (or abort when undefined).
 */
function wasiCall(name: string, params: Array<number | bigint>, errno: number | undefined, effect?: () => void): string {
  const d = wasiDef(name);
  const l = listen(d);
  const raw = BigUint64Array.from(params.map((p) => BigInt.asUintN(64, BigInt(p))));
  l.before(ctx, mod, d, raw, newStackIterator());
  effect?.();
  if (errno === undefined) l.abort(ctx, mod, d, new Error('exit'));
  else l.after(ctx, mod, d, BigUint64Array.of(BigInt(errno)));
  return out.text;
}

const enc = new TextEncoder();

describe('WASI pretty-printing', () => {
  it('ends results with errno=<NAME>', () => {
    expect(wasiCall('random_get', [4, 4], ERRNO.SUCCESS)).toBe(
      '==> wasi_snapshot_preview1.random_get(buf=4,buf_len=4)\n<== errno=ESUCCESS\n',
    );
    out.chunks = [];
    expect(wasiCall('random_get', [4, 4], ERRNO.FAULT)).toBe('==> wasi_snapshot_preview1.random_get(buf=4,buf_len=4)\n<== errno=EFAULT\n');
  });

  it('prints path params as the string in memory, flags as A|B, and the out-param after success', () => {
    mem.write(100, enc.encode('dir/a.txt'));
    const rights = RIGHTS.FD_READ | RIGHTS.FD_SEEK;
    const text = wasiCall('path_open', [3, 1, 100, 9, OFLAGS.CREAT | OFLAGS.TRUNC, rights, 0, FDFLAGS.APPEND, 200], ERRNO.SUCCESS, () =>
      mem.writeUint32Le(200, 4),
    );
    expect(text).toBe(
      '==> wasi_snapshot_preview1.path_open(fd=3,dirflags=SYMLINK_FOLLOW,path=dir/a.txt,oflags=CREAT|TRUNC,' +
        'fs_rights_base=FD_READ|FD_SEEK,fs_rights_inheriting=,fdflags=APPEND)\n<== (opened_fd=4,errno=ESUCCESS)\n',
    );
  });

  it('leaves an out-param empty when the call fails', () => {
    mem.write(100, enc.encode('nope'));
    mem.writeUint32Le(200, 77); // garbage that must not be printed
    expect(wasiCall('path_open', [3, 0, 100, 4, 0, 0, 0, 0, 200], ERRNO.NOENT)).toBe(
      '==> wasi_snapshot_preview1.path_open(fd=3,dirflags=,path=nope,oflags=,fs_rights_base=,fs_rights_inheriting=,fdflags=)\n' +
        '<== (opened_fd=,errno=ENOENT)\n',
    );
  });

  it('prints a path outside memory as OOM(offset,len)', () => {
    expect(wasiCall('path_unlink_file', [3, 65530, 10], ERRNO.FAULT)).toBe(
      '==> wasi_snapshot_preview1.path_unlink_file(fd=3,path=OOM(65530,10))\n<== errno=EFAULT\n',
    );
  });

  it('writes a line with a non-UTF-8 path as bytes, exactly', () => {
    mem.write(100, Uint8Array.of(0x61, 0xff, 0x62));
    wasiCall('path_unlink_file', [3, 100, 3], ERRNO.NOENT);
    const first = out.chunks[0];
    expect(first).toBeInstanceOf(Uint8Array);
    expect([...(first as Uint8Array)]).toEqual([
      ...enc.encode('==> wasi_snapshot_preview1.path_unlink_file(fd=3,path=a'),
      0xff,
      0x62,
      0x29,
      0x0a,
    ]);
  });

  it('does not log fd_write and fd_read on stdio, nor indent for them', () => {
    const outer = wasiDef('path_create_directory');
    const lo = listen(outer);
    mem.write(100, enc.encode('d'));
    lo.before(ctx, mod, outer, BigUint64Array.of(3n, 100n, 1n), newStackIterator());
    wasiCall('fd_write', [1, 0, 1, 20], ERRNO.SUCCESS);
    wasiCall('fd_read', [0, 0, 1, 20], ERRNO.SUCCESS);
    wasiCall('fd_write', [2, 0, 1, 20], ERRNO.SUCCESS);
    lo.after(ctx, mod, outer, BigUint64Array.of(0n));
    expect(out.text).toBe('==> wasi_snapshot_preview1.path_create_directory(fd=3,path=d)\n<== errno=ESUCCESS\n');
  });

  it('logs fd_write on other fds with nwritten, and fd 0xffffffff as -1', () => {
    expect(wasiCall('fd_write', [3, 16, 1, 24], ERRNO.SUCCESS, () => mem.writeUint32Le(24, 12))).toBe(
      '==> wasi_snapshot_preview1.fd_write(fd=3,iovs=16,iovs_len=1)\n<== (nwritten=12,errno=ESUCCESS)\n',
    );
    out.chunks = [];
    expect(wasiCall('fd_read', [0xffffffff, 16, 1, 24], ERRNO.BADF)).toBe(
      '==> wasi_snapshot_preview1.fd_read(fd=-1,iovs=16,iovs_len=1)\n<== (nread=,errno=EBADF)\n',
    );
  });

  it('names clock ids and reads the 64-bit timestamp', () => {
    expect(wasiCall('clock_time_get', [1, 1000, 64], ERRNO.SUCCESS, () => mem.writeUint64Le(64, 1_640_995_200_000_000_000n))).toBe(
      '==> wasi_snapshot_preview1.clock_time_get(id=monotonic,precision=1000)\n<== (timestamp=1640995200000000000,errno=ESUCCESS)\n',
    );
    out.chunks = [];
    expect(wasiCall('clock_time_get', [0, 0, 64], ERRNO.SUCCESS)).toContain('(id=realtime,precision=0)');
    out.chunks = [];
    expect(wasiCall('clock_res_get', [7, 64], ERRNO.INVAL)).toBe(
      '==> wasi_snapshot_preview1.clock_res_get(id=7)\n<== (resolution=,errno=EINVAL)\n',
    );
  });

  it('prints filestat, fdstat and prestat structs', () => {
    const filestat = (): void => {
      mem.writeByte(300 + 16, 4);
      mem.writeUint64Le(300 + 32, 123n);
      mem.writeUint64Le(300 + 48, 1_000_000_000n);
    };
    expect(wasiCall('fd_filestat_get', [3, 300], ERRNO.SUCCESS, filestat)).toBe(
      '==> wasi_snapshot_preview1.fd_filestat_get(fd=3)\n<== (filestat={filetype=REGULAR_FILE,size=123,mtim=1000000000},errno=ESUCCESS)\n',
    );
    out.chunks = [];
    mem.write(100, enc.encode('x'));
    expect(wasiCall('path_filestat_get', [3, 0, 100, 1, 300], ERRNO.SUCCESS, filestat)).toBe(
      '==> wasi_snapshot_preview1.path_filestat_get(fd=3,flags=,path=x)\n' +
        '<== (filestat={filetype=REGULAR_FILE,size=123,mtim=1000000000},errno=ESUCCESS)\n',
    );
    out.chunks = [];
    const fdstat = (): void => {
      mem.writeByte(400, 3);
      mem.writeUint16Le(402, FDFLAGS.APPEND | FDFLAGS.NONBLOCK);
      mem.writeUint64Le(408, BigInt(RIGHTS.FD_READ | RIGHTS.PATH_OPEN));
      mem.writeUint64Le(416, 0n);
    };
    expect(wasiCall('fd_fdstat_get', [3, 400], ERRNO.SUCCESS, fdstat)).toBe(
      '==> wasi_snapshot_preview1.fd_fdstat_get(fd=3)\n' +
        '<== (stat={filetype=DIRECTORY,fdflags=APPEND|NONBLOCK,fs_rights_base=FD_READ|PATH_OPEN,fs_rights_inheriting=},errno=ESUCCESS)\n',
    );
    out.chunks = [];
    expect(wasiCall('fd_prestat_get', [3, 500], ERRNO.SUCCESS, () => mem.writeUint32Le(504, 8))).toBe(
      '==> wasi_snapshot_preview1.fd_prestat_get(fd=3)\n<== (prestat={pr_name_len=8},errno=ESUCCESS)\n',
    );
  });

  it('prints fd_prestat_dir_name path as a result read after success', () => {
    expect(wasiCall('fd_prestat_dir_name', [3, 600, 4], ERRNO.SUCCESS, () => mem.write(600, enc.encode('/tmp')))).toBe(
      '==> wasi_snapshot_preview1.fd_prestat_dir_name(fd=3)\n<== (path=/tmp,errno=ESUCCESS)\n',
    );
  });

  it('keeps other result.* names as raw params', () => {
    expect(wasiCall('args_sizes_get', [16, 21], ERRNO.SUCCESS)).toBe(
      '==> wasi_snapshot_preview1.args_sizes_get(result.argc=16,result.argv_len=21)\n<== errno=ESUCCESS\n',
    );
  });

  it('prints fd_seek offset signed, whence raw and newoffset as i64', () => {
    expect(wasiCall('fd_seek', [3, -5n, 2, 32], ERRNO.SUCCESS, () => mem.writeUint64Le(32, 95n))).toBe(
      '==> wasi_snapshot_preview1.fd_seek(fd=3,offset=-5,whence=2)\n<== (newoffset=95,errno=ESUCCESS)\n',
    );
  });

  it('prints proc_exit(rval=N) with no result line (it aborts)', () => {
    expect(wasiCall('proc_exit', [2], undefined)).toBe('==> wasi_snapshot_preview1.proc_exit(rval=2)\n');
  });

  it('treats wasi_unstable as WASI', () => {
    const d = wasiDef('fd_close', 'wasi_unstable');
    const l = listen(d);
    l.before(ctx, mod, d, BigUint64Array.of(3n), newStackIterator());
    l.after(ctx, mod, d, BigUint64Array.of(BigInt(ERRNO.BADF)));
    expect(out.text).toBe('==> wasi_unstable.fd_close(fd=3)\n<== errno=EBADF\n');
  });

  it('pretty-prints WASI under newLoggingListenerFactory too', () => {
    factory = newLoggingListenerFactory(out);
    expect(wasiCall('sched_yield', [], ERRNO.SUCCESS)).toBe('==> wasi_snapshot_preview1.sched_yield()\n<== errno=ESUCCESS\n');
  });

  it('prints a WASI-named function with another signature generically', () => {
    const d = newFunctionDefinition({
      moduleName: 'wasi_snapshot_preview1',
      index: 0,
      importName: undefined,
      exportNames: ['random_get'],
      name: 'random_get',
      type: { params: [0x7d], results: [] },
      paramNames: [],
      resultNames: [],
      hostFunction: () => {},
    });
    const l = listen(d);
    l.before(ctx, mod, d, BigUint64Array.of(0x3fc00000n), newStackIterator());
    l.after(ctx, mod, d, new BigUint64Array(0));
    expect(out.text).toBe('==> wasi_snapshot_preview1.random_get(1.5)\n<==\n');
  });
});
