/**
 * Quick performance check (not a test): runs the no-WASI guests (`run() -> i64`) on this
 * interpreter and on raw V8, prints the checksum, the time and the ratio per guest and the geomean.
 *
 *   npx tsx src/runtime/interpreter/perf.ts [dir] [name-filter]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '../api/context.js';
import { CoreFeaturesV2 } from '../api/features.js';
import type { Module as ApiModule } from '../api/module.js';
import { decodeModule } from '../binary/decoder.js';
import { validateModule } from '../validate/validate.js';
import { newInterpreterEngine } from './engine.js';

const dir = process.argv[2] ?? '/work/shared/guests/nowasi';
const filter = process.argv[3] ?? '';
/** Runs per guest on the interpreter (best time is kept); `REPEAT=1` measures the first, cold run. */
const repeat = Number(process.env['REPEAT'] ?? '1');
const expected: Record<string, bigint> = {
  fib: 30275890191613189n,
  calls: 878076530n,
  sha256: 7367452806694435723n,
  matmul: 4618652524100976640n,
  nbody: 13826113133217384742n,
  sieve: 4294894281634466n,
  qsort: 14251031074005693363n,
  hashmap: 1469722782232847958n,
  i64: 11806516674623256199n,
};

const owner = { api: {} as ApiModule };

/** CPU milliseconds (user + system, all threads) since `c0`: steadier than wall time on a shared machine. */
function cpuMs(c0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
}
const ratios: number[] = [];
const coldRatios: number[] = [];
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.tiny.wasm') && f.includes(filter))
  .sort()) {
  const name = file.replace('.tiny.wasm', '');
  const bytes = new Uint8Array(readFileSync(join(dir, file)));
  // V8
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const run = instance.exports['run'] as () => bigint;
  // V8: best of three (its first run includes Liftoff → TurboFan tier-up compile time).
  let v8res = 0n;
  let v8ms = Infinity;
  let v8cold = 0;
  let c0 = process.cpuUsage();
  for (let rep = 0; rep < 3; rep++) {
    c0 = process.cpuUsage();
    v8res = BigInt.asUintN(64, run());
    const t = cpuMs(c0);
    if (rep === 0) v8cold = t;
    v8ms = Math.min(v8ms, t);
  }
  // Interpreter
  const engine = newInterpreterEngine();
  const mod = decodeModule(bytes, CoreFeaturesV2);
  validateModule(mod, CoreFeaturesV2);
  const code = await engine.compile(mod, { features: CoreFeaturesV2, debugInfo: false, listeners: undefined });
  const inst = engine.instantiate(code, [], owner, {
    features: CoreFeaturesV2,
    memoryLimitPages: 65536,
    memoryCapacityFromMax: false,
    ctx: Context.background(),
  });
  const idx = mod.exports.find((e) => e.name === 'run')!.index;
  const stack = new BigUint64Array(1);
  let ms = Infinity;
  for (let rep = 0; rep < repeat; rep++) {
    c0 = process.cpuUsage();
    inst.call(idx, stack, Context.background());
    const tRun = cpuMs(c0);
    if (process.env['VERBOSE'] !== undefined) console.log(`  ${name} run ${rep}: ${tRun.toFixed(0)} ms`);
    ms = Math.min(ms, tRun);
  }
  const ok = stack[0] === expected[name] && v8res === expected[name];
  const ratio = ms / v8ms;
  const coldRatio = ms / v8cold;
  ratios.push(ratio);
  coldRatios.push(coldRatio);
  console.log(
    `${name.padEnd(8)} ${ok ? 'ok ' : 'BAD'} interp ${ms.toFixed(0).padStart(6)} ms  v8 first ${v8cold.toFixed(1).padStart(6)} ms (${coldRatio.toFixed(1)}x)  v8 best ${v8ms.toFixed(1).padStart(6)} ms (${ratio.toFixed(1)}x)${ok ? '' : ` got ${stack[0]}`}`,
  );
}
const geomean = (rs: number[]): number => Math.exp(rs.reduce((s, r) => s + Math.log(r), 0) / rs.length);
console.log(`geomean ratio (CPU ms): vs V8 first run ${geomean(coldRatios).toFixed(1)}x, vs V8 best of 3 ${geomean(ratios).toFixed(1)}x`);
