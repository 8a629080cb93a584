/**
 * Instantiation decided once, by the store, for both engines: limits, constant expressions,
 * segment bounds and the memories themselves. An engine only builds its objects from the plan
 * (the interpreter applies every value and segment itself; the compiler engine lets V8 apply them
 * from the binary, with the same semantics, after the store's checks passed).
 *
 * - Limits are checked when the module is compiled ({@link checkLimits}): a memory minimum over
 *   the runtime's page limit, a table minimum over {@link MAX_TABLE_ELEMENTS}, each with one
 *   message on both engines (never V8's "initial table size … larger than implementation limit").
 * - Constant expressions (global initial values, segment offsets, element items) are evaluated
 *   here into {@link PlannedValue}s.
 * - Segment bounds: WebAssembly 1.0 checks every active segment before writing anything; 2.0
 *   writes them in order (elements, then data) and traps at the first that does not fit, keeping
 *   the writes before it. The plan names that first failure; without the bulk-memory feature
 *   {@link planInstantiation} throws it before anything is written.
 */
import { CompileError, Trap, WasmRuntimeError } from '../api/errors.js';
import { CoreFeatureBulkMemoryOperations, type CoreFeatures } from '../api/features.js';
import { V128 } from '../api/value-type.js';
import type { ConstExpr, Module as IrModule } from '../binary/module.js';
import { TagInst } from './tags.js';
import { moduleMemoryDefinitions } from './definition.js';
import type {
  EngineGlobal,
  ExternValue,
  InstantiationPlan,
  PlannedData,
  PlannedElement,
  PlannedMemory,
  PlannedTable,
  PlannedValue,
} from './engine.js';
import { AllocatedMemory, MemoryApi, type MemoryAllocator } from './memory-api.js';

export type { InstantiationPlan, PlannedValue };

/** The most elements a table may hold (V8's limit; the interpreter uses the same). */
export const MAX_TABLE_ELEMENTS = 10_000_000;

/** What planning needs from the runtime's configuration. */
export interface PlanOptions {
  readonly features: CoreFeatures;
  readonly memoryLimitPages: number;
  /** Reserve capacity up to the maximum (`withMemoryCapacityFromMax`): the capacity asked of an allocator. */
  readonly memoryCapacityFromMax?: boolean;
  /** Allocates the defined memories (`withMemoryAllocator`); V8 does otherwise. */
  readonly memoryAllocator?: MemoryAllocator | undefined;
}

/**
 * Checks the module's own memory and table minimums against the runtime's limits.
 * @throws CompileError naming the memory or table, its minimum and the limit.
 */
export function checkLimits(m: IrModule, memoryLimitPages: number): void {
  const sectionStart = (id: number): number | undefined => m.sections.find((s) => s.id === id)?.start;
  m.memories.forEach((mem, i) => {
    if (mem.limits.min > memoryLimitPages) {
      throw new CompileError(
        `memory[${m.numImportedMemories + i}] min ${mem.limits.min} pages over limit of ${memoryLimitPages} pages`,
        { section: 'memory', offset: sectionStart(5) },
        'invalid',
      );
    }
  });
  m.tables.forEach((t, i) => {
    if (t.limits.min > MAX_TABLE_ELEMENTS) {
      throw new CompileError(
        `table[${m.numImportedTables + i}] min ${t.limits.min} elements over limit of ${MAX_TABLE_ELEMENTS} elements`,
        { section: 'table', offset: sectionStart(4) },
        'invalid',
      );
    }
  });
}

/**
 * Plans the instantiation of `m` with `imports` (one extern value per import, type-checked).
 * @throws WasmRuntimeError for a segment out of bounds without the bulk-memory feature (nothing
 *   is written then); Error when a memory cannot be allocated.
 */
export function planInstantiation(m: IrModule, imports: readonly ExternValue[], options: PlanOptions): InstantiationPlan {
  const importedGlobals: EngineGlobal[] = [];
  const importedTableSizes: number[] = [];
  const importedMemoryPages: number[] = [];
  const tags: TagInst[] = [];
  for (const ev of imports) {
    if (ev.kind === 3) importedGlobals.push(ev.value);
    else if (ev.kind === 1) importedTableSizes.push(ev.value.size());
    else if (ev.kind === 2) importedMemoryPages.push(ev.value.pages());
    else if (ev.kind === 4) tags.push(ev.value);
  }
  for (const t of m.tags) tags.push(new TagInst(m.types[t.typeIndex]!));
  const globals: PlannedValue[] = [];
  const evaluate = (e: ConstExpr, what: string): PlannedValue => evalConst(e, importedGlobals, globals, what);
  for (let i = 0; i < m.globals.length; i++) globals.push(evaluate(m.globals[i]!.init, `global[${m.numImportedGlobals + i}]`));

  const tables: PlannedTable[] = m.tables.map((t) => ({
    elemType: t.elemType,
    min: t.limits.min,
    max: t.limits.max,
    is64: t.limits.is64 === true,
  }));
  const memories = createMemories(m, options);

  // An i32 offset is unsigned; an i64 one (64-bit memory or table) too, exact to 2^53 and out of
  // any bounds above.
  const offsetOf = (e: ConstExpr | undefined, what: string, is64: boolean): number => {
    if (e === undefined) return 0;
    const v = evaluate(e, what);
    return v.kind === 'bits' ? Number(is64 ? v.lo : v.lo & 0xffffffffn) : 0;
  };
  const elements: PlannedElement[] = m.elements.map((seg, i) => ({
    mode: seg.mode,
    tableIndex: seg.tableIndex,
    offset:
      seg.mode === 'active' ? offsetOf(seg.offsetExpr, `element[${i}] offset`, m.tableSpace[seg.tableIndex]?.limits.is64 === true) : 0,
    items: seg.init.map((e, k) => evaluate(e, `element[${i}] item ${k}`)),
  }));
  const datas: PlannedData[] = m.datas.map((d, i) => ({
    mode: d.mode,
    memoryIndex: d.memoryIndex,
    offset: d.mode === 'active' ? offsetOf(d.offsetExpr, `data[${i}] offset`, m.memorySpace[d.memoryIndex]?.limits.is64 === true) : 0,
    init: d.init,
  }));

  const tableSize = (t: number): number => (t < m.numImportedTables ? importedTableSizes[t]! : tables[t - m.numImportedTables]!.min);
  const memoryBytes = (i: number): number =>
    65536 * (i < m.numImportedMemories ? importedMemoryPages[i]! : (m.memorySpace[i]?.limits.min ?? 0));
  let failure: InstantiationPlan['failure'];
  elements.forEach((seg, index) => {
    if (failure === undefined && seg.mode === 'active' && seg.offset + seg.items.length > tableSize(seg.tableIndex)) {
      failure = { kind: 'element', index, trap: Trap.InvalidTableAccess };
    }
  });
  datas.forEach((d, index) => {
    if (failure === undefined && d.mode === 'active' && d.offset + d.init.length > memoryBytes(d.memoryIndex)) {
      failure = { kind: 'data', index, trap: Trap.OutOfBoundsMemoryAccess };
    }
  });
  // WebAssembly 1.0: all bounds are checked before anything is written.
  if (failure !== undefined && (options.features & CoreFeatureBulkMemoryOperations) === 0) {
    freeMemories(memories);
    throw new WasmRuntimeError(failure.trap);
  }
  return { memories, tags, tables, globals, elements, datas, failure };
}

/**
 * Creates the module's own memories: `WebAssembly.Memory` (shared by both engines' code), or, with
 * a memory allocator, memories whose bytes the allocator owns (wazero's order: `allocate(cap, max)`
 * then `reallocate(min)`; every grow reallocates).
 */
function createMemories(m: IrModule, options: PlanOptions): PlannedMemory[] {
  if (m.memories.length === 0) return [];
  const limit = options.memoryLimitPages;
  const defs = moduleMemoryDefinitions(m, limit);
  const made: PlannedMemory[] = [];
  try {
    m.memories.forEach((mem, i) => {
      const index = m.numImportedMemories + i;
      const l = mem.limits;
      const max = Math.max(l.min, Math.min(l.max ?? limit, limit));
      const is64 = l.is64 === true;
      const allocator = options.memoryAllocator;
      if (allocator !== undefined) {
        const cap = options.memoryCapacityFromMax === true ? max : l.min;
        const lm = allocator.allocate(cap * 65536, max * 65536);
        let backing: AllocatedMemory;
        try {
          backing = new AllocatedMemory(lm, l.min * 65536, l.shared);
        } catch (e) {
          lm.free();
          throw new Error(`memory[${index}]: ${(e as Error).message}`, { cause: e });
        }
        made.push({ api: new MemoryApi(backing, defs[index]!, max), max: l.max, shared: l.shared, is64, free: () => backing.free() });
        return;
      }
      // A 64-bit memory is one to V8 too where it can make one (the compiler engine imports it into a
      // memory64 guest); the interpreter addresses either kind the same way.
      const addressI64 = is64 && hasMemory64JsApi();
      const desc: WebAssembly.MemoryDescriptor = addressI64
        ? ({ initial: BigInt(l.min), maximum: BigInt(max), address: 'i64' } as unknown as WebAssembly.MemoryDescriptor)
        : { initial: l.min, maximum: max };
      if (l.shared) (desc as { shared?: boolean }).shared = true;
      let wasm: WebAssembly.Memory;
      try {
        wasm = new WebAssembly.Memory(desc);
      } catch (e) {
        throw new Error(`memory[${index}]: cannot allocate ${l.min} pages (${(e as Error).message})`, { cause: e });
      }
      made.push({ api: new MemoryApi(wasm, defs[index]!, max, addressI64), max: l.max, shared: l.shared, is64 });
    });
  } catch (e) {
    freeMemories(made);
    throw e;
  }
  return made;
}

/** Frees the memories a user's allocator holds (on close, or when instantiation fails). */
export function freeMemories(memories: readonly PlannedMemory[]): void {
  for (const pm of memories) pm.free?.();
}

let memory64JsApi: boolean | undefined;

/** Whether the running V8 makes 64-bit memories (`address: 'i64'`, Node ≥ 24). */
export function hasMemory64JsApi(): boolean {
  if (memory64JsApi === undefined) {
    try {
      const m = new WebAssembly.Memory({ initial: 0n, maximum: 1n, address: 'i64' } as unknown as WebAssembly.MemoryDescriptor);
      memory64JsApi = (m as unknown as { type?: () => { address?: string } }).type?.().address === 'i64' || m.buffer.byteLength === 0;
    } catch {
      memory64JsApi = false;
    }
  }
  return memory64JsApi;
}

/** The raw bits of a v128 constant's 16 little-endian bytes. */
function v128Bits(bytes: Uint8Array): PlannedValue {
  let lo = 0n;
  let hi = 0n;
  for (let k = 7; k >= 0; k--) {
    lo = (lo << 8n) | BigInt(bytes[k]!);
    hi = (hi << 8n) | BigInt(bytes[k + 8]!);
  }
  return { kind: 'bits', lo, hi };
}

const NULL: PlannedValue = { kind: 'null' };

/**
 * Evaluates a (validated) constant expression: one instruction in WebAssembly 2.0, a sequence with
 * extended constants (`i32`/`i64` `add`, `sub`, `mul` on a small stack). `global.get` reads an
 * imported global, or (WebAssembly 3.0) an earlier defined one.
 */
export function evalConst(e: ConstExpr, imported: readonly EngineGlobal[], defined: readonly PlannedValue[], what: string): PlannedValue {
  if (e.instrs.length === 1) return evalConstInstr(e.instrs[0]!, imported, defined, what);
  const stack: PlannedValue[] = [];
  for (const c of e.instrs) {
    switch (c.op) {
      case 'i32.add':
      case 'i32.sub':
      case 'i32.mul':
      case 'i64.add':
      case 'i64.sub':
      case 'i64.mul': {
        const b = stack.pop();
        const a = stack.pop();
        if (a?.kind !== 'bits' || b?.kind !== 'bits') throw new Error(`internal error: ${what}: ${c.op} of a non-number`);
        const x = c.op.endsWith('add') ? a.lo + b.lo : c.op.endsWith('sub') ? a.lo - b.lo : a.lo * b.lo;
        stack.push({ kind: 'bits', lo: BigInt.asUintN(c.op.startsWith('i32') ? 32 : 64, x), hi: 0n });
        break;
      }
      default:
        stack.push(evalConstInstr(c, imported, defined, what));
    }
  }
  if (stack.length !== 1) throw new Error(`internal error: ${what} leaves ${stack.length} values`);
  return stack[0]!;
}

/** One value-producing instruction of a constant expression. */
function evalConstInstr(
  c: ConstExpr['instrs'][number],
  imported: readonly EngineGlobal[],
  defined: readonly PlannedValue[],
  what: string,
): PlannedValue {
  switch (c.op) {
    case 'i32.const':
      return { kind: 'bits', lo: BigInt(c.value >>> 0), hi: 0n };
    case 'i64.const':
      return { kind: 'bits', lo: BigInt.asUintN(64, c.value), hi: 0n };
    case 'f32.const':
      return { kind: 'bits', lo: BigInt(c.bits >>> 0), hi: 0n };
    case 'f64.const':
      return { kind: 'bits', lo: BigInt.asUintN(64, c.bits), hi: 0n };
    case 'v128.const':
      return v128Bits(c.bytes);
    case 'ref.null':
      return NULL;
    case 'ref.func':
      return { kind: 'func', index: c.funcIndex };
    case 'global.get': {
      const g = imported[c.globalIndex];
      if (g === undefined) {
        const d = defined[c.globalIndex - imported.length];
        if (d === undefined) throw new Error(`internal error: ${what} reads global ${c.globalIndex}, not yet defined`);
        return d;
      }
      const t = g.type.valType;
      if (t === 0x70 || t === 0x6f) return { kind: 'global', global: g };
      if (t === V128) {
        const [lo, hi] = g.getV128!();
        return { kind: 'bits', lo, hi };
      }
      return { kind: 'bits', lo: g.get(), hi: 0n };
    }
    default:
      throw new Error(`internal error: ${what} is not a constant expression`);
  }
}
