/**
 * The CPU profiler: a function-listener factory measuring the self time of guest calls (wzprof's
 * semantics, on both engines through the shared listener protocol).
 *
 * - Self time: a call's time less the time of the calls it made that were timed (child time is
 *   subtracted from the parent).
 * - Sampling: each function counts its own calls down from `sampleEvery`; its first call and every
 *   `sampleEvery`-th after it are sampled (timed and recorded with their stack). A call that is not
 *   sampled costs a countdown and a push; its time stays in its nearest sampled caller's self time,
 *   so the profile's total time stays the time of the outermost calls whatever the rate. Counts are
 *   scaled by the rate (a sample stands for `sampleEvery` calls); times are not.
 * - Host functions: always timed; their time is left out of the profile unless `hostTime` is set
 *   (then they are sampled and recorded as guest functions are).
 * - Stacks: the profiler keeps its own stack of the open listened calls (every function it listens
 *   to pushes one frame per call, a function-level frame at its first line), so a sample costs no
 *   walk of the engine's stack. With `callSites`, sampled calls walk the engine's stack iterator
 *   instead, for the line of each caller's pending call (on the compiler engine each such walk
 *   captures V8's stack: tens of microseconds).
 * - Balance: the listener protocol gives exactly one `after` or `abort` per `before`, so traps,
 *   exits, host errors, timeouts and snapshot restores close frames too (an abort closes its frame
 *   as `after` does).
 */
import type { Context } from '../runtime/api/context.js';
import type { FunctionListener, FunctionListenerFactory, StackIterator } from '../runtime/api/listener.js';
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import { epochNanos, StackCounts, type StackProfile } from './profile.js';
import { FrameTable } from './symbols.js';

/**
 * Options of {@link newCpuProfiler}.
 * @experimental
 */
export interface CpuProfilerOptions {
  /**
   * Sample one call in this many, per function (a deterministic countdown: the first call and every
   * n-th after it). Counts in the profile are scaled by it; times are not.
   * @defaultValue 1 (every call)
   */
  readonly sampleEvery?: number;
  /**
   * Record time spent in host functions (as their own frames) instead of leaving it out.
   * @defaultValue false
   */
  readonly hostTime?: boolean;
  /**
   * Locate callers at the line of their pending call (a walk of the engine's stack per sampled
   * call) rather than at their first line (the profiler's own stack, no walk).
   * @defaultValue false
   */
  readonly callSites?: boolean;
  /**
   * The clock, in nanoseconds (any origin; only differences are used).
   * @defaultValue `process.hrtime()` in nanoseconds
   */
  readonly now?: () => number;
}

/**
 * A CPU profiler: give it to `withFunctionListenerFactory` (alone or in a
 * `multiFunctionListenerFactory`) for the modules to profile, host modules included; it records
 * from its creation (or {@link CpuProfiler.start}) until {@link CpuProfiler.stop}.
 * @experimental
 */
export interface CpuProfiler extends FunctionListenerFactory {
  /** Clears what was recorded and records from now on (a profiler starts recording when created). */
  start(): void;
  /**
   * Stops recording and returns the profile of the calls that ended while recording: sample types
   * `samples/count` (calls, scaled by the rate) and `cpu/nanoseconds` (self time).
   */
  stop(): StackProfile;
}

/** Nanoseconds from `process.hrtime()`: a few times cheaper than `performance.now()` on Node 20. */
const defaultNow = (): number => {
  const t = process.hrtime();
  return t[0] * 1e9 + t[1];
};

/**
 * A new CPU profiler.
 * @throws RangeError when `sampleEvery` is not a positive integer.
 * @experimental
 */
export function newCpuProfiler(options: CpuProfilerOptions = {}): CpuProfiler {
  const every = options.sampleEvery ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new RangeError(`sampleEvery must be a positive integer, got ${every}`);
  return new CpuProfilerImpl(every, options.hostTime === true, options.callSites === true, options.now ?? defaultNow);
}

/** The profiler's state: the open calls, the sampled ones among them, and the counts. */
class CpuProfilerImpl implements CpuProfiler {
  readonly sampleEvery: number;
  readonly hostTime: boolean;
  readonly callSites: boolean;
  readonly now: () => number;
  recording = true;
  /** Per open call: 1 when it is timed (it has an entry in the timed stack). */
  #open = new Uint8Array(256);
  /** Per open call: its function's frame id, and a hash of the frame ids from the outermost call to it. */
  #fid = new Int32Array(256);
  #hash = new Int32Array(256);
  #depth = 0;
  /** Counts rows by stack hash (rows of equal hash are told apart by their stacks). */
  readonly #byHash = new Map<number, number[]>();
  // The timed calls, innermost last: start time, time of timed children, counts row (-1: not recorded).
  readonly #start: number[] = [];
  readonly #sub: number[] = [];
  readonly #row: number[] = [];
  readonly #gen: number[] = [];
  #timed = 0;
  /** Bumped by start(): timed calls of an earlier recording are not recorded. */
  #generation = 0;
  readonly #frames = new FrameTable();
  readonly #counts = new StackCounts(2);
  readonly #ids: number[] = [];
  #timeNanos = epochNanos();
  #startClock: number;

  constructor(every: number, hostTime: boolean, callSites: boolean, now: () => number) {
    this.sampleEvery = every;
    this.hostTime = hostTime;
    this.callSites = callSites;
    this.now = now;
    this.#startClock = now();
  }

  newFunctionListener(def: FunctionDefinition): FunctionListener | undefined {
    const host = def.hostFunction() !== undefined;
    return new CpuListener(this, def, host && !this.hostTime);
  }

  /** The frame id of `def` as a whole (its first line). */
  frameOf(def: FunctionDefinition): number {
    return this.#frames.entry(def);
  }

  start(): void {
    this.#generation++;
    this.#counts.clear();
    this.#byHash.clear();
    this.recording = true;
    this.#timeNanos = epochNanos();
    this.#startClock = this.now();
  }

  stop(): StackProfile {
    const duration = Math.max(0, this.now() - this.#startClock);
    this.recording = false;
    const frames = this.#frames.frames;
    const c = this.#counts;
    return {
      sampleTypes: [
        { type: 'samples', unit: 'count' },
        { type: 'cpu', unit: 'nanoseconds' },
      ],
      defaultSampleType: 'cpu',
      samples: c.stacks.map((s, i) => ({ stack: s.map((id) => frames[id]!), values: c.values[i]!.slice() })),
      timeNanos: this.#timeNanos,
      durationNanos: Math.round(duration),
      periodType: { type: 'calls', unit: 'count' },
      period: this.sampleEvery,
      comments: [`wasmscope cpu profile: self time, sampleEvery=${this.sampleEvery}, hostTime=${this.hostTime}`],
    };
  }

  /** Opens a call of frame `fid`: pushes it on the profiler's stack; returns its depth. */
  #push(fid: number, timed: number): number {
    const d = this.#depth;
    if (d === this.#open.length) this.#grow();
    this.#open[d] = timed;
    this.#fid[d] = fid;
    this.#hash[d] = Math.imul((d === 0 ? 0x811c9dc5 : this.#hash[d - 1]!) ^ fid, 16777619);
    this.#depth = d + 1;
    return d;
  }

  /** Opens a call of frame `fid` that is not timed. */
  enterUntimed(fid: number): void {
    this.#push(fid, 0);
  }

  /**
   * Opens a timed call of frame `fid`, recorded under its stack when `stack` is given (walked with
   * `callSites`, else the profiler's own stack).
   */
  enterTimed(fid: number, stack: StackIterator | undefined): void {
    const d = this.#push(fid, 1);
    let row = -1;
    if (stack !== undefined) row = this.callSites ? this.#walk(stack) : this.#rowAt(d);
    const t = this.#timed++;
    this.#row[t] = row;
    this.#gen[t] = this.#generation;
    this.#sub[t] = 0;
    // Last, so the stack walk is not part of the call's time.
    this.#start[t] = this.now();
  }

  /** Closes the innermost open call. */
  exit(): void {
    const d = --this.#depth;
    if (d < 0) {
      // Not ours to close (a listener created while calls were open); stay balanced.
      this.#depth = 0;
      return;
    }
    if (this.#open[d] === 0) return;
    const end = this.now();
    const t = --this.#timed;
    const duration = end - this.#start[t]!;
    if (t > 0) this.#sub[t - 1]! += duration;
    const row = this.#row[t]!;
    if (row >= 0 && this.recording && this.#gen[t] === this.#generation) {
      const v = this.#counts.values[row]!;
      v[0]! += this.sampleEvery;
      v[1]! += Math.max(0, duration - this.#sub[t]!);
    }
  }

  /** The counts row of the open calls up to depth `d` (the profiler's own stack, leaf first). */
  #rowAt(d: number): number {
    const h = this.#hash[d]!;
    let bucket = this.#byHash.get(h);
    if (bucket !== undefined) {
      for (const row of bucket) {
        const s = this.#counts.stacks[row]!;
        if (s.length !== d + 1) continue;
        let k = 0;
        while (k <= d && s[k] === this.#fid[d - k]) k++;
        if (k > d) return row;
      }
    } else {
      bucket = [];
      this.#byHash.set(h, bucket);
    }
    const ids = this.#ids;
    ids.length = 0;
    for (let k = d; k >= 0; k--) ids.push(this.#fid[k]!);
    const row = this.#counts.row(ids);
    bucket.push(row);
    return row;
  }

  /** The counts row of the stack `stack` walks (frames at their pending instruction). */
  #walk(stack: StackIterator): number {
    const ids = this.#ids;
    ids.length = 0;
    const frames = this.#frames;
    while (stack.next()) {
      const f = stack.function();
      ids.push(frames.id(f.definition(), f.sourceOffsetForPC(stack.programCounter())));
    }
    return this.#counts.row(ids);
  }

  #grow(): void {
    const n = this.#open.length * 2;
    const open = new Uint8Array(n);
    open.set(this.#open);
    this.#open = open;
    const fid = new Int32Array(n);
    fid.set(this.#fid);
    this.#fid = fid;
    const hash = new Int32Array(n);
    hash.set(this.#hash);
    this.#hash = hash;
  }
}

/** The listener of one function: its frame and sampling countdown. */
class CpuListener implements FunctionListener {
  readonly #p: CpuProfilerImpl;
  readonly #def: FunctionDefinition;
  /** A host function whose time is left out: always timed, never recorded. */
  readonly #excluded: boolean;
  #countdown = 1;
  #fid = -1;

  constructor(p: CpuProfilerImpl, def: FunctionDefinition, excluded: boolean) {
    this.#p = p;
    this.#def = def;
    this.#excluded = excluded;
  }

  before(_ctx: Context, _mod: Module, _def: FunctionDefinition, _params: BigUint64Array, stack: StackIterator): void {
    const p = this.#p;
    if (this.#fid < 0) this.#fid = p.frameOf(this.#def);
    if (this.#excluded) {
      p.enterTimed(this.#fid, undefined);
      return;
    }
    if (!p.recording || --this.#countdown > 0) {
      p.enterUntimed(this.#fid);
      return;
    }
    this.#countdown = p.sampleEvery;
    p.enterTimed(this.#fid, stack);
  }

  after(): void {
    this.#p.exit();
  }

  abort(): void {
    this.#p.exit();
  }
}
