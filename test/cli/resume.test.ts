/**
 * `wasmscope run --checkpoint-after-ms/--checkpoint-on` and `wasmscope resume`: a C guest
 * (test/fixtures/resume/pausing.c, built by its build.sh) is stopped mid-call at an async WASI
 * sleep in one child process and continued in another; the two outputs joined are byte for byte
 * the uninterrupted run's, with its exit code (7). Usage errors and refusals are checked in-process.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type CliIO } from '../../src/cli/main.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const guest = join(root, 'test/fixtures/resume/pausing.wasm');
/** tsx's loader by path: the children run in other directories. */
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-resume-'));
mkdirSync(join(tmp, 'data'));
writeFileSync(join(tmp, 'data/in.txt'), 'line one\nline two\n');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI in a child process (cwd `cwd`). */
function child(argv: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', tsx, join(root, 'src/cli/bin.ts'), ...argv], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
}

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const o: Uint8Array[] = [];
  const e: Uint8Array[] = [];
  const io: CliIO = { stdout: { write: (c) => o.push(c.slice()) }, stderr: { write: (c) => e.push(c.slice()) }, stdin: '', env: {} };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() };
}

// A relative mount (resolved and recorded when the checkpoint is taken), args and env.
const RUN = ['--interpreter', '--env', 'WHO=ann', '--mount', 'data:/data:ro'];

describe('wasmscope run --checkpoint-* and wasmscope resume', () => {
  it('a C guest checkpointed mid-call in one process resumes in another with the uninterrupted output and exit code', () => {
    const full = child(['run', ...RUN, '--async-io', guest, '4'], tmp);
    expect(full.stderr).toBe('');
    expect(full.status).toBe(7);
    expect(full.stdout).toContain('hello ann, 4 rounds\n');
    expect(full.stdout).toContain('data: line two\n');
    const file = join(tmp, 'cp.bin');
    const t0 = performance.now();
    const first = child(['run', ...RUN, '--checkpoint-after-ms', '0', '--checkpoint-file', file, guest, '4'], tmp);
    const firstMs = performance.now() - t0;
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/^wasmscope: checkpoint written to .*cp\.bin \(\d+ bytes\); continue with: wasmscope resume /);
    // Stopped mid-call: the greeting is out, the rest is not.
    expect(first.stdout.startsWith('hello ann, 4 rounds\n')).toBe(true);
    expect(first.stdout.length).toBeLessThan(full.stdout.length);
    // Resumed from another directory: the recorded mount is absolute.
    const t1 = performance.now();
    const second = child(['resume', file], root);
    const secondMs = performance.now() - t1;
    expect(second.stderr).toBe('');
    expect(second.status).toBe(7);
    expect(first.stdout + second.stdout).toBe(full.stdout);
    console.log(
      `pausing.wasm: checkpoint ${statSync(file).size} bytes; run+checkpoint ${firstMs.toFixed(0)} ms, resume ${secondMs.toFixed(0)} ms (child processes)`,
    );
  });

  it('--checkpoint-on SIGUSR2 stops a running guest at its next sleep; resume --checkpoint-after-ms checkpoints the resumed run again', async () => {
    const full = child(['run', ...RUN, '--async-io', guest, '60'], tmp);
    expect(full.status).toBe(7);
    const file = join(tmp, 'sig.bin');
    const p = spawn(
      process.execPath,
      ['--import', tsx, join(root, 'src/cli/bin.ts'), 'run', ...RUN, '--checkpoint-on', 'SIGUSR2', '--checkpoint-file', file, guest, '60'],
      {
        cwd: tmp,
        env: { ...process.env, NODE_OPTIONS: '' },
      },
    );
    let out = '';
    let errs = '';
    p.stderr.on('data', (c: Buffer) => (errs += c.toString()));
    let signalled = false;
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!signalled && out.includes('round 2:')) {
        signalled = true;
        p.kill('SIGUSR2');
      }
    });
    const status = await new Promise<number | null>((r) => p.on('close', r));
    expect(errs).toMatch(/^wasmscope: checkpoint written to /);
    expect(status).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(out.length).toBeLessThan(full.stdout.length);
    // The resumed run is stopped again right away, and that checkpoint resumes to the end.
    const again = join(tmp, 'again.bin');
    const second = child(['resume', '--checkpoint-after-ms', '0', '--checkpoint-file', again, file], tmp);
    expect(second.status).toBe(0);
    const third = child(['resume', again], tmp);
    expect(third.status).toBe(7);
    expect(out + second.stdout + third.stdout).toBe(full.stdout);
  });

  it('checkpoint flags need --interpreter and refuse --invoke; --checkpoint-file alone is a usage error', async () => {
    const compiler = await cli(['run', '--checkpoint-after-ms', '5', guest]);
    expect(compiler.code).toBe(1);
    expect(compiler.stderr).toContain('not supported: mid-call checkpoints on the compiler engine');
    const invoke = await cli(['run', '--interpreter', '--checkpoint-on', 'SIGUSR2', '--invoke', 'f', guest]);
    expect(invoke.stderr).toContain('not supported: --checkpoint-after-ms/--checkpoint-on with --invoke');
    const logging = await cli(['run', '--interpreter', '--checkpoint-after-ms', '5', '--hostlogging', 'clock', guest]);
    expect(logging.stderr).toContain('not supported: --checkpoint-after-ms/--checkpoint-on with --hostlogging');
    const alone = await cli(['run', '--interpreter', '--checkpoint-file', 'x.bin', guest]);
    expect(alone.stderr).toContain('--checkpoint-file needs --checkpoint-after-ms or --checkpoint-on');
    expect((await cli(['run', '--interpreter', '--checkpoint-after-ms', 'soon', guest])).stderr).toContain(
      'invalid --checkpoint-after-ms "soon"',
    );
    expect((await cli(['resume', '--help'])).stdout).toContain('wasmscope resume [flags] <checkpoint file>');
  });

  it('resume refuses a checkpoint whose module changed since (sha256), and bytes that are not a checkpoint', async () => {
    const copy = join(tmp, 'copy.wasm');
    copyFileSync(guest, copy);
    const file = join(tmp, 'changed.bin');
    const first = await cli(['run', ...RUN.slice(0, 3), '--checkpoint-after-ms', '0', '--checkpoint-file', file, copy, '4']);
    expect(first.code).toBe(0);
    appendFileSync(copy, new Uint8Array([0, 1, 0x78]));
    const r = await cli(['resume', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*copy\.wasm changed since the checkpoint \(sha256 /);
    writeFileSync(join(tmp, 'junk.bin'), 'not a checkpoint');
    const junk = await cli(['resume', join(tmp, 'junk.bin')]);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toContain('not a checkpoint: no "WSCP" header');
  });
});
