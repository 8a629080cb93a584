/**
 * Recording host calls: a function listener on every host function (listeners on host functions are
 * fixed when the host module is compiled, so the recorder rides on the context given to the host
 * module's `compile`/`instantiate`). Each call writes a CALL record at `before` and, at `after` or
 * `abort`, the memory ranges that changed during the call followed by how it ended.
 *
 * Detecting memory writes: host functions write guest memory through any view they like (WASI writes
 * through a whole-memory `Uint8Array`, and `Memory.read` hands out write-through views), so wrapping
 * the `Memory` API would miss writes. Instead the recorder copies the caller's memory before the call
 * (one native memcpy) and compares after it: one native memcmp of the whole memory, then, only when it
 * differs, native compares of smaller and smaller blocks down to 256 bytes, and byte by byte only
 * inside the 256-byte blocks that differ. The cost is linear in the
 * memory size per host call (see ARCHITECTURE.md for the measured figures).
 */
import type { Context } from '../runtime/api/context.js';
import { ExitError, HostFunctionError, WasmRuntimeError } from '../runtime/api/errors.js';
import {
  getFunctionListenerFactory,
  multiFunctionListenerFactory,
  withFunctionListenerFactory,
  type FunctionListener,
  type FunctionListenerFactory,
} from '../runtime/api/listener.js';
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import type { Writer } from '../sys/io.js';
import { logHeader, RecordWriter, Tag } from './format.js';

const PAGE = 65536;
/** Unchanged runs shorter than this inside a written range are kept in it (fewer, larger records). */
const MERGE_GAP = 16;

/** Options of {@link withHostCallRecorder}. */
export interface HostCallRecorderOptions {
  /**
   * Record the memory each call wrote (compare the caller's memory before and after each call).
   * @defaultValue true
   */
  readonly memory?: boolean;
}

interface Frame {
  mem: ReturnType<Module['memory']>;
  size: number;
  shadow: Uint8Array | undefined;
}

/** Shared state of one recording (all host functions compiled with its context write here). */
class Recording {
  readonly sink: Writer;
  readonly memory: boolean;
  readonly w = new RecordWriter();
  nextId = 0;
  readonly frames: Frame[] = [];
  /** Snapshot buffers per nesting depth, reused across calls. */
  readonly shadows: Uint8Array[] = [];

  constructor(sink: Writer, memory: boolean) {
    this.sink = sink;
    this.memory = memory;
    sink.write(logHeader());
  }

  declare(def: FunctionDefinition): number {
    const id = this.nextId++;
    const params = def.paramTypes();
    const results = def.resultTypes();
    this.w
      .byte(Tag.Func)
      .u(id)
      .str(def.moduleName())
      .str(def.exportNames()[0] ?? def.name())
      .u(params.length)
      .bytes(Uint8Array.from(params))
      .u(results.length)
      .bytes(Uint8Array.from(results));
    this.sink.write(this.w.take());
    return id;
  }

  begin(id: number, mod: Module, params: BigUint64Array): void {
    this.w.byte(Tag.Call).u(id);
    for (let i = 0; i < params.length; i++) this.w.u64(params[i]!);
    this.sink.write(this.w.take());
    const frame: Frame = { mem: undefined, size: 0, shadow: undefined };
    if (this.memory) {
      const mem = mod.memory();
      if (mem !== undefined) {
        const size = mem.size();
        const live = mem.read(0, size)!;
        const depth = this.frames.length;
        let shadow = this.shadows[depth];
        if (shadow === undefined || shadow.length < size) {
          shadow = new Uint8Array(Math.max(size, PAGE));
          this.shadows[depth] = shadow;
        }
        shadow.set(live);
        frame.mem = mem;
        frame.size = size;
        frame.shadow = shadow;
      }
    }
    this.frames.push(frame);
  }

  /** Writes the WRITE and GROW records of the innermost call (nothing is flushed yet). */
  #diff(): void {
    const f = this.frames.pop();
    if (f === undefined || f.mem === undefined || f.shadow === undefined) return;
    const live = f.mem.read(0, f.mem.size())!;
    const n = Math.min(f.size, live.length);
    const before = f.shadow.subarray(0, n);
    const after = live.subarray(0, n);
    if (Buffer.compare(before, after) !== 0) {
      const span = { start: -1, end: -1 };
      this.#scan(before, after, 0, n, PAGE, span, live);
      if (span.start >= 0) this.#write(span.start, live.subarray(span.start, span.end));
    }
    if (live.length !== f.size) {
      // Pages added during the call: record what is not zero in them.
      let start = -1;
      let end = -1;
      for (let i = n; i < live.length; i++) {
        if (live[i] === 0) continue;
        if (start >= 0 && i - end > MERGE_GAP) {
          this.#write(start, live.subarray(start, end));
          start = -1;
        }
        if (start < 0) start = i;
        end = i + 1;
      }
      if (start >= 0) this.#write(start, live.subarray(start, end));
      this.w.byte(Tag.Grow).u(live.length / PAGE);
    }
  }

  /**
   * Finds the changed bytes of [from, to) by native comparisons of halves, down from a 64 KiB page
   * to 256 bytes (a few calls per changed range: each native call costs ~0.3 µs, a JS loop over a
   * page ~60 µs), so only 256-byte blocks that differ are compared byte by byte; extends `span` with
   * each changed byte and writes a record when the next change is more than MERGE_GAP bytes away.
   */
  #scan(
    before: Uint8Array,
    after: Uint8Array,
    from: number,
    to: number,
    block: number,
    span: { start: number; end: number },
    live: Uint8Array,
  ): void {
    for (let p = from; p < to; p += block) {
      const q = Math.min(p + block, to);
      if (Buffer.compare(before.subarray(p, q), after.subarray(p, q)) === 0) continue;
      if (block > 256) {
        this.#scan(before, after, p, q, block / 2, span, live);
        continue;
      }
      for (let i = p; i < q; i++) {
        if (before[i] === after[i]) continue;
        if (span.start >= 0 && i - span.end > MERGE_GAP) {
          this.#write(span.start, live.subarray(span.start, span.end));
          span.start = -1;
        }
        if (span.start < 0) span.start = i;
        span.end = i + 1;
      }
    }
  }

  #write(offset: number, bytes: Uint8Array): void {
    this.w.byte(Tag.Write).u(offset).u(bytes.length).bytes(bytes);
  }

  end(results: BigUint64Array): void {
    this.#diff();
    this.w.byte(Tag.Return);
    for (let i = 0; i < results.length; i++) this.w.u64(results[i]!);
    this.sink.write(this.w.take());
  }

  fail(err: unknown): void {
    this.#diff();
    if (err instanceof ExitError) this.w.byte(Tag.Exit).u(err.exitCode);
    else if (err instanceof WasmRuntimeError) this.w.byte(Tag.Error).byte(0).str(err.trap);
    else {
      // A host function's error is recorded as the host threw it (the wasm stack trace is added again on replay).
      const e = err instanceof HostFunctionError ? err.cause : err;
      this.w
        .byte(Tag.Error)
        .byte(1)
        .str(e instanceof Error ? e.message : String(e));
    }
    this.sink.write(this.w.take());
  }
}

class RecordingListener implements FunctionListener {
  constructor(
    readonly rec: Recording,
    readonly id: number,
  ) {}
  before(_ctx: Context, mod: Module, _def: FunctionDefinition, params: BigUint64Array): void {
    this.rec.begin(this.id, mod, params);
  }
  after(_ctx: Context, _mod: Module, _def: FunctionDefinition, results: BigUint64Array): void {
    this.rec.end(results);
  }
  abort(_ctx: Context, _mod: Module, _def: FunctionDefinition, err: unknown): void {
    this.rec.fail(err);
  }
}

/**
 * A context that records every call of the host functions compiled with it — module, name, params,
 * results, the memory ranges the call wrote (with their bytes), and a trap, error or exit — to
 * `sink` in the host-call log format (see `decodeHostCallLog`). The log header is written at once.
 * Pass the context to the host modules' `instantiate` (for WASI: `wasi.instantiate(r, ctx)`); guest
 * functions compiled with it are not listened and cost nothing. A listener factory already on `ctx`
 * keeps working.
 *
 * Note: a host function that calls back into the guest is recorded with the guest's writes counted
 * as its own; the nested host calls appear nested in the log.
 * @param sink - receives the log in chunks (one per call boundary); a sink that throws fails the call.
 */
export function withHostCallRecorder(ctx: Context, sink: Writer, options: HostCallRecorderOptions = {}): Context {
  const rec = new Recording(sink, options.memory ?? true);
  const recorder: FunctionListenerFactory = {
    newFunctionListener(def: FunctionDefinition): FunctionListener | undefined {
      if (def.hostFunction() === undefined) return undefined;
      return new RecordingListener(rec, rec.declare(def));
    },
  };
  const existing = getFunctionListenerFactory(ctx);
  return withFunctionListenerFactory(ctx, existing === undefined ? recorder : multiFunctionListenerFactory(existing, recorder));
}

/** A {@link Writer} that keeps a log in memory. */
export interface HostCallLogBuffer extends Writer {
  /** Everything written so far, as one byte array. */
  bytes(): Uint8Array;
}

/** An in-memory sink for {@link withHostCallRecorder}. */
export function newHostCallLogBuffer(): HostCallLogBuffer {
  const chunks: Uint8Array[] = [];
  let total = 0;
  return {
    write(chunk: Uint8Array): number {
      chunks.push(chunk.slice());
      total += chunk.length;
      return chunk.length;
    },
    bytes(): Uint8Array {
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      return out;
    },
  };
}
