/**
 * Body instrumentation for the compiler engine: the bodies that need hooks are rewritten, the others
 * stay byte-for-byte copies (see rewrite.ts). Three kinds of hooks: listeners (an entry hook and one
 * exit hook), interrupt checks (at loop heads and at the entries of functions a call cycle can pass)
 * and *precise traps*.
 *
 * Precise traps: V8 reports one text where wazero has two, and the operand that decides is gone by
 * the time JS sees the error:
 * - a trapping float→int conversion of a NaN ("invalid conversion to integer") vs. out of range
 *   ("integer overflow"): a NaN check before the conversion calls an appended `$nanTrap`;
 * - a `call_indirect` of a null entry ("invalid table access") vs. one of another type ("indirect
 *   call type mismatch"): the element index is saved in an appended global before the call, and
 *   the trap mapper looks the entry up.
 * A trap whose innermost frame is `$nanTrap` is known precisely; otherwise V8's text is. Only the
 * bodies with a byte that could be such an opcode are walked (compile latency).
 */
import { Buffer } from 'node:buffer';
import { BLOCK_EMPTY, ByteWriter, blockResult, type BlockType } from '../runtime/binary/encoder.js';
import { nextInstr, readLeb, skipLeb } from '../runtime/binary/instr.js';
import type { FuncType, Module } from '../runtime/binary/module.js';
import { CODE_FC, CODE_FD, CODE_FE, NUM_CODES, OPS, Op } from '../runtime/binary/opcodes.js';
import { FunctionEventKind } from '../runtime/api/event-sink.js';
import { emitRecord } from './sink.js';

const ENTER = FunctionEventKind.Enter;
const EXIT = FunctionEventKind.Exit;
const TAIL = FunctionEventKind.Tail;
const ABORT = FunctionEventKind.Abort;

const opScratch = new Int32Array(1);

/** An instrumented body and how its offsets map back. */
export interface InstrumentedBody {
  /** Locals and code, without the leading size. */
  readonly encoded: Uint8Array;
  /** Byte length of the local declarations at the start of `encoded`. */
  readonly localsLength: number;
  /**
   * Segments of the new code, in order: `newStart[i]` (relative to the start of the new code) maps
   * to `origStart[i]` (absolute in the original binary); `copied[i]` says whether offsets advance
   * together (copied bytes) or all map to `origStart[i]` (inserted code).
   */
  readonly newStart: Int32Array;
  readonly origStart: Int32Array;
  readonly copied: Uint8Array;
  /** Whether it writes the last-index global (has a call_indirect, precise traps). */
  readonly usesLastIndex?: boolean;
}

/** Original offset of `rel` (relative to the start of the body's new code). */
export function mapInstrumentedOffset(b: InstrumentedBody, rel: number): number {
  let lo = 0;
  let hi = b.newStart.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (b.newStart[mid]! <= rel) lo = mid;
    else hi = mid - 1;
  }
  const s = b.newStart[lo] ?? 0;
  return b.copied[lo] === 1 ? b.origStart[lo]! + (rel - s) : b.origStart[lo]!;
}

const F32 = 0x7d;
const F64 = 0x7c;
const I32 = 0x7f;
const I64 = 0x7e;
const EXNREF = 0x69;
/** The `catch_all_ref` kind of a try_table catch clause. */
const CATCH_ALL_REF = 3;

/** Trapping truncations and the float type they take. */
const TRUNC: ReadonlyMap<number, number> = new Map([
  [0xa8, F32],
  [0xa9, F32],
  [0xaa, F64],
  [0xab, F64],
  [0xae, F32],
  [0xaf, F32],
  [0xb0, F64],
  [0xb1, F64],
]);

/** Bytes that could be a trapping truncation or a `call_indirect`/`return_call_indirect` opcode. */
const CANDIDATE = ((): Uint8Array => {
  const t = new Uint8Array(256);
  for (const op of TRUNC.keys()) t[op] = 1;
  t[0x11] = 1;
  t[0x13] = 1;
  return t;
})();

/**
 * Whether bytes `[start, end)` of a body contain a byte that could be an opcode precise traps
 * instrument. A small, separate loop so the per-body prefilter gets optimized early (compile latency).
 */
function mayHaveTrapOpcodes(bytes: Uint8Array, start: number, end: number): boolean {
  for (let q = start; q < end; q++) if (CANDIDATE[bytes[q]!] === 1) return true;
  return false;
}

/** The byte values of {@link CANDIDATE}. */
const CANDIDATE_BYTES: readonly number[] = ((): number[] => {
  const out: number[] = [];
  for (let b = 0; b < 256; b++) if (CANDIDATE[b] === 1) out.push(b);
  return out;
})();

/**
 * Indices (ascending) of the defined functions whose code holds a byte that could be an opcode
 * precise traps instrument: {@link mayHaveTrapOpcodes} for every body at once, by native
 * `indexOf` scans of the code section, so the cost follows the number of such bytes rather than
 * the module's size (compile latency).
 */
export function trapCandidateBodies(m: Module): number[] {
  const codes = m.codes;
  const n = codes.length;
  if (n === 0) return [];
  // A Buffer view (no copy): its indexOf is a native memchr.
  const bytes = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  const end = codes[n - 1]!.codeEnd;
  const mark = new Uint8Array(n);
  let count = 0;
  for (const v of CANDIDATE_BYTES) {
    let pos = bytes.indexOf(v, codes[0]!.codeStart);
    while (pos >= 0 && pos < end) {
      // The body whose entry starts at or before pos (bodies are in offset order).
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (codes[mid]!.entryOffset <= pos) lo = mid;
        else hi = mid - 1;
      }
      const b = codes[lo]!;
      if (pos >= b.codeStart && pos < b.codeEnd) {
        if (mark[lo] === 0) {
          mark[lo] = 1;
          count++;
        }
        pos = bytes.indexOf(v, b.codeEnd);
      } else {
        pos = bytes.indexOf(v, pos + 1);
      }
    }
  }
  const out = new Array<number>(count);
  for (let i = 0, k = 0; k < count; i++) if (mark[i] === 1) out[k++] = i;
  return out;
}

/** Float type taken by each trapping truncation opcode (0 for other opcodes). */
const TRUNC_TYPE = ((): Uint8Array => {
  const t = new Uint8Array(256);
  for (const [op, ty] of TRUNC) t[op] = ty;
  return t;
})();

/**
 * Offset of the first instruction in `[start, end)` that precise traps instrument (a trapping
 * float→int truncation, `call_indirect` or `return_call_indirect`), or -1.
 */
function firstTrapOpcode(bytes: Uint8Array, start: number, end: number): number {
  const op = opScratch;
  let p = start;
  while (p < end) {
    const at = p;
    p = nextInstr(bytes, p, op);
    const code = op[0]!;
    if ((code < 256 && TRUNC_TYPE[code] !== 0) || code === 0x11 || code === 0x13) return at;
  }
  return -1;
}

/** Listener hooks of one listened body (the indirect calls go through the appended hook table). */
export interface ListenPlan {
  /** Passed as the first (i32) argument of every hook: the function index. */
  readonly id: number;
  /** Slot and type index of the before hook `(i32, params…) → ()`. */
  readonly beforeSlot: number;
  readonly beforeType: number;
  /** Slot and type index of the after hook `(i32, results…) → ()`. */
  readonly afterSlot: number;
  readonly afterType: number;
  /** Slot of the tail hook `(i32) → ()` (type `i32Type`). */
  readonly tailSlot: number;
  /** Block type of the wrapper block: the function's results. */
  readonly blockType: BlockType;
  /** Whether exits call hooks (false for before-only listeners: entry only). */
  readonly exits: boolean;
  /** Whether a listener's before hook is called at entry (false when only an event sink records the function). */
  readonly listener?: boolean;
  /**
   * False for an after-only listener: no before hook and no abort from the unwind wrapper (it opens
   * no frame); exits still call the after hook.
   */
  readonly entry?: boolean;
  /**
   * Event-sink records (`withFunctionEventSink`), written at entry, at every exit, before a tail
   * call and, with exception handling, when an exception unwinds the body: inline into the ring's
   * memory (multi-memory, {@link SinkSlots.inline}), or by calling the instance's recorder
   * functions, each `(i32 function index) → ()` (type `i32Type`). No JS call either way (sink.ts).
   */
  readonly sink?: SinkSlots | undefined;
  /**
   * With exits, how an exception leaving the body reaches the abort hook (exception handling on):
   * `exnref`: a `try_table` with `catch_all_ref` hands the exception to the stash hook (slot
   * `stashSlot`, type `stashType`: `(exnref) → ()`, a wasm function, so the abort hook can read it
   * back), calls the abort hook and rethrows it with `throw_ref`; `legacy` (V8 without exnref):
   * `try … catch_all` calls the abort hook and `rethrow`s.
   */
  readonly unwind?:
    { readonly mode: 'exnref' | 'legacy'; readonly abortSlot: number; readonly stashSlot: number; readonly stashType: number } | undefined;
}

/** The recorder slots of an event sink (see {@link ListenPlan.sink}). */
export interface SinkSlots {
  readonly enter: number;
  readonly exit: number;
  readonly tail: number;
  /** -1 without exception handling. */
  readonly abort: number;
  /**
   * Records written inline into the ring's memory (multi-memory, sink.ts) instead of calls to the
   * recorders (whose slots are then unused): the ring's memory index, the appended i64 global
   * holding the instance's owner id `<< 32`, and the slot and type `() → i64` of the cold function.
   */
  readonly inline?:
    { readonly memory: number; readonly ownerGlobal: number; readonly coldSlot: number; readonly coldType: number } | undefined;
}

/**
 * Interrupt checks (timeouts), two kinds:
 * - at loop headers: an appended i32 local counts iterations, and every
 *   {@link INTERRUPT_INTERVAL} of them the check hook runs. A local (not a global) stays in a
 *   register, so tight loops keep their speed;
 * - at the entry of the functions a call cycle can pass (see `entryCheckedBodies` in store/interrupts.ts, shared with the interpreter): a
 *   module-wide budget global counts entries down, and every {@link INTERRUPT_INTERVAL} of them the
 *   check hook runs. Endless execution without a loop is a call cycle (recursion, `return_call`
 *   cycles, `call_indirect` chains, re-entry through the host).
 */
export interface InterruptPlan {
  /** Slot of the check hook `(i32) → ()` (type `i32Type`). */
  readonly checkSlot: number;
  /** The appended mutable i32 global counting function entries down to the next check. */
  readonly budgetGlobal: number;
  /** Per defined function: 1 when its entry is checked. */
  readonly entryChecked: Uint8Array;
}

/** Loop iterations (per activation) or calls (per instance) between two interrupt checks. */
export const INTERRUPT_INTERVAL = 1 << 16;

/**
 * Dirty-page tracking (`withDirtyPageTracking`): every write to memory 0 marks its 64 KiB page in the
 * memory's mark bytes (store/dirty-pages.ts). A write first checks a *window*, a page marked
 * already, held in an i32 local (a register): inside it nothing more runs (an add, a subtract, a
 * compare and a branch, no memory access). On a miss the pages are marked and the window moves:
 * - with multi-memory (V8 12+), by `i32.store8` into the mark bytes imported as memory 1: no call
 *   on any path, so loops keep their registers;
 * - without it, by calling the mark hook (a call on the cold path costs spills in loops).
 * The window starts empty in every activation and empties after every call (a host function may
 * have cleared the marks by taking a checkpoint). Locals start at 0, so the local holds the window's
 * start minus {@link WINDOW_NONE} (mod 2^32), and an address is compared as `ea - WINDOW_NONE` (the
 * bias folds into the offset's add): 0 is the empty window, whose page is the last of a 4 GiB memory
 * — the one page a write can reach unmarked, which `DirtyPages` counts as always marked. Bulk
 * writes (`memory.fill/copy/init`) call the hook directly. Measured on the guest corpus: see the
 * `snapshot` bench suite (a write-heavy inner loop pays most; so does a tiny recursive function
 * whose every activation writes once, as its window starts empty).
 */
export interface DirtyPlan {
  /** Slot and type index of the mark hook `(ea: i64, n: i32) → ()`. */
  readonly hookSlot: number;
  readonly hookType: number;
  /** Whether the mark bytes are memory 1 (multi-memory), written inline on a miss. */
  readonly inlineMarks: boolean;
}

/** The start of the empty window: the last page of a 4 GiB memory. */
const WINDOW_NONE = 0xffff0000;

/** Whether any instruction of `[start, end)` writes memory (a body the dirty plan changes). */
function hasWrites(bytes: Uint8Array, start: number, end: number): boolean {
  const op = opScratch;
  let p = start;
  while (p < end) {
    p = nextInstr(bytes, p, op);
    if (WRITE_BYTES[op[0]!] !== 0) return true;
  }
  return false;
}

/** `i32.store8` of value 1 into the mark byte of the page at the top of the stack (an i32 address). */
function markInline(out: ByteWriter): void {
  out.i32Const(16).i32ShrU().i32Const(1);
  // memarg with a memory index: align 0 with bit 6 set, memory 1, offset 0
  out.op(0x3a).u32(0x40).u32(1).u32(0);
}

/**
 * Dropped segments (read by checkpoints, which V8 cannot tell): per data and element segment index,
 * the appended mutable i32 global that `data.drop`/`elem.drop` of it set to 1, or -1 (segments that
 * are not passive are dropped once instantiated).
 */
export interface DropPlan {
  readonly data: Int32Array;
  readonly elem: Int32Array;
}

/** Bytes written by each write to memory (opcode code), 0 for other instructions, -1 for bulk writes. */
const BULK_PARAMS: readonly number[] = [I32, I32, I32];
const WRITE_BYTES = ((): Int8Array => {
  const t = new Int8Array(NUM_CODES);
  for (let c = 0x36; c <= 0x3e; c++) t[c] = OPS[c]!.memBytes; // stores
  t[CODE_FD + 0x0b] = 16; // v128.store
  for (let c = CODE_FD + 0x58; c <= CODE_FD + 0x5b; c++) t[c] = OPS[c]!.memBytes; // lane stores
  for (let c = CODE_FE + 0x17; c <= CODE_FE + 0x4e; c++) if (OPS[c] !== undefined) t[c] = OPS[c]!.memBytes; // atomic stores, rmw
  t[CODE_FC + 0x08] = -1; // memory.init
  t[CODE_FC + 0x0a] = -1; // memory.copy
  t[CODE_FC + 0x0b] = -1; // memory.fill
  return t;
})();

/** Bytes that could be the sub-opcode of `data.drop` or `elem.drop` after a 0xFC prefix. */
const DROP_SUB_OPCODES = [0x09, 0x0d];

/**
 * Indices (ascending) of the defined functions whose code holds a 0xFC byte followed by a `data.drop`
 * or `elem.drop` sub-opcode: the only bodies {@link DropPlan} can change.
 */
export function dropCandidateBodies(m: Module): number[] {
  const out: number[] = [];
  const bytes = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  m.codes.forEach((b, i) => {
    let pos = bytes.indexOf(0xfc, b.codeStart);
    while (pos >= 0 && pos < b.codeEnd) {
      if (DROP_SUB_OPCODES.includes(bytes[pos + 1]!)) {
        out.push(i);
        return;
      }
      pos = bytes.indexOf(0xfc, pos + 1);
    }
  });
  return out;
}

/** What to instrument in a body. */
export interface InstrumentPlan {
  /** Appended precise-trap functions, or -1 (off). */
  readonly nanTrapFunc: number;
  /** Appended mutable i32 global receiving each `call_indirect`'s element index (precise traps). */
  readonly lastIndexGlobal: number;
  /** The hook table (appended) and the `(i32) → ()` type index, when hooks are used. */
  readonly hookTable: number;
  readonly i32Type: number;
  readonly listen: ListenPlan | undefined;
  readonly interrupt: InterruptPlan | undefined;
  /** The index of a function type, appending it to the module's types if new (interrupts). */
  readonly typeIndex?: (t: FuncType) => number;
  /** Dirty-page marks before every write to memory. */
  readonly dirty?: DirtyPlan | undefined;
  /** Dropped-segment flags after every `data.drop`/`elem.drop` of a passive segment. */
  readonly drops?: DropPlan | undefined;
}

/** The parameter and result types of the block type at `p` (validated body). */
function blockTypeAt(m: Module, b: Uint8Array, p: number): FuncType {
  const x = b[p]!;
  if (x === 0x40) return { params: [], results: [] };
  if ((x & 0xc0) === 0x40) return { params: [], results: [x] }; // a value type (negative s33)
  return m.types[readLeb(b, p)]!;
}

/**
 * Instruments body `defIndex` of `m`, or returns undefined when the plan changes nothing in it.
 *
 * - Precise traps: checks before trapping truncations and `call_indirect`s (module comment).
 * - Listener: the body is wrapped in a `block` of the function's results, so every branch to the
 *   function label (`br`, `br_if`, `br_table`) and the fall-through end leave through one epilogue
 *   calling the after hook; `return` becomes a `br` to that block; a prologue calls the before hook
 *   with the params; `return_call*` first calls the tail hook (the frame is replaced).
 * - Interrupt: each `loop` header counts iterations in a local and calls the check hook every
 *   {@link INTERRUPT_INTERVAL}.
 */
export function instrumentBody(m: Module, defIndex: number, plan: InstrumentPlan): InstrumentedBody | undefined {
  const body = m.codes[defIndex]!;
  const type = m.types[m.funcTypeIndices[defIndex]!]!;
  const base = type.params.length + body.numLocals;
  const listen = plan.listen;
  const tmpF32 = base;
  const tmpF64 = base + 1;
  const tmpI32 = base + 2;
  const tmpI64 = base + 3;
  const tmpResults = base + 4;
  const sink = listen?.sink;
  // A wrapper block (one epilogue for every exit) when a listener's after or a sink record runs there.
  const wraps = listen !== undefined && (listen.exits || sink !== undefined);
  const nres = wraps && listen.exits ? type.results.length : 0;
  const unwind = wraps ? listen.unwind : undefined;
  // The exnref an exnref-mode wrapper catches (after the results' temporaries).
  const tmpExn = tmpResults + nres;
  const nExn = unwind?.mode === 'exnref' ? 1 : 0;
  const counter = tmpExn + nExn;
  let usesCounter = false;
  let usesLastIndex = false;
  const bytes = m.bytes;
  const end = body.codeEnd;
  const precise = plan.nanTrapFunc >= 0;
  const interrupt = plan.interrupt;
  let p = body.codeStart;
  const op = opScratch;
  const drops = plan.drops;
  // Dirty-page marks only in bodies that write memory.
  const dirty = plan.dirty !== undefined && hasWrites(bytes, p, end) ? plan.dirty : undefined;
  if (listen === undefined && interrupt === undefined && dirty === undefined && drops === undefined) {
    // Fast path: most bodies have nothing to instrument, and need no allocation.
    if (!precise) return undefined;
    // Byte prefilter: a body without any byte that could be such an opcode needs no walk.
    if (!mayHaveTrapOpcodes(bytes, p, end)) return undefined;
    const at = firstTrapOpcode(bytes, p, end);
    if (at < 0) return undefined;
    p = at;
  }
  // Locals appended after the counter (declared, with the counter, when used): dirty-page marking
  // parks a write's operands in them, one per (type, operand position).
  const extraBase = counter + 1;
  const extraTypes: number[] = [];
  const extraIndex = new Map<number, number>();
  const extra = (t: number, k: number): number => {
    const key = t * 8 + k;
    let i = extraIndex.get(key);
    if (i === undefined) {
      i = extraBase + extraTypes.length;
      extraTypes.push(t);
      extraIndex.set(key, i);
    }
    return i;
  };
  const window = dirty !== undefined ? extra(I32, 7) : -1; // keys 1..3 hold operands
  const out = new ByteWriter(body.codeEnd - body.codeStart + 64);
  const newStart: number[] = [];
  const origStart: number[] = [];
  const copied: number[] = [];
  let copyFrom = body.codeStart;
  let changed = false;
  const flush = (to: number): void => {
    if (to > copyFrom) {
      newStart.push(out.len);
      origStart.push(copyFrom);
      copied.push(1);
      out.bytes(m.bytes.subarray(copyFrom, to));
    }
    copyFrom = to;
  };
  /** Starts inserted code standing for the original instruction at `at`. */
  const insert = (at: number): void => {
    flush(at);
    changed = true;
    newStart.push(out.len);
    origStart.push(at);
    copied.push(0);
  };
  /** Calls the hook in slot `slot` of the hook table, of type `typeIndex`. */
  const hook = (slot: number, typeIndex: number): void => {
    out.i32Const(slot).callIndirect(typeIndex, plan.hookTable);
  };
  /** Writes a record of kind `kind` (a FunctionEventKind) for this function. */
  const record = (kind: number): void => {
    const id = listen!.id;
    const inline = sink!.inline;
    if (inline === undefined) {
      const slot = kind === 0 ? sink!.enter : kind === 1 ? sink!.exit : kind === 2 ? sink!.tail : sink!.abort;
      out.i32Const(id).i32Const(slot).callIndirect(plan.i32Type, plan.hookTable);
      return;
    }
    emitRecord(out, kind, {
      memory: inline.memory,
      t64: tmpI64,
      x32: tmpI32,
      base: (w) => void w.globalGet(inline.ownerGlobal),
      fi: (w) => void w.i32Const(id),
      cold: (w) => void w.i32Const(inline.coldSlot).callIndirect(inline.coldType, plan.hookTable).globalSet(inline.ownerGlobal),
    });
  };
  if (listen !== undefined) {
    insert(body.codeStart);
    if (sink !== undefined) record(ENTER);
    if (listen.listener !== false && listen.entry !== false) {
      out.i32Const(listen.id);
      for (let i = 0; i < type.params.length; i++) out.localGet(i);
      hook(listen.beforeSlot, listen.beforeType);
    }
    if (wraps) {
      // The wrapper the exits leave through is innermost: a branch to the function's label (or a
      // return) goes to it, at the depth it had in the original body.
      if (unwind?.mode === 'exnref') {
        // block $done; block $caught (result exnref); try_table (catch_all_ref $caught); block $wrap
        out.block(listen.blockType).block(blockResult(EXNREF));
        out.u8(Op.TryTable).s32(listen.blockType).u32(1).u8(CATCH_ALL_REF).u32(0);
      } else if (unwind?.mode === 'legacy') {
        out.u8(Op.Try).s32(listen.blockType);
      }
      out.block(listen.blockType);
    }
  }
  if (interrupt !== undefined && interrupt.entryChecked[defIndex] === 1) {
    if (listen === undefined) insert(body.codeStart);
    // budget -= 1; when it goes below zero: budget = INTERVAL; check(0)
    const g = interrupt.budgetGlobal;
    out.globalGet(g).i32Const(1).i32Sub().localTee(tmpI32).globalSet(g);
    out.localGet(tmpI32).i32Const(0).i32LtS().if(BLOCK_EMPTY);
    out.i32Const(INTERRUPT_INTERVAL).globalSet(g).i32Const(0);
    hook(interrupt.checkSlot, plan.i32Type);
    out.end();
  }
  const exits = wraps ? listen : undefined;
  // Label depth inside the body (the wrapper block, when present, is depth 0 at the top level).
  // Enclosing labels, innermost last: 1 for a loop wrapped for interrupt checks (3 more labels).
  const labels: number[] = [];
  /** A branch depth after wrapping: +3 per wrapped loop the branch leaves. */
  const newDepth = (k: number): number => {
    let n = k;
    for (let j = 0; j < k && j < labels.length; j++) if (labels[labels.length - 1 - j] === 1) n += 3;
    return n;
  };
  let wrapped = 0;
  while (p < end) {
    const at = p;
    p = nextInstr(bytes, p, op);
    const code = op[0]!;
    if (code === Op.TryTable && wrapped > 0 && labels.includes(1)) {
      // Catch labels (relative to outside the try_table) across wrapped loops grow.
      insert(at);
      out.u8(Op.TryTable);
      let q = at + 1;
      const btEnd = skipLeb(bytes, q);
      out.bytes(bytes.subarray(q, btEnd));
      q = btEnd;
      const n = readLeb(bytes, q);
      q = skipLeb(bytes, q);
      out.u32(n);
      for (let k = 0; k < n; k++) {
        const kind = bytes[q++]!;
        out.u8(kind);
        if (kind < 2) {
          out.u32(readLeb(bytes, q));
          q = skipLeb(bytes, q);
        }
        out.u32(newDepth(readLeb(bytes, q)));
        q = skipLeb(bytes, q);
      }
      copyFrom = p;
      labels.push(0);
      continue;
    }
    if (code === Op.Delegate || code === Op.Rethrow) {
      // delegate ends a try (its label is outside it); rethrow names an enclosing catch.
      if (code === Op.Delegate) labels.pop();
      if (wrapped > 0 && labels.includes(1)) {
        insert(at);
        out.u8(code).u32(newDepth(readLeb(bytes, at + 1)));
        copyFrom = p;
      }
      continue;
    }
    if (code === 0x02 || code === 0x03 || code === 0x04 || code === 0x06 || code === Op.TryTable) {
      if (code === 0x03 && interrupt !== undefined) {
        // The check's call sits outside the loop, so the loop body keeps its registers (a call
        // inside, even on a cold path, costs spills on every iteration):
        //   block bt $exit; loop bt $again; block P→P $cold
        //     loop bt (counter check: br_if $cold every INTERVAL iterations) … end
        //     br $exit
        //   end; check(); br $again; end; end
        const bt = blockTypeAt(m, bytes, at + 1);
        const btBytes = bytes.subarray(at + 1, p); // the loop's block type, as encoded
        flush(at);
        insert(at);
        out.u8(Op.Block).bytes(btBytes).u8(Op.Loop).bytes(btBytes);
        out.block(bt.params.length === 0 ? BLOCK_EMPTY : plan.typeIndex!({ params: bt.params, results: bt.params }));
        copyFrom = at;
        flush(p); // the original `loop bt`
        insert(at);
        usesCounter = true;
        // br_if $cold when ((counter += 1) & (INTERVAL - 1)) == 0
        out.localGet(counter).i32Const(1).i32Add().localTee(counter);
        out
          .i32Const(INTERRUPT_INTERVAL - 1)
          .i32And()
          .i32Eqz()
          .brIf(1);
        copyFrom = p;
        labels.push(1);
        wrapped++;
      } else {
        labels.push(0);
      }
      continue;
    }
    if (code === 0x0b) {
      if (labels.length === 0) {
        // The function's final end.
        if (exits !== undefined) {
          insert(at);
          out.end(); // closes the wrapper block
          if (unwind !== undefined) {
            if (unwind.mode === 'exnref') {
              // end try_table; br $done; end $caught: stash, abort, rethrow; end $done
              out.end().br(1).end();
              out.localTee(tmpExn);
              if (exits.exits && exits.entry !== false) {
                hook(unwind.stashSlot, unwind.stashType);
                out.i32Const(exits.id);
                hook(unwind.abortSlot, plan.i32Type);
              } else {
                out.u8(Op.Drop);
              }
              if (sink !== undefined) record(ABORT);
              out.localGet(tmpExn).u8(Op.ThrowRef).end();
            } else {
              // catch_all: abort, rethrow; end try
              out.u8(Op.CatchAll);
              if (exits.exits && exits.entry !== false) {
                out.i32Const(exits.id);
                hook(unwind.abortSlot, plan.i32Type);
              }
              if (sink !== undefined) record(ABORT);
              out.u8(Op.Rethrow).u32(0).end();
            }
          }
          if (sink !== undefined) record(EXIT);
          if (exits.exits) {
            const n = type.results.length;
            for (let k = n - 1; k >= 0; k--) out.localSet(tmpResults + k);
            out.i32Const(exits.id);
            for (let k = 0; k < n; k++) out.localGet(tmpResults + k);
            hook(exits.afterSlot, exits.afterType);
            for (let k = 0; k < n; k++) out.localGet(tmpResults + k);
          }
        }
      } else if (labels.pop() === 1) {
        flush(p); // the loop's end
        insert(at);
        // br $exit; end $cold; check(0); br $again; end $again; end $exit
        out.br(2).end().i32Const(0);
        hook(interrupt!.checkSlot, plan.i32Type);
        out.br(0).end().end();
        copyFrom = p;
      }
      continue;
    }
    if (exits !== undefined && code === 0x0f) {
      insert(at);
      out.br(newDepth(labels.length)); // to the wrapper block
      copyFrom = p;
      continue;
    }
    if (wrapped > 0 && labels.includes(1) && (code === 0x0c || code === 0x0d || code === 0x0e)) {
      // Branch depths across wrapped loops grow.
      if (code === 0x0e) {
        let q = at + 1;
        const n = readLeb(bytes, q);
        q = skipLeb(bytes, q);
        const targets: number[] = [];
        for (let i = 0; i < n; i++) {
          targets.push(newDepth(readLeb(bytes, q)));
          q = skipLeb(bytes, q);
        }
        insert(at);
        out.brTable(targets, newDepth(readLeb(bytes, q)));
      } else {
        const depth = newDepth(readLeb(bytes, at + 1));
        insert(at);
        if (code === Op.Br) out.br(depth);
        else out.brIf(depth);
      }
      copyFrom = p;
      continue;
    }
    if (window >= 0 && WRITE_BYTES[code] !== 0) {
      // Park the operands, mark, then run the write on them (copied: its trap offsets map back).
      // memory.fill/copy/init are typed by the memory's index type (32-bit here: tracking refuses
      // 64-bit memories): three i32 operands.
      const params = OPS[code]!.params ?? BULK_PARAMS;
      insert(at);
      for (let k = params.length - 1; k >= 1; k--) out.localSet(extra(params[k]!, k));
      const addr = extra(I32, 0);
      out.localTee(addr);
      const n = WRITE_BYTES[code]!;
      if (n < 0) {
        // Bulk write of `n` (its last operand) bytes: mark them all, the window stays.
        out.i64ExtendI32U().localGet(extra(I32, 2)).i32Const(dirty!.hookSlot).callIndirect(dirty!.hookType, plan.hookTable);
      } else {
        let q = at + 1;
        if (code >= 0x100) q = skipLeb(bytes, q); // the sub-opcode of a prefixed instruction
        q = skipLeb(bytes, q); // align
        const offset = readLeb(bytes, q) >>> 0;
        // (ea - NONE) - local = ea - window: at most 64 KiB - n when the write lies inside it. An
        // address past 4 GiB wraps; such a write traps, whatever it marked.
        const biased = extra(I32, 5);
        out
          .i32Const((offset - WINDOW_NONE) | 0)
          .i32Add()
          .localTee(biased)
          .localGet(window)
          .i32Sub()
          .i32Const(65536 - n)
          .i32GtU();
        out.if(BLOCK_EMPTY);
        const ea = extra(I32, 6);
        out
          .localGet(biased)
          .i32Const(WINDOW_NONE | 0)
          .i32Add()
          .localTee(ea);
        if (dirty!.inlineMarks) {
          markInline(out);
          if (n > 1) {
            out
              .localGet(ea)
              .i32Const(n - 1)
              .i32Add();
            markInline(out);
          }
        } else {
          out.i64ExtendI32U().i32Const(n);
          out.i32Const(dirty!.hookSlot).callIndirect(dirty!.hookType, plan.hookTable);
        }
        out.localGet(biased).i32Const(-65536).i32And().localSet(window).end();
      }
      out.localGet(addr);
      for (let k = 1; k < params.length; k++) out.localGet(extra(params[k]!, k));
      copyFrom = at;
      flush(p);
      continue;
    }
    if (drops !== undefined && (code === CODE_FC + 0x09 || code === CODE_FC + 0x0d)) {
      const segment = readLeb(bytes, skipLeb(bytes, at + 1));
      const g = (code === CODE_FC + 0x09 ? drops.data : drops.elem)[segment] ?? -1;
      if (g >= 0) {
        insert(p); // after the drop
        out.i32Const(1).globalSet(g);
      }
      continue;
    }
    const trunc = precise && code < 256 && TRUNC_TYPE[code] !== 0 ? TRUNC_TYPE[code] : undefined;
    if (trunc !== undefined || (precise && (code === 0x11 || code === 0x13))) {
      insert(at);
      if (trunc !== undefined) {
        const tmp = trunc === F32 ? tmpF32 : tmpF64;
        // A NaN is the one value not equal to itself.
        out.localTee(tmp).localGet(tmp).localGet(tmp);
        if (trunc === F32) out.f32Ne();
        else out.f64Ne();
        out.if(BLOCK_EMPTY).call(plan.nanTrapFunc).end();
      } else {
        // The element index goes to $lastIndex: a trap at the call then looks the entry up (null:
        // invalid table access; else a type mismatch). Cheaper than a table.get.
        const table = readLeb(bytes, skipLeb(bytes, at + 1));
        if (m.tableSpace[table]?.limits.is64 === true) {
          // A 64-bit table's index: from 2^32 on it is out of bounds, recorded as 0xffffffff.
          out.localTee(tmpI64).i64Const(32n).i64ShrU().i32WrapI64();
          out.if(blockResult(I32)).i32Const(-1).else().localGet(tmpI64).i32WrapI64().end();
          out.globalSet(plan.lastIndexGlobal).localGet(tmpI64);
        } else {
          out.localTee(tmpI32).globalSet(plan.lastIndexGlobal).localGet(tmpI32);
        }
        usesLastIndex = true;
      }
    }
    if (exits !== undefined && (code === 0x12 || code === 0x13)) {
      if (trunc === undefined && !(precise && code === 0x13)) insert(at);
      if (sink !== undefined) record(TAIL);
      if (exits.exits) {
        out.i32Const(exits.id);
        hook(exits.tailSlot, plan.i32Type);
      }
    }
    if (window >= 0 && (code === Op.Call || code === Op.CallIndirect)) {
      // The callee may have reached a host function that cleared the marks: the window empties.
      insert(p);
      out.i32Const(0).localSet(window);
    }
  }
  if (!changed) return undefined;
  flush(body.codeEnd);
  const w = new ByteWriter(out.len + 32);
  const declareCounter = usesCounter || extraTypes.length > 0;
  w.u32(body.locals.length + 4 + nres + nExn + (declareCounter ? 1 : 0) + extraTypes.length);
  for (const g of body.locals) w.u32(g.count).u8(g.type);
  w.u32(1).u8(F32).u32(1).u8(F64).u32(1).u8(I32).u32(1).u8(I64);
  for (let k = 0; k < nres; k++) w.u32(1).u8(type.results[k]!);
  if (nExn > 0) w.u32(1).u8(EXNREF);
  if (declareCounter) w.u32(1).u8(I32);
  for (const t of extraTypes) w.u32(1).u8(t);
  const localsLength = w.len;
  w.bytes(out.written());
  return {
    encoded: w.finish(),
    localsLength,
    newStart: Int32Array.from(newStart),
    origStart: Int32Array.from(origStart),
    copied: Uint8Array.from(copied),
    usesLastIndex,
  };
}
