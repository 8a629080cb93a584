/**
 * Differential test: the same modules on every engine and on raw V8 (`WebAssembly` directly) give
 * identical results.
 *
 * - The nowasi guests (tiny sizes): `run()` results and a hash of the final memory, on every engine
 *   plainly and with interrupt checks on (`withCloseOnContextDone(true)`, a far deadline).
 * - Generated modules: seeded random i64 expression trees (integer arithmetic including trapping
 *   division and conversions, float arithmetic folded back with saturating truncations so NaN
 *   payloads cannot differ, memory stores/loads, calls, loops, selects), called with edge-case
 *   inputs. Results compare by bits; traps compare by "trapped or not" against raw V8 and by exact
 *   text (wazero's) across engines.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Context, WasmRuntimeError, newModuleConfig } from '../../src/index.js';
import type { Module } from '../../src/api.js';
import { engines, fingerprint, prng, runtimeFor, wat } from '../helpers.js';

const GUESTS = new URL('../fixtures/guests/nowasi', import.meta.url).pathname;

describe('differential: nowasi guests (tiny) on raw V8 and every engine', () => {
  const files = readdirSync(GUESTS)
    .filter((f) => f.endsWith('.tiny.wasm'))
    .sort();
  for (const f of files) {
    it(`${f} gives the same result and memory everywhere, with and without interrupt checks`, async () => {
      const bytes = new Uint8Array(readFileSync(join(GUESTS, f)));
      const raw = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
      const rawResult = BigInt.asUintN(64, BigInt((raw.exports['run'] as () => bigint | number)()));
      const rawMem = fingerprint(new Uint8Array((raw.exports['memory'] as WebAssembly.Memory).buffer));
      for (const e of engines) {
        for (const interrupts of [false, true]) {
          const r = runtimeFor(e, (c) => c.withCloseOnContextDone(interrupts));
          try {
            const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName('g'));
            const fn = m.exportedFunction('run')!;
            const res = fn.callWithContext(interrupts ? Context.background().withTimeout(600_000) : Context.background());
            const t = fn.definition().resultTypes()[0];
            const bits = t === 0x7f ? BigInt.asUintN(64, BigInt.asIntN(32, res[0]!)) : res[0]!;
            expect({ engine: e.name, interrupts, result: bits, memory: fingerprint(m.memory()!.read(0, m.memory()!.size())!) }).toEqual({
              engine: e.name,
              interrupts,
              result: rawResult,
              memory: rawMem,
            });
          } finally {
            await r.close();
          }
        }
      }
    }, 60_000);
  }
});

// ---- generated modules ----

const BIN_I64 = ['add', 'sub', 'mul', 'div_s', 'div_u', 'rem_s', 'rem_u', 'and', 'or', 'xor', 'shl', 'shr_s', 'shr_u', 'rotl', 'rotr'];
const CMP_I64 = ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'ge_u'];
const UN_I64 = ['clz', 'ctz', 'popcnt'];
const BIN_F64 = ['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign'];
const UN_F64 = ['sqrt', 'floor', 'ceil', 'trunc', 'nearest', 'abs', 'neg'];

/** A module of `n` functions `(param i64 i64) (result i64)`; function k may call functions < k. */
function generate(seed: number, n: number): string {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const konst = (): string => {
    const r = rnd();
    if (r < 0.3) return String(Math.floor(rnd() * 16) - 8);
    if (r < 0.5) return pick(['0', '1', '-1', '63', '64', '0x7fffffffffffffff', '-0x8000000000000000']);
    return String(Math.floor(rnd() * 0xffffffff) - 0x7fffffff);
  };
  const f64 = (depth: number, k: number): string => {
    const r = rnd();
    if (depth <= 0 || r < 0.25)
      return pick([
        `(f64.convert_i64_s ${i64(depth - 1, k)})`,
        `(f64.convert_i64_u ${i64(depth - 1, k)})`,
        `(f64.const ${pick(['0', '-0', '1.5', 'inf', '-inf', 'nan', '1e300', '-3.25'])})`,
      ]);
    if (r < 0.6) return `(f64.${pick(BIN_F64)} ${f64(depth - 1, k)} ${f64(depth - 1, k)})`;
    if (r < 0.8) return `(f64.${pick(UN_F64)} ${f64(depth - 1, k)})`;
    return `(f64.promote_f32 (f32.demote_f64 ${f64(depth - 1, k)}))`;
  };
  const i64 = (depth: number, k: number): string => {
    const r = rnd();
    if (depth <= 0 || r < 0.15) return pick([`(local.get 0)`, `(local.get 1)`, `(i64.const ${konst()})`]);
    if (r < 0.45) return `(i64.${pick(BIN_I64)} ${i64(depth - 1, k)} ${i64(depth - 1, k)})`;
    if (r < 0.52) return `(i64.extend_i32_u (i64.${pick(CMP_I64)} ${i64(depth - 1, k)} ${i64(depth - 1, k)}))`;
    if (r < 0.58) return `(i64.${pick(UN_I64)} ${i64(depth - 1, k)})`;
    if (r < 0.66) return `(i64.trunc_sat_f64_s ${f64(depth - 1, k)})`;
    if (r < 0.69) return `(i64.trunc_f64_s ${f64(depth - 1, k)})`; // may trap: overflow or NaN
    if (r < 0.72) return `(i64.extend_i32_s (i32.wrap_i64 ${i64(depth - 1, k)}))`;
    if (r < 0.76) return `(i64.extend16_s ${i64(depth - 1, k)})`;
    if (r < 0.82) {
      // Store then load back at a masked address (memory effects are part of the result).
      const addr = `(i32.and (i32.wrap_i64 ${i64(depth - 1, k)}) (i32.const 0xfff8))`;
      return `(block (result i64) (i64.store (local.tee 2 ${addr}) ${i64(depth - 1, k)}) (i64.load8_s offset=3 (local.get 2)))`;
    }
    if (r < 0.88 && k > 0) return `(call $f${Math.floor(rnd() * k)} ${i64(depth - 1, k)} ${i64(depth - 1, k)})`;
    if (r < 0.93) return `(select ${i64(depth - 1, k)} ${i64(depth - 1, k)} (i64.lt_s ${i64(depth - 1, k)} (i64.const 0)))`;
    // A bounded loop: acc = acc * 31 + x, (x & 15) + 1 times.
    return `(block (result i64)
      (local.set 3 (i64.const 0)) (local.set 4 (i32.add (i32.and (i32.wrap_i64 ${i64(depth - 1, k)}) (i32.const 15)) (i32.const 1)))
      (loop $l (local.set 3 (i64.add (i64.mul (local.get 3) (i64.const 31)) (i64.extend_i32_u (local.get 4))))
        (br_if $l (local.tee 4 (i32.sub (local.get 4) (i32.const 1)))))
      (local.get 3))`;
  };
  const funcs: string[] = [];
  for (let k = 0; k < n; k++) {
    funcs.push(`(func $f${k} (export "f${k}") (param i64 i64) (result i64) (local i32 i64 i32) ${i64(4, k)})`);
  }
  return `(module (memory (export "memory") 1) ${funcs.join('\n')})`;
}

const INPUTS: ReadonlyArray<readonly [bigint, bigint]> = [
  [0n, 0n],
  [1n, -1n],
  [-1n, 2n],
  [0x7fffffffffffffffn, -0x8000000000000000n],
  [123456789n, 987654321n],
  [-42n, 0n],
];

type Outcome = string;

function rawOutcomes(bytes: Uint8Array, n: number): { results: Outcome[]; memory: string } {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const results: Outcome[] = [];
  for (let k = 0; k < n; k++) {
    const f = inst.exports[`f${k}`] as (a: bigint, b: bigint) => bigint;
    for (const [a, b] of INPUTS) {
      try {
        results.push(`ok ${BigInt.asUintN(64, f(a, b))}`);
      } catch (e) {
        if (!(e instanceof WebAssembly.RuntimeError)) throw e;
        results.push('trap');
      }
    }
  }
  return { results, memory: fingerprint(new Uint8Array((inst.exports['memory'] as WebAssembly.Memory).buffer)) };
}

function engineOutcomes(m: Module, n: number): { results: Outcome[]; traps: string[]; memory: string } {
  const results: Outcome[] = [];
  const traps: string[] = [];
  for (let k = 0; k < n; k++) {
    const f = m.exportedFunction(`f${k}`)!;
    for (const [a, b] of INPUTS) {
      try {
        results.push(`ok ${f.call(BigInt.asUintN(64, a), BigInt.asUintN(64, b))[0]}`);
        traps.push('');
      } catch (e) {
        if (!(e instanceof WasmRuntimeError)) throw e;
        results.push('trap');
        traps.push(e.trap);
      }
    }
  }
  return { results, traps, memory: fingerprint(m.memory()!.read(0, m.memory()!.size())!) };
}

describe('differential: generated modules on raw V8 and every engine', () => {
  const MODULES = 24;
  const FUNCS = 6;
  it(`${MODULES} seeded modules of ${FUNCS} functions agree on results, traps and memory`, async () => {
    let compared = 0;
    let trapped = 0;
    for (let seed = 1; seed <= MODULES; seed++) {
      const bytes = await wat(generate(seed * 7919, FUNCS));
      const raw = rawOutcomes(bytes, FUNCS);
      let firstTraps: string[] | undefined;
      for (const e of engines) {
        const r = runtimeFor(e);
        try {
          const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName('gen'));
          const got = engineOutcomes(m, FUNCS);
          expect({ seed, engine: e.name, results: got.results, memory: got.memory }).toEqual({
            seed,
            engine: e.name,
            results: raw.results,
            memory: raw.memory,
          });
          if (firstTraps === undefined) firstTraps = got.traps;
          else expect({ seed, engine: e.name, traps: got.traps }).toEqual({ seed, engine: e.name, traps: firstTraps });
        } finally {
          await r.close();
        }
      }
      compared += raw.results.length;
      trapped += raw.results.filter((x) => x === 'trap').length;
    }
    // The generator must exercise both paths.
    expect(compared).toBe(MODULES * FUNCS * INPUTS.length);
    expect(trapped).toBeGreaterThan(0);
    expect(trapped).toBeLessThan(compared);
  }, 120_000);
});
