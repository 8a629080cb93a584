/**
 * Fast access to the calling module's linear memory for WASI calls: a byte view and a DataView,
 * taken once per call (a WASI call never grows memory). Bounds are checked by the callers; a miss is
 * EFAULT.
 */
import type { Memory, Module } from '../runtime/api/module.js';
import type { DirtyPages } from '../runtime/store/dirty-pages.js';
import { MemoryApi } from '../runtime/store/memory-api.js';

export interface MemView {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** The memory's dirty-page marks (dirty-page tracking): every write is reported with {@link wrote}. */
  readonly dirty: DirtyPages | undefined;
}

const EMPTY: MemView = { u8: new Uint8Array(0), dv: new DataView(new ArrayBuffer(0)), dirty: undefined };

/** The caller's memory as views (empty when it has none, so every access is EFAULT). */
export function memView(mod: Module): MemView {
  const m: Memory | undefined = mod.memory();
  if (m === undefined) return EMPTY;
  if (m instanceof MemoryApi) return { u8: m.u8, dv: m.dataView, dirty: m.dirty };
  // Any other Memory: its read() is a write-through view.
  const u8 = m.read(0, m.size()) ?? new Uint8Array(0);
  return { u8, dv: new DataView(u8.buffer, u8.byteOffset, u8.byteLength), dirty: undefined };
}

/** Reports a write of bytes `[offset, offset + length)` (marks their pages when tracking is on). */
export function wrote(v: MemView, offset: number, length: number): void {
  v.dirty?.mark(offset, length);
}

/** Whether [offset, offset+len) lies inside memory (both unsigned 32-bit). */
export function inBounds(v: MemView, offset: number, len: number): boolean {
  return offset + len <= v.u8.length;
}
