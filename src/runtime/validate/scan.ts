/**
 * The instruction scan of V8-first validation: one pass over every function body that proves each
 * instruction belongs to an enabled feature and is encoded the way V8 and wasmscope's validator
 * read it alike, so that V8 accepting the module means our validator would accept it too. It types
 * nothing; V8 does (in C++, about ten times faster than code.ts, which stays the reference and
 * gives the precise error whenever V8 rejects). As a by-product it lists where chosen instructions
 * start (the compiler engine's precise-trap sites), so nobody walks the bodies a second time.
 *
 * Why a scan at all: V8 accepts more than the configured `CoreFeatures` (Node 20: threads, tail
 * calls, legacy exceptions; Node 24 also GC, typed function references, multiple memories…), and
 * some of it is in instructions (an opcode, a memory index, a heap type), which only a walk of the
 * bodies sees. The walk is a finite automaton over bytes: one table lookup per byte and no branch
 * per instruction, so it runs at a few cycles per byte (a decoding walk costs about as much as
 * V8's own validation). Rare shapes (`br_table`, `select t`, a sub-opcode of two bytes) leave the
 * automaton for a few lines of ordinary code.
 *
 * The scan also bounds the indices that name functions, globals and types (`call`, `ref.func`,
 * `global.get`, a `call_indirect`'s type, a block type): the compiler engine's rewrite appends some
 * of those, so an index one past the original ones would be valid to V8 in the rewrite while it is
 * invalid in the module. An index is compared with its bound digit by digit as it is read (little
 * endian: the most significant differing digit decides), still one lookup per byte.
 *
 * The scan vouches only for modules whose features include all of WebAssembly 2.0: below that,
 * validity depends on more than the opcodes (1.0 `br_table` label types, the `call_indirect` zero
 * byte), and the full validator runs instead. Anything unusual (an opcode of a disabled feature, a
 * memory index other than the single byte 0, a multi-memory alignment flag, a heap type, a
 * non-canonical sub-opcode of a site) makes the scan give up rather than decide: the full validator
 * then has the last word.
 */
import { CoreFeatureReferenceTypes, CoreFeatureSIMD, CoreFeaturesV2, type CoreFeatures } from '../api/features.js';
import type { Module } from '../binary/module.js';
import { CODE_FC, CODE_FD, CODE_FE, NUM_CODES, OPS, PREFIX_FC, PREFIX_FD, PREFIX_FE, type ImmKind } from '../binary/opcodes.js';
import { EXTERNREF, F32, F64, FUNCREF, I32, I64, V128 } from '../api/value-type.js';

// States, as the row offset in the transition table (state << 8). Normal states stay below
// 0x8000; special states (handled outside the automaton) are at or above it.
const S = (n: number): number => n << 8;
/** Expecting an opcode. */
const OP = S(0);
/** One LEB128 immediate, then an opcode. */
const LEB = S(1);
/** Two LEB128 immediates. */
const LEB_LEB = S(2);
/** A LEB128 (data index) then the zero memory byte (`memory.init`). */
const LEB_ZERO = S(3);
/** A memarg: its alignment (one byte below 0x40: no memory index), then the offset. */
const ALIGN = S(5);
/** A memarg then a lane byte. */
const ALIGN_LANE = S(6);
/** The zero byte of a memory index (only memory 0 exists without multi-memory). */
const ZERO = S(7);
const ZERO_ZERO = S(8);
/** A block type: 0x40, a value type byte or a type index. */
const BLOCK = S(9);
/** The reference type byte of `ref.null`. */
const REF = S(11);
/** After the prefix byte 0xFC, 0xFD or 0xFE: its sub-opcode. */
const PREFIX_ROW: readonly number[] = [S(12), S(13), S(14)];
/** `n` fixed bytes (constants, lanes), for n in 1..16. */
const FIXED = (n: number): number => S(14 + n);
/**
 * Byte `k` (1..5) of a memarg offset, then an opcode. The length is checked here: with memory64,
 * V8 reads every offset as a u64 and would take a longer encoding of a small value.
 */
const OFFSET = (k: number): number => S(30 + k);
/** Byte `k` of a memarg offset, then a lane byte. */
const OFFSET_LANE = (k: number): number => S(35 + k);

// Bounded indices: byte `k` (0..4) of the LEB128 of an index, `cmp` comparing the digits read so
// far with the bound's (LT, EQ, GT), per index space and what follows.
const LT = 0;
const EQ = 1;
const GT = 2;
/** A function index (`call`, `return_call`, `ref.func`), then an opcode. */
const FUNC_IDX = 0;
/** A global index, then an opcode. */
const GLOBAL_IDX = 1;
/** A type index, then the table index LEB128 (`call_indirect`, `return_call_indirect`). */
const TYPE_IDX = 2;
/** The rest of a block type that is a type index (its first byte read in BLOCK), then an opcode. */
const BLOCK_IDX = 3;
const INDEX_KINDS = 4;
const INDEX_BASE = 41;
const INDEX = (kind: number, k: number, cmp: number): number => S(INDEX_BASE + kind * 15 + k * 3 + cmp);
const NUM_STATES = INDEX_BASE + INDEX_KINDS * 15;

/** Specials: the automaton stops and {@link Scanner.special} decides. */
const SPECIAL = 0x8000;
const FAIL = 0xff00;
/** A site instruction starts at this byte (its code comes from the state it was read in). */
const SITE = 0xfe00;
const BR_TABLE = 0xfd00;
const SELECT_T = 0xfc00;
/** A sub-opcode LEB of more than one byte after a prefix. */
const LONG_SUB = 0xfb00;

const PREFIX_BASE: readonly number[] = [CODE_FC, CODE_FD, CODE_FE];

/** The state after the opcode, by immediate kind. */
function immState(k: ImmKind): number {
  switch (k) {
    case 'none':
      return OP;
    case 'blocktype':
      return BLOCK;
    case 'func':
      return INDEX(FUNC_IDX, 0, EQ);
    case 'global':
      return INDEX(GLOBAL_IDX, 0, EQ);
    case 'callind':
      return INDEX(TYPE_IDX, 0, EQ);
    case 'label':
    case 'local':
    case 'table':
    case 'dataidx':
    case 'elemidx':
    case 'i32':
    case 'i64':
      return LEB;
    case 'brtable':
      return BR_TABLE;
    case 'tableinit':
    case 'tablecopy':
      return LEB_LEB;
    case 'memarg':
      return ALIGN;
    case 'memlane':
      return ALIGN_LANE;
    case 'memidx':
    case 'fence':
      return ZERO;
    case 'meminit':
      return LEB_ZERO;
    case 'memcopy':
      return ZERO_ZERO;
    case 'f32':
      return FIXED(4);
    case 'f64':
      return FIXED(8);
    case 'v128':
    case 'shuffle':
      return FIXED(16);
    case 'lane':
      return FIXED(1);
    case 'reftype':
      return REF;
    case 'selectt':
      return SELECT_T;
  }
}

/** The automaton for one feature set and one set of site codes, without the index bounds. */
class Template {
  /** Transitions: `next = table[state | byte]` (the rows of bounded indices are left to {@link withBounds}). */
  readonly table = new Uint16Array(NUM_STATES << 8);
  /** The state after the opcode of each code (FAIL when not allowed), ignoring sites. */
  readonly after = new Uint16Array(NUM_CODES);
  /** 1 for codes whose positions are reported. */
  readonly site = new Uint8Array(NUM_CODES);
  /** Value types allowed in `select t` and block types. */
  readonly valType = new Uint8Array(256);

  constructor(features: CoreFeatures, siteCodes: readonly number[]) {
    const t = this.table;
    t.fill(FAIL);
    for (const c of siteCodes) this.site[c] = 1;
    this.after.fill(FAIL);
    for (const info of OPS) {
      if (info === undefined || (info.feature & features) !== info.feature) continue;
      this.after[info.code] = immState(info.imm);
    }
    for (const v of [I32, I64, F32, F64]) this.valType[v] = 1;
    if ((features & CoreFeatureSIMD) !== 0) this.valType[V128] = 1;
    if ((features & CoreFeatureReferenceTypes) !== 0) this.valType[FUNCREF] = this.valType[EXTERNREF] = 1;
    const entry = (code: number): number => (this.site[code] === 1 && this.after[code] !== FAIL ? SITE : this.after[code]!);
    for (let b = 0; b < 256; b++) t[OP | b] = entry(b);
    const prefixes = [PREFIX_FC, PREFIX_FD, PREFIX_FE];
    for (let k = 0; k < 3; k++) {
      const row = PREFIX_ROW[k]!;
      t[OP | prefixes[k]!] = row;
      for (let b = 0; b < 0x80; b++) t[row | b] = entry(PREFIX_BASE[k]! + b);
      for (let b = 0x80; b < 256; b++) t[row | b] = LONG_SUB;
    }
    for (let b = 0; b < 256; b++) {
      const more = (b & 0x80) !== 0;
      t[LEB | b] = more ? LEB : OP;
      t[LEB_LEB | b] = more ? LEB_LEB : LEB;
      t[LEB_ZERO | b] = more ? LEB_ZERO : ZERO;
      t[ALIGN | b] = b < 0x40 ? OFFSET(1) : FAIL;
      t[ALIGN_LANE | b] = b < 0x40 ? OFFSET_LANE(1) : FAIL;
      // A u32 LEB128: at most 5 bytes, the unused bits of the last one zero.
      for (let k = 1; k <= 5; k++) {
        const last = k === 5 ? (b < 0x10 ? 0 : -1) : more ? 1 : 0;
        t[OFFSET(k) | b] = last < 0 ? FAIL : last === 1 ? OFFSET(k + 1) : OP;
        t[OFFSET_LANE(k) | b] = last < 0 ? FAIL : last === 1 ? OFFSET_LANE(k + 1) : FIXED(1);
      }
      for (let n = 1; n <= 16; n++) t[FIXED(n) | b] = n === 1 ? OP : FIXED(n - 1);
    }
    t[ZERO | 0] = OP;
    t[ZERO_ZERO | 0] = ZERO;
    if (this.valType[FUNCREF] === 1) t[REF | FUNCREF] = t[REF | EXTERNREF] = OP;
  }

  /**
   * The full automaton for a module with `funcs` functions, `globals` globals and `types` types:
   * the template plus the rows of bounded indices (and the block types, which start with an index).
   */
  withBounds(funcs: number, globals: number, types: number): Uint16Array {
    const t = this.table.slice();
    const bounds = [funcs, globals, types, types];
    const succ = [OP, OP, LEB, OP];
    for (let kind = 0; kind < INDEX_KINDS; kind++) {
      const bound = bounds[kind]!;
      for (let k = 0; k < 5; k++) {
        const digit = k < 4 ? (bound >>> (7 * k)) & 0x7f : bound >>> 28;
        // Whether the bound has digits above this one: then a value ending here is below it.
        const higher = k < 4 && bound >>> (7 * (k + 1)) !== 0;
        for (let cmp = LT; cmp <= GT; cmp++) {
          const row = INDEX(kind, k, cmp);
          for (let b = 0; b < 256; b++) {
            const d = b & 0x7f;
            const c = d < digit ? LT : d > digit ? GT : cmp;
            let next: number;
            if ((b & 0x80) !== 0) next = k < 4 ? INDEX(kind, k + 1, c) : FAIL;
            else if (k === 4 && d > 0x0f) next = FAIL;
            // A block type is an s33: a last byte with the sign bit set is a negative value.
            else if (kind === BLOCK_IDX && k < 4 && (d & 0x40) !== 0) next = FAIL;
            else next = higher || c === LT ? succ[kind]! : FAIL;
            t[row | b] = next;
          }
        }
      }
    }
    // A block type's first byte: 0x40, a value type, a one-byte type index, or the first digit of a longer one.
    for (let b = 0; b < 256; b++) {
      const d = b & 0x7f;
      let next: number;
      if ((b & 0x80) !== 0) next = INDEX(BLOCK_IDX, 1, d < (types & 0x7f) ? LT : d > (types & 0x7f) ? GT : EQ);
      else if (b < 0x40) next = b < types ? OP : FAIL;
      else next = b === 0x40 || this.valType[b] === 1 ? OP : FAIL;
      t[BLOCK | b] = next;
    }
    return t;
  }
}

const templates = new Map<string, Template>();

function templateFor(features: CoreFeatures, siteCodes: readonly number[]): Template {
  const key = `${features}:${siteCodes.join(',')}`;
  let t = templates.get(key);
  if (t === undefined) templates.set(key, (t = new Template(features, siteCodes)));
  return t;
}

/** Grows `a` to hold at least `n` entries. */
function grow(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/** One scan; the automaton's loop and its slow path share the position and state. */
class Scanner {
  pos = 0;
  state = OP;
  sites: Int32Array<ArrayBuffer> = new Int32Array(64);
  nSites = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly t: Template,
    readonly table: Uint16Array,
  ) {}

  /** Scans `[start, end)`; false when the scan cannot vouch for the body. */
  body(start: number, end: number): boolean {
    const b = this.bytes;
    const table = this.table;
    let s = OP;
    for (let p = start; p < end; p++) {
      const next = table[s | b[p]!]!;
      if (next >= SPECIAL) {
        this.pos = p;
        this.state = s;
        if (!this.special(next, end)) return false;
        p = this.pos - 1;
        s = this.state;
      } else {
        s = next;
      }
    }
    return s === OP;
  }

  /**
   * The slow path for special state `x`, met at byte `pos` read in state `state`. Leaves `pos` at
   * the next byte to read and `state` at the state to read it in.
   */
  private special(x: number, end: number): boolean {
    const b = this.bytes;
    const t = this.t;
    let p = this.pos;
    switch (x) {
      case SITE: {
        // The code: a byte opcode, or a prefixed one whose sub-opcode is this byte.
        const row = PREFIX_ROW.indexOf(this.state);
        const code = row < 0 ? b[p]! : PREFIX_BASE[row]! + b[p]!;
        this.addSite(row < 0 ? p : p - 1);
        this.state = t.after[code]!;
        // A site's immediates may start with a special of their own (none of the trap sites' do).
        if (this.state >= SPECIAL) return this.special(this.state, end);
        this.pos = p + 1;
        return true;
      }
      case BR_TABLE: {
        p++;
        const n = readU32(b, p, end);
        if (n < 0) return false;
        p = skipLeb(b, p, end);
        for (let i = 0; i <= n && p >= 0; i++) p = skipLeb(b, p, end);
        if (p < 0) return false;
        this.pos = p;
        this.state = OP;
        return true;
      }
      case SELECT_T: {
        // One value type, as `select t*` allows in 2.0 (more results are invalid).
        if (p + 2 >= end || b[p + 1] !== 1 || t.valType[b[p + 2]!] !== 1) return false;
        this.pos = p + 3;
        this.state = OP;
        return true;
      }
      case LONG_SUB: {
        const row = PREFIX_ROW.indexOf(this.state);
        const sub = readU32(b, p, end);
        if (row < 0 || sub < 0 || sub >= 0x100) return false;
        const code = PREFIX_BASE[row]! + sub;
        const next = t.after[code]!;
        // A site's position must be its prefix byte; that sub-opcode is written canonically in practice.
        if (next === FAIL || next >= SPECIAL || t.site[code] === 1) return false;
        this.pos = skipLeb(b, p, end);
        this.state = next;
        return this.pos >= 0;
      }
      default:
        return false;
    }
  }

  private addSite(at: number): void {
    if (this.nSites === this.sites.length) this.sites = grow(this.sites, this.nSites + 1);
    this.sites[this.nSites++] = at;
  }
}

/** The unsigned LEB128 u32 at `p` (within `end`), or -1 when it is not one. */
function readU32(b: Uint8Array, p: number, end: number): number {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (p >= end) return -1;
    const x = b[p++]!;
    v += (x & 0x7f) * 2 ** shift;
    if ((x & 0x80) === 0) return v <= 0xffffffff ? v : -1;
  }
  return -1;
}

/** The position after the LEB128 at `p`, or -1 when it runs past `end`. */
function skipLeb(b: Uint8Array, p: number, end: number): number {
  while (p < end) if ((b[p++]! & 0x80) === 0) return p;
  return -1;
}

/**
 * Scans every function body of `m` for V8-first validation.
 *
 * @param m - the decoded module (module-level validation is separate: validate.ts).
 * @param features - the enabled features; the scan vouches only when they include all of 2.0.
 * @param siteCodes - codes (opcodes.ts numbering) whose instructions' start offsets to report.
 * @returns the absolute offsets of the site instructions, ascending (empty when none were asked
 *   for), or undefined when the module must be validated by the full validator instead: V8's
 *   verdict alone would not be ours.
 */
export function scanBodies(m: Module, features: CoreFeatures, siteCodes: readonly number[] = []): Int32Array<ArrayBuffer> | undefined {
  if ((features & CoreFeaturesV2) !== CoreFeaturesV2) return undefined;
  const t = templateFor(features, siteCodes);
  const scanner = new Scanner(m.bytes, t, t.withBounds(m.funcTypeIndexSpace.length, m.globalSpace.length, m.types.length));
  const codes = m.codes;
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (!scanner.body(c.codeStart, c.codeEnd)) return undefined;
  }
  return scanner.sites.subarray(0, scanner.nSites);
}

/**
 * Whether V8 vouches for the function bodies of `m` (module level validated separately): the scan
 * passed and V8 accepts the module. False says nothing about validity: run the full validator.
 */
export function bodiesValidByV8(m: Module, features: CoreFeatures): boolean {
  return scanBodies(m, features) !== undefined && WebAssembly.validate(m.bytes);
}
