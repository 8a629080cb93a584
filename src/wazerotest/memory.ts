/**
 * Mock memories. A mock memory is the runtime's own `Memory` implementation over a fresh
 * `WebAssembly.Memory`, so every bounds rule (zero-length reads at the end, 8-byte checks of
 * `writeUint64Le`, `grow` results) is the real one by construction: host functions tested against a
 * mock behave as they will against a guest. (wazero's mock has its own implementation and differs
 * from its real memory at the end of memory and in `WriteUint64Le`.)
 */
import type { Memory, MemoryDefinition } from '../runtime/api/module.js';
import { MemoryApi } from '../runtime/store/memory-api.js';

/** Bytes in a WebAssembly page. */
export const PAGE_SIZE = 65536;
const MAX_PAGES = 65536;

/** A mock linear memory: a real {@link Memory}, plus direct access to its bytes. */
export interface MockMemory extends Memory {
  /** The whole memory as a write-through view (wazero's `Bytes`); stale after a grow. */
  bytes(): Uint8Array;
}

/** Where a memory learns the name of the module it belongs to (set when the module builds its exports). */
export interface MemoryOwnerSlot {
  moduleName: string;
}

const owners = new WeakMap<Memory, MemoryOwnerSlot>();

/** Attaches `memory` to a module named by `slot` (internal: called by the mock module). */
export function attachMemory(memory: MockMemory, slot: MemoryOwnerSlot): void {
  owners.set(memory, slot);
}

class MockMemoryDefinition implements MemoryDefinition {
  readonly #min: number;
  readonly #max: number;
  readonly #encoded: boolean;
  memory: Memory | undefined;
  constructor(min: number, max: number, encoded: boolean) {
    this.#min = min;
    this.#max = max;
    this.#encoded = encoded;
  }
  moduleName(): string {
    return this.memory === undefined ? '' : (owners.get(this.memory)?.moduleName ?? '');
  }
  index(): number {
    return 0;
  }
  import(): [module: string, name: string] | undefined {
    return undefined;
  }
  exportNames(): string[] {
    return ['memory'];
  }
  min(): number {
    return this.#min;
  }
  max(): [max: number, encoded: boolean] {
    return [this.#max, this.#encoded];
  }
}

class MockMemoryImpl extends MemoryApi implements MockMemory {
  bytes(): Uint8Array {
    return this.u8;
  }
  override toString(): string {
    return `memory(${this.pages()} pages)`;
  }
}

function pagesFor(size: number | Uint8Array, fn: string): { pages: number; init: Uint8Array | undefined } {
  const n = typeof size === 'number' ? size : size.byteLength;
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGES * PAGE_SIZE) {
    throw new RangeError(`${fn}: size must be an integer number of bytes in [0, 4 GiB], got ${String(size)}`);
  }
  return { pages: Math.ceil(n / PAGE_SIZE), init: typeof size === 'number' ? undefined : size };
}

function build(size: number | Uint8Array, maxPages: number | undefined, fn: string): MockMemory {
  const { pages, init } = pagesFor(size, fn);
  if (maxPages !== undefined && (!Number.isInteger(maxPages) || maxPages < pages || maxPages > MAX_PAGES)) {
    throw new RangeError(`${fn}: maxPages must be an integer in [${pages}, ${MAX_PAGES}], got ${maxPages}`);
  }
  const wasm =
    maxPages !== undefined ? new WebAssembly.Memory({ initial: pages, maximum: maxPages }) : new WebAssembly.Memory({ initial: pages });
  const def = new MockMemoryDefinition(pages, maxPages ?? MAX_PAGES, maxPages !== undefined);
  const mem = new MockMemoryImpl(wasm, def, maxPages ?? MAX_PAGES);
  def.memory = mem;
  if (init !== undefined) mem.write(0, init);
  return mem;
}

/**
 * A growable mock memory of `size` bytes rounded up to whole pages (wazero's `NewMemory`), or holding
 * a copy of `size` when it is a byte array (the rest of the last page is zero).
 * @param size - bytes, or the initial contents.
 * @param maxPages - the maximum in pages, as a guest's encoded maximum. @defaultValue none (up to 65536 pages)
 * @throws RangeError when the size is negative, fractional or over 4 GiB, or the maximum is below it.
 */
export function newMemory(size: number | Uint8Array, maxPages?: number): MockMemory {
  return build(size, maxPages, 'newMemory');
}

/**
 * A mock memory that cannot grow: its maximum is its initial page count (wazero's `NewFixedMemory`).
 * @param size - bytes (rounded up to whole pages), or the initial contents.
 * @throws RangeError when the size is negative, fractional or over 4 GiB.
 */
export function newFixedMemory(size: number | Uint8Array): MockMemory {
  return build(size, pagesFor(size, 'newFixedMemory').pages, 'newFixedMemory');
}
