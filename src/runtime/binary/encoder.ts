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
};

export interface EncodeResult {
  readonly bytes: Uint8Array;
  /** Offset of the code section's contents in the new binary (-1 when there is none). */
  readonly codeSectionStart: number;
  /** New offset of each code entry (its size LEB), parallel to `codes`. */
  readonly bodyOffsets: Int32Array;
}

const enum Sec {
  Custom = 0,
  Type = 1,
  Import = 2,
  Function = 3,
  Table = 4,
  Memory = 5,
  Global = 6,
  Export = 7,
  Start = 8,
  Element = 9,
  Code = 10,
  Data = 11,
  DataCount = 12,
}

/** Canonical order of the known sections. */
const ORDER: readonly Sec[] = [
  Sec.Type,
  Sec.Import,
  Sec.Function,
  Sec.Table,
  Sec.Memory,
  Sec.Global,
  Sec.Export,
  Sec.Start,
  Sec.Element,
  Sec.DataCount,
  Sec.Code,
  Sec.Data,
];

const utf8 = new TextEncoder();

/** A growable byte buffer with LEB128 writers. */
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

  /** A copy of the written bytes. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
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
  const flags = (l.max !== undefined ? 1 : 0) | (l.shared ? 2 : 0);
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
        w.u8(0x41).s32(i.value);
        break;
      case 'i64.const':
        w.u8(0x42).s64(i.value);
        break;
      case 'f32.const':
        w.u8(0x43).u32Fixed(i.bits);
        break;
      case 'f64.const':
        w.u8(0x44).u64Fixed(i.bits);
        break;
      case 'v128.const':
        w.u8(0xfd).u32(12).bytes(i.bytes);
        break;
      case 'ref.null':
        w.u8(0xd0).u8(i.refType);
        break;
      case 'ref.func':
        w.u8(0xd2).u32(i.funcIndex);
        break;
      case 'global.get':
        w.u8(0x23).u32(i.globalIndex);
        break;
      case 'other':
        throw new Error(`not supported: encoding constant expression opcode 0x${i.opcode.toString(16)}`);
    }
  }
  w.u8(0x0b);
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
function fieldOf(m: EncodableModule, id: Sec): unknown {
  switch (id) {
    case Sec.Type:
      return m.types;
    case Sec.Import:
      return m.imports;
    case Sec.Function:
      return m.funcTypeIndices;
    case Sec.Table:
      return m.tables;
    case Sec.Memory:
      return m.memories;
    case Sec.Global:
      return m.globals;
    case Sec.Export:
      return m.exports;
    case Sec.Start:
      return m.startFunction;
    case Sec.Element:
      return m.elements;
    case Sec.DataCount:
      return m.dataCount;
    case Sec.Code:
      return m.codes;
    case Sec.Data:
      return m.datas;
    default:
      return undefined;
  }
}

function present(m: EncodableModule, id: Sec): boolean {
  switch (id) {
    case Sec.Type:
      return m.types.length > 0;
    case Sec.Import:
      return m.imports.length > 0;
    case Sec.Function:
      return m.funcTypeIndices.length > 0;
    case Sec.Table:
      return m.tables.length > 0;
    case Sec.Memory:
      return m.memories.length > 0;
    case Sec.Global:
      return m.globals.length > 0;
    case Sec.Export:
      return m.exports.length > 0;
    case Sec.Start:
      return m.startFunction !== undefined;
    case Sec.Element:
      return m.elements.length > 0;
    case Sec.DataCount:
      return m.dataCount !== undefined;
    case Sec.Code:
      return m.codes.length > 0;
    case Sec.Data:
      return m.datas.length > 0;
    default:
      return false;
  }
}

/** Writes the contents (after id and size) of a known section from the IR. */
function encodeSectionContents(w: ByteWriter, m: EncodableModule, id: Sec): void {
  switch (id) {
    case Sec.Type:
      w.u32(m.types.length);
      for (const t of m.types) encodeFuncType(w, t);
      return;
    case Sec.Import:
      w.u32(m.imports.length);
      for (const imp of m.imports) {
        w.name(imp.module).name(imp.name).u8(imp.desc.kind);
        const d = imp.desc;
        if (d.kind === 0) w.u32(d.typeIndex);
        else if (d.kind === 1) encodeTableType(w, d.table);
        else if (d.kind === 2) encodeLimits(w, d.memory.limits);
        else w.u8(d.global.valType).u8(d.global.mutable ? 1 : 0);
      }
      return;
    case Sec.Function:
      w.u32(m.funcTypeIndices.length);
      for (const t of m.funcTypeIndices) w.u32(t);
      return;
    case Sec.Table:
      w.u32(m.tables.length);
      for (const t of m.tables) encodeTableType(w, t);
      return;
    case Sec.Memory:
      w.u32(m.memories.length);
      for (const mem of m.memories) encodeLimits(w, mem.limits);
      return;
    case Sec.Global:
      w.u32(m.globals.length);
      for (const g of m.globals) {
        w.u8(g.type.valType).u8(g.type.mutable ? 1 : 0);
        encodeConstExpr(w, g.init);
      }
      return;
    case Sec.Export:
      w.u32(m.exports.length);
      for (const e of m.exports) w.name(e.name).u8(e.kind).u32(e.index);
      return;
    case Sec.Start:
      w.u32(m.startFunction!);
      return;
    case Sec.Element:
      w.u32(m.elements.length);
      for (const s of m.elements) encodeElement(w, s);
      return;
    case Sec.DataCount:
      w.u32(m.dataCount!);
      return;
    case Sec.Data:
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
 * @param layout - the decoded module whose section order places custom sections (default: `base`).
 */
export function encodeModule(m: EncodableModule, base?: Module, layout: Module | undefined = base): EncodeResult {
  const w = new ByteWriter(Math.max(1024, (base?.bytes.length ?? m.bytes.length) + 256));
  w.u32Fixed(0x6d736100).u32Fixed(1);

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
  const writeCustoms = (after: number): void => {
    const list = customsAfter.get(after);
    if (list === undefined) return;
    customsAfter.delete(after);
    for (const c of list) {
      const nameBytes = utf8.encode(c.name);
      const size = u32Size(nameBytes.length) + nameBytes.length + c.data.length;
      w.u8(Sec.Custom).u32(size).u32(nameBytes.length).bytes(nameBytes).bytes(c.data);
    }
  };

  writeCustoms(-1);
  let codeSectionStart = -1;
  let bodyOffsets: Int32Array = new Int32Array(0);
  const tmp = new ByteWriter(64);
  for (const id of ORDER) {
    if (present(m, id)) {
      const raw = base === undefined ? undefined : rawSection(m, base, id);
      if (raw !== undefined) {
        w.u8(id).u32(raw.length);
        if (id === Sec.Code) {
          codeSectionStart = w.len;
          bodyOffsets = rawBodyOffsets(base!, codeSectionStart);
        }
        w.bytes(raw);
      } else if (id === Sec.Code) {
        const r = encodeCode(m);
        w.u8(id).u32(r.contents.length);
        codeSectionStart = w.len;
        for (let i = 0; i < r.offsets.length; i++) r.offsets[i]! += codeSectionStart;
        bodyOffsets = r.offsets;
        w.bytes(r.contents);
      } else {
        tmp.len = 0;
        encodeSectionContents(tmp, m, id);
        w.u8(id).u32(tmp.len).bytes(tmp.buf.subarray(0, tmp.len));
      }
    }
    writeCustoms(id);
  }
  // Customs placed after a section id not in ORDER (cannot happen for decoded layouts).
  for (const k of [...customsAfter.keys()]) writeCustoms(k);
  return { bytes: w.finish(), codeSectionStart, bodyOffsets };
}

/** The raw contents of section `id` of `base`, when `m`'s field for it is unchanged. */
function rawSection(m: EncodableModule, base: Module, id: Sec): Uint8Array | undefined {
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

function encodeCode(m: EncodableModule): { contents: Uint8Array; offsets: Int32Array } {
  const w = new ByteWriter(Math.max(1024, m.bytes.length + 64));
  w.u32(m.codes.length);
  const offsets = new Int32Array(m.codes.length);
  // Original bodies are contiguous in `m.bytes`: each run of them is copied with one `set`.
  let runStart = -1;
  let runEnd = -1;
  const flushRun = (): void => {
    if (runStart >= 0) w.bytes(m.bytes.subarray(runStart, runEnd));
    runStart = -1;
  };
  for (let i = 0; i < m.codes.length; i++) {
    const b = m.codes[i]!;
    if (isEncodedBody(b)) {
      flushRun();
      offsets[i] = w.len;
      w.u32(b.encoded.length).bytes(b.encoded);
    } else {
      // The entry (size LEB, locals, code) is self-delimiting.
      if (runStart >= 0 && b.entryOffset !== runEnd) flushRun();
      if (runStart < 0) runStart = b.entryOffset;
      offsets[i] = w.len + (b.entryOffset - runStart);
      runEnd = b.codeEnd;
    }
  }
  flushRun();
  return { contents: w.finish(), offsets };
}
