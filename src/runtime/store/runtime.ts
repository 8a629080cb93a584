/**
 * The Runtime: one engine plus one store of named modules. Engine-agnostic: decoding, validation,
 * import resolution, naming, start functions and close live here; engines only compile and run.
 */
import { Context } from '../api/context.js';
import { ExitError, HostFunctionError, LinkError, WasmRuntimeError } from '../api/errors.js';
import type { TrapOffsets } from './hooks.js';
import type { Module } from '../api/module.js';
import { decodeModule } from '../binary/decoder.js';
import type { Module as IrModule } from '../binary/module.js';
import { validateModule } from '../validate/validate.js';
import { newSysContext } from '../../sys/context.js';
import { CompiledModuleImpl, type CompiledModule } from './compiled-module.js';
import type { ModuleConfig, RuntimeConfig, RuntimeConfigData } from './config.js';
import { ModuleConfigImpl, RuntimeConfigImpl, newModuleConfigImpl } from './config.js';
import { getCloseNotifier, getImportResolver, getMemoryAllocator } from './context-keys.js';
import { getFunctionEventSink, type FunctionEventSink } from '../api/event-sink.js';
import { getFunctionListenerFactory, type FunctionListener, type FunctionListenerFactory } from '../api/listener.js';
import { BlockCoverage, getBlockCoverage } from './coverage.js';
import { cacheKey, CompilationCacheBase, type CacheKeyParts } from './cache.js';
import { moduleFunctionDefinitions } from './definition.js';
import type { CompiledCode, Engine, ExternValue } from './engine.js';
import {
  HostModuleBuilderImpl,
  hostFunctionSpecs,
  type HostFunctionEntry,
  type HostModuleBuilder,
  type HostTagEntry,
} from './host-builder.js';
import { checkImport, moduleNotInstantiated } from './link.js';
import { linkImportObject, type ImportImplementations } from './import-object.js';
import { sockListenersOf } from './sock.js';
import { dirtyPageTrackingEnabled, noteMemoryWriters } from './dirty-pages.js';
import { MemoryApi } from './memory-api.js';
import { checkLimits, freeMemories, planInstantiation, type InstantiationPlan } from './instantiate.js';
import { ModuleInstance, type ExportEntry, type ModuleOwner } from './module-instance.js';
import { snapshotsEnabled } from './snapshots.js';

/** A WebAssembly runtime (wazero's `wazero.Runtime`): one engine and a store of named modules; made by `newRuntime()`. Close it to release every module. */
export interface Runtime {
  /** Decodes, validates and compiles `binary` (listener factories of `ctx` are fixed now). @throws CompileError naming the section, function and byte offset of what is malformed or invalid. */
  compileModule(binary: Uint8Array, ctx?: Context): Promise<CompiledModule>;
  /** Compiles and instantiates with the default module config (calls `_start` if exported). */
  instantiate(binary: Uint8Array, ctx?: Context): Promise<Module>;
  /** Compiles and instantiates with `config` (name, args, stdio, mounts, clocks, start functions). */
  instantiateWithConfig(binary: Uint8Array, config: ModuleConfig, ctx?: Context): Promise<Module>;
  /** Instantiates a compiled module: links its imports (the `ImportResolver` of `ctx`, then the registry), registers it under its name, runs its start functions. @throws LinkError for a missing or mistyped import; WasmRuntimeError for a trap in a start function; ExitError when one exits non-zero. */
  instantiateModule(compiled: CompiledModule, config: ModuleConfig, ctx?: Context): Promise<Module>;
  /**
   * Compiles and instantiates `binary` with host functions given as JS functions by import module
   * and name (an import object, as `WebAssembly.instantiate` takes it): each import module named in
   * `imports` becomes a host module with the signatures read from the binary, on natural values
   * (i32 → signed number, i64 → bigint, f32/f64 → number, v128 → 16 bytes, externref → the JS value).
   * Implementations get `{ module, memory, import }` of the calling guest as `this`.
   *
   * Import modules not named in `imports` resolve as usual (e.g. WASI instantiated in the runtime).
   * Names the binary does not import are ignored. The host modules are anonymous: the runtime's
   * registry is untouched.
   * @param config - the module configuration (default: `newModuleConfig()`, which runs `_start`).
   * @throws LinkError naming every import of a named module without implementation, with its signature.
   * @example
   * ```ts
   * const mod = await r.instantiateWithImports(bytes, { env: { log(x: number) { console.log(x); } } });
   * ```
   */
  instantiateWithImports(binary: Uint8Array, imports: ImportImplementations, config?: ModuleConfig, ctx?: Context): Promise<Module>;
  /** Starts a host module named `moduleName`, whose functions are written in JS. */
  newHostModuleBuilder(moduleName: string): HostModuleBuilder;
  /** The instantiated module registered under `moduleName`. */
  module(moduleName: string): Module | undefined;
  /** Closes every module (exit code 0); the runtime can no longer be used. */
  close(ctx?: Context): Promise<void>;
  /** Closes every module with `exitCode`. */
  closeWithExitCode(exitCode: number, ctx?: Context): Promise<void>;
}

/** A factory per engine kind, registered by the engines' entry points (keeps store → engine imports one-way). */
export type EngineFactory = () => Engine;

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
    const factory = getFunctionListenerFactory(ctx);
    const coverageSink = getBlockCoverage(ctx);
    const eventSink = getFunctionEventSink(ctx);
    const dirtyPages = dirtyPageTrackingEnabled(ctx);
    const snapshots = ctx !== undefined && snapshotsEnabled(ctx);
    // The compilation cache (cache.ts) is a layer around what follows; modules compiled for line
    // coverage, dirty-page tracking or snapshots bypass it. Without listeners, a hit is found before
    // anything is decoded.
    const configured = this.config.cache;
    const cache =
      configured instanceof CompilationCacheBase &&
      !configured.closed &&
      coverageSink === undefined &&
      eventSink === undefined &&
      !dirtyPages &&
      !snapshots
        ? configured
        : undefined;
    let key: string | undefined;
    if (cache !== undefined && factory === undefined) {
      key = cacheKey(bytes, this.#keyParts(undefined));
      const hit = await this.#fromCache(cache, key, bytes, undefined);
      if (hit !== undefined) return this.#compiledModule(hit);
    }
    const ir = decodeModule(bytes, features);
    let validated = false;
    // Validation includes the runtime's limits, so engines (and V8) never see a module over them.
    const validate = (): void => {
      if (validated) return;
      validateModule(ir, features);
      checkLimits(ir, this.config.memoryLimitPages);
      validated = true;
    };
    // The factory sees definitions of valid modules only; blocks are found in valid bodies only.
    if (factory !== undefined || coverageSink !== undefined || eventSink !== undefined) validate();
    const coverage = coverageSink === undefined ? undefined : new BlockCoverage(ir);
    const listeners = buildListeners(ir, factory);
    if (cache !== undefined && factory !== undefined) {
      // As wazero: the key covers which functions are listened.
      key = cacheKey(bytes, this.#keyParts(listeners));
      const hit = await this.#fromCache(cache, key, ir, listeners);
      if (hit !== undefined) return this.#compiledModule(hit);
    }
    let code: CompiledCode;
    try {
      code = await this.engine.compile(ir, {
        features,
        debugInfo: this.config.debugInfo,
        listeners,
        eventSink: eventSink === undefined ? undefined : { sink: eventSink, recorded: recordedFunctions(ir, eventSink) },
        closeOnContextDone: this.config.closeOnContextDone,
        coverage,
        dirtyPages,
        snapshots,
        validate,
      });
    } catch (e) {
      // An invalid module is a CompileError, whatever the engine tripped on.
      validate();
      throw e;
    }
    validate();
    if (cache !== undefined && key !== undefined) {
      if (listeners === undefined) cache.rememberCode(key, this.engine, code);
      const artifact = this.engine.artifactOf(code);
      if (artifact !== undefined) await cache.store(key, artifact);
    }
    if (coverageSink !== undefined && coverage !== undefined) coverageSink.addModule(coverage);
    return this.#compiledModule(code, dirtyPages);
  }

  #compiledModule(code: CompiledCode, dirtyPages = false): CompiledModule {
    return new CompiledModuleImpl(
      { kind: 'wasm', ir: code.module, code, dirtyPages },
      this.config.customSections,
      this.config.memoryLimitPages,
    );
  }

  #keyParts(listeners: ReadonlyArray<FunctionListener | undefined> | undefined): CacheKeyParts {
    const c = this.config;
    return {
      engine: this.engine.kind,
      features: c.features,
      memoryLimitPages: c.memoryLimitPages,
      debugInfo: c.debugInfo,
      closeOnContextDone: c.closeOnContextDone,
      listeners,
    };
  }

  /**
   * The code a cache holds for `key`: this engine's own (nothing listened), or compiled from the
   * cached artifact (`source` is decoded then: a cached module is known valid). Undefined on a miss
   * or a corrupt entry (the compile that follows rewrites it).
   */
  async #fromCache(
    cache: CompilationCacheBase,
    key: string,
    source: Uint8Array | IrModule,
    listeners: ReadonlyArray<FunctionListener | undefined> | undefined,
  ): Promise<CompiledCode | undefined> {
    if (listeners === undefined) {
      const own = cache.codeFor(key, this.engine);
      if (own !== undefined) return own;
    }
    const artifact = await cache.artifact(key);
    if (artifact === undefined) return undefined;
    const features = this.config.features;
    const decode = (): IrModule => (source instanceof Uint8Array ? decodeModule(source, features) : source);
    let code: CompiledCode | undefined;
    try {
      code = await this.engine.codeFromArtifact(decode, artifact, {
        features,
        debugInfo: this.config.debugInfo,
        listeners,
        closeOnContextDone: this.config.closeOnContextDone,
      });
    } catch {
      // The bytes decoded when they were cached: only a bug gets here. Compile afresh.
      return undefined;
    }
    if (code !== undefined && listeners === undefined) cache.rememberCode(key, this.engine, code);
    return code;
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

  async instantiateWithImports(binary: Uint8Array, imports: ImportImplementations, config?: ModuleConfig, ctx?: Context): Promise<Module> {
    const c = ctx ?? Context.background();
    const compiled = await this.compileModule(binary, c);
    try {
      const linked = await linkImportObject(this, compiled, imports, c);
      const m = await this.instantiateModule(compiled, config ?? newModuleConfigImpl(), linked);
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
      body.tags?.forEach((t, i) => exportsByName.set(t.exportName, { kind: 4, index: i }));
      const m = new ModuleInstance(name, this, exportsByName, true);
      m.hostTags = body.tags?.map((t) => t.tag) ?? [];
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
    const fromCtx = sockListenersOf(c);
    const sys = newSysContext(
      fromCtx.length === 0 ? config.data : { ...config.data, tcpListeners: [...(config.data.tcpListeners ?? []), ...fromCtx] },
    );
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
    let plan: InstantiationPlan | undefined;
    try {
      plan = planInstantiation(ir, imports, { ...this.config, memoryAllocator: getMemoryAllocator(c) });
      const memories = plan.memories;
      if (memories.some((pm) => pm.free !== undefined)) m.onRelease = () => freeMemories(memories);
      noteMemoryWriters(memoriesOf(imports, plan), body.dirtyPages === true);
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
      if (plan !== undefined) freeMemories(plan.memories);
      throw e;
    }
    if (name !== '' && this.#registry.has(name)) {
      m.engine.close();
      sys.close();
      m.onRelease?.();
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
        throw startFunctionFailed(e, `module[${name}] function[${fnName}] failed: `);
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
      if (from === undefined) throw moduleNotInstantiated(imp.module, ir.imports, ir.types);
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
      compileHost: (name: string, entries: readonly HostFunctionEntry[], ctx: Context | undefined, tags?: readonly HostTagEntry[]) => {
        this.#failIfClosed();
        const functions = hostFunctionSpecs(name, entries, getFunctionListenerFactory(ctx));
        return Promise.resolve(
          new CompiledModuleImpl({ kind: 'host', moduleName: name, functions, tags: tags ?? [] }, false, this.config.memoryLimitPages),
        );
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
/** Per function index: whether `sink` records the function (defined functions it accepts). */
function recordedFunctions(ir: IrModule, sink: FunctionEventSink): boolean[] {
  const defs = moduleFunctionDefinitions(ir);
  const out = new Array<boolean>(defs.length).fill(false);
  for (let i = ir.numImportedFuncs; i < defs.length; i++) out[i] = sink.recordFunction?.(defs[i]!) ?? true;
  return out;
}

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

/** The memory index space of an instance: imported memories, then the planned defined ones. */
function memoriesOf(imports: readonly ExternValue[], plan: InstantiationPlan): MemoryApi[] {
  const out: MemoryApi[] = [];
  for (const ev of imports) if (ev.kind === 2 && ev.value.api instanceof MemoryApi) out.push(ev.value.api);
  for (const pm of plan.memories) out.push(pm.api);
  return out;
}

/**
 * The error of a start function that failed with `e`, as wazero words it (`prefix` + the error's
 * message) and of the same kind, so `rejects.toThrow(WasmRuntimeError)` holds for a trap in
 * `_start`: a trap stays a {@link WasmRuntimeError} (the original in `cause`), a host function's
 * error a {@link HostFunctionError} (with the same `cause`); anything else is an `Error` whose
 * `cause` is `e`.
 */
function startFunctionFailed(e: unknown, prefix: string): Error {
  if (e instanceof WasmRuntimeError) {
    const err = new WasmRuntimeError(e.trap, e.stackFrames, { prefix, cause: e });
    (err as WasmRuntimeError & TrapOffsets).wasmOffsets = (e as WasmRuntimeError & TrapOffsets).wasmOffsets;
    return err;
  }
  if (e instanceof HostFunctionError) return new HostFunctionError(e.cause, e.stackFrames, { prefix });
  return new Error(`${prefix}${e instanceof Error ? e.message : String(e)}`, { cause: e });
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
