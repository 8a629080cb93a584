/**
 * Module validation (WebAssembly 1.0, 2.0, threads and tail calls): everything the spec checks after
 * decoding, module level here and function bodies in code.ts.
 *
 * @see https://webassembly.github.io/spec/core/valid/modules.html
 */
import { CompileError } from '../api/errors.js';
import {
  CoreFeatureBulkMemoryOperations,
  CoreFeatureMultiValue,
  CoreFeatureMutableGlobal,
  CoreFeatureReferenceTypes,
  CoreFeatureSIMD,
  CoreFeaturesExceptionHandling,
  CoreFeaturesExtendedConst,
  CoreFeaturesMultiMemory,
  CoreFeaturesThreads,
  coreFeatureName,
  type CoreFeatures,
} from '../api/features.js';
import { valueTypeName } from '../api/value-type.js';
import { declaredFunctionRefs, type ConstExpr, type Limits, type Module } from '../binary/module.js';
import { CodeValidator, type CodeContext, type FunctionValidationInfo } from './code.js';
import { EXNREF, EXTERNREF, F32, F64, FUNCREF, I32, I64, V128 } from '../api/value-type.js';

export type { FunctionValidationInfo } from './code.js';

/** What validation learned about a module that engines need. */
export interface ValidationInfo {
  /** One entry per defined function (function section order; add `numImportedFuncs` for its index). */
  readonly functions: readonly FunctionValidationInfo[];
  /**
   * The module's declared function references (the spec's C.refs): function indices that appear in
   * element segments, exports or constant expressions. Only these may be the operand of `ref.func`
   * inside a function body.
   */
  readonly declaredFunctionRefs: ReadonlySet<number>;
}

/** Memory pages addressable by a 32-bit memory. */
const MAX_PAGES = 65536;
/** Memory pages addressable by a 64-bit memory (memory64). */
const MAX_PAGES_64 = 2 ** 48;

/** Shared per process: validation is synchronous, so one instance's scratch stacks serve every call. */
let sharedCodeValidator: CodeValidator | undefined;

/**
 * Validates a decoded module against the enabled features.
 *
 * @param m - the decoded module (see decoder.ts).
 * @param features - the enabled core features; instructions and types of disabled features are rejected.
 * @returns per-function facts for engines (stack heights) and the declared function references.
 * @throws CompileError with kind `invalid` for validation errors (spec texts such as `type mismatch`),
 *   or `malformed` for byte-level problems found while walking bodies (e.g. `illegal opcode`). Errors
 *   in bodies carry section `code`, the function index (imports first) and the instruction's offset.
 */
export function validateModule(m: Module, features: CoreFeatures): ValidationInfo {
  const v = new ModuleValidator(m, features);
  v.validateTypes();
  v.validateImports();
  v.validateFunctions();
  v.validateTables();
  v.validateMemories();
  v.validateTags();
  v.validateGlobals();
  const refs = v.collectDeclaredRefs();
  v.validateExports();
  v.validateStart();
  v.validateElements();
  v.validateDatas();

  const declared = new Uint8Array(m.funcTypeIndexSpace.length);
  for (const idx of refs) declared[idx] = 1;
  const ctx: CodeContext = { module: m, features, declaredRefs: declared };
  const cv = (sharedCodeValidator ??= new CodeValidator());
  const functions: FunctionValidationInfo[] = new Array<FunctionValidationInfo>(m.codes.length);
  try {
    for (let i = 0; i < m.codes.length; i++) functions[i] = cv.validate(ctx, i);
  } finally {
    cv.release();
  }
  return { functions, declaredFunctionRefs: refs };
}

class ModuleValidator {
  constructor(
    private readonly m: Module,
    private readonly features: CoreFeatures,
  ) {}

  private has(bit: CoreFeatures): boolean {
    return (this.features & bit) !== 0;
  }

  private invalid(reason: string, section: string, offset?: number): never {
    throw new CompileError(reason, offset === undefined ? { section } : { section, offset }, 'invalid');
  }

  private malformed(reason: string, section: string, offset?: number): never {
    throw new CompileError(reason, offset === undefined ? { section } : { section, offset }, 'malformed');
  }

  private needFeature(bit: CoreFeatures, what: string, section: string, offset?: number): void {
    if (!this.has(bit)) this.invalid(`${what} requires feature ${coreFeatureName(bit)}`, section, offset);
  }

  private valType(t: number, section: string, offset?: number): void {
    switch (t) {
      case I32:
      case I64:
      case F32:
      case F64:
        return;
      case V128:
        this.needFeature(CoreFeatureSIMD, 'v128', section, offset);
        return;
      case FUNCREF:
      case EXTERNREF:
        this.needFeature(CoreFeatureReferenceTypes, valueTypeName(t), section, offset);
        return;
      case EXNREF:
        this.needFeature(CoreFeaturesExceptionHandling, 'exnref', section, offset);
        return;
      default:
        this.malformed('invalid value type', section, offset);
    }
  }

  private refType(t: number, section: string, offset?: number): void {
    if (t === FUNCREF) return;
    if (t === EXTERNREF) {
      this.needFeature(CoreFeatureReferenceTypes, 'externref', section, offset);
      return;
    }
    if (t === EXNREF) {
      this.needFeature(CoreFeaturesExceptionHandling, 'exnref', section, offset);
      return;
    }
    this.malformed('malformed reference type', section, offset);
  }

  /** A tag's type: a known function type without results. */
  private tagType(typeIndex: number, section: string, offset?: number): void {
    const ft = this.m.types[typeIndex];
    if (ft === undefined) this.invalid(`unknown type ${typeIndex}`, section, offset);
    if (ft.results.length !== 0) this.invalid('non-empty tag result type', section, offset);
  }

  private limits(l: Limits, bound: number, tooLarge: string, section: string, offset?: number): void {
    if (l.min > bound) this.invalid(tooLarge, section, offset);
    if (l.max !== undefined) {
      if (l.max > bound) this.invalid(tooLarge, section, offset);
      if (l.min > l.max) this.invalid('size minimum must not be greater than maximum', section, offset);
    }
  }

  private memoryLimits(l: Limits, section: string, offset?: number): void {
    if (l.is64 === true) this.limits(l, MAX_PAGES_64, 'memory size must be at most 2^48 pages', section, offset);
    else this.limits(l, MAX_PAGES, `memory size must be at most ${MAX_PAGES} pages (4GiB)`, section, offset);
    if (l.shared) {
      this.needFeature(CoreFeaturesThreads, 'shared memory', section, offset);
      if (l.max === undefined) this.invalid('shared memory must have maximum', section, offset);
    }
  }

  private tableLimits(l: Limits, section: string, offset?: number): void {
    if (l.is64 === true) this.limits(l, 2 ** 64, 'table size must be at most 2^64-1', section, offset);
    else this.limits(l, 0xffffffff, 'table size must be at most 2^32-1', section, offset);
  }

  validateTypes(): void {
    for (const ft of this.m.types) {
      for (const t of ft.params) this.valType(t, 'type');
      for (const t of ft.results) this.valType(t, 'type');
      if (ft.results.length > 1 && !this.has(CoreFeatureMultiValue)) {
        this.invalid(`invalid result arity: multiple results require feature ${coreFeatureName(CoreFeatureMultiValue)}`, 'type');
      }
    }
  }

  validateImports(): void {
    const m = this.m;
    for (const imp of m.imports) {
      const d = imp.desc;
      switch (d.kind) {
        case 0:
          if (d.typeIndex >= m.types.length) this.invalid(`unknown type ${d.typeIndex}`, 'import', imp.offset);
          break;
        case 1:
          this.refType(d.table.elemType, 'import', imp.offset);
          this.tableLimits(d.table.limits, 'import', imp.offset);
          break;
        case 2:
          this.memoryLimits(d.memory.limits, 'import', imp.offset);
          break;
        case 3:
          this.valType(d.global.valType, 'import', imp.offset);
          if (d.global.mutable) this.needFeature(CoreFeatureMutableGlobal, 'importing a mutable global', 'import', imp.offset);
          break;
        case 4:
          this.tagType(d.tag.typeIndex, 'import', imp.offset);
          break;
      }
    }
  }

  validateFunctions(): void {
    const m = this.m;
    for (const ti of m.funcTypeIndices) if (ti >= m.types.length) this.invalid(`unknown type ${ti}`, 'function');
    if (m.codes.length !== m.funcTypeIndices.length) {
      this.malformed('function and code section have inconsistent lengths', 'code');
    }
  }

  validateTables(): void {
    const m = this.m;
    for (const t of m.tables) {
      this.refType(t.elemType, 'table');
      this.tableLimits(t.limits, 'table');
    }
    if (m.tableSpace.length > 1 && !this.has(CoreFeatureReferenceTypes)) this.invalid('multiple tables', 'table');
  }

  validateMemories(): void {
    const m = this.m;
    for (const mem of m.memories) this.memoryLimits(mem.limits, 'memory');
    if (m.memorySpace.length > 1 && !this.has(CoreFeaturesMultiMemory)) this.invalid('multiple memories', 'memory');
  }

  validateTags(): void {
    for (const t of this.m.tags) this.tagType(t.typeIndex, 'tag');
  }

  validateGlobals(): void {
    const m = this.m;
    // Constant expressions may only read imported globals (spec 2.0: context C'); WebAssembly 3.0
    // lets a global's initializer read the globals before it too (here with extended constants).
    const later = this.has(CoreFeaturesExtendedConst);
    m.globals.forEach((g, i) => {
      this.valType(g.type.valType, 'global', g.offset);
      this.constExpr(g.init, g.type.valType, 'global', later ? m.numImportedGlobals + i : m.numImportedGlobals);
    });
  }

  /** Function indices referenced outside function bodies: the spec's C.refs. */
  collectDeclaredRefs(): Set<number> {
    return declaredFunctionRefs(this.m);
  }

  validateExports(): void {
    const m = this.m;
    const names = new Set<string>();
    for (const ex of m.exports) {
      if (names.has(ex.name)) this.invalid(`duplicate export name ${JSON.stringify(ex.name)}`, 'export', ex.offset);
      names.add(ex.name);
      switch (ex.kind) {
        case 0:
          if (ex.index >= m.funcTypeIndexSpace.length) this.invalid(`unknown function ${ex.index}`, 'export', ex.offset);
          break;
        case 1:
          if (ex.index >= m.tableSpace.length) this.invalid(`unknown table ${ex.index}`, 'export', ex.offset);
          break;
        case 2:
          if (ex.index >= m.memorySpace.length) this.invalid(`unknown memory ${ex.index}`, 'export', ex.offset);
          break;
        case 3: {
          const g = m.globalSpace[ex.index];
          if (g === undefined) this.invalid(`unknown global ${ex.index}`, 'export', ex.offset);
          if (g.mutable) this.needFeature(CoreFeatureMutableGlobal, 'exporting a mutable global', 'export', ex.offset);
          break;
        }
        case 4:
          if (ex.index >= m.tagSpace.length) this.invalid(`unknown tag ${ex.index}`, 'export', ex.offset);
          break;
      }
    }
  }

  validateStart(): void {
    const m = this.m;
    const s = m.startFunction;
    if (s === undefined) return;
    const ti = m.funcTypeIndexSpace[s];
    if (ti === undefined) this.invalid(`unknown function ${s}`, 'start');
    const ft = m.types[ti]!;
    if (ft.params.length !== 0 || ft.results.length !== 0) this.invalid('start function must have type [] -> []', 'start');
  }

  validateElements(): void {
    const m = this.m;
    for (const e of m.elements) {
      this.refType(e.elemType, 'element', e.offset);
      if (e.mode !== 'active') {
        // Passive and declarative segments came with bulk memory and reference types.
        if (!this.has(CoreFeatureBulkMemoryOperations) && !this.has(CoreFeatureReferenceTypes)) {
          this.invalid(
            `${e.mode} element segment requires feature ${coreFeatureName(CoreFeatureBulkMemoryOperations)}`,
            'element',
            e.offset,
          );
        }
      }
      if (e.mode === 'active') {
        const t = m.tableSpace[e.tableIndex];
        if (t === undefined) this.invalid(`unknown table ${e.tableIndex}`, 'element', e.offset);
        if (t.elemType !== e.elemType) {
          this.invalid(
            `type mismatch: element segment of ${valueTypeName(e.elemType)} for a table of ${valueTypeName(t.elemType)}`,
            'element',
            e.offset,
          );
        }
        if (e.offsetExpr === undefined) this.malformed('missing offset expression', 'element', e.offset);
        this.constExpr(e.offsetExpr, t.limits.is64 === true ? I64 : I32, 'element', this.segmentGlobals());
      }
      for (const init of e.init) this.constExpr(init, e.elemType, 'element', this.segmentGlobals());
    }
  }

  validateDatas(): void {
    const m = this.m;
    if (m.dataCount !== undefined && m.dataCount !== m.datas.length) {
      this.malformed('data count and data section have inconsistent lengths', 'data');
    }
    for (const d of m.datas) {
      if (d.mode !== 'active') {
        this.needFeature(CoreFeatureBulkMemoryOperations, 'passive data segment', 'data', d.offset);
        continue;
      }
      const mem = m.memorySpace[d.memoryIndex];
      if (mem === undefined) this.invalid(`unknown memory ${d.memoryIndex}`, 'data', d.offset);
      if (d.offsetExpr === undefined) this.malformed('missing offset expression', 'data', d.offset);
      this.constExpr(d.offsetExpr, mem.limits.is64 === true ? I64 : I32, 'data', this.segmentGlobals());
    }
  }

  /** How many globals a segment's constant expressions may read (3.0: all of them). */
  private segmentGlobals(): number {
    return this.has(CoreFeaturesExtendedConst) ? this.m.globalSpace.length : this.m.numImportedGlobals;
  }

  /**
   * Checks a constant expression produces exactly one `expected`. `visibleGlobals` is how many globals
   * `global.get` may name (in 2.0, the imported ones, for every constant expression). Extended
   * constants (`i32`/`i64` `add`, `sub`, `mul`) are typed on a small stack.
   */
  private constExpr(e: ConstExpr, expected: number, section: string, visibleGlobals: number): void {
    const m = this.m;
    const stack: number[] = [];
    for (const ins of e.instrs) {
      switch (ins.op) {
        case 'i32.const':
          stack.push(I32);
          break;
        case 'i64.const':
          stack.push(I64);
          break;
        case 'f32.const':
          stack.push(F32);
          break;
        case 'f64.const':
          stack.push(F64);
          break;
        case 'v128.const':
          this.needFeature(CoreFeatureSIMD, 'v128.const', section, e.offset);
          stack.push(V128);
          break;
        case 'ref.null':
          this.needFeature(CoreFeatureReferenceTypes, 'ref.null', section, e.offset);
          this.refType(ins.refType, section, e.offset);
          stack.push(ins.refType);
          break;
        case 'ref.func':
          // Element segments listed function indices before reference types: as ref.func here.
          if (section !== 'element') this.needFeature(CoreFeatureReferenceTypes, 'ref.func', section, e.offset);
          if (ins.funcIndex >= m.funcTypeIndexSpace.length) this.invalid(`unknown function ${ins.funcIndex}`, section, e.offset);
          stack.push(FUNCREF);
          break;
        case 'global.get': {
          const g = ins.globalIndex < visibleGlobals ? m.globalSpace[ins.globalIndex] : undefined;
          if (g === undefined) this.invalid(`unknown global ${ins.globalIndex}`, section, e.offset);
          if (g.mutable) this.invalid('constant expression required: global.get of a mutable global', section, e.offset);
          stack.push(g.valType);
          break;
        }
        case 'i32.add':
        case 'i32.sub':
        case 'i32.mul':
        case 'i64.add':
        case 'i64.sub':
        case 'i64.mul': {
          const t = ins.op.startsWith('i32') ? I32 : I64;
          const b = stack.pop();
          const a = stack.pop();
          if (a !== t || b !== t) {
            this.invalid(`type mismatch: ${ins.op} in a constant expression needs two ${valueTypeName(t)}`, section, e.offset);
          }
          stack.push(t);
          break;
        }
        case 'other':
          this.invalid('constant expression required', section, e.offset);
      }
    }
    if (stack.length !== 1 || stack[0] !== expected) {
      const found = stack.length === 1 ? valueTypeName(stack[0]!) : `${stack.length} values`;
      this.invalid(`type mismatch: constant expression must be ${valueTypeName(expected)}, found ${found}`, section, e.offset);
    }
  }
}
