/**
 * The binary decoder: one pass over a module binary producing the plain-data IR of module.ts.
 *
 * Function bodies are not decoded into instructions; each body keeps its byte range and the
 * validator walks it. Everything else (types, imports, segments, constant expressions) is decoded
 * here, with feature gating for what the decoder itself sees: value types, limits flags and segment
 * encodings. Instruction-level gating is the validator's job.
 *
 * Hostile input fails fast: every vector count is checked against the bytes left before the loop
 * runs (`Reader.count`), and nothing is allocated ahead of the bytes that back it. The check assumes
 * one byte per entry on purpose: a tighter bound would report "unexpected end" before the error the
 * spec expects inside a short, broken entry (e.g. a bad import kind).
 *
 * Reads inside a section are bounded by the end of the binary, not of the section, and the section
 * size is checked afterwards ("section size mismatch"), as in the reference interpreter, so errors
 * carry the spec's wording.
 *
 * @see https://webassembly.github.io/spec/core/binary/modules.html
 */
import { CompileError } from '../api/errors.js';
import {
  CoreFeatureBulkMemoryOperations,
  CoreFeatureReferenceTypes,
  CoreFeatureSIMD,
  CoreFeaturesExceptionHandling,
  CoreFeaturesExtendedConst,
  CoreFeaturesMemory64,
  CoreFeaturesThreads,
  coreFeatureName,
  type CoreFeatures,
} from '../api/features.js';
import type {
  ConstExpr,
  ConstInstr,
  CustomSection,
  DataSegment,
  ElementMode,
  ElementSegment,
  Export,
  FuncType,
  FunctionBody,
  Global,
  GlobalType,
  Import,
  ImportDesc,
  Limits,
  LocalGroup,
  MemoryType,
  Module,
  NameSection,
  SectionRange,
  TableType,
  TagType,
  ValType,
} from './module.js';
import { SectionId } from './module.js';
import { parseNameSection } from './names.js';
import { OPS } from './opcodes.js';
import { Reader } from './reader.js';
import { EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, V128 } from '../api/value-type.js';

/** Section names by id (as the spec and wabt name them). */
export const SECTION_NAMES = [
  'custom',
  'type',
  'import',
  'function',
  'table',
  'memory',
  'global',
  'export',
  'start',
  'element',
  'code',
  'data',
  'datacount',
  'tag',
] as const;

/**
 * Position of each known section id in the required order: datacount sits between element and
 * code, the tag section (exception handling) between memory and global.
 */
const SECTION_ORDER = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6] as const;

/** Implementation limit on declared locals per function (the spec allows up to 2^32 - 1). */
export const MAX_LOCALS = 50000;

const MAGIC = 0x6d736100;
const VERSION = 1;

const EMPTY_LOCALS: readonly LocalGroup[] = Object.freeze([]);

/** Limits flags: bit 0 = has max, bit 1 = shared (threads), bit 2 = 64-bit (memory64). */
const LIMITS_HAS_MAX = 1;
const LIMITS_SHARED = 2;
const LIMITS_64 = 4;

/**
 * Decodes a WebAssembly binary module.
 *
 * @param bytes - the module binary. The returned IR keeps views into it, so it must not be mutated.
 * @param features - enabled core features; gates value types, limits flags and segment encodings.
 * @returns the decoded module, not yet validated.
 * @throws CompileError with kind `malformed` (or `invalid` for a non-constant constant expression
 *   and a shared memory without a maximum), naming the section, function index and byte offset.
 */
export function decodeModule(bytes: Uint8Array, features: CoreFeatures): Module {
  return new Decoder(bytes, features).decode();
}

class Decoder {
  private readonly r: Reader;
  private readonly features: CoreFeatures;
  private readonly bytes: Uint8Array;

  private types: FuncType[] = [];
  private imports: Import[] = [];
  private funcTypeIndices: number[] = [];
  private tables: TableType[] = [];
  private memories: MemoryType[] = [];
  private tags: TagType[] = [];
  private globals: Global[] = [];
  private exports: Export[] = [];
  private startFunction: number | undefined = undefined;
  private elements: ElementSegment[] = [];
  private dataCount: number | undefined = undefined;
  private codes: FunctionBody[] = [];
  private datas: DataSegment[] = [];
  private customSections: CustomSection[] = [];
  private names: NameSection | undefined = undefined;
  private codeSectionStart = 0;
  private sections: SectionRange[] = [];
  private sawFunctionSection = false;
  private sawCodeSection = false;
  private sawDataSection = false;
  private numImportedFuncs = 0;
  private numImportedTables = 0;
  private numImportedMemories = 0;
  private numImportedGlobals = 0;
  private numImportedTags = 0;

  constructor(bytes: Uint8Array, features: CoreFeatures) {
    this.bytes = bytes;
    this.features = features;
    this.r = new Reader(bytes);
  }

  decode(): Module {
    try {
      return this.decodeSections();
    } catch (e) {
      // Reads are bounded by the end of the binary, as in the reference interpreter; running out of
      // bytes inside a section is reported with the spec's wording for that case.
      if (e instanceof CompileError && e.reason === 'unexpected end' && e.section !== undefined) {
        throw new CompileError(
          'unexpected end of section or function',
          { section: e.section, functionIndex: e.functionIndex, offset: e.offset },
          'malformed',
        );
      }
      throw e;
    }
  }

  private decodeSections(): Module {
    const r = this.r;
    this.header();
    let lastOrder = 0;
    const fileEnd = this.bytes.length;
    while (r.pos < fileEnd) {
      r.section = undefined;
      const idOffset = r.pos;
      const id = r.u8();
      if (
        id > SectionId.Tag ||
        (id === SectionId.DataCount && !this.has(CoreFeatureBulkMemoryOperations)) ||
        (id === SectionId.Tag && !this.has(CoreFeaturesExceptionHandling))
      ) {
        r.fail('malformed section id', idOffset);
      }
      r.section = SECTION_NAMES[id];
      const size = this.length();
      const start = r.pos;
      const end = start + size;
      if (id === SectionId.Custom) {
        this.customSection(end);
      } else {
        const order = SECTION_ORDER[id]!;
        if (order <= lastOrder) r.fail('unexpected content after last section', idOffset);
        lastOrder = order;
        this.sections.push({ id, start, end });
        this.section(id, start);
      }
      if (r.pos !== end) r.fail(end > fileEnd ? 'unexpected end of section or function' : 'section size mismatch', start);
    }
    r.section = undefined;
    return this.finish();
  }

  /**
   * A byte length (section, body or data size). Like the reference interpreter, a length larger than
   * what is left of the binary counted from the length's own first byte is "length out of bounds";
   * a length that only just overruns is left for the read that runs out of bytes.
   */
  private length(): number {
    const r = this.r;
    const at = r.pos;
    const n = r.u32();
    if (n > this.bytes.length - at) r.fail('length out of bounds', at);
    return n;
  }

  private has(feature: CoreFeatures): boolean {
    return (this.features & feature) !== 0;
  }

  private header(): void {
    const r = this.r;
    if (this.bytes.length < 4) r.fail('unexpected end', 0);
    if (r.u32Fixed() !== MAGIC) r.fail('magic header not detected', 0);
    if (this.bytes.length < 8) r.fail('unexpected end', 4);
    if (r.u32Fixed() !== VERSION) r.fail('unknown binary version', 4);
  }

  private section(id: number, start: number): void {
    switch (id) {
      case SectionId.Type:
        return this.typeSection();
      case SectionId.Import:
        return this.importSection();
      case SectionId.Function:
        return this.functionSection();
      case SectionId.Table:
        return this.tableSection();
      case SectionId.Memory:
        return this.memorySection();
      case SectionId.Global:
        return this.globalSection();
      case SectionId.Export:
        return this.exportSection();
      case SectionId.Start:
        this.startFunction = this.r.u32();
        return;
      case SectionId.Element:
        return this.elementSection();
      case SectionId.DataCount:
        this.dataCount = this.r.u32();
        return;
      case SectionId.Code:
        this.codeSectionStart = start;
        return this.codeSection();
      case SectionId.Data:
        return this.dataSection();
      case SectionId.Tag:
        return this.tagSection();
    }
  }

  private customSection(end: number): void {
    const r = this.r;
    r.section = 'custom';
    const name = r.name();
    r.section = `custom:${name}`;
    const offset = r.pos;
    if (offset > end || end > this.bytes.length) r.fail('unexpected end of section or function', offset);
    const data = this.bytes.subarray(offset, end);
    r.pos = end;
    this.customSections.push({ name, data, offset });
    if (name === 'name' && this.names === undefined) this.names = parseNameSection(this.bytes, offset, end);
  }

  // ---- types ----

  private typeSection(): void {
    const r = this.r;
    const n = r.count(1);
    for (let i = 0; i < n; i++) {
      const formOffset = r.pos;
      const form = r.u8();
      if (form !== 0x60) {
        r.fail((form & 0x80) !== 0 ? 'integer representation too long' : 'malformed function type', formOffset);
      }
      const params = this.valTypes();
      // More than one result without multi-value is the validator's to reject ('invalid result arity').
      const results = this.valTypes();
      this.types.push({ params, results });
    }
  }

  private valTypes(): ValType[] {
    const n = this.r.count(1);
    const out = new Array<ValType>(n);
    for (let i = 0; i < n; i++) out[i] = this.valType();
    return out;
  }

  private valType(): ValType {
    const r = this.r;
    const offset = r.pos;
    const b = r.u8();
    switch (b) {
      case I32:
      case I64:
      case F32:
      case F64:
        return b;
      case V128:
        this.require(CoreFeatureSIMD, 'v128', offset);
        return b;
      case FUNCREF:
      case EXTERNREF:
        this.require(CoreFeatureReferenceTypes, b === FUNCREF ? 'funcref' : 'externref', offset);
        return b;
      case EXNREF:
        this.require(CoreFeaturesExceptionHandling, 'exnref', offset);
        return b;
      default:
        return r.fail((b & 0x80) !== 0 ? 'integer representation too long' : 'malformed value type', offset);
    }
  }

  /** A reference type byte (table element type, typed element segment, `ref.null`). */
  private refType(): ValType {
    const r = this.r;
    const offset = r.pos;
    const b = r.u8();
    if (b === FUNCREF) return b;
    if (b === EXTERNREF) {
      this.require(CoreFeatureReferenceTypes, 'externref', offset);
      return b;
    }
    if (b === EXNREF && this.has(CoreFeaturesExceptionHandling)) return b;
    return r.fail('malformed reference type', offset);
  }

  private require(feature: CoreFeatures, what: string, offset: number): void {
    if ((this.features & feature) === 0) {
      this.r.fail(`${what} not enabled: feature "${coreFeatureName(feature)}" is disabled`, offset);
    }
  }

  private limits(isMemory: boolean): Limits {
    const r = this.r;
    const flagsOffset = r.pos;
    const flags = r.u8();
    // The flags are a LEB-encoded integer of 1 bit (2 bits for memories, the shared bit), hence the
    // spec's integer wording for bad flags.
    if ((flags & 0x80) !== 0) r.fail('integer representation too long', flagsOffset);
    let allowed = isMemory ? LIMITS_HAS_MAX | LIMITS_SHARED : LIMITS_HAS_MAX;
    if (this.has(CoreFeaturesMemory64)) allowed |= LIMITS_64;
    if ((flags & ~allowed) !== 0) r.fail('integer too large', flagsOffset);
    const shared = (flags & LIMITS_SHARED) !== 0;
    if (shared && !this.has(CoreFeaturesThreads)) {
      r.fail('shared memory requested but threads feature not enabled', flagsOffset);
    }
    const is64 = (flags & LIMITS_64) !== 0;
    const min = is64 ? r.u64() : r.u32();
    const max = (flags & LIMITS_HAS_MAX) !== 0 ? (is64 ? r.u64() : r.u32()) : undefined;
    if (shared && max === undefined) {
      throw new CompileError(
        'shared memory requires a maximum size to be specified',
        { section: r.section, offset: flagsOffset },
        'invalid',
      );
    }
    return is64 ? { min, max, shared, is64 } : { min, max, shared };
  }

  /** A tag type: an attribute byte (0: exception) and a function type index. */
  private tagType(): TagType {
    const r = this.r;
    const at = r.pos;
    if (r.u8() !== 0) r.fail('malformed tag attribute', at);
    return { typeIndex: r.u32() };
  }

  private tableType(): TableType {
    const elemType = this.refType();
    return { elemType, limits: this.limits(false) };
  }

  private globalType(): GlobalType {
    const r = this.r;
    const valType = this.valType();
    const mutOffset = r.pos;
    const m = r.u8();
    if (m > 1) r.fail('malformed mutability', mutOffset);
    return { valType, mutable: m === 1 };
  }

  // ---- sections ----

  private importSection(): void {
    const r = this.r;
    const n = r.count(1);
    for (let i = 0; i < n; i++) {
      const offset = r.pos;
      const module = r.name();
      const name = r.name();
      const kindOffset = r.pos;
      const kind = r.u8();
      let desc: ImportDesc;
      switch (kind) {
        case 0:
          desc = { kind: 0, typeIndex: r.u32() };
          this.numImportedFuncs++;
          break;
        case 1:
          desc = { kind: 1, table: this.tableType() };
          this.numImportedTables++;
          break;
        case 2:
          desc = { kind: 2, memory: { limits: this.limits(true) } };
          this.numImportedMemories++;
          break;
        case 3:
          desc = { kind: 3, global: this.globalType() };
          this.numImportedGlobals++;
          break;
        case 4:
          if (!this.has(CoreFeaturesExceptionHandling)) return r.fail('malformed import kind', kindOffset);
          desc = { kind: 4, tag: this.tagType() };
          this.numImportedTags++;
          break;
        default:
          return r.fail('malformed import kind', kindOffset);
      }
      this.imports.push({ module, name, desc, offset });
    }
  }

  private functionSection(): void {
    const r = this.r;
    this.sawFunctionSection = true;
    const n = r.count(1);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = r.u32();
    this.funcTypeIndices = out;
  }

  private tableSection(): void {
    const r = this.r;
    const n = r.count(1);
    for (let i = 0; i < n; i++) this.tables.push(this.tableType());
  }

  private memorySection(): void {
    const r = this.r;
    const n = r.count(1);
    for (let i = 0; i < n; i++) this.memories.push({ limits: this.limits(true) });
  }

  private tagSection(): void {
    const r = this.r;
    const n = r.count(1);
    for (let i = 0; i < n; i++) this.tags.push(this.tagType());
  }

  private globalSection(): void {
    const r = this.r;
    const n = r.count(1);
    for (let i = 0; i < n; i++) {
      const offset = r.pos;
      const type = this.globalType();
      const init = this.constExpr();
      this.globals.push({ type, init, offset });
    }
  }

  private exportSection(): void {
    const r = this.r;
    const n = r.count(1);
    for (let i = 0; i < n; i++) {
      const offset = r.pos;
      const name = r.name();
      const kindOffset = r.pos;
      const kind = r.u8();
      if (kind > 4 || (kind === 4 && !this.has(CoreFeaturesExceptionHandling))) r.fail('malformed export kind', kindOffset);
      const index = r.u32();
      this.exports.push({ name, kind: kind as 0 | 1 | 2 | 3 | 4, index, offset });
    }
  }

  private elementSection(): void {
    const r = this.r;
    const n = r.count(1);
    for (let i = 0; i < n; i++) {
      const offset = r.pos;
      const flags = r.u32();
      if (flags > 7) r.fail('malformed elements segment kind', offset);
      if (flags !== 0 && !this.has(CoreFeatureBulkMemoryOperations | CoreFeatureReferenceTypes)) {
        r.fail(
          `element segment encoding ${flags} not enabled: feature "${coreFeatureName(CoreFeatureBulkMemoryOperations)}" is disabled`,
          offset,
        );
      }
      // Bit 0: passive or declarative; bit 1: explicit table index (active) or declarative;
      // bit 2: elements are expressions with a reference type instead of function indices.
      const mode: ElementMode = (flags & 1) === 0 ? 'active' : (flags & 2) === 0 ? 'passive' : 'declarative';
      const usesExprs = (flags & 4) !== 0;
      let tableIndex = 0;
      let offsetExpr: ConstExpr | undefined;
      let elemType: ValType = FUNCREF;
      if (mode === 'active') {
        if ((flags & 2) !== 0) tableIndex = r.u32();
        offsetExpr = this.constExpr();
      }
      if (flags !== 0 && flags !== 4) {
        if (usesExprs) {
          elemType = this.refType();
        } else {
          const kindOffset = r.pos;
          if (r.u8() !== 0x00) r.fail('malformed element kind', kindOffset);
        }
      }
      const init: ConstExpr[] = [];
      if (usesExprs) {
        const count = r.count(1);
        for (let j = 0; j < count; j++) init.push(this.constExpr());
      } else {
        const count = r.count(1);
        for (let j = 0; j < count; j++) {
          const at = r.pos;
          init.push({ instrs: [{ op: 'ref.func', funcIndex: r.u32() }], offset: at });
        }
      }
      this.elements.push({ mode, tableIndex, offsetExpr, elemType, init, offset });
    }
  }

  private codeSection(): void {
    const r = this.r;
    this.sawCodeSection = true;
    const countOffset = r.pos;
    const n = r.count(1);
    if (!this.sawFunctionSection ? n !== 0 : n !== this.funcTypeIndices.length) {
      r.fail('function and code section have inconsistent lengths', countOffset);
    }
    const bytes = this.bytes;
    const fileEnd = bytes.length;
    const base = this.numImportedFuncs;
    const codes = this.codes;
    for (let i = 0; i < n; i++) {
      r.funcIndex = base + i;
      const entryOffset = r.pos;
      const size = this.length();
      const bodyEnd = r.pos + size;
      if (bodyEnd > fileEnd) r.fail('unexpected end of section or function', r.pos);
      r.end = bodyEnd;
      // Each local group is at least a count byte and a type byte.
      const groups = r.count(2);
      let locals = EMPTY_LOCALS;
      let numLocals = 0;
      if (groups > 0) {
        const list = new Array<LocalGroup>(groups);
        for (let g = 0; g < groups; g++) {
          const countOffset = r.pos;
          const count = r.u32();
          numLocals += count;
          // A double holds the sum exactly, so one check covers both the 2^32 - 1 overflow and the
          // implementation limit.
          if (numLocals > MAX_LOCALS) r.fail('too many locals', countOffset);
          list[g] = { count, type: this.valType() };
        }
        locals = list;
      }
      const codeStart = r.pos;
      if (codeStart >= bodyEnd) r.fail('unexpected end of section or function');
      if (bytes[bodyEnd - 1] !== 0x0b) this.missingEnd(bodyEnd);
      codes.push({ locals, numLocals, entryOffset, codeStart, codeEnd: bodyEnd });
      r.pos = bodyEnd;
      r.end = fileEnd;
    }
    r.funcIndex = undefined;
  }

  /**
   * A body whose last byte is not `end`. Instructions are the validator's to decode, so this only
   * approximates what the reference interpreter reports after reading on past the body: running off
   * the binary, an `end` just past the body (a size that is one short), or any other byte.
   */
  private missingEnd(bodyEnd: number): never {
    const r = this.r;
    if (bodyEnd >= this.bytes.length) return r.fail('unexpected end of section or function', bodyEnd);
    if (this.bytes[bodyEnd] === 0x0b) return r.fail('section size mismatch', bodyEnd);
    return r.fail('END opcode expected', bodyEnd);
  }

  private dataSection(): void {
    const r = this.r;
    this.sawDataSection = true;
    const countOffset = r.pos;
    const n = r.count(1);
    if (this.dataCount !== undefined && n !== this.dataCount) {
      r.fail('data count and data section have inconsistent lengths', countOffset);
    }
    for (let i = 0; i < n; i++) {
      const offset = r.pos;
      const flags = r.u32();
      if (flags > 2) r.fail('malformed data segment kind', offset);
      if (flags !== 0 && !this.has(CoreFeatureBulkMemoryOperations)) {
        r.fail(
          `data segment encoding ${flags} not enabled: feature "${coreFeatureName(CoreFeatureBulkMemoryOperations)}" is disabled`,
          offset,
        );
      }
      let memoryIndex = 0;
      let offsetExpr: ConstExpr | undefined;
      if (flags === 2) memoryIndex = r.u32();
      if (flags !== 1) offsetExpr = this.constExpr();
      const len = this.length();
      const init = r.view(len);
      this.datas.push({ mode: flags === 1 ? 'passive' : 'active', memoryIndex, offsetExpr, init, offset });
    }
  }

  // ---- constant expressions ----

  /**
   * Reads a constant expression up to its `end`. A non-constant instruction is recorded as `other`
   * and decoding stops there with an `invalid` error: its immediates are not ours to parse, and the
   * expression is invalid whatever follows.
   */
  private constExpr(): ConstExpr {
    const r = this.r;
    const offset = r.pos;
    const instrs: ConstInstr[] = [];
    for (;;) {
      const opOffset = r.pos;
      const op = r.opcode();
      switch (op) {
        case 0x0b:
          return { instrs, offset };
        case 0x41:
          instrs.push({ op: 'i32.const', value: r.s32() });
          break;
        case 0x42:
          instrs.push({ op: 'i64.const', value: r.s64() });
          break;
        case 0x43:
          instrs.push({ op: 'f32.const', bits: r.u32Fixed() });
          break;
        case 0x44: {
          const lo = r.u32Fixed();
          const hi = r.u32Fixed();
          instrs.push({ op: 'f64.const', bits: (BigInt(hi) << 32n) | BigInt(lo) });
          break;
        }
        case 0x20c:
          // A copy, so the IR does not alias the binary for a value that is used on its own.
          instrs.push({ op: 'v128.const', bytes: r.view(16).slice() });
          break;
        case 0xd0:
          instrs.push({ op: 'ref.null', refType: this.refTypeForRefNull() });
          break;
        case 0xd2:
          instrs.push({ op: 'ref.func', funcIndex: r.u32() });
          break;
        case 0x23:
          instrs.push({ op: 'global.get', globalIndex: r.u32() });
          break;
        case 0x6a:
        case 0x6b:
        case 0x6c:
        case 0x7c:
        case 0x7d:
        case 0x7e:
          if (this.has(CoreFeaturesExtendedConst)) {
            instrs.push({ op: EXTENDED_CONST_OPS[op]! });
            break;
          }
        // falls through: not a constant instruction without extended-const
        default:
          if (op < 0 || OPS[op] === undefined) r.fail('illegal opcode', opOffset);
          instrs.push({ op: 'other', opcode: op });
          throw new CompileError('constant expression required', { section: r.section, offset: opOffset }, 'invalid');
      }
    }
  }

  /** `ref.null` takes a heap type; an unknown byte is malformed even when reference types are off. */
  private refTypeForRefNull(): ValType {
    const r = this.r;
    const offset = r.pos;
    const b = r.u8();
    if (b === FUNCREF || b === EXTERNREF) return b;
    if (b === EXNREF && this.has(CoreFeaturesExceptionHandling)) return b;
    return r.fail('malformed reference type', offset);
  }

  // ---- result ----

  private finish(): Module {
    const r = this.r;
    if (!this.sawCodeSection && this.funcTypeIndices.length !== 0) {
      r.fail('function and code section have inconsistent lengths', this.bytes.length);
    }
    if (!this.sawDataSection && this.dataCount !== undefined && this.dataCount !== 0) {
      r.fail('data count and data section have inconsistent lengths', this.bytes.length);
    }
    const funcTypeIndexSpace: number[] = [];
    const tableSpace: TableType[] = [];
    const memorySpace: MemoryType[] = [];
    const globalSpace: GlobalType[] = [];
    const tagSpace: TagType[] = [];
    for (const imp of this.imports) {
      const d = imp.desc;
      switch (d.kind) {
        case 0:
          funcTypeIndexSpace.push(d.typeIndex);
          break;
        case 1:
          tableSpace.push(d.table);
          break;
        case 2:
          memorySpace.push(d.memory);
          break;
        case 3:
          globalSpace.push(d.global);
          break;
        case 4:
          tagSpace.push(d.tag);
          break;
      }
    }
    for (const t of this.funcTypeIndices) funcTypeIndexSpace.push(t);
    for (const t of this.tables) tableSpace.push(t);
    for (const m of this.memories) memorySpace.push(m);
    for (const g of this.globals) globalSpace.push(g.type);
    for (const t of this.tags) tagSpace.push(t);
    return {
      bytes: this.bytes,
      types: this.types,
      imports: this.imports,
      funcTypeIndices: this.funcTypeIndices,
      tables: this.tables,
      memories: this.memories,
      tags: this.tags,
      globals: this.globals,
      exports: this.exports,
      startFunction: this.startFunction,
      elements: this.elements,
      dataCount: this.dataCount,
      codes: this.codes,
      datas: this.datas,
      customSections: this.customSections,
      names: this.names,
      codeSectionStart: this.codeSectionStart,
      sections: this.sections,
      numImportedFuncs: this.numImportedFuncs,
      numImportedTables: this.numImportedTables,
      numImportedMemories: this.numImportedMemories,
      numImportedGlobals: this.numImportedGlobals,
      numImportedTags: this.numImportedTags,
      funcTypeIndexSpace,
      tableSpace,
      memorySpace,
      globalSpace,
      tagSpace,
    };
  }
}

/** The extended-const instructions by opcode. */
const EXTENDED_CONST_OPS: Record<number, 'i32.add' | 'i32.sub' | 'i32.mul' | 'i64.add' | 'i64.sub' | 'i64.mul'> = {
  0x6a: 'i32.add',
  0x6b: 'i32.sub',
  0x6c: 'i32.mul',
  0x7c: 'i64.add',
  0x7d: 'i64.sub',
  0x7e: 'i64.mul',
};
