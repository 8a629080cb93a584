/**
 * Interpreter-specific checks of the listener and interrupt instrumentation: it exists only where
 * it is needed (lowering-time choice, nothing per call otherwise), and function-entry checks stop
 * loop-free runaway recursion. Behaviour shared with the compiler is in test/engines/.
 */
import wabtInit from 'wabt';
import { beforeAll, describe, expect, it } from 'vitest';
import { Context } from '../api/context.js';
import { ExitError } from '../api/errors.js';
import { CoreFeaturesTailCall, CoreFeaturesV2 } from '../api/features.js';
import type { FunctionListener } from '../api/listener.js';
import type { Module as ApiModule } from '../api/module.js';
import type { Module as IrModule } from '../binary/module.js';
import { decodeModule } from '../binary/decoder.js';
import { validateModule } from '../validate/validate.js';
import { newInterpreterEngine } from './engine.js';
import { I, instrLength } from './ir.js';
import { lowerFunction, type LowerOptions } from './lower.js';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Wabt;
beforeAll(async () => {
  wabt = await wabtInit();
});

const FEATURES = CoreFeaturesV2 | CoreFeaturesTailCall;

function decode(text: string): IrModule {
  const bin = wabt.parseWat('t.wat', text, { tail_call: true }).toBinary({}).buffer;
  const m = decodeModule(new Uint8Array(bin), FEATURES);
  validateModule(m, FEATURES);
  return m;
}

/** The opcodes of a lowered function, in order. */
function opsOf(m: IrModule, codeIndex: number, opts: LowerOptions): number[] {
  const code = lowerFunction(m, codeIndex, opts).code;
  const ops: number[] = [];
  for (let pc = 0; pc < code.length; pc += instrLength(code[pc]!, code, pc)) ops.push(code[pc]!);
  return ops;
}

const INSTRUMENTATION = [I.LISTEN_BEFORE, I.LISTEN_AFTER, I.CHECK, I.CALLL, I.RETL];

const SAMPLE = `(module
  (func $g (param i32) (result i32) (local.get 0))
  (func $f (param i32) (result i32) (local i32)
    (loop (local.set 1 (call $g (local.get 1))) (br_if 0 (local.get 0)))
    (if (local.get 0) (then (return (i32.const 1))))
    (return_call $g (local.get 1))))`;

describe('interpreter instrumentation is chosen at lowering time', () => {
  it('emits nothing extra for an unlistened function without interrupts', () => {
    const m = decode(SAMPLE);
    const ops = opsOf(m, 1, {});
    expect(ops.filter((o) => INSTRUMENTATION.includes(o as never))).toEqual([]);
  });

  it('a listened function gets LISTEN_BEFORE first, RETL on every return and an after before tail calls', () => {
    const m = decode(SAMPLE);
    const ops = opsOf(m, 1, { listened: true });
    expect(ops[0]).toBe(I.LISTEN_BEFORE);
    expect(ops.filter((o) => o === I.RETL).length).toBe(1);
    expect(ops).not.toContain(I.RET0);
    expect(ops).not.toContain(I.RET1);
    expect(ops.indexOf(I.LISTEN_AFTER)).toBe(ops.indexOf(I.RCALL) - 1);
  });

  it('direct calls of listened callees become CALLL (before fused into the call)', () => {
    const m = decode(SAMPLE);
    expect(opsOf(m, 1, { listenedCallee: (f) => f === 0 })).toContain(I.CALLL);
    expect(opsOf(m, 1, { listenedCallee: () => false })).not.toContain(I.CALLL);
  });

  it('interrupts put a CHECK at the entry and at each loop head only', () => {
    const m = decode(SAMPLE);
    const ops = opsOf(m, 1, { interrupt: true });
    expect(ops[0]).toBe(I.CHECK);
    expect(ops.filter((o) => o === I.CHECK).length).toBe(2);
  });
});

describe('interpreter interrupts', () => {
  it('stop loop-free exponential recursion at the deadline (function entries check)', async () => {
    const m = decode(`(module (func $f (export "f") (param i32)
      (if (local.get 0) (then
        (call $f (i32.sub (local.get 0) (i32.const 1)))
        (call $f (i32.sub (local.get 0) (i32.const 1)))))))`);
    const engine = newInterpreterEngine();
    const code = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined });
    let closedWith: number | undefined;
    const api = { closeWithExitCode: (c: number) => ((closedWith = c), Promise.resolve()) } as unknown as ApiModule;
    const ctx = Context.background();
    const inst = engine.instantiate(
      code,
      [],
      { api },
      { features: FEATURES, memoryLimitPages: 1, memoryCapacityFromMax: false, ctx, closeOnContextDone: true },
    );
    const stack = new BigUint64Array([60n]);
    const t0 = performance.now();
    let err: unknown;
    try {
      inst.call(0, stack, Context.background().withTimeout(30));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExitError);
    expect((err as ExitError).exitCode).toBe(0xefffffff);
    expect(closedWith).toBe(0xefffffff);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('ignore contexts without a deadline or signal after one look', async () => {
    const m = decode(`(module (func (export "f") (param i32) (result i32)
      (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))) (i32.const 7)))`);
    const engine = newInterpreterEngine();
    const code = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: undefined });
    const ctx = Context.background();
    const inst = engine.instantiate(
      code,
      [],
      { api: {} as ApiModule },
      { features: FEATURES, memoryLimitPages: 1, memoryCapacityFromMax: false, ctx, closeOnContextDone: true },
    );
    const stack = new BigUint64Array([100_000n]);
    inst.call(0, stack, ctx);
    expect(stack[0]).toBe(7n);
  });
});

describe('interpreter listeners', () => {
  it('fire for a listened function called through call_indirect (entry LISTEN_BEFORE)', async () => {
    const m = decode(`(module (type $t (func (result i32)))
      (func $k (result i32) (i32.const 5)) (table funcref (elem $k))
      (func (export "f") (result i32) (call_indirect (type $t) (i32.const 0))))`);
    const log: string[] = [];
    const l: FunctionListener = {
      before: (_c, _m, d) => log.push(`B ${d.index()}`),
      after: (_c, _m, d, r) => log.push(`A ${d.index()} ${r[0]}`),
      abort: () => log.push('X'),
    };
    const engine = newInterpreterEngine();
    const code = await engine.compile(m, { features: FEATURES, debugInfo: false, listeners: [l, undefined] });
    const ctx = Context.background();
    const inst = engine.instantiate(
      code,
      [],
      { api: {} as ApiModule },
      { features: FEATURES, memoryLimitPages: 1, memoryCapacityFromMax: false, ctx },
    );
    const stack = new BigUint64Array(1);
    inst.call(1, stack, ctx);
    expect(stack[0]).toBe(5n);
    expect(log).toEqual(['B 0', 'A 0 5']);
  });
});
