/** Generated modules for benches. */
import { ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';

/**
 * A module of `n` small functions (each adds, loads and calls the next), for compile latency.
 * `salt` goes into a custom section so every call gives new bytes (V8 caches native modules by bytes).
 */
export function bigModule(n: number, salt: number): Uint8Array {
  const w = new ByteWriter(n * 16);
  w.u32Fixed(0x6d736100).u32Fixed(1);
  const sec = (id: number, b: ByteWriter): void => {
    w.u8(id).u32(b.len).bytes(b.buf.subarray(0, b.len));
  };
  const types = new ByteWriter().u32(1);
  encodeFuncType(types, { params: [0x7f], results: [0x7f] });
  sec(1, types);
  const funcs = new ByteWriter().u32(n);
  for (let i = 0; i < n; i++) funcs.u32(0);
  sec(3, funcs);
  sec(5, new ByteWriter().u32(1).u8(0).u32(1));
  sec(6, new ByteWriter().u32(1).u8(0x7f).u8(1).u8(0x41).u8(0).u8(0x0b));
  sec(7, new ByteWriter().u32(1).name('f0').u8(0).u32(0));
  const code = new ByteWriter(n * 16).u32(n);
  for (let i = 0; i < n; i++) {
    const b = new ByteWriter(32).u32(0);
    b.u8(0x20)
      .u32(0)
      .u8(0x41)
      .s32(i & 63)
      .u8(0x6a)
      .u8(0x28)
      .u8(2)
      .u32(0)
      .u8(0x10)
      .u32((i + 1) % n)
      .u8(0x0b);
    code.u32(b.len).bytes(b.buf.subarray(0, b.len));
  }
  sec(10, code);
  sec(0, new ByteWriter().name('salt').u32(salt));
  return w.finish();
}
