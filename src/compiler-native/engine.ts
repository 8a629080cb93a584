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
import { F32, F64, FUNCREF, I32, I64, V128, isRefType as isRef } from '../runtime/api/value-type.js';
import type { Module as IrModule } from '../runtime/binary/module.js';
import type {
  CompileOptions,
  CompiledCode,
  Engine,
  EngineInstance,
  ExternValue,
  HostFunctionSpec,
  InstanceOwner,
  InstantiateOptions,
} from '../runtime/store/engine.js';
import { planInstantiation } from '../runtime/store/instantiate.js';
import { CompiledModuleImpl } from './compiled.js';
import { addCoverageCounters, type CoverageRewrite } from './coverage.js';
import { CGlobal, CMemory, CTable, GuestFunction, HostFunction } from './externs.js';
import { GuestInstance, HostInstance, hostAdapter } from './instances.js';
import { hookTable, listenModes } from './listening.js';
import { asyncifyModule, type Asyncified } from './rewind.js';
import { HIDDEN_LAST_INDEX, hiddenGlobal, hiddenTable, rewriteModule, type Rewritten } from './rewrite.js';
import { EngineState } from './state.js';
import { STACK_TRACE_LIMIT, toWasmError } from './traps.js';

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
}

class CompilerEngine implements Engine {
  readonly kind = 'compiler' as const;
  readonly #state = new EngineState();

  constructor(readonly options: CompilerEngineOptions) {}

  async compile(module: IrModule, options: CompileOptions): Promise<CompiledCode> {
    const state = this.#state;
    const listeners = options.listeners;
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
        interrupts: options.closeOnContextDone === true,
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
      throw new Error(`internal error: V8 rejected the rewritten module: ${(e as Error).message}`, { cause: e });
    }
    const code = new CompiledModuleImpl(module, wasm, rw, options.debugInfo, asy);
    code.listeners = listeners;
    code.coverage = counted;
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
      }
    }
    const importObject: Record<string, Record<string, unknown>> = { i: importArr as unknown as Record<string, unknown> };
    // The store checked limits and segment bounds and made the memory; V8 applies the rest.
    const plan = options.plan ?? planInstantiation(m, imports, options);
    if (code.rw.memoryImported) {
      const pm = plan.memories[0]!;
      memories.push(new CMemory(pm.api.wasm, pm.max, pm.shared, pm.api));
      importObject['m'] = { m: pm.api.wasm };
    }
    let definedTables: CTable[] | undefined;
    let helperTable: WebAssembly.Table | undefined;
    if (code.rw.tablesImported) {
      definedTables = [];
      const t: Record<string, unknown> = { hooks: hookTable(state, code, owner.api) };
      if (asy !== undefined) {
        // The rewind pass's helper table: helpers now, trampolines from its element segments.
        helperTable = new WebAssembly.Table({ element: 'anyfunc', initial: asy.helperTableSize, maximum: asy.helperTableSize });
        state.rewind.fill(helperTable);
        t[String(asy.helperTable)] = helperTable;
      }
      for (let i = m.numImportedTables; i < m.tableSpace.length; i++) {
        const tt = m.tableSpace[i]!;
        const desc: WebAssembly.TableDescriptor = { element: tt.elemType === FUNCREF ? 'anyfunc' : 'externref', initial: tt.limits.min };
        if (tt.limits.max !== undefined) desc.maximum = tt.limits.max;
        // Entries start as null (an externref table's default would be `undefined`).
        const table = new WebAssembly.Table(desc, null);
        definedTables.push(new CTable(table, tt.elemType, tt.limits.max));
        t[String(i)] = table;
      }
      importObject['t'] = t;
    }
    let instance: WebAssembly.Instance;
    const prevCtx = state.ctx;
    const prevMod = state.callModule;
    const prevSnap = state.snap;
    state.ctx = options.ctx;
    state.callModule = owner.api;
    // The start function takes no snapshots (nor may it start the unwind of an outer call's).
    state.snap = undefined;
    const depth = state.listeners.sp;
    const prevLimit = Error.stackTraceLimit;
    if (state.callDepth === 0 && prevLimit < STACK_TRACE_LIMIT) Error.stackTraceLimit = STACK_TRACE_LIMIT;
    state.callDepth++;
    try {
      instance = new WebAssembly.Instance(code.wasm, importObject as WebAssembly.Imports);
    } catch (e) {
      if (e instanceof WebAssembly.LinkError) {
        throw new Error(`internal error: V8 rejected the imports the store checked: ${e.message}`, { cause: e });
      }
      const err = toWasmError(e, state);
      state.listeners.abortAbove(depth, options.ctx, err);
      throw err;
    } finally {
      state.ctx = prevCtx;
      state.callModule = prevMod;
      state.snap = prevSnap;
      state.callDepth--;
      Error.stackTraceLimit = prevLimit;
    }
    const ex = instance.exports;
    // Defined functions: the callable object is the export, when exported.
    const exported = new Map<number, unknown>();
    for (const e of m.exports) if (e.kind === 0 && !exported.has(e.index)) exported.set(e.index, ex[e.name]);
    for (let i = m.numImportedFuncs; i < m.funcTypeIndexSpace.length; i++) {
      functions.push(new GuestFunction(m.types[m.funcTypeIndexSpace[i]!]!, code.defs[i]!, exported.get(i)));
    }
    if (definedTables !== undefined) {
      tables.push(...definedTables);
    } else {
      for (let i = m.numImportedTables; i < m.tableSpace.length; i++) {
        const t = m.tableSpace[i]!;
        tables.push(new CTable(ex[hiddenTable(i)] as WebAssembly.Table, t.elemType, t.limits.max));
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
    const inst = new GuestInstance(
      state,
      functions,
      tables,
      memories,
      globals,
      owner.api,
      ex[HIDDEN_LAST_INDEX] as WebAssembly.Global | undefined,
      rewindState,
    );
    if (code.coverage !== undefined) inst.onClose = code.coverage.attach(ex);
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

/** The compiler engine (binary rewriting onto V8). */
export function newCompilerEngine(options: CompilerEngineOptions = {}): Engine {
  return new CompilerEngine(options);
}
