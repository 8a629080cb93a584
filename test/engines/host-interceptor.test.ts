/**
 * Host function interception (`FunctionListenerFactory.interceptHostFunction`): ONE table of cases,
 * run on every engine. Semantics fixed here:
 * - a host module compiled with a factory that has the member gets each function wrapped once, at
 *   compile time; every call (from a guest or from the API) goes through the wrapper, after the
 *   function's `before` and before its `after`/`abort`;
 * - the wrapper sees the raw stack (params in, results out) and may run the function inside
 *   anything (a context, a try block); what it throws is the host function's error;
 * - returning `undefined` leaves the function as it is; host modules compiled without the factory
 *   are never wrapped (whatever the guest was compiled with);
 * - under `multiFunctionListenerFactory`, the first factory's wrapper is the outermost.
 */
import { describe, expect, it } from 'vitest';
import { Context, newModuleConfig, type Runtime } from '../../src/index.js';
import type { Module } from '../../src/api.js';
import {
  multiFunctionListenerFactory,
  withFunctionListenerFactory,
  type FunctionListenerFactory,
  type HostFunctionCall,
} from '../../src/experimental.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const I32 = 0x7f;
const I64 = 0x7e;

const GUEST = `(module
  (import "env" "inc" (func $inc (param i32) (result i32)))
  (import "env" "raw" (func $raw (param i64) (result i64)))
  (import "env" "back" (func $back (param i32) (result i32)))
  (func (export "inc") (param i32) (result i32) (call $inc (local.get 0)))
  (func (export "raw") (param i64) (result i64) (call $raw (local.get 0)))
  (func (export "back") (param i32) (result i32) (call $back (local.get 0)))
  (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))`;

/** A factory that logs listener events and wraps host functions as `wrap` says. */
function factory(
  log: string[],
  tag: string,
  wrap: (name: string, fn: HostFunctionCall) => HostFunctionCall | undefined,
): FunctionListenerFactory {
  return {
    newFunctionListener(def) {
      if (def.hostFunction() === undefined) return undefined;
      return {
        before: (_c, _m, d, params) => void log.push(`${tag} before ${d.name()}(${[...params].join(',')})`),
        after: (_c, _m, d, results) => void log.push(`${tag} after ${d.name()} -> ${[...results].join(',')}`),
        abort: (_c, _m, d, err) => void log.push(`${tag} abort ${d.name()}: ${(err as Error).message}`),
      };
    },
    interceptHostFunction: (def, fn) => wrap(def.name(), fn),
  };
}

interface Env {
  readonly r: Runtime;
  readonly log: string[];
  /** Instantiates host module `env` with `hostCtx` and GUEST as `m` (compiled without listeners). */
  readonly setup: (hostCtx: Context | undefined) => Promise<Module>;
}

interface Case {
  readonly name: string;
  readonly run: (env: Env) => Promise<void>;
  readonly expected: readonly string[];
}

const cases: Case[] = [
  {
    name: 'every call goes through the wrapper, between before and after, for natural and raw functions',
    async run({ log, setup }) {
      const f = factory(log, 'L', (name, fn) => (ctx, mod, stack) => {
        log.push(`wrap ${name} in(${stack[0]}) caller=${mod.name()}`);
        fn(ctx, mod, stack);
        log.push(`wrap ${name} out(${stack[0]})`);
      });
      const m = await setup(withFunctionListenerFactory(Context.background(), f));
      expect(m.exportedFunction('inc')!.call(41)).toEqual([42n]);
      expect(m.exportedFunction('raw')!.call(7n)).toEqual([14n]);
    },
    expected: [
      'L before inc(41)',
      'wrap inc in(41) caller=m',
      'host inc 41',
      'wrap inc out(42)',
      'L after inc -> 42',
      'L before raw(7)',
      'wrap raw in(7) caller=m',
      'wrap raw out(14)',
      'L after raw -> 14',
    ],
  },
  {
    name: 'the wrapper can change params and results on the raw stack',
    async run({ setup }) {
      const f = factory([], 'L', (_name, fn) => (ctx, mod, stack) => {
        stack[0] = stack[0]! + 100n;
        fn(ctx, mod, stack);
        stack[0] = stack[0]! * 10n;
      });
      const m = await setup(withFunctionListenerFactory(Context.background(), f));
      expect(m.exportedFunction('inc')!.call(1)).toEqual([1020n]);
    },
    expected: ['host inc 101'],
  },
  {
    name: "what the wrapper throws is the host function's error (abort follows)",
    async run({ log, setup }) {
      const f = factory(log, 'L', (name, fn) =>
        name === 'inc'
          ? () => {
              throw new Error('refused');
            }
          : fn,
      );
      const m = await setup(withFunctionListenerFactory(Context.background(), f));
      expect(() => m.exportedFunction('inc')!.call(1)).toThrow('refused');
      expect(m.exportedFunction('raw')!.call(2n)).toEqual([4n]);
    },
    expected: [
      'L before inc(1)',
      'L abort inc: refused\nwasm stack trace:\n\tenv.inc(i32) i32\n\t.$3(i32) i32',
      'L before raw(2)',
      'L after raw -> 4',
    ],
  },
  {
    name: 'returning undefined leaves the function as it is',
    async run({ setup }) {
      const f = factory([], 'L', () => undefined);
      const m = await setup(withFunctionListenerFactory(Context.background(), f));
      expect(m.exportedFunction('inc')!.call(1)).toEqual([2n]);
    },
    expected: ['host inc 1'],
  },
  {
    name: 'a host module compiled without the factory is not wrapped, even when the guest is listened',
    async run({ r, log, setup }) {
      const f = factory(log, 'L', (name) => () => void log.push(`wrapped ${name}`));
      const m = await setup(undefined);
      const listened = await r.instantiateWithConfig(
        await wat(GUEST),
        newModuleConfig().withName('m2'),
        withFunctionListenerFactory(Context.background(), f),
      );
      expect(m.exportedFunction('inc')!.call(1)).toEqual([2n]);
      expect(listened.exportedFunction('inc')!.call(2)).toEqual([3n]);
    },
    expected: ['host inc 1', 'host inc 2'],
  },
  {
    name: 'calls from the API go through the wrapper too',
    async run({ r, log, setup }) {
      const f = factory(log, 'L', (name, fn) => (ctx, mod, stack) => {
        log.push(`wrap ${name} caller=${mod.name()}`);
        fn(ctx, mod, stack);
      });
      await setup(withFunctionListenerFactory(Context.background(), f));
      expect(r.module('env')!.exportedFunction('inc')!.call(5)).toEqual([6n]);
    },
    expected: ['L before inc(5)', 'wrap inc caller=env', 'host inc 5', 'L after inc -> 6'],
  },
  {
    name: 'multiFunctionListenerFactory: the first factory wraps outermost; both listeners fire',
    async run({ log, setup }) {
      const wrapAs =
        (tag: string) =>
        (name: string, fn: HostFunctionCall): HostFunctionCall =>
        (ctx, mod, stack) => {
          log.push(`${tag}{ ${name}`);
          fn(ctx, mod, stack);
          log.push(`${tag}} ${name}`);
        };
      const multi = multiFunctionListenerFactory(factory(log, 'A', wrapAs('A')), factory(log, 'B', wrapAs('B')), {
        newFunctionListener: () => undefined,
      });
      const m = await setup(withFunctionListenerFactory(Context.background(), multi));
      m.exportedFunction('inc')!.call(1);
    },
    expected: [
      'A before inc(1)',
      'B before inc(1)',
      'A{ inc',
      'B{ inc',
      'host inc 1',
      'B} inc',
      'A} inc',
      'A after inc -> 2',
      'B after inc -> 2',
    ],
  },
  {
    name: 'a wrapped host function may re-enter the guest',
    async run({ log, setup }) {
      const f = factory(log, 'L', (name, fn) => (ctx, mod, stack) => {
        log.push(`wrap ${name}`);
        fn(ctx, mod, stack);
      });
      const m = await setup(withFunctionListenerFactory(Context.background(), f));
      expect(m.exportedFunction('back')!.call(4)).toEqual([9n]);
    },
    expected: ['L before back(4)', 'wrap back', 'L after back -> 9'],
  },
];

describe.each(engines)('host function interception ($name)', (engine) => {
  it.each(cases)('$name', async (c) => {
    const r = runtimeFor(engine);
    const log: string[] = [];
    const env: Env = {
      r,
      log,
      async setup(hostCtx) {
        await r
          .newHostModuleBuilder('env')
          .newFunctionBuilder()
          .withFunc(
            (_c, _m, x: number) => {
              log.push(`host inc ${x}`);
              return x + 1;
            },
            [I32],
            [I32],
          )
          .export('inc')
          .newFunctionBuilder()
          .withModuleFunction(
            (_c, _m, stack) => {
              stack[0] = stack[0]! * 2n;
            },
            [I64],
            [I64],
          )
          .export('raw')
          .newFunctionBuilder()
          .withFunc((_c, mod: Module, x: number) => Number(mod.exportedFunction('double')!.call(x)[0]) + 1, [I32], [I32])
          .export('back')
          .instantiate(hostCtx);
        return r.instantiateWithConfig(await wat(GUEST), newModuleConfig().withName('m'), Context.background());
      },
    };
    try {
      await c.run(env);
      expect(log).toEqual(c.expected);
    } finally {
      await r.close();
    }
  });
});
