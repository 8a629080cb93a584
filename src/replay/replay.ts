/**
 * Replaying a host-call log: host modules whose functions never touch the host. Each call from the
 * guest must be the next call of the log (same function, same params); it then gets the recorded
 * effects — memory writes, memory growth — and the recorded outcome: results, exit, trap or error.
 * The first call that differs fails with {@link HostCallDivergenceError}, naming its index and both
 * calls, and is kept for {@link HostCallReplay.divergence}.
 */
import { Context } from '../runtime/api/context.js';
import { ExitError, Trap, WasmRuntimeError } from '../runtime/api/errors.js';
import type { Module } from '../runtime/api/module.js';
import { slotsOfTypes, type ValueType } from '../runtime/api/value-type.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { newModuleConfigImpl } from '../runtime/store/config.js';
import {
  decodeHostCallLog,
  formatCallHead,
  formatHostCallRecord,
  type HostCallFunction,
  type HostCallLog,
  type HostCallRecord,
} from './format.js';

/** Where a replay and its log parted: the call index, what the log has there and what the guest called. */
export interface HostCallDivergence {
  /** Index (among the replayed top-level calls) of the first call that differs. */
  readonly index: number;
  /** The recorded call at that index, as text, or undefined when the log had ended. */
  readonly expected: string | undefined;
  /** The call the guest made, as text (`module.name(params)`). */
  readonly actual: string;
}

/** The guest's calls left the recorded sequence. */
export class HostCallDivergenceError extends Error {
  /** Always `'HostCallDivergenceError'`. */
  override readonly name = 'HostCallDivergenceError';
  /** The divergence. */
  readonly divergence: HostCallDivergence;
  constructor(d: HostCallDivergence) {
    super(
      d.expected === undefined
        ? `host call #${d.index} diverges: the guest called ${d.actual}, but the recording has ended`
        : d.actual === ''
          ? `host call #${d.index} diverges: the guest made no more calls, but the recording continues with\n${d.expected}`
          : `host call #${d.index} diverges: the guest called ${d.actual}, the recording has\n${d.expected}`,
    );
    this.divergence = d;
  }
}

/** Host modules that replay a log. */
export interface HostCallReplay {
  /** The decoded log. */
  readonly log: HostCallLog;
  /** Names of the host modules the log declares, in order. */
  moduleNames(): string[];
  /**
   * Instantiates one replaying host module per module name into `r` (the real ones must not be
   * there). Their functions are exactly the recorded host modules' functions.
   */
  instantiate(r: Runtime, ctx?: Context): Promise<Module[]>;
  /** Number of calls replayed so far. */
  position(): number;
  /** Number of calls the guest is expected to make (the calls the guest made directly). */
  length(): number;
  /** The first divergence, if any. */
  divergence(): HostCallDivergence | undefined;
  /**
   * Checks that the replay matched the whole log.
   * @throws HostCallDivergenceError at the first divergence, or when recorded calls were not made.
   */
  assertComplete(): void;
}

const TRAPS = new Set<string>(Object.values(Trap));

class Replay implements HostCallReplay {
  readonly log: HostCallLog;
  /** The calls the guest made directly (nested calls happened inside a host call and are not repeated). */
  readonly #calls: HostCallRecord[];
  #pos = 0;
  #divergence: HostCallDivergence | undefined;

  constructor(log: HostCallLog) {
    this.log = log;
    this.#calls = log.calls.filter((c) => c.depth === 0);
  }

  moduleNames(): string[] {
    return [...new Set(this.log.functions.map((f) => f.module))];
  }

  position(): number {
    return this.#pos;
  }

  length(): number {
    return this.#calls.length;
  }

  divergence(): HostCallDivergence | undefined {
    return this.#divergence;
  }

  assertComplete(): void {
    if (this.#divergence !== undefined) throw new HostCallDivergenceError(this.#divergence);
    const next = this.#calls[this.#pos];
    if (next !== undefined) throw new HostCallDivergenceError({ index: this.#pos, expected: formatHostCallRecord(next), actual: '' });
  }

  #diverge(d: HostCallDivergence): never {
    this.#divergence ??= d;
    throw new HostCallDivergenceError(d);
  }

  /** Replays one call of `fn` from `caller` with raw params in `stack`. */
  call(fn: HostCallFunction, caller: Module, stack: BigUint64Array, paramSlots: number): void {
    const params = Array.from(stack.subarray(0, paramSlots));
    const index = this.#pos;
    if (this.#divergence !== undefined) this.#diverge(this.#divergence);
    const rec = this.#calls[index];
    const actual = formatCallHead(fn, params);
    if (rec === undefined) this.#diverge({ index, expected: undefined, actual });
    const same =
      rec.function.module === fn.module &&
      rec.function.name === fn.name &&
      rec.params.length === params.length &&
      rec.params.every((p, i) => p === params[i]);
    if (!same) this.#diverge({ index, expected: formatHostCallRecord(rec), actual });
    this.#pos++;
    const mem = caller.memory();
    if (rec.grownToPages !== undefined && mem !== undefined) {
      const delta = rec.grownToPages - mem.size() / 65536;
      if (delta > 0 && mem.grow(delta) === undefined)
        throw new Error(`replay of ${actual}: cannot grow memory to ${rec.grownToPages} pages`);
    }
    for (const w of rec.writes) {
      if (mem === undefined || !mem.write(w.offset, w.bytes)) {
        throw new Error(`replay of ${actual}: cannot write ${w.bytes.length} bytes at 0x${w.offset.toString(16)}`);
      }
    }
    const o = rec.outcome;
    switch (o.kind) {
      case 'returned':
        for (let i = 0; i < o.results.length; i++) stack[i] = o.results[i]!;
        return;
      case 'exited':
        void caller.closeWithExitCode(o.exitCode);
        throw new ExitError(o.exitCode);
      case 'trapped':
        throw TRAPS.has(o.trap) ? new WasmRuntimeError(o.trap as Trap) : new Error(o.trap);
      case 'threw':
        throw new Error(o.message);
      case 'unfinished':
        throw new Error(`replay of ${actual}: the recording ends inside this call`);
    }
  }

  async instantiate(r: Runtime, ctx?: Context): Promise<Module[]> {
    const out: Module[] = [];
    for (const name of this.moduleNames()) {
      const b = r.newHostModuleBuilder(name);
      const seen = new Set<string>();
      for (const fn of this.log.functions) {
        if (fn.module !== name || seen.has(fn.name)) continue;
        seen.add(fn.name);
        const paramSlots = slotsOfTypes(fn.params);
        b.newFunctionBuilder()
          .withModuleFunction(
            (_ctx, caller, stack) => this.call(fn, caller, stack, paramSlots),
            fn.params as ValueType[],
            fn.results as ValueType[],
          )
          .export(fn.name);
      }
      const compiled = await b.compile(ctx);
      out.push(await r.instantiateModule(compiled, newModuleConfigImpl().withName(name), ctx ?? Context.background()));
    }
    return out;
  }
}

/**
 * Host modules that replay `log` (bytes written by `withHostCallRecorder`, or a decoded log).
 * @throws HostCallLogError when the bytes are not a valid log.
 */
export function replayHostCalls(log: Uint8Array | HostCallLog): HostCallReplay {
  return new Replay(log instanceof Uint8Array ? decodeHostCallLog(log) : log);
}
