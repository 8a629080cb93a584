/**
 * Mocked imports: host modules built from a compiled guest's import section, one per import module
 * named in the implementations (the runtime's import-object builder, `store/import-object.ts`, as
 * `Runtime.instantiateWithImports`). Signatures come from the binary; implementations see natural values
 * (i32 → number, i64 → bigint, f32/f64 → number) and return one the same way (`undefined` is zero),
 * so `vi.fn()` works as is. An import without an implementation traps with a message naming it.
 * Import modules not named resolve as usual (the runtime's registry, e.g. WASI); those missing there
 * too are mocked with trapping functions, so a guest instantiates even when a test touches only part
 * of its imports.
 */
import { Context } from '../runtime/api/context.js';
import type { Module } from '../runtime/api/module.js';
import { CompiledModuleImpl, type CompiledModule } from '../runtime/store/compiled-module.js';
import { newModuleConfigImpl, type ModuleConfig } from '../runtime/store/config.js';
import { getImportResolver } from '../runtime/store/context-keys.js';
import {
  checkImplementations,
  importObjectModule,
  importSectionOf,
  withImportModules,
  type ImportImplementations,
  type ImportObjectOptions,
  type ImportSection,
} from '../runtime/store/import-object.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { formatSlots } from '../replay/format.js';
import { fixtureDefaults } from './fixture.js';
import { importCallsOf, trackModule, whileInstantiating, withImportTracking, type ImportCall } from './import-calls.js';

/** A compiled guest's imports, mocked. */
export interface MockedImports {
  /** The import modules given implementations (every function of these is mocked). */
  readonly moduleNames: readonly string[];
  /**
   * Builds the mock host modules in `runtime` (anonymous: the registry is untouched) and returns a
   * context whose import resolver gives them to `instantiateModule`.
   */
  link(runtime: Runtime, ctx?: Context): Promise<Context>;
  /** {@link link}, then instantiates the guest with `config`. */
  instantiate(runtime: Runtime, config?: ModuleConfig, ctx?: Context): Promise<Module>;
  /** Every call of a mocked import by any instance linked to these mocks, oldest first. */
  calls(): readonly ImportCall[];
}

function isFunctionDefinitions(c: CompiledModule): c is CompiledModuleImpl {
  return c instanceof CompiledModuleImpl;
}

/** Mocks: v128 as `[lo, hi]`, `undefined` is zero (a bare `vi.fn()`), a missing implementation traps naming the import. */
const MOCK_OPTIONS: ImportObjectOptions = {
  v128: 'pair',
  undefinedIsZero: true,
  missing: (label, params) => (_ctx, _caller, stack) => {
    throw new Error(
      `unmocked import ${label} called with (${formatSlots(params, Array.from(stack))}): give mockImports an implementation for it`,
    );
  },
  who: 'mockImports',
};

class Mocked implements MockedImports {
  readonly moduleNames: readonly string[];
  readonly #compiled: CompiledModuleImpl;
  readonly #impls: ImportImplementations;
  readonly #section: ImportSection;
  readonly #instances: Module[] = [];

  constructor(compiled: CompiledModuleImpl, impls: ImportImplementations) {
    this.#compiled = compiled;
    this.#impls = impls;
    this.#section = importSectionOf(compiled);
    checkImplementations('mockImports', this.#section, impls);
    this.moduleNames = Object.keys(impls);
  }

  calls(): readonly ImportCall[] {
    return this.#instances.flatMap((m) => importCallsOf(m));
  }

  #hostModule(runtime: Runtime, name: string, ctx: Context): Promise<Module> {
    return importObjectModule(runtime, this.#section, name, this.#impls[name], MOCK_OPTIONS, withImportTracking(ctx), ctx);
  }

  async link(runtime: Runtime, ctx: Context = fixtureDefaults(runtime)?.ctx ?? Context.background()): Promise<Context> {
    const mocks = new Map<string, Module>();
    for (const name of this.moduleNames) mocks.set(name, await this.#hostModule(runtime, name, ctx));
    // Import modules neither mocked nor in the registry trap on use instead of failing to link.
    for (const def of this.#section.functions) {
      const name = def.import()![0];
      if (!mocks.has(name) && runtime.module(name) === undefined && getImportResolver(ctx)?.(name) === undefined) {
        mocks.set(name, await this.#hostModule(runtime, name, ctx));
      }
    }
    return withImportModules(ctx, mocks);
  }

  async instantiate(
    runtime: Runtime,
    config: ModuleConfig = fixtureDefaults(runtime)?.config ?? newModuleConfigImpl(),
    ctx: Context = fixtureDefaults(runtime)?.ctx ?? Context.background(),
  ): Promise<Module> {
    const linked = await this.link(runtime, ctx);
    const ir = this.#compiled.body.kind === 'wasm' ? this.#compiled.body.ir : undefined;
    const m = await whileInstantiating(ir, () => runtime.instantiateModule(this.#compiled, config, linked));
    return this.adopt(m);
  }

  /** Tracks a guest instantiated with this mock's context. */
  adopt(m: Module): Module {
    if (this.#compiled.body.kind === 'wasm') trackModule(m, this.#compiled.body.ir);
    this.#instances.push(m);
    return m;
  }
}

/**
 * Mocks the imports of `compiled`: every function import of each module named in `impls` gets a
 * host function with the import's signature that calls the implementation (or traps naming the
 * import when it has none). Calls are recorded for `toHaveCalledImport`.
 * @example
 * ```ts
 * const log = vi.fn();
 * const mod = await mockImports(compiled, { env: { log } }).instantiate(runtime);
 * mod.exportedFunction('run')!.call();
 * expect(log).toHaveBeenCalledWith(42);
 * ```
 * @throws Error when `impls` names an import the module does not have, or a non-function import.
 */
export function mockImports(compiled: CompiledModule, impls: ImportImplementations): MockedImports {
  if (!isFunctionDefinitions(compiled)) throw new TypeError('mockImports: not a CompiledModule of wasmscope');
  return new Mocked(compiled, impls);
}
