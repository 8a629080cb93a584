/**
 * The WASI example: runs hello.wasm (built from hello.c) through the `wasmscope run` CLI, exactly as
 * `npx wasmscope run --env NAME=wasmscope examples/wasi-hello/hello.wasm one two` would.
 * Run it with `npx tsx examples/wasi-hello/run.ts [extra args]`.
 */
import { fileURLToPath } from 'node:url';
import { main, type CliIO } from '../../src/cli/main.js';

export const HELLO_WASM = fileURLToPath(new URL('./hello.wasm', import.meta.url));

/** Runs the example; returns the guest's exit code. */
export function runExample(extraArgs: readonly string[] = [], io?: CliIO): Promise<number> {
  return main(['run', '--env', 'NAME=wasmscope', HELLO_WASM, 'one', 'two', ...extraArgs], io);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exit(await runExample(process.argv.slice(2)));
}
