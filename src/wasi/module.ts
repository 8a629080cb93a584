/**
 * The wasi_snapshot_preview1 host module: instantiate it into a runtime before guests that import it.
 */
import type { Context } from '../runtime/api/context.js';
import type { Module } from '../runtime/api/module.js';
import type { ValueType } from '../runtime/api/value-type.js';
import type { CompiledModule } from '../runtime/store/compiled-module.js';
import type { HostModuleBuilder } from '../runtime/store/host-builder.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { ASYNC_WASI_FUNCTIONS, toHostFunction, WASI_FUNCTIONS } from './functions.js';

/** The import module name of WASI preview 1. */
export const MODULE_NAME = 'wasi_snapshot_preview1';
/** The older name some toolchains still import (same functions). */
export const MODULE_NAME_UNSTABLE = 'wasi_unstable';

/** Adds the WASI functions to any host module builder (e.g. to override some, or to use another name). */
export interface FunctionExporter {
  /** Adds every WASI function to `builder`. */
  exportFunctions(builder: HostModuleBuilder): void;
}

/** Builds the WASI host module. */
export interface Builder {
  /** Compiles the WASI host module (listener factories of `ctx` listen its functions). */
  compile(ctx?: Context): Promise<CompiledModule>;
  /** Compiles and instantiates it under its module name. */
  instantiate(ctx?: Context): Promise<Module>;
}

/** Options of the WASI host module. */
export interface WasiOptions {
  /**
   * Async WASI: `fd_read` on streams that can block (host pipes, terminals) and `poll_oneoff`
   * (sleeps and waits for input) run through Node's async APIs, so a guest that sleeps or reads a
   * slow pipe does not block the event loop, and `poll_oneoff` on stdin honours its timeout. Guests
   * must then be called with `callAsync` (`_start` too: instantiate without start functions and
   * call it). Regular files keep synchronous I/O (it does not block on a slow peer).
   */
  readonly asyncIO?: boolean;
}

/** An exporter of all 46 functions, with wazero's parameter and result names. */
export function newFunctionExporter(options: WasiOptions = {}): FunctionExporter {
  return {
    exportFunctions(builder: HostModuleBuilder): void {
      for (const w of WASI_FUNCTIONS) {
        const asyncFn = options.asyncIO === true ? ASYNC_WASI_FUNCTIONS.get(w.name) : undefined;
        const params = w.params as ValueType[];
        const results = w.results as ValueType[];
        const fb = (
          asyncFn === undefined
            ? builder.newFunctionBuilder().withModuleFunction(toHostFunction(w), params, results)
            : builder.newFunctionBuilder().withAsyncModuleFunction(asyncFn, params, results)
        ).withParameterNames(...w.paramNames);
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
export function newBuilder(r: Runtime, moduleName: string = MODULE_NAME, options: WasiOptions = {}): Builder {
  const b = r.newHostModuleBuilder(moduleName);
  newFunctionExporter(options).exportFunctions(b);
  return b;
}

/** Instantiates `wasi_snapshot_preview1` into `r` (async WASI with `{ asyncIO: true }`). */
export function instantiate(r: Runtime, ctx?: Context, options: WasiOptions = {}): Promise<Module> {
  return newBuilder(r, MODULE_NAME, options).instantiate(ctx);
}
