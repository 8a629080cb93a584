/**
 * Profiles, timelines and coverage (wasmscope/profile): ONE table of cases, run on every engine.
 *
 * Semantics fixed here (both engines):
 * - CPU profile: self time per stack (a call's time less its timed children's), the total equal to
 *   the profiled call's wall time; with `sampleEvery` n each function's first call and every n-th
 *   after it are recorded and counts are scaled by n; written as gzip-compressed pprof
 *   (`string_table[0] == ""`, ids from 1, stacks leaf first, time, duration and period type set).
 * - Memory profile: every outermost malloc/calloc/realloc/free call, exact objects and bytes per
 *   allocating stack (the allocator first, then its callers); in-use values are what was not freed.
 * - Timelines: every call opens and closes, in order, even when a trap ends the calls (aborts close
 *   the frames innermost first); host calls are their own category in trace events.
 * - Line coverage: the same counts per source line from DWARF on both engines, a trap's line
 *   counted and the lines after it in its block not.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { describe, expect, it } from 'vitest';
import { multiFunctionListenerFactory, withFunctionListenerFactory } from '../../src/experimental.js';
import { Context, newModuleConfig, type Runtime } from '../../src/index.js';
import {
  encodePprof,
  formatLcov,
  newCoverage,
  newCpuProfiler,
  newMemoryProfiler,
  newTimelineRecorder,
  toSpeedscope,
  toTraceEvents,
  withLineCoverage,
  type CoverageReport,
  type Timeline,
} from '../../src/profile.js';
import { instantiate as instantiateWasi } from '../../src/wasi.js';
import { engines, runtimeFor, type EngineCase } from '../helpers.js';
import { GUESTS_DIR } from '../paths.js';

const fixture = (p: string): Uint8Array => readFileSync(new URL(`../fixtures/${p}`, import.meta.url));
const FIB = readFileSync(`${GUESTS_DIR}/nowasi/fib.tiny.wasm`);
const quiet = { write: (): void => {} };

/** Lines of `file` as `line:count`, from a coverage report. */
function linesOf(r: CoverageReport, file: string): string {
  const f = r.files.find((x) => x.path === file);
  return f === undefined ? '' : f.lines.map((l) => `${l.line}:${l.count}`).join(' ');
}

/** Checks `t` is balanced and ordered; returns the frame names of its calls, in close order. */
function checkTimeline(t: Timeline): string[] {
  const open: number[] = [];
  const closed: string[] = [];
  let at = 0;
  for (const e of t.events) {
    expect(e.at).toBeGreaterThanOrEqual(at);
    at = e.at;
    if (e.type === 'O') {
      open.push(e.frame);
    } else {
      expect(open.pop()).toBe(e.frame);
      closed.push(t.frames[e.frame]!.function);
    }
  }
  expect(open).toEqual([]);
  return closed;
}

interface Case {
  readonly name: string;
  readonly run: (r: Runtime, e: EngineCase) => Promise<void>;
}

const cases: Case[] = [
  {
    name: 'CPU profile of the fib guest: fib dominates self time, total self time is the wall time, pprof well formed',
    run: async (r) => {
      const cpu = newCpuProfiler({ sampleEvery: 19 });
      const ctx = withFunctionListenerFactory(Context.background(), cpu);
      const m = await r.instantiateWithConfig(FIB, newModuleConfig(), ctx);
      cpu.start();
      const t0 = performance.now();
      m.exportedFunction('run')!.call();
      const wall = (performance.now() - t0) * 1e6;
      const p = cpu.stop();
      const raw = Profile.decode(gunzipSync(await encodePprof(p)));
      const str = raw.stringTable.strings;
      expect(str[0]).toBe('');
      expect(raw.sampleType.map((t) => `${str[Number(t.type)]}/${str[Number(t.unit)]}`)).toEqual(['samples/count', 'cpu/nanoseconds']);
      expect(str[Number(raw.periodType!.type)]).not.toBe('');
      expect(Number(raw.timeNanos)).toBeGreaterThan(1.6e18);
      expect(Number(raw.durationNanos)).toBeGreaterThan(0);
      const fnIds = new Set(raw.function.map((f) => Number(f.id)));
      const locIds = new Set(raw.location.map((l) => Number(l.id)));
      expect(fnIds.has(0)).toBe(false);
      expect(locIds.has(0)).toBe(false);
      expect(fnIds.size).toBe(raw.function.length);
      const names = new Map(
        raw.location.map((l) => [Number(l.id), str[Number(raw.function.find((f) => f.id === l.line[0]!.functionId)!.name)]]),
      );
      let fibSelf = 0;
      let total = 0;
      let calls = 0;
      for (const s of raw.sample) {
        const stack = s.locationId.map((id) => names.get(Number(id)));
        // Leaf first: the outermost frame is the exported run().
        expect(stack[stack.length - 1]).toBe('run');
        const self = Number(s.value[1]);
        total += self;
        calls += Number(s.value[0]);
        if (stack[0] === '$0') fibSelf += self;
      }
      expect(fibSelf / total).toBeGreaterThan(0.9);
      // The extrapolated total matches the call's wall time (a scaling error would be a factor of
      // `sampleEvery`); the tolerance covers a loaded machine, where wall time includes preemption.
      expect(Math.abs(total - wall) / wall).toBeLessThan(0.25);
      // fib(32) here makes 3,524,579 calls; each function's countdown is within one period of them.
      expect(Math.abs(calls - 3_524_579)).toBeLessThanOrEqual(19 * 2);
    },
  },
  {
    name: 'memory profile of a C guest: exact objects and bytes per allocating stack',
    run: async (r) => {
      const mem = newMemoryProfiler();
      const ctx = withFunctionListenerFactory(Context.background(), mem);
      await instantiateWasi(r, ctx);
      await r.instantiateWithConfig(fixture('profile/alloc.wasm'), newModuleConfig().withStdout(quiet), ctx);
      const p = mem.profile();
      expect(p.sampleTypes.map((t) => t.type)).toEqual(['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']);
      const rows = p.samples.map(
        (s) =>
          `${s.stack
            .slice(0, 3)
            .map((f) => f.function)
            .join('<')} ${s.values.join(',')}`,
      );
      expect(rows.sort()).toEqual([
        'calloc<make_table<work 1,80,1,80',
        'malloc<make_small<work 3,300,0,0',
        'realloc<grow<work 1,200,1,200',
      ]);
      const raw = Profile.decode(gunzipSync(await encodePprof(p)));
      expect(raw.sample.reduce((n, s) => n + Number(s.value[1]), 0)).toBe(580);
    },
  },
  {
    name: 'timelines of a trap mid-call: balanced, ordered, aborted frames closed innermost first',
    run: async (r) => {
      const tl = newTimelineRecorder();
      const ctx = withFunctionListenerFactory(Context.background(), tl);
      await instantiateWasi(r, ctx);
      await expect(r.instantiateWithConfig(fixture('dwarf/trap.dwarf5.wasm'), newModuleConfig(), ctx)).rejects.toThrow(
        'integer divide by zero',
      );
      const t = tl.timeline();
      expect(checkTimeline(t).slice(0, 3)).toEqual(['divide', 'compute', '__original_main']);
      const ss = toSpeedscope(t, 'trap');
      expect(ss.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
      expect(ss.profiles[0]!.events.length).toBe(t.events.length);
      expect(ss.profiles[0]!.endValue).toBeGreaterThanOrEqual(ss.profiles[0]!.events.at(-1)!.at);
      expect(ss.shared.frames.find((f) => f.name === 'divide')).toMatchObject({ file: '/fixtures/trap.c', line: 3 });
      const te = toTraceEvents(t);
      const x = te.traceEvents.filter((e) => e.ph === 'X');
      expect(x.length).toBe(t.events.length / 2);
      const divide = x.find((e) => e.name === 'divide')!;
      const compute = x.find((e) => e.name === 'compute')!;
      expect(divide.ts).toBeGreaterThanOrEqual(compute.ts);
      expect(divide.ts + divide.dur!).toBeLessThanOrEqual(compute.ts + compute.dur! + 1e-6);
    },
  },
  {
    name: 'trace events put host calls in their own category',
    run: async (r) => {
      const tl = newTimelineRecorder();
      const ctx = withFunctionListenerFactory(Context.background(), tl);
      await instantiateWasi(r, ctx);
      await r.instantiateWithConfig(fixture('profile/alloc.wasm'), newModuleConfig().withStdout(quiet), ctx);
      const t = tl.timeline();
      checkTimeline(t);
      const x = toTraceEvents(t).traceEvents.filter((e) => e.ph === 'X');
      expect(x.find((e) => e.name === 'wasi_snapshot_preview1.fd_write')?.cat).toBe('host');
      expect(x.find((e) => e.name === 'work')?.cat).toBe('wasm');
    },
  },
  {
    name: 'line coverage of a trap: the trapping line counts, the line after it does not',
    run: async (r) => {
      for (const v of ['4', '5']) {
        const cov = newCoverage();
        const ctx = withLineCoverage(withFunctionListenerFactory(Context.background(), cov), cov);
        await instantiateWasi(r);
        await expect(r.instantiateWithConfig(fixture(`dwarf/trap.dwarf${v}.wasm`), newModuleConfig(), ctx)).rejects.toThrow(
          'integer divide by zero',
        );
        const rep = cov.report();
        expect(linesOf(rep, '/fixtures/trap.c')).toBe('3:1 4:1 5:0 8:1 9:1 10:1 15:1 16:1');
        expect(formatLcov(rep)).toContain('SF:/fixtures/trap.c\nFN:3,divide\nFN:8,compute\nFN:15,__original_main\n');
        await r.module('wasi_snapshot_preview1')!.close();
      }
    },
  },
  {
    name: 'line and function coverage of branches and a loop',
    run: async (r) => {
      const cov = newCoverage();
      const ctx = withLineCoverage(withFunctionListenerFactory(Context.background(), multiFunctionListenerFactory(cov)), cov);
      const m = await r.instantiateWithConfig(fixture('profile/cover.wasm'), newModuleConfig(), ctx);
      m.exportedFunction('run')!.call(9);
      const rep = cov.report();
      // classify(i) for i < 9: 3 take `return 1`, 6 `return 0`; never() never runs.
      expect(linesOf(rep, '/fixtures/cover.c')).toBe('3:9 4:9 5:3 6:6 7:9 9:0 10:0 13:1 14:1 15:10 16:9 17:1 18:0 19:1');
      expect(rep.functions.map((f) => `${f.name}:${f.count}`).sort()).toEqual(['classify:9', 'never:0', 'run:1']);
      m.exportedFunction('run')!.call(2);
      expect(linesOf(cov.report(), '/fixtures/cover.c')).toBe('3:11 4:11 5:3 6:8 7:11 9:0 10:0 13:2 14:2 15:13 16:11 17:2 18:0 19:2');
    },
  },
];

for (const e of engines) {
  describe(`profiles on the ${e.name}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = runtimeFor(e);
        try {
          await c.run(r, e);
        } finally {
          await r.close();
        }
      });
    }
  });
}
