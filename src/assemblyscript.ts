/**
 * The AssemblyScript host module (wazero's `imports/assemblyscript`): `env.abort`, `env.trace` and
 * `env.seed` for programs compiled by the AssemblyScript compiler, writing to the guest module's own
 * stdout and stderr.
 * @packageDocumentation
 */
export { MODULE_NAME, instantiate, newBuilder, newFunctionExporter, readAssemblyScriptString } from './assemblyscript/module.js';
export type { Builder, FunctionExporter } from './assemblyscript/module.js';
