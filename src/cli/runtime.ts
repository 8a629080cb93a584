/**
 * The CLI's runtimes, made with only the engine they run on loaded: a run on the compiler engine
 * never parses the interpreter (a third of the code; start-up), and the reverse. The public
 * `newRuntimeWithConfig` cannot wait for an import, so the CLI makes its runtimes here.
 */
import { newCompilerEngine } from '../compiler-native/engine.js';
import { RuntimeConfigImpl, type RuntimeConfig } from '../runtime/store/config.js';
import { RuntimeImpl, type Runtime } from '../runtime/store/runtime.js';

/** A runtime with `config`, as `newRuntimeWithConfig` makes it, its engine imported on demand. */
export async function newCliRuntime(config: RuntimeConfig): Promise<Runtime> {
  if (!(config instanceof RuntimeConfigImpl)) throw new TypeError('use newRuntimeConfig…() to make a RuntimeConfig');
  const engine =
    config.data.engine === 'interpreter' ? (await import('../runtime/interpreter/engine.js')).newInterpreterEngine() : newCompilerEngine();
  return new RuntimeImpl(config, engine);
}
