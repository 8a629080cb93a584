/**
 * The decoded module: plain data produced by the decoder (decoder.ts), checked by the validator
 * (../validate) and consumed by both engines. Function bodies are not decoded into instructions
 * here: a body keeps the byte range of its code inside `Module.bytes`, and each consumer (validator,
 * interpreter lowering, compiler instrumentation) walks those bytes with the immediate kinds and the
 * instruction walker of instr.ts.
 * Byte offsets are absolute offsets into `Module.bytes`; they are the program counters of the toolkit.
 */

/** Section ids, by their binary encoding. */
export const SectionId = {
  Custom: 0,
  Type: 1,
  Import: 2,
  Function: 3,
  Table: 4,
  Memory: 5,
  Global: 6,
  Export: 7,
  Start: 8,
  Element: 9,
  Code: 10,
  Data: 11,
  DataCount: 12,
  Tag: 13,
} as const;
export type SectionId = (typeof SectionId)[keyof typeof SectionId];

/** A value type byte (see `ValueType` in ../api/value-type.ts). */
export type ValType = number;

export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

export interface Limits {
  /** Minimum, in pages (memory) or elements (table). Up to 2^32 - 1 (2^64 - 1 when `is64`, exact to 2^53). */
  readonly min: number;
  /** Maximum, or `undefined` when absent. */
  readonly max: number | undefined;
  /** Shared memory (threads). Always false for tables. */
  readonly shared: boolean;
  /** A 64-bit memory or table (memory64): `i64` addresses and indices. */
  readonly is64?: boolean;
}

export interface TableType {
  /** `funcref` (0x70), `externref` (0x6f) or `exnref` (0x69). */
  readonly elemType: ValType;
  readonly limits: Limits;
}

export interface MemoryType {
  readonly limits: Limits;
}

export interface GlobalType {
  readonly valType: ValType;
  readonly mutable: boolean;
}

/** An exception tag's type (exception handling): a function type without results, by index. */
export interface TagType {
  readonly typeIndex: number;
}

export type ImportDesc =
  | { readonly kind: 0; readonly typeIndex: number }
  | { readonly kind: 1; readonly table: TableType }
  | { readonly kind: 2; readonly memory: MemoryType }
  | { readonly kind: 3; readonly global: GlobalType }
  | { readonly kind: 4; readonly tag: TagType };

export interface Import {
  readonly module: string;
  readonly name: string;
  readonly desc: ImportDesc;
  /** Byte offset of this import entry. */
  readonly offset: number;
}

export interface Export {
  readonly name: string;
  /** 0 func, 1 table, 2 memory, 3 global, 4 tag. */
  readonly kind: 0 | 1 | 2 | 3 | 4;
  readonly index: number;
  readonly offset: number;
}

/**
 * One instruction of a constant expression. WebAssembly 2.0 allows `t.const`, `ref.null`, `ref.func`
 * and `global.get`; extended-const adds `i32`/`i64` `add`, `sub` and `mul`. The decoder records any
 * other instruction as `{ op: 'other' }` so the validator can report "constant expression required".
 */
export type ConstInstr =
  | { readonly op: 'i32.const'; readonly value: number }
  | { readonly op: 'i64.const'; readonly value: bigint }
  /** Raw IEEE bits. */
  | { readonly op: 'f32.const'; readonly bits: number }
  /** Raw IEEE bits as an unsigned 64-bit bigint. */
  | { readonly op: 'f64.const'; readonly bits: bigint }
  /** 16 bytes. */
  | { readonly op: 'v128.const'; readonly bytes: Uint8Array }
  | { readonly op: 'ref.null'; readonly refType: ValType }
  | { readonly op: 'ref.func'; readonly funcIndex: number }
  | { readonly op: 'global.get'; readonly globalIndex: number }
  /** Extended constants: pops two values of the type, pushes the result. */
  | { readonly op: 'i32.add' | 'i32.sub' | 'i32.mul' | 'i64.add' | 'i64.sub' | 'i64.mul' }
  | { readonly op: 'other'; readonly opcode: number };

export interface ConstExpr {
  readonly instrs: readonly ConstInstr[];
  /** Byte offset of the first instruction. */
  readonly offset: number;
}

export interface Global {
  readonly type: GlobalType;
  readonly init: ConstExpr;
  readonly offset: number;
}

/** A run of locals of one type, as encoded: `count` locals of `type`. */
export interface LocalGroup {
  readonly count: number;
  readonly type: ValType;
}

export interface FunctionBody {
  /** Local declarations (not including parameters), as encoded. */
  readonly locals: readonly LocalGroup[];
  /** Total number of declared locals (sum of the groups' counts). */
  readonly numLocals: number;
  /** Offset of the body's size LEB (start of the code entry). */
  readonly entryOffset: number;
  /** Offset of the first instruction (after the local declarations). */
  readonly codeStart: number;
  /** Offset one past the final `end` opcode. */
  readonly codeEnd: number;
}

export type ElementMode = 'active' | 'passive' | 'declarative';

export interface ElementSegment {
  readonly mode: ElementMode;
  /** Table index (active only; 0 otherwise). */
  readonly tableIndex: number;
  /** Offset expression (active only). */
  readonly offsetExpr: ConstExpr | undefined;
  /** `funcref` or `externref`. */
  readonly elemType: ValType;
  /** One constant expression per element (function-index encodings become `ref.func`). */
  readonly init: readonly ConstExpr[];
  readonly offset: number;
}

export type DataMode = 'active' | 'passive';

export interface DataSegment {
  readonly mode: DataMode;
  readonly memoryIndex: number;
  readonly offsetExpr: ConstExpr | undefined;
  /** A view into `Module.bytes`. */
  readonly init: Uint8Array;
  readonly offset: number;
}

export interface CustomSection {
  readonly name: string;
  /** The section's payload after its name (a view into `Module.bytes`). */
  readonly data: Uint8Array;
  /** Byte offset of the payload. */
  readonly offset: number;
}

export interface NameSection {
  readonly moduleName: string | undefined;
  readonly functionNames: ReadonlyMap<number, string>;
  readonly localNames: ReadonlyMap<number, ReadonlyMap<number, string>>;
}

/** Byte range of a section's contents (after the id and size). */
export interface SectionRange {
  readonly id: number;
  readonly start: number;
  readonly end: number;
}

export interface Module {
  /** The original binary. All offsets point into it. */
  readonly bytes: Uint8Array;
  readonly types: readonly FuncType[];
  readonly imports: readonly Import[];
  /** Type index of each locally defined function (function section). */
  readonly funcTypeIndices: readonly number[];
  readonly tables: readonly TableType[];
  readonly memories: readonly MemoryType[];
  /** Defined tags (tag section, exception handling). */
  readonly tags: readonly TagType[];
  readonly globals: readonly Global[];
  readonly exports: readonly Export[];
  readonly startFunction: number | undefined;
  readonly elements: readonly ElementSegment[];
  /** Value of the data count section, when present. */
  readonly dataCount: number | undefined;
  readonly codes: readonly FunctionBody[];
  readonly datas: readonly DataSegment[];
  readonly customSections: readonly CustomSection[];
  /** Parsed `name` custom section, when present and well formed. */
  readonly names: NameSection | undefined;
  /** Offset of the code section's contents (the base of DWARF and `sourceOffsetForPC` offsets). */
  readonly codeSectionStart: number;
  /** Every known section in order of appearance. */
  readonly sections: readonly SectionRange[];

  // Index spaces, imports first (derived by the decoder).
  readonly numImportedFuncs: number;
  readonly numImportedTables: number;
  readonly numImportedMemories: number;
  readonly numImportedGlobals: number;
  readonly numImportedTags: number;
  /** Type index of every function in the function index space. */
  readonly funcTypeIndexSpace: readonly number[];
  /** Every table in the table index space. */
  readonly tableSpace: readonly TableType[];
  /** Every memory in the memory index space. */
  readonly memorySpace: readonly MemoryType[];
  /** Every global's type in the global index space. */
  readonly globalSpace: readonly GlobalType[];
  /** Every tag in the tag index space. */
  readonly tagSpace: readonly TagType[];
}

/** The type of function `funcIndex` (imports first), or undefined when out of range. */
export function funcTypeOf(m: Module, funcIndex: number): FuncType | undefined {
  const typeIndex = m.funcTypeIndexSpace[funcIndex];
  return typeIndex === undefined ? undefined : m.types[typeIndex];
}

/**
 * The module's declared function references (the spec's C.refs): the functions named by `ref.func`
 * in constant expressions (globals, element and data segments) and the exported functions. Only
 * these can become references to one of the module's functions (`ref.func` in a body needs one).
 */
export function declaredFunctionRefs(m: Module): Set<number> {
  const refs = new Set<number>();
  const scan = (e: ConstExpr | undefined): void => {
    if (e === undefined) return;
    for (const ins of e.instrs) if (ins.op === 'ref.func') refs.add(ins.funcIndex);
  };
  for (const g of m.globals) scan(g.init);
  for (const e of m.elements) {
    scan(e.offsetExpr);
    for (const init of e.init) scan(init);
  }
  for (const d of m.datas) scan(d.offsetExpr);
  for (const ex of m.exports) if (ex.kind === 0) refs.add(ex.index);
  return refs;
}
