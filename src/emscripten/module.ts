/**
 * The Emscripten host module (wazero's `imports/emscripten`): the `env` functions `emcc` makes a
 * program import for C++ exceptions and setjmp/longjmp without JavaScript glue.
 *
 * `instantiateForModule(r, compiled)` looks at the guest's `env` function imports and exports:
 * - `emscripten_notify_memory_growth(i32)`: accepted, does nothing;
 * - `_emscripten_throw_longjmp()`: throws the {@link ThrowLongjmpError} sentinel;
 * - every `invoke_*`, with the import's exact signature: its first parameter is an index into the
 *   guest's table 0, the rest are the arguments. The call looks the function up (its type must be
 *   the import's without the index: else the `indirect call type mismatch` trap), saves the stack
 *   pointer (`emscripten_stack_get_current`), and calls it. When the call fails, an `ExitError`
 *   (proc_exit) goes on as is; otherwise the stack pointer is restored
 *   (`_emscripten_stack_restore`), and a longjmp becomes `setThrew(1, 0)` — the invoke returns
 *   normally and the guest's landing pad takes over — while any other error is rethrown.
 *
 * The guest must export `emscripten_stack_get_current`, `_emscripten_stack_restore` and `setThrew`
 * (emcc does when it emits `invoke_*`; older emcc names `stackSave`/`stackRestore` are accepted);
 * an invoke made without them throws `<name> not exported`.
 */
import type { Context } from '../runtime/api/context.js';
import { ExitError, HostFunctionError } from '../runtime/api/errors.js';
import type { Function as ApiFunction, Module } from '../runtime/api/module.js';
import type { ValueType } from '../runtime/api/value-type.js';
import type { CompiledModule } from '../runtime/store/compiled-module.js';
import type { HostModuleBuilder } from '../runtime/store/host-builder.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { lookupFunction } from '../runtime/store/table-lookup.js';

/** The import module name of the Emscripten functions. */
export const MODULE_NAME = 'env';

/** What `_emscripten_throw_longjmp` throws, and the invoke that called the longjmping function catches. */
export class ThrowLongjmpError extends Error {
  /** Always `'ThrowLongjmpError'`. */
  override readonly name = 'ThrowLongjmpError';
  constructor() {
    super('emscripten longjmp');
  }
}

/** Adds the Emscripten functions a guest imports to any host module builder. */
export interface FunctionExporter {
  /** Exports into `builder` the `env` functions the guest imports that Emscripten defines. */
  exportFunctions(builder: HostModuleBuilder): void;
}

const I32 = 0x7f as ValueType;

/** The guest export `name` (or, for older emcc, `fallback`), or a clear error. */
function guestExport(mod: Module, name: string, fallback: string | undefined): ApiFunction {
  const f = mod.exportedFunction(name) ?? (fallback === undefined ? undefined : mod.exportedFunction(fallback));
  if (f === undefined) throw new Error(`${name} not exported`);
  return f;
}

/** An `invoke_*` host function of type `params` → `results` (params[0] is the table index). */
function invoke(params: readonly ValueType[], results: readonly ValueType[]) {
  const target = params.slice(1);
  return (ctx: Context, mod: Module, stack: BigUint64Array): void => {
    const index = Number(stack[0]! & 0xffffffffn);
    const f = lookupFunction(mod, 0, index, target, results);
    const sp = guestExport(mod, 'emscripten_stack_get_current', 'stackSave').callWithContext(ctx);
    const args = stack.subarray(1);
    // The callee's stack must hold max(param slots, result slots); stack[1..] holds the params.
    const callStack = args.length >= results.length ? args : new BigUint64Array(Math.max(args.length, results.length));
    if (callStack !== args) callStack.set(args);
    try {
      f.callWithStack(callStack, ctx);
    } catch (e) {
      if (e instanceof ExitError) throw e;
      guestExport(mod, '_emscripten_stack_restore', 'stackRestore').callWithContext(ctx, ...sp);
      // A host function's error reaches here as a HostFunctionError with the thrown error as cause.
      const thrown = e instanceof HostFunctionError ? e.cause : e;
      if (!(thrown instanceof ThrowLongjmpError)) throw e;
      guestExport(mod, 'setThrew', undefined).callWithContext(ctx, 1, 0);
      return;
    }
    for (let i = 0; i < results.length; i++) stack[i] = callStack[i]!;
  };
}

class Exporter implements FunctionExporter {
  constructor(readonly imports: ReadonlyArray<{ name: string; params: ValueType[]; results: ValueType[] }>) {}

  exportFunctions(builder: HostModuleBuilder): void {
    for (const imp of this.imports) {
      const fb = builder.newFunctionBuilder();
      if (imp.name === 'emscripten_notify_memory_growth') {
        fb.withModuleFunction(() => {}, [I32], [])
          .withParameterNames('memory_index')
          .export(imp.name);
      } else if (imp.name === '_emscripten_throw_longjmp') {
        fb.withModuleFunction(
          () => {
            throw new ThrowLongjmpError();
          },
          [],
          [],
        ).export(imp.name);
      } else if (imp.name.startsWith('invoke_')) {
        const names = ['index', ...imp.params.slice(1).map((_, i) => `a${i + 1}`)];
        fb.withModuleFunction(invoke(imp.params, imp.results), imp.params, imp.results)
          .withParameterNames(...names)
          .export(imp.name);
      }
    }
  }
}

/**
 * An exporter of the Emscripten functions `guest` imports from `env`: `emscripten_notify_memory_growth`,
 * `_emscripten_throw_longjmp` and every `invoke_*` with the signature the guest imports it with.
 */
export function newFunctionExporterForModule(guest: CompiledModule): FunctionExporter {
  const imports = guest
    .importedFunctions()
    .filter((d) => d.import()?.[0] === MODULE_NAME)
    .map((d) => ({ name: d.import()![1], params: d.paramTypes(), results: d.resultTypes() }))
    .filter((i) => i.name === 'emscripten_notify_memory_growth' || i.name === '_emscripten_throw_longjmp' || i.name.startsWith('invoke_'));
  for (const i of imports) {
    if (i.name.startsWith('invoke_') && i.params[0] !== I32) {
      throw new Error(`env.${i.name}: the first parameter of an invoke must be the i32 table index`);
    }
  }
  return new Exporter(imports);
}

/**
 * Instantiates `env` with the Emscripten functions `guest` imports (see the module header); its other
 * `env` imports are not provided.
 */
export function instantiateForModule(r: Runtime, guest: CompiledModule, ctx?: Context): Promise<Module> {
  const b = r.newHostModuleBuilder(MODULE_NAME);
  newFunctionExporterForModule(guest).exportFunctions(b);
  return b.instantiate(ctx);
}

/**
 * Instantiates `env` with `emscripten_notify_memory_growth` only (wazero's deprecated `Instantiate`):
 * enough for guests built without exceptions or longjmp.
 */
export function instantiate(r: Runtime, ctx?: Context): Promise<Module> {
  const b = r.newHostModuleBuilder(MODULE_NAME);
  new Exporter([{ name: 'emscripten_notify_memory_growth', params: [I32], results: [] }]).exportFunctions(b);
  return b.instantiate(ctx);
}
