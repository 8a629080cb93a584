/**
 * The CLI's profiling: the recorders behind the output flags of `wasmscope run` (pprof CPU and
 * memory profiles, speedscope, trace events, coverage; the flags are in profile-flags.ts) and the
 * `wasmscope report` command (a flame graph or a top table from a pprof file). Loaded only when a
 * run profiles or for `report` (start-up).
 */
import { cannotRead } from './inputs.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Context } from '../runtime/api/context.js';
import { getFunctionListenerFactory, multiFunctionListenerFactory, withFunctionListenerFactory } from '../runtime/api/listener.js';
import type { FunctionListenerFactory } from '../runtime/api/listener.js';
import { formatLcov, newCoverage, toIstanbul, withLineCoverage, type Coverage } from '../profile/coverage.js';
import { newCpuProfiler, type CpuProfiler } from '../profile/cpu.js';
import { flameGraphHtml, flameGraphSvg, formatValue } from '../profile/flamegraph.js';
import { newMemoryProfiler, type MemoryProfiler } from '../profile/memory.js';
import { decodePprof, encodePprof } from '../profile/pprof.js';
import type { StackProfile } from '../profile/profile.js';
import { toSpeedscope } from '../profile/speedscope.js';
import { newTimelineRecorder, type TimelineRecorder } from '../profile/timeline.js';
import { toTraceEvents } from '../profile/trace-events.js';
import { REPORT_USAGE, type ProfileFlags } from './profile-flags.js';

/** The recorders of one run and how to write their outputs. */
export class ProfileSession {
  readonly #flags: ProfileFlags;
  readonly #name: string;
  readonly #cpu: CpuProfiler | undefined;
  readonly #mem: MemoryProfiler | undefined;
  readonly #timeline: TimelineRecorder | undefined;
  readonly #coverage: Coverage | undefined;

  constructor(flags: ProfileFlags, wasmPath: string) {
    this.#flags = flags;
    this.#name = basename(wasmPath);
    if (flags.cpu !== undefined) this.#cpu = newCpuProfiler({ sampleEvery: flags.sampleEvery, hostTime: flags.hostTime });
    if (flags.mem !== undefined) this.#mem = newMemoryProfiler();
    if (flags.speedscope !== undefined || flags.traceEvents !== undefined) this.#timeline = newTimelineRecorder();
    if (flags.coverage !== undefined) this.#coverage = newCoverage();
  }

  /** Whether any output was asked for. */
  get active(): boolean {
    return this.#cpu !== undefined || this.#mem !== undefined || this.#timeline !== undefined || this.#coverage !== undefined;
  }

  /** `ctx` with the recorders added to its listener factory (and line coverage when asked). */
  context(ctx: Context): Context {
    const mine: FunctionListenerFactory[] = [];
    // The CPU profiler last: its clock starts after the other recorders' `before` ran (a memory
    // profiler's stack walk is not counted as the allocator's time).
    for (const f of [this.#mem, this.#timeline, this.#coverage, this.#cpu]) if (f !== undefined) mine.push(f);
    if (mine.length === 0) return ctx;
    const existing = getFunctionListenerFactory(ctx);
    let c = withFunctionListenerFactory(ctx, multiFunctionListenerFactory(...(existing === undefined ? [] : [existing]), ...mine));
    if (this.#coverage !== undefined) c = withLineCoverage(c, this.#coverage);
    return c;
  }

  /** Writes every output asked for; returns the one-line summary for stderr. */
  async write(): Promise<string> {
    const f = this.#flags;
    const done: string[] = [];
    if (this.#cpu !== undefined && f.cpu !== undefined) {
      const p = this.#cpu.stop();
      writeFileSync(f.cpu, await encodePprof(p));
      done.push(`${f.cpu} (cpu: ${p.samples.length} stacks, ${formatValue(total(p, 1), 'nanoseconds')})`);
    }
    if (this.#mem !== undefined && f.mem !== undefined) {
      const p = this.#mem.profile();
      writeFileSync(f.mem, await encodePprof(p));
      done.push(`${f.mem} (memory: ${total(p, 0)} allocations, ${formatValue(total(p, 1), 'bytes')})`);
    }
    if (this.#timeline !== undefined) {
      const t = this.#timeline.timeline();
      const calls = t.events.length / 2;
      const dropped = t.droppedCalls > 0 ? `, ${t.droppedCalls} dropped` : '';
      if (f.speedscope !== undefined) {
        writeFileSync(f.speedscope, JSON.stringify(toSpeedscope(t, this.#name)));
        done.push(`${f.speedscope} (speedscope: ${calls} calls${dropped})`);
      }
      if (f.traceEvents !== undefined) {
        writeFileSync(f.traceEvents, JSON.stringify(toTraceEvents(t, this.#name)));
        done.push(`${f.traceEvents} (trace events: ${calls} calls${dropped})`);
      }
    }
    if (this.#coverage !== undefined && f.coverage !== undefined) {
      const r = this.#coverage.report();
      const json = f.coverage.endsWith('.json');
      writeFileSync(f.coverage, json ? JSON.stringify(toIstanbul(r)) : formatLcov(r, this.#name.replace(/\W/g, '_')));
      const lines = r.files.reduce((n, x) => n + x.lines.length, 0);
      const hit = r.files.reduce((n, x) => n + x.lines.filter((l) => l.count > 0).length, 0);
      const fns = r.functions.filter((x) => x.count > 0).length;
      done.push(
        `${f.coverage} (${json ? 'istanbul' : 'lcov'}: ${hit}/${lines} lines in ${r.files.length} files, ${fns}/${r.functions.length} functions)`,
      );
    }
    return done.length === 0 ? '' : `wasmscope: wrote ${done.join(', ')}\n`;
  }
}

/** The sum of value `i` over the samples. */
function total(p: StackProfile, i: number): number {
  let t = 0;
  for (const s of p.samples) t += s.values[i] ?? 0;
  return t;
}

interface ReportOptions {
  svg: string | undefined;
  html: string | undefined;
  sampleType: string | undefined;
  title: string | undefined;
  top: number | undefined;
  path: string;
}

/** `wasmscope report`. Returns the exit code. */
export async function reportCommand(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const o: ReportOptions = { svg: undefined, html: undefined, sampleType: undefined, title: undefined, top: undefined, path: '' };
  // Flags may come before or after the profile's path (`report cpu.pprof --svg flame.svg`).
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      paths.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      paths.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = (eq < 0 ? a : a.slice(0, eq)).replace(/^--?/, '');
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    const value = (): string | undefined => inline ?? argv[++i];
    let v: string | undefined;
    switch (flag) {
      case 'h':
      case 'help':
        out(REPORT_USAGE);
        return 0;
      case 'svg':
      case 'html':
      case 'sample-type':
      case 'title':
      case 'top':
        v = value();
        if (v === undefined) {
          err(`error: flag needs an argument: ${a} (see wasmscope report --help)\n`);
          return 1;
        }
        if (flag === 'svg') o.svg = v;
        else if (flag === 'html') o.html = v;
        else if (flag === 'sample-type') o.sampleType = v;
        else if (flag === 'title') o.title = v;
        else {
          const n = Number(v);
          if (!/^\d+$/.test(v) || n < 1) {
            err(`error: invalid --top "${v}": use a positive integer (see wasmscope report --help)\n`);
            return 1;
          }
          o.top = n;
        }
        break;
      default:
        err(`error: unknown flag: ${a} (see wasmscope report --help)\n`);
        return 1;
    }
  }
  if (paths.length > 1) {
    err(`error: one profile at a time, got ${paths.length} paths (see wasmscope report --help)\n`);
    return 1;
  }
  const path = paths[0];
  if (path === undefined) {
    err('error: missing path to a pprof profile (see wasmscope report --help)\n');
    return 1;
  }
  o.path = path;
  let profile: StackProfile;
  try {
    profile = await decodePprof(readFileSync(path));
  } catch (e) {
    err(cannotRead(path, e));
    return 1;
  }
  if (o.sampleType !== undefined && !profile.sampleTypes.some((t) => t.type === o.sampleType)) {
    err(`error: no sample type "${o.sampleType}" in ${path} (it has ${profile.sampleTypes.map((t) => t.type).join(', ')})\n`);
    return 1;
  }
  const opts = { sampleType: o.sampleType, title: o.title ?? basename(path) };
  const written: string[] = [];
  if (o.svg !== undefined) {
    writeFileSync(o.svg, flameGraphSvg(profile, opts));
    written.push(o.svg);
  }
  if (o.html !== undefined) {
    writeFileSync(o.html, flameGraphHtml(profile, opts));
    written.push(o.html);
  }
  if (written.length > 0) err(`wasmscope: wrote ${written.join(', ')}\n`);
  if (o.top !== undefined || written.length === 0) out(topTable(profile, o.sampleType, o.top ?? 10));
  return 0;
}

/** The `n` functions with the largest self values, with their cumulative values (pprof's `-top`). */
export function topTable(profile: StackProfile, sampleType: string | undefined, n: number): string {
  const want = sampleType ?? profile.defaultSampleType;
  let idx = profile.sampleTypes.findIndex((t) => t.type === want);
  if (idx < 0) idx = profile.sampleTypes.length - 1;
  const unit = profile.sampleTypes[idx]?.unit ?? '';
  const self = new Map<string, number>();
  const cum = new Map<string, number>();
  let all = 0;
  for (const s of profile.samples) {
    const v = s.values[idx] ?? 0;
    all += v;
    const leaf = s.stack[0];
    if (leaf !== undefined) self.set(leaf.function, (self.get(leaf.function) ?? 0) + v);
    for (const f of new Set(s.stack.map((x) => x.function))) cum.set(f, (cum.get(f) ?? 0) + v);
  }
  const rows = [...cum.keys()].sort((a, b) => (self.get(b) ?? 0) - (self.get(a) ?? 0) || (cum.get(b) ?? 0) - (cum.get(a) ?? 0)).slice(0, n);
  const pct = (v: number): string => `${all > 0 ? ((100 * v) / all).toFixed(2) : '0.00'}%`;
  const lines = [
    `${profile.sampleTypes[idx]?.type ?? ''} (${unit}), total ${formatValue(all, unit)}`,
    '        flat  flat%        cum   cum%  function',
  ];
  for (const r of rows) {
    const f = self.get(r) ?? 0;
    const c = cum.get(r) ?? 0;
    lines.push(
      `${formatValue(f, unit).padStart(12)} ${pct(f).padStart(6)} ${formatValue(c, unit).padStart(10)} ${pct(c).padStart(6)}  ${r}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
