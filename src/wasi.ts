/**
 * WASI preview 1 (`wasi_snapshot_preview1`) for wasmscope: wazero's `imports/wasi_snapshot_preview1`.
 * @packageDocumentation
 */
export { MODULE_NAME, MODULE_NAME_UNSTABLE, instantiate, newBuilder, newFunctionExporter } from './wasi/module.js';
export type { WasiOptions } from './wasi/module.js';
export type { Builder, FunctionExporter } from './wasi/module.js';
export { ERRNO, wasiErrnoName } from './wasi/constants.js';
