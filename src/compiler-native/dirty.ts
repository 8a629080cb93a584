/**
 * Dirty-page marking for the compiler engine: the mark function instrumented writes reach through the
 * hook table (instrument.ts `DirtyPlan`; bulk writes always, other writes on a window miss when V8
 * has no multi-memory). It is wasm of a small helper module over the memory's mark bytes
 * (store/dirty-pages.ts), so a mark costs a wasm-to-wasm call, never a trip into JS.
 */
import { BLOCK_EMPTY, ByteWriter } from '../runtime/binary/encoder.js';
import { SectionId } from '../runtime/binary/module.js';
import type { DirtyPages } from '../runtime/store/dirty-pages.js';

const I32 = 0x7f;
const I64 = 0x7e;

/**
 * The helper: `mark(ea: i64, n: i32)` sets the byte of every page of `[ea, ea + n)` in the imported
 * one-page memory `d.bits` (nothing when `n` is 0 or `ea` lies past 4 GiB).
 */
function buildMarker(): Uint8Array {
  const w = new ByteWriter(160).preamble();
  w.section(SectionId.Type, new ByteWriter(8).u32(1).u8(0x60).u32(2).u8(I64).u8(I32).u32(0));
  w.section(SectionId.Import, new ByteWriter(16).u32(1).name('d').name('bits').u8(2).u8(0x01).u32(1).u32(1));
  w.section(SectionId.Function, new ByteWriter(4).u32(1).u32(0));
  w.section(SectionId.Export, new ByteWriter(8).u32(1).name('mark').u8(0).u32(0));
  // locals: 2 = page, 3 = last page
  const c = new ByteWriter(96).u32(1).u32(2).u8(I32);
  c.localGet(1).i32Eqz().brIf(0);
  c.localGet(0)
    .i64Const(1n << 32n)
    .i64GeU()
    .brIf(0);
  c.localGet(0).i64Const(16n).i64ShrU().i32WrapI64().localSet(2);
  c.localGet(0).localGet(1).i64ExtendI32U().i64Add().i64Const(1n).i64Sub().i64Const(16n).i64ShrU().i32WrapI64().localSet(3);
  c.localGet(3).i32Const(65535).i32GtU().if(BLOCK_EMPTY).i32Const(65535).localSet(3).end();
  c.block(BLOCK_EMPTY).loop(BLOCK_EMPTY);
  c.localGet(2).localGet(3).i32GtU().brIf(1);
  c.localGet(2).i32Const(1).i32Store8(0, 0);
  c.localGet(2).i32Const(1).i32Add().localSet(2);
  c.br(0).end().end().end();
  w.section(SectionId.Code, new ByteWriter(c.len + 8).u32(1).sized(c));
  return w.finish();
}

/** The compiled helper (immutable code, shared by every engine). */
let markerModule: WebAssembly.Module | undefined;

/** The mark function over `dirty`'s bytes (a new helper instance). */
export function markFunction(dirty: DirtyPages): unknown {
  markerModule ??= new WebAssembly.Module(buildMarker());
  return new WebAssembly.Instance(markerModule, { d: { bits: dirty.memory } }).exports['mark'];
}
