/**
 * Encodes the decoded-module IR (module.ts) back to the WebAssembly binary format.
 *
 * The compiler engine rewrites modules by changing a few IR fields (exports, imports, names) and
 * re-encoding. To keep that cheap, a section whose IR field is the very same array (or value) as in
 * the `base` module it was derived from is copied byte-for-byte from `base.bytes`, and function
 * bodies are always copied from the bytes they point into unless replaced by new code. So a rewrite
 * that touches only the export section walks no function body and copies the code section whole.
 */
import type { ConstExpr, CustomSection, DataSegment, ElementSegment, FuncType, FunctionBody, Limits, Module, TableType } from './module.js';
import { SectionId } from './module.js';
import { CODE_FD, CODE_FD_HI, Op, PREFIX_FC, PREFIX_FD, PREFIX_FE, opByName } from './opcodes.js';

/** A function body written from scratch: its locals and code, without the leading size. */
export interface EncodedBody {
  readonly encoded: Uint8Array;
}

/** A body of the input: an original one (copied from `bytes`) or new code. */
export type EncodableBody = FunctionBody | EncodedBody;

/**
 * What the encoder needs: a {@link Module}, where bodies may also be new code. A `Module` is a
 * valid input as is.
 */
export type EncodableModule = Pick<
  Module,
  | 'bytes'
  | 'types'
  | 'imports'
  | 'funcTypeIndices'
  | 'tables'
  | 'memories'
  | 'globals'
  | 'exports'
  | 'startFunction'
  | 'elements'
  | 'dataCount'
  | 'datas'
  | 'customSections'
> & {
  readonly codes: readonly EncodableBody[];
  /** Defined tags (exception handling); absent means none. */
  readonly tags?: Module['tags'];
};

export interface EncodeResult {
  readonly bytes: Uint8Array;
  /** Offset of the code section's contents in the new binary (-1 when there is none). */
  readonly codeSectionStart: number;
  /** New offset of each code entry (its size LEB), parallel to `codes`. */
  readonly bodyOffsets: Int32Array;
}

/** Canonical order of the known sections. */
const ORDER: readonly SectionId[] = [
  SectionId.Type,
  SectionId.Import,
  SectionId.Function,
  SectionId.Table,
  SectionId.Memory,
  SectionId.Tag,
  SectionId.Global,
  SectionId.Export,
  SectionId.Start,
  SectionId.Element,
  SectionId.DataCount,
  SectionId.Code,
  SectionId.Data,
];

const utf8 = new TextEncoder();

/** The code (opcodes.ts numbering) of the instruction with spec name `name`; throws for unknown names. */
function codeOf(name: string): number {
  const info = opByName(name);
  if (info === undefined) throw new Error(`encoder: no instruction ${name}`);
  return info.code;
}

// Instructions the named emitters write that the `Op` table does not name.
const I32_LOAD = codeOf('i32.load');
const I64_LOAD = codeOf('i64.load');
const F32_LOAD = codeOf('f32.load');
const F64_LOAD = codeOf('f64.load');
const I32_STORE = codeOf('i32.store');
const I64_STORE = codeOf('i64.store');
const F32_STORE = codeOf('f32.store');
const F64_STORE = codeOf('f64.store');
const V128_LOAD = codeOf('v128.load');
const V128_STORE = codeOf('v128.store');
const V128_CONST = codeOf('v128.const');
const I32_EQZ = codeOf('i32.eqz');
const I32_LT_S = codeOf('i32.lt_s');
const I32_LT_U = codeOf('i32.lt_u');
const I32_ADD = codeOf('i32.add');
const I32_SUB = codeOf('i32.sub');
const I32_AND = codeOf('i32.and');
const I64_ADD = codeOf('i64.add');
const I64_OR = codeOf('i64.or');
const I64_SHL = codeOf('i64.shl');
const I64_SUB = codeOf('i64.sub');
const I64_AND = codeOf('i64.and');
const I64_SHR_U = codeOf('i64.shr_u');
const I64_GT_U = codeOf('i64.gt_u');
const I64_GE_U = codeOf('i64.ge_u');
const I32_GT_U = codeOf('i32.gt_u');
const I32_SHR_U = codeOf('i32.shr_u');
const I32_STORE8 = codeOf('i32.store8');
const DATA_DROP = codeOf('data.drop');
const ELEM_DROP = codeOf('elem.drop');
const F32_NE = codeOf('f32.ne');
const F64_NE = codeOf('f64.ne');
const I32_WRAP_I64 = codeOf('i32.wrap_i64');
const I64_EXTEND_I32_U = codeOf('i64.extend_i32_u');
const I64_TRUNC_F64_S = codeOf('i64.trunc_f64_s');
const F64_CONVERT_I32_S = codeOf('f64.convert_i32_s');
const I32_REINTERPRET_F32 = codeOf('i32.reinterpret_f32');

/**
 * A block type as the signed LEB128 (s33) the binary format gives it: {@link BLOCK_EMPTY}, one value
 * type ({@link blockResult}), or a type index (>= 0).
 */
export type BlockType = number;
/** The block type of a block without params or results (the byte 0x40). */
export const BLOCK_EMPTY: BlockType = -64;
/** The block type of a block with one result of type `t` (the value type's byte). */
export function blockResult(t: number): BlockType {
  return t - 0x80;
}

/**
 * A growable byte buffer with LEB128 writers, and one emitter per instruction the engine writes, so
 * generated code reads as the wasm it is: `w.localGet(0).i32Const(1).i32Add().end()`. Memory
 * instructions take their memarg as `(align, offset)`, align as the exponent the binary format
 * encodes. Instructions without immediates that have no emitter here are written with {@link op}.
 */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  u8(b: number): this {
    this.ensure(1);
    this.buf[this.len++] = b & 0xff;
    return this;
  }

  bytes(b: Uint8Array | readonly number[]): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Unsigned LEB128 of a uint32. */
  u32(v: number): this {
    v >>>= 0;
    this.ensure(5);
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.buf[this.len++] = b;
    } while (v !== 0);
    return this;
  }

  /**
   * Unsigned LEB128 of a non-negative integer (64-bit limits): exact up to 2^53; a value that
   * rounded to 2^64 (a decoded 2^64 - 1) is written as 2^64 - 1.
   */
  u64(v: number): this {
    this.ensure(10);
    if (v >= 2 ** 64) return this.bytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v !== 0) b |= 0x80;
      this.buf[this.len++] = b;
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of an int32. */
  s32(v: number): this {
    v |= 0;
    this.ensure(5);
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.buf[this.len++] = b;
        return this;
      }
      this.buf[this.len++] = b | 0x80;
    }
  }

  /** Signed LEB128 of an int64 (any bigint is taken modulo 2^64). */
  s64(v: bigint): this {
    v = BigInt.asIntN(64, v);
    this.ensure(10);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
        this.buf[this.len++] = b;
        return this;
      }
      this.buf[this.len++] = b | 0x80;
    }
  }

  u32Fixed(v: number): this {
    this.ensure(4);
    const b = this.buf;
    b[this.len] = v & 0xff;
    b[this.len + 1] = (v >>> 8) & 0xff;
    b[this.len + 2] = (v >>> 16) & 0xff;
    b[this.len + 3] = (v >>> 24) & 0xff;
    this.len += 4;
    return this;
  }

  u64Fixed(v: bigint): this {
    this.u32Fixed(Number(v & 0xffffffffn));
    return this.u32Fixed(Number((v >> 32n) & 0xffffffffn));
  }

  name(s: string): this {
    const b = utf8.encode(s);
    return this.u32(b.length).bytes(b);
  }

  /** The written bytes, as a view (no copy; valid until the next write). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** A copy of the written bytes. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  // ---- module structure ----

  /** The module preamble: the magic number `\0asm` and version 1. */
  preamble(): this {
    return this.u32Fixed(0x6d736100).u32Fixed(1);
  }

  /** Section `id` with the bytes written to `contents` (its size first). */
  section(id: number, contents: ByteWriter): this {
    return this.u8(id).sized(contents);
  }

  /** The bytes written to `w`, preceded by their size (a code entry, a name subsection, …). */
  sized(w: ByteWriter): this {
    return this.u32(w.len).bytes(w.written());
  }

  // ---- instructions ----

  /** The opcode of the instruction with code `code` (opcodes.ts): a byte, or a prefix and its sub-opcode. */
  op(code: number): this {
    if (code < 0x100) return this.u8(code);
    if (code >= CODE_FD_HI) return this.u8(PREFIX_FD).u32(code - CODE_FD_HI + 0x100);
    return this.u8(code < CODE_FD ? PREFIX_FC : code < CODE_FD + 0x100 ? PREFIX_FD : PREFIX_FE).u32(code & 0xff);
  }

  unreachable(): this {
    return this.u8(Op.Unreachable);
  }
  block(bt: BlockType): this {
    return this.u8(Op.Block).s32(bt);
  }
  loop(bt: BlockType): this {
    return this.u8(Op.Loop).s32(bt);
  }
  if(bt: BlockType): this {
    return this.u8(Op.If).s32(bt);
  }
  else(): this {
    return this.u8(Op.Else);
  }
  end(): this {
    return this.u8(Op.End);
  }
  br(label: number): this {
    return this.u8(Op.Br).u32(label);
  }
  brIf(label: number): this {
    return this.u8(Op.BrIf).u32(label);
  }
  brTable(labels: readonly number[], defaultLabel: number): this {
    this.u8(Op.BrTable).u32(labels.length);
    for (let i = 0; i < labels.length; i++) this.u32(labels[i]!);
    return this.u32(defaultLabel);
  }
  return(): this {
    return this.u8(Op.Return);
  }
  call(func: number): this {
    return this.u8(Op.Call).u32(func);
  }
  callIndirect(typeIndex: number, table: number): this {
    return this.u8(Op.CallIndirect).u32(typeIndex).u32(table);
  }

  localGet(i: number): this {
    return this.u8(Op.LocalGet).u32(i);
  }
  localSet(i: number): this {
    return this.u8(Op.LocalSet).u32(i);
  }
  localTee(i: number): this {
    return this.u8(Op.LocalTee).u32(i);
  }
  globalGet(i: number): this {
    return this.u8(Op.GlobalGet).u32(i);
  }
  globalSet(i: number): this {
    return this.u8(Op.GlobalSet).u32(i);
  }

  /** A memory instruction: its opcode, then the memarg. */
  memop(code: number, align: number, offset: number): this {
    return this.op(code).u32(align).u32(offset);
  }
  i32Load(align: number, offset: number): this {
    return this.memop(I32_LOAD, align, offset);
  }
  i64Load(align: number, offset: number): this {
    return this.memop(I64_LOAD, align, offset);
  }
  f32Load(align: number, offset: number): this {
    return this.memop(F32_LOAD, align, offset);
  }
  f64Load(align: number, offset: number): this {
    return this.memop(F64_LOAD, align, offset);
  }
  v128Load(align: number, offset: number): this {
    return this.memop(V128_LOAD, align, offset);
  }
  i32Store(align: number, offset: number): this {
    return this.memop(I32_STORE, align, offset);
  }
  i64Store(align: number, offset: number): this {
    return this.memop(I64_STORE, align, offset);
  }
  f32Store(align: number, offset: number): this {
    return this.memop(F32_STORE, align, offset);
  }
  f64Store(align: number, offset: number): this {
    return this.memop(F64_STORE, align, offset);
  }
  v128Store(align: number, offset: number): this {
    return this.memop(V128_STORE, align, offset);
  }
  i32Store8(align: number, offset: number): this {
    return this.memop(I32_STORE8, align, offset);
  }
  dataDrop(segment: number): this {
    return this.op(DATA_DROP).u32(segment);
  }
  elemDrop(segment: number): this {
    return this.op(ELEM_DROP).u32(segment);
  }

  i32Const(v: number): this {
    return this.u8(Op.I32Const).s32(v);
  }
  i64Const(v: bigint): this {
    return this.u8(Op.I64Const).s64(v);
  }
  /** `f32.const` of the raw bits `bits`. */
  f32Const(bits: number): this {
    return this.u8(Op.F32Const).u32Fixed(bits);
  }
  /** `f64.const` of the raw bits `bits`. */
  f64Const(bits: bigint): this {
    return this.u8(Op.F64Const).u64Fixed(bits);
  }
  /** `v128.const` of 16 bytes, lane 0 first. */
  v128Const(bytes: Uint8Array | readonly number[]): this {
    return this.op(V128_CONST).bytes(bytes);
  }
  refNull(t: number): this {
    return this.u8(Op.RefNull).u8(t);
  }
  refFunc(func: number): this {
    return this.u8(Op.RefFunc).u32(func);
  }

  i32Eqz(): this {
    return this.u8(I32_EQZ);
  }
  i32LtS(): this {
    return this.u8(I32_LT_S);
  }
  i32LtU(): this {
    return this.u8(I32_LT_U);
  }
  i32Add(): this {
    return this.u8(I32_ADD);
  }
  i32Sub(): this {
    return this.u8(I32_SUB);
  }
  i32And(): this {
    return this.u8(I32_AND);
  }
  i64Add(): this {
    return this.u8(I64_ADD);
  }
  i64Or(): this {
    return this.u8(I64_OR);
  }
  i64Shl(): this {
    return this.u8(I64_SHL);
  }
  i64Sub(): this {
    return this.u8(I64_SUB);
  }
  i64And(): this {
    return this.u8(I64_AND);
  }
  i64ShrU(): this {
    return this.u8(I64_SHR_U);
  }
  i64GtU(): this {
    return this.u8(I64_GT_U);
  }
  i64GeU(): this {
    return this.u8(I64_GE_U);
  }
  i32GtU(): this {
    return this.u8(I32_GT_U);
  }
  i32ShrU(): this {
    return this.u8(I32_SHR_U);
  }
  f32Ne(): this {
    return this.u8(F32_NE);
  }
  f64Ne(): this {
    return this.u8(F64_NE);
  }
  i32WrapI64(): this {
    return this.u8(I32_WRAP_I64);
  }
  i64ExtendI32U(): this {
    return this.u8(I64_EXTEND_I32_U);
  }
  i64TruncF64S(): this {
    return this.u8(I64_TRUNC_F64_S);
  }
  f64ConvertI32S(): this {
    return this.u8(F64_CONVERT_I32_S);
  }
  i32ReinterpretF32(): this {
    return this.u8(I32_REINTERPRET_F32);
  }
}

/** Number of bytes of the unsigned LEB128 encoding of `v`. */
export function u32Size(v: number): number {
  v >>>= 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

export function encodeFuncType(w: ByteWriter, t: FuncType): void {
  w.u8(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results);
}

function encodeLimits(w: ByteWriter, l: Limits): void {
  const flags = (l.max !== undefined ? 1 : 0) | (l.shared ? 2 : 0) | (l.is64 === true ? 4 : 0);
  if (l.is64 === true) {
    w.u8(flags).u64(l.min);
    if (l.max !== undefined) w.u64(l.max);
    return;
  }
  w.u8(flags).u32(l.min);
  if (l.max !== undefined) w.u32(l.max);
}

function encodeTableType(w: ByteWriter, t: TableType): void {
  w.u8(t.elemType);
  encodeLimits(w, t.limits);
}

/** Writes a constant expression including its final `end`. */
export function encodeConstExpr(w: ByteWriter, e: ConstExpr): void {
  for (const i of e.instrs) {
    switch (i.op) {
      case 'i32.const':
        w.i32Const(i.value);
        break;
      case 'i64.const':
        w.i64Const(i.value);
        break;
      case 'f32.const':
        w.f32Const(i.bits);
        break;
      case 'f64.const':
        w.f64Const(i.bits);
        break;
      case 'v128.const':
        w.v128Const(i.bytes);
        break;
      case 'ref.null':
        w.refNull(i.refType);
        break;
      case 'ref.func':
        w.refFunc(i.funcIndex);
        break;
      case 'global.get':
        w.globalGet(i.globalIndex);
        break;
      case 'i32.add':
      case 'i32.sub':
      case 'i32.mul':
      case 'i64.add':
      case 'i64.sub':
      case 'i64.mul':
        w.op(codeOf(i.op));
        break;
      case 'other':
        throw new Error(`not supported: encoding constant expression opcode 0x${i.opcode.toString(16)}`);
    }
  }
  w.end();
}

function isFuncIndexForm(s: ElementSegment): boolean {
  if (s.elemType !== 0x70) return false;
  for (const e of s.init) if (e.instrs.length !== 1 || e.instrs[0]!.op !== 'ref.func') return false;
  return true;
}

function encodeElement(w: ByteWriter, s: ElementSegment): void {
  const funcIdx = isFuncIndexForm(s);
  const exprBit = funcIdx ? 0 : 4;
  if (s.mode === 'active') {
    if (s.offsetExpr === undefined) throw new Error('not supported: active element segment without offset');
    if (s.tableIndex === 0 && s.elemType === 0x70) {
      w.u8(exprBit);
      encodeConstExpr(w, s.offsetExpr);
    } else {
      w.u8(2 | exprBit).u32(s.tableIndex);
      encodeConstExpr(w, s.offsetExpr);
      w.u8(funcIdx ? 0x00 : s.elemType);
    }
  } else {
    w.u8((s.mode === 'passive' ? 1 : 3) | exprBit);
    w.u8(funcIdx ? 0x00 : s.elemType);
  }
  w.u32(s.init.length);
  for (const e of s.init) {
    if (funcIdx) {
      const i = e.instrs[0]!;
      if (i.op === 'ref.func') w.u32(i.funcIndex);
    } else {
      encodeConstExpr(w, e);
    }
  }
}

function encodeData(w: ByteWriter, d: DataSegment): void {
  if (d.mode === 'passive') {
    w.u8(1);
  } else {
    if (d.offsetExpr === undefined) throw new Error('not supported: active data segment without offset');
    if (d.memoryIndex === 0) w.u8(0);
    else w.u8(2).u32(d.memoryIndex);
    encodeConstExpr(w, d.offsetExpr);
  }
  w.u32(d.init.length).bytes(d.init);
}

function isEncodedBody(b: EncodableBody): b is EncodedBody {
  return (b as Partial<EncodedBody>).encoded !== undefined;
}

/** Which IR field each known section encodes (for the unchanged-section check). */
function fieldOf(m: EncodableModule, id: SectionId): unknown {
  switch (id) {
    case SectionId.Type:
      return m.types;
    case SectionId.Import:
      return m.imports;
    case SectionId.Function:
      return m.funcTypeIndices;
    case SectionId.Table:
      return m.tables;
    case SectionId.Memory:
      return m.memories;
    case SectionId.Tag:
      return m.tags;
    case SectionId.Global:
      return m.globals;
    case SectionId.Export:
      return m.exports;
    case SectionId.Start:
      return m.startFunction;
    case SectionId.Element:
      return m.elements;
    case SectionId.DataCount:
      return m.dataCount;
    case SectionId.Code:
      return m.codes;
    case SectionId.Data:
      return m.datas;
    default:
      return undefined;
  }
}

function present(m: EncodableModule, id: SectionId): boolean {
  switch (id) {
    case SectionId.Type:
      return m.types.length > 0;
    case SectionId.Import:
      return m.imports.length > 0;
    case SectionId.Function:
      return m.funcTypeIndices.length > 0;
    case SectionId.Table:
      return m.tables.length > 0;
    case SectionId.Memory:
      return m.memories.length > 0;
    case SectionId.Tag:
      return m.tags !== undefined && m.tags.length > 0;
    case SectionId.Global:
      return m.globals.length > 0;
    case SectionId.Export:
      return m.exports.length > 0;
    case SectionId.Start:
      return m.startFunction !== undefined;
    case SectionId.Element:
      return m.elements.length > 0;
    case SectionId.DataCount:
      return m.dataCount !== undefined;
    case SectionId.Code:
      return m.codes.length > 0;
    case SectionId.Data:
      return m.datas.length > 0;
    default:
      return false;
  }
}

/** Writes the contents (after id and size) of a known section from the IR. */
function encodeSectionContents(w: ByteWriter, m: EncodableModule, id: SectionId): void {
  switch (id) {
    case SectionId.Type:
      w.u32(m.types.length);
      for (const t of m.types) encodeFuncType(w, t);
      return;
    case SectionId.Import:
      w.u32(m.imports.length);
      for (const imp of m.imports) {
        w.name(imp.module).name(imp.name).u8(imp.desc.kind);
        const d = imp.desc;
        if (d.kind === 0) w.u32(d.typeIndex);
        else if (d.kind === 1) encodeTableType(w, d.table);
        else if (d.kind === 2) encodeLimits(w, d.memory.limits);
        else if (d.kind === 3) w.u8(d.global.valType).u8(d.global.mutable ? 1 : 0);
        else w.u8(0).u32(d.tag.typeIndex);
      }
      return;
    case SectionId.Function:
      w.u32(m.funcTypeIndices.length);
      for (const t of m.funcTypeIndices) w.u32(t);
      return;
    case SectionId.Table:
      w.u32(m.tables.length);
      for (const t of m.tables) encodeTableType(w, t);
      return;
    case SectionId.Memory:
      w.u32(m.memories.length);
      for (const mem of m.memories) encodeLimits(w, mem.limits);
      return;
    case SectionId.Tag:
      w.u32(m.tags!.length);
      for (const t of m.tags!) w.u8(0).u32(t.typeIndex);
      return;
    case SectionId.Global:
      w.u32(m.globals.length);
      for (const g of m.globals) {
        w.u8(g.type.valType).u8(g.type.mutable ? 1 : 0);
        encodeConstExpr(w, g.init);
      }
      return;
    case SectionId.Export:
      w.u32(m.exports.length);
      for (const e of m.exports) w.name(e.name).u8(e.kind).u32(e.index);
      return;
    case SectionId.Start:
      w.u32(m.startFunction!);
      return;
    case SectionId.Element:
      w.u32(m.elements.length);
      for (const s of m.elements) encodeElement(w, s);
      return;
    case SectionId.DataCount:
      w.u32(m.dataCount!);
      return;
    case SectionId.Data:
      w.u32(m.datas.length);
      for (const d of m.datas) encodeData(w, d);
      return;
    default:
      throw new Error(`not supported: section ${id}`);
  }
}

/**
 * Encodes `m`. When `base` is given (the decoded module `m` was derived from), every known section
 * whose IR field is identical (`===`) to `base`'s is copied raw from `base.bytes`; custom sections
 * keep their position relative to the known sections of `base` (or of `m`'s own layout when `m`
 * is itself decoded).
 *
 * The output is allocated once at its exact size: sections are measured first, then written, and
 * function bodies go straight from their sources into it (compile latency and memory of big
 * modules: no growing buffer, no intermediate copy of the code).
 *
 * @param layout - the decoded module whose section order places custom sections (default: `base`).
 */
export function encodeModule(m: EncodableModule, base?: Module, layout: Module | undefined = base): EncodeResult {
  // The output as parts: bytes to copy, and the code section's contents (written in place).
  const parts: Array<Uint8Array | CodeLayout> = [];
  let size = 0;
  const add = (part: Uint8Array): void => {
    parts.push(part);
    size += part.length;
  };
  const header = (id: number, contentSize: number): void => {
    add(new ByteWriter(6).u8(id).u32(contentSize).written());
  };
  add(new ByteWriter(8).preamble().written());

  // Custom sections go after the known section that preceded them in the original layout.
  const customsAfter = new Map<number, CustomSection[]>();
  const sections = layout?.sections ?? [];
  for (const c of m.customSections) {
    let after = -1;
    for (const s of sections) if (s.start < c.offset) after = s.id;
    let list = customsAfter.get(after);
    if (list === undefined) customsAfter.set(after, (list = []));
    list.push(c);
  }
  const addCustoms = (after: number): void => {
    const list = customsAfter.get(after);
    if (list === undefined) return;
    customsAfter.delete(after);
    for (const c of list) {
      const nameBytes = utf8.encode(c.name);
      header(SectionId.Custom, u32Size(nameBytes.length) + nameBytes.length + c.data.length);
      add(new ByteWriter(5 + nameBytes.length).u32(nameBytes.length).bytes(nameBytes).written());
      add(c.data);
    }
  };

  addCustoms(-1);
  let codeSectionStart = -1;
  let bodyOffsets: Int32Array = new Int32Array(0);
  for (const id of ORDER) {
    if (present(m, id)) {
      const raw = base === undefined ? undefined : rawSection(m, base, id);
      if (raw !== undefined) {
        header(id, raw.length);
        if (id === SectionId.Code) {
          codeSectionStart = size;
          bodyOffsets = rawBodyOffsets(base!, codeSectionStart);
        }
        add(raw);
      } else if (id === SectionId.Code) {
        const code = layoutCode(m);
        header(id, code.size);
        codeSectionStart = size;
        bodyOffsets = code.offsets.map((o) => o + codeSectionStart);
        parts.push(code);
        size += code.size;
      } else {
        const w = new ByteWriter(64);
        encodeSectionContents(w, m, id);
        header(id, w.len);
        add(w.written());
      }
    }
    addCustoms(id);
  }
  // Customs placed after a section id not in ORDER (cannot happen for decoded layouts).
  for (const k of [...customsAfter.keys()]) addCustoms(k);

  const out = new Uint8Array(size);
  let pos = 0;
  for (const part of parts) {
    if (part instanceof Uint8Array) {
      out.set(part, pos);
      pos += part.length;
    } else {
      writeCode(out, pos, m, part);
      pos += part.size;
    }
  }
  return { bytes: out, codeSectionStart, bodyOffsets };
}

/** The raw contents of section `id` of `base`, when `m`'s field for it is unchanged. */
function rawSection(m: EncodableModule, base: Module, id: SectionId): Uint8Array | undefined {
  if (m.bytes !== base.bytes) return undefined;
  if (fieldOf(m, id) !== fieldOf(base, id)) return undefined;
  for (const s of base.sections) if (s.id === id) return base.bytes.subarray(s.start, s.end);
  return undefined;
}

function rawBodyOffsets(base: Module, newCodeStart: number): Int32Array {
  const delta = newCodeStart - base.codeSectionStart;
  const out = new Int32Array(base.codes.length);
  for (let i = 0; i < base.codes.length; i++) out[i] = base.codes[i]!.entryOffset + delta;
  return out;
}

/** The code section's contents, measured: its size and each entry's offset in it. */
interface CodeLayout {
  readonly size: number;
  readonly offsets: Int32Array;
}

/** The size of body `b`'s entry: its size LEB and what follows. */
function entrySize(b: EncodableBody): number {
  if (isEncodedBody(b)) return u32Size(b.encoded.length) + b.encoded.length;
  return b.codeEnd - b.entryOffset;
}

function layoutCode(m: EncodableModule): CodeLayout {
  const offsets = new Int32Array(m.codes.length);
  let size = u32Size(m.codes.length);
  for (let i = 0; i < m.codes.length; i++) {
    offsets[i] = size;
    size += entrySize(m.codes[i]!);
  }
  return { size, offsets };
}

/** Writes the code section's contents, laid out by `code`, at `out[start]`. */
function writeCode(out: Uint8Array, start: number, m: EncodableModule, code: CodeLayout): void {
  const bytes = m.bytes;
  let pos = putU32(out, start, m.codes.length);
  // Original bodies are contiguous in `m.bytes`: each run of them is copied with one `set`.
  let runStart = -1;
  let runEnd = -1;
  const flushRun = (): void => {
    if (runStart >= 0) {
      out.set(bytes.subarray(runStart, runEnd), pos);
      pos += runEnd - runStart;
    }
    runStart = -1;
  };
  for (let i = 0; i < m.codes.length; i++) {
    const b = m.codes[i]!;
    if (isEncodedBody(b)) {
      flushRun();
      pos = putU32(out, pos, b.encoded.length);
      out.set(b.encoded, pos);
      pos += b.encoded.length;
    } else {
      // The entry (size LEB, locals, code) is self-delimiting.
      if (runStart >= 0 && b.entryOffset !== runEnd) flushRun();
      if (runStart < 0) runStart = b.entryOffset;
      runEnd = b.codeEnd;
    }
  }
  flushRun();
  if (pos - start !== code.size) throw new Error('internal error: code section size mismatch');
}

/** Writes the unsigned LEB128 of `v` at `out[pos]`; returns the position after it. */
function putU32(out: Uint8Array, pos: number, v: number): number {
  v >>>= 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out[pos++] = b;
  } while (v !== 0);
  return pos;
}
