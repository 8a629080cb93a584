/**
 * The interpreter against raw V8: nowasi guests at tiny size, `run()` per fresh instance, tinybench
 * with V8 warmed up (TurboFan), ratio = interpreter / V8 (goal <= 60x geomean).
 */
import { Bench } from 'tinybench';
import { newModuleConfig, newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../index.js';
import { GUEST_NAMES, loadNowasiGuest, type NowasiGuest } from './guests.js';
import { geomean } from './stats.js';

function fmtMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`;
}

/** Median latency of a task, in ms. */
function median(bench: Bench, name: string): number {
  const t = bench.getTask(name);
  const r = t?.result;
  if (r === undefined || !('latency' in r)) throw new Error(`bench task ${name} produced no result`);
  return r.latency.p50 ?? r.latency.mean;
}

/** Prints the interpreter against warm V8 on the tiny guest corpus. */
export async function interpreterSuite(): Promise<void> {
  console.log('\n## interpreter vs raw V8 (nowasi guests, tiny size, run() per fresh instance)');
  const ratios: number[] = [];
  for (const name of GUEST_NAMES) {
    const g: NowasiGuest = loadNowasiGuest(name, 'tiny');
    const v8Module = await WebAssembly.compile(g.bytes);
    const runtime = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const compiled = await runtime.compileModule(g.bytes);
    const config = newModuleConfig().withName('');

    // Correctness first: a benchmark of a wrong answer is worthless.
    const probe = await runtime.instantiateModule(compiled, config);
    const got = BigInt.asUintN(64, probe.exportedFunction('run')!.call()[0]!);
    if (got !== g.checksum) throw new Error(`${name}: interpreter returned ${got}, expected ${g.checksum}`);
    await probe.close();

    const bench = new Bench({ time: 0, iterations: 3, warmup: true, warmupIterations: 1, warmupTime: 0 });
    bench.add('v8', () => {
      const inst = new WebAssembly.Instance(v8Module, {});
      (inst.exports['run'] as () => bigint)();
    });
    bench.add('interpreter', async () => {
      const m = await runtime.instantiateModule(compiled, config);
      m.exportedFunction('run')!.call();
      await m.close();
    });
    await bench.run();
    const v8 = median(bench, 'v8');
    const it = median(bench, 'interpreter');
    const ratio = it / v8;
    ratios.push(ratio);
    console.log(`${name.padEnd(8)} v8 ${fmtMs(v8).padStart(10)}  interpreter ${fmtMs(it).padStart(10)}  ratio ${ratio.toFixed(1)}x`);
    await runtime.close();
  }
  console.log(`geomean interpreter/v8: ${geomean(ratios).toFixed(1)}x (goal: <= 60x; wazero's Go interpreter: ~70-150x)`);
}
