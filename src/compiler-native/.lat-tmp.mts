import { decodeModule } from '../runtime/binary/decoder.js';
import { validateModule } from '../runtime/validate/validate.js';
import { rewriteModule } from '../compiler-native/rewrite.js';
import { CoreFeaturesV2 } from '../runtime/api/features.js';
import { ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
function bigModule(n: number, salt: number): Uint8Array {
  const w = new ByteWriter(n * 16);
  w.u32Fixed(0x6d736100).u32Fixed(1);
  const sec = (id: number, b: ByteWriter): void => { w.u8(id).u32(b.len).bytes(b.buf.subarray(0, b.len)); };
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
    b.u8(0x20).u32(0).u8(0x41).s32(i & 63).u8(0x6a).u8(0x28).u8(2).u32(0).u8(0x10).u32((i + 1) % n).u8(0x0b);
    code.u32(b.len).bytes(b.buf.subarray(0, b.len));
  }
  sec(10, code);
  sec(0, new ByteWriter().name('salt').u32(salt));
  return w.finish();
}
const med = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
const T: Record<string, number[]> = {};
const rec = (k: string, v: number) => (T[k] ??= []).push(v);
for (let r = 0; r < 9; r++) {
  let b = bigModule(20000, r * 10);
  let t = performance.now(); await WebAssembly.compile(b); rec('raw compile', performance.now() - t);
  b = bigModule(20000, r * 10 + 1);
  t = performance.now(); const m = decodeModule(b, CoreFeaturesV2); rec('decode', performance.now() - t);
  t = performance.now(); validateModule(m, CoreFeaturesV2); rec('validate', performance.now() - t);
  t = performance.now(); const rw = rewriteModule(m, 1000 + r, { preciseTraps: true }); rec('rewrite precise', performance.now() - t);
  t = performance.now(); rewriteModule(m, 2000 + r, { preciseTraps: false }); rec('rewrite plain', performance.now() - t);
  t = performance.now(); await WebAssembly.compile(rw.bytes); rec('compile rewritten', performance.now() - t);
  const b2 = bigModule(20000, r * 10 + 2);
  t = performance.now(); WebAssembly.validate(b2); rec('WebAssembly.validate', performance.now() - t);
}
for (const [k, v] of Object.entries(T)) console.log(k.padEnd(22), med(v).toFixed(2), 'ms');
