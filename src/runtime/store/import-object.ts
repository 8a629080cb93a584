/**
 * Host modules built from a guest's import section: JS functions given by import module and name
 * (`{ env: { log(x) { … } } }`, an import object as the WebAssembly JS API takes it) become host
 * functions with the signatures the binary declares, taking and returning natural values
 * (natural.ts). `Runtime.instantiateWithImports` and the testing toolkit's `mockImports` are both
 * built on this: the host modules are anonymous (the registry is untouched) and reach the guest
 * through an import resolver.
 */
import { Context } from '../api/context.js';
import { LinkError } from '../api/errors.js';
import type { FunctionDefinition, Memory, Module } from '../api/module.js';
import type { ValueType } from '../api/value-type.js';
import type { FuncType, Import } from '../binary/module.js';
import { CompiledModuleImpl, type CompiledModule } from './compiled-module.js';
import { newModuleConfigImpl } from './config.js';
import { getImportResolver, withImportResolver } from './context-keys.js';
import type { RawHostFunction } from './engine.js';
import { describeImport } from './link.js';
import { naturalValues, writeNaturalResults, type V128Form } from './natural.js';
import type { HostModuleBuilder } from './host-builder.js';
import type { ModuleConfig } from './config.js';

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

/** Implementations by import module name, then import name: `{ env: { log(x) { … } } }`. */
export type ImportImplementations = Readonly<Record<string, Readonly<Record<string, ImportImplementation | undefined>>>>;

/** What building host modules needs of a runtime. */
export interface ImportObjectRuntime {
  newHostModuleBuilder(moduleName: string): HostModuleBuilder;
  instantiateModule(compiled: CompiledModule, config: ModuleConfig, ctx?: Context): Promise<Module>;
}

let current: ImportCallContext | undefined;

/**
 * The import call in progress (for arrow-function implementations, which have no `this`).
 * @throws Error outside an import implementation.
 */
export function currentImportCall(): ImportCallContext {
  if (current === undefined) throw new Error('currentImportCall: no import implementation is running');
  return current;
}

/** How {@link importObjectModule} turns implementations into host functions. */
export interface ImportObjectOptions {
  /** How a v128 looks to the implementations: `[lo, hi]` bigints or 16 bytes. */
  readonly v128: V128Form;
  /** Whether an `undefined` result is zero of its type (mocks: a bare `vi.fn()`) rather than an error. */
  readonly undefinedIsZero: boolean;
  /**
   * The host function of an import without implementation (`label` is `module.name`, `params` its
   * param types), or undefined to refuse the module with a LinkError naming the import.
   */
  readonly missing: ((label: string, params: readonly number[]) => RawHostFunction) | undefined;
  /** Who builds the modules, for error messages (`instantiateWithImports`). */
  readonly who: string;
}

/** The import section of a compiled module: its function imports' definitions, every import, the types. */
export interface ImportSection {
  readonly functions: readonly FunctionDefinition[];
  readonly all: readonly Import[];
  readonly types: readonly FuncType[];
}

/** The import section of `compiled` (empty for a host module). */
export function importSectionOf(compiled: CompiledModuleImpl): ImportSection {
  const ir = compiled.body.kind === 'wasm' ? compiled.body.ir : undefined;
  return { functions: compiled.importedFunctions(), all: ir?.imports ?? [], types: ir?.types ?? [] };
}

/**
 * Checks that each implementation names a function import of the module (a name the module does
 * not import is a typo the caller wants to hear about).
 * @throws Error naming the implementation and listing the module's function imports.
 */
export function checkImplementations(who: string, section: ImportSection, impls: ImportImplementations): void {
  const { functions, all } = section;
  const known = new Set(functions.map((d) => d.import()![0]));
  for (const [mod, fns] of Object.entries(impls)) {
    for (const imp of all) {
      if (imp.desc.kind !== 0 && imp.module === mod) {
        throw new Error(
          `${who}: ${imp.module}.${imp.name} is a ${['func', 'table', 'memory', 'global'][imp.desc.kind]} import: only functions can be given`,
        );
      }
    }
    for (const name of Object.keys(fns)) {
      if (!functions.some((d) => d.import()![0] === mod && d.import()![1] === name)) {
        const have = functions.map((d) => d.import()!.join('.'));
        throw new Error(
          `${who}: ${mod}.${name} is not a function import of the module (its function imports: ${have.join(', ') || 'none'})`,
        );
      }
    }
    if (!known.has(mod)) throw new Error(`${who}: the module imports nothing from "${mod}"`);
  }
}

/**
 * Builds the anonymous host module `name` with one host function per function import of that
 * module in `functions` (each with the import's signature), compiled with `compileCtx` (listener
 * factories ride on it) and instantiated with `ctx`.
 * @throws LinkError when an import has no implementation and `options.missing` is undefined.
 */
export async function importObjectModule(
  runtime: ImportObjectRuntime,
  section: ImportSection,
  name: string,
  impls: Readonly<Record<string, ImportImplementation | undefined>> | undefined,
  options: ImportObjectOptions,
  compileCtx: Context,
  ctx: Context,
): Promise<Module> {
  const { functions, all, types } = section;
  const b = runtime.newHostModuleBuilder(name);
  const missing: string[] = [];
  for (const def of functions) {
    const [mod, field] = def.import()!;
    if (mod !== name) continue;
    const params = def.paramTypes();
    const results = def.resultTypes();
    const label = `${mod}.${field}`;
    const impl = impls?.[field];
    let fn: RawHostFunction;
    if (typeof impl === 'function') {
      fn = (_ctx, caller, stack) => {
        const prev = current;
        current = { module: caller, memory: caller.memory(), import: label };
        try {
          const r = (impl as (this: ImportCallContext, ...a: unknown[]) => unknown).apply(
            current,
            naturalValues(params, stack, options.v128),
          );
          writeNaturalResults(results, r, stack, label, options.undefinedIsZero);
        } finally {
          current = prev;
        }
      };
    } else if (impl !== undefined) {
      throw new TypeError(`${options.who}: ${label} must be a function, got ${typeof impl}`);
    } else if (options.missing !== undefined) {
      fn = options.missing(label, params);
    } else {
      const imp = all.find((i) => i.module === mod && i.name === field);
      missing.push(imp === undefined ? label : describeImport(imp, types));
      continue;
    }
    b.newFunctionBuilder()
      .withModuleFunction(fn, params as ValueType[], results as ValueType[])
      .withName(field)
      .export(field);
  }
  if (missing.length > 0) {
    throw new LinkError(
      `${options.who}: no implementation for ${missing.length === 1 ? 'the import' : 'the imports'}${missing.map((m) => `\n\t${m}`).join('')}`,
    );
  }
  const compiled = await b.compile(compileCtx);
  return runtime.instantiateModule(compiled, newModuleConfigImpl().withName(''), ctx);
}

/**
 * A context whose import resolver gives `modules` (then asks the resolver already on `ctx`).
 */
export function withImportModules(ctx: Context, modules: ReadonlyMap<string, Module>): Context {
  const outer = getImportResolver(ctx);
  return withImportResolver(ctx, (name) => modules.get(name) ?? outer?.(name));
}

/**
 * Links `compiled` to implementations `impls` for `Runtime.instantiateWithImports`: one host module
 * per import module named in `impls` (v128 as 16 bytes, every import of a named module needing an
 * implementation); import modules not named resolve as usual (the registry, e.g. WASI). Names in
 * `impls` the module does not import are ignored, as the WebAssembly JS API ignores them.
 * @returns the context to instantiate the guest with.
 */
export async function linkImportObject(
  runtime: ImportObjectRuntime,
  compiled: CompiledModule,
  impls: ImportImplementations,
  ctx: Context,
): Promise<Context> {
  if (!(compiled instanceof CompiledModuleImpl)) throw new TypeError('instantiateWithImports: not a CompiledModule of wasmscope');
  if (typeof impls !== 'object' || impls === null)
    throw new TypeError('instantiateWithImports: imports must be an object of import modules');
  const section = importSectionOf(compiled);
  const { all, types } = section;
  const used = new Set(all.map((i) => i.module));
  const modules = new Map<string, Module>();
  const options: ImportObjectOptions = { v128: 'bytes', undefinedIsZero: false, missing: undefined, who: 'instantiateWithImports' };
  for (const [name, fns] of Object.entries(impls)) {
    if (!used.has(name)) continue;
    for (const imp of all) {
      if (imp.module === name && imp.desc.kind !== 0) {
        throw new LinkError(`instantiateWithImports: ${describeImport(imp, types)} is not a function: only functions can be given`);
      }
    }
    modules.set(name, await importObjectModule(runtime, section, name, fns, options, ctx, ctx));
  }
  return withImportModules(ctx, modules);
}
