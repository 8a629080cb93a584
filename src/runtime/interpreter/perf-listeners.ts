/**
 * Listener overhead check (not a test): runs calls.tiny and fib.tiny on the interpreter without
 * listeners and with a no-op listener on every function, alternating, and prints
 * (best listened − best plain) CPU ms / listened calls.
 *
 *   npx tsx src/runtime/interpreter/perf-listeners.ts [dir] [reps=7]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '../api/context.js';
import { CoreFeaturesV2 } from '../api/features.js';
import { functionListenerFactoryFunc, withFunctionListenerFactory, type FunctionListener } from '../api/listener.js';
import { newModuleConfig, newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../../index.js';

const dir = process.argv[2] ?? '/work/shared/guests/nowasi';
const reps = Number(process.argv[3] ?? '7');

function cpuMs(c0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
}

for (const name of ['calls', 'fib']) {
  const bytes = new Uint8Array(readFileSync(join(dir, `${name}.tiny.wasm`)));
  let calls = 0;
  const counting: FunctionListener = { before: () => void calls++, after: () => {}, abort: () => {} };
  const noop: FunctionListener = { before: () => {}, after: () => {}, abort: () => {} };
  const run = async (l: FunctionListener | undefined): Promise<number> => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter().withCoreFeatures(CoreFeaturesV2));
    const ctx =
      l === undefined
        ? undefined
        : withFunctionListenerFactory(
            Context.background(),
            functionListenerFactoryFunc(() => l),
          );
    const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName(''), ctx);
    const c0 = process.cpuUsage();
    m.exportedFunction('run')!.call();
    const t = cpuMs(c0);
    await r.close();
    return t;
  };
  await run(counting);
  let plain = Infinity;
  let listened = Infinity;
  for (let i = 0; i < reps; i++) {
    plain = Math.min(plain, await run(undefined));
    listened = Math.min(listened, await run(noop));
  }
  const ns = ((listened - plain) * 1e6) / calls;
  console.log(
    `${name.padEnd(6)} ${calls} calls  plain ${plain.toFixed(0)} ms  no-op listener ${listened.toFixed(0)} ms  overhead ${ns.toFixed(1)} ns/call`,
  );
}
