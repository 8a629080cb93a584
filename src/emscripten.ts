/**
 * The Emscripten host module (wazero's `imports/emscripten`): `invoke_*`, `_emscripten_throw_longjmp`
 * and `emscripten_notify_memory_growth` for guests built by `emcc` without JavaScript glue
 * (C++ exceptions and setjmp/longjmp through `invoke_*`).
 * @packageDocumentation
 */
export { MODULE_NAME, ThrowLongjmpError, instantiate, instantiateForModule, newFunctionExporterForModule } from './emscripten/module.js';
export type { FunctionExporter } from './emscripten/module.js';
