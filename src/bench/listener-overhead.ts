/**
 * Per-call overhead of a no-op listener on every function, measured on real guests whose work is
 * mostly calls: `calls` (a loop calling a tiny function) and `fib` (recursive calls). For each engine:
 * the guest's `run()` with and without a listener factory that listens every function; overhead per
 * listened call = (listened - plain) / calls, where `calls` is counted by the listener itself.
 * Raw V8 runs the same guest in the same process for scale.
 */
import {
  Context,
  newModuleConfig,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  type RuntimeConfig,
} from '../index.js';
import { functionListenerFactoryFunc, withFunctionListenerFactory, type FunctionListener } from '../runtime/api/listener.js';
import { loadNowasiGuest, type GuestName, type GuestSize } from './guests.js';
import { medianOf } from './stats.js';

const RUNS = 5;

async function timeRun(config: RuntimeConfig, bytes: Uint8Array, ctx: Context | undefined): Promise<number> {
  const r = newRuntimeWithConfig(config);
  const compiled = await r.compileModule(bytes, ctx);
  const m = await r.instantiateModule(compiled, newModuleConfig().withName(''));
  const run = m.exportedFunction('run')!;
  const t = performance.now();
  run.call();
  const ms = performance.now() - t;
  await r.close();
  return ms;
}

async function overhead(engine: string, config: () => RuntimeConfig, name: GuestName, size: GuestSize): Promise<void> {
  const g = loadNowasiGuest(name, size);
  let calls = 0;
  const counting: FunctionListener = { before: () => void calls++, after: () => {}, abort: () => {} };
  const noop: FunctionListener = { before: () => {}, after: () => {}, abort: () => {} };
  const countCtx = withFunctionListenerFactory(
    Context.background(),
    functionListenerFactoryFunc(() => counting),
  );
  await timeRun(config(), g.bytes, countCtx);
  const listenCtx = withFunctionListenerFactory(
    Context.background(),
    functionListenerFactoryFunc(() => noop),
  );
  const plain: number[] = [];
  const listened: number[] = [];
  const v8: number[] = [];
  const v8Module = await WebAssembly.compile(g.bytes);
  // Interleaved runs, medians: the machine is shared and noisy.
  for (let i = 0; i < RUNS; i++) {
    plain.push(await timeRun(config(), g.bytes, undefined));
    listened.push(await timeRun(config(), g.bytes, listenCtx));
    const inst = new WebAssembly.Instance(v8Module, {});
    const t = performance.now();
    (inst.exports['run'] as () => bigint)();
    v8.push(performance.now() - t);
  }
  const p = medianOf(plain);
  const l = medianOf(listened);
  const v = medianOf(v8);
  const nsPerCall = ((l - p) * 1e6) / calls;
  console.log(
    `${engine.padEnd(11)} ${`${name}.${size}`.padEnd(13)} calls ${String(calls).padStart(10)}  raw V8 ${v.toFixed(1).padStart(7)} ms  ` +
      `plain ${p.toFixed(1).padStart(8)} ms (${(p / v).toFixed(1)}x V8)  listened ${l.toFixed(1).padStart(8)} ms (${(l / v).toFixed(1)}x V8)  ` +
      `overhead ${nsPerCall.toFixed(1)} ns/listened call`,
  );
}

/** Prints the cost of a no-op listener on every function, per listened call, on both engines. */
export async function listenerOverheadSuite(): Promise<void> {
  console.log(`\n## no-op listener on every function: overhead per listened call (${RUNS} interleaved runs, medians)`);
  console.log('goals: compiler <= 8 ns/call (wazero compiler ~16 ns), interpreter <= 10 ns/call');
  await overhead('compiler', newRuntimeConfigCompiler, 'calls', 'default');
  await overhead('compiler', newRuntimeConfigCompiler, 'fib', 'tiny');
  await overhead('interpreter', newRuntimeConfigInterpreter, 'calls', 'tiny');
  await overhead('interpreter', newRuntimeConfigInterpreter, 'fib', 'tiny');
}
