/**
 * Reading and writing guest memory the way guests lay data out: NUL-terminated C strings, UTF-8 and
 * UTF-16LE strings, AssemblyScript strings (UTF-16LE with their byte length in the 4 bytes before
 * the pointer), and typed arrays. Every helper takes a module (its memory) or a memory, and fails
 * with a RangeError that names the address instead of reading out of bounds.
 */
import type { Memory, Module } from '../runtime/api/module.js';

/** Where guest data lives: a module (its memory) or a memory. */
export type GuestMemory = Module | Memory;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');
const utf16Decoder = new TextDecoder('utf-16le');

function memoryOf(m: GuestMemory, fn: string): Memory {
  if ('readByte' in m) return m;
  const mem = m.memory();
  if (mem === undefined) throw new TypeError(`${fn}: module[${m.name()}] has no memory`);
  return mem;
}

function view(mem: Memory, ptr: number, len: number, fn: string): Uint8Array {
  const v = mem.read(ptr, len);
  if (v === undefined) throw new RangeError(`${fn}: [${ptr}, ${ptr + len}) is outside memory of ${mem.size()} bytes`);
  return v;
}

/** Writes `bytes` at `ptr` through the Memory API (so dirty-page tracking sees the write). */
function put(mem: Memory, ptr: number, bytes: Uint8Array, fn: string): number {
  if (!mem.write(ptr, bytes)) throw new RangeError(`${fn}: [${ptr}, ${ptr + bytes.length}) is outside memory of ${mem.size()} bytes`);
  return bytes.length;
}

/**
 * The NUL-terminated UTF-8 string at `ptr`.
 * @param maxBytes - stop after this many bytes when no NUL comes first. @defaultValue to the end of memory
 * @throws RangeError when `ptr` is outside memory.
 */
export function readCString(m: GuestMemory, ptr: number, maxBytes?: number): string {
  const mem = memoryOf(m, 'readCString');
  const avail = mem.size() - ptr;
  const all = view(mem, ptr, Math.max(0, Math.min(avail, maxBytes ?? avail)), 'readCString');
  const end = all.indexOf(0);
  return utf8Decoder.decode(end < 0 ? all : all.subarray(0, end));
}

/**
 * Writes `s` as UTF-8 plus a NUL at `ptr`.
 * @returns the bytes written, NUL included.
 * @throws RangeError when it does not fit.
 */
export function writeCString(m: GuestMemory, ptr: number, s: string): number {
  const b = utf8.encode(`${s}\0`);
  return put(memoryOf(m, 'writeCString'), ptr, b, 'writeCString');
}

/**
 * The UTF-8 string of `byteLength` bytes at `ptr` (a pointer and length pair, as Rust and Go pass strings).
 * @throws RangeError when the range is outside memory.
 */
export function readString(m: GuestMemory, ptr: number, byteLength: number): string {
  return utf8Decoder.decode(view(memoryOf(m, 'readString'), ptr, byteLength, 'readString'));
}

/**
 * The UTF-16LE string of `byteLength` bytes at `ptr`.
 * @throws RangeError when the range is outside memory.
 */
export function readUtf16String(m: GuestMemory, ptr: number, byteLength: number): string {
  return utf16Decoder.decode(view(memoryOf(m, 'readUtf16String'), ptr, byteLength, 'readUtf16String'));
}

/**
 * Writes `s` as UTF-16LE (no terminator) at `ptr`.
 * @returns the bytes written (2 per UTF-16 code unit).
 * @throws RangeError when it does not fit.
 */
export function writeUtf16String(m: GuestMemory, ptr: number, s: string): number {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[2 * i] = c & 0xff;
    out[2 * i + 1] = c >>> 8;
  }
  return put(memoryOf(m, 'writeUtf16String'), ptr, out, 'writeUtf16String');
}

/**
 * The AssemblyScript string at `ptr`: UTF-16LE whose byte length is the u32 at `ptr - 4` (the
 * object header's `rtSize`), as `env.abort` receives its message and file name. `0` is `null`.
 * @throws RangeError when the header or the string is outside memory.
 */
export function readAssemblyScriptString(m: GuestMemory, ptr: number): string | null {
  if (ptr === 0) return null;
  const mem = memoryOf(m, 'readAssemblyScriptString');
  const len = mem.readUint32Le(ptr - 4);
  if (len === undefined) throw new RangeError(`readAssemblyScriptString: header at ${ptr - 4} is outside memory of ${mem.size()} bytes`);
  return utf16Decoder.decode(view(mem, ptr, len, 'readAssemblyScriptString'));
}

/** A typed-array constructor {@link readTypedArray} can fill. */
export type TypedArrayConstructor<T> = {
  new (length: number): T;
  /** Bytes per element (e.g. 4 for `Int32Array`). */
  readonly BYTES_PER_ELEMENT: number;
};

/** The typed arrays {@link readTypedArray} and {@link writeTypedArray} handle. */
export type GuestTypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/**
 * A copy of `length` elements of `type` at `ptr` (little-endian, any alignment).
 * @example `readTypedArray(mod, ptr, Int32Array, 4)`
 * @throws RangeError when the range is outside memory.
 */
export function readTypedArray<T extends GuestTypedArray>(m: GuestMemory, ptr: number, type: TypedArrayConstructor<T>, length: number): T {
  const bytes = view(memoryOf(m, 'readTypedArray'), ptr, length * type.BYTES_PER_ELEMENT, 'readTypedArray');
  const out = new type(length);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  return out;
}

/**
 * Writes the elements of `values` at `ptr` (little-endian).
 * @returns the bytes written.
 * @throws RangeError when they do not fit.
 */
export function writeTypedArray(m: GuestMemory, ptr: number, values: GuestTypedArray): number {
  return put(memoryOf(m, 'writeTypedArray'), ptr, new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 'writeTypedArray');
}
