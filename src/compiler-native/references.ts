/**
 * References across the compiler engine's JS boundary. V8 holds funcref and externref values as JS
 * values (a wasm function object, any JS value); the API carries them as raw `bigint`s:
 * - an externref's raw value *is* its V8 value when it is a `bigint` (host references made through
 *   the API); any other JS value (set by JS code outside the store) gets a handle counting down
 *   from 2^64-1;
 * - a funcref gets a handle counting up from 1.
 * One table per engine (per runtime), released when the runtime closes.
 */
import { EXTERNREF } from '../runtime/api/value-type.js';
import type { ValType } from '../runtime/binary/module.js';
import { HandleTable } from '../runtime/store/handles.js';

const MASK64 = (1n << 64n) - 1n;

export class References {
  readonly #funcs = new HandleTable(1n, 1n);
  readonly #externs = new HandleTable(MASK64, -1n);

  /** The raw stack value of reference `v` of type `t`. */
  toRaw(t: ValType, v: unknown): bigint {
    if (v === null) return 0n;
    if (t === EXTERNREF) return typeof v === 'bigint' ? v : this.#externs.handleOf(v);
    return this.#funcs.handleOf(v);
  }

  /** The JS value V8 takes for raw reference `raw` of type `t`. */
  fromRaw(t: ValType, raw: bigint): unknown {
    if (raw === 0n) return null;
    if (t === EXTERNREF) return this.#externs.has(raw) ? this.#externs.valueOf(raw) : raw;
    const f = this.#funcs.valueOf(raw);
    if (f === undefined) throw new Error(`unknown funcref handle ${raw}`);
    return f;
  }

  /** Releases every handle. */
  clear(): void {
    this.#funcs.clear();
    this.#externs.clear();
  }
}
