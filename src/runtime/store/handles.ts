/**
 * Handles: the raw (uint64) form of reference values at the API, where `funcref` and host
 * `externref` values travel as `bigint`s (wazero's uintptr). One table per engine instance, that is
 * per runtime, so two runtimes in one process never see each other's references.
 *
 * Weak where the value allows it: an object is held by a `WeakRef`, and its entry disappears once
 * nothing else holds the object (a guest's table or global holding it keeps it alive); primitive
 * values are held strongly. `clear()` releases everything (runtime close).
 */

/** Maps values to non-zero `bigint` handles and back. */
export class HandleTable {
  #byObject = new WeakMap<object, bigint>();
  readonly #byPrimitive = new Map<unknown, bigint>();
  readonly #values = new Map<bigint, WeakRef<object> | { readonly value: unknown }>();
  readonly #registry = new FinalizationRegistry<bigint>((h) => this.#values.delete(h));
  #next: bigint;
  readonly #step: bigint;

  /**
   * @param first - the first handle given out.
   * @param step - added per new handle (-1n counts down, so two tables can share a range's ends).
   */
  constructor(first = 1n, step = 1n) {
    this.#next = first;
    this.#step = step;
  }

  /** The handle of `v` (a new one the first time). */
  handleOf(v: unknown): bigint {
    const isObject = (typeof v === 'object' && v !== null) || typeof v === 'function';
    let h = isObject ? this.#byObject.get(v) : this.#byPrimitive.get(v);
    if (h !== undefined) return h;
    h = this.#next;
    this.#next += this.#step;
    if (isObject) {
      this.#byObject.set(v, h);
      this.#values.set(h, new WeakRef(v));
      this.#registry.register(v, h);
    } else {
      this.#byPrimitive.set(v, h);
      this.#values.set(h, { value: v });
    }
    return h;
  }

  /** Whether `h` is a handle of this table (its value may have been released). */
  has(h: bigint): boolean {
    return this.#values.has(h);
  }

  /** The value of handle `h`, or undefined when it is unknown or its value was released. */
  valueOf(h: bigint): unknown {
    const e = this.#values.get(h);
    if (e === undefined) return undefined;
    return e instanceof WeakRef ? e.deref() : e.value;
  }

  /** Forgets every handle. */
  clear(): void {
    this.#byObject = new WeakMap<object, bigint>();
    this.#values.clear();
    this.#byPrimitive.clear();
  }
}
