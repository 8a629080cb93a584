/**
 * Shared test helpers: WAT → wasm with the `wabt` package, and the engines every engine-neutral test
 * runs on (one table of cases, once per engine, so the engines cannot drift apart).
 */
import wabtInit from 'wabt';
import {
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  type Runtime,
  type RuntimeConfig,
} from '../src/index.js';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabtPromise: Promise<Wabt> | undefined;

const ALL_FEATURES = {
  exceptions: false,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  multi_value: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
  annotations: false,
  gc: false,
};

/** Assembles WebAssembly text (all 2.0 features plus threads and tail calls) with a name section. */
export async function wat(text: string): Promise<Uint8Array> {
  wabtPromise ??= wabtInit();
  const wabt = await wabtPromise;
  const mod = wabt.parseWat('test.wat', text, ALL_FEATURES);
  try {
    mod.resolveNames();
    mod.validate();
    const { buffer } = mod.toBinary({ write_debug_names: true });
    return new Uint8Array(buffer);
  } finally {
    mod.destroy();
  }
}

export interface EngineCase {
  readonly name: 'interpreter' | 'compiler';
  readonly config: () => RuntimeConfig;
}

/** The engines that can run here (the compiler engine is skipped while it reports "not supported"). */
export const engines: EngineCase[] = [
  { name: 'interpreter', config: newRuntimeConfigInterpreter },
  { name: 'compiler', config: newRuntimeConfigCompiler },
].filter((e) => {
  try {
    newRuntimeWithConfig(e.config());
    return true;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('not supported')) return false;
    throw err;
  }
}) as EngineCase[];

export function runtimeFor(e: EngineCase, edit?: (c: RuntimeConfig) => RuntimeConfig): Runtime {
  const c = e.config();
  return newRuntimeWithConfig(edit === undefined ? c : edit(c));
}
