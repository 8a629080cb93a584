/**
 * `wasmscope preinit`: pre-initialises a module into a new .wasm (wasmscope/snapshot
 * `preinitialize`), with Wizer's flags.
 */
import { invalidMount, mountConfig, readInput } from './inputs.js';
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { newModuleConfig, newRuntimeConfig, newRuntimeConfigInterpreter, type Writer } from '../index.js';
import { preinitialize } from '../snapshot/preinit.js';

export const PREINIT_USAGE = `Usage:
  wasmscope preinit [flags] <input.wasm> -o <output.wasm>

Pre-initialises a WebAssembly module (as Wizer): instantiates it, calls its init function, and writes
a module that starts in the state the initialisation left (globals, memory, funcref tables as data and
element segments), without its start section and init function.

Flags:
  -o, --output FILE       the pre-initialised module to write (required)
  --init-func NAME        the init function export (default: wizer.initialize)
  --keep-init-func        keep the init function export in the output
  --rename-func DST=SRC   rename export SRC to DST in the output (repeatable), e.g. _start=resume
  --allow-wasi            provide WASI to the initialisation (the output keeps importing it)
  --mount host[:guest][:ro]
                          mount a host directory for the initialisation (repeatable; with --allow-wasi)
  --env KEY=VALUE         set an environment variable for the initialisation (repeatable)
  --interpreter           run the initialisation on the interpreter engine
  -h, --help              show this help
`;

/** A bad command line (the CLI prints it with the usage hint). */
export class PreinitUsageError extends Error {}

interface PreinitOptions {
  input: string;
  output: string;
  init: string | undefined;
  keepInitFunc: boolean;
  renames: Record<string, string>;
  allowWasi: boolean;
  mounts: Array<{ host: string; guest: string; readOnly: boolean }>;
  env: Array<[string, string]>;
  interpreter: boolean;
}

/** Parses `preinit`'s arguments (after the command); `parseMount` is the `run` command's. */
export function parsePreinit(
  argv: readonly string[],
  parseMount: (spec: string) => { host: string; guest: string; readOnly: boolean },
): PreinitOptions | 'help' {
  const o: PreinitOptions = {
    input: '',
    output: '',
    init: undefined,
    keepInitFunc: false,
    renames: {},
    allowWasi: false,
    mounts: [],
    env: [],
    interpreter: false,
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = (eq < 0 ? a : a.slice(0, eq)).replace(/^--?/, '');
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new PreinitUsageError(`flag needs an argument: ${a}`);
      return v;
    };
    switch (flag) {
      case 'h':
      case 'help':
        return 'help';
      case 'o':
      case 'output':
        o.output = value();
        break;
      case 'init-func':
        o.init = value();
        break;
      case 'keep-init-func':
        o.keepInitFunc = inline === undefined || inline === 'true';
        break;
      case 'rename-func': {
        const spec = value();
        const j = spec.indexOf('=');
        if (j <= 0 || j === spec.length - 1) throw new PreinitUsageError(`invalid --rename-func "${spec}": use DST=SRC`);
        o.renames[spec.slice(0, j)] = spec.slice(j + 1);
        break;
      }
      case 'allow-wasi':
        o.allowWasi = inline === undefined || inline === 'true';
        break;
      case 'mount':
        o.mounts.push(parseMount(value()));
        break;
      case 'env': {
        const kv = value();
        const j = kv.indexOf('=');
        if (j <= 0) throw new PreinitUsageError(`invalid --env "${kv}": use KEY=VALUE`);
        o.env.push([kv.slice(0, j), kv.slice(j + 1)]);
        break;
      }
      case 'interpreter':
        o.interpreter = inline === undefined || inline === 'true';
        break;
      default:
        throw new PreinitUsageError(`unknown flag: ${a}`);
    }
  }
  if (positional.length === 0) throw new PreinitUsageError('missing path to the input wasm file');
  if (positional.length > 1) throw new PreinitUsageError(`one input file expected, got ${positional.join(' ')}`);
  if (o.output === '') throw new PreinitUsageError('missing -o <output.wasm>');
  if (o.mounts.length > 0 && !o.allowWasi) throw new PreinitUsageError('--mount needs --allow-wasi');
  o.input = positional[0]!;
  return o;
}

/** Runs `preinit`; returns the exit code. Errors go to `err`. */
export async function runPreinit(o: PreinitOptions, stdout: Writer, stderr: Writer, err: (s: string) => void): Promise<number> {
  const bytes = readInput(o.input, err);
  if (bytes === undefined) return 1;
  const mounted = mountConfig(o.mounts, invalidMount);
  if ('error' in mounted) {
    err(mounted.error);
    return 1;
  }
  const fs = mounted.fs;
  let config = newModuleConfig().withArgs(basename(o.input)).withStdout(stdout).withStderr(stderr).withFSConfig(fs);
  for (const [k, v] of o.env) config = config.withEnv(k, v);
  let out: Uint8Array;
  try {
    out = await preinitialize(bytes, {
      init: o.init,
      keepInitFunc: o.keepInitFunc,
      renameFuncs: o.renames,
      allowWasi: o.allowWasi,
      moduleConfig: config,
      runtimeConfig: o.interpreter ? newRuntimeConfigInterpreter() : newRuntimeConfig(),
    });
  } catch (e) {
    err(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  try {
    writeFileSync(o.output, out);
  } catch (e) {
    err(`error: cannot write ${o.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 1;
  }
  return 0;
}
