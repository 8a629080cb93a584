/**
 * Stack iterators built from plain frames (for tests and benchmarks of listeners), and
 * `benchmarkFunctionListener`, which measures a listener's own cost without running wasm.
 * @experimental
 */
import { Context } from '../runtime/api/context.js';
import type { FunctionListener, InternalFunction, StackIterator } from '../runtime/api/listener.js';
import type { Function as ApiFunction, FunctionDefinition, Module } from '../runtime/api/module.js';

/** One frame of a synthetic stack. @experimental */
export interface StackFrame {
  /** The frame's function. */
  function: ApiFunction;
  /** Its raw params. */
  params: bigint[];
  /** Its raw results. */
  results: bigint[];
  /** The program counter (engine-specific, opaque). */
  pc: number;
  /** The byte offset of its current instruction in the code section. */
  sourceOffset: number;
}

class FrameFunction implements InternalFunction {
  constructor(
    readonly frame: StackFrame,
    readonly def: FunctionDefinition,
  ) {}
  definition(): FunctionDefinition {
    return this.def;
  }
  sourceOffsetForPC(pc: number): number {
    return pc === this.frame.pc ? this.frame.sourceOffset : 0;
  }
}

class FramesIterator implements StackIterator {
  readonly #fns: FrameFunction[];
  #i = -1;
  /** `fns[0]` is the top (called) frame. */
  constructor(fns: FrameFunction[]) {
    this.#fns = fns;
  }
  reset(): void {
    this.#i = -1;
  }
  next(): boolean {
    if (this.#i + 1 >= this.#fns.length) return false;
    this.#i++;
    return true;
  }
  function(): InternalFunction {
    return this.#fns[this.#i]!;
  }
  programCounter(): number {
    return this.#fns[this.#i]!.frame.pc;
  }
}

function toFns(topFirst: readonly StackFrame[]): FrameFunction[] {
  return topFirst.map((f) => new FrameFunction(f, f.function.definition()));
}

/**
 * A stack iterator over `frames`, where the LAST frame is the top (the called function), as in
 * wazero. Note: wazero reverses program counters but not definitions (a bug); here a frame's
 * definition, pc and source offset always stay together.
 * @experimental
 */
export function newStackIterator(...frames: StackFrame[]): StackIterator {
  return new FramesIterator(toFns(frames.slice().reverse()));
}

/**
 * Calls `listener.before` then `listener.after` `n` times with `stack[0]`'s definition, params and
 * results and an iterator over `stack` (`stack[0]` is the top frame), to measure the listener alone.
 * @throws Error when `stack` is empty.
 * @experimental
 */
export function benchmarkFunctionListener(n: number, mod: Module, stack: StackFrame[], listener: FunctionListener): void {
  const top = stack[0];
  if (top === undefined) throw new Error('benchmarkFunctionListener: empty stack');
  const ctx = Context.background();
  const def = top.function.definition();
  const params = BigUint64Array.from(top.params);
  const results = BigUint64Array.from(top.results);
  const it = new FramesIterator(toFns(stack));
  for (let i = 0; i < n; i++) {
    it.reset();
    listener.before(ctx, mod, def, params, it);
    listener.after(ctx, mod, def, results);
  }
}
