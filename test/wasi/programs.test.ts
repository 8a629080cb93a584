/**
 * wasmscope's own WASI test programs (test/fixtures/wasi/src/*.c, built by build.sh) on every engine:
 * files, directories, clocks and poll, args/env/stdio/random and exit codes.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newFSConfig } from '../../src/index.js';
import { newMemFS, newReadFS } from '../../src/sys.js';
import { engines, runtimeFor } from '../helpers.js';
import { runGuest } from './run-guest.js';

const FIXTURES = new URL('../fixtures/wasi/', import.meta.url);
const wasm = (name: string): Uint8Array => readFileSync(new URL(`${name}.wasm`, FIXTURES));
const tmpDirs: string[] = [];
function sandbox(): string {
  const d = mkdtempSync(join(tmpdir(), 'wasmscope-wasi-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const FILES_OUT = `open create: ok
write: ok
seek end: 11
seek set: 6
read: world
pread: hello
pwrite: ok
ftruncate: ok
fstat: ok
size: 5 regular: 1
close: ok
close again: Bad file descriptor
open append: ok
append: ok
content: Jello!
write to read-only fd: Bad file descriptor
open excl existing: File exists
open missing: No such file or directory
rename: ok
stat old name: No such file or directory
link: ok
stat link: ok
nlink: 2
symlink: ok
readlink: b.txt
lstat symlink: ok
is symlink: 1
through symlink: Jello!
open ..: Operation not permitted
symlink outside: Operation not permitted
open evil: No such file or directory
symlink up: ok
open evil2: Operation not permitted
unlink: ok
unlink again: No such file or directory
unlink c: ok
unlink s: ok
`;

const DIRS_OUT = (n: number): string => `mkdir d: ok
mkdir d again: File exists
mkdir d/e: ok
rmdir non-empty: Directory not empty
rmdir file: Not a directory
unlink dir: Is a directory
open dir for write: Is a directory
opendir file: Not a directory
entry: . type=3
entry: .. type=3
entry: e type=3
entry: f.txt type=4
mkdir big: ok
big: ${n} entries, 2 dots, index sum ${(n * (n - 1)) / 2}
rmdir big: ok
unlink f: ok
rmdir e: ok
rmdir d: ok
`;

describe.each(engines)('WASI programs on $name', (engine) => {
  it('files.c: file operations on a host directory, and every escape refused', async () => {
    const dir = sandbox();
    const r = runtimeFor(engine);
    const res = await runGuest(r, wasm('files'), { args: ['files'], fs: newFSConfig().withDirMount(dir, '/sandbox') });
    expect(res.stdout).toBe(FILES_OUT);
    expect(res.exitCode).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('files.c: the same on an in-memory FS', async () => {
    const r = runtimeFor(engine);
    const res = await runGuest(r, wasm('files'), { args: ['files'], fs: newFSConfig().withFSMount(newMemFS(), '/sandbox') });
    expect(res.stdout).toBe(FILES_OUT);
  });

  it('files.c: a read-only mount refuses the first create with EROFS', async () => {
    const r = runtimeFor(engine);
    const res = await runGuest(r, wasm('files'), {
      args: ['files'],
      fs: newFSConfig().withReadOnlyDirMount(sandbox(), '/sandbox'),
    });
    expect(res.stdout.split('\n')[0]).toBe('open create: Read-only file system');
  });

  it('dirs.c: directory errors, listing with . and .., and 600 long names read back through cookies', async () => {
    const r = runtimeFor(engine);
    const res = await runGuest(r, wasm('dirs'), { args: ['dirs', '600'], fs: newFSConfig().withDirMount(sandbox(), '/sandbox') });
    expect(res.stdout).toBe(DIRS_OUT(600));
    const r2 = runtimeFor(engine);
    const mem = await runGuest(r2, wasm('dirs'), { args: ['dirs', '600'], fs: newFSConfig().withFSMount(newMemFS(), '/sandbox') });
    expect(mem.stdout).toBe(DIRS_OUT(600));
  });

  it('clocks.c: deterministic clocks, nanosleep and poll on stdin', async () => {
    const r = runtimeFor(engine);
    const res = await runGuest(r, wasm('clocks'), { args: ['clocks'], stdin: 'hi there' });
    expect(res.stdout).toBe(`realtime res: 1000 ns
monotonic res: 1 ns
realtime: 1640995200.000000000
realtime: 1640995200.001000000
monotonic: 0 then 1000000
cputime: Invalid argument
nanosleep: 0
poll stdin: 1 revents=POLLIN
stdin: hi there
`);
  });

  it('clocks.c: real clocks and sleep when asked (withSys*)', async () => {
    const r = runtimeFor(engine);
    const t0 = performance.now();
    const res = await runGuest(r, wasm('clocks'), {
      args: ['clocks'],
      edit: (c) => c.withSysWalltime().withSysNanotime().withSysNanosleep(),
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
    const m = /realtime: (\d+)\./.exec(res.stdout);
    expect(Math.abs(Number(m?.[1]) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('proc.c: args, env, stdin, stderr and random', async () => {
    const r = runtimeFor(engine);
    expect((await runGuest(r, wasm('proc'), { args: ['proc', 'args', 'x y'] })).stdout).toBe('argv[0]=proc\nargv[1]=args\nargv[2]=x y\n');
    expect(
      (
        await runGuest(r, wasm('proc'), {
          args: ['proc', 'env'],
          env: [
            ['A', '1'],
            ['B', 'two'],
          ],
        })
      ).stdout,
    ).toBe('A=1\nB=two\n');
    const big = 'line\n'.repeat(2000);
    expect((await runGuest(r, wasm('proc'), { args: ['proc', 'cat'], stdin: big })).stdout).toBe(big);
    expect((await runGuest(r, wasm('proc'), { args: ['proc', 'stderr'] })).stderr).toBe('to stderr\n');
    const rand1 = (await runGuest(r, wasm('proc'), { args: ['proc', 'random'] })).stdout;
    const rand2 = (await runGuest(r, wasm('proc'), { args: ['proc', 'random'] })).stdout;
    expect(rand1).toMatch(/^[0-9a-f]{16}\n$/);
    expect(rand2).toBe(rand1); // deterministic default source
  });

  it('proc.c and clocks.c: stdin from a host fd is read and polled, and the fd stays open', async () => {
    const file = join(sandbox(), 'in.txt');
    writeFileSync(file, 'from a host fd\n');
    const fd = openSync(file, 'r');
    try {
      const r = runtimeFor(engine);
      const res = await runGuest(r, wasm('proc'), { args: ['proc', 'cat'], edit: (c) => c.withStdin(fd) });
      expect(res.stdout).toBe('from a host fd\n');
      const fd2 = openSync(file, 'r');
      const polled = await runGuest(r, wasm('clocks'), { args: ['clocks'], edit: (c) => c.withStdin(fd2) });
      expect(polled.stdout).toContain('poll stdin: 1 revents=POLLIN\nstdin: from a host fd\n');
      closeSync(fd2);
    } finally {
      closeSync(fd); // throws EBADF if the guest had closed the host's fd
    }
  });

  it('proc.c: exit codes from exit() and from main, and 0 as success', async () => {
    const r = runtimeFor(engine);
    const e7 = await runGuest(r, wasm('proc'), { args: ['proc', 'exit', '7'] });
    expect(e7).toEqual({ stdout: 'exiting\n', stderr: '', exitCode: 7 });
    expect((await runGuest(r, wasm('proc'), { args: ['proc', 'return', '3'] })).exitCode).toBe(3);
    expect((await runGuest(r, wasm('proc'), { args: ['proc', 'exit', '0'] })).exitCode).toBe(0);
    expect((await runGuest(r, wasm('proc'), { args: ['proc', 'exit', '255'] })).exitCode).toBe(255);
  });

  it('proc.c: closing or renumbering fd 1 affects only the guest', async () => {
    const r = runtimeFor(engine);
    const closed = await runGuest(r, wasm('proc'), { args: ['proc', 'close1'] });
    expect(closed.stdout).toBe('');
    expect(closed.stderr).toBe('write after close: -1 Bad file descriptor\n');
    const dup = await runGuest(r, wasm('proc'), { args: ['proc', 'dup'] });
    expect(dup).toEqual({ stdout: '', stderr: 'now on stderr\n', exitCode: 0 });
  });

  it('a read-only in-memory FS can be mounted at the root', async () => {
    const r = runtimeFor(engine);
    const res = await runGuest(r, wasm('files'), { args: ['files'], fs: newFSConfig().withFSMount(newReadFS(newMemFS()), '/') });
    expect(res.stdout.split('\n')[0]).toBe('open create: Read-only file system');
  });
});
