/**
 * Mock globals and tables: plain values a mock module exports by name.
 */
import { decodeF32, decodeF64 } from '../runtime/api/encoding.js';
import type { Global, MutableGlobal } from '../runtime/api/module.js';
import { ValueType } from '../runtime/api/value-type.js';
import { checkValueTypes, encodeCallParam } from './values.js';
import type { MockFunction } from './function.js';

/** A mock global: a {@link Global} with the names its module exports it under. */
export interface MockGlobal extends Global {
  /** Whether `set` is allowed. */
  readonly mutable: boolean;
  /** Names the module exports it under. */
  readonly exportNames: readonly string[];
}

/** A mutable mock global. */
export interface MockMutableGlobal extends MockGlobal, MutableGlobal {}

export class MockGlobalImpl implements MockMutableGlobal {
  readonly #type: ValueType;
  #value: bigint;
  readonly mutable: boolean;
  readonly exportNames: readonly string[];
  constructor(type: ValueType, value: bigint, mutable: boolean, exportNames: readonly string[]) {
    this.#type = type;
    this.#value = value;
    this.mutable = mutable;
    this.exportNames = exportNames.slice();
  }
  type(): ValueType {
    return this.#type;
  }
  get(): bigint {
    return this.#value;
  }
  set(v: bigint): void {
    if (!this.mutable) throw new TypeError('global is immutable');
    this.#value = BigInt.asUintN(64, v);
  }
  /** As wazero's mock: the natural value of the type (i32 signed, floats as numbers, others hex). */
  toString(): string {
    switch (this.#type) {
      case ValueType.I32:
        return String(Number(BigInt.asIntN(32, this.#value)));
      case ValueType.I64:
        return String(BigInt.asIntN(64, this.#value));
      case ValueType.F32:
        return String(decodeF32(this.#value));
      case ValueType.F64:
        return String(decodeF64(this.#value));
      default:
        return `0x${this.#value.toString(16)}`;
    }
  }
}

/**
 * A mock global of `type` holding `value` (a `number` is a natural value encoded by the type, a
 * `bigint` is raw, as in `Function.call`).
 * @param mutable - whether `set` is allowed. @defaultValue false
 * @param exportNames - names the module exports it under. @defaultValue none
 * @throws TypeError when `type` is not a value type.
 */
export function newGlobal(type: ValueType, value: bigint | number, mutable: true, exportNames?: readonly string[]): MockMutableGlobal;
export function newGlobal(type: ValueType, value: bigint | number, mutable?: boolean, exportNames?: readonly string[]): MockGlobal;
export function newGlobal(type: ValueType, value: bigint | number, mutable = false, exportNames: readonly string[] = []): MockGlobal {
  checkValueTypes('newGlobal', 'type', [type]);
  return new MockGlobalImpl(type, encodeCallParam(type, value), mutable, exportNames);
}

/** An element of a mock table: a mock function or `null` (funcref), any JS value or `null` (externref). */
export type MockTableElement = MockFunction | null | unknown;

/** A mock table of references (wazero has none): elements are read and written directly. */
export interface MockTable {
  /** `ValueType.Funcref` or `ValueType.Externref`. */
  readonly elementType: ValueType;
  /** Names the module exports it under. */
  readonly exportNames: readonly string[];
  /** The maximum number of elements, or undefined when unbounded. */
  readonly max: number | undefined;
  /** The number of elements. */
  size(): number;
  /** Element `index`, or undefined when out of range (as `Memory` reads). */
  get(index: number): MockTableElement | undefined;
  /** Sets element `index`; false when out of range (as `Memory` writes). */
  set(index: number, value: MockTableElement): boolean;
  /** Grows by `delta` elements set to `init`; returns the previous size, or undefined when it cannot grow. */
  grow(delta: number, init?: MockTableElement): number | undefined;
}

export class MockTableImpl implements MockTable {
  readonly elementType: ValueType;
  readonly exportNames: readonly string[];
  readonly max: number | undefined;
  readonly #elements: MockTableElement[];
  constructor(type: ValueType, size: number, max: number | undefined, exportNames: readonly string[]) {
    this.elementType = type;
    this.max = max;
    this.exportNames = exportNames.slice();
    this.#elements = new Array<MockTableElement>(size).fill(null);
  }
  size(): number {
    return this.#elements.length;
  }
  #ok(i: number): boolean {
    return Number.isInteger(i) && i >= 0 && i < this.#elements.length;
  }
  get(index: number): MockTableElement | undefined {
    return this.#ok(index) ? this.#elements[index] : undefined;
  }
  set(index: number, value: MockTableElement): boolean {
    if (!this.#ok(index)) return false;
    this.#elements[index] = value;
    return true;
  }
  grow(delta: number, init: MockTableElement = null): number | undefined {
    const prev = this.#elements.length;
    if (!Number.isInteger(delta) || delta < 0) return undefined;
    if (prev + delta > (this.max ?? 0xffffffff)) return undefined;
    for (let i = 0; i < delta; i++) this.#elements.push(init);
    return prev;
  }
  toString(): string {
    return `table(${this.elementType === ValueType.Funcref ? 'funcref' : 'externref'}, ${this.#elements.length})`;
  }
}

/** Options of {@link newTable}. */
export interface MockTableOptions {
  /** Maximum number of elements. @defaultValue unbounded */
  readonly max?: number;
  /** Names the module exports it under. @defaultValue none */
  readonly exportNames?: readonly string[];
}

/**
 * A mock table of `size` null references.
 * @param elementType - `ValueType.Funcref` or `ValueType.Externref`.
 * @throws TypeError for another element type; RangeError for a negative size or a max below it.
 */
export function newTable(elementType: ValueType, size: number, options: MockTableOptions = {}): MockTable {
  if (elementType !== ValueType.Funcref && elementType !== ValueType.Externref) {
    throw new TypeError(`newTable: element type must be funcref or externref, got ${String(elementType)}`);
  }
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`newTable: invalid size ${size}`);
  if (options.max !== undefined && (!Number.isInteger(options.max) || options.max < size)) {
    throw new RangeError(`newTable: max ${options.max} is below the size ${size}`);
  }
  return new MockTableImpl(elementType, size, options.max, options.exportNames ?? []);
}
