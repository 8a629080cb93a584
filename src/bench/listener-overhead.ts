/**
 * Per-call overhead of observing every function, measured on real guests whose work is mostly
 * calls: `calls` (a loop calling a tiny function) and `fib` (recursive calls). For each engine and
 * guest, in the same process and interleaved (the machine is shared and noisy; medians of CPU time):
 * - raw V8 running the same guest (the scale every figure is given against);
 * - plain: the engine without observers;
 * - sync: a no-op {@link FunctionListener} (before, after, abort) on every function;
 * - before-only: a no-op listener marked `beforeOnly` (`functionListenerFunc`);
 * - after-only: a no-op listener marked `afterOnly` (`functionListenerAfterFunc`);
 * - batched: a {@link FunctionEventSink} on every function (its `onEvents` only counts records).
 * Each run is a warm call (the instance's `run()` has run once before, so V8 has tiered it up).
 * Overhead per listened call = (observed − plain) / calls, where `calls` is counted by a listener.
 */
import {
  Context,
  newModuleConfig,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  type RuntimeConfig,
} from '../index.js';
import {
  functionListenerAfterFunc,
  functionListenerFactoryFunc,
  functionListenerFunc,
  withFunctionListenerFactory,
  type FunctionListener,
} from '../runtime/api/listener.js';
import { withFunctionEventSink, type FunctionEventSink } from '../runtime/api/event-sink.js';
import { loadNowasiGuest, type GuestName, type GuestSize } from './guests.js';
import { medianOf } from './stats.js';

const RUNS = 7;

/** CPU milliseconds (user + system) of `fn`. */
function cpuMs(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}

async function timeRun(config: RuntimeConfig, bytes: Uint8Array, ctx: Context | undefined): Promise<number> {
  const r = newRuntimeWithConfig(config);
  const compiled = await r.compileModule(bytes, ctx);
  const m = await r.instantiateModule(compiled, newModuleConfig().withName(''));
  const run = m.exportedFunction('run')!;
  run.call();
  const ms = cpuMs(() => run.call());
  await r.close();
  return ms;
}

const MODES = ['sync', 'before-only', 'after-only', 'batched'] as const;

async function overhead(engine: string, config: () => RuntimeConfig, name: GuestName, size: GuestSize): Promise<void> {
  const g = loadNowasiGuest(name, size);
  let calls = 0;
  const counting: FunctionListener = functionListenerFunc(() => void calls++);
  await timeRun(
    config(),
    g.bytes,
    withFunctionListenerFactory(
      Context.background(),
      functionListenerFactoryFunc(() => counting),
    ),
  );
  calls /= 2; // the warm-up call and the timed one
  const noop: FunctionListener = { before: () => {}, after: () => {}, abort: () => {} };
  const beforeOnly = functionListenerFunc(() => {});
  const afterOnly = functionListenerAfterFunc(() => {});
  let records = 0;
  const sink: FunctionEventSink = { onEvents: (b) => void (records += b.length) };
  const bg = Context.background();
  const ctxs: Record<(typeof MODES)[number], Context> = {
    sync: withFunctionListenerFactory(
      bg,
      functionListenerFactoryFunc(() => noop),
    ),
    'before-only': withFunctionListenerFactory(
      bg,
      functionListenerFactoryFunc(() => beforeOnly),
    ),
    'after-only': withFunctionListenerFactory(
      bg,
      functionListenerFactoryFunc(() => afterOnly),
    ),
    batched: withFunctionEventSink(bg, sink),
  };
  const plain: number[] = [];
  const v8: number[] = [];
  const observed: Record<string, number[]> = { sync: [], 'before-only': [], 'after-only': [], batched: [] };
  const v8Module = await WebAssembly.compile(g.bytes);
  for (let i = 0; i < RUNS; i++) {
    const inst = new WebAssembly.Instance(v8Module, {});
    const run = inst.exports['run'] as () => bigint;
    run();
    v8.push(cpuMs(() => run()));
    plain.push(await timeRun(config(), g.bytes, undefined));
    for (const mode of MODES) observed[mode]!.push(await timeRun(config(), g.bytes, ctxs[mode]));
  }
  if (records !== 4 * RUNS * calls) throw new Error(`bench: the sink got ${records} records, expected ${4 * RUNS * calls}`);
  const v = medianOf(v8);
  const p = medianOf(plain);
  const label = `${engine.padEnd(11)} ${`${name}.${size}`.padEnd(13)}`;
  console.log(
    `${label} calls ${String(calls).padStart(9)}  raw V8 ${v.toFixed(1).padStart(6)} ms  plain ${p.toFixed(1).padStart(7)} ms (${(p / v).toFixed(1)}x V8)`,
  );
  for (const mode of MODES) {
    const l = medianOf(observed[mode]!);
    const ns = ((l - p) * 1e6) / calls;
    const v8PerCall = (v * 1e6) / calls;
    console.log(
      `${label}   ${mode.padEnd(11)} ${l.toFixed(1).padStart(7)} ms (${(l / v).toFixed(1).padStart(5)}x V8)  ` +
        `overhead ${ns.toFixed(1).padStart(5)} ns/listened call (${(ns / v8PerCall).toFixed(1)}x a raw V8 call's ${v8PerCall.toFixed(1)} ns)`,
    );
  }
}

/** Prints the cost of observing every function, per listened call, on both engines (sync, before-only, batched). */
export async function listenerOverheadSuite(): Promise<void> {
  console.log(
    `\n## observing every function: overhead per listened call (Node ${process.versions.node}; ${RUNS} interleaved warm runs, medians of CPU time)`,
  );
  console.log('goals (issue 18): sync compiler <= 16 ns on Node 24, interpreter <= 20 ns; batched compiler <= 3 ns');
  await overhead('compiler', newRuntimeConfigCompiler, 'calls', 'default');
  await overhead('compiler', newRuntimeConfigCompiler, 'fib', 'tiny');
  await overhead('interpreter', newRuntimeConfigInterpreter, 'calls', 'tiny');
  await overhead('interpreter', newRuntimeConfigInterpreter, 'fib', 'tiny');
}
