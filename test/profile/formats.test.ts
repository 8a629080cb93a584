/**
 * The output formats on their own: lcov loads in genhtml, Istanbul JSON has its shape, pprof
 * round-trips, flame graphs draw every merged frame, timelines cap their size.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { withFunctionListenerFactory } from '../../src/experimental.js';
import { Context, newModuleConfig, newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../../src/index.js';
import {
  decodePprof,
  encodePprof,
  flameGraphSvg,
  formatLcov,
  newCoverage,
  newTimelineRecorder,
  toIstanbul,
  withLineCoverage,
  type CoverageReport,
  type ProfileFrame,
  type StackProfile,
} from '../../src/profile.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-formats-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function coverOf(): Promise<CoverageReport> {
  const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
  const cov = newCoverage();
  const ctx = withLineCoverage(withFunctionListenerFactory(Context.background(), cov), cov);
  const m = await r.instantiateWithConfig(readFileSync(join(root, 'test/fixtures/profile/cover.wasm')), newModuleConfig(), ctx);
  m.exportedFunction('run')!.call(9);
  // The fixture's DWARF says /fixtures; the sources are in the checkout.
  const report = cov.report({ mapPath: (p) => p.replace(/^\/fixtures\//, join(root, 'test/fixtures/profile/')) });
  await r.close();
  return report;
}

const hasGenhtml = spawnSync('genhtml', ['--version'], { encoding: 'utf8' }).status === 0;
const hasGo = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;

describe('lcov', () => {
  it.skipIf(!hasGenhtml)('loads in genhtml (Debian package lcov), which finds every line and function', async () => {
    const info = join(tmp, 'cover.info');
    writeFileSync(info, formatLcov(await coverOf(), 'cover'));
    const r = spawnSync('genhtml', ['--output-directory', join(tmp, 'html'), info], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/ERROR|WARNING/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/lines\.+: 78\.6% \(11 of 14 lines\)/);
    expect(r.stdout).toMatch(/functions\.+: 66\.7% \(2 of 3 functions\)/);
    // The annotated source page (genhtml strips the common prefix test/fixtures).
    expect(readFileSync(join(tmp, 'html/profile/cover.c.gcov.html'), 'utf8')).toContain('classify');
  });

  it('writes TN/SF/FN/FNDA/FNF/FNH/DA/LF/LH/end_of_record', async () => {
    const text = formatLcov(await coverOf(), 't');
    expect(text).toMatch(
      /^TN:t\nSF:.*cover\.c\nFN:3,classify\nFN:9,never\nFN:13,run\nFNDA:9,classify\nFNDA:0,never\nFNDA:1,run\nFNF:3\nFNH:2\nDA:3,9\n/,
    );
    expect(text).toMatch(/DA:19,1\nLF:14\nLH:11\nend_of_record\n$/);
  });
});

describe('Istanbul JSON', () => {
  it('has one statement per executable line and one function per function', async () => {
    const j = toIstanbul(await coverOf());
    const f = Object.values(j)[0]!;
    expect(Object.keys(j)[0]).toBe(f.path);
    expect(Object.keys(f.statementMap)).toHaveLength(14);
    expect(f.statementMap['0']).toEqual({ start: { line: 3, column: 0 }, end: { line: 3, column: Number.MAX_SAFE_INTEGER } });
    expect(Object.values(f.s)).toEqual([9, 9, 3, 6, 9, 0, 0, 1, 1, 10, 9, 1, 0, 1]);
    expect(Object.values(f.fnMap).map((x) => `${x.name}@${x.line}`)).toEqual(['classify@3', 'never@9', 'run@13']);
    expect(f.f).toEqual({ '0': 9, '1': 0, '2': 1 });
    expect(f.branchMap).toEqual({});
    expect(f.b).toEqual({});
  });
});

const frame = (name: string, line = 0, host = false): ProfileFrame => ({
  function: name,
  systemName: `m.${name}`,
  module: 'm',
  file: line > 0 ? 'a.c' : '',
  line,
  startLine: line,
  host,
  address: line * 4,
});

const synthetic: StackProfile = {
  sampleTypes: [
    { type: 'samples', unit: 'count' },
    { type: 'cpu', unit: 'nanoseconds' },
  ],
  defaultSampleType: 'cpu',
  samples: [
    { stack: [frame('leaf', 7), frame('mid', 4), frame('main', 1)], values: [3, 3000] },
    { stack: [frame('mid', 4), frame('main', 1)], values: [1, 1000] },
    { stack: [frame('fd_write', 0, true), frame('main', 1)], values: [2, 500] },
  ],
  timeNanos: 1_700_000_000_000_000_000n,
  durationNanos: 4500,
  periodType: { type: 'calls', unit: 'count' },
  period: 1,
  comments: ['synthetic'],
};

describe('pprof', () => {
  it('round-trips through encodePprof and decodePprof', async () => {
    const bytes = await encodePprof(synthetic);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    const back = await decodePprof(bytes);
    expect(back.sampleTypes).toEqual(synthetic.sampleTypes);
    expect(back.defaultSampleType).toBe('cpu');
    expect(back.timeNanos).toBe(synthetic.timeNanos);
    expect(back.durationNanos).toBe(4500);
    expect(back.periodType).toEqual({ type: 'calls', unit: 'count' });
    expect(back.comments).toEqual(['synthetic']);
    expect(back.samples.map((s) => [s.stack.map((f) => `${f.function}:${f.file}:${f.line}`).join('<'), s.values.join(',')])).toEqual([
      ['leaf:a.c:7<mid:a.c:4<main:a.c:1', '3,3000'],
      ['mid:a.c:4<main:a.c:1', '1,1000'],
      ['fd_write::0<main:a.c:1', '2,500'],
    ]);
  });
});

describe('pprof in Go', () => {
  it.skipIf(!hasGo)("loads in Go's pprof (go tool pprof, Debian package golang-go)", async () => {
    const file = join(tmp, 'synthetic.pprof');
    writeFileSync(file, await encodePprof(synthetic));
    const r = spawnSync('go', ['tool', 'pprof', '-top', file], { encoding: 'utf8', env: { ...process.env, HOME: tmp } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Type: cpu');
    expect(r.stdout).toMatch(/3000ns 66\.67% 66\.67%\s+3000ns 66\.67%\s+leaf\n\s+1000ns 22\.22% 88\.89%\s+4000ns 88\.89%\s+mid\n/);
    expect(r.stdout).toMatch(/\n\s+0\s+0%\s+100%\s+4500ns\s+100%\s+main\n/);
  });
});

describe('flame graphs', () => {
  it('merge stacks by function from the root and size frames by the chosen value', () => {
    const svg = flameGraphSvg(synthetic, { title: 'T', width: 1000 });
    // all, main, mid, leaf, fd_write
    expect(svg.match(/<g class="f">/g)).toHaveLength(5);
    expect(svg).toContain('<title>main (a.c:1)\n4.50 µs (100.00%), self 0 ns</title>');
    expect(svg).toContain('<title>mid (a.c:4)\n4.00 µs (88.89%), self 1.00 µs</title>');
    const byCount = flameGraphSvg(synthetic, { sampleType: 'samples' });
    expect(byCount).toContain('samples (count), total 6 count');
  });
});

describe('timelines', () => {
  it('stop recording after maxCalls and say how many were dropped, still balanced', async () => {
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
    const tl = newTimelineRecorder({ maxCalls: 5 });
    const m = await r.instantiateWithConfig(
      readFileSync(join(root, 'test/fixtures/profile/cover.wasm')),
      newModuleConfig(),
      withFunctionListenerFactory(Context.background(), tl),
    );
    m.exportedFunction('run')!.call(9);
    const t = tl.timeline();
    expect(t.events.filter((e) => e.type === 'O')).toHaveLength(5);
    expect(t.events.filter((e) => e.type === 'C')).toHaveLength(5);
    expect(t.droppedCalls).toBe(5);
    await r.close();
  });
});
