/**
 * The wasi_snapshot_preview1 host module: instantiate it into a runtime before guests that import it.
 */
import type { Context } from '../runtime/api/context.js';
import type { Module } from '../runtime/api/module.js';
import type { ValueType } from '../runtime/api/value-type.js';
import type { CompiledModule } from '../runtime/store/compiled-module.js';
import type { HostModuleBuilder } from '../runtime/store/host-builder.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { toHostFunction, WASI_FUNCTIONS } from './functions.js';

/** The import module name of WASI preview 1. */
export const MODULE_NAME = 'wasi_snapshot_preview1';
/** The older name some toolchains still import (same functions). */
export const MODULE_NAME_UNSTABLE = 'wasi_unstable';

/** Adds the WASI functions to any host module builder (e.g. to override some, or to use another name). */
export interface FunctionExporter {
  exportFunctions(builder: HostModuleBuilder): void;
}

/** Builds the WASI host module. */
export interface Builder {
  compile(ctx?: Context): Promise<CompiledModule>;
  instantiate(ctx?: Context): Promise<Module>;
}

/** An exporter of all 46 functions, with wazero's parameter and result names. */
export function newFunctionExporter(): FunctionExporter {
  return {
    exportFunctions(builder: HostModuleBuilder): void {
      for (const w of WASI_FUNCTIONS) {
        const fb = builder
          .newFunctionBuilder()
          .withModuleFunction(toHostFunction(w), w.params as ValueType[], w.results as ValueType[])
          .withParameterNames(...w.paramNames);
        if (w.results.length > 0) fb.withResultNames('errno');
        fb.export(w.name);
      }
    },
  };
}

/**
 * A builder of the WASI host module in `r`.
 * @param moduleName defaults to {@link MODULE_NAME}; pass {@link MODULE_NAME_UNSTABLE} for old guests.
 */
export function newBuilder(r: Runtime, moduleName: string = MODULE_NAME): Builder {
  const b = r.newHostModuleBuilder(moduleName);
  newFunctionExporter().exportFunctions(b);
  return b;
}

/** Instantiates `wasi_snapshot_preview1` into `r`. */
export function instantiate(r: Runtime, ctx?: Context): Promise<Module> {
  return newBuilder(r).instantiate(ctx);
}
