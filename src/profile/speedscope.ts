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
  readonly name: string;
  readonly file?: string;
  readonly line?: number;
}

/**
 * An open (`O`) or close (`C`) event of a speedscope evented profile.
 * @experimental
 */
export interface SpeedscopeEvent {
  readonly type: 'O' | 'C';
  readonly frame: number;
  readonly at: number;
}

/**
 * A speedscope file holding one evented profile.
 * @experimental
 */
export interface SpeedscopeFile {
  readonly $schema: 'https://www.speedscope.app/file-format-schema.json';
  readonly shared: { readonly frames: readonly SpeedscopeFrame[] };
  readonly profiles: ReadonlyArray<{
    readonly type: 'evented';
    readonly name: string;
    readonly unit: 'nanoseconds';
    readonly startValue: number;
    readonly endValue: number;
    readonly events: readonly SpeedscopeEvent[];
  }>;
  readonly name: string;
  readonly activeProfileIndex: number;
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
