/**
 * Listeners and interrupt checks of the compiler engine, reached through the hook table appended
 * by the rewrite (rewrite.ts, instrument.ts): `before(fi, params…)` at entry, `after(fi,
 * results…)` at every exit, `tail(fi)` before a tail call, `check(0)` for interrupts. The hooks
 * are import adapters (boundary.ts) that put their arguments in scratch slots, so a listener gets
 * `BigUint64Array` views over scratch (no copy, no BigInt until read) and the function index
 * arrives as a plain number. Open frames are kept by the shared listener protocol
 * (store/hooks.ts), which aborts them when an error leaves an engine invocation.
 *
 * Caller frames for stack iterators come from V8's own stack, captured only when an iterator is
 * walked past its first frame: unlistened callers show too, at their pending call's offset.
 *
 * Engine-specific choices (the semantics are shared, test/engines/listeners.test.ts):
 * - params/results views are valid during the callback only, and only until the listener calls
 *   back into wasm (they are views over the engine's scratch memory);
 * - before-only listeners instrument the entry only.
 */
import type { InternalFunction, StackIterator } from '../runtime/api/listener.js';
import type { Module as ApiModule } from '../runtime/api/module.js';
import { I32 } from '../runtime/api/value-type.js';
import type { FuncType, ValType } from '../runtime/binary/module.js';
import {
  contextDoneExitCode,
  ListenedFrame,
  listensExits,
  opensFrames,
  reopenOnOverflow,
  stopForContextDone,
} from '../runtime/store/hooks.js';
import { slotLayout } from './boundary.js';
import type { CompiledModuleImpl } from './compiled.js';
import type { EngineState } from './state.js';
import { parseGuestFrames } from './traps.js';
import { recordersFor } from './sink.js';

/**
 * The iterator handed to `before`. Its first frame is the called function; the callers are parsed
 * from a V8 stack capture on the first `next()` past it (so an unused iterator costs nothing).
 * Program counters are original absolute offsets (host functions: 0).
 */
export class CompilerStackIterator implements StackIterator {
  readonly #state: EngineState;
  readonly #top: InternalFunction;
  readonly #topPc: number;
  /** Guest frames to skip at the top of the capture (the listened function's own frame). */
  readonly #skip: number;
  #fns: InternalFunction[] = [];
  #pcs: number[] = [];
  #n = 0;
  #i = -1;
  #captured = false;

  constructor(state: EngineState, top: InternalFunction, pc: number, skip: number) {
    this.#state = state;
    this.#top = top;
    this.#topPc = pc;
    this.#skip = skip;
  }

  /** Rewinds for a new `before` (each listened function has its own iterator: no allocation per call). */
  reset(): this {
    this.#i = -1;
    this.#captured = false;
    this.#n = 0;
    return this;
  }

  next(): boolean {
    if (this.#i === -1) {
      this.#i = 0;
      return true;
    }
    if (!this.#captured) this.#capture();
    if (this.#i >= this.#n) return false;
    this.#i++;
    return true;
  }

  function(): InternalFunction {
    if (this.#i <= 0) return this.#top;
    return this.#fns[this.#i - 1]!;
  }

  programCounter(): number {
    if (this.#i <= 0) return this.#topPc;
    return this.#pcs[this.#i - 1]!;
  }

  #capture(): void {
    this.#captured = true;
    const holder: { stack?: string } = {};
    const prev = Error.stackTraceLimit;
    Error.stackTraceLimit = Infinity;
    try {
      Error.captureStackTrace(holder);
    } finally {
      Error.stackTraceLimit = prev;
    }
    let skip = this.#skip;
    let n = 0;
    parseGuestFrames(holder.stack ?? '', this.#state, (src, funcIndex, offset) => {
      if (skip > 0) {
        skip--;
        return;
      }
      this.#fns[n] = (src as CompiledModuleImpl).internalFunction(funcIndex);
      this.#pcs[n] = offset;
      n++;
    });
    this.#n = n;
  }
}

/** A listened function of an instance: what its hooks need. */
class Listened extends ListenedFrame {
  constructor(
    frame: ListenedFrame,
    readonly it: CompilerStackIterator,
    /** False for before-only listeners: no exit hooks, no open frame. */
    readonly exits: boolean,
    /** False for before-only and after-only listeners: no open frame (the after hook pops none). */
    readonly opens: boolean,
    readonly params: BigUint64Array,
    readonly results: BigUint64Array,
    readonly paramTypes: readonly ValType[],
    readonly resultTypes: readonly ValType[],
  ) {
    super(frame.listener, frame.def, frame.mod);
  }
}

const EMPTY = new BigUint64Array(0);

/** What `abort` gets for a frame an exception unwinds where V8 cannot hand the exception over (no exnref). */
const UNWINDING = new Error('a wasm exception unwound this frame (this V8 cannot show it: no exnref)');
const I32_ONLY: FuncType = { params: [I32], results: [] };

/** Listening mode per function index for the rewrite: 0 not listened, 1 entry and exits, 2 entry only, 3 exits only. */
export function listenModes(listeners: ReadonlyArray<ListenedFrame['listener'] | undefined> | undefined): number[] | undefined {
  return listeners?.map((l) => (l === undefined ? 0 : !listensExits(l) ? 2 : opensFrames(l) ? 1 : 3));
}

/** The filled hook table of a new instance (listener hooks, interrupt check). */
export function hookTable(state: EngineState, code: CompiledModuleImpl, api: ApiModule): WebAssembly.Table {
  const m = code.module;
  const b = state.boundary;
  const table = new WebAssembly.Table({ element: 'anyfunc', initial: code.rw.hooks.length, maximum: code.rw.hooks.length });
  const lis: Array<Listened | undefined> = [];
  const listeners = code.listeners;
  if (listeners !== undefined) {
    for (let fi = m.numImportedFuncs; fi < listeners.length; fi++) {
      const l = listeners[fi];
      if (l === undefined) continue;
      const t = m.types[m.funcTypeIndexSpace[fi]!]!;
      lis[fi] = new Listened(
        new ListenedFrame(l, code.defs[fi]!, api),
        new CompilerStackIterator(state, code.internalFunction(fi), m.codes[fi - m.numImportedFuncs]!.codeStart, 1),
        listensExits(l),
        opensFrames(l),
        new BigUint64Array(b.memory.buffer, 8, slotLayout(t.params).total),
        new BigUint64Array(b.memory.buffer, 8, slotLayout(t.results).total),
        t.params,
        t.results,
      );
    }
  }
  const u32 = b.u32;
  // Whether every listened function's listener opens frames (before, after and abort: the common
  // full listener); its hooks are literals of their own (no `opens` test, feedback of their own).
  const allOpen = lis.every((l) => l === undefined || l.opens);
  // Compiled for snapshots: unwinds and rewinds neither leave nor enter frames, so hooks keep
  // still. Every hook goes through hook() (errors into the guest as exceptions.ts decides).
  const rewind = code.asy === undefined ? undefined : state.rewind;
  const still = (f: (...refs: unknown[]) => void): ((...refs: unknown[]) => void) =>
    hook(
      state,
      rewind === undefined
        ? f
        : (...refs: unknown[]): void => {
            if (rewind.mode === 0) f(...refs);
          },
    );
  /** Writes the raw handles of reference values (passed to an adapter as JS values) into scratch. */
  const refsToScratch = (types: readonly ValType[], refs: readonly unknown[]): void => {
    const l = slotLayout([I32, ...types]);
    for (let k = 0; k < l.refs.length; k++) {
      const i = l.refs[k]!;
      b.u64[l.slot[i]!] = state.refs.toRaw(types[i - 1]!, refs[k]);
    }
  };
  // Event-sink recorders (wasm functions writing the engine's ring) or the inline records' cold function (sink.ts).
  const recorders =
    code.eventSink !== undefined && code.rw.hooks.some((h) => h.kind === 'sinkEnter' || h.kind === 'sinkCold')
      ? recordersFor(state.eventRing, state.eventRing.register(code.eventSink, api, code.defs))
      : undefined;
  code.rw.hooks.forEach((h, slot) => {
    let fn: unknown;
    switch (h.kind) {
      case 'sinkEnter':
        fn = recorders!.enter;
        break;
      case 'sinkExit':
        fn = recorders!.exit;
        break;
      case 'sinkTail':
        fn = recorders!.tail;
        break;
      case 'sinkAbort':
        fn = recorders!.abort;
        break;
      case 'sinkCold':
        fn = recorders!.cold;
        break;
      case 'before': {
        const hasRefs = slotLayout(h.type.params).refs.length > 0;
        const before = (): void => {
          const e = lis[u32[0]!]!;
          e.listener.before(state.ctx!, api, e.def, e.params, e.it.reset());
          // Inline push: no call between a returned before and its open frame (a call could overflow the stack).
          if (e.opens) {
            const ls = state.listeners;
            ls.frames[ls.sp++] = e;
          }
        };
        if (!hasRefs && rewind === undefined && allOpen) {
          // Every listened function opens frames (full listeners): a literal of its own, so its call
          // of `before` keeps its own type feedback (module comment).
          fn = b.hookAdapterFor(h.type, (fi: number): void => {
            try {
              const e = lis[fi]!;
              e.listener.before(state.ctx!, api, e.def, e.params, e.it.reset());
              const ls = state.listeners;
              ls.frames[ls.sp++] = e;
            } catch (err) {
              throw state.exceptions.toGuest(err);
            }
          });
          break;
        }
        if (!hasRefs && rewind === undefined) {
          // The common hook, allocation-free: no rest-args wrapper, the guard inline, the function index an argument.
          fn = b.hookAdapterFor(h.type, (fi: number): void => {
            try {
              const e = lis[fi]!;
              e.listener.before(state.ctx!, api, e.def, e.params, e.it.reset());
              if (e.opens) {
                const ls = state.listeners;
                ls.frames[ls.sp++] = e;
              }
            } catch (err) {
              throw state.exceptions.toGuest(err);
            }
          });
          break;
        }
        fn = b.adapterFor(
          h.type,
          still(
            hasRefs
              ? (...refs: unknown[]): void => {
                  refsToScratch(lis[u32[0]!]!.paramTypes, refs);
                  before();
                }
              : before,
          ),
        );
        break;
      }
      case 'after': {
        const hasRefs = slotLayout(h.type.params).refs.length > 0;
        const after = (): void => {
          // The exiting frame is the innermost open one; an after-only listener's has none.
          const a = lis[u32[0]!]!;
          const e = a.opens ? (state.listeners.pop() as Listened) : a;
          try {
            e.listener.after(state.ctx!, api, e.def, e.results);
          } catch (err) {
            if (e.opens) reopenOnOverflow(state.listeners, e, err);
            throw err;
          }
        };
        if (!hasRefs && rewind === undefined && allOpen) {
          // Full listeners (see before): the exiting frame is the innermost open one.
          fn = b.hookAdapterFor(h.type, (): void => {
            const ls = state.listeners;
            const e = ls.frames[--ls.sp] as Listened;
            try {
              e.listener.after(state.ctx!, api, e.def, e.results);
            } catch (err) {
              reopenOnOverflow(ls, e, err);
              throw state.exceptions.toGuest(err);
            }
          });
          break;
        }
        if (!hasRefs && rewind === undefined) {
          // The common hook, allocation-free: no rest-args wrapper, the guard inline, the function index an argument.
          fn = b.hookAdapterFor(h.type, (fi: number): void => {
            const a = lis[fi]!;
            const ls = state.listeners;
            const e = a.opens ? (ls.frames[--ls.sp] as Listened) : a;
            try {
              e.listener.after(state.ctx!, api, e.def, e.results);
            } catch (err) {
              if (e.opens) reopenOnOverflow(ls, e, err);
              throw state.exceptions.toGuest(err);
            }
          });
          break;
        }
        fn = b.adapterFor(
          h.type,
          still(
            hasRefs
              ? (...refs: unknown[]): void => {
                  refsToScratch(lis[u32[0]!]!.resultTypes, refs);
                  after();
                }
              : after,
          ),
        );
        break;
      }
      case 'tail':
        fn = b.adapterFor(
          I32_ONLY,
          still((): void => {
            const a = lis[u32[0]!]!;
            const e = a.opens ? state.listeners.pop() : a;
            try {
              e.listener.after(state.ctx!, api, e.def, EMPTY);
            } catch (err) {
              if (a.opens) reopenOnOverflow(state.listeners, e, err);
              throw err;
            }
          }),
        );
        break;
      case 'check':
        fn = b.adapterFor(
          I32_ONLY,
          hook(state, (): void => checkInterrupt(state)),
        );
        break;
      case 'abort':
        // An exception is leaving a listened body (its unwind wrapper, instrument.ts): its frame is
        // the innermost open one; with exnref the wrapper stashed the exception, read back here.
        fn = b.adapterFor(I32_ONLY, (): void => {
          const err = code.rw.hooks.some((x) => x.kind === 'stash') ? state.exceptions.stashed() : UNWINDING;
          const ls = state.listeners;
          if (ls.sp > 0) ls.abortAbove(ls.sp - 1, state.ctx, err);
        });
        break;
      case 'stash':
        fn = state.exceptions.stashHelper().stash;
        break;
      case 'dirty':
        return; // the engine sets the mark function of the instance's memory
    }
    table.set(slot, fn);
  });
  return table;
}

/**
 * `fn` as a hook: an error it throws (a listener's, an exit) must not be caught by a guest's
 * `catch_all` on its way out (exceptions.ts).
 */
function hook<A extends unknown[]>(state: EngineState, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A): void => {
    try {
      fn(...args);
    } catch (e) {
      throw state.exceptions.toGuest(e);
    }
  };
}

/**
 * The interrupt check (every `INTERRUPT_INTERVAL` loop iterations or checked function entries of a
 * module compiled with `closeOnContextDone`): when the current call's context is done, closes the
 * called module and throws its ExitError (the shared decision, store/hooks.ts).
 */
function checkInterrupt(state: EngineState): void {
  const ctx = state.ctx;
  if (ctx === undefined) return;
  const code = contextDoneExitCode(ctx);
  if (code !== 0) throw stopForContextDone(state.callModule, code, ctx);
}
