/**
 * The public factories of configurations and caches (re-exported by the `wasmscope` entry point).
 * They live apart from `newRuntime…`, which needs the engines, so that a caller that makes its own
 * runtime (the CLI) can use them without loading both engines.
 */
import type { CompilationCache, FSConfig, ModuleConfig, RuntimeConfig } from './config.js';
import { FSConfigImpl, newModuleConfigImpl, newRuntimeConfigOf } from './config.js';
import { CompilationCacheImpl } from './runtime.js';

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

/** An in-memory compilation cache; give it to several runtimes to share compiled modules. */
export function newCompilationCache(): CompilationCache {
  return new CompilationCacheImpl();
}

/**
 * An on-disk compilation cache.
 * Note: not supported yet — V8 gives no API to persist compiled wasm code from Node; rejects.
 */
export function newCompilationCacheWithDir(dir: string): Promise<CompilationCache> {
  return Promise.reject(new Error(`not supported: on-disk compilation cache (${dir})`));
}
