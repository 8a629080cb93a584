/**
 * CompiledModule: a decoded, validated and engine-prepared module (or a host module definition),
 * ready for any number of instantiations.
 */
import type { Context } from '../api/context.js';
import type { CustomSection, FunctionDefinition, MemoryDefinition } from '../api/module.js';
import type { Module as IrModule } from '../binary/module.js';
import { formatFrameSignature, moduleFunctionDefinitions, moduleMemoryDefinitions } from './definition.js';
import { describeImport } from './link.js';
import type { CompiledCode, HostFunctionSpec } from './engine.js';
import type { TagInst } from './tags.js';

/** A decoded, validated and compiled module (or a host module), ready for any number of instantiations (`Runtime.instantiateModule`). */
export interface CompiledModule {
  /** The name-section module name (`""` when it has none). */
  name(): string;
  /** The definitions of the imported functions, in import order. */
  importedFunctions(): FunctionDefinition[];
  /** The definitions of the exported functions, by export name. */
  exportedFunctions(): Map<string, FunctionDefinition>;
  /** The definitions of the imported memories. */
  importedMemories(): MemoryDefinition[];
  /** The definitions of the exported memories, by export name. */
  exportedMemories(): Map<string, MemoryDefinition>;
  /** The custom sections, kept only with `RuntimeConfig.withCustomSections(true)`. */
  customSections(): CustomSection[];
  /** Releases the compiled code; instances made from it keep running. */
  close(ctx?: Context): Promise<void>;
}

export type CompiledBody =
  | {
      readonly kind: 'wasm';
      readonly ir: IrModule;
      readonly code: CompiledCode;
      /** Compiled with dirty-page tracking (`withDirtyPageTracking`). */
      readonly dirtyPages?: boolean;
    }
  | {
      readonly kind: 'host';
      /** Tags the host module exports (exception handling). */
      readonly tags?: ReadonlyArray<{ readonly exportName: string; readonly tag: TagInst }>;
      readonly moduleName: string;
      readonly functions: ReadonlyArray<{ readonly exportName: string; readonly spec: HostFunctionSpec }>;
    };

export class CompiledModuleImpl implements CompiledModule {
  readonly body: CompiledBody;
  readonly #keepCustomSections: boolean;
  readonly #memoryLimitPages: number;
  #funcDefs: FunctionDefinition[] | undefined;
  #closed = false;

  constructor(body: CompiledBody, keepCustomSections: boolean, memoryLimitPages: number) {
    this.body = body;
    this.#keepCustomSections = keepCustomSections;
    this.#memoryLimitPages = memoryLimitPages;
  }

  /** What `console.log(compiled)` prints: the name, the imports and the exported functions. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const imports =
      this.body.kind === 'wasm' ? this.body.ir.imports.map((i) => describeImport(i, (this.body as { ir: IrModule }).ir.types)) : [];
    const exports = [...this.exportedFunctions()].map(([n, d]) => `${n}${formatFrameSignature(d).slice(d.debugName().length)}`);
    const lines = [...imports.map((i) => `import ${i}`), ...exports.map((e) => `export ${e}`)];
    return `CompiledModule[${this.name()}] {${lines.length === 0 ? '' : `\n${lines.map((l) => `  ${l}`).join('\n')}\n`}}`;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Definitions of the function index space (imports first). */
  functionDefinitions(): FunctionDefinition[] {
    if (this.#funcDefs === undefined) {
      this.#funcDefs =
        this.body.kind === 'wasm' ? moduleFunctionDefinitions(this.body.ir) : this.body.functions.map((f) => f.spec.definition);
    }
    return this.#funcDefs;
  }

  name(): string {
    return this.body.kind === 'wasm' ? (this.body.ir.names?.moduleName ?? '') : this.body.moduleName;
  }

  importedFunctions(): FunctionDefinition[] {
    return this.functionDefinitions().filter((d) => d.import() !== undefined);
  }

  exportedFunctions(): Map<string, FunctionDefinition> {
    const out = new Map<string, FunctionDefinition>();
    const defs = this.functionDefinitions();
    if (this.body.kind === 'host') {
      this.body.functions.forEach((f, i) => out.set(f.exportName, defs[i]!));
      return out;
    }
    for (const e of this.body.ir.exports) if (e.kind === 0) out.set(e.name, defs[e.index]!);
    return out;
  }

  importedMemories(): MemoryDefinition[] {
    if (this.body.kind === 'host') return [];
    return moduleMemoryDefinitions(this.body.ir, this.#memoryLimitPages).filter((d) => d.import() !== undefined);
  }

  exportedMemories(): Map<string, MemoryDefinition> {
    const out = new Map<string, MemoryDefinition>();
    if (this.body.kind === 'host') return out;
    const defs = moduleMemoryDefinitions(this.body.ir, this.#memoryLimitPages);
    for (const e of this.body.ir.exports) if (e.kind === 2) out.set(e.name, defs[e.index]!);
    return out;
  }

  customSections(): CustomSection[] {
    if (this.body.kind === 'host' || !this.#keepCustomSections) return [];
    return this.body.ir.customSections.map((c) => ({ name: () => c.name, data: () => c.data }));
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
