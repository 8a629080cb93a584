/**
 * An immutable bag of values plus an optional cancellation signal, in the role of Go's
 * `context.Context`. Every `with…` returns a new context; the receiver is unchanged.
 *
 * Note: a synchronous guest call blocks the event loop, so an `AbortSignal` aborted by a timer cannot
 * fire during it. Engines therefore also compare {@link Context.deadline} with the clock at their
 * interrupt checks (see ARCHITECTURE.md, "Timeouts").
 */
export class Context {
  readonly #parent: Context | undefined;
  readonly #key: unknown;
  readonly #value: unknown;
  /** The signal that marks this context done, if any. */
  readonly signal: AbortSignal | undefined;
  /** Absolute deadline in `performance.now()` milliseconds, if any. */
  readonly deadline: number | undefined;

  private constructor(
    parent: Context | undefined,
    key: unknown,
    value: unknown,
    signal: AbortSignal | undefined,
    deadline: number | undefined,
  ) {
    this.#parent = parent;
    this.#key = key;
    this.#value = value;
    this.signal = signal;
    this.deadline = deadline;
  }

  static #background: Context | undefined;

  /** The empty root context. */
  static background(): Context {
    Context.#background ??= new Context(undefined, undefined, undefined, undefined, undefined);
    return Context.#background;
  }

  /** A child context that maps `key` to `value`. */
  withValue(key: unknown, value: unknown): Context {
    return new Context(this, key, value, this.signal, this.deadline);
  }

  /** The value for `key` on this context or its ancestors. */
  value<T = unknown>(key: unknown): T | undefined {
    for (let c: Context | undefined = this; c !== undefined; c = c.#parent) {
      if (c.#key === key && c.#parent !== undefined) return c.#value as T;
    }
    return undefined;
  }

  /** A child context that is done when `signal` aborts (or when this context is done). */
  withSignal(signal: AbortSignal): Context {
    const combined = this.signal === undefined ? signal : AbortSignal.any([this.signal, signal]);
    return new Context(this, undefined, undefined, combined, this.deadline);
  }

  /** A child context that is done `ms` milliseconds from now (deadline exceeded). */
  withTimeout(ms: number): Context {
    const deadline = performance.now() + ms;
    const timeoutSignal = AbortSignal.timeout(Math.max(0, ms));
    const combined = this.signal === undefined ? timeoutSignal : AbortSignal.any([this.signal, timeoutSignal]);
    const d = this.deadline === undefined ? deadline : Math.min(this.deadline, deadline);
    return new Context(this, undefined, undefined, combined, d);
  }

  /** Whether the context is done: its signal aborted or its deadline passed. */
  isDone(): boolean {
    return (this.signal?.aborted ?? false) || (this.deadline !== undefined && performance.now() >= this.deadline);
  }

  /** Whether the context is done because its deadline passed (rather than a cancel). */
  deadlineExceeded(): boolean {
    if (this.deadline !== undefined && performance.now() >= this.deadline) return true;
    const reason: unknown = this.signal?.reason;
    return reason instanceof DOMException && reason.name === 'TimeoutError';
  }
}
