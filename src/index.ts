/**
 * wasmscope: a WebAssembly runtime for Node.js modeled on wazero (the `wazero` package's role).
 * @packageDocumentation
 */

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
export {
  newCompilationCache,
  newCompilationCacheWithDir,
  newFSConfig,
  newModuleConfig,
  newRuntimeConfig,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
} from './runtime/store/factories.js';

export { newRuntime, newRuntimeWithConfig } from './engines.js';
