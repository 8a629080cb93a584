/**
 * Internal code of the interpreter: one `Int32Array` per function, each instruction an opcode word
 * followed by its operands. Operands named d/a/b/c are word offsets (2 × slot index) relative to the
 * frame pointer; `t` are absolute code indices (branch targets, resolved at lowering); `k` are
 * immediates. The run loop (run.ts) switches on numeric literals (V8 builds a jump table only for
 * literal case labels), so every number here appears there too; run.test.ts checks they agree.
 */
export const I = {
  UNREACHABLE: 0, // -
  BR: 1, // t
  BR_IF: 2, // c t
  BR_IFZ: 3, // c t
  BR_TABLE: 4, // c n t0..tn (n+1 targets, the last is the default)
  RET0: 5, // -
  RET1: 6, // s
  RETN: 7, // s nslots
  CALL: 8, // f argw
  CALL_INDIRECT: 9, // typeId table argw idx
  RCALL: 10, // f argw nslots
  RCALL_INDIRECT: 11, // typeId table argw idx nslots
  COPY: 12, // d s
  COPY_REF: 13, // d s
  COPY_V128: 14, // d s
  CONST32: 15, // d k
  CONST64: 16, // d lo hi
  CONST128: 17, // d w0 w1 w2 w3
  SELECT: 18, // d a b c
  SELECT_REF: 19, // d a b c
  SELECT_V128: 20, // d a b c
  GLOBAL_GET: 21, // d g
  GLOBAL_SET: 22, // g s
  GLOBAL_GET_REF: 23, // d g
  GLOBAL_SET_REF: 24, // g s
  GLOBAL_GET_V128: 25, // d g
  GLOBAL_SET_V128: 26, // g s
  TABLE_GET: 27, // d t i
  TABLE_SET: 28, // t i v
  MEMORY_SIZE: 29, // d
  MEMORY_GROW: 30, // d a
  REF_NULL: 31, // d
  REF_IS_NULL: 32, // d a
  REF_FUNC: 33, // d f
  MISC: 34, // sub k1 k2 d a b c   (0xFC bulk memory / table ops)
  ATOMIC: 35, // sub d a b c off
  SIMD: 36, // sub d a b c imm lanesIndex(-1 none)
  SIMD_MEM: 37, // sub d a v off lane
  NOP: 38, // -
  /** First instruction of a listened function: calls the listener's before (listen.ts). */
  LISTEN_BEFORE: 39, // -
  /** Precedes every return of a listened function: calls after with the results at s. */
  LISTEN_AFTER: 56, // s
  /** Interrupt check (loop heads, function entries) when closeOnContextDone is on. */
  CHECK: 57, // -
  /** CALL of a listened wasm function: fires its before and enters at pc 1 (past LISTEN_BEFORE). */
  CALLL: 58, // f argw
  /** Return of a listened function: fires after with the results at s, then returns them. */
  RETL: 59, // s nslots hasRefs
  /** First instruction of a block when the module counts block entries (line coverage): counts[k]++. */
  COVER: 168, // k

  I32_LOAD: 40, // d a off
  I64_LOAD: 41,
  I32_LOAD8_S: 42,
  I32_LOAD8_U: 43,
  I32_LOAD16_S: 44,
  I32_LOAD16_U: 45,
  I64_LOAD8_S: 46,
  I64_LOAD8_U: 47,
  I64_LOAD16_S: 48,
  I64_LOAD16_U: 49,
  I64_LOAD32_S: 50,
  I64_LOAD32_U: 51,
  I32_STORE: 52, // a v off
  I64_STORE: 53,
  I32_STORE8: 54,
  I32_STORE16: 55,

  I32_ADD: 60, // d a b
  I32_SUB: 61,
  I32_MUL: 62,
  I32_DIV_S: 63,
  I32_DIV_U: 64,
  I32_REM_S: 65,
  I32_REM_U: 66,
  I32_AND: 67,
  I32_OR: 68,
  I32_XOR: 69,
  I32_SHL: 70,
  I32_SHR_S: 71,
  I32_SHR_U: 72,
  I32_ROTL: 73,
  I32_ROTR: 74,
  I32_EQ: 75,
  I32_NE: 76,
  I32_LT_S: 77,
  I32_LT_U: 78,
  I32_GT_S: 79,
  I32_GT_U: 80,
  I32_LE_S: 81,
  I32_LE_U: 82,
  I32_GE_S: 83,
  I32_GE_U: 84,
  I32_ADDI: 85, // d a k
  I32_MULI: 86,
  I32_ANDI: 87,
  I32_ORI: 88,
  I32_XORI: 89,
  I32_SHLI: 90,
  I32_SHR_SI: 91,
  I32_SHR_UI: 92,
  I32_EQI: 93,
  I32_NEI: 94,
  I32_LT_SI: 95,
  I32_LT_UI: 96,
  I32_GT_SI: 97,
  I32_GT_UI: 98,
  I32_LE_SI: 99,
  I32_LE_UI: 100,
  I32_GE_SI: 101,
  I32_GE_UI: 102,
  I32_EQZ: 103, // d a
  I32_CLZ: 104,
  I32_CTZ: 105,
  I32_POPCNT: 106,
  I32_EXTEND8_S: 107,
  I32_EXTEND16_S: 108,
  I32_ROTLI: 109, // d a k (0..31; rotr k is rotl 32-k)

  BR_EQ: 110, // a b t
  BR_NE: 111,
  BR_LT_S: 112,
  BR_LT_U: 113,
  BR_GT_S: 114,
  BR_GT_U: 115,
  BR_LE_S: 116,
  BR_LE_U: 117,
  BR_GE_S: 118,
  BR_GE_U: 119,
  BR_EQI: 120, // a k t
  BR_NEI: 121,
  BR_LT_SI: 122,
  BR_LT_UI: 123,
  BR_GT_SI: 124,
  BR_GT_UI: 125,
  BR_LE_SI: 126,
  BR_LE_UI: 127,
  BR_GE_SI: 128,
  BR_GE_UI: 129,

  I64_ADD: 130, // d a b
  I64_SUB: 131,
  I64_MUL: 132,
  I64_DIV_S: 133,
  I64_DIV_U: 134,
  I64_REM_S: 135,
  I64_REM_U: 136,
  I64_AND: 137,
  I64_OR: 138,
  I64_XOR: 139,
  I64_SHL: 140,
  I64_SHR_S: 141,
  I64_SHR_U: 142,
  I64_ROTL: 143,
  I64_ROTR: 144,
  I64_EQ: 145,
  I64_NE: 146,
  I64_LT_S: 147,
  I64_LT_U: 148,
  I64_GT_S: 149,
  I64_GT_U: 150,
  I64_LE_S: 151,
  I64_LE_U: 152,
  I64_GE_S: 153,
  I64_GE_U: 154,
  I64_EQZ: 155, // d a
  I64_CLZ: 156,
  I64_CTZ: 157,
  I64_POPCNT: 158,
  I64_EXTEND8_S: 159,
  I64_EXTEND16_S: 160,
  I64_EXTEND32_S: 161,
  I64_EXTEND_I32_S: 163,
  I64_EXTEND_I32_U: 164,
  I64_ADDI: 165, // d a k (k sign-extended)
  I64_SHLI: 162, // d a k (1..63)
  I64_SHR_SI: 166, // d a k (1..63)
  I64_SHR_UI: 167, // d a k (1..63)

  F32_ADD: 170, // d a b
  F32_SUB: 171,
  F32_MUL: 172,
  F32_DIV: 173,
  F32_MIN: 174,
  F32_MAX: 175,
  F32_COPYSIGN: 176,
  F32_EQ: 177,
  F32_NE: 178,
  F32_LT: 179,
  F32_GT: 180,
  F32_LE: 181,
  F32_GE: 182,
  F32_ABS: 183, // d a
  F32_NEG: 184,
  F32_CEIL: 185,
  F32_FLOOR: 186,
  F32_TRUNC: 187,
  F32_NEAREST: 188,
  F32_SQRT: 189,
  F64_ADD: 190,
  F64_SUB: 191,
  F64_MUL: 192,
  F64_DIV: 193,
  F64_MIN: 194,
  F64_MAX: 195,
  F64_COPYSIGN: 196,
  F64_EQ: 197,
  F64_NE: 198,
  F64_LT: 199,
  F64_GT: 200,
  F64_LE: 201,
  F64_GE: 202,
  F64_ABS: 203,
  F64_NEG: 204,
  F64_CEIL: 205,
  F64_FLOOR: 206,
  F64_TRUNC: 207,
  F64_NEAREST: 208,
  F64_SQRT: 209,

  I32_TRUNC_F32_S: 210, // d a
  I32_TRUNC_F32_U: 211,
  I32_TRUNC_F64_S: 212,
  I32_TRUNC_F64_U: 213,
  I64_TRUNC_F32_S: 214,
  I64_TRUNC_F32_U: 215,
  I64_TRUNC_F64_S: 216,
  I64_TRUNC_F64_U: 217,
  F32_CONVERT_I32_S: 218,
  F32_CONVERT_I32_U: 219,
  F32_CONVERT_I64_S: 220,
  F32_CONVERT_I64_U: 221,
  F32_DEMOTE_F64: 222,
  F64_CONVERT_I32_S: 223,
  F64_CONVERT_I32_U: 224,
  F64_CONVERT_I64_S: 225,
  F64_CONVERT_I64_U: 226,
  F64_PROMOTE_F32: 227,
  TRUNC_SAT: 228, // sub d a   (0xFC 0..7)

  // Multiple memories, 64-bit memories and tables (memx.ts; memory 0 of 32 bits keeps the ops above).
  /** Before an access to a 64-bit memory 0: out of bounds unless the i64 address's high word is 0. */
  ADDR64: 254, // a
  /** Before a 64-bit table's call_indirect/get/set: invalid table access unless the high word is 0. */
  IDX64: 169, // a
  /** An i64 grow delta as the i32 MEMORY_GROW takes: the low word, or -1 (fails) above 2^32 - 1. */
  CLAMP64: 253, // d a
  /** A load, store, SIMD memory or atomic instruction (wasm opcode code) on memory `mem` of either kind. */
  MEMX: 247, // code mem d a b c offLo offHi lane
  /** memory.size/grow/init/copy/fill (wasm opcode code) on other memories or a 64-bit one. */
  MEMX_MISC: 248, // code k mem1 mem2 d a b c
  /** table.size/grow/fill/copy/init (wasm opcode code) involving a 64-bit table. */
  TABLEX: 249, // code t1 t2 d a b c

  // Exception handling (exceptions.ts): leave the run loop with the exception, to be caught or not.
  THROW: 250, // tag argw
  THROW_REF: 251, // a
  /** Legacy `rethrow`: the exception the enclosing catch stored in its slot. */
  RETHROW: 252, // a

  // Superinstructions A__B: the opcode word of A is replaced, both instructions' operands stay
  // where they were (B's opcode word is kept too), so a branch to B still runs B alone and no
  // target moves. The pairs are the most frequent adjacent pairs in the nowasi guests.
  I32_ADDI__I32_ADDI: 230,
  I32_ADD__I32_ADD: 231,
  COPY__COPY: 232,
  I64_LOAD__F64_MUL: 233,
  I64_LOAD__F64_ADD: 234,
  F64_ADD__I64_STORE: 235,
  I64_STORE__I32_ADDI: 236,
  I32_ADDI__I64_LOAD: 237,
  I32_ADDI__I32_LOAD: 238,
  I32_ROTLI__I32_XOR: 239,
  F64_MUL__F64_MUL: 240,
  I32_ADDI__BR_NE: 241,
  I32_ADD__BR_LE_U: 242,
  I32_STORE8__I32_ADD: 243,
  BR_LT_S__I32_ADDI: 244,
  I64_LOAD__I64_ADD: 245,
  I64_ADD__I64_STORE: 246,

  /** Dirty-page tracking: marks the pages of the n-byte write at a + off (before a store). */
  DIRTY: 255, // a off n
} as const;

/** [first, second, fused] opcodes of the superinstructions. */
export const FUSED_PAIRS: ReadonlyArray<readonly [number, number, number]> = [
  [I.I32_ADDI, I.I32_ADDI, I.I32_ADDI__I32_ADDI],
  [I.I32_ADD, I.I32_ADD, I.I32_ADD__I32_ADD],
  [I.COPY, I.COPY, I.COPY__COPY],
  [I.I64_LOAD, I.F64_MUL, I.I64_LOAD__F64_MUL],
  [I.I64_LOAD, I.F64_ADD, I.I64_LOAD__F64_ADD],
  [I.F64_ADD, I.I64_STORE, I.F64_ADD__I64_STORE],
  [I.I64_STORE, I.I32_ADDI, I.I64_STORE__I32_ADDI],
  [I.I32_ADDI, I.I64_LOAD, I.I32_ADDI__I64_LOAD],
  [I.I32_ADDI, I.I32_LOAD, I.I32_ADDI__I32_LOAD],
  [I.I32_ROTLI, I.I32_XOR, I.I32_ROTLI__I32_XOR],
  [I.F64_MUL, I.F64_MUL, I.F64_MUL__F64_MUL],
  [I.I32_ADDI, I.BR_NE, I.I32_ADDI__BR_NE],
  [I.I32_ADD, I.BR_LE_U, I.I32_ADD__BR_LE_U],
  [I.I32_STORE8, I.I32_ADD, I.I32_STORE8__I32_ADD],
  [I.BR_LT_S, I.I32_ADDI, I.BR_LT_S__I32_ADDI],
  [I.I64_LOAD, I.I64_ADD, I.I64_LOAD__I64_ADD],
  [I.I64_ADD, I.I64_STORE, I.I64_ADD__I64_STORE],
];

const FUSED_FIRST = new Map<number, number>(FUSED_PAIRS.map(([a, , f]) => [f, a]));

/** Number of words of each instruction (opcode included); -1 for variable length (BR_TABLE). */
export function instrLength(op: number, code: Int32Array, pc: number): number {
  // A superinstruction's own length is its first half's: the second half follows in place.
  const first = FUSED_FIRST.get(op);
  if (first !== undefined) return instrLength(first, code, pc);
  switch (op) {
    case I.UNREACHABLE:
    case I.RET0:
    case I.NOP:
    case I.LISTEN_BEFORE:
    case I.CHECK:
      return 1;
    case I.LISTEN_AFTER:
    case I.COVER:
    case I.BR:
    case I.RET1:
    case I.MEMORY_SIZE:
    case I.REF_NULL:
    case I.ADDR64:
    case I.IDX64:
    case I.THROW_REF:
    case I.RETHROW:
      return 2;
    case I.THROW:
    case I.CLAMP64:
      return 3;
    case I.MEMX:
      return 10;
    case I.MEMX_MISC:
      return 9;
    case I.TABLEX:
      return 8;
    case I.BR_TABLE:
      return 3 + code[pc + 2]! + 1;
    case I.CONST128:
      return 6;
    case I.MISC:
      return 8;
    case I.ATOMIC:
    case I.SIMD_MEM:
      return 7;
    case I.SIMD:
      return 8;
    case I.CALLL:
      return 3;
    case I.CALL_INDIRECT:
    case I.SELECT:
    case I.SELECT_REF:
    case I.SELECT_V128:
    case I.CONST64:
      return op === I.CONST64 ? 4 : 5;
    case I.RCALL_INDIRECT:
      return 6;
    case I.RCALL:
    case I.RETL:
    case I.DIRTY:
    case I.TABLE_GET:
    case I.TABLE_SET:
    case I.TRUNC_SAT:
      return 4;
    default:
      if (op >= 40 && op <= 55) return 4;
      if ((op >= 60 && op <= 102) || op === I.I32_ROTLI) return 4;
      if (op >= 110 && op <= 129) return 4;
      if (op >= 130 && op <= 154) return 4;
      if (op === I.I64_ADDI || op === I.I64_SHLI || op === I.I64_SHR_SI || op === I.I64_SHR_UI) return 4;
      if (op >= 170 && op <= 182) return 4;
      if (op >= 190 && op <= 202) return 4;
      return 3;
  }
}
