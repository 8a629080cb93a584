/**
 * Taking checkpoints: the whole state of a module instance (its defined memories, tables and globals,
 * mutable or not, exported or not, and its dropped segments; imported ones when named), full or as a
 * delta against a base.
 *
 * A delta holds the memory pages that changed since its base. Which pages: with dirty-page tracking
 * (`withDirtyPageTracking`) and marks that are relative to the base (the memory held the base's state
 * when they were last cleared), exactly the marked pages and the pages past the base's size; otherwise
 * every page is compared with the base's. The marks clear only once a checkpoint succeeds.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { EXTERNREF, FUNCREF, type ValueType } from '../runtime/api/value-type.js';
import type { Module } from '../runtime/api/module.js';
import { NULL_ELEMENT, RAW_ELEMENT, type StateValue } from '../runtime/store/engine.js';
import type { MemoryApi } from '../runtime/store/memory-api.js';
import { CheckpointError } from './errors.js';
import { decodeCheckpoint, encodeCheckpoint } from './format.js';
import {
  PAGE,
  SAVED_HOST,
  SAVED_NULL,
  pageOf,
  type CheckpointData,
  type ReferenceCodec,
  type SavedGlobal,
  type SavedMemory,
  type SavedTable,
  type SavedValue,
} from './model.js';
import { candidatePages, remember } from './pages.js';
import { KIND_NAMES, selected, targetOf, type ImportSelection, type Target } from './target.js';

/**
 * The state of a module instance at one moment: full, or a delta holding only the memory pages that
 * changed since its {@link Checkpoint.base}. Restore it with `restore`, persist it with
 * {@link Checkpoint.toBytes} (or `writeCheckpoint`).
 */
export interface Checkpoint {
  /** A unique id (32 hex digits); a delta names its base by it. */
  readonly id: string;
  /** `'full'`, or `'delta'` against {@link Checkpoint.base}. */
  readonly kind: 'full' | 'delta';
  /** The sha256 (hex) of the module binary it was taken from: it restores into instances of that module only. */
  readonly moduleSha256: string;
  /** The checkpoint a delta was taken against (undefined for a full one). */
  readonly base: Checkpoint | undefined;
  /** The 64 KiB memory pages it holds (a delta: the changed ones). */
  readonly storedPages: number;
  /** Its bytes in the checkpoint format (see the README's "Snapshots"); a delta's do not include its base. */
  toBytes(): Uint8Array;
}

/** Options of {@link checkpoint}. */
export interface CheckpointOptions {
  /** Take a delta holding only the memory pages changed since `base` (a checkpoint of the same module). */
  readonly base?: Checkpoint;
  /**
   * Imported memories, tables and globals to include, as `module.name` (or `'all'`). They are
   * another module's state too, so a module that imports any is refused unless they are named.
   */
  readonly imports?: ImportSelection;
  /** Encodes host references (externrefs, functions of other modules) found in tables and globals. */
  readonly references?: ReferenceCodec;
}

/** The implementation of {@link Checkpoint}. */
export class CheckpointImpl implements Checkpoint {
  readonly data: CheckpointData;
  readonly base: CheckpointImpl | undefined;

  constructor(data: CheckpointData, base: CheckpointImpl | undefined) {
    this.data = data;
    this.base = base;
    remember(this);
  }

  get id(): string {
    return this.data.id;
  }

  get kind(): 'full' | 'delta' {
    return this.data.baseId === undefined ? 'full' : 'delta';
  }

  get moduleSha256(): string {
    return this.data.moduleSha256;
  }

  get storedPages(): number {
    let n = 0;
    for (const m of this.data.memories) n += m.data.length / PAGE;
    return n;
  }

  /** This checkpoint, its base, …, the full one (newest first). */
  chain(): CheckpointData[] {
    const out: CheckpointData[] = [];
    for (let c: CheckpointImpl | undefined = this; c !== undefined; c = c.base) out.push(c.data);
    return out;
  }

  toBytes(): Uint8Array {
    return encodeCheckpoint(this.data);
  }

  toString(): string {
    return `Checkpoint(${this.kind} ${this.id}, ${this.storedPages} pages)`;
  }
}

/** Options of `Checkpoint.fromBytes`. */
export interface FromBytesOptions {
  /** The base of a delta (the checkpoint it was taken against), needed to restore it. */
  readonly base?: Checkpoint;
}

/**
 * Reads a checkpoint from its bytes (see the README's "Snapshots" for the format).
 * @throws CheckpointError `corrupt` for bytes that are not a checkpoint of a known version, or that
 *   are truncated or corrupted (the checksum covers every byte); `base` for a base that is not the
 *   delta's.
 */
export function checkpointFromBytes(bytes: Uint8Array, options: FromBytesOptions = {}): Checkpoint {
  const data = decodeCheckpoint(bytes);
  const base = options.base;
  if (base !== undefined) {
    if (!(base instanceof CheckpointImpl)) throw new CheckpointError('base', 'Checkpoint.fromBytes: base is not a checkpoint');
    if (data.baseId !== base.id) {
      throw new CheckpointError(
        'base',
        data.baseId === undefined
          ? `Checkpoint.fromBytes: checkpoint ${data.id} is full, it has no base`
          : `Checkpoint.fromBytes: delta ${data.id} was taken against ${data.baseId}, not ${base.id}`,
      );
    }
    if (base.moduleSha256 !== data.moduleSha256)
      throw new CheckpointError('base', `Checkpoint.fromBytes: base ${base.id} is of another module`);
  }
  return new CheckpointImpl(data, base as CheckpointImpl | undefined);
}

/** `Checkpoint.fromBytes`: reads a checkpoint from its bytes. */
export const Checkpoint: {
  /**
   * Reads a checkpoint from the bytes `toBytes()` gave (format checked: magic, version, checksum);
   * a delta needs `options.base`, the checkpoint it was taken against.
   */
  fromBytes(bytes: Uint8Array, options?: FromBytesOptions): Checkpoint;
} = {
  fromBytes: checkpointFromBytes,
};

/** A checkpoint's base as the implementation, or a clear error. */
export function implOf(cp: unknown, what: string): CheckpointImpl {
  if (!(cp instanceof CheckpointImpl)) throw new CheckpointError('base', `${what}: not a checkpoint of wasmscope/snapshot`);
  return cp;
}

/** Whether delta `cp`'s chain reaches a full checkpoint (every base is there). */
export function checkChain(cp: CheckpointImpl, what: string): void {
  for (let c: CheckpointImpl = cp; c.data.baseId !== undefined; c = c.base) {
    if (c.base === undefined) {
      throw new CheckpointError(
        'base',
        `${what}: delta ${c.id} needs its base ${c.data.baseId} (read it with Checkpoint.fromBytes(bytes, { base }))`,
      );
    }
  }
}

/**
 * Takes a checkpoint of `mod`: every defined memory (pages and bytes), table (functions as indices of
 * the module's function index space, null kept) and global (mutable or not, exported or not), the
 * dropped data and element segments, and the imported ones named in `options.imports` (an imported
 * immutable global is a constant of the link, not state: it is never saved).
 *
 * Note: with `options.base`, only the memory pages that changed since the base are stored (see the
 * module comment); tables, globals and dropped segments are stored whole.
 * @param mod - a module instance (not a host module, not closed).
 * @throws CheckpointError (nothing changes): `import` for imported state not named in
 *   `options.imports`; `reference` for a host externref, or a function of another module, in a table
 *   or global without `options.references`; `module-mismatch` or `base` for a base of another module
 *   or an incomplete chain.
 */
export function checkpoint(mod: Module, options: CheckpointOptions = {}): Checkpoint {
  const what = 'checkpoint';
  const t = targetOf(mod, what);
  const base = options.base === undefined ? undefined : implOf(options.base, what);
  if (base !== undefined) {
    if (base.moduleSha256 !== t.sha256) {
      throw new CheckpointError(
        'module-mismatch',
        `${what}: base ${base.id} is of module ${base.moduleSha256.slice(0, 12)}…, not ${t.sha256.slice(0, 12)}…`,
      );
    }
    checkChain(base, what);
  }
  const sel = options.imports;
  const refuse = (kind: number, name: string): never => {
    throw new CheckpointError(
      'import',
      `${what}: imported ${KIND_NAMES[kind]} ${name} is state of another module too: name it in options.imports to include it`,
    );
  };
  for (const m of t.memories) if (m.import !== undefined && !selected(sel, m.import)) refuse(2, m.import);
  for (const x of t.tables) if (x.import !== undefined && !selected(sel, x.import)) refuse(1, x.import);
  // An imported immutable global is a constant of the link, not state: never saved.
  const globalsSaved = t.globals.filter((g) => g.import === undefined || g.global.type.mutable);
  for (const g of globalsSaved) if (g.import !== undefined && !selected(sel, g.import)) refuse(3, g.import);

  const codec = options.references;
  const globals = globalsSaved.map((g): SavedGlobal => {
    const type = g.global.type.valType;
    const where = `global ${g.index}${g.import === undefined ? '' : ` (${g.import})`}`;
    return {
      index: g.index,
      import: g.import,
      type,
      mutable: g.global.type.mutable,
      value: saved(t.state.global(g.index), type, codec, where),
    };
  });
  const tables = t.tables.map((x): SavedTable => saveTable(t, x.index, x.import, x.table.elemType, codec));
  const droppedData = new Uint8Array(t.ir.datas.length);
  for (let i = 0; i < droppedData.length; i++) droppedData[i] = t.state.isDropped('data', i) ? 1 : 0;
  const droppedElems = new Uint8Array(t.ir.elements.length);
  for (let i = 0; i < droppedElems.length; i++) droppedElems[i] = t.state.isDropped('elem', i) ? 1 : 0;

  const baseChain = base?.chain();
  const memories = t.memories.map((m): SavedMemory => {
    if (baseChain === undefined) return fullMemory(m.index, m.import, m.api);
    const bm = baseChain[0]!.memories.find((x) => x.index === m.index);
    if (bm === undefined) throw new CheckpointError('base', `${what}: base ${base!.id} has no memory ${m.index}`);
    return deltaMemory(m.index, m.import, m.api, base!, baseChain, bm.pages);
  });
  const data: CheckpointData = {
    id: randomBytes(16).toString('hex'),
    moduleSha256: t.sha256,
    baseId: base?.id,
    imports: [...t.memories, ...t.tables, ...globalsSaved].flatMap((x) => (x.import === undefined ? [] : [x.import])),
    memories,
    globals,
    tables,
    droppedData,
    droppedElems,
  };
  // Only now that it succeeded: the marks count from this checkpoint.
  for (const m of t.memories) m.api.dirty?.clear(data.id);
  return new CheckpointImpl(data, base);
}

/** A state value as saved (host references through the codec). */
function saved(v: StateValue, type: number, codec: ReferenceCodec | undefined, where: string): SavedValue {
  if (v.kind !== 'raw') return v;
  if (codec === undefined) {
    throw new CheckpointError(
      'reference',
      `checkpoint: ${where} holds ${type === EXTERNREF ? 'a host externref' : 'a function of another module'}: give options.references to encode it`,
    );
  }
  return { kind: 'host', bytes: codec.encode(v.raw, type as ValueType) };
}

function saveTable(t: Target, index: number, imp: string | undefined, elemType: number, codec: ReferenceCodec | undefined): SavedTable {
  const e = t.state.readTable(index);
  const funcs = new Int32Array(e.funcs.length);
  const host = new Map<number, Uint8Array>();
  for (let i = 0; i < funcs.length; i++) {
    const k = e.funcs[i]!;
    if (k >= 0) funcs[i] = k;
    else if (k === NULL_ELEMENT) funcs[i] = SAVED_NULL;
    else if (k === RAW_ELEMENT) {
      const s = saved({ kind: 'raw', raw: e.raw.get(i)! }, elemType, codec, `table ${index} element ${i}`);
      funcs[i] = SAVED_HOST;
      host.set(i, (s as { bytes: Uint8Array }).bytes);
    }
  }
  return { index, import: imp, elemType: elemType === FUNCREF ? FUNCREF : EXTERNREF, funcs, host };
}

/** Every page of `api`, copied. */
function fullMemory(index: number, imp: string | undefined, api: MemoryApi): SavedMemory {
  const u8 = api.u8;
  const data = new Uint8Array(u8.length);
  data.set(u8);
  return { index, import: imp, pages: u8.length / PAGE, pageList: undefined, data };
}

/** The pages of `api` that differ from `base`'s state (`baseChain`, newest first), copied. */
function deltaMemory(
  index: number,
  imp: string | undefined,
  api: MemoryApi,
  base: CheckpointImpl,
  baseChain: readonly CheckpointData[],
  basePages: number,
): SavedMemory {
  const u8 = api.u8;
  const pages = u8.length / PAGE;
  const low = Math.min(pages, basePages);
  const c = candidatePages(api, index, base, low);
  const changed: number[] = [];
  if (c?.exact === true) {
    // The marks count from the base: every marked page changed.
    changed.push(...c.pages);
  } else {
    const compare = (p: number): void => {
      const was = pageOf(baseChain, index, p);
      const now = u8.subarray(p * PAGE, (p + 1) * PAGE);
      if (was === undefined ? !isZero(now) : Buffer.compare(was, now) !== 0) changed.push(p);
    };
    if (c !== undefined) for (const p of c.pages) compare(p);
    else for (let p = 0; p < low; p++) compare(p);
  }
  // Pages past the base's size are all new.
  for (let p = low; p < pages; p++) changed.push(p);
  const data = new Uint8Array(changed.length * PAGE);
  for (let k = 0; k < changed.length; k++) {
    const p = changed[k]!;
    data.set(u8.subarray(p * PAGE, (p + 1) * PAGE), k * PAGE);
  }
  return { index, import: imp, pages, pageList: Uint32Array.from(changed), data };
}

const ZERO_PAGE = new Uint8Array(PAGE);

/** Whether a 64 KiB page is all zero. */
export function isZero(page: Uint8Array): boolean {
  return Buffer.compare(page, ZERO_PAGE) === 0;
}
