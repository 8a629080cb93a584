/**
 * Instruction semantics: ONE table of cases, run on every engine twice — plainly, and with interrupt
 * checks on (`withCloseOnContextDone(true)` and a far deadline on every call), since the checks an
 * engine inserts at function entries and loop heads must not change a single result.
 *
 * Semantics fixed here (both engines, the spec's): integer arithmetic exact to the bit (compared with
 * BigInt), float conversions rounded once, `nearest` ties to even, `min`/`max` ordering signed zeros;
 * values carried by branches, block params and multi-value returns; tail calls in constant stack;
 * bulk memory and table operations with their bounds traps; atomics on shared memory, with
 * `unaligned atomic` and `expected shared memory` traps.
 */
import { describe, expect, it } from 'vitest';
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV2 } from '../../src/api.js';
import type { Module } from '../../src/api.js';
import { Context, newModuleConfig, type WasmRuntimeError } from '../../src/index.js';
import { engines, runtimeFor, trapOf, wat } from '../helpers.js';

interface Env {
  readonly m: Module;
  /** Calls export `name` (with the mode's context) and returns its raw results. */
  readonly call: (name: string, ...params: bigint[]) => bigint[];
  /** The trap export `name` ends with. */
  readonly trap: (name: string, ...params: bigint[]) => WasmRuntimeError;
}

interface Case {
  readonly name: string;
  /** The guest, instantiated as module `m`. */
  readonly wat: string;
  readonly run: (env: Env) => void;
}

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const u32 = (v: bigint): bigint => BigInt.asUintN(32, v);
const f32bits = (v: number): bigint => {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, v, true);
  return BigInt(b.getUint32(0, true));
};
const f64bits = (v: number): bigint => new BigUint64Array(new Float64Array([v]).buffer)[0]!;

const I64_BINARY = ['add', 'sub', 'mul', 'div_u', 'rem_u', 'div_s', 'rem_s', 'and', 'or', 'xor', 'shl', 'shr_s', 'shr_u', 'rotl', 'rotr'];
const I64_COMPARE = ['lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u', 'eq', 'ne'];

const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const I64_REFERENCE: Record<string, (a: bigint, b: bigint) => bigint> = {
  add: (a, b) => u64(a + b),
  sub: (a, b) => u64(a - b),
  mul: (a, b) => u64(a * b),
  div_u: (a, b) => a / b,
  rem_u: (a, b) => a % b,
  div_s: (a, b) => u64(s64(a) / s64(b)),
  rem_s: (a, b) => u64(s64(a) % s64(b)),
  and: (a, b) => a & b,
  or: (a, b) => a | b,
  xor: (a, b) => a ^ b,
  shl: (a, b) => u64(a << (b & 63n)),
  shr_s: (a, b) => u64(s64(a) >> (b & 63n)),
  shr_u: (a, b) => a >> (b & 63n),
  rotl: (a, b) => u64((a << (b & 63n)) | (a >> ((64n - (b & 63n)) & 63n))),
  rotr: (a, b) => u64((a >> (b & 63n)) | (a << ((64n - (b & 63n)) & 63n))),
  lt_s: (a, b) => (s64(a) < s64(b) ? 1n : 0n),
  lt_u: (a, b) => (a < b ? 1n : 0n),
  gt_s: (a, b) => (s64(a) > s64(b) ? 1n : 0n),
  gt_u: (a, b) => (a > b ? 1n : 0n),
  le_s: (a, b) => (s64(a) <= s64(b) ? 1n : 0n),
  le_u: (a, b) => (a <= b ? 1n : 0n),
  ge_s: (a, b) => (s64(a) >= s64(b) ? 1n : 0n),
  ge_u: (a, b) => (a >= b ? 1n : 0n),
  eq: (a, b) => (a === b ? 1n : 0n),
  ne: (a, b) => (a !== b ? 1n : 0n),
};

/** Loops shaped to stress interrupt checks at loop heads; results are compared with raw V8. */
const LOOPS = `(module
  (func (export "nested") (param i32) (result i32) (local i32 i32)
    (block $out
      (loop $outer
        (local.set 2 (i32.const 0))
        (loop $inner
          (local.set 1 (i32.add (local.get 1) (local.get 2)))
          (br_if $out (i32.gt_u (local.get 1) (i32.const 100000)))
          (local.set 2 (i32.add (local.get 2) (i32.const 1)))
          (br_table $inner $inner $outer $out (i32.rem_u (local.get 2) (i32.const 4))))))
    (local.get 1))
  (func (export "params") (param i32) (result i32 i32)
    (i32.const 0) (local.get 0)
    (loop $l (param i32 i32) (result i32 i32)
      ;; (acc, n) -> (acc + n, n - 1) until n == 0
      (local.set 0)
      (i32.add (local.get 0))
      (if (param i32) (result i32 i32) (i32.eqz (local.get 0))
        (then (local.get 0))
        (else (i32.sub (local.get 0) (i32.const 1)) (br $l)))))
  (func (export "ret") (param i32) (result i32)
    (loop $l (if (i32.ge_u (local.get 0) (i32.const 70000)) (then (return (local.get 0))))
      (local.set 0 (i32.add (local.get 0) (i32.const 3))) (br $l))
    (i32.const -1)))`;

/** Raw V8's exports of LOOPS (built once: `run` is synchronous). */
let loopsOnV8: Record<string, (...a: number[]) => unknown> | undefined;

const cases: Case[] = [
  {
    name: 'i32 arithmetic, rotation and shifts, signed and unsigned division and remainder; division traps',
    wat: `(module
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
    run({ call, trap }) {
      expect(call('sum', 100n)).toEqual([5050n]);
      expect(call('ops', 0x80000001n, 1n)).toEqual([BigInt((((0x80000001 << 1) | (0x80000001 >>> 31)) ^ (0x80000001 >>> 3)) >>> 0)]);
      expect(call('divs', u32(-7n), 2n)).toEqual([u32(-3n), u32(-1n), 2147483644n, 1n]);
      expect(trap('divs', 0x80000000n, 0xffffffffn).trap).toBe('integer overflow');
      expect(trap('divs', 1n, 0n).trap).toBe('integer divide by zero');
    },
  },
  {
    name: 'i64 arithmetic and comparisons agree with BigInt on 300 seeded operand pairs',
    wat: `(module
      ${I64_BINARY.map((o) => `(func (export "${o}") (param i64 i64) (result i64) (i64.${o} (local.get 0) (local.get 1)))`).join('\n')}
      ${I64_COMPARE.map((o) => `(func (export "${o}") (param i64 i64) (result i32) (i64.${o} (local.get 0) (local.get 1)))`).join('\n')})`,
    run({ call }) {
      let seed = 0x1234567n;
      const rnd = (): bigint => {
        seed = u64(seed * 6364136223846793005n + 1442695040888963407n);
        return u64(seed >> (seed % 64n));
      };
      for (let k = 0; k < 300; k++) {
        const a = rnd();
        const b = k % 7 === 0 ? a | 1n : rnd() | 1n;
        for (const [name, f] of Object.entries(I64_REFERENCE)) {
          if (name === 'div_s' && s64(a) === -(2n ** 63n) && s64(b) === -1n) continue;
          expect(call(name, a, b), `${name}(${a}, ${b})`).toEqual([f(a, b)]);
        }
      }
    },
  },
  {
    name: 'i64 → f32 rounds once (no double rounding), unsigned conversions are exact, f64 → i64 traps on NaN and overflow',
    wat: `(module
      (func (export "s") (param i64) (result f32) (f32.convert_i64_s (local.get 0)))
      (func (export "u") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
      (func (export "ud") (param i64) (result f64) (f64.convert_i64_u (local.get 0)))
      (func (export "t") (param f64) (result i64) (i64.trunc_f64_s (local.get 0)))
      (func (export "tu") (param f64) (result i64) (nop) (i64.trunc_f64_u (local.get 0))))`,
    run({ call, trap }) {
      // 2^53 + 2^29 + 1 rounds up in f32 only without an intermediate rounding to f64.
      expect(call('s', 0x0020000020000001n)).toEqual([f32bits(9007200328482816)]);
      expect(call('u', 0xffffffffffffffffn)).toEqual([f32bits(18446744073709551616)]);
      expect(call('s', u64(-0x0020000020000001n))).toEqual([f32bits(-9007200328482816)]);
      expect(call('ud', 0x8000000000000001n)).toEqual([f64bits(9223372036854775808)]);
      expect(call('t', f64bits(-9007199254740993))).toEqual([u64(-9007199254740992n)]);
      expect(trap('t', f64bits(NaN)).trap).toBe('invalid conversion to integer');
      expect(trap('t', f64bits(2 ** 63)).trap).toBe('integer overflow');
      expect(trap('tu', 0xfff8000000000001n).trap).toBe('invalid conversion to integer');
      expect(trap('tu', 0xc000000000000000n).trap).toBe('integer overflow');
    },
  },
  {
    name: 'nearest rounds ties to even, min and max order signed zeros, trunc_sat saturates',
    wat: `(module
      (func (export "nearest") (param f64) (result f64) (f64.nearest (local.get 0)))
      (func (export "min") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
      (func (export "max") (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1)))
      (func (export "sat") (param f64) (result i32) (i32.trunc_sat_f64_u (local.get 0))))`,
    run({ call }) {
      expect(call('nearest', f64bits(2.5))).toEqual([f64bits(2)]);
      expect(call('nearest', f64bits(-3.5))).toEqual([f64bits(-4)]);
      expect(call('nearest', f64bits(-0.5))).toEqual([f64bits(-0)]);
      expect(call('min', f64bits(0), f64bits(-0))).toEqual([f64bits(-0)]);
      expect(call('max', f64bits(-0), f64bits(0))).toEqual([f64bits(0)]);
      expect(call('sat', f64bits(-5))).toEqual([0n]);
      expect(call('sat', f64bits(1e12))).toEqual([0xffffffffn]);
    },
  },
  {
    name: 'a value read by local.get keeps it when a later local.set or local.tee changes the local',
    wat: `(module
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
    run({ call }) {
      expect(call('swap', 1n, 2n)).toEqual([2n, 1n]);
      expect(call('tee', 3n)).toEqual([39n]);
      expect(call('ifsel', 1n)).toEqual([u32(-2n)]);
      expect(call('ifsel', 0n)).toEqual([0n]);
    },
  },
  {
    name: 'br, br_if and br_table carry values out of blocks; block params and multi-value returns',
    wat: `(module
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
    run({ call }) {
      expect(call('table', 0n)).toEqual([103n]);
      expect(call('table', 1n)).toEqual([102n]);
      expect(call('table', 7n)).toEqual([100n]);
      expect(call('brif', 4n)).toEqual([4n, 7n]);
      expect(call('brif', 0n)).toEqual([9n, 9n]);
      expect(call('params', 5n)).toEqual([16n]);
      expect(call('ret', 5n)).toEqual([1n, 5n]);
      expect(call('ret', 0n)).toEqual([2n, 3n]);
    },
  },
  {
    name: 'loops with params and results, br/br_if/br_table across nested loops and return from a loop compute what V8 computes',
    wat: LOOPS,
    run({ call }) {
      const v8 = loopsOnV8!;
      expect(call('nested', 0n)).toEqual([BigInt(v8['nested']!(0) as number)]);
      expect(call('params', 100_000n)).toEqual((v8['params']!(100_000) as number[]).map((x) => BigInt(x >>> 0)));
      expect(call('ret', 1n)).toEqual([BigInt(v8['ret']!(1) as number)]);
    },
  },
  {
    name: 'return_call and return_call_indirect run a million-deep mutual recursion in constant stack',
    wat: `(module
      (type $t (func (param i64 i64) (result i64)))
      (table funcref (elem $even $odd))
      (func $even (export "even") (param i64 i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0)) (then (local.get 1))
          (else (return_call $odd (i64.sub (local.get 0) (i64.const 1)) (i64.add (local.get 1) (i64.const 1))))))
      (func $odd (param i64 i64) (result i64)
        (return_call_indirect (type $t) (local.get 0) (local.get 1) (i32.const 0))))`,
    run({ call }) {
      expect(call('even', 1_000_000n, 0n)).toEqual([1_000_000n]);
    },
  },
  {
    name: 'memory.init/copy/fill and table.set/grow/init/get/size work, and their bounds checks trap',
    wat: `(module (memory 1) (data $d "abcdef") (table $t 2 externref) (elem $e func $f) (table $ft 1 funcref)
      (func $f (result i32) (i32.const 3))
      (func (export "bulk") (result i32)
        (memory.init $d (i32.const 10) (i32.const 1) (i32.const 4))
        (memory.copy (i32.const 20) (i32.const 10) (i32.const 4))
        (memory.fill (i32.const 22) (i32.const 0x7a) (i32.const 1))
        (i32.load (i32.const 20)))
      (func (export "filloob") (memory.fill (i32.const 65535) (i32.const 0) (i32.const 2)))
      (func (export "filllong") (memory.fill (i32.const 65000) (i32.const 0) (i32.const 1000)))
      (func (export "tables") (param externref) (result i32)
        (table.set $t (i32.const 1) (local.get 0))
        (drop (table.grow $t (ref.null extern) (i32.const 3)))
        (table.init $ft $e (i32.const 0) (i32.const 0) (i32.const 1))
        (i32.add (table.size $t) (call_indirect $ft (result i32) (i32.const 0))))
      (func (export "get") (param i32) (result externref) (table.get $t (local.get 0))))`,
    run({ call, trap }) {
      expect(call('bulk')).toEqual([BigInt(0x657a6362)]);
      expect(trap('filloob').trap).toBe('out of bounds memory access');
      expect(trap('filllong').trap).toBe('out of bounds memory access');
      expect(call('tables', 77n)).toEqual([8n]);
      expect(call('get', 1n)).toEqual([77n]);
      expect(call('get', 0n)).toEqual([0n]);
      expect(trap('get', 5n).trap).toBe('invalid table access');
    },
  },
  {
    name: 'atomics on shared memory: read-modify-write, cmpxchg, wait32 returning not-equal or timed-out; unaligned atomics trap',
    wat: `(module (memory 1 1 shared)
      (func (export "rmw") (result i64)
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 5)))
        (drop (i64.atomic.rmw.cmpxchg (i32.const 8) (i64.const 0) (i64.const -2)))
        (i64.add (i64.extend_i32_u (i32.atomic.load (i32.const 0))) (i64.atomic.load (i32.const 8))))
      (func (export "unaligned") (result i32) (i32.atomic.load (i32.const 2)))
      (func (export "wait") (param i32) (result i32) (memory.atomic.wait32 (i32.const 0) (local.get 0) (i64.const 0))))`,
    run({ call, trap }) {
      expect(call('rmw')).toEqual([3n]);
      expect(trap('unaligned').trap).toBe('unaligned atomic');
      expect(call('wait', 5n)).toEqual([2n]);
      expect(call('wait', 6n)).toEqual([1n]);
    },
  },
  {
    name: 'atomics on unshared memory: unaligned accesses trap and wait traps with "expected shared memory"',
    wat: `(module (memory 1)
      (func (export "una") (drop (i32.atomic.load (i32.const 1))))
      (func (export "rmw") (result i32) (i32.atomic.rmw.add (i32.const 4) (i32.const 2)))
      (func (export "wait") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0))))`,
    run({ call, trap }) {
      expect(trap('una').trap).toBe('unaligned atomic');
      expect(call('rmw')).toEqual([0n]);
      expect(call('rmw')).toEqual([2n]);
      expect(trap('wait').trap).toBe('expected shared memory');
    },
  },
  {
    name: 'atomic read-modify-writes of both widths in a hot loop (Node 20 once aborted the interpreter here) give raw V8 results',
    wat: `(module (memory 1 1 shared)
      (func (export "f") (param i32) (result i64) (local i64)
        (loop $l
          (local.set 1 (i64.add (local.get 1) (i64.atomic.rmw.add (i32.const 8) (i64.const -1))))
          (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (i32.atomic.rmw.add (i32.const 0) (i32.const 3)))))
          (local.set 1 (i64.add (local.get 1) (i64.atomic.rmw8.xor_u (i32.const 16) (i64.const 5))))
          (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
        (local.get 1)))`,
    run({ call }) {
      // 8,000 iterations get the interpreter's atomics helper optimized by TurboFan.
      // Iteration k adds -k (the i64 cell), 3k (the i32 cell) and 0 or 5 (the byte): k < 8000.
      expect(call('f', 8000n)).toEqual([-31_996_000n + 3n * 31_996_000n + 20_000n]);
    },
  },
  {
    name: 'an atomic access both misaligned and out of bounds traps as raw V8 traps it (the order of the two checks changed across V8 versions)',
    wat: `(module (memory 1 1 shared)
      (func (export "load") (result i32) (i32.atomic.load (i32.const 65535)))
      (func (export "rmw") (result i64) (i64.atomic.rmw.add offset=3 (i32.const 65532) (i64.const 1)))
      (func (export "notify") (result i32) (memory.atomic.notify (i32.const 65534) (i32.const 1)))
      (func (export "wait") (result i32) (memory.atomic.wait64 (i32.const 65532) (i64.const 0) (i64.const 0))))`,
    run({ trap }) {
      // Node 20's V8 checks bounds first, later V8s (and the threads reference interpreter) alignment first.
      const probe = new WebAssembly.Instance(
        new WebAssembly.Module(
          new Uint8Array([
            0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 7, 5, 1, 1, 102, 0, 0, 10, 12, 1, 10, 0, 65,
            255, 255, 3, 254, 16, 2, 0, 11,
          ]),
        ),
      ).exports['f'] as () => number;
      let v8Trap = '';
      try {
        probe();
      } catch (e) {
        v8Trap = (e as Error).message.includes('unaligned') ? 'unaligned atomic' : 'out of bounds memory access';
      }
      for (const name of ['load', 'rmw', 'notify', 'wait']) expect({ name, trap: trap(name).trap }).toEqual({ name, trap: v8Trap });
    },
  },
];

const modes = [
  { name: 'plain', interrupts: false },
  { name: 'with interrupt checks', interrupts: true },
] as const;

for (const engine of engines) {
  for (const mode of modes) {
    describe(`instructions on the ${engine.name} (${mode.name})`, () => {
      for (const c of cases) {
        it(c.name, async () => {
          if (c.wat === LOOPS) loopsOnV8 ??= new WebAssembly.Instance(new WebAssembly.Module(await wat(LOOPS)), {}).exports as never;
          const r = runtimeFor(engine, (cfg) =>
            cfg.withCoreFeatures(CoreFeaturesV2 | CoreFeaturesThreads | CoreFeaturesTailCall).withCloseOnContextDone(mode.interrupts),
          );
          try {
            const m = await r.instantiateWithConfig(await wat(c.wat), newModuleConfig().withName('m'));
            const ctx = mode.interrupts ? Context.background().withTimeout(600_000) : Context.background();
            const call = (name: string, ...params: bigint[]): bigint[] => m.exportedFunction(name)!.callWithContext(ctx, ...params);
            c.run({ m, call, trap: (name, ...params) => trapOf(() => call(name, ...params)) });
            expect(m.isClosed()).toBe(false);
          } finally {
            await r.close();
          }
        });
      }
    });
  }
}
