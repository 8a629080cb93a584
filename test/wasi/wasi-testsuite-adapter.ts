/**
 * An in-process adapter for run-wasi-testsuite.mjs (its `--adapter` protocol): each test runs through
 * the CLI's own `main()` — the same flags, mounts and environment as `wasmscope run` in a process —
 * with stdio captured and an empty stdin. The engine is `WASMSCOPE_ENGINE` (`compiler` by default).
 * The runner imports it under tsx: `node --import tsx run-wasi-testsuite.mjs --adapter <this file>`.
 */
import { main, type CliIO } from '../../src/cli/main.js';

/** A test as the runner hands it over. */
export interface SuiteTest {
  readonly name: string;
  readonly suite: string;
  readonly wasm: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly dirs: ReadonlyArray<{ readonly host: string; readonly guest: string }>;
  readonly timeoutMs: number;
}

/** The `wasmscope run` arguments for `t` on `engine`. */
export function cliArgs(t: SuiteTest, engine: string): string[] {
  return [
    'run',
    ...(engine === 'interpreter' ? ['--interpreter'] : []),
    ...Object.entries(t.env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ...t.dirs.flatMap((d) => ['--mount', `${d.host}:${d.guest}`]),
    t.wasm,
    ...t.args,
  ];
}

/** Runs one test; the runner compares the streams and the exit code. */
export async function run(t: SuiteTest): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const io: CliIO = {
    stdout: { write: (c) => out.push(c.slice()) },
    stderr: { write: (c) => err.push(c.slice()) },
    stdin: new Uint8Array(0),
    env: {},
  };
  const exitCode = await main(cliArgs(t, process.env['WASMSCOPE_ENGINE'] ?? 'compiler'), io);
  return { exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
