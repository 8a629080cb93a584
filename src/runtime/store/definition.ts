/**
 * FunctionDefinition and MemoryDefinition implementations shared by both engines.
 */
import type { FunctionDefinition, MemoryDefinition } from '../api/module.js';
import type { ValueType } from '../api/value-type.js';
import { valueTypeName } from '../api/value-type.js';
import type { FuncType, FunctionBody, Module as IrModule } from '../binary/module.js';

export interface FunctionDefinitionInit {
  readonly moduleName: string;
  readonly index: number;
  readonly importName: [module: string, name: string] | undefined;
  readonly exportNames: readonly string[];
  readonly name: string;
  readonly type: FuncType;
  readonly paramNames: readonly string[];
  readonly resultNames: readonly string[];
  readonly hostFunction: unknown;
  /** The decoded module defining a wasm function (for its DWARF lines); undefined for host functions. */
  readonly module?: IrModule | undefined;
}

class FunctionDefinitionImpl implements FunctionDefinition {
  readonly #d: FunctionDefinitionInit;
  readonly #debugName: string;

  constructor(d: FunctionDefinitionInit) {
    this.#d = d;
    this.#debugName = d.name === '' ? `${d.moduleName}.$${d.index}` : `${d.moduleName}.${d.name}`;
  }
  moduleName(): string {
    return this.#d.moduleName;
  }
  index(): number {
    return this.#d.index;
  }
  import(): [module: string, name: string] | undefined {
    const i = this.#d.importName;
    return i === undefined ? undefined : [i[0], i[1]];
  }
  exportNames(): string[] {
    return [...this.#d.exportNames];
  }
  name(): string {
    return this.#d.name;
  }
  debugName(): string {
    return this.#debugName;
  }
  hostFunction(): unknown {
    return this.#d.hostFunction;
  }
  paramTypes(): ValueType[] {
    return this.#d.type.params.slice() as ValueType[];
  }
  paramNames(): string[] {
    return [...this.#d.paramNames];
  }
  resultTypes(): ValueType[] {
    return this.#d.type.results.slice() as ValueType[];
  }
  resultNames(): string[] {
    return [...this.#d.resultNames];
  }
  /** The signature without allocation (internal). */
  get type(): FuncType {
    return this.#d.type;
  }
  /** The decoded module defining this wasm function (internal); undefined for host functions. */
  get module(): IrModule | undefined {
    return this.#d.module;
  }
}

/**
 * The decoded module and the body of a wasm function defined in it, or undefined for host and
 * imported functions and for definitions not made by the store.
 */
export function definitionBody(def: FunctionDefinition): { module: IrModule; body: FunctionBody } | undefined {
  if (!(def instanceof FunctionDefinitionImpl)) return undefined;
  const m = def.module;
  if (m === undefined) return undefined;
  const body = m.codes[def.index() - m.numImportedFuncs];
  return body === undefined ? undefined : { module: m, body };
}

const defModules = new WeakMap<FunctionDefinition, IrModule>();

/**
 * The decoded module defining `def`, when `def` is a function defined by a compiled wasm module
 * (symbolisation and coverage look up its name section, DWARF and code offsets).
 */
export function definitionModule(def: FunctionDefinition): IrModule | undefined {
  return defModules.get(def);
}

export function newFunctionDefinition(init: FunctionDefinitionInit): FunctionDefinition {
  return new FunctionDefinitionImpl(init);
}

/**
 * Definitions of every function in a decoded module's index space (imports first), named from the
 * name section. `moduleName` is the name-section module name ('' when absent).
 */
export function moduleFunctionDefinitions(m: IrModule): FunctionDefinition[] {
  const moduleName = m.names?.moduleName ?? '';
  const exportNames = new Map<number, string[]>();
  for (const e of m.exports) {
    if (e.kind !== 0) continue;
    let list = exportNames.get(e.index);
    if (list === undefined) exportNames.set(e.index, (list = []));
    list.push(e.name);
  }
  const defs: FunctionDefinition[] = [];
  let fi = 0;
  for (const imp of m.imports) {
    if (imp.desc.kind !== 0) continue;
    defs.push(makeDef(m, moduleName, fi, [imp.module, imp.name], exportNames.get(fi) ?? []));
    fi++;
  }
  for (let i = 0; i < m.funcTypeIndices.length; i++, fi++) {
    const def = makeDef(m, moduleName, fi, undefined, exportNames.get(fi) ?? []);
    defModules.set(def, m);
    defs.push(def);
  }
  return defs;
}

function makeDef(
  m: IrModule,
  moduleName: string,
  index: number,
  importName: [string, string] | undefined,
  exports: readonly string[],
): FunctionDefinition {
  const type = m.types[m.funcTypeIndexSpace[index]!]!;
  const name = m.names?.functionNames.get(index) ?? '';
  const locals = m.names?.localNames.get(index);
  let paramNames: string[] = [];
  if (locals !== undefined && type.params.length > 0) {
    const names: string[] = [];
    for (let i = 0; i < type.params.length; i++) {
      const n = locals.get(i);
      if (n === undefined) break;
      names.push(n);
    }
    if (names.length === type.params.length) paramNames = names;
  }
  return newFunctionDefinition({
    moduleName,
    index,
    importName,
    exportNames: exports,
    name,
    type,
    paramNames,
    resultNames: [],
    hostFunction: undefined,
    module: importName === undefined ? m : undefined,
  });
}

/**
 * A frame line of a wasm stack trace: `module.function(i32,i64) (f32,f64)`, as wazero prints it.
 */
export function formatFrameSignature(def: FunctionDefinition): string {
  const params = def.paramTypes().map(valueTypeName).join(',');
  const results = def.resultTypes().map(valueTypeName);
  let s = `${def.debugName()}(${params})`;
  if (results.length === 1) s += ` ${results[0]}`;
  else if (results.length > 1) s += ` (${results.join(',')})`;
  return s;
}

class MemoryDefinitionImpl implements MemoryDefinition {
  constructor(
    readonly d: {
      moduleName: string;
      index: number;
      importName: [string, string] | undefined;
      exportNames: readonly string[];
      min: number;
      max: number | undefined;
      limitPages: number;
    },
  ) {}
  moduleName(): string {
    return this.d.moduleName;
  }
  index(): number {
    return this.d.index;
  }
  import(): [module: string, name: string] | undefined {
    return this.d.importName === undefined ? undefined : [this.d.importName[0], this.d.importName[1]];
  }
  exportNames(): string[] {
    return [...this.d.exportNames];
  }
  min(): number {
    return this.d.min;
  }
  max(): [max: number, encoded: boolean] {
    return this.d.max === undefined ? [this.d.limitPages, false] : [this.d.max, true];
  }
}

/** Definitions of every memory in a decoded module's index space. */
export function moduleMemoryDefinitions(m: IrModule, limitPages = 65536): MemoryDefinition[] {
  const moduleName = m.names?.moduleName ?? '';
  const defs: MemoryDefinition[] = [];
  let mi = 0;
  const exportsOf = (i: number): string[] => m.exports.filter((e) => e.kind === 2 && e.index === i).map((e) => e.name);
  for (const imp of m.imports) {
    if (imp.desc.kind !== 2) continue;
    const l = imp.desc.memory.limits;
    defs.push(
      new MemoryDefinitionImpl({
        moduleName,
        index: mi,
        importName: [imp.module, imp.name],
        exportNames: exportsOf(mi),
        min: l.min,
        max: l.max,
        limitPages,
      }),
    );
    mi++;
  }
  for (const mem of m.memories) {
    const l = mem.limits;
    defs.push(
      new MemoryDefinitionImpl({
        moduleName,
        index: mi,
        importName: undefined,
        exportNames: exportsOf(mi),
        min: l.min,
        max: l.max,
        limitPages,
      }),
    );
    mi++;
  }
  return defs;
}
