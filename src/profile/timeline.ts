/**
 * The timeline recorder: every call as an open and a close event with its time, for timeline
 * views (speedscope's evented profiles, Chrome/Perfetto trace events). The listener protocol gives
 * exactly one `after` or `abort` per `before`, so events are balanced even when a trap, an exit or a
 * host error ends the calls; calls still open when the timeline is read are closed at that moment.
 */
import type { Context } from '../runtime/api/context.js';
import type { FunctionListener, FunctionListenerFactory, StackIterator } from '../runtime/api/listener.js';
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import { epochNanos } from './profile.js';
import { FrameTable, type ProfileFrame } from './symbols.js';

/**
 * Options of {@link newTimelineRecorder}.
 * @experimental
 */
export interface TimelineOptions {
  /**
   * At most this many calls are recorded; later calls are not (the timeline says how many were
   * dropped), so a long run cannot exhaust memory.
   * @defaultValue 1_000_000
   */
  readonly maxCalls?: number;
  /**
   * The clock, in nanoseconds (any origin).
   * @defaultValue `process.hrtime()` in nanoseconds
   */
  readonly now?: () => number;
}

/**
 * One event of a timeline: a call opening (`'O'`) or closing (`'C'`) at time `at` (nanoseconds
 * since the recording started).
 * @experimental
 */
export interface TimelineEvent {
  /** Open or close. */
  readonly type: 'O' | 'C';
  /** An index into {@link Timeline.frames}. */
  readonly frame: number;
  /** Nanoseconds since the recording started. */
  readonly at: number;
}

/**
 * What a timeline recorder recorded.
 * @experimental
 */
export interface Timeline {
  /** The called functions (one frame per function, at its first instruction). */
  readonly frames: readonly ProfileFrame[];
  /** Balanced and in order: `at` never decreases, every `O` has its `C`, innermost closes first. */
  readonly events: readonly TimelineEvent[];
  /** When recording started, in nanoseconds since the Unix epoch. */
  readonly timeNanos: bigint;
  /** The time of the last event (nanoseconds since the recording started). */
  readonly endNanos: number;
  /** Calls not recorded because of `maxCalls`. */
  readonly droppedCalls: number;
}

/**
 * A timeline recorder: give it to `withFunctionListenerFactory` (host modules included, to see
 * host calls).
 * @experimental
 */
export interface TimelineRecorder extends FunctionListenerFactory {
  /** The timeline so far; calls still open are shown closed now. */
  timeline(): Timeline;
}

/** Nanoseconds from `process.hrtime()`: a few times cheaper than `performance.now()` on Node 20. */
const defaultNow = (): number => {
  const t = process.hrtime();
  return t[0] * 1e9 + t[1];
};

/**
 * A new timeline recorder.
 * @experimental
 */
export function newTimelineRecorder(options: TimelineOptions = {}): TimelineRecorder {
  return new TimelineRecorderImpl(options.maxCalls ?? 1_000_000, options.now ?? defaultNow);
}

class TimelineRecorderImpl implements TimelineRecorder {
  readonly #now: () => number;
  readonly #max: number;
  readonly #frames = new FrameTable();
  // Events as parallel arrays: frame id (negative: close of frame ~id), time.
  #frame = new Int32Array(1024);
  #at = new Float64Array(1024);
  #n = 0;
  #calls = 0;
  #dropped = 0;
  /** Per open call: whether it was recorded (1) or dropped (0). */
  #open = new Uint8Array(256);
  #depth = 0;
  readonly #timeNanos = epochNanos();
  readonly #t0: number;

  constructor(max: number, now: () => number) {
    this.#max = max;
    this.#now = now;
    this.#t0 = now();
  }

  newFunctionListener(def: FunctionDefinition): FunctionListener | undefined {
    return new TimelineListener(this, def);
  }

  frameId(def: FunctionDefinition): number {
    return this.#frames.entry(def);
  }

  open(frame: number): void {
    const d = this.#depth;
    if (d === this.#open.length) {
      const n = new Uint8Array(d * 2);
      n.set(this.#open);
      this.#open = n;
    }
    this.#depth = d + 1;
    if (this.#calls >= this.#max) {
      this.#open[d] = 0;
      this.#dropped++;
      return;
    }
    this.#calls++;
    this.#open[d] = 1;
    this.#push(frame, this.#now() - this.#t0);
  }

  close(frame: number): void {
    const d = --this.#depth;
    if (d < 0) {
      this.#depth = 0;
      return;
    }
    if (this.#open[d] === 1) this.#push(~frame, this.#now() - this.#t0);
  }

  #push(frame: number, at: number): void {
    const n = this.#n;
    if (n === this.#frame.length) {
      const f = new Int32Array(n * 2);
      f.set(this.#frame);
      this.#frame = f;
      const a = new Float64Array(n * 2);
      a.set(this.#at);
      this.#at = a;
    }
    this.#frame[n] = frame;
    // A clock never goes back, but keep `at` non-decreasing whatever the clock does.
    this.#at[n] = n > 0 && at < this.#at[n - 1]! ? this.#at[n - 1]! : at;
    this.#n = n + 1;
  }

  timeline(): Timeline {
    const events: TimelineEvent[] = [];
    const stack: number[] = [];
    let last = 0;
    for (let i = 0; i < this.#n; i++) {
      const f = this.#frame[i]!;
      last = this.#at[i]!;
      if (f >= 0) {
        stack.push(f);
        events.push({ type: 'O', frame: f, at: last });
      } else {
        stack.pop();
        events.push({ type: 'C', frame: ~f, at: last });
      }
    }
    if (stack.length > 0) last = Math.max(last, this.#now() - this.#t0);
    while (stack.length > 0) events.push({ type: 'C', frame: stack.pop()!, at: last });
    return { frames: this.#frames.frames.slice(), events, timeNanos: this.#timeNanos, endNanos: last, droppedCalls: this.#dropped };
  }
}

class TimelineListener implements FunctionListener {
  readonly #r: TimelineRecorderImpl;
  readonly #def: FunctionDefinition;
  #frame = -1;

  constructor(r: TimelineRecorderImpl, def: FunctionDefinition) {
    this.#r = r;
    this.#def = def;
  }

  before(_ctx: Context, _mod: Module, _def: FunctionDefinition, _params: BigUint64Array, _stack: StackIterator): void {
    if (this.#frame < 0) this.#frame = this.#r.frameId(this.#def);
    this.#r.open(this.#frame);
  }

  after(): void {
    this.#r.close(this.#frame);
  }

  abort(): void {
    this.#r.close(this.#frame);
  }
}
