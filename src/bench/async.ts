/**
 * Async host functions and time slicing (`npm run bench -- async`), every figure measured side by
 * side in one run (interleaved, medians):
 * - per engine, the cost of a guest → host call when the host function is async (`withAsyncFunc`,
 *   reached with `callAsync`) against the same call to a synchronous host function (`call`): ns per
 *   call and the ratio (the compiler engine needs JS Promise Integration, Node ≥ 24);
 * - the event loop's latency (p99 lateness of a 1 ms timer) while a ~2 s guest computation runs on
 *   the interpreter, without and with time slicing (`withTimeSlicing`, 5 ms slices), and the cost
 *   of slicing on the computation (ratio of the two run times).
 */
import { Context, newModuleConfig, newRuntimeConfigCompiler, newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../index.js';
import type { RuntimeConfig } from '../index.js';
import { ValueType } from '../api.js';
import { withTimeSlicing } from '../experimental.js';
import { BLOCK_EMPTY, ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import { SectionId } from '../runtime/binary/module.js';
import { ExternKind } from '../runtime/api/value-type.js';
import { medianOf } from './stats.js';

const I32 = 0x7f;
const RUNS = 5;

/**
 * `(import "env" "h" (func (param i32) (result i32)))` and `run(n) → i32` calling `h` n times,
 * threading the result; `spin(n) → i32` counting to n in a loop (no calls).
 */
function guest(): Uint8Array {
  const w = new ByteWriter(256).preamble();
  const types = new ByteWriter(32).u32(1);
  encodeFuncType(types, { params: [I32], results: [I32] });
  w.section(SectionId.Type, types);
  w.section(SectionId.Import, new ByteWriter(16).u32(1).name('env').name('h').u8(ExternKind.Func).u32(0));
  w.section(SectionId.Function, new ByteWriter(4).u32(2).u32(0).u32(0));
  w.section(SectionId.Export, new ByteWriter(32).u32(2).name('run').u8(ExternKind.Func).u32(1).name('spin').u8(ExternKind.Func).u32(2));
  const code = new ByteWriter(128).u32(2);
  // run: local 1 = acc, local 2 = i
  const run = new ByteWriter(64);
  run.u32(1).u32(2).u8(I32);
  run.loop(BLOCK_EMPTY);
  run.localGet(1).call(0).localSet(1);
  run.localGet(2).i32Const(1).u8(0x6a).localTee(2).localGet(0).u8(0x49).brIf(0); // i32.add; i32.lt_u
  run.end().localGet(1).end();
  code.sized(run);
  const spin = new ByteWriter(64);
  spin.u32(1).u32(1).u8(I32);
  spin.loop(BLOCK_EMPTY);
  spin.localGet(1).i32Const(1).u8(0x6a).localTee(1).localGet(0).u8(0x49).brIf(0);
  spin.end().localGet(1).end();
  code.sized(spin);
  w.section(SectionId.Code, code);
  return w.finish();
}

const hasJspi = typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function';

async function hostCallCost(name: string, config: () => RuntimeConfig): Promise<void> {
  const n = 20_000;
  const sync: number[] = [];
  const async_: number[] = [];
  const bytes = guest();
  for (let i = 0; i < RUNS; i++) {
    for (const kind of ['sync', 'async'] as const) {
      const r = newRuntimeWithConfig(config());
      const b = r.newHostModuleBuilder('env').newFunctionBuilder();
      if (kind === 'sync') b.withFunc((_c, _m, x: number) => x + 1, [ValueType.I32], [ValueType.I32]);
      else b.withAsyncFunc((_c, _m, x: number) => Promise.resolve(x + 1), [ValueType.I32], [ValueType.I32]);
      await b.export('h').instantiate();
      const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName('g'));
      const run = m.exportedFunction('run')!;
      const t = performance.now();
      const got = kind === 'sync' ? run.call(n) : await run.callAsync(n);
      const ms = performance.now() - t;
      if (got[0] !== BigInt(n)) throw new Error(`${name} ${kind}: got ${got[0]}, want ${n}`);
      (kind === 'sync' ? sync : async_).push((ms * 1e6) / n);
      await r.close();
    }
  }
  const s = medianOf(sync);
  const a = medianOf(async_);
  console.log(
    `${name.padEnd(12)} sync host call ${s.toFixed(0).padStart(6)} ns  async ${a.toFixed(0).padStart(7)} ns  ratio ${(a / s).toFixed(1)}x`,
  );
}

/** p99 lateness (ms) of a 1 ms interval while `work` runs. */
async function loopLatency(work: () => Promise<unknown>): Promise<{ p99: number; ms: number }> {
  const late: number[] = [];
  let expected = performance.now() + 1;
  const timer = setInterval(() => {
    const now = performance.now();
    late.push(Math.max(0, now - expected));
    expected = now + 1;
  }, 1);
  const t = performance.now();
  await work();
  const ms = performance.now() - t;
  clearInterval(timer);
  // The tick right after a blocking call measures the whole block.
  await new Promise((r) => setTimeout(r, 5));
  const sorted = late.sort((x, y) => x - y);
  return { p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? ms, ms };
}

async function slicing(): Promise<void> {
  const r = newRuntimeWithConfig(newRuntimeConfigInterpreter().withCloseOnContextDone(true));
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withFunc((_c, _m, x: number) => x, [ValueType.I32], [ValueType.I32])
    .export('h')
    .instantiate();
  const m = await r.instantiateWithConfig(guest(), newModuleConfig().withName('g'));
  const spin = m.exportedFunction('spin')!;
  // About 2 s of guest work on this machine.
  const t = performance.now();
  spin.call(2_000_000);
  const n = Math.max(1_000_000, Math.round((2_000_000 * 2000) / Math.max(1, performance.now() - t)));
  const plain: Array<{ p99: number; ms: number }> = [];
  const sliced: Array<{ p99: number; ms: number }> = [];
  for (let i = 0; i < 3; i++) {
    plain.push(await loopLatency(() => spin.callAsync(n)));
    sliced.push(await loopLatency(() => spin.callWithContextAsync(withTimeSlicing(Context.background(), 5), n)));
  }
  const p = { p99: medianOf(plain.map((x) => x.p99)), ms: medianOf(plain.map((x) => x.ms)) };
  const s = { p99: medianOf(sliced.map((x) => x.p99)), ms: medianOf(sliced.map((x) => x.ms)) };
  console.log(`interpreter, a ${p.ms.toFixed(0)} ms guest computation: event-loop p99 latency ${p.p99.toFixed(1)} ms without time slicing`);
  console.log(`                 with 5 ms slices: p99 ${s.p99.toFixed(1)} ms; the computation takes ${(s.ms / p.ms).toFixed(2)}x as long`);
  await r.close();
}

export async function asyncSuite(): Promise<void> {
  console.log(`\n## async host functions: cost per guest→host call (${RUNS} interleaved runs, medians)`);
  await hostCallCost('interpreter', newRuntimeConfigInterpreter);
  if (hasJspi) await hostCallCost('compiler', newRuntimeConfigCompiler);
  else console.log('compiler     skipped: this V8 has no JS Promise Integration (Node >= 24 has it)');
  console.log('\n## time slicing: event-loop latency while a guest computes');
  await slicing();
}
