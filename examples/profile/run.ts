/**
 * The profiling example: runs demo.wasm (built from demo.c) under the CPU profiler, the memory
 * profiler and line coverage through the library API, then writes what people look at: pprof
 * profiles, an HTML flame graph and an lcov file. The CLI does the same with
 * `wasmscope run --profile cpu.pprof --memprofile mem.pprof --coverage lcov.info demo.wasm` and
 * `wasmscope report cpu.pprof --html flame.html`.
 * Run it with `npx tsx examples/profile/run.ts [output directory]`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Context, newModuleConfig, newRuntime } from 'wasmscope';
import { multiFunctionListenerFactory, withFunctionListenerFactory } from 'wasmscope/experimental';
import {
  encodePprof,
  flameGraphHtml,
  formatLcov,
  newCoverage,
  newCpuProfiler,
  newMemoryProfiler,
  withLineCoverage,
} from 'wasmscope/profile';
import * as wasi from 'wasmscope/wasi';

export const DEMO_WASM = fileURLToPath(new URL('./demo.wasm', import.meta.url));

/** Runs demo.wasm with `words` words, profiled; writes the outputs into `outDir` and returns their paths. */
export async function profileDemo(outDir: string, words = 20000): Promise<Record<'cpu' | 'mem' | 'flame' | 'lcov', string>> {
  const cpu = newCpuProfiler({ sampleEvery: 1 });
  const mem = newMemoryProfiler();
  const coverage = newCoverage();
  // Listeners are fixed at compile time: the recorders ride on the context of the compile (and of
  // the WASI host module, to see host calls).
  let ctx = withFunctionListenerFactory(Context.background(), multiFunctionListenerFactory(cpu, mem, coverage));
  ctx = withLineCoverage(ctx, coverage);
  const r = newRuntime();
  try {
    await wasi.instantiate(r, ctx);
    const stdout: Uint8Array[] = [];
    const config = newModuleConfig()
      .withArgs('demo', String(words))
      .withStdout({ write: (c) => stdout.push(c.slice()) });
    await r.instantiateWithConfig(readFileSync(DEMO_WASM), config, ctx);
  } finally {
    await r.close();
  }
  mkdirSync(outDir, { recursive: true });
  const out = {
    cpu: join(outDir, 'cpu.pprof'),
    mem: join(outDir, 'mem.pprof'),
    flame: join(outDir, 'flame.html'),
    lcov: join(outDir, 'lcov.info'),
  };
  const profile = cpu.stop();
  writeFileSync(out.cpu, await encodePprof(profile));
  writeFileSync(out.mem, await encodePprof(mem.profile()));
  writeFileSync(out.flame, flameGraphHtml(profile, { title: 'demo.wasm: CPU self time' }));
  writeFileSync(out.lcov, formatLcov(coverage.report(), 'demo'));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await profileDemo(process.argv[2] ?? 'profile-out');
  console.log(`wrote ${Object.values(out).join(', ')}`);
}
