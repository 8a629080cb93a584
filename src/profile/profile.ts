/**
 * The in-memory form of a stack profile (CPU or memory): samples of stacks with values, the shape
 * of pprof's `perftools.profiles.Profile` without its tables. Encoded by pprof.ts, drawn by
 * flamegraph.ts.
 */
import type { ProfileFrame } from './symbols.js';

/**
 * The kind and unit of one value of every sample (`{ type: 'cpu', unit: 'nanoseconds' }`).
 * @experimental
 */
export interface ProfileValueType {
  /** What is measured (`cpu`, `samples`, `alloc_space`, …). */
  readonly type: string;
  /** Its unit (`nanoseconds`, `count`, `bytes`). */
  readonly unit: string;
}

/**
 * One sample: a stack, leaf (innermost call) first, and one value per {@link StackProfile.sampleTypes}.
 * @experimental
 */
export interface ProfileSample {
  /** The calls, innermost first. */
  readonly stack: readonly ProfileFrame[];
  /** One value per sample type. */
  readonly values: readonly number[];
}

/**
 * A stack profile: what a CPU or memory profiler recorded, ready to encode as pprof.
 * @experimental
 */
export interface StackProfile {
  /** What each sample value measures. */
  readonly sampleTypes: readonly ProfileValueType[];
  /** The value type pprof shows first (one of {@link sampleTypes}' `type`s). */
  readonly defaultSampleType: string;
  /** One sample per distinct stack. */
  readonly samples: readonly ProfileSample[];
  /** When recording started, in nanoseconds since the Unix epoch. */
  readonly timeNanos: bigint;
  /** How long recording lasted, in nanoseconds. */
  readonly durationNanos: number;
  /** The kind of events between two samples (pprof's `period_type`). */
  readonly periodType: ProfileValueType;
  /** How many such events one sample stands for (the sampling rate). */
  readonly period: number;
  /** Free-form comments (the sampling rate, the engine). */
  readonly comments: readonly string[];
}

/** The wall clock now, in nanoseconds since the Unix epoch (microsecond precision). */
export function epochNanos(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** Aggregates samples by stack: frame-id stacks (leaf first) and their values. */
export class StackCounts {
  readonly #index = new Map<string, number>();
  readonly stacks: number[][] = [];
  readonly values: number[][] = [];
  readonly #width: number;

  constructor(width: number) {
    this.#width = width;
  }

  /** The row of `stack` (frame ids, leaf first), created with zero values when new. */
  row(stack: readonly number[]): number {
    const key = stack.join(',');
    let i = this.#index.get(key);
    if (i === undefined) {
      i = this.stacks.length;
      this.#index.set(key, i);
      this.stacks.push(stack.slice());
      this.values.push(new Array<number>(this.#width).fill(0));
    }
    return i;
  }

  clear(): void {
    this.#index.clear();
    this.stacks.length = 0;
    this.values.length = 0;
  }
}
