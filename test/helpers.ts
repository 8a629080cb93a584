/**
 * Shared test helpers: WAT → wasm with the `wabt` package, and the engines every engine-neutral test
 * runs on (one table of cases, once per engine, so the engines cannot drift apart).
 */
import wabtInit from 'wabt';
import {
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  WasmRuntimeError,
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
    // wabt's typings omit validate's features argument; without it, validation falls back to the
    // default features and rejects shared memories.
    (mod as unknown as { validate(features: typeof ALL_FEATURES): void }).validate(ALL_FEATURES);
    const { buffer } = mod.toBinary({ write_debug_names: true });
    return new Uint8Array(buffer);
  } finally {
    mod.destroy();
  }
}

/** Whether wabt decodes and validates a binary under the same features as {@link wat} (an independent validator). */
export async function wabtValidates(bytes: Uint8Array): Promise<boolean> {
  wabtPromise ??= wabtInit();
  const wabt = await wabtPromise;
  let mod: ReturnType<Wabt['readWasm']> | undefined;
  try {
    mod = wabt.readWasm(bytes, { readDebugNames: false, ...ALL_FEATURES });
    (mod as unknown as { validate(features: typeof ALL_FEATURES): void }).validate(ALL_FEATURES);
    return true;
  } catch {
    return false;
  } finally {
    mod?.destroy();
  }
}

/** Every feature wabt parses, the WebAssembly 3.0 ones included. */
const V3_FEATURES = { ...ALL_FEATURES, exceptions: true, memory64: true, extended_const: true, relaxed_simd: true, multi_memory: true };

/**
 * Assembles WebAssembly text with the 3.0 features too (exceptions with `try_table` and the legacy
 * `try`, 64-bit and multiple memories, extended constants, relaxed SIMD). Note: wabt writes an active
 * data segment of a memory other than 0 wrongly; keep those in memory 0.
 */
export async function wat3(text: string): Promise<Uint8Array> {
  wabtPromise ??= wabtInit();
  const wabt = await wabtPromise;
  const mod = wabt.parseWat('test.wat', text, V3_FEATURES);
  try {
    mod.resolveNames();
    (mod as unknown as { validate(features: typeof V3_FEATURES): void }).validate(V3_FEATURES);
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

/** What `fn` threw (the test fails when it returns). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw, but the call returned');
}

/** The WasmRuntimeError `fn` threw, itself or as the `cause` of what it threw (anything else fails the test). */
export function trapOf(fn: () => unknown): WasmRuntimeError {
  return asTrap(thrown(fn));
}

/** `e` as a WasmRuntimeError: itself or its `cause`; throws `e` when it is neither. */
export function asTrap(e: unknown): WasmRuntimeError {
  if (e instanceof WasmRuntimeError) return e;
  if (e instanceof Error && e.cause instanceof WasmRuntimeError) return e.cause;
  throw e;
}

/** The original byte offsets of a trap's frames, innermost first (-1 for host frames). */
export function wasmOffsetsOf(e: WasmRuntimeError): readonly number[] {
  return (e as WasmRuntimeError & { wasmOffsets?: number[] }).wasmOffsets ?? [];
}

/** FNV-1a over memory bytes, as a short fingerprint (`length:hash`). */
export function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${bytes.length}:${h.toString(16)}`;
}

/** xorshift32: a small deterministic PRNG. */
export function prng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}
