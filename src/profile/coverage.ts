/**
 * Coverage of a guest's source: function coverage from listeners (calls per function, both
 * engines), and line coverage from DWARF over the block counts the engines keep when asked
 * (store/coverage.ts). Written as lcov `.info` (genhtml, IDE coverage viewers) and as Istanbul's
 * `coverage-final.json` (the JSON Vitest's and nyc's reporters read).
 *
 * Which lines count, decided here once for both engines: a line is executable when DWARF
 * attributes an instruction of a function body to it (the position of the instruction, and the
 * call sites of the inlined code holding it); its count is the largest entry count among those
 * instructions within a function, summed over functions (inlined code counts at every site). An
 * instruction's count is its block's, less the entries a trap stopped before it.
 */
import type { Context } from '../runtime/api/context.js';
import type { FunctionListener, FunctionListenerFactory } from '../runtime/api/listener.js';
import type { FunctionDefinition } from '../runtime/api/module.js';
import { nextInstr } from '../runtime/binary/instr.js';
import { withBlockCoverage, type BlockCoverage, type BlockCoverageSink } from '../runtime/store/coverage.js';
import { definitionModule } from '../runtime/store/definition.js';
import { dwarfOf } from '../runtime/store/trace.js';
import { functionName, positionOf } from './symbols.js';

/**
 * Calls of one function.
 * @experimental
 */
export interface FunctionCoverage {
  /** Its name (name section, else `$<index>`). */
  readonly name: string;
  /** The name of its module ('' when anonymous). */
  readonly module: string;
  /** Its source file from DWARF ('' when unknown). */
  readonly file: string;
  /** Its first line from DWARF (0 when unknown). */
  readonly line: number;
  /** How many times it was called. */
  readonly count: number;
}

/**
 * One executable line and how many times it ran.
 * @experimental
 */
export interface LineCount {
  /** 1-based. */
  readonly line: number;
  /** How many times it ran. */
  readonly count: number;
}

/**
 * The coverage of one source file.
 * @experimental
 */
export interface FileCoverage {
  /** The file's path (DWARF's, or as `mapPath` made it). */
  readonly path: string;
  /** Executable lines, ascending. */
  readonly lines: readonly LineCount[];
  /** The functions whose first line is in this file, by line. */
  readonly functions: readonly FunctionCoverage[];
}

/**
 * A coverage report.
 * @experimental
 */
export interface CoverageReport {
  /** Files known from DWARF, by path. Empty without line coverage or without DWARF. */
  readonly files: readonly FileCoverage[];
  /** Every guest function of the covered modules (with or without DWARF). */
  readonly functions: readonly FunctionCoverage[];
}

/**
 * Options of {@link Coverage.report}.
 * @experimental
 */
export interface CoverageReportOptions {
  /**
   * Maps a DWARF file path to the path to report (e.g. a build directory to the checkout), or
   * undefined to leave the file out.
   */
  readonly mapPath?: (path: string) => string | undefined;
}

/**
 * Coverage of guest code: a function-listener factory (function coverage: give it to
 * `withFunctionListenerFactory`) that also collects line coverage of the modules compiled with
 * {@link withLineCoverage}.
 * @experimental
 */
export interface Coverage extends FunctionListenerFactory {
  /** What was covered so far. */
  report(options?: CoverageReportOptions): CoverageReport;
}

/**
 * A new coverage collector.
 * @experimental
 */
export function newCoverage(): Coverage {
  return new CoverageImpl();
}

/**
 * A context whose `compileModule` has the engine count block entries (line coverage) into
 * `coverage`. Only modules compiled with it pay for counting; both engines support it.
 * @experimental
 */
export function withLineCoverage(ctx: Context, coverage: Coverage): Context {
  if (!(coverage instanceof CoverageImpl)) throw new TypeError('withLineCoverage: use newCoverage()');
  return withBlockCoverage(ctx, coverage);
}

const noop = (): void => {};

/** Calls of one function, counted by its listener. */
interface Called {
  readonly def: FunctionDefinition;
  count: number;
}

class CoverageImpl implements Coverage, BlockCoverageSink {
  readonly #called: Called[] = [];
  readonly #modules: BlockCoverage[] = [];

  newFunctionListener(def: FunctionDefinition): FunctionListener | undefined {
    if (def.hostFunction() !== undefined || def.import() !== undefined) return undefined;
    const c: Called = { def, count: 0 };
    this.#called.push(c);
    return {
      before: () => {
        c.count++;
      },
      after: noop,
      abort: noop,
      beforeOnly: true,
    };
  }

  addModule(coverage: BlockCoverage): void {
    this.#modules.push(coverage);
  }

  report(options: CoverageReportOptions = {}): CoverageReport {
    const map = options.mapPath ?? ((p: string) => p);
    const files = new Map<string, { lines: Map<number, number>; functions: FunctionCoverage[] }>();
    const fileOf = (path: string): { lines: Map<number, number>; functions: FunctionCoverage[] } | undefined => {
      const p = map(path);
      if (p === undefined) return undefined;
      let f = files.get(p);
      if (f === undefined) files.set(p, (f = { lines: new Map(), functions: [] }));
      return f;
    };
    const functions: FunctionCoverage[] = [];
    // Function counts: from listeners, else from the entries of the function's first block.
    const counted = new Set<string>();
    const addFunction = (fc: FunctionCoverage, key: string): void => {
      if (counted.has(key)) return;
      counted.add(key);
      functions.push(fc);
      if (fc.file !== '') fileOf(fc.file)?.functions.push(fc);
    };
    const moduleIds = new Map<object, number>();
    const idOf = (m: object): number => {
      let id = moduleIds.get(m);
      if (id === undefined) moduleIds.set(m, (id = moduleIds.size));
      return id;
    };
    for (const c of this.#called) {
      const m = definitionModule(c.def);
      const body = m?.codes[c.def.index() - m.numImportedFuncs];
      const pos = m === undefined || body === undefined ? { file: '', line: 0 } : positionOf(m, body.codeStart - m.codeSectionStart);
      const key = m === undefined ? `d${this.#called.indexOf(c)}` : `${idOf(m)}:${c.def.index()}`;
      addFunction({ name: functionName(c.def), module: c.def.moduleName(), file: pos.file, line: pos.line, count: c.count }, key);
    }
    for (const cov of this.#modules) {
      cov.flush();
      const m = cov.module;
      const moduleName = m.names?.moduleName ?? '';
      for (let i = 0; i < m.codes.length; i++) {
        const fi = m.numImportedFuncs + i;
        const pos = positionOf(m, m.codes[i]!.codeStart - m.codeSectionStart);
        const name = m.names?.functionNames.get(fi) ?? m.exports.find((e) => e.kind === 0 && e.index === fi)?.name ?? `$${fi}`;
        addFunction(
          { name, module: moduleName, file: pos.file, line: pos.line, count: cov.counts[cov.funcFirst[i]!] ?? 0 },
          `${idOf(m)}:${fi}`,
        );
      }
      for (const [path, lines] of lineCounts(cov)) {
        const f = fileOf(path);
        if (f === undefined) continue;
        for (const [line, n] of lines) f.lines.set(line, (f.lines.get(line) ?? 0) + n);
      }
    }
    const out: FileCoverage[] = [...files]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([path, f]) => ({
        path,
        lines: [...f.lines].sort((a, b) => a[0] - b[0]).map(([line, count]) => ({ line, count })),
        functions: f.functions.sort((a, b) => a.line - b.line),
      }));
    return { files: out, functions };
  }
}

const scratch = new Int32Array(1);

/** Per file, per line: the count of one module's lines (see the module comment). */
function lineCounts(cov: BlockCoverage): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  const m = cov.module;
  const dwarf = dwarfOf(m);
  if (dwarf === undefined) return out;
  // Trap stops per block, ascending.
  const stops = new Map<number, number[]>();
  for (const s of cov.stops) {
    const k = cov.blockAt(s);
    if (k < 0) continue;
    let list = stops.get(k);
    if (list === undefined) stops.set(k, (list = []));
    list.push(s);
  }
  for (const list of stops.values()) list.sort((a, b) => a - b);
  const base = m.codeSectionStart;
  const fnLines = new Map<string, Map<number, number>>();
  for (let i = 0; i < m.codes.length; i++) {
    fnLines.clear();
    const body = m.codes[i]!;
    const last = cov.funcFirst[i + 1]!;
    for (let k = cov.funcFirst[i]!; k < last; k++) {
      const end = k + 1 < last ? cov.starts[k + 1]! : body.codeEnd;
      const stopped = stops.get(k);
      let s = 0;
      for (let p = cov.starts[k]!; p < end; p = nextInstr(m.bytes, p, scratch)) {
        // Entries stopped by a trap at an earlier instruction of the block did not reach this one.
        while (stopped !== undefined && s < stopped.length && stopped[s]! < p) s++;
        const count = Math.max(0, cov.counts[k]! - s);
        for (const l of dwarf.linesFor(p - base)) {
          if (l.line === 0) continue;
          let lines = fnLines.get(l.file);
          if (lines === undefined) fnLines.set(l.file, (lines = new Map()));
          const prev = lines.get(l.line);
          if (prev === undefined || count > prev) lines.set(l.line, count);
        }
      }
    }
    for (const [file, lines] of fnLines) {
      let total = out.get(file);
      if (total === undefined) out.set(file, (total = new Map()));
      for (const [line, n] of lines) total.set(line, (total.get(line) ?? 0) + n);
    }
  }
  return out;
}

/**
 * `report` as an lcov tracefile (`.info`): `SF`, `FN`/`FNDA`/`FNF`/`FNH`, `DA`, `LF`/`LH`,
 * `end_of_record` per file. Loads in genhtml and IDE coverage viewers.
 * @param testName - the `TN:` line.
 * @experimental
 */
export function formatLcov(report: CoverageReport, testName = ''): string {
  const out: string[] = [];
  for (const f of report.files) {
    out.push(`TN:${testName}`, `SF:${f.path}`);
    const seen = new Set<string>();
    let found = 0;
    let hit = 0;
    for (const fn of f.functions) {
      // lcov names functions by name within a file.
      if (seen.has(fn.name)) continue;
      seen.add(fn.name);
      out.push(`FN:${fn.line},${fn.name}`);
    }
    seen.clear();
    for (const fn of f.functions) {
      if (seen.has(fn.name)) continue;
      seen.add(fn.name);
      out.push(`FNDA:${fn.count},${fn.name}`);
      found++;
      if (fn.count > 0) hit++;
    }
    out.push(`FNF:${found}`, `FNH:${hit}`);
    for (const l of f.lines) out.push(`DA:${l.line},${l.count}`);
    out.push(`LF:${f.lines.length}`, `LH:${f.lines.filter((l) => l.count > 0).length}`, 'end_of_record');
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/**
 * A position in an Istanbul file coverage.
 * @experimental
 */
export interface IstanbulPosition {
  /** 1-based. */
  readonly line: number;
  /** 0-based. */
  readonly column: number;
}

/**
 * A range in an Istanbul file coverage.
 * @experimental
 */
export interface IstanbulRange {
  /** The first position. */
  readonly start: IstanbulPosition;
  /** The last position. */
  readonly end: IstanbulPosition;
}

/**
 * One file of Istanbul's `coverage-final.json`: each executable line is a statement.
 * @experimental
 */
export interface IstanbulFileCoverage {
  /** The file's path (the key of this entry too). */
  readonly path: string;
  /** One statement per executable line, by statement id. */
  readonly statementMap: Readonly<Record<string, IstanbulRange>>;
  /** One entry per function, by function id. */
  readonly fnMap: Readonly<
    Record<
      string,
      {
        /** The function's name. */
        readonly name: string;
        /** Where it is declared. */
        readonly decl: IstanbulRange;
        /** Where its body is. */
        readonly loc: IstanbulRange;
        /** Its first line. */
        readonly line: number;
      }
    >
  >;
  /** No branches (DWARF has none to name). */
  readonly branchMap: Readonly<Record<string, never>>;
  /** Counts per statement id. */
  readonly s: Readonly<Record<string, number>>;
  /** Counts per function id. */
  readonly f: Readonly<Record<string, number>>;
  /** No branch counts. */
  readonly b: Readonly<Record<string, never>>;
}

/** A whole line (Istanbul's reporters clamp the end column to the line's length). */
const wholeLine = (line: number): IstanbulRange => ({ start: { line, column: 0 }, end: { line, column: Number.MAX_SAFE_INTEGER } });

/**
 * `report` as Istanbul's `coverage-final.json` (write it with `JSON.stringify`), for the reporters
 * of Vitest's istanbul provider and nyc (`nyc report`, `istanbul-lib-coverage` merges).
 * @experimental
 */
export function toIstanbul(report: CoverageReport): Record<string, IstanbulFileCoverage> {
  const out: Record<string, IstanbulFileCoverage> = {};
  for (const f of report.files) {
    const statementMap: Record<string, IstanbulRange> = {};
    const s: Record<string, number> = {};
    f.lines.forEach((l, i) => {
      statementMap[String(i)] = wholeLine(l.line);
      s[String(i)] = l.count;
    });
    const fnMap: Record<string, { name: string; decl: IstanbulRange; loc: IstanbulRange; line: number }> = {};
    const fc: Record<string, number> = {};
    f.functions.forEach((fn, i) => {
      fnMap[String(i)] = { name: fn.name, decl: wholeLine(fn.line), loc: wholeLine(fn.line), line: fn.line };
      fc[String(i)] = fn.count;
    });
    out[f.path] = { path: f.path, statementMap, fnMap, branchMap: {}, s, f: fc, b: {} };
  }
  return out;
}
