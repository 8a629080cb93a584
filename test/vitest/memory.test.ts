/**
 * Guest-memory helpers of `wasmscope/vitest`: C, UTF-8, UTF-16 and AssemblyScript strings and typed
 * arrays, on a mock memory and on a module.
 */
import { describe, expect, it } from 'vitest';
import {
  readAssemblyScriptString,
  readCString,
  readString,
  readTypedArray,
  readUtf16String,
  writeCString,
  writeTypedArray,
  writeUtf16String,
} from '../../src/vitest.js';
import { newMemory, newModule } from '../../src/wazerotest.js';

describe('guest memory helpers', () => {
  it('writes and reads NUL-terminated C strings, stopping at maxBytes or the end of memory', () => {
    const mem = newMemory(65536);
    expect(writeCString(mem, 10, 'héllo')).toBe(7);
    expect(mem.readByte(16)).toBe(0);
    expect(readCString(mem, 10)).toBe('héllo');
    expect(readCString(mem, 10, 3)).toBe('hé');
    mem.write(65534, new Uint8Array([0x41, 0x42]));
    expect(readCString(mem, 65534)).toBe('AB');
    expect(() => writeCString(mem, 65534, 'AB')).toThrow('writeCString: [65534, 65537) is outside memory of 65536 bytes');
  });

  it('reads UTF-8 by pointer and length, and round-trips UTF-16LE', () => {
    const mod = newModule(newMemory(new TextEncoder().encode('abcdef')));
    expect(readString(mod, 1, 3)).toBe('bcd');
    expect(writeUtf16String(mod, 100, 'ü€😀')).toBe(8);
    expect(Array.from(mod.memory()!.read(100, 4)!)).toEqual([0xfc, 0x00, 0xac, 0x20]);
    expect(readUtf16String(mod, 100, 8)).toBe('ü€😀');
  });

  it('reads AssemblyScript strings by the byte length stored 4 bytes before them; 0 is null', () => {
    const mem = newMemory(65536);
    mem.writeUint32Le(96, 10);
    writeUtf16String(mem, 100, 'abort');
    expect(readAssemblyScriptString(mem, 100)).toBe('abort');
    expect(readAssemblyScriptString(mem, 0)).toBeNull();
    expect(() => readAssemblyScriptString(mem, 2)).toThrow('header at -2 is outside memory');
  });

  it('copies typed arrays in and out, little-endian at any alignment', () => {
    const mem = newMemory(65536);
    expect(writeTypedArray(mem, 3, Int32Array.of(-1, 2, 3))).toBe(12);
    expect(mem.readUint32Le(3)).toBe(0xffffffff);
    expect(readTypedArray(mem, 3, Int32Array, 3)).toEqual(Int32Array.of(-1, 2, 3));
    writeTypedArray(mem, 40, Float64Array.of(1.5));
    expect(readTypedArray(mem, 40, Float64Array, 1)[0]).toBe(1.5);
    expect(readTypedArray(mem, 64, BigUint64Array, 1)[0]).toBe(0n);
    expect(() => readTypedArray(mem, 65532, Int32Array, 2)).toThrow(RangeError);
  });

  it('names a module without memory', () => {
    expect(() => readCString(newModule(undefined).setName('nomem'), 0)).toThrow('readCString: module[nomem] has no memory');
  });
});
