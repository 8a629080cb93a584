/**
 * The WebAssembly core spec tests on every available engine: one test per engine × suite. A test fails when
 * a command fails that known-failures.json does not list; listed commands that now pass are printed so the
 * list can shrink.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ENGINES,
  HOW_TO_GET_SUITE,
  SUITES,
  defaultSpecTestDir,
  describeFailure,
  engineUnavailableReason,
  kindLines,
  loadKnownFailures,
  runSuite,
  specTestDirPresent,
  suiteFiles,
  summaryLine,
} from './runner.js';

const dir = defaultSpecTestDir();
const present = specTestDirPresent(dir);
const known = loadKnownFailures(join(dirname(fileURLToPath(import.meta.url)), 'known-failures.json'));
const MAX_LISTED = 40;
const SUITE_TIMEOUT_MS = 300_000;

if (!present) {
  describe('spec tests', () => {
    it.skip(`skipped: spec tests not found in ${dir}; to get them, ${HOW_TO_GET_SUITE}`, () => undefined);
  });
} else {
  for (const engine of ENGINES) {
    const unavailable = await engineUnavailableReason(engine, dir);
    describe(`spec tests on the ${engine}`, () => {
      for (const suite of SUITES) {
        const run = unavailable === undefined && suiteFiles(dir, suite).length > 0 ? it : it.skip;
        const note = unavailable !== undefined ? ` (skipped: ${unavailable})` : '';
        run(
          `passes every ${suite} command not listed in known-failures.json${note}`,
          async () => {
            const report = await runSuite(engine, suite, { dir });
            console.log([summaryLine(report), ...kindLines(report)].join('\n'));

            const unexpected = report.outcomes.filter((o) => o.status === 'failed' && !(o.key in known));
            const prefix = `${engine}/${suite}/`;
            const seen = new Set(report.outcomes.map((o) => o.key));
            const nowPassing = report.outcomes.filter((o) => o.status === 'passed' && o.key in known).map((o) => o.key);
            const stale = Object.keys(known).filter((k) => k.startsWith(prefix) && !seen.has(k));
            if (nowPassing.length > 0) {
              console.log(`known failures that now pass (remove them from known-failures.json):\n  ${nowPassing.join('\n  ')}`);
            }
            if (stale.length > 0) console.log(`known failures matching no command:\n  ${stale.join('\n  ')}`);

            const listed = unexpected.slice(0, MAX_LISTED).map(describeFailure);
            if (unexpected.length > MAX_LISTED)
              listed.push(`… and ${unexpected.length - MAX_LISTED} more (npx tsx spectest/run.ts --engine ${engine} --suite ${suite})`);
            expect(listed, `${unexpected.length} unexpected failure(s)`).toEqual([]);
          },
          SUITE_TIMEOUT_MS,
        );
      }
    });
  }
}
