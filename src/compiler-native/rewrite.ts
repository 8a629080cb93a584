/**
 * The module rewrite of the compiler engine: what V8 compiles instead of the original binary.
 *
 * With no hooks, function bodies are copied byte-for-byte (the code section is copied whole) and
 * only these change:
 * - imports are renamed to `i`/`<import index>` (so duplicate or odd names such as `__proto__`
 *   never collide in the JS import object), and each defined memory becomes the import
 *   `m`/`<memory index>`, so the engine creates it with the runtime's page limit as its maximum
 *   (declared maximums V8 cannot declare, such as memory64's 2^48 pages, are clamped: the memory
 *   given is never larger); defined tags become imports `e`/`<tag index>`;
 * - hidden exports (names starting with U+0000, which no guest export can collide with in practice)
 *   expose every defined table and global;
 * - the name section's module name becomes a unique id, which V8 puts in the stack-frame URL
 *   (`wasm://wasm/<id>-<hash>`) so frames map back to this module; other custom sections are dropped.
 *
 * Instrumenting only some bodies is a matter of giving those entries of `codes` new bytes (an
 * `EncodedBody`) and recording their offset map in `bodyMaps`; untouched bodies keep a constant
 * delta.
 */
import { BLOCK_EMPTY, ByteWriter, blockResult, u32Size } from '../runtime/binary/encoder.js';
import { encodeModule, type EncodableBody } from '../runtime/binary/encoder.js';
import {
  declaredFunctionRefs,
  type CustomSection,
  type Export,
  type FuncType,
  type Import,
  type Module,
} from '../runtime/binary/module.js';
import {
  INTERRUPT_INTERVAL,
  dropCandidateBodies,
  instrumentBody,
  trapCandidateBodies,
  type DirtyPlan,
  type DropPlan,
  type InstrumentPlan,
  type InstrumentedBody,
  type ListenPlan,
  type SinkSlots,
} from './instrument.js';
import { entryCheckedBodies } from '../runtime/store/interrupts.js';
import { RING_PAGES } from '../runtime/store/event-ring.js';
import { OWNER_UNSET } from './sink.js';

/** Prefix of hidden export names. */
export const HIDDEN = '\u0000wasmscope:';
export const hiddenTable = (i: number): string => `${HIDDEN}table${i}`;
export const hiddenGlobal = (i: number): string => `${HIDDEN}global${i}`;
export const HIDDEN_LAST_INDEX = `${HIDDEN}lastIndex`;
/** A defined function that is not exported but can become a reference (in the module's C.refs). */
export const hiddenFunc = (i: number): string => `${HIDDEN}func${i}`;
/** The flag global of a passive segment, set to 1 once it is dropped (instrument.ts `DropPlan`). */
export const hiddenDropped = (kind: 'data' | 'elem', i: number): string => `${HIDDEN}dropped:${kind}${i}`;
/** The appended `$drop(k)`: drops data segment k, or element segment k - (number of data segments). */
export const HIDDEN_DROP = `${HIDDEN}drop`;

/**
 * What a slot of the hook table holds: listener hooks, the interrupt check, for exceptions
 * unwinding listened frames the abort hook and the stash (a wasm function keeping the exception
 * for the abort hook to read back), and the dirty-page mark function `(ea: i64, n: i32) → ()` of
 * the instance's memory.
 */
export type HookSlot =
  | { readonly kind: 'before' | 'after'; readonly type: FuncType }
  | { readonly kind: 'tail' | 'check' | 'abort' | 'stash' }
  | { readonly kind: 'dirty' }
  /** Event-sink recorders (sink.ts): wasm functions `(i32) → ()` of the instance's recorder. */
  | { readonly kind: 'sinkEnter' | 'sinkExit' | 'sinkTail' | 'sinkAbort' }
  /** The cold function of inline event-sink records (sink.ts): `() → i64`. */
  | { readonly kind: 'sinkCold' };

/** Module-name prefix of rewritten guests in V8 frame URLs (the engine appends its tag and an id). */
export const GUEST_NAME_PREFIX = 'wasmscopeguest';

export interface Rewritten {
  readonly bytes: Uint8Array;
  /** Whether the defined memories were turned into the imports `m`/<memory index>. */
  readonly memoryImported: boolean;
  /**
   * Per defined function: new offset minus original offset, for bodies copied unchanged. Offsets
   * of V8 frames in such a body map back by subtracting it.
   */
  readonly bodyDelta: Int32Array;
  /** Per defined function: its instrumented body, if it was rewritten. */
  readonly instrumented: ReadonlyArray<InstrumentedBody | undefined>;
  /** Per defined function: absolute offset of its new code (after the locals), for instrumented ones. */
  readonly newCodeStart: Int32Array;
  /** The appended `$nanTrap` function (precise traps), or -1. */
  readonly nanTrapFunc: number;
  /** The global holding the last `call_indirect` element index (exported as {@link HIDDEN_LAST_INDEX}), or -1. */
  readonly lastIndexGlobal: number;
  /** Slots of the hook table (the import `t`/`hooks`); empty when there is none. */
  readonly hooks: readonly HookSlot[];
  /**
   * Whether the defined tables became imports `t`/`<table index>` and the hook table the import
   * `t`/`hooks` (when there are hooks): the engine creates and fills them before instantiation,
   * so hooks work in the start function and in functions a failed instantiation left in tables.
   */
  readonly tablesImported: boolean;
  /** The defined functions exported as {@link hiddenFunc}: every one in C.refs not exported. */
  readonly hiddenFuncs: readonly number[];
  /** Whether writes mark dirty pages: the hook slot `dirty` holds the mark function. */
  readonly dirtyPages: boolean;
  /** Whether the marks are written inline into the import `d`/`bits` (memory 1, multi-memory). */
  readonly inlineDirtyMarks: boolean;
  /** Whether passive segments have drop flags ({@link hiddenDropped}) and the {@link HIDDEN_DROP} function. */
  readonly dropFlags: boolean;
  /** Whether event-sink records are written inline into the import `r`/`ring` (the ring's memory, sink.ts). */
  readonly inlineSink: boolean;
}

export interface RewriteOptions {
  /** Instrument bodies so that traps V8 words alike are told apart (instrument.ts). */
  readonly preciseTraps: boolean;
  /**
   * Per function index (imports first): 0 = not listened, 1 = hooks at entry and exits,
   * 2 = entry only (a listener whose after and abort do nothing), 3 = exits only (after-only: no
   * before hook, no abort).
   */
  readonly listened?: ReadonlyArray<number> | undefined;
  /** Per function index (imports first): whether an event sink records the function's calls (sink.ts). */
  readonly recorded?: ReadonlyArray<boolean> | undefined;
  /** Interrupt checks at loop headers (timeouts). */
  readonly interrupts?: boolean | undefined;
  /** Dirty-page marks before every write to memory (instrument.ts `DirtyPlan`). */
  readonly dirtyPages?: boolean | undefined;
  /**
   * Write dirty marks inline into a second memory (default: when V8 takes multi-memory); false
   * marks through the hook on every window miss.
   */
  readonly inlineDirtyMarks?: boolean | undefined;
  /**
   * Write event-sink records inline into the ring's memory, imported as one more memory (default:
   * when V8 takes multi-memory); false calls the recorders (sink.ts).
   */
  readonly inlineSink?: boolean | undefined;
  /**
   * Exception handling is on: listened bodies abort their frame when an exception leaves them,
   * through `try_table`/`throw_ref` (`exnref`) or `try`/`rethrow` (`legacy`, V8 without exnref).
   */
  readonly exceptions?: 'exnref' | 'legacy' | undefined;
}

/** Whether this V8 takes a module with two memories (multi-memory: V8 12 and later). */
export const MULTI_MEMORY = WebAssembly.validate(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 5, 2, 0, 1, 0, 1]));

/** Rewrites `m` for V8; `moduleName` names it in frame URLs (`wasm://wasm/<moduleName>-<hash>`). */
export function rewriteModule(m: Module, moduleName: string, options: RewriteOptions = { preciseTraps: false }): Rewritten {
  const imports: Import[] = m.imports.map((imp, k) => ({ module: 'i', name: String(k), desc: declarable(imp.desc), offset: imp.offset }));
  // Defined memories become imports `m`/<memory index> after every original import, so each keeps
  // its index (imported memories come first in the index space).
  const memoryImported = m.memories.length > 0;
  m.memories.forEach((mem, i) => {
    imports.push({ module: 'm', name: String(m.numImportedMemories + i), desc: declarable({ kind: 2, memory: mem }), offset: -1 });
  });
  const memories: Module['memories'] = [];
  // Defined tags become imports `e`/<tag index> too: the runtime makes every tag (store/tags.ts), so
  // an exception keeps its tag across modules and across the JS boundary.
  m.tags.forEach((tag, i) => {
    imports.push({ module: 'e', name: String(m.numImportedTags + i), desc: { kind: 4, tag }, offset: -1 });
  });
  const exports: Export[] = [...m.exports];
  for (let i = 0; i < m.tables.length; i++) {
    exports.push({ name: hiddenTable(m.numImportedTables + i), kind: 1, index: m.numImportedTables + i, offset: -1 });
  }
  for (let i = 0; i < m.globals.length; i++) {
    exports.push({ name: hiddenGlobal(m.numImportedGlobals + i), kind: 3, index: m.numImportedGlobals + i, offset: -1 });
  }
  // Every defined function that can become a reference gets an export, so checkpoints can map
  // table elements to function indices and back (V8 hands out function objects only).
  const hiddenFuncs: number[] = [];
  const exportedFuncs = new Set<number>();
  for (const e of m.exports) if (e.kind === 0) exportedFuncs.add(e.index);
  for (const fi of declaredFunctionRefs(m)) {
    if (fi >= m.numImportedFuncs && !exportedFuncs.has(fi)) hiddenFuncs.push(fi);
  }
  hiddenFuncs.sort((a, b) => a - b);
  for (const fi of hiddenFuncs) exports.push({ name: hiddenFunc(fi), kind: 0, index: fi, offset: -1 });
  const customSections: CustomSection[] = [];
  const orig = m.customSections.find((c) => c.name === 'name');
  customSections.push({
    name: 'name',
    data: renameModule(orig?.data, moduleName),
    offset: orig?.offset ?? m.bytes.length,
  });

  let codes: readonly EncodableBody[] = m.codes;
  let types = m.types;
  let funcTypeIndices = m.funcTypeIndices;
  let tables = m.tables;
  let tablesImported = false;
  const instrumented: Array<InstrumentedBody | undefined> = [];
  let nanTrapFunc = -1;
  let lastIndexGlobal = -1;
  let globals = m.globals;
  const hooks: HookSlot[] = [];
  const listened = options.listened;
  const recorded = options.recorded;
  const anyRecorded = recorded !== undefined && recorded.includes(true);
  const anyListened = (listened !== undefined && listened.some((x) => x !== 0)) || anyRecorded;
  const interrupts = options.interrupts === true;
  // Without a memory there is nothing to mark.
  const dirtyPages = options.dirtyPages === true && m.memorySpace.length > 0;
  if (dirtyPages && m.memorySpace.length > 1) throw new Error('not supported: dirty-page tracking of a module with several memories');
  if (dirtyPages && m.memorySpace[0]?.limits.is64 === true) throw new Error('not supported: dirty-page tracking of a 64-bit memory');
  const passiveData = m.datas.map((d) => d.mode === 'passive');
  const passiveElems = m.elements.map((e) => e.mode === 'passive');
  const dropFlags = passiveData.includes(true) || passiveElems.includes(true);
  const inlineDirtyMarks = dirtyPages && (options.inlineDirtyMarks ?? MULTI_MEMORY);
  const inlineSink = anyRecorded && (options.inlineSink ?? MULTI_MEMORY);
  let ownerGlobal = -1;
  if (options.preciseTraps || anyListened || interrupts || dirtyPages || dropFlags) {
    const newTypes = [...m.types];
    const typeIndex = (t: FuncType): number => {
      const i = newTypes.findIndex((x) => sameType(x, t));
      if (i >= 0) return i;
      newTypes.push(t);
      return newTypes.length - 1;
    };
    const extraFuncTypes: number[] = [];
    // Appended globals: the interrupt budget, then (if some body uses it) the last call_indirect index.
    const budgetGlobal = interrupts ? m.globalSpace.length : -1;
    if (options.preciseTraps) {
      nanTrapFunc = m.numImportedFuncs + m.codes.length;
      lastIndexGlobal = m.globalSpace.length + (interrupts ? 1 : 0);
      extraFuncTypes.push(typeIndex({ params: [], results: [] }));
    }
    // Then the drop flags (globals) and `$drop` (function).
    let nextGlobal = m.globalSpace.length + (interrupts ? 1 : 0) + (options.preciseTraps ? 1 : 0);
    let nextFunc = m.numImportedFuncs + m.codes.length + (options.preciseTraps ? 1 : 0);
    const markType = dirtyPages ? typeIndex({ params: [I64, I32], results: [] }) : -1;
    let drops: DropPlan | undefined;
    let dropFunc = -1;
    if (dropFlags) {
      const flag = (passive: boolean): number => (passive ? nextGlobal++ : -1);
      drops = { data: Int32Array.from(passiveData, flag), elem: Int32Array.from(passiveElems, flag) };
      dropFunc = nextFunc++;
      extraFuncTypes.push(typeIndex({ params: [I32], results: [] }));
    }
    let hookTable = -1;
    let i32Type = -1;
    let tailSlot = -1;
    let checkSlot = -1;
    let unwind: ListenPlan['unwind'];
    let sinkSlots: SinkSlots | undefined;
    const hookSlot = new Map<string, number>();
    const slotFor = (kind: 'before' | 'after', t: FuncType): { slot: number; type: number } => {
      const key = `${kind}:${t.params.join(',')}`;
      let slot = hookSlot.get(key);
      if (slot === undefined) {
        slot = hooks.length;
        hooks.push({ kind, type: t });
        hookSlot.set(key, slot);
      }
      return { slot, type: typeIndex(t) };
    };
    let dirtySlot = -1;
    if (anyListened || interrupts || dirtyPages) {
      hookTable = m.tableSpace.length;
      i32Type = typeIndex({ params: [I32], results: [] });
      if (anyListened) {
        tailSlot = hooks.length;
        hooks.push({ kind: 'tail' });
        if (options.exceptions !== undefined) {
          const abortSlot = hooks.length;
          hooks.push({ kind: 'abort' });
          const stashSlot = options.exceptions === 'exnref' ? hooks.length : -1;
          if (stashSlot >= 0) hooks.push({ kind: 'stash' });
          unwind = {
            mode: options.exceptions,
            abortSlot,
            stashSlot,
            stashType: stashSlot >= 0 ? typeIndex({ params: [EXNREF], results: [] }) : -1,
          };
        }
        if (anyRecorded && inlineSink) {
          const coldSlot = hooks.length;
          hooks.push({ kind: 'sinkCold' });
          ownerGlobal = nextGlobal++;
          sinkSlots = {
            enter: -1,
            exit: -1,
            tail: -1,
            abort: -1,
            inline: {
              // After the guest's memories and the dirty-page marks.
              memory: m.memorySpace.length + (inlineDirtyMarks ? 1 : 0),
              ownerGlobal,
              coldSlot,
              coldType: typeIndex({ params: [], results: [I64] }),
            },
          };
        } else if (anyRecorded) {
          const enter = hooks.length;
          hooks.push({ kind: 'sinkEnter' }, { kind: 'sinkExit' }, { kind: 'sinkTail' });
          let abort = -1;
          if (options.exceptions !== undefined) {
            abort = hooks.length;
            hooks.push({ kind: 'sinkAbort' });
          }
          sinkSlots = { enter, exit: enter + 1, tail: enter + 2, abort };
        }
      }
      if (interrupts) {
        checkSlot = hooks.length;
        hooks.push({ kind: 'check' });
      }
      if (dirtyPages) {
        dirtySlot = hooks.length;
        hooks.push({ kind: 'dirty' });
      }
    }
    const dirty: DirtyPlan | undefined = dirtyPages
      ? { hookSlot: dirtySlot, hookType: markType, inlineMarks: inlineDirtyMarks }
      : undefined;
    const nCodes = m.codes.length;
    let list: EncodableBody[] = [];
    let usesLastIndex = false;
    // One plan serves every body without hooks (no allocation per body: compile latency).
    const plain: InstrumentPlan = {
      nanTrapFunc,
      lastIndexGlobal,
      hookTable,
      i32Type,
      listen: undefined,
      interrupt: interrupts ? { checkSlot, budgetGlobal, entryChecked: entryCheckedBodies(m) } : undefined,
      typeIndex,
      dirty,
      drops,
    };
    if (!interrupts && !anyListened && !dirtyPages) {
      // Precise traps and drop flags only: bodies without a byte that could be such an opcode stay
      // as they are, found for the whole code section at once; only the others go through the
      // instrumenter.
      instrumented.length = nCodes;
      instrumented.fill(undefined);
      list = m.codes.slice();
      const candidates = options.preciseTraps ? trapCandidateBodies(m) : [];
      if (drops !== undefined) {
        candidates.push(...dropCandidateBodies(m));
        candidates.sort((a, b) => a - b);
      }
      for (let k = 0; k < candidates.length; k++) {
        const i = candidates[k]!;
        if (k > 0 && candidates[k - 1] === i) continue;
        const b = instrumentBody(m, i, plain);
        if (b !== undefined) {
          instrumented[i] = b;
          list[i] = b;
          if (b.usesLastIndex === true) usesLastIndex = true;
        }
      }
    } else {
      for (let i = 0; i < nCodes; i++) {
        const fi = m.numImportedFuncs + i;
        let listen: ListenPlan | undefined;
        const mode = listened?.[fi] ?? 0;
        const records = recorded?.[fi] === true;
        if (mode !== 0 || records) {
          const ft = m.types[m.funcTypeIndices[i]!]!;
          const none = { slot: -1, type: -1 };
          const before = mode === 0 ? none : slotFor('before', { params: [I32, ...ft.params], results: [] });
          const after = mode === 0 ? none : slotFor('after', { params: [I32, ...ft.results], results: [] });
          const multi = ft.results.length > 1;
          listen = {
            id: fi,
            beforeSlot: before.slot,
            beforeType: before.type,
            afterSlot: after.slot,
            afterType: after.type,
            tailSlot,
            blockType:
              ft.results.length === 0 ? BLOCK_EMPTY : multi ? typeIndex({ params: [], results: ft.results }) : blockResult(ft.results[0]!),
            exits: mode === 1 || mode === 3,
            entry: mode !== 3,
            listener: mode !== 0,
            sink: records ? sinkSlots : undefined,
            unwind,
          };
        }
        const plan: InstrumentPlan = listen === undefined ? plain : { ...plain, listen };
        const b = instrumentBody(m, i, plan);
        instrumented.push(b);
        if (b === undefined) {
          list.push(m.codes[i]!);
        } else {
          list.push(b);
          if (b.usesLastIndex === true) usesLastIndex = true;
        }
      }
    }
    if (interrupts) globals = [...globals, i32Global(INTERRUPT_INTERVAL)];
    if (options.preciseTraps) {
      const trapBody = { encoded: new ByteWriter(3).u32(0).unreachable().end().finish() }; // no locals
      list.push(trapBody);
      if (usesLastIndex) {
        globals = [...globals, i32Global(0)];
        exports.push({ name: HIDDEN_LAST_INDEX, kind: 3, index: lastIndexGlobal, offset: -1 });
      } else {
        // Unused; kept when globals follow, so their indices hold.
        if (drops !== undefined || ownerGlobal >= 0) globals = [...globals, i32Global(0)];
        lastIndexGlobal = -1;
      }
    }
    if (drops !== undefined) {
      const flags: Module['globals'][number][] = [];
      drops.data.forEach((g, i) => {
        if (g < 0) return;
        flags.push(i32Global(0));
        exports.push({ name: hiddenDropped('data', i), kind: 3, index: g, offset: -1 });
      });
      drops.elem.forEach((g, i) => {
        if (g < 0) return;
        flags.push(i32Global(0));
        exports.push({ name: hiddenDropped('elem', i), kind: 3, index: g, offset: -1 });
      });
      globals = [...globals, ...flags];
      list.push({ encoded: dropBody(drops) });
      exports.push({ name: HIDDEN_DROP, kind: 0, index: dropFunc, offset: -1 });
    }
    if (ownerGlobal >= 0) {
      if (ownerGlobal !== m.globalSpace.length + globals.length - m.globals.length)
        throw new Error('internal error: sink owner global index');
      globals = [
        ...globals,
        { type: { valType: I64, mutable: true }, init: { instrs: [{ op: 'i64.const', value: OWNER_UNSET }], offset: -1 }, offset: -1 },
      ];
    }
    codes = list;
    types = newTypes.length === m.types.length ? m.types : newTypes;
    funcTypeIndices = extraFuncTypes.length === 0 ? m.funcTypeIndices : m.funcTypeIndices.concat(extraFuncTypes);
    if (hookTable >= 0) {
      // Imports keep the table index space: original imports, then the defined tables, then hooks.
      for (let i = 0; i < m.tables.length; i++) {
        imports.push({ module: 't', name: String(m.numImportedTables + i), desc: { kind: 1, table: m.tables[i]! }, offset: -1 });
      }
      imports.push({
        module: 't',
        name: 'hooks',
        desc: { kind: 1, table: { elemType: 0x70, limits: { min: hooks.length, max: hooks.length, shared: false } } },
        offset: -1,
      });
      tables = [];
      for (let k = exports.length - 1; k >= 0; k--) if (exports[k]!.kind === 1 && exports[k]!.name.startsWith(HIDDEN)) exports.splice(k, 1);
      tablesImported = true;
    }
    // The mark bytes: memory 1, after every memory import (the guest's is memory 0).
    if (inlineDirtyMarks)
      imports.push({ module: 'd', name: 'bits', desc: { kind: 2, memory: { limits: { min: 1, max: 1, shared: false } } }, offset: -1 });
    // The event ring: the memory after those.
    if (ownerGlobal >= 0) {
      imports.push({
        module: 'r',
        name: 'ring',
        desc: { kind: 2, memory: { limits: { min: RING_PAGES, max: RING_PAGES, shared: false } } },
        offset: -1,
      });
    }
  }
  const out = encodeModule(
    {
      ...m,
      types,
      funcTypeIndices,
      imports,
      memories,
      tags: [],
      tables,
      globals,
      exports,
      codes,
      customSections,
      // `$drop` holds data.drop of every passive data segment, which needs a data count section.
      dataCount: m.dataCount ?? (passiveData.includes(true) ? m.datas.length : undefined),
    },
    m,
  );
  const bodyDelta = new Int32Array(m.codes.length);
  const newCodeStart = new Int32Array(m.codes.length);
  for (let i = 0; i < m.codes.length; i++) {
    bodyDelta[i] = out.bodyOffsets[i]! - m.codes[i]!.entryOffset;
    const b = instrumented[i];
    if (b !== undefined) newCodeStart[i] = out.bodyOffsets[i]! + u32Size(b.encoded.length) + b.localsLength;
  }
  return {
    bytes: out.bytes,
    memoryImported,
    bodyDelta,
    instrumented,
    newCodeStart,
    nanTrapFunc,
    lastIndexGlobal,
    hooks,
    tablesImported,
    hiddenFuncs,
    dirtyPages,
    inlineDirtyMarks,
    dropFlags,
    inlineSink: ownerGlobal >= 0,
  };
}

const I32 = 0x7f;
const I64 = 0x7e;

/**
 * The body of `$drop(k)`: drops data segment k, or element segment k - (data segments), when it is
 * passive, and sets its flag; a `br_table` picks the case.
 */
function dropBody(drops: DropPlan): Uint8Array {
  const cases: Array<{ kind: 'data' | 'elem'; segment: number; flag: number }> = [];
  const targets: number[] = [];
  const add = (kind: 'data' | 'elem', flags: Int32Array): void => {
    flags.forEach((flag, segment) => {
      if (flag < 0) {
        targets.push(-1);
      } else {
        targets.push(cases.length);
        cases.push({ kind, segment, flag });
      }
    });
  };
  add('data', drops.data);
  add('elem', drops.elem);
  const n = cases.length;
  const c = new ByteWriter(64 + 8 * targets.length).u32(0);
  for (let k = 0; k <= n; k++) c.block(BLOCK_EMPTY); // the default (outermost), then one per case
  c.localGet(0).brTable(
    targets.map((t) => (t < 0 ? n : t)),
    n,
  );
  for (const cs of cases) {
    c.end();
    if (cs.kind === 'data') c.dataDrop(cs.segment);
    else c.elemDrop(cs.segment);
    c.i32Const(1).globalSet(cs.flag).return();
  }
  return c.end().end().finish();
}

const EXNREF = 0x69;

/** Most pages a memory the runtime makes can have (its page limit is at most this). */
const MAX_RUNTIME_PAGES = 65536;

/**
 * An import type V8 accepts: a memory maximum above what the runtime ever makes (memory64 allows
 * 2^48 pages, V8 declares at most 262144) is clamped. Every memory the runtime hands a guest was
 * made by the store with the runtime's page limit, so the clamped type still matches it.
 */
function declarable(d: Import['desc']): Import['desc'] {
  if (d.kind !== 2) return d;
  const l = d.memory.limits;
  if (l.max === undefined || l.max <= MAX_RUNTIME_PAGES) return d;
  return { kind: 2, memory: { limits: { ...l, max: Math.max(l.min, MAX_RUNTIME_PAGES) } } };
}

/** An appended mutable i32 global with initial value `value`. */
function i32Global(value: number): Module['globals'][number] {
  return { type: { valType: I32, mutable: true }, init: { instrs: [{ op: 'i32.const', value }], offset: -1 }, offset: -1 };
}

function sameType(a: FuncType, b: FuncType): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((x, i) => x === b.params[i]) &&
    a.results.every((x, i) => x === b.results[i])
  );
}

/**
 * A name-section payload with module name `name` and the other subsections of `data` (function
 * and local names, which V8 shows in `Error.stack`). A malformed original is dropped.
 */
export function renameModule(data: Uint8Array | undefined, name: string): Uint8Array {
  const w = new ByteWriter(64 + (data?.length ?? 0));
  w.u8(0).sized(new ByteWriter(32).name(name)); // the module name subsection
  if (data === undefined) return w.finish();
  const rest = new ByteWriter(data.length);
  let p = 0;
  try {
    while (p < data.length) {
      const start = p;
      const id = data[p++]!;
      let size = 0;
      let shift = 0;
      for (;;) {
        const b = data[p++];
        if (b === undefined || shift > 28) throw new Error('malformed');
        size |= (b & 0x7f) << shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
      }
      size >>>= 0;
      if (p + size > data.length) throw new Error('malformed');
      p += size;
      if (id !== 0) rest.bytes(data.subarray(start, p));
    }
  } catch {
    return w.finish();
  }
  w.bytes(rest.written());
  return w.finish();
}
