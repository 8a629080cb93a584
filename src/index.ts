/**
 * wasmscope: a WebAssembly runtime for Node.js modeled on wazero (the `wazero` package's role).
 * @packageDocumentation
 */
import type { Context } from './runtime/api/context.js';
import type { RuntimeConfig } from './runtime/store/config.js';
import { FSConfigImpl, newModuleConfigImpl, newRuntimeConfigOf, RuntimeConfigImpl } from './runtime/store/config.js';
import type { FSConfig, ModuleConfig } from './runtime/store/config.js';
import { RuntimeImpl, type Runtime } from './runtime/store/runtime.js';
import { MemoryCompilationCache, openDirCompilationCache } from './runtime/store/cache.js';
import type { CompilationCache } from './runtime/store/config.js';
import { newInterpreterEngine } from './runtime/interpreter/engine.js';
import { newCompilerEngine } from './compiler-native/engine.js';
import type { Engine } from './runtime/store/engine.js';

export { Context } from './runtime/api/context.js';
export { CompileError, ExitError, HostFunctionError, LinkError, SnapshotError, WasmRuntimeError, Trap } from './runtime/api/errors.js';
export { WasmException } from './runtime/api/tag.js';
export type { Tag } from './runtime/api/tag.js';
export type { Runtime } from './runtime/store/runtime.js';
export type { CompiledModule } from './runtime/store/compiled-module.js';
export type { CompilationCache, FSConfig, ModuleConfig, RuntimeConfig } from './runtime/store/config.js';
export type { Reader, Writer } from './sys/io.js';
export { SysConfigError } from './sys/context.js';
export { exportsOf } from './runtime/store/exports-of.js';
export { CallSuspendedError, suspend } from './runtime/store/suspend.js';
export type { PendingCall } from './runtime/store/suspend.js';
export { resumeCall } from './snapshot/call.js';
export type { ResumeCallOptions } from './snapshot/call.js';
export type { NaturalExports, NaturalFunction } from './runtime/store/exports-of.js';
export { currentImportCall } from './runtime/store/import-object.js';
export type { ImportCallContext, ImportImplementation, ImportImplementations } from './runtime/store/import-object.js';
export type {
  AsyncNaturalHostFunction,
  AsyncStackHostFunction,
  HostFunctionBuilder,
  HostModuleBuilder,
  NaturalHostFunction,
  StackHostFunction,
} from './runtime/store/host-builder.js';
export type { CompileErrorPosition } from './runtime/api/errors.js';

/** A runtime with the default configuration (compiler engine where supported). */
export function newRuntime(ctx?: Context): Runtime {
  return newRuntimeWithConfig(newRuntimeConfig(), ctx);
}

/** A runtime with `config`. */
export function newRuntimeWithConfig(config: RuntimeConfig, _ctx?: Context): Runtime {
  if (!(config instanceof RuntimeConfigImpl)) throw new TypeError('use newRuntimeConfig…() to make a RuntimeConfig');
  return new RuntimeImpl(config, engineFor(config.data.engine));
}

function engineFor(kind: 'interpreter' | 'compiler' | 'auto'): Engine {
  if (kind === 'interpreter') return newInterpreterEngine();
  return newCompilerEngine();
}

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
