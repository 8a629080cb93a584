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

export class MemoryApi implements Memory, TrackedMemory {
  readonly wasm: WebAssembly.Memory;
  readonly #definition: MemoryDefinition;
  /** Maximum pages this memory may grow to (after the runtime's limit). */
  readonly maxPages: number;
  /** Written pages, once an instance compiled with dirty-page tracking uses this memory (dirty-pages.ts). */
  dirty: DirtyPages | undefined = undefined;
  /** Some writer of this memory does not mark pages: its marks are not trusted (dirty-pages.ts). */
  untrackedWriters = false;
  #buffer: ArrayBuffer | SharedArrayBuffer;
  #u8: Uint8Array;
  #dv: DataView;

  constructor(wasm: WebAssembly.Memory, definition: MemoryDefinition, maxPages: number) {
    this.wasm = wasm;
    this.#definition = definition;
    this.maxPages = maxPages;
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
      this.wasm.grow(deltaPages);
    } catch {
      return undefined;
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
