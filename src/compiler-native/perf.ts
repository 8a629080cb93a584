/**
 * Quick perf check of the compiler engine (not a test): run() of every `nowasi` guest on the engine
 * vs raw `WebAssembly` in one process, interleaved, medians; plus compile latency and the cost of one
 * boundary call with i64 params (scratch slots vs BigInt args vs two i32 halves).
 *
 * Run: npx tsx src/compiler-native/perf.ts [runs] [tiny]
 * (WASMSCOPE_PERF=boundary,compile,listeners,guests picks parts; default all)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '../runtime/api/context.js';
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV2 } from '../runtime/api/features.js';
import { functionListenerFunc, type FunctionListener } from '../runtime/api/listener.js';
import type { Module as ApiModule } from '../runtime/api/module.js';
import { decodeModule } from '../runtime/binary/decoder.js';
import { ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import { bigModule } from '../bench/modules.js';
import { validateModule } from '../runtime/validate/validate.js';
import { newCompilerEngine } from './engine.js';
import { newRuntimeConfigCompiler, newRuntimeWithConfig } from '../index.js';

const FEATURES = CoreFeaturesV2 | CoreFeaturesThreads | CoreFeaturesTailCall;
const DIR = process.env['WASMSCOPE_GUESTS_DIR'] ?? new URL('../../test/fixtures/guests', import.meta.url).pathname;
const runs = Number(process.argv[2] ?? 3);
const tiny = process.argv[3] === 'tiny';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const engine = newCompilerEngine();
/** Bodies untouched: the cost of precise traps is the difference. */
const imprecise = newCompilerEngine({ preciseTraps: false });
const owner = { api: { name: () => 'perf' } as unknown as ApiModule };
const instOpts = { features: FEATURES, memoryLimitPages: 65536, memoryCapacityFromMax: false, ctx: Context.background() };

async function guests(): Promise<void> {
  const dir = join(DIR, 'nowasi');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.wasm') && f.includes('.tiny.') === tiny)
    .sort();
  const ratios: number[] = [];
  const impreciseRatios: number[] = [];
  console.log(`guest            raw ms   engine ms   ratio (raw/engine, ${runs} interleaved runs, medians)   no-precise-traps ms  ratio`);
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(join(dir, f)));
    const rawMod = await WebAssembly.compile(bytes);
    const m = decodeModule(bytes, FEATURES);
    validateModule(m, FEATURES);
    const code = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined });
    const code2 = await imprecise.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined });
    const imp: number[] = [];
    const runIdx = m.exports.find((e) => e.name === 'run' && e.kind === 0)!.index;
    const raw: number[] = [];
    const eng: number[] = [];
    let rawResult = 0n;
    let engResult = 0n;
    for (let r = 0; r < runs; r++) {
      {
        const inst = new WebAssembly.Instance(rawMod, {});
        const t = performance.now();
        rawResult = (inst.exports['run'] as () => bigint)();
        raw.push(performance.now() - t);
      }
      {
        const inst = engine.instantiate(code, [], owner, instOpts);
        const stack = new BigUint64Array(1);
        const t = performance.now();
        inst.call(runIdx, stack, Context.background());
        eng.push(performance.now() - t);
        engResult = stack[0]!;
      }
      {
        const inst = imprecise.instantiate(code2, [], owner, instOpts);
        const stack = new BigUint64Array(1);
        const t = performance.now();
        inst.call(runIdx, stack, Context.background());
        imp.push(performance.now() - t);
      }
    }
    if (BigInt.asUintN(64, rawResult) !== engResult) throw new Error(`${f}: results differ: ${rawResult} vs ${engResult}`);
    const ratio = median(raw) / median(eng);
    ratios.push(ratio);
    const r2 = median(raw) / median(imp);
    impreciseRatios.push(r2);
    console.log(
      `${f.padEnd(16)} ${median(raw).toFixed(1).padStart(7)} ${median(eng).toFixed(1).padStart(10)}   ${ratio.toFixed(3)}` +
        `${' '.repeat(40)}${median(imp).toFixed(1).padStart(8)}  ${r2.toFixed(3)}`,
    );
  }
  const geomean = (xs: number[]): number => Math.exp(xs.reduce((a, r) => a + Math.log(r), 0) / xs.length);
  console.log(`geomean ratio ${geomean(ratios).toFixed(3)}, min ${Math.min(...ratios).toFixed(3)} (precise traps, the default)`);
  console.log(`geomean ratio ${geomean(impreciseRatios).toFixed(3)}, min ${Math.min(...impreciseRatios).toFixed(3)} (preciseTraps: false)`);
}

async function compileLatency(): Promise<void> {
  const { rewriteModule } = await import('./rewrite.js');
  const precise = engine;
  const raw: number[] = [];
  const eng: number[] = [];
  const engPrecise: number[] = [];
  const rewriteOnly: number[] = [];
  const pipeline: number[] = [];
  /** `Runtime.compileModule` (decode, then rewrite + V8 compile overlapped with validation). */
  const storeCompile: number[] = [];
  let size = 0;
  for (let r = 0; r < 7; r++) {
    const bytes = bigModule(20000, r * 4);
    size = bytes.length;
    let t = performance.now();
    await WebAssembly.compile(bytes);
    raw.push(performance.now() - t);
    const m = decodeModule(bigModule(20000, r * 4 + 1), FEATURES);
    t = performance.now();
    await imprecise.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined });
    eng.push(performance.now() - t);
    const m2 = decodeModule(bigModule(20000, r * 4 + 2), FEATURES);
    t = performance.now();
    await precise.compile(m2, { features: FEATURES, debugInfo: false, listeners: undefined });
    engPrecise.push(performance.now() - t);
    t = performance.now();
    rewriteModule(m, 'perf');
    rewriteOnly.push(performance.now() - t);
    {
      const rt = newRuntimeWithConfig(newRuntimeConfigCompiler());
      const b4 = bigModule(20000, r * 4 + 1000);
      t = performance.now();
      await rt.compileModule(b4);
      storeCompile.push(performance.now() - t);
      await rt.close();
    }
    const b3 = bigModule(20000, r * 4 + 3);
    t = performance.now();
    const m3 = decodeModule(b3, FEATURES);
    validateModule(m3, FEATURES);
    await engine.compile(m3, { features: FEATURES, debugInfo: false, listeners: undefined });
    pipeline.push(performance.now() - t);
  }
  const r = median(raw);
  console.log(
    `compile 20000 functions (${size} B, fresh bytes each time): raw WebAssembly.compile ${r.toFixed(1)} ms; ` +
      `engine.compile without precise traps ${median(eng).toFixed(1)} ms (${(median(eng) / r).toFixed(2)}x, of which rewrite ${median(rewriteOnly).toFixed(2)} ms); ` +
      `with precise traps (default) ${median(engPrecise).toFixed(1)} ms (${(median(engPrecise) / r).toFixed(2)}x); ` +
      `decode+validate+compile in sequence ${median(pipeline).toFixed(1)} ms (${(median(pipeline) / r).toFixed(2)}x); ` +
      `Runtime.compileModule ${median(storeCompile).toFixed(1)} ms (${(median(storeCompile) / r).toFixed(2)}x, goal <= 1.3x)`,
  );
}

async function boundary(): Promise<void> {
  const text = new ByteWriter();
  void text;
  // (func (param i64 i64) (result i64) i64.add), plus an i32-halves variant.
  const w = new ByteWriter();
  w.u32Fixed(0x6d736100).u32Fixed(1);
  const sec = (id: number, b: ByteWriter): void => {
    w.u8(id).u32(b.len).bytes(b.buf.subarray(0, b.len));
  };
  const types = new ByteWriter().u32(2);
  encodeFuncType(types, { params: [0x7e, 0x7e], results: [0x7e] });
  encodeFuncType(types, { params: [0x7f, 0x7f, 0x7f, 0x7f], results: [0x7f] });
  sec(1, types);
  sec(3, new ByteWriter().u32(2).u32(0).u32(1));
  sec(7, new ByteWriter().u32(2).name('add').u8(0).u32(0).name('add32').u8(0).u32(1));
  const code = new ByteWriter().u32(2);
  const b0 = new ByteWriter().u32(0).u8(0x20).u32(0).u8(0x20).u32(1).u8(0x7c).u8(0x0b);
  code.u32(b0.len).bytes(b0.buf.subarray(0, b0.len));
  // lo/hi halves: combine, add, return low half (enough to time the argument passing).
  const b1 = new ByteWriter().u32(0);
  for (const [lo, hi] of [
    [0, 1],
    [2, 3],
  ]) {
    b1.u8(0x20).u32(lo!).u8(0xad).u8(0x20).u32(hi!).u8(0xad).u8(0x42).u8(32).u8(0x86).u8(0x84);
  }
  b1.u8(0x7c).u8(0xa7).u8(0x0b);
  code.u32(b1.len).bytes(b1.buf.subarray(0, b1.len));
  sec(10, code);
  const bytes = w.finish();
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const add = inst.exports['add'] as (a: bigint, b: bigint) => bigint;
  const add32 = inst.exports['add32'] as (a: number, b: number, c: number, d: number) => number;
  const m = decodeModule(bytes, FEATURES);
  const ce = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined });
  const ei = engine.instantiate(ce, [], owner, instOpts);
  const N = 1_000_000;
  const stack = new BigUint64Array(2);
  const ctx = Context.background();
  const time = (f: () => void): number => {
    f();
    const t = performance.now();
    f();
    return ((performance.now() - t) * 1e6) / N;
  };
  const tScratch = time(() => {
    for (let i = 0; i < N; i++) {
      stack[0] = 0x123456789n;
      stack[1] = 0xfedcba987654321n;
      ei.call(0, stack, ctx);
    }
  });
  const tBig = time(() => {
    let s = 0n;
    for (let i = 0; i < N; i++) {
      stack[0] = 0x123456789n;
      stack[1] = 0xfedcba987654321n;
      s = add(BigInt.asIntN(64, stack[0]), BigInt.asIntN(64, stack[1]));
      stack[0] = BigInt.asUintN(64, s);
    }
  });
  const tHalves = time(() => {
    for (let i = 0; i < N; i++) {
      stack[0] = 0x123456789n;
      stack[1] = 0xfedcba987654321n;
      const a = stack[0];
      const b = stack[1];
      const r = add32(Number(a & 0xffffffffn), Number(a >> 32n), Number(b & 0xffffffffn), Number(b >> 32n));
      stack[0] = BigInt(r >>> 0);
    }
  });
  console.log(
    `one call (i64,i64)->i64 from a raw stack: engine (scratch slots) ${tScratch.toFixed(0)} ns, ` +
      `raw export with BigInt args ${tBig.toFixed(0)} ns, raw export with i32 halves ${tHalves.toFixed(0)} ns`,
  );
}

/**
 * Per-call overhead of a no-op listener on every function (issue 4 item 6): calls.wasm and fib.wasm
 * run listened and unlistened, interleaved; ns per listened call over the unlistened run.
 */
async function listenerOverhead(): Promise<void> {
  const { ms: N } = { ms: Math.max(3, runs) };
  for (const name of (process.env['WASMSCOPE_PERF_GUESTS'] ?? 'calls,fib').split(',')) {
    const bytes = new Uint8Array(readFileSync(join(DIR, 'nowasi', `${name}${tiny ? '.tiny' : ''}.wasm`)));
    const m = decodeModule(bytes, FEATURES);
    validateModule(m, FEATURES);
    let calls = 0;
    const noop: FunctionListener = {
      before() {
        calls++;
      },
      after() {},
      abort() {},
    };
    const beforeOnly = functionListenerFunc(() => {
      calls++;
    });
    const on = (l: FunctionListener): Array<FunctionListener | undefined> =>
      m.funcTypeIndexSpace.map((_, i) => (i < m.numImportedFuncs ? undefined : l));
    const plain = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined });
    const listened = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: on(noop) });
    const listenedB = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: on(beforeOnly) });
    const runIdx = m.exports.find((e) => e.name === 'run' && e.kind === 0)!.index;
    const tp: number[] = [];
    const tl: number[] = [];
    const tb: number[] = [];
    let perRun = 0;
    for (let r = 0; r < N; r++) {
      for (const [code, out] of [
        [plain, tp],
        [listened, tl],
        [listenedB, tb],
      ] as const) {
        const inst = engine.instantiate(code, [], owner, instOpts);
        const stack = new BigUint64Array(1);
        calls = 0;
        const t = performance.now();
        inst.call(runIdx, stack, Context.background());
        out.push(performance.now() - t);
        if (code === listened) perRun = calls;
      }
    }
    const ns = (xs: number[]): string => (((median(xs) - median(tp)) * 1e6) / perRun).toFixed(1);
    console.log(
      `listener overhead ${name}: unlistened ${median(tp).toFixed(1)} ms; no-op listener on every function ${median(tl).toFixed(1)} ms ` +
        `(${ns(tl)} ns per listened call, goal <= 8); before-only (functionListenerFunc) ${median(tb).toFixed(1)} ms (${ns(tb)} ns); ` +
        `${perRun} listened calls per run`,
    );
  }
}

/**
 * Timeouts (issue 5 item 4): the cost of interrupt checks at loop headers (modules compiled with
 * `closeOnContextDone`, a deadline set) against plain runs, and for comparison the fixed cost per
 * call of running under `node:vm`'s watchdog timeout (which needs no body changes).
 */
async function interrupts(): Promise<void> {
  const dir = join(DIR, 'nowasi');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.wasm') && f.includes('.tiny.') === tiny)
    .sort();
  const ratios: number[] = [];
  const ctx = Context.background().withTimeout(3_600_000);
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(join(dir, f)));
    const m = decodeModule(bytes, FEATURES);
    validateModule(m, FEATURES);
    const plain = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined });
    const checked = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined, closeOnContextDone: true });
    const runIdx = m.exports.find((e) => e.name === 'run' && e.kind === 0)!.index;
    const tp: number[] = [];
    const tc: number[] = [];
    for (let r = 0; r < runs; r++) {
      for (const [code, out] of [
        [plain, tp],
        [checked, tc],
      ] as const) {
        const inst = engine.instantiate(code, [], owner, instOpts);
        const t = performance.now();
        inst.call(runIdx, new BigUint64Array(1), ctx);
        out.push(performance.now() - t);
      }
    }
    const ratio = median(tp) / median(tc);
    ratios.push(ratio);
    console.log(
      `interrupt checks ${f.padEnd(16)} plain ${median(tp).toFixed(1)} ms, checked ${median(tc).toFixed(1)} ms, speed ratio ${ratio.toFixed(3)}`,
    );
  }
  const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
  console.log(`interrupt checks geomean speed ratio ${geo.toFixed(3)} (1 = free)`);
  const vm = await import('node:vm');
  const noop = (): number => 1;
  const context = vm.createContext({ noop });
  const script = new vm.Script('noop()');
  const N = 2000;
  let t = performance.now();
  for (let i = 0; i < N; i++) script.runInContext(context, { timeout: 1000 });
  const withTimeout = ((performance.now() - t) * 1000) / N;
  t = performance.now();
  for (let i = 0; i < N; i++) script.runInContext(context);
  const without = ((performance.now() - t) * 1000) / N;
  console.log(
    `node:vm per call: with timeout ${withTimeout.toFixed(1)} us, without ${without.toFixed(1)} us (the watchdog thread per call)`,
  );
}

/**
 * Precise traps cost nothing on the nowasi guests (none of their bodies has a trapping conversion
 * or a call_indirect, so none is rewritten); this measures the worst case: loops doing nothing
 * but such instructions (10^7 of them).
 */
async function preciseTrapsWorstCase(): Promise<void> {
  const wabt = await (
    (await import('wabt')) as unknown as {
      default: () => Promise<{
        parseWat(n: string, t: string, f: object): { toBinary(o: object): { buffer: ArrayBuffer }; destroy(): void };
      }>;
    }
  ).default();
  const text = `(module
    (type $t (func (param i32) (result i32)))
    (table funcref (elem $id))
    (func $id (param i32) (result i32) (local.get 0))
    (func (export "trunc") (param i32) (result i64) (local i32) (local i64)
      (loop $l
        (local.set 2 (i64.add (local.get 2) (i64.trunc_f64_s (f64.convert_i32_s (local.get 1)))))
        (br_if $l (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (local.get 0))))
      (local.get 2))
    (func (export "indirect") (param i32) (result i64) (local i32) (local i64)
      (loop $l
        (local.set 2 (i64.add (local.get 2) (i64.extend_i32_u (call_indirect (type $t) (local.get 1) (i32.const 0)))))
        (br_if $l (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (local.get 0))))
      (local.get 2)))`;
  const mod = wabt.parseWat('w.wat', text, {});
  const bytes = new Uint8Array(mod.toBinary({}).buffer);
  mod.destroy();
  const m = decodeModule(bytes, FEATURES);
  const p = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined });
  const i = await imprecise.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined });
  for (const name of ['trunc', 'indirect']) {
    const idx = m.exports.find((e) => e.name === name)!.index;
    const tp: number[] = [];
    const ti: number[] = [];
    for (let r = 0; r < Math.max(5, runs); r++) {
      for (const [code, out] of [
        [p, tp],
        [i, ti],
      ] as const) {
        const inst = engine.instantiate(code, [], owner, instOpts);
        const st = new BigUint64Array([10_000_000n]);
        const t = performance.now();
        inst.call(idx, st, Context.background());
        out.push(performance.now() - t);
      }
    }
    console.log(
      `precise traps worst case ${name}: 10^7 iterations ${median(ti).toFixed(1)} ms without, ${median(tp).toFixed(1)} ms with ` +
        `(+${(((median(tp) - median(ti)) * 1e6) / 1e7).toFixed(2)} ns per instruction)`,
    );
  }
}

const what = process.env['WASMSCOPE_PERF'] ?? 'all';
if (what === 'all' || what.includes('precise')) await preciseTrapsWorstCase();
if (what === 'all' || what.includes('interrupts')) await interrupts();
if (what === 'all' || what.includes('boundary')) await boundary();
if (what === 'all' || what.includes('compile')) await compileLatency();
if (what === 'all' || what.includes('listeners')) await listenerOverhead();
if (what === 'all' || what.includes('guests')) await guests();
