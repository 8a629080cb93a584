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
const ratios: number[] = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith('.tiny.wasm') && f.includes(filter)).sort()) {
  const name = file.replace('.tiny.wasm', '');
  const bytes = new Uint8Array(readFileSync(join(dir, file)));
  // V8
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const run = instance.exports['run'] as () => bigint;
  let t0 = performance.now();
  const v8res = BigInt.asUintN(64, run());
  const v8ms = performance.now() - t0;
  // Interpreter
  const engine = newInterpreterEngine();
  const mod = decodeModule(bytes, CoreFeaturesV2);
  validateModule(mod, CoreFeaturesV2);
  const code = await engine.compile(mod, { features: CoreFeaturesV2, debugInfo: false, listeners: undefined });
  const inst = engine.instantiate(code, [], owner, { features: CoreFeaturesV2, memoryLimitPages: 65536, memoryCapacityFromMax: false, ctx: Context.background() });
  const idx = mod.exports.find((e) => e.name === 'run')!.index;
  const stack = new BigUint64Array(1);
  t0 = performance.now();
  inst.call(idx, stack, Context.background());
  const ms = performance.now() - t0;
  const ok = stack[0] === expected[name] && v8res === expected[name];
  const ratio = ms / v8ms;
  ratios.push(ratio);
  console.log(`${name.padEnd(8)} ${ok ? 'ok ' : 'BAD'} interp ${ms.toFixed(0).padStart(6)} ms  v8 ${v8ms.toFixed(1).padStart(6)} ms  ratio ${ratio.toFixed(1)}x${ok ? '' : ` got ${stack[0]}`}`);
}
const geo = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
console.log(`geomean ratio ${geo.toFixed(1)}x`);
