/**
 * Batched function events (`withFunctionEventSink`): ONE table of cases, run on every engine, so
 * that both engines write the same records in the same order.
 *
 * Each case logs the records it gets as `<module>.<function> <kind>` lines (kinds E enter, X exit,
 * T left by a tail call, A abort), and a `|` line where a batch ends; counters are checked to
 * increase by exactly one per record over the whole run.
 */
import { describe, expect, it } from 'vitest';
import {
  CoreFeaturesTailCall,
  CoreFeaturesV3,
  functionListenerFactoryFunc,
  withFunctionEventSink,
  withFunctionListenerFactory,
  type FunctionEventBatch,
  type FunctionEventSink,
} from '../../src/experimental.js';
import { Context, ExitError, newModuleConfig, newRuntimeConfigCompiler, type Runtime, type RuntimeConfig } from '../../src/index.js';
import { newCompilerEngine } from '../../src/compiler-native/engine.js';
import { v8Features } from '../../src/compiler-native/support.js';
import { RuntimeImpl } from '../../src/runtime/store/runtime.js';
import { withDirtyPageTracking } from '../../src/snapshot.js';
import { ValueType } from '../../src/api.js';
import { engines, runtimeFor, thrown, wat, wat3 } from '../helpers.js';

const KIND = ['E', 'X', 'T', 'A'];

interface Env {
  readonly r: Runtime;
  readonly ctx: Context;
  readonly sink: FunctionEventSink & { readonly log: string[]; readonly counters: number[] };
}

function newSink(filter?: (name: string) => boolean): Env['sink'] {
  const log: string[] = [];
  const counters: number[] = [];
  return {
    log,
    counters,
    onEvents(b: FunctionEventBatch) {
      for (let i = 0; i < b.length; i++) {
        log.push(`${b.module.name()}.${b.definition(b.functions[i]!).name()} ${KIND[b.kinds[i]!]}`);
        counters.push(b.counters[i]!);
      }
      log.push('|');
    },
    ...(filter === undefined ? {} : { recordFunction: (def) => filter(def.name()) }),
  };
}

interface Case {
  readonly name: string;
  readonly features?: number;
  /** A V8 feature the compiler engine needs for the case (skipped there without it). */
  readonly needs?: 'multiMemory' | 'memory64';
  readonly filter?: (name: string) => boolean;
  run(env: Env): Promise<void>;
  readonly expected: readonly string[];
}

async function inst(env: Env, src: string, name = 'm', text = wat): Promise<import('../../src/api.js').Module> {
  const bin = await env.r.compileModule(await text(src), env.ctx);
  return env.r.instantiateModule(bin, newModuleConfig().withName(name));
}

const NESTED = `(module
  (func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $g (export "g") (param i32) (result i32) (call $f (call $f (local.get 0))))
  (func $t (unreachable))
  (func $tt (export "tt") (call $t)))`;

const cases: Case[] = [
  {
    name: 'calls and returns are recorded in call order, delivered when the call returns',
    async run(env) {
      const m = await inst(env, NESTED);
      expect(m.exportedFunction('g')!.call(5)).toEqual([7n]);
    },
    expected: ['m.g E', 'm.f E', 'm.f X', 'm.f E', 'm.f X', 'm.g X', '|'],
  },
  {
    name: 'a trap aborts the open frames innermost first and delivers the batch',
    async run(env) {
      const m = await inst(env, NESTED);
      expect(() => m.exportedFunction('tt')!.call()).toThrow('unreachable');
      expect(m.exportedFunction('g')!.call(0)).toEqual([2n]);
    },
    expected: ['m.tt E', 'm.t E', 'm.t A', 'm.tt A', '|', 'm.g E', 'm.f E', 'm.f X', 'm.f E', 'm.f X', 'm.g X', '|'],
  },
  {
    name: 'an exit aborts the guest frames (host functions are not recorded)',
    async run(env) {
      await env.r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(
          (ctx, mod) => {
            void mod.closeWithExitCode(3, ctx);
            throw new ExitError(3);
          },
          [],
          [],
        )
        .export('exit')
        .instantiate(env.ctx);
      const m = await inst(env, `(module (import "env" "exit" (func $exit)) (func $main (export "main") (call $exit)))`);
      expect(() => m.exportedFunction('main')!.call()).toThrow(ExitError);
    },
    expected: ['m.main E', 'm.main A', '|'],
  },
  {
    name: 'a tail call records the replaced frame as left by a tail call',
    features: CoreFeaturesV3 | CoreFeaturesTailCall,
    async run(env) {
      const m = await inst(
        env,
        `(module
          (func $b (param i32) (result i32) (local.get 0))
          (func $a (export "a") (param i32) (result i32) (return_call $b (local.get 0))))`,
        'm',
        wat3,
      );
      expect(m.exportedFunction('a')!.call(4)).toEqual([4n]);
    },
    expected: ['m.a E', 'm.a T', 'm.b E', 'm.b X', '|'],
  },
  {
    name: 'a nested invocation through a host function delivers its records when it returns',
    async run(env) {
      let inner: import('../../src/api.js').Function | undefined;
      await env.r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc((_ctx, _m, n: number) => Number(inner!.call(n)[0]), [ValueType.I32], [ValueType.I32])
        .export('cb')
        .instantiate(env.ctx);
      const m = await inst(
        env,
        `(module (import "env" "cb" (func $cb (param i32) (result i32)))
          (func $inner (export "inner") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
          (func $main (export "main") (param i32) (result i32) (call $cb (local.get 0))))`,
      );
      inner = m.exportedFunction('inner')!;
      expect(m.exportedFunction('main')!.call(3)).toEqual([6n]);
    },
    expected: ['m.main E', 'm.inner E', 'm.inner X', '|', 'm.main X', '|'],
  },
  {
    name: 'a trap in a nested invocation that the host function catches aborts only its frames',
    async run(env) {
      let inner: import('../../src/api.js').Function | undefined;
      await env.r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(
          () => {
            thrown(() => inner!.call());
            return 9;
          },
          [],
          [ValueType.I32],
        )
        .export('cb')
        .instantiate(env.ctx);
      const m = await inst(
        env,
        `(module (import "env" "cb" (func $cb (result i32)))
          (func $inner (export "inner") (unreachable))
          (func $main (export "main") (result i32) (call $cb)))`,
      );
      inner = m.exportedFunction('inner')!;
      expect(m.exportedFunction('main')!.call()).toEqual([9n]);
    },
    expected: ['m.main E', 'm.inner E', 'm.inner A', '|', 'm.main X', '|'],
  },
  {
    name: 'an exception a guest catches aborts the frames it unwinds',
    features: CoreFeaturesV3,
    async run(env) {
      const m = await inst(
        env,
        `(module
          (tag $e (param i32))
          (func $thrower (param i32) (throw $e (local.get 0)))
          (func $mid (param i32) (call $thrower (local.get 0)))
          (func $main (export "main") (param i32) (result i32)
            (try (result i32)
              (do (call $mid (local.get 0)) (i32.const -1))
              (catch $e (i32.add (i32.const 100))))))`,
        'm',
        wat3,
      );
      expect(m.exportedFunction('main')!.call(1)).toEqual([101n]);
    },
    expected: ['m.main E', 'm.mid E', 'm.thrower E', 'm.thrower A', 'm.mid A', 'm.main X', '|'],
  },
  {
    name: 'recordFunction leaves functions unrecorded',
    filter: (name) => name !== 'f',
    async run(env) {
      const m = await inst(env, NESTED);
      m.exportedFunction('g')!.call(1);
    },
    expected: ['m.g E', 'm.g X', '|'],
  },
  {
    name: 'a batch holds the records of one instance: calls between instances deliver at each switch',
    async run(env) {
      await inst(env, `(module (func $lib (export "lib") (param i32) (result i32) (local.get 0)))`, 'lib');
      const m = await inst(
        env,
        `(module (import "lib" "lib" (func $lib (param i32) (result i32)))
          (func $main (export "main") (param i32) (result i32) (call $lib (local.get 0))))`,
      );
      m.exportedFunction('main')!.call(1);
    },
    expected: ['m.main E', '|', 'lib.lib E', 'lib.lib X', '|', 'm.main X', '|'],
  },
  {
    name: 'a full ring is delivered at once, and records go on in the next batch',
    async run(env) {
      const m = await inst(
        env,
        `(module (func $f)
          (func $loop (export "loop") (param i32)
            (loop $l (call $f) (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))`,
      );
      m.exportedFunction('loop')!.call(2500);
      // 5002 records: 4096, then 906.
      const sizes: number[] = [];
      let n = 0;
      for (const l of env.sink.log) {
        if (l === '|') {
          sizes.push(n);
          n = 0;
        } else n++;
      }
      env.sink.log.length = 0;
      env.sink.log.push(sizes.join(','));
    },
    expected: ['4096,906'],
  },
  {
    name: 'a listener and a sink on one function both see its calls',
    async run(env) {
      const seen: string[] = [];
      const ctx = withFunctionListenerFactory(
        env.ctx,
        functionListenerFactoryFunc(() => ({
          before: (_c, _m, def) => seen.push(`B ${def.name()}`),
          after: (_c, _m, def) => seen.push(`A ${def.name()}`),
          abort: () => {},
        })),
      );
      const bin = await env.r.compileModule(await wat(NESTED), ctx);
      const m = await env.r.instantiateModule(bin, newModuleConfig().withName('m'));
      m.exportedFunction('g')!.call(1);
      expect(seen).toEqual(['B g', 'B f', 'A f', 'B f', 'A f', 'A g']);
    },
    expected: ['m.g E', 'm.f E', 'm.f X', 'm.f E', 'm.f X', 'm.g X', '|'],
  },
  {
    name: 'records written by a start function, then by calls, of two instances of one module',
    async run(env) {
      const src = `(module (func $s (call $f)) (func $f (export "f")) (start $s))`;
      const a = await inst(env, src, 'a');
      const b = await inst(env, src, 'b');
      a.exportedFunction('f')!.call();
      b.exportedFunction('f')!.call();
    },
    expected: [
      'a.s E',
      'a.f E',
      'a.f X',
      'a.s X',
      '|',
      'b.s E',
      'b.f E',
      'b.f X',
      'b.s X',
      '|',
      'a.f E',
      'a.f X',
      '|',
      'b.f E',
      'b.f X',
      '|',
    ],
  },
  {
    name: 'a trap across instances aborts each frame with its own instance',
    async run(env) {
      await inst(env, `(module (func $boom (export "boom") (unreachable)))`, 'lib');
      const m = await inst(
        env,
        `(module (import "lib" "boom" (func $boom))
          (func $mid (call $boom))
          (func $main (export "main") (call $mid)))`,
      );
      expect(() => m.exportedFunction('main')!.call()).toThrow('unreachable');
    },
    expected: ['m.main E', 'm.mid E', '|', 'lib.boom E', 'lib.boom A', '|', 'm.mid A', 'm.main A', '|'],
  },
  {
    name: 'the ring fills up in the middle of calls that go back and forth between instances',
    async run(env) {
      await inst(env, `(module (func $id (export "id") (param i32) (result i32) (local.get 0)))`, 'lib');
      const m = await inst(
        env,
        `(module (import "lib" "id" (func $id (param i32) (result i32)))
          (func $f)
          (func $loop (export "loop") (param i32)
            (loop $l (call $f) (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
            (drop (call $id (i32.const 1)))
            (call $f)))`,
      );
      m.exportedFunction('loop')!.call(2048);
      // m: $loop's enter and 2048 calls of $f (4097 records: a full ring, then 1); lib's 2; m's last 3.
      const sizes: string[] = [];
      let n = 0;
      let owner = '';
      for (const l of env.sink.log) {
        if (l === '|') {
          sizes.push(`${owner}${n}`);
          n = 0;
        } else {
          owner = l.split('.')[0]!;
          n++;
        }
      }
      env.sink.log.length = 0;
      env.sink.log.push(sizes.join(','));
    },
    expected: ['m4096,m1,lib2,m3'],
  },
  {
    name: 'a module with two memories of its own (the ring is a memory after them)',
    features: CoreFeaturesV3,
    needs: 'multiMemory',
    async run(env) {
      const m = await inst(
        env,
        `(module (memory $a 1) (memory $b 1)
          (func $put (param i32) (i32.store $b (i32.const 8) (local.get 0)) (i32.store $a (i32.const 0) (i32.const 7)))
          (func $main (export "main") (param i32) (result i32)
            (call $put (local.get 0))
            (i32.add (i32.load $a (i32.const 0)) (i32.load $b (i32.const 8)))))`,
        'm',
        wat3,
      );
      expect(m.exportedFunction('main')!.call(5)).toEqual([12n]);
    },
    expected: ['m.main E', 'm.put E', 'm.put X', 'm.main X', '|'],
  },
  {
    name: 'a 64-bit memory guest',
    features: CoreFeaturesV3,
    needs: 'memory64',
    async run(env) {
      const m = await inst(
        env,
        `(module (memory i64 1)
          (func $put (param i64) (i64.store (i64.const 16) (local.get 0)))
          (func $main (export "main") (param i64) (result i64) (call $put (local.get 0)) (i64.load (i64.const 16))))`,
        'm',
        wat3,
      );
      expect(m.exportedFunction('main')!.call(9n)).toEqual([9n]);
    },
    expected: ['m.main E', 'm.put E', 'm.put X', 'm.main X', '|'],
  },
  {
    name: 'with dirty-page tracking (its marks are a memory too)',
    async run(env) {
      const bin = await env.r.compileModule(
        await wat(`(module (memory 2)
          (func $put (param i32) (i32.store (i32.const 70000) (local.get 0)))
          (func $main (export "main") (param i32) (result i32) (call $put (local.get 0)) (i32.load (i32.const 70000))))`),
        withDirtyPageTracking(env.ctx),
      );
      const m = await env.r.instantiateModule(bin, newModuleConfig().withName('m'));
      expect(m.exportedFunction('main')!.call(4)).toEqual([4n]);
    },
    expected: ['m.main E', 'm.put E', 'm.put X', 'm.main X', '|'],
  },
];

/** The engines, and the compiler engine calling a recorder per record (its path where V8 has no multi-memory). */
const targets: Array<{
  readonly name: string;
  readonly compiler: boolean;
  readonly runtime: (edit?: (c: RuntimeConfig) => RuntimeConfig) => Runtime;
}> = [
  ...engines.map((e) => ({
    name: e.name,
    compiler: e.name === 'compiler',
    runtime: (edit?: (c: RuntimeConfig) => RuntimeConfig) => runtimeFor(e, edit),
  })),
  {
    name: 'compiler, records by call',
    compiler: true,
    runtime: (edit) => new RuntimeImpl((edit ?? ((c) => c))(newRuntimeConfigCompiler()), newCompilerEngine({ inlineSink: false })),
  },
];

for (const t of targets) {
  describe(`function event sink (${t.name})`, () => {
    for (const c of cases) {
      const skip = t.compiler && c.needs !== undefined && !v8Features()[c.needs];
      it.skipIf(skip)(c.name, async () => {
        const r = t.runtime(c.features === undefined ? undefined : (cfg) => cfg.withCoreFeatures(c.features!));
        const sink = newSink(c.filter);
        const env: Env = { r, ctx: withFunctionEventSink(Context.background(), sink), sink };
        await c.run(env);
        expect(sink.log).toEqual(c.expected);
        for (let i = 1; i < sink.counters.length; i++) expect(sink.counters[i]).toBe(sink.counters[i - 1]! + 1);
        await r.close();
      });
    }
  });
}
