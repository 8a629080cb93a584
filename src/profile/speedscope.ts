/**
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json): a timeline as one
 * evented profile, its frames shared, times in nanoseconds.
 */
import type { Timeline } from './timeline.js';

/**
 * A frame of a speedscope file.
 * @experimental
 */
export interface SpeedscopeFrame {
  /** The function's name (host functions: `module.name`). */
  readonly name: string;
  /** Its source file from DWARF, when known. */
  readonly file?: string;
  /** Its first line from DWARF, when known. */
  readonly line?: number;
}

/**
 * An open (`O`) or close (`C`) event of a speedscope evented profile.
 * @experimental
 */
export interface SpeedscopeEvent {
  /** Open or close. */
  readonly type: 'O' | 'C';
  /** An index into the shared frames. */
  readonly frame: number;
  /** Nanoseconds since the recording started. */
  readonly at: number;
}

/**
 * A speedscope file holding one evented profile.
 * @experimental
 */
export interface SpeedscopeFile {
  /** speedscope's schema. */
  readonly $schema: 'https://www.speedscope.app/file-format-schema.json';
  /** The frames the events refer to. */
  readonly shared: {
    /** Every frame the events name, by index. */
    readonly frames: readonly SpeedscopeFrame[];
  };
  /** One evented profile, times in nanoseconds from 0 to the last event. */
  readonly profiles: ReadonlyArray<{
    /** An evented profile (open and close events). */
    readonly type: 'evented';
    /** The profile's name. */
    readonly name: string;
    /** Times are nanoseconds. */
    readonly unit: 'nanoseconds';
    /** When the profile starts. */
    readonly startValue: number;
    /** When it ends. */
    readonly endValue: number;
    /** Open and close events, in time order. */
    readonly events: readonly SpeedscopeEvent[];
  }>;
  /** The file's name (the guest's, for example). */
  readonly name: string;
  /** The profile shown first (0). */
  readonly activeProfileIndex: number;
  /** `wasmscope`. */
  readonly exporter: string;
}

/**
 * The speedscope file of `timeline` (write it with `JSON.stringify`).
 * @param name - the profile's name (the guest's file name, for example).
 * @experimental
 */
export function toSpeedscope(timeline: Timeline, name = 'wasm'): SpeedscopeFile {
  const frames = timeline.frames.map((f): SpeedscopeFrame => {
    const label = f.host ? `${f.module}.${f.function}` : f.function;
    return f.file === '' ? { name: label } : { name: label, file: f.file, line: f.line };
  });
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    shared: { frames },
    profiles: [
      {
        type: 'evented',
        name,
        unit: 'nanoseconds',
        startValue: 0,
        endValue: timeline.endNanos,
        events: timeline.events.map((e) => ({ type: e.type, frame: e.frame, at: e.at })),
      },
    ],
    name,
    activeProfileIndex: 0,
    exporter: 'wasmscope',
  };
}
