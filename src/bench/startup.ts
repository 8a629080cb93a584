/**
 * Start-up costs, each measured in fresh child processes (cold: nothing compiled, nothing
 * JIT-optimized), interleaved with its baseline, medians of {@link RUNS}:
 * - front end: `compileModule` + `instantiateModule` of a 30 MB module of real function bodies
 *   (`corpusWitness`), per engine, against `WebAssembly.compile` + instantiate of the same bytes:
 *   CPU time (all threads) of those calls and the process's peak RSS (goals: ≤ 1.3× and ≤ 1.5×);
 * - CLI cold start: `wasmscope run` of a 1 KB WASI guest against node running the same guest with
 *   `node:wasi`: CPU time of the whole process and wall time from spawn to exit (goal ≤ 1.5×).
 *
 * The children load wasmscope from `dist/` (run `npm run build` first), as users and the CLI do.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { corpusWitness, wasiHello } from './modules.js';
import { medianOf } from './stats.js';

const RUNS = 7;
const WITNESS_BYTES = 30_000_000;

/** The package root: where package.json is, above this file (src/bench or dist/bench). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('startup bench: package.json not found above this file');
    dir = up;
  }
  return dir;
}

/**
 * The peak RSS of the process in MB, as a child's code: VmHWM of this address space on Linux, since
 * `maxRSS` keeps the parent's at the fork (the kernel carries it across exec).
 */
const PEAK_RSS = `
function peakRssMB() {
  try {
    const m = /VmHWM:\\s*(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) / 1024;
  } catch {}
  return process.resourceUsage().maxRSS / 1024;
}
`;

/** A front-end child: `node -e FRONT_END <mode> <module file> <dist URL>`; prints its figures as JSON. */
const FRONT_END = `
import { readFileSync } from 'node:fs';
${PEAK_RSS}
const [mode, file, dist] = process.argv.slice(1);
// The file's own buffer (a copy would double the baseline's peak RSS).
const bytes = readFileSync(file);
let run;
if (mode === 'raw') {
  run = async () => {
    const mod = await WebAssembly.compile(bytes);
    const imports = {};
    for (const i of WebAssembly.Module.imports(mod)) (imports[i.module] ??= {})[i.name] = () => 0;
    new WebAssembly.Instance(mod, imports);
  };
} else {
  const w = await import(dist + '/index.js');
  const wasi = await import(dist + '/wasi.js');
  const r = w.newRuntimeWithConfig(mode === 'interpreter' ? w.newRuntimeConfigInterpreter() : w.newRuntimeConfigCompiler());
  await wasi.instantiate(r);
  run = async () => {
    const compiled = await r.compileModule(bytes);
    await r.instantiateModule(compiled, w.newModuleConfig().withStartFunctions());
  };
}
const c0 = process.cpuUsage();
await run();
const c = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ cpuMs: (c.user + c.system) / 1000, rssMB: peakRssMB() }));
`;

/** Preloaded into cold-start children: reports the process's CPU time and peak RSS on fd 3 at exit. */
const REPORTER = `
import { readFileSync, writeSync } from 'node:fs';
${PEAK_RSS}
process.on('exit', () => {
  const c = process.cpuUsage();
  writeSync(3, JSON.stringify({ cpuMs: (c.user + c.system) / 1000, rssMB: peakRssMB() }));
});
`;

/** The baseline of the cold start: node runs the guest with node:wasi. */
const NODE_WASI = `
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
const wasi = new WASI({ version: 'preview1', args: [process.argv[2]], env: {}, returnOnExit: true });
const mod = await WebAssembly.compile(readFileSync(process.argv[2]));
const instance = await WebAssembly.instantiate(mod, wasi.getImportObject());
process.exitCode = wasi.start(instance);
`;

interface Figures {
  readonly cpuMs: number;
  readonly rssMB: number;
  readonly wallMs: number;
}

/** Runs node with `args`; the figures come as JSON on stdout (`fd` 1) or on fd 3. */
function child(args: readonly string[], fd: 1 | 3): Figures {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {
    stdio: ['ignore', fd === 1 ? 'pipe' : 'ignore', 'pipe', fd === 3 ? 'pipe' : 'ignore'],
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const wallMs = performance.now() - t0;
  const out = r.output[fd] ?? '';
  if (r.status !== 0 || out === '') {
    throw new Error(`startup bench: child failed (status ${r.status}): node ${args.join(' ')}\n${r.stderr}`);
  }
  return { ...(JSON.parse(out) as { cpuMs: number; rssMB: number }), wallMs };
}

function ratioLine(what: string, ours: number, base: number, unit: string, goal?: number): string {
  const ratio = ours / base;
  const verdict = goal === undefined ? '' : ` (goal <= ${goal}x: ${ratio <= goal ? 'met' : 'not met'})`;
  return `${what.padEnd(34)} ${ours.toFixed(1).padStart(8)} ${unit} vs ${base.toFixed(1).padStart(7)} ${unit}: ${ratio.toFixed(2)}x${verdict}`;
}

/** The startup suite (`npm run bench -- startup`). */
export function startupSuite(): Promise<void> {
  const root = packageRoot();
  const dist = join(root, 'dist');
  if (!existsSync(join(dist, 'index.js')) || !existsSync(join(dist, 'cli', 'wasmscope.js'))) {
    console.log('\n## startup: skipped, dist/ or the CLI bundle is missing (run `npm run build` first)');
    return Promise.resolve();
  }
  const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-startup-'));
  try {
    frontEnd(tmp, pathToFileURL(dist).href);
    coldStart(tmp, join(root, 'bin', 'wasmscope.mjs'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return Promise.resolve();
}

function frontEnd(tmp: string, distUrl: string): void {
  const file = join(tmp, 'witness.wasm');
  const bytes = corpusWitness(WITNESS_BYTES);
  writeFileSync(file, bytes);
  console.log(
    `\n## startup: front end of a ${(bytes.length / 1e6).toFixed(1)} MB module (corpusWitness), fresh processes, ${RUNS} interleaved runs, medians`,
  );
  const modes = ['raw', 'compiler', 'interpreter'] as const;
  const runs = new Map<string, Figures[]>(modes.map((m) => [m, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const mode of modes) runs.get(mode)!.push(child(['--input-type=module', '-e', FRONT_END, mode, file, distUrl], 1));
  }
  const med = (mode: string, key: 'cpuMs' | 'rssMB'): number => medianOf(runs.get(mode)!.map((f) => f[key]));
  console.log('compileModule + instantiateModule vs WebAssembly.compile + instantiate:');
  for (const mode of ['compiler', 'interpreter'] as const) {
    console.log(ratioLine(`  ${mode} engine, CPU time`, med(mode, 'cpuMs'), med('raw', 'cpuMs'), 'ms', 1.3));
    console.log(ratioLine(`  ${mode} engine, peak RSS`, med(mode, 'rssMB'), med('raw', 'rssMB'), 'MB', 1.5));
  }
}

function coldStart(tmp: string, bin: string): void {
  const guest = join(tmp, 'hello.wasm');
  writeFileSync(guest, wasiHello(1024));
  const reporter = join(tmp, 'reporter.mjs');
  writeFileSync(reporter, REPORTER);
  const baseline = join(tmp, 'node-wasi.mjs');
  writeFileSync(baseline, NODE_WASI);
  const preload = ['--import', pathToFileURL(reporter).href];
  console.log(
    `\n## startup: CLI cold start, \`wasmscope run\` of a 1 KB WASI guest vs node + node:wasi, ${RUNS} interleaved runs, medians`,
  );
  const ours: Figures[] = [];
  const base: Figures[] = [];
  // One run of each first, unmeasured: the file system cache, not start-up, is what a first run measures.
  child([...preload, bin, 'run', guest], 3);
  child([...preload, baseline, guest], 3);
  for (let i = 0; i < RUNS; i++) {
    ours.push(child([...preload, bin, 'run', guest], 3));
    base.push(child([...preload, baseline, guest], 3));
  }
  const med = (xs: readonly Figures[], key: keyof Figures): number => medianOf(xs.map((f) => f[key]));
  console.log(ratioLine('  process CPU time', med(ours, 'cpuMs'), med(base, 'cpuMs'), 'ms', 1.5));
  console.log(ratioLine('  wall time, spawn to exit', med(ours, 'wallMs'), med(base, 'wallMs'), 'ms', 1.5));
  console.log(ratioLine('  peak RSS', med(ours, 'rssMB'), med(base, 'rssMB'), 'MB'));
}
