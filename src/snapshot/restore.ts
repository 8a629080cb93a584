/**
 * Restoring a checkpoint into a module instance: the same instance, or a fresh one of the same module
 * (on either engine). Every check runs before anything is written, so a refused restore changes
 * nothing.
 */
import { EXTERNREF, FUNCREF, V128, valueTypeName, type ValueType } from '../runtime/api/value-type.js';
import type { Module } from '../runtime/api/module.js';
import { NULL_ELEMENT, RAW_ELEMENT, type StateValue, type TableElements } from '../runtime/store/engine.js';
import { MAX_TABLE_ELEMENTS } from '../runtime/store/instantiate.js';
import { checkChain, checkpointFromBytes, implOf, type Checkpoint } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import { PAGE, SAVED_HOST, SAVED_NULL, pageOf, type ReferenceCodec, type SavedValue } from './model.js';
import { candidatePages } from './pages.js';
import { canReference, selected, targetOf, type ImportSelection } from './target.js';

/** Options of {@link restore}. */
export interface RestoreOptions {
  /** The base of a delta given as bytes (see `Checkpoint.fromBytes`). */
  readonly base?: Checkpoint;
  /**
   * Imported memories, tables and globals the checkpoint includes that may be written, as
   * `module.name` (or `'all'`): they are state of another module too.
   */
  readonly imports?: ImportSelection;
  /** Decodes the host references the checkpoint holds (the codec it was taken with). */
  readonly references?: ReferenceCodec;
  /**
   * Restore into a memory or table that grew since the checkpoint: the pages past the checkpoint's
   * size are zeroed and the elements past it set to null, and they stay (neither can shrink).
   * Without it such a restore is refused.
   */
  readonly keepGrown?: boolean;
}

/** A write planned once every check passed. */
type Step = () => void;

/**
 * Restores `cp` into `mod`: memories (size and bytes), tables, globals and dropped segments take
 * the checkpoint's state. `mod` is the instance the checkpoint was taken from or any other instance
 * of the same module binary, on either engine.
 *
 * Note: a memory or table cannot shrink and a dropped segment cannot come back, so a restore into an
 * instance whose memory or table grew since (see {@link RestoreOptions.keepGrown}) or that dropped a
 * segment the checkpoint still has is refused: restore into a fresh instance instead. Immutable
 * globals are fixed at instantiation: one that differs (its initial value read an imported global
 * that differs) is refused too.
 * @param cp - a checkpoint, or its bytes (a delta's with `options.base`).
 * @throws CheckpointError before anything is written: `module-mismatch` for another module's
 *   checkpoint; `corrupt` for bytes that are not a valid checkpoint or do not fit the module;
 *   `base` for a delta without its base; `import` for imported state not named in
 *   `options.imports`; `reference` for host references without `options.references`;
 *   `incompatible` as in the note above.
 */
export function restore(mod: Module, cp: Checkpoint | Uint8Array, options: RestoreOptions = {}): void {
  const what = 'restore';
  const c = cp instanceof Uint8Array ? implOf(checkpointFromBytes(cp, { base: options.base }), what) : implOf(cp, what);
  checkChain(c, what);
  const t = targetOf(mod, what);
  if (c.moduleSha256 !== t.sha256) {
    throw new CheckpointError(
      'module-mismatch',
      `${what}: the checkpoint is of module ${c.moduleSha256.slice(0, 12)}…, module[${t.mod.name()}] is ${t.sha256.slice(0, 12)}…`,
    );
  }
  const d = c.data;
  const corrupt = (msg: string): never => {
    throw new CheckpointError('corrupt', `${what}: the checkpoint does not fit the module: ${msg}`);
  };
  const incompatible = (msg: string): never => {
    throw new CheckpointError('incompatible', `${what}: ${msg}`);
  };
  for (const name of d.imports) {
    if (!selected(options.imports, name)) {
      throw new CheckpointError(
        'import',
        `${what}: the checkpoint includes imported ${name}, state of another module too: name it in options.imports to restore it`,
      );
    }
  }
  const isImport = (name: string | undefined, kind: string, index: number): void => {
    if (name !== undefined && !d.imports.includes(name)) corrupt(`${kind} ${index} is the import ${name}, which it does not list`);
  };
  const codec = options.references;
  const decode = (bytes: Uint8Array, type: number, where: string): bigint => {
    if (codec === undefined) {
      throw new CheckpointError(
        'reference',
        `${what}: ${where} is a host reference: give options.references (the codec it was taken with)`,
      );
    }
    return codec.decode(bytes, type as ValueType);
  };
  const keepGrown = options.keepGrown === true;
  const steps: Step[] = [];
  const afterMemory: Step[] = [];

  // Memories: size first (grow), then the pages.
  const chain = c.chain();
  for (const m of d.memories) {
    const e = t.memories[m.index] ?? corrupt(`no memory ${m.index}`);
    isImport(e.import, 'memory', m.index);
    const api = e.api;
    const now = api.pages();
    if (now > m.pages && !keepGrown) {
      incompatible(
        `memory ${m.index} grew to ${now} pages since the checkpoint (${m.pages}) and cannot shrink: restore into a fresh instance, or pass keepGrown to zero the pages past it`,
      );
    }
    if (m.pages > api.maxPages)
      incompatible(`memory ${m.index} cannot grow to the checkpoint's ${m.pages} pages (its limit is ${api.maxPages})`);
    const candidates = candidatePages(api, m.index, c, Math.min(now, m.pages));
    steps.push(() => {
      if (m.pages > now && api.grow(m.pages - now) === undefined) {
        throw new Error(`${what}: memory ${m.index} could not grow to ${m.pages} pages (out of memory?)`);
      }
      const u8 = api.u8;
      if (chain.length === 1 && candidates === undefined) {
        u8.set(m.data.subarray(0, m.pages * PAGE), 0);
      } else {
        const write = (p: number): void => {
          const src = pageOf(chain, m.index, p);
          if (src === undefined) u8.fill(0, p * PAGE, (p + 1) * PAGE);
          else u8.set(src, p * PAGE);
        };
        if (candidates === undefined) for (let p = 0; p < m.pages; p++) write(p);
        else {
          for (const p of candidates.pages) write(p);
          for (let p = Math.min(now, m.pages); p < m.pages; p++) write(p);
        }
      }
      if (now > m.pages) u8.fill(0, m.pages * PAGE, now * PAGE);
    });
    afterMemory.push(() => api.dirty?.clear(d.id));
  }

  // Tables.
  const funcCount = t.ir.funcTypeIndexSpace.length;
  for (const s of d.tables) {
    const e = t.tables[s.index] ?? corrupt(`no table ${s.index}`);
    isImport(e.import, 'table', s.index);
    if (e.table.elemType !== s.elemType)
      corrupt(`table ${s.index} holds ${valueTypeName(e.table.elemType)}, not ${valueTypeName(s.elemType)}`);
    const size = s.funcs.length;
    const now = e.table.size();
    if (now > size && !keepGrown) {
      incompatible(
        `table ${s.index} grew to ${now} elements since the checkpoint (${size}) and cannot shrink: restore into a fresh instance, or pass keepGrown to null the elements past it`,
      );
    }
    const max = Math.min(e.table.max ?? MAX_TABLE_ELEMENTS, MAX_TABLE_ELEMENTS);
    if (size > max) incompatible(`table ${s.index} cannot grow to the checkpoint's ${size} elements (its maximum is ${max})`);
    const funcs = new Int32Array(Math.max(size, now)).fill(NULL_ELEMENT);
    const raw = new Map<number, bigint>();
    for (let i = 0; i < size; i++) {
      const k = s.funcs[i]!;
      if (k >= 0) {
        if (s.elemType !== FUNCREF || k >= funcCount || !canReference(t.ir, k)) corrupt(`table ${s.index} element ${i} is function ${k}`);
        funcs[i] = k;
      } else if (k === SAVED_HOST) {
        funcs[i] = RAW_ELEMENT;
        raw.set(i, decode(s.host.get(i)!, s.elemType, `table ${s.index} element ${i}`));
      } else if (k !== SAVED_NULL) {
        corrupt(`table ${s.index} element ${i}`);
      }
    }
    const elems: TableElements = { funcs, raw };
    steps.push(() => t.state.writeTable(s.index, elems));
  }

  // Globals.
  for (const g of d.globals) {
    const e = t.globals[g.index] ?? corrupt(`no global ${g.index}`);
    isImport(e.import, 'global', g.index);
    const type = e.global.type;
    if (type.valType !== g.type || type.mutable !== g.mutable) corrupt(`global ${g.index} has another type`);
    const v = stateValue(
      g.value,
      g.type,
      t.ir.funcTypeIndexSpace.length,
      (k) => canReference(t.ir, k),
      decode,
      `global ${g.index}`,
      corrupt,
    );
    if (!g.mutable) {
      const now = t.state.global(g.index);
      if (!sameValue(now, v)) {
        incompatible(
          `immutable global ${g.index} is ${show(now)} here, ${show(v)} in the checkpoint (its initial value read an imported global that differs): it cannot be set`,
        );
      }
      continue;
    }
    steps.push(() => t.state.setGlobal(g.index, v));
  }

  // Dropped segments: they can be dropped, never brought back.
  const segments = [
    ['data', d.droppedData, t.ir.datas.length],
    ['elem', d.droppedElems, t.ir.elements.length],
  ] as const;
  for (const [kind, saved, n] of segments) {
    if (saved.length !== n) corrupt(`${saved.length} ${kind} segments, the module has ${n}`);
    for (let i = 0; i < n; i++) {
      const dropped = t.state.isDropped(kind, i);
      if (saved[i] === 0 && dropped) {
        incompatible(
          `${kind === 'data' ? 'data' : 'element'} segment ${i} was dropped after the checkpoint and cannot come back: restore into a fresh instance`,
        );
      }
      if (saved[i] === 1 && !dropped) steps.push(() => t.state.drop(kind, i));
    }
  }

  for (const s of steps) s();
  for (const s of afterMemory) s();
}

/** A saved value as the engine takes it (host references decoded). */
function stateValue(
  v: SavedValue,
  type: number,
  funcCount: number,
  referenceable: (k: number) => boolean,
  decode: (bytes: Uint8Array, type: number, where: string) => bigint,
  where: string,
  corrupt: (msg: string) => never,
): StateValue {
  const ref = type === FUNCREF || type === EXTERNREF;
  switch (v.kind) {
    case 'bits':
      if (ref) corrupt(`${where} holds bits, not a reference`);
      if (type !== V128 && v.hi !== 0n) corrupt(`${where} holds more than 64 bits`);
      return v;
    case 'null':
      if (!ref) corrupt(`${where} holds null`);
      return v;
    case 'func':
      if (type !== FUNCREF || v.index >= funcCount || !referenceable(v.index)) corrupt(`${where} is function ${v.index}`);
      return v;
    case 'host':
      if (!ref) corrupt(`${where} holds a host reference`);
      return { kind: 'raw', raw: decode(v.bytes, type, where) };
  }
}

function sameValue(a: StateValue, b: StateValue): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'bits':
      return a.lo === (b as typeof a).lo && a.hi === (b as typeof a).hi;
    case 'null':
      return true;
    case 'func':
      return a.index === (b as typeof a).index;
    case 'raw':
      return a.raw === (b as typeof a).raw;
  }
}

function show(v: StateValue): string {
  switch (v.kind) {
    case 'bits':
      return v.hi === 0n ? `0x${v.lo.toString(16)}` : `0x${v.hi.toString(16)}${v.lo.toString(16).padStart(16, '0')}`;
    case 'null':
      return 'null';
    case 'func':
      return `function ${v.index}`;
    case 'raw':
      return `reference ${v.raw}`;
  }
}
