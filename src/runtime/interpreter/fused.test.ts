/**
 * Lowering-time speedups must not change results: i64 shifts by constants (immediate forms) and
 * superinstructions (fused adjacent pairs, including a branch into the second half of a pair).
 */
import wabtInit from 'wabt';
import { beforeAll, describe, expect, it } from 'vitest';
import { Context } from '../api/context.js';
import { CoreFeaturesV2 } from '../api/features.js';
import type { Module as ApiModule } from '../api/module.js';
import { decodeModule } from '../binary/decoder.js';
import type { EngineInstance } from '../store/engine.js';
import { validateModule } from '../validate/validate.js';
import { newInterpreterEngine } from './engine.js';
import { FUSED_PAIRS, I, instrLength } from './ir.js';
import { lowerFunction } from './lower.js';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Wabt;
beforeAll(async () => {
  wabt = await wabtInit();
});

const ctx = Context.background();

async function load(text: string): Promise<{ inst: EngineInstance; mod: ReturnType<typeof decodeModule> }> {
  const bin = wabt.parseWat('t.wat', text, {}).toBinary({}).buffer;
  const mod = decodeModule(new Uint8Array(bin), CoreFeaturesV2);
  validateModule(mod, CoreFeaturesV2);
  const engine = newInterpreterEngine();
  const code = await engine.compile(mod, { features: CoreFeaturesV2, debugInfo: false, listeners: undefined });
  const inst = engine.instantiate(
    code,
    [],
    { api: {} as ApiModule },
    { features: CoreFeaturesV2, memoryLimitPages: 1, memoryCapacityFromMax: false, ctx },
  );
  return { inst, mod };
}

function call(inst: EngineInstance, idx: number, ...params: bigint[]): bigint {
  const stack = new BigUint64Array(Math.max(params.length, 1));
  params.forEach((p, j) => (stack[j] = BigInt.asUintN(64, p)));
  inst.call(idx, stack, ctx);
  return stack[0]!;
}

describe('i64 shifts by constants', () => {
  it('match BigInt for every count 0..64 and signs', async () => {
    const ks = Array.from({ length: 65 }, (_, k) => k);
    const fns = ks
      .map(
        (k) => `(func (param i64) (result i64) (i64.shl (local.get 0) (i64.const ${k})))
        (func (param i64) (result i64) (i64.shr_u (local.get 0) (i64.const ${k})))
        (func (param i64) (result i64) (i64.shr_s (local.get 0) (i64.const ${k})))`,
      )
      .join('\n');
    const { inst, mod } = await load(`(module ${fns})`);
    // Constant counts lower to the immediate forms.
    const ops = Array.from(lowerFunction(mod, 3).code);
    expect(ops).toContain(I.I64_SHLI);
    const xs = [0x8123456789abcdefn, 0x7fedcba987654321n, 1n, 0xffffffffffffffffn];
    for (const k of ks) {
      const n = BigInt(k & 63);
      for (const x of xs) {
        expect(call(inst, 3 * k, x), `shl ${k}`).toBe(BigInt.asUintN(64, x << n));
        expect(call(inst, 3 * k + 1, x), `shr_u ${k}`).toBe(BigInt.asUintN(64, x) >> n);
        expect(call(inst, 3 * k + 2, x), `shr_s ${k}`).toBe(BigInt.asUintN(64, BigInt.asIntN(64, x) >> n));
      }
    }
  });
});

describe('superinstructions', () => {
  it('fuse adjacent pairs in place and keep each instruction reachable', async () => {
    // i32.add chains fuse (I32_ADD__I32_ADD); the loop branches back into the middle of them.
    const { inst, mod } = await load(`(module (func (export "f") (param i32) (result i32) (local i32 i32)
      (local.set 1 (i32.add (local.get 0) (local.get 0)))
      (loop
        (local.set 2 (i32.add (local.get 2) (local.get 1)))
        (local.set 1 (i32.add (local.get 1) (local.get 0)))
        (local.set 0 (i32.add (local.get 0) (i32.const -1)))
        (br_if 0 (local.get 0)))
      (i32.add (local.get 2) (local.get 1))))`);
    const code = lowerFunction(mod, 0).code;
    const fusedOps = new Set(FUSED_PAIRS.map(([, , f]) => f));
    let fused = 0;
    for (let pc = 0; pc < code.length; pc += instrLength(code[pc]!, code, pc)) if (fusedOps.has(code[pc]!)) fused++;
    expect(fused).toBeGreaterThan(0);
    const ref = (n: number): bigint => {
      let a = n | 0;
      let l1 = (a + a) | 0;
      let l2 = 0;
      do {
        l2 = (l2 + l1) | 0;
        l1 = (l1 + a) | 0;
        a = (a - 1) | 0;
      } while (a !== 0);
      return BigInt((l2 + l1) >>> 0);
    };
    for (const n of [1, 2, 7, 1000]) expect(call(inst, 0, BigInt(n))).toBe(ref(n));
  });

  it('report the trapping half of a fused pair', async () => {
    // i32.add then i32.load: the load (second half) traps; its own offset is reported.
    const { inst, mod } = await load(`(module (memory 1) (func (export "f") (param i32) (result i32)
      (i32.load (i32.add (local.get 0) (i32.const 4)))))`);
    expect(call(inst, 0, 0n)).toBe(0n);
    let err: unknown;
    try {
      call(inst, 0, 65534n);
    } catch (e) {
      err = e;
    }
    expect(String(err)).toContain('out of bounds memory access');
    const offs = (err as { wasmOffsets?: number[] }).wasmOffsets!;
    // local.get 0 (2 bytes), i32.const 4 (2), i32.add (1), then the load.
    expect(offs).toEqual([mod.codes[0]!.codeStart + 5]);
  });
});

describe('i32 rotates by constants', () => {
  it('match a reference for every count and direction', async () => {
    const ks = Array.from({ length: 40 }, (_, k) => k);
    const fns = ks
      .map(
        (k) =>
          `(func (param i32) (result i32) (i32.rotl (local.get 0) (i32.const ${k}))) (func (param i32) (result i32) (i32.rotr (local.get 0) (i32.const ${k})))`,
      )
      .join('\n');
    const { inst, mod } = await load(`(module ${fns})`);
    expect(Array.from(lowerFunction(mod, 2).code)).toContain(I.I32_ROTLI);
    const rotl = (x: number, k: number): number => ((x << (k & 31)) | (x >>> (32 - (k & 31)))) >>> 0;
    for (const k of ks) {
      for (const x of [0x80000001, 0x12345678, 1, 0xffffffff]) {
        expect(call(inst, 2 * k, BigInt(x)), `rotl ${k}`).toBe(BigInt(rotl(x, k)));
        expect(call(inst, 2 * k + 1, BigInt(x)), `rotr ${k}`).toBe(BigInt(rotl(x, 32 - (k & 31))));
      }
    }
  });
});

describe('i32.eqz of a compare', () => {
  it('negates the compare in place (values, br_if, if; register and immediate forms)', async () => {
    const ops: Array<[string, (a: number, b: number) => boolean]> = [
      ['eq', (a, b) => a === b],
      ['ne', (a, b) => a !== b],
      ['lt_s', (a, b) => (a | 0) < (b | 0)],
      ['lt_u', (a, b) => a >>> 0 < b >>> 0],
      ['gt_s', (a, b) => (a | 0) > (b | 0)],
      ['gt_u', (a, b) => a >>> 0 > b >>> 0],
      ['le_s', (a, b) => (a | 0) <= (b | 0)],
      ['le_u', (a, b) => a >>> 0 <= b >>> 0],
      ['ge_s', (a, b) => (a | 0) >= (b | 0)],
      ['ge_u', (a, b) => a >>> 0 >= b >>> 0],
    ];
    const fns = ops
      .map(
        ([op]) => `(func (param i32 i32) (result i32) (i32.eqz (i32.${op} (local.get 0) (local.get 1))))
        (func (param i32 i32) (result i32) (block (br_if 0 (i32.eqz (i32.${op} (local.get 0) (local.get 1)))) (return (i32.const 7))) (i32.const 9))
        (func (param i32 i32) (result i32) (if (result i32) (i32.eqz (i32.${op} (local.get 0) (i32.const 5))) (then (i32.const 1)) (else (i32.const 0))))
        (func (param i32 i32) (result i32) (i32.eqz (i32.eqz (i32.${op} (i32.const -3) (local.get 1)))))`,
      )
      .join('\n');
    const { inst } = await load(`(module ${fns})`);
    const vals = [0, 1, 5, -3, 0x7fffffff, -0x80000000];
    ops.forEach(([name, f], i) => {
      for (const a of vals) {
        for (const b of vals) {
          const args = [BigInt(a >>> 0), BigInt(b >>> 0)];
          expect(call(inst, 4 * i, ...args), `eqz ${name} ${a} ${b}`).toBe(f(a, b) ? 0n : 1n);
          expect(call(inst, 4 * i + 1, ...args), `br_if eqz ${name} ${a} ${b}`).toBe(f(a, b) ? 7n : 9n);
          expect(call(inst, 4 * i + 2, ...args), `if eqz ${name} ${a} 5`).toBe(f(a, 5) ? 0n : 1n);
          expect(call(inst, 4 * i + 3, ...args), `eqz eqz ${name} -3 ${b}`).toBe(f(-3, b) ? 1n : 0n);
        }
      }
    });
  });
});
