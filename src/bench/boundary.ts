/**
 * The cost of one host→guest call of `(i64, i64) -> i64` through the compiler engine's boundary
 * (params and results cross as raw 64-bit slots of a scratch memory, see compiler-native/boundary.ts),
 * against the two ways to call the same export of raw V8: BigInt arguments and i32 halves.
 */
import { newModuleConfig, newRuntimeConfigCompiler, newRuntimeWithConfig } from '../index.js';
import { I32, I64 } from '../runtime/api/value-type.js';
import { ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import { SectionId } from '../runtime/binary/module.js';

/** Calls per measurement. */
const N = 1_000_000;

/**
 * `add (i64, i64) -> i64` and `add32 (i32 lo, i32 hi, i32 lo, i32 hi) -> i32`, which joins the halves,
 * adds and returns the low half (enough to time the argument passing).
 */
function addModule(): Uint8Array {
  const w = new ByteWriter().preamble();
  const types = new ByteWriter().u32(2);
  encodeFuncType(types, { params: [I64, I64], results: [I64] });
  encodeFuncType(types, { params: [I32, I32, I32, I32], results: [I32] });
  w.section(SectionId.Type, types);
  w.section(SectionId.Function, new ByteWriter().u32(2).u32(0).u32(1));
  w.section(SectionId.Export, new ByteWriter().u32(2).name('add').u8(0).u32(0).name('add32').u8(0).u32(1));
  const code = new ByteWriter().u32(2);
  code.sized(new ByteWriter().u32(0).localGet(0).localGet(1).i64Add().end());
  const add32 = new ByteWriter().u32(0);
  for (const [lo, hi] of [
    [0, 1],
    [2, 3],
  ] as const) {
    add32.localGet(lo).i64ExtendI32U().localGet(hi).i64ExtendI32U().i64Const(32n).i64Shl().i64Or();
  }
  code.sized(add32.i64Add().i32WrapI64().end());
  w.section(SectionId.Code, code);
  return w.finish();
}

/** ns per call of `f`, which makes {@link N} calls (after one warm-up round). */
function nsPerCall(f: () => void): number {
  f();
  const t = performance.now();
  f();
  return ((performance.now() - t) * 1e6) / N;
}

/** Prints the cost of one call from the host into the guest (the JS boundary) against raw V8. */
export async function boundarySuite(): Promise<void> {
  console.log(`\n## one call of (i64, i64) -> i64 from the host (${N} calls, after a warm-up round)`);
  const bytes = addModule();
  const raw = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const add = raw.exports['add'] as (a: bigint, b: bigint) => bigint;
  const add32 = raw.exports['add32'] as (a: number, b: number, c: number, d: number) => number;
  const r = newRuntimeWithConfig(newRuntimeConfigCompiler());
  const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName(''));
  const fn = m.exportedFunction('add')!;
  const stack = new BigUint64Array(2);
  const engine = nsPerCall(() => {
    for (let i = 0; i < N; i++) {
      stack[0] = 0x123456789n;
      stack[1] = 0xfedcba987654321n;
      fn.callWithStack(stack);
    }
  });
  const bigints = nsPerCall(() => {
    for (let i = 0; i < N; i++) {
      stack[0] = 0x123456789n;
      stack[1] = 0xfedcba987654321n;
      stack[0] = BigInt.asUintN(64, add(BigInt.asIntN(64, stack[0]), BigInt.asIntN(64, stack[1])));
    }
  });
  const halves = nsPerCall(() => {
    for (let i = 0; i < N; i++) {
      stack[0] = 0x123456789n;
      stack[1] = 0xfedcba987654321n;
      const a = stack[0];
      const b = stack[1];
      stack[0] = BigInt(add32(Number(a & 0xffffffffn), Number(a >> 32n), Number(b & 0xffffffffn), Number(b >> 32n)) >>> 0);
    }
  });
  console.log(
    `compiler engine, callWithStack (scratch slots) ${engine.toFixed(0)} ns; ` +
      `raw export with BigInt args ${bigints.toFixed(0)} ns; raw export with i32 halves ${halves.toFixed(0)} ns`,
  );
  await r.close();
}
