/**
 * A module compiled by the compiler engine: the original IR, V8's compiled rewrite, and what trap
 * mapping and stack iterators need to map V8 frames back to the original binary.
 */
import { Trap } from '../runtime/api/errors.js';
import type { FunctionEventSink } from '../runtime/api/event-sink.js';
import type { FunctionListener, InternalFunction } from '../runtime/api/listener.js';
import type { FunctionDefinition } from '../runtime/api/module.js';
import type { Module as IrModule } from '../runtime/binary/module.js';
import { Reader } from '../runtime/binary/reader.js';
import { moduleFunctionDefinitions } from '../runtime/store/definition.js';
import type { CompiledCode } from '../runtime/store/engine.js';
import type { CTable } from './externs.js';
import type { CoverageRewrite } from './coverage.js';
import { mapInstrumentedOffset } from './instrument.js';
import type { Asyncified } from './rewind.js';
import type { Rewritten } from './rewrite.js';
import type { RewindableSource } from './snapshots.js';
import type { FrameSource } from './traps.js';

/** A function as stack iterators show it: its definition and how its pcs map to source offsets. */
export class SimpleInternalFunction implements InternalFunction {
  constructor(
    readonly def: FunctionDefinition,
    /** Offset of the code section contents in the original binary; -1 for host functions. */
    readonly base: number,
  ) {}
  definition(): FunctionDefinition {
    return this.def;
  }
  sourceOffsetForPC(pc: number): number {
    return this.base < 0 ? 0 : pc - this.base;
  }
}

/** What a trap needs from the most recent instance (tables, the last call_indirect index). */
export interface InstanceView {
  readonly tables: readonly CTable[];
  /** The precise-traps global holding the last call_indirect element index, if any. */
  readonly lastIndex: WebAssembly.Global | undefined;
}

export class CompiledModuleImpl implements CompiledCode, FrameSource, RewindableSource {
  #defs: readonly FunctionDefinition[] | undefined;
  readonly #internal: InternalFunction[] = [];
  readonly numImportedFuncs: number;
  /** Listener per function index, when any function is listened. */
  listeners: ReadonlyArray<FunctionListener | undefined> | undefined = undefined;
  /** The event sink its recorded functions write to (`withFunctionEventSink`), if any. */
  eventSink: FunctionEventSink | undefined = undefined;
  /** Line coverage: the module with block counters the rewrite was made from, if any. */
  coverage: CoverageRewrite | undefined = undefined;
  /** The most recent instance, to inspect tables when a trap needs it. */
  lastInstance: WeakRef<InstanceView> | undefined = undefined;

  constructor(
    readonly module: IrModule,
    readonly wasm: WebAssembly.Module,
    readonly rw: Rewritten,
    /** DWARF source lines in traces (`CompileOptions.debugInfo`). */
    readonly debugInfo: boolean,
    /** The rewind pass's output when compiled for snapshots (`rw` is then a rewrite of its module). */
    readonly asy: Asyncified | undefined = undefined,
  ) {
    this.numImportedFuncs = module.numImportedFuncs;
  }

  trapOfFunction(funcIndex: number): Trap | undefined {
    if (funcIndex === this.rw.nanTrapFunc) return Trap.InvalidConversionToInteger;
    return undefined;
  }

  /** The stack-iterator view of function `funcIndex` (pcs are original absolute offsets). */
  internalFunction(funcIndex: number): InternalFunction {
    return (this.#internal[funcIndex] ??= new SimpleInternalFunction(this.defs[funcIndex]!, this.module.codeSectionStart));
  }

  /** Definitions of the function index space, built on first use (compile latency). */
  get defs(): readonly FunctionDefinition[] {
    return (this.#defs ??= moduleFunctionDefinitions(this.module));
  }

  originalOffset(funcIndex: number, offset: number): number {
    const i = funcIndex - this.numImportedFuncs;
    const b = this.rw.instrumented[i];
    const d = this.rw.bodyDelta[i];
    let o = b !== undefined ? mapInstrumentedOffset(b, offset - this.rw.newCodeStart[i]!) : d === undefined ? offset : offset - d;
    // With snapshots, the rewrite's input was the rewind pass's output.
    if (this.asy !== undefined) o = this.asy.originalOffset(i, o);
    // With line coverage, the rewrite's (or the rewind pass's) input was the module with counters.
    return this.coverage === undefined ? o : this.coverage.originalOffset(i, o);
  }

  rewindable(funcIndex: number): boolean {
    return this.asy !== undefined && this.asy.instrumented[funcIndex - this.numImportedFuncs] === 1;
  }

  /**
   * V8 says "null function or function signature mismatch" for both; wazero tells them apart. The
   * element index is gone by now, so the table decides: with precise traps the index was saved
   * just before the call; otherwise, without null entries it must be a mismatch, and with nulls the
   * (more common) call of a null entry is assumed.
   */
  refineIndirect(_funcIndex: number, offset: number): Trap {
    const m = this.module;
    const op = m.bytes[offset];
    if (op !== 0x11 && op !== 0x13) return Trap.InvalidTableAccess;
    let typeIndex: number;
    let tableIndex: number;
    try {
      const r = new Reader(m.bytes, offset + 1);
      typeIndex = r.u32();
      tableIndex = r.u32();
    } catch {
      return Trap.InvalidTableAccess;
    }
    const inst = this.lastInstance?.deref();
    const table = inst?.tables[tableIndex];
    const expected = m.types[typeIndex];
    if (table === undefined || expected === undefined) return Trap.InvalidTableAccess;
    const last = inst?.lastIndex;
    if (last !== undefined) {
      const i = (last.value as number) >>> 0;
      return i >= table.size() || table.get(i) === null ? Trap.InvalidTableAccess : Trap.IndirectCallTypeMismatch;
    }
    const n = Math.min(table.size(), 1 << 20);
    for (let i = 0; i < n; i++) if (table.get(i) === null) return Trap.InvalidTableAccess;
    return Trap.IndirectCallTypeMismatch;
  }
}
