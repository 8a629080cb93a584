/**
 * Function listeners and stack iteration: ONE table of cases, run on every engine, so the
 * interpreter and the compiler cannot drift apart.
 *
 * Each case logs every listener call as a line:
 * - `B <mod> <fn> (<params>) [<frames>]` — before; `<mod>` is the `mod` argument's name, `<frames>`
 *   the stack iterator's frames, called function first, each `name+<delta>` where delta is
 *   `sourceOffsetForPC(pc)` minus the offset (relative to the code section) of the function's first
 *   instruction after its locals — so `f2+2` is "the instruction 2 bytes into f2's code"; host
 *   functions print their name only;
 * - `A <mod> <fn> (<results>)` — after;
 * - `X <mod> <fn> <first line of err.message>` — abort.
 * Params and results print as raw uint64 decimal.
 *
 * Semantics fixed here (both engines):
 * - `mod`: for a wasm function the module instance that defines it; for a host function the
 *   calling module (the host module itself when called from the API).
 * - Tail calls: a `return_call*` in a listened function replaces that function's frame. The caller
 *   gets its `after` at the tail call, with an EMPTY results array (its results are the callee's to
 *   produce); the callee then gets its own `before` (seeing the caller's caller below it, not the
 *   replaced frame) and `after`. Exactly one after-or-abort per before still holds, and tail calls
 *   keep running in constant stack.
 * - Unlistened functions fire nothing but still appear in stack iterators.
 * - Listeners that throw: a `before` or an `after` that throws gets no `abort` of its own; the frames
 *   around it are aborted with its error, which is the call's error; an `abort` that throws changes nothing (the other frames get theirs, the call's error
 *   stays). Before-only listeners (`functionListenerFunc`) get `before` only; after-only listeners
 *   (`functionListenerAfterFunc`) get `after` only, and nothing for a call that fails.
 */
import { describe, expect, it } from 'vitest';
import {
  CoreFeaturesTailCall,
  functionListenerAfterFunc,
  functionListenerFactoryFunc,
  functionListenerFunc,
  withFunctionListenerFactory,
  type FunctionListener,
  type StackIterator,
} from '../../src/experimental.js';
import { Context, ExitError, type Runtime } from '../../src/index.js';
import type { FunctionDefinition, Module } from '../../src/api.js';
import { CoreFeaturesV2 } from '../../src/runtime/api/features.js';
import { decodeModule } from '../../src/runtime/binary/decoder.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const I32 = 0x7f;
const ALL = CoreFeaturesV2 | CoreFeaturesTailCall;

/** First-instruction offsets (relative to the code section) of each function, by name. */
type CodeStarts = Map<string, number>;

function codeStartsOf(bytes: Uint8Array, into: CodeStarts, names: readonly string[]): void {
  const m = decodeModule(bytes, ALL);
  // `names` lists the defined functions in order (the test knows its own modules).
  m.codes.forEach((c, i) => {
    const n = names[i];
    if (n !== undefined) into.set(n, c.codeStart - m.codeSectionStart);
  });
}

interface Env {
  readonly r: Runtime;
  readonly log: string[];
  /** A context that listens every function for which `pick(name)` is true (default: all). */
  readonly listenCtx: (pick?: (name: string) => boolean) => Context;
  /** The recording listener of this case (to wrap in listeners that misbehave). */
  readonly recorder: FunctionListener;
  /** A context that listens every function with `listener`. */
  readonly listenWith: (listener: FunctionListener) => Context;
  /** Assembles `text` and records its functions' code starts under `names` (defined functions, in order). */
  readonly compile: (text: string, names: readonly string[]) => Promise<Uint8Array>;
}

interface Case {
  readonly name: string;
  readonly run: (env: Env) => Promise<void>;
  readonly expected: readonly string[];
}

function frames(it: StackIterator, starts: CodeStarts): string {
  const out: string[] = [];
  while (it.next()) {
    const fn = it.function();
    const def = fn.definition();
    if (def.hostFunction() !== undefined) {
      out.push(def.name());
      continue;
    }
    const start = starts.get(def.name());
    const off = fn.sourceOffsetForPC(it.programCounter());
    out.push(start === undefined ? `${def.name()}@${off}` : `${def.name()}+${off - start}`);
  }
  return `[${out.join(' ')}]`;
}

function recordingListener(log: string[], starts: CodeStarts, withFrames: boolean): FunctionListener {
  return {
    before(_ctx: Context, mod: Module, def: FunctionDefinition, params: BigUint64Array, stack: StackIterator) {
      const f = withFrames ? ` ${frames(stack, starts)}` : '';
      log.push(`B ${mod.name()} ${def.name()} (${[...params].join(',')})${f}`);
    },
    after(_ctx: Context, mod: Module, def: FunctionDefinition, results: BigUint64Array) {
      log.push(`A ${mod.name()} ${def.name()} (${[...results].join(',')})`);
    },
    abort(_ctx: Context, mod: Module, def: FunctionDefinition, err: unknown) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      log.push(`X ${mod.name()} ${def.name()} ${msg}`);
    },
  };
}

/** `inner`, except that callback `when` of function `name` throws `Error(<when> failed)` after it ran. */
function throwing(inner: FunctionListener, when: 'before' | 'after' | 'abort', name: string): FunctionListener {
  const fail = (def: FunctionDefinition): void => {
    if (def.name() === name) throw new Error(`${when} failed`);
  };
  return {
    before(ctx, mod, def, params, stack) {
      inner.before(ctx, mod, def, params, stack);
      if (when === 'before') fail(def);
    },
    after(ctx, mod, def, results) {
      inner.after(ctx, mod, def, results);
      if (when === 'after') fail(def);
    },
    abort(ctx, mod, def, err) {
      inner.abort(ctx, mod, def, err);
      if (when === 'abort') fail(def);
    },
  };
}

const NESTED = `(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (func $f1 (export "f1") (param i32) (result i32) (call $f2 (local.get 0)))
  (func $f2 (param i32) (result i32) (call $h (local.get 0)))
  (func $bad (export "bad") (call $worse))
  (func $worse unreachable)
  (func $tail (export "tail") (param i32) (result i32) (return_call $f2 (local.get 0))))`;

/** Instantiates a host module `env` whose `h` adds one, then NESTED as `m` with `ctx`. */
async function nested(r: Runtime, ctx: Context, compile: Env['compile'], hostCtx?: Context): Promise<Module> {
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withFunc((_c, _m, x: number) => x + 1, [I32], [I32])
    .export('h')
    .instantiate(hostCtx);
  const bin = await compile(NESTED, ['f1', 'f2', 'bad', 'worse', 'tail']);
  const { newModuleConfig } = await import('../../src/index.js');
  return r.instantiateWithConfig(bin, newModuleConfig().withName('m'), ctx);
}

const cases: Case[] = [
  {
    name: 'an after that throws gets no abort; the frames around it abort with its error, the call fails with it',
    async run({ r, recorder, listenWith, compile }) {
      const m = await nested(r, listenWith(throwing(recorder, 'after', 'f2')), compile);
      expect(() => m.exportedFunction('f1')!.call(1)).toThrow('after failed');
      // The engine is consistent afterwards: the same call behaves the same.
      expect(() => m.exportedFunction('f1')!.call(1)).toThrow('after failed');
    },
    expected: [
      'B m f1 (1) [f1+0]',
      'B m f2 (1) [f2+0 f1+2]',
      'A m f2 (2)',
      'X m f1 after failed',
      'B m f1 (1) [f1+0]',
      'B m f2 (1) [f2+0 f1+2]',
      'A m f2 (2)',
      'X m f1 after failed',
    ],
  },
  {
    name: 'a before that throws gets no abort of its own; the frames around it abort with its error',
    async run({ r, recorder, listenWith, compile }) {
      const m = await nested(r, listenWith(throwing(recorder, 'before', 'f2')), compile);
      expect(() => m.exportedFunction('f1')!.call(1)).toThrow('before failed');
    },
    expected: ['B m f1 (1) [f1+0]', 'B m f2 (1) [f2+0 f1+2]', 'X m f1 before failed'],
  },
  {
    name: 'an abort that throws neither hides the trap nor keeps the other frames from their abort',
    async run({ r, recorder, listenWith, compile }) {
      const m = await nested(r, listenWith(throwing(recorder, 'abort', 'worse')), compile);
      expect(() => m.exportedFunction('bad')!.call()).toThrow(/^wasm error: unreachable/);
    },
    expected: [
      'B m bad () [bad+0]',
      'B m worse () [worse+0 bad+0]',
      'X m worse wasm error: unreachable',
      'X m bad wasm error: unreachable',
    ],
  },
  {
    name: 'a host function whose listener after throws: no abort for it, its caller aborts with the error',
    async run({ r, recorder, listenWith, compile }) {
      const ctx = listenWith(throwing(recorder, 'after', 'h'));
      const m = await nested(r, ctx, compile, ctx);
      expect(() => m.exportedFunction('f1')!.call(5)).toThrow('after failed');
    },
    expected: [
      'B m f1 (5) [f1+0]',
      'B m f2 (5) [f2+0 f1+2]',
      'B m h (5) [h f2+2 f1+2]',
      'A m h (6)',
      'X m f2 after failed',
      'X m f1 after failed',
    ],
  },
  {
    name: 'a before-only listener (functionListenerFunc) gets before for every call, tail calls and host functions included',
    async run({ r, recorder, listenWith, compile }) {
      const ctx = listenWith(functionListenerFunc((c, mod, def, params, stack) => recorder.before(c, mod, def, params, stack)));
      const m = await nested(r, ctx, compile, ctx);
      expect(m.exportedFunction('tail')!.call(1)).toEqual([2n]);
      expect(() => m.exportedFunction('bad')!.call()).toThrow(/unreachable/);
    },
    expected: ['B m tail (1) [tail+0]', 'B m f2 (1) [f2+0]', 'B m h (1) [h f2+2]', 'B m bad () [bad+0]', 'B m worse () [worse+0 bad+0]'],
  },
  {
    name: 'an after-only listener (functionListenerAfterFunc) gets after for every return, tail calls and host functions included, and nothing for calls that fail',
    async run({ r, recorder, listenWith, compile }) {
      const ctx = listenWith(functionListenerAfterFunc((c, mod, def, results) => recorder.after(c, mod, def, results)));
      const m = await nested(r, ctx, compile, ctx);
      expect(m.exportedFunction('tail')!.call(1)).toEqual([2n]);
      expect(() => m.exportedFunction('bad')!.call()).toThrow(/unreachable/);
      expect(m.exportedFunction('f1')!.call(1)).toEqual([2n]);
    },
    expected: ['A m tail ()', 'A m h (2)', 'A m f2 (2)', 'A m h (2)', 'A m f2 (2)', 'A m f1 (2)'],
  },
  {
    name: 'nesting: before and after in call order, stacks with callers at their call instructions',
    async run({ r, listenCtx, compile }) {
      const bin = await compile(
        `(module
          (func $f1 (export "f1") (param i32) (result i32)
            (call $f2 (local.get 0)) (call $f2) )
          (func $f2 (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))`,
        ['f1', 'f2'],
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      expect(m.exportedFunction('f1')!.call(5)).toEqual([7n]);
    },
    // call $f2 at f1+2 (after local.get 0), the second at f1+4.
    expected: ['B m f1 (5) [f1+0]', 'B m f2 (5) [f2+0 f1+2]', 'A m f2 (6)', 'B m f2 (6) [f2+0 f1+4]', 'A m f2 (7)', 'A m f1 (7)'],
  },
  {
    name: 'every exit fires after with the exact results: return, br/br_if/br_table to the function label, end',
    async run({ r, listenCtx, compile }) {
      const bin = await compile(
        `(module
          (func $ret (export "ret") (param i64) (result i64 f64)
            (return (local.get 0) (f64.const nan:0x4000000000001)) )
          (func $br (export "br") (result i32) (br 0 (i32.const 1)))
          (func $brif (export "brif") (param i32) (result i32)
            (block (drop (br_if 1 (i32.const 2) (local.get 0)))) (i32.const 3))
          (func $brtable (export "brtable") (param i32) (result f32)
            (drop (block (result f32) (br_table 1 0 (f32.const -0) (local.get 0)))) (f32.const 1))
          (func $end (export "end") (param f32) (result f32) (local.get 0)))`,
        ['ret', 'br', 'brif', 'brtable', 'end'],
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      m.exportedFunction('ret')!.call(0xffffffffffffffffn);
      m.exportedFunction('br')!.call();
      m.exportedFunction('brif')!.call(1);
      m.exportedFunction('brif')!.call(0);
      m.exportedFunction('brtable')!.call(0);
      m.exportedFunction('brtable')!.call(1);
      m.exportedFunction('end')!.call(0x7fa00001n);
    },
    expected: [
      'B m ret (18446744073709551615) [ret+0]',
      // nan:0x4000000000001 is 0x7ff4000000000001.
      'A m ret (18446744073709551615,9219994337134247937)',
      'B m br () [br+0]',
      'A m br (1)',
      'B m brif (1) [brif+0]',
      'A m brif (2)',
      'B m brif (0) [brif+0]',
      'A m brif (3)',
      'B m brtable (0) [brtable+0]',
      'A m brtable (2147483648)',
      'B m brtable (1) [brtable+0]',
      'A m brtable (1065353216)',
      'B m end (2141192193) [end+0]',
      'A m end (2141192193)',
    ],
  },
  {
    name: 'host functions: before/after around the call, mod is the caller, host frame first in the stack',
    async run({ r, listenCtx, compile }) {
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc((_ctx, _mod, x: number) => x * 3, [I32], [I32])
        .withName('f4')
        .export('f4')
        .instantiate(listenCtx());
      const bin = await compile(
        `(module (import "env" "f4" (func $f4 (param i32) (result i32)))
          (func $f1 (export "f1") (result i32) (call $f2))
          (func $f2 (result i32) (call $f3 (i32.const 4)))
          (func $f3 (param i32) (result i32) (call $f4 (local.get 0))))`,
        ['f1', 'f2', 'f3'],
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      expect(m.exportedFunction('f1')!.call()).toEqual([12n]);
    },
    expected: [
      'B m f1 () [f1+0]',
      'B m f2 () [f2+0 f1+0]',
      'B m f3 (4) [f3+0 f2+2 f1+0]',
      'B m f4 (4) [f4 f3+2 f2+2 f1+0]',
      'A m f4 (12)',
      'A m f3 (12)',
      'A m f2 (12)',
      'A m f1 (12)',
    ],
  },
  {
    name: 'a trap aborts every open listened frame, innermost first, with the final error, and no after',
    async run({ r, listenCtx, compile }) {
      const bin = await compile(
        `(module
          (func $f1 (export "f1") (call $f2))
          (func $f2 (call $f3))
          (func $f3 unreachable))`,
        ['f1', 'f2', 'f3'],
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      expect(() => m.exportedFunction('f1')!.call()).toThrow(/unreachable/);
      // The runtime stays usable and the shadow stack is empty again.
      expect(() => m.exportedFunction('f1')!.call()).toThrow(/unreachable/);
    },
    expected: [
      'B m f1 () [f1+0]',
      'B m f2 () [f2+0 f1+0]',
      'B m f3 () [f3+0 f2+0 f1+0]',
      'X m f3 wasm error: unreachable',
      'X m f2 wasm error: unreachable',
      'X m f1 wasm error: unreachable',
      'B m f1 () [f1+0]',
      'B m f2 () [f2+0 f1+0]',
      'B m f3 () [f3+0 f2+0 f1+0]',
      'X m f3 wasm error: unreachable',
      'X m f2 wasm error: unreachable',
      'X m f1 wasm error: unreachable',
    ],
  },
  {
    name: 'a host throw aborts the host frame and every guest frame with the thrown error',
    async run({ r, listenCtx, compile }) {
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(
          () => {
            throw new Error('boom');
          },
          [],
          [],
        )
        .withName('h')
        .export('h')
        .instantiate(listenCtx());
      const bin = await compile(`(module (import "env" "h" (func $h)) (func $f1 (export "f1") (call $h)))`, ['f1']);
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      expect(() => m.exportedFunction('f1')!.call()).toThrow('boom');
    },
    expected: ['B m f1 () [f1+0]', 'B m h () [h f1+0]', 'X m h boom', 'X m f1 boom'],
  },
  {
    name: 'an exit (proc_exit style) aborts with the ExitError and closes the module',
    async run({ r, listenCtx, compile }) {
      await r
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
        .withName('exit')
        .export('exit')
        .instantiate(listenCtx());
      const bin = await compile(`(module (import "env" "exit" (func $exit)) (func $f1 (export "f1") (call $exit)))`, ['f1']);
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      expect(() => m.exportedFunction('f1')!.call()).toThrow(ExitError);
      expect(m.isClosed()).toBe(true);
    },
    expected: [
      'B m f1 () [f1+0]',
      'B m exit () [exit f1+0]',
      'X m exit module closed with exit_code(3)',
      'X m f1 module closed with exit_code(3)',
    ],
  },
  {
    name: 'cross-module calls fire the callee module listener with the callee module as mod',
    async run({ r, listenCtx, compile }) {
      const lib = await compile(`(module (func $g (export "g") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))`, ['g']);
      await r.instantiateWithConfig(lib, (await import('../../src/index.js')).newModuleConfig().withName('lib'), listenCtx());
      const app = await compile(
        `(module (import "lib" "g" (func $g (param i32) (result i32)))
          (func $f (export "f") (result i32) (call $g (i32.const 21))))`,
        ['f'],
      );
      // The importing module listens nothing: only lib's listener fires.
      const m = await r.instantiateWithConfig(
        app,
        (await import('../../src/index.js')).newModuleConfig().withName('app'),
        listenCtx(() => false),
      );
      expect(m.exportedFunction('f')!.call()).toEqual([42n]);
    },
    expected: ['B lib g (21) [g+0 f+2]', 'A lib g (42)'],
  },
  {
    name: 'unlistened functions fire nothing but appear in the stack',
    async run({ r, listenCtx, compile }) {
      const bin = await compile(
        `(module
          (func $f1 (export "f1") (call $f2))
          (func $f2 (nop) (call $f3))
          (func $f3))`,
        ['f1', 'f2', 'f3'],
      );
      const m = await r.instantiateWithConfig(
        bin,
        (await import('../../src/index.js')).newModuleConfig().withName('m'),
        listenCtx((n) => n !== 'f2'),
      );
      m.exportedFunction('f1')!.call();
    },
    expected: ['B m f1 () [f1+0]', 'B m f3 () [f3+0 f2+1 f1+0]', 'A m f3 ()', 'A m f1 ()'],
  },
  {
    name: 'tail calls: the caller frame is replaced (after with no results), the callee gets before and after',
    async run({ r, listenCtx, compile }) {
      const bin = await compile(
        `(module
          (func $f1 (export "f1") (param i32) (result i32) (call $f2 (local.get 0)))
          (func $f2 (param i32) (result i32) (return_call $f3 (i32.add (local.get 0) (i32.const 1))))
          (func $f3 (param i32) (result i32) (i32.mul (local.get 0) (i32.const 10)))
          (table funcref (elem $f3))
          (type $t (func (param i32) (result i32)))
          (func $f4 (export "f4") (param i32) (result i32) (return_call_indirect (type $t) (local.get 0) (i32.const 0))))`,
        ['f1', 'f2', 'f3', 'f4'],
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      expect(m.exportedFunction('f1')!.call(1)).toEqual([20n]);
      expect(m.exportedFunction('f4')!.call(3)).toEqual([30n]);
    },
    expected: [
      'B m f1 (1) [f1+0]',
      'B m f2 (1) [f2+0 f1+2]',
      'A m f2 ()',
      'B m f3 (2) [f3+0 f1+2]',
      'A m f3 (20)',
      'A m f1 (20)',
      'B m f4 (3) [f4+0]',
      'A m f4 ()',
      'B m f3 (3) [f3+0]',
      'A m f3 (30)',
    ],
  },
  {
    name: 'a tail call that traps after the caller got its after aborts only the frames still open',
    async run({ r, listenCtx, compile }) {
      const bin = await compile(
        `(module (type $t (func (result i32))) (table 1 funcref)
          (func $f1 (export "f1") (result i32) (call $f2))
          (func $f2 (result i32) (return_call_indirect (type $t) (i32.const 0))))`,
        ['f1', 'f2'],
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      expect(() => m.exportedFunction('f1')!.call()).toThrow(/invalid table access/);
    },
    expected: ['B m f1 () [f1+0]', 'B m f2 () [f2+0 f1+0]', 'A m f2 ()', 'X m f1 wasm error: invalid table access'],
  },
  {
    name: 'a listener may call back into the guest from before and after (re-entrant calls)',
    async run({ r, compile, log }) {
      const bin = await compile(
        `(module (memory 1)
          (func $f (export "f") (param i32) (result i32) (call $g (local.get 0)))
          (func $g (param i32) (result i32) (i32.add (local.get 0) (i32.load (i32.const 0))))
          (func $side (export "side") (param i32) (i32.store (i32.const 0) (local.get 0))))`,
        ['f', 'g', 'side'],
      );
      let m: import('../../src/api.js').Module | undefined;
      const reentrant: FunctionListener = {
        before(_ctx: Context, _mod: Module, def: FunctionDefinition, params: BigUint64Array) {
          log.push(`B ${def.name()} (${[...params].join(',')})`);
          if (def.name() === 'g') m!.exportedFunction('side')!.call(Number(params[0]) * 100);
        },
        after(_ctx: Context, _mod: Module, def: FunctionDefinition, results: BigUint64Array) {
          log.push(`A ${def.name()} (${[...results].join(',')})`);
          if (def.name() === 'g') m!.exportedFunction('side')!.call(1000);
        },
        abort() {},
      };
      const ctx = withFunctionListenerFactory(
        Context.background(),
        functionListenerFactoryFunc((d) => (d.name() === 'side' ? undefined : reentrant)),
      );
      m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), ctx);
      // g reads the value stored by its before callback; f's result survives the after callback's call.
      expect(m.exportedFunction('f')!.call(1)).toEqual([101n]);
      expect(m.exportedFunction('f')!.call(2)).toEqual([202n]);
    },
    expected: ['B f (1)', 'B g (1)', 'A g (101)', 'A f (101)', 'B f (2)', 'B g (2)', 'A g (202)', 'A f (202)'],
  },
  {
    name: 'memory grown by a listener (through a guest call) is visible to the listened function',
    async run({ r, compile, log }) {
      const bin = await compile(
        `(module (memory 1)
          (func $f (export "f") (result i32) (call $g))
          (func $g (result i32) (i32.load (i32.const 65536)))
          (func $grow (export "grow") (drop (memory.grow (i32.const 1))) (i32.store (i32.const 65536) (i32.const 7))))`,
        ['f', 'g', 'grow'],
      );
      let m: import('../../src/api.js').Module | undefined;
      const growing: FunctionListener = {
        before(_ctx: Context, _mod: Module, def: FunctionDefinition) {
          log.push(`B ${def.name()}`);
          if (def.name() === 'g') m!.exportedFunction('grow')!.call();
        },
        after(_ctx: Context, _mod: Module, def: FunctionDefinition, results: BigUint64Array) {
          log.push(`A ${def.name()} (${[...results].join(',')})`);
        },
        abort() {},
      };
      const ctx = withFunctionListenerFactory(
        Context.background(),
        functionListenerFactoryFunc((d) => (d.name() === 'grow' ? undefined : growing)),
      );
      m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), ctx);
      expect(m.exportedFunction('f')!.call()).toEqual([7n]);
    },
    expected: ['B f', 'B g', 'A g (7)', 'A f (7)'],
  },
  {
    name: 'memory grown by a listener through the Memory API is visible to the listened function',
    async run({ r, compile, log }) {
      const bin = await compile(
        `(module (memory 1)
          (func $f (export "f") (result i32) (call $g))
          (func $g (result i32) (i32.load (i32.const 65536))))`,
        ['f', 'g'],
      );
      const growing: FunctionListener = {
        before(_ctx: Context, mod: Module, def: FunctionDefinition) {
          log.push(`B ${def.name()}`);
          if (def.name() === 'g') {
            mod.memory()!.grow(1);
            mod.memory()!.writeUint32Le(65536, 9);
          }
        },
        after(_ctx: Context, _mod: Module, def: FunctionDefinition, results: BigUint64Array) {
          log.push(`A ${def.name()} (${[...results].join(',')})`);
        },
        abort() {},
      };
      const ctx = withFunctionListenerFactory(
        Context.background(),
        functionListenerFactoryFunc(() => growing),
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), ctx);
      expect(m.exportedFunction('f')!.call()).toEqual([9n]);
    },
    expected: ['B f', 'B g', 'A g (9)', 'A f (9)'],
  },
  {
    name: 'a tail-recursive listened loop runs in constant stack',
    async run({ r, listenCtx, compile }) {
      const bin = await compile(
        `(module
          (func $loop (export "loop") (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 7))
              (else (return_call $loop (i32.sub (local.get 0) (i32.const 1)))))))`,
        ['loop'],
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      expect(m.exportedFunction('loop')!.call(200_000)).toEqual([7n]);
    },
    // Checked by count below (200,001 befores).
    expected: [],
  },
  {
    name: 'a host function calling back into the guest: the nested call sees only its own frames',
    async run({ r, listenCtx, compile }) {
      let back: (() => unknown) | undefined;
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(
          () => {
            back!();
          },
          [],
          [],
        )
        .withName('h')
        .export('h')
        .instantiate(listenCtx());
      const bin = await compile(
        `(module (import "env" "h" (func $h))
          (func $f1 (export "f1") (call $h))
          (func $f2 (export "f2") (call $f3))
          (func $f3))`,
        ['f1', 'f2', 'f3'],
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      back = () => m.exportedFunction('f2')!.call();
      m.exportedFunction('f1')!.call();
    },
    expected: [
      'B m f1 () [f1+0]',
      'B m h () [h f1+0]',
      'B m f2 () [f2+0]',
      'B m f3 () [f3+0 f2+0]',
      'A m f3 ()',
      'A m f2 ()',
      'A m h ()',
      'A m f1 ()',
    ],
  },
  {
    name: 'a nested call that traps aborts its own frames when it returns to the host, who may recover',
    async run({ r, listenCtx, compile }) {
      let back: (() => unknown) | undefined;
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(
          () => {
            try {
              back!();
            } catch {
              return 9;
            }
            return 0;
          },
          [],
          [I32],
        )
        .withName('h')
        .export('h')
        .instantiate(listenCtx());
      const bin = await compile(
        `(module (import "env" "h" (func $h (result i32)))
          (func $f1 (export "f1") (result i32) (call $h))
          (func $f2 (export "f2") unreachable))`,
        ['f1', 'f2'],
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      back = () => m.exportedFunction('f2')!.call();
      expect(m.exportedFunction('f1')!.call()).toEqual([9n]);
    },
    expected: ['B m f1 () [f1+0]', 'B m h () [h f1+0]', 'B m f2 () [f2+0]', 'X m f2 wasm error: unreachable', 'A m h (9)', 'A m f1 (9)'],
  },
  {
    name: 'a host function called from the API: mod is its own module, the stack is just itself',
    async run({ r, listenCtx }) {
      const env = await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc((_ctx, _mod, x: number) => x + 1, [I32], [I32])
        .withName('inc')
        .export('inc')
        .instantiate(listenCtx());
      expect(env.exportedFunction('inc')!.call(41)).toEqual([42n]);
    },
    expected: ['B env inc (41) [inc]', 'A env inc (42)'],
  },
  {
    name: 'params and results are the exact raw values (i64 sign bits, f32/f64 NaN payloads, v128 as two slots, externref handles)',
    async run({ r, listenCtx, compile }) {
      const bin = await compile(
        `(module (func $id (export "id") (param i64 f32 f64 i32 v128 externref) (result externref v128 i32 f64 f32 i64)
          (local.get 5) (local.get 4) (local.get 3) (local.get 2) (local.get 1) (local.get 0)))`,
        ['id'],
      );
      const m = await r.instantiateWithConfig(bin, (await import('../../src/index.js')).newModuleConfig().withName('m'), listenCtx());
      expect(
        m.exportedFunction('id')!.call(0x8000000000000001n, 0x7fa00001n, 0xfff0000000000abcn, 0xffffffffn, 0x1111n, 0x2222n, 42n),
      ).toEqual([42n, 0x1111n, 0x2222n, 0xffffffffn, 0xfff0000000000abcn, 0x7fa00001n, 0x8000000000000001n]);
    },
    expected: [
      'B m id (9223372036854775809,2141192193,18442240474082183868,4294967295,4369,8738,42) [id+0]',
      'A m id (42,4369,8738,4294967295,18442240474082183868,2141192193,9223372036854775809)',
    ],
  },
  {
    name: 'a listened function called through call_indirect fires before and after, its caller at the call_indirect in the stack',
    async run({ r, listenCtx, compile }) {
      const bin = await compile(
        `(module (type $t (func (result i32)))
          (func $k (result i32) (i32.const 5)) (table funcref (elem $k))
          (func $f (export "f") (result i32) (call_indirect (type $t) (i32.const 0))))`,
        ['k', 'f'],
      );
      const m = await r.instantiateWithConfig(
        bin,
        (await import('../../src/index.js')).newModuleConfig().withName('m'),
        listenCtx((name) => name === 'k'),
      );
      expect(m.exportedFunction('f')!.call()).toEqual([5n]);
    },
    expected: ['B m k () [k+0 f+2]', 'A m k (5)'],
  },
  {
    name: 'a trap 40 frames deep aborts all 40 listened frames (no 30-frame cap)',
    async run({ r, listenCtx, compile }) {
      const bin = await compile(
        `(module (func $f (export "f") (param i32)
          (if (i32.eqz (local.get 0)) (then unreachable))
          (call $f (i32.sub (local.get 0) (i32.const 1)))))`,
        ['f'],
      );
      const m = await r.instantiateWithConfig(
        bin,
        (await import('../../src/index.js')).newModuleConfig().withName('m'),
        listenCtx(() => true),
      );
      expect(() => m.exportedFunction('f')!.call(39)).toThrow(/unreachable/);
    },
    expected: [
      ...Array.from({ length: 40 }, (_, i) => `B m f (${39 - i}) [${['f+0', ...Array.from({ length: i }, () => 'f+12')].join(' ')}]`),
      ...Array.from({ length: 40 }, () => 'X m f wasm error: unreachable'),
    ],
  },
];

for (const engine of engines) {
  describe(`function listeners on the ${engine.name}`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const r = runtimeFor(engine, (cfg) => cfg.withCoreFeatures(ALL));
        const log: string[] = [];
        const starts: CodeStarts = new Map();
        const countOnly = c.name.startsWith('a tail-recursive');
        const listener = recordingListener(log, starts, !countOnly);
        const env: Env = {
          r,
          log,
          recorder: listener,
          listenWith: (l) =>
            withFunctionListenerFactory(
              Context.background(),
              functionListenerFactoryFunc(() => l),
            ),
          listenCtx: (pick = () => true) =>
            withFunctionListenerFactory(
              Context.background(),
              functionListenerFactoryFunc((def) => (pick(def.name()) ? listener : undefined)),
            ),
          compile: async (text, names) => {
            const bin = await wat(text);
            codeStartsOf(bin, starts, names);
            return bin;
          },
        };
        try {
          await c.run(env);
        } finally {
          await r.close();
        }
        if (countOnly) {
          expect(log.filter((l) => l.startsWith('B ')).length).toBe(200_001);
          expect(log.filter((l) => l.startsWith('A ')).length).toBe(200_001);
          expect(log.at(-1)).toBe('A m loop (7)');
        } else {
          expect(log).toEqual(c.expected);
        }
      });
    }
  });
}
