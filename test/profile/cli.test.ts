/**
 * The profiling flags of `wasmscope run` and the `report` command, in-process through `main()`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type CliIO } from '../../src/cli/main.js';
import { decodePprof } from '../../src/profile.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-profile-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const o: Uint8Array[] = [];
  const e: Uint8Array[] = [];
  const io: CliIO = { stdout: { write: (c) => o.push(c.slice()) }, stderr: { write: (c) => e.push(c.slice()) }, stdin: '', env: {} };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() };
}

describe('wasmscope run with profiling outputs', () => {
  for (const engine of [[], ['--interpreter']]) {
    it(`writes every output and says so in one line on stderr, even when the guest traps${engine.length > 0 ? ' (interpreter)' : ''}`, async () => {
      const out = (f: string): string => join(tmp, `${engine.length}-${f}`);
      const r = await cli([
        'run',
        ...engine,
        '--profile',
        out('cpu.pprof'),
        '--memprofile',
        out('mem.pprof'),
        '--speedscope',
        out('speedscope.json'),
        '--trace-events',
        out('trace.json'),
        '--coverage',
        out('lcov.info'),
        '--sample-every',
        '3',
        join(root, 'test/fixtures/dwarf/trap.dwarf5.wasm'),
      ]);
      expect(r.code).toBe(1);
      const summary = r.stderr.split('\n').filter((l) => l.startsWith('wasmscope: wrote '));
      expect(summary).toHaveLength(1);
      expect(summary[0]).toMatch(
        /cpu\.pprof \(cpu: \d+ stacks, .*\), .*mem\.pprof \(memory: 0 allocations, 0 B\), .*speedscope\.json \(speedscope: \d+ calls\), .*trace\.json \(trace events: \d+ calls\), .*lcov\.info \(lcov: \d+\/\d+ lines in \d+ files, \d+\/\d+ functions\)/,
      );
      const cpu = await decodePprof(readFileSync(out('cpu.pprof')));
      expect(cpu.samples.some((s) => s.stack[0]?.function === 'divide')).toBe(true);
      expect(JSON.parse(readFileSync(out('speedscope.json'), 'utf8')).profiles[0].type).toBe('evented');
      expect(JSON.parse(readFileSync(out('trace.json'), 'utf8')).traceEvents.some((e: { name: string }) => e.name === 'divide')).toBe(true);
      expect(readFileSync(out('lcov.info'), 'utf8')).toContain('SF:/fixtures/trap.c\n');
    });
  }

  it('writes Istanbul JSON when the coverage file ends in .json', async () => {
    const f = join(tmp, 'coverage-final.json');
    const r = await cli(['run', '--coverage', f, join(root, 'test/fixtures/profile/alloc.wasm')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/coverage-final\.json \(istanbul: /);
    const j = JSON.parse(readFileSync(f, 'utf8')) as Record<string, { s: Record<string, number> }>;
    expect(Object.keys(j)).toContain('/fixtures/alloc.c');
  });

  it('rejects a bad --sample-every', async () => {
    const r = await cli(['run', '--profile', join(tmp, 'x.pprof'), '--sample-every', '0', 'x.wasm']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid --sample-every "0"');
    expect(existsSync(join(tmp, 'x.pprof'))).toBe(false);
  });
});

describe('wasmscope report', () => {
  it('draws a flame graph as SVG and HTML, and prints the top functions', async () => {
    const prof = join(tmp, 'mem-report.pprof');
    expect((await cli(['run', '--memprofile', prof, join(root, 'test/fixtures/profile/alloc.wasm')])).code).toBe(0);
    const svg = join(tmp, 'flame.svg');
    const html = join(tmp, 'flame.html');
    const r = await cli(['report', prof, '--svg', svg, '--html', html, '--sample-type', 'alloc_space', '--title', 'allocations']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`wasmscope: wrote ${svg}, ${html}\n`);
    const s = readFileSync(svg, 'utf8');
    expect(s).toMatch(/^<\?xml[^>]*>\n<svg /);
    expect(s).toContain('allocations');
    expect(s).toContain('make_small');
    expect(readFileSync(html, 'utf8')).toMatch(/<!doctype html>[\s\S]*<svg [\s\S]*<script>/);
    const top = await cli(['report', '--sample-type', 'alloc_space', prof]);
    expect(top.stdout).toMatch(/^alloc_space \(bytes\), total 580 B\n/);
    expect(top.stdout).toMatch(/300 B\s+51\.72%.*malloc\n/);
  });

  it('explains what is wrong', async () => {
    expect((await cli(['report'])).stderr).toContain('missing path to a pprof profile');
    expect((await cli(['report', join(tmp, 'nope.pprof')])).stderr).toContain('ENOENT');
    expect((await cli(['report', '--help'])).stdout).toContain('wasmscope report <profile.pprof> [flags]');
  });
});
