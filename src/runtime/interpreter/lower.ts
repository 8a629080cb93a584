/**
 * Lowers one validated function body into the interpreter's internal code (ir.ts).
 *
 * Register-style: every wasm operand-stack position has a fixed frame slot (its height, above the
 * locals), so instructions name their operands by slot and no push/pop happens at run time. On top
 * of that the lowering keeps a virtual stack of *deferred* operands:
 * - `local.get x` pushes "the value is in local x": consumers read x's slot directly (no copy);
 * - `i32.const k` pushes a constant: consumers with an immediate form use it (add/and/shl/compare/…);
 * - a producer followed by `local.set x`/`local.tee x` gets its destination patched to x.
 * Deferred entries are materialized into their own slots when that would change their meaning
 * (`local.set x` while a deferred `local.get x` is still on the stack), at block boundaries, for
 * call arguments and for branch values. `br_if`/`if` on an i32 comparison fuse into one
 * compare-and-branch instruction. Branch targets are resolved here: the run loop never searches.
 */
import { V128, isRefType, slotsOf, slotsOfTypes } from '../api/value-type.js';
import type { FuncType, FunctionBody, Module as IrModule } from '../binary/module.js';
import { MEMARG_HAS_MEMIDX, skipImmediates } from '../binary/instr.js';
import { OPS, type OpInfo } from '../binary/opcodes.js';
import { Reader } from '../binary/reader.js';
import { FUSED_PAIRS, I, instrLength } from './ir.js';
import type { Lowered } from './objects.js';
import { typeIdOf } from './objects.js';

const SLOT = 0;
const LOCAL = 1;
const CONST = 2;

interface Ctrl {
  /** 0 block, 1 loop, 2 if, 3 function, 4 legacy try (body), 5 legacy try (in a handler), 6 try_table. */
  kind: number;
  /** Virtual stack height (entries) below the block's params. */
  height: number;
  /** Slot of the first param / result. */
  slot: number;
  params: readonly number[];
  results: readonly number[];
  /** Code indices holding forward targets to patch with the end label. */
  fixups: number[];
  /** Loop head pc. */
  head: number;
  /** For `if`: index of the false-branch target operand, -1 once used. */
  elseFixup: number;
  unreachable: boolean;
  /** Handler-table positions holding forward targets to patch with the end label (catch clauses). */
  hfixups: number[];
  /**
   * A pc inside this block that no try nested in it covers (exceptions.ts): a `delegate` to this
   * label goes on searching handlers from there.
   */
  vpc: number;
  /** Tries: the first pc of the covered range, and (legacy) its end once the first handler starts. */
  tryStart: number;
  tryEnd: number;
  /** Legacy try: the slot holding the caught exception for `rethrow`; its clauses so far. */
  exnSlot: number;
  clauses: number[];
  /** try_table: its catch clauses as read (kind, tag, target ctrl). */
  catches: Array<{ kind: number; tag: number; target: Ctrl }> | undefined;
}

/** Kinds of handler-table entries (exceptions.ts). */
const H_TRY_TABLE = 0;
const H_CATCH = 1;
const H_DELEGATE = 2;

const EMPTY: readonly number[] = [];

/** Inverse of each fused compare-branch (to branch when an `if` condition is false). */
const INVERT: Record<number, number> = {
  [I.BR_EQ]: I.BR_NE,
  [I.BR_NE]: I.BR_EQ,
  [I.BR_LT_S]: I.BR_GE_S,
  [I.BR_GE_S]: I.BR_LT_S,
  [I.BR_LT_U]: I.BR_GE_U,
  [I.BR_GE_U]: I.BR_LT_U,
  [I.BR_GT_S]: I.BR_LE_S,
  [I.BR_LE_S]: I.BR_GT_S,
  [I.BR_GT_U]: I.BR_LE_U,
  [I.BR_LE_U]: I.BR_GT_U,
};

// i32 compare op (register form) → its negation (i32.eqz of a compare inverts it in place).
const CMP_NEGATE: Record<number, number> = {
  [I.I32_EQ]: I.I32_NE,
  [I.I32_NE]: I.I32_EQ,
  [I.I32_LT_S]: I.I32_GE_S,
  [I.I32_GE_S]: I.I32_LT_S,
  [I.I32_LT_U]: I.I32_GE_U,
  [I.I32_GE_U]: I.I32_LT_U,
  [I.I32_GT_S]: I.I32_LE_S,
  [I.I32_LE_S]: I.I32_GT_S,
  [I.I32_GT_U]: I.I32_LE_U,
  [I.I32_LE_U]: I.I32_GT_U,
};

// i32 compare op (register form) → fused branch op (register form); +10 for immediates.
const CMP_TO_BR: Record<number, number> = {
  [I.I32_EQ]: I.BR_EQ,
  [I.I32_NE]: I.BR_NE,
  [I.I32_LT_S]: I.BR_LT_S,
  [I.I32_LT_U]: I.BR_LT_U,
  [I.I32_GT_S]: I.BR_GT_S,
  [I.I32_GT_U]: I.BR_GT_U,
  [I.I32_LE_S]: I.BR_LE_S,
  [I.I32_LE_U]: I.BR_LE_U,
  [I.I32_GE_S]: I.BR_GE_S,
  [I.I32_GE_U]: I.BR_GE_U,
};

// Wasm opcode → IR op for i32 binary ops, and their immediate forms (-1: none).
const I32_BIN: Record<number, [number, number]> = {
  0x46: [I.I32_EQ, I.I32_EQI],
  0x47: [I.I32_NE, I.I32_NEI],
  0x48: [I.I32_LT_S, I.I32_LT_SI],
  0x49: [I.I32_LT_U, I.I32_LT_UI],
  0x4a: [I.I32_GT_S, I.I32_GT_SI],
  0x4b: [I.I32_GT_U, I.I32_GT_UI],
  0x4c: [I.I32_LE_S, I.I32_LE_SI],
  0x4d: [I.I32_LE_U, I.I32_LE_UI],
  0x4e: [I.I32_GE_S, I.I32_GE_SI],
  0x4f: [I.I32_GE_U, I.I32_GE_UI],
  0x6a: [I.I32_ADD, I.I32_ADDI],
  0x6b: [I.I32_SUB, -1],
  0x6c: [I.I32_MUL, I.I32_MULI],
  0x6d: [I.I32_DIV_S, -1],
  0x6e: [I.I32_DIV_U, -1],
  0x6f: [I.I32_REM_S, -1],
  0x70: [I.I32_REM_U, -1],
  0x71: [I.I32_AND, I.I32_ANDI],
  0x72: [I.I32_OR, I.I32_ORI],
  0x73: [I.I32_XOR, I.I32_XORI],
  0x74: [I.I32_SHL, I.I32_SHLI],
  0x75: [I.I32_SHR_S, I.I32_SHR_SI],
  0x76: [I.I32_SHR_U, I.I32_SHR_UI],
  0x77: [I.I32_ROTL, I.I32_ROTLI],
  0x78: [I.I32_ROTR, I.I32_ROTLI],
};
// Swapping operands of a compare with a constant on the left.
const SWAP_CMP: Record<number, number> = {
  [I.I32_EQ]: I.I32_EQ,
  [I.I32_NE]: I.I32_NE,
  [I.I32_LT_S]: I.I32_GT_S,
  [I.I32_GT_S]: I.I32_LT_S,
  [I.I32_LT_U]: I.I32_GT_U,
  [I.I32_GT_U]: I.I32_LT_U,
  [I.I32_LE_S]: I.I32_GE_S,
  [I.I32_GE_S]: I.I32_LE_S,
  [I.I32_LE_U]: I.I32_GE_U,
  [I.I32_GE_U]: I.I32_LE_U,
  [I.I32_ADD]: I.I32_ADD,
  [I.I32_MUL]: I.I32_MUL,
  [I.I32_AND]: I.I32_AND,
  [I.I32_OR]: I.I32_OR,
  [I.I32_XOR]: I.I32_XOR,
};
const IMM_OF: Record<number, number> = {};
for (const [reg, imm] of Object.values(I32_BIN)) if (imm >= 0) IMM_OF[reg] = imm;

/** Simple one-to-one mappings: wasm opcode → IR op (operands d, a[, b]). */
const SIMPLE: Record<number, number> = {
  0x45: I.I32_EQZ,
  0x50: I.I64_EQZ,
  0x51: I.I64_EQ,
  0x52: I.I64_NE,
  0x53: I.I64_LT_S,
  0x54: I.I64_LT_U,
  0x55: I.I64_GT_S,
  0x56: I.I64_GT_U,
  0x57: I.I64_LE_S,
  0x58: I.I64_LE_U,
  0x59: I.I64_GE_S,
  0x5a: I.I64_GE_U,
  0x5b: I.F32_EQ,
  0x5c: I.F32_NE,
  0x5d: I.F32_LT,
  0x5e: I.F32_GT,
  0x5f: I.F32_LE,
  0x60: I.F32_GE,
  0x61: I.F64_EQ,
  0x62: I.F64_NE,
  0x63: I.F64_LT,
  0x64: I.F64_GT,
  0x65: I.F64_LE,
  0x66: I.F64_GE,
  0x67: I.I32_CLZ,
  0x68: I.I32_CTZ,
  0x69: I.I32_POPCNT,
  0x79: I.I64_CLZ,
  0x7a: I.I64_CTZ,
  0x7b: I.I64_POPCNT,
  0x7c: I.I64_ADD,
  0x7d: I.I64_SUB,
  0x7e: I.I64_MUL,
  0x7f: I.I64_DIV_S,
  0x80: I.I64_DIV_U,
  0x81: I.I64_REM_S,
  0x82: I.I64_REM_U,
  0x83: I.I64_AND,
  0x84: I.I64_OR,
  0x85: I.I64_XOR,
  0x86: I.I64_SHL,
  0x87: I.I64_SHR_S,
  0x88: I.I64_SHR_U,
  0x89: I.I64_ROTL,
  0x8a: I.I64_ROTR,
  0x8b: I.F32_ABS,
  0x8c: I.F32_NEG,
  0x8d: I.F32_CEIL,
  0x8e: I.F32_FLOOR,
  0x8f: I.F32_TRUNC,
  0x90: I.F32_NEAREST,
  0x91: I.F32_SQRT,
  0x92: I.F32_ADD,
  0x93: I.F32_SUB,
  0x94: I.F32_MUL,
  0x95: I.F32_DIV,
  0x96: I.F32_MIN,
  0x97: I.F32_MAX,
  0x98: I.F32_COPYSIGN,
  0x99: I.F64_ABS,
  0x9a: I.F64_NEG,
  0x9b: I.F64_CEIL,
  0x9c: I.F64_FLOOR,
  0x9d: I.F64_TRUNC,
  0x9e: I.F64_NEAREST,
  0x9f: I.F64_SQRT,
  0xa0: I.F64_ADD,
  0xa1: I.F64_SUB,
  0xa2: I.F64_MUL,
  0xa3: I.F64_DIV,
  0xa4: I.F64_MIN,
  0xa5: I.F64_MAX,
  0xa6: I.F64_COPYSIGN,
  0xa8: I.I32_TRUNC_F32_S,
  0xa9: I.I32_TRUNC_F32_U,
  0xaa: I.I32_TRUNC_F64_S,
  0xab: I.I32_TRUNC_F64_U,
  0xac: I.I64_EXTEND_I32_S,
  0xad: I.I64_EXTEND_I32_U,
  0xae: I.I64_TRUNC_F32_S,
  0xaf: I.I64_TRUNC_F32_U,
  0xb0: I.I64_TRUNC_F64_S,
  0xb1: I.I64_TRUNC_F64_U,
  0xb2: I.F32_CONVERT_I32_S,
  0xb3: I.F32_CONVERT_I32_U,
  0xb4: I.F32_CONVERT_I64_S,
  0xb5: I.F32_CONVERT_I64_U,
  0xb6: I.F32_DEMOTE_F64,
  0xb7: I.F64_CONVERT_I32_S,
  0xb8: I.F64_CONVERT_I32_U,
  0xb9: I.F64_CONVERT_I64_S,
  0xba: I.F64_CONVERT_I64_U,
  0xbb: I.F64_PROMOTE_F32,
  0xc0: I.I32_EXTEND8_S,
  0xc1: I.I32_EXTEND16_S,
  0xc2: I.I64_EXTEND8_S,
  0xc3: I.I64_EXTEND16_S,
  0xc4: I.I64_EXTEND32_S,
};

const LOADS: Record<number, number> = {
  0x28: I.I32_LOAD,
  0x29: I.I64_LOAD,
  0x2a: I.I32_LOAD,
  0x2b: I.I64_LOAD,
  0x2c: I.I32_LOAD8_S,
  0x2d: I.I32_LOAD8_U,
  0x2e: I.I32_LOAD16_S,
  0x2f: I.I32_LOAD16_U,
  0x30: I.I64_LOAD8_S,
  0x31: I.I64_LOAD8_U,
  0x32: I.I64_LOAD16_S,
  0x33: I.I64_LOAD16_U,
  0x34: I.I64_LOAD32_S,
  0x35: I.I64_LOAD32_U,
};
const STORES: Record<number, number> = {
  0x36: I.I32_STORE,
  0x37: I.I64_STORE,
  0x38: I.I32_STORE,
  0x39: I.I64_STORE,
  0x3a: I.I32_STORE8,
  0x3b: I.I32_STORE16,
  0x3c: I.I32_STORE8,
  0x3d: I.I32_STORE16,
  0x3e: I.I32_STORE,
};

function blockType(m: IrModule, bt: number): FuncType {
  if (bt === -64) return { params: EMPTY, results: EMPTY };
  if (bt < 0) return { params: EMPTY, results: [bt & 0x7f] };
  const t = m.types[bt];
  if (t === undefined) throw new Error(`lower: bad block type ${bt}`);
  return t;
}

/** What to lower a function for, beyond its body. */
export interface LowerOptions {
  /** The function has a listener: LISTEN_BEFORE at entry, and (with `listenExits`) RETL at every return. */
  readonly listened?: boolean;
  /** The listener has exits (`after`/`abort`; false for before-only listeners). Default true. */
  readonly listenExits?: boolean;
  /** closeOnContextDone: a CHECK at every loop head, and at the entry when `entryCheck`. */
  readonly interrupt?: boolean;
  /** With `interrupt`: a CHECK at the entry too (a call cycle can pass this function). Default true. */
  readonly entryCheck?: boolean;
  /** Whether function index f is a listened wasm function (its direct calls become CALLL). */
  readonly listenedCallee?: (f: number) => boolean;
  /**
   * Line coverage: the module's block starts (store/coverage.ts) and the range of this function's
   * blocks in them; a COVER of the block's index starts each block that is not dead code.
   */
  readonly coverage?: { readonly starts: Int32Array; readonly first: number; readonly end: number };
  /** Dirty-page tracking: a DIRTY mark before every plain store (other writes mark in their helpers). */
  readonly dirtyPages?: boolean;
}

/**
 * Lowers defined function `codeIndex` of `m` (validated). Throws a plain Error on an internal
 * inconsistency (never for valid input).
 */
export function lowerFunction(m: IrModule, codeIndex: number, opts: LowerOptions = {}): Lowered {
  return new Lowerer(m, codeIndex, opts).lower();
}

/**
 * The lowering of one function: one pass over its body that keeps the virtual stack, the control
 * frames and the code emitted so far. Used once, by {@link lowerFunction}.
 */
class Lowerer {
  private readonly m: IrModule;
  private readonly opts: LowerOptions;
  private readonly listened: boolean;
  /** Listened with exits: RETL at every return, LISTEN_AFTER before a tail call. */
  private readonly listenExits: boolean;
  private readonly interrupt: boolean;
  private readonly entryCheck: boolean;
  private readonly body: FunctionBody;
  private readonly ftype: FuncType;
  private readonly r: Reader;

  // Locals: slot of each local index and its type.
  private readonly localSlot: number[] = [];
  private readonly localType: number[] = [];
  private readonly refLocals: number[] = [];
  private readonly paramSlots: number;
  private readonly localSlots: number;

  // Constants used inside loops get read-only slots after the locals, filled at function entry
  // (like wasmi's function-local constants): inside the loop they cost no instruction at all.
  private readonly constIndex = new Map<string, number>();
  private readonly constWords: number[] = [];
  private readonly constBase: number;

  // The code: words, the original byte offset of each word, and the SIMD shuffle lanes.
  private readonly code: number[] = [];
  private readonly offs: number[] = [];
  private curOff: number;
  private readonly lanes: Uint8Array[] = [];

  // Virtual stack.
  private readonly vsType: number[] = [];
  private readonly vsKind: number[] = [];
  private readonly vsVal: number[] = [];
  private readonly vsSlot: number[] = [];
  private readonly vsHi: number[] = [];
  private height = 0;
  private sp: number;
  private maxSp: number;

  // Last simple producer: its destination operand index and slot (for local.set folding).
  private lastDstPos = -1;
  private lastDstSlot = -1;
  // Last i32 compare (for compare-and-branch fusion): start index, op, operands.
  private cmpPos = -1;
  private cmpOp = 0;
  private cmpA = 0;
  private cmpB = 0;
  private cmpImm = false;

  /** The next block to cover (an index into `opts.coverage.starts`) and its offset (-1: none). */
  private coverNext = 0;
  private coverAt = -1;

  private readonly ctrls: Ctrl[] = [];
  /** Nesting depth inside dead code (after an unconditional branch), which is skipped. */
  private deadDepth = 0;

  // Exception handling: the handler table (words, see exceptions.ts), the next legacy-try slot, and
  // returns to emit after the body for catch clauses that branch to the function's label.
  private readonly handlers: number[] = [];
  private readonly exnBase: number;
  private nextExnSlot = 0;
  private readonly hasTry: boolean;
  private readonly returnStubs: Array<{ pos: number; slot: number }> = [];

  // The memarg just read: its memory index and offset (exact to 2^53).
  private memIdx = 0;
  private memOff = 0;

  constructor(m: IrModule, codeIndex: number, opts: LowerOptions) {
    this.m = m;
    this.opts = opts;
    this.listened = opts.listened === true;
    this.listenExits = this.listened && opts.listenExits !== false;
    this.interrupt = opts.interrupt === true;
    this.entryCheck = opts.entryCheck !== false;
    const body = m.codes[codeIndex];
    const funcIndex = m.numImportedFuncs + codeIndex;
    const ftype = m.types[m.funcTypeIndexSpace[funcIndex]!];
    if (body === undefined || ftype === undefined) throw new Error(`lower: no function ${funcIndex}`);
    this.body = body;
    this.ftype = ftype;

    let nslots = 0;
    for (const t of ftype.params) {
      this.localSlot.push(nslots);
      this.localType.push(t);
      nslots += slotsOf(t);
    }
    this.paramSlots = nslots;
    for (const g of body.locals) {
      for (let i = 0; i < g.count; i++) {
        this.localSlot.push(nslots);
        this.localType.push(g.type);
        if (isRefType(g.type)) this.refLocals.push(nslots);
        nslots += slotsOf(g.type);
      }
    }
    this.localSlots = nslots;

    const scan = prescanLoopConstants(m, body.codeStart, body.codeEnd, this.constIndex, this.constWords);
    this.constBase = this.localSlots;
    // One slot per legacy try for the exception its handlers caught (rethrow), after the constants.
    this.exnBase = this.localSlots + this.constWords.length / 2;
    this.hasTry = scan.tries > 0 || scan.tryTables;
    this.sp = this.exnBase + scan.tries;
    this.maxSp = this.sp;
    this.curOff = body.codeStart;
    this.r = new Reader(m.bytes, body.codeStart, body.codeEnd);
    this.ctrls.push(this.newCtrl(3, 0, this.localSlots, EMPTY, ftype.results));
  }

  private newCtrl(kind: number, height: number, slot: number, params: readonly number[], results: readonly number[]): Ctrl {
    return {
      kind,
      height,
      slot,
      params,
      results,
      fixups: [],
      head: 0,
      elseFixup: -1,
      unreachable: false,
      hfixups: [],
      vpc: -1,
      tryStart: 0,
      tryEnd: 0,
      exnSlot: -1,
      clauses: [],
      catches: undefined,
    };
  }

  lower(): Lowered {
    // Entry instructions exist only in the functions that need them, so the others pay nothing.
    // LISTEN_BEFORE must be at pc 0: the engine reads a frame at pc >= 0 of a listened function as
    // "before has run".
    if (this.listened) this.emit(I.LISTEN_BEFORE);
    if (this.interrupt && this.entryCheck) this.emit(I.CHECK);
    // A catch may resume at a loop head; the driver reads pc 0 as a fresh entry, so none is there.
    if (this.hasTry && this.code.length === 0) this.emit(I.NOP);
    const cov = this.opts.coverage;
    if (cov !== undefined && cov.first < cov.end) {
      this.coverNext = cov.first;
      this.coverAt = cov.starts[cov.first]!;
    }
    const r = this.r;
    const end = this.body.codeEnd;
    while (r.pos < end) {
      this.curOff = r.pos;
      const top = this.ctrls[this.ctrls.length - 1]!;
      if (r.pos === this.coverAt) this.cover(top.unreachable);
      const op = r.opcode();
      const info = OPS[op];
      if (info === undefined) throw new Error(`lower: unknown opcode ${op}`);
      if (top.unreachable && this.skipDead(op)) continue;
      this.instr(op, info, top);
    }
    if (this.ctrls.length !== 0) throw new Error('lower: unbalanced blocks');
    this.emitReturnStubs();
    const out = Int32Array.from(this.code);
    fusePairs(out);
    return {
      code: out,
      offsets: Int32Array.from(this.offs),
      maxSlots: this.maxSp + 4,
      paramSlots: this.paramSlots,
      localSlots: this.localSlots,
      consts: Int32Array.from(this.constWords),
      refLocals: Int32Array.from(this.refLocals),
      lanes: this.lanes,
      handlers: Int32Array.from(this.handlers),
      jit: null,
    };
  }

  /**
   * At a block start: counts the block's entries (unless it is dead code, which never runs) and
   * moves to the next block start. Branches to a label bound before this point run the COVER too.
   */
  private cover(dead: boolean): void {
    const cov = this.opts.coverage!;
    if (!dead) {
      this.startInstr();
      this.emit(I.COVER);
      this.emit(this.coverNext);
    }
    this.coverNext++;
    this.coverAt = this.coverNext < cov.end ? cov.starts[this.coverNext]! : -1;
  }

  /**
   * In dead code, skips instruction `op` (tracking only nesting) and returns true; returns false for
   * the `else` or `end` that closes the dead frame, which is lowered.
   */
  private skipDead(op: number): boolean {
    const r = this.r;
    if (op === 0x02 || op === 0x03 || op === 0x04 || op === 0x06 || op === 0x1f) {
      r.pos = skipImmediates(r.bytes, r.pos, op);
      this.deadDepth++;
      return true;
    }
    // end, and delegate (which ends a legacy try), close a dead nested block.
    if ((op === 0x0b || op === 0x18) && this.deadDepth > 0) {
      if (op === 0x18) r.u32();
      this.deadDepth--;
      return true;
    }
    // else, catch and catch_all inside a dead nested block stay dead.
    if ((op === 0x05 || op === 0x07 || op === 0x19) && this.deadDepth > 0) {
      r.pos = skipImmediates(r.bytes, r.pos, op);
      return true;
    }
    if (op !== 0x0b && op !== 0x05 && op !== 0x07 && op !== 0x19 && op !== 0x18) {
      r.pos = skipImmediates(r.bytes, r.pos, op);
      return true;
    }
    return false;
  }

  // ---- emitting ----

  private emit(w: number): void {
    this.code.push(w | 0);
    this.offs.push(this.curOff);
  }

  /** Starts an instruction: no folding or fusion reaches across it. Returns its code index. */
  private startInstr(): number {
    this.lastDstPos = -1;
    this.cmpPos = -1;
    return this.code.length;
  }

  /** Emits the constant of entry i into word offset d. */
  private emitConstInto(d: number, i: number): void {
    const t = this.vsType[i]!;
    if (t === 0x7e || t === 0x7c) {
      this.emit(I.CONST64);
      this.emit(d);
      this.emit(this.vsVal[i]!);
      this.emit(this.vsHi[i]!);
    } else {
      this.emit(I.CONST32);
      this.emit(d);
      this.emit(this.vsVal[i]!);
    }
  }

  /**
   * Gives the destination operand at code index `dpos` a new slot for a result of type `t`, and
   * remembers it so that a following `local.set` can retarget it.
   */
  private setResult(dpos: number, t: number): void {
    this.code[dpos] = this.pushResult(t);
    this.lastDstPos = dpos;
    this.lastDstSlot = this.sp - slotsOf(t);
  }

  // ---- virtual stack ----

  private push(t: number, kind: number, val: number, hi = 0): void {
    const h = this.height;
    this.vsType[h] = t;
    this.vsKind[h] = kind;
    this.vsVal[h] = val;
    this.vsHi[h] = hi;
    this.vsSlot[h] = this.sp;
    this.height = h + 1;
    this.sp += slotsOf(t);
    if (this.sp > this.maxSp) this.maxSp = this.sp;
  }

  /** Pushes a value in its own slot; returns the slot's word offset. */
  private pushResult(t: number): number {
    const s = this.sp;
    this.push(t, SLOT, 0);
    return 2 * s;
  }

  private pushResults(results: readonly number[]): void {
    for (const t of results) this.push(t, SLOT, 0);
    this.lastDstPos = -1;
    this.cmpPos = -1;
  }

  private pop(): number {
    this.height--;
    if (this.height < 0) throw new Error('lower: operand stack underflow');
    this.sp = this.vsSlot[this.height]!;
    return this.height;
  }

  /** Pops and returns the operand word offset of the top entry. */
  private popOpnd(): number {
    const w = this.opnd(this.height - 1);
    this.pop();
    return w;
  }

  /** Word offset of entry i, materializing constants that have no loop-constant slot. */
  private opnd(i: number): number {
    const kind = this.vsKind[i];
    if (kind === LOCAL) return 2 * this.vsVal[i]!;
    if (kind === CONST) {
      const t = this.vsType[i]!;
      const cs = this.constSlot(this.vsVal[i]!, t === 0x7e || t === 0x7c ? this.vsHi[i]! : 0);
      if (cs >= 0) return 2 * cs;
      this.materialize(i);
    }
    return 2 * this.vsSlot[i]!;
  }

  /** The slot of a loop constant, or -1. */
  private constSlot(lo: number, hi: number): number {
    const j = this.constIndex.get(`${lo | 0},${hi | 0}`);
    return j === undefined ? -1 : this.constBase + j;
  }

  /** Emits code that puts entry i into its own slot. */
  private materialize(i: number): void {
    const k = this.vsKind[i]!;
    if (k === SLOT) return;
    this.startInstr();
    const d = 2 * this.vsSlot[i]!;
    if (k === LOCAL) {
      this.emit(copyOp(this.vsType[i]!));
      this.emit(d);
      this.emit(2 * this.vsVal[i]!);
    } else {
      this.emitConstInto(d, i);
    }
    this.vsKind[i] = SLOT;
  }

  private materializeAll(): void {
    for (let i = 0; i < this.height; i++) this.materialize(i);
  }

  /** Materializes the top `n` entries (call arguments) and pops them; returns the first one's word offset. */
  private prepareArgs(n: number): number {
    const first = this.height - n;
    for (let i = first; i < this.height; i++) this.materialize(i);
    const argw = 2 * (n > 0 ? this.vsSlot[first]! : this.sp);
    for (let i = 0; i < n; i++) this.pop();
    return argw;
  }

  // ---- control ----

  private labelTypes(c: Ctrl): readonly number[] {
    return c.kind === 1 ? c.params : c.results;
  }

  /** Whether branching to c needs value copies. */
  private needsCopies(c: Ctrl): boolean {
    const types = this.labelTypes(c);
    let s = c.slot;
    for (let j = 0; j < types.length; j++) {
      const i = this.height - types.length + j;
      if (this.vsKind[i] !== SLOT || this.vsSlot[i] !== s) return true;
      s += slotsOf(types[j]!);
    }
    return false;
  }

  /** Puts the top label values of a block's fall-through end into the block's result slots. */
  private emitBlockEndValues(c: Ctrl): void {
    if (c.kind === 3) return;
    this.copyTopTo(c.slot, c.results);
  }

  /** Emits copies of the top |types| entries into the slots from `slot` on (those not there yet). */
  private copyTopTo(slot: number, types: readonly number[]): void {
    let s = slot;
    for (let j = 0; j < types.length; j++) {
      const i = this.height - types.length + j;
      const t = types[j]!;
      if (this.vsKind[i] === CONST) {
        this.startInstr();
        this.emitConstInto(2 * s, i);
      } else {
        const src = this.vsKind[i] === LOCAL ? this.vsVal[i]! : this.vsSlot[i]!;
        if (src !== s) {
          this.startInstr();
          this.emit(copyOp(t));
          this.emit(2 * s);
          this.emit(2 * src);
        }
      }
      s += slotsOf(t);
    }
  }

  /** An unconditional branch to c: the top label-arity values to c's slots, then BR. */
  private branchTo(c: Ctrl): void {
    this.copyTopTo(c.slot, this.labelTypes(c));
    this.startInstr();
    this.emit(I.BR);
    this.emitTarget(c);
  }

  /** Emits a jump target operand for c (a loop head or a fixup). */
  private emitTarget(c: Ctrl): void {
    if (c.kind === 1) this.emit(c.head);
    else {
      c.fixups.push(this.code.length);
      this.emit(0);
    }
  }

  private emitReturn(): void {
    const results = this.ftype.results;
    if (this.listenExits) {
      // The after callback reads the results from their slots, then a plain return follows.
      const first = this.height - results.length;
      for (let i = first; i < this.height; i++) this.materialize(i);
      this.startInstr();
      this.emit(I.RETL);
      this.emit(results.length === 0 ? 0 : 2 * this.vsSlot[first]!);
      this.emit(slotsOfTypes(results));
      this.emit(results.some(isRefType) ? 1 : 0);
      return;
    }
    this.startInstr();
    if (results.length === 0) {
      this.emit(I.RET0);
      return;
    }
    if (results.length === 1 && !isRefType(results[0]!) && results[0] !== V128) {
      const i = this.height - 1;
      if (this.vsKind[i] === CONST) {
        this.emitConstInto(0, i);
        this.emit(I.RET0);
      } else {
        this.emit(I.RET1);
        this.emit(this.opnd(i));
      }
      return;
    }
    const first = this.height - results.length;
    for (let i = first; i < this.height; i++) this.materialize(i);
    this.startInstr();
    this.emit(I.RETN);
    this.emit(2 * this.vsSlot[first]!);
    this.emit(slotsOfTypes(results));
  }

  /**
   * A tail call replaces a listened function's frame: its after fires at the call with no results
   * (they are the callee's to produce), so tail calls keep running in constant stack.
   */
  private emitTailAfter(): void {
    if (!this.listenExits) return;
    this.startInstr();
    this.emit(I.LISTEN_AFTER);
    this.emit(-1);
  }

  private bindLabel(c: Ctrl): void {
    const here = this.code.length;
    for (const f of c.fixups) this.code[f] = here;
    c.fixups.length = 0;
    for (const f of c.hfixups) this.handlers[f] = here;
    c.hfixups.length = 0;
    this.lastDstPos = -1;
    this.cmpPos = -1;
  }

  /** Resets the virtual stack to c's base plus its results, all in their slots. */
  private resetTo(c: Ctrl, types: readonly number[]): void {
    this.height = c.height;
    this.sp = c.slot;
    for (const t of types) this.push(t, SLOT, 0);
  }

  /** The compare just emitted, if the top entry is its result and nothing was emitted since: its code index, or -1. */
  private fusableCompare(): number {
    const i = this.height - 1;
    const p = this.cmpPos;
    return p >= 0 && this.vsKind[i] === SLOT && this.code.length === p + 4 && this.code[p + 1] === 2 * this.vsSlot[i]! ? p : -1;
  }

  /** Replaces the compare at `pos` with fused compare-and-branch `brOp` (without its target). */
  private fuseCompare(pos: number, brOp: number): void {
    const imm = this.cmpImm;
    const a = this.cmpA;
    const b = this.cmpB;
    this.code.length = pos;
    this.offs.length = pos;
    this.startInstr();
    this.emit(brOp + (imm ? 10 : 0));
    this.emit(a);
    this.emit(b);
  }

  // ---- instructions ----

  private instr(op: number, info: OpInfo, top: Ctrl): void {
    const r = this.r;
    switch (op) {
      case 0x00: // unreachable
        this.startInstr();
        this.emit(I.UNREACHABLE);
        top.unreachable = true;
        return;
      case 0x01: // nop
        return;
      case 0x02: // block
      case 0x03: // loop
      case 0x04: // if
        this.blockStart(op);
        return;
      case 0x05: // else
        this.else(top);
        return;
      case 0x0b: // end
        this.end(top);
        return;
      case 0x0c: {
        // br
        const c = this.ctrls[this.ctrls.length - 1 - r.u32()]!;
        if (c.kind === 3) this.emitReturn();
        else {
          this.branchTo(c);
        }
        top.unreachable = true;
        return;
      }
      case 0x0d: // br_if
        this.brIf(top);
        return;
      case 0x0e: // br_table
        this.brTable(top);
        return;
      case 0x0f: // return
        this.emitReturn();
        top.unreachable = true;
        return;
      case 0x10: // call
      case 0x12: // return_call
        this.call(op, top);
        return;
      case 0x11: // call_indirect
      case 0x13: // return_call_indirect
        this.callIndirect(op, top);
        return;
      case 0x1a: // drop
        this.pop();
        return;
      case 0x06: // try (legacy)
      case 0x1f: // try_table
        this.tryStart(op);
        return;
      case 0x07: // catch (legacy)
        this.catchLegacy(top, r.u32());
        return;
      case 0x19: // catch_all (legacy)
        this.catchLegacy(top, -1);
        return;
      case 0x18: // delegate (legacy)
        this.delegate(top, r.u32());
        return;
      case 0x08: {
        // throw
        const x = r.u32();
        const ft = this.m.types[this.m.tagSpace[x]!.typeIndex]!;
        const argw = this.prepareArgs(ft.params.length);
        this.startInstr();
        this.emit(I.THROW);
        this.emit(x);
        this.emit(argw);
        top.unreachable = true;
        return;
      }
      case 0x0a: {
        // throw_ref
        const a = this.popOpnd();
        this.startInstr();
        this.emit(I.THROW_REF);
        this.emit(a);
        top.unreachable = true;
        return;
      }
      case 0x09: {
        // rethrow (legacy): the exception in the named handler's slot
        const c = this.ctrls[this.ctrls.length - 1 - r.u32()]!;
        this.startInstr();
        this.emit(I.RETHROW);
        this.emit(2 * c.exnSlot);
        top.unreachable = true;
        return;
      }
      case 0x1b:
      case 0x1c: // select
        this.select(op);
        return;
      case 0x20: {
        // local.get
        const x = r.u32();
        this.push(this.localType[x]!, LOCAL, this.localSlot[x]!);
        return;
      }
      case 0x21: // local.set
      case 0x22: // local.tee
        this.localSet(op);
        return;
      case 0x23: {
        // global.get
        const g = r.u32();
        const t = this.m.globalSpace[g]!.valType;
        this.startInstr();
        this.emit(t === V128 ? I.GLOBAL_GET_V128 : isRefType(t) ? I.GLOBAL_GET_REF : I.GLOBAL_GET);
        const dpos = this.code.length;
        this.emit(0);
        this.emit(g);
        this.setResult(dpos, t);
        return;
      }
      case 0x24: {
        // global.set
        const g = r.u32();
        const t = this.m.globalSpace[g]!.valType;
        const s = this.popOpnd();
        this.startInstr();
        this.emit(t === V128 ? I.GLOBAL_SET_V128 : isRefType(t) ? I.GLOBAL_SET_REF : I.GLOBAL_SET);
        this.emit(g);
        this.emit(s);
        return;
      }
      case 0x25: {
        // table.get
        const t = r.u32();
        const idx = this.popOpnd();
        this.idx64(t, idx);
        this.startInstr();
        this.emit(I.TABLE_GET);
        const dpos = this.code.length;
        this.emit(0);
        this.emit(t);
        this.emit(idx);
        this.code[dpos] = this.pushResult(this.m.tableSpace[t]!.elemType);
        return;
      }
      case 0x26: {
        // table.set
        const t = r.u32();
        const v = this.popOpnd();
        const idx = this.popOpnd();
        this.idx64(t, idx);
        this.startInstr();
        this.emit(I.TABLE_SET);
        this.emit(t);
        this.emit(idx);
        this.emit(v);
        return;
      }
      case 0x3f: {
        // memory.size
        const mem = r.u32();
        const is64 = this.memory64(mem);
        if (mem !== 0) {
          this.memxMisc(op, 0, mem, 0, 0, 0, 0, is64 ? 0x7e : 0x7f);
          return;
        }
        this.startInstr();
        this.emit(I.MEMORY_SIZE);
        const dpos = this.code.length;
        this.emit(0);
        const d = (this.code[dpos] = this.pushResult(is64 ? 0x7e : 0x7f));
        if (is64) this.widen(I.I64_EXTEND_I32_U, d);
        return;
      }
      case 0x40: {
        // memory.grow
        const mem = r.u32();
        const is64 = this.memory64(mem);
        if (mem !== 0) {
          this.memxMisc(op, 0, mem, 0, this.popOpnd(), 0, 0, is64 ? 0x7e : 0x7f);
          return;
        }
        let a = this.popOpnd();
        this.startInstr();
        const d = this.pushResult(is64 ? 0x7e : 0x7f);
        if (is64) {
          // The i64 delta as MEMORY_GROW's i32 (a delta of 2^32 pages or more fails), then the
          // i32 result (-1 or an old size below 2^31) sign-extended.
          this.emit(I.CLAMP64);
          this.emit(d);
          this.emit(a);
          a = d;
        }
        this.startInstr();
        this.emit(I.MEMORY_GROW);
        this.emit(d);
        this.emit(a);
        if (is64) this.widen(I.I64_EXTEND_I32_S, d);
        return;
      }
      case 0x41: // i32.const
        this.push(0x7f, CONST, r.s32());
        return;
      case 0x42: // i64.const
        r.s64Halves();
        this.push(0x7e, CONST, r.lo, r.hi);
        return;
      case 0x43: // f32.const
        this.push(0x7d, CONST, r.u32Fixed() | 0);
        return;
      case 0x44: {
        // f64.const
        const lo = r.u32Fixed() | 0;
        const hi = r.u32Fixed() | 0;
        this.push(0x7c, CONST, lo, hi);
        return;
      }
      case 0xa7: // i32.wrap_i64: the low word is the i32
      case 0xbc: // reinterpretations: same bits
      case 0xbd:
      case 0xbe:
      case 0xbf:
        this.vsType[this.height - 1] = info.results![0]!;
        return;
      case 0xd0: {
        // ref.null
        const t = r.u8();
        this.startInstr();
        this.emit(I.REF_NULL);
        const dpos = this.code.length;
        this.emit(0);
        this.setResult(dpos, t);
        return;
      }
      case 0xd1: // ref.is_null
        this.simple(I.REF_IS_NULL, this.popOpnd(), -1, 0x7f);
        return;
      case 0xd2: {
        // ref.func
        const f = r.u32();
        this.startInstr();
        this.emit(I.REF_FUNC);
        const dpos = this.code.length;
        this.emit(0);
        this.emit(f);
        this.setResult(dpos, 0x70);
        return;
      }
      default:
        this.numericOrMemory(op, info);
    }
  }

  /** `block`, `loop` or `if`. */
  private blockStart(op: number): void {
    const bt = blockType(this.m, this.r.s33());
    let cond = -1;
    let condKind = SLOT;
    let condVal = 0;
    let fuse = -1;
    if (op === 0x04) {
      const i = this.height - 1;
      condKind = this.vsKind[i]!;
      condVal = this.vsVal[i]!;
      fuse = this.fusableCompare();
      cond = this.opnd(i);
      this.pop();
    }
    // Everything on the stack goes to its slot: inside the block, locals may change.
    this.materializeAll();
    const base = this.height - bt.params.length;
    const c = this.newCtrl(
      op === 0x02 ? 0 : op === 0x03 ? 1 : 2,
      base,
      base < this.height ? this.vsSlot[base]! : this.sp,
      bt.params,
      bt.results,
    );
    if (op === 0x03) {
      this.bindLabel(c);
      c.head = this.code.length;
      if (this.interrupt) {
        this.startInstr();
        this.emit(I.CHECK);
      }
    } else if (op === 0x04) {
      if (condKind === CONST) {
        // Constant condition: branch unconditionally or not at all.
        this.startInstr();
        if (condVal === 0) {
          this.emit(I.BR);
          c.elseFixup = this.code.length;
          this.emit(0);
        } else {
          this.emit(I.NOP);
        }
      } else if (fuse >= 0 && this.code.length === fuse + 4) {
        // Nothing was materialized since the compare: branch on its negation.
        this.fuseCompare(fuse, INVERT[CMP_TO_BR[this.cmpOp]!]!);
        c.elseFixup = this.code.length;
        this.emit(0);
      } else {
        this.startInstr();
        this.emit(I.BR_IFZ);
        this.emit(cond);
        c.elseFixup = this.code.length;
        this.emit(0);
      }
    }
    c.vpc = op === 0x03 ? c.head : this.code.length;
    this.ctrls.push(c);
    this.lastDstPos = -1;
    this.cmpPos = -1;
  }

  private else(top: Ctrl): void {
    if (!top.unreachable) {
      this.emitBlockEndValues(top);
      this.startInstr();
      this.emit(I.BR);
      this.emitTarget(top);
    }
    if (top.elseFixup >= 0) {
      this.code[top.elseFixup] = this.code.length;
      top.elseFixup = -1;
    }
    this.lastDstPos = -1;
    this.cmpPos = -1;
    this.resetTo(top, top.params);
    top.unreachable = false;
    this.deadDepth = 0;
  }

  private end(top: Ctrl): void {
    // A try's handlers go to the table when it ends: inner tries come first (exceptions.ts).
    if (top.kind === 5) this.pushHandler(H_CATCH, top.tryStart, top.tryEnd, [2 * top.exnSlot, ...top.clauses], top);
    else if (top.kind === 6) this.endTryTable(top);
    if (!top.unreachable) this.emitBlockEndValues(top);
    if (top.elseFixup >= 0) {
      this.code[top.elseFixup] = this.code.length;
      top.elseFixup = -1;
    }
    this.deadDepth = 0;
    if (top.kind === 3) {
      if (!top.unreachable) this.emitReturn();
      this.ctrls.pop();
      return;
    }
    this.ctrls.pop();
    if (top.kind !== 1) this.bindLabel(top);
    this.resetTo(top, top.results);
    this.lastDstPos = -1;
    this.cmpPos = -1;
  }

  // ---- exception handling (handlers as data: exceptions.ts searches the table on a throw) ----

  /**
   * `try` or `try_table`: a block whose covered range starts after a NOP, so a block starting at
   * the same pc is never inside it (a `delegate` resumes searching from a block's start).
   */
  private tryStart(op: number): void {
    const r = this.r;
    const bt = blockType(this.m, r.s33());
    let catches: Ctrl['catches'];
    if (op === 0x1f) {
      // Catch labels are resolved outside the try_table.
      catches = [];
      const n = r.count(1);
      for (let j = 0; j < n; j++) {
        const kind = r.u8();
        const tag = kind < 2 ? r.u32() : -1;
        catches.push({ kind, tag, target: this.ctrls[this.ctrls.length - 1 - r.u32()]! });
      }
    }
    this.materializeAll();
    const base = this.height - bt.params.length;
    const c = this.newCtrl(op === 0x06 ? 4 : 6, base, base < this.height ? this.vsSlot[base]! : this.sp, bt.params, bt.results);
    c.catches = catches;
    this.startInstr();
    this.emit(I.NOP);
    c.tryStart = this.code.length;
    c.vpc = c.tryStart;
    if (op === 0x06) c.exnSlot = this.exnBase + this.nextExnSlot++;
    this.ctrls.push(c);
  }

  /** Appends a handler-table entry: `start end kind n` then `words` (n = clauses). */
  private pushHandler(kind: number, start: number, end: number, words: readonly number[], c: Ctrl): void {
    const h = this.handlers;
    h.push(start, end, kind, kind === H_CATCH ? c.clauses.length / 4 : kind === H_TRY_TABLE ? (c.catches?.length ?? 0) : 0);
    h.push(...words);
  }

  /** The end of a try_table: its entry, with a target and a destination slot per clause. */
  private endTryTable(top: Ctrl): void {
    const end = this.code.length;
    const h = this.handlers;
    const catches = top.catches ?? [];
    h.push(top.tryStart, end, H_TRY_TABLE, catches.length);
    for (const k of catches) {
      const c = k.target;
      h.push(k.kind, k.tag);
      const pos = h.length;
      h.push(0, 2 * c.slot);
      if (c.kind === 1) h[pos] = c.head;
      else if (c.kind === 3) this.returnStubs.push({ pos, slot: c.slot });
      else c.hfixups.push(pos);
    }
  }

  /** Legacy `catch x` (tag >= 0) or `catch_all`: ends the covered range or the previous handler. */
  private catchLegacy(top: Ctrl, tag: number): void {
    if (top.kind === 4) {
      top.tryEnd = this.code.length;
      top.kind = 5;
    }
    if (!top.unreachable) {
      this.emitBlockEndValues(top);
      this.startInstr();
      this.emit(I.BR);
      this.emitTarget(top);
    }
    const target = this.code.length;
    top.clauses.push(tag < 0 ? 2 : 0, tag, target, 2 * top.slot);
    // A delegate to this block from the handler goes to the handlers around the whole try.
    top.vpc = target;
    this.lastDstPos = -1;
    this.cmpPos = -1;
    this.resetTo(top, tag < 0 ? EMPTY : this.m.types[this.m.tagSpace[tag]!.typeIndex]!.params);
    top.unreachable = false;
    this.deadDepth = 0;
  }

  /** Legacy `delegate l`: a try whose exceptions go on to the handlers around label l (outside it). */
  private delegate(top: Ctrl, depth: number): void {
    const target = this.ctrls[this.ctrls.length - 2 - depth]!;
    this.handlers.push(top.tryStart, this.code.length, H_DELEGATE, target.kind === 3 ? -1 : target.vpc);
    top.kind = 0;
    this.end(top);
  }

  /** Returns for catch clauses that branch to the function's label, after the body. */
  private emitReturnStubs(): void {
    const results = this.ftype.results;
    for (const stub of this.returnStubs) {
      this.handlers[stub.pos] = this.code.length;
      this.startInstr();
      if (this.listenExits) {
        this.emit(I.RETL);
        this.emit(2 * stub.slot);
        this.emit(slotsOfTypes(results));
        this.emit(results.some(isRefType) ? 1 : 0);
      } else if (results.length === 0) {
        this.emit(I.RET0);
      } else {
        this.emit(I.RETN);
        this.emit(2 * stub.slot);
        this.emit(slotsOfTypes(results));
      }
    }
  }

  private brIf(top: Ctrl): void {
    const c = this.ctrls[this.ctrls.length - 1 - this.r.u32()]!;
    const i = this.height - 1;
    const fuse = this.fusableCompare();
    const condKind = this.vsKind[i]!;
    const condVal = this.vsVal[i]!;
    const cond = condKind === CONST ? 0 : this.opnd(i);
    this.pop();
    if (c.kind === 3) {
      // Conditional return.
      if (condKind === CONST && condVal === 0) return;
      // Materialize before branching: the return path must not change the fall-through state.
      for (let j = this.height - this.ftype.results.length; j < this.height; j++) this.materialize(j);
      this.startInstr();
      let skip = -1;
      if (condKind !== CONST) {
        this.emit(I.BR_IFZ);
        this.emit(cond);
        skip = this.code.length;
        this.emit(0);
      }
      this.emitReturn();
      if (skip >= 0) this.code[skip] = this.code.length;
      this.lastDstPos = -1;
      this.cmpPos = -1;
      if (condKind === CONST) top.unreachable = true;
      return;
    }
    if (condKind === CONST) {
      if (condVal !== 0) {
        this.branchTo(c);
        top.unreachable = true;
      }
      return;
    }
    if (!this.needsCopies(c)) {
      if (fuse >= 0) {
        this.fuseCompare(fuse, CMP_TO_BR[this.cmpOp]!);
      } else {
        this.startInstr();
        this.emit(I.BR_IF);
        this.emit(cond);
      }
      this.emitTarget(c);
    } else {
      this.startInstr();
      this.emit(I.BR_IFZ);
      this.emit(cond);
      const skip = this.code.length;
      this.emit(0);
      this.branchTo(c);
      this.code[skip] = this.code.length;
    }
    this.lastDstPos = -1;
    this.cmpPos = -1;
  }

  private brTable(top: Ctrl): void {
    const r = this.r;
    const n = r.count(1);
    const depths: number[] = [];
    for (let j = 0; j <= n; j++) depths.push(r.u32());
    const cond = this.popOpnd();
    const ctrls = this.ctrls;
    const dc = ctrls[ctrls.length - 1 - depths[n]!]!;
    const arity = dc.kind === 3 ? this.ftype.results.length : this.labelTypes(dc).length;
    // Stubs are alternatives: none may change the shared virtual state, so values go to slots first.
    for (let j = this.height - arity; j < this.height; j++) this.materialize(j);
    this.startInstr();
    this.emit(I.BR_TABLE);
    this.emit(cond);
    this.emit(n);
    const slots: number[] = [];
    for (let j = 0; j <= n; j++) {
      slots.push(this.code.length);
      this.emit(0);
    }
    for (let j = 0; j <= n; j++) {
      const c = ctrls[ctrls.length - 1 - depths[j]!]!;
      if (c.kind === 3) {
        this.code[slots[j]!] = this.code.length;
        this.emitReturn();
      } else if (!this.needsCopies(c)) {
        if (c.kind === 1) this.code[slots[j]!] = c.head;
        else c.fixups.push(slots[j]!);
      } else {
        this.code[slots[j]!] = this.code.length;
        this.branchTo(c);
      }
    }
    top.unreachable = true;
  }

  /** `call` or `return_call`. */
  private call(op: number, top: Ctrl): void {
    const m = this.m;
    const f = this.r.u32();
    const ft = m.types[m.funcTypeIndexSpace[f]!]!;
    const argw = this.prepareArgs(ft.params.length);
    if (op === 0x12) this.emitTailAfter();
    this.startInstr();
    if (op === 0x10) {
      this.emit(this.opts.listenedCallee?.(f) === true ? I.CALLL : I.CALL);
      this.emit(f);
      this.emit(argw);
      this.pushResults(ft.results);
    } else {
      this.emit(I.RCALL);
      this.emit(f);
      this.emit(argw);
      this.emit(slotsOfTypes(ft.params));
      top.unreachable = true;
    }
  }

  /** `call_indirect` or `return_call_indirect`. */
  private callIndirect(op: number, top: Ctrl): void {
    const ti = this.r.u32();
    const table = this.r.u32();
    const ft = this.m.types[ti]!;
    const idx = this.popOpnd();
    const argw = this.prepareArgs(ft.params.length);
    this.idx64(table, idx);
    if (op === 0x13) this.emitTailAfter();
    this.startInstr();
    this.emit(op === 0x11 ? I.CALL_INDIRECT : I.RCALL_INDIRECT);
    this.emit(typeIdOf(ft));
    this.emit(table);
    this.emit(argw);
    this.emit(idx);
    if (op === 0x11) this.pushResults(ft.results);
    else {
      this.emit(slotsOfTypes(ft.params));
      top.unreachable = true;
    }
  }

  /** `select` or `select t*`. */
  private select(op: number): void {
    if (op === 0x1c) {
      const n = this.r.count(1);
      for (let j = 0; j < n; j++) this.r.u8();
    }
    const c = this.popOpnd();
    const t = this.vsType[this.height - 1]!;
    const b = this.popOpnd();
    const a = this.popOpnd();
    this.startInstr();
    this.emit(t === V128 ? I.SELECT_V128 : isRefType(t) ? I.SELECT_REF : I.SELECT);
    const dpos = this.code.length;
    this.emit(0);
    this.emit(a);
    this.emit(b);
    this.emit(c);
    this.setResult(dpos, t);
  }

  /** `local.set` or `local.tee`. */
  private localSet(op: number): void {
    const x = this.r.u32();
    const xs = this.localSlot[x]!;
    const t = this.localType[x]!;
    const i = this.height - 1;
    let conflict = false;
    for (let j = 0; j < i; j++) {
      if (this.vsKind[j] === LOCAL && this.vsVal[j] === xs) {
        this.materialize(j);
        conflict = true;
      }
    }
    const kind = this.vsKind[i]!;
    if (!conflict && kind === SLOT && this.lastDstPos >= 0 && this.lastDstSlot === this.vsSlot[i]) {
      this.code[this.lastDstPos] = 2 * xs;
      this.lastDstPos = -1;
      this.cmpPos = -1;
    } else if (kind === LOCAL && this.vsVal[i] === xs) {
      // local.set x (local.get x): nothing to do.
    } else if (kind === CONST) {
      this.startInstr();
      this.emitConstInto(2 * xs, i);
    } else {
      const src = this.opnd(i);
      this.startInstr();
      this.emit(copyOp(t));
      this.emit(2 * xs);
      this.emit(src);
    }
    this.pop();
    if (op === 0x22) this.push(t, LOCAL, xs);
  }

  /** Numeric, memory, 0xFC, SIMD and atomic instructions. */
  private numericOrMemory(op: number, info: OpInfo): void {
    if (op in I32_BIN) {
      this.lowerI32Bin(op);
      return;
    }
    const ld = LOADS[op];
    if (ld !== undefined) {
      this.readMemarg();
      const a = this.popOpnd();
      if (!this.memFast(a)) {
        this.memx(op, a, 0, 0, 0, info.results![0]!);
        return;
      }
      const off = this.memOff;
      this.startInstr();
      this.emit(ld);
      const dpos = this.code.length;
      this.emit(0);
      this.emit(a);
      this.emit(off);
      this.setResult(dpos, info.results![0]!);
      return;
    }
    const st = STORES[op];
    if (st !== undefined) {
      this.readMemarg();
      const v = this.popOpnd();
      const a = this.popOpnd();
      if (!this.memFast(a)) {
        this.memx(op, a, v, 0, 0, -1);
        return;
      }
      const off = this.memOff;
      if (this.opts.dirtyPages === true) {
        this.startInstr();
        this.emit(I.DIRTY);
        this.emit(a);
        this.emit(off);
        this.emit(OPS[op]!.memBytes);
      }
      this.startInstr();
      this.emit(st);
      this.emit(a);
      this.emit(v);
      this.emit(off);
      return;
    }
    if (op === 0x45 && this.fusableCompare() >= 0) {
      // i32.eqz of the compare just emitted: negate the compare instead (no instruction), and
      // keep it fusable with a following br_if/if.
      this.cmpOp = CMP_NEGATE[this.cmpOp]!;
      this.code[this.cmpPos] = this.cmpImm ? IMM_OF[this.cmpOp]! : this.cmpOp;
      return;
    }
    const s = SIMPLE[op];
    const top = this.height - 1;
    if ((s === I.I64_SHL || s === I.I64_SHR_S || s === I.I64_SHR_U) && this.vsKind[top] === CONST && (this.vsVal[top]! & 63) !== 0) {
      // Shift by a constant: the count is an immediate and the run loop needs no helper.
      const k = this.vsVal[top]! & 63;
      this.pop();
      const a = this.popOpnd();
      this.simple(s === I.I64_SHL ? I.I64_SHLI : s === I.I64_SHR_S ? I.I64_SHR_SI : I.I64_SHR_UI, a, k, 0x7e);
      return;
    }
    if (s !== undefined) {
      const b = info.params!.length === 2 ? this.popOpnd() : -1;
      const a = this.popOpnd();
      this.simple(s, a, b, info.results![0]!);
      return;
    }
    if (op >= 0x100 && op <= 0x107) {
      // trunc_sat
      const a = this.popOpnd();
      this.startInstr();
      this.emit(I.TRUNC_SAT);
      this.emit(op - 0x100);
      const dpos = this.code.length;
      this.emit(0);
      this.emit(a);
      this.setResult(dpos, info.results![0]!);
      return;
    }
    if (op >= 0x108 && op <= 0x111) {
      this.lowerMisc(op - 0x100);
      return;
    }
    if (op >= 0x300 && op < 0x400) {
      this.lowerAtomic(op, info.params!.length, info.results!.length);
      return;
    }
    if ((op >= 0x200 && op < 0x300) || op >= 0x400) {
      this.lowerSimd(op);
      return;
    }
    throw new Error(`not supported: ${info.name}`);
  }

  // ---- multiple memories, 64-bit memories and tables (memx.ts) ----

  /** Reads a memarg: the memory index (when bit 6 of the alignment says so) and the offset. */
  private readMemarg(): void {
    const r = this.r;
    const align = r.u32();
    this.memIdx = (align & MEMARG_HAS_MEMIDX) !== 0 ? r.u32() : 0;
    this.memOff = r.u64();
  }

  private memory64(mem: number): boolean {
    return this.m.memorySpace[mem]?.limits.is64 === true;
  }

  private table64(t: number): boolean {
    return this.m.tableSpace[t]?.limits.is64 === true;
  }

  /**
   * Whether the access just read (address at word offset `a`) takes the memory-0 ops of the run
   * loop: always for a 32-bit memory 0; for a 64-bit one after an ADDR64 check of the address's
   * high word (emitted here) when the offset is below 2^32 (memories are at most 4 GiB).
   */
  private memFast(a: number): boolean {
    if (this.memIdx !== 0) return false;
    if (!this.memory64(0)) return true;
    if (this.memOff >= 0x1_0000_0000) return false;
    this.startInstr();
    this.emit(I.ADDR64);
    this.emit(a);
    return true;
  }

  /** A memory access (wasm opcode `op`) through MEMX; `result` is its type or -1. */
  private memx(op: number, a: number, b: number, c: number, lane: number, result: number): void {
    this.startInstr();
    this.emit(I.MEMX);
    this.emit(op);
    this.emit(this.memIdx);
    const dpos = this.code.length;
    this.emit(0);
    this.emit(a);
    this.emit(b);
    this.emit(c);
    this.emit((this.memOff % 0x1_0000_0000) | 0);
    this.emit(Math.min(Math.floor(this.memOff / 0x1_0000_0000), 0x7fffffff));
    this.emit(lane);
    if (result >= 0) this.setResult(dpos, result);
  }

  /** memory.size/grow/init/copy/fill (wasm opcode `op`) through MEMX_MISC; `result` is its type or -1. */
  private memxMisc(op: number, k: number, mem1: number, mem2: number, a: number, b: number, c: number, result: number): void {
    this.startInstr();
    this.emit(I.MEMX_MISC);
    this.emit(op);
    this.emit(k);
    this.emit(mem1);
    this.emit(mem2);
    const dpos = this.code.length;
    this.emit(0);
    this.emit(a);
    this.emit(b);
    this.emit(c);
    if (result >= 0) this.code[dpos] = this.pushResult(result);
  }

  /** A table instruction (wasm opcode `op`) involving a 64-bit table, through TABLEX. */
  private tablex(op: number, t1: number, t2: number, a: number, b: number, c: number, result: number): void {
    this.startInstr();
    this.emit(I.TABLEX);
    this.emit(op);
    this.emit(t1);
    this.emit(t2);
    const dpos = this.code.length;
    this.emit(0);
    this.emit(a);
    this.emit(b);
    this.emit(c);
    if (result >= 0) this.code[dpos] = this.pushResult(result);
  }

  /** Before an element access of 64-bit table `t` at index operand `idx`: the IDX64 check. */
  private idx64(t: number, idx: number): void {
    if (!this.table64(t)) return;
    this.startInstr();
    this.emit(I.IDX64);
    this.emit(idx);
  }

  /** `irop d d`: widens an i32 result in place to the i64 a 64-bit memory's instruction returns. */
  private widen(irop: number, d: number): void {
    this.startInstr();
    this.emit(irop);
    this.emit(d);
    this.emit(d);
  }

  /** An instruction `irop d, a[, b]` whose result goes to a new slot. */
  private simple(irop: number, a: number, b: number, resultType: number): void {
    this.startInstr();
    this.emit(irop);
    const dpos = this.code.length;
    this.emit(0);
    this.emit(a);
    if (b >= 0) this.emit(b);
    this.setResult(dpos, resultType);
  }

  private lowerI32Bin(op: number): void {
    const [reg, imm] = I32_BIN[op]!;
    const bi = this.height - 1;
    const ai = this.height - 2;
    let irop = reg;
    let a: number;
    let b: number;
    let useImm = false;
    if (this.vsKind[bi] === CONST && (imm >= 0 || reg === I.I32_SUB)) {
      b = this.vsVal[bi]!;
      if (reg === I.I32_SUB) {
        irop = I.I32_ADDI;
        b = -b | 0;
      } else irop = imm;
      useImm = true;
      this.pop();
      a = this.popOpnd();
    } else if (this.vsKind[ai] === CONST && SWAP_CMP[reg] !== undefined && this.vsKind[bi] !== CONST) {
      const k = this.vsVal[ai]!;
      b = this.opnd(bi);
      this.pop();
      this.pop();
      a = b;
      b = k;
      irop = IMM_OF[SWAP_CMP[reg]!]!;
      useImm = true;
    } else {
      b = this.popOpnd();
      a = this.popOpnd();
    }
    if ((irop === I.I32_SHLI || irop === I.I32_SHR_SI || irop === I.I32_SHR_UI) && useImm) b &= 31;
    if (irop === I.I32_ROTLI) b = reg === I.I32_ROTR ? (32 - (b & 31)) & 31 : b & 31;
    const start = this.startInstr();
    this.emit(irop);
    const dpos = this.code.length;
    this.emit(0);
    this.emit(a);
    this.emit(b);
    this.setResult(dpos, 0x7f);
    // Remember compares for branch fusion.
    const base = useImm ? IMM_OF_REV[irop] : irop;
    if (base !== undefined && CMP_TO_BR[base] !== undefined) {
      this.cmpPos = start;
      this.cmpOp = base;
      this.cmpA = a;
      this.cmpB = b;
      this.cmpImm = useImm;
    }
  }

  /** The 0xFC bulk memory and table instructions (sub-opcodes 8 to 0x11). */
  private lowerMisc(sub: number): void {
    const r = this.r;
    let k1 = 0;
    let k2 = 0;
    let a = 0;
    let b = 0;
    let c = 0;
    let result = -1;
    switch (sub) {
      case 0x08: // memory.init
        k1 = r.u32();
        k2 = r.u32();
        c = this.popOpnd();
        b = this.popOpnd();
        a = this.popOpnd();
        if (k2 !== 0 || this.memory64(k2)) return this.memxMisc(0x100 + sub, k1, k2, 0, a, b, c, -1);
        break;
      case 0x09: // data.drop
        k1 = r.u32();
        break;
      case 0x0a: // memory.copy
        k1 = r.u32();
        k2 = r.u32();
        c = this.popOpnd();
        b = this.popOpnd();
        a = this.popOpnd();
        if (k1 !== 0 || k2 !== 0 || this.memory64(0)) return this.memxMisc(0x100 + sub, 0, k1, k2, a, b, c, -1);
        break;
      case 0x0b: // memory.fill
        k1 = r.u32();
        c = this.popOpnd();
        b = this.popOpnd();
        a = this.popOpnd();
        if (k1 !== 0 || this.memory64(0)) return this.memxMisc(0x100 + sub, 0, k1, 0, a, b, c, -1);
        k1 = 0;
        break;
      case 0x0c: // table.init
        k1 = r.u32();
        k2 = r.u32();
        c = this.popOpnd();
        b = this.popOpnd();
        a = this.popOpnd();
        if (this.table64(k2)) return this.tablex(0x100 + sub, k1, k2, a, b, c, -1);
        break;
      case 0x0d: // elem.drop
        k1 = r.u32();
        break;
      case 0x0e: // table.copy
        k1 = r.u32();
        k2 = r.u32();
        c = this.popOpnd();
        b = this.popOpnd();
        a = this.popOpnd();
        if (this.table64(k1) || this.table64(k2)) return this.tablex(0x100 + sub, k1, k2, a, b, c, -1);
        break;
      case 0x0f: // table.grow
        k1 = r.u32();
        b = this.popOpnd();
        a = this.popOpnd();
        if (this.table64(k1)) return this.tablex(0x100 + sub, k1, 0, a, b, 0, 0x7e);
        result = 0x7f;
        break;
      case 0x10: // table.size
        k1 = r.u32();
        if (this.table64(k1)) return this.tablex(0x100 + sub, k1, 0, 0, 0, 0, 0x7e);
        result = 0x7f;
        break;
      case 0x11: // table.fill
        k1 = r.u32();
        c = this.popOpnd();
        b = this.popOpnd();
        a = this.popOpnd();
        if (this.table64(k1)) return this.tablex(0x100 + sub, k1, 0, a, b, c, -1);
        break;
      default:
        throw new Error(`lower: bad 0xFC sub-opcode ${sub}`);
    }
    this.startInstr();
    this.emit(I.MISC);
    this.emit(sub);
    this.emit(k1);
    this.emit(k2);
    const dpos = this.code.length;
    this.emit(0);
    this.emit(a);
    this.emit(b);
    this.emit(c);
    if (result >= 0) this.code[dpos] = this.pushResult(result);
  }

  /**
   * Pops `n` (up to 3) operands and emits `irop sub d a b c` (absent operands 0); returns the code
   * index of the destination `d`.
   */
  private emitOperands(irop: number, sub: number, n: number): number {
    const c = n > 2 ? this.popOpnd() : 0;
    const b = n > 1 ? this.popOpnd() : 0;
    const a = n > 0 ? this.popOpnd() : 0;
    this.startInstr();
    this.emit(irop);
    this.emit(sub);
    const dpos = this.code.length;
    this.emit(0);
    this.emit(a);
    this.emit(b);
    this.emit(c);
    return dpos;
  }

  private lowerAtomic(op: number, nparams: number, nresults: number): void {
    const r = this.r;
    const sub = op - 0x300;
    let off = 0;
    if (sub === 0x03) r.u8();
    else {
      this.readMemarg();
      const c = nparams > 2 ? this.popOpnd() : 0;
      const b = nparams > 1 ? this.popOpnd() : 0;
      const a = this.popOpnd();
      const result = nresults > 0 ? OPS[op]!.results![0]! : -1;
      if (!this.memFast(a)) {
        this.memx(op, a, b, c, 0, result);
        return;
      }
      off = this.memOff;
      this.startInstr();
      this.emit(I.ATOMIC);
      this.emit(sub);
      const dpos = this.code.length;
      this.emit(0);
      this.emit(a);
      this.emit(b);
      this.emit(c);
      this.emit(off);
      if (result >= 0) this.code[dpos] = this.pushResult(result);
      return;
    }
    const dpos = this.emitOperands(I.ATOMIC, sub, nparams);
    this.emit(off);
    if (nresults > 0) this.code[dpos] = this.pushResult(OPS[op]!.results![0]!);
  }

  private lowerSimd(op: number): void {
    const r = this.r;
    // Relaxed SIMD (codes from 0x400) keeps its sub-opcode (0x100 and up) in simd.ts's numbering.
    const sub = op >= 0x400 ? op - 0x300 : op - 0x200;
    const info = OPS[op]!;
    if (sub === 0x0c) {
      // v128.const
      const v = r.view(16);
      this.startInstr();
      this.emit(I.CONST128);
      const dpos = this.code.length;
      this.emit(0);
      for (let j = 0; j < 16; j += 4) this.emit(v[j]! | (v[j + 1]! << 8) | (v[j + 2]! << 16) | (v[j + 3]! << 24));
      this.setResult(dpos, V128);
      return;
    }
    if (info.imm === 'memarg' || info.imm === 'memlane') {
      this.readMemarg();
      const lane = info.imm === 'memlane' ? r.u8() : 0;
      const v = info.params!.length === 2 ? this.popOpnd() : 0;
      const a = this.popOpnd();
      if (!this.memFast(a)) {
        this.memx(op, a, v, 0, lane, info.results!.length > 0 ? V128 : -1);
        return;
      }
      const off = this.memOff;
      this.startInstr();
      this.emit(I.SIMD_MEM);
      this.emit(sub);
      const dpos = this.code.length;
      this.emit(0);
      this.emit(a);
      this.emit(v);
      this.emit(off);
      this.emit(lane);
      if (info.results!.length > 0) this.code[dpos] = this.pushResult(V128);
      return;
    }
    let imm = 0;
    let laneIdx = -1;
    if (info.imm === 'lane') imm = r.u8();
    else if (info.imm === 'shuffle') {
      this.lanes.push(r.view(16).slice());
      laneIdx = this.lanes.length - 1;
    }
    const dpos = this.emitOperands(I.SIMD, sub, info.params!.length);
    this.emit(imm);
    this.emit(laneIdx);
    this.code[dpos] = this.pushResult(info.results![0]!);
  }
}

function copyOp(t: number): number {
  return t === V128 ? I.COPY_V128 : isRefType(t) ? I.COPY_REF : I.COPY;
}

const FUSE = new Map<number, number>(FUSED_PAIRS.map(([a, b, f]) => [a * 256 + b, f]));

/**
 * Turns frequent adjacent pairs into superinstructions in place (see ir.ts): only the first
 * opcode word changes, so every branch target and offset stays valid. Greedy, non-overlapping.
 */
function fusePairs(code: Int32Array): void {
  for (let pc = 0; pc < code.length;) {
    const next = pc + instrLength(code[pc]!, code, pc);
    if (next < code.length) {
      const f = FUSE.get(code[pc]! * 256 + code[next]!);
      if (f !== undefined) {
        code[pc] = f;
        pc = next + instrLength(code[next]!, code, next);
        continue;
      }
    }
    pc = next;
  }
}

const IMM_OF_REV: Record<number, number> = {};
for (const [reg, imm] of Object.values(I32_BIN)) if (imm >= 0) IMM_OF_REV[imm] = reg;

/** At most this many loop constants get slots (each costs two word copies per call). */
const MAX_LOOP_CONSTS = 64;

/**
 * Collects the distinct numeric constants that appear inside loops (as lo/hi word pairs), and counts
 * the legacy tries (each gets a slot for its caught exception) and whether there is a try_table.
 */
function prescanLoopConstants(
  m: IrModule,
  start: number,
  end: number,
  index: Map<string, number>,
  words: number[],
): { tries: number; tryTables: boolean } {
  const r = new Reader(m.bytes, start, end);
  const kinds: number[] = [];
  let loops = 0;
  let tries = 0;
  let tryTables = false;
  while (r.pos < end) {
    const op = r.opcode();
    const info = OPS[op];
    if (info === undefined) throw new Error(`lower: unknown opcode ${op}`);
    if (op === 0x02 || op === 0x03 || op === 0x04 || op === 0x06 || op === 0x1f) {
      r.pos = skipImmediates(r.bytes, r.pos, op);
      kinds.push(op);
      if (op === 0x03) loops++;
      if (op === 0x06) tries++;
      if (op === 0x1f) tryTables = true;
      continue;
    }
    if (op === 0x0b || op === 0x18) {
      r.pos = skipImmediates(r.bytes, r.pos, op);
      if (kinds.pop() === 0x03) loops--;
      continue;
    }
    let lo = 0;
    let hi = 0;
    if (op === 0x41) lo = r.s32();
    else if (op === 0x42) {
      r.s64Halves();
      lo = r.lo;
      hi = r.hi;
    } else if (op === 0x43) lo = r.u32Fixed() | 0;
    else if (op === 0x44) {
      lo = r.u32Fixed() | 0;
      hi = r.u32Fixed() | 0;
    } else {
      r.pos = skipImmediates(r.bytes, r.pos, op);
      continue;
    }
    if (loops === 0 || index.size >= MAX_LOOP_CONSTS) continue;
    const key = `${lo},${hi}`;
    if (!index.has(key)) {
      index.set(key, index.size);
      words.push(lo, hi);
    }
  }
  return { tries, tryTables };
}
