/**
 * `multiFunctionListenerFactory` fan-outs keep the listener protocol per member, on every engine:
 * exactly one `after` or `abort` follows each member's `before` that returned, whatever another
 * member throws. Semantics fixed here:
 * - a member whose `before` throws: the members before it (their `before` returned) get `abort`
 *   with its error, last first; the members after it never see the call; the call fails with it
 *   and the frames around it abort;
 * - a member whose `after` throws: every other member still gets its `after`; the call fails with
 *   the first error;
 * - a member whose `abort` throws: every other member still gets its `abort`; the call's error stays.
 */
import { describe, expect, it } from 'vitest';
import { Context, newModuleConfig } from '../../src/index.js';
import {
  functionListenerFactoryFunc,
  multiFunctionListenerFactory,
  withFunctionListenerFactory,
  type FunctionListener,
} from '../../src/experimental.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const GUEST = `(module $m
  (func $outer (export "outer") (result i32) (call $inner))
  (func $inner (result i32) (i32.const 7))
  (func $trap (export "trap") (call $dead))
  (func $dead unreachable))`;

/** A member that logs as `tag` and throws `<tag> <when> failed` in `when` for function `name`. */
function member(log: string[], tag: string, when?: 'before' | 'after' | 'abort', name?: string): FunctionListener {
  const fail = (w: string, fn: string): void => {
    if (w === when && fn === name) throw new Error(`${tag} ${w} failed`);
  };
  return {
    before: (_c, _m, d) => {
      log.push(`${tag} B ${d.name()}`);
      fail('before', d.name());
    },
    after: (_c, _m, d) => {
      log.push(`${tag} A ${d.name()}`);
      fail('after', d.name());
    },
    abort: (_c, _m, d, err) => {
      log.push(`${tag} X ${d.name()}: ${(err as Error).message.split('\n')[0]}`);
      fail('abort', d.name());
    },
  };
}

interface Case {
  readonly name: string;
  readonly members: (log: string[]) => FunctionListener[];
  readonly call: string;
  readonly error: string | RegExp;
  readonly expected: readonly string[];
}

const cases: Case[] = [
  {
    name: 'a before that throws: the members before it abort, the ones after it never see the call',
    members: (log) => [member(log, 'a'), member(log, 'b', 'before', 'inner'), member(log, 'c')],
    call: 'outer',
    error: 'b before failed',
    expected: [
      'a B outer',
      'b B outer',
      'c B outer',
      'a B inner',
      'b B inner',
      'a X inner: b before failed',
      'a X outer: b before failed',
      'b X outer: b before failed',
      'c X outer: b before failed',
    ],
  },
  {
    name: 'an after that throws: every other member still gets its after; the call fails with the error',
    members: (log) => [member(log, 'a', 'after', 'inner'), member(log, 'b')],
    call: 'outer',
    error: 'a after failed',
    expected: [
      'a B outer',
      'b B outer',
      'a B inner',
      'b B inner',
      'a A inner',
      'b A inner',
      'a X outer: a after failed',
      'b X outer: a after failed',
    ],
  },
  {
    name: 'an abort that throws: every other member still gets its abort; the trap stays the error',
    members: (log) => [member(log, 'a', 'abort', 'dead'), member(log, 'b')],
    call: 'trap',
    error: /^wasm error: unreachable/,
    expected: [
      'a B trap',
      'b B trap',
      'a B dead',
      'b B dead',
      'a X dead: wasm error: unreachable',
      'b X dead: wasm error: unreachable',
      'a X trap: wasm error: unreachable',
      'b X trap: wasm error: unreachable',
    ],
  },
];

describe.each(engines)('multiFunctionListenerFactory protocol ($name)', (engine) => {
  it.each(cases)('$name', async (c) => {
    const r = runtimeFor(engine);
    try {
      const log: string[] = [];
      const factories = c.members(log).map((l) => functionListenerFactoryFunc(() => l));
      const ctx = withFunctionListenerFactory(Context.background(), multiFunctionListenerFactory(...factories));
      const m = await r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('m'), ctx);
      expect(() => m.exportedFunction(c.call)!.call()).toThrow(c.error);
      expect(log).toEqual(c.expected);
    } finally {
      await r.close();
    }
  });
});
