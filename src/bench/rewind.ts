/**
 * The cost of the compiler's rewind pass (snapshots, `withSnapshotter(ctx)` on the compile context)
 * on the nowasi guests at their default size, calls made without snapshots (interleaved runs,
 * medians of the process's CPU time, which a loaded machine disturbs less than wall time; ratio =
 * time with the pass / time without, both on the compiler engine):
 * - as they are: only functions that call through a table (and their callers) are transformed;
 * - worst case: with a never-taken call of a host import spliced in at every function entry
 *   (`spliceHostCall(…, { guarded: true })`), so that every function is transformed and every call
 *   is a site; the baseline is the same spliced module compiled without the pass.
 * Also the compile time of the worst-case module with / without the pass (`compileModule` in fresh
 * runtimes, 5 interleaved runs, medians).
 */
import { Context, newModuleConfig, newRuntimeConfigCompiler, newRuntimeWithConfig, type Runtime } from '../index.js';
import { withSnapshotter } from '../experimental.js';
import { GUEST_NAMES, loadNowasiGuest } from './guests.js';
import { spliceHostCall } from './modules.js';
import { geomean, medianOf } from './stats.js';

const RUNS = 5;

interface Variant {
  readonly r: Runtime;
  readonly run: () => bigint;
  /** CPU time (user + system) of each run: steadier than wall time on a shared machine. */
  readonly ms: number[];
}

async function variant(bytes: Uint8Array, snapshots: boolean): Promise<Variant> {
  const r = newRuntimeWithConfig(newRuntimeConfigCompiler());
  await r
    .newHostModuleBuilder('h')
    .newFunctionBuilder()
    .withFunc(() => {}, [], [])
    .export('tick')
    .instantiate();
  const ctx = snapshots ? withSnapshotter(Context.background()) : Context.background();
  const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName('g'), ctx);
  const fn = m.exportedFunction('run')!;
  return { r, run: () => fn.call()[0]!, ms: [] };
}

function time(v: Variant): bigint {
  const t = process.cpuUsage();
  const x = v.run();
  const d = process.cpuUsage(t);
  v.ms.push((d.user + d.system) / 1000);
  return x;
}

async function compileMs(bytes: Uint8Array, snapshots: boolean): Promise<number> {
  const r = newRuntimeWithConfig(newRuntimeConfigCompiler());
  const t = performance.now();
  await r.compileModule(bytes, snapshots ? withSnapshotter(Context.background()) : undefined);
  const ms = performance.now() - t;
  await r.close();
  return ms;
}

export async function rewindSuite(): Promise<void> {
  console.log(`\n## rewind pass (snapshots on the compiler engine): nowasi guests, default size (${RUNS} interleaved runs, medians)`);
  console.log('ratio = CPU time with the pass / without (1.000 = no cost); worst case = every function transformed');
  const plain: number[] = [];
  const worst: number[] = [];
  const compile: number[] = [];
  for (const name of GUEST_NAMES) {
    const g = loadNowasiGuest(name, 'default');
    const spliced = spliceHostCall(g.bytes, { guarded: true });
    const vs = [await variant(g.bytes, false), await variant(g.bytes, true), await variant(spliced, false), await variant(spliced, true)];
    for (let i = 0; i < RUNS; i++) {
      for (const v of vs) {
        const got = BigInt.asUintN(64, time(v));
        if (got !== g.checksum) throw new Error(`${name}: got ${got}, expected ${g.checksum}`);
      }
    }
    const [a, b, c, d] = vs.map((v) => medianOf(v.ms)) as [number, number, number, number];
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < 5; i++) {
      off.push(await compileMs(spliced, false));
      on.push(await compileMs(spliced, true));
    }
    const cm = [medianOf(off), medianOf(on)];
    plain.push(b / a);
    worst.push(d / c);
    compile.push(cm[1]! / cm[0]!);
    console.log(
      `${name.padEnd(8)} as is ${a.toFixed(1).padStart(8)} → ${b.toFixed(1).padStart(8)} ms  ${(b / a).toFixed(3)}x   ` +
        `worst ${c.toFixed(1).padStart(8)} → ${d.toFixed(1).padStart(8)} ms  ${(d / c).toFixed(3)}x   compile ${(cm[1]! / cm[0]!).toFixed(2)}x`,
    );
    for (const v of vs) await v.r.close();
  }
  console.log(
    `geomean: as is ${geomean(plain).toFixed(3)}x, worst case ${geomean(worst).toFixed(3)}x (max ${Math.max(...worst).toFixed(3)}x), ` +
      `compile (worst case module) ${geomean(compile).toFixed(2)}x`,
  );
}
