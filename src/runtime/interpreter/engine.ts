/**
 * The interpreter engine: implements the store's engine contract (../store/engine.ts) over the
 * lowered code (lower.ts) and the run loop (run.ts). Functions are lowered lazily on first call.
 */
import type { Context } from '../api/context.js';
import { newEventRing } from '../store/event-ring.js';
import { WasmRuntimeError } from '../api/errors.js';
import type { FunctionDefinition } from '../api/module.js';
import type { Module as IrModule } from '../binary/module.js';
import { moduleFunctionDefinitions } from '../store/definition.js';
import { planInstantiation, type PlannedValue } from '../store/instantiate.js';
import { entryCheckedBodies } from '../store/interrupts.js';
import { HandleTable } from '../store/handles.js';
import { callFunction, callFunctionAsync, resumeFunctionAsync } from './driver.js';
import { checkResume } from './resume.js';
import type { CallHandle, CallState } from '../store/suspend.js';
import type {
  CompileOptions,
  CompiledCode,
  Engine,
  EngineInstance,
  ExternValue,
  HostFunctionSpec,
  InstanceOwner,
  InstantiateOptions,
  TableFunction,
} from '../store/engine.js';
import { Machine } from './machine.js';
import { InterpModuleState } from './module-state.js';
import type { TagInst } from '../store/tags.js';
import { FuncInst, GlobalInst, Instance, MemInst, TableInst, type Ref } from './objects.js';
import { MAX_CALL_DEPTH } from './run.js';

/** The interpreter's cache artifact: a tag (the validated module is all it needs). */
const INTERPRETER_ARTIFACT = new TextEncoder().encode('wasmscope-interpreter-1');

class InterpCompiled implements CompiledCode {
  readonly module: IrModule;
  readonly definitions: FunctionDefinition[];
  readonly options: CompileOptions;
  #entryChecked: Uint8Array | undefined;

  /** Which functions check interrupts at their entry (computed once, on first use). */
  entryChecked(): Uint8Array {
    return (this.#entryChecked ??= entryCheckedBodies(this.module));
  }
  constructor(module: IrModule, options: CompileOptions) {
    this.module = module;
    this.definitions = moduleFunctionDefinitions(module);
    this.options = options;
  }
}

class InterpInstance implements EngineInstance {
  readonly inst: Instance;
  readonly engine: InterpreterEngine;
  constructor(inst: Instance, engine: InterpreterEngine) {
    this.inst = inst;
    this.engine = engine;
  }
  get functions(): FuncInst[] {
    return this.inst.functions;
  }
  get tables(): TableInst[] {
    return this.inst.tables;
  }
  get memories(): MemInst[] {
    return this.inst.memories;
  }
  get globals(): GlobalInst[] {
    return this.inst.globals;
  }
  #state: InterpModuleState | undefined;
  get moduleState(): InterpModuleState | undefined {
    const mod = this.inst.module;
    return mod === null ? undefined : (this.#state ??= new InterpModuleState(this.inst, mod, this.engine.handles));
  }
  get tags(): TagInst[] {
    return this.inst.tags;
  }
  call(funcIndex: number, stack: BigUint64Array, ctx: Context): void {
    const f = this.inst.functions[funcIndex];
    if (f === undefined) throw new Error(`interpreter: no function ${funcIndex}`);
    callFunction(this.engine.m, f, stack, ctx);
  }

  async callAsync(funcIndex: number, stack: BigUint64Array, ctx: Context, handle?: CallHandle): Promise<void> {
    const f = this.inst.functions[funcIndex];
    if (f === undefined) throw new Error(`interpreter: no function ${funcIndex}`);
    if (handle !== undefined) handle.supported = true;
    // A machine of its own: other calls run on the engine while this one waits.
    const m = this.engine.acquire();
    try {
      await callFunctionAsync(m, f, stack, ctx, { handle, syncBusy: this.#syncBusy });
    } finally {
      this.engine.release(m);
    }
  }

  /** Whether a synchronous call is running on the engine (its machine has an entry module). */
  readonly #syncBusy = (): boolean => this.engine.m.entryOwner !== null;

  prepareResume(state: CallState): { readonly resultSlots: number; readonly hostResultSlots: number } {
    const at = checkResume(this.inst, state);
    return { resultSlots: at.entry.resultSlots, hostResultSlots: at.hostFn.resultSlots };
  }

  async resumeAsync(
    state: CallState,
    results: readonly bigint[] | undefined,
    stack: BigUint64Array,
    ctx: Context,
    handle: CallHandle,
  ): Promise<void> {
    const at = checkResume(this.inst, state);
    const m = this.engine.acquire();
    try {
      await resumeFunctionAsync(m, at, state, results, stack, ctx, { handle, syncBusy: this.#syncBusy });
    } finally {
      this.engine.release(m);
    }
  }
  tableFunction(tableIndex: number, offset: number): TableFunction | null | undefined {
    const table = this.inst.tables[tableIndex];
    if (table === undefined || offset >= table.elems.length) return undefined;
    const f = table.elems[offset];
    if (!(f instanceof FuncInst)) return null;
    const machine = this.engine.m;
    return { type: f.type, definition: f.definition, call: (stack, ctx) => callFunction(machine, f, stack, ctx) };
  }

  close(): void {
    this.inst.closed = true;
  }
}

/** Sets `g` to planned value `v` (raw bits or a reference of `inst`). */
function setPlanned(inst: Instance, v: PlannedValue, g: GlobalInst): void {
  g.ref = plannedRef(inst, v);
  if (v.kind !== 'bits') return;
  const b = g.bits;
  b[0] = Number(BigInt.asIntN(32, v.lo));
  b[1] = Number(BigInt.asIntN(32, v.lo >> 32n));
  b[2] = Number(BigInt.asIntN(32, v.hi));
  b[3] = Number(BigInt.asIntN(32, v.hi >> 32n));
}

/** The reference a planned value stands for in `inst` (null for numbers and ref.null). */
function plannedRef(inst: Instance, v: PlannedValue): Ref {
  switch (v.kind) {
    case 'func':
      return inst.functions[v.index] ?? null;
    case 'global':
      return (v.global as GlobalInst).ref;
    default:
      return null;
  }
}

class InterpreterEngine implements Engine {
  readonly kind = 'interpreter' as const;
  /** Funcref handles, one table for every machine of the engine. */
  readonly handles = new HandleTable();
  /** The machine synchronous calls run on (nested calls stack up on it). */
  readonly m = new Machine(MAX_CALL_DEPTH, this.handles);
  /** Idle machines for async calls (each suspended call keeps its own). */
  readonly #pool: Machine[] = [];

  /** A machine for one async call. */
  acquire(): Machine {
    return this.#pool.pop() ?? new Machine(MAX_CALL_DEPTH, this.handles);
  }

  /** Returns a machine an async call finished with (a few are kept). */
  release(m: Machine): void {
    if (this.#pool.length < 4) this.#pool.push(m);
  }

  compile(module: IrModule, options: CompileOptions): Promise<CompiledCode> {
    return Promise.resolve(new InterpCompiled(module, options));
  }

  /**
   * Nothing beyond the validated module: functions are lowered lazily, on their first call (most
   * functions of a big module never run, and lowering one costs less than decoding it from a cache).
   */
  artifactOf(): Uint8Array {
    return INTERPRETER_ARTIFACT;
  }

  codeFromArtifact(decode: () => IrModule, artifact: Uint8Array, options: CompileOptions): Promise<CompiledCode | undefined> {
    const ok = artifact.length === INTERPRETER_ARTIFACT.length && artifact.every((b, i) => b === INTERPRETER_ARTIFACT[i]);
    return Promise.resolve(ok ? new InterpCompiled(decode(), options) : undefined);
  }

  instantiate(code: CompiledCode, imports: readonly ExternValue[], owner: InstanceOwner, options: InstantiateOptions): EngineInstance {
    const compiled = code as InterpCompiled;
    const mod = compiled.module;
    const plan = options.plan ?? planInstantiation(mod, imports, options);
    const inst = new Instance(mod, owner);
    inst.debugInfo = compiled.options.debugInfo;
    inst.interrupt = options.closeOnContextDone === true;
    const cov = compiled.options.coverage;
    if (cov !== undefined) {
      inst.coverage = cov;
      inst.coverCounts = cov.counts;
    }
    inst.dirtyPages = compiled.options.dirtyPages === true;
    if (inst.interrupt) inst.entryChecked = compiled.entryChecked();
    for (const imp of imports) {
      switch (imp.kind) {
        case 0:
          inst.functions.push(imp.value as FuncInst);
          break;
        case 1:
          inst.tables.push(imp.value as TableInst);
          break;
        case 2:
          inst.memories.push(imp.value as MemInst);
          break;
        case 3:
          inst.globals.push(imp.value as GlobalInst);
          break;
      }
    }
    for (let i = 0; i < mod.funcTypeIndices.length; i++) {
      const fi = mod.numImportedFuncs + i;
      const type = mod.types[mod.funcTypeIndices[i]!]!;
      const f = new FuncInst(type, compiled.definitions[fi]!, inst, i, null, null);
      f.listener = compiled.options.listeners?.[fi];
      inst.functions.push(f);
    }
    const es = compiled.options.eventSink;
    if (es !== undefined) {
      // Batched events (store/event-ring.ts): the run loop's listener cases record them (listen.ts).
      const ring = (this.m.ring ??= newEventRing());
      const id = ring.register(es.sink, owner.api, compiled.definitions);
      for (let fi = mod.numImportedFuncs; fi < inst.functions.length; fi++) {
        if (es.recorded[fi] !== true) continue;
        const f = inst.functions[fi]!;
        f.sinkId = id;
        f.sinkFi = fi;
      }
    }
    inst.anyListened = inst.functions.some((f) => f.listener !== undefined || f.sinkId >= 0);
    mod.globals.forEach((g, i) => {
      const gi = new GlobalInst(g.type, this.m.handles);
      setPlanned(inst, plan.globals[i]!, gi);
      inst.globals.push(gi);
    });
    for (const t of plan.tables) inst.tables.push(new TableInst(t.elemType, t.min, t.max, t.is64));
    for (const pm of plan.memories) inst.memories.push(new MemInst(pm.api, pm.max, pm.shared, pm.is64));
    inst.tags = plan.tags.slice();
    inst.mem = inst.memories[0] ?? null;
    for (const seg of plan.elements) inst.elems.push(seg.items.map((v) => plannedRef(inst, v)));
    for (const d of plan.datas) inst.datas.push(d.init);
    // Active segments in order, up to the plan's failure; active and declarative ones are dropped.
    const failure = plan.failure;
    for (let i = 0; i < plan.elements.length; i++) {
      const seg = plan.elements[i]!;
      if (failure?.kind === 'element' && failure.index === i) throw new WasmRuntimeError(failure.trap);
      if (seg.mode === 'passive') continue;
      if (seg.mode === 'active') {
        const refs = inst.elems[i]!;
        const t = inst.tables[seg.tableIndex]!;
        for (let j = 0; j < refs.length; j++) t.elems[seg.offset + j] = refs[j]!;
      }
      inst.elems[i] = null;
    }
    for (let i = 0; i < plan.datas.length; i++) {
      const d = plan.datas[i]!;
      if (failure?.kind === 'data' && failure.index === i) throw new WasmRuntimeError(failure.trap);
      if (d.mode !== 'active') continue;
      inst.memories[d.memoryIndex]!.api.u8.set(d.init, d.offset);
      inst.datas[i] = null;
    }
    const ei = new InterpInstance(inst, this);
    if (mod.startFunction !== undefined) {
      ei.call(mod.startFunction, new BigUint64Array(1), options.ctx);
    }
    return ei;
  }

  instantiateHost(functions: readonly HostFunctionSpec[], owner: InstanceOwner): EngineInstance {
    const inst = new Instance(null, owner);
    for (const spec of functions) {
      const f = new FuncInst(spec.type, spec.definition, null, -1, spec.fn, owner);
      f.listener = spec.listener;
      f.hostAsync = spec.asyncFn;
      inst.functions.push(f);
    }
    return new InterpInstance(inst, this);
  }
}

/** A new interpreter engine (one value stack shared by all its instances). */
export function newInterpreterEngine(): Engine {
  return new InterpreterEngine();
}
