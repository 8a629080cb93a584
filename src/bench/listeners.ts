/**
 * Listener cost alone (no wasm runs): `benchmarkFunctionListener` ns per before+after pair for a
 * no-op listener and for the logging listener writing to a writer that discards, as wazero's
 * `BenchmarkLoggingListener` measures it.
 */
import { Bench } from 'tinybench';
import { newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../index.js';
import type { FunctionListener } from '../runtime/api/listener.js';
import type { Function as ApiFunction } from '../runtime/api/module.js';
import { newLoggingListenerFactory } from '../listeners/logging.js';
import { benchmarkFunctionListener, type StackFrame } from '../listeners/stack.js';
import { newBuilder as newWasiBuilder } from '../wasi/module.js';

/** Calls per task run: large enough that the task's own overhead is noise. */
const N = 10_000;

/** A compiled-in module (no wabt at bench time): `(module $bench (func $fn (export "fn") (param $x i32) (param $y i64) (result i32) local.get 0) (memory 1))` with names. */
function benchModuleBytes(): Uint8Array {
  const b: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, body: number[]): void => {
    b.push(id, body.length, ...body);
  };
  const str = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  section(1, [1, 0x60, 2, 0x7f, 0x7e, 1, 0x7f]); // type: (i32, i64) -> i32
  section(3, [1, 0]); // function 0: type 0
  section(5, [1, 0x00, 1]); // memory min 1
  section(7, [1, ...str('fn'), 0x00, 0]); // export "fn" = func 0
  section(10, [1, 4, 0, 0x20, 0, 0x0b]); // body: local.get 0; end
  const moduleName = [0, ...sized([...str('bench')])];
  const funcNames = [1, ...sized([1, 0, ...str('fn')])];
  const localNames = [2, ...sized([1, 0, 2, 0, ...str('x'), 1, ...str('y')])];
  section(0, [...str('name'), ...moduleName, ...funcNames, ...localNames]);
  return Uint8Array.from(b);
}

function sized(body: number[]): number[] {
  return [body.length, ...body];
}

function frame(fn: ApiFunction, params: bigint[], results: bigint[]): StackFrame {
  return { function: fn, params, results, pc: 0, sourceOffset: 0 };
}

/** Prints ns/call of `benchmarkFunctionListener` for a no-op and for the logging listener. */
export async function listenerSuite(): Promise<void> {
  console.log('\n## listeners: benchmarkFunctionListener cost per before+after (no wasm runs)');
  const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
  const wasi = await newWasiBuilder(r).instantiate();
  const mod = await r.instantiate(benchModuleBytes());
  const fn = mod.exportedFunction('fn')!;
  const randomGet = wasi.exportedFunction('random_get')!;
  const fdWrite = wasi.exportedFunction('fd_write')!;

  const discard = { write: (): void => {} };
  const noop: FunctionListener = { before: () => {}, after: () => {}, abort: () => {} };
  const logging = newLoggingListenerFactory(discard);
  const listen = (f: ApiFunction): FunctionListener => {
    const l = logging.newFunctionListener(f.definition());
    if (l === undefined) throw new Error(`bench: ${f.definition().debugName()} not listened`);
    return l;
  };

  const guestStack = [frame(fn, [1n, 2n], [1n]), frame(fn, [0n, 0n], [0n])];
  const cases: Array<[string, StackFrame[], FunctionListener]> = [
    ['no-op listener', guestStack, noop],
    ['logging: guest bench.fn(x=1,y=2) -> 1', guestStack, listen(fn)],
    ['logging: wasi random_get(buf,buf_len) -> errno', [frame(randomGet, [16n, 8n], [0n])], listen(randomGet)],
    // fd 1 is sampled out: the cost of deciding not to log a console write.
    ['logging: wasi fd_write on stdout (not logged)', [frame(fdWrite, [1n, 0n, 1n, 8n], [0n])], listen(fdWrite)],
    ['logging: wasi fd_write on fd 3 (nwritten read)', [frame(fdWrite, [3n, 0n, 1n, 8n], [0n])], listen(fdWrite)],
  ];

  const bench = new Bench({ time: 300, warmup: true, warmupTime: 100 });
  for (const [name, stack, l] of cases) bench.add(name, () => benchmarkFunctionListener(N, mod, stack, l));
  await bench.run();
  for (const [name] of cases) {
    const res = bench.getTask(name)?.result;
    if (res === undefined || !('latency' in res)) throw new Error(`bench task ${name} produced no result`);
    const ms = res.latency.p50 ?? res.latency.mean;
    const ns = (ms * 1e6) / N;
    console.log(`${name.padEnd(50)} ${ns.toFixed(1).padStart(8)} ns/call`);
  }
  await r.close();
}
