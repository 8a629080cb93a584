/**
 * Chrome's trace event format (the JSON object form), which chrome://tracing and Perfetto's UI
 * open: one complete event (`ph: "X"`) per call, guest calls in category `wasm`, host calls in
 * category `host`, times in microseconds.
 */
import type { Timeline } from './timeline.js';

/**
 * One trace event: a complete call (`X`) or metadata (`M`).
 * @experimental
 */
export interface TraceEvent {
  /** The function's name (host functions: `module.name`), or the metadata's name. */
  readonly name: string;
  /** `wasm` for guest calls, `host` for host calls. */
  readonly cat?: string;
  /** `X`: a complete call; `M`: metadata (process and thread names). */
  readonly ph: 'X' | 'M';
  /** Start, in microseconds since the recording started. */
  readonly ts: number;
  /** Duration, in microseconds (`X` events). */
  readonly dur?: number;
  /** Process id (1). */
  readonly pid: number;
  /** Thread id (1). */
  readonly tid: number;
  /** The module, and the file and line from DWARF when known. */
  readonly args?: Readonly<Record<string, string | number>>;
}

/**
 * A trace event file.
 * @experimental
 */
export interface TraceEventFile {
  /** Metadata first, then the calls by start time (callers before callees). */
  readonly traceEvents: readonly TraceEvent[];
  /** How viewers show times. */
  readonly displayTimeUnit: 'ns';
  /** The producer, the recording's start (ns since the epoch) and the calls dropped. */
  readonly otherData: Readonly<Record<string, string>>;
}

/**
 * The trace event file of `timeline` (write it with `JSON.stringify`).
 * @param name - the process name shown (the guest's file name, for example).
 * @experimental
 */
export function toTraceEvents(timeline: Timeline, name = 'wasm'): TraceEventFile {
  const calls: TraceEvent[] = [];
  const open: Array<{ frame: number; at: number }> = [];
  for (const e of timeline.events) {
    if (e.type === 'O') {
      open.push({ frame: e.frame, at: e.at });
      continue;
    }
    const o = open.pop();
    if (o === undefined) continue;
    const f = timeline.frames[o.frame]!;
    const args: Record<string, string | number> = { module: f.module };
    if (f.file !== '') {
      args['file'] = f.file;
      args['line'] = f.line;
    }
    calls.push({
      name: f.host ? `${f.module}.${f.function}` : f.function,
      cat: f.host ? 'host' : 'wasm',
      ph: 'X',
      ts: o.at / 1000,
      dur: (e.at - o.at) / 1000,
      pid: 1,
      tid: 1,
      args,
    });
  }
  // Callers before callees: by start, the longer first.
  calls.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const meta: TraceEvent[] = [
    { name: 'process_name', ph: 'M', ts: 0, pid: 1, tid: 1, args: { name } },
    { name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid: 1, args: { name: 'guest' } },
  ];
  return {
    traceEvents: [...meta, ...calls],
    displayTimeUnit: 'ns',
    otherData: { producer: 'wasmscope', startTimeNanos: timeline.timeNanos.toString(), droppedCalls: String(timeline.droppedCalls) },
  };
}
