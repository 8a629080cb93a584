/**
 * Cost of recording host calls (`withHostCallRecorder`) per host call, by memory size: a guest calls
 * a host function N times; the host function writes 8 bytes of guest memory. Compared: no recorder,
 * a recorder without memory capture, and the full recorder (snapshot before each call, compare
 * after), for memories of 1, 16 and 256 pages. The log goes to a sink that only counts bytes.
 */
import {
  Context,
  newModuleConfig,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  type RuntimeConfig,
} from '../index.js';
import type { Module } from '../runtime/api/module.js';
import { withHostCallRecorder } from '../replay/recorder.js';
import { medianOf } from './stats.js';

const CALLS = 20_000;
const RUNS = 5;

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

/** `(module (import "env" "h" (func (param i32))) (memory pages) (func (export "run") (param $n i32) …call h(i) for i < n…))` */
function guest(pages: number): Uint8Array {
  const str = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const body = [
    0x01, 0x01, 0x7f, 0x02, 0x40, 0x03, 0x40, 0x20, 0x01, 0x20, 0x00, 0x4f, 0x0d, 0x01, 0x20, 0x01, 0x10, 0x00, 0x20, 0x01, 0x41, 0x01,
    0x6a, 0x21, 0x01, 0x0c, 0x00, 0x0b, 0x0b, 0x0b,
  ];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [0x01, 0x60, 0x01, 0x7f, 0x00]),
    ...section(2, [0x01, ...str('env'), ...str('h'), 0x00, 0x00]),
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, ...leb(pages)]),
    ...section(7, [0x01, ...str('run'), 0x00, 0x01]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ]);
}

type Mode = 'none' | 'no-memory' | 'full';

async function timeRun(config: RuntimeConfig, pages: number, mode: Mode): Promise<{ ms: number; bytes: number }> {
  const r = newRuntimeWithConfig(config);
  let bytes = 0;
  const sink = { write: (c: Uint8Array) => (bytes += c.length) };
  const ctx = mode === 'none' ? Context.background() : withHostCallRecorder(Context.background(), sink, { memory: mode === 'full' });
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withFunc((_c, mod: Module, i: number) => void mod.memory()!.writeUint64Le((i * 8) % 4096, BigInt(i)), [0x7f], [])
    .export('h')
    .instantiate(ctx);
  const m = await r.instantiateWithConfig(guest(pages), newModuleConfig().withName(''));
  const run = m.exportedFunction('run')!;
  const t = performance.now();
  run.call(CALLS);
  const ms = performance.now() - t;
  await r.close();
  return { ms, bytes };
}

export async function recorderSuite(): Promise<void> {
  console.log(`\n## host-call recording: cost per host call (${CALLS} calls writing 8 bytes each, ${RUNS} interleaved runs, medians)`);
  for (const [engine, config] of [
    ['compiler', newRuntimeConfigCompiler],
    ['interpreter', newRuntimeConfigInterpreter],
  ] as const) {
    for (const pages of [1, 16, 256]) {
      const times: Record<Mode, number[]> = { none: [], 'no-memory': [], full: [] };
      let logBytes = 0;
      for (let i = 0; i < RUNS; i++) {
        for (const mode of ['none', 'no-memory', 'full'] as const) {
          const { ms, bytes } = await timeRun(config(), pages, mode);
          times[mode].push(ms);
          if (mode === 'full') logBytes = bytes;
        }
      }
      const per = (mode: Mode): number => (medianOf(times[mode]) * 1e6) / CALLS;
      console.log(
        `${engine.padEnd(11)} ${String(pages).padStart(3)} pages: plain ${per('none').toFixed(0).padStart(6)} ns/call  ` +
          `recorded without memory +${(per('no-memory') - per('none')).toFixed(0).padStart(6)} ns  ` +
          `with memory +${(per('full') - per('none')).toFixed(0).padStart(7)} ns  log ${(logBytes / CALLS).toFixed(1)} bytes/call`,
      );
    }
  }
}
