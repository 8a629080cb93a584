/**
 * Mock modules (wazero's `wazerotest.Module`): a `Module` made of mock functions, globals, tables and
 * a memory, for unit-testing host functions without a guest. Exports are built lazily, once, on the
 * first access; closing stores the exit code once, and later calls fail with `ExitError`.
 */
import type { Context } from '../runtime/api/context.js';
import type { FunctionDefinition, Global, InternalModule, Memory, MemoryDefinition } from '../runtime/api/module.js';
import { MockFunctionImpl, type FunctionOwner, type MockFunction } from './function.js';
import { MockGlobalImpl, MockTableImpl, type MockGlobal, type MockTable } from './global.js';
import { attachMemory, type MockMemory } from './memory.js';

/** What a mock module is made of: functions, globals and tables (the memory is given apart). */
export type MockExtern = MockFunction | MockGlobal | MockTable;

/** A mock module: an {@link InternalModule} with access to its parts. */
export interface MockModule extends InternalModule {
  /** Sets the module name (wazero's `ModuleName` field) and returns the same module. */
  setName(name: string): MockModule;
  /** The exit code once closed, otherwise undefined (wazero's `ExitStatus`). */
  exitCode(): number | undefined;
  /** Number of functions, exported or not. */
  numFunction(): number;
  /** Function `i`, in the order given to `newModule`. @throws RangeError when out of range. */
  function(i: number): MockFunction;
  /** The table exported as `name`. */
  exportedTable(name: string): MockTable | undefined;
}

interface Exports {
  readonly functions: Map<string, MockFunctionImpl>;
  readonly globals: Map<string, MockGlobal>;
  readonly tables: Map<string, MockTable>;
}

class MockModuleImpl implements MockModule, FunctionOwner {
  moduleName = '';
  readonly #memory: MockMemory | undefined;
  readonly #functions: MockFunctionImpl[] = [];
  readonly #globals: MockGlobal[] = [];
  readonly #tables: MockTable[] = [];
  #exports: Exports | undefined;
  #exitCode: number | undefined;

  constructor(memory: MockMemory | undefined, items: readonly MockExtern[]) {
    this.#memory = memory;
    items.forEach((x, i) => {
      if (x instanceof MockFunctionImpl) this.#functions.push(x);
      else if (x instanceof MockGlobalImpl) this.#globals.push(x);
      else if (x instanceof MockTableImpl) this.#tables.push(x);
      else throw new TypeError(`newModule: argument ${i + 1} is not made by newFunction, newGlobal or newTable`);
    });
  }

  get api(): this {
    return this;
  }

  /** Builds the export maps and attaches the parts, once. */
  #init(): Exports {
    if (this.#exports !== undefined) return this.#exports;
    const functions = new Map<string, MockFunctionImpl>();
    this.#functions.forEach((f, i) => {
      f.owner = this;
      f.index = i;
      for (const n of f.exportNames) functions.set(n, f);
    });
    const globals = new Map<string, MockGlobal>();
    for (const g of this.#globals) for (const n of g.exportNames) globals.set(n, g);
    const tables = new Map<string, MockTable>();
    for (const t of this.#tables) for (const n of t.exportNames) tables.set(n, t);
    if (this.#memory !== undefined) attachMemory(this.#memory, this);
    this.#exports = { functions, globals, tables };
    return this.#exports;
  }

  setName(name: string): MockModule {
    this.moduleName = name;
    return this;
  }
  name(): string {
    return this.moduleName;
  }
  toString(): string {
    return `module[${this.moduleName}]`;
  }
  memory(): Memory | undefined {
    if (this.#memory === undefined) return undefined;
    this.#init();
    return this.#memory;
  }
  exportedFunction(name: string): MockFunction | undefined {
    return this.#init().functions.get(name);
  }
  exportedFunctionDefinitions(): Map<string, FunctionDefinition> {
    const out = new Map<string, FunctionDefinition>();
    for (const [n, f] of this.#init().functions) out.set(n, f.definition());
    return out;
  }
  exportedMemory(name: string): Memory | undefined {
    return name === 'memory' ? this.memory() : undefined;
  }
  exportedMemoryDefinitions(): Map<string, MemoryDefinition> {
    const m = this.memory();
    return m === undefined ? new Map() : new Map([['memory', m.definition()]]);
  }
  exportedGlobal(name: string): Global | undefined {
    return this.#init().globals.get(name);
  }
  exportedTable(name: string): MockTable | undefined {
    return this.#init().tables.get(name);
  }
  numGlobal(): number {
    return this.#globals.length;
  }
  global(i: number): Global {
    this.#init();
    const g = this.#globals[i];
    if (g === undefined) throw new RangeError(`global index ${i} out of range [0, ${this.#globals.length})`);
    return g;
  }
  numFunction(): number {
    return this.#functions.length;
  }
  function(i: number): MockFunction {
    this.#init();
    const f = this.#functions[i];
    if (f === undefined) throw new RangeError(`function index ${i} out of range [0, ${this.#functions.length})`);
    return f;
  }
  exitCode(): number | undefined {
    return this.#exitCode;
  }
  isClosed(): boolean {
    return this.#exitCode !== undefined;
  }
  close(ctx?: Context): Promise<void> {
    return this.closeWithExitCode(0, ctx);
  }
  closeWithExitCode(exitCode: number, _ctx?: Context): Promise<void> {
    // First close wins, as wazero's compare-and-swap of the exit status.
    this.#exitCode ??= exitCode >>> 0;
    return Promise.resolve();
  }
}

/**
 * A mock module with `memory` (exported as `memory`; pass `undefined` for none) and `parts`:
 * functions (exported under their export names), globals and tables. Exports are built on first
 * access, when each function learns its module and index.
 * @throws TypeError when a part was not made by `newFunction`, `newGlobal` or `newTable`.
 */
export function newModule(memory?: MockMemory, ...parts: MockExtern[]): MockModule {
  return new MockModuleImpl(memory, parts);
}
