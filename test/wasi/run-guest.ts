/**
 * Runs a WASI command on an engine and collects its stdout, stderr and exit code.
 */
import { ExitError, newModuleConfig, type FSConfig, type ModuleConfig, type Runtime } from '../../src/index.js';
import { instantiate } from '../../src/wasi.js';

export interface GuestResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface GuestOptions {
  args?: string[];
  env?: Array<[string, string]>;
  stdin?: Uint8Array | string;
  fs?: FSConfig;
  edit?: (c: ModuleConfig) => ModuleConfig;
}

function sink(): { chunks: Uint8Array[]; write(c: Uint8Array): void; text(): string } {
  const chunks: Uint8Array[] = [];
  return {
    chunks,
    write(c: Uint8Array): void {
      chunks.push(c);
    },
    text(): string {
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/** Instantiates WASI (once per runtime) and runs `wasm`'s `_start`. */
export async function runGuest(r: Runtime, wasm: Uint8Array, o: GuestOptions = {}): Promise<GuestResult> {
  if (r.module('wasi_snapshot_preview1') === undefined) await instantiate(r);
  const out = sink();
  const err = sink();
  let c = newModuleConfig()
    .withName('')
    .withArgs(...(o.args ?? ['guest']))
    .withStdout(out)
    .withStderr(err);
  for (const [k, v] of o.env ?? []) c = c.withEnv(k, v);
  if (o.stdin !== undefined) c = c.withStdin(o.stdin);
  if (o.fs !== undefined) c = c.withFSConfig(o.fs);
  if (o.edit !== undefined) c = o.edit(c);
  let exitCode = 0;
  try {
    await r.instantiateWithConfig(wasm, c);
  } catch (e) {
    if (!(e instanceof ExitError)) throw e;
    exitCode = e.exitCode;
  }
  return { stdout: out.text(), stderr: err.text(), exitCode };
}
