/**
 * Mocked imports: host modules built from a compiled guest's import section, one per import module
 * named in the implementations. Signatures come from the binary; implementations see natural values
 * (i32 → number, i64 → bigint, f32/f64 → number) and return one the same way (`undefined` is zero),
 * so `vi.fn()` works as is. An import without an implementation traps with a message naming it.
 * Import modules not named resolve as usual (the runtime's registry, e.g. WASI); those missing there
 * too are mocked with trapping functions, so a guest instantiates even when a test touches only part
 * of its imports.
 */
import { Context } from '../runtime/api/context.js';
import type { FunctionDefinition, Memory, Module } from '../runtime/api/module.js';
import type { ValueType } from '../runtime/api/value-type.js';
import { CompiledModuleImpl, type CompiledModule } from '../runtime/store/compiled-module.js';
import { newModuleConfigImpl, type ModuleConfig } from '../runtime/store/config.js';
import { getImportResolver, withImportResolver } from '../runtime/store/context-keys.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { naturalParams, writeNaturalResults } from '../wazerotest/values.js';
import { formatSlots } from '../replay/format.js';
import { fixtureDefaults } from './fixture.js';
import { importCallsOf, trackModule, whileInstantiating, withImportTracking, type ImportCall } from './import-calls.js';

/** What an import implementation gets as `this`: the calling guest and its memory. */
export interface ImportCallContext {
  /** The calling guest module. */
  readonly module: Module;
  /** Its memory, if it has one. */
  readonly memory: Memory | undefined;
  /** `module.name` of the import being called. */
  readonly import: string;
}

/** An import implementation: natural values in, a natural value (or an array for several results) out. */
export type ImportImplementation = (this: ImportCallContext, ...args: never[]) => unknown;

/** Implementations by import module name, then import name: `{ env: { log: vi.fn() } }`. */
export type ImportImplementations = Readonly<Record<string, Readonly<Record<string, ImportImplementation | undefined>>>>;

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

let current: ImportCallContext | undefined;

/**
 * The import call in progress (for arrow-function implementations, which have no `this`).
 * @throws Error outside an import implementation.
 */
export function currentImportCall(): ImportCallContext {
  if (current === undefined) throw new Error('currentImportCall: no mocked import is running');
  return current;
}

function isFunctionDefinitions(c: CompiledModule): c is CompiledModuleImpl {
  return c instanceof CompiledModuleImpl;
}

class Mocked implements MockedImports {
  readonly moduleNames: readonly string[];
  readonly #compiled: CompiledModuleImpl;
  readonly #impls: ImportImplementations;
  readonly #imports: FunctionDefinition[];
  readonly #instances: Module[] = [];

  constructor(compiled: CompiledModuleImpl, impls: ImportImplementations) {
    this.#compiled = compiled;
    this.#impls = impls;
    this.#imports = compiled.importedFunctions();
    const known = new Set(this.#imports.map((d) => d.import()![0]));
    for (const [mod, fns] of Object.entries(impls)) {
      for (const name of Object.keys(fns)) {
        if (!this.#imports.some((d) => d.import()![0] === mod && d.import()![1] === name)) {
          const have = this.#imports.map((d) => d.import()!.join('.'));
          throw new Error(
            `mockImports: ${mod}.${name} is not a function import of the module (its function imports: ${have.join(', ') || 'none'})`,
          );
        }
      }
      if (!known.has(mod)) throw new Error(`mockImports: the module imports nothing from "${mod}"`);
    }
    this.moduleNames = Object.keys(impls);
    if (compiled.body.kind === 'wasm') {
      for (const imp of compiled.body.ir.imports) {
        if (imp.desc.kind !== 0 && impls[imp.module] !== undefined) {
          throw new Error(
            `mockImports: ${imp.module}.${imp.name} is a ${['func', 'table', 'memory', 'global'][imp.desc.kind]} import: only functions can be mocked`,
          );
        }
      }
    }
  }

  calls(): readonly ImportCall[] {
    return this.#instances.flatMap((m) => importCallsOf(m));
  }

  async #hostModule(runtime: Runtime, name: string, ctx: Context): Promise<Module> {
    const b = runtime.newHostModuleBuilder(name);
    const impls = this.#impls[name];
    for (const def of this.#imports) {
      const [mod, field] = def.import()!;
      if (mod !== name) continue;
      const params = def.paramTypes();
      const results = def.resultTypes();
      const label = `${mod}.${field}`;
      const impl = impls?.[field];
      b.newFunctionBuilder()
        .withModuleFunction(
          (_ctx, caller, stack) => {
            if (impl === undefined) {
              throw new Error(
                `unmocked import ${label} called with (${formatSlots(params, Array.from(stack))}): give mockImports an implementation for it`,
              );
            }
            const prev = current;
            current = { module: caller, memory: caller.memory(), import: label };
            try {
              const r = (impl as (this: ImportCallContext, ...a: unknown[]) => unknown).apply(current, naturalParams(params, stack));
              writeNaturalResults(results, r, stack, `mocked import ${label}`);
            } finally {
              current = prev;
            }
          },
          params as ValueType[],
          results as ValueType[],
        )
        .withName(field)
        .export(field);
    }
    const compiled = await b.compile(withImportTracking(ctx));
    return runtime.instantiateModule(compiled, newModuleConfigImpl().withName(''), ctx);
  }

  async link(runtime: Runtime, ctx: Context = fixtureDefaults(runtime)?.ctx ?? Context.background()): Promise<Context> {
    const mocks = new Map<string, Module>();
    for (const name of this.moduleNames) mocks.set(name, await this.#hostModule(runtime, name, ctx));
    // Import modules neither mocked nor in the registry trap on use instead of failing to link.
    for (const def of this.#imports) {
      const name = def.import()![0];
      if (!mocks.has(name) && runtime.module(name) === undefined && getImportResolver(ctx)?.(name) === undefined) {
        mocks.set(name, await this.#hostModule(runtime, name, ctx));
      }
    }
    const outer = getImportResolver(ctx);
    return withImportResolver(ctx, (name) => mocks.get(name) ?? outer?.(name));
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
