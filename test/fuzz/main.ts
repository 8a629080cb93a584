/**
 * The long fuzz run: `npm run fuzz -- --seconds N [--jobs J] [--start S] [--source both|binaryen|own]
 * [--no-reduce] [--seed S --source X]`.
 *
 * Worker processes (`--jobs`, default 1: the machine is shared) take seeds one at a time; seed `n`
 * uses binaryen's translate-to-fuzz when even and our generator when odd (`--source both`). A
 * mismatch is reduced and saved under `test/fuzz/regressions/` (marked open until fixed). A case
 * that runs longer than 60 s is killed and reported as a hang. Progress every 10 s; the last line is
 * `fuzz: N modules, M calls, K mismatches`.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModule } from '../../src/runtime/binary/decoder.js';
import { prng } from '../helpers.js';
import { augment } from './augment.js';
import { fuzzCase, makeCase, planCalls, type FuzzCase, type Source } from './campaign.js';
import { recordV8, rerecord, saveFixture } from './fixtures.js';
import { runCase, type Call, type CaseResult } from './harness.js';
import { reduce, sameMismatch } from './reduce.js';

interface Args {
  seconds: number;
  jobs: number;
  start: number;
  source: 'both' | Source;
  reduce: boolean;
  seed: number | undefined;
  worker: boolean;
  /** `--crash`: with `--seed`, reduce a case that crashes the process on raw V8 alone. */
  crash: boolean;
  /** `--run-v8 <wasm> <calls.json>`: run on raw V8 alone (the crash reducer's child). */
  runV8: [string, string] | undefined;
  /** `--rerecord NAME`: rewrite a fixture's expected observations with this Node's V8. */
  rerecord: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    seconds: 60,
    jobs: 1,
    start: Math.floor(Math.random() * 1e9),
    source: 'both',
    reduce: true,
    seed: undefined,
    worker: false,
    crash: false,
    runV8: undefined,
    rerecord: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--seconds') a.seconds = Number(v());
    else if (k === '--jobs') a.jobs = Number(v());
    else if (k === '--start') a.start = Number(v());
    else if (k === '--source') a.source = v() as Args['source'];
    else if (k === '--seed') a.seed = Number(v());
    else if (k === '--no-reduce') a.reduce = false;
    else if (k === '--worker') a.worker = true;
    else if (k === '--crash') a.crash = true;
    else if (k === '--run-v8') a.runV8 = [v(), v()];
    else if (k === '--rerecord') a.rerecord = v();
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

function sourceOf(seed: number, source: Args['source']): Source {
  if (source !== 'both') return source;
  return seed % 2 === 0 ? 'binaryen' : 'own';
}

type Reply =
  | { type: 'done'; seed: number; status: string; calls: number; detail?: string; fixture?: string }
  | { type: 'reducing'; seed: number; detail: string };

/** Runs one seed; on a mismatch, reduces it and saves a fixture. */
async function runSeed(seed: number, source: Source, doReduce: boolean, send: (r: Reply) => void): Promise<void> {
  let c: FuzzCase;
  try {
    c = await makeCase(seed, source);
  } catch (e) {
    // The generator failed (binaryen's wasm-opt can crash in process): nothing was tested.
    send({ type: 'done', seed, status: 'generator error', calls: 0, detail: String(e).split('\n')[0] });
    return;
  }
  const r = await fuzzCase(c);
  if (r.status !== 'mismatch') {
    send({ type: 'done', seed, status: r.status, calls: r.calls });
    return;
  }
  const detail = `${r.result.mismatch!.sides.join(' vs ')}: ${r.result.mismatch!.detail}`;
  if (!doReduce) {
    send({ type: 'done', seed, status: 'mismatch', calls: r.calls, detail });
    return;
  }
  send({ type: 'reducing', seed, detail });
  const fixture = await reduceAndSave(c, r.result, r.canonicalNaN);
  send({ type: 'done', seed, status: 'mismatch', calls: r.calls, detail, fixture });
}

async function reduceAndSave(c: FuzzCase, result: CaseResult, canonicalNaN: boolean): Promise<string> {
  const aug = augment(c.bytes);
  const m = decodeModule(aug.bytes, 0x1ff);
  const types = new Map(m.exports.filter((e) => e.kind === 0).map((e) => [e.name, m.types[m.funcTypeIndexSpace[e.index]!]!]));
  const calls = planCalls(prng(c.planSeed))(aug, types);
  const options = { canonicalNaN, variant: c.variant };
  const red = await reduce(c.bytes, calls, sameMismatch(result, options), { step: result.mismatch!.step });
  const final = await runCase(red.bytes, () => red.calls, options);
  const expected = await recordV8(red.bytes, red.calls, canonicalNaN);
  return saveFixture(`${c.source}-${c.seed}`, red.bytes, {
    description: `found by npm run fuzz: ${final.mismatch?.detail ?? result.mismatch!.detail}`,
    origin: `${c.source} seed ${c.seed}`,
    found: final.mismatch ?? result.mismatch!,
    canonicalNaN,
    variant: c.variant,
    open: 'not analysed yet',
    calls: red.calls,
    expected,
  });
}

async function worker(args: Args): Promise<void> {
  // Stack texts of the many traps and host errors are formatted through tsx's source maps
  // otherwise, a fifth of a worker's time.
  process.setSourceMapsEnabled(false);
  const send = (r: Reply): void => void process.send!(r);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: { seed: number; source: Source }) => {
    runSeed(msg.seed, msg.source, args.reduce, send).catch((e: unknown) => {
      send({ type: 'done', seed: msg.seed, status: 'crash', calls: 0, detail: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    });
  });
  await new Promise(() => {});
}

const CASE_TIMEOUT_MS = 60_000;
const REDUCE_TIMEOUT_MS = 900_000;

/** Reduces a case whose run on raw V8 alone kills the process; saves it with the process's exit. */
async function reduceCrash(seed: number, source: Source): Promise<void> {
  const c = await makeCase(seed, source);
  const aug = augment(c.bytes);
  const m = decodeModule(aug.bytes, 0x1ff);
  const types = new Map(m.exports.filter((e) => e.kind === 0).map((e) => [e.name, m.types[m.funcTypeIndexSpace[e.index]!]!]));
  const calls = planCalls(prng(c.planSeed))(aug, types);
  const dir = mkdtempSync(join(tmpdir(), 'wasmscope-crash-'));
  const self = fileURLToPath(import.meta.url);
  const crashes = (b: Uint8Array, cs: readonly Call[]): string | undefined => {
    writeFileSync(join(dir, 'm.wasm'), b);
    writeFileSync(join(dir, 'calls.json'), JSON.stringify(cs));
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--run-v8', join(dir, 'm.wasm'), join(dir, 'calls.json')], {
      encoding: 'utf8',
    });
    return r.signal !== null ? r.signal : undefined;
  };
  const signal = crashes(c.bytes, calls);
  if (signal === undefined) {
    console.log(`${source} seed ${seed} does not crash raw V8 here`);
    return;
  }
  const red = await reduce(c.bytes, calls, async (b, cs) => crashes(b, cs) === signal, { log: console.log });
  const name = saveFixture(`${source}-${seed}`, red.bytes, {
    description: `raw V8 (Node ${process.versions.node}) dies with ${signal} running this`,
    origin: `${source} seed ${seed}`,
    found: { step: red.calls.length - 1, sides: ['v8', 'v8'], detail: `process killed by ${signal}` },
    canonicalNaN: false,
    open: 'not analysed yet',
    calls: red.calls,
    expected: [],
  });
  console.log(`saved test/fuzz/regressions/${name}`);
}

async function main(args: Args): Promise<void> {
  if (args.rerecord !== undefined) {
    await rerecord(args.rerecord);
    return;
  }
  if (args.runV8 !== undefined) {
    const calls = JSON.parse(readFileSync(args.runV8[1], 'utf8')) as Call[];
    await runCase(new Uint8Array(readFileSync(args.runV8[0])), () => calls, { engines: [] });
    return;
  }
  if (args.seed !== undefined && args.crash) {
    await reduceCrash(args.seed, sourceOf(args.seed, args.source));
    return;
  }
  if (args.seed !== undefined) {
    await runSeed(args.seed, sourceOf(args.seed, args.source), args.reduce, (r) => console.log(JSON.stringify(r)));
    return;
  }
  const counts = new Map<string, number>();
  let modules = 0;
  let calls = 0;
  const findings: string[] = [];
  let next = args.start;
  const t0 = Date.now();
  const deadline = t0 + args.seconds * 1000;
  console.log(`fuzz: ${args.jobs} job(s), ${args.seconds} s, seeds from ${args.start}, source ${args.source}`);

  const self = fileURLToPath(import.meta.url);
  const status = (): string => {
    const s = (Date.now() - t0) / 1000;
    const parts = [...counts].sort().map(([k, v]) => `${k} ${v}`);
    return `${modules} modules (${parts.join(', ')}), ${calls} calls, ${(modules / s).toFixed(1)} modules/s, ${(calls / s).toFixed(0)} calls/s`;
  };
  const timer = setInterval(() => console.log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${status()}`), 10_000);

  await Promise.all(
    Array.from({ length: args.jobs }, async () => {
      let child: ChildProcess | undefined;
      const spawn = (): ChildProcess =>
        fork(self, ['--worker', ...(args.reduce ? [] : ['--no-reduce'])], {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
      while (Date.now() < deadline) {
        child ??= spawn();
        const seed = next++;
        const source = sourceOf(seed, args.source);
        const c = child;
        const reply = await new Promise<Reply & { type: 'done' }>((resolve) => {
          let timeout = setTimeout(onTimeout, CASE_TIMEOUT_MS);
          function onTimeout(): void {
            c.removeAllListeners('message');
            c.kill('SIGKILL');
            resolve({ type: 'done', seed, status: 'hang', calls: 0, detail: `no answer in time` });
          }
          c.on('message', (r: Reply) => {
            if (r.seed !== seed) return;
            if (r.type === 'reducing') {
              console.log(`  mismatch at ${source} seed ${seed}: ${r.detail} — reducing`);
              clearTimeout(timeout);
              timeout = setTimeout(onTimeout, REDUCE_TIMEOUT_MS);
              return;
            }
            clearTimeout(timeout);
            c.removeAllListeners('message');
            resolve(r);
          });
          c.once('exit', () => {
            clearTimeout(timeout);
            resolve({ type: 'done', seed, status: 'crash', calls: 0, detail: 'worker exited' });
          });
          c.send({ seed, source });
        });
        c.removeAllListeners('exit');
        if (reply.status === 'hang' || reply.status === 'crash') {
          c.kill('SIGKILL');
          child = undefined;
        }
        modules++;
        calls += reply.calls;
        counts.set(reply.status, (counts.get(reply.status) ?? 0) + 1);
        if (reply.status === 'generator error') console.log(`  generator error at ${source} seed ${seed}: ${reply.detail ?? ''}`);
        if (reply.status === 'mismatch' || reply.status === 'hang' || reply.status === 'crash') {
          const f = `${reply.status} at ${source} seed ${seed}: ${reply.detail ?? ''}${reply.fixture === undefined ? '' : ` → test/fuzz/regressions/${reply.fixture}`}`;
          findings.push(f);
          console.log(`  ${f}`);
        }
      }
      child?.kill();
    }),
  );
  clearInterval(timer);
  const mismatches = (counts.get('mismatch') ?? 0) + (counts.get('hang') ?? 0) + (counts.get('crash') ?? 0);
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${status()}`);
  for (const f of findings) console.log(`  ${f}`);
  console.log(`fuzz: ${modules} modules, ${calls} calls, ${mismatches} mismatches`);
}

const args = parseArgs(process.argv.slice(2));
if (args.worker) await worker(args);
else await main(args);
