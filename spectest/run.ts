/**
 * Command-line spec-test runner for debugging:
 *
 *   npx tsx spectest/run.ts [--engine interpreter|compiler] [--suite v2] [--file i32.json]... [--listen-all]
 *                           [--interrupts] [--budget ms] [-v] [--known] [--slow n]
 *
 * Prints a summary line per engine × suite and every failure (command line, expected, got). `--listen-all`
 * listens every function with the nesting-checking listener (its findings are printed and count as a
 * failure); `--interrupts` runs with `withCloseOnContextDone(true)` and a per-file deadline (`--budget`,
 * default 120000 ms; `--budget` implies `--interrupts`). `-v` also prints the per-kind counts and the
 * slowest files; `--known` hides failures listed in known-failures.json.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import {
  ENGINES,
  SUITES,
  defaultSpecTestDir,
  describeFailure,
  engineUnavailableReason,
  kindLines,
  listenerLine,
  loadKnownFailures,
  runSuite,
  specTestDirPresent,
  suiteUnavailableReason,
  summaryLine,
  HOW_TO_GET_SUITE,
} from './runner.js';
import type { EngineName, SuiteName } from './runner.js';

interface Args {
  engines: EngineName[];
  suites: SuiteName[];
  files: string[];
  verbose: boolean;
  hideKnown: boolean;
  listenAll: boolean;
  interrupts: boolean;
  budgetMs: number | undefined;
  slow: number;
}

function usage(): never {
  console.error(
    'usage: npx tsx spectest/run.ts [--engine interpreter|compiler] [--suite v1|v2|threads|tail-call|exceptions|' +
      'exceptions-legacy|extended-const|memory64|multi-memory|relaxed-simd] ' +
      '[--file name.json]... [--listen-all] [--interrupts] [--budget ms] [-v] [--known] [--slow n]',
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    engines: [],
    suites: [],
    files: [],
    verbose: false,
    hideKnown: false,
    listenAll: false,
    interrupts: false,
    budgetMs: undefined,
    slow: 5,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => argv[++i] ?? usage();
    switch (arg) {
      case '--engine': {
        const e = value();
        if (!ENGINES.includes(e as EngineName)) usage();
        a.engines.push(e as EngineName);
        break;
      }
      case '--suite': {
        const s = value();
        if (!SUITES.includes(s as SuiteName)) usage();
        a.suites.push(s as SuiteName);
        break;
      }
      case '--file':
        a.files.push(value());
        break;
      case '-v':
      case '--verbose':
        a.verbose = true;
        break;
      case '--known':
        a.hideKnown = true;
        break;
      case '--listen-all':
        a.listenAll = true;
        break;
      case '--interrupts':
        a.interrupts = true;
        break;
      case '--budget':
        a.budgetMs = Number(value());
        a.interrupts = true;
        break;
      case '--slow':
        a.slow = Number(value());
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage();
    }
  }
  return a;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const dir = defaultSpecTestDir();
  if (!specTestDirPresent(dir)) {
    console.error(`spec tests not found in ${dir}: ${HOW_TO_GET_SUITE}`);
    return 2;
  }
  const known = loadKnownFailures(join(dirname(fileURLToPath(import.meta.url)), 'known-failures.json'));
  const engines = args.engines.length > 0 ? args.engines : ['interpreter' as const];
  const suites = args.suites.length > 0 ? args.suites : SUITES;
  let failed = 0;
  for (const engine of engines) {
    const why = await engineUnavailableReason(engine, dir);
    if (why !== undefined) {
      console.log(`spectest ${engine}: skipped (${why})`);
      continue;
    }
    for (const suite of suites) {
      const skip = await suiteUnavailableReason(engine, suite);
      if (skip !== undefined) {
        console.log(`spectest ${engine} ${suite}: skipped (${skip})`);
        continue;
      }
      const report = await runSuite(suite, {
        engine,
        listenAll: args.listenAll,
        interrupts: args.interrupts,
        dir,
        ...(args.files.length > 0 ? { files: args.files } : {}),
        ...(args.budgetMs !== undefined ? { fileBudgetMs: args.budgetMs } : {}),
      });
      for (const o of report.outcomes) {
        if (o.status !== 'failed' || (args.hideKnown && o.key in known)) continue;
        failed++;
        console.log(describeFailure(o));
      }
      console.log(`${summaryLine(report)} (${(report.durationMs / 1000).toFixed(1)}s)`);
      const listener = listenerLine(report);
      if (listener !== undefined) console.log(listener);
      for (const m of report.listening?.misnested ?? []) console.log(`  misnested: ${m}`);
      const l = report.listening;
      if (l !== undefined && (l.misnested.length > 0 || l.ends !== l.befores)) failed++;
      if (args.verbose) {
        for (const l of kindLines(report)) console.log(l);
        const slowest = [...report.fileTimes.entries()].sort((x, y) => y[1] - x[1]).slice(0, args.slow);
        console.log(`  slowest: ${slowest.map(([f, ms]) => `${f} ${ms.toFixed(0)}ms`).join(', ')}`);
      }
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
