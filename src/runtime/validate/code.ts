/**
 * Validation of one function body: the spec's validation algorithm (appendix "Validation Algorithm")
 * run directly over the body's bytes. Nothing is allocated per instruction: the operand type stack is
 * a growable `Uint8Array` with a manual length, and control frames live in parallel typed arrays that
 * the validator reuses for every function of every module it checks.
 *
 * @see https://webassembly.github.io/spec/core/appendix/algorithm.html
 */
import { CompileError } from '../api/errors.js';
import {
  CoreFeatureMultiValue,
  CoreFeatureReferenceTypes,
  CoreFeatureSIMD,
  CoreFeaturesExceptionHandling,
  CoreFeaturesMemory64,
  CoreFeaturesMultiMemory,
  coreFeatureName,
  type CoreFeatures,
} from '../api/features.js';
import { slotsOf, valueTypeName } from '../api/value-type.js';
import type { FuncType, FunctionBody, Module, TableType } from '../binary/module.js';
import * as instr from '../binary/instr.js';
import { CODE_FD_HI, CODE_FE, NUM_CODES, OPS } from '../binary/opcodes.js';
import { Reader } from '../binary/reader.js';
import { EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, V128 } from '../api/value-type.js';

/** The "bottom" type the spec calls Unknown: produced by pops from an unreachable, empty frame. */
const UNKNOWN = 0;

const EMPTY_REFS = new Uint8Array(0);
const EMPTY_READER = new Reader(new Uint8Array(0));

/** Locals beyond this many are looked up through the groups instead of a flat array. */
const LOCALS_EXPANDED_MAX = 1 << 16;

/** Block type `0x40` read as s33. */
const BT_EMPTY = -64;

const OP_BLOCK = 0x02;
const OP_LOOP = 0x03;
const OP_IF = 0x04;
const OP_ELSE = 0x05;
/** A legacy `try` before its first `catch`/`catch_all` (exception handling). */
const OP_TRY = 0x06;
/** The handler after a legacy `catch`: `rethrow` may name it, another `catch` may follow. */
const OP_CATCH = 0x07;
/** The handler after a legacy `catch_all`: `rethrow` may name it, nothing may follow. */
const OP_CATCH_ALL = 0x19;

// Immediate kinds (instr.ts) as module constants: V8 folds these in optimized code, not imported bindings.
const K_NONE = instr.IMM_NONE;
const K_TABLE = instr.IMM_TABLE;
const K_MEMARG = instr.IMM_MEMARG;
const K_I32 = instr.IMM_I32;
const K_I64 = instr.IMM_I64;
const K_F32 = instr.IMM_F32;
const K_F64 = instr.IMM_F64;
const K_V128 = instr.IMM_V128;
const K_SHUFFLE = instr.IMM_SHUFFLE;
const K_LANE = instr.IMM_LANE;
const K_MEMLANE = instr.IMM_MEMLANE;
const K_DATAIDX = instr.IMM_DATAIDX;
const K_ELEMIDX = instr.IMM_ELEMIDX;
const K_FENCE = instr.IMM_FENCE;
const IMM_OF = instr.IMM_OF;
const IMM_UNKNOWN = instr.IMM_UNKNOWN;

// Per-code tables derived once from OPS, so the hot loop reads typed arrays instead of objects.
const featureOf = new Int32Array(NUM_CODES);
/** log2(memBytes): the natural alignment exponent of memory instructions. */
const alignOf = new Uint8Array(NUM_CODES);
/** memBytes as given by the table (lane count for lane instructions). */
const memBytesOf = new Uint8Array(NUM_CODES);
/** 1 when the instruction's signature is fixed in OPS. */
const fixedOf = new Uint8Array(NUM_CODES);
const paramsOf: Array<readonly number[]> = new Array<readonly number[]>(NUM_CODES).fill([]);
const resultsOf: Array<readonly number[]> = new Array<readonly number[]>(NUM_CODES).fill([]);
for (const info of OPS) {
  if (info === undefined) continue;
  const c = info.code;
  featureOf[c] = info.feature;
  memBytesOf[c] = info.memBytes;
  alignOf[c] = info.memBytes > 0 ? Math.log2(info.memBytes) : 0;
  if (info.params !== undefined && info.results !== undefined) {
    fixedOf[c] = 1;
    paramsOf[c] = info.params;
    resultsOf[c] = info.results;
  }
}

/** What an engine needs to know about one validated function. */
export interface FunctionValidationInfo {
  /**
   * Greatest number of operand values on the stack at any point of the body (parameters and locals
   * not included). Every value counts as one, v128 included; see {@link maxStackSlots}.
   */
  readonly maxStackHeight: number;
  /** Like {@link maxStackHeight} but counting a v128 as two 64-bit slots. */
  readonly maxStackSlots: number;
  /** Greatest nesting of control frames, counting the function's own frame as 1. */
  readonly maxControlDepth: number;
}

/** Module-level context a body is validated against (computed once per module). */
export interface CodeContext {
  readonly module: Module;
  readonly features: CoreFeatures;
  /** 1 at every function index in the module's declared references (C.refs). */
  readonly declaredRefs: Uint8Array;
}

/**
 * Sees the operand types before a `block`, `loop`, `if`, `try_table` or call instruction (`call`,
 * `call_indirect`, `return_call`, `return_call_indirect`): `vals[from..to)` are the types of the
 * innermost frame's operands (the views are only valid during the call), `unreachable` whether that
 * frame's code is unreachable there. The compiler's rewind pass needs them to spill live operands.
 */
export type SpecialObserver = (at: number, code: number, vals: Uint8Array, from: number, to: number, unreachable: boolean) => void;

/**
 * Validates function bodies. Reuse one instance across functions (and modules): its stacks only grow.
 */
export class CodeValidator {
  /** Called before block, loop, if, try_table and call instructions (see {@link SpecialObserver}). */
  observer: SpecialObserver | undefined = undefined;

  // Operand type stack.
  private vals = new Uint8Array(256);
  private nVals = 0;
  private slots = 0;
  private maxVals = 0;
  private maxSlots = 0;

  // Control frames, as parallel arrays.
  private ctrlOp = new Uint8Array(64);
  /** Block type as s33: BT_EMPTY, a negative value-type byte, or a type index. */
  private ctrlBt = new Int32Array(64);
  private ctrlHeight = new Uint32Array(64);
  private ctrlSlots = new Uint32Array(64);
  private ctrlUnreachable = new Uint8Array(64);
  private nCtrl = 0;
  private maxCtrl = 0;

  // Local types: params then declared locals, expanded up to LOCALS_EXPANDED_MAX entries.
  private locals = new Uint8Array(256);
  private nLocalsExpanded = 0;
  private nLocals = 0;
  private body: FunctionBody | undefined = undefined;
  private funcType: FuncType | undefined = undefined;

  private types: readonly FuncType[] = [];
  private m: Module | undefined = undefined;
  private features: CoreFeatures = 0;
  private declaredRefs: Uint8Array = EMPTY_REFS;
  private funcIndex = 0;
  /** Offset of the instruction being validated, for errors. */
  private at = 0;
  private r = EMPTY_READER;

  /**
   * Validates defined function `defIndex` of `ctx.module`.
   * @throws CompileError (`invalid` for type errors, `malformed` for byte-level problems).
   */
  validate(ctx: CodeContext, defIndex: number): FunctionValidationInfo {
    const m = ctx.module;
    this.m = m;
    this.types = m.types;
    this.features = ctx.features;
    this.declaredRefs = ctx.declaredRefs;
    this.funcIndex = m.numImportedFuncs + defIndex;
    const body = m.codes[defIndex]!;
    const typeIndex = m.funcTypeIndices[defIndex]!;
    const ft = m.types[typeIndex]!;
    this.body = body;
    this.funcType = ft;
    this.at = body.entryOffset;
    this.setupLocals(ft, body);

    const r = this.r.bytes === m.bytes ? this.r : (this.r = new Reader(m.bytes));
    r.pos = body.codeStart;
    r.end = body.codeEnd;
    r.section = 'code';
    r.funcIndex = this.funcIndex;

    this.nVals = 0;
    this.slots = 0;
    this.maxVals = 0;
    this.maxSlots = 0;
    // The function's own frame: a block whose label types are the results (params are locals).
    this.ctrlOp[0] = OP_BLOCK;
    this.ctrlBt[0] = typeIndex;
    this.ctrlHeight[0] = 0;
    this.ctrlSlots[0] = 0;
    this.ctrlUnreachable[0] = 0;
    this.nCtrl = 1;
    this.maxCtrl = 1;

    this.run();
    if (r.pos !== body.codeEnd) this.malformed('section size mismatch', r.pos);
    return { maxStackHeight: this.maxVals, maxStackSlots: this.maxSlots, maxControlDepth: this.maxCtrl };
  }

  /** Drops references to the last module so a long-lived validator does not keep it alive. */
  release(): void {
    this.r = EMPTY_READER;
    this.m = undefined;
    this.body = undefined;
    this.funcType = undefined;
    this.types = [];
    this.declaredRefs = EMPTY_REFS;
  }

  // ---- errors ----

  private invalid(reason: string, offset: number = this.at): never {
    throw new CompileError(reason, { section: 'code', functionIndex: this.funcIndex, offset }, 'invalid');
  }

  private malformed(reason: string, offset: number = this.at): never {
    throw new CompileError(reason, { section: 'code', functionIndex: this.funcIndex, offset }, 'malformed');
  }

  private mismatch(expected: number, actual: number | undefined): never {
    const exp = expected === UNKNOWN ? 'a value' : valueTypeName(expected);
    const act = actual === undefined ? 'nothing' : valueTypeName(actual);
    this.invalid(`type mismatch: expected ${exp}, found ${act}`);
  }

  // ---- locals ----

  private setupLocals(ft: FuncType, body: FunctionBody): void {
    const nParams = ft.params.length;
    const total = nParams + body.numLocals;
    this.nLocals = total;
    const expand = Math.min(total, LOCALS_EXPANDED_MAX);
    if (this.locals.length < expand) this.locals = new Uint8Array(Math.max(expand, this.locals.length * 2));
    const locals = this.locals;
    // Indexed loops: most bodies have no local groups, and this runs once per body (compile latency).
    const groups = body.locals;
    const nGroups = groups.length;
    for (let k = 0; k < nGroups; k++) this.checkValType(groups[k]!.type, body.entryOffset);
    const params = ft.params;
    let n = 0;
    for (const stop = nParams < expand ? nParams : expand; n < stop; n++) locals[n] = params[n]!;
    for (let k = 0; k < nGroups && n < expand; k++) {
      const g = groups[k]!;
      const stop = Math.min(expand, n + g.count);
      for (; n < stop; n++) locals[n] = g.type;
    }
    this.nLocalsExpanded = n;
  }

  private localType(idx: number): number {
    if (idx < this.nLocalsExpanded) return this.locals[idx]!;
    if (idx >= this.nLocals) this.invalid(`unknown local ${idx}`);
    // Beyond the expanded prefix (only for bodies with enormous local counts): walk the groups.
    const params = this.funcType!.params;
    if (idx < params.length) return params[idx]!;
    let i = idx - params.length;
    for (const g of this.body!.locals) {
      if (i < g.count) return g.type;
      i -= g.count;
    }
    return this.invalid(`unknown local ${idx}`);
  }

  private checkValType(t: number, offset: number): void {
    switch (t) {
      case I32:
      case I64:
      case F32:
      case F64:
        return;
      case V128:
        if ((this.features & CoreFeatureSIMD) === 0) this.invalid(`v128 requires feature ${coreFeatureName(CoreFeatureSIMD)}`, offset);
        return;
      case FUNCREF:
      case EXTERNREF:
        if ((this.features & CoreFeatureReferenceTypes) === 0) {
          this.invalid(`${valueTypeName(t)} requires feature ${coreFeatureName(CoreFeatureReferenceTypes)}`, offset);
        }
        return;
      case EXNREF:
        if ((this.features & CoreFeaturesExceptionHandling) === 0) {
          this.invalid(`exnref requires feature ${coreFeatureName(CoreFeaturesExceptionHandling)}`, offset);
        }
        return;
      default:
        this.malformed('invalid value type', offset);
    }
  }

  // ---- operand stack ----

  private push(t: number): void {
    if (this.nVals === this.vals.length) {
      const grown = new Uint8Array(this.vals.length * 2);
      grown.set(this.vals);
      this.vals = grown;
    }
    this.vals[this.nVals++] = t;
    this.slots += slotsOf(t);
    if (this.nVals > this.maxVals) this.maxVals = this.nVals;
    if (this.slots > this.maxSlots) this.maxSlots = this.slots;
  }

  private pop(): number {
    const c = this.nCtrl - 1;
    if (this.nVals === this.ctrlHeight[c]!) {
      if (this.ctrlUnreachable[c] !== 0) return UNKNOWN;
      this.mismatch(UNKNOWN, undefined);
    }
    const t = this.vals[--this.nVals]!;
    this.slots -= slotsOf(t);
    return t;
  }

  private popExpect(expect: number): number {
    const c = this.nCtrl - 1;
    if (this.nVals === this.ctrlHeight[c]!) {
      if (this.ctrlUnreachable[c] !== 0) return UNKNOWN;
      this.mismatch(expect, undefined);
    }
    const t = this.vals[--this.nVals]!;
    if (t !== expect && t !== UNKNOWN && expect !== UNKNOWN) this.mismatch(expect, t);
    this.slots -= slotsOf(t);
    return t;
  }

  private popParams(types: readonly number[]): void {
    for (let i = types.length - 1; i >= 0; i--) this.popExpect(types[i]!);
  }

  private pushAll(types: readonly number[]): void {
    for (let i = 0; i < types.length; i++) this.push(types[i]!);
  }

  // ---- block types ----

  private btParamCount(bt: number): number {
    return bt >= 0 ? this.types[bt]!.params.length : 0;
  }

  private btParam(bt: number, i: number): number {
    return this.types[bt]!.params[i]!;
  }

  private btResultCount(bt: number): number {
    return bt >= 0 ? this.types[bt]!.results.length : bt === BT_EMPTY ? 0 : 1;
  }

  private btResult(bt: number, i: number): number {
    return bt >= 0 ? this.types[bt]!.results[i]! : bt & 0x7f;
  }

  private labelCount(c: number): number {
    const bt = this.ctrlBt[c]!;
    return this.ctrlOp[c] === OP_LOOP ? this.btParamCount(bt) : this.btResultCount(bt);
  }

  private labelType(c: number, i: number): number {
    const bt = this.ctrlBt[c]!;
    return this.ctrlOp[c] === OP_LOOP ? this.btParam(bt, i) : this.btResult(bt, i);
  }

  private readBlockType(): number {
    const r = this.r;
    const start = r.pos;
    const bt = r.s33();
    if (bt < 0) {
      // 0x40 and value types are single bytes that read as negative s33 values; any other negative
      // value (or a longer encoding of one of them) is not a block type.
      if (r.pos - start !== 1) this.malformed('malformed block type', start);
      if (bt === BT_EMPTY) return bt;
      this.checkValType(bt & 0x7f, start);
      return bt;
    }
    if (bt >= this.types.length) this.invalid(`unknown type ${bt}`);
    const ft = this.types[bt]!;
    if ((this.features & CoreFeatureMultiValue) === 0 && (ft.params.length > 0 || ft.results.length > 1)) {
      this.invalid(`invalid result arity: block type needs feature ${coreFeatureName(CoreFeatureMultiValue)}`);
    }
    return bt;
  }

  // ---- control frames ----

  private pushCtrl(op: number, bt: number, pushParams = true): void {
    const n = this.nCtrl;
    if (n === this.ctrlOp.length) this.growCtrl();
    this.ctrlOp[n] = op;
    this.ctrlBt[n] = bt;
    this.ctrlHeight[n] = this.nVals;
    this.ctrlSlots[n] = this.slots;
    this.ctrlUnreachable[n] = 0;
    this.nCtrl = n + 1;
    if (this.nCtrl > this.maxCtrl) this.maxCtrl = this.nCtrl;
    if (!pushParams) return;
    const np = this.btParamCount(bt);
    for (let i = 0; i < np; i++) this.push(this.btParam(bt, i));
  }

  private growCtrl(): void {
    const n = this.ctrlOp.length * 2;
    const op = new Uint8Array(n);
    op.set(this.ctrlOp);
    this.ctrlOp = op;
    const bt = new Int32Array(n);
    bt.set(this.ctrlBt);
    this.ctrlBt = bt;
    const h = new Uint32Array(n);
    h.set(this.ctrlHeight);
    this.ctrlHeight = h;
    const s = new Uint32Array(n);
    s.set(this.ctrlSlots);
    this.ctrlSlots = s;
    const u = new Uint8Array(n);
    u.set(this.ctrlUnreachable);
    this.ctrlUnreachable = u;
  }

  /** Pops the innermost frame (checking its results) and returns its index. */
  private popCtrl(): number {
    const c = this.nCtrl - 1;
    const bt = this.ctrlBt[c]!;
    const nr = this.btResultCount(bt);
    for (let i = nr - 1; i >= 0; i--) this.popExpect(this.btResult(bt, i));
    if (this.nVals !== this.ctrlHeight[c]!) this.invalid('type mismatch: values remaining on the stack at the end of a block');
    this.nCtrl = c;
    return c;
  }

  private setUnreachable(): void {
    const c = this.nCtrl - 1;
    this.nVals = this.ctrlHeight[c]!;
    this.slots = this.ctrlSlots[c]!;
    this.ctrlUnreachable[c] = 1;
  }

  /** Relative label depth to frame index. */
  private label(depth: number): number {
    if (depth >= this.nCtrl) this.invalid(`unknown label ${depth}`);
    return this.nCtrl - 1 - depth;
  }

  private popLabel(c: number): void {
    for (let i = this.labelCount(c) - 1; i >= 0; i--) this.popExpect(this.labelType(c, i));
  }

  private pushLabel(c: number): void {
    const n = this.labelCount(c);
    for (let i = 0; i < n; i++) this.push(this.labelType(c, i));
  }

  /**
   * The effect of `push_vals(pop_vals(label_types(c)))` in `br_table`: checks the top `arity`
   * values against label `c` without changing the stack.
   */
  private peekLabel(c: number): void {
    const arity = this.labelCount(c);
    const top = this.nCtrl - 1;
    const height = this.ctrlHeight[top]!;
    for (let i = 0; i < arity; i++) {
      const expect = this.labelType(c, arity - 1 - i);
      const p = this.nVals - 1 - i;
      if (p < height) {
        if (this.ctrlUnreachable[top] !== 0) return;
        this.mismatch(expect, undefined);
      }
      const t = this.vals[p]!;
      if (t !== expect && t !== UNKNOWN) this.mismatch(expect, t);
    }
  }

  // ---- immediates ----

  private funcTypeAt(idx: number): FuncType {
    const m = this.m!;
    const ti = m.funcTypeIndexSpace[idx];
    if (ti === undefined) this.invalid(`unknown function ${idx}`);
    return this.types[ti]!;
  }

  private tableAt(idx: number): TableType {
    const t = this.m!.tableSpace[idx];
    if (t === undefined) this.invalid(`unknown table ${idx}`);
    return t;
  }

  private requireMemory(): void {
    if (this.m!.memorySpace.length === 0) this.invalid('unknown memory 0');
  }

  /** Checks memory `idx` exists; returns whether it is 64-bit (memory64). */
  private memory64(idx: number): boolean {
    const mem = this.m!.memorySpace[idx];
    if (mem === undefined) this.invalid(`unknown memory ${idx}`);
    return mem.limits.is64 === true;
  }

  /** The address type of memory `idx` (i64 for a 64-bit memory), checking it exists. */
  private addrType(idx: number): number {
    return this.memory64(idx) ? I64 : I32;
  }

  /** The index type of table `idx` (i64 for a 64-bit table). */
  private tableIndexType(idx: number): number {
    return this.tableAt(idx).limits.is64 === true ? I64 : I32;
  }

  /** A memory index immediate: one zero byte, or a u32 with multi-memory. */
  private memIdx(): number {
    if ((this.features & CoreFeaturesMultiMemory) !== 0) return this.r.u32();
    this.zeroByte();
    return 0;
  }

  private zeroByte(): void {
    const at = this.r.pos;
    if (this.r.u8() !== 0) this.malformed('zero byte expected', at);
  }

  /**
   * Reads a memarg (alignment, the memory index when its bit 6 says so with multi-memory, the
   * offset), checks the memory exists, the offset fits its address type and the alignment against
   * the natural one. Returns whether the memory is 64-bit.
   */
  private memarg(code: number): boolean {
    const r = this.r;
    let align = r.u32();
    let mem = 0;
    if ((align & instr.MEMARG_HAS_MEMIDX) !== 0 && (this.features & CoreFeaturesMultiMemory) !== 0) {
      mem = r.u32();
      align -= instr.MEMARG_HAS_MEMIDX;
    }
    let is64 = false;
    if ((this.features & CoreFeaturesMemory64) !== 0) {
      const offset = r.u64();
      is64 = this.memory64(mem);
      if (!is64 && offset > 0xffffffff) this.invalid('offset out of range');
    } else {
      r.u32();
      is64 = this.memory64(mem);
    }
    const natural = alignOf[code]!;
    if (code >= CODE_FE && code < CODE_FD_HI) {
      if (align !== natural) this.invalid(`alignment must be equal to natural alignment (${1 << natural})`);
    } else if (align > natural) {
      this.invalid('alignment must not be larger than natural');
    }
    return is64;
  }

  /** A memory instruction with a fixed signature: its address operand is the memory's address type. */
  private memoryInstr(code: number): void {
    const r = this.r;
    const is64 = this.memarg(code);
    if (IMM_OF[code] === K_MEMLANE && r.u8() >= 16 / memBytesOf[code]!) this.invalid('invalid lane index');
    const ps = paramsOf[code]!;
    for (let i = ps.length - 1; i >= 1; i--) this.popExpect(ps[i]!);
    this.popExpect(is64 ? I64 : I32);
    const rs = resultsOf[code]!;
    for (let i = 0; i < rs.length; i++) this.push(rs[i]!);
  }

  private tagType(idx: number): FuncType {
    const t = this.m!.tagSpace[idx];
    if (t === undefined) this.invalid(`unknown tag ${idx}`);
    return this.types[t.typeIndex]!;
  }

  private dataIndex(idx: number): void {
    const m = this.m!;
    if (idx >= (m.dataCount ?? m.datas.length)) this.invalid(`unknown data segment ${idx}`);
    // Instructions naming data segments need the data count section (spec: binary format), so a
    // single-pass compiler knows the segments exist before it sees the data section.
    if (m.dataCount === undefined) this.malformed('data count section required');
  }

  private elemType(idx: number): number {
    const e = this.m!.elements[idx];
    if (e === undefined) this.invalid(`unknown elem segment ${idx}`);
    return e.elemType;
  }

  // ---- the walk ----

  private run(): void {
    const r = this.r;
    const features = this.features;
    while (this.nCtrl > 0) {
      this.at = r.pos;
      const code = r.opcode();
      if (code < 0 || IMM_OF[code] === IMM_UNKNOWN) this.malformed('illegal opcode');
      const feature = featureOf[code]!;
      if ((feature & features) !== feature) {
        this.malformed(`illegal opcode ${OPS[code]!.name} (feature ${coreFeatureName(feature)} is disabled)`);
      }
      if (fixedOf[code] === 1) {
        const k = IMM_OF[code];
        if (k === K_MEMARG || k === K_MEMLANE) {
          this.memoryInstr(code);
          continue;
        }
        this.immediates(code);
        const ps = paramsOf[code]!;
        for (let i = ps.length - 1; i >= 0; i--) this.popExpect(ps[i]!);
        const rs = resultsOf[code]!;
        for (let i = 0; i < rs.length; i++) this.push(rs[i]!);
        continue;
      }
      this.special(code);
    }
  }

  /** Reads and checks the immediates of an instruction with a fixed signature (memory ones aside). */
  private immediates(code: number): void {
    const r = this.r;
    switch (IMM_OF[code]) {
      case K_NONE:
        return;
      case K_I32:
        r.s32();
        return;
      case K_I64:
        r.s64Halves();
        return;
      case K_F32:
        r.skip(4);
        return;
      case K_F64:
        r.skip(8);
        return;
      case K_V128:
        r.skip(16);
        return;
      case K_SHUFFLE:
        for (let i = 0; i < 16; i++) if (r.u8() >= 32) this.invalid('invalid lane index');
        return;
      case K_LANE:
        if (r.u8() >= memBytesOf[code]!) this.invalid('invalid lane index');
        return;
      case K_DATAIDX:
        this.dataIndex(r.u32());
        return;
      case K_ELEMIDX:
        this.elemType(r.u32());
        return;
      case K_TABLE:
        this.tableAt(r.u32());
        return;
      case K_FENCE:
        this.zeroByte();
        return;
      default:
        throw new Error(`not supported: immediate kind ${OPS[code]!.imm} of ${OPS[code]!.name}`);
    }
  }

  /** Instructions typed by hand (control, variables, references, calls, parametric). */
  private special(code: number): void {
    const r = this.r;
    if (this.observer !== undefined && ((code >= 0x02 && code <= 0x04) || (code >= 0x10 && code <= 0x13) || code === 0x1f)) {
      const c = this.nCtrl - 1;
      this.observer(this.at, code, this.vals, this.ctrlHeight[c]!, this.nVals, this.ctrlUnreachable[c] !== 0);
    }
    switch (code) {
      case 0x00: // unreachable
        this.setUnreachable();
        return;
      case 0x02: // block
      case 0x03: {
        // loop
        const bt = this.readBlockType();
        for (let i = this.btParamCount(bt) - 1; i >= 0; i--) this.popExpect(this.btParam(bt, i));
        this.pushCtrl(code, bt);
        return;
      }
      case 0x04: {
        // if
        const bt = this.readBlockType();
        this.popExpect(I32);
        for (let i = this.btParamCount(bt) - 1; i >= 0; i--) this.popExpect(this.btParam(bt, i));
        this.pushCtrl(OP_IF, bt);
        return;
      }
      case 0x05: {
        // else
        if (this.ctrlOp[this.nCtrl - 1] !== OP_IF) this.malformed('else without matching if');
        const c = this.popCtrl();
        this.pushCtrl(OP_ELSE, this.ctrlBt[c]!);
        return;
      }
      case 0x0b: {
        // end
        const c = this.popCtrl();
        const bt = this.ctrlBt[c]!;
        if (this.ctrlOp[c] === OP_IF) {
          // An `if` without `else` has an implicit empty else: its params must equal its results.
          const np = this.btParamCount(bt);
          let same = np === this.btResultCount(bt);
          for (let i = 0; same && i < np; i++) same = this.btParam(bt, i) === this.btResult(bt, i);
          if (!same) this.invalid('type mismatch: if without else must leave its parameters unchanged');
        }
        if (this.nCtrl > 0) {
          const nr = this.btResultCount(bt);
          for (let i = 0; i < nr; i++) this.push(this.btResult(bt, i));
        }
        return;
      }
      case 0x0c: {
        // br
        const c = this.label(r.u32());
        this.popLabel(c);
        this.setUnreachable();
        return;
      }
      case 0x0d: {
        // br_if
        const c = this.label(r.u32());
        this.popExpect(I32);
        this.popLabel(c);
        this.pushLabel(c);
        return;
      }
      case 0x0e: {
        // br_table: the default label comes last in the encoding but defines the arity, so the
        // targets are read twice rather than collected into an array.
        const n = r.count(1);
        const first = r.pos;
        for (let i = 0; i < n; i++) r.u32();
        const defaultDepth = r.u32();
        const after = r.pos;
        this.popExpect(I32);
        const dc = this.label(defaultDepth);
        const arity = this.labelCount(dc);
        // WebAssembly 1.0 required identical label types; reference types relaxed this to each
        // target matching the operands (which differs only in unreachable code).
        const exact = (this.features & CoreFeatureReferenceTypes) === 0;
        r.pos = first;
        for (let i = 0; i < n; i++) {
          const c = this.label(r.u32());
          if (this.labelCount(c) !== arity) this.invalid('type mismatch: br_table targets have different arities');
          if (exact) {
            for (let j = 0; j < arity; j++) {
              if (this.labelType(c, j) !== this.labelType(dc, j)) this.invalid('type mismatch: br_table targets have different types');
            }
          } else {
            this.peekLabel(c);
          }
        }
        r.pos = after;
        this.popLabel(dc);
        this.setUnreachable();
        return;
      }
      case 0x0f: // return
        this.popParams(this.funcType!.results);
        this.setUnreachable();
        return;
      case 0x10: {
        // call
        const ft = this.funcTypeAt(r.u32());
        this.popParams(ft.params);
        this.pushAll(ft.results);
        return;
      }
      case 0x11: {
        // call_indirect
        const ft = this.callIndirectImm();
        this.popExpect(this.lastTableIndexType);
        this.popParams(ft.params);
        this.pushAll(ft.results);
        return;
      }
      case 0x12: {
        // return_call
        const ft = this.funcTypeAt(r.u32());
        this.checkTailResults(ft);
        this.popParams(ft.params);
        this.setUnreachable();
        return;
      }
      case 0x13: {
        // return_call_indirect
        const ft = this.callIndirectImm();
        this.checkTailResults(ft);
        this.popExpect(this.lastTableIndexType);
        this.popParams(ft.params);
        this.setUnreachable();
        return;
      }
      case 0x1a: // drop
        this.pop();
        return;
      case 0x06: {
        // try (legacy exception handling)
        const bt = this.readBlockType();
        for (let i = this.btParamCount(bt) - 1; i >= 0; i--) this.popExpect(this.btParam(bt, i));
        this.pushCtrl(OP_TRY, bt);
        return;
      }
      case 0x07: {
        // catch x (legacy): a handler whose stack starts with the tag's payload
        const ft = this.tagType(r.u32());
        const top = this.ctrlOp[this.nCtrl - 1];
        if (top !== OP_TRY && top !== OP_CATCH) this.invalid('catch without matching try');
        const c = this.popCtrl();
        this.pushCtrl(OP_CATCH, this.ctrlBt[c]!, false);
        this.pushAll(ft.params);
        return;
      }
      case 0x19: {
        // catch_all (legacy)
        const top = this.ctrlOp[this.nCtrl - 1];
        if (top !== OP_TRY && top !== OP_CATCH) this.invalid('catch_all without matching try');
        const c = this.popCtrl();
        this.pushCtrl(OP_CATCH_ALL, this.ctrlBt[c]!, false);
        return;
      }
      case 0x18: {
        // delegate l (legacy): ends a try without handlers; l is a label outside it
        if (this.ctrlOp[this.nCtrl - 1] !== OP_TRY) this.invalid('delegate without matching try');
        const depth = r.u32();
        const c = this.popCtrl();
        this.label(depth);
        const bt = this.ctrlBt[c]!;
        const nr = this.btResultCount(bt);
        for (let i = 0; i < nr; i++) this.push(this.btResult(bt, i));
        return;
      }
      case 0x09: {
        // rethrow l (legacy): l names an enclosing catch handler
        const c = this.label(r.u32());
        const op = this.ctrlOp[c];
        if (op !== OP_CATCH && op !== OP_CATCH_ALL) this.invalid('invalid rethrow label');
        this.setUnreachable();
        return;
      }
      case 0x08: {
        // throw x
        const ft = this.tagType(r.u32());
        this.popParams(ft.params);
        this.setUnreachable();
        return;
      }
      case 0x0a: // throw_ref
        this.popExpect(EXNREF);
        this.setUnreachable();
        return;
      case 0x1f: {
        // try_table bt catch*: the catch labels are outside the try_table
        const bt = this.readBlockType();
        const n = r.count(1);
        for (let i = 0; i < n; i++) {
          const at = r.pos;
          const kind = r.u8();
          if (kind > 3) this.malformed('malformed catch clause', at);
          const params = kind < 2 ? this.tagType(r.u32()).params : [];
          const c = this.label(r.u32());
          this.checkCatchLabel(c, params, kind === 1 || kind === 3);
        }
        for (let i = this.btParamCount(bt) - 1; i >= 0; i--) this.popExpect(this.btParam(bt, i));
        this.pushCtrl(OP_BLOCK, bt);
        return;
      }
      case 0x3f: {
        // memory.size
        const t = this.addrType(this.memIdx());
        this.push(t);
        return;
      }
      case 0x40: {
        // memory.grow
        const t = this.addrType(this.memIdx());
        this.popExpect(t);
        this.push(t);
        return;
      }
      case 0x108: {
        // memory.init
        const idx = r.u32();
        const t = this.addrType(this.memIdx());
        this.dataIndex(idx);
        this.popExpect(I32);
        this.popExpect(I32);
        this.popExpect(t);
        return;
      }
      case 0x10a: {
        // memory.copy: the length takes the narrower of the two address types
        const dst = this.addrType(this.memIdx());
        const src = this.addrType(this.memIdx());
        this.popExpect(dst === I64 && src === I64 ? I64 : I32);
        this.popExpect(src);
        this.popExpect(dst);
        return;
      }
      case 0x10b: {
        // memory.fill
        const t = this.addrType(this.memIdx());
        this.popExpect(t);
        this.popExpect(I32);
        this.popExpect(t);
        return;
      }
      case 0x10c: {
        // table.init
        const elemIdx = r.u32();
        const tableIdx = r.u32();
        const table = this.tableAt(tableIdx);
        const et = this.elemType(elemIdx);
        if (table.elemType !== et) this.invalid('type mismatch: element segment and table types differ');
        this.popExpect(I32);
        this.popExpect(I32);
        this.popExpect(this.tableIndexType(tableIdx));
        return;
      }
      case 0x10e: {
        // table.copy: the length takes the narrower of the two index types
        const d = r.u32();
        const sIdx = r.u32();
        const dst = this.tableAt(d);
        const src = this.tableAt(sIdx);
        if (dst.elemType !== src.elemType) this.invalid('type mismatch: table types differ');
        const dt = this.tableIndexType(d);
        const st = this.tableIndexType(sIdx);
        this.popExpect(dt === I64 && st === I64 ? I64 : I32);
        this.popExpect(st);
        this.popExpect(dt);
        return;
      }
      case 0x110: // table.size
        this.push(this.tableIndexType(r.u32()));
        return;
      case 0x1b: {
        // select (untyped): numeric or vector operands only
        this.popExpect(I32);
        const t1 = this.pop();
        const t2 = this.pop();
        const num1 = t1 === UNKNOWN || isNum(t1);
        const num2 = t2 === UNKNOWN || isNum(t2);
        const vec1 = t1 === UNKNOWN || t1 === V128;
        const vec2 = t2 === UNKNOWN || t2 === V128;
        if (!((num1 && num2) || (vec1 && vec2))) {
          this.invalid('type mismatch: select without a type needs numeric or vector operands');
        }
        if (t1 !== t2 && t1 !== UNKNOWN && t2 !== UNKNOWN) this.mismatch(t1, t2);
        this.push(t1 === UNKNOWN ? t2 : t1);
        return;
      }
      case 0x1c: {
        // select t*
        const n = r.count(1);
        if (n !== 1) this.invalid('invalid result arity');
        const t = r.u8();
        this.checkValType(t, this.at);
        this.popExpect(I32);
        this.popExpect(t);
        this.popExpect(t);
        this.push(t);
        return;
      }
      case 0x20: // local.get
        this.push(this.localType(r.u32()));
        return;
      case 0x21: // local.set
        this.popExpect(this.localType(r.u32()));
        return;
      case 0x22: {
        // local.tee
        const t = this.localType(r.u32());
        this.popExpect(t);
        this.push(t);
        return;
      }
      case 0x23: {
        // global.get
        const idx = r.u32();
        const g = this.m!.globalSpace[idx];
        if (g === undefined) this.invalid(`unknown global ${idx}`);
        this.push(g.valType);
        return;
      }
      case 0x24: {
        // global.set
        const idx = r.u32();
        const g = this.m!.globalSpace[idx];
        if (g === undefined) this.invalid(`unknown global ${idx}`);
        if (!g.mutable) this.invalid(`global is immutable: global ${idx}`);
        this.popExpect(g.valType);
        return;
      }
      case 0x25: {
        // table.get
        const idx = r.u32();
        const t = this.tableAt(idx);
        this.popExpect(this.tableIndexType(idx));
        this.push(t.elemType);
        return;
      }
      case 0x26: {
        // table.set
        const idx = r.u32();
        const t = this.tableAt(idx);
        this.popExpect(t.elemType);
        this.popExpect(this.tableIndexType(idx));
        return;
      }
      case 0xd0: {
        // ref.null
        const t = r.u8();
        if (t !== FUNCREF && t !== EXTERNREF && !(t === EXNREF && (this.features & CoreFeaturesExceptionHandling) !== 0)) {
          this.malformed('malformed reference type');
        }
        this.push(t);
        return;
      }
      case 0xd1: {
        // ref.is_null
        const t = this.pop();
        if (t !== UNKNOWN && t !== FUNCREF && t !== EXTERNREF && t !== EXNREF) this.mismatch(FUNCREF, t);
        this.push(I32);
        return;
      }
      case 0xd2: {
        // ref.func
        const idx = r.u32();
        this.funcTypeAt(idx);
        if (this.declaredRefs[idx] !== 1) this.invalid(`undeclared function reference ${idx}`);
        this.push(FUNCREF);
        return;
      }
      case 0x10f: {
        // table.grow
        const idx = r.u32();
        const t = this.tableAt(idx);
        const it = this.tableIndexType(idx);
        this.popExpect(it);
        this.popExpect(t.elemType);
        this.push(it);
        return;
      }
      case 0x111: {
        // table.fill
        const idx = r.u32();
        const t = this.tableAt(idx);
        const it = this.tableIndexType(idx);
        this.popExpect(it);
        this.popExpect(t.elemType);
        this.popExpect(it);
        return;
      }
      default:
        throw new Error(`not supported: validation of ${OPS[code]!.name}`);
    }
  }

  /** `typeidx tableidx` of call_indirect / return_call_indirect; returns the callee type. */
  private callIndirectImm(): FuncType {
    const r = this.r;
    const typeIdx = r.u32();
    let tableIdx: number;
    if ((this.features & CoreFeatureReferenceTypes) !== 0) {
      tableIdx = r.u32();
    } else {
      // Before reference types the table index was a reserved byte, not a LEB.
      const at = r.pos;
      tableIdx = r.u8();
      if (tableIdx !== 0) this.malformed('zero flag expected', at);
    }
    const table = this.tableAt(tableIdx);
    if (table.elemType !== FUNCREF) this.invalid(`type mismatch: call_indirect on a table of ${valueTypeName(table.elemType)}`);
    this.lastTableIndexType = table.limits.is64 === true ? I64 : I32;
    const ft = this.types[typeIdx];
    if (ft === undefined) this.invalid(`unknown type ${typeIdx}`);
    return ft;
  }

  /** The index type of the table the last {@link callIndirectImm} named. */
  private lastTableIndexType = I32;

  /**
   * A `try_table` catch clause branching to frame `c` with `params` (and an exnref with `ref`):
   * the label must take exactly those values.
   */
  private checkCatchLabel(c: number, params: readonly number[], ref: boolean): void {
    const n = params.length + (ref ? 1 : 0);
    if (this.labelCount(c) !== n) this.invalid('type mismatch: catch label arity');
    for (let i = 0; i < params.length; i++) if (this.labelType(c, i) !== params[i]) this.invalid('type mismatch: catch label type');
    if (ref && this.labelType(c, params.length) !== EXNREF) this.invalid('type mismatch: catch_ref label must take an exnref');
  }

  /** Tail calls: the callee's results must be exactly the caller's. */
  private checkTailResults(callee: FuncType): void {
    const own = this.funcType!.results;
    const theirs = callee.results;
    let same = own.length === theirs.length;
    for (let i = 0; same && i < own.length; i++) same = own[i] === theirs[i];
    if (!same) this.invalid("type mismatch: tail call results differ from the caller's results");
  }
}

function isNum(t: number): boolean {
  return t === I32 || t === I64 || t === F32 || t === F64;
}
