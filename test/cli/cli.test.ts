/**
 * The `wasmscope` CLI, mostly in-process through `main()` with captured stdio, plus one real process
 * to check the exit status and the process's own stdio.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main, parseDuration, parseListen, parseMount, version, type CliIO } from '../../src/cli/main.js';
import { engines, wat } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string): string => join(root, 'test/fixtures/wasi', `${name}.wasm`);
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(
  argv: string[],
  stdin: string = '',
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const o: Uint8Array[] = [];
  const e: Uint8Array[] = [];
  const io: CliIO = { stdout: { write: (c) => o.push(c.slice()) }, stderr: { write: (c) => e.push(c.slice()) }, stdin, env };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() };
}

const engineFlags = engines.map((e) => (e.name === 'interpreter' ? ['--interpreter'] : []));

describe('wasmscope', () => {
  it('prints help to stdout with exit 0 for --help only; no command is a usage error on stderr with exit 1', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('wasmscope <command>');
      expect(r.stdout).toContain('Exit codes:');
    }
    const none = await cli([]);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^error: missing command \(see wasmscope --help\)\n/);
    const run = await cli(['run', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--mount host[:guest][:ro]');
    expect(run.stdout).toContain('--listen HOST:PORT');
    expect(run.stdout).toContain('--cachedir DIR');
    expect(run.stdout).toContain('--invoke NAME');
    expect((await cli(['help', 'compile'])).stdout).toContain('wasmscope compile [flags] <path to wasm file>');
    expect((await cli(['version', '--help'])).stdout).toContain('wasmscope version');
    expect((await cli(['replay', '--help'])).stdout).toContain('wasmscope replay');
  });

  it('documents every run flag, and every documented flag is accepted (the help tells what the parser does)', async () => {
    const help = (await cli(['run', '--help'])).stdout;
    const documented = [...help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!);
    expect(documented.sort()).toEqual(
      [
        '--async-io',
        '--cachedir',
        '--checkpoint-after-ms',
        '--checkpoint-file',
        '--checkpoint-on',
        '--coverage',
        '--env',
        '--env-inherit',
        '--features',
        '--help',
        '--hostlogging',
        '--interpreter',
        '--invoke',
        '--listen',
        '--memprofile',
        '--mount',
        '--profile',
        '--profile-host-time',
        '--record',
        '--sample-every',
        '--speedscope',
        '--timeout',
        '--trace-events',
        '--trace-file',
        '--trace-otlp',
      ].sort(),
    );
    const values: Record<string, string> = {
      '--env': 'K=V',
      '--hostlogging': 'clock',
      '--mount': tmp,
      '--timeout': '5s',
      '--cachedir': tmp,
      '--features': 'v2',
      '--listen': '127.0.0.1:0',
      '--record': join(tmp, 'flags.log'),
      '--trace-file': join(tmp, 'flags.jsonl'),
      '--trace-otlp': 'http://127.0.0.1:1/v1/traces',
      '--invoke': '_start',
      '--profile': join(tmp, 'flags.pprof'),
      '--memprofile': join(tmp, 'flags.mem.pprof'),
      '--speedscope': join(tmp, 'flags.speedscope.json'),
      '--trace-events': join(tmp, 'flags.trace.json'),
      '--coverage': join(tmp, 'flags.lcov'),
      '--sample-every': '2',
      '--checkpoint-after-ms': '100000',
      '--checkpoint-on': 'SIGUSR2',
      '--checkpoint-file': join(tmp, 'flags.checkpoint'),
    };
    for (const flag of documented.filter((f) => f !== '--help' && f !== '--trace-otlp' && f !== '--trace-file')) {
      const argv = values[flag] === undefined ? [flag] : [flag, values[flag]!];
      // On the interpreter, which supports every flag on every Node (--async-io on the compiler engine needs Node 24).
      const r = await cli(['run', '--interpreter', ...argv, fixture('proc')]);
      expect(r.stderr, flag).not.toContain('unknown flag');
      // What the help says about a flag is what it does: only --cachedir says "not supported", and it is.
      const line = help.split('\n').find((l) => l.includes(flag))!;
      if (/not supported/.test(line)) expect(r.stderr, flag).toMatch(/not supported/);
      else expect(r.stderr, flag).not.toMatch(/not supported/);
    }
    expect(help).not.toMatch(/--hostlogging[^\n]*not supported/);
  });

  it('run accepts WebAssembly 3.0 by default (a C++ guest with exceptions); --features narrows it', async () => {
    const calc = join(root, 'test/fixtures/exceptions/calc.wasm');
    const expected = readFileSync(join(root, 'test/fixtures/exceptions/calc.expected'), 'utf8');
    for (const flags of engineFlags) {
      expect(await cli(['run', ...flags, calc])).toEqual({ code: 0, stdout: expected, stderr: '' });
      expect(await cli(['run', ...flags, '--features', 'v2,exception-handling', calc])).toMatchObject({ code: 0, stdout: expected });
      const v2 = await cli(['run', ...flags, '--features=v2', calc]);
      expect(v2.code).toBe(1);
      expect(v2.stderr).toMatch(/^error: compiling .*calc\.wasm: .*malformed section id/);
    }
    expect((await cli(['run', '--features', 'v2,bogus', calc])).stderr).toMatch(/invalid --features "v2,bogus": unknown feature "bogus"/);
  });

  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(version()).toBe(pkg.version);
    expect(await cli(['version'])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect(await cli(['-v'])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('rejects an unknown command, an unknown flag, a bad --env and a missing file with one line and exit 1', async () => {
    expect(await cli(['frob'])).toEqual({ code: 1, stdout: '', stderr: 'error: unknown command "frob" (see wasmscope --help)\n' });
    expect(await cli(['run', '--bogus', 'x.wasm'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: unknown flag: --bogus (see wasmscope run --help)\n',
    });
    expect((await cli(['run', '--env', 'NOEQUALS', 'x.wasm'])).stderr).toBe(
      'error: invalid --env "NOEQUALS": use KEY=VALUE (see wasmscope run --help)\n',
    );
    expect((await cli(['run'])).stderr).toBe('error: missing path to wasm file (see wasmscope run --help)\n');
    expect((await cli(['run', '--mount'])).stderr).toBe('error: flag needs an argument: --mount (see wasmscope run --help)\n');
    expect(await cli(['run', join(tmp, 'missing.wasm')])).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cannot read ${join(tmp, 'missing.wasm')}: ENOENT\n`,
    });
    expect((await cli(['run', '--mount', join(tmp, 'nope'), fixture('proc')])).stderr).toBe(
      `error: invalid mount: ${join(tmp, 'nope')} does not exist\n`,
    );
  });

  it('rejects an invalid module with exit 1', async () => {
    const bad = join(tmp, 'bad.wasm');
    writeFileSync(bad, 'not wasm');
    const r = await cli(['run', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: compiling ${bad}: malformed module: magic header not detected (offset 0x0)\n`);
  });

  it("--hostlogging logs the scoped WASI calls to stderr in wazero's format", async () => {
    const hello = fileURLToPath(new URL('../../examples/wasi-hello/hello.wasm', import.meta.url));
    for (const engine of [[], ['--interpreter']]) {
      const r = await cli(['run', ...engine, '--hostlogging', 'clock', hello]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('hello from WASI');
      expect(r.stderr).toMatch(
        /^==> wasi_snapshot_preview1\.clock_time_get\(id=realtime,precision=1000000000\)\n<== \(timestamp=\d+,errno=ESUCCESS\)\n$/,
      );
    }
    expect((await cli(['run', '--hostlogging', 'files', fixture('proc')])).stderr).toContain('invalid --hostlogging scope "files"');
  });

  it("--timeout stops a guest that loops forever, on both engines, with wazero's message", async () => {
    // (module (func (export "_start") (loop (br 0)))), assembled by hand.
    const loop = join(tmp, 'loop.wasm');
    writeFileSync(
      loop,
      Uint8Array.from([
        0,
        0x61,
        0x73,
        0x6d,
        1,
        0,
        0,
        0,
        1,
        4,
        1,
        0x60,
        0,
        0,
        3,
        2,
        1,
        0,
        7,
        10,
        1,
        6,
        ...Buffer.from('_start'),
        0,
        0,
        10,
        9,
        1,
        7,
        0,
        0x03,
        0x40,
        0x0c,
        0,
        0x0b,
        0x0b,
      ]),
    );
    for (const engine of [[], ['--interpreter']]) {
      const r = await cli(['run', ...engine, '--timeout', '50ms', loop]);
      expect(r.stderr).toBe('error: module closed with context deadline exceeded (timeout 50ms)\n');
      expect(r.code).toBe(0xefffffff);
    }
    expect((await cli(['run', '--timeout=-1s', fixture('proc')])).stderr).toContain('must not be negative');
  });

  it('--async-io runs WASI waits without blocking the event loop (timers fire while the guest sleeps)', async () => {
    const sleeper = join(tmp, 'sleeper.wasm');
    writeFileSync(
      sleeper,
      await wat(`(module
        (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 100) "slept\\n")
        (func (export "_start")
          (i32.store8 (i32.const 8) (i32.const 0))
          (i32.store (i32.const 16) (i32.const 1))
          (i64.store (i32.const 24) (i64.const 40000000))
          (drop (call $poll (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 300)))
          (i32.store (i32.const 400) (i32.const 100))
          (i32.store (i32.const 404) (i32.const 6))
          (drop (call $write (i32.const 1) (i32.const 400) (i32.const 1) (i32.const 408)))))`),
    );
    const jspi = typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function';
    for (const flags of engineFlags.filter((f) => f.length > 0 || jspi)) {
      let ticks = 0;
      const t = setInterval(() => ticks++, 1);
      const r = await cli(['run', '--async-io', ...flags, sleeper]);
      clearInterval(t);
      expect(r).toEqual({ code: 0, stdout: 'slept\n', stderr: '' });
      expect(ticks).toBeGreaterThan(0);
    }
    // Without it the sleep blocks the event loop.
    let blocked = 0;
    const t = setInterval(() => blocked++, 1);
    expect((await cli(['run', '--interpreter', sleeper])).stdout).toBe('slept\n');
    clearInterval(t);
    expect(blocked).toBe(0);
  });

  it('--cachedir fills a directory the next run compiles from; a file in its way is an error', async () => {
    const dir = join(tmp, 'cache');
    for (const flags of [...engineFlags, ...engineFlags]) {
      const r = await cli(['run', ...flags, '--cachedir', dir, fixture('proc'), 'exit', '3']);
      expect(r.code).toBe(3);
    }
    const [sub] = readdirSync(dir);
    expect(sub).toMatch(new RegExp(`^wasmscope-.+-${process.arch}-${process.platform}$`));
    expect(readdirSync(join(dir, sub!)).filter((f) => f.endsWith('.bin'))).toHaveLength(engineFlags.length);
    writeFileSync(join(tmp, 'not-a-dir'), '');
    const bad = await cli(['run', '--cachedir', join(tmp, 'not-a-dir'), fixture('proc')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: --cachedir: compilation cache directory .*not-a-dir: (not a directory|EEXIST|ENOTDIR)/);
  });

  it('parses --listen host:port (IPv6 in brackets) and refuses anything else with exit code 1', async () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    for (const bad of ['8080', ':80', 'localhost:', 'localhost:http', 'h:70000'])
      expect(() => parseListen(bad), bad).toThrow('invalid --listen');
    const r = await cli(['run', '--listen', 'nope', fixture('proc')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid --listen "nope": use host:port');
  });

  it('parses durations and mounts as wazero does', () => {
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('5')).toThrow('invalid duration');
    expect(parseMount('/a/b')).toEqual({ host: '/a/b', guest: '/a/b', readOnly: false });
    expect(parseMount('/a/b:/data:ro')).toEqual({ host: '/a/b', guest: '/data', readOnly: true });
    expect(parseMount('.:/')).toEqual({ host: '.', guest: '/', readOnly: false });
    expect(() => parseMount('./sandbox:/sandbox:rw')).toThrow(`invalid mount "./sandbox:/sandbox:rw": unknown mount option 'rw' (use ro)`);
  });

  it('parses --mount keeping the guest path exactly as written (".", "./x", "/x/")', () => {
    expect(parseMount('w:.')).toEqual({ host: 'w', guest: '.', readOnly: false });
    expect(parseMount('w:./x:ro')).toEqual({ host: 'w', guest: './x', readOnly: true });
    expect(parseMount('/w:/x/')).toEqual({ host: '/w', guest: '/x/', readOnly: false });
    expect(parseMount('w:')).toEqual({ host: 'w', guest: '/', readOnly: false });
  });

  describe.each(engineFlags)('run %s', (...flags: string[]) => {
    it('passes args (argv[0] = file name, `--` dropped), env and stdin, and returns the exit code', async () => {
      const args = await cli(['run', ...flags, fixture('proc'), '--', 'args', 'a b']);
      expect(args).toEqual({ code: 0, stdout: 'argv[0]=proc.wasm\nargv[1]=args\nargv[2]=a b\n', stderr: '' });
      const env = await cli(['run', ...flags, '--env-inherit', '--env', 'B=override', fixture('proc'), 'env'], '', {
        A: 'host',
        B: 'host',
      });
      expect(env.stdout).toBe('A=host\nB=override\n');
      expect((await cli(['run', ...flags, fixture('proc'), 'cat'], 'from stdin')).stdout).toBe('from stdin');
      expect((await cli(['run', ...flags, fixture('proc'), 'exit', '42'])).code).toBe(42);
      expect((await cli(['run', ...flags, fixture('proc'), 'exit', '0'])).code).toBe(0);
    });

    it('mounts host directories, read-only when asked', async () => {
      const dir = mkdtempSync(join(tmp, 'mount-'));
      const rw = await cli(['run', ...flags, '--mount', `${dir}:/sandbox`, fixture('files')]);
      expect(rw.code).toBe(0);
      expect(rw.stdout).toContain('symlink outside: Operation not permitted\n');
      expect(rw.stdout).toContain('open evil2: Operation not permitted\n');
      const ro = await cli(['run', ...flags, `--mount=${dir}:/sandbox:ro`, fixture('files')]);
      expect(ro.stdout.split('\n')[0]).toBe('open create: Read-only file system');
    });

    it('names each pre-open exactly as its --mount guest path was written', async () => {
      // Prints the name of every pre-open, one a line, through fd_prestat_get/fd_prestat_dir_name.
      const names = join(tmp, 'preopens.wasm');
      writeFileSync(
        names,
        await wat(`(module
          (import "wasi_snapshot_preview1" "fd_prestat_get" (func $get (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $name (param i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "_start") (local $fd i32) (local $len i32)
            (local.set $fd (i32.const 3))
            (block $done (loop $next
              (br_if $done (call $get (local.get $fd) (i32.const 0)))
              (local.set $len (i32.load (i32.const 4)))
              (br_if $done (call $name (local.get $fd) (i32.const 100) (local.get $len)))
              (i32.store8 (i32.add (i32.const 100) (local.get $len)) (i32.const 10))
              (i32.store (i32.const 16) (i32.const 100))
              (i32.store (i32.const 20) (i32.add (local.get $len) (i32.const 1)))
              (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
              (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
              (br $next))))
        )`),
      );
      const r = await cli(['run', ...flags, '--mount', `${tmp}:.`, '--mount', `${tmp}:./x`, '--mount', `${tmp}:/`, '--mount', tmp, names]);
      expect(r).toEqual({ code: 0, stdout: `.\n./x\n/\n${tmp}\n`, stderr: '' });
    });

    it('uses real clocks', async () => {
      const r = await cli(['run', ...flags, fixture('clocks')]);
      const sec = Number(/realtime: (\d+)\./.exec(r.stdout)?.[1]);
      expect(Math.abs(sec - Date.now() / 1000)).toBeLessThan(60);
    });
  });

  it('as a process: the guest writes to the real stdout/stderr and its exit code is the status', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/bin.ts'), 'run', fixture('proc'), 'exit', '7'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(res.stdout).toBe('exiting\n');
    expect(res.status).toBe(7);
    const err = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/bin.ts'), 'run', fixture('proc'), 'stderr'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(err.stderr).toBe('to stderr\n');
    expect(err.status).toBe(0);
  }, 120_000);
});
