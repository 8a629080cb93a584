/**
 * The `wasmscope` command as a user runs it: every case spawns `bin/wasmscope.mjs` (the package's
 * bin entry; in a checkout it runs the sources under tsx) and checks stdout, stderr and the exit
 * status. Help goes to stdout with exit 0 for `--help` only; every error is an `error: …` line on
 * stderr with exit 1; a guest's exit code is the status.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wat } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/wasmscope.mjs');
const hello = join(root, 'examples/wasi-hello/hello.wasm');
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-bin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `wasmscope ...args` as a process (through a pseudo-terminal when `tty`: stdout and stderr merged). */
function wasmscope(args: readonly string[], tty = false): Promise<Result> {
  const node = [process.execPath, '--import', 'tsx', bin, ...args];
  const [cmd, argv] = tty
    ? ['script', ['-qefc', node.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' '), '/dev/null']]
    : [node[0]!, node.slice(1)];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd as string, argv as string[], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const file = (name: string): string => join(tmp, name);
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

beforeAll(async () => {
  writeFileSync(
    file('env.wasm'),
    await wat(`(module (import "env" "log" (func (param i32))) (import "env" "now" (func (result i64))) (func (export "_start")))`),
  );
  writeFileSync(
    file('lib.wasm'),
    await wat(`(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "neg") (param i64 f64) (result i64 f64) (i64.sub (i64.const 0) (local.get 0)) (f64.neg (local.get 1))))`),
  );
  writeFileSync(file('trap.wasm'), await wat(`(module (func $crash unreachable) (func $_start (export "_start") (call $crash)))`));
  writeFileSync(file('bad.wasm'), 'not wasm');
  // 5 MiB of data: big enough to announce its compile on a terminal.
  writeFileSync(file('big.wasm'), await wat(`(module (memory 100) (data (i32.const 0) "${'\\00'.repeat(5 * 1024 * 1024)}"))`));
}, 60_000);

describe.concurrent('wasmscope (the bin entry, as a process)', () => {
  it('with no command: a usage error on stderr, exit 1', async () => {
    const r = await wasmscope([]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: missing command \(see wasmscope --help\)\n\nwasmscope: /);
  });

  it('--help: usage and exit codes on stdout, exit 0', async () => {
    const r = await wasmscope(['--help']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/^wasmscope: a WebAssembly runtime/);
    expect(r.stdout).toContain('Exit codes:');
  });

  it('an unknown command: one error line, exit 1', async () => {
    expect(await wasmscope(['bogus'])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'error: unknown command "bogus" (see wasmscope --help)\n',
    });
  });

  it('-v and --version print the version', async () => {
    for (const flag of ['-v', '--version', 'version'])
      expect(await wasmscope([flag])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('run --help tells the truth about --hostlogging and documents exit codes', async () => {
    const r = await wasmscope(['run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--hostlogging SCOPES {4}log host calls to stderr/);
    expect(r.stdout).not.toMatch(/--hostlogging[^\n]*not supported/);
    expect(r.stdout).toContain('Exit codes:');
  });

  it('compile: sections, imports, exports, features and the time; exit 0', async () => {
    const r = await wasmscope(['compile', hello]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^.*hello\.wasm: valid, compiled in [\d.]+m?s \(compiler engine, 30283 bytes\)\nsections:\n {2}type /);
    expect(r.stdout).toContain('  custom "name"');
    expect(r.stdout).toContain('imports (10):\n  wasi_snapshot_preview1.args_get(i32,i32) i32\n');
    expect(r.stdout).toContain('exports (2):\n  memory: memory 2.. pages\n  _start()\n');
    expect(r.stdout).toMatch(/\nfeatures: .+\n$/);
    const lib = await wasmscope(['compile', '--interpreter', file('lib.wasm')]);
    expect(lib.stdout).toContain('(interpreter engine');
    expect(lib.stdout).toContain('  add(i32,i32) i32\n  neg(i64,f64) (i64,f64)\n');
    expect(lib.stdout).toContain('features: multi-value\n');
  });

  it('compile: an invalid module is one error line naming what and where, exit 1', async () => {
    expect(await wasmscope(['compile', file('bad.wasm')])).toEqual({
      status: 1,
      stdout: '',
      stderr: `error: compiling ${file('bad.wasm')}: malformed module: magic header not detected (offset 0x0)\n`,
    });
  });

  it('a compile of a big module says so on a terminal, and nothing when stderr is not one', async () => {
    const onTty = await wasmscope(['compile', file('big.wasm')], true);
    expect(onTty.status).toBe(0);
    expect(onTty.stdout).toMatch(/compiling big\.wasm \(5\.0 MB\)…\r\x1b\[K/);
    const piped = await wasmscope(['compile', file('big.wasm')]);
    expect(piped.stderr).toBe('');
  });

  it("--mount with an option other than ro: unknown mount option 'rw' (use ro)", async () => {
    expect(await wasmscope(['run', '--mount', './sandbox:/sandbox:rw', hello])).toEqual({
      status: 1,
      stdout: '',
      stderr: `error: invalid mount "./sandbox:/sandbox:rw": unknown mount option 'rw' (use ro) (see wasmscope run --help)\n`,
    });
  });

  it('a module importing env: every missing import with its signature, and what run provides', async () => {
    const r = await wasmscope(['run', file('env.wasm')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `error: instantiating ${file('env.wasm')}: module[env] not instantiated; the module imports from it:\n\tenv.log(i32)\n\tenv.now() i64\n` +
        'hint: wasmscope run provides wasi_snapshot_preview1 (and wasi_unstable) only; other host modules come from a program using the library\n',
    );
  });

  it('a module without _start: exit 0 and a hint naming --invoke and its functions', async () => {
    expect(await wasmscope(['run', file('lib.wasm')])).toEqual({
      status: 0,
      stdout: '',
      stderr:
        'hint: lib.wasm exports no _start function, so nothing ran; call one of its functions with --invoke NAME [params...] (add, neg)\n',
    });
  });

  it('--invoke calls a function with the params after the file and prints its results, one per line', async () => {
    expect(await wasmscope(['run', '--invoke', 'add', file('lib.wasm'), '2', '-5'])).toEqual({ status: 0, stdout: '-3\n', stderr: '' });
    expect(await wasmscope(['run', '--invoke=neg', file('lib.wasm'), '0x10', '1.5'])).toEqual({
      status: 0,
      stdout: '-16\n-1.5\n',
      stderr: '',
    });
    expect(await wasmscope(['run', '--invoke', 'add', file('lib.wasm'), '1'])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'error: --invoke add: add takes 2 params (i32, i32), but 1 were given\n',
    });
    expect((await wasmscope(['run', '--invoke', 'nope', file('lib.wasm')])).stderr).toBe(
      'error: --invoke: lib.wasm exports no function "nope" (its functions: add, neg)\n',
    );
  });

  it("a trap in _start: wazero's text and the wasm stack trace, exit 1", async () => {
    const r = await wasmscope(['run', file('trap.wasm')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `error: instantiating ${file('trap.wasm')}: module[] function[_start] failed: wasm error: unreachable\nwasm stack trace:\n\t.crash()\n\t._start()\n`,
    );
  });

  it("a WASI guest's output and exit code", async () => {
    const r = await wasmscope(['run', hello, 'a', 'b', 'c']);
    expect(r.stdout).toContain('hello from WASI');
    expect(r.status).toBe(3);
  });
});
