/**
 * The WebAssembly core spec tests, one test per run of a suite (spectest/runner.ts):
 * - both engines, plainly, on every suite;
 * - the compiler with every function listened and interrupt checks on, on every suite;
 * - the interpreter likewise on v1, tail-call and the 3.0 suites (v2 and threads pass too but cost minutes:
 *   `npx tsx spectest/run.ts --engine interpreter --listen-all --interrupts --suite v2`).
 * The compiler engine runs a 3.0 suite only where the running V8 compiles its feature (Node 24; on
 * Node 20 only exceptions-legacy): the skipped runs say why.
 * A run fails when a command fails that known-failures.json does not list (listed commands that now
 * pass are printed so the list can shrink), and a listened run also when the listener's calls do not
 * nest (each after/abort closing the innermost open before) or do not balance.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ENGINES,
  HOW_TO_GET_SUITE,
  SUITES,
  V3_SUITES,
  defaultSpecTestDir,
  describeFailure,
  engineUnavailableReason,
  kindLines,
  listenerLine,
  loadKnownFailures,
  modeLabel,
  runSuite,
  specTestDirPresent,
  suiteFiles,
  suiteUnavailableReason,
  summaryLine,
  type RunOptions,
  type SuiteName,
} from './runner.js';

const dir = defaultSpecTestDir();
const present = specTestDirPresent(dir);
const known = loadKnownFailures(join(dirname(fileURLToPath(import.meta.url)), 'known-failures.json'));
const MAX_LISTED = 40;
const SUITE_TIMEOUT_MS = 300_000;

const HOOKED = { listenAll: true, interrupts: true } as const;
const RUNS: ReadonlyArray<RunOptions & { readonly suite: SuiteName }> = [
  ...ENGINES.flatMap((engine) => SUITES.map((suite) => ({ engine, suite }))),
  ...SUITES.map((suite) => ({ engine: 'compiler' as const, suite, ...HOOKED })),
  ...(['v1', 'tail-call', ...V3_SUITES] as const).map((suite) => ({ engine: 'interpreter' as const, suite, ...HOOKED })),
];

if (!present) {
  describe('spec tests', () => {
    it.skip(`skipped: spec tests not found in ${dir}; to get them, ${HOW_TO_GET_SUITE}`, () => undefined);
  });
} else {
  const unavailable = new Map(await Promise.all(ENGINES.map(async (e) => [e, await engineUnavailableReason(e, dir)] as const)));
  const suiteUnavailable = new Map<string, string | undefined>();
  for (const r of RUNS) suiteUnavailable.set(`${r.engine}/${r.suite}`, await suiteUnavailableReason(r.engine, r.suite));
  for (const [key, why] of suiteUnavailable) if (why !== undefined) console.log(`spectest ${key.replace('/', ' ')}: skipped (${why})`);
  for (const engine of ENGINES) {
    describe(`spec tests on the ${engine}`, () => {
      for (const { suite, ...opts } of RUNS.filter((r) => r.engine === engine)) {
        const why = unavailable.get(engine) ?? suiteUnavailable.get(`${engine}/${suite}`);
        const run = why === undefined && suiteFiles(dir, suite).length > 0 ? it : it.skip;
        const hooked =
          opts.listenAll === true ? ' with every function listened and interrupt checks on; listener calls nest and balance' : '';
        run(
          `passes every ${suite} command not listed in known-failures.json${hooked}${why !== undefined ? ` (skipped: ${why})` : ''}`,
          async () => {
            const report = await runSuite(suite, { ...opts, dir });
            const listener = listenerLine(report);
            console.log([summaryLine(report), ...kindLines(report), ...(listener !== undefined ? [listener] : [])].join('\n'));

            const unexpected = report.outcomes.filter((o) => o.status === 'failed' && !(o.key in known));
            const prefix = `${engine}/${suite}/`;
            const seen = new Set(report.outcomes.map((o) => o.key));
            const nowPassing = report.outcomes.filter((o) => o.status === 'passed' && o.key in known).map((o) => o.key);
            const stale = Object.keys(known).filter((k) => k.startsWith(prefix) && !seen.has(k));
            if (nowPassing.length > 0) {
              console.log(`known failures that now pass (remove them from known-failures.json):\n  ${nowPassing.join('\n  ')}`);
            }
            if (stale.length > 0) console.log(`known failures matching no command:\n  ${stale.join('\n  ')}`);

            const flags = `${opts.listenAll === true ? ' --listen-all' : ''}${opts.interrupts === true ? ' --interrupts' : ''}`;
            const listed = unexpected.slice(0, MAX_LISTED).map(describeFailure);
            if (unexpected.length > MAX_LISTED)
              listed.push(
                `… and ${unexpected.length - MAX_LISTED} more (npx tsx spectest/run.ts --engine ${engine} --suite ${suite}${flags})`,
              );
            expect(listed, `${unexpected.length} unexpected failure(s)${modeLabel(opts)}`).toEqual([]);

            if (report.listening !== undefined) {
              expect(report.listening.misnested).toEqual([]);
              expect(report.listening.ends).toBe(report.listening.befores);
              // The 3.0 suites are small: relaxed-simd makes 69 calls.
              expect(report.listening.befores).toBeGreaterThan(50);
            }
          },
          SUITE_TIMEOUT_MS,
        );
      }
    });
  }
}
