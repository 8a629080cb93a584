/**
 * The ring buffer of batched function events (`withFunctionEventSink`, api/event-sink.ts), one per
 * engine, shared by both engines so that they cannot drift apart: the compiler engine's recorder
 * functions (compiler-native/sink.ts) write it from wasm with the layout below, the interpreter
 * through {@link EventRing.record}; delivery, owner switches and aborts are this file's.
 *
 * Layout (bytes; little-endian, as wasm):
 * - header: `[0]` position (records in the ring), `[4]` owner id of the records in the ring (0:
 *   none), so that the i64 at 0 is `owner << 32 | position` (the compiler's inline records compare
 *   it with their instance's `id << 32` once: another owner and a full ring both show as a
 *   difference of at least CAPACITY); `[8]` shadow stack depth, `[16]` the last counter (f64);
 * - the ring, structure of arrays: function indices (i32 × CAPACITY), kinds (i32 × CAPACITY),
 *   counters (f64 × CAPACITY): a batch is three views, no copy. Records are written without their
 *   counter: it is the record's rank (the last counter plus one per record), filled in on delivery;
 * - the shadow stack of entered frames, one i64 per frame, `owner id << 32 | function index`: what
 *   the engine writes `Abort` records from when an error leaves an invocation. Past STACK frames
 *   deep, depth is still counted, and the frames past it abort with function index -1.
 *
 * A record of another owner than the ring's first delivers the ring (a batch holds one instance's
 * records); a full ring is delivered by the next record (or when the invocation ends).
 */
import { FUNCTION_EVENT_BATCH_CAPACITY, FunctionEventKind, type FunctionEventBatch, type FunctionEventSink } from '../api/event-sink.js';
import type { FunctionDefinition, Module } from '../api/module.js';

/** Records in the ring. */
export const RING_CAPACITY = FUNCTION_EVENT_BATCH_CAPACITY;
/** Frames the shadow stack holds. */
export const RING_STACK = 1 << 16;
export const RING_POS = 0;
export const RING_OWNER = 4;
export const RING_SP = 8;
export const RING_COUNTER = 16;
export const RING_FUNCS = 64;
export const RING_KINDS = RING_FUNCS + 4 * RING_CAPACITY;
export const RING_COUNTERS = RING_KINDS + 4 * RING_CAPACITY;
/** The shadow stack: `owner << 32 | function index` (i64) per frame. */
export const RING_STACK_BASE = RING_COUNTERS + 8 * RING_CAPACITY;
/** Bytes of the layout, in 64 KiB pages. */
export const RING_PAGES = Math.ceil((RING_STACK_BASE + 8 * RING_STACK) / 65536);

/** A recorded module instance: where its batches go. */
class RingOwner implements FunctionEventBatch {
  length = 0;
  functions: Int32Array;
  kinds: Int32Array;
  counters: Float64Array;
  constructor(
    readonly sink: FunctionEventSink,
    readonly module: Module,
    readonly defs: readonly FunctionDefinition[],
    ring: EventRing,
  ) {
    this.functions = ring.funcs;
    this.kinds = ring.kinds;
    this.counters = ring.counters;
  }
  definition(functionIndex: number): FunctionDefinition {
    const d = this.defs[functionIndex];
    if (d === undefined) throw new RangeError(`function event batch: no function ${functionIndex}`);
    return d;
  }
}

const ENTER = FunctionEventKind.Enter;
const ABORT = FunctionEventKind.Abort;

/** One engine's event ring (module comment). */
export class EventRing {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly funcs: Int32Array;
  readonly kinds: Int32Array;
  readonly counters: Float64Array;
  /** Owners by id (id 0: none). */
  readonly #owners: Array<RingOwner | undefined> = [undefined];

  /** `buffer`: at least {@link RING_PAGES} pages (the compiler engine's is a wasm memory's). */
  constructor(readonly buffer: ArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.funcs = new Int32Array(buffer, RING_FUNCS, RING_CAPACITY);
    this.kinds = new Int32Array(buffer, RING_KINDS, RING_CAPACITY);
    this.counters = new Float64Array(buffer, RING_COUNTERS, RING_CAPACITY);
  }

  /** Registers a recorded instance; returns its owner id (passed to the recorders). */
  register(sink: FunctionEventSink, module: Module, defs: readonly FunctionDefinition[]): number {
    this.#owners.push(new RingOwner(sink, module, defs, this));
    return this.#owners.length - 1;
  }

  /** The shadow stack depth: what an invocation passes to {@link abortAbove} when it fails. */
  depth(): number {
    return this.i32[RING_SP >> 2]!;
  }

  /** Writes a record of owner `id` (the interpreter's recorder; the engines' aborts). */
  record(id: number, fi: number, kind: number): void {
    const i32 = this.i32;
    if (i32[RING_OWNER >> 2] !== id || i32[RING_POS >> 2]! >= RING_CAPACITY) this.switchTo(id);
    const p = i32[RING_POS >> 2]!;
    i32[(RING_FUNCS >> 2) + p] = fi;
    i32[(RING_KINDS >> 2) + p] = kind;
    const s = i32[RING_SP >> 2]!;
    if (kind === ENTER) {
      if (s < RING_STACK) {
        i32[(RING_STACK_BASE >> 2) + 2 * s] = fi;
        i32[(RING_STACK_BASE >> 2) + 2 * s + 1] = id;
      }
      i32[RING_SP >> 2] = s + 1;
    } else if (s > 0) {
      i32[RING_SP >> 2] = s - 1;
    }
    i32[RING_POS >> 2] = p + 1;
  }

  /** Counters of the first `n` records: one per record, following the last one delivered (which advances by `n`). */
  protected fillCounters(n: number): void {
    const f64 = this.f64;
    const last = f64[RING_COUNTER >> 3]!;
    f64[RING_COUNTER >> 3] = last + n;
    const counters = this.counters;
    for (let i = 0; i < n; i++) counters[i] = last + 1 + i;
  }

  /** Delivers the ring, then makes `id` its owner (the recorders call it on a change of owner or a full ring). */
  switchTo(id: number): void {
    this.flush();
    this.i32[RING_OWNER >> 2] = id;
  }

  /**
   * Makes the ring ready for a record of owner `id`: delivers it first when another owner's
   * records are in it or it is full (the cold path of the compiler's inline records).
   */
  claim(id: number): void {
    const i32 = this.i32;
    if (i32[RING_OWNER >> 2] !== id || i32[RING_POS >> 2]! >= RING_CAPACITY) this.switchTo(id);
  }

  /**
   * Delivers the records in the ring to their owner's sink and empties it (the recorders call it
   * when the ring is full; the engines when an invocation ends).
   */
  flush(): void {
    const i32 = this.i32;
    const n = i32[RING_POS >> 2]!;
    if (n === 0) return;
    i32[RING_POS >> 2] = 0;
    this.fillCounters(n);
    const counters = this.counters;
    const o = this.#owners[i32[RING_OWNER >> 2]!];
    if (o === undefined) return;
    o.length = n;
    o.functions = this.funcs.subarray(0, n);
    o.kinds = this.kinds.subarray(0, n);
    o.counters = counters.subarray(0, n);
    o.sink.onEvents(o);
  }

  /**
   * An error left the invocation that started at shadow stack depth `base`: writes an `Abort`
   * record for every frame entered since, innermost first, and delivers the ring. A sink's error
   * is dropped here (the call's error is the one the caller sees).
   */
  abortAbove(base: number): void {
    const i32 = this.i32;
    try {
      for (let s = i32[RING_SP >> 2]!; s > base; s = i32[RING_SP >> 2]!) {
        const k = s - 1;
        if (k < RING_STACK) this.record(i32[(RING_STACK_BASE >> 2) + 2 * k + 1]!, i32[(RING_STACK_BASE >> 2) + 2 * k]!, ABORT);
        else this.record(i32[RING_OWNER >> 2]!, -1, ABORT);
      }
      this.flush();
    } catch {
      // The call's error stays; the records are delivered with the next batch.
      if (i32[RING_SP >> 2]! > base) i32[RING_SP >> 2] = base;
    }
  }

  /**
   * A guest caught a wasm exception: the frames entered since depth `keep` were unwound; abort them
   * (innermost first) and go on.
   */
  unwindTo(keep: number): void {
    const i32 = this.i32;
    for (let s = i32[RING_SP >> 2]!; s > keep; s = i32[RING_SP >> 2]!) {
      const k = s - 1;
      this.record(
        k < RING_STACK ? i32[(RING_STACK_BASE >> 2) + 2 * k + 1]! : i32[RING_OWNER >> 2]!,
        k < RING_STACK ? i32[(RING_STACK_BASE >> 2) + 2 * k]! : -1,
        ABORT,
      );
    }
  }
}

/** A new ring over a plain buffer (the interpreter's). */
export function newEventRing(): EventRing {
  return new EventRing(new ArrayBuffer(RING_PAGES * 65536));
}
