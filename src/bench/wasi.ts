/**
 * WASI guests: each guest at its default size on the compiler engine vs Node's own `node:wasi` + raw
 * V8, and at tiny size on the interpreter vs the same baseline, in one process. Output is discarded
 * in both (stdout to /dev/null), so the figures compare execution, not terminal speed.
 */
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  newModuleConfig,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  type RuntimeConfig,
} from '../index.js';
import { instantiate as instantiateWasi } from '../wasi.js';
import { GUEST_NAMES, guestsDir, type GuestName } from './guests.js';
import { geomean, medianOf } from './stats.js';

/** The argv the guests' expected outputs were made with. */
const SIZE_ARGS: Record<GuestName, { tiny: string[]; default: string[] }> = {
  fib: { tiny: ['32'], default: [] },
  calls: { tiny: ['1000000'], default: [] },
  sha256: { tiny: ['4'], default: [] },
  matmul: { tiny: ['200'], default: [] },
  nbody: { tiny: ['200000'], default: [] },
  sieve: { tiny: ['1000000', '4'], default: [] },
  qsort: { tiny: ['200000'], default: [] },
  hashmap: { tiny: ['100000'], default: [] },
  i64: { tiny: ['2000000'], default: [] },
};

const discard = { write: (): void => {} };

async function nodeWasiRun(module: WebAssembly.Module, args: string[], devNull: number): Promise<void> {
  // Loaded on use: importing node:wasi prints an ExperimentalWarning.
  const { WASI } = await import('node:wasi');
  const wasi = new WASI({ version: 'preview1', args, env: {}, returnOnExit: true, stdout: devNull, stderr: devNull });
  const inst = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
  const code = wasi.start(inst);
  if (code !== 0) throw new Error(`node:wasi ${args[0]} exited ${code}`);
}

async function engineRun(config: RuntimeConfig, bytes: Uint8Array, args: string[]): Promise<void> {
  const r = newRuntimeWithConfig(config);
  await instantiateWasi(r);
  const m = await r.instantiateWithConfig(
    bytes,
    newModuleConfig()
      .withName('')
      .withArgs(...args)
      .withStdout(discard)
      .withStderr(discard),
  );
  if (m.isClosed() === false) await m.close();
  await r.close();
}

async function compare(label: string, config: () => RuntimeConfig, size: 'tiny' | 'default', runs: number): Promise<void> {
  console.log(`\n## WASI guests, ${size} size: ${label} vs node:wasi + raw V8 (${runs} interleaved runs, medians)`);
  const devNull = openSync('/dev/null', 'w');
  const ratios: number[] = [];
  try {
    for (const name of GUEST_NAMES) {
      const bytes = new Uint8Array(readFileSync(join(guestsDir(), `${name}.wasm`)));
      const args = [name, ...SIZE_ARGS[name][size]];
      const module = await WebAssembly.compile(bytes);
      const base: number[] = [];
      const ours: number[] = [];
      for (let i = 0; i < runs; i++) {
        let t = performance.now();
        await nodeWasiRun(module, args, devNull);
        base.push(performance.now() - t);
        t = performance.now();
        await engineRun(config(), bytes, args);
        ours.push(performance.now() - t);
      }
      const b = medianOf(base);
      const o = medianOf(ours);
      const speed = b / o;
      ratios.push(speed);
      console.log(
        `${name.padEnd(8)} node:wasi ${b.toFixed(1).padStart(8)} ms  ${label} ${o.toFixed(1).padStart(8)} ms  speed ${speed.toFixed(3)}x of V8`,
      );
    }
  } finally {
    closeSync(devNull);
  }
  console.log(`geomean speed ${label}/node:wasi: ${geomean(ratios).toFixed(3)}x`);
}

export async function wasiSuite(): Promise<void> {
  await compare('compiler', newRuntimeConfigCompiler, 'default', 3);
  await compare('interpreter', newRuntimeConfigInterpreter, 'tiny', 3);
}
