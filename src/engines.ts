/**
 * Runtimes with their engine: `newRuntime` and `newRuntimeWithConfig` (re-exported by the `wasmscope`
 * entry point). Apart from the entry point so that toolkit layers that make runtimes of their own
 * (`wasmscope/snapshot`'s pre-initialisation) import them without importing the entry point.
 */
import type { Context } from './runtime/api/context.js';
import { RuntimeConfigImpl, type RuntimeConfig } from './runtime/store/config.js';
import { newRuntimeConfig } from './runtime/store/factories.js';
import { RuntimeImpl, type Runtime } from './runtime/store/runtime.js';
import type { Engine } from './runtime/store/engine.js';
import { newInterpreterEngine } from './runtime/interpreter/engine.js';
import { newCompilerEngine } from './compiler-native/engine.js';

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
