/**
 * Dirty-page tracking, shared by both engines: which 64 KiB pages of a memory were written since the
 * memory last held a known checkpoint's state, so an incremental checkpoint (wasmscope/snapshot)
 * copies only those pages instead of comparing every page with its base.
 *
 * Opt-in at compile time (`withDirtyPageTracking(ctx)`): tracked code marks the page of every write
 * (the interpreter in its store instructions, the compiler in instrumented wasm); untracked code runs
 * untouched. Writes through the `Memory` API and by WASI mark pages too. Marks are a superset of the
 * pages written (a write that traps may still mark its pages); pages added by `memory.grow` are not
 * marked: the snapshot layer counts every page past the base's size as changed.
 *
 * The marks are trusted only while every writer is tracked: a memory used by an instance compiled
 * without tracking, or a shared memory (other threads write it), is {@link MemoryApi.untrackedWriters}
 * for good, and deltas of it compare pages instead.
 */

/** The tracking fields of a memory (`MemoryApi`). */
export interface TrackedMemory {
  readonly wasm: { readonly buffer: ArrayBuffer | SharedArrayBuffer };
  /** The memory's marks, once a tracked instance uses it. */
  dirty: DirtyPages | undefined;
  /** Some writer does not mark pages (an untracked instance, another thread): marks are not trusted. */
  untrackedWriters: boolean;
}
import type { Context } from '../api/context.js';

const PAGE = 65536;
/** Pages of the largest 32-bit memory: one mark byte each. */
const MAX_PAGES = 65536;

/** The written pages of one memory. */
export class DirtyPages {
  /**
   * One byte per page (1 = written), in a one-page `WebAssembly.Memory` so that compiled wasm code
   * can mark pages itself (compiler-native); its buffer never changes.
   */
  readonly memory: WebAssembly.Memory;
  /** The mark bytes, by page index. */
  readonly bits: Uint8Array;
  /**
   * The id of the checkpoint whose state the memory held when the marks were last cleared (by a
   * checkpoint of it or a restore into it); undefined before the first.
   */
  since: string | undefined = undefined;

  constructor() {
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    this.bits = new Uint8Array(this.memory.buffer);
    this.bits[MAX_PAGES - 1] = 1;
  }

  /** Marks the pages of bytes `[offset, offset + length)` (nothing when `length` is 0). */
  mark(offset: number, length: number): void {
    if (!(length > 0) || !(offset >= 0)) return;
    const bits = this.bits;
    const first = Math.floor(offset / PAGE);
    const last = Math.min(Math.floor((offset + length - 1) / PAGE), MAX_PAGES - 1);
    for (let p = first; p <= last; p++) bits[p] = 1;
  }

  /**
   * Clears every mark: the memory now holds the state of checkpoint `since`. The last page of a
   * 4 GiB memory stays marked: compiled code may write it without marking (compiler-native
   * instrument.ts `DirtyPlan`).
   */
  clear(since: string): void {
    this.bits.fill(0);
    this.bits[MAX_PAGES - 1] = 1;
    this.since = since;
  }
}

/**
 * Notes the memories an instance writes (its memory index space) before the engine creates it:
 * a tracked instance gives each a {@link DirtyPages} (shared by every tracked instance using it); an
 * untracked one, or a shared memory, makes the marks untrusted for good.
 */
export function noteMemoryWriters(memories: readonly TrackedMemory[], tracked: boolean): void {
  for (const api of memories) {
    if (tracked) api.dirty ??= new DirtyPages();
    if (!tracked || api.wasm.buffer instanceof SharedArrayBuffer) api.untrackedWriters = true;
  }
}

const trackingKey = Symbol('wasmscope.dirtyPageTracking');

/**
 * A context whose `compileModule` compiles the module with dirty-page tracking: every write to its
 * memory marks the written 64 KiB page, so incremental checkpoints copy only the changed pages.
 */
export function withDirtyPageTracking(ctx: Context): Context {
  return ctx.withValue(trackingKey, true);
}

/** Whether modules compiled with `ctx` track dirty pages. */
export function dirtyPageTrackingEnabled(ctx: Context | undefined): boolean {
  return ctx?.value<boolean>(trackingKey) === true;
}
