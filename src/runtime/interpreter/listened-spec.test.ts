/**
 * The spec suites on the interpreter with EVERY function listened (and, through the runner's
 * per-file deadline, interrupt checks in every loop): instrumentation must not change a single
 * result, and the listener calls must nest (each after/abort closes the innermost open before).
 * v2 and threads pass too (WASMSCOPE_LISTENED_SUITES=v2,threads); left out by default for time.
 */
import { describe, expect, it } from 'vitest';
import { defaultSpecTestDir, runSuite, specTestDirPresent, suiteFiles, type SuiteName } from '../../../spectest/runner.js';
import { Context } from '../api/context.js';
import { functionListenerFactoryFunc, withFunctionListenerFactory, type FunctionListener } from '../api/listener.js';
import type { FunctionDefinition } from '../api/module.js';

const dir = defaultSpecTestDir();
const SUITES: SuiteName[] = (process.env['WASMSCOPE_LISTENED_SUITES']?.split(',') as SuiteName[] | undefined) ?? ['v1', 'tail-call'];

describe.skipIf(!specTestDirPresent(dir))('spec suites on the interpreter with every function listened', () => {
  for (const suite of SUITES) {
    it.skipIf(suiteFiles(dir, suite).length === 0)(
      `${suite}: same results, balanced and nested listener calls`,
      async () => {
        const open: FunctionDefinition[] = [];
        let befores = 0;
        let ends = 0;
        const misnested: string[] = [];
        const close = (def: FunctionDefinition): void => {
          ends++;
          const top = open.pop();
          if (top !== def && misnested.length < 5)
            misnested.push(`${def.debugName()} closed while ${top?.debugName() ?? 'nothing'} was innermost`);
        };
        const listener: FunctionListener = {
          before(_ctx, _mod, def) {
            befores++;
            open.push(def);
          },
          after: (_ctx, _mod, def) => close(def),
          abort: (_ctx, _mod, def) => close(def),
        };
        const context = withFunctionListenerFactory(
          Context.background(),
          functionListenerFactoryFunc(() => listener),
        );
        const report = await runSuite('interpreter', suite, { dir, context });
        const failed = report.outcomes.filter((o) => o.status === 'failed').map((o) => `${o.key}: ${o.message ?? ''}`);
        expect(failed.slice(0, 10)).toEqual([]);
        expect(report.total.passed).toBeGreaterThan(100);
        expect(misnested).toEqual([]);
        expect(open.length).toBe(0);
        expect(ends).toBe(befores);
        expect(befores).toBeGreaterThan(100);
      },
      300_000,
    );
  }
});
