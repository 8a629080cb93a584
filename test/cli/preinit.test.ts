/**
 * `wasmscope preinit` (Wizer's command line): in-process through `main()`, and once as a process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type CliIO } from '../../src/cli/main.js';
import { newModuleConfig, newRuntime } from '../../src/index.js';
import * as wasi from '../../src/wasi.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string): string => join(root, 'test/fixtures/snapshot', name);
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-preinit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const o: Uint8Array[] = [];
  const e: Uint8Array[] = [];
  const io: CliIO = { stdout: { write: (c) => o.push(c.slice()) }, stderr: { write: (c) => e.push(c.slice()) }, stdin: '', env: {} };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() };
}

/** The exports of a .wasm file, instantiated without start functions (WASI provided). */
async function exportsOf(path: string): Promise<{ names: string[]; call: (name: string, ...args: number[]) => bigint[] }> {
  const r = newRuntime();
  await wasi.instantiate(r);
  const m = await r.instantiateWithConfig(new Uint8Array(readFileSync(path)), newModuleConfig().withStartFunctions());
  return {
    names: [...m.exportedFunctionDefinitions().keys()].sort(),
    call: (name, ...args) => m.exportedFunction(name)!.call(...args),
  };
}

describe('wasmscope preinit', () => {
  it('writes the pre-initialised module: init and start gone, the state in the module', async () => {
    const out = join(tmp, 'tables.pre.wasm');
    expect(await cli(['preinit', fixture('tables.wasm'), '-o', out])).toEqual({ code: 0, stdout: '', stderr: '' });
    const m = await exportsOf(out);
    expect(m.names).toEqual(['count_primes', 'crc32', 'key_of', 'lookup', 'ready', 'sine']);
    expect(m.call('ready')).toEqual([1n]);
    expect(m.call('count_primes', 100)).toEqual([25n]);
  });

  it('takes --init-func, --keep-init-func and --rename-func dst=src (repeatable, also as --flag=value)', async () => {
    const out = join(tmp, 'renamed.wasm');
    const r = await cli([
      'preinit',
      '--init-func',
      'wizer.initialize',
      '--keep-init-func',
      '--rename-func',
      'primes=count_primes',
      '--rename-func=ok=ready',
      fixture('tables.wasm'),
      '--output',
      out,
    ]);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    const m = await exportsOf(out);
    expect(m.names).toEqual(['crc32', 'key_of', 'lookup', 'ok', 'primes', 'sine', 'wizer.initialize']);
    expect(m.call('ok')).toEqual([1n]);
  });

  it('runs a WASI initialisation with --allow-wasi, --mount and --env; refuses WASI without --allow-wasi', async () => {
    const dir = join(tmp, 'words');
    mkdirSync(dir);
    writeFileSync(join(dir, 'words.txt'), 'a\nbb\nccc\ndddd\n');
    const out = join(tmp, 'words.pre.wasm');
    const refused = await cli(['preinit', fixture('words.wasm'), '-o', out]);
    expect(refused).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error: preinitialize: the module imports wasi_snapshot_preview1.environ_get: pass allowWasi (--allow-wasi) to initialise it with WASI\n',
    });
    const ok = await cli(['preinit', '--allow-wasi', '--mount', `${dir}:.`, '--env', 'MIN_LENGTH=2', fixture('words.wasm'), '-o', out]);
    expect(ok).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await exportsOf(out)).call('count')).toEqual([3n]);
    // The guest's own error output (no words.txt) is the CLI's stderr.
    const missing = await cli(['preinit', '--allow-wasi', '--mount', `${tmp}:.`, '--interpreter', fixture('words.wasm'), '-o', out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^words.txt: No such file or directory\nerror: preinitialize: wizer.initialize failed: .*exit_code\(1\)/,
    );
  });

  it('rejects a bad command line with one line and exit 1, and prints its usage with --help', async () => {
    expect(await cli(['preinit', fixture('tables.wasm')])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: missing -o <output.wasm> (see wasmscope preinit --help)\n',
    });
    expect((await cli(['preinit', '--bogus', 'x.wasm', '-o', 'y'])).stderr).toBe(
      'error: unknown flag: --bogus (see wasmscope preinit --help)\n',
    );
    expect((await cli(['preinit', '--mount', '.', 'x.wasm', '-o', 'y'])).stderr).toBe(
      'error: --mount needs --allow-wasi (see wasmscope preinit --help)\n',
    );
    expect((await cli(['preinit', '--rename-func', 'x', 'x.wasm', '-o', 'y'])).stderr).toBe(
      'error: invalid --rename-func "x": use DST=SRC (see wasmscope preinit --help)\n',
    );
    expect((await cli(['preinit', join(tmp, 'none.wasm'), '-o', 'y'])).stderr).toBe(
      `error: cannot read ${join(tmp, 'none.wasm')}: ENOENT\n`,
    );
    const help = await cli(['preinit', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--rename-func DST=SRC');
    expect((await cli(['--help'])).stdout).toContain('preinit   Pre-initialises a module');
  });

  it('runs as a process through the bin script', () => {
    const out = join(tmp, 'process.wasm');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/bin.ts'), 'preinit', fixture('tables.wasm'), '-o', out], {
      encoding: 'utf8',
      cwd: root,
    });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(readFileSync(out).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
  });
});
