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
import type { FuncType, Module as IrModule } from '../binary/module.js';
import { OPS } from '../binary/opcodes.js';
import { Reader } from '../binary/reader.js';
import { FUSED_PAIRS, I, instrLength } from './ir.js';
import type { Lowered } from './objects.js';
import { typeIdOf } from './objects.js';

const SLOT = 0;
const LOCAL = 1;
const CONST = 2;

interface Ctrl {
  /** 0 block, 1 loop, 2 if, 3 function. */
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
}

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

/** Function types of a module's function index space, for call lowering. */
export interface LowerContext {
  readonly module: IrModule;
}

function blockType(m: IrModule, bt: number): FuncType {
  if (bt === -64) return { params: EMPTY, results: EMPTY };
  if (bt < 0) return { params: EMPTY, results: [bt & 0x7f] };
  const t = m.types[bt];
  if (t === undefined) throw new Error(`lower: bad block type ${bt}`);
  return t;
}

/**
 * Lowers defined function `codeIndex` of `m` (validated). Throws a plain Error on an internal
 * inconsistency (never for valid input).
 */
export interface LowerOptions {
  /** The function has a listener: LISTEN_BEFORE at entry, and (with `listenExits`) RETL at every return. */
  readonly listened?: boolean;
  /** The listener has exits (`after`/`abort`; false for before-only listeners). Default true. */
  readonly listenExits?: boolean;
  /** closeOnContextDone: a CHECK at the entry and at every loop head. */
  readonly interrupt?: boolean;
  /** Whether function index f is a listened wasm function (its direct calls become CALLL). */
  readonly listenedCallee?: (f: number) => boolean;
}

export function lowerFunction(m: IrModule, codeIndex: number, opts: LowerOptions = {}): Lowered {
  const listened = opts.listened === true;
  const listenExits = listened && opts.listenExits !== false;
  const interrupt = opts.interrupt === true;
  const body = m.codes[codeIndex];
  const funcIndex = m.numImportedFuncs + codeIndex;
  const ftype = m.types[m.funcTypeIndexSpace[funcIndex]!];
  if (body === undefined || ftype === undefined) throw new Error(`lower: no function ${funcIndex}`);

  // Locals: slot of each local index and its type.
  const localSlot: number[] = [];
  const localType: number[] = [];
  let nslots = 0;
  for (const t of ftype.params) {
    localSlot.push(nslots);
    localType.push(t);
    nslots += slotsOf(t);
  }
  const paramSlots = nslots;
  const refLocals: number[] = [];
  for (const g of body.locals) {
    for (let i = 0; i < g.count; i++) {
      localSlot.push(nslots);
      localType.push(g.type);
      if (isRefType(g.type)) refLocals.push(nslots);
      nslots += slotsOf(g.type);
    }
  }
  const localSlots = nslots;

  // Constants used inside loops get read-only slots after the locals, filled at function entry
  // (like wasmi's function-local constants): inside the loop they cost no instruction at all.
  const constIndex = new Map<string, number>();
  const constWords: number[] = [];
  prescanLoopConstants(m, body.codeStart, body.codeEnd, constIndex, constWords);
  const constBase = localSlots;
  const stackBase = localSlots + constWords.length / 2;
  const constSlot = (lo: number, hi: number): number => {
    const j = constIndex.get(`${lo | 0},${hi | 0}`);
    return j === undefined ? -1 : constBase + j;
  };

  const code: number[] = [];
  const offs: number[] = [];
  let curOff = body.codeStart;
  const lanes: Uint8Array[] = [];

  // Virtual stack.
  const vsType: number[] = [];
  const vsKind: number[] = [];
  const vsVal: number[] = [];
  const vsSlot: number[] = [];
  const vsHi: number[] = [];
  let height = 0;
  let sp = stackBase;
  let maxSp = sp;

  // Last simple producer: its destination operand index and slot (for local.set folding).
  let lastDstPos = -1;
  let lastDstSlot = -1;
  // Last i32 compare (for compare-and-branch fusion): start index, op, operands.
  let cmpPos = -1;
  let cmpOp = 0;
  let cmpA = 0;
  let cmpB = 0;
  let cmpImm = false;

  const emit = (w: number): void => {
    code.push(w | 0);
    offs.push(curOff);
  };
  const startInstr = (): number => {
    lastDstPos = -1;
    cmpPos = -1;
    return code.length;
  };

  const push = (t: number, kind: number, val: number, hi = 0): void => {
    vsType[height] = t;
    vsKind[height] = kind;
    vsVal[height] = val;
    vsHi[height] = hi;
    vsSlot[height] = sp;
    height++;
    sp += slotsOf(t);
    if (sp > maxSp) maxSp = sp;
  };
  const pushResult = (t: number): number => {
    const s = sp;
    push(t, SLOT, 0);
    return 2 * s;
  };

  const copyOp = (t: number): number => (t === V128 ? I.COPY_V128 : isRefType(t) ? I.COPY_REF : I.COPY);

  /** Emits code that puts entry i into its own slot. */
  const materialize = (i: number): void => {
    const k = vsKind[i]!;
    if (k === SLOT) return;
    startInstr();
    const d = 2 * vsSlot[i]!;
    if (k === LOCAL) {
      emit(copyOp(vsType[i]!));
      emit(d);
      emit(2 * vsVal[i]!);
    } else {
      emitConstInto(d, i);
    }
    vsKind[i] = SLOT;
  };
  /** Emits the constant of entry i into word offset d. */
  function emitConstInto(d: number, i: number): void {
    const t = vsType[i]!;
    if (t === 0x7e || t === 0x7c) {
      emit(I.CONST64);
      emit(d);
      emit(vsVal[i]!);
      emit(vsHi[i]!);
    } else {
      emit(I.CONST32);
      emit(d);
      emit(vsVal[i]!);
    }
  }
  const materializeAll = (): void => {
    for (let i = 0; i < height; i++) materialize(i);
  };

  /** Word offset of entry i, materializing constants. */
  const opnd = (i: number): number => {
    if (vsKind[i] === LOCAL) return 2 * vsVal[i]!;
    if (vsKind[i] === CONST) {
      const t = vsType[i]!;
      const cs = constSlot(vsVal[i]!, t === 0x7e || t === 0x7c ? vsHi[i]! : 0);
      if (cs >= 0) return 2 * cs;
      materialize(i);
    }
    return 2 * vsSlot[i]!;
  };

  const pop = (): number => {
    height--;
    if (height < 0) throw new Error('lower: operand stack underflow');
    sp = vsSlot[height]!;
    return height;
  };
  /** Pops and returns the operand word offset of the top entry. */
  const popOpnd = (): number => {
    const i = height - 1;
    const w = opnd(i);
    pop();
    return w;
  };

  const ctrls: Ctrl[] = [];
  ctrls.push({
    kind: 3,
    height: 0,
    slot: localSlots,
    params: EMPTY,
    results: ftype.results,
    fixups: [],
    head: 0,
    elseFixup: -1,
    unreachable: false,
  });

  const labelTypes = (c: Ctrl): readonly number[] => (c.kind === 1 ? c.params : c.results);

  /** Whether branching to c needs value copies. */
  const needsCopies = (c: Ctrl): boolean => {
    const types = labelTypes(c);
    let s = c.slot;
    for (let j = 0; j < types.length; j++) {
      const i = height - types.length + j;
      if (vsKind[i] !== SLOT || vsSlot[i] !== s) return true;
      s += slotsOf(types[j]!);
    }
    return false;
  };

  /** Emits copies of the top label-arity values into c's slots. */
  const emitCopies = (c: Ctrl): void => {
    const types = labelTypes(c);
    let s = c.slot;
    for (let j = 0; j < types.length; j++) {
      const i = height - types.length + j;
      const t = types[j]!;
      if (vsKind[i] === CONST) {
        startInstr();
        emitConstInto(2 * s, i);
      } else {
        const src = vsKind[i] === LOCAL ? vsVal[i]! : vsSlot[i]!;
        if (src !== s) {
          startInstr();
          emit(copyOp(t));
          emit(2 * s);
          emit(2 * src);
        }
      }
      s += slotsOf(t);
    }
  };

  /** Emits a jump target operand for c (a loop head or a fixup). */
  const emitTarget = (c: Ctrl): void => {
    if (c.kind === 1) emit(c.head);
    else {
      c.fixups.push(code.length);
      emit(0);
    }
  };

  const emitReturn = (): void => {
    const results = ftype.results;
    if (listenExits) {
      // The after callback reads the results from their slots, then a plain return follows.
      const first = height - results.length;
      for (let i = first; i < height; i++) materialize(i);
      startInstr();
      emit(I.RETL);
      emit(results.length === 0 ? 0 : 2 * vsSlot[first]!);
      emit(slotsOfTypes(results));
      emit(results.some(isRefType) ? 1 : 0);
      return;
    }
    startInstr();
    if (results.length === 0) {
      emit(I.RET0);
      return;
    }
    if (results.length === 1 && !isRefType(results[0]!) && results[0] !== V128) {
      const i = height - 1;
      if (vsKind[i] === CONST) {
        emitConstInto(0, i);
        emit(I.RET0);
      } else {
        emit(I.RET1);
        emit(opnd(i));
      }
      return;
    }
    const first = height - results.length;
    for (let i = first; i < height; i++) materialize(i);
    startInstr();
    emit(I.RETN);
    emit(2 * vsSlot[first]!);
    emit(slotsOfTypes(results));
  };

  /**
   * A tail call replaces a listened function's frame: its after fires at the call with no results
   * (they are the callee's to produce), so tail calls keep running in constant stack.
   */
  const emitTailAfter = (): void => {
    if (!listenExits) return;
    startInstr();
    emit(I.LISTEN_AFTER);
    emit(-1);
  };

  const bindLabel = (c: Ctrl): void => {
    const here = code.length;
    for (const f of c.fixups) code[f] = here;
    c.fixups.length = 0;
    lastDstPos = -1;
    cmpPos = -1;
  };

  /** Resets the virtual stack to c's base plus its results, all in their slots. */
  const resetTo = (c: Ctrl, types: readonly number[]): void => {
    height = c.height;
    sp = c.slot;
    for (const t of types) push(t, SLOT, 0);
  };

  const r = new Reader(m.bytes, body.codeStart, body.codeEnd);
  let deadDepth = 0;
  // Entry instructions exist only in the functions that need them, so the others pay nothing.
  // LISTEN_BEFORE must be at pc 0: the engine reads a frame at pc >= 0 of a listened function as
  // "before has run".
  if (listened) emit(I.LISTEN_BEFORE);
  if (interrupt) emit(I.CHECK);

  while (r.pos < body.codeEnd) {
    curOff = r.pos;
    const op = r.opcode();
    const info = OPS[op];
    if (info === undefined) throw new Error(`lower: unknown opcode ${op}`);
    const top = ctrls[ctrls.length - 1]!;

    if (top.unreachable) {
      // Skip dead code, tracking only nesting.
      if (op === 0x02 || op === 0x03 || op === 0x04) {
        r.s33();
        deadDepth++;
        continue;
      }
      if (op === 0x0b && deadDepth > 0) {
        deadDepth--;
        continue;
      }
      if (op === 0x05 && deadDepth > 0) continue;
      if (op !== 0x0b && op !== 0x05) {
        skipImmediates(r, info.imm);
        continue;
      }
    }

    switch (op) {
      case 0x00: // unreachable
        startInstr();
        emit(I.UNREACHABLE);
        top.unreachable = true;
        break;
      case 0x01: // nop
        break;
      case 0x02: // block
      case 0x03: // loop
      case 0x04: {
        // if
        const bt = blockType(m, r.s33());
        let cond = -1;
        let condKind = SLOT;
        let condVal = 0;
        let fuse = -1;
        if (op === 0x04) {
          const i = height - 1;
          condKind = vsKind[i]!;
          condVal = vsVal[i]!;
          if (cmpPos >= 0 && vsKind[i] === SLOT && code.length === cmpPos + 4 && code[cmpPos + 1] === 2 * vsSlot[i]!) fuse = cmpPos;
          cond = opnd(i);
          pop();
        }
        // Everything on the stack goes to its slot: inside the block, locals may change.
        materializeAll();
        const c: Ctrl = {
          kind: op === 0x02 ? 0 : op === 0x03 ? 1 : 2,
          height: height - bt.params.length,
          slot: height - bt.params.length < height ? vsSlot[height - bt.params.length]! : sp,
          params: bt.params,
          results: bt.results,
          fixups: [],
          head: 0,
          elseFixup: -1,
          unreachable: false,
        };
        if (op === 0x03) {
          bindLabel(c);
          c.head = code.length;
          if (interrupt) {
            startInstr();
            emit(I.CHECK);
          }
        } else if (op === 0x04) {
          if (condKind === CONST) {
            // Constant condition: branch unconditionally or not at all.
            startInstr();
            if (condVal === 0) {
              emit(I.BR);
              c.elseFixup = code.length;
              emit(0);
            } else {
              emit(I.NOP);
            }
          } else if (fuse >= 0 && materializedNothingSince(code, fuse)) {
            const cop = cmpOp;
            const a = cmpA;
            const b = cmpB;
            const imm = cmpImm;
            code.length = fuse;
            offs.length = fuse;
            startInstr();
            const br = CMP_TO_BR[cop]!;
            emit(INVERT[br]! + (imm ? 10 : 0));
            emit(a);
            emit(b);
            c.elseFixup = code.length;
            emit(0);
          } else {
            startInstr();
            emit(I.BR_IFZ);
            emit(cond);
            c.elseFixup = code.length;
            emit(0);
          }
        }
        ctrls.push(c);
        lastDstPos = -1;
        cmpPos = -1;
        break;
      }
      case 0x05: {
        // else
        if (!top.unreachable) {
          emitBlockEndValues(top);
          startInstr();
          emit(I.BR);
          emitTarget(top);
        }
        if (top.elseFixup >= 0) {
          code[top.elseFixup] = code.length;
          top.elseFixup = -1;
        }
        lastDstPos = -1;
        cmpPos = -1;
        resetTo(top, top.params);
        top.unreachable = false;
        deadDepth = 0;
        break;
      }
      case 0x0b: {
        // end
        if (!top.unreachable) emitBlockEndValues(top);
        if (top.elseFixup >= 0) {
          code[top.elseFixup] = code.length;
          top.elseFixup = -1;
        }
        deadDepth = 0;
        if (top.kind === 3) {
          if (!top.unreachable) {
            emitReturn();
          }
          ctrls.pop();
          break;
        }
        ctrls.pop();
        if (top.kind !== 1) bindLabel(top);
        resetTo(top, top.results);
        lastDstPos = -1;
        cmpPos = -1;
        break;
      }
      case 0x0c: {
        // br
        const depth = r.u32();
        const c = ctrls[ctrls.length - 1 - depth]!;
        if (c.kind === 3) emitReturn();
        else {
          emitCopies(c);
          startInstr();
          emit(I.BR);
          emitTarget(c);
        }
        top.unreachable = true;
        break;
      }
      case 0x0d: {
        // br_if
        const depth = r.u32();
        const c = ctrls[ctrls.length - 1 - depth]!;
        const i = height - 1;
        const fusable = cmpPos >= 0 && vsKind[i] === SLOT && code.length === cmpPos + 4 && code[cmpPos + 1] === 2 * vsSlot[i]!;
        const fuse = fusable ? cmpPos : -1;
        const condKind = vsKind[i]!;
        const condVal = vsVal[i]!;
        const cond = condKind === CONST ? 0 : opnd(i);
        pop();
        if (c.kind === 3) {
          // Conditional return.
          if (condKind === CONST && condVal === 0) break;
          // Materialize before branching: the return path must not change the fall-through state.
          for (let j = height - ftype.results.length; j < height; j++) materialize(j);
          startInstr();
          let skip = -1;
          if (condKind !== CONST) {
            emit(I.BR_IFZ);
            emit(cond);
            skip = code.length;
            emit(0);
          }
          emitReturn();
          if (skip >= 0) code[skip] = code.length;
          lastDstPos = -1;
          cmpPos = -1;
          if (condKind === CONST) top.unreachable = true;
          break;
        }
        if (condKind === CONST) {
          if (condVal !== 0) {
            emitCopies(c);
            startInstr();
            emit(I.BR);
            emitTarget(c);
            top.unreachable = true;
          }
          break;
        }
        if (!needsCopies(c)) {
          if (fuse >= 0) {
            const cop = cmpOp;
            const a = cmpA;
            const b = cmpB;
            const imm = cmpImm;
            code.length = fuse;
            offs.length = fuse;
            startInstr();
            emit(CMP_TO_BR[cop]! + (imm ? 10 : 0));
            emit(a);
            emit(b);
          } else {
            startInstr();
            emit(I.BR_IF);
            emit(cond);
          }
          emitTarget(c);
        } else {
          startInstr();
          emit(I.BR_IFZ);
          emit(cond);
          const skip = code.length;
          emit(0);
          emitCopies(c);
          startInstr();
          emit(I.BR);
          emitTarget(c);
          code[skip] = code.length;
        }
        lastDstPos = -1;
        cmpPos = -1;
        break;
      }
      case 0x0e: {
        // br_table
        const n = r.count(1);
        const depths: number[] = [];
        for (let j = 0; j <= n; j++) depths.push(r.u32());
        const i = height - 1;
        const cond = opnd(i);
        pop();
        const dc = ctrls[ctrls.length - 1 - depths[n]!]!;
        const arity = dc.kind === 3 ? ftype.results.length : labelTypes(dc).length;
        // Stubs are alternatives: none may change the shared virtual state, so values go to slots first.
        for (let j = height - arity; j < height; j++) materialize(j);
        startInstr();
        emit(I.BR_TABLE);
        emit(cond);
        emit(n);
        const slots: number[] = [];
        for (let j = 0; j <= n; j++) {
          slots.push(code.length);
          emit(0);
        }
        for (let j = 0; j <= n; j++) {
          const c = ctrls[ctrls.length - 1 - depths[j]!]!;
          if (c.kind === 3) {
            code[slots[j]!] = code.length;
            emitReturn();
          } else if (!needsCopies(c)) {
            if (c.kind === 1) code[slots[j]!] = c.head;
            else c.fixups.push(slots[j]!);
          } else {
            code[slots[j]!] = code.length;
            emitCopies(c);
            startInstr();
            emit(I.BR);
            emitTarget(c);
          }
        }
        top.unreachable = true;
        break;
      }
      case 0x0f: // return
        emitReturn();
        top.unreachable = true;
        break;
      case 0x10:
      case 0x12: {
        // call, return_call
        const f = r.u32();
        const ft = m.types[m.funcTypeIndexSpace[f]!]!;
        const argw = prepareArgs(ft.params.length);
        if (op === 0x12) emitTailAfter();
        startInstr();
        if (op === 0x10) {
          emit(opts.listenedCallee?.(f) === true ? I.CALLL : I.CALL);
          emit(f);
          emit(argw);
          pushResults(ft.results);
        } else {
          emit(I.RCALL);
          emit(f);
          emit(argw);
          emit(slotsOfTypes(ft.params));
          top.unreachable = true;
        }
        break;
      }
      case 0x11:
      case 0x13: {
        // call_indirect, return_call_indirect
        const ti = r.u32();
        const table = r.u32();
        const ft = m.types[ti]!;
        const idx = popOpnd();
        const argw = prepareArgs(ft.params.length);
        if (op === 0x13) emitTailAfter();
        startInstr();
        emit(op === 0x11 ? I.CALL_INDIRECT : I.RCALL_INDIRECT);
        emit(typeIdOf(ft));
        emit(table);
        emit(argw);
        emit(idx);
        if (op === 0x11) pushResults(ft.results);
        else {
          emit(slotsOfTypes(ft.params));
          top.unreachable = true;
        }
        break;
      }
      case 0x1a: // drop
        pop();
        break;
      case 0x1b:
      case 0x1c: {
        // select
        if (op === 0x1c) {
          const n = r.count(1);
          for (let j = 0; j < n; j++) r.u8();
        }
        const c = popOpnd();
        const t = vsType[height - 1]!;
        const b = popOpnd();
        const a = popOpnd();
        startInstr();
        emit(t === V128 ? I.SELECT_V128 : isRefType(t) ? I.SELECT_REF : I.SELECT);
        const dpos = code.length;
        emit(0);
        emit(a);
        emit(b);
        emit(c);
        code[dpos] = pushResult(t);
        lastDstPos = dpos;
        lastDstSlot = sp - slotsOf(t);
        break;
      }
      case 0x20: {
        // local.get
        const x = r.u32();
        push(localType[x]!, LOCAL, localSlot[x]!);
        break;
      }
      case 0x21:
      case 0x22: {
        // local.set, local.tee
        const x = r.u32();
        const xs = localSlot[x]!;
        const t = localType[x]!;
        const i = height - 1;
        let conflict = false;
        for (let j = 0; j < i; j++) {
          if (vsKind[j] === LOCAL && vsVal[j] === xs) {
            materialize(j);
            conflict = true;
          }
        }
        const kind = vsKind[i]!;
        if (!conflict && kind === SLOT && lastDstPos >= 0 && lastDstSlot === vsSlot[i]) {
          code[lastDstPos] = 2 * xs;
          lastDstPos = -1;
          cmpPos = -1;
        } else if (kind === LOCAL && vsVal[i] === xs) {
          // local.set x (local.get x): nothing to do.
        } else if (kind === CONST) {
          startInstr();
          emitConstInto(2 * xs, i);
        } else {
          const src = opnd(i);
          startInstr();
          emit(copyOp(t));
          emit(2 * xs);
          emit(src);
        }
        pop();
        if (op === 0x22) push(t, LOCAL, xs);
        break;
      }
      case 0x23: {
        // global.get
        const g = r.u32();
        const t = m.globalSpace[g]!.valType;
        startInstr();
        emit(t === V128 ? I.GLOBAL_GET_V128 : isRefType(t) ? I.GLOBAL_GET_REF : I.GLOBAL_GET);
        const dpos = code.length;
        emit(0);
        emit(g);
        code[dpos] = pushResult(t);
        lastDstPos = dpos;
        lastDstSlot = sp - slotsOf(t);
        break;
      }
      case 0x24: {
        // global.set
        const g = r.u32();
        const t = m.globalSpace[g]!.valType;
        const s = popOpnd();
        startInstr();
        emit(t === V128 ? I.GLOBAL_SET_V128 : isRefType(t) ? I.GLOBAL_SET_REF : I.GLOBAL_SET);
        emit(g);
        emit(s);
        break;
      }
      case 0x25: {
        // table.get
        const t = r.u32();
        const idx = popOpnd();
        startInstr();
        emit(I.TABLE_GET);
        const dpos = code.length;
        emit(0);
        emit(t);
        emit(idx);
        code[dpos] = pushResult(m.tableSpace[t]!.elemType);
        break;
      }
      case 0x26: {
        // table.set
        const t = r.u32();
        const v = popOpnd();
        const idx = popOpnd();
        startInstr();
        emit(I.TABLE_SET);
        emit(t);
        emit(idx);
        emit(v);
        break;
      }
      case 0x3f: {
        // memory.size
        r.u8();
        startInstr();
        emit(I.MEMORY_SIZE);
        const dpos = code.length;
        emit(0);
        code[dpos] = pushResult(0x7f);
        break;
      }
      case 0x40: {
        // memory.grow
        r.u8();
        const a = popOpnd();
        startInstr();
        emit(I.MEMORY_GROW);
        const dpos = code.length;
        emit(0);
        emit(a);
        code[dpos] = pushResult(0x7f);
        break;
      }
      case 0x41: {
        // i32.const
        push(0x7f, CONST, r.s32());
        break;
      }
      case 0x42: {
        // i64.const
        r.s64Halves();
        push(0x7e, CONST, r.lo, r.hi);
        break;
      }
      case 0x43: {
        // f32.const
        push(0x7d, CONST, r.u32Fixed() | 0);
        break;
      }
      case 0x44: {
        // f64.const
        const lo = r.u32Fixed() | 0;
        const hi = r.u32Fixed() | 0;
        push(0x7c, CONST, lo, hi);
        break;
      }
      case 0xa7: // i32.wrap_i64: the low word is the i32
      case 0xbc: // reinterpretations: same bits
      case 0xbd:
      case 0xbe:
      case 0xbf: {
        const t = info.results![0]!;
        const i = height - 1;
        vsType[i] = t;
        break;
      }
      case 0xd0: {
        // ref.null
        const t = r.u8();
        startInstr();
        emit(I.REF_NULL);
        const dpos = code.length;
        emit(0);
        code[dpos] = pushResult(t);
        lastDstPos = dpos;
        lastDstSlot = sp - 1;
        break;
      }
      case 0xd1: {
        // ref.is_null
        const a = popOpnd();
        simple(I.REF_IS_NULL, a, -1, 0x7f);
        break;
      }
      case 0xd2: {
        // ref.func
        const f = r.u32();
        startInstr();
        emit(I.REF_FUNC);
        const dpos = code.length;
        emit(0);
        emit(f);
        code[dpos] = pushResult(0x70);
        lastDstPos = dpos;
        lastDstSlot = sp - 1;
        break;
      }
      default: {
        if (op in I32_BIN) {
          lowerI32Bin(op);
          break;
        }
        const ld = LOADS[op];
        if (ld !== undefined) {
          r.u32();
          const off = r.u32();
          const a = popOpnd();
          startInstr();
          emit(ld);
          const dpos = code.length;
          emit(0);
          emit(a);
          emit(off);
          const t = info.results![0]!;
          code[dpos] = pushResult(t);
          lastDstPos = dpos;
          lastDstSlot = sp - 1;
          break;
        }
        const st = STORES[op];
        if (st !== undefined) {
          r.u32();
          const off = r.u32();
          const v = popOpnd();
          const a = popOpnd();
          startInstr();
          emit(st);
          emit(a);
          emit(v);
          emit(off);
          break;
        }
        if (
          op === 0x45 &&
          cmpPos >= 0 &&
          code.length === cmpPos + 4 &&
          vsKind[height - 1] === SLOT &&
          code[cmpPos + 1] === 2 * vsSlot[height - 1]!
        ) {
          // i32.eqz of the compare just emitted: negate the compare instead (no instruction), and
          // keep it fusable with a following br_if/if.
          cmpOp = CMP_NEGATE[cmpOp]!;
          code[cmpPos] = cmpImm ? IMM_OF[cmpOp]! : cmpOp;
          break;
        }
        const s = SIMPLE[op];
        if (
          (s === I.I64_SHL || s === I.I64_SHR_S || s === I.I64_SHR_U) &&
          vsKind[height - 1] === CONST &&
          (vsVal[height - 1]! & 63) !== 0
        ) {
          // Shift by a constant: the count is an immediate and the run loop needs no helper.
          const k = vsVal[height - 1]! & 63;
          pop();
          const a = popOpnd();
          simple(s === I.I64_SHL ? I.I64_SHLI : s === I.I64_SHR_S ? I.I64_SHR_SI : I.I64_SHR_UI, a, k, 0x7e);
          break;
        }
        if (s !== undefined) {
          const nparams = info.params!.length;
          const b = nparams === 2 ? popOpnd() : -1;
          const a = popOpnd();
          simple(s, a, b, info.results![0]!);
          break;
        }
        if (op >= 0x100 && op <= 0x107) {
          // trunc_sat
          const a = popOpnd();
          startInstr();
          emit(I.TRUNC_SAT);
          emit(op - 0x100);
          const dpos = code.length;
          emit(0);
          emit(a);
          code[dpos] = pushResult(info.results![0]!);
          lastDstPos = dpos;
          lastDstSlot = sp - 1;
          break;
        }
        if (op >= 0x108 && op <= 0x111) {
          lowerMisc(op - 0x100);
          break;
        }
        if (op >= 0x300 && op < 0x400) {
          lowerAtomic(op, info.params!.length, info.results!.length);
          break;
        }
        if (op >= 0x200 && op < 0x300) {
          lowerSimd(op);
          break;
        }
        throw new Error(`not supported: ${info.name}`);
      }
    }
  }

  function materializedNothingSince(c: number[], pos: number): boolean {
    return c.length === pos + 4;
  }

  /** Puts the top label values of a block's fall-through end into the block's result slots. */
  function emitBlockEndValues(c: Ctrl): void {
    if (c.kind === 3) return;
    const types = c.results;
    // The fall-through values are the top |results| entries; they must sit at c.slot...
    let s = c.slot;
    for (let j = 0; j < types.length; j++) {
      const i = height - types.length + j;
      const t = types[j]!;
      if (vsKind[i] === CONST) {
        startInstr();
        emitConstInto(2 * s, i);
      } else {
        const src = vsKind[i] === LOCAL ? vsVal[i]! : vsSlot[i]!;
        if (src !== s) {
          startInstr();
          emit(copyOp(t));
          emit(2 * s);
          emit(2 * src);
        }
      }
      s += slotsOf(t);
    }
  }

  function prepareArgs(n: number): number {
    const first = height - n;
    for (let i = first; i < height; i++) materialize(i);
    const argw = 2 * (n > 0 ? vsSlot[first]! : sp);
    for (let i = 0; i < n; i++) pop();
    return argw;
  }

  function pushResults(results: readonly number[]): void {
    for (const t of results) push(t, SLOT, 0);
    lastDstPos = -1;
    cmpPos = -1;
  }

  function simple(irop: number, a: number, b: number, resultType: number): void {
    startInstr();
    emit(irop);
    const dpos = code.length;
    emit(0);
    emit(a);
    if (b >= 0) emit(b);
    code[dpos] = pushResult(resultType);
    lastDstPos = dpos;
    lastDstSlot = sp - slotsOf(resultType);
  }

  function lowerI32Bin(op: number): void {
    const [reg, imm] = I32_BIN[op]!;
    const bi = height - 1;
    const ai = height - 2;
    let irop = reg;
    let a: number;
    let b: number;
    let useImm = false;
    if (vsKind[bi] === CONST && (imm >= 0 || reg === I.I32_SUB)) {
      b = vsVal[bi]!;
      if (reg === I.I32_SUB) {
        irop = I.I32_ADDI;
        b = -b | 0;
      } else irop = imm;
      useImm = true;
      pop();
      a = popOpnd();
    } else if (vsKind[ai] === CONST && SWAP_CMP[reg] !== undefined && vsKind[bi] !== CONST) {
      const k = vsVal[ai]!;
      b = opnd(bi);
      pop();
      pop();
      a = b;
      b = k;
      irop = IMM_OF[SWAP_CMP[reg]!]!;
      useImm = true;
    } else {
      b = popOpnd();
      a = popOpnd();
    }
    if ((irop === I.I32_SHLI || irop === I.I32_SHR_SI || irop === I.I32_SHR_UI) && useImm) b &= 31;
    if (irop === I.I32_ROTLI) b = reg === I.I32_ROTR ? (32 - (b & 31)) & 31 : b & 31;
    const start = startInstr();
    emit(irop);
    const dpos = code.length;
    emit(0);
    emit(a);
    emit(b);
    code[dpos] = pushResult(0x7f);
    lastDstPos = dpos;
    lastDstSlot = sp - 1;
    // Remember compares for branch fusion.
    const base = useImm ? IMM_OF_REV[irop] : irop;
    if (base !== undefined && CMP_TO_BR[base] !== undefined) {
      cmpPos = start;
      cmpOp = base;
      cmpA = a;
      cmpB = b;
      cmpImm = useImm;
    }
  }

  function lowerMisc(sub: number): void {
    let k1 = 0;
    let k2 = 0;
    let d = 0;
    let a = 0;
    let b = 0;
    let c = 0;
    let result = -1;
    switch (sub) {
      case 0x08: // memory.init
        k1 = r.u32();
        r.u8();
        c = popOpnd();
        b = popOpnd();
        a = popOpnd();
        break;
      case 0x09: // data.drop
        k1 = r.u32();
        break;
      case 0x0a: // memory.copy
        r.u8();
        r.u8();
        c = popOpnd();
        b = popOpnd();
        a = popOpnd();
        break;
      case 0x0b: // memory.fill
        r.u8();
        c = popOpnd();
        b = popOpnd();
        a = popOpnd();
        break;
      case 0x0c: // table.init
        k1 = r.u32();
        k2 = r.u32();
        c = popOpnd();
        b = popOpnd();
        a = popOpnd();
        break;
      case 0x0d: // elem.drop
        k1 = r.u32();
        break;
      case 0x0e: // table.copy
        k1 = r.u32();
        k2 = r.u32();
        c = popOpnd();
        b = popOpnd();
        a = popOpnd();
        break;
      case 0x0f: // table.grow
        k1 = r.u32();
        b = popOpnd();
        a = popOpnd();
        result = 0x7f;
        break;
      case 0x10: // table.size
        k1 = r.u32();
        result = 0x7f;
        break;
      case 0x11: // table.fill
        k1 = r.u32();
        c = popOpnd();
        b = popOpnd();
        a = popOpnd();
        break;
      default:
        throw new Error(`lower: bad 0xFC sub-opcode ${sub}`);
    }
    startInstr();
    emit(I.MISC);
    emit(sub);
    emit(k1);
    emit(k2);
    const dpos = code.length;
    emit(d);
    emit(a);
    emit(b);
    emit(c);
    if (result >= 0) code[dpos] = pushResult(result);
  }

  function lowerAtomic(op: number, nparams: number, nresults: number): void {
    const sub = op - 0x300;
    let off = 0;
    if (sub === 0x03) r.u8();
    else {
      r.u32();
      off = r.u32();
    }
    const ops = [0, 0, 0];
    for (let j = nparams - 1; j >= 0; j--) ops[j] = popOpnd();
    startInstr();
    emit(I.ATOMIC);
    emit(sub);
    const dpos = code.length;
    emit(0);
    emit(ops[0]!);
    emit(ops[1]!);
    emit(ops[2]!);
    emit(off);
    if (nresults > 0) code[dpos] = pushResult(OPS[op]!.results![0]!);
  }

  function lowerSimd(op: number): void {
    const sub = op - 0x200;
    const info = OPS[op]!;
    if (sub === 0x0c) {
      // v128.const
      const v = r.view(16);
      startInstr();
      emit(I.CONST128);
      const dpos = code.length;
      emit(0);
      for (let j = 0; j < 16; j += 4) emit(v[j]! | (v[j + 1]! << 8) | (v[j + 2]! << 16) | (v[j + 3]! << 24));
      code[dpos] = pushResult(V128);
      lastDstPos = dpos;
      lastDstSlot = sp - 2;
      return;
    }
    if (info.imm === 'memarg' || info.imm === 'memlane') {
      r.u32();
      const off = r.u32();
      const lane = info.imm === 'memlane' ? r.u8() : 0;
      const nparams = info.params!.length;
      const v = nparams === 2 ? popOpnd() : 0;
      const a = popOpnd();
      startInstr();
      emit(I.SIMD_MEM);
      emit(sub);
      const dpos = code.length;
      emit(0);
      emit(a);
      emit(v);
      emit(off);
      emit(lane);
      if (info.results!.length > 0) code[dpos] = pushResult(V128);
      return;
    }
    let imm = 0;
    let laneIdx = -1;
    if (info.imm === 'lane') imm = r.u8();
    else if (info.imm === 'shuffle') {
      lanes.push(r.view(16).slice());
      laneIdx = lanes.length - 1;
    }
    const n = info.params!.length;
    const ops = [0, 0, 0];
    for (let j = n - 1; j >= 0; j--) ops[j] = popOpnd();
    startInstr();
    emit(I.SIMD);
    emit(sub);
    const dpos = code.length;
    emit(0);
    emit(ops[0]!);
    emit(ops[1]!);
    emit(ops[2]!);
    emit(imm);
    emit(laneIdx);
    code[dpos] = pushResult(info.results![0]!);
  }

  if (ctrls.length !== 0) throw new Error('lower: unbalanced blocks');
  const out = Int32Array.from(code);
  fusePairs(out);
  return {
    code: out,
    offsets: Int32Array.from(offs),
    maxSlots: maxSp + 4,
    paramSlots,
    localSlots,
    consts: Int32Array.from(constWords),
    refLocals: Int32Array.from(refLocals),
    lanes,
  };
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

/** Collects the distinct numeric constants that appear inside loops (as lo/hi word pairs). */
function prescanLoopConstants(m: IrModule, start: number, end: number, index: Map<string, number>, words: number[]): void {
  const r = new Reader(m.bytes, start, end);
  const kinds: number[] = [];
  let loops = 0;
  while (r.pos < end) {
    const op = r.opcode();
    const info = OPS[op];
    if (info === undefined) throw new Error(`lower: unknown opcode ${op}`);
    if (op === 0x02 || op === 0x03 || op === 0x04) {
      r.s33();
      kinds.push(op);
      if (op === 0x03) loops++;
      continue;
    }
    if (op === 0x0b) {
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
      skipImmediates(r, info.imm);
      continue;
    }
    if (loops === 0 || index.size >= MAX_LOOP_CONSTS) continue;
    const key = `${lo},${hi}`;
    if (!index.has(key)) {
      index.set(key, index.size);
      words.push(lo, hi);
    }
  }
}

function skipImmediates(r: Reader, imm: string): void {
  switch (imm) {
    case 'none':
      return;
    case 'blocktype':
      r.s33();
      return;
    case 'label':
    case 'func':
    case 'local':
    case 'global':
    case 'table':
    case 'dataidx':
    case 'elemidx':
      r.u32();
      return;
    case 'brtable': {
      const n = r.count(1);
      for (let i = 0; i <= n; i++) r.u32();
      return;
    }
    case 'callind':
    case 'tableinit':
    case 'tablecopy':
      r.u32();
      r.u32();
      return;
    case 'memarg':
      r.u32();
      r.u32();
      return;
    case 'memlane':
      r.u32();
      r.u32();
      r.u8();
      return;
    case 'memidx':
    case 'reftype':
    case 'lane':
    case 'fence':
      r.u8();
      return;
    case 'memcopy':
      r.u8();
      r.u8();
      return;
    case 'meminit':
      r.u32();
      r.u8();
      return;
    case 'i32':
      r.s32();
      return;
    case 'i64':
      r.s64Halves();
      return;
    case 'f32':
      r.skip(4);
      return;
    case 'f64':
      r.skip(8);
      return;
    case 'v128':
    case 'shuffle':
      r.skip(16);
      return;
    case 'selectt': {
      const n = r.count(1);
      for (let i = 0; i < n; i++) r.u8();
      return;
    }
    default:
      throw new Error(`lower: unknown immediate kind ${imm}`);
  }
}
