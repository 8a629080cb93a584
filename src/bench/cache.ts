/**
 * Compilation caches: a second `compileModule` of the 20,000-function module from a warm cache,
 * against raw `WebAssembly.compile` of fresh bytes (V8 reuses a module it compiled from the same
 * bytes, so the baseline never repeats bytes; a hit compiles renamed rewritten bytes V8 has not
 * seen either).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newCompilationCache, newCompilationCacheWithDir, newRuntimeConfigCompiler, newRuntimeWithConfig } from '../index.js';
import type { CompilationCache } from '../runtime/store/config.js';
import { bigModule } from './modules.js';
import { medianOf } from './stats.js';

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** `npm run bench -- compile-cache` */
export async function compileCacheSuite(): Promise<void> {
  const n = 20_000;
  const runs = 9;
  console.log(`\n## compilation cache: ${n}-function module, compiler engine (${runs} runs, medians)`);
  const dir = mkdtempSync(join(tmpdir(), 'wasmscope-bench-cache-'));
  const raw: number[] = [];
  const cold: number[] = [];
  const sameRuntime: number[] = [];
  const otherRuntime: number[] = [];
  const disk: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const bytes = bigModule(n, 1000 + 2 * i);
      const memory = newCompilationCache();
      const onDisk = await newCompilationCacheWithDir(dir);
      const rt = (cache: CompilationCache) => newRuntimeWithConfig(newRuntimeConfigCompiler().withCompilationCache(cache));
      const a = rt(memory);
      cold.push(await timed(() => a.compileModule(bytes)));
      await rt(onDisk).compileModule(bytes);
      const other = bigModule(n, 1001 + 2 * i);
      raw.push(await timed(() => WebAssembly.compile(other)));
      sameRuntime.push(await timed(() => a.compileModule(bytes)));
      const b = rt(memory);
      otherRuntime.push(await timed(() => b.compileModule(bytes)));
      const c = rt(await newCompilationCacheWithDir(dir));
      disk.push(await timed(() => c.compileModule(bytes)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = medianOf(raw);
  const line = (what: string, xs: number[]): void =>
    console.log(`${what.padEnd(44)} ${medianOf(xs).toFixed(1).padStart(7)} ms  ${(medianOf(xs) / base).toFixed(2)}x raw`);
  console.log(`${'raw WebAssembly.compile (fresh bytes)'.padEnd(44)} ${base.toFixed(1).padStart(7)} ms`);
  line('compileModule, no cache entry (miss)', cold);
  line('compileModule again, same runtime (memory)', sameRuntime);
  line('compileModule, another runtime (memory)', otherRuntime);
  line('compileModule, new cache on a warm directory', disk);
  console.log('goal: a warm hit <= 1.1x raw');
}
