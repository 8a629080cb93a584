/**
 * The interpreter's listener and interrupt instrumentation as lowering output: it exists only where
 * it is needed (a lowering-time choice, nothing per call otherwise). What listeners and interrupts
 * do is engine-neutral and lives in test/engines/ (listeners, timeouts, instructions with interrupt
 * checks, differential).
 */
import wabtInit from 'wabt';
import { beforeAll, describe, expect, it } from 'vitest';
import { CoreFeaturesTailCall, CoreFeaturesV2 } from '../api/features.js';
import type { Module as IrModule } from '../binary/module.js';
import { decodeModule } from '../binary/decoder.js';
import { validateModule } from '../validate/validate.js';
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
