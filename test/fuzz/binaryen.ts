/**
 * binaryen's translate-to-fuzz (`wasm-opt -ttf`), in process.
 *
 * The npm package ships `wasm-opt` as an Emscripten program; starting it costs ~0.3 s (a 10 MB wasm
 * to compile), so it is loaded once and its `main` is called per module (~20 ms): the script is
 * evaluated with `noInitialRun` and its `callMain` exposed. Files go through the real filesystem
 * (NODERAWFS), in a private temporary directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runInThisContext } from 'node:vm';
import type { Rnd } from './values.js';

interface WasmOpt {
  callMain(args: string[]): number;
}

let loading: Promise<WasmOpt> | undefined;
let workDir: string | undefined;
const output: string[] = [];

function load(): Promise<WasmOpt> {
  const require = createRequire(import.meta.url);
  const path = require.resolve('binaryen/bin/wasm-opt');
  let src = readFileSync(path, 'utf8');
  if (src.startsWith('#!')) src = `//${src.slice(2)}`;
  const run = 'createWasm().then(()=>run());';
  if (!src.includes(run)) throw new Error(`binaryen: unexpected wasm-opt script (no "${run}")`);
  src = src.replace(run, `Module["callMain"]=callMain;${run}`);
  const fn = runInThisContext(`(function(require,__filename,__dirname,module,exports,Module){${src}\n})`, { filename: path }) as (
    ...args: unknown[]
  ) => void;
  return new Promise((resolve, reject) => {
    const m = {
      noInitialRun: true,
      thisProgram: 'wasm-opt',
      print: (s: string) => output.push(s),
      printErr: (s: string) => output.push(s),
      onRuntimeInitialized: () => resolve(m as unknown as WasmOpt),
      onAbort: (what: unknown) => reject(new Error(`binaryen aborted: ${String(what)}`)),
    };
    fn(require, path, dirname(path), { exports: {} }, {}, m);
  });
}

/** Feature flags of the modules made: WebAssembly 2.0, plus tail calls and threads when asked. */
export interface TtfFeatures {
  readonly tailCall: boolean;
  readonly threads: boolean;
  readonly simd: boolean;
}

function featureFlags(f: TtfFeatures): string[] {
  const flags = [
    '--mvp-features',
    '--enable-bulk-memory',
    '--enable-multivalue',
    '--enable-mutable-globals',
    '--enable-nontrapping-float-to-int',
    '--enable-reference-types',
    '--enable-sign-ext',
  ];
  if (f.simd) flags.push('--enable-simd');
  if (f.tailCall) flags.push('--enable-tail-call');
  if (f.threads) flags.push('--enable-threads');
  return flags;
}

/**
 * Runs per loaded instance: after a few thousand `main`s in one instance, wasm-opt has been seen to
 * crash on inputs it handles in a fresh one, so instances are replaced regularly (and after any
 * failure, before one retry).
 */
const RUNS_PER_INSTANCE = 500;
let runs = 0;

/** Runs wasm-opt with `args` (`in` and `out` name files in the work directory); returns `out`'s bytes. */
async function wasmOpt(input: Uint8Array, args: readonly string[]): Promise<Uint8Array> {
  if (++runs % RUNS_PER_INSTANCE === 0) loading = undefined;
  try {
    return await wasmOptOnce(input, args);
  } catch {
    loading = undefined;
    return wasmOptOnce(input, args);
  }
}

async function wasmOptOnce(input: Uint8Array, args: readonly string[]): Promise<Uint8Array> {
  loading ??= load();
  const w = await loading;
  if (workDir === undefined) {
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'wasmscope-ttf-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    workDir = dir;
  }
  const inPath = join(workDir, 'in');
  const outPath = join(workDir, 'out.wasm');
  writeFileSync(inPath, input);
  rmSync(outPath, { force: true });
  output.length = 0;
  const rc = w.callMain([inPath, ...args, '-o', outPath, '-q']);
  if (rc !== 0) throw new Error(`wasm-opt exited ${rc}: ${output.join('\n')}`);
  return new Uint8Array(readFileSync(outPath));
}

/** A random valid module made by translate-to-fuzz from `size` random bytes. */
export async function ttfModule(rnd: Rnd, size: number, features: TtfFeatures): Promise<Uint8Array> {
  const input = new Uint8Array(size);
  for (let i = 0; i < size; i++) input[i] = Math.floor(rnd() * 256);
  return wasmOpt(input, ['-ttf', ...featureFlags(features)]);
}

/** `bytes` after binaryen `passes` (used by the reducer to shrink a module). */
export async function optimize(bytes: Uint8Array, passes: readonly string[], features: TtfFeatures): Promise<Uint8Array> {
  return wasmOpt(bytes, [...featureFlags(features), ...passes]);
}
