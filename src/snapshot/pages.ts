/**
 * Which memory pages can differ between a memory and a checkpoint's state, from dirty-page marks.
 *
 * Trusted marks (every writer tracked) are relative to the checkpoint the memory held when they
 * were last cleared (`DirtyPages.since`). A page can then differ from checkpoint `c`'s state only
 * if it is marked, or listed by a delta on the way between `since` and `c` (through their nearest
 * common ancestor), or lies past the smallest size on that way (pages past a base's size are new in
 * the delta that grows over them, and grown pages are never marked). Any other page holds the
 * same bytes in the memory and in `c`, so restores write and deltas copy (or compare) only these.
 */
import type { MemoryApi } from '../runtime/store/memory-api.js';
import type { CheckpointNode } from './model.js';

/** Checkpoints by id (held weakly), to walk the chain of the one a memory's marks count from. */
const byId = new Map<string, WeakRef<CheckpointNode>>();
const forget = new FinalizationRegistry<string>((id) => {
  if (byId.get(id)?.deref() === undefined) byId.delete(id);
});

/** Makes `cp` findable by its id (for the marks cleared at it). */
export function remember(cp: CheckpointNode): void {
  byId.set(cp.id, new WeakRef(cp));
  forget.register(cp, cp.id);
}

/** The pages that can differ between `api` and checkpoint `c`'s state (memory `index` of it). */
export interface Candidates {
  /** Ascending page indices below `size`. */
  readonly pages: number[];
  /** The marks count from `c` itself: every candidate did change. */
  readonly exact: boolean;
}

/**
 * The candidate pages below `size` for memory `index`, or undefined when the marks cannot tell (no
 * tracking, an untracked writer, or no known relation between the marks' checkpoint and `c`).
 */
export function candidatePages(api: MemoryApi, index: number, c: CheckpointNode, size: number): Candidates | undefined {
  const dirty = api.dirty;
  if (dirty === undefined || api.untrackedWriters || dirty.since === undefined) return undefined;
  const since = dirty.since === c.id ? c : byId.get(dirty.since)?.deref();
  if (since === undefined) return undefined;
  // The nearest common ancestor of `since` and `c`.
  const sinceChain: CheckpointNode[] = [];
  for (let x: CheckpointNode | undefined = since; x !== undefined; x = x.base) sinceChain.push(x);
  const position = new Map(sinceChain.map((x, i) => [x.id, i]));
  const cChain: CheckpointNode[] = [];
  let lca = -1;
  for (let x: CheckpointNode | undefined = c; x !== undefined; x = x.base) {
    const k = position.get(x.id);
    if (k !== undefined) {
      lca = k;
      break;
    }
    cChain.push(x);
  }
  if (lca < 0) return undefined;
  const mark = new Uint8Array(size);
  let low = size;
  const add = (x: CheckpointNode, listed: boolean): boolean => {
    const m = x.data.memories.find((y) => y.index === index);
    if (m === undefined) return false;
    low = Math.min(low, m.pages);
    if (listed) {
      if (m.pageList === undefined) return false; // a full checkpoint on the way: no relation
      for (const p of m.pageList) if (p < size) mark[p] = 1;
    }
    return true;
  };
  for (let i = 0; i < lca; i++) if (!add(sinceChain[i]!, true)) return undefined;
  for (const x of cChain) if (!add(x, true)) return undefined;
  if (!add(sinceChain[lca]!, false)) return undefined;
  const bits = dirty.bits;
  const n = Math.min(size, bits.length);
  for (let p = bits.indexOf(1); p >= 0 && p < n; p = bits.indexOf(1, p + 1)) mark[p] = 1;
  mark.fill(1, Math.min(low, size));
  const pages: number[] = [];
  for (let p = mark.indexOf(1); p >= 0; p = mark.indexOf(1, p + 1)) pages.push(p);
  return { pages, exact: since === c };
}
