/**
 * `wasmscope run --record` and `wasmscope replay`, in-process through `main()`, on every engine.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type CliIO } from '../../src/cli/main.js';
import { decodeHostCallLog } from '../../src/replay.js';
import { engines } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const HELLO = join(root, 'examples/wasi-hello/hello.wasm');
const CLOCKS = join(root, 'test/fixtures/wasi/clocks.wasm');
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-replay-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const o: Uint8Array[] = [];
  const e: Uint8Array[] = [];
  const io: CliIO = { stdout: { write: (c) => o.push(c.slice()) }, stderr: { write: (c) => e.push(c.slice()) }, stdin: '', env: {} };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() };
}

for (const e of engines) {
  const flags = e.name === 'interpreter' ? ['--interpreter'] : [];
  describe(`wasmscope run --record / replay (${e.name})`, () => {
    it('replays a recorded WASI run to the same exit code without writing to stdout', async () => {
      const log = join(tmp, `hello-${e.name}.log`);
      const rec = await cli(['run', ...flags, '--record', log, '--env', 'NAME=rec', HELLO, 'one', 'two', 'three']);
      expect(rec.code).toBe(3);
      expect(rec.stdout).toMatch(/^hello from WASI, rec!\narg 1: one\n/);
      const decoded = decodeHostCallLog(readFileSync(log));
      expect(decoded.calls.at(-1)?.outcome).toEqual({ kind: 'exited', exitCode: 3 });
      expect(decoded.calls.some((c) => c.function.name === 'fd_write')).toBe(true);
      // Different args and environment do not matter: args_get and environ_get are replayed.
      const rep = await cli(['replay', ...flags, log, HELLO]);
      expect(rep).toEqual({ code: 3, stdout: '', stderr: '' });
    });

    it('reports the first divergent call with its index and both calls, and exits 1', async () => {
      const log = join(tmp, `hello2-${e.name}.log`);
      expect((await cli(['run', ...flags, '--record', log, HELLO])).code).toBe(0);
      const rep = await cli(['replay', ...flags, log, CLOCKS]);
      expect(rep.code).toBe(1);
      expect(rep.stderr).toMatch(
        /^error: host call #\d+ diverges: the guest called wasi_snapshot_preview1\.\w+\(.*\), the recording has\n#\d+ wasi_snapshot_preview1\.\w+\(/,
      );
    });
  });
}

describe('wasmscope replay', () => {
  it('prints a log with --print, one call per line with its memory writes', async () => {
    const log = join(tmp, 'print.log');
    expect((await cli(['run', '--record', log, HELLO])).code).toBe(0);
    const r = await cli(['replay', '--print', log]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^#0 wasi_snapshot_preview1\.args_sizes_get\(\d+, \d+\) → \(0\)\n {4}wrote \[0x[0-9a-f]+, \+\d+\): /);
    expect(r.stdout).toMatch(/wasi_snapshot_preview1\.proc_exit\(0\) → exit\(0\)|fd_write/);
  });

  it('rejects a file that is not a log, a missing file and missing arguments with exit 1', async () => {
    const bad = join(tmp, 'bad.log');
    writeFileSync(bad, 'nope');
    expect(await cli(['replay', bad, HELLO])).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cannot read ${bad}: host-call log: not a wasmscope host-call log (bad magic) at byte 1\n`,
    });
    expect((await cli(['replay', join(tmp, 'missing.log'), HELLO])).stderr).toBe(
      `error: cannot read ${join(tmp, 'missing.log')}: ENOENT\n`,
    );
    expect((await cli(['replay'])).stderr).toBe('error: missing path to the calls log (see wasmscope replay --help)\n');
    expect((await cli(['replay', '--help'])).stdout).toContain('wasmscope replay [flags] <calls.log>');
    expect((await cli(['run', '--help'])).stdout).toContain('--record FILE');
  });
});
