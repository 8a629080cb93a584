/**
 * The public factories of configurations and caches (re-exported by the `wasmscope` entry point).
 * They live apart from `newRuntime…`, which needs the engines, so that a caller that makes its own
 * runtime (the CLI) can use them without loading both engines.
 */
import type { CompilationCache, FSConfig, ModuleConfig, RuntimeConfig } from './config.js';
import { FSConfigImpl, newModuleConfigImpl, newRuntimeConfigOf } from './config.js';
import { MemoryCompilationCache, openDirCompilationCache } from './cache.js';

/** The default configuration: the compiler engine (V8-native code), WebAssembly 2.0 features. */
export function newRuntimeConfig(): RuntimeConfig {
  return newRuntimeConfigOf('auto');
}

/** Configuration for the compiler engine: the module is rewritten and compiled to native code by V8. */
export function newRuntimeConfigCompiler(): RuntimeConfig {
  return newRuntimeConfigOf('compiler');
}

/** Configuration for the interpreter engine: pure TypeScript, every instruction observable. */
export function newRuntimeConfigInterpreter(): RuntimeConfig {
  return newRuntimeConfigOf('interpreter');
}

/** A module configuration with defaults: start function `_start`, no args/env, sandboxed clocks. */
export function newModuleConfig(): ModuleConfig {
  return newModuleConfigImpl();
}

/** An empty filesystem configuration (no mounts). */
export function newFSConfig(): FSConfig {
  return new FSConfigImpl([]);
}

/**
 * An in-memory compilation cache: give it to several runtimes (`withCompilationCache`) to share
 * compiled modules. A module compiled again by the same runtime is reused as is; another runtime
 * skips validation and preparation (the compiler engine's rewrite) and only has V8 compile.
 */
export function newCompilationCache(): CompilationCache {
  return new MemoryCompilationCache();
}

/**
 * An on-disk compilation cache in `dir` (created if missing), shared by runtimes and processes:
 * entries under `dir/wasmscope-<version>-<arch>-<platform>/`, keyed by the module's sha256, the
 * wasmscope version, the engine, the core features and the listened functions. Entries are renamed
 * into place (concurrent processes never read a half-written one); a corrupt entry is ignored and
 * rewritten.
 * Note: V8 offers Node no way to persist its compiled wasm code: a hit skips our validation and
 * rewrite, and V8 compiles the rewritten binary again (lazily).
 * @throws Error (rejects) when `dir` exists and is not a directory or cannot be created.
 */
export function newCompilationCacheWithDir(dir: string): Promise<CompilationCache> {
  return openDirCompilationCache(dir);
}
