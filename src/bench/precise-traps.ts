/**
 * The worst case of precise traps (compiler engine): loops doing nothing but the instructions they
 * instrument, a trapping float→int truncation and a `call_indirect`, 10^7 iterations each, on the
 * default engine and on one built with `preciseTraps: false`. The guests have no such instruction in
 * their bodies, so for them the cost is zero.
 */
import { newCompilerEngine } from '../compiler-native/engine.js';
import { newModuleConfig, newRuntimeConfigCompiler, newRuntimeWithConfig } from '../index.js';
import { FUNCREF, I32, I64 } from '../runtime/api/value-type.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { RuntimeImpl } from '../runtime/store/runtime.js';
import { BLOCK_EMPTY, ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import { SectionId } from '../runtime/binary/module.js';
import { medianOf } from './stats.js';

const ITERATIONS = 10_000_000;
const RUNS = 5;

/**
 * Exports `trunc(n) -> i64` (sums `i64.trunc_f64_s(f64.convert_i32_s(i))` for i < n) and
 * `indirect(n) -> i64` (sums `call_indirect $id(i)` through table entry 0).
 */
function loopsModule(): Uint8Array {
  const w = new ByteWriter().preamble();
  const types = new ByteWriter().u32(2);
  encodeFuncType(types, { params: [I32], results: [I32] });
  encodeFuncType(types, { params: [I32], results: [I64] });
  w.section(SectionId.Type, types);
  w.section(SectionId.Function, new ByteWriter().u32(3).u32(0).u32(1).u32(1));
  w.section(SectionId.Table, new ByteWriter().u32(1).u8(FUNCREF).u8(1).u32(1).u32(1));
  w.section(SectionId.Export, new ByteWriter().u32(2).name('trunc').u8(0).u32(1).name('indirect').u8(0).u32(2));
  w.section(SectionId.Element, new ByteWriter().u32(1).u8(0).i32Const(0).end().u32(1).u32(0));
  const code = new ByteWriter().u32(3);
  code.sized(new ByteWriter().u32(0).localGet(0).end()); // $id
  /** A loop over local 1 from 0 to param 0, adding the i64 `step` leaves to local 2. */
  const loop = (step: (b: ByteWriter) => void): ByteWriter => {
    const b = new ByteWriter().u32(2).u32(1).u8(I32).u32(1).u8(I64);
    b.loop(BLOCK_EMPTY).localGet(2);
    step(b);
    b.i64Add().localSet(2);
    b.localGet(1).i32Const(1).i32Add().localTee(1).localGet(0).i32LtU().brIf(0);
    return b.end().localGet(2).end();
  };
  code.sized(loop((b) => b.localGet(1).f64ConvertI32S().i64TruncF64S()));
  code.sized(loop((b) => b.localGet(1).i32Const(0).callIndirect(0, 0).i64ExtendI32U()));
  w.section(SectionId.Code, code);
  return w.finish();
}

/** Median ms of `RUNS` calls of export `name` with ITERATIONS, in a fresh instance each. */
async function time(r: Runtime, bytes: Uint8Array, name: string): Promise<number> {
  const compiled = await r.compileModule(bytes);
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const m = await r.instantiateModule(compiled, newModuleConfig().withName(''));
    const stack = new BigUint64Array([BigInt(ITERATIONS)]);
    const t = performance.now();
    m.exportedFunction(name)!.callWithStack(stack);
    ms.push(performance.now() - t);
    await m.close();
  }
  return medianOf(ms);
}

/** Prints the cost of precise trap texts (the compiler engine's instrumentation) on the guest corpus. */
export async function preciseTrapsSuite(): Promise<void> {
  console.log(`\n## precise traps, worst case: ${ITERATIONS} instrumented instructions (${RUNS} runs, medians)`);
  const bytes = loopsModule();
  const precise = newRuntimeWithConfig(newRuntimeConfigCompiler());
  const imprecise = new RuntimeImpl(newRuntimeConfigCompiler(), newCompilerEngine({ preciseTraps: false }));
  for (const name of ['trunc', 'indirect']) {
    const without = await time(imprecise, bytes, name);
    const withChecks = await time(precise, bytes, name);
    const ns = ((withChecks - without) * 1e6) / ITERATIONS;
    console.log(
      `${name.padEnd(8)} without ${without.toFixed(1).padStart(7)} ms  with ${withChecks.toFixed(1).padStart(7)} ms  ` +
        `(${ns >= 0 ? '+' : ''}${ns.toFixed(2)} ns per instruction)`,
    );
  }
  await precise.close();
  await imprecise.close();
}
