/**
 * Instances of the compiler engine and calls across the JS boundary: from the host into a guest
 * (through the per-signature entry helpers of boundary.ts) and from a guest into a host function
 * (through an import adapter). Errors leaving an invocation become traps with wasm stack traces
 * (traps.ts) and abort the listened frames still open (store/hooks.ts).
 */
import type { Context } from '../runtime/api/context.js';
import type { Module as ApiModule } from '../runtime/api/module.js';
import type { EngineGlobal, EngineInstance, EngineMemory, EngineTable, InstanceOwner, TableFunction } from '../runtime/store/engine.js';
import { callListenedHost, callListenedHostAsync, ListenedFrame, ListenerStack } from '../runtime/store/hooks.js';
import {
  foreignRestore,
  Invocation,
  SnapshotRestore,
  snapshotsEnabled,
  withInvocationSnapshotter,
  type Snapshotter,
} from '../runtime/store/snapshots.js';
import { getTimeSlicing } from '../runtime/store/context-keys.js';
import type { TagInst } from '../runtime/store/tags.js';
import { WasmException } from '../runtime/api/tag.js';
import { hasJspi, slotLayout } from './boundary.js';
import { SimpleInternalFunction } from './compiled.js';
import { GuestFunction, type CGlobal, type CMemory, type CTable, type HostFunction } from './externs.js';
import type { CompilerModuleState } from './module-state.js';
import { CompilerStackIterator } from './listening.js';
import { STATE_REWINDING } from './rewind.js';
import { CompilerSnapshotter, snapshottingAdapter, withResults, type CompilerSnapState } from './snapshots.js';
import { AsyncCall, type EngineState } from './state.js';
import { STACK_TRACE_LIMIT, hostFrameError, toWasmError } from './traps.js';

/**
 * The snapshotter of async calls (`callAsync`) on the compiler engine: their frames may be
 * suspended by JS Promise Integration, which the rewind pass does not combine with. Synchronous
 * calls take snapshots (snapshots.ts).
 */
const NO_ASYNC_SNAPSHOTS: Snapshotter = {
  snapshot(): never {
    throw new Error(
      'not supported: snapshots in async calls (callAsync) on the compiler engine; ' +
        'take them in synchronous calls, or run the call on the interpreter (newRuntimeConfigInterpreter())',
    );
  },
};

export class GuestInstance implements EngineInstance {
  /** Called once by {@link close} (line coverage flushes this instance's counters). */
  onClose: (() => void) | undefined = undefined;
  /** Module state for checkpoints (set by the engine once the instance exists). */
  moduleState: CompilerModuleState | undefined = undefined;

  constructor(
    readonly state: EngineState,
    readonly functions: readonly GuestFunction[],
    readonly tables: readonly CTable[],
    readonly memories: readonly CMemory[],
    readonly globals: readonly CGlobal[],
    readonly api: ApiModule,
    /** The precise-traps global holding the last call_indirect element index, if any. */
    readonly lastIndex: WebAssembly.Global | undefined,
    /** The rewind pass's `$state` global, when compiled for snapshots. */
    readonly rewindState: WebAssembly.Global | undefined = undefined,
    /** The tag index space (exception handling). */
    readonly tags: readonly TagInst[] = [],
  ) {}

  call(funcIndex: number, stack: BigUint64Array, ctx: Context): void {
    const f = this.functions[funcIndex];
    if (f === undefined) throw new RangeError(`function index ${funcIndex} out of range`);
    // An imported host function called from the API: no guest calls it, so its `mod` is its own module.
    if (f.host !== undefined) return callHostFromApi(this.state, f.host, stack, ctx);
    if (f.wasm === undefined) {
      throw new Error(`not supported: calling function ${f.definition.index()} (not exported) on the compiler engine`);
    }
    const state = this.state;
    const b = state.boundary;
    if (f.slot < 0) {
      f.entry = b.entryFor(f.type);
      f.slot = b.allocSlot(f.wasm);
    }
    const pl = f.params;
    const rl = f.results;
    const scratch = b.u64;
    const n = pl.total;
    for (let i = 0; i < n; i++) scratch[i] = stack[i]!;
    const prevCtx = state.ctx;
    const prevMod = state.callModule;
    const prevAsync = state.asyncCall;
    const prevSnap = state.snap;
    // Snapshots (withSnapshotter): host functions of this invocation find its snapshotter in ctx.
    const snap = snapshotsEnabled(ctx) ? new CompilerSnapshotter(state, new Invocation(), state.listeners.sp) : undefined;
    state.snap = snap;
    state.ctx = snap === undefined ? ctx : withInvocationSnapshotter(ctx, snap);
    state.callModule = this.api;
    // The innermost invocation is synchronous: an async host function reached now cannot suspend it.
    state.asyncCall = undefined;
    const depth = state.listeners.sp;
    const ringBase = state.ring === undefined ? 0 : state.ring.depth();
    const outer = state.callDepth++ === 0;
    const prevLimit = Error.stackTraceLimit;
    if (outer && prevLimit < STACK_TRACE_LIMIT) Error.stackTraceLimit = STACK_TRACE_LIMIT;
    let r: unknown;
    try {
      if (pl.refs.length === 0 && snap === undefined) {
        r = f.entry!(f.slot);
      } else {
        const args: unknown[] = [f.slot];
        for (const i of pl.refs) args.push(state.refs.fromRaw(f.type.params[i]!, stack[pl.slot[i]!]!));
        r = snap === undefined ? f.entry!(...args) : callWithSnapshots(state, snap, f.entry!, args, ctx);
      }
    } catch (e) {
      let err = toWasmError(state.exceptions.fromGuest(e), state);
      if (err instanceof SnapshotRestore) err = foreignRestore(err);
      if (snap !== undefined) state.rewind.reset();
      state.ring?.abortAbove(ringBase);
      state.listeners.abortAbove(depth, ctx, err);
      throw err;
    } finally {
      if (snap !== undefined) snap.invocation.live = false;
      state.snap = prevSnap;
      state.ctx = prevCtx;
      state.callModule = prevMod;
      state.asyncCall = prevAsync;
      state.callDepth--;
      if (outer) Error.stackTraceLimit = prevLimit;
    }
    // The call returned: its records go to the sinks now.
    state.ring?.flush();
    const m = rl.total;
    for (let i = 0; i < m; i++) stack[i] = scratch[i]!;
    refResults(state, f, r, stack);
  }

  /**
   * {@link call} that may suspend at async host functions: with JS Promise Integration the entry
   * helper runs under `WebAssembly.promising`, the adapters of async host functions are
   * `WebAssembly.Suspending`, and the call's JS-side state travels with it (state.ts `AsyncCall`).
   * Without JSPI (Node 20) nothing can suspend (modules importing async host functions are refused
   * at instantiation), so the call runs synchronously.
   */
  async callAsync(funcIndex: number, stack: BigUint64Array, ctx: Context): Promise<void> {
    const f = this.functions[funcIndex];
    if (f === undefined) throw new RangeError(`function index ${funcIndex} out of range`);
    if (getTimeSlicing(ctx) !== undefined) {
      throw new Error(
        'not supported: time slicing on the compiler engine; run the call on the interpreter (newRuntimeConfigInterpreter())',
      );
    }
    if (f.host !== undefined) return callHostFromApiAsync(this.state, f.host, stack, ctx);
    const state = this.state;
    const entry = state.boundary.asyncEntryFor(f.type, state.done);
    if (entry === undefined) return this.call(funcIndex, stack, ctx);
    if (f.wasm === undefined) {
      throw new Error(`not supported: calling function ${f.definition.index()} (not exported) on the compiler engine`);
    }
    const b = state.boundary;
    if (f.slot < 0) {
      f.entry = b.entryFor(f.type);
      f.slot = b.allocSlot(f.wasm);
    }
    const pl = f.params;
    const rl = f.results;
    const scratch = b.u64;
    for (let i = 0; i < pl.total; i++) scratch[i] = stack[i]!;
    const args: unknown[] = [f.slot, 0];
    for (const i of pl.refs) args.push(state.refs.fromRaw(f.type.params[i]!, stack[pl.slot[i]!]!));
    const id = state.newCallId();
    args[1] = id;
    const call = new AsyncCall(new ListenerStack());
    // `done` (end of the entry helper) copies the results out of scratch and puts back what ran before.
    state.calls.set(id, (s) => {
      for (let i = 0; i < rl.total; i++) stack[i] = s[i]!;
      state.install(call.interrupted!);
    });
    call.interrupted = state.capture();
    state.install({
      ctx: snapshotsEnabled(ctx) ? withInvocationSnapshotter(ctx, NO_ASYNC_SNAPSHOTS) : ctx,
      callModule: this.api,
      callDepth: call.interrupted.callDepth + 1,
      listeners: call.listeners,
      asyncCall: call,
    });
    const prevLimit = Error.stackTraceLimit;
    if (prevLimit < STACK_TRACE_LIMIT) Error.stackTraceLimit = STACK_TRACE_LIMIT;
    // Event records of async calls: their frames interleave with other calls' while suspended, so
    // the shadow stack is exact only for calls that do not suspend (a documented limit).
    const ringBase = state.ring === undefined ? 0 : state.ring.depth();
    let r: unknown;
    try {
      // Runs until the call returns or first suspends; either way what ran before is back after it.
      const p = entry(...args);
      r = await p;
    } catch (e) {
      const err = toWasmError(state.exceptions.fromGuest(e), state);
      state.ring?.abortAbove(ringBase);
      call.listeners.abortAbove(0, ctx, err);
      // A trap after a resumption leaves the call's state installed.
      if (state.asyncCall === call) state.install(call.interrupted);
      throw err;
    } finally {
      state.calls.delete(id);
      Error.stackTraceLimit = prevLimit;
    }
    state.ring?.flush();
    refResults(state, f, r, stack);
  }

  tableFunction(tableIndex: number, offset: number): TableFunction | null | undefined {
    const table = this.tables[tableIndex];
    if (table === undefined || offset >= table.size()) return undefined;
    const obj: unknown = table.get(offset);
    if (typeof obj !== 'function') return null;
    const f = this.state.functionOf.get(obj);
    if (!(f instanceof GuestFunction)) {
      throw new Error(
        `not supported: lookupFunction of table[${tableIndex}][${offset}] on the compiler engine: a function set at run ` +
          'time that is neither exported nor placed by an element segment has no known type (use the interpreter)',
      );
    }
    const state = this.state;
    const api = this.api;
    return {
      type: f.type,
      definition: f.definition,
      call: (stack, ctx) => {
        if (f.host !== undefined) return callHostFromApi(state, f.host, stack, ctx);
        new GuestInstance(state, [f], [], [], [], api, undefined).call(0, stack, ctx);
      },
    };
  }

  close(): void {
    const done = this.onClose;
    this.onClose = undefined;
    done?.();
    const b = this.state.boundary;
    if (this.rewindState !== undefined) this.state.rewind.unregister(this.rewindState);
    for (const f of this.functions) {
      if (f.slot >= 0) {
        b.freeSlot(f.slot);
        f.slot = -1;
      }
    }
  }
}

/** Writes the reference results `r` of a call of `f` (one value, or an array for several) to `stack`. */
function refResults(state: EngineState, f: GuestFunction, r: unknown, stack: BigUint64Array): void {
  const rl = f.results;
  const refs = rl.refs;
  if (refs.length === 1) {
    const i = refs[0]!;
    stack[rl.slot[i]!] = state.refs.toRaw(f.type.results[i]!, r);
  } else if (refs.length > 1) {
    const arr = r as unknown[];
    for (let k = 0; k < refs.length; k++) {
      const i = refs[k]!;
      stack[rl.slot[i]!] = state.refs.toRaw(f.type.results[i]!, arr[k]);
    }
  }
}

export class HostInstance implements EngineInstance {
  readonly tables: readonly EngineTable[] = [];
  readonly memories: readonly EngineMemory[] = [];
  readonly globals: readonly EngineGlobal[] = [];

  constructor(
    readonly state: EngineState,
    readonly functions: readonly HostFunction[],
    readonly owner: InstanceOwner,
  ) {}

  call(funcIndex: number, stack: BigUint64Array, ctx: Context): void {
    const f = this.functions[funcIndex];
    if (f === undefined) throw new RangeError(`function index ${funcIndex} out of range`);
    callHostFromApi(this.state, f, stack, ctx);
  }

  callAsync(funcIndex: number, stack: BigUint64Array, ctx: Context): Promise<void> {
    const f = this.functions[funcIndex];
    if (f === undefined) throw new RangeError(`function index ${funcIndex} out of range`);
    return callHostFromApiAsync(this.state, f, stack, ctx);
  }

  tableFunction(): undefined {
    return undefined;
  }

  close(): void {}
}

/**
 * Runs a snapshot-enabled invocation: calls `entry(...args)`, and again, rewinding, after each
 * unwind (a snapshot taken, or a pending snapshot restored) and each restore of one of its snapshots.
 */
function callWithSnapshots(
  state: EngineState,
  snap: CompilerSnapshotter,
  entry: (...a: unknown[]) => unknown,
  args: unknown[],
  ctx: Context,
): unknown {
  const rewind = state.rewind;
  for (;;) {
    let r: unknown;
    try {
      r = entry(...args);
    } catch (e) {
      // A restore crosses guest frames as the bridge's uncatchable trap (exceptions.ts).
      const restore = state.exceptions.kept(e);
      if (!(restore instanceof SnapshotRestore) || restore.invocation !== snap.invocation) throw e;
      state.exceptions.take();
      const st = restore.state as CompilerSnapState;
      if (st.image === undefined) throw new Error('internal error: restore of a snapshot that was never captured', { cause: restore });
      rewind.reset();
      snap.relisten(st, ctx, restore);
      rewind.load(withResults(st.image, st.resultTypes, restore.results, state.refs));
      rewind.setAll(STATE_REWINDING);
      continue;
    }
    if (!snap.unwinding) return r;
    // The guest unwound: the rewind stack holds the snapshot.
    snap.unwinding = false;
    const image = rewind.capture();
    if (image.bytes.length === 0) {
      rewind.reset();
      throw new Error(
        'not supported: a snapshot in a host function that the called function reached by a tail call (no guest frame to resume)',
      );
    }
    const listened = state.listeners.frames.slice(snap.lsBase, state.listeners.sp);
    for (const st of snap.pending) {
      st.image = image;
      st.listened = listened;
    }
    snap.pending.length = 0;
    const pr = snap.pendingRestore;
    snap.pendingRestore = undefined;
    // A host call that threw after its snapshots: the rewind throws it at the call site.
    rewind.thrown = snap.pendingThrow;
    snap.pendingThrow = undefined;
    if (pr !== undefined) {
      const st = pr.state as CompilerSnapState;
      snap.relisten(st, ctx, pr);
      rewind.load(withResults(image, st.resultTypes, pr.results, state.refs));
    }
    rewind.setAll(STATE_REWINDING);
  }
}

/** {@link callHostFromApi} for `callAsync`: awaits an async host function. */
async function callHostFromApiAsync(state: EngineState, f: HostFunction, stack: BigUint64Array, ctx: Context): Promise<void> {
  const fn = f.spec.asyncFn;
  if (fn === undefined) return callHostFromApi(state, f, stack, ctx);
  const l = f.spec.listener;
  const mod = f.owner.api;
  const ls = new ListenerStack();
  try {
    if (l === undefined) {
      await fn(ctx, mod, stack);
    } else {
      const it = new CompilerStackIterator(state, new SimpleInternalFunction(f.definition, -1), 0, 0);
      const params = stack.subarray(0, slotLayout(f.type.params).total);
      const results = stack.subarray(0, slotLayout(f.type.results).total);
      await callListenedHostAsync(ls, new ListenedFrame(l, f.definition, mod), ctx, fn, stack, params, results, it);
    }
  } catch (e) {
    ls.abortAbove(0, ctx, e);
    throw e;
  }
}

/** Calls host function `f` from the API (`mod` is its own module), listened if it has a listener. */
function callHostFromApi(state: EngineState, f: HostFunction, stack: BigUint64Array, ctx: Context): void {
  const prev = state.ctx;
  state.ctx = ctx;
  const l = f.spec.listener;
  const mod = f.owner.api;
  const depth = state.listeners.sp;
  try {
    if (l === undefined) {
      f.spec.fn(ctx, mod, stack);
    } else {
      const it = new CompilerStackIterator(state, new SimpleInternalFunction(f.definition, -1), 0, 0);
      const params = stack.subarray(0, slotLayout(f.type.params).total);
      const results = stack.subarray(0, slotLayout(f.type.results).total);
      callListenedHost(state.listeners, new ListenedFrame(l, f.definition, mod), ctx, f.spec.fn, stack, params, results, it);
    }
  } catch (e) {
    state.listeners.abortAbove(depth, ctx, e);
    throw e;
  } finally {
    state.ctx = prev;
  }
}

/**
 * The wasm function a guest imports for host function `h`: an adapter of `h`'s exact signature
 * calling a closure that runs `h` with `caller` as the calling module. `snapshots`: the importer
 * was compiled for snapshots, so the closure also drives them (snapshots.ts).
 */
export function hostAdapter(state: EngineState, h: HostFunction, caller: ApiModule, snapshots = false): unknown {
  if (h.spec.asyncFn !== undefined) return asyncHostAdapter(state, h, caller);
  const t = h.type;
  const pl = slotLayout(t.params);
  const rl = slotLayout(t.results);
  const size = Math.max(pl.total, rl.total, 1);
  const fn = h.spec.fn;
  const listener = h.spec.listener;
  const def = h.definition;
  const frame = listener === undefined ? undefined : new ListenedFrame(listener, def, caller);
  const it = new CompilerStackIterator(state, new SimpleInternalFunction(def, -1), 0, 0);
  const cached = new BigUint64Array(size);
  const cachedParams = cached.subarray(0, pl.total);
  const cachedResults = cached.subarray(0, rl.total);
  const scratch = state.boundary.u64;
  const refs = state.refs;
  let depth = 0;
  // One closure is the adapter's import (re-entry through the host nests it once per level); its
  // reference params, if any, are its arguments.
  const run = (...refArgs: unknown[]): unknown => {
    // A nested call of the same host function (through a re-entrant guest call) gets its own stack.
    const st = depth === 0 ? cached : new BigUint64Array(size);
    depth++;
    const lsDepth = state.listeners.sp;
    try {
      for (let i = 0; i < pl.total; i++) st[i] = scratch[i]!;
      if (pl.refs.length > 0) {
        for (let k = 0; k < pl.refs.length; k++) {
          const i = pl.refs[k]!;
          st[pl.slot[i]!] = refs.toRaw(t.params[i]!, refArgs[k]);
        }
      }
      if (frame === undefined) {
        fn(state.ctx!, caller, st);
      } else {
        const params = st === cached ? cachedParams : st.subarray(0, pl.total);
        const results = st === cached ? cachedResults : st.subarray(0, rl.total);
        callListenedHost(state.listeners, frame, state.ctx!, fn, st, params, results, it.reset());
      }
      for (let i = 0; i < rl.total; i++) scratch[i] = st[i]!;
      if (rl.refs.length === 0) return undefined;
      if (rl.refs.length === 1) return refs.fromRaw(t.results[rl.refs[0]!]!, st[rl.slot[rl.refs[0]!]!]!);
      return rl.refs.map((i) => refs.fromRaw(t.results[i]!, st[rl.slot[i]!]!));
    } catch (e) {
      const err = hostFrameError(e, def);
      // A guest may catch the exception: the host frame it unwinds is closed now.
      if (err instanceof WasmException) state.listeners.abortAbove(lsDepth, state.ctx, err);
      throw state.exceptions.toGuest(err);
    } finally {
      depth--;
    }
  };
  return state.boundary.adapterFor(t, snapshots ? snapshottingAdapter(state, t, run) : run);
}

/**
 * The adapter of an async host function (JS Promise Integration): its suspending import reads the
 * params, stops the running async call (puts back what ran before it) and runs the host function;
 * when that resolves the call resumes and `take` makes it running again and hands it the results.
 * Reached from a synchronous call, it throws the host function's "call with callAsync" error.
 */
function asyncHostAdapter(state: EngineState, h: HostFunction, caller: ApiModule): unknown {
  const def = h.definition;
  if (!hasJspi) {
    throw new Error(
      `not supported: async host function ${def.moduleName()}.${def.name()} on the compiler engine needs JS Promise ` +
        `Integration (Node >= 24; this is Node ${process.version}); use the interpreter (newRuntimeConfigInterpreter())`,
    );
  }
  const t = h.type;
  const pl = slotLayout(t.params);
  const rl = slotLayout(t.results);
  const size = Math.max(pl.total, rl.total, 1);
  const fn = h.spec.asyncFn!;
  const listener = h.spec.listener;
  const frame = listener === undefined ? undefined : new ListenedFrame(listener, def, caller);
  const scratch = state.boundary.u64;
  const refs = state.refs;
  const suspend = (...refArgs: unknown[]): Promise<number> => {
    const call = state.asyncCall;
    if (call === undefined) {
      h.spec.fn(state.ctx!, caller, scratch); // throws: call the guest with callAsync
      throw new Error(`internal error: ${def.moduleName()}.${def.name()} reached from a synchronous call`);
    }
    const st = new BigUint64Array(size);
    for (let i = 0; i < pl.total; i++) st[i] = scratch[i]!;
    for (let k = 0; k < pl.refs.length; k++) {
      const i = pl.refs[k]!;
      st[pl.slot[i]!] = refs.toRaw(t.params[i]!, refArgs[k]);
    }
    const ctx = state.ctx!;
    const ls = state.listeners;
    const run = async (): Promise<number> => {
      try {
        if (frame === undefined) {
          await fn(ctx, caller, st);
        } else {
          const it = new CompilerStackIterator(state, new SimpleInternalFunction(def, -1), 0, 0);
          await callListenedHostAsync(ls, frame, ctx, fn, st, st.subarray(0, pl.total), st.subarray(0, rl.total), it);
        }
      } catch (e) {
        throw state.exceptions.toGuest(hostFrameError(e, def));
      }
      const token = state.newToken();
      state.tokens.set(token, {
        call,
        results: () => {
          for (let i = 0; i < rl.total; i++) scratch[i] = st[i]!;
          if (rl.refs.length === 0) return undefined;
          if (rl.refs.length === 1) return refs.fromRaw(t.results[rl.refs[0]!]!, st[rl.slot[rl.refs[0]!]!]!);
          return rl.refs.map((i) => refs.fromRaw(t.results[i]!, st[rl.slot[i]!]!));
        },
      });
      return token;
    };
    // Before and after run with the call's state; then the call stops running.
    const p = run();
    call.saved = state.capture();
    state.install(call.interrupted!);
    return p;
  };
  const take = (token: number): unknown => {
    const done = state.tokens.get(token)!;
    state.tokens.delete(token);
    done.call.interrupted = state.capture();
    state.install(done.call.saved!);
    return done.results();
  };
  return state.boundary.asyncAdapterFor(t, suspend, take);
}
