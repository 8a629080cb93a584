/**
 * The interpreter engine: implements the store's engine contract (../store/engine.ts) over the
 * lowered code (lower.ts) and the run loop (run.ts). Functions are lowered lazily on first call.
 */
import type { Context } from '../api/context.js';
import { Trap, WasmRuntimeError } from '../api/errors.js';
import type { FunctionDefinition } from '../api/module.js';
import type { Module as IrModule } from '../binary/module.js';
import { moduleFunctionDefinitions } from '../store/definition.js';
import { planInstantiation, type PlannedValue } from '../store/instantiate.js';
import { appendTrace, isStackOverflow } from '../store/hooks.js';
import { entryCheckedBodies } from '../store/interrupts.js';
import { foreignRestore, Invocation, SnapshotRestore, snapshotsEnabled, withInvocationSnapshotter } from '../store/snapshots.js';
import { InterpSnapshotter, restoreSnapshot, type InterpSnapshotState } from './snapshots.js';
import type { TraceFrame } from '../store/trace.js';
import { absoluteOffsetOf, callHostListened } from './listen.js';
import type {
  CompileOptions,
  CompiledCode,
  Engine,
  EngineInstance,
  ExternValue,
  HostFunctionSpec,
  InstanceOwner,
  InstantiateOptions,
} from '../store/engine.js';
import { Machine, growStack, readRaw, writeRaw } from './machine.js';
import { FuncInst, GlobalInst, Instance, MemInst, TableInst, type Ref } from './objects.js';
import { EXEC_DONE, execute, MAX_CALL_DEPTH } from './run.js';

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
  readonly m: Machine;
  constructor(inst: Instance, m: Machine) {
    this.inst = inst;
    this.m = m;
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
  call(funcIndex: number, stack: BigUint64Array, ctx: Context): void {
    const f = this.inst.functions[funcIndex];
    if (f === undefined) throw new Error(`interpreter: no function ${funcIndex}`);
    callFunction(this.m, f, stack, ctx);
  }
  close(): void {
    this.inst.closed = true;
  }
}

/** An open frame when an error left an invocation: function and pc (for its trace line). */
interface OpenFrame {
  readonly fn: FuncInst;
  readonly pc: number;
}

/**
 * Calls `f` from the host with raw params in `stack`; results are written back to `stack`. This is
 * the driver of the run loop: `execute` leaves the loop for every host call, which is made here,
 * then resumes it (so the run loop's frame is never on the JS stack under a host function).
 */
export function callFunction(m: Machine, f: FuncInst, stack: BigUint64Array, ctx: Context): void {
  const savedCtx = m.ctx;
  const savedBase = m.baseDepth;
  const savedOwner = m.entryOwner;
  const savedFn = m.curFn;
  const savedPc = m.curPc;
  const base = m.depth;
  const top = m.top;
  const lsDepth = m.listeners.sp;
  const entryFp = 2 * (top + 1);
  // Snapshots (withSnapshotter): host functions of this invocation find its snapshotter in ctx.
  const snapper = f.host === null && snapshotsEnabled(ctx) ? new InterpSnapshotter(m, new Invocation(), base, entryFp, lsDepth, f) : null;
  m.ctx = snapper === null ? ctx : withInvocationSnapshotter(ctx, snapper);
  m.ticks = 0;
  m.baseDepth = base;
  m.curFn = null;
  m.errHost = null;
  try {
    if (f.host !== null) {
      const api = f.hostOwner!.api;
      if (f.listener === undefined) f.host(ctx, api, stack);
      else callHostListened(m, f, api, stack, false);
      return;
    }
    m.entryOwner = f.inst!.owner.api;
    growStack(m, top + 1 + Math.max(f.paramSlots, f.resultSlots) + 1);
    writeRaw(m, f.type.params, entryFp, stack);
    let fn = f;
    let pc = 0;
    let fp = entryFp;
    let depth = base;
    while (execute(m, fn, pc, fp, depth, base) !== EXEC_DONE) {
      fn = m.curFn!;
      depth = m.depth;
      let next = m.hostNext;
      if (snapper === null) {
        callHost(m, m.hostFn!, m.hostFp, fn.inst!);
      } else {
        const site = snapper.site;
        site.fn = fn;
        site.pc = m.curPc;
        site.fp = m.curFp;
        site.depth = depth;
        site.hostFn = m.hostFn!;
        site.hostFp = m.hostFp;
        site.next = next;
        site.lsDepth = m.listeners.sp;
        site.top = m.top;
        try {
          callHost(m, site.hostFn, site.hostFp, fn.inst!);
        } catch (e) {
          if (!(e instanceof SnapshotRestore)) throw e;
          if (e.invocation !== snapper.invocation) throw foreignRestore(e);
          // Resume right after the host call that took the snapshot.
          const at = restoreSnapshot(m, snapper, e.state as InterpSnapshotState, e.results, e);
          fn = at.fn;
          depth = at.depth;
          next = at.next;
          m.curFp = at.fp;
        }
      }
      if (next >= 0) {
        pc = next;
        fp = m.curFp;
      } else {
        // A tail call of a host function: its results are the calling frame's; return them.
        if (depth === base) break;
        depth--;
        fn = m.frFn[depth]!;
        pc = m.frPc[depth]!;
        fp = m.frFp[depth]!;
        m.frFn[depth] = null;
      }
    }
    readRaw(m, f.type.results, entryFp, stack);
  } catch (e) {
    let err = isStackOverflow(e) ? new WasmRuntimeError(Trap.StackOverflow) : e;
    if (err instanceof SnapshotRestore) err = foreignRestore(err);
    if (err instanceof WasmRuntimeError) appendTrace(err, traceFramesOf(openFrames(m, base)));
    // After the error is final: abort every open listened frame, innermost first.
    m.listeners.abortAbove(lsDepth, ctx, err);
    throw err;
  } finally {
    if (snapper !== null) snapper.invocation.live = false;
    for (let d = base; d < m.frFn.length && m.frFn[d] !== undefined; d++) m.frFn[d] = null;
    m.depth = base;
    m.top = top;
    m.ctx = savedCtx;
    m.baseDepth = savedBase;
    m.entryOwner = savedOwner;
    m.curFn = savedFn;
    m.curPc = savedPc;
    m.errHost = null;
    m.errHostCaller = null;
    // The outer invocation (if any) looks at its own context at its next CHECK.
    m.ticks = 0;
    // No before callback can be running once the outermost invocation is over.
    if (base === 0 && m.iter !== null) m.iter.busy = false;
  }
}

/**
 * Calls host function `f` (called by wasm code of `caller`) with its parameters at word offset
 * `fp`; results are written back there. `m.top` is above the calling frame, so re-entrant calls do
 * not clobber it.
 */
function callHost(m: Machine, f: FuncInst, fp: number, caller: Instance): void {
  const n = Math.max(f.paramSlots, f.resultSlots);
  const stack = new BigUint64Array(n);
  readRaw(m, f.type.params, fp, stack);
  const depth = m.depth;
  const top = m.top;
  const curFn = m.curFn;
  const curPc = m.curPc;
  const curFp = m.curFp;
  if (m.top < (fp >> 1) + n) m.top = (fp >> 1) + n;
  const api = caller.owner.api;
  try {
    if (f.listener === undefined) f.host!(m.ctx, api, stack);
    else callHostListened(m, f, api, stack, true);
  } catch (e) {
    // The host frame is the innermost open frame of this invocation (its trace line).
    m.errHost = f;
    m.errHostCaller = api;
    throw e;
  } finally {
    // A re-entrant call from the host function moved these; the caller's frame is still current.
    m.depth = depth;
    m.top = top;
    m.curFn = curFn;
    m.curPc = curPc;
    m.curFp = curFp;
  }
  if ((fp >> 1) + n > m.capSlots) growStack(m, (fp >> 1) + n);
  writeRaw(m, f.type.results, fp, stack);
}

/** The frames of this invocation still open when an error left it, innermost first. */
function openFrames(m: Machine, baseDepth: number): OpenFrame[] {
  const out: OpenFrame[] = [];
  if (m.errHost !== null) out.push({ fn: m.errHost, pc: 0 });
  if (m.curFn !== null) out.push({ fn: m.curFn, pc: m.curPc });
  // Frames saved at calls hold the return pc; the call instruction ends one word earlier.
  for (let d = m.depth - 1; d >= baseDepth; d--) {
    const fn = m.frFn[d];
    if (fn !== null && fn !== undefined) out.push({ fn, pc: m.frPc[d]! - 1 });
  }
  return out;
}

/** Trace lines of open frames (DWARF lines when the module has them and debug info is on). */
function traceFramesOf(open: readonly OpenFrame[]): TraceFrame[] {
  return open.map((o) => {
    const inst = o.fn.inst;
    return {
      definition: o.fn.definition,
      module: inst !== null && inst.debugInfo ? (inst.module ?? undefined) : undefined,
      offset: absoluteOffsetOf(o.fn, o.pc),
    };
  });
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
  readonly m = new Machine(MAX_CALL_DEPTH);

  compile(module: IrModule, options: CompileOptions): Promise<CompiledCode> {
    return Promise.resolve(new InterpCompiled(module, options));
  }

  instantiate(code: CompiledCode, imports: readonly ExternValue[], owner: InstanceOwner, options: InstantiateOptions): EngineInstance {
    const compiled = code as InterpCompiled;
    const mod = compiled.module;
    const plan = options.plan ?? planInstantiation(mod, imports, options);
    const inst = new Instance(mod, owner);
    inst.debugInfo = compiled.options.debugInfo;
    inst.interrupt = options.closeOnContextDone === true;
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
    inst.anyListened = inst.functions.some((f) => f.listener !== undefined);
    mod.globals.forEach((g, i) => {
      const gi = new GlobalInst(g.type, this.m.handles);
      setPlanned(inst, plan.globals[i]!, gi);
      inst.globals.push(gi);
    });
    for (const t of plan.tables) inst.tables.push(new TableInst(t.elemType, t.min, t.max));
    for (const pm of plan.memories) inst.memories.push(new MemInst(pm.api, pm.max, pm.shared));
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
    const ei = new InterpInstance(inst, this.m);
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
      inst.functions.push(f);
    }
    return new InterpInstance(inst, this.m);
  }
}

/** A new interpreter engine (one value stack shared by all its instances). */
export function newInterpreterEngine(): Engine {
  return new InterpreterEngine();
}
