/**
 * The official WASI test suite (WebAssembly/wasi-testsuite, prebuilt wasm32-wasip1 tests in
 * AssemblyScript, C and Rust) on every engine, driven by the suite's own dependency-free runner
 * (run-wasi-testsuite.mjs: spec files, fixture directories copied per test, `/` pre-opened, exact
 * environment, stdout/stderr prefix checks, exit codes).
 *
 * Every test runs in-process through the CLI's own `main()` (wasi-testsuite-adapter.ts): the same
 * code as `wasmscope run` without a process per test. A few also run through the CLI as a real
 * process, on both engines, so the process path (real stdio, exit status) is covered too.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers.js';
import { WASI_TESTSUITE_DIR, WASI_TESTSUITE_MISSING } from '../paths.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runner = join(WASI_TESTSUITE_DIR, 'run-wasi-testsuite.mjs');
const adapter = fileURLToPath(new URL('./wasi-testsuite-adapter.ts', import.meta.url));
const present = existsSync(runner) && existsSync(join(WASI_TESTSUITE_DIR, 'tests'));

/** Tests also run as a `wasmscope run` process: one per language, plus stdio, poll and filesystem cases. */
const THROUGH_PROCESS =
  /^(assemblyscript\/fd_write-to-stdout|c\/sock_shutdown-not_sock|rust\/(poll_oneoff_stdio|fd_flags_set|interesting_paths))$/;

interface RunnerReport {
  tests: Array<{ id: string; status: 'pass' | 'fail' | 'skip'; failures?: string[]; reason?: string }>;
}

/** Runs the suite's runner with `args` (and the tsx loader, for the adapter and the TS sources). */
function runRunner(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', runner, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-wasi-testsuite-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Runs the suite, prints `wasi-testsuite <label>: passed N, failed N, skipped N`, and returns how many
 * passed and what did not.
 */
async function suite(label: string, args: string[], env: Record<string, string> = {}): Promise<{ passed: number; failures: string[] }> {
  const json = join(tmp, `${label.replace(/\W+/g, '-')}.json`);
  const { code, output } = await runRunner([...args, '--json', json], env);
  if (!existsSync(json)) throw new Error(`the runner wrote no report (exit ${code}):\n${output.slice(-3000)}`);
  const report = JSON.parse(readFileSync(json, 'utf8')) as RunnerReport;
  const count = (s: string): number => report.tests.filter((t) => t.status === s).length;
  console.log(`wasi-testsuite ${label}: passed ${count('pass')}, failed ${count('fail')}, skipped ${count('skip')}`);
  const failures = report.tests
    .filter((t) => t.status !== 'pass')
    .map((t) => `${t.id}: ${t.status} ${(t.failures ?? [t.reason ?? '']).join('; ').slice(0, 400)}`);
  return { passed: count('pass'), failures };
}

if (!present) {
  console.log(WASI_TESTSUITE_MISSING);
  describe('wasi-testsuite', () => {
    it.skip(WASI_TESTSUITE_MISSING, () => undefined);
  });
} else {
  describe.each(engines)('wasi-testsuite on the $name', (engine) => {
    it('passes every test, run through the CLI main() in-process', async () => {
      const r = await suite(engine.name, ['--adapter', adapter, '--jobs', '1', '--timeout', '60'], {
        WASMSCOPE_ENGINE: engine.name,
      });
      expect(r.failures).toEqual([]);
      expect(r.passed).toBeGreaterThanOrEqual(72);
    }, 600_000);

    it('passes a test per language, plus stdio, poll and filesystem cases, through `wasmscope run` as a process', async () => {
      const flag = engine.name === 'interpreter' ? ' --interpreter' : '';
      const r = await suite(`${engine.name} (process)`, [
        '--runtime-cmd',
        `{node} --import tsx src/cli/bin.ts run${flag} {env} {dirs} {wasm} {args}`,
        '--env-arg',
        '--env {key}={value}',
        '--dir-arg',
        '--mount {host}:{guest}',
        '--filter',
        THROUGH_PROCESS.source,
        '--jobs',
        '2',
        '--timeout',
        '60',
      ]);
      expect(r.failures).toEqual([]);
      expect(r.passed).toBe(5);
    }, 300_000);
  });
}
