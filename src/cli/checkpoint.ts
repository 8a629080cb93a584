/**
 * Mid-call checkpoints in the CLI: `wasmscope run --checkpoint-after-ms N | --checkpoint-on SIGNAL
 * [--checkpoint-file F]` stops a WASI command at its next async WASI wait (a `poll_oneoff` sleep, a
 * read of a pipe or terminal: the run uses `--async-io`) once N ms passed or SIGNAL arrived, and
 * writes the whole call — machine state, memory, globals, tables — with the run's module path
 * (and sha256), args, env and mounts to F; `wasmscope resume F` continues it, in another process,
 * with the same output the uninterrupted run would have given (and its exit code). The same flags
 * on `resume` checkpoint the resumed run again.
 */
import { mountConfig } from './inputs.js';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseCheckpointFlag, RESUME_USAGE, type CheckpointFlags } from './checkpoint-flags.js';
import {
  CallSuspendedError,
  Context,
  ExitError,
  newModuleConfig,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  resumeCall,
  type ModuleConfig,
  type PendingCall,
  type Reader,
  type Writer,
} from '../index.js';
import type { Module } from '../runtime/api/module.js';
import { withCheckpointMeta } from '../runtime/store/context-keys.js';
import { ModuleInstance } from '../runtime/store/module-instance.js';
import { cryptoRandom } from '../sys/context.js';
import { callOf } from '../snapshot/call.js';
import { MODULE_NAME, MODULE_NAME_UNSTABLE, newBuilder } from '../wasi/module.js';

// The flags and usage live in checkpoint-flags.ts (a run without them does not load this module).
export { CHECKPOINT_USAGE, checkpointing, parseCheckpointFlag, RESUME_USAGE, type CheckpointFlags } from './checkpoint-flags.js';

/** The stdio a resumed run gets (the CLI's). */
export interface ResumeIO {
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly stdin: number | Uint8Array | string | Reader;
}

/** What `wasmscope run` records in a checkpoint (its `meta` bytes, as JSON). */
interface RunRecord {
  readonly tool: 'wasmscope run';
  readonly wasm: string;
  readonly sha256: string;
  readonly args: readonly string[];
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly mounts: ReadonlyArray<{ readonly host: string; readonly guest: string; readonly readOnly: boolean }>;
  readonly features: number;
}

/** The module name a checkpointed run's guest gets (resumeCall finds the module by it). */
const GUEST_NAME = 'main';

/** The record of a run, as the meta bytes of its checkpoints. */
export function runRecord(
  wasmPath: string,
  bytes: Uint8Array,
  args: readonly string[],
  env: ReadonlyArray<readonly [string, string]>,
  mounts: ReadonlyArray<{ host: string; guest: string; readOnly: boolean }>,
  features: number,
): Uint8Array {
  const r: RunRecord = {
    tool: 'wasmscope run',
    wasm: resolve(wasmPath),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    args,
    env,
    mounts: mounts.map((m) => ({ host: resolve(m.host), guest: m.guest, readOnly: m.readOnly })),
    features,
  };
  return new TextEncoder().encode(JSON.stringify(r));
}

/** `c` for a checkpointed run: named so `resume` finds it. */
export function checkpointedConfig(c: ModuleConfig): ModuleConfig {
  return c.withName(GUEST_NAME);
}

/** `ctx` whose async calls write `meta` into their checkpoints. */
export function checkpointContext(ctx: Context, meta: Uint8Array): Context {
  return withCheckpointMeta(ctx, meta);
}

/** The fds open in `m`'s WASI context (stdio and pre-opens right after instantiation). */
export function openFds(m: Module): number[] {
  return m instanceof ModuleInstance ? (m.sys?.files.fds() ?? []) : [];
}

/**
 * Awaits `pending` with the triggers of `f` armed: on one, the call stops at its next async host
 * call and the checkpoint is written to the file (refused when the guest has more files open than
 * `fdsAtStart`). Returns the exit code when it stopped, undefined when the call returned.
 */
export async function awaitCheckpointable(
  pending: PendingCall,
  f: CheckpointFlags,
  m: Module,
  fdsAtStart: readonly number[],
  err: (s: string) => void,
): Promise<number | undefined> {
  let refusal: unknown;
  const request = (): void => {
    try {
      pending.requestSuspend();
    } catch (e) {
      refusal ??= e;
    }
  };
  const timer = f.afterMs === undefined ? undefined : setTimeout(request, f.afterMs);
  if (f.signal !== undefined) process.on(f.signal, request);
  try {
    await pending;
    if (refusal !== undefined) err(`warning: no checkpoint taken: ${(refusal as Error).message}\n`);
    return undefined;
  } catch (e) {
    if (!(e instanceof CallSuspendedError)) throw e;
    const extra = openFds(m).filter((fd) => !fdsAtStart.includes(fd));
    if (extra.length > 0) {
      err(
        `error: not supported: a checkpoint while the guest has files open beyond stdio and the mounts (fd ${extra.join(', ')}): ` +
          'they cannot be reopened on resume\n',
      );
      return 1;
    }
    const file = f.file ?? 'checkpoint.bin';
    writeFileSync(file, e.checkpoint);
    err(`wasmscope: checkpoint written to ${file} (${e.checkpoint.length} bytes); continue with: wasmscope resume ${file}\n`);
    return 0;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (f.signal !== undefined) process.off(f.signal, request);
  }
}

/** Reads and checks the run record in checkpoint `bytes`. */
function recordOf(bytes: Uint8Array, path: string): RunRecord {
  const meta = callOf(bytes).meta;
  let r: RunRecord;
  try {
    r = JSON.parse(new TextDecoder().decode(meta)) as RunRecord;
  } catch {
    throw new Error(`${path} was not taken by 'wasmscope run' (continue it with the library's resumeCall)`);
  }
  if (
    r === null ||
    r.tool !== 'wasmscope run' ||
    typeof r.wasm !== 'string' ||
    !Array.isArray(r.args) ||
    !Array.isArray(r.env) ||
    !Array.isArray(r.mounts)
  ) {
    throw new Error(`${path} was not taken by 'wasmscope run' (continue it with the library's resumeCall)`);
  }
  return r;
}

/** `wasmscope resume`: continues a checkpointed run (see the module comment). */
export async function resumeCommand(
  argv: readonly string[],
  io: ResumeIO,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const f: CheckpointFlags = { afterMs: undefined, signal: undefined, file: undefined };
  let i = 0;
  const usage = (msg: string): Error => new Error(msg);
  try {
    for (; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '-h' || a === '--help') {
        out(RESUME_USAGE);
        return 0;
      }
      if (!a.startsWith('--')) break;
      const eq = a.indexOf('=');
      const flag = (eq < 0 ? a : a.slice(0, eq)).slice(2);
      const inline = eq < 0 ? undefined : a.slice(eq + 1);
      const value = (): string => {
        if (inline !== undefined) return inline;
        const v = argv[++i];
        if (v === undefined) throw usage(`flag needs an argument: --${flag}`);
        return v;
      };
      if (!parseCheckpointFlag(f, flag, value, usage)) throw usage(`unknown flag: ${a}`);
    }
    if (argv[i] === undefined) throw usage('missing checkpoint file');
    if (argv.length > i + 1) throw usage(`unexpected argument: ${argv[i + 1]}`);
  } catch (e) {
    err(`error: ${(e as Error).message} (see wasmscope resume --help)\n`);
    return 1;
  }
  const path = argv[i]!;
  let bytes: Uint8Array;
  let rec: RunRecord;
  let wasm: Uint8Array;
  try {
    bytes = readFileSync(path);
    rec = recordOf(bytes, path);
    try {
      wasm = readFileSync(rec.wasm);
    } catch (e) {
      throw new Error(`cannot read the checkpointed module ${rec.wasm}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const sha = createHash('sha256').update(wasm).digest('hex');
    if (sha !== rec.sha256)
      throw new Error(
        `${rec.wasm} changed since the checkpoint (sha256 ${sha.slice(0, 12)}…, the checkpoint's ${rec.sha256.slice(0, 12)}…)`,
      );
  } catch (e) {
    err(`error: ${(e as Error).message}\n`);
    return 1;
  }
  const mounted = mountConfig(rec.mounts, (host) => `error: the checkpointed mount ${host} is not a directory here\n`);
  if ('error' in mounted) {
    err(mounted.error);
    return 1;
  }
  const fs = mounted.fs;
  const r = newRuntimeWithConfig(newRuntimeConfigInterpreter().withCoreFeatures(rec.features));
  try {
    const compiled = await r.compileModule(wasm);
    const imports = new Set(compiled.importedFunctions().map((d) => d.import()?.[0]));
    if (imports.has(MODULE_NAME)) await newBuilder(r, MODULE_NAME, { asyncIO: true }).instantiate();
    if (imports.has(MODULE_NAME_UNSTABLE)) await newBuilder(r, MODULE_NAME_UNSTABLE, { asyncIO: true }).instantiate();
    let c = newModuleConfig()
      .withArgs(basename(rec.wasm), ...rec.args)
      .withStdin(io.stdin)
      .withStdout(io.stdout)
      .withStderr(io.stderr)
      .withFSConfig(fs)
      .withSysWalltime()
      .withSysNanotime()
      .withSysNanosleep()
      .withRandSource(cryptoRandom)
      .withStartFunctions();
    for (const [k, v] of rec.env) c = c.withEnv(k, v);
    const m = await r.instantiateModule(compiled, checkpointedConfig(c));
    const fds = openFds(m);
    const pending = resumeCall(r, bytes);
    try {
      return (await awaitCheckpointable(pending, f, m, fds, err)) ?? 0;
    } catch (e) {
      if (e instanceof ExitError) return e.exitCode;
      throw e;
    }
  } catch (e) {
    err(`error: resuming ${path}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await r.close().catch(() => undefined);
  }
}
