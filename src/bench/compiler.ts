/**
 * The compiler engine against raw V8 in one process: `run()` of every nowasi guest at its default
 * size (interleaved runs, medians; speed = raw time / engine time, goal >= 0.98x geomean and >= 0.95x
 * each), and the compile latency of a 20,000-function module (`compileModule` / raw
 * `WebAssembly.compile`, goal <= 1.3x).
 */
import { Context, newModuleConfig, newRuntimeConfigCompiler, newRuntimeWithConfig, type RuntimeConfig } from '../index.js';
import { GUEST_NAMES, loadNowasiGuest } from './guests.js';
import { bigModule } from './modules.js';
import { geomean, medianOf } from './stats.js';

const RUNS = 5;

/**
 * Runs every nowasi guest on raw V8 and on the compiler engine made with `config`, each call with
 * `ctx()`; prints speed = raw time / engine time per guest and the geomean.
 */
async function guests(title: string, config: () => RuntimeConfig, ctx: () => Context, goals: string): Promise<void> {
  console.log(`\n## ${title}: nowasi guests, default size (${RUNS} interleaved runs, medians)`);
  const speeds: number[] = [];
  for (const name of GUEST_NAMES) {
    const g = loadNowasiGuest(name, 'default');
    const raw = await WebAssembly.compile(g.bytes);
    const r = newRuntimeWithConfig(config());
    const compiled = await r.compileModule(g.bytes);
    const rawMs: number[] = [];
    const engMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const inst = new WebAssembly.Instance(raw, {});
      let t = performance.now();
      const want = (inst.exports['run'] as () => bigint)();
      rawMs.push(performance.now() - t);
      const m = await r.instantiateModule(compiled, newModuleConfig().withName(''));
      const run = m.exportedFunction('run')!;
      t = performance.now();
      const got = run.callWithContext(ctx())[0]!;
      engMs.push(performance.now() - t);
      if (got !== BigInt.asUintN(64, want) || got !== g.checksum)
        throw new Error(`${name}: engine ${got}, raw ${want}, expected ${g.checksum}`);
      await m.close();
    }
    const speed = medianOf(rawMs) / medianOf(engMs);
    speeds.push(speed);
    console.log(
      `${name.padEnd(8)} raw ${medianOf(rawMs).toFixed(1).padStart(8)} ms  compiler ${medianOf(engMs).toFixed(1).padStart(8)} ms  speed ${speed.toFixed(3)}x`,
    );
    await r.close();
  }
  console.log(`geomean speed ${geomean(speeds).toFixed(3)}x, min ${Math.min(...speeds).toFixed(3)}x (${goals})`);
}

/** The compiler engine without hooks: V8's own speed. */
function plainGuests(): Promise<void> {
  return guests('compiler engine vs raw V8', newRuntimeConfigCompiler, Context.background, 'goals: >= 0.98x geomean, >= 0.95x each');
}

/**
 * The cost of interrupt checks (`withCloseOnContextDone(true)` and a call deadline far away): the
 * checks at loop heads and at the entries of functions that call.
 */
export function interruptCost(): Promise<void> {
  return guests(
    'compiler engine with interrupt checks (closeOnContextDone, 1 h deadline) vs raw V8',
    () => newRuntimeConfigCompiler().withCloseOnContextDone(true),
    () => Context.background().withTimeout(3_600_000),
    'checks on; compare with the plain figure above',
  );
}

export async function compileLatency(): Promise<void> {
  const n = 20_000;
  console.log(`\n## compile latency: ${n}-function module (fresh bytes each run, 7 runs, medians)`);
  const raw: number[] = [];
  const ours: number[] = [];
  let size = 0;
  for (let i = 0; i < 7; i++) {
    const a = bigModule(n, 2 * i);
    size = a.length;
    let t = performance.now();
    await WebAssembly.compile(a);
    raw.push(performance.now() - t);
    const r = newRuntimeWithConfig(newRuntimeConfigCompiler());
    const b = bigModule(n, 2 * i + 1);
    t = performance.now();
    await r.compileModule(b);
    ours.push(performance.now() - t);
    await r.close();
  }
  const ratio = medianOf(ours) / medianOf(raw);
  console.log(
    `${size} bytes: raw WebAssembly.compile ${medianOf(raw).toFixed(1)} ms, compileModule ${medianOf(ours).toFixed(1)} ms: ${ratio.toFixed(2)}x (goal <= 1.3x)`,
  );
}

/** Prints the compiler engine against raw V8 on the guest corpus. */
export async function compilerSuite(): Promise<void> {
  await plainGuests();
  await interruptCost();
  await compileLatency();
}
