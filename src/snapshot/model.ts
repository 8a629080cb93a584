/**
 * What a checkpoint holds, engine-neutral: memories as pages of bytes, globals as raw bits or
 * references (a function index of the module, or a host reference encoded by the caller's codec),
 * tables as function indices, and which segments were dropped. A delta holds only the memory pages
 * that changed since its base; its globals, tables and dropped segments are whole.
 */
import type { ValueType } from '../runtime/api/value-type.js';
import type { CallState } from '../runtime/store/suspend.js';

/** 64 KiB, the WebAssembly page. */
export const PAGE = 65536;

/**
 * Encodes host references (an `externref`, or a `funcref` to a function of another module) so a
 * checkpoint can hold them, and decodes them when it is restored. Without a codec such references
 * are refused.
 */
export interface ReferenceCodec {
  /**
   * Bytes standing for a host reference.
   * @param raw - the reference as a raw (non-zero) value, as the API passes it.
   * @param type - `ValueType.Externref` or `ValueType.Funcref`.
   */
  encode(raw: bigint, type: ValueType): Uint8Array;
  /**
   * The raw reference `bytes` (from {@link ReferenceCodec.encode}) stand for, in the runtime restored into.
   * @param bytes - what `encode` returned.
   * @param type - `ValueType.Externref` or `ValueType.Funcref`.
   */
  decode(bytes: Uint8Array, type: ValueType): bigint;
}

/** A value saved in a checkpoint. */
export type SavedValue =
  | { readonly kind: 'bits'; readonly lo: bigint; readonly hi: bigint }
  | { readonly kind: 'null' }
  | { readonly kind: 'func'; readonly index: number }
  /** A host reference, as its codec encoded it. */
  | { readonly kind: 'host'; readonly bytes: Uint8Array };

/** A memory in a checkpoint. */
export interface SavedMemory {
  /** Index in the memory index space (imports first). */
  readonly index: number;
  /** `module.name` of an imported memory (known when taken in this process; not in the bytes). */
  readonly import: string | undefined;
  /** Size in pages when it was taken. */
  readonly pages: number;
  /**
   * Ascending indices of the pages `data` holds; undefined in a full checkpoint, whose `data` holds
   * every page.
   */
  readonly pageList: Uint32Array | undefined;
  /** The pages' bytes, in order. */
  readonly data: Uint8Array;
}

/** A global in a checkpoint. */
export interface SavedGlobal {
  readonly index: number;
  readonly import: string | undefined;
  readonly type: number;
  readonly mutable: boolean;
  readonly value: SavedValue;
}

/** {@link SavedTable.funcs} of a null element. */
export const SAVED_NULL = -1;
/** {@link SavedTable.funcs} of a host reference (its bytes in `host`). */
export const SAVED_HOST = -2;

/** A table in a checkpoint. */
export interface SavedTable {
  readonly index: number;
  readonly import: string | undefined;
  readonly elemType: number;
  /** Per element: a function index, {@link SAVED_NULL} or {@link SAVED_HOST}. */
  readonly funcs: Int32Array;
  /** The encoded host reference of every {@link SAVED_HOST} element. */
  readonly host: ReadonlyMap<number, Uint8Array>;
}

/** The contents of a checkpoint. */
export interface CheckpointData {
  /** Hex, 32 characters. */
  readonly id: string;
  /** Hex sha256 of the module binary. */
  readonly moduleSha256: string;
  /** The id of the base of a delta; undefined for a full checkpoint. */
  readonly baseId: string | undefined;
  /** `module.name` of the imported memories, tables and globals it includes. */
  readonly imports: readonly string[];
  readonly memories: readonly SavedMemory[];
  readonly globals: readonly SavedGlobal[];
  readonly tables: readonly SavedTable[];
  /** Per data segment: 1 when dropped. */
  readonly droppedData: Uint8Array;
  /** Per element segment: 1 when dropped. */
  readonly droppedElems: Uint8Array;
  /** A suspended call of the module (a mid-call checkpoint, `PendingCall.checkpoint`), if any. */
  readonly call?: SavedCall;
}

/** A suspended async call in a checkpoint: where it waits and its machine state. */
export interface SavedCall {
  /** The name of the module instance the call entered (`resumeCall` looks it up by it). */
  readonly moduleName: string;
  /** The host function the call waits at: `module.name` of its import, and its signature (`i32,i64->f32`). */
  readonly hostImport: string;
  readonly hostSignature: string;
  /** The engine-neutral machine state. */
  readonly state: CallState;
  /** Bytes of the application that took it (the CLI's: its run options as JSON); empty when none. */
  readonly meta: Uint8Array;
}

/** A checkpoint with its base, as chains are walked. */
export interface CheckpointNode {
  readonly id: string;
  readonly base: CheckpointNode | undefined;
  readonly data: CheckpointData;
}

/**
 * The source of page `p` of memory `index` in the state `chain` gives (newest first: the
 * checkpoint, its base, …, the full root): a view of 64 KiB, or undefined for a zero page.
 */
export function pageOf(chain: readonly CheckpointData[], index: number, p: number): Uint8Array | undefined {
  for (const cp of chain) {
    const m = cp.memories.find((x) => x.index === index);
    if (m === undefined) return undefined;
    const list = m.pageList;
    if (list === undefined) return p < m.pages ? m.data.subarray(p * PAGE, (p + 1) * PAGE) : undefined;
    const k = findPage(list, p);
    if (k >= 0) return m.data.subarray(k * PAGE, (k + 1) * PAGE);
  }
  return undefined;
}

/** The position of page `p` in ascending `list`, or -1. */
export function findPage(list: Uint32Array, p: number): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = list[mid]!;
    if (v === p) return mid;
    if (v < p) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
