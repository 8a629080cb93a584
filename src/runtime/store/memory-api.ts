/**
 * The public `Memory` view over a `WebAssembly.Memory`. Both engines keep linear memory in a
 * `WebAssembly.Memory` (growable, shareable across modules, `SharedArrayBuffer` when shared), so one
 * implementation serves both. Views are re-derived after every grow: a detached buffer is never
 * handed out.
 */
import type { Memory, MemoryDefinition } from '../api/module.js';
import type { DirtyPages, TrackedMemory } from './dirty-pages.js';

const PAGE = 65536;
const encoder = new TextEncoder();

/**
 * A linear memory whose bytes a user's allocator owns (`withMemoryAllocator`, interpreter engine).
 * @experimental
 */
export interface LinearMemory {
  /**
   * The memory's bytes at `size` bytes (the first call gives the initial size, each later one a
   * grow), keeping the bytes so far; undefined refuses (the grow fails). The view must span its
   * whole `ArrayBuffer` from offset 0 — a resizable `ArrayBuffer` (or growable `SharedArrayBuffer`)
   * grows in place — and a shared memory's buffer must stay the same `SharedArrayBuffer`.
   */
  reallocate(size: number): Uint8Array | undefined;
  /** Releases the bytes (called once, when the module closes). */
  free(): void;
}

/**
 * Allocates the linear memories a module defines (`withMemoryAllocator`).
 * @experimental
 */
export interface MemoryAllocator {
  /**
   * A new linear memory that will hold up to `max` bytes; `cap` is the capacity wanted up front
   * (the minimum, or the maximum under `withMemoryCapacityFromMax`). `reallocate` is called with
   * the initial size right after.
   */
  allocate(cap: number, max: number): LinearMemory;
}

/**
 * A memory whose bytes come from a {@link LinearMemory}, with the two members of
 * `WebAssembly.Memory` the interpreter uses (`buffer`, `grow`).
 */
export class AllocatedMemory {
  readonly #lm: LinearMemory;
  readonly #shared: boolean;
  #view: Uint8Array;

  constructor(lm: LinearMemory, initialBytes: number, shared: boolean) {
    this.#lm = lm;
    this.#shared = shared;
    this.#view = AllocatedMemory.#check(lm.reallocate(initialBytes), initialBytes, shared);
  }

  static #check(v: Uint8Array | undefined, size: number, shared: boolean): Uint8Array {
    if (v === undefined) throw new RangeError(`memory allocator refused ${size} bytes`);
    if (!(v instanceof Uint8Array) || v.byteOffset !== 0 || v.byteLength !== size || v.buffer.byteLength !== size) {
      throw new Error(`memory allocator: reallocate(${size}) must return a Uint8Array of ${size} bytes spanning its whole ArrayBuffer`);
    }
    if (shared && !(v.buffer instanceof SharedArrayBuffer)) throw new Error('memory allocator: a shared memory needs a SharedArrayBuffer');
    return v;
  }

  get buffer(): ArrayBuffer | SharedArrayBuffer {
    return this.#view.buffer;
  }

  /** Grows by `delta` pages through `reallocate`; the previous pages. @throws RangeError when refused. */
  grow(delta: number): number {
    const prev = this.#view.byteLength / PAGE;
    const size = (prev + delta) * PAGE;
    const next = AllocatedMemory.#check(this.#lm.reallocate(size), size, this.#shared);
    if (this.#shared && next.buffer !== this.#view.buffer) {
      throw new Error('shared memory cannot move, this is a bug in the memory allocator');
    }
    this.#view = next;
    return prev;
  }

  free(): void {
    this.#lm.free();
  }
}

/** Where a {@link MemoryApi} keeps its bytes. */
export type MemoryBacking = WebAssembly.Memory | AllocatedMemory;

export class MemoryApi implements Memory, TrackedMemory {
  /** The bytes: V8's memory, or a user allocator's (interpreter only). */
  readonly wasm: MemoryBacking;
  readonly #definition: MemoryDefinition;
  /** Maximum pages this memory may grow to (after the runtime's limit). */
  readonly maxPages: number;
  /** Written pages, once an instance compiled with dirty-page tracking uses this memory (dirty-pages.ts). */
  dirty: DirtyPages | undefined = undefined;
  /** Some writer of this memory does not mark pages: its marks are not trusted (dirty-pages.ts). */
  untrackedWriters = false;
  /** V8 made `wasm` as a 64-bit memory (memory64): its JS API takes page counts as bigints. */
  readonly addressI64: boolean;
  #buffer: ArrayBuffer | SharedArrayBuffer;
  #u8: Uint8Array;
  #dv: DataView;

  constructor(wasm: MemoryBacking, definition: MemoryDefinition, maxPages: number, addressI64 = false) {
    this.wasm = wasm;
    this.#definition = definition;
    this.maxPages = maxPages;
    this.addressI64 = addressI64;
    this.#buffer = wasm.buffer;
    this.#u8 = new Uint8Array(this.#buffer);
    this.#dv = new DataView(this.#buffer);
  }

  /** Current bytes (re-derived when the buffer changed, e.g. after a grow). */
  get u8(): Uint8Array {
    if (this.wasm.buffer !== this.#buffer || this.#u8.byteLength !== this.wasm.buffer.byteLength) this.#refresh();
    return this.#u8;
  }

  get dataView(): DataView {
    if (this.wasm.buffer !== this.#buffer || this.#dv.byteLength !== this.wasm.buffer.byteLength) this.#refresh();
    return this.#dv;
  }

  #refresh(): void {
    this.#buffer = this.wasm.buffer;
    this.#u8 = new Uint8Array(this.#buffer);
    this.#dv = new DataView(this.#buffer);
  }

  definition(): MemoryDefinition {
    return this.#definition;
  }

  size(): number {
    // wazero's Size() is a uint32: 65536 pages wrap to 0.
    return this.wasm.buffer.byteLength >>> 0;
  }

  pages(): number {
    return this.wasm.buffer.byteLength / PAGE;
  }

  /** Successful non-zero grows so far: engines that cache views compare it instead of reading `wasm.buffer`. */
  grows = 0;

  grow(deltaPages: number): number | undefined {
    const prev = this.pages();
    if (!Number.isInteger(deltaPages) || deltaPages < 0 || deltaPages >= 2 ** 31) return undefined;
    if (deltaPages === 0) return prev;
    if (prev + deltaPages > this.maxPages) return undefined;
    try {
      if (this.addressI64) (this.wasm as unknown as { grow(d: bigint): bigint }).grow(BigInt(deltaPages));
      else this.wasm.grow(deltaPages);
    } catch (e) {
      if (e instanceof RangeError) return undefined;
      throw e;
    }
    this.grows++;
    this.#refresh();
    return prev;
  }

  #ok(offset: number, n: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && offset + n <= this.u8.byteLength;
  }

  read(offset: number, byteCount: number): Uint8Array | undefined {
    if (!Number.isInteger(byteCount) || byteCount < 0 || !this.#ok(offset, byteCount)) return undefined;
    return this.u8.subarray(offset, offset + byteCount);
  }
  readByte(offset: number): number | undefined {
    return this.#ok(offset, 1) ? this.u8[offset] : undefined;
  }
  readUint16Le(offset: number): number | undefined {
    return this.#ok(offset, 2) ? this.dataView.getUint16(offset, true) : undefined;
  }
  readUint32Le(offset: number): number | undefined {
    return this.#ok(offset, 4) ? this.dataView.getUint32(offset, true) : undefined;
  }
  readFloat32Le(offset: number): number | undefined {
    return this.#ok(offset, 4) ? this.dataView.getFloat32(offset, true) : undefined;
  }
  readFloat64Le(offset: number): number | undefined {
    return this.#ok(offset, 8) ? this.dataView.getFloat64(offset, true) : undefined;
  }
  readUint64Le(offset: number): bigint | undefined {
    return this.#ok(offset, 8) ? this.dataView.getBigUint64(offset, true) : undefined;
  }
  write(offset: number, bytes: Uint8Array): boolean {
    if (!this.#ok(offset, bytes.byteLength)) return false;
    this.u8.set(bytes, offset);
    this.dirty?.mark(offset, bytes.byteLength);
    return true;
  }
  writeString(offset: number, s: string): boolean {
    return this.write(offset, encoder.encode(s));
  }
  writeByte(offset: number, v: number): boolean {
    if (!this.#ok(offset, 1)) return false;
    this.u8[offset] = v;
    this.dirty?.mark(offset, 1);
    return true;
  }
  writeUint16Le(offset: number, v: number): boolean {
    if (!this.#ok(offset, 2)) return false;
    this.dataView.setUint16(offset, v, true);
    this.dirty?.mark(offset, 2);
    return true;
  }
  writeUint32Le(offset: number, v: number): boolean {
    if (!this.#ok(offset, 4)) return false;
    this.dataView.setUint32(offset, v >>> 0, true);
    this.dirty?.mark(offset, 4);
    return true;
  }
  writeFloat32Le(offset: number, v: number): boolean {
    if (!this.#ok(offset, 4)) return false;
    this.dataView.setFloat32(offset, v, true);
    this.dirty?.mark(offset, 4);
    return true;
  }
  writeFloat64Le(offset: number, v: number): boolean {
    if (!this.#ok(offset, 8)) return false;
    this.dataView.setFloat64(offset, v, true);
    this.dirty?.mark(offset, 8);
    return true;
  }
  writeUint64Le(offset: number, v: bigint): boolean {
    if (!this.#ok(offset, 8)) return false;
    this.dataView.setBigUint64(offset, BigInt.asUintN(64, v), true);
    this.dirty?.mark(offset, 8);
    return true;
  }
}
