/**
 * Function listeners: observe every call of a guest or host function (wazero's
 * `experimental.FunctionListener`). Listeners are fixed at compile time: `compileModule` (and a host
 * module builder's `compile`/`instantiate`) reads the factory from its context.
 * @experimental
 */
import type { Context } from './context.js';
import type { FunctionDefinition, Module } from './module.js';

/** A function as seen by a stack iterator. @experimental */
export interface InternalFunction {
  /** The function's signature and names. */
  definition(): FunctionDefinition;
  /**
   * The byte offset, relative to the start of the code section's contents (DWARF's convention), of
   * the instruction the frame is at, for a program counter of this function. The same in both engines.
   */
  sourceOffsetForPC(pc: number): number;
}

/**
 * Walks the call stack from the called function to its outermost guest caller. Valid only during
 * `before`. The first `next()` yields the called function.
 * @experimental
 */
export interface StackIterator {
  /** Moves to the next frame (the first call moves to the innermost); false when there is none. */
  next(): boolean;
  /** The current frame's function. */
  function(): InternalFunction;
  /** Engine-specific and opaque; give it to `sourceOffsetForPC`. */
  programCounter(): number;
}

/**
 * Observes calls: exactly one `after` or `abort` follows each `before` that returned, on both
 * engines, even when a listener throws (a `before` or `after` that throws gets no `abort` of its
 * own; its error becomes the call's error and aborts the frames around it). Params, results and the
 * iterator are valid only during the callback.
 * @experimental
 */
export interface FunctionListener {
  /** Called when the function is entered, with its params; `stack` starts at the called function. */
  before(ctx: Context, mod: Module, def: FunctionDefinition, params: BigUint64Array, stack: StackIterator): void;
  /** Called when the function returns, with its results (empty when it left by a tail call). */
  after(ctx: Context, mod: Module, def: FunctionDefinition, results: BigUint64Array): void;
  /** The function did not return: a trap, a host error or an exit. `err` is the final error. */
  abort(ctx: Context, mod: Module, def: FunctionDefinition, err: unknown): void;
  /**
   * `true` when `after` and `abort` do nothing: the engines then fire `before` only and skip the
   * bookkeeping of open frames, about halving the cost of a listened call. Set by
   * {@link functionListenerFunc}.
   */
  readonly beforeOnly?: boolean;
  /**
   * `true` when `before` and `abort` do nothing: the engines then fire `after` only (one wasm→JS
   * transition per call on the compiler engine) and open no frame, so a call that does not return
   * gets nothing. Set by {@link functionListenerAfterFunc}. Ignored when {@link beforeOnly} is set.
   */
  readonly afterOnly?: boolean;
}

/**
 * A host function as both engines call it: params in `stack[0..n)`, results written to
 * `stack[0..m)` (a function built with `withFunc` is already adapted to this form). `mod` is the
 * calling module. An async host function (`withAsyncFunc`) returns a Promise that resolves once its
 * results are in `stack`; a wrapper must return what the function it wraps returns.
 * @experimental
 */
export type HostFunctionCall = (ctx: Context, mod: Module, stack: BigUint64Array) => void | Promise<void>;

/** Makes listeners per function; `undefined` means the function is not listened (and costs nothing). @experimental */
export interface FunctionListenerFactory {
  /** The listener of the function `def` (called once per function when its module is compiled), or undefined to leave it unlistened (no cost). */
  newFunctionListener(def: FunctionDefinition): FunctionListener | undefined;
  /**
   * Optional: wraps the implementation of host function `def` when its host module is compiled with
   * this factory (`HostModuleBuilder.compile`/`instantiate` with the factory on the context), so a
   * listener can run the host code *inside* something — e.g. with its span as the active
   * OpenTelemetry context, which a `before`/`after` pair cannot do. The wrapper is called for every
   * call of the function, on both engines, after the function's `before` and before its `after`
   * (or `abort`); whatever it throws is the host function's error. Return `fn` or `undefined` to
   * leave the function as it is.
   *
   * Note: decided once per host function at compile time; a factory without this member (or a
   * function it leaves alone) adds nothing to a call.
   * @param def - the host function's definition (the same object its listener gets).
   * @param fn - the implementation to wrap (an inner factory's wrapper, under
   *   {@link multiFunctionListenerFactory}).
   * @returns the function the engines call instead of `fn`, or `undefined` for `fn` itself.
   */
  interceptHostFunction?(def: FunctionDefinition, fn: HostFunctionCall): HostFunctionCall | undefined;
}

const noop = (): void => {};

/** A listener that only implements `before` (marked {@link FunctionListener.beforeOnly}). @experimental */
export function functionListenerFunc(fn: FunctionListener['before']): FunctionListener {
  return { before: fn, after: noop, abort: noop, beforeOnly: true };
}

/** A listener that only implements `after` (marked {@link FunctionListener.afterOnly}). @experimental */
export function functionListenerAfterFunc(fn: FunctionListener['after']): FunctionListener {
  return { before: noop, after: fn, abort: noop, afterOnly: true };
}

/** Adapts a function to {@link FunctionListenerFactory}. @experimental */
export function functionListenerFactoryFunc(fn: (def: FunctionDefinition) => FunctionListener | undefined): FunctionListenerFactory {
  return { newFunctionListener: fn };
}

/**
 * Combines factories: per function, 0 listeners → undefined, 1 → that listener, more → a fan-out in
 * order, where each listener gets its own traversal of the stack, and each keeps the protocol of
 * {@link FunctionListener} on its own: one that throws keeps neither the listeners after it from
 * their `after`/`abort` nor the ones before it (a throwing `before` aborts those that returned). Host function wrappers
 * ({@link FunctionListenerFactory.interceptHostFunction}) nest in the same order: the first
 * factory's wrapper is the outermost.
 * @experimental
 */
export function multiFunctionListenerFactory(...factories: FunctionListenerFactory[]): FunctionListenerFactory {
  const multi: FunctionListenerFactory = {
    newFunctionListener(def) {
      const listeners: FunctionListener[] = [];
      for (const f of factories) {
        const l = f.newFunctionListener(def);
        if (l !== undefined) listeners.push(l);
      }
      if (listeners.length === 0) return undefined;
      if (listeners.length === 1) return listeners[0];
      return new MultiListener(listeners);
    },
  };
  const intercepting = factories.filter((f) => f.interceptHostFunction !== undefined);
  if (intercepting.length > 0) {
    multi.interceptHostFunction = (def, fn) => {
      let wrapped = fn;
      for (let i = intercepting.length - 1; i >= 0; i--) wrapped = intercepting[i]!.interceptHostFunction!(def, wrapped) ?? wrapped;
      return wrapped;
    };
  }
  return multi;
}

/**
 * Replays a stack iterator's frames to each listener of a fan-out. Frames are pulled from the
 * engine's iterator only as far as some listener walks (on the compiler engine, walking past the
 * first frame captures V8's stack, which listeners that never walk should not pay for).
 */
class RecordedStack implements StackIterator {
  fns: InternalFunction[] = [];
  pcs: number[] = [];
  n = 0;
  #i = -1;
  #src: StackIterator | undefined = undefined;
  record(it: StackIterator): void {
    this.n = 0;
    this.#src = it;
  }
  /** Forgets the engine's iterator (valid only during `before`). */
  release(): void {
    this.#src = undefined;
  }
  rewind(): void {
    this.#i = -1;
  }
  next(): boolean {
    if (this.#i + 1 < this.n) {
      this.#i++;
      return true;
    }
    const src = this.#src;
    if (src === undefined || !src.next()) {
      this.#src = undefined;
      return false;
    }
    this.fns[this.n] = src.function();
    this.pcs[this.n] = src.programCounter();
    this.n++;
    this.#i++;
    return true;
  }
  function(): InternalFunction {
    return this.fns[this.#i]!;
  }
  programCounter(): number {
    return this.pcs[this.#i]!;
  }
}

class MultiListener implements FunctionListener {
  readonly #listeners: FunctionListener[];
  readonly #stack = new RecordedStack();
  /** Whether a `before` is running (a listener calling into wasm re-enters with its own replay). */
  #busy = false;
  readonly beforeOnly: boolean;
  readonly afterOnly: boolean;
  constructor(listeners: FunctionListener[]) {
    this.#listeners = listeners;
    this.beforeOnly = listeners.every((l) => l.beforeOnly === true);
    this.afterOnly = !this.beforeOnly && listeners.every((l) => l.afterOnly === true);
  }
  /**
   * A `before` that throws opens no frame, so the engine sends the fan-out no `after`/`abort`: the
   * listeners whose `before` had returned get their `abort` here, innermost (last) first.
   */
  before(ctx: Context, mod: Module, def: FunctionDefinition, params: BigUint64Array, stack: StackIterator): void {
    const nested = this.#busy;
    const rec = nested ? new RecordedStack() : this.#stack;
    this.#busy = true;
    rec.record(stack);
    const ls = this.#listeners;
    try {
      for (let i = 0; i < ls.length; i++) {
        rec.rewind();
        try {
          ls[i]!.before(ctx, mod, def, params, rec);
        } catch (e) {
          for (let j = i - 1; j >= 0; j--) {
            const l = ls[j]!;
            if (l.beforeOnly === true) continue;
            try {
              l.abort(ctx, mod, def, e);
            } catch {
              // The call's error is the one that stopped the fan-out.
            }
          }
          throw e;
        }
      }
    } finally {
      rec.release();
      this.#busy = nested;
    }
  }
  /** Every listener gets its `after` even when one throws; the first error is the call's. */
  after(ctx: Context, mod: Module, def: FunctionDefinition, results: BigUint64Array): void {
    let failed = false;
    let first: unknown;
    for (const l of this.#listeners) {
      try {
        l.after(ctx, mod, def, results);
      } catch (e) {
        if (!failed) first = e;
        failed = true;
      }
    }
    if (failed) throw first;
  }
  /** Every listener gets its `abort` even when one throws. */
  abort(ctx: Context, mod: Module, def: FunctionDefinition, err: unknown): void {
    let failed = false;
    let first: unknown;
    for (const l of this.#listeners) {
      try {
        l.abort(ctx, mod, def, err);
      } catch (e) {
        if (!failed) first = e;
        failed = true;
      }
    }
    if (failed) throw first;
  }
}

const factoryKey = Symbol('wasmscope.functionListenerFactory');

/** A context whose `compileModule` builds listeners with `factory`. @experimental */
export function withFunctionListenerFactory(ctx: Context, factory: FunctionListenerFactory): Context {
  return ctx.withValue(factoryKey, factory);
}

/** The factory on `ctx`, if any. */
export function getFunctionListenerFactory(ctx: Context | undefined): FunctionListenerFactory | undefined {
  return ctx?.value<FunctionListenerFactory>(factoryKey);
}
