/**
 * The memory profiler: listens to the guest's allocator (`malloc`, `calloc`, `realloc`, `free` by
 * default: wasi-libc's dlmalloc and most C and Rust guests) and records, per allocating stack, what
 * was allocated and what is still live. Only the allocator functions are listened, so the rest of
 * the guest runs as fast as without the profiler.
 *
 * An allocator call made by another one (dlmalloc's `calloc` and `realloc` call `malloc` and
 * `free`) is not counted again: only the outermost allocator call of a stack counts.
 */
import type { Context } from '../runtime/api/context.js';
import type { FunctionListener, FunctionListenerFactory, StackIterator } from '../runtime/api/listener.js';
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import { epochNanos, StackCounts, type StackProfile } from './profile.js';
import { FrameTable } from './symbols.js';

/**
 * The allocator functions a memory profiler listens to, by name (name section or export name).
 * @experimental
 */
export interface AllocatorNames {
  /** `(size) → ptr` functions. @defaultValue ['malloc'] */
  readonly malloc?: readonly string[];
  /** `(count, size) → ptr` functions. @defaultValue ['calloc'] */
  readonly calloc?: readonly string[];
  /** `(ptr, size) → ptr` functions. @defaultValue ['realloc'] */
  readonly realloc?: readonly string[];
  /** `(ptr) → ()` functions. @defaultValue ['free'] */
  readonly free?: readonly string[];
}

/**
 * Options of {@link newMemoryProfiler}.
 * @experimental
 */
export interface MemoryProfilerOptions {
  /** The allocator's function names (each kind replaces its default when given). */
  readonly allocator?: AllocatorNames;
}

/**
 * A memory profiler: give it to `withFunctionListenerFactory` for the modules to profile.
 * @experimental
 */
export interface MemoryProfiler extends FunctionListenerFactory {
  /**
   * The profile so far: sample types `alloc_objects/count`, `alloc_space/bytes` (every allocation
   * made) and `inuse_objects/count`, `inuse_space/bytes` (allocations not freed yet), per
   * allocating stack (leaf first: the allocator function, then its callers).
   */
  profile(): StackProfile;
}

const MALLOC = 1;
const CALLOC = 2;
const REALLOC = 3;
const FREE = 4;

/**
 * A new memory profiler.
 * @experimental
 */
export function newMemoryProfiler(options: MemoryProfilerOptions = {}): MemoryProfiler {
  const a = options.allocator ?? {};
  const kinds = new Map<string, number>();
  for (const n of a.malloc ?? ['malloc']) kinds.set(n, MALLOC);
  for (const n of a.calloc ?? ['calloc']) kinds.set(n, CALLOC);
  for (const n of a.realloc ?? ['realloc']) kinds.set(n, REALLOC);
  for (const n of a.free ?? ['free']) kinds.set(n, FREE);
  return new MemoryProfilerImpl(kinds);
}

/** A live allocation: its counts row and size. */
interface Live {
  readonly row: number;
  readonly size: number;
}

class MemoryProfilerImpl implements MemoryProfiler {
  readonly #kinds: ReadonlyMap<string, number>;
  readonly #frames = new FrameTable();
  /** alloc_objects, alloc_space per stack (in-use values are computed from `#live`). */
  readonly #counts = new StackCounts(2);
  readonly #live = new Map<number, Live>();
  readonly #ids: number[] = [];
  readonly #timeNanos = epochNanos();
  readonly #start = performance.now();
  /** Open allocator calls (nested ones are not counted). */
  depth = 0;

  constructor(kinds: ReadonlyMap<string, number>) {
    this.#kinds = kinds;
  }

  newFunctionListener(def: FunctionDefinition): FunctionListener | undefined {
    if (def.hostFunction() !== undefined || def.import() !== undefined) return undefined;
    let kind = this.#kinds.get(def.name());
    for (const e of def.exportNames()) kind ??= this.#kinds.get(e);
    if (kind === undefined) return undefined;
    const p = def.paramTypes();
    const r = def.resultTypes();
    const ptr = (t: number | undefined): boolean => t === 0x7f || t === 0x7e;
    const ok =
      kind === FREE
        ? p.length === 1 && ptr(p[0])
        : kind === MALLOC
          ? p.length === 1 && ptr(p[0]) && r.length === 1 && ptr(r[0])
          : p.length === 2 && ptr(p[0]) && ptr(p[1]) && r.length === 1 && ptr(r[0]);
    // A function of that name with another signature is not the allocator.
    return ok ? new AllocListener(this, kind) : undefined;
  }

  /** The counts row of the allocating stack. */
  row(stack: StackIterator): number {
    const ids = this.#ids;
    ids.length = 0;
    while (stack.next()) {
      const f = stack.function();
      ids.push(this.#frames.id(f.definition(), f.sourceOffsetForPC(stack.programCounter())));
    }
    return this.#counts.row(ids);
  }

  allocated(row: number, ptr: number, size: number): void {
    const v = this.#counts.values[row]!;
    v[0]! += 1;
    v[1]! += size;
    this.#live.set(ptr, { row, size });
  }

  freed(ptr: number): void {
    this.#live.delete(ptr);
  }

  profile(): StackProfile {
    const frames = this.#frames.frames;
    const c = this.#counts;
    const inuse = c.values.map(() => [0, 0]);
    for (const l of this.#live.values()) {
      const v = inuse[l.row]!;
      v[0]! += 1;
      v[1]! += l.size;
    }
    return {
      sampleTypes: [
        { type: 'alloc_objects', unit: 'count' },
        { type: 'alloc_space', unit: 'bytes' },
        { type: 'inuse_objects', unit: 'count' },
        { type: 'inuse_space', unit: 'bytes' },
      ],
      defaultSampleType: 'inuse_space',
      samples: c.stacks.map((s, i) => ({ stack: s.map((id) => frames[id]!), values: [...c.values[i]!, ...inuse[i]!] })),
      timeNanos: this.#timeNanos,
      durationNanos: Math.round((performance.now() - this.#start) * 1e6),
      periodType: { type: 'space', unit: 'bytes' },
      period: 1,
      comments: ['wasmscope memory profile: every allocator call'],
    };
  }
}

/** A raw i32 or i64 pointer or size param as a number. */
function num(raw: bigint | undefined, i64: boolean): number {
  if (raw === undefined) return 0;
  return Number(i64 ? raw : raw & 0xffffffffn);
}

/** The listener of one allocator function. */
class AllocListener implements FunctionListener {
  readonly #p: MemoryProfilerImpl;
  readonly #kind: number;
  // The outermost allocator call in progress, when it is one of this function.
  #row = -1;
  #size = 0;
  #old = 0;
  #i64 = false;

  constructor(p: MemoryProfilerImpl, kind: number) {
    this.#p = p;
    this.#kind = kind;
  }

  before(_ctx: Context, _mod: Module, def: FunctionDefinition, params: BigUint64Array, stack: StackIterator): void {
    const p = this.#p;
    if (p.depth++ !== 0) return;
    const i64 = (this.#i64 = def.paramTypes()[0] === 0x7e);
    switch (this.#kind) {
      case MALLOC:
        this.#size = num(params[0], i64);
        break;
      case CALLOC:
        this.#size = num(params[0], i64) * num(params[1], i64);
        break;
      case REALLOC:
        this.#old = num(params[0], i64);
        this.#size = num(params[1], i64);
        break;
      case FREE: {
        const ptr = num(params[0], i64);
        if (ptr !== 0) p.freed(ptr);
        return;
      }
    }
    this.#row = p.row(stack);
  }

  after(_ctx: Context, _mod: Module, _def: FunctionDefinition, results: BigUint64Array): void {
    const p = this.#p;
    // Only the outermost allocator call counts (when it ends, no other one is open).
    if (--p.depth !== 0 || this.#kind === FREE) return;
    const ptr = num(results[0], this.#i64);
    if (this.#kind === REALLOC && this.#old !== 0 && (ptr !== 0 || this.#size === 0)) p.freed(this.#old);
    if (ptr !== 0) p.allocated(this.#row, ptr, this.#size);
  }

  abort(): void {
    this.#p.depth--;
  }
}
