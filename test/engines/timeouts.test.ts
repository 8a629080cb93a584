/**
 * Timeouts (issue 5 item 4), one table of cases run on every engine: with
 * `withCloseOnContextDone(true)`, a call whose context is done stops with an ExitError, the called
 * module is closed and the runtime stays usable.
 *
 * A synchronous call blocks the event loop, so no timer or signal listener can run during it: a
 * context timeout is a deadline the engine compares with the clock, and a signal counts only if it
 * was aborted before (or by a host function during) the call.
 */
import { describe, expect, it } from 'vitest';
import { Context, ExitError, newModuleConfig } from '../../src/index.js';
import type { Module } from '../../src/api.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const INFINITE = `(module
  (func (export "spin") (loop $l (br $l)))
  (func (export "count") (param i32) (result i32) (local i32)
    (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1)))`;

interface Case {
  readonly name: string;
  readonly closeOnContextDone: boolean;
  readonly run: (m: Module, ctx: () => Context) => void;
}

const cases: Case[] = [
  {
    name: 'an infinite loop past its deadline ends with "context deadline exceeded" and closes the module',
    closeOnContextDone: true,
    run(m) {
      const ctx = Context.background().withTimeout(50);
      let err: unknown;
      try {
        m.exportedFunction('spin')!.callWithContext(ctx);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ExitError);
      expect((err as ExitError).exitCode).toBe(0xefffffff);
      expect((err as ExitError).message).toBe('module closed with context deadline exceeded');
      expect(m.isClosed()).toBe(true);
    },
  },
  {
    name: 'an infinite loop with an aborted signal ends with "context canceled" and closes the module',
    closeOnContextDone: true,
    run(m) {
      const ac = new AbortController();
      ac.abort();
      const ctx = Context.background().withSignal(ac.signal);
      let err: unknown;
      try {
        m.exportedFunction('spin')!.callWithContext(ctx);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ExitError);
      expect((err as ExitError).exitCode).toBe(0xffffffff);
      expect((err as ExitError).message).toBe('module closed with context canceled');
      expect(m.isClosed()).toBe(true);
    },
  },
  {
    name: 'a loop that ends before its deadline returns normally',
    closeOnContextDone: true,
    run(m) {
      const ctx = Context.background().withTimeout(60_000);
      expect(m.exportedFunction('count')!.callWithContext(ctx, 1_000_000)).toEqual([1_000_000n]);
      expect(m.isClosed()).toBe(false);
    },
  },
  {
    name: 'without withCloseOnContextDone a done context does not stop the call',
    closeOnContextDone: false,
    run(m) {
      const ac = new AbortController();
      ac.abort();
      const ctx = Context.background().withSignal(ac.signal);
      expect(m.exportedFunction('count')!.callWithContext(ctx, 300_000)).toEqual([300_000n]);
      expect(m.isClosed()).toBe(false);
    },
  },
];

/**
 * Engines whose guests can be interrupted. An engine without interrupt checks would spin forever
 * in these cases (and hang the suite), so it joins only once it implements them.
 */
const INTERRUPTIBLE = new Set<string>(['interpreter']);

for (const engine of engines) {
  describe(`timeouts on the ${engine.name}`, () => {
    for (const c of cases) {
      it.skipIf(!INTERRUPTIBLE.has(engine.name))(c.name, async () => {
        const r = runtimeFor(engine, (cfg) => cfg.withCloseOnContextDone(c.closeOnContextDone));
        try {
          const m = await r.instantiateWithConfig(await wat(INFINITE), newModuleConfig().withName('guest'));
          c.run(m, () => Context.background());
          // The runtime stays usable: a new instance of the same module runs.
          const again = await r.instantiateWithConfig(await wat(INFINITE), newModuleConfig().withName('again'));
          expect(again.exportedFunction('count')!.call(10)).toEqual([10n]);
        } finally {
          await r.close();
        }
      }, 20_000);
    }
  });
}
