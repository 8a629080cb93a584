/**
 * A module's state as checkpoints reach it: through the store's boundary (the public module object,
 * its engine instance's `moduleState`, the engines' memory, table and global objects), never an
 * engine's internals.
 */
import { createHash } from 'node:crypto';
import type { Module } from '../runtime/api/module.js';
import { declaredFunctionRefs, type Module as IrModule } from '../runtime/binary/module.js';
import type { EngineGlobal, EngineModuleState, EngineTable } from '../runtime/store/engine.js';
import { MemoryApi } from '../runtime/store/memory-api.js';
import { ModuleInstance } from '../runtime/store/module-instance.js';
import { CheckpointError } from './errors.js';

/** Which imported memories, tables and globals a checkpoint or restore includes: `module.name`s, or all. */
export type ImportSelection = readonly string[] | 'all';

/** An entry of an index space (memory, table or global) of the target. */
interface Entry {
  readonly index: number;
  /** `module.name` of an import. */
  readonly import: string | undefined;
}

/** A module instance's state, resolved. */
export interface Target {
  readonly mod: ModuleInstance;
  readonly state: EngineModuleState;
  readonly ir: IrModule;
  /** Hex sha256 of the module binary. */
  readonly sha256: string;
  readonly memories: ReadonlyArray<Entry & { readonly api: MemoryApi }>;
  readonly tables: ReadonlyArray<Entry & { readonly table: EngineTable }>;
  readonly globals: ReadonlyArray<Entry & { readonly global: EngineGlobal }>;
}

const hashes = new WeakMap<Uint8Array, string>();

/** Hex sha256 of `bytes` (cached per binary). */
export function sha256Of(bytes: Uint8Array): string {
  let h = hashes.get(bytes);
  if (h === undefined) {
    h = createHash('sha256').update(bytes).digest('hex');
    hashes.set(bytes, h);
  }
  return h;
}

/** The state of `mod`, every index space with its imports. */
export function targetOf(mod: Module, what: string): Target {
  if (!(mod instanceof ModuleInstance)) throw new CheckpointError('unsupported', `${what}: not a module of a wasmscope runtime`);
  if (mod.isClosed()) throw new CheckpointError('unsupported', `${what}: module[${mod.name()}] is closed`);
  const state = mod.engine.moduleState;
  if (state === undefined) throw new CheckpointError('unsupported', `${what}: module[${mod.name()}] is a host module, it has no state`);
  const ir = state.module;
  const importNames: Array<Array<string | undefined>> = [[], [], [], []];
  for (const imp of ir.imports) importNames[imp.desc.kind]!.push(`${imp.module}.${imp.name}`);
  const e = mod.engine;
  const memories = e.memories.map((m, index) => {
    if (!(m.api instanceof MemoryApi)) throw new Error('internal error: a memory without the store’s MemoryApi');
    return { index, import: importNames[2]![index], api: m.api };
  });
  const tables = e.tables.map((table, index) => ({ index, import: importNames[1]![index], table }));
  const globals = e.globals.map((global, index) => ({ index, import: importNames[3]![index], global }));
  return { mod, state, ir, sha256: sha256Of(ir.bytes), memories, tables, globals };
}

/** Whether import `name` is selected. */
export function selected(sel: ImportSelection | undefined, name: string): boolean {
  return sel === 'all' || (sel !== undefined && sel.includes(name));
}

/** The kind names of index spaces, for messages. */
export const KIND_NAMES = ['function', 'table', 'memory', 'global'] as const;

const referenceable = new WeakMap<IrModule, Uint8Array>();

/**
 * Whether function `index` of module `ir` can be a reference: an import, or a defined function in
 * the module's declared references (the only ones that can be in a table or a reference global).
 */
export function canReference(ir: IrModule, index: number): boolean {
  let r = referenceable.get(ir);
  if (r === undefined) {
    r = new Uint8Array(ir.funcTypeIndexSpace.length);
    r.fill(1, 0, ir.numImportedFuncs);
    for (const i of declaredFunctionRefs(ir)) r[i] = 1;
    referenceable.set(ir, r);
  }
  return r[index] === 1;
}
