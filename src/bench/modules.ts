/** Generated modules for benches. */
import { I32 } from '../runtime/api/value-type.js';
import { ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import { SectionId } from '../runtime/binary/module.js';

/**
 * A module of `n` small functions (each adds, loads and calls the next), for compile latency.
 * `salt` goes into a custom section so every call gives new bytes (V8 caches native modules by bytes).
 */
export function bigModule(n: number, salt: number): Uint8Array {
  const w = new ByteWriter(n * 16).preamble();
  const types = new ByteWriter().u32(1);
  encodeFuncType(types, { params: [I32], results: [I32] });
  w.section(SectionId.Type, types);
  const funcs = new ByteWriter().u32(n);
  for (let i = 0; i < n; i++) funcs.u32(0);
  w.section(SectionId.Function, funcs);
  w.section(SectionId.Memory, new ByteWriter().u32(1).u8(0).u32(1));
  w.section(SectionId.Global, new ByteWriter().u32(1).u8(I32).u8(1).i32Const(0).end());
  w.section(SectionId.Export, new ByteWriter().u32(1).name('f0').u8(0).u32(0));
  const code = new ByteWriter(n * 16).u32(n);
  for (let i = 0; i < n; i++) {
    const b = new ByteWriter(32)
      .u32(0)
      .localGet(0)
      .i32Const(i & 63)
      .i32Add()
      .i32Load(2, 0)
      .call((i + 1) % n)
      .end();
    code.sized(b);
  }
  w.section(SectionId.Code, code);
  w.section(SectionId.Custom, new ByteWriter().name('salt').u32(salt));
  return w.finish();
}
