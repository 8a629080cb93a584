import { readFileSync } from 'node:fs';
import wabtInit from 'wabt';
import { beforeAll, describe, expect, it } from 'vitest';
import { Context } from '../api/context.js';
import { ExitError, WasmRuntimeError } from '../api/errors.js';
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV2 } from '../api/features.js';
import type { Module as ApiModule } from '../api/module.js';
import { decodeModule } from '../binary/decoder.js';
import { newFunctionDefinition } from '../store/definition.js';
import type { Engine, EngineInstance, ExternValue, RawHostFunction } from '../store/engine.js';
import { validateModule } from '../validate/validate.js';
import { newInterpreterEngine } from './engine.js';
import { I } from './ir.js';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Wabt;
beforeAll(async () => {
  wabt = await wabtInit();
});

const FEATURES = CoreFeaturesV2 | CoreFeaturesTailCall | CoreFeaturesThreads;
const ctx = Context.background();
const owner = { api: {} as ApiModule };

async function inst(
  engine: Engine,
  wat: string,
  imports: ExternValue[] = [],
): Promise<{ i: EngineInstance; exp: (name: string) => number }> {
  const bin = wabt.parseWat('t.wat', wat, { threads: true, tail_call: true }).toBinary({}).buffer;
  const mod = decodeModule(new Uint8Array(bin), FEATURES);
  validateModule(mod, FEATURES);
  const code = await engine.compile(mod, { features: FEATURES, debugInfo: false, listeners: undefined });
  const i = engine.instantiate(code, imports, owner, { features: FEATURES, memoryLimitPages: 65536, memoryCapacityFromMax: false, ctx });
  const exp = (name: string): number => {
    const e = mod.exports.find((x) => x.name === name);
    if (e === undefined) throw new Error(`no export ${name}`);
    return e.index;
  };
  return { i, exp };
}

function call(x: { i: EngineInstance; exp: (name: string) => number }, name: string, ...params: bigint[]): bigint[] {
  const idx = x.exp(name);
  const f = x.i.functions[idx]!;
  const stack = new BigUint64Array(Math.max(params.length, f.type.results.length, 1));
  params.forEach((p, j) => (stack[j] = BigInt.asUintN(64, p)));
  x.i.call(idx, stack, ctx);
  return Array.from(stack.slice(0, f.type.results.length));
}

function trapOf(fn: () => unknown): WasmRuntimeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof WasmRuntimeError) return e;
    throw e;
  }
  throw new Error('no trap');
}

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

describe('run loop opcode numbering', () => {
  it('uses the same numbers as ir.ts for every named case', () => {
    const src = readFileSync(new URL('./run.ts', import.meta.url), 'utf8') + readFileSync(new URL('./rare.ts', import.meta.url), 'utf8');
    const re = /case (\d+):(?: \{)?\n\s+\/\/ ([A-Z0-9_, ]+)\n/g;
    let n = 0;
    for (const m of src.matchAll(re)) {
      const num = Number(m[1]);
      const names = m[2]!.split(',').map((s) => s.trim());
      // A combined case lists its names in order over consecutive preceding labels; check the first.
      const first = names.length === 1 ? names[0]! : undefined;
      if (first !== undefined) {
        expect(I[first as keyof typeof I], first).toBe(num);
        n++;
      }
    }
    expect(n).toBeGreaterThan(150);
  });
});

describe('interpreter: numeric', () => {
  it('computes i32 arithmetic, immediates and compare-branches', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module
        (func (export "sum") (param i32) (result i32) (local i32)
          (block (loop
            (br_if 1 (i32.ge_s (i32.const 0) (local.get 0)))
            (local.set 1 (i32.add (local.get 1) (local.get 0)))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br 0)))
          (local.get 1))
        (func (export "ops") (param i32 i32) (result i32)
          (i32.xor (i32.rotl (local.get 0) (local.get 1)) (i32.shr_u (local.get 0) (i32.const 3))))
        (func (export "divs") (param i32 i32) (result i32 i32 i32 i32)
          (i32.div_s (local.get 0) (local.get 1)) (i32.rem_s (local.get 0) (local.get 1))
          (i32.div_u (local.get 0) (local.get 1)) (i32.rem_u (local.get 0) (local.get 1))))`,
    );
    expect(call(x, 'sum', 100n)).toEqual([5050n]);
    expect(call(x, 'ops', 0x80000001n, 1n)).toEqual([BigInt((((0x80000001 << 1) | (0x80000001 >>> 31)) ^ (0x80000001 >>> 3)) >>> 0)]);
    expect(call(x, 'divs', u64(-7n) & 0xffffffffn, 2n)).toEqual([u64(-3n) & 0xffffffffn, u64(-1n) & 0xffffffffn, 2147483644n, 1n]);
    expect(trapOf(() => call(x, 'divs', 0x80000000n, 0xffffffffn)).trap).toBe('integer overflow');
    expect(trapOf(() => call(x, 'divs', 1n, 0n)).trap).toBe('integer divide by zero');
  });

  it('computes i64 arithmetic exactly (compared with BigInt)', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module
        ${['add', 'sub', 'mul', 'div_u', 'rem_u', 'div_s', 'rem_s', 'and', 'or', 'xor', 'shl', 'shr_s', 'shr_u', 'rotl', 'rotr']
          .map((o) => `(func (export "${o}") (param i64 i64) (result i64) (i64.${o} (local.get 0) (local.get 1)))`)
          .join('\n')}
        ${['lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u', 'eq', 'ne']
          .map((o) => `(func (export "${o}") (param i64 i64) (result i32) (i64.${o} (local.get 0) (local.get 1)))`)
          .join('\n')})`,
    );
    let seed = 0x1234567n;
    const rnd = (): bigint => {
      seed = u64(seed * 6364136223846793005n + 1442695040888963407n);
      const shift = seed % 64n;
      return u64(seed >> shift);
    };
    const s = (v: bigint): bigint => BigInt.asIntN(64, v);
    const ref: Record<string, (a: bigint, b: bigint) => bigint> = {
      add: (a, b) => u64(a + b),
      sub: (a, b) => u64(a - b),
      mul: (a, b) => u64(a * b),
      div_u: (a, b) => a / b,
      rem_u: (a, b) => a % b,
      div_s: (a, b) => u64(s(a) / s(b)),
      rem_s: (a, b) => u64(s(a) % s(b)),
      and: (a, b) => a & b,
      or: (a, b) => a | b,
      xor: (a, b) => a ^ b,
      shl: (a, b) => u64(a << (b & 63n)),
      shr_s: (a, b) => u64(s(a) >> (b & 63n)),
      shr_u: (a, b) => a >> (b & 63n),
      rotl: (a, b) => u64((a << (b & 63n)) | (a >> ((64n - (b & 63n)) & 63n))),
      rotr: (a, b) => u64((a >> (b & 63n)) | (a << ((64n - (b & 63n)) & 63n))),
      lt_s: (a, b) => (s(a) < s(b) ? 1n : 0n),
      lt_u: (a, b) => (a < b ? 1n : 0n),
      gt_s: (a, b) => (s(a) > s(b) ? 1n : 0n),
      gt_u: (a, b) => (a > b ? 1n : 0n),
      le_s: (a, b) => (s(a) <= s(b) ? 1n : 0n),
      le_u: (a, b) => (a <= b ? 1n : 0n),
      ge_s: (a, b) => (s(a) >= s(b) ? 1n : 0n),
      ge_u: (a, b) => (a >= b ? 1n : 0n),
      eq: (a, b) => (a === b ? 1n : 0n),
      ne: (a, b) => (a !== b ? 1n : 0n),
    };
    for (let k = 0; k < 300; k++) {
      const a = rnd();
      const b = k % 7 === 0 ? a | 1n : rnd() | 1n;
      for (const [name, f] of Object.entries(ref)) {
        if (name === 'div_s' && s(a) === -(2n ** 63n) && s(b) === -1n) continue;
        expect(call(x, name, a, b), `${name}(${a}, ${b})`).toEqual([f(a, b)]);
      }
    }
  });

  it('rounds i64 → f32 once (no double rounding) and converts unsigned values', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module
        (func (export "s") (param i64) (result f32) (f32.convert_i64_s (local.get 0)))
        (func (export "u") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
        (func (export "ud") (param i64) (result f64) (f64.convert_i64_u (local.get 0)))
        (func (export "t") (param f64) (result i64) (i64.trunc_f64_s (local.get 0))))`,
    );
    const f32bits = (v: number): bigint => {
      const b = new DataView(new ArrayBuffer(4));
      b.setFloat32(0, v, true);
      return BigInt(b.getUint32(0, true));
    };
    // 2^53 + 2^29 + 1 rounds up in f32 only without the intermediate double rounding.
    expect(call(x, 's', 0x0020000020000001n)).toEqual([f32bits(9007200328482816)]);
    expect(call(x, 'u', 0xffffffffffffffffn)).toEqual([f32bits(18446744073709551616)]);
    expect(call(x, 's', u64(-0x0020000020000001n))).toEqual([f32bits(-9007200328482816)]);
    const f64bits = (v: number): bigint => new BigUint64Array(new Float64Array([v]).buffer)[0]!;
    expect(call(x, 'ud', 0x8000000000000001n)).toEqual([f64bits(9223372036854775808)]);
    expect(call(x, 't', f64bits(-9007199254740993))).toEqual([u64(-9007199254740992n)]);
    expect(trapOf(() => call(x, 't', f64bits(NaN))).trap).toBe('invalid conversion to integer');
    expect(trapOf(() => call(x, 't', f64bits(2 ** 63))).trap).toBe('integer overflow');
  });

  it('preserves NaN payloads bit for bit through locals, globals, memory, select and reinterpret', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module
        (memory 1)
        (global $g (mut f32) (f32.const 0))
        (global $h (mut f64) (f64.const 0))
        (func (export "f32") (param f32 i32) (result f32) (local f32)
          (local.set 2 (local.get 0))
          (global.set $g (local.get 2))
          (f32.store (i32.const 8) (global.get $g))
          (select (f32.load (i32.const 8)) (f32.const 1) (local.get 1)))
        (func (export "f64") (param f64) (result f64)
          (global.set $h (f64.neg (f64.abs (local.get 0))))
          (f64.store (i32.const 16) (global.get $h))
          (f64.reinterpret_i64 (i64.reinterpret_f64 (f64.load (i32.const 16)))))
        (func (export "copysign") (param f32 f32) (result f32) (f32.copysign (local.get 0) (local.get 1))))`,
    );
    expect(call(x, 'f32', 0x7fa00001n, 1n)).toEqual([0x7fa00001n]);
    expect(call(x, 'f32', 0xffa00001n, 1n)).toEqual([0xffa00001n]);
    expect(call(x, 'f64', 0x7ff4000000000001n)).toEqual([0xfff4000000000001n]);
    expect(call(x, 'copysign', 0x7fa00001n, 0x80000000n)).toEqual([0xffa00001n]);
  });

  it('implements nearest (ties to even), min/max signed zeros and trunc_sat', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module
        (func (export "nearest") (param f64) (result f64) (f64.nearest (local.get 0)))
        (func (export "min") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
        (func (export "max") (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1)))
        (func (export "sat") (param f64) (result i32) (i32.trunc_sat_f64_u (local.get 0))))`,
    );
    const b = (v: number): bigint => new BigUint64Array(new Float64Array([v]).buffer)[0]!;
    expect(call(x, 'nearest', b(2.5))).toEqual([b(2)]);
    expect(call(x, 'nearest', b(-3.5))).toEqual([b(-4)]);
    expect(call(x, 'nearest', b(-0.5))).toEqual([b(-0)]);
    expect(call(x, 'min', b(0), b(-0))).toEqual([b(-0)]);
    expect(call(x, 'max', b(-0), b(0))).toEqual([b(0)]);
    expect(call(x, 'sat', b(-5))).toEqual([0n]);
    expect(call(x, 'sat', b(1e12))).toEqual([0xffffffffn]);
  });
});

describe('interpreter: control and lowering', () => {
  it('keeps deferred local reads correct across local.set and swaps', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module
        (func (export "swap") (param i32 i32) (result i32 i32)
          (local.get 0) (local.get 1) (local.set 0) (local.set 1) (local.get 0) (local.get 1))
        (func (export "tee") (param i32) (result i32)
          (local.get 0) (local.tee 0 (i32.add (local.get 0) (i32.const 10))) (i32.mul))
        (func (export "ifsel") (param i32) (result i32) (local i32)
          (local.set 1 (i32.const 5))
          (local.get 1)
          (if (local.get 0) (then (local.set 1 (i32.const 7))))
          (local.get 1)
          (i32.sub)))`,
    );
    expect(call(x, 'swap', 1n, 2n)).toEqual([2n, 1n]);
    expect(call(x, 'tee', 3n)).toEqual([39n]);
    expect(call(x, 'ifsel', 1n)).toEqual([u64(-2n) & 0xffffffffn]);
    expect(call(x, 'ifsel', 0n)).toEqual([0n]);
  });

  it('passes values through br, br_if, br_table, block params and multi-value returns', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module
        (func (export "table") (param i32) (result i32)
          (block (result i32) (block (result i32) (block (result i32)
            (br_table 0 1 2 (i32.const 100) (local.get 0)))
            (i32.add (i32.const 1))) (i32.add (i32.const 2))))
        (func (export "brif") (param i32) (result i32 i64)
          (block (result i32 i64) (br_if 0 (local.get 0) (i64.const 7) (local.get 0)) (drop) (drop) (i32.const 9) (i64.const 9)))
        (func (export "params") (param i32) (result i32)
          (local.get 0) (i32.const 3)
          (block (param i32 i32) (result i32) (i32.mul))
          (loop (param i32) (result i32) (i32.const 1) (i32.add)))
        (func (export "ret") (param i32) (result i32 i32)
          (if (local.get 0) (then (return (i32.const 1) (local.get 0))))
          (i32.const 2) (i32.const 3)))`,
    );
    expect(call(x, 'table', 0n)).toEqual([103n]);
    expect(call(x, 'table', 1n)).toEqual([102n]);
    expect(call(x, 'table', 7n)).toEqual([100n]);
    expect(call(x, 'brif', 4n)).toEqual([4n, 7n]);
    expect(call(x, 'brif', 0n)).toEqual([9n, 9n]);
    expect(call(x, 'params', 5n)).toEqual([16n]);
    expect(call(x, 'ret', 5n)).toEqual([1n, 5n]);
    expect(call(x, 'ret', 0n)).toEqual([2n, 3n]);
  });

  it('traps deep recursion with stack overflow and keeps working afterwards', async () => {
    const engine = newInterpreterEngine();
    const x = await inst(
      engine,
      `(module
        (func $f (export "f") (param i64) (result i64) (i64.add (call $f (local.get 0)) (i64.const 1)))
        (func $g (export "fac") (param i64) (result i64)
          (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
            (else (i64.mul (local.get 0) (call $g (i64.sub (local.get 0) (i64.const 1))))))))`,
    );
    const e = trapOf(() => call(x, 'f', 1n));
    expect(e.trap).toBe('stack overflow');
    expect(e.message).toContain('wasm stack trace:');
    expect(e.stackFrames.length).toBe(31);
    expect(e.stackFrames[30]).toBe('... maybe followed by omitted frames');
    expect(call(x, 'fac', 20n)).toEqual([2432902008176640000n]);
  });

  it('runs tail calls in constant frame space', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module
        (type $t (func (param i64 i64) (result i64)))
        (table funcref (elem $even $odd))
        (func $even (export "even") (param i64 i64) (result i64)
          (if (result i64) (i64.eqz (local.get 0)) (then (local.get 1))
            (else (return_call $odd (i64.sub (local.get 0) (i64.const 1)) (i64.add (local.get 1) (i64.const 1))))))
        (func $odd (param i64 i64) (result i64)
          (return_call_indirect (type $t) (local.get 0) (local.get 1) (i32.const 0))))`,
    );
    expect(call(x, 'even', 1_000_000n, 0n)).toEqual([1_000_000n]);
  });
});

describe('interpreter: traps', () => {
  it('reports the trap, frames and byte offsets', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module (memory 1)
        (func $inner (param i32) (result i32) (i32.load offset=4 (local.get 0)))
        (func (export "outer") (param i32) (result i32) (call $inner (local.get 0)))
        (func (export "unreachable") unreachable)
        (func (export "indirect") (param i32) (call_indirect (local.get 0)))
        (table 2 funcref) (elem (i32.const 0) $inner))`,
    );
    expect(call(x, 'outer', 65528n)).toEqual([0n]);
    const e = trapOf(() => call(x, 'outer', 65529n));
    expect(e.trap).toBe('out of bounds memory access');
    expect(e.stackFrames).toEqual(['.$0(i32) i32', '.$1(i32) i32']);
    const offs = (e as WasmRuntimeError & { wasmOffsets?: number[] }).wasmOffsets!;
    expect(offs.length).toBe(2);
    expect(offs[0]).toBeGreaterThan(0);
    expect(trapOf(() => call(x, 'outer', 0xfffffffcn)).trap).toBe('out of bounds memory access');
    expect(trapOf(() => call(x, 'unreachable')).trap).toBe('unreachable');
    expect(trapOf(() => call(x, 'indirect', 0n)).trap).toBe('indirect call type mismatch');
    expect(trapOf(() => call(x, 'indirect', 1n)).trap).toBe('invalid table access');
    expect(trapOf(() => call(x, 'indirect', 5n)).trap).toBe('invalid table access');
  });
});

describe('interpreter: host functions and linking', () => {
  function hostInstance(engine: Engine, fns: Array<{ params: number[]; results: number[]; fn: RawHostFunction }>): EngineInstance {
    return engine.instantiateHost(
      fns.map((f, index) => {
        const type = { params: f.params, results: f.results };
        const definition = newFunctionDefinition({
          moduleName: 'host',
          index,
          importName: undefined,
          exportNames: [],
          name: `h${index}`,
          type,
          paramNames: [],
          resultNames: [],
          hostFunction: f.fn,
        });
        return { type, definition, fn: f.fn };
      }),
      owner,
    );
  }

  it('calls host functions with raw values and supports re-entrant calls', async () => {
    const engine = newInterpreterEngine();
    let guest: { i: EngineInstance; exp: (n: string) => number } | undefined;
    const host = hostInstance(engine, [
      {
        params: [0x7f, 0x7e],
        results: [0x7e],
        fn: (_ctx, _caller, stack) => {
          const n = stack[0]!;
          // Re-enter the guest: fib(n) computed by wasm, plus the i64 param.
          const r = n === 0n ? 0n : call(guest!, 'fib', n - 1n)[0]!;
          stack[0] = u64(r + stack[1]!);
        },
      },
    ]);
    guest = await inst(
      engine,
      `(module (import "h" "f" (func $h (param i32 i64) (result i64)))
        (func (export "fib") (param i64) (result i64)
          (if (result i64) (i64.lt_u (local.get 0) (i64.const 2)) (then (local.get 0))
            (else (call $h (i32.wrap_i64 (local.get 0)) (i64.const 0)))))
        (func (export "viaHost") (param i32) (result i64) (call $h (local.get 0) (i64.const -1))))`,
      [{ kind: 0, value: host.functions[0]! }],
    );
    // fib via host: fib(n) = host(n) = fib(n-1)... a chain of host/wasm re-entries.
    expect(call(guest, 'fib', 10n)).toEqual([1n]);
    expect(call(guest, 'viaHost', 0n)).toEqual([u64(-1n)]);
  });

  it('propagates host errors unchanged and stays usable', async () => {
    const engine = newInterpreterEngine();
    const host = hostInstance(engine, [
      {
        params: [],
        results: [],
        fn: () => {
          throw new ExitError(3);
        },
      },
    ]);
    const x = await inst(
      engine,
      `(module (import "h" "exit" (func $e))
        (func $deep (param i32) (if (local.get 0) (then (call $deep (i32.sub (local.get 0) (i32.const 1)))) (else (call $e))))
        (func (export "run") (call $deep (i32.const 50)))
        (func (export "ok") (result i32) (i32.const 42)))`,
      [{ kind: 0, value: host.functions[0]! }],
    );
    expect(() => call(x, 'run')).toThrow(ExitError);
    expect(call(x, 'ok')).toEqual([42n]);
  });

  it('shares memories, globals, tables and functions between instances', async () => {
    const engine = newInterpreterEngine();
    const a = await inst(
      engine,
      `(module (memory (export "mem") 1 5) (global (export "g") (mut i64) (i64.const 5))
        (table (export "tab") 2 funcref) (func $seven (result i32) (i32.const 7)) (elem (i32.const 1) $seven)
        (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))`,
    );
    const ex = (n: string, k: number): ExternValue => {
      const i = k === 2 ? 0 : 0;
      if (k === 1) return { kind: 1, value: a.i.tables[i]! };
      if (k === 2) return { kind: 2, value: a.i.memories[i]! };
      if (k === 3) return { kind: 3, value: a.i.globals[i]! };
      throw new Error(n);
    };
    const b = await inst(
      engine,
      `(module (import "a" "mem" (memory 1)) (import "a" "g" (global $g (mut i64))) (import "a" "tab" (table 2 funcref))
        (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)) (global.set $g (i64.const -9)))
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
        (func (export "callt") (result i32) (call_indirect (result i32) (i32.const 1))))`,
      [ex('mem', 2), ex('g', 3), ex('tab', 1)],
    );
    call(b, 'poke', 100n, 1234n);
    expect(call(a, 'load', 100n)).toEqual([1234n]);
    expect(a.i.globals[0]!.get()).toBe(u64(-9n));
    expect(call(b, 'callt')).toEqual([7n]);
    expect(call(b, 'grow', 2n)).toEqual([1n]);
    expect(call(b, 'grow', 10n)).toEqual([0xffffffffn]);
    expect(a.i.memories[0]!.pages()).toBe(3);
    call(b, 'poke', 3n * 65536n - 4n, 5n);
    expect(call(a, 'load', 3n * 65536n - 4n)).toEqual([5n]);
  });

  it('fails instantiation on out-of-bounds segments, keeping earlier writes (2.0)', async () => {
    const engine = newInterpreterEngine();
    const a = await inst(engine, `(module (memory (export "m") 1))`);
    await expect(
      inst(engine, `(module (import "a" "m" (memory 1)) (data (i32.const 0) "hi") (data (i32.const 65535) "xx"))`, [
        { kind: 2, value: a.i.memories[0]! },
      ]),
    ).rejects.toThrow('out of bounds memory access');
    expect(a.i.memories[0]!.api.readByte(0)).toBe(0x68);
  });
});

describe('interpreter: bulk memory, reference types and atomics', () => {
  it('implements memory.fill/copy/init and table operations with bounds checks', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module (memory 1) (data $d "abcdef") (table $t 2 externref) (elem $e func $f) (table $ft 1 funcref)
        (func $f (result i32) (i32.const 3))
        (func (export "bulk") (result i32)
          (memory.init $d (i32.const 10) (i32.const 1) (i32.const 4))
          (memory.copy (i32.const 20) (i32.const 10) (i32.const 4))
          (memory.fill (i32.const 22) (i32.const 0x7a) (i32.const 1))
          (i32.load (i32.const 20)))
        (func (export "oob") (memory.fill (i32.const 65535) (i32.const 0) (i32.const 2)))
        (func (export "tables") (param externref) (result i32)
          (table.set $t (i32.const 1) (local.get 0))
          (drop (table.grow $t (ref.null extern) (i32.const 3)))
          (table.init $ft $e (i32.const 0) (i32.const 0) (i32.const 1))
          (i32.add (table.size $t) (call_indirect $ft (result i32) (i32.const 0))))
        (func (export "get") (param i32) (result externref) (table.get $t (local.get 0))))`,
    );
    expect(call(x, 'bulk')).toEqual([BigInt(0x657a6362)]);
    expect(trapOf(() => call(x, 'oob')).trap).toBe('out of bounds memory access');
    expect(call(x, 'tables', 77n)).toEqual([8n]);
    expect(call(x, 'get', 1n)).toEqual([77n]);
    expect(call(x, 'get', 0n)).toEqual([0n]);
    expect(trapOf(() => call(x, 'get', 5n)).trap).toBe('invalid table access');
  });

  it('runs atomics and rejects wait on unshared memory', async () => {
    const x = await inst(
      newInterpreterEngine(),
      `(module (memory 1 1 shared)
        (func (export "rmw") (result i64)
          (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 5)))
          (drop (i64.atomic.rmw.cmpxchg (i32.const 8) (i64.const 0) (i64.const -2)))
          (i64.add (i64.extend_i32_u (i32.atomic.load (i32.const 0))) (i64.atomic.load (i32.const 8))))
        (func (export "unaligned") (result i32) (i32.atomic.load (i32.const 2)))
        (func (export "wait") (param i32) (result i32) (memory.atomic.wait32 (i32.const 0) (local.get 0) (i64.const 0))))`,
    );
    const unshared = await inst(
      newInterpreterEngine(),
      `(module (memory 1) (func (export "wait") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0))))`,
    );
    expect(call(x, 'rmw')).toEqual([3n]);
    expect(trapOf(() => call(x, 'unaligned')).trap).toBe('unaligned atomic');
    expect(call(x, 'wait', 5n)).toEqual([2n]);
    expect(call(x, 'wait', 6n)).toEqual([1n]);
    expect(trapOf(() => call(unshared, 'wait')).trap).toBe('expected shared memory');
  });
});
