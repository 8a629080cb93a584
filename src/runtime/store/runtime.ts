/**
 * The Runtime: one engine plus one store of named modules. Engine-agnostic: decoding, validation,
 * import resolution, naming, start functions and close live here; engines only compile and run.
 */
import { createHash } from 'node:crypto';
import { Context } from '../api/context.js';
import { ExitError, LinkError } from '../api/errors.js';
import type { Module } from '../api/module.js';
import { decodeModule } from '../binary/decoder.js';
import type { Module as IrModule } from '../binary/module.js';
import { validateModule } from '../validate/validate.js';
import { newSysContext } from '../../sys/context.js';
import { CompiledModuleImpl, type CompiledModule } from './compiled-module.js';
import type { CompilationCache, ModuleConfig, RuntimeConfig, RuntimeConfigData } from './config.js';
import { ModuleConfigImpl, RuntimeConfigImpl, newModuleConfigImpl } from './config.js';
import { getCloseNotifier, getImportResolver } from './context-keys.js';
import { getFunctionListenerFactory, type FunctionListener, type FunctionListenerFactory } from '../api/listener.js';
import { BlockCoverage, getBlockCoverage } from './coverage.js';
import { moduleFunctionDefinitions } from './definition.js';
import type { CompiledCode, Engine, ExternValue } from './engine.js';
import { HostModuleBuilderImpl, hostFunctionSpecs, type HostFunctionEntry, type HostModuleBuilder } from './host-builder.js';
import { checkImport } from './link.js';
import { checkLimits, planInstantiation } from './instantiate.js';
import { ModuleInstance, type ExportEntry, type ModuleOwner } from './module-instance.js';
import { snapshotsEnabled } from './snapshots.js';

export interface Runtime {
  compileModule(binary: Uint8Array, ctx?: Context): Promise<CompiledModule>;
  /** Compiles and instantiates with the default module config (calls `_start` if exported). */
  instantiate(binary: Uint8Array, ctx?: Context): Promise<Module>;
  instantiateWithConfig(binary: Uint8Array, config: ModuleConfig, ctx?: Context): Promise<Module>;
  instantiateModule(compiled: CompiledModule, config: ModuleConfig, ctx?: Context): Promise<Module>;
  newHostModuleBuilder(moduleName: string): HostModuleBuilder;
  /** The instantiated module registered under `moduleName`. */
  module(moduleName: string): Module | undefined;
  close(ctx?: Context): Promise<void>;
  closeWithExitCode(exitCode: number, ctx?: Context): Promise<void>;
}

/** A factory per engine kind, registered by the engines' entry points (keeps store → engine imports one-way). */
export type EngineFactory = () => Engine;

/** In-memory compilation cache: compiled code keyed by engine, features and the binary's sha256. */
export class CompilationCacheImpl implements CompilationCache {
  readonly entries = new Map<string, CompiledCode>();
  close(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }
}

export class RuntimeImpl implements Runtime, ModuleOwner {
  readonly config: RuntimeConfigData;
  readonly engine: Engine;
  readonly #registry = new Map<string, ModuleInstance>();
  /** Every live module, in instantiation order (anonymous ones too). */
  readonly #modules: ModuleInstance[] = [];
  #closedWith: number | undefined;

  constructor(config: RuntimeConfig, engine: Engine) {
    if (!(config instanceof RuntimeConfigImpl)) throw new TypeError('use newRuntimeConfig…() to make a RuntimeConfig');
    this.config = config.data;
    this.engine = engine;
    const pages = this.config.memoryLimitPages;
    if (!Number.isInteger(pages) || pages < 0 || pages > 65536) {
      throw new RangeError(`memoryLimitPages invalid: ${pages} > 65536`);
    }
  }

  #failIfClosed(): void {
    if (this.#closedWith !== undefined) throw new Error(`runtime closed with exit_code(${this.#closedWith})`);
  }

  async compileModule(binary: Uint8Array, ctx?: Context): Promise<CompiledModule> {
    this.#failIfClosed();
    if (!(binary instanceof Uint8Array)) throw new TypeError('compileModule: binary must be a Uint8Array');
    // Copy: the decoded module keeps views into the bytes, and callers may reuse their buffer.
    const bytes = binary.slice();
    const features = this.config.features;
    const ir = decodeModule(bytes, features);
    let validated = false;
    // Validation includes the runtime's limits, so engines (and V8) never see a module over them.
    const validate = (): void => {
      if (validated) return;
      validateModule(ir, features);
      checkLimits(ir, this.config.memoryLimitPages);
      validated = true;
    };
    const factory = getFunctionListenerFactory(ctx);
    const coverageSink = getBlockCoverage(ctx);
    // The factory sees definitions of valid modules only; blocks are found in valid bodies only.
    if (factory !== undefined || coverageSink !== undefined) validate();
    const coverage = coverageSink === undefined ? undefined : new BlockCoverage(ir);
    const listeners = buildListeners(ir, factory);
    const snapshots = ctx !== undefined && snapshotsEnabled(ctx);
    const cache = this.config.cache;
    let code: CompiledCode | undefined;
    let key = '';
    if (cache instanceof CompilationCacheImpl) {
      // As wazero: the key covers the binary and which functions are listened.
      const listened = listeners === undefined ? '' : listeners.map((l) => (l === undefined ? '0' : '1')).join('');
      key = `${this.engine.kind}:${features}:${this.config.debugInfo}:${this.config.closeOnContextDone}:${snapshots}:${listened}:${createHash('sha256').update(bytes).digest('hex')}`;
      code = listeners === undefined && coverage === undefined ? cache.entries.get(key) : undefined;
    }
    if (code === undefined) {
      try {
        code = await this.engine.compile(ir, {
          features,
          debugInfo: this.config.debugInfo,
          listeners,
          closeOnContextDone: this.config.closeOnContextDone,
          coverage,
          snapshots,
          validate,
        });
      } catch (e) {
        // An invalid module is a CompileError, whatever the engine tripped on.
        validate();
        throw e;
      }
      validate();
      if (cache instanceof CompilationCacheImpl && coverage === undefined) cache.entries.set(key, code);
    }
    if (coverageSink !== undefined && coverage !== undefined) coverageSink.addModule(coverage);
    return new CompiledModuleImpl({ kind: 'wasm', ir: code.module, code }, this.config.customSections, this.config.memoryLimitPages);
  }

  async instantiate(binary: Uint8Array, ctx?: Context): Promise<Module> {
    return this.instantiateWithConfig(binary, newModuleConfigImpl(), ctx);
  }

  async instantiateWithConfig(binary: Uint8Array, config: ModuleConfig, ctx?: Context): Promise<Module> {
    const compiled = await this.compileModule(binary, ctx);
    try {
      const m = await this.instantiateModule(compiled, config, ctx);
      if (m instanceof ModuleInstance) m.onClose = () => void compiled.close();
      return m;
    } catch (e) {
      await compiled.close();
      throw e;
    }
  }

  async instantiateModule(compiled: CompiledModule, config: ModuleConfig, ctx?: Context): Promise<Module> {
    this.#failIfClosed();
    const c = ctx ?? Context.background();
    if (!(compiled instanceof CompiledModuleImpl)) throw new TypeError('instantiateModule: not a CompiledModule of wasmscope');
    if (compiled.closed) throw new Error('compiled module is closed');
    if (!(config instanceof ModuleConfigImpl)) throw new TypeError('instantiateModule: use newModuleConfig()');
    const body = compiled.body;
    const name = config.data.name ?? compiled.name();
    if (name !== '' && this.#registry.has(name)) throw new Error(`module[${name}] has already been instantiated`);

    if (body.kind === 'host') {
      const exportsByName = new Map<string, ExportEntry>();
      body.functions.forEach((f, i) => exportsByName.set(f.exportName, { kind: 0, index: i }));
      const m = new ModuleInstance(name, this, exportsByName, true);
      m.engine = this.engine.instantiateHost(
        body.functions.map((f) => f.spec),
        { api: m },
      );
      this.#register(m, c);
      return m;
    }

    const ir = body.ir;
    checkMemoryCapacity(ir, this.config);
    // wazero's order: the sys context (env/args validation, mounts) before imports and the store.
    const sys = newSysContext(config.data);
    let imports: ExternValue[];
    try {
      imports = this.#resolveImports(ir, c);
    } catch (e) {
      sys.close();
      throw e;
    }
    const exportsByName = new Map<string, ExportEntry>();
    for (const e of ir.exports) exportsByName.set(e.name, { kind: e.kind, index: e.index });
    const m = new ModuleInstance(name, this, exportsByName, false);
    m.sys = sys;
    try {
      const plan = planInstantiation(ir, imports, this.config);
      m.engine = this.engine.instantiate(
        body.code,
        imports,
        { api: m },
        {
          plan,
          features: this.config.features,
          memoryLimitPages: this.config.memoryLimitPages,
          memoryCapacityFromMax: this.config.memoryCapacityFromMax,
          ctx: c,
          closeOnContextDone: this.config.closeOnContextDone,
        },
      );
    } catch (e) {
      sys.close();
      throw e;
    }
    if (name !== '' && this.#registry.has(name)) {
      m.engine.close();
      sys.close();
      throw new Error(`module[${name}] has already been instantiated`);
    }
    this.#register(m, c);

    for (const fnName of config.data.startFunctions) {
      const fn = m.exportedFunction(fnName);
      if (fn === undefined) continue;
      try {
        fn.callWithContext(c);
      } catch (e) {
        if (e instanceof ExitError) {
          m.closeNow(e.exitCode, c);
          if (e.exitCode === 0) return m;
          throw e;
        }
        m.closeNow(0, c);
        const msg = e instanceof Error ? e.message : String(e);
        throw new Error(`module[${name}] function[${fnName}] failed: ${msg}`, { cause: e });
      }
    }
    return m;
  }

  #register(m: ModuleInstance, ctx: Context): void {
    m.closeNotifier = getCloseNotifier(ctx);
    if (m.name() !== '') this.#registry.set(m.name(), m);
    this.#modules.push(m);
  }

  #resolveImports(ir: IrModule, ctx: Context): ExternValue[] {
    const resolver = getImportResolver(ctx);
    const out: ExternValue[] = [];
    for (const imp of ir.imports) {
      const from = resolver?.(imp.module) ?? this.#registry.get(imp.module);
      if (from === undefined) throw new LinkError(`module[${imp.module}] not instantiated`);
      if (!(from instanceof ModuleInstance)) throw new LinkError(`module[${imp.module}] is not a wasmscope module`);
      const value = from.exportedExtern(imp.name);
      if (value === undefined) throw new LinkError(`"${imp.name}" is not exported in module "${imp.module}"`);
      checkImport(imp, value, ir.types);
      out.push(value);
    }
    return out;
  }

  newHostModuleBuilder(moduleName: string): HostModuleBuilder {
    return new HostModuleBuilderImpl(moduleName, {
      compileHost: (name: string, entries: readonly HostFunctionEntry[], ctx: Context | undefined) => {
        this.#failIfClosed();
        const functions = hostFunctionSpecs(name, entries, getFunctionListenerFactory(ctx));
        return Promise.resolve(new CompiledModuleImpl({ kind: 'host', moduleName: name, functions }, false, this.config.memoryLimitPages));
      },
      instantiateHost: (compiled: CompiledModule, name: string, ctx: Context | undefined) =>
        this.instantiateModule(compiled, newModuleConfigImpl().withName(name), ctx),
    });
  }

  module(moduleName: string): Module | undefined {
    if (moduleName === '') return undefined;
    return this.#registry.get(moduleName);
  }

  moduleClosed(m: ModuleInstance): void {
    if (this.#registry.get(m.name()) === m) this.#registry.delete(m.name());
    const i = this.#modules.indexOf(m);
    if (i >= 0) this.#modules.splice(i, 1);
  }

  close(ctx?: Context): Promise<void> {
    return this.closeWithExitCode(0, ctx);
  }

  async closeWithExitCode(exitCode: number, ctx?: Context): Promise<void> {
    if (this.#closedWith !== undefined) return;
    this.#closedWith = exitCode >>> 0;
    const c = ctx ?? Context.background();
    const errors: unknown[] = [];
    // Reverse instantiation order, so importers close before what they import.
    for (const m of this.#modules.slice().reverse()) {
      try {
        m.closeNow(exitCode, c);
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'errors closing modules');
  }
}

/**
 * Listeners for every locally defined function, from the compile context's factory (called once per
 * defined function, in index order). Imported slots get none: the defining module's listener fires.
 */
function buildListeners(ir: IrModule, factory: FunctionListenerFactory | undefined): Array<FunctionListener | undefined> | undefined {
  if (factory === undefined) return undefined;
  const defs = moduleFunctionDefinitions(ir);
  const out: Array<FunctionListener | undefined> = new Array<FunctionListener | undefined>(defs.length).fill(undefined);
  let any = false;
  for (let i = ir.numImportedFuncs; i < defs.length; i++) {
    const l = factory.newFunctionListener(defs[i]!);
    out[i] = l;
    if (l !== undefined) any = true;
  }
  return any ? out : undefined;
}

/**
 * `withMemoryCapacityFromMax(true)` reserves capacity up to each memory's maximum, so (as in wazero)
 * an encoded maximum above the runtime's page limit is an error instead of being clamped to it.
 */
function checkMemoryCapacity(ir: IrModule, config: RuntimeConfigData): void {
  if (!config.memoryCapacityFromMax) return;
  ir.memories.forEach((mem, i) => {
    const max = mem.limits.max;
    if (max !== undefined && max > config.memoryLimitPages) {
      throw new Error(`memory[${ir.numImportedMemories + i}] max ${max} pages over limit of ${config.memoryLimitPages} pages`);
    }
  });
}
