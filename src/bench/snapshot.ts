/**
 * Checkpoints and pre-initialisation (`npm run bench -- snapshot`), every figure a ratio measured in
 * the same run (interleaved runs, medians):
 * - a full checkpoint of a 256 MiB memory against a plain `Buffer` copy of the same bytes (goal:
 *   at least 0.5x the copy's speed);
 * - an incremental checkpoint with 1% of the pages dirty against a full one (goal: at most 5% of its
 *   time), with dirty-page tracking, and without it (every page compared, for reference);
 * - the cost of dirty-page tracking on the guest corpus: `run()` of each nowasi guest compiled with
 *   and without tracking (goal: geomean at most 1.10x untracked on the compiler engine);
 * - the start-up of the table-building guest (test/fixtures/snapshot/tables.wasm) pre-initialised
 *   against plain (instantiate, `_initialize`, `wizer.initialize`), on both engines.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  Context,
  newModuleConfig,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  type RuntimeConfig,
} from '../index.js';
import type { Module } from '../runtime/api/module.js';
import { I32 } from '../runtime/api/value-type.js';
import { ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import { SectionId } from '../runtime/binary/module.js';
import { MULTI_MEMORY } from '../compiler-native/rewrite.js';
import { withDirtyPageTracking } from '../runtime/store/dirty-pages.js';
import { checkpoint, type Checkpoint } from '../snapshot/checkpoint.js';
import { preinitialize } from '../snapshot/preinit.js';
import { GUEST_NAMES, loadNowasiGuest } from './guests.js';
import { geomean, medianOf } from './stats.js';

const PAGE = 65536;
const BIG_PAGES = 4096; // 256 MiB

/**
 * A module with a memory of `pages` pages (exported) and `touch(first, count, stride)`, which writes
 * one byte in each of `count` pages, `stride` pages apart from page `first`.
 */
function pagesModule(pages: number): Uint8Array {
  const w = new ByteWriter(256).preamble();
  const types = new ByteWriter().u32(1);
  encodeFuncType(types, { params: [I32, I32, I32], results: [] });
  w.section(SectionId.Type, types);
  w.section(SectionId.Function, new ByteWriter().u32(1).u32(0));
  w.section(SectionId.Memory, new ByteWriter().u32(1).u8(0).u32(pages));
  w.section(SectionId.Export, new ByteWriter().u32(2).name('memory').u8(2).u32(0).name('touch').u8(0).u32(0));
  // loop: mem[(first + k*stride) * 65536 + 8] += 1, k < count
  const c = new ByteWriter(64).u32(1).u32(1).u8(I32);
  c.block(-64).loop(-64);
  c.localGet(3).localGet(1).op(0x4f).brIf(1); // i32.ge_u
  c.localGet(0).localGet(3).localGet(2).op(0x6c).i32Add().i32Const(16).op(0x74); // (first + k*stride) << 16
  c.localGet(0).localGet(3).localGet(2).op(0x6c).i32Add().i32Const(16).op(0x74);
  c.i32Load(2, 8).i32Const(1).i32Add().i32Store(2, 8);
  c.localGet(3).i32Const(1).i32Add().localSet(3).br(0).end().end().end();
  w.section(SectionId.Code, new ByteWriter().u32(1).sized(c));
  return w.finish();
}

async function bigMemory(tracked: boolean): Promise<Module> {
  const r = newRuntimeWithConfig(newRuntimeConfigCompiler());
  const ctx = tracked ? withDirtyPageTracking(Context.background()) : Context.background();
  const m = await r.instantiateModule(await r.compileModule(pagesModule(BIG_PAGES), ctx), newModuleConfig().withName(''));
  // Every byte non-zero, so nothing is cheaper than a copy.
  m.memory()!
    .read(0, BIG_PAGES * PAGE)!
    .fill(0x5a);
  return m;
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

async function fullVersusCopy(): Promise<void> {
  const runs = 7;
  console.log(`\n## full checkpoint of a ${(BIG_PAGES * 64) / 1024} MiB memory vs a Buffer copy (${runs} interleaved runs, medians)`);
  const m = await bigMemory(false);
  const src = Buffer.from(m.memory()!.read(0, BIG_PAGES * PAGE)!.buffer, 0, BIG_PAGES * PAGE);
  const copy: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < runs; i++) {
    let keep: unknown;
    copy.push(
      time(() => {
        const dst = Buffer.allocUnsafeSlow(src.length);
        src.copy(dst);
        keep = dst;
      }),
    );
    keep = undefined;
    full.push(
      time(() => {
        keep = checkpoint(m);
      }),
    );
    void keep;
  }
  const speed = medianOf(copy) / medianOf(full);
  console.log(
    `Buffer copy ${medianOf(copy).toFixed(1)} ms, checkpoint ${medianOf(full).toFixed(1)} ms: ${speed.toFixed(2)}x the copy's speed (goal >= 0.5x)`,
  );
}

async function incrementalVersusFull(): Promise<void> {
  const runs = 7;
  const dirty = Math.round(BIG_PAGES / 100);
  console.log(`\n## incremental checkpoint, ${dirty} of ${BIG_PAGES} pages (1%) dirty, vs full (${runs} interleaved runs, medians)`);
  for (const tracked of [true, false]) {
    const m = await bigMemory(tracked);
    const touch = m.exportedFunction('touch')!;
    const full: number[] = [];
    const delta: number[] = [];
    let base: Checkpoint = checkpoint(m);
    for (let i = 0; i < runs; i++) {
      full.push(time(() => void checkpoint(m)));
      // The full checkpoint cleared the marks: the next base is a fresh one.
      base = checkpoint(m);
      touch.call(i % 97, dirty, 97);
      let d: Checkpoint | undefined;
      delta.push(time(() => (d = checkpoint(m, { base }))));
      if (d!.storedPages !== dirty) throw new Error(`delta of ${d!.storedPages} pages, expected ${dirty}`);
    }
    const ratio = medianOf(delta) / medianOf(full);
    console.log(
      `${tracked ? 'dirty-page tracking' : 'no tracking (pages compared)'}: full ${medianOf(full).toFixed(1)} ms, delta ${medianOf(delta).toFixed(2)} ms: ${(100 * ratio).toFixed(1)}% of the full time${tracked ? ' (goal <= 5%)' : ''}`,
    );
  }
}

async function trackingCost(): Promise<void> {
  const runs = 5;
  console.log(`\n## dirty-page tracking cost: nowasi guests, default size, compiler engine (${runs} interleaved runs, medians, CPU time)`);
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const ratios: number[] = [];
  for (const name of GUEST_NAMES) {
    const g = loadNowasiGuest(name, 'default');
    const r = newRuntimeWithConfig(newRuntimeConfigCompiler());
    const plain = await r.compileModule(g.bytes);
    const tracked = await r.compileModule(g.bytes, withDirtyPageTracking(Context.background()));
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < runs; i++) {
      for (const [c, out] of [
        [plain, a],
        [tracked, b],
      ] as const) {
        const m = await r.instantiateModule(c, newModuleConfig().withName(''));
        const t = cpu();
        const got = m.exportedFunction('run')!.call()[0]!;
        out.push(cpu() - t);
        if (got !== g.checksum) throw new Error(`${name}: ${got}, expected ${g.checksum}`);
        await m.close();
      }
    }
    const ratio = medianOf(b) / medianOf(a);
    ratios.push(ratio);
    console.log(
      `${name.padEnd(8)} untracked ${medianOf(a).toFixed(1).padStart(8)} ms  tracked ${medianOf(b).toFixed(1).padStart(8)} ms  ${ratio.toFixed(3)}x`,
    );
    await r.close();
  }
  console.log(
    `geomean ${geomean(ratios).toFixed(3)}x untracked (goal <= 1.10x; marks written ${MULTI_MEMORY ? 'inline (multi-memory)' : 'through a call (this V8 has no multi-memory)'})`,
  );
}

async function preinitStartup(): Promise<void> {
  const runs = 7;
  const bytes = new Uint8Array(readFileSync(fileURLToPath(new URL('../../test/fixtures/snapshot/tables.wasm', import.meta.url))));
  console.log(`\n## start-up of the table-building guest: pre-initialised vs plain (${runs} interleaved runs, medians)`);
  const engines: Array<[string, () => RuntimeConfig]> = [
    ['compiler', newRuntimeConfigCompiler],
    ['interpreter', newRuntimeConfigInterpreter],
  ];
  for (const [name, config] of engines) {
    const pre = await preinitialize(bytes, { runtimeConfig: config() });
    const plain: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i < runs; i++) {
      // Compilation included: a start-up is compile, instantiate and initialise.
      const r = newRuntimeWithConfig(config());
      let t = performance.now();
      const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName(''));
      m.exportedFunction('_initialize')!.call();
      m.exportedFunction('wizer.initialize')!.call();
      plain.push(performance.now() - t);
      t = performance.now();
      const p = await r.instantiateWithConfig(pre, newModuleConfig().withName(''));
      ready.push(performance.now() - t);
      if (p.exportedFunction('ready')!.call()[0] !== 1n) throw new Error('the pre-initialised guest is not ready');
      await r.close();
    }
    console.log(
      `${name.padEnd(11)} plain ${medianOf(plain).toFixed(1).padStart(7)} ms  pre-initialised ${medianOf(ready).toFixed(1).padStart(6)} ms  ${(medianOf(plain) / medianOf(ready)).toFixed(1)}x faster (${bytes.length} → ${pre.length} bytes)`,
    );
  }
}

/** The `snapshot` suite. */
export async function snapshotSuite(): Promise<void> {
  await fullVersusCopy();
  await incrementalVersusFull();
  await trackingCost();
  await preinitStartup();
}
