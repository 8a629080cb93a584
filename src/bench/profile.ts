/**
 * What profiling and line coverage cost on the guest corpus (the nowasi guests at the tiny size),
 * measured side by side in one run: for each engine and guest, `run()` without anything, under the
 * CPU profiler (`sampleEvery` 19 and 1), and with line coverage (block counters). Ratios are
 * against the unprofiled run on the same engine; interleaved runs, medians. Compile time is not
 * counted (only `run()` is timed). Goal: CPU profiling at `sampleEvery` 19 within 1.5x of the
 * unprofiled run on the compiler engine.
 */
import {
  Context,
  newModuleConfig,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  type RuntimeConfig,
} from '../index.js';
import { withFunctionListenerFactory } from '../runtime/api/listener.js';
import { newCoverage, withLineCoverage } from '../profile/coverage.js';
import { newCpuProfiler } from '../profile/cpu.js';
import { GUEST_NAMES, loadNowasiGuest } from './guests.js';
import { geomean, medianOf } from './stats.js';

const RUNS = 3;

type Mode = 'plain' | 'cpu/19' | 'cpu/1' | 'coverage';
const MODES: readonly Mode[] = ['plain', 'cpu/19', 'cpu/1', 'coverage'];

function contextFor(mode: Mode): Context {
  const bg = Context.background();
  switch (mode) {
    case 'plain':
      return bg;
    case 'cpu/19':
      return withFunctionListenerFactory(bg, newCpuProfiler({ sampleEvery: 19 }));
    case 'cpu/1':
      return withFunctionListenerFactory(bg, newCpuProfiler({ sampleEvery: 1 }));
    case 'coverage':
      return withLineCoverage(bg, newCoverage());
  }
}

/**
 * Milliseconds per `run()` of `bytes` in mode `mode`: one warm-up call (lazy compilation and
 * tier-up, the interpreter's lowering), then the mean of `calls` calls.
 */
async function timeRun(config: RuntimeConfig, bytes: Uint8Array, mode: Mode, calls: number): Promise<number> {
  const r = newRuntimeWithConfig(config);
  try {
    const ctx = contextFor(mode);
    const m = await r.instantiateModule(await r.compileModule(bytes, ctx), newModuleConfig().withName(''), ctx);
    const run = m.exportedFunction('run')!;
    run.call();
    const t = performance.now();
    for (let i = 0; i < calls; i++) run.call();
    return (performance.now() - t) / calls;
  } finally {
    await r.close();
  }
}

async function engineTable(engine: string, config: () => RuntimeConfig, modes: readonly Mode[], calls: number): Promise<void> {
  console.log(`\n### ${engine} (ms per run() after a warm-up, mean of ${calls}, median of ${RUNS}; ratio to plain)`);
  console.log(`${'guest'.padEnd(8)}${modes.map((m) => m.padStart(20)).join('')}`);
  const ratios = new Map<Mode, number[]>(modes.map((m) => [m, []]));
  for (const name of GUEST_NAMES) {
    const g = loadNowasiGuest(name, 'tiny');
    const times = new Map<Mode, number[]>(modes.map((m) => [m, []]));
    // Interleaved, each round in another order (the first run of a round warms V8 up for the others).
    for (let i = 0; i < RUNS * modes.length; i++) {
      const m = modes[(i + Math.floor(i / modes.length)) % modes.length]!;
      times.get(m)!.push(await timeRun(config(), g.bytes, m, calls));
    }
    const plain = medianOf(times.get('plain')!);
    const cells = modes.map((m) => {
      const t = medianOf(times.get(m)!);
      ratios.get(m)!.push(t / plain);
      return m === 'plain' ? `${t.toFixed(1)}`.padStart(20) : `${t.toFixed(1)} (${(t / plain).toFixed(2)}x)`.padStart(20);
    });
    console.log(`${name.padEnd(8)}${cells.join('')}`);
  }
  console.log(
    `${'geomean'.padEnd(8)}${modes.map((m) => (m === 'plain' ? '' : `${geomean(ratios.get(m)!).toFixed(2)}x`).padStart(20)).join('')}`,
  );
}

export async function profileSuite(): Promise<void> {
  console.log('\n## profiling and line-coverage overhead on the guest corpus (nowasi, tiny)');
  console.log('goal: cpu/19 <= 1.5x plain on the compiler engine');
  await engineTable('compiler', newRuntimeConfigCompiler, MODES, 5);
  await engineTable('interpreter', newRuntimeConfigInterpreter, ['plain', 'cpu/19', 'coverage'], 1);
}
