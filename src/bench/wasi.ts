/**
 * WASI guests: each guest at its default size on the compiler engine vs Node's own `node:wasi` + raw
 * V8, and at tiny size on the interpreter vs the same baseline, in one process. Output is discarded
 * in both (stdout to /dev/null), so the figures compare execution, not terminal speed.
 */
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
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

/**
 * Our side, set up like node:wasi's: one runtime with WASI and the guest compiled once per guest, a
 * fresh instance per run (so both sides reuse V8's compiled and tiered-up code across runs).
 */
async function engineGuest(
  config: RuntimeConfig,
  bytes: Uint8Array,
): Promise<{ run(args: string[]): Promise<void>; close(): Promise<void> }> {
  const r = newRuntimeWithConfig(config);
  await instantiateWasi(r);
  const compiled = await r.compileModule(bytes);
  return {
    async run(args: string[]): Promise<void> {
      const m = await r.instantiateModule(
        compiled,
        newModuleConfig()
          .withName('')
          .withArgs(...args)
          .withStdout(discard)
          .withStderr(discard),
      );
      if (!m.isClosed()) await m.close();
    },
    close: () => r.close(),
  };
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
      const ours = await engineGuest(config(), bytes);
      const base: number[] = [];
      const oursMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        let t = performance.now();
        await nodeWasiRun(module, args, devNull);
        base.push(performance.now() - t);
        t = performance.now();
        await ours.run(args);
        oursMs.push(performance.now() - t);
      }
      await ours.close();
      const b = medianOf(base);
      const o = medianOf(oursMs);
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

/** Prints the WASI guests on the compiler engine against Node's `node:wasi`. */
export async function wasiSuite(): Promise<void> {
  // Node 20's node:wasi can segfault after a guest grows memory past ~40 MiB and then writes to
  // stdout (see test/fixtures/guests/README.md); turning V8's fast API calls off avoids it, as the
  // guests' own harness does. It affects both sides of the comparison alike.
  setFlagsFromString('--no-turbo-fast-api-calls');
  await compare('compiler', newRuntimeConfigCompiler, 'default', 3);
  await compare('interpreter', newRuntimeConfigInterpreter, 'tiny', 3);
}
