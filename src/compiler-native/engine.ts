/**
 * The compiler engine: binary rewriting onto V8.
 *
 * `compile` rewrites the module (rewrite.ts: renamed imports, hidden exports, a frame-URL id, hooks
 * where listeners, interrupts or precise traps need them; other bodies untouched) and hands it to
 * `WebAssembly.compile`, so guest code runs as V8's own Liftoff/TurboFan code. Tables, memories and
 * globals are real `WebAssembly.Table/Memory/Global` objects shared across modules (externs.ts); an
 * imported guest function is the exporting instance's own function, so guest-to-guest calls stay
 * wasm-to-wasm. Calls across the JS boundary (instances.ts) go through the helpers of boundary.ts,
 * which keep raw bits. Traps become `WasmRuntimeError` with wazero's texts (traps.ts). Everything
 * that changes while calls run lives in the engine's own state (state.ts).
 */
import { EXNREF, F32, F64, FUNCREF, I32, I64, V128, isRefType as isRef } from '../runtime/api/value-type.js';
import type { Limits, Module as IrModule } from '../runtime/binary/module.js';
import type {
  CompileOptions,
  CompiledCode,
  Engine,
  EngineInstance,
  ExternValue,
  HostFunctionSpec,
  InstanceOwner,
  InstantiateOptions,
  InstantiationPlan,
} from '../runtime/store/engine.js';
import { MAX_TABLE_ELEMENTS, planInstantiation } from '../runtime/store/instantiate.js';
import { rewriteArtifact, rewriteFromArtifact } from './artifact.js';
import { CompiledModuleImpl } from './compiled.js';
import { addCoverageCounters, type CoverageRewrite } from './coverage.js';
import { CGlobal, CMemory, CTable, GuestFunction, HostFunction } from './externs.js';
import { GuestInstance, HostInstance, hostAdapter } from './instances.js';
import { hookTable, listenModes } from './listening.js';
import { asyncifyModule, type Asyncified } from './rewind.js';
import { HIDDEN_LAST_INDEX, hiddenFunc, hiddenGlobal, hiddenTable, rewriteModule, type Rewritten } from './rewrite.js';
import { markFunction } from './dirty.js';
import { CompilerModuleState } from './module-state.js';
import { DirtyPages } from '../runtime/store/dirty-pages.js';
import type { Memory } from '../runtime/api/module.js';
import { MemoryApi } from '../runtime/store/memory-api.js';
import { EngineState } from './state.js';
import { STACK_TRACE_LIMIT, toWasmError } from './traps.js';
import { unsupportedByCode, unsupportedByModule, unsupportedFeature, v8Features } from './support.js';
import { CoreFeaturesExceptionHandling } from '../runtime/api/features.js';

/** Options of {@link newCompilerEngine}. */
export interface CompilerEngineOptions {
  /**
   * Tell apart the traps V8 words alike (NaN vs. overflow in float→int conversions, null entry vs.
   * type mismatch in `call_indirect`) by instrumenting the bodies that contain them, so trap texts
   * are wazero's exactly (spec conformance). Costs a walk of the bodies holding such opcodes at
   * compile time and a check per such instruction. On by default; `false` leaves bodies untouched
   * and words those traps as the likelier case (overflow; null entry when the table has nulls).
   */
  readonly preciseTraps?: boolean;
  /**
   * Dirty-page tracking writes marks inline into a second memory (default: when V8 takes
   * multi-memory, V8 12+); `false` marks through a call on every window miss (V8 11).
   */
  readonly inlineDirtyMarks?: boolean;
  /**
   * Event-sink records are written inline into the ring's memory, imported as one more memory
   * (default: when V8 takes multi-memory, V8 12+); `false` calls a recorder function per record.
   */
  readonly inlineSink?: boolean;
}

class CompilerEngine implements Engine {
  readonly kind = 'compiler' as const;
  readonly #state = new EngineState();

  constructor(readonly options: CompilerEngineOptions) {}

  async compile(module: IrModule, options: CompileOptions): Promise<CompiledCode> {
    const state = this.#state;
    const listeners = options.listeners;
    const v8 = v8Features();
    const missing = unsupportedByModule(module, v8);
    if (missing !== undefined) {
      // An invalid module is a CompileError first.
      options.validate?.();
      throw unsupportedFeature(missing);
    }
    const id = state.newModuleId();
    let rw: Rewritten;
    let counted: CoverageRewrite | undefined;
    let asy: Asyncified | undefined;
    try {
      // Line coverage: counters first; then the rewind pass (snapshots); then the rewrite.
      counted = options.coverage === undefined ? undefined : addCoverageCounters(module, options.coverage, options.features);
      if (options.snapshots === true) {
        // The rewind pass walks bodies with the validator: validate first.
        options.validate?.();
        asy = asyncifyModule(counted?.module ?? module, id, options.features);
      }
      rw = rewriteModule(asy?.module ?? counted?.module ?? module, `${state.namePrefix}${id}`, {
        preciseTraps: this.options.preciseTraps !== false,
        listened: listenModes(listeners),
        recorded: options.eventSink?.recorded,
        interrupts: options.closeOnContextDone === true,
        dirtyPages: options.dirtyPages === true,
        inlineDirtyMarks: this.options.inlineDirtyMarks,
        inlineSink: this.options.inlineSink,
        exceptions:
          (options.features & CoreFeaturesExceptionHandling) === 0
            ? undefined
            : v8.exnref
              ? 'exnref'
              : v8.legacyExceptions
                ? 'legacy'
                : undefined,
      });
    } catch (e) {
      // The rewrite walks bodies assuming they are valid: an invalid module is a CompileError.
      options.validate?.();
      throw e;
    }
    // V8 compiles on background threads while our validator runs here (compile latency).
    const compiling = WebAssembly.compile(rw.bytes);
    compiling.catch(() => {});
    options.validate?.();
    let wasm: WebAssembly.Module;
    try {
      wasm = await compiling;
    } catch (e) {
      const needs = unsupportedByCode(module, v8);
      if (needs !== undefined) throw unsupportedFeature(needs);
      throw new Error(`internal error: V8 rejected the rewritten module: ${(e as Error).message}`, { cause: e });
    }
    const code = new CompiledModuleImpl(module, wasm, rw, options.debugInfo, asy);
    code.listeners = listeners;
    code.eventSink = options.eventSink?.sink;
    code.coverage = counted;
    state.register(id, code);
    return code;
  }

  artifactOf(code: CompiledCode): Uint8Array | undefined {
    if (!(code instanceof CompiledModuleImpl) || code.coverage !== undefined) return undefined;
    return rewriteArtifact(code.rw);
  }

  async codeFromArtifact(decode: () => IrModule, artifact: Uint8Array, options: CompileOptions): Promise<CompiledCode | undefined> {
    if (options.coverage !== undefined) return undefined;
    const state = this.#state;
    const id = state.newModuleId();
    const rw = rewriteFromArtifact(artifact, `${state.namePrefix}${id}`);
    if (rw === undefined) return undefined;
    // V8 compiles on background threads while the module is decoded here.
    const compiling = WebAssembly.compile(rw.bytes);
    compiling.catch(() => {});
    const module = decode();
    let wasm: WebAssembly.Module;
    try {
      wasm = await compiling;
    } catch {
      return undefined;
    }
    const code = new CompiledModuleImpl(module, wasm, rw, options.debugInfo);
    code.listeners = options.listeners;
    state.register(id, code);
    return code;
  }

  instantiate(code: CompiledCode, imports: readonly ExternValue[], owner: InstanceOwner, options: InstantiateOptions): EngineInstance {
    if (!(code instanceof CompiledModuleImpl)) throw new Error('internal error: code from another engine');
    const state = this.#state;
    const m = code.module;
    const asy = code.asy;
    const importArr: unknown[] = [];
    const functions: GuestFunction[] = [];
    const tables: CTable[] = [];
    const memories: CMemory[] = [];
    const globals: CGlobal[] = [];
    for (let k = 0; k < m.imports.length; k++) {
      const imp = m.imports[k]!;
      const ev = imports[k];
      if (ev === undefined || ev.kind !== imp.desc.kind) throw new Error(`internal error: import ${k} missing or of the wrong kind`);
      switch (ev.kind) {
        case 0: {
          const src = ev.value;
          const def = code.defs[functions.length]!;
          let wasm: unknown;
          if (src instanceof GuestFunction) {
            if (src.wasm === undefined) throw new Error('not supported: importing a non-exported function');
            wasm = src.wasm;
          } else if (src instanceof HostFunction) {
            wasm = hostAdapter(state, src, owner.api, asy !== undefined);
          } else {
            throw new Error('internal error: function from another engine');
          }
          importArr.push(wasm);
          const type = imp.desc.kind === 0 ? m.types[imp.desc.typeIndex]! : src.type;
          functions.push(new GuestFunction(type, def, wasm, src instanceof HostFunction ? src : undefined));
          break;
        }
        case 1:
          if (!(ev.value instanceof CTable)) throw new Error('internal error: table from another engine');
          importArr.push(ev.value.wasm);
          tables.push(ev.value);
          break;
        case 2:
          if (!(ev.value instanceof CMemory)) throw new Error('internal error: memory from another engine');
          importArr.push(ev.value.wasm);
          memories.push(ev.value);
          break;
        case 3:
          if (!(ev.value instanceof CGlobal)) throw new Error('internal error: global from another engine');
          importArr.push(ev.value.wasm);
          globals.push(ev.value);
          break;
        case 4:
          importArr.push(ev.value.wasmTag());
          break;
      }
    }
    const importObject: Record<string, Record<string, unknown>> = { i: importArr as unknown as Record<string, unknown> };
    // The store checked limits and segment bounds and made the memories and tags; V8 applies the rest.
    const plan = options.plan ?? planInstantiation(m, imports, options);
    if (code.rw.memoryImported) {
      const mems: Record<string, unknown> = {};
      plan.memories.forEach((pm, i) => {
        if (!(pm.api.wasm instanceof WebAssembly.Memory)) {
          throw new Error(
            'not supported: withMemoryAllocator on the compiler engine (V8 allocates the memory of compiled wasm itself); ' +
              'use the interpreter (newRuntimeConfigInterpreter())',
          );
        }
        memories.push(new CMemory(pm.api.wasm, pm.max, pm.shared, pm.api, pm.is64));
        mems[String(m.numImportedMemories + i)] = pm.api.wasm;
      });
      importObject['m'] = mems;
    }
    state.exceptions.addTags(plan.tags);
    if (m.tags.length > 0) {
      const tags: Record<string, unknown> = {};
      for (let i = m.numImportedTags; i < plan.tags.length; i++) tags[String(i)] = plan.tags[i]!.wasmTag();
      importObject['e'] = tags;
    }
    let definedTables: CTable[] | undefined;
    let helperTable: WebAssembly.Table | undefined;
    if (code.rw.tablesImported) {
      definedTables = [];
      const hooks = hookTable(state, code, owner.api);
      const dirtySlot = code.rw.hooks.findIndex((h) => h.kind === 'dirty');
      if (dirtySlot >= 0) hooks.set(dirtySlot, markFunction(dirtyPagesOf(memories[0]!.api)));
      const t: Record<string, unknown> = { hooks };
      if (asy !== undefined) {
        // The rewind pass's helper table: helpers now, trampolines from its element segments.
        helperTable = new WebAssembly.Table({ element: 'anyfunc', initial: asy.helperTableSize, maximum: asy.helperTableSize });
        state.rewind.fill(helperTable);
        t[String(asy.helperTable)] = helperTable;
      }
      for (let i = m.numImportedTables; i < m.tableSpace.length; i++) {
        const tt = m.tableSpace[i]!;
        const table = newTable(tt.elemType, tt.limits);
        definedTables.push(new CTable(table, tt.elemType, tt.limits.max, tt.limits.is64 === true));
        t[String(i)] = table;
      }
      importObject['t'] = t;
    }
    if (code.rw.inlineDirtyMarks) importObject['d'] = { bits: dirtyPagesOf(memories[0]!.api).memory };
    if (code.rw.inlineSink) importObject['r'] = { ring: state.eventRing.memory };
    let instance: WebAssembly.Instance;
    const prevCtx = state.ctx;
    const prevMod = state.callModule;
    const prevSnap = state.snap;
    state.ctx = options.ctx;
    state.callModule = owner.api;
    // The start function takes no snapshots (nor may it start the unwind of an outer call's).
    state.snap = undefined;
    const depth = state.listeners.sp;
    const ringBase = state.ring === undefined ? 0 : state.ring.depth();
    const prevLimit = Error.stackTraceLimit;
    if (state.callDepth === 0 && prevLimit < STACK_TRACE_LIMIT) Error.stackTraceLimit = STACK_TRACE_LIMIT;
    state.callDepth++;
    try {
      instance = new WebAssembly.Instance(code.wasm, importObject as WebAssembly.Imports);
    } catch (e) {
      if (e instanceof WebAssembly.LinkError) {
        throw new Error(`internal error: V8 rejected the imports the store checked: ${e.message}`, { cause: e });
      }
      const err = toWasmError(state.exceptions.fromGuest(e), state);
      state.ring?.abortAbove(ringBase);
      state.listeners.abortAbove(depth, options.ctx, err);
      throw err;
    } finally {
      state.ctx = prevCtx;
      state.callModule = prevMod;
      state.snap = prevSnap;
      state.callDepth--;
      Error.stackTraceLimit = prevLimit;
    }
    state.ring?.flush();
    const ex = instance.exports;
    // Defined functions: the callable object is the export, when exported.
    const exported = new Map<number, unknown>();
    for (const e of m.exports) if (e.kind === 0 && !exported.has(e.index)) exported.set(e.index, ex[e.name]);
    for (const fi of code.rw.hiddenFuncs) exported.set(fi, ex[hiddenFunc(fi)]);
    for (let i = m.numImportedFuncs; i < m.funcTypeIndexSpace.length; i++) {
      functions.push(new GuestFunction(m.types[m.funcTypeIndexSpace[i]!]!, code.defs[i]!, exported.get(i)));
    }
    if (definedTables !== undefined) {
      tables.push(...definedTables);
    } else {
      for (let i = m.numImportedTables; i < m.tableSpace.length; i++) {
        const t = m.tableSpace[i]!;
        tables.push(new CTable(ex[hiddenTable(i)] as WebAssembly.Table, t.elemType, t.limits.max, t.limits.is64 === true));
      }
    }
    for (let i = m.numImportedGlobals; i < m.globalSpace.length; i++) {
      globals.push(new CGlobal(ex[hiddenGlobal(i)] as WebAssembly.Global, m.globalSpace[i]!, state));
    }
    let rewindState: WebAssembly.Global | undefined;
    if (asy !== undefined) {
      if (helperTable === undefined) state.rewind.fill(ex[hiddenTable(asy.helperTable)] as WebAssembly.Table);
      rewindState = ex[hiddenGlobal(asy.stateGlobal)] as WebAssembly.Global;
      state.rewind.register(rewindState);
    }
    noteFunctionObjects(state, functions, tables, plan);
    const inst = new GuestInstance(
      state,
      functions,
      tables,
      memories,
      globals,
      owner.api,
      ex[HIDDEN_LAST_INDEX] as WebAssembly.Global | undefined,
      rewindState,
      plan.tags,
    );
    if (code.coverage !== undefined) inst.onClose = code.coverage.attach(ex);
    inst.moduleState = new CompilerModuleState(m, state, functions, tables, globals, ex);
    code.lastInstance = new WeakRef(inst);
    return inst;
  }

  instantiateHost(functions: readonly HostFunctionSpec[], owner: InstanceOwner): EngineInstance {
    for (const f of functions) {
      for (const t of [...f.type.params, ...f.type.results]) {
        if (!isRef(t) && t !== I32 && t !== I64 && t !== F32 && t !== F64 && t !== V128) {
          throw new Error(`not supported: value type 0x${t.toString(16)}`);
        }
      }
    }
    return new HostInstance(
      this.#state,
      functions.map((f) => new HostFunction(f.type, f.definition, f, owner)),
      owner,
    );
  }
}

/** The marks of a memory the instance writes with dirty-page tracking (made here when the store did not). */
function dirtyPagesOf(api: Memory): DirtyPages {
  if (!(api instanceof MemoryApi)) throw new Error('internal error: memory of another runtime');
  return (api.dirty ??= new DirtyPages());
}

/**
 * A table of `elemType` with `limits`, its entries null (an externref table's default would be
 * `undefined`); a 64-bit table takes its sizes as bigints.
 */
function newTable(elemType: number, limits: Limits): WebAssembly.Table {
  const element = elemType === FUNCREF ? 'anyfunc' : elemType === EXNREF ? 'exnref' : 'externref';
  // No table grows past MAX_TABLE_ELEMENTS: a larger declared maximum (up to 2^64 - 1 for a 64-bit
  // table) is that, which V8 can make and which still matches the declared type.
  const max = limits.max === undefined ? undefined : Math.max(limits.min, Math.min(limits.max, MAX_TABLE_ELEMENTS));
  if (limits.is64 === true) {
    const desc: Record<string, unknown> = { element, initial: BigInt(limits.min), address: 'i64' };
    if (max !== undefined) desc['maximum'] = BigInt(max);
    return new WebAssembly.Table(desc as unknown as WebAssembly.TableDescriptor, null);
  }
  const desc: WebAssembly.TableDescriptor = { element: element as WebAssembly.TableKind, initial: limits.min };
  if (max !== undefined) desc.maximum = max;
  return new WebAssembly.Table(desc, null);
}

/**
 * Records which function each V8 function object of a new instance stands for: its imported and
 * exported functions, and the entries its active element segments put into tables (a defined
 * function V8 does not export is only reachable that way).
 */
function noteFunctionObjects(
  state: EngineState,
  functions: readonly GuestFunction[],
  tables: readonly CTable[],
  plan: InstantiationPlan,
): void {
  for (const f of functions) if (typeof f.wasm === 'function' && !state.functionOf.has(f.wasm)) state.functionOf.set(f.wasm, f);
  for (const seg of plan.elements) {
    const table = tables[seg.tableIndex];
    if (seg.mode !== 'active' || table === undefined || table.elemType !== FUNCREF) continue;
    seg.items.forEach((item, k) => {
      if (item.kind !== 'func') return;
      const f = functions[item.index];
      const obj: unknown = table.get(seg.offset + k);
      if (f !== undefined && typeof obj === 'function' && !state.functionOf.has(obj)) {
        state.functionOf.set(obj, f.wasm === undefined ? new GuestFunction(f.type, f.definition, obj, f.host) : f);
      }
    });
  }
}

/** The compiler engine (binary rewriting onto V8). */
export function newCompilerEngine(options: CompilerEngineOptions = {}): Engine {
  return new CompilerEngine(options);
}
