/**
 * Instances of the compiler engine and calls across the JS boundary: from the host into a guest
 * (through the per-signature entry helpers of boundary.ts) and from a guest into a host function
 * (through an import adapter). Errors leaving an invocation become traps with wasm stack traces
 * (traps.ts) and abort the listened frames still open (store/hooks.ts).
 */
import type { Context } from '../runtime/api/context.js';
import type { Module as ApiModule } from '../runtime/api/module.js';
import type { EngineGlobal, EngineInstance, EngineMemory, EngineTable, InstanceOwner } from '../runtime/store/engine.js';
import { callListenedHost, ListenedFrame } from '../runtime/store/hooks.js';
import { snapshotsEnabled, withInvocationSnapshotter, type Snapshotter } from '../runtime/store/snapshots.js';
import { slotLayout } from './boundary.js';
import { SimpleInternalFunction } from './compiled.js';
import type { CGlobal, CMemory, CTable, GuestFunction, HostFunction } from './externs.js';
import { CompilerStackIterator } from './listening.js';
import type { EngineState } from './state.js';
import { STACK_TRACE_LIMIT, noteHostFrame, toWasmError } from './traps.js';

/**
 * The compiler engine's snapshotter: V8 cannot copy or re-create a wasm call stack, so taking a
 * snapshot needs an Asyncify-style rewrite of every function a host call can be under, which this
 * engine does not have (README limits). The interpreter takes snapshots.
 */
const NO_SNAPSHOTS: Snapshotter = {
  snapshot(): never {
    throw new Error(
      'not supported: snapshots on the compiler engine (V8 cannot copy a wasm call stack); ' +
        'run calls that take snapshots on the interpreter (newRuntimeConfigInterpreter())',
    );
  },
};

export class GuestInstance implements EngineInstance {
  constructor(
    readonly state: EngineState,
    readonly functions: readonly GuestFunction[],
    readonly tables: readonly CTable[],
    readonly memories: readonly CMemory[],
    readonly globals: readonly CGlobal[],
    readonly api: ApiModule,
    /** The precise-traps global holding the last call_indirect element index, if any. */
    readonly lastIndex: WebAssembly.Global | undefined,
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
    state.ctx = snapshotsEnabled(ctx) ? withInvocationSnapshotter(ctx, NO_SNAPSHOTS) : ctx;
    state.callModule = this.api;
    const depth = state.listeners.sp;
    const outer = state.callDepth++ === 0;
    const prevLimit = Error.stackTraceLimit;
    if (outer && prevLimit < STACK_TRACE_LIMIT) Error.stackTraceLimit = STACK_TRACE_LIMIT;
    let r: unknown;
    try {
      if (pl.refs.length === 0) {
        r = f.entry!(f.slot);
      } else {
        const args: unknown[] = [f.slot];
        for (const i of pl.refs) args.push(state.refs.fromRaw(f.type.params[i]!, stack[pl.slot[i]!]!));
        r = f.entry!(...args);
      }
    } catch (e) {
      const err = toWasmError(e, state);
      state.listeners.abortAbove(depth, ctx, err);
      throw err;
    } finally {
      state.ctx = prevCtx;
      state.callModule = prevMod;
      state.callDepth--;
      if (outer) Error.stackTraceLimit = prevLimit;
    }
    const m = rl.total;
    for (let i = 0; i < m; i++) stack[i] = scratch[i]!;
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

  close(): void {
    const b = this.state.boundary;
    for (const f of this.functions) {
      if (f.slot >= 0) {
        b.freeSlot(f.slot);
        f.slot = -1;
      }
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

  close(): void {}
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
 * calling a closure that runs `h` with `caller` as the calling module.
 */
export function hostAdapter(state: EngineState, h: HostFunction, caller: ApiModule): unknown {
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
      noteHostFrame(e, def);
      throw e;
    } finally {
      depth--;
    }
  };
  return state.boundary.adapterFor(t, run);
}
